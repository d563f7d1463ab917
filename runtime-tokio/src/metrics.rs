//! The server's figures: Prometheus metrics and what the status page shows.
//!
//! One registry per process ([`global`]): metrics are the one accepted
//! exception to "no globals" in the runtime (never in core), because every
//! listener, session driver, the delivery runner and the log layer record
//! into it, and threading a handle through each would change every
//! signature for counters nobody reads back. Recording never blocks for
//! long and never logs (the log layer records into it too): an atomic add,
//! or a short lock for the queue's figures and the recent problems.
//!
//! What is counted where:
//! - connections admitted, refused (by [`Refusal`]) and open: in
//!   [`crate::server::Instance::admit`], the one door every listener uses;
//! - messages accepted: each `250` after DATA, from the SMTP session's
//!   [`Event::MessageQueued`](postern_core::smtp::server::Event);
//! - deliveries and their latency: per recipient, when the delivery runner
//!   records a result ([`crate::delivery`]);
//! - the queue's size and oldest message: after each step of the runner;
//! - login failures: wherever a protocol's driver hears a verdict that is
//!   not [`AuthVerdict::Accepted`];
//! - spam control: from the SMTP session's blocklist and greylist
//!   events ([`crate::server::Instance`]'s `count_event`);
//! - TLS handshakes: in [`crate::tls::ServerTls::accept`], for implicit
//!   TLS, STARTTLS/STLS/AUTH TLS and FTP data connections alike;
//! - warning and error lines: [`ProblemLayer`], installed with logging.
//!
//! [`Metrics::encode`] writes the text format for `/metrics`;
//! [`Metrics::snapshot`] gives the status page plain figures.

mod problems;
#[cfg(test)]
mod tests;

pub use problems::ProblemLayer;

use postern_core::admission::Refusal;
use postern_core::auth::AuthVerdict;
use postern_core::limits::STATUS_RECENT_PROBLEMS_MAX;
use postern_core::remote_log::LogRecord;
use postern_core::time::UnixTime;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

/// The media type of [`Metrics::encode`]'s text (OpenMetrics 1.0, which
/// Prometheus scrapes as it does its own text format).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The delivery latency histogram's upper bounds, in seconds: from a local
/// copy (10 ms) to the end of a day of retries.
const LATENCY_BUCKETS: [f64; 16] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14_400.0,
    43_200.0, 86_400.0,
];

/// The process's metrics, created on first use (the server touches it as
/// it starts, so that its start time is the process's).
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    instance: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceKindLabels {
    instance: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    instance: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabels {
    protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandshakeLabels {
    instance: String,
    result: &'static str,
}

/// What became of one recipient in one delivery attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryResult {
    Delivered,
    /// Not this time; it will be tried again.
    Deferred,
    /// Failed for good: the sender gets (or would get) a bounce.
    Bounced,
}

impl DeliveryResult {
    const ALL: [DeliveryResult; 3] = [
        DeliveryResult::Delivered,
        DeliveryResult::Deferred,
        DeliveryResult::Bounced,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DeliveryResult::Delivered => "delivered",
            DeliveryResult::Deferred => "deferred",
            DeliveryResult::Bounced => "bounced",
        }
    }
}

/// The protocols a login comes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginProtocol {
    Smtp,
    Submission,
    Pop3,
    Imap,
    Ftp,
    RemoteLog,
    Http,
    Nntp,
}

impl LoginProtocol {
    const ALL: [LoginProtocol; 8] = [
        LoginProtocol::Smtp,
        LoginProtocol::Submission,
        LoginProtocol::Pop3,
        LoginProtocol::Imap,
        LoginProtocol::Ftp,
        LoginProtocol::RemoteLog,
        LoginProtocol::Http,
        LoginProtocol::Nntp,
    ];

    pub fn label(self) -> &'static str {
        match self {
            LoginProtocol::Smtp => "smtp",
            LoginProtocol::Submission => "submission",
            LoginProtocol::Pop3 => "pop3",
            LoginProtocol::Imap => "imap",
            LoginProtocol::Ftp => "ftp",
            LoginProtocol::RemoteLog => "remote-log",
            LoginProtocol::Http => "http",
            LoginProtocol::Nntp => "nntp",
        }
    }
}

/// The label of a refusal's reason.
pub fn refusal_reason(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::AccessDenied => "access",
        Refusal::TooManyConnections { .. } => "quota_total",
        Refusal::TooManyFromHost { .. } => "quota_host",
    }
}

const REFUSAL_REASONS: [&str; 3] = ["access", "quota_total", "quota_host"];

/// The delivery queue as the runner last saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueFigures {
    /// Messages being read or delivered now.
    pub delivering: usize,
    /// Messages waiting for a retry (or for an outbound connection).
    pub waiting: usize,
    /// Messages that could not be read, waiting to be read again.
    pub unreadable: usize,
    /// When the oldest message in the queue was received.
    pub oldest_received_at: Option<UnixTime>,
}

