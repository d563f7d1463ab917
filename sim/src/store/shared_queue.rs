//! The queue shared by N simulated nodes, with leases on the virtual
//! clock: what `postern run` does on PostgreSQL, in memory.
//!
//! The rule is the core's [`LeaseTable`], the one the PostgreSQL store is
//! held to step by step (`runtime-tokio/tests/postgres_leases.rs`); its
//! clock is turmoil's virtual time, which every node reads alike, as the
//! database's clock is one for every node. Each node reaches the store
//! through its own view ([`MemoryStore::node_view`]), which is the
//! delivery runner's `QueueStore` on that node (`shared()`, `release`,
//! `holds`, and every write fenced by the lease it claimed with) and the
//! sessions' `Backend` (a commit goes into the shared queue before the
//! `250`).
//!
//! A node's link to the store can be cut (a partition: every call fails,
//! so a session answers `451 4.3.0`) or stalled (a pause: every call
//! waits until the node resumes, so its results arrive late and are
//! fenced).
//!
//! Beside the table, an observer keeps its own record of who holds what
//! until when, from the answers the table gave, and checks each claim and
//! each write that lands against it: two holders at once, or a write that
//! lands without a live lease, is a violation, whatever the table said.

use super::{MemoryStore, PlantedBug, SIMULATED_EPOCH};
use postern::storage::postgres::StoreError;
use postern_core::envelope::QueueId;
use postern_core::queue::lease::{Fenced, LeaseTable, LeaseToken, NodeId, claim_limit};
use postern_core::time::{Instant, UnixTime};
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How often a paused node's stalled call looks whether it may go on.
const PAUSE_POLL: Duration = Duration::from_millis(10);

/// What the leases did in a run, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseStats {
    /// Messages claimed (each claim of each message).
    pub claims: u32,
    /// Claims of a message whose previous lease ran out rather than being
    /// given back: another node took over.
    pub takeovers: u32,
    /// Writes refused because the writer's lease was gone.
    pub fenced: u32,
    /// Calls refused because the node could not reach the store.
    pub unreachable: u32,
}

/// A node's link to the store.
#[derive(Clone, Copy, Debug, Default)]
struct Link {
    partitioned: bool,
    paused: bool,
}

#[derive(Debug)]
struct State {
    table: LeaseTable,
    lease: Duration,
    /// The observer's record: the live lease of each message as the
    /// table granted it, until when.
    truth: BTreeMap<QueueId, (LeaseToken, Instant)>,
    /// Each node's memory of the leases it holds: lost with a crash.
    held: BTreeMap<NodeId, BTreeMap<QueueId, LeaseToken>>,
    links: BTreeMap<NodeId, Link>,
    /// The nodes each message was taken from (its lease ran out on
    /// them), once per takeover, in order: each takeover may add one
    /// copy at a remote server.
    taken_from: BTreeMap<QueueId, Vec<NodeId>>,
    violations: Vec<String>,
    stats: LeaseStats,
    /// The node whose commit woke the claimers last (none: the store's
    /// own writer, outside any node).
    last_committer: Option<NodeId>,
}

/// The shared queue's leases, links and observer; one per world.
#[derive(Debug)]
pub struct SharedQueue {
    state: Mutex<State>,
    /// Woken at every commit, as `NOTIFY postern_queue` wakes every node.
    wake: Notify,
}

/// How much later than the committing node another node hears of a
/// commit: a `NOTIFY` travels through the database.
pub const NOTIFY_LATENCY: Duration = Duration::from_millis(20);

