//! Per-instance policy: who may connect, and who may relay.
//!
//! Both are decided from the client's address (and, for relaying, later
//! from authentication), so both rest on [`Network`], a CIDR block.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A block of addresses: `192.168.0.0/16`, `::1/128`, or one address
/// (`127.0.0.3`, a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Network {
    /// The first address of the block: host bits are zero.
    address: IpAddr,
    prefix: u8,
}

/// The text was not an address or a CIDR block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidNetwork(pub String);

impl fmt::Display for InvalidNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Network {
    /// The block of `prefix` bits around `address`; host bits are cleared.
    /// `None` if the prefix is longer than the address.
    pub fn new(address: IpAddr, prefix: u8) -> Option<Network> {
        let address = address.to_canonical();
        let bits = max_prefix(address);
        (prefix <= bits).then(|| Network {
            address: mask(address, prefix),
            prefix,
        })
    }

    /// The block holding exactly `address`.
    pub fn host(address: IpAddr) -> Network {
        let address = address.to_canonical();
        Network {
            address,
            prefix: max_prefix(address),
        }
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.address.is_ipv4() && mask(address, self.prefix) == self.address
    }
}

fn max_prefix(address: IpAddr) -> u8 {
    if address.is_ipv4() { 32 } else { 128 }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            // A shift by the full width (prefix 0) keeps nothing.
            let kept = u32::from(v4) & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(kept.into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = bits & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(kept.into())
        }
    }
}

impl FromStr for Network {
    type Err = InvalidNetwork;

    fn from_str(text: &str) -> Result<Network, InvalidNetwork> {
        let invalid = || {
            InvalidNetwork(format!(
                "\"{text}\" is not a network; write an address (192.0.2.7, ::1) or a CIDR block (192.168.0.0/16, 2001:db8::/32)"
            ))
        };
        match text.split_once('/') {
            None => text.parse().map(Network::host).map_err(|_| invalid()),
            Some((address, prefix)) => {
                let address: IpAddr = address.parse().map_err(|_| invalid())?;
                let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
                Network::new(address, prefix).ok_or_else(|| {
                    InvalidNetwork(format!(
                        "\"{text}\": a prefix of /{prefix} is longer than the address ({} bits)",
                        max_prefix(address.to_canonical())
                    ))
                })
            }
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == max_prefix(self.address) {
            write!(f, "{}", self.address)
        } else {
            write!(f, "{}/{}", self.address, self.prefix)
        }
    }
}

/// Who may connect to an instance.
///
/// A client is refused if it is in a `deny` network, or if `allow` is not
/// empty and it is in none of its networks. So `deny` carves exceptions
/// out of `allow`, and an empty list of both admits everyone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessList {
    pub allow: Vec<Network>,
    pub deny: Vec<Network>,
}

impl AccessList {
    pub fn admits(&self, client: IpAddr) -> bool {
        let denied = self.deny.iter().any(|n| n.contains(client));
        let allowed = self.allow.is_empty() || self.allow.iter().any(|n| n.contains(client));
        allowed && !denied
    }

    /// One line for tables and explanations.
    pub fn summary(&self) -> String {
        let list = |networks: &[Network]| {
            networks
                .iter()
                .map(Network::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        match (self.allow.is_empty(), self.deny.is_empty()) {
            (true, true) => "everyone".to_owned(),
            (false, true) => format!("only {}", list(&self.allow)),
            (true, false) => format!("all but {}", list(&self.deny)),
            (false, false) => format!("only {}, not {}", list(&self.allow), list(&self.deny)),
        }
    }
}

/// Who may send mail through an instance to domains that are not ours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RelayPolicy {
    /// Nobody: the instance takes mail for local domains only.
    #[default]
    None,
    /// Everybody who can connect (for instances on private addresses).
    Any,
    /// Clients in these networks.
    Networks(Vec<Network>),
    /// Clients that have authenticated (SMTP AUTH).
    Authenticated,
}

impl RelayPolicy {
    /// Is this client one of ours, so that what it sends is submitted
    /// mail (DKIM-signed for our domains)? Only a logged-in client, or one
    /// on a network named in `relay = [...]`: `relay = "any"` lets
    /// everyone relay but vouches for no one.
    pub fn vouches_for(&self, client: IpAddr, authenticated: bool) -> bool {
        authenticated
            || matches!(self, RelayPolicy::Networks(networks) if networks.iter().any(|n| n.contains(client)))
    }

    /// May this client relay? `authenticated` is whether it has logged in.
    pub fn permits(&self, client: IpAddr, authenticated: bool) -> bool {
        match self {
            RelayPolicy::None => false,
            RelayPolicy::Any => true,
            RelayPolicy::Networks(networks) => networks.iter().any(|n| n.contains(client)),
            RelayPolicy::Authenticated => authenticated,
        }
    }
}

impl fmt::Display for RelayPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelayPolicy::None => f.write_str("none"),
            RelayPolicy::Any => f.write_str("any"),
            RelayPolicy::Authenticated => f.write_str("authenticated"),
            RelayPolicy::Networks(networks) => {
                let list: Vec<String> = networks.iter().map(Network::to_string).collect();
                write!(f, "from {}", list.join(" "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Network {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain() {
        assert!(net("192.168.0.0/16").contains(ip("192.168.44.3")));
        assert!(!net("192.168.0.0/16").contains(ip("192.169.0.1")));
        assert!(
            net("10.1.2.3/8").contains(ip("10.200.0.1")),
            "host bits are cleared"
        );
        assert_eq!(net("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(
            !net("0.0.0.0/0").contains(ip("::1")),
            "v4 blocks hold no v6"
        );
        assert!(net("127.0.0.3").contains(ip("127.0.0.3")));
        assert!(!net("127.0.0.3").contains(ip("127.0.0.4")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(net("::/0").contains(ip("::1")));
        assert!(
            net("127.0.0.0/8").contains(ip("::ffff:127.0.0.9")),
            "IPv4-mapped clients count as IPv4"
        );
    }

    #[test]
    fn bad_networks_are_explained() {
        let error = "10.0.0.0/33".parse::<Network>().unwrap_err();
        assert!(
            error.0.contains("longer than the address (32 bits)"),
            "{error}"
        );
        let error = "example.com".parse::<Network>().unwrap_err();
        assert!(error.0.contains("CIDR block"), "{error}");
        assert!("10.0.0.0/x".parse::<Network>().is_err());
    }

    #[test]
    fn deny_carves_exceptions_out_of_allow() {
        let access = AccessList {
            allow: vec![net("127.0.0.0/8")],
            deny: vec![net("127.0.0.4")],
        };
        assert!(access.admits(ip("127.0.0.1")));
        assert!(!access.admits(ip("127.0.0.4")));
        assert!(!access.admits(ip("192.0.2.1")));
        assert!(AccessList::default().admits(ip("192.0.2.1")));
        assert_eq!(access.summary(), "only 127.0.0.0/8, not 127.0.0.4");
    }

    #[test]
    fn relay_policies() {
        let client = ip("192.168.1.20");
        assert!(!RelayPolicy::None.permits(client, true));
        assert!(RelayPolicy::Any.permits(client, false));
        assert!(RelayPolicy::Networks(vec![net("192.168.1.0/24")]).permits(client, false));
        assert!(!RelayPolicy::Networks(vec![net("10.0.0.0/8")]).permits(client, false));
        assert!(!RelayPolicy::Authenticated.permits(client, false));
        assert!(RelayPolicy::Authenticated.permits(client, true));
    }
}
