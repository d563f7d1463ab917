//! Which addresses are this server: a mail exchanger that is one of them
//! is a mail loop (RFC 5321 5.1).

use crate::bind::HostAddresses;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Where this server listens: its listeners' addresses and ports, and, for
/// a listener on every interface, the host's own addresses. The runtime
/// builds it from the bind plan and the host's interfaces; the core asks
/// it whether a mail exchanger's address is ourselves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ourselves {
    /// (the address, `None` for every interface; the port).
    listeners: Vec<(Option<IpAddr>, u16)>,
    host: HostAddresses,
}

impl Ourselves {
    /// `listeners` as the bind plan has them; `host`, the addresses this
    /// host answers on (loopback is always one).
    pub fn new(
        listeners: impl IntoIterator<Item = (Option<IpAddr>, u16)>,
        host: HostAddresses,
    ) -> Self {
        let mut listeners: Vec<(Option<IpAddr>, u16)> = listeners
            .into_iter()
            .map(|(address, port)| (address.map(|a| a.to_canonical()), port))
            .collect();
        listeners.sort();
        listeners.dedup();
        Ourselves { listeners, host }
    }

    /// True when a connection to `address` would reach one of our own
    /// listeners.
    pub fn contains(&self, address: SocketAddr) -> bool {
        // A connection to the unspecified address reaches this host's
        // loopback (Linux, BSD).
        let ip = match address.ip().to_canonical() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        self.listeners.iter().any(|&(listening, port)| {
            port == address.port()
                && match listening {
                    Some(listening) => listening == ip,
                    None => ip.is_loopback() || self.host.has(ip),
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Network;

    #[test]
    fn our_listeners_and_for_a_wildcard_our_host_and_loopback_are_ourselves() {
        let host = HostAddresses {
            networks: vec![Network::host("192.0.2.7".parse().unwrap())],
        };
        let ourselves = Ourselves::new(
            [
                (Some("127.0.0.2".parse().unwrap()), 2525),
                (None, 25),
                (Some("::ffff:198.51.100.1".parse().unwrap()), 26),
            ],
            host,
        );
        let rows = [
            ("127.0.0.2:2525", true),
            ("127.0.0.3:2525", false),
            ("127.0.0.2:25", true),
            ("127.9.9.9:25", true),
            ("[::1]:25", true),
            ("0.0.0.0:25", true),
            ("[::]:25", true),
            ("192.0.2.7:25", true),
            ("192.0.2.8:25", false),
            ("192.0.2.7:587", false),
            ("198.51.100.1:26", true),
            ("[::ffff:192.0.2.7]:25", true),
        ];
        for (address, expected) in rows {
            let address: SocketAddr = address.parse().unwrap();
            assert_eq!(ourselves.contains(address), expected, "{address}");
        }
        assert!(!Ourselves::default().contains("127.0.0.1:25".parse().unwrap()));
    }
}