impl SharedQueue {
    pub fn new(lease: Duration) -> Arc<Self> {
        Arc::new(SharedQueue {
            state: Mutex::new(State {
                table: LeaseTable::default(),
                lease,
                truth: BTreeMap::new(),
                held: BTreeMap::new(),
                links: BTreeMap::new(),
                taken_from: BTreeMap::new(),
                violations: Vec::new(),
                stats: LeaseStats::default(),
                last_committer: None,
            }),
            wake: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long a claim or renewal lasts.
    pub fn lease(&self) -> Duration {
        self.lock().lease
    }

    /// Invariants the observer saw broken.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    pub fn stats(&self) -> LeaseStats {
        self.lock().stats
    }

    /// The messages taken over from a node whose lease ran out.
    pub fn taken_over(&self) -> BTreeMap<QueueId, Vec<NodeId>> {
        self.lock().taken_from.clone()
    }

    /// Cuts (or heals) `node`'s link to the store.
    pub fn set_partitioned(&self, node: NodeId, partitioned: bool) {
        self.lock().links.entry(node).or_default().partitioned = partitioned;
    }

    /// Stalls (or lets go) every call `node` makes to the store.
    pub fn set_paused(&self, node: NodeId, paused: bool) {
        self.lock().links.entry(node).or_default().paused = paused;
    }

    /// `node` crashed: it forgets the leases it held (they run out in
    /// the store on their own).
    pub fn crashed(&self, node: NodeId) {
        self.lock().held.remove(&node);
    }

    /// A message committed: due now, held by nobody; every node is woken.
    pub(super) fn committed(&self, id: QueueId, by: Option<NodeId>) {
        let mut state = self.lock();
        state.table.insert(id, now());
        state.last_committer = by;
        drop(state);
        self.wake.notify_waiters();
    }
}

/// The virtual clock as the store's clock.
fn now() -> Instant {
    let elapsed = turmoil::sim_elapsed().unwrap_or_default();
    Instant::from_nanos(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
}

/// A calendar time as the store's clock (the simulated epoch is zero).
fn instant_of(time: UnixTime) -> Instant {
    let secs = u64::try_from(time.0.saturating_sub(SIMULATED_EPOCH.0)).unwrap_or(0);
    Instant::from_nanos(secs.saturating_mul(1_000_000_000))
}

fn seconds(at: Instant) -> String {
    format!("{:.3}s", at.as_nanos() as f64 / 1e9)
}

fn fenced_error() -> io::Error {
    StoreError::Fenced.into()
}

impl MemoryStore {
    /// The same store shared by nodes, with leases of `lease`.
    pub fn with_shared_queue(self, queue: Arc<SharedQueue>) -> Self {
        MemoryStore {
            queue_share: Some(queue),
            ..self
        }
    }

    /// The store as node `node` reaches it.
    pub fn node_view(&self, node: NodeId) -> Self {
        MemoryStore {
            node: Some(node),
            ..self.clone()
        }
    }

    /// The shared queue, if the store is shared by nodes.
    pub fn shared_queue(&self) -> Option<&Arc<SharedQueue>> {
        self.queue_share.as_ref()
    }

    /// The node this view is, with the shared queue.
    fn on_node(&self) -> Option<(NodeId, &SharedQueue)> {
        Some((self.node?, self.queue_share.as_deref()?))
    }

    /// Waits while this node is paused; fails while it is partitioned from
    /// the store. Nothing to wait for outside a node's view.
    pub(super) async fn reach(&self) -> io::Result<()> {
        let Some((node, queue)) = self.on_node() else {
            return Ok(());
        };
        loop {
            let link = queue.lock().links.get(&node).copied().unwrap_or_default();
            if link.paused {
                tokio::time::sleep(PAUSE_POLL).await;
                continue;
            }
            if link.partitioned {
                queue.lock().stats.unreachable += 1;
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("node {node} cannot reach the shared store"),
                ));
            }
            return Ok(());
        }
    }

    /// Claims what this node may hold of the due messages, as the claimer
    /// of `postern run` does; answers their IDs.
    pub async fn claim_due(&self) -> io::Result<Vec<QueueId>> {
        self.reach().await?;
        let Some((node, queue)) = self.on_node() else {
            return Ok(Vec::new());
        };
        let mut state = queue.lock();
        let state = &mut *state;
        let held = state.held.entry(node).or_default();
        let limit = claim_limit(held.len()) as usize;
        let (now, lease) = (now(), state.lease);
        let claimed = match self.bug {
            // The bug: every lease counts as run out, so a claim takes
            // messages another node is still working on.
            Some(PlantedBug::ClaimIgnoresLease) => {
                state
                    .table
                    .claim_due(node, now + lease, Duration::ZERO, limit)
            }
            _ => state.table.claim_due(node, now, lease, limit),
        };
        let mut ids = Vec::with_capacity(claimed.len());
        for (id, token) in claimed {
            if let Some((before, until)) = state.truth.get(&id).copied() {
                if now < until {
                    state.violations.push(format!(
                        "message {id} claimed by node {node} at {} while node {}'s lease on it ran until {}: two nodes held it at once",
                        seconds(now),
                        before.node,
                        seconds(until)
                    ));
                }
                state.stats.takeovers += 1;
                state.taken_from.entry(id).or_default().push(before.node);
                tracing::info!(queue_id = %id, "{id}: claimed by node {node} after node {}'s lease ran out", before.node);
            }
            state.truth.insert(id, (token, now + lease));
            state.stats.claims += 1;
            held.insert(id, token);
            ids.push(id);
        }
        Ok(ids)
    }

    /// Renews every lease this node holds, as `postern run` does every
    /// third of a lease; answers those it has lost (fenced), forgotten.
    pub async fn renew_all(&self) -> io::Result<Vec<QueueId>> {
        self.reach().await?;
        let Some((node, _)) = self.on_node() else {
            return Ok(Vec::new());
        };
        let held: Vec<(QueueId, LeaseToken)> = self.held_by(node);
        let mut lost = Vec::new();
        for (id, token) in held {
            if self.renew(id, token).is_err() {
                lost.push(id);
            }
        }
        Ok(lost)
    }

    fn held_by(&self, node: NodeId) -> Vec<(QueueId, LeaseToken)> {
        let Some(queue) = self.queue_share.as_deref() else {
            return Vec::new();
        };
        queue
            .lock()
            .held
            .get(&node)
            .map(|held| held.iter().map(|(&id, &t)| (id, t)).collect())
            .unwrap_or_default()
    }

    /// The lease this node holds on `id`, if it holds one.
    fn token(&self, id: QueueId) -> Option<LeaseToken> {
        let (node, queue) = self.on_node()?;
        queue.lock().held.get(&node)?.get(&id).copied()
    }

    fn renew(&self, id: QueueId, token: LeaseToken) -> io::Result<()> {
        self.fenced_write(id, token, "renewal", |table, now, lease| {
            table.renew(id, token, now, lease)
        })
        .map(|_| ())
    }

    /// Carries out `write` with `token`, as one transaction that first
    /// checks the lease; the observer checks what landed. A write refused
    /// forgets the lease on this node. Answers whether the lease still
    /// holds after it (false after a finish or a release).
    fn fenced_write(
        &self,
        id: QueueId,
        token: LeaseToken,
        what: &str,
        write: impl FnOnce(&mut LeaseTable, Instant, Duration) -> Result<(), Fenced>,
    ) -> io::Result<bool> {
        let Some(queue) = self.queue_share.as_deref() else {
            return Ok(true);
        };
        let mut state = queue.lock();
        let state = &mut *state;
        let (now, lease) = (now(), state.lease);
        if let Err(fenced) = write(&mut state.table, now, lease) {
            if self.bug == Some(PlantedBug::FenceIgnored) {
                // The bug: the write lands all the same (the table is
                // left as it was; the message's data as the caller writes
                // it).
                self.observe_write(state, id, token, now, what);
                return Ok(true);
            }
            state.stats.fenced += 1;
            if let Some(held) = state.held.get_mut(&token.node)
                && held.get(&id) == Some(&token)
            {
                held.remove(&id);
            }
            tracing::info!(queue_id = %id, "{id}: node {}'s {what} refused: {fenced}", token.node);
            return Err(fenced_error());
        }
        self.observe_write(state, id, token, now, what);
        let kept = match what {
            "renewal" => {
                state.truth.insert(id, (token, now + lease));
                true
            }
            "release" | "finish" => {
                state.truth.remove(&id);
                if let Some(held) = state.held.get_mut(&token.node) {
                    held.remove(&id);
                }
                false
            }
            _ => true,
        };
        Ok(kept)
    }

    /// The observer: a write that lands must come from the live lease.
    fn observe_write(
        &self,
        state: &mut State,
        id: QueueId,
        token: LeaseToken,
        now: Instant,
        what: &str,
    ) {
        match state.truth.get(&id) {
            Some(&(holder, until)) if holder == token && now < until => {}
            found => state.violations.push(format!(
                "node {}'s {what} of message {id} landed at {} without a live lease (the lease: {}): a fenced write landed",
                token.node,
                seconds(now),
                found.map_or("none".to_owned(), |(holder, until)| format!(
                    "node {} counter {} until {}",
                    holder.node,
                    holder.counter,
                    seconds(*until)
                )),
            )),
        }
    }

    /// Before a local copy: goes on only while this node holds `id`'s
    /// lease, renewing it (so a node whose lease is gone makes no copy).
    pub(super) fn still_held(&self, id: QueueId) -> io::Result<()> {
        let token = self.token(id).ok_or_else(fenced_error)?;
        self.renew(id, token)
    }

    /// A state write, fenced by this node's lease.
    pub(super) fn fence_state(&self, id: QueueId) -> io::Result<()> {
        if self.on_node().is_none() {
            return Ok(());
        }
        let token = self.token(id).ok_or_else(fenced_error)?;
        self.fenced_write(id, token, "state", |table, now, _| {
            table.check(id, token, now)
        })
        .map(|_| ())
    }

    /// The finish of `id`, fenced by this node's lease.
    pub(super) fn fence_finish(&self, id: QueueId) -> io::Result<()> {
        if self.on_node().is_none() {
            return Ok(());
        }
        let token = self.token(id).ok_or_else(fenced_error)?;
        self.fenced_write(id, token, "finish", |table, now, _| {
            table.finish(id, token, now)
        })
        .map(|_| ())
    }

    /// Gives `id` back until `next_attempt`, fenced by this node's lease.
    pub(super) fn fence_release(&self, id: QueueId, next_attempt: UnixTime) -> io::Result<()> {
        let token = self.token(id).ok_or_else(fenced_error)?;
        self.fenced_write(id, token, "release", |table, now, _| {
            table.release(id, token, now, instant_of(next_attempt))
        })
        .map(|_| ())
    }

    /// Whether this node holds a lease on `id` (a store not shared holds
    /// every message).
    pub(super) fn holds_lease(&self, id: QueueId) -> bool {
        self.on_node().is_none() || self.token(id).is_some()
    }

    /// Whether this node's lease on `id` surely holds now: the lease it
    /// claimed, not run out. A node on PostgreSQL knows this from when it
    /// last claimed or renewed; here every claim and renewal takes no
    /// time, so the observer's record says the same. (A store not shared
    /// holds every message.)
    pub(super) fn surely_held(&self, id: QueueId) -> bool {
        let Some((node, queue)) = self.on_node() else {
            return true;
        };
        let state = queue.lock();
        let Some(&token) = state.held.get(&node).and_then(|held| held.get(&id)) else {
            return false;
        };
        state
            .truth
            .get(&id)
            .is_some_and(|&(holder, until)| holder == token && now() < until)
    }

    /// Waits for a commit on any node, or `poll`. The committing node
    /// hears of its own commit at once, the others [`NOTIFY_LATENCY`]
    /// later.
    pub async fn woken_or(&self, poll: Duration) {
        let Some((node, queue)) = self.on_node() else {
            tokio::time::sleep(poll).await;
            return;
        };
        tokio::select! {
            () = queue.wake.notified() => {
                if queue.lock().last_committer != Some(node) {
                    tokio::time::sleep(NOTIFY_LATENCY).await;
                }
            }
            () = tokio::time::sleep(poll) => {}
        }
    }
}
