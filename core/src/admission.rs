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
use std::net::IpAddr;

/// ISMail's default maximum of incoming connections, in total.
pub const CONNECTIONS_DEFAULT: u32 = 20;
/// ISMail's default maximum of incoming connections from a single host.
pub const CONNECTIONS_PER_HOST_DEFAULT: u32 = 5;

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
    /// The client's host has its maximum of connections.
    TooManyFromHost { limit: u32 },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::AccessDenied => f.write_str("access denied by the instance's access list"),
            Refusal::TooManyConnections { limit } => {
                write!(f, "too many connections (limit {limit})")
            }
            Refusal::TooManyFromHost { limit } => {
                write!(f, "too many connections from this host (limit {limit})")
            }
        }
    }
}

/// Decides whether an instance takes a connection from `client`: the
/// access list first (a denied client takes no permit), then the quota.
pub fn admit(
    access: &AccessList,
    quota: &mut Quota<IpAddr>,
    client: IpAddr,
) -> Result<Permit<IpAddr>, Refusal> {
    let client = client.to_canonical();
    if !access.admits(client) {
        return Err(Refusal::AccessDenied);
    }
    quota.acquire(client).map_err(|over| match over {
        OverQuota::Total { limit } => Refusal::TooManyConnections { limit },
        OverQuota::PerKey { limit } => Refusal::TooManyFromHost { limit },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
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
            Err(Refusal::TooManyFromHost { limit: 2 })
        );
        let _b1 = admit(&open, &mut quota, ip(2)).unwrap();
        assert_eq!(
            admit(&open, &mut quota, ip(3)),
            Err(Refusal::TooManyConnections { limit: 3 })
        );
        quota.release(a1);
        assert_eq!(quota.in_use_by(&ip(1)), 1);
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
            let mut open: Vec<Permit<IpAddr>> = Vec::new();
            for step in steps {
                match step {
                    Step::Connect(host) => {
                        let before_total = quota.in_use();
                        let before_host = quota.in_use_by(&ip(host));
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
                    let held = open.iter().filter(|p| *p.key() == ip(host)).count();
                    prop_assert!(quota.in_use_by(&ip(host)) <= per_key);
                    prop_assert_eq!(quota.in_use_by(&ip(host)) as usize, held);
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
