//! Where the remote-log service gets its lines: a tracing layer
//! ([`FeedLayer`]) that turns every event the server logs into a
//! [`LogRecord`] (its level, and its instance and queue ID from the
//! event's structured fields and its spans, not from its text), keeps the
//! most recent in a ring, and hands each to the sessions following the
//! log.
//!
//! Logging never waits for a reader: each following session has its own
//! bounded [`ClientBuffer`]; a line that finds it full is counted dropped
//! there (the session later tells its client how many). The only lock a
//! logging thread takes is held for a push per subscriber.

use postern_core::limits::{REMOTE_LOG_LINE_BYTES_MAX, REMOTE_LOG_TAIL_LINES_MAX};
use postern_core::remote_log::{ClientBuffer, FeedEntry, Filter, Level, LogRecord, cut};
use postern_core::text::escape_controls;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use tokio::sync::Notify;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The target of the span each session runs in, which carries its
/// instance's name. The text log leaves it out (its lines look as they
/// always did); the remote log reads the instance from it.
pub const INSTANCE_SPAN: &str = "postern::instance";

/// The ring of recent lines and the sessions following the log.
pub struct LogFeed {
    inner: Mutex<Inner>,
}

struct Inner {
    ring: VecDeque<LogRecord>,
    capacity: usize,
    subscribers: Vec<Weak<Shared>>,
}

/// One following session's filter and buffer, shared by the logging side
/// and the session.
struct Shared {
    state: Mutex<SubscriberState>,
    notify: Notify,
}

struct SubscriberState {
    filter: Filter,
    buffer: ClientBuffer<LogRecord>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves data that is still
    // fine to use: a ring and a queue of lines.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a [`FeedLayer`] is installed: without one, nobody reads the
/// span that names a session's instance, and sessions do without it.
static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says that a [`FeedLayer`] is installed (at start-up, once).
pub fn mark_installed() {
    INSTALLED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether sessions should open the span that names their instance.
pub fn installed() -> bool {
    INSTALLED.load(std::sync::atomic::Ordering::Relaxed)
}

/// The server's one feed: every remote-log session and the layer share it.
pub fn feed() -> &'static LogFeed {
    static FEED: OnceLock<LogFeed> = OnceLock::new();
    FEED.get_or_init(|| LogFeed::new(REMOTE_LOG_TAIL_LINES_MAX))
}

impl LogFeed {
    /// A feed that keeps the last `capacity` lines.
    pub fn new(capacity: usize) -> Self {
        LogFeed {
            inner: Mutex::new(Inner {
                ring: VecDeque::with_capacity(capacity.min(1024)),
                capacity,
                subscribers: Vec::new(),
            }),
        }
    }

    /// Records `record`: into the ring, and into the buffer of every
    /// subscriber whose filter matches. Never waits for a reader.
    pub fn publish(&self, record: LogRecord) {
        let mut inner = lock(&self.inner);
        inner.subscribers.retain(|weak| {
            let Some(shared) = weak.upgrade() else {
                return false;
            };
            let mut state = lock(&shared.state);
            if state.filter.matches(&record) {
                state.buffer.push(record.clone());
                drop(state);
                shared.notify.notify_one();
            }
            true
        });
        if inner.ring.len() >= inner.capacity {
            inner.ring.pop_front();
        }
        if inner.capacity > 0 {
            inner.ring.push_back(record);
        }
    }

    /// The last `lines` lines that `filter` matches, oldest first.
    pub fn recent(&self, lines: usize, filter: &Filter) -> Vec<LogRecord> {
        recent(&lock(&self.inner).ring, lines, filter)
    }

    /// The last `backlog` matching lines, and a subscription to every new
    /// matching line, taken at one instant: no line is in both, none
    /// falls between.
    pub fn subscribe(
        &self,
        backlog: usize,
        filter: Filter,
        buffer_lines: usize,
    ) -> (Vec<LogRecord>, Subscription) {
        let mut inner = lock(&self.inner);
        let lines = recent(&inner.ring, backlog, &filter);
        let shared = Arc::new(Shared {
            state: Mutex::new(SubscriberState {
                filter,
                buffer: ClientBuffer::new(buffer_lines),
            }),
            notify: Notify::new(),
        });
        inner.subscribers.push(Arc::downgrade(&shared));
        (lines, Subscription { shared })
    }

