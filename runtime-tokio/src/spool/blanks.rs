//! Blanks: empty files already in `queue/`, named by the queue ID of a
//! message to come, and durable there.
//!
//! A message committed into a new name costs two flushes before its
//! `250`: its data, then the directory that holds the name. A blank's
//! name was made durable beforehand, for many blanks at once (one
//! `fsync` of `queue/` per batch, off any session's path), so a message
//! written into a blank is committed with one flush: its own data and
//! seal (see `spool.rs`).
//!
//! A session takes a blank when it starts its message ([`Blanks::take`]);
//! when fewer than [`SPOOL_BLANKS_LOW`] are left, one blocking job makes
//! more, up to [`SPOOL_BLANKS_MAX`], from `free/` or new. A session that
//! finds none ready makes its own name as before (its commit then also
//! waits for a shared `fsync` of `queue/`).
//!
//! A blank is empty, like a delivered message's file whose move to
//! `free/` a crash cut short, and start-up treats both alike: it moves
//! them to `free/` (`spool/free.rs`). So does `postern queue list`: an
//! empty file in `queue/` is not a message.

use super::Spool;
use postern_core::envelope::QueueId;
use postern_core::limits::{SPOOL_BLANKS_LOW, SPOOL_BLANKS_MAX};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The blanks ready in `queue/`, oldest first.
#[derive(Debug, Default)]
pub struct Blanks {
    ready: Mutex<VecDeque<QueueId>>,
    /// A job is making more.
    making: AtomicBool,
    /// The last job failed: its warning is given, and not again until a
    /// job succeeds (a full disk would otherwise warn once a message).
    failing: AtomicBool,
}

/// What a job's result is worth saying (see [`Blanks::outcome`]).
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Quiet,
    Failed,
    Recovered,
}

impl Blanks {
    /// The queue ID of a new message, and whether it is a blank's: the
    /// oldest blank ready, or a new ID if none is. Starts making more
    /// blanks when few are left (after the new ID is taken, so that
    /// messages taken one after another have IDs in that order). Must be
    /// called within the tokio runtime.
    pub fn take(spool: &Arc<Spool>) -> (QueueId, bool) {
        let (taken, left) = {
            let mut ready = spool.blanks.lock();
            (ready.pop_front(), ready.len())
        };
        let id = match taken {
            Some(id) => (id, true),
            None => (spool.next_id(), false),
        };
        if left < SPOOL_BLANKS_LOW && !spool.blanks.making.swap(true, Ordering::AcqRel) {
            let spool = Arc::clone(spool);
            tokio::task::spawn_blocking(move || {
                let result = spool.make_blanks();
                match (spool.blanks.outcome(result.is_ok()), result) {
                    (Outcome::Failed, Err(error)) => tracing::warn!(
                        %error,
                        "cannot make empty spool files in spool/queue; sessions make their own \
                         (said once until it works again)"
                    ),
                    (Outcome::Recovered, _) => {
                        tracing::info!("empty spool files are made in spool/queue again");
                    }
                    _ => {}
                }
                spool.blanks.making.store(false, Ordering::Release);
            });
        }
        id
    }

    /// Offers again the blank of a message aborted before its file was
    /// opened: it is still empty, and its name still durable.
    pub fn give_back(&self, id: QueueId) {
        self.lock().push_front(id);
    }

    /// Whether a job's result changes what the log last said: the first
    /// failure, and the first success after failures.
    fn outcome(&self, succeeded: bool) -> Outcome {
        match (self.failing.swap(!succeeded, Ordering::AcqRel), succeeded) {
            (false, false) => Outcome::Failed,
            (true, true) => Outcome::Recovered,
            _ => Outcome::Quiet,
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<QueueId>> {
        // A list of IDs stays valid whatever panicked while holding it.
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    pub fn ready(&self) -> usize {
        self.lock().len()
    }
}

impl Spool {
    /// Makes blanks up to [`SPOOL_BLANKS_MAX`]: files from `free/` (or
    /// new ones) moved into `queue/` under new IDs, emptied, then one
    /// `fsync` of `queue/` for all of them; only then are they offered.
    /// Blocks.
    fn make_blanks(&self) -> io::Result<()> {
        let wanted = SPOOL_BLANKS_MAX.saturating_sub(self.blanks.lock().len());
        let mut made = Vec::with_capacity(wanted);
        let result = (0..wanted).try_for_each(|_| {
            let id = self.next_id();
            self.free.create(&self.queue_path(id))?;
            made.push(id);
            Ok(())
        });
        let result = result.and_then(|()| self.queue_sync.sync());
        match result {
            Ok(()) => {
                self.blanks.lock().extend(made);
                Ok(())
            }
            Err(error) => {
                // Not offered: take them back out of queue/.
                for id in made {
                    let _ = self.free.recycle(&self.queue_path(id), &id.to_string());
                }
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::envelope;
    use super::*;
    use crate::driver::StoredMessage;
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::time::{Duration, Instant};
    use tokio::sync::mpsc;

    /// Waits until `count` blanks are ready.
    async fn ready(spool: &Spool, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while spool.blanks.ready() != count {
            assert!(
                Instant::now() < deadline,
                "{} blanks ready",
                spool.blanks.ready()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[test]
    fn a_failure_to_make_blanks_is_said_once_until_it_works_again() {
        let blanks = Blanks::default();
        assert_eq!(blanks.outcome(true), Outcome::Quiet);
        assert_eq!(blanks.outcome(false), Outcome::Failed);
        assert_eq!(blanks.outcome(false), Outcome::Quiet);
        assert_eq!(blanks.outcome(false), Outcome::Quiet);
        assert_eq!(blanks.outcome(true), Outcome::Recovered);
        assert_eq!(blanks.outcome(true), Outcome::Quiet);
        assert_eq!(blanks.outcome(false), Outcome::Failed);
    }

    #[tokio::test]
    async fn a_message_is_committed_into_a_blank_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let (announce, _announced) = mpsc::unbounded_channel();
        let (spool, _) = Spool::open(dir.path(), 0, announce).unwrap();
        // The first message finds none ready, and has them made.
        let (first, _, file) = spool.create(envelope()).await.unwrap();
        file.abort().await;
        ready(&spool, SPOOL_BLANKS_MAX).await;
        let queue = dir.path().join("spool/queue");
        let blanks: Vec<_> = fs::read_dir(&queue).unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(blanks.len(), SPOOL_BLANKS_MAX);
        assert!(blanks.iter().all(|e| e.metadata().unwrap().len() == 0));
        assert!(!queue.join(first.to_string()).exists());

        // The next takes one, and is written into it: the same file.
        let (id, _, mut file) = spool.create(envelope()).await.unwrap();
        let inode = fs::metadata(spool.queue_path(id)).unwrap().ino();
        file.write(b"Subject: hi\r\n\r\nbody\r\n").await.unwrap();
        file.commit().await.unwrap();
        let committed = fs::metadata(spool.queue_path(id)).unwrap();
        assert_eq!(committed.ino(), inode, "not committed in place");
        assert!(committed.len() > 0);
        assert_eq!(spool.blanks.ready(), SPOOL_BLANKS_MAX - 1);

        // A message given up before its file was opened gives its blank
        // back, for the next one.
        let (given_up, _, file) = spool.create(envelope()).await.unwrap();
        file.abort().await;
        assert_eq!(spool.blanks.ready(), SPOOL_BLANKS_MAX - 1);
        let (next, _, file) = spool.create(envelope()).await.unwrap();
        assert_eq!(next, given_up);
        file.abort().await;
    }
}
