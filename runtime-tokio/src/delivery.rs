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

mod attempt;

use crate::environment::Environment;
use crate::spool::SpoolRecord;
use crate::tls::ClientTls;
use attempt::run_attempt;
use postern_core::address::ReversePath;
use postern_core::admission::{Limits, Permit, Quota};
use postern_core::config::{Config, OutboundConfig};
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::envelope::{ClientInfo, Destination, Envelope, LocalMailbox, QueueId, Recipient};
use postern_core::queue::{self, BounceContext, DeliveryState, Failure, Status};
use postern_core::route::{Attempt, AttemptResult, Leg, Ourselves, Routing};
use postern_core::smtp::client::{ClientConfig, TlsPolicy, Verdict};
use postern_core::smtp::server::BodyType;
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
}

impl<E: Environment> Context<E> {
    pub fn new(config: &Config, env: E, directory: Arc<Directory>) -> Result<Self, String> {
        let smarthost_tls = match &config.outbound.smarthost {
            Some(smarthost) if smarthost.tls != TlsPolicy::Never => Some(
                ClientTls::verified(smarthost.ca_file.as_deref())
                    .map_err(|error| format!("[outbound.smarthost] ca_file: {error}"))?,
            ),
            _ => None,
        };
        Ok(Context {
            env,
            directory,
            hostname: config.server.hostname.clone(),
            outbound: config.outbound.clone(),
            mx_tls: ClientTls::opportunistic(),
            smarthost_tls,
            routing: config.outbound.routing(Ourselves::default()),
        })
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
    /// Remove a message; answers whether it was there.
    Delete(QueueId, oneshot::Sender<bool>),
}

/// What tasks report back.
enum Report {
    /// A message's record and state, read from the spool.
    Loaded {
        id: QueueId,
        restarted: bool,
        loaded: io::Result<(SpoolRecord, Option<DeliveryState>)>,
    },
    Local {
        id: QueueId,
        /// Recipient indexes now in their Maildir, and the error that
        /// stopped the rest, if one did.
        delivered: Vec<usize>,
        error: Option<String>,
    },
    Attempt {
        id: QueueId,
        domain: String,
        indexes: Vec<usize>,
        result: Result<AttemptResult, String>,
    },
}

/// One message the runner knows.
struct Entry {
    record: Arc<SpoolRecord>,
    state: DeliveryState,
    /// The state on disk is older than `state`.
    dirty: bool,
    local_busy: bool,
    /// Domains with an attempt under way.
    in_flight: BTreeSet<String>,
}

struct Runner<E> {
    context: Arc<Context<E>>,
    entries: BTreeMap<QueueId, Entry>,
    quota: Quota<String>,
    /// The permit of each attempt under way, by message and domain.
    permits: BTreeMap<(QueueId, String), Permit<String>>,
    /// Messages with a due group that waits for an outbound connection.
    blocked: BTreeSet<QueueId>,
    reports: mpsc::UnboundedSender<Report>,
}

/// Delivers the `backlog`, then every ID the spool announces on
/// `arrivals`, and carries out `commands`, until `arrivals` closes.
pub async fn run<E: Environment>(
    context: Context<E>,
    backlog: Vec<QueueId>,
    mut arrivals: mpsc::UnboundedReceiver<QueueId>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let (reports, mut reported) = mpsc::unbounded_channel();
    let limits = Limits {
        total: context.outbound.max_connections,
        per_key: context.outbound.max_connections_per_destination,
    };
    let mut runner = Runner {
        context: Arc::new(context),
        entries: BTreeMap::new(),
        quota: Quota::new(limits),
        permits: BTreeMap::new(),
        blocked: BTreeSet::new(),
        reports,
    };
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
        let wake = runner.next_wake();
        let timer = async {
            match wake {
                Some(at) => tokio::time::sleep(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            arrival = arrivals.recv() => match arrival {
                Some(id) => runner.arrived(id, false).await,
                None => return,
            },
            Some(report) = reported.recv() => runner.report(report).await,
            Some(command) = commands.recv() => runner.command(command).await,
            () = timer => runner.process_all().await,
        }
    }
}

impl<E: Environment> Runner<E> {
    fn now(&self) -> UnixTime {
        self.context.env.now()
    }

    /// Takes a message into the queue. At start-up (`restarted`), what
    /// was waiting for a retry is tried at once, as a queue run would.
    async fn arrived(&mut self, id: QueueId, restarted: bool) {
        if self.entries.contains_key(&id) {
            return;
        }
        // Read off the runner's task, so arrivals never queue behind a read.
        let (context, reports) = (Arc::clone(&self.context), self.reports.clone());
        tokio::spawn(
            async move {
                let loaded = context.env.load(id).await;
                let _ = reports.send(Report::Loaded {
                    id,
                    restarted,
                    loaded,
                });
            }
            .in_current_span(),
        );
    }

    async fn loaded(
        &mut self,
        id: QueueId,
        restarted: bool,
        loaded: io::Result<(SpoolRecord, Option<DeliveryState>)>,
    ) {
        let (record, state) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::error!(queue_id = %id, %error, "{id}: cannot read the spool entry; it stays in the queue");
                return;
            }
        };
        if self.entries.contains_key(&id) {
            return;
        }
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
                local_busy: false,
                in_flight: BTreeSet::new(),
            },
        );
        self.process(id).await;
    }

    /// How long until the earliest pending recipient is due.
    fn next_wake(&self) -> Option<Duration> {
        let earliest = self
            .entries
            .values()
            .filter_map(|e| e.state.next_attempt())
            .min()?;
        let wait = earliest.0.saturating_sub(self.now().0).max(0) as u64;
        // Wake at least once a minute so a blocked message is retried.
        Some(Duration::from_secs(wait.clamp(1, 60)))
    }

    async fn process_all(&mut self) {
        let ids: Vec<QueueId> = self.entries.keys().copied().collect();
        for id in ids {
            self.process(id).await;
        }
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
        if !local.is_empty() && !entry.local_busy {
            entry.local_busy = true;
            let (context, record, reports) = (
                Arc::clone(&self.context),
                Arc::clone(&entry.record),
                self.reports.clone(),
            );
            tokio::spawn(
                async move {
                    let (delivered, error) = deliver_locally(&context, record, &local).await;
                    let _ = reports.send(Report::Local {
                        id,
                        delivered,
                        error: error.map(|e| e.to_string()),
                    });
                }
                .in_current_span(),
            );
        }
        for (domain, indexes) in queue::remote_groups(envelope, &entry.state, now) {
            if entry.in_flight.contains(&domain) {
                continue;
            }
            let seed = id.0 ^ u64::from(entry.state.recipients[indexes[0]].attempts);
            let attempt = self.context.attempt(&domain, seed);
            let permit = match self.quota.acquire(attempt.destination().to_owned()) {
                Ok(permit) => permit,
                Err(_) => {
                    self.blocked.insert(id);
                    continue;
                }
            };
            entry.in_flight.insert(domain.clone());
            self.permits.insert((id, domain.clone()), permit);
            let (context, record, reports) = (
                Arc::clone(&self.context),
                Arc::clone(&entry.record),
                self.reports.clone(),
            );
            let task = tokio::spawn(
                run_attempt(context, Arc::clone(&record), indexes.clone(), attempt)
                    .in_current_span(),
            );
            // The report is sent even if the attempt panics, so that its
            // permit always comes back.
            tokio::spawn(
                async move {
                    let result = task.await.map_err(|panic| panic.to_string());
                    let _ = reports.send(Report::Attempt {
                        id,
                        domain,
                        indexes,
                        result,
                    });
                }
                .in_current_span(),
            );
        }
        self.bounce(id).await;
        self.settle(id).await;
    }

    async fn report(&mut self, report: Report) {
        let now = self.now();
        let schedule = self.context.outbound.retry.clone();
        let id = match report {
            Report::Loaded {
                id,
                restarted,
                loaded,
            } => return self.loaded(id, restarted, loaded).await,
            Report::Local {
                id,
                delivered,
                error,
            } => {
                let Some(entry) = self.entries.get_mut(&id) else {
                    return;
                };
                entry.local_busy = false;
                let received_at = UnixTime(entry.record.received_at);
                for &i in &delivered {
                    entry.state.record(
                        i,
                        Verdict::Delivered,
                        "delivered to Maildir",
                        now,
                        received_at,
                        &schedule,
                    );
                }
                if let Some(error) = error {
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
                            &format!("local delivery failed: {error}"),
                            now,
                            received_at,
                            &schedule,
                        );
                    }
                    tracing::error!(queue_id = %id, %error, "{id}: local delivery failed; will retry");
                }
                entry.dirty = true;
                id
            }
            Report::Attempt {
                id,
                domain,
                indexes,
                result,
            } => {
                // The permit comes back whatever became of the message (an
                // operator may have deleted it meanwhile).
                if let Some(permit) = self.permits.remove(&(id, domain.clone())) {
                    self.quota.release(permit);
                }
                let Some(entry) = self.entries.get_mut(&id) else {
                    return;
                };
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
        self.process(id).await;
        // A permit may have come back: start what waited for one.
        let blocked: Vec<QueueId> = std::mem::take(&mut self.blocked).into_iter().collect();
        for waiting in blocked {
            self.process(waiting).await;
        }
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
                    body: BodyType::SevenBit,
                    smtputf8: false,
                    client: ClientInfo {
                        helo: self.context.hostname.clone(),
                        address: "(bounce)".to_owned(),
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

    /// Saves the state if it changed, or removes the message if done.
    async fn settle(&mut self, id: QueueId) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        // What is done is saved even while other deliveries of the message
        // are under way, so a crash meanwhile does not repeat it.
        let busy = entry.local_busy || !entry.in_flight.is_empty();
        if entry.state.is_done() && !busy {
            let recipients = entry.state.recipients.len();
            self.entries.remove(&id);
            // Nothing waits for the removal (see Spool::remove); if it
            // fails, the message is delivered again at the next start.
            let context = Arc::clone(&self.context);
            tokio::spawn(async move {
                match context.env.remove(id).await {
                    Ok(()) => {
                        tracing::info!(queue_id = %id, recipients, "{id}: removed from the spool")
                    }
                    Err(error) => {
                        tracing::error!(queue_id = %id, %error, "{id}: cannot remove from the spool")
                    }
                }
            }.in_current_span());
        } else if entry.dirty {
            match self.context.env.save_state(id, entry.state.clone()).await {
                Ok(()) => entry.dirty = false,
                Err(error) => {
                    tracing::error!(queue_id = %id, %error, "{id}: cannot save the delivery state")
                }
            }
        }
    }

    async fn command(&mut self, command: Command) {
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
                let known = self.entries.contains_key(&id);
                let removed = self.context.env.remove(id).await.is_ok();
                // An attempt still running keeps its permit until it ends.
                self.entries.remove(&id);
                if removed {
                    tracing::warn!(queue_id = %id, "{id}: deleted from the queue by the operator");
                }
                let _ = reply.send(known || removed);
            }
        }
    }
}

/// Copies the message into the Maildir of each local recipient in
/// `indexes` (once per mailbox).
async fn deliver_locally<E: Environment>(
    context: &Context<E>,
    record: Arc<SpoolRecord>,
    indexes: &[usize],
) -> (Vec<usize>, Option<io::Error>) {
    let id = record.queue_id;
    let mut by_mailbox: BTreeMap<&LocalMailbox, Vec<usize>> = BTreeMap::new();
    for &i in indexes {
        if let Destination::Local(mailbox) = &record.envelope.recipients[i].destination {
            by_mailbox.entry(mailbox).or_default().push(i);
        }
    }
    let mut delivered = Vec::new();
    for (mailbox, recipients) in by_mailbox {
        match context
            .env
            .deliver(Arc::clone(&record), mailbox.clone())
            .await
        {
            Ok(path) => {
                tracing::info!(queue_id = %id, to = %mailbox, %path, "{id}: delivered to {mailbox}");
                delivered.extend(recipients);
            }
            Err(error) => return (delivered, Some(error)),
        }
    }
    (delivered, None)
}
