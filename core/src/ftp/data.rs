//! The data connection's rules, decided here: where active mode may
//! connect (never a third party: the FTP bounce attack, RFC 2577 3), who
//! may connect to a passive port, and how PASV and EPSV name the port.

use crate::limits::FTP_ACTIVE_PORT_MIN;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Why a PORT or EPRT target is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveRefusal {
    /// The address is not the control connection's peer: a client may
    /// not make us connect to someone else (the bounce attack).
    ThirdParty,
    /// A privileged port (below [`FTP_ACTIVE_PORT_MIN`]), where a real
    /// client never listens and a service might (RFC 2577 3).
    PrivilegedPort,
}

impl fmt::Display for ActiveRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActiveRefusal::ThirdParty => {
                "Illegal PORT command: data connections go only to your own address (RFC 2577)"
            }
            ActiveRefusal::PrivilegedPort => {
                "Illegal PORT command: ports below 1024 are refused (RFC 2577)"
            }
        })
    }
}

/// The bounce rule: an active data connection may go only to the
/// address the control connection comes from, on an unprivileged port.
pub fn check_active_target(control_peer: IpAddr, target: SocketAddr) -> Result<(), ActiveRefusal> {
    if target.ip().to_canonical() != control_peer.to_canonical() {
        return Err(ActiveRefusal::ThirdParty);
    }
    if target.port() < FTP_ACTIVE_PORT_MIN {
        return Err(ActiveRefusal::PrivilegedPort);
    }
    Ok(())
}

/// A connection to a passive port is taken only from the address the
/// control connection comes from; anyone else is a thief trying to read
/// or write another session's file (RFC 2577 5, "port stealing").
pub fn data_peer_allowed(control_peer: IpAddr, data_peer: IpAddr) -> bool {
    control_peer.to_canonical() == data_peer.to_canonical()
}

/// RFC 959 4.1.2: the 227 reply's text, `Entering Passive Mode
/// (h1,h2,h3,h4,p1,p2)`; `None` for an IPv6 address, which PASV cannot
/// name (RFC 2428 3: use EPSV).
pub fn pasv_text(local: IpAddr, port: u16) -> Option<String> {
    let IpAddr::V4(v4) = local.to_canonical() else {
        return None;
    };
    let [a, b, c, d] = v4.octets();
    Some(format!(
        "Entering Passive Mode ({a},{b},{c},{d},{},{})",
        port >> 8,
        port & 0xFF
    ))
}

/// RFC 2428 3: the 229 reply's text, `Entering Extended Passive Mode
/// (|||port|)`.
pub fn epsv_text(port: u16) -> String {
    format!("Entering Extended Passive Mode (|||{port}|)")
}

/// A passive port range from the configuration: first and last, both
/// included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn len(&self) -> usize {
        usize::from(self.last - self.first) + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// The ports to try, starting at `start % len` and wrapping, so that
    /// sessions spread over the range instead of all probing its start.
    pub fn ports_from(&self, start: u64) -> impl Iterator<Item = u16> + '_ {
        let len = self.len() as u64;
        (0..len).map(move |i| {
            let offset = (start.wrapping_add(i)) % len;
            // offset < len <= 65536, and first + offset <= last.
            self.first + offset as u16
        })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// Parses `"50000-50100"` (or one port, `"50000"`).
pub fn parse_port_range(text: &str) -> Result<PortRange, String> {
    let (first, last) = text.split_once('-').unwrap_or((text, text));
    let port = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p >= FTP_ACTIVE_PORT_MIN)
    };
    match (port(first), port(last)) {
        (Some(first), Some(last)) if first <= last => Ok(PortRange { first, last }),
        (Some(_), Some(_)) => Err(format!("\"{text}\" ends before it starts")),
        _ => Err(format!(
            "\"{text}\" is not a range of ports from 1024 to 65535"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_rule_table() {
        let peer: IpAddr = "127.0.0.5".parse().unwrap();
        let rows: &[(&str, Result<(), ActiveRefusal>)] = &[
            ("127.0.0.5:40000", Ok(())),
            ("127.0.0.5:1024", Ok(())),
            ("127.0.0.5:1023", Err(ActiveRefusal::PrivilegedPort)),
            ("127.0.0.5:25", Err(ActiveRefusal::PrivilegedPort)),
            ("127.0.0.6:40000", Err(ActiveRefusal::ThirdParty)),
            ("10.0.0.1:25", Err(ActiveRefusal::ThirdParty)),
            ("[::ffff:127.0.0.5]:40000", Ok(())),
            ("[::1]:40000", Err(ActiveRefusal::ThirdParty)),
        ];
        for (target, expected) in rows {
            assert_eq!(
                check_active_target(peer, target.parse().unwrap()),
                *expected,
                "{target}"
            );
        }
        let v6: IpAddr = "::ffff:127.0.0.5".parse().unwrap();
        assert_eq!(
            check_active_target(v6, "127.0.0.5:4000".parse().unwrap()),
            Ok(())
        );
    }

    #[test]
    fn data_peers() {
        let peer: IpAddr = "127.0.0.5".parse().unwrap();
        assert!(data_peer_allowed(peer, "127.0.0.5".parse().unwrap()));
        assert!(data_peer_allowed(peer, "::ffff:127.0.0.5".parse().unwrap()));
        assert!(!data_peer_allowed(peer, "127.0.0.6".parse().unwrap()));
    }

    #[test]
    fn passive_replies() {
        assert_eq!(
            pasv_text("127.0.0.2".parse().unwrap(), 50001).as_deref(),
            Some("Entering Passive Mode (127,0,0,2,195,81)")
        );
        assert_eq!(pasv_text("::1".parse().unwrap(), 50001), None);
        assert_eq!(
            epsv_text(50001),
            "Entering Extended Passive Mode (|||50001|)"
        );
    }

    #[test]
    fn port_ranges() {
        let range = parse_port_range("50000-50002").unwrap();
        assert_eq!(range.len(), 3);
        assert_eq!(
            range.ports_from(4).collect::<Vec<_>>(),
            [50001, 50002, 50000]
        );
        assert_eq!(parse_port_range("50000").unwrap().len(), 1);
        assert!(parse_port_range("50010-50000").is_err());
        assert!(parse_port_range("80-90").is_err());
        assert!(parse_port_range("x").is_err());
        let full = parse_port_range("1024-65535").unwrap();
        assert_eq!(full.ports_from(u64::MAX).count(), 64512);
    }
}
