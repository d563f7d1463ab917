//! Group commit: the work of concurrent sessions on one folder shares one
//! hold of the lock, one scan and one write of `dovecot-uidlist` and
//! `postern-modseq` with their fsyncs.
//!
//! Every call that needs the folder under its lock ([`MaildirStore::locked`])
//! puts its work in the folder's queue, then takes the folder's mutex.
//! Whoever gets the mutex and finds its own work not done yet leads: it
//! takes every piece of work queued (its own among them), holds the
//! folder once ([`Held`]: the dot-lock, the scan), runs them one after
//! the other in queue order, commits once (the uidlist, `postern-modseq`,
//! the directories the work left to sync, all fsynced), and only then
//! hands each its answer. A caller whose work a leader did finds it done
//! when it gets the mutex, and answers at once. So no caller is answered
//! before the commit that holds its change is durable, and while one
//! round's fsyncs run, the next round's work gathers in the queue.
//!
//! A piece of work that fails answers its error; the folder is scanned
//! again (the failure may have left files half moved) and the others go
//! on. When every piece failed nothing is written, as before grouping.

use super::locked::Locked;
use super::{Cache, Handle, MaildirStore, Synced, lock, modseq, settled};
use crate::mailstore::{FolderName, StoreError};
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::{MailboxState, Reconciled, Snapshot};
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// One caller's work on a folder, waiting for a leader.
pub(super) struct Job {
    move_new: bool,
    /// Runs the caller's operation, keeps its result for the caller, and
    /// says whether it succeeded.
    run: Box<dyn FnOnce(&mut Locked) -> bool + Send>,
    done: Arc<Done>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("move_new", &self.move_new)
            .finish_non_exhaustive()
    }
}

/// What the commit of a job's round brought: set by the leader before it
/// lets go of the folder's mutex.
#[derive(Default)]
struct Done {
    outcome: Mutex<Option<Result<(Reconciled, Snapshot), StoreError>>>,
}

impl Done {
    fn set(&self, outcome: Result<(Reconciled, Snapshot), StoreError>) {
        *lock(&self.outcome) = Some(outcome);
    }
}

/// A folder held: this process's mutex (its guard kept by the caller,
/// who answers the round's callers before letting it go) and the lock
/// file, scanned.
pub(super) struct Held<'a> {
    dir: PathBuf,
    handle: &'a Handle,
    cache: &'a mut Option<Cache>,
    pub locked: Locked,
}

impl<'a> Held<'a> {
    /// The lock file and a scan; `cache` is the folder's, its mutex
    /// taken by the caller.
    pub(super) fn hold(
        dir: PathBuf,
        handle: &'a Handle,
        cache: &'a mut Option<Cache>,
        move_new: bool,
    ) -> Result<Held<'a>, StoreError> {
        let mut locked = Locked::open(&dir)?;
        if let Some(cache) = cache.as_mut() {
            locked.known = std::mem::take(&mut cache.dates);
            cache.seen = None;
        }
        locked.scan(move_new)?;
        Ok(Held {
            dir,
            handle,
            cache,
            locked,
        })
    }

    /// Writes the uidlist, then (still under its lock) brings the model
    /// and `postern-modseq` up to date; releases the folder.
    pub(super) fn commit(self) -> Result<(Reconciled, Snapshot), StoreError> {
        let Held {
            dir,
            handle,
            cache,
            locked,
        } = self;
        let found = locked.found();
        let uid_validity = locked.uid_validity();
        let uid_next = locked.list.next_uid;
        let paths = locked
            .files
            .iter()
            .map(|(&uid, entry)| (uid, entry.path.clone()))
            .collect();
        let dates = locked.dates();
        let listed = locked.listed;
        let (still_locked, dir_unsynced) = locked.finish()?;
        let state = cache.take().map(|c| c.state);
        let before = state.as_ref().map(MailboxState::highest_modseq);
        let (state, reconciled) =
            modseq::sync_state(&dir, state, uid_validity, uid_next, found, dir_unsynced)?;
        let seen = settled::after_sync(&dir, listed)?;
        drop(still_locked);
        let snapshot = state.snapshot();
        // Changes found now, or made by another process since this one
        // last looked (its state was resumed from `postern-modseq`).
        let moved = before.is_some_and(|b| b != state.highest_modseq());
        if moved || reconciled != Reconciled::Changes(Vec::new()) {
            handle.changed.send_replace(state.highest_modseq());
        }
        *cache = Some(Cache {
            state,
            paths,
            dates,
            seen,
        });
        Ok((reconciled, snapshot))
    }
}

