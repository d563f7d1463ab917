//! Leases on queued messages, for nodes that share one queue.
//!
//! When several nodes deliver from one queue, a node works on a message
//! only while it holds the message's lease: it claims due messages, each
//! with a lease that ends at a time of the store's clock (never a node's
//! own), renews it while the work goes on, and writes results, releases
//! or finishes the message with the token it claimed with. A node whose
//! lease has run out (it crashed, or was paused past the end) is fenced:
//! every write with its token is refused, since another node may have
//! claimed the message meanwhile. Each claim bumps the message's counter,
//! so an old token never matches again.
//!
//! [`LeaseTable`] is the rule, kept in memory, for the simulation's
//! shared store; the PostgreSQL store does the same in SQL, and
//! `runtime-tokio/tests/postgres_leases.rs` holds it to this table step
//! by step. The rule at the boundary: a lease is
//! valid while `now < expires`; a message can be claimed again from
//! `now >= expires`. So at no instant do two tokens of one message pass.

use crate::envelope::QueueId;
use crate::limits::{STORAGE_CLAIM_MESSAGES_MAX, STORAGE_HELD_MESSAGES_MAX};
use crate::queue::DeliveryState;
use crate::time::{Instant, UnixTime};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A node's name in a shared queue (`[storage] node_id`).
pub type NodeId = u16;

/// What a node shows when it writes: it claimed the message with this
/// counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaseToken {
    pub node: NodeId,
    pub counter: u64,
}

/// A write refused because the writer no longer holds the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fenced {
    /// The message is gone: finished by its holder.
    Gone,
    /// Another claim came after this token's (or the message was never
    /// claimed with it).
    Superseded,
    /// The token's lease ran out; nobody has claimed the message since,
    /// but anybody may.
    Expired,
}

impl fmt::Display for Fenced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fenced::Gone => "the message is no longer queued",
            Fenced::Superseded => "another node has claimed the message since",
            Fenced::Expired => "the lease on the message has run out",
        })
    }
}

impl std::error::Error for Fenced {}

/// One queued message as the lease rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// Not claimed before this.
    next_attempt: Instant,
    /// Claims so far; the current holder's token carries the latest.
    counter: u64,
    /// Who holds it, and until when (valid while `now < expires`).
    holder: Option<(NodeId, Instant)>,
}

/// Every queued message's lease.
#[derive(Clone, Debug, Default)]
pub struct LeaseTable {
    entries: BTreeMap<QueueId, Entry>,
}

impl LeaseTable {
    /// A committed message, due at `next_attempt`, held by nobody.
    pub fn insert(&mut self, id: QueueId, next_attempt: Instant) {
        self.entries.insert(
            id,
            Entry {
                next_attempt,
                counter: 0,
                holder: None,
            },
        );
    }

    /// Claims for `node` up to `limit` messages that are due at `now` and
    /// held by nobody (or whose lease ran out), earliest due first (then
    /// by queue ID); each lease lasts `lease` from `now`.
    pub fn claim_due(
        &mut self,
        node: NodeId,
        now: Instant,
        lease: Duration,
        limit: usize,
    ) -> Vec<(QueueId, LeaseToken)> {
        let mut due: Vec<(Instant, QueueId)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.next_attempt <= now && !held_at(e, now))
            .map(|(id, e)| (e.next_attempt, *id))
            .collect();
        due.sort();
        due.into_iter()
            .take(limit)
            .map(|(_, id)| {
                let entry = self.entries.get_mut(&id).expect("listed above");
                entry.counter += 1;
                entry.holder = Some((node, now + lease));
                (
                    id,
                    LeaseToken {
                        node,
                        counter: entry.counter,
                    },
                )
            })
            .collect()
    }

    /// Whether `token` still holds `id` at `now`: what every write checks.
    pub fn check(&self, id: QueueId, token: LeaseToken, now: Instant) -> Result<(), Fenced> {
        let entry = self.entries.get(&id).ok_or(Fenced::Gone)?;
        match entry.holder {
            Some((node, _)) if node != token.node || entry.counter != token.counter => {
                Err(Fenced::Superseded)
            }
            None => Err(Fenced::Superseded),
            Some((_, expires)) if now >= expires => Err(Fenced::Expired),
            Some(_) => Ok(()),
        }
    }

    /// Extends the lease to `lease` from `now`.
    pub fn renew(
        &mut self,
        id: QueueId,
        token: LeaseToken,
        now: Instant,
        lease: Duration,
    ) -> Result<(), Fenced> {
        self.check(id, token, now)?;
        let entry = self.entries.get_mut(&id).expect("checked");
        entry.holder = Some((token.node, now + lease));
        Ok(())
    }

    /// Lets the message go until `next_attempt` (a retry later): nobody
    /// holds it meanwhile.
    pub fn release(
        &mut self,
        id: QueueId,
        token: LeaseToken,
        now: Instant,
        next_attempt: Instant,
    ) -> Result<(), Fenced> {
        self.check(id, token, now)?;
        let entry = self.entries.get_mut(&id).expect("checked");
        entry.holder = None;
        entry.next_attempt = next_attempt;
        Ok(())
    }

    /// Removes a message that needs nothing more.
    pub fn finish(&mut self, id: QueueId, token: LeaseToken, now: Instant) -> Result<(), Fenced> {
        self.check(id, token, now)?;
        self.entries.remove(&id);
        Ok(())
    }

    /// The messages still queued, by ID.
    pub fn ids(&self) -> impl Iterator<Item = QueueId> + '_ {
        self.entries.keys().copied()
    }

    /// Who holds `id` at `now`, if anybody.
    pub fn holder(&self, id: QueueId, now: Instant) -> Option<LeaseToken> {
        let entry = self.entries.get(&id)?;
        let (node, _) = entry.holder.filter(|_| held_at(entry, now))?;
        Some(LeaseToken {
            node,
            counter: entry.counter,
        })
    }
}

/// When a node that holds message `state` may give its lease back, and
/// until when: the message is only waiting for a retry (nothing of it
/// under way on this node (`busy`), no due recipient waiting for a
/// connection slot (`blocked`), and its next attempt after `now`). The
/// answer is the next attempt, which the store keeps so that whichever
/// node claims it then carries on. `None`: keep the lease (work goes on,
/// or is due now, or nothing is pending at all).
pub fn release_until(
    state: &DeliveryState,
    busy: bool,
    blocked: bool,
    now: UnixTime,
) -> Option<UnixTime> {
    if busy || blocked || !state.unbounced_failures().is_empty() {
        return None;
    }
    state.next_attempt().filter(|&next| next > now)
}

/// How many messages a node claims at once when it holds `held`: what
/// its bound [`STORAGE_HELD_MESSAGES_MAX`] leaves, at most one claim's
/// [`STORAGE_CLAIM_MESSAGES_MAX`].
pub fn claim_limit(held: usize) -> u32 {
    let room = STORAGE_HELD_MESSAGES_MAX.saturating_sub(held);
    u32::try_from(room)
        .unwrap_or(u32::MAX)
        .min(STORAGE_CLAIM_MESSAGES_MAX)
}

/// How often a node renews the leases it holds: three times a lease, so
/// that two renewals in a row may fail (a slow database, a lost
/// connection) before the lease runs out.
pub fn renew_every(lease: Duration) -> Duration {
    lease / 3
}

fn held_at(entry: &Entry, now: Instant) -> bool {
    entry.holder.is_some_and(|(_, expires)| now < expires)
}

#[cfg(test)]
mod tests;
