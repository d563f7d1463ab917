//! How messages enter and leave the runner, and its loop: the backlog and
//! arrivals are read from the store (off the runner's task), the runner
//! wakes for what is due, saves states and removes finished messages, and
//! carries out the operator's commands. Delivery itself (local copies and
//! attempts) is in the parent module; what keeps the loop running
//! whatever happens is in [`super::supervise`].

use super::{Command, Context, Entry, Report, Runner, supervise};
use crate::environment::Environment;
use crate::metrics::QueueFigures;
use crate::spool::SpoolRecord;
use crate::storage::postgres::is_fenced;
use postern_core::admission::{Limits, Quota};
use postern_core::envelope::QueueId;
use postern_core::queue::DeliveryState;
use postern_core::queue::lease::release_until;
use postern_core::time::UnixTime;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

/// Delivers the `backlog`, then every ID the spool announces on
/// `arrivals`, and carries out `commands`, until `arrivals` closes.
pub async fn run<E: Environment>(
    context: Context<E>,
    backlog: Vec<QueueId>,
    mut arrivals: mpsc::UnboundedReceiver<QueueId>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let (reports, mut reported) = mpsc::unbounded_channel();
    let mut runner = Runner::new(Arc::new(context), reports);
    if !backlog.is_empty() {
        tracing::info!(
            count = backlog.len(),
            "delivering messages left in the spool"
        );
    }
    for id in backlog {
        runner.arrived(id, true).await;
    }
    loop {
        crate::metrics::global().queue_changed(runner.queue_figures());
        let step = runner.step(&mut arrivals, &mut reported, &mut commands);
        match supervise::catch_panic(step).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(panic) => runner.restart(&panic).await,
        }
    }
}

impl<E: Environment> Runner<E> {
    pub(super) fn new(context: Arc<Context<E>>, reports: mpsc::UnboundedSender<Report>) -> Self {
        let limits = Limits {
            total: context.outbound.max_connections,
            per_key: context.outbound.max_connections_per_destination,
        };
        Runner {
            context,
            entries: BTreeMap::new(),
            quota: Quota::new(limits),
            permits: BTreeMap::new(),
            tasks: BTreeMap::new(),
            next_task: 0,
            blocked: BTreeSet::new(),
            pool: Default::default(),
            loading: BTreeSet::new(),
            deleted: BTreeSet::new(),
            unreadable: BTreeMap::new(),
            failures: BTreeMap::new(),
            reports,
        }
    }

    /// The queue now, for the metrics: one pass over the messages, like
    /// [`Runner::next_wake`]'s. Queue IDs sort by arrival, so the first
    /// is the oldest.
    pub(super) fn queue_figures(&self) -> QueueFigures {
        let delivering = self
            .entries
            .values()
            .filter(|entry| entry.local_task.is_some() || !entry.in_flight.is_empty())
            .count();
        QueueFigures {
            delivering: delivering + self.loading.len(),
            waiting: self.entries.len() - delivering,
            unreadable: self.unreadable.len(),
            oldest_received_at: self
                .entries
                .first_key_value()
                .map(|(_, entry)| UnixTime(entry.record.received_at)),
        }
    }