impl QueueFigures {
    pub fn total(&self) -> usize {
        self.delivering + self.waiting + self.unreadable
    }
}

/// One instance's figures, for the status page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceFigures {
    pub name: String,
    pub kind: String,
    /// Connections open now.
    pub open: i64,
    /// Connections admitted since the start.
    pub admitted: u64,
    /// Connections refused since the start, for any reason.
    pub refused: u64,
    /// Messages accepted (`250` after DATA) since the start.
    pub accepted: u64,
}

/// What the status page shows, read at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// When the process started.
    pub started: SystemTime,
    /// Every instance the server started with, by name.
    pub instances: Vec<InstanceFigures>,
    /// Counts since the start: messages accepted on every instance, and
    /// per recipient the deliveries' results.
    pub accepted: u64,
    pub delivered: u64,
    pub deferred: u64,
    pub bounced: u64,
    pub login_failures: u64,
    pub queue: QueueFigures,
    /// How long the oldest queued message has waited, now.
    pub oldest_queued_age: Option<Duration>,
    /// The last warning and error log lines, oldest first (at most
    /// [`STATUS_RECENT_PROBLEMS_MAX`]).
    pub recent_problems: Vec<LogRecord>,
}

/// Every metric of the process, registered in one registry.
pub struct Metrics {
    registry: Registry,
    started: SystemTime,
    connections: Family<InstanceKindLabels, Counter>,
    refused: Family<RefusalLabels, Counter>,
    open: Family<InstanceLabels, Gauge>,
    accepted: Family<InstanceLabels, Counter>,
    deliveries: Family<ResultLabels, Counter>,
    latency: Histogram,
    queue_messages: Family<StateLabels, Gauge>,
    queue_oldest_age: Gauge,
    login_failures: Family<ProtocolLabels, Counter>,
    tls_handshakes: Family<HandshakeLabels, Counter>,
    spam_control: Family<SpamLabels, Counter>,
    /// Instances by name, with their kind: what the snapshot lists.
    instances: Mutex<BTreeMap<String, String>>,
    queue: Mutex<QueueFigures>,
    problems: Mutex<VecDeque<LogRecord>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Figures written by a thread that panicked are still figures.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry (the server uses [`global`]; tests make their own).
    pub fn new() -> Self {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("postern"),
            started: SystemTime::now(),
            connections: Family::default(),
            refused: Family::default(),
            open: Family::default(),
            accepted: Family::default(),
            deliveries: Family::default(),
            latency: Histogram::new(LATENCY_BUCKETS),
            queue_messages: Family::default(),
            queue_oldest_age: Gauge::default(),
            login_failures: Family::default(),
            tls_handshakes: Family::default(),
            spam_control: Family::default(),
            instances: Mutex::default(),
            queue: Mutex::default(),
            problems: Mutex::default(),
        };
        metrics.register();
        metrics.zero_series();
        metrics
    }

    /// Registers every metric under its name (after the `postern_`
    /// prefix, and before the `_total` or unit suffix the encoder adds).
    fn register(&mut self) {
        let registry = &mut self.registry;
        registry.register(
            "connections",
            "Connections admitted, by instance and kind",
            self.connections.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections refused, by instance and reason (access, quota_total, quota_host)",
            self.refused.clone(),
        );
        registry.register(
            "connections_open",
            "Connections open now, by instance",
            self.open.clone(),
        );
        registry.register(
            "messages_accepted",
            "Messages accepted (250 after DATA), by instance",
            self.accepted.clone(),
        );
        registry.register(
            "deliveries",
            "Delivery results per recipient: delivered, deferred, bounced",
            self.deliveries.clone(),
        );
        registry.register_with_unit(
            "delivery_latency",
            "From receipt to a recipient's final result (delivered or bounced)",
            Unit::Seconds,
            self.latency.clone(),
        );
        registry.register(
            "queue_messages",
            "Messages in the delivery queue now, by state (delivering, waiting, unreadable)",
            self.queue_messages.clone(),
        );
        registry.register_with_unit(
            "queue_oldest_message_age",
            "How long the oldest message in the queue has waited (0 when it is empty)",
            Unit::Seconds,
            self.queue_oldest_age.clone(),
        );
        registry.register(
            "login_failures",
            "Logins refused (wrong password, unknown user, locked out, accounts unavailable), by protocol",
            self.login_failures.clone(),
        );
        registry.register(
            "tls_handshakes",
            "Server TLS handshakes, by instance and result (ok, failed)",
            self.tls_handshakes.clone(),
        );
        registry.register(
            "spam_control",
            "Spam control verdicts, by instance: client_listed, sender_listed (554 5.7.1), greylisted (451 4.7.1), lookup_failed (a blocklist that did not answer)",
            self.spam_control.clone(),
        );
        let started_at = Gauge::<i64>::default();
        started_at.set(unix_seconds(self.started));
        registry.register_with_unit(
            "start_time",
            "When the server process started, in seconds since the Unix epoch",
            Unit::Seconds,
            started_at,
        );
    }

    /// Series that exist from the start at zero, so that a rate over them
    /// is defined before their first event. (`get_or_create` creates the
    /// series; the read guard it returns is let go at once.)
    fn zero_series(&self) {
        for result in DeliveryResult::ALL {
            let _ = self.deliveries.get_or_create(&ResultLabels {
                result: result.label(),
            });
        }
        for protocol in LoginProtocol::ALL {
            let _ = self.login_failures.get_or_create(&ProtocolLabels {
                protocol: protocol.label(),
            });
        }
        self.queue_changed(QueueFigures::default());
    }

    /// Names an instance the server runs, so that it shows (at zero) before
    /// its first connection.
    pub fn instance_started(&self, instance: &str, kind: &str) {
        lock(&self.instances).insert(instance.to_owned(), kind.to_owned());
        let name = || instance.to_owned();
        let _ = self.connections.get_or_create(&InstanceKindLabels {
            instance: name(),
            kind: kind.to_owned(),
        });
        for reason in REFUSAL_REASONS {
            let _ = self.refused.get_or_create(&RefusalLabels {
                instance: name(),
                reason,
            });
        }
        let _ = self
            .open
            .get_or_create(&InstanceLabels { instance: name() });
        if matches!(kind, "smtp" | "submission") {
            let _ = self
                .accepted
                .get_or_create(&InstanceLabels { instance: name() });
        }
    }

    /// A connection admitted; it counts as open until the guard is dropped.
    pub fn connection_admitted(&self, instance: &str, kind: &str) -> OpenConnection {
        self.connections
            .get_or_create(&InstanceKindLabels {
                instance: instance.to_owned(),
                kind: kind.to_owned(),
            })
            .inc();
        let gauge = self
            .open
            .get_or_create(&InstanceLabels {
                instance: instance.to_owned(),
            })
            .clone();
        gauge.inc();
        OpenConnection { gauge }
    }

    pub fn connection_refused(&self, instance: &str, refusal: &Refusal) {
        self.refused
            .get_or_create(&RefusalLabels {
                instance: instance.to_owned(),
                reason: refusal_reason(refusal),
            })
            .inc();
    }

    /// A message accepted: durable, and the client told `250`.
    pub fn message_accepted(&self, instance: &str) {
        self.accepted
            .get_or_create(&InstanceLabels {
                instance: instance.to_owned(),
            })
            .inc();
    }

    /// One recipient's result; `latency` (from receipt) for a final one.
    pub fn delivery(&self, result: DeliveryResult, latency: Option<Duration>) {
        self.deliveries
            .get_or_create(&ResultLabels {
                result: result.label(),
            })
            .inc();
        if let Some(latency) = latency {
            self.latency.observe(latency.as_secs_f64());
        }
    }

    /// The queue as the delivery runner sees it now.
    pub fn queue_changed(&self, figures: QueueFigures) {
        *lock(&self.queue) = figures;
        for (state, count) in [
            ("delivering", figures.delivering),
            ("waiting", figures.waiting),
            ("unreadable", figures.unreadable),
        ] {
            self.queue_messages
                .get_or_create(&StateLabels { state })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    /// Counts a login that was not accepted.
    pub fn login_verdict(&self, protocol: LoginProtocol, verdict: &AuthVerdict) {
        if !matches!(verdict, AuthVerdict::Accepted(_)) {
            self.login_failed(protocol);
        }
    }

    pub fn login_failed(&self, protocol: LoginProtocol) {
        self.login_failures
            .get_or_create(&ProtocolLabels {
                protocol: protocol.label(),
            })
            .inc();
    }

    /// A spam-control verdict of an SMTP session (see
    /// [`SpamVerdict`]).
    pub fn spam_control(&self, instance: &str, verdict: SpamVerdict) {
        self.spam_control
            .get_or_create(&SpamLabels {
                instance: instance.to_owned(),
                verdict: verdict.label(),
            })
            .inc();
    }

    pub fn tls_handshake(&self, instance: &str, ok: bool) {
        self.tls_handshakes
            .get_or_create(&HandshakeLabels {
                instance: instance.to_owned(),
                result: if ok { "ok" } else { "failed" },
            })
            .inc();
    }

    /// Keeps a warning or error line, dropping the oldest beyond
    /// [`STATUS_RECENT_PROBLEMS_MAX`].
    pub fn problem_logged(&self, record: LogRecord) {
        let mut problems = lock(&self.problems);
        if problems.len() == STATUS_RECENT_PROBLEMS_MAX {
            problems.pop_front();
        }
        problems.push_back(record);
    }

    /// Every metric in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let oldest = lock(&self.queue).oldest_received_at;
        let age = oldest.map_or(0, |at| (unix_seconds(SystemTime::now()) - at.0).max(0));
        self.queue_oldest_age.set(age);
        let mut text = String::new();
        // Writing to a String cannot fail, and every metric here encodes.
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            text.push_str(&format!("# encoding failed: {error}\n"));
        }
        text
    }

    /// The figures the status page shows.
    pub fn snapshot(&self) -> Snapshot {
        let instances = lock(&self.instances).clone();
        let instances = instances
            .into_iter()
            .map(|(name, kind)| self.instance_figures(name, kind))
            .collect::<Vec<_>>();
        let deliveries = |result: DeliveryResult| {
            self.deliveries
                .get(&ResultLabels {
                    result: result.label(),
                })
                .map_or(0, |counter| counter.get())
        };
        let login_failures = LoginProtocol::ALL
            .iter()
            .filter_map(|protocol| {
                let labels = ProtocolLabels {
                    protocol: protocol.label(),
                };
                self.login_failures.get(&labels).map(|c| c.get())
            })
            .sum();
        let queue = *lock(&self.queue);
        let now = SystemTime::now();
        let oldest_queued_age = queue.oldest_received_at.map(|at| {
            let waited = unix_seconds(now) - at.0;
            Duration::from_secs(u64::try_from(waited).unwrap_or(0))
        });
        Snapshot {
            started: self.started,
            accepted: instances.iter().map(|i| i.accepted).sum(),
            instances,
            delivered: deliveries(DeliveryResult::Delivered),
            deferred: deliveries(DeliveryResult::Deferred),
            bounced: deliveries(DeliveryResult::Bounced),
            login_failures,
            queue,
            oldest_queued_age,
            recent_problems: lock(&self.problems).iter().cloned().collect(),
        }
    }

    fn instance_figures(&self, name: String, kind: String) -> InstanceFigures {
        let instance = InstanceLabels {
            instance: name.clone(),
        };
        let refused = REFUSAL_REASONS
            .iter()
            .filter_map(|&reason| {
                let labels = RefusalLabels {
                    instance: name.clone(),
                    reason,
                };
                self.refused.get(&labels).map(|c| c.get())
            })
            .sum();
        let admitted = InstanceKindLabels {
            instance: name.clone(),
            kind: kind.clone(),
        };
        InstanceFigures {
            open: self.open.get(&instance).map_or(0, |g| g.get()),
            admitted: self.connections.get(&admitted).map_or(0, |c| c.get()),
            refused,
            accepted: self.accepted.get(&instance).map_or(0, |c| c.get()),
            name,
            kind,
        }
    }
}

