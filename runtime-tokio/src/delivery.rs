//! Delivery: the queue runner. It takes committed messages from the spool
//! and carries out what the core decides for each recipient: a copy in a
//! local Maildir, or an [`Attempt`] to another server, directly or through
//! the smarthost; then it records each result, schedules retries, queues
//! bounces, and removes the message when nothing is left to do.
//!
//! One task owns the queue (every message's [`DeliveryState`]) and does
//! all of its bookkeeping; local deliveries and outbound attempts run as
//! tasks of their own and report back. State is written durably after
//! every attempt that leaves something to do, so a crash never loses a
//! result: a recipient may be tried twice after a crash, never zero times.
//! Results are saved as they come, even while other deliveries of the same
//! message are under way (the simulation found that waiting for the slowest
//! repeated every local copy after a crash mid-attempt). A message whose
//! every recipient is settled in one go needs no state write at all, only
//! its removal.
//!
//! The runner reaches the world only through an [`Environment`]: the real
//! one in production, a simulated one in `postern-sim`.
//!
//! The runner never stops delivering silently (see `delivery/supervise.rs`): a panic
//! while it handles one message is caught, logged with the queue ID, and
//! the message is read again later; a message that cannot be read is tried
//! again with backoff; a damaged one is moved aside; and a panic anywhere
//! else restarts the runner with every message it knew.

mod lifecycle;
mod supervise;
#[cfg(test)]
mod tests;

pub use lifecycle::run;
pub use supervise::UnreadableEntry;

mod attempt;
mod local;
mod pool;
mod rules;
mod sign;

use crate::environment::Environment;
use crate::mail_auth::dkim::DkimSigners;
use crate::metrics::DeliveryResult;
use crate::spool::SpoolRecord;
use crate::tls::ClientTls;
use attempt::{Job, run_connection};
use local::deliver_locally;
use postern_core::address::ReversePath;
use postern_core::admission::{OverQuota, Permit, Quota};
use postern_core::config::{Config, OutboundConfig};
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::envelope::{ClientInfo, Destination, Envelope, QueueId, Recipient};
use postern_core::limits::STORAGE_UNREACHABLE_RETRY;
use postern_core::queue::{self, BounceContext, DeliveryState, Failure, Status};
use postern_core::route::{Attempt, AttemptResult, Leg, Ourselves, Routing};
use postern_core::smtp::client::{ClientConfig, TlsPolicy, Verdict};
use postern_core::time::UnixTime;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

/// What the runner needs, shared with its tasks.
pub struct Context<E> {
    /// The network, DNS, clock and storage.
    pub env: E,
    pub directory: Arc<Directory>,
    pub hostname: String,
    pub outbound: OutboundConfig,
    /// TLS with mail exchangers: opportunistic, any certificate.
    pub mx_tls: ClientTls,
    /// TLS with the smarthost: its certificate verified.
    pub smarthost_tls: Option<ClientTls>,
    /// What every attempt shares: the smarthost, the limits, and where we
    /// listen ourselves (see [`Context::listening_at`]).
    pub routing: Routing,
    /// The mailing lists, if this server keeps any (the simulation's
    /// does not).
    pub lists: Option<Arc<crate::lists::ListBook>>,
    /// The newsgroups, for mail to their mail-to-news addresses (the
    /// simulation's server has none).
    pub news: Option<crate::news::NewsStore>,
    /// The `[[dkim]]` keys that sign what leaves.
    pub dkim: Arc<DkimSigners>,
}

/// What a configuration reload (SIGHUP) changes in delivery: the
/// directory (for bounces), the outbound settings (smarthost, retry
/// schedule, limits, timeouts), the smarthost's CA, and the DKIM keys.
pub struct Settings {
    directory: Arc<Directory>,
    hostname: String,
    outbound: OutboundConfig,
    smarthost_tls: Option<ClientTls>,
    lists: Option<Arc<crate::lists::ListBook>>,
    dkim: Arc<DkimSigners>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("hostname", &self.hostname)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Reads the smarthost's CA file, if it has one, and the DKIM keys.
    pub fn new(config: &Config, directory: Arc<Directory>) -> Result<Self, String> {
        let dkim = DkimSigners::load(&config.dkim).map_err(|error| error.to_string())?;
        let smarthost_tls = match &config.outbound.smarthost {
            Some(smarthost) if smarthost.tls != TlsPolicy::Never => Some(
                ClientTls::verified(smarthost.ca_file.as_deref())
                    .map_err(|error| format!("[outbound.smarthost] ca_file: {error}"))?,
            ),
            _ => None,
        };
        Ok(Settings {
            directory,
            hostname: config.server.hostname.clone(),
            outbound: config.outbound.clone(),
            smarthost_tls,
            lists: None,
            dkim: Arc::new(dkim),
        })
    }