impl MaildirStore {
    /// Runs `op` on the folder under its lock, synced: this process's
    /// mutex and the lock file, a scan, `op`, then the uidlist written
    /// back and the model (and `postern-modseq`) brought up to date, the
    /// watch channel fired if anything changed. Concurrent callers share
    /// the round (see the module): `op` may run on another caller's
    /// thread, and returns only once the commit holding its change is
    /// durable.
    pub(super) fn locked<T: Send + 'static>(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        move_new: bool,
        op: impl FnOnce(&mut Locked) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<Synced<T>, StoreError> {
        let dir = self.folder_dir(mailbox, folder)?;
        let handle = self.handle(mailbox, folder);
        #[cfg(test)]
        handle
            .full_syncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let value: Arc<Mutex<Option<Result<T, StoreError>>>> = Arc::default();
        let done = Arc::new(Done::default());
        let job = {
            let value = Arc::clone(&value);
            Job {
                move_new,
                done: Arc::clone(&done),
                run: Box::new(move |locked| {
                    let result = op(locked);
                    let ok = result.is_ok();
                    *lock(&value) = Some(result);
                    ok
                }),
            }
        };
        lock(&handle.queue).push(job);
        let cache = lock(&handle.cache);
        if lock(&done.outcome).is_none() {
            // Not done by an earlier leader: lead this round.
            let jobs = std::mem::take(&mut *lock(&handle.queue));
            if jobs.is_empty() {
                drop(cache);
            } else {
                run_round(dir, &handle, cache, jobs);
            }
        } else {
            drop(cache);
        }
        let outcome = lock(&done.outcome).take();
        let value = lock(&value).take();
        match (value, outcome) {
            (Some(Err(error)), _) | (_, Some(Err(error))) => Err(error),
            (Some(Ok(value)), Some(Ok((reconciled, snapshot)))) => Ok(Synced {
                value,
                reconciled,
                snapshot,
            }),
            // Only when a leader panicked while running this work.
            _ => Err(io::Error::other("the folder's work was cut short").into()),
        }
    }
}

/// One round: hold the folder, run every job in order, commit once,
/// answer each.
/// The mutex's guard goes only when every job of the round is answered:
/// a caller that then finds its work not done leads the next round.
fn run_round(
    dir: PathBuf,
    handle: &Handle,
    mut cache: MutexGuard<'_, Option<Cache>>,
    jobs: Vec<Job>,
) {
    let move_new = jobs.iter().all(|job| job.move_new);
    #[cfg(test)]
    handle
        .rounds
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut held = match Held::hold(dir, handle, &mut cache, move_new) {
        Ok(held) => held,
        Err(error) => {
            for job in jobs {
                job.done.set(Err(shared(&error)));
            }
            return;
        }
    };
    let mut dones = Vec::with_capacity(jobs.len());
    let mut any_succeeded = false;
    let mut rescan: Result<(), StoreError> = Ok(());
    for job in jobs {
        dones.push(job.done);
        if rescan.is_err() {
            continue;
        }
        if (job.run)(&mut held.locked) {
            any_succeeded = true;
        } else {
            // A failure may leave files half moved: read the folder
            // again before the next job and the commit.
            rescan = held.locked.scan(move_new);
        }
    }
    let outcome = match rescan {
        Err(error) => Err(error),
        Ok(()) if any_succeeded => held.commit(),
        // Every job failed and answers its own error: nothing written.
        Ok(()) => Err(io::Error::other("nothing was committed").into()),
    };
    for done in dones {
        done.set(match &outcome {
            Ok(committed) => Ok(committed.clone()),
            Err(error) => Err(shared(error)),
        });
    }
    drop(cache);
}

/// An error for each job of a round that failed as a whole.
fn shared(error: &StoreError) -> StoreError {
    match error {
        StoreError::NoSuchFolder(name) => StoreError::NoSuchFolder(name.clone()),
        StoreError::NoSuchMessage(uid) => StoreError::NoSuchMessage(*uid),
        StoreError::BadKeyword(why) => StoreError::BadKeyword(why.clone()),
        StoreError::Damaged { file, reason } => StoreError::Damaged {
            file: file.clone(),
            reason: reason.clone(),
        },
        StoreError::TooManyMessages { count, max } => StoreError::TooManyMessages {
            count: *count,
            max: *max,
        },
        StoreError::LockTimeout { file } => StoreError::LockTimeout { file: file.clone() },
        StoreError::Io(error) => StoreError::Io(io::Error::new(error.kind(), error.to_string())),
        other => StoreError::Io(io::Error::other(other.to_string())),
    }
}
