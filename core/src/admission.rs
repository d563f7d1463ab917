//! Connection quotas: how many connections an instance takes in total and
//! from any one host (ISMail: "Incoming Connections", default 20 and 5),
//! and later how many the server opens in total and to one destination.
//!
//! A [`Quota`] hands out a [`Permit`] per admitted connection and takes it
//! back when the connection ends. Permits cannot be copied, so a
//! connection cannot be released twice; the runtime holds each one in a
//! guard that gives it back when the connection's task ends, however it
//! ends.

use crate::policy::AccessList;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// ISMail's default maximum of incoming connections, in total.
pub const CONNECTIONS_DEFAULT: u32 = 20;
/// ISMail's default maximum of incoming connections from a single host.
pub const CONNECTIONS_PER_HOST_DEFAULT: u32 = 5;

/// What counts as one remote host, for the per-host quota and the login
/// lockout: an IPv4 address, or the IPv6 network of a configured prefix
/// length around an address (a customer is usually given a whole /64,
/// RFC 6177, and can use a new address from it for every connection).
/// An IPv4-mapped IPv6 address is its IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostKey {
    /// The address, or the network's first address.
    network: IpAddr,
    /// 32 for IPv4; the prefix length for IPv6.
    prefix: u8,
}

impl HostKey {
    /// The host `client` belongs to when IPv6 hosts are networks of
    /// `ipv6_prefix` bits (clamped to 0..=128).
    pub fn new(client: IpAddr, ipv6_prefix: u8) -> Self {
        match client.to_canonical() {
            IpAddr::V4(v4) => HostKey {
                network: IpAddr::V4(v4),
                prefix: 32,
            },
            IpAddr::V6(v6) => {
                let prefix = ipv6_prefix.min(128);
                let mask = u128::MAX.checked_shl(u32::from(128 - prefix)).unwrap_or(0);
                HostKey {
                    network: IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)),
                    prefix,
                }
            }
        }
    }
}

impl fmt::Display for HostKey {
    /// `192.0.2.1`, `2001:db8::1` (a /128), or `2001:db8::/64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.network {
            IpAddr::V6(v6) if self.prefix < 128 => write!(f, "{v6}/{}", self.prefix),
            network => write!(f, "{network}"),
        }
    }
}

/// The two limits of a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub total: u32,
    /// Per key: a remote host for inbound quotas.
    pub per_key: u32,
}

/// Why a quota refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverQuota {
    /// `total` connections are open already.
    Total { limit: u32 },
    /// `per_key` connections with this key are open already.
    PerKey { limit: u32 },
}

/// The right to one connection. Hand it back with [`Quota::release`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a permit not released is a connection slot lost"]
pub struct Permit<K> {
    key: K,
}

impl<K> Permit<K> {
    pub fn key(&self) -> &K {
        &self.key
    }
}

/// Counts of open connections against [`Limits`].
#[derive(Clone, Debug)]
pub struct Quota<K: Ord + Clone> {
    limits: Limits,
    total: u32,
    by_key: BTreeMap<K, u32>,
}

impl<K: Ord + Clone> Quota<K> {
    pub fn new(limits: Limits) -> Self {
        Quota {
            limits,
            total: 0,
            by_key: BTreeMap::new(),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// New limits for new connections (a configuration reload). Permits
    /// already given stay valid; over a lowered limit, nothing more is
    /// admitted until enough are released.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// A permit for one more connection with `key`, if both limits allow.
    pub fn acquire(&mut self, key: K) -> Result<Permit<K>, OverQuota> {
        if self.total >= self.limits.total {
            return Err(OverQuota::Total {
                limit: self.limits.total,
            });
        }
        let count = self.by_key.entry(key.clone()).or_insert(0);
        if *count >= self.limits.per_key {
            return Err(OverQuota::PerKey {
                limit: self.limits.per_key,
            });
        }
        *count += 1;
        self.total += 1;
        Ok(Permit { key })
    }

    /// Gives a permit back.
    pub fn release(&mut self, permit: Permit<K>) {
        let count = self
            .by_key
            .get_mut(&permit.key)
            .expect("a permit's key is counted until it is released");
        *count -= 1;
        if *count == 0 {
            self.by_key.remove(&permit.key);
        }
        self.total -= 1;
    }

    /// Connections open now.
    pub fn in_use(&self) -> u32 {
        self.total
    }

    /// Connections open now with `key`.
    pub fn in_use_by(&self, key: &K) -> u32 {
        self.by_key.get(key).copied().unwrap_or(0)
    }
}

/// Why an inbound connection is turned away before its session starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The instance's access list does not admit the client.
    AccessDenied,
    /// The instance has its maximum of connections.
    TooManyConnections { limit: u32 },
    /// The client's host (its address, or its IPv6 network) has its
    /// maximum of connections.
    TooManyFromHost { limit: u32, host: HostKey },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::AccessDenied => f.write_str("access denied by the instance's access list"),
            Refusal::TooManyConnections { limit } => {
                write!(f, "too many connections (limit {limit})")
            }
            Refusal::TooManyFromHost { limit, host } => {
                write!(f, "too many connections from {host} (limit {limit})")
            }
        }
    }
}