    /// These settings with the mailing lists delivery hands list
    /// addresses to.
    pub fn with_lists(mut self, lists: Arc<crate::lists::ListBook>) -> Self {
        self.lists = Some(lists);
        self
    }
}

impl<E: Environment> Context<E> {
    pub fn new(config: &Config, env: E, directory: Arc<Directory>) -> Result<Self, String> {
        let settings = Settings::new(config, directory)?;
        Ok(Self::with_settings(
            env,
            ClientTls::opportunistic(),
            settings,
            Ourselves::default(),
        ))
    }

    fn with_settings(env: E, mx_tls: ClientTls, settings: Settings, ourselves: Ourselves) -> Self {
        Context {
            env,
            directory: settings.directory,
            hostname: settings.hostname,
            routing: settings.outbound.routing(ourselves),
            outbound: settings.outbound,
            mx_tls,
            smarthost_tls: settings.smarthost_tls,
            lists: settings.lists,
            news: None,
            dkim: settings.dkim,
        }
    }

    /// This context with reloaded `settings`: the same world, and the
    /// same addresses of our own. Tasks under way keep the old one.
    fn reloaded(&self, settings: Settings) -> Self {
        let mut context = Self::with_settings(
            self.env.clone(),
            self.mx_tls.clone(),
            settings,
            self.routing.ourselves.clone(),
        );
        // The lists are reconfigured in place (see `crate::lists::ListBook`).
        if context.lists.is_none() {
            context.lists = self.lists.clone();
        }
        // The news store's groups are replaced in place too.
        context.news = self.news.clone();
        context
    }

    /// This context posting mail for newsgroups' addresses to `news`.
    pub fn with_news(mut self, news: crate::news::NewsStore) -> Self {
        self.news = Some(news);
        self
    }

    /// This context handing list addresses to `lists`.
    pub fn with_lists(mut self, lists: Arc<crate::lists::ListBook>) -> Self {
        self.lists = Some(lists);
        self
    }

    /// Where this server listens: an exchanger there is a mail loop.
    pub fn listening_at(mut self, ourselves: Ourselves) -> Self {
        self.routing.ourselves = ourselves;
        self
    }

    /// A new attempt to deliver to `domain`.
    fn attempt(&self, domain: &str, seed: u64) -> Attempt {
        Attempt::start(domain, &self.routing, seed)
    }

    /// The machine's configuration for a session on `leg`, with STARTTLS
    /// as the attempt says (`tls`).
    fn client_config(&self, leg: Leg, tls: TlsPolicy) -> ClientConfig {
        ClientConfig {
            hostname: self.hostname.clone(),
            timeouts: self.outbound.timeouts,
            credentials: match (leg, &self.outbound.smarthost) {
                (Leg::Smarthost, Some(smarthost)) => smarthost.credentials.clone(),
                _ => None,
            },
            tls,
        }
    }

    /// How to treat the certificate of a server on this leg.
    fn client_tls(&self, leg: Leg) -> &ClientTls {
        match (leg, &self.smarthost_tls) {
            (Leg::Smarthost, Some(tls)) => tls,
            _ => &self.mx_tls,
        }
    }
}

/// An operator's request to the runner (`postern queue ...`).
#[derive(Debug)]
pub enum Command {
    /// Make every pending recipient due now; answers how many messages.
    Flush(oneshot::Sender<usize>),
    /// Remove a message, stopping its deliveries under way; answers
    /// whether it was there.
    Delete(QueueId, oneshot::Sender<bool>),
    /// Messages that cannot be read just now, with their next try.
    Unreadable(oneshot::Sender<Vec<UnreadableEntry>>),
    /// This node's lease on a message is gone (a renewal was fenced):
    /// stop its deliveries and forget it.
    LeaseLost(QueueId),
    /// New settings from a configuration reload, for attempts and
    /// bounces from now on.
    Reload(Box<Settings>),
}

