//! Group commit of a directory's `fsync`: concurrent callers share one.
//!
//! Whoever makes a new name in the directory (a message's file, or a
//! batch of blanks, see `blanks.rs`) then calls [`DirSync::sync`], which
//! returns once an `fsync` of the directory that *started after the
//! call* has succeeded: only such a sync is sure to cover the new name.
//! Callers take tickets in call order. Whoever finds no sync running
//! leads: it notes the last ticket taken, syncs, and marks every ticket
//! up to that one synced; the callers that came while it ran wait, and
//! one of them leads the next round for all of them. So with twenty
//! sessions making names at once the directory is synced a few times
//! instead of twenty, and no caller returns before its own new name is
//! durable.
//!
//! A failed sync marks nothing: the leader returns the error, and each
//! caller it would have covered leads or joins a later round, so a
//! caller is told `Ok` only by a sync that succeeded, and a lasting
//! failure reaches every caller.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

/// The `fsync` rounds of one directory.
#[derive(Debug)]
pub struct DirSync {
    dir: PathBuf,
    sync: fn(&Path) -> io::Result<()>,
    rounds: Mutex<Rounds>,
    finished: Condvar,
}

#[derive(Debug, Default)]
struct Rounds {
    /// The last ticket handed out.
    taken: u64,
    /// Every ticket up to this one is covered by a successful sync.
    synced: u64,
    /// A leader is syncing now.
    running: bool,
}

impl DirSync {
    pub fn new(dir: PathBuf) -> Self {
        Self::with(dir, super::sync_dir)
    }

    /// With another way to sync, for tests.
    pub(crate) fn with(dir: PathBuf, sync: fn(&Path) -> io::Result<()>) -> Self {
        DirSync {
            dir,
            sync,
            rounds: Mutex::new(Rounds::default()),
            finished: Condvar::new(),
        }
    }

    /// Returns once a sync of the directory that started after this call
    /// has succeeded (see the module). Blocks: call it off the async
    /// threads.
    pub fn sync(&self) -> io::Result<()> {
        let mut rounds = self.lock();
        rounds.taken += 1;
        let ticket = rounds.taken;
        loop {
            if rounds.synced >= ticket {
                return Ok(());
            }
            if rounds.running {
                rounds = self
                    .finished
                    .wait(rounds)
                    .unwrap_or_else(|e| e.into_inner());
                continue;
            }
            rounds.running = true;
            let covered = rounds.taken;
            drop(rounds);
            let result = (self.sync)(&self.dir);
            rounds = self.lock();
            rounds.running = false;
            if result.is_ok() {
                rounds.synced = rounds.synced.max(covered);
            }
            self.finished.notify_all();
            result?;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Rounds> {
        // The counters stay consistent whatever panicked while holding them.
        self.rounds.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    // A simulated directory: syncs are numbered as they start, and the
    // highest number that finished is kept. One set per test binary, so
    // the tests that use them run one at a time under TEST_LOCK.
    static STARTED: AtomicU64 = AtomicU64::new(0);
    static FINISHED: AtomicU64 = AtomicU64::new(0);
    static FAILING: AtomicBool = AtomicBool::new(false);
    static TEST_LOCK: Mutex<()> = Mutex::new(());

    fn slow_sync(_: &Path) -> io::Result<()> {
        let number = STARTED.fetch_add(1, Ordering::SeqCst) + 1;
        std::thread::sleep(Duration::from_millis(20));
        if FAILING.load(Ordering::SeqCst) {
            return Err(io::Error::other("the disk is gone"));
        }
        FINISHED.fetch_max(number, Ordering::SeqCst);
        Ok(())
    }

    fn reset() -> MutexGuard<'static, ()> {
        let guard = TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        STARTED.store(0, Ordering::SeqCst);
        FINISHED.store(0, Ordering::SeqCst);
        FAILING.store(false, Ordering::SeqCst);
        guard
    }

    #[test]
    fn concurrent_callers_share_syncs_and_each_waits_for_one_that_started_after_it() {
        let _guard = reset();
        let dir = Arc::new(DirSync::with(PathBuf::from("queue"), slow_sync));
        let callers: Vec<_> = (0..20)
            .map(|n| {
                let dir = Arc::clone(&dir);
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(n % 5));
                    // The caller's rename is done here: every sync
                    // numbered after `before` started after it.
                    let before = STARTED.load(Ordering::SeqCst);
                    dir.sync().unwrap();
                    assert!(
                        FINISHED.load(Ordering::SeqCst) > before,
                        "answered without a sync that started after the call"
                    );
                })
            })
            .collect();
        for caller in callers {
            caller.join().unwrap();
        }
        let syncs = STARTED.load(Ordering::SeqCst);
        assert!((1..20).contains(&syncs), "{syncs} syncs for 20 callers");
    }

    #[test]
    fn a_failed_sync_answers_no_caller_ok() {
        let _guard = reset();
        FAILING.store(true, Ordering::SeqCst);
        let dir = Arc::new(DirSync::with(PathBuf::from("queue"), slow_sync));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let dir = Arc::clone(&dir);
                std::thread::spawn(move || dir.sync())
            })
            .collect();
        for caller in callers {
            let error = caller.join().unwrap().unwrap_err();
            assert_eq!(error.to_string(), "the disk is gone");
        }
    }

    #[test]
    fn after_a_failure_the_next_caller_syncs_again() {
        let _guard = reset();
        let dir = DirSync::with(PathBuf::from("queue"), slow_sync);
        FAILING.store(true, Ordering::SeqCst);
        assert!(dir.sync().is_err());
        FAILING.store(false, Ordering::SeqCst);
        dir.sync().unwrap();
        assert_eq!(STARTED.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_real_directory_is_synced() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DirSync::new(tmp.path().to_owned());
        dir.sync().unwrap();
        let gone = DirSync::new(tmp.path().join("missing"));
        assert_eq!(gone.sync().unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
