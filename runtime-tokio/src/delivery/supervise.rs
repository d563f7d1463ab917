//! What keeps the queue runner delivering whatever happens to one message.
//!
//! - A panic while the runner handles one message (a bug, or a record the
//!   checks let through) is caught: the message's deliveries under way are
//!   cancelled, it is dropped from memory, logged with its queue ID, and
//!   read again from the store after a backoff, as if it had failed to
//!   load. The other messages are not touched.
//! - A message that cannot be read (too many open files, an I/O error) is
//!   read again after [`LOAD_RETRY_DELAY_FIRST`], doubling up to
//!   [`LOAD_RETRY_DELAY_MAX`]; `postern queue list` shows it meanwhile.
//! - A damaged message (its record or state does not decode or does not
//!   check out) is moved aside by the store with one log line, and the rest
//!   of the queue is delivered.
//! - A panic anywhere else in the runner's loop restarts the runner: every
//!   delivery under way is cancelled and every message it knew is read
//!   again. The runner task itself never ends before the server stops.
//! - `postern queue delete` cancels the message's deliveries under way
//!   (their connection slots come back at once), and a read of the message
//!   that was under way when it was deleted does not bring it back.

use super::{Report, Runner};
use crate::environment::Environment;
use crate::spool::damage;
use postern_core::envelope::QueueId;
use postern_core::limits::{LOAD_RETRY_DELAY_FIRST, LOAD_RETRY_DELAY_MAX};
use postern_core::text::{bounded, escape_controls};
use std::any::Any;
use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::task::Poll;
use std::time::Duration;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

/// The longest error text kept for `queue list`.
const ERROR_TEXT_BYTES_MAX: usize = 512;

/// A delivery task under way.
pub(super) struct Task {
    id: QueueId,
    abort: AbortHandle,
}

impl Task {
    pub(super) fn new<T>(id: QueueId, handle: &JoinHandle<T>) -> Self {
        Task {
            id,
            abort: handle.abort_handle(),
        }
    }

    /// A connection task now carries message `id`: cancelling `id`
    /// cancels it.
    pub(super) fn carries(&mut self, id: QueueId) {
        self.id = id;
    }
}

/// A message that could not be read, waiting for another try.
pub(super) struct Unreadable {
    pub(super) retry_at: Instant,
    error: String,
    /// Read first at start-up: due recipients go at once when it loads.
    restarted: bool,
}

/// A message that cannot be read just now, for `postern queue list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreadableEntry {
    pub id: QueueId,
    /// Until the next try.
    pub retry_in: Duration,
    /// Failed tries so far.
    pub attempts: u32,
    pub error: String,
}

/// How long to wait after the `failures`-th failed read of a message.
pub fn load_retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    LOAD_RETRY_DELAY_FIRST
        .saturating_mul(1 << doublings)
        .min(LOAD_RETRY_DELAY_MAX)
}

/// Runs `future`, turning a panic while it is polled into `Err` with the
/// panic's message.
pub(super) async fn catch_panic<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    })
    .await
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => text,
        (_, Some(text)) => text.as_str(),
        _ => "a panic without a message",
    };
    format!("panic: {text}")
}

impl<E: Environment> Runner<E> {
    /// Handles what a task reports, then processes its message and those
    /// that waited for a connection slot, each supervised.
    pub(super) async fn report(&mut self, report: Report) {
        let report = match report {
            Report::Loaded {
                id,
                restarted,
                loaded,
                arrived,
            } => return self.loaded(id, restarted, loaded, arrived).await,
            Report::Closed { task, panic } => match self.connection_closed(task, panic) {
                Some(unsettled) => unsettled,
                None => return self.process_blocked().await,
            },
            other => other,
        };
        let id = match &report {
            Report::Local { id, .. } | Report::Attempt { id, .. } | Report::Returned { id, .. } => {
                *id
            }
            Report::Loaded { .. } | Report::Closed { .. } => return,
        };
        let next = match catch_panic(async { self.apply_report(report) }).await {
            Ok(next) => next,
            Err(panic) => return self.panicked(id, &panic).await,
        };
        if let Some(id) = next {
            self.process_supervised(id).await;
        }
        self.process_blocked().await;
    }

