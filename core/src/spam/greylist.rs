//! Greylisting: a first try from an unknown (client network, sender,
//! recipient) triplet is deferred with `451 4.7.1`; a retry after the
//! delay and within the retry window passes, and the triplet is then
//! remembered, so later mail from it passes at once, until it has not
//! been seen for the expiry time.
//!
//! Genuine mail servers retry (RFC 5321 4.5.4.1); much bulk software
//! does not. The client counts by network, not address (IPv4 /24, IPv6
//! /64), because large senders retry from another address of the same
//! pool.
//!
//! The table is pure: time comes in as wall-clock seconds (it outlives
//! the process), and it is bounded by
//! [`GREYLIST_ENTRIES_MAX`](crate::limits::GREYLIST_ENTRIES_MAX): when it is
//! full the tenth least recently seen entries are forgotten. It renders
//! to and parses from a text file the runtime keeps.

use crate::address::ForwardPath;
use crate::address::ReversePath;
use crate::limits::{
    GREYLIST_DELAY_DEFAULT, GREYLIST_ENTRIES_MAX, GREYLIST_EXPIRY_DEFAULT,
    GREYLIST_RETRY_WINDOW_DEFAULT,
};
use crate::policy::Network;
use crate::time::UnixTime;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// An instance's greylisting settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GreylistPolicy {
    /// How long a new triplet waits before a retry passes.
    pub delay: Duration,
    /// How long after the first try a retry still passes; later, the
    /// triplet starts over.
    pub retry_window: Duration,
    /// How long a triplet that passed is remembered after it was last
    /// seen.
    pub expiry: Duration,
}

impl Default for GreylistPolicy {
    fn default() -> Self {
        GreylistPolicy {
            delay: GREYLIST_DELAY_DEFAULT,
            retry_window: GREYLIST_RETRY_WINDOW_DEFAULT,
            expiry: GREYLIST_EXPIRY_DEFAULT,
        }
    }
}

/// Who sends what to whom: the client's network, the sender and the
/// recipient, lower-case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Triplet {
    /// `192.0.2.0/24` or `2001:db8:1:2::/64`.
    pub network: String,
    /// The reverse path, `<>` for a bounce.
    pub sender: String,
    pub recipient: String,
}

impl Triplet {
    pub fn new(client: IpAddr, sender: &ReversePath, recipient: &ForwardPath) -> Self {
        let client = client.to_canonical();
        let prefix = if client.is_ipv4() { 24 } else { 64 };
        let network = Network::new(client, prefix)
            .map_or_else(|| client.to_string(), |network| network.to_string());
        // Control characters never reach the file: RFC 5321 allows none
        // in an address, and one would break its line.
        let path = |text: String| {
            let inner = text.strip_prefix('<').unwrap_or(&text);
            let inner = inner.strip_suffix('>').unwrap_or(inner);
            inner
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect::<String>()
                .to_lowercase()
        };
        Triplet {
            network,
            sender: match sender {
                ReversePath::Null => "<>".to_owned(),
                ReversePath::Mailbox(_) => path(sender.to_string()),
            },
            recipient: path(recipient.to_string()),
        }
    }
}

impl std::fmt::Display for Triplet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {}, {})", self.network, self.sender, self.recipient)
    }
}

/// What the table says of one try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GreylistVerdict {
    /// Known, or retried in time: accept the recipient.
    Pass,
    /// Try again in this long (`451 4.7.1`).
    Defer { retry_in: Duration },
}

impl GreylistVerdict {
    /// The text after `451 4.7.1` for a deferred recipient.
    pub fn reply_text(retry_in: Duration) -> String {
        format!(
            "Greylisted, try again in {} seconds",
            retry_in.as_secs().max(1)
        )
    }
}

/// One remembered triplet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When the current round of tries began.
    pub first_seen: UnixTime,
    pub last_seen: UnixTime,
    /// A retry came in time: mail from this triplet passes.
    pub passed: bool,
}

/// The greylist: every triplet seen, bounded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Greylist {
    entries: BTreeMap<Triplet, Entry>,
}

impl Greylist {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entry(&self, triplet: &Triplet) -> Option<&Entry> {
        self.entries.get(triplet)
    }

    /// What `triplet` trying at `now` gets, remembered for next time.
    pub fn check(
        &mut self,
        now: UnixTime,
        triplet: &Triplet,
        policy: &GreylistPolicy,
    ) -> GreylistVerdict {
        let verdict = self.peek(now, triplet, policy);
        match self.entries.get_mut(triplet) {
            // Expired, or retried too late: a new round.
            Some(entry) if stale(entry, now, policy) => {
                *entry = Entry {
                    first_seen: now,
                    last_seen: now,
                    passed: false,
                };
            }
            Some(entry) => {
                entry.last_seen = now;
                entry.passed |= verdict == GreylistVerdict::Pass;
            }
            None => {
                if self.entries.len() >= GREYLIST_ENTRIES_MAX {
                    self.make_room(now, policy);
                }
                self.entries.insert(
                    triplet.clone(),
                    Entry {
                        first_seen: now,
                        last_seen: now,
                        passed: false,
                    },
                );
            }
        }
        verdict
    }