/// What tasks report back.
enum Report {
    /// A message's record and state, read from the spool.
    Loaded {
        id: QueueId,
        restarted: bool,
        loaded: io::Result<(SpoolRecord, Option<DeliveryState>)>,
        /// When the runner heard of the message (for the latency metric).
        arrived: tokio::time::Instant,
    },
    Local {
        id: QueueId,
        /// The task that made the deliveries (see [`Runner::tasks`]).
        task: u64,
        /// Recipient indexes now in their Maildir, and the error that
        /// stopped the rest, if one did.
        delivered: Vec<usize>,
        error: Option<LocalError>,
        /// The delivery removed the message: it needed nothing more.
        removed: bool,
    },
    /// The result of one message over a connection; with a key, the
    /// connection is free for another message to that destination.
    Attempt {
        id: QueueId,
        task: u64,
        domain: String,
        indexes: Vec<usize>,
        result: Result<AttemptResult, String>,
        reusable: Option<String>,
    },
    /// A message handed to an open connection that could not begin it (the
    /// server hung up while idle, or refused RSET): nothing was tried, and
    /// it goes back to the queue untouched.
    Returned {
        id: QueueId,
        task: u64,
        domain: String,
    },
    /// A connection task has ended (`panic` says why, if it did not end
    /// on its own): its connection slot comes back.
    Closed { task: u64, panic: Option<String> },
}

/// Why a local delivery stopped short.
struct LocalError {
    text: String,
    /// The store's database could not be reached (the error is not the
    /// recipient's): tried again after [`STORAGE_UNREACHABLE_RETRY`].
    unreachable: bool,
}

/// One message the runner knows.
struct Entry {
    record: Arc<SpoolRecord>,
    state: DeliveryState,
    /// The state on disk is older than `state`.
    dirty: bool,
    /// The local delivery task under way, if one is.
    local_task: Option<u64>,
    /// Domains with an attempt under way, and its task.
    in_flight: BTreeMap<String, u64>,
    /// When this process heard the message was committed, if it did (not
    /// for one found in the spool at start-up).
    arrived: Option<tokio::time::Instant>,
}

impl Entry {
    /// Counts in the metrics the result just recorded for recipient `i`,
    /// with its latency when it is final.
    fn count_result(&self, i: usize, now: UnixTime) {
        let result = match self.state.recipients[i].status {
            Status::Delivered => DeliveryResult::Delivered,
            Status::Failed => DeliveryResult::Bounced,
            Status::Pending { .. } => DeliveryResult::Deferred,
        };
        let latency = (result != DeliveryResult::Deferred).then(|| self.latency(now));
        crate::metrics::global().delivery(result, latency);
    }

    /// How long since the message was received. The spool keeps whole
    /// seconds, so a message this process saw arrive is timed by the
    /// monotonic clock from its arrival; never less than the whole seconds
    /// the calendar shows, less one (the arrival is noted again after a
    /// failed read or a restart of the runner).
    fn latency(&self, now: UnixTime) -> Duration {
        let waited = now.0.saturating_sub(self.record.received_at);
        let calendar = Duration::from_secs(u64::try_from(waited).unwrap_or(0));
        match self.arrived {
            Some(arrived) => arrived
                .elapsed()
                .max(calendar.saturating_sub(Duration::from_secs(1))),
            None => calendar,
        }
    }
}

struct Runner<E> {
    context: Arc<Context<E>>,
    entries: BTreeMap<QueueId, Entry>,
    quota: Quota<String>,
    /// The permit of each attempt under way, by task.
    permits: BTreeMap<u64, Permit<String>>,
    /// Every delivery task under way (local or an attempt), by a number
    /// never reused, so that a report from a task that was cancelled is
    /// told from one of its successor.
    tasks: BTreeMap<u64, supervise::Task>,
    next_task: u64,
    /// Messages with a due group that waits for an outbound connection.
    blocked: BTreeSet<QueueId>,
    /// Open outbound connections, and those idle for another message.
    pool: pool::Pool,
    /// Messages being read from the store.
    loading: BTreeSet<QueueId>,
    /// Messages deleted while being read: their read is not to bring them
    /// back.
    deleted: BTreeSet<QueueId>,
    /// Messages that could not be read, waiting for another try.
    unreadable: BTreeMap<QueueId, supervise::Unreadable>,
    /// Failed reads (and panics) so far of each message, for the backoff.
    failures: BTreeMap<QueueId, u32>,
    reports: mpsc::UnboundedSender<Report>,
}