    /// Waits for one event and handles it; false once `arrivals` closes.
    pub(super) async fn step(
        &mut self,
        arrivals: &mut mpsc::UnboundedReceiver<QueueId>,
        reported: &mut mpsc::UnboundedReceiver<Report>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> bool {
        let wake = self.next_wake();
        let timer = async {
            match wake {
                Some(at) => tokio::time::sleep(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            arrival = arrivals.recv() => match arrival {
                Some(id) => self.arrived(id, false).await,
                None => return false,
            },
            Some(report) = reported.recv() => self.report(report).await,
            Some(command) = commands.recv() => self.command(command).await,
            () = timer => {
                self.retry_loads().await;
                self.process_all().await;
            }
        }
        true
    }
}

impl<E: Environment> Runner<E> {
    /// Takes a message into the queue. At start-up (`restarted`), what
    /// was waiting for a retry is tried at once, as a queue run would.
    pub(super) async fn arrived(&mut self, id: QueueId, restarted: bool) {
        if self.entries.contains_key(&id) || !self.loading.insert(id) {
            return;
        }
        self.unreadable.remove(&id);
        let arrived = tokio::time::Instant::now();
        // Read off the runner's task, so arrivals never queue behind a read.
        let (context, reports) = (Arc::clone(&self.context), self.reports.clone());
        crate::task::spawn(
            async move {
                // A read that panics is a read that failed: retried later.
                let loaded = supervise::catch_panic(context.env.load(id))
                    .await
                    .unwrap_or_else(|panic| {
                        Err(io::Error::other(format!("internal error: {panic}")))
                    });
                let _ = reports.send(Report::Loaded {
                    id,
                    restarted,
                    loaded,
                    arrived,
                });
            }
            .in_current_span(),
        );
    }

    pub(super) async fn loaded(
        &mut self,
        id: QueueId,
        restarted: bool,
        loaded: io::Result<(SpoolRecord, Option<DeliveryState>)>,
        arrived: tokio::time::Instant,
    ) {
        self.loading.remove(&id);
        // Deleted while it was read: the read must not bring it back.
        if self.deleted.remove(&id) || self.entries.contains_key(&id) {
            return;
        }
        // Whatever the store, the runner indexes the state by recipient.
        let checked = loaded.and_then(|(record, state)| {
            if let Some(state) = &state {
                crate::spool::check_state(&record, state)?;
            }
            Ok((record, state))
        });
        let (record, state) = match checked {
            Ok(loaded) => loaded,
            Err(error) => return self.load_failed(id, restarted, error).await,
        };
        let mut state = state
            .unwrap_or_else(|| DeliveryState::new(&record.envelope, UnixTime(record.received_at)));
        if restarted {
            state.flush(self.now());
        }
        self.entries.insert(
            id,
            Entry {
                record: Arc::new(record),
                state,
                dirty: false,
                local_task: None,
                in_flight: BTreeMap::new(),
                arrived: (!restarted).then_some(arrived),
            },
        );
        self.process_supervised(id).await;
    }

    /// How long until the earliest pending recipient is due, or the
    /// earliest message that could not be read is to be read again.
    pub(super) fn next_wake(&self) -> Option<Duration> {
        let due = self
            .entries
            .values()
            .filter_map(|e| e.state.next_attempt())
            .min()
            .map(|earliest| {
                let wait = earliest.0.saturating_sub(self.now().0).max(0) as u64;
                // Wake at least once a minute so a blocked message is retried.
                Duration::from_secs(wait.clamp(1, 60))
            });
        let reread = self
            .unreadable
            .values()
            .map(|u| u.retry_at)
            .min()
            .map(|at| at.saturating_duration_since(tokio::time::Instant::now()));
        due.into_iter().chain(reread).min()
    }

    pub(super) async fn process_all(&mut self) {
        let ids: Vec<QueueId> = self.entries.keys().copied().collect();
        for id in ids {
            self.process_supervised(id).await;
        }
    }

    /// Saves the state if it changed, or removes the message if done.
    pub(super) async fn settle(&mut self, id: QueueId) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        // What is done is saved even while other deliveries of the message
        // are under way, so a crash meanwhile does not repeat it.
        let busy = entry.local_task.is_some() || !entry.in_flight.is_empty();
        if entry.state.is_done() && !busy {
            let recipients = entry.state.recipients.len();
            self.entries.remove(&id);
            self.failures.remove(&id);
            // Nothing waits for the removal (see Spool::remove); if it
            // fails, the message is delivered again at the next start.
            let context = Arc::clone(&self.context);
            crate::task::spawn(async move {
                match context.env.remove(id).await {
                    Ok(()) => {
                        tracing::info!(queue_id = %id, recipients, "{id}: removed from the spool")
                    }
                    Err(error) if is_fenced(&error) => lease_lost(id),
                    Err(error) => {
                        tracing::error!(queue_id = %id, %error, "{id}: cannot remove from the spool")
                    }
                }
            }.in_current_span());
            return;
        }
        if entry.dirty {
            match self.context.env.save_state(id, entry.state.clone()).await {
                Ok(()) => entry.dirty = false,
                Err(error) if is_fenced(&error) => return self.forget(id).await,
                Err(error) => {
                    tracing::error!(queue_id = %id, %error, "{id}: cannot save the delivery state");
                    return;
                }
            }
        }
        if self.context.env.shared() {
            self.release_waiting(id).await;
        }
    }

    /// On a shared queue, gives back the lease of a message that only
    /// waits for a retry (its state is saved): whichever node claims it
    /// when it is due carries on.
    async fn release_waiting(&mut self, id: QueueId) {
        let now = self.now();
        let blocked = self.blocked.contains(&id);
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        let busy = entry.local_task.is_some() || !entry.in_flight.is_empty();
        let Some(next_attempt) = release_until(&entry.state, busy, blocked, now) else {
            return;
        };
        match self.context.env.release(id, next_attempt).await {
            Ok(()) => {
                self.entries.remove(&id);
                self.failures.remove(&id);
                let wait = next_attempt.0.saturating_sub(now.0);
                tracing::info!(queue_id = %id, "{id}: released to the shared queue until its next attempt in {wait}s");
            }
            Err(error) if is_fenced(&error) => self.forget(id).await,
            // Still held: released at the next settle, or renewed meanwhile.
            Err(error) => {
                tracing::warn!(queue_id = %id, %error, "{id}: cannot release to the shared queue")
            }
        }
    }

    /// Forgets a message whose lease this node lost (another node has it,
    /// or will): its deliveries under way are stopped, and nothing more
    /// is written for it. If this node has claimed it again meanwhile,
    /// it is read afresh.
    pub(super) async fn forget(&mut self, id: QueueId) {
        self.cancel(id);
        self.entries.remove(&id);
        self.unreadable.remove(&id);
        self.failures.remove(&id);
        if self.loading.contains(&id) {
            self.deleted.insert(id);
        }
        lease_lost(id);
        if self.context.env.holds(id) {
            self.arrived(id, false).await;
        }
    }

    pub(super) async fn command(&mut self, command: Command) {
        match command {
            Command::Flush(reply) => {
                let now = self.now();
                let mut count = 0;
                for entry in self.entries.values_mut() {
                    if entry.state.next_attempt().is_some() {
                        entry.state.flush(now);
                        entry.dirty = true;
                        count += 1;
                    }
                }
                tracing::info!(
                    messages = count,
                    "queue flushed: every pending recipient is due now"
                );
                let _ = reply.send(count);
                self.process_all().await;
            }
            Command::Delete(id, reply) => {
                let deleted = self.delete(id).await;
                let _ = reply.send(deleted);
            }
            Command::LeaseLost(id) => {
                self.forget(id).await;
                self.process_blocked().await;
            }
            Command::Unreadable(reply) => {
                let _ = reply.send(self.unreadable_entries());
            }
            Command::Reload(settings) => {
                self.context = Arc::new(self.context.reloaded(*settings));
                // Idle connections were opened under the old settings.
                self.pool.retire_idle();
                let outbound = &self.context.outbound;
                self.quota.set_limits(Limits {
                    total: outbound.max_connections,
                    per_key: outbound.max_connections_per_destination,
                });
                let smarthost = outbound
                    .smarthost
                    .as_ref()
                    .map_or("none".to_owned(), |s| format!("{}:{}", s.host, s.port));
                tracing::info!(%smarthost, "delivery uses the reloaded settings from now on");
                // A new smarthost or higher limits may unblock messages.
                self.process_all().await;
            }
        }
    }
}

fn lease_lost(id: QueueId) {
    tracing::warn!(queue_id = %id, "{id}: lease lost, another node has it");
}