    /// A permit or an idle connection may have come back: starts what
    /// waited for one.
    pub(super) async fn process_blocked(&mut self) {
        let blocked: Vec<_> = std::mem::take(&mut self.blocked).into_iter().collect();
        for waiting in blocked {
            self.process_supervised(waiting).await;
        }
    }

    /// Connection task `task` has ended: its slot comes back. What it was
    /// carrying, if its result never came (a panic, a cancel), is
    /// answered as a deferral.
    fn connection_closed(&mut self, task: u64, panic: Option<String>) -> Option<Report> {
        self.tasks.remove(&task);
        if let Some(permit) = self.permits.remove(&task) {
            self.quota.release(permit);
        }
        let (id, domain, indexes) = self.pool.closed(task)?;
        let why = panic.unwrap_or_else(|| "the connection ended without a result".to_owned());
        Some(Report::Attempt {
            id,
            task,
            domain,
            indexes,
            result: Err(why),
            reusable: None,
        })
    }

    /// [`Runner::process`], with a panic caught and handled for `id` alone.
    pub(super) async fn process_supervised(&mut self, id: QueueId) {
        if let Err(panic) = catch_panic(self.process(id)).await {
            self.panicked(id, &panic).await;
        }
    }

    /// Message `id` panicked the runner: its deliveries under way are
    /// cancelled and it is read again later.
    async fn panicked(&mut self, id: QueueId, panic: &str) {
        self.cancel(id);
        self.entries.remove(&id);
        let error = format!("internal error: {panic}");
        let wait = self.retry_later(id, false, &error);
        tracing::error!(queue_id = %id, "{id}: {error}; its deliveries under way are cancelled and it is read again in {}s", wait.as_secs());
    }

    /// A read of message `id` failed: a damaged message is moved aside, a
    /// vanished one forgotten, any other tried again later.
    pub(super) async fn load_failed(&mut self, id: QueueId, restarted: bool, error: io::Error) {
        if let Some(reason) = damage(&error) {
            let reason = reason.to_owned();
            match self.context.env.set_aside(id, reason.clone()).await {
                Ok(place) => {
                    self.failures.remove(&id);
                    self.unreadable.remove(&id);
                    tracing::error!(queue_id = %id, file = %place, "{id}: damaged spool entry moved aside to {place}: {reason}");
                }
                Err(error) => {
                    let error = format!("damaged ({reason}), and cannot be moved aside: {error}");
                    let wait = self.retry_later(id, restarted, &error);
                    tracing::error!(queue_id = %id, "{id}: {error}; next try in {}s", wait.as_secs());
                }
            }
        } else if error.kind() == io::ErrorKind::NotFound {
            self.failures.remove(&id);
            self.unreadable.remove(&id);
            tracing::info!(queue_id = %id, "{id}: no longer in the spool");
        } else {
            let error = error.to_string();
            let wait = self.retry_later(id, restarted, &error);
            tracing::warn!(queue_id = %id, "{id}: cannot read the spool entry: {error}; next try in {}s", wait.as_secs());
        }
    }

    /// Schedules another read of `id`; answers how long until then.
    fn retry_later(&mut self, id: QueueId, restarted: bool, error: &str) -> Duration {
        let failures = self.failures.entry(id).or_insert(0);
        *failures = failures.saturating_add(1);
        let wait = load_retry_delay(*failures);
        let error = bounded(&escape_controls(error), ERROR_TEXT_BYTES_MAX).into_owned();
        self.unreadable.insert(
            id,
            Unreadable {
                retry_at: Instant::now() + wait,
                error,
                restarted,
            },
        );
        wait
    }

    /// Reads again every message whose next try is due.
    pub(super) async fn retry_loads(&mut self) {
        let now = Instant::now();
        let due: Vec<(QueueId, bool)> = self
            .unreadable
            .iter()
            .filter(|(_, u)| u.retry_at <= now)
            .map(|(&id, u)| (id, u.restarted))
            .collect();
        for (id, restarted) in due {
            self.arrived(id, restarted).await;
        }
    }