impl<E: Environment> Runner<E> {
    fn now(&self) -> UnixTime {
        self.context.env.now()
    }

    /// Starts what is due for message `id`, sends bounces, saves state,
    /// and removes the message once nothing is left.
    async fn process(&mut self, id: QueueId) {
        let now = self.now();
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        self.blocked.remove(&id);
        let record = Arc::clone(&entry.record);
        let envelope = &record.envelope;
        // Local copies first: they need no connection.
        let local: Vec<usize> = entry
            .state
            .due(now)
            .into_iter()
            .filter(|&i| matches!(envelope.recipients[i].destination, Destination::Local(_)))
            .collect();
        if !local.is_empty() && entry.local_task.is_none() {
            // Nothing else waits: the delivery may remove the message
            // with its copies, in the same step.
            let settles = entry.state.done_once_delivered(&local);
            let task = self.next_task;
            self.next_task += 1;
            entry.local_task = Some(task);
            let (context, record, reports) = (
                Arc::clone(&self.context),
                Arc::clone(&entry.record),
                self.reports.clone(),
            );
            let work = crate::task::spawn(
                async move {
                    let done = deliver_locally(&context, record, &local, settles).await;
                    let error = done.error.map(|e| LocalError {
                        unreachable: crate::storage::postgres::unreachable(&e),
                        text: e.to_string(),
                    });
                    (done.delivered, error, done.removed)
                }
                .in_current_span(),
            );
            self.tasks.insert(task, supervise::Task::new(id, &work));
            // The report is sent even if the delivery panics, so that the
            // message is not left waiting for it.
            crate::task::spawn(
                async move {
                    let (delivered, error, removed) = match work.await {
                        Ok(done) => done,
                        Err(panic) => {
                            let error = LocalError {
                                unreachable: false,
                                text: format!("internal error: {panic}"),
                            };
                            (Vec::new(), Some(error), false)
                        }
                    };
                    let _ = reports.send(Report::Local {
                        id,
                        task,
                        delivered,
                        error,
                        removed,
                    });
                }
                .in_current_span(),
            );
        }
        for (domain, indexes) in queue::remote_groups(envelope, &entry.state, now) {
            if entry.in_flight.contains_key(&domain) {
                continue;
            }
            let seed = id.0 ^ u64::from(entry.state.recipients[indexes[0]].attempts);
            let attempt = self.context.attempt(&domain, seed);
            let job = Job {
                id,
                record: Arc::clone(&entry.record),
                domain: domain.clone(),
                indexes,
            };
            // An open connection to the same destination first (RFC 5321
            // 3.3): no connect, greeting or EHLO, and no new slot.
            let job = match self.pool.hand_over(attempt.destination(), job) {
                Ok(task) => {
                    entry.in_flight.insert(domain, task);
                    if let Some(running) = self.tasks.get_mut(&task) {
                        running.carries(id);
                    }
                    continue;
                }
                Err(job) => job,
            };
            let permit = match self.quota.acquire(attempt.destination().to_owned()) {
                Ok(permit) => permit,
                Err(over) => {
                    // A slot held by a connection idle for another
                    // destination is worth more here.
                    if matches!(over, OverQuota::Total { .. }) {
                        self.pool.retire_one_except(attempt.destination());
                    }
                    self.blocked.insert(id);
                    continue;
                }
            };
            let task = self.next_task;
            self.next_task += 1;
            entry.in_flight.insert(domain.clone(), task);
            self.permits.insert(task, permit);
            let (jobs, handed) = tokio::sync::mpsc::channel(1);
            self.pool
                .opened(task, jobs, (id, domain, job.indexes.clone()));
            let work = crate::task::spawn(
                run_connection(
                    Arc::clone(&self.context),
                    job,
                    attempt,
                    task,
                    self.reports.clone(),
                    handed,
                )
                .in_current_span(),
            );
            self.tasks.insert(task, supervise::Task::new(id, &work));
            // The close is reported even if the task panics, so that its
            // permit always comes back, and what it carried is settled.
            let reports = self.reports.clone();
            crate::task::spawn(
                async move {
                    let panic = work.await.err().map(|panic| panic.to_string());
                    let _ = reports.send(Report::Closed { task, panic });
                }
                .in_current_span(),
            );
        }
        self.bounce(id).await;
        self.settle(id).await;
    }