/// An admitted connection, open until this is dropped.
#[derive(Debug)]
pub struct OpenConnection {
    gauge: Gauge,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// `postern metrics`: the running server's metrics, asked through its
/// control socket.
pub fn from_server(data_dir: &std::path::Path) -> Result<String, String> {
    match crate::queue_command::ask_server(data_dir, "metrics")? {
        Some(mut lines) => match lines.pop() {
            Some(last) if last.starts_with("ok") => Ok(lines.join("\n")),
            last => Err(last.unwrap_or_default()),
        },
        None => Err(format!(
            "no server is running on {}; its metrics live in the running process",
            data_dir.display()
        )),
    }
}

fn unix_seconds(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What spam control did, as `postern_spam_control_total` counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpamVerdict {
    /// A client refused at connect: listed on blocklists.
    ClientListed,
    /// A sender refused at MAIL: its domain listed.
    SenderListed,
    /// A recipient deferred by the greylist.
    Greylisted,
    /// A blocklist lookup that got no answer (it listed nobody).
    LookupFailed,
    /// A sender refused at MAIL by `bar_senders`.
    SenderBarred,
    /// A recipient refused at RCPT by `bar_recipients`.
    RecipientBarred,
    /// A recipient refused at RCPT by its own block list.
    SenderRefusedByRecipient,
}

impl SpamVerdict {
    fn label(self) -> &'static str {
        match self {
            SpamVerdict::ClientListed => "client_listed",
            SpamVerdict::SenderListed => "sender_listed",
            SpamVerdict::Greylisted => "greylisted",
            SpamVerdict::LookupFailed => "lookup_failed",
            SpamVerdict::SenderBarred => "sender_barred",
            SpamVerdict::RecipientBarred => "recipient_barred",
            SpamVerdict::SenderRefusedByRecipient => "refused_by_recipient",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SpamLabels {
    instance: String,
    verdict: &'static str,
}