    /// Sessions following the log now.
    pub fn subscribers(&self) -> usize {
        lock(&self.inner)
            .subscribers
            .iter()
            .filter(|weak| weak.strong_count() > 0)
            .count()
    }
}

fn recent(ring: &VecDeque<LogRecord>, lines: usize, filter: &Filter) -> Vec<LogRecord> {
    let mut found: Vec<LogRecord> = ring
        .iter()
        .rev()
        .filter(|record| filter.matches(record))
        .take(lines)
        .cloned()
        .collect();
    found.reverse();
    found
}

/// A session's hold on the feed; dropping it ends the subscription.
pub struct Subscription {
    shared: Arc<Shared>,
}

impl Subscription {
    pub fn set_filter(&self, filter: Filter) {
        lock(&self.shared.state).filter = filter;
    }

    /// Up to `max` entries waiting, oldest first; none when empty.
    pub fn take(&self, max: usize) -> Vec<FeedEntry> {
        lock(&self.shared.state).buffer.take(max)
    }

    /// Completes when a line may be waiting (a line pushed since the last
    /// wait, or before it).
    pub async fn ready(&self) {
        self.shared.notify.notified().await;
    }
}

/// The tracing layer that feeds [`feed`].
pub struct FeedLayer;

/// The instance name a span carries, kept in the span's extensions.
struct InstanceName(String);

impl<S> Layer<S> for FeedLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(instance), Some(span)) = (fields.instance, ctx.span(id)) {
            span.extensions_mut().insert(InstanceName(instance));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        feed().publish(log_record(event, &ctx, REMOTE_LOG_LINE_BYTES_MAX));
    }
}

/// `event` as a [`LogRecord`]: its level, its instance (from its fields,
/// or from the span it was logged in when [`FeedLayer`] is installed to
/// note spans' instances), its queue ID, and its text with every control
/// character escaped, cut to `line_bytes_max` octets.
pub(crate) fn log_record<S>(
    event: &Event<'_>,
    ctx: &Context<'_, S>,
    line_bytes_max: usize,
) -> LogRecord
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut fields = Fields::default();
    event.record(&mut fields);
    let instance = fields.instance.or_else(|| {
        ctx.event_scope(event)?.find_map(|span| {
            span.extensions()
                .get::<InstanceName>()
                .map(|name| name.0.clone())
        })
    });
    let level = match *event.metadata().level() {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warn,
        tracing::Level::INFO => Level::Info,
        tracing::Level::DEBUG => Level::Debug,
        tracing::Level::TRACE => Level::Trace,
    };
    let mut text = fields.message;
    text.push_str(&fields.rest);
    let text = cut(&escape_controls(&text), line_bytes_max).into_owned();
    LogRecord {
        time: now_rfc3339(),
        level,
        instance,
        queue_id: fields.queue_id,
        text,
    }
}

/// Now, as `2026-11-30T08:10:06.123Z`.
fn now_rfc3339() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

/// An event's fields: the message, the instance and queue ID apart, the
/// rest as `key=value` after the message.
#[derive(Default)]
struct Fields {
    message: String,
    instance: Option<String>,
    queue_id: Option<String>,
    rest: String,
}

impl Fields {
    fn value(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "instance" => self.instance = Some(value),
            "queue_id" | "queue" => self.queue_id = Some(value),
            name => {
                let _ = write!(self.rest, " {name}={value}");
            }
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.value(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.value(field, format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, instance: &str) -> LogRecord {
        LogRecord {
            time: String::new(),
            level: Level::Info,
            instance: Some(instance.to_owned()),
            queue_id: None,
            text: format!("line {n}"),
        }
    }

    #[test]
    fn the_ring_keeps_the_last_lines_and_a_subscriber_gets_only_new_matching_ones() {
        let feed = LogFeed::new(3);
        for n in 0..5 {
            feed.publish(line(n, if n % 2 == 0 { "mx" } else { "pop" }));
        }
        let mx = postern_core::remote_log::parse_filter("instance=mx").unwrap();
        let texts = |lines: &[LogRecord]| lines.iter().map(|l| l.text.clone()).collect::<Vec<_>>();
        assert_eq!(
            texts(&feed.recent(10, &Filter::default())),
            ["line 2", "line 3", "line 4"]
        );
        let (backlog, subscription) = feed.subscribe(1, mx, 2);
        assert_eq!(texts(&backlog), ["line 4"]);
        for n in 5..12 {
            feed.publish(line(n, "mx"));
        }
        feed.publish(line(12, "pop"));
        assert_eq!(
            subscription.take(10),
            vec![
                FeedEntry::Line(line(5, "mx")),
                FeedEntry::Line(line(6, "mx")),
                FeedEntry::Dropped(5),
            ]
        );
        assert_eq!(feed.subscribers(), 1);
        drop(subscription);
        feed.publish(line(13, "mx"));
        assert_eq!(feed.subscribers(), 0);
    }
}