    /// Stops every delivery of `id` under way and gives back its
    /// connection slots. A local delivery whose file is being written
    /// finishes that file (blocking file work cannot be interrupted).
    pub(super) fn cancel(&mut self, id: QueueId) {
        let tasks: Vec<u64> = self
            .tasks
            .iter()
            .filter(|(_, task)| task.id == id)
            .map(|(&number, _)| number)
            .collect();
        for number in tasks {
            if let Some(task) = self.tasks.remove(&number) {
                task.abort.abort();
            }
            if let Some(permit) = self.permits.remove(&number) {
                self.quota.release(permit);
            }
        }
        self.blocked.remove(&id);
    }

    /// `postern queue delete`: cancels the message's deliveries, forgets
    /// it, and removes it from the store; answers whether it was there.
    pub(super) async fn delete(&mut self, id: QueueId) -> bool {
        let known = self.entries.contains_key(&id)
            || self.unreadable.contains_key(&id)
            || self.loading.contains(&id);
        self.cancel(id);
        self.entries.remove(&id);
        self.unreadable.remove(&id);
        self.failures.remove(&id);
        if self.loading.contains(&id) {
            self.deleted.insert(id);
        }
        let removed = self.context.env.remove(id).await.is_ok();
        if known || removed {
            tracing::warn!(queue_id = %id, "{id}: deleted from the queue by the operator");
        }
        // Its slots came back: start what waited for one.
        let blocked: Vec<_> = std::mem::take(&mut self.blocked).into_iter().collect();
        for waiting in blocked {
            self.process_supervised(waiting).await;
        }
        known || removed
    }

    pub(super) fn unreadable_entries(&self) -> Vec<UnreadableEntry> {
        let now = Instant::now();
        self.unreadable
            .iter()
            .map(|(&id, u)| UnreadableEntry {
                id,
                retry_in: u.retry_at.saturating_duration_since(now),
                attempts: self.failures.get(&id).copied().unwrap_or(0),
                error: u.error.clone(),
            })
            .collect()
    }

    /// After a panic outside any one message's handling: cancels every
    /// delivery under way and reads every known message again.
    pub(super) async fn restart(&mut self, panic: &str) {
        let known: Vec<QueueId> = self
            .entries
            .keys()
            .chain(self.unreadable.keys())
            .copied()
            .filter(|id| !self.loading.contains(id))
            .collect();
        tracing::error!(
            messages = known.len(),
            "the queue runner failed ({panic}); restarting it: deliveries under way are cancelled and every queued message is read again"
        );
        for task in std::mem::take(&mut self.tasks).into_values() {
            task.abort.abort();
        }
        // Reads under way still report on the same channel; everything
        // else starts afresh.
        let (loading, deleted) = (
            std::mem::take(&mut self.loading),
            std::mem::take(&mut self.deleted),
        );
        // Task numbers go on from where they were: a late report from a
        // cancelled task must not be taken for one of a new task.
        let next_task = self.next_task;
        *self = Runner::new(std::sync::Arc::clone(&self.context), self.reports.clone());
        self.next_task = next_task;
        self.loading = loading;
        self.deleted = deleted;
        for id in known {
            self.arrived(id, false).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_retries_back_off_from_one_second_to_five_minutes() {
        let delays: Vec<u64> = (1..=12).map(|n| load_retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(load_retry_delay(u32::MAX), LOAD_RETRY_DELAY_MAX);
    }

    #[tokio::test]
    async fn a_panic_becomes_an_error_with_its_message() {
        let caught = catch_panic(async {
            tokio::task::yield_now().await;
            let recipients: Vec<u32> = Vec::new();
            recipients[3]
        })
        .await;
        let error = caught.unwrap_err();
        assert!(error.contains("index out of bounds"), "{error}");
        assert_eq!(catch_panic(async { 7 }).await, Ok(7));
    }
}