    /// What `triplet` trying at `now` would get, changing nothing (for
    /// `postern explain`).
    pub fn peek(
        &self,
        now: UnixTime,
        triplet: &Triplet,
        policy: &GreylistPolicy,
    ) -> GreylistVerdict {
        let fresh = GreylistVerdict::Defer {
            retry_in: policy.delay,
        };
        let Some(entry) = self.entries.get(triplet).filter(|e| !stale(e, now, policy)) else {
            return fresh;
        };
        let waited = since(now, entry.first_seen);
        if entry.passed {
            GreylistVerdict::Pass
        } else if waited < policy.delay {
            GreylistVerdict::Defer {
                retry_in: policy.delay - waited,
            }
        } else {
            GreylistVerdict::Pass
        }
    }

    /// Forgets what has expired: triplets that passed and have not been
    /// seen for `expiry`, and others whose retry window is over.
    pub fn expire(&mut self, now: UnixTime, policy: &GreylistPolicy) {
        self.entries.retain(|_, entry| !stale(entry, now, policy));
    }

    /// The table is full: expire, and if that is not enough, forget the
    /// least recently seen tenth, so that a flood of new triplets costs a
    /// sort per tenth of the table rather than per triplet.
    fn make_room(&mut self, now: UnixTime, policy: &GreylistPolicy) {
        self.expire(now, policy);
        if self.entries.len() < GREYLIST_ENTRIES_MAX {
            return;
        }
        let mut seen: Vec<UnixTime> = self.entries.values().map(|e| e.last_seen).collect();
        let evicted = (GREYLIST_ENTRIES_MAX / 10).max(1);
        let (_, cutoff, _) = seen.select_nth_unstable(evicted - 1);
        let cutoff = *cutoff;
        let mut left = evicted;
        self.entries.retain(|_, entry| {
            if left > 0 && entry.last_seen <= cutoff {
                left -= 1;
                false
            } else {
                true
            }
        });
    }

    /// The table as the file the runtime keeps: a header line, then one
    /// line per triplet, tab-separated (no address holds a tab or a line
    /// end: RFC 5321 4.1.2 allows neither).
    pub fn render(&self) -> String {
        let mut text = String::from(FILE_HEADER);
        text.push('\n');
        for (triplet, entry) in &self.entries {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                entry.first_seen.0,
                entry.last_seen.0,
                if entry.passed { "passed" } else { "waiting" },
                triplet.network,
                triplet.sender,
                triplet.recipient
            ));
        }
        text
    }

    /// Reads [`Greylist::render`]'s text back; an error names the first
    /// line that is not as written.
    pub fn parse(text: &str) -> Result<Greylist, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, FILE_HEADER)) => {}
            _ => return Err(format!("line 1 is not \"{FILE_HEADER}\"")),
        }
        let mut entries = BTreeMap::new();
        for (index, line) in lines {
            let fields: Vec<&str> = line.split('\t').collect();
            let bad = || format!("line {} is not a greylist entry", index + 1);
            let [first, last, state, network, sender, recipient] = fields[..] else {
                return Err(bad());
            };
            let passed = match state {
                "passed" => true,
                "waiting" => false,
                _ => return Err(bad()),
            };
            let time = |text: &str| text.parse().map(UnixTime).map_err(|_| bad());
            if network.is_empty() || recipient.is_empty() {
                return Err(bad());
            }
            if entries.len() >= GREYLIST_ENTRIES_MAX {
                return Err(format!(
                    "more than {GREYLIST_ENTRIES_MAX} entries, at line {}",
                    index + 1
                ));
            }
            entries.insert(
                Triplet {
                    network: network.to_owned(),
                    sender: sender.to_owned(),
                    recipient: recipient.to_owned(),
                },
                Entry {
                    first_seen: time(first)?,
                    last_seen: time(last)?,
                    passed,
                },
            );
        }
        Ok(Greylist { entries })
    }
}

/// The first line of the greylist file.
pub const FILE_HEADER: &str = "postern-greylist 1";

/// An entry past its use: a triplet that passed and has not been seen
/// for `expiry`, or one still waiting whose retry window is over.
fn stale(entry: &Entry, now: UnixTime, policy: &GreylistPolicy) -> bool {
    if entry.passed {
        since(now, entry.last_seen) > policy.expiry
    } else {
        since(now, entry.first_seen) > policy.retry_window
    }
}

/// Seconds from `earlier` to `now`; zero if the clock went back.
fn since(now: UnixTime, earlier: UnixTime) -> Duration {
    Duration::from_secs(u64::try_from(now.0.saturating_sub(earlier.0)).unwrap_or(0))
}

#[cfg(test)]
mod tests;