    /// Records what a task reports; answers the message to process next.
    /// (Loads are handled by [`Runner::report`].)
    fn apply_report(&mut self, report: Report) -> Option<QueueId> {
        let now = self.now();
        let schedule = self.context.outbound.retry.clone();
        let id = match report {
            Report::Loaded { .. } => return None,
            Report::Local {
                id,
                task,
                delivered,
                error,
                removed,
            } => {
                self.tasks.remove(&task);
                let entry = self.entries.get_mut(&id)?;
                // A task cancelled (and replaced) since it started; if it
                // got as far as removing the message, the message is gone.
                if entry.local_task != Some(task) {
                    if removed {
                        self.entries.remove(&id);
                        self.failures.remove(&id);
                    }
                    return None;
                }
                entry.local_task = None;
                let received_at = UnixTime(entry.record.received_at);
                for &i in &delivered {
                    entry.state.record(
                        i,
                        Verdict::Delivered,
                        postern_core::queue::DELIVERED_LOCALLY_DETAIL,
                        now,
                        received_at,
                        &schedule,
                    );
                    entry.count_result(i, now);
                }
                if let Some(error) = error {
                    // The database out of reach says nothing about the
                    // recipients: soon, not on their schedule.
                    let schedule = match error.unreachable {
                        true => schedule.with_delay(STORAGE_UNREACHABLE_RETRY),
                        false => schedule.clone(),
                    };
                    let pending: Vec<usize> = entry
                        .state
                        .due(now)
                        .into_iter()
                        .filter(|&i| {
                            matches!(
                                entry.record.envelope.recipients[i].destination,
                                Destination::Local(_)
                            )
                        })
                        .collect();
                    for i in pending {
                        entry.state.record(
                            i,
                            Verdict::Deferred,
                            &format!("local delivery failed: {}", error.text),
                            now,
                            received_at,
                            &schedule,
                        );
                        entry.count_result(i, now);
                    }
                    let error = error.text;
                    tracing::error!(queue_id = %id, %error, "{id}: local delivery failed; will retry");
                }
                entry.dirty = true;
                if removed {
                    // Every copy is durable and the file is gone: the
                    // message leaves the queue here, not in `settle`.
                    debug_assert!(entry.state.is_done(), "{id} removed with work left");
                    let recipients = entry.state.recipients.len();
                    self.entries.remove(&id);
                    self.failures.remove(&id);
                    tracing::info!(queue_id = %id, recipients, "{id}: removed from the spool");
                    return None;
                }
                id
            }
            Report::Closed { .. } => return None,
            Report::Returned { id, task, domain } => {
                self.pool.reported(task, None);
                let entry = self.entries.get_mut(&id)?;
                if entry.in_flight.get(&domain) != Some(&task) {
                    return None;
                }
                entry.in_flight.remove(&domain);
                tracing::debug!(queue_id = %id, %domain, "{id}: back in the queue untried");
                id
            }
            Report::Attempt {
                id,
                task,
                domain,
                indexes,
                result,
                reusable,
            } => {
                self.pool.reported(task, reusable);
                let entry = self.entries.get_mut(&id)?;
                if entry.in_flight.get(&domain) != Some(&task) {
                    return None;
                }
                entry.in_flight.remove(&domain);
                let received_at = UnixTime(entry.record.received_at);
                let record = Arc::clone(&entry.record);
                let envelope = &record.envelope;
                let results: Vec<(usize, Verdict, String, String)> = match result {
                    Ok(AttemptResult::Session { outcome, host, leg }) => {
                        let via = match leg {
                            Leg::Direct => host,
                            Leg::Smarthost => format!("smarthost {host}"),
                        };
                        indexes
                            .iter()
                            .zip(outcome.recipients)
                            .map(|(&i, r)| (i, r.verdict, r.detail, via.clone()))
                            .collect()
                    }
                    Ok(AttemptResult::Undeliverable { detail, permanent }) => {
                        let verdict = if permanent {
                            Verdict::Failed
                        } else {
                            Verdict::Deferred
                        };
                        indexes
                            .iter()
                            .map(|&i| (i, verdict, detail.clone(), domain.clone()))
                            .collect()
                    }
                    Err(panic) => indexes
                        .iter()
                        .map(|&i| {
                            (
                                i,
                                Verdict::Deferred,
                                format!("internal error: {panic}"),
                                domain.clone(),
                            )
                        })
                        .collect(),
                };
                for (i, verdict, detail, via) in results {
                    entry
                        .state
                        .record(i, verdict, &detail, now, received_at, &schedule);
                    entry.count_result(i, now);
                    let to = &envelope.recipients[i].forward_path;
                    match &entry.state.recipients[i].status {
                        Status::Delivered => {
                            tracing::info!(queue_id = %id, %to, %via, "{id}: to={to} delivered via {via}: {detail}")
                        }
                        Status::Failed => {
                            tracing::warn!(queue_id = %id, %to, %via, "{id}: to={to} failed: {}", entry.state.recipients[i].last_detail)
                        }
                        Status::Pending { next_attempt } => {
                            let wait = next_attempt.0.saturating_sub(now.0);
                            tracing::info!(queue_id = %id, %to, %via, "{id}: to={to} deferred: {detail}; next attempt in {wait}s");
                        }
                    }
                }
                entry.dirty = true;
                id
            }
        };
        Some(id)
    }