/// Decides whether an instance takes a connection from `client`: the
/// access list first (a denied client takes no permit), then the quota,
/// which counts the client's [`HostKey`] (IPv6 clients by their network
/// of `ipv6_prefix` bits).
pub fn admit(
    access: &AccessList,
    quota: &mut Quota<HostKey>,
    client: IpAddr,
    ipv6_prefix: u8,
) -> Result<Permit<HostKey>, Refusal> {
    let client = client.to_canonical();
    if !access.admits(client) {
        return Err(Refusal::AccessDenied);
    }
    let host = HostKey::new(client, ipv6_prefix);
    quota.acquire(host).map_err(|over| match over {
        OverQuota::Total { limit } => Refusal::TooManyConnections { limit },
        OverQuota::PerKey { limit } => Refusal::TooManyFromHost { limit, host },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn key(last: u8) -> HostKey {
        HostKey::new(ip(last), 64)
    }

    fn admit(
        access: &AccessList,
        quota: &mut Quota<HostKey>,
        client: IpAddr,
    ) -> Result<Permit<HostKey>, Refusal> {
        super::admit(access, quota, client, 64)
    }

    #[test]
    fn ipv6_clients_are_counted_by_network_and_ipv4_by_address() {
        let same = |a: &str, b: &str, prefix: u8| {
            HostKey::new(a.parse().unwrap(), prefix) == HostKey::new(b.parse().unwrap(), prefix)
        };
        let rows: &[(&str, &str, u8, bool)] = &[
            ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", 64, true),
            ("2001:db8:1:2::1", "2001:db8:1:3::1", 64, false),
            ("2001:db8:1:2::1", "2001:db8:1:3::1", 48, true),
            ("2001:db8::1", "2001:db8::2", 128, false),
            ("2001:db8::1", "2001:db8::1", 128, true),
            ("::1", "::1", 64, true),
            // IPv4 is per address, whatever the IPv6 prefix.
            ("192.0.2.1", "192.0.2.2", 16, false),
            // An IPv4-mapped address is the IPv4 client, not a /64 of
            // every IPv4 address.
            ("::ffff:192.0.2.1", "192.0.2.1", 64, true),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.2", 64, false),
        ];
        for &(a, b, prefix, expected) in rows {
            assert_eq!(same(a, b, prefix), expected, "{a} {b} /{prefix}");
        }
        let shown = |a: &str, prefix| HostKey::new(a.parse().unwrap(), prefix).to_string();
        assert_eq!(shown("2001:db8:1:2:3:4:5:6", 64), "2001:db8:1:2::/64");
        assert_eq!(shown("2001:db8::6", 128), "2001:db8::6");
        assert_eq!(shown("::ffff:192.0.2.1", 64), "192.0.2.1");
    }

    #[test]
    fn two_addresses_of_one_ipv6_network_share_the_per_host_limit() {
        let mut quota = Quota::new(Limits {
            total: 10,
            per_key: 1,
        });
        let open = AccessList::default();
        let first: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let same_net: IpAddr = "2001:db8:0:1::2".parse().unwrap();
        let other_net: IpAddr = "2001:db8:0:2::1".parse().unwrap();
        let _a = admit(&open, &mut quota, first).unwrap();
        let refused = admit(&open, &mut quota, same_net);
        assert_eq!(
            refused,
            Err(Refusal::TooManyFromHost {
                limit: 1,
                host: HostKey::new(first, 64)
            })
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "too many connections from 2001:db8:0:1::/64 (limit 1)"
        );
        assert!(admit(&open, &mut quota, other_net).is_ok());
        // Per address, the two of one network are two hosts.
        let mut exact = Quota::new(quota.limits());
        let _b = super::admit(&open, &mut exact, first, 128).unwrap();
        assert!(super::admit(&open, &mut exact, same_net, 128).is_ok());
    }

    #[test]
    fn the_per_host_limit_leaves_room_for_other_hosts() {
        let mut quota = Quota::new(Limits {
            total: 3,
            per_key: 2,
        });
        let open = AccessList::default();
        let a1 = admit(&open, &mut quota, ip(1)).unwrap();
        let _a2 = admit(&open, &mut quota, ip(1)).unwrap();
        assert_eq!(
            admit(&open, &mut quota, ip(1)),
            Err(Refusal::TooManyFromHost {
                limit: 2,
                host: key(1)
            })
        );
        let _b1 = admit(&open, &mut quota, ip(2)).unwrap();
        assert_eq!(
            admit(&open, &mut quota, ip(3)),
            Err(Refusal::TooManyConnections { limit: 3 })
        );
        quota.release(a1);
        assert_eq!(quota.in_use_by(&key(1)), 1);
        assert!(admit(&open, &mut quota, ip(3)).is_ok());
    }

    #[test]
    fn a_denied_client_takes_no_permit() {
        let mut quota = Quota::new(Limits {
            total: 1,
            per_key: 1,
        });
        let access = AccessList {
            allow: vec![],
            deny: vec!["127.0.0.9".parse().unwrap()],
        };
        assert_eq!(
            admit(&access, &mut quota, ip(9)),
            Err(Refusal::AccessDenied)
        );
        assert_eq!(quota.in_use(), 0);
        let mapped: IpAddr = "::ffff:127.0.0.9".parse().unwrap();
        assert_eq!(
            admit(&access, &mut quota, mapped),
            Err(Refusal::AccessDenied),
            "an IPv4-mapped address is the IPv4 client"
        );
    }

    #[derive(Clone, Debug)]
    enum Step {
        Connect(u8),
        /// Disconnect the n-th open connection (modulo how many are open).
        Disconnect(usize),
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(
            prop_oneof![
                (0u8..4).prop_map(Step::Connect),
                any::<usize>().prop_map(Step::Disconnect),
            ],
            0..200,
        )
    }

    proptest! {
        /// Under any interleaving of connects and disconnects, no limit
        /// is exceeded, a refusal happens only at a limit, and once every
        /// connection has ended nothing is left counted.
        #[test]
        fn no_quota_is_exceeded_and_no_permit_leaks(
            total in 1u32..8,
            per_key in 1u32..5,
            steps in steps(),
        ) {
            let mut quota = Quota::new(Limits { total, per_key });
            let mut open: Vec<Permit<HostKey>> = Vec::new();
            for step in steps {
                match step {
                    Step::Connect(host) => {
                        let before_total = quota.in_use();
                        let before_host = quota.in_use_by(&key(host));
                        match admit(&AccessList::default(), &mut quota, ip(host)) {
                            Ok(permit) => open.push(permit),
                            Err(Refusal::TooManyConnections { .. }) => {
                                prop_assert_eq!(before_total, total)
                            }
                            Err(Refusal::TooManyFromHost { .. }) => {
                                prop_assert_eq!(before_host, per_key)
                            }
                            Err(Refusal::AccessDenied) => prop_assert!(false),
                        }
                    }
                    Step::Disconnect(n) if !open.is_empty() => {
                        let permit = open.swap_remove(n % open.len());
                        quota.release(permit);
                    }
                    Step::Disconnect(_) => {}
                }
                prop_assert!(quota.in_use() <= total);
                prop_assert_eq!(quota.in_use() as usize, open.len());
                for host in 0..4 {
                    let held = open.iter().filter(|p| *p.key() == key(host)).count();
                    prop_assert!(quota.in_use_by(&key(host)) <= per_key);
                    prop_assert_eq!(quota.in_use_by(&key(host)) as usize, held);
                }
            }
            for permit in open.drain(..) {
                quota.release(permit);
            }
            prop_assert_eq!(quota.in_use(), 0);
            prop_assert!(quota.by_key.is_empty());
        }
    }
}