    /// Queues a bounce for failed recipients that have none yet.
    async fn bounce(&mut self, id: QueueId) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let failed = entry.state.unbounced_failures();
        if failed.is_empty() {
            return;
        }
        let record = Arc::clone(&entry.record);
        let envelope = &record.envelope;
        let indexes: Vec<usize> = failed.iter().map(|(i, _)| *i).collect();
        let failures: Vec<Failure> = failed
            .into_iter()
            .map(|(i, detail)| Failure {
                recipient: envelope.recipients[i].forward_path.clone(),
                detail,
            })
            .collect();
        let headers = self
            .context
            .env
            .header_section(id)
            .await
            .unwrap_or_default();
        let queue_id = id.to_string();
        let now = self.context.env.now();
        let context = BounceContext {
            hostname: &self.context.hostname,
            queue_id: &queue_id,
            reverse_path: &envelope.reverse_path,
            arrived: UnixTime(entry.record.received_at),
            now,
            original_headers: &headers,
            seed: id.0,
        };
        match queue::bounce(&context, &failures) {
            None => {
                tracing::warn!(queue_id = %id, "{id}: not bounced: the sender is null (a bounce is never bounced)");
            }
            Some(bounce) => {
                let destination = match self.context.directory.resolve(&bounce.recipient) {
                    RecipientVerdict::Local(mailbox) => Destination::Local(mailbox),
                    RecipientVerdict::NotLocal => Destination::Remote,
                    RecipientVerdict::UnknownLocalUser => {
                        tracing::warn!(queue_id = %id, "{id}: not bounced: the sender {} is not a local user", bounce.recipient);
                        entry.state.mark_bounced(&indexes);
                        entry.dirty = true;
                        return;
                    }
                };
                let bounce_envelope = Envelope {
                    reverse_path: ReversePath::Null,
                    recipients: vec![Recipient {
                        forward_path: bounce.recipient.clone(),
                        destination,
                    }],
                    body: bounce.body,
                    smtputf8: bounce.smtputf8,
                    client: ClientInfo {
                        helo: self.context.hostname.clone(),
                        address: "(bounce)".to_owned(),
                        submitted: true,
                    },
                };
                match self
                    .context
                    .env
                    .inject(bounce_envelope, bounce.message)
                    .await
                {
                    Ok(bounce_id) => {
                        tracing::info!(queue_id = %id, bounce = %bounce_id, "{id}: bounce {bounce_id} queued for {}", bounce.recipient);
                    }
                    Err(error) => {
                        tracing::error!(queue_id = %id, %error, "{id}: cannot queue the bounce; will try again");
                        return;
                    }
                }
            }
        }
        entry.state.mark_bounced(&indexes);
        entry.dirty = true;
    }
}
