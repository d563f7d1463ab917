//! The quick sync: when a folder's `new/`, `cur/`, `dovecot-uidlist` and
//! `postern-modseq` are as this process last saw them, nothing changed,
//! and a sync costs four stats instead of the lock, two listings and
//! the reads of both files.
//!
//! A [`Seen`] is recorded at the end of a sync under the lock, and only
//! when it can be trusted:
//! - the directories' stamps are those taken just before their last
//!   listing, and unchanged when the sync ends (nothing, ours or
//!   another's, changed them after the listing);
//! - `dovecot-uidlist` and `postern-modseq` change only under the lock,
//!   which the sync holds: their stamps at its end are what it read or
//!   wrote;
//! - every stamp is settled: its mtime was older, when it was taken, than
//!   the file system's timestamp granularity allows a later change to
//!   share ([`MAILDIR_FINE_MTIME_SETTLED`], [`MAILDIR_MTIME_SETTLED`] for
//!   whole-second stamps). A path changed more recently is listed or
//!   read again at the next sync, as Dovecot does.
//!
//! Any change since then, by this process or another (Dovecot renames
//! and removes files in `cur/` without the lock), moves a directory's
//! mtime or replaces a file, and the next sync is a full one. The
//! keywords file needs no stamp: a new keyword changes no message until
//! a file is renamed to carry it, which moves `cur/`'s mtime.

use super::{Synced, lock};
use crate::mailstore::{FolderName, StoreError};
use postern_core::envelope::LocalMailbox;
use postern_core::limits::{MAILDIR_FINE_MTIME_SETTLED, MAILDIR_MTIME_SETTLED};
use postern_core::mailbox::modseq_file::MODSEQ_FILE;
use postern_core::mailbox::{Change, ModSeq, Reconciled};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

impl super::MaildirStore {
    /// The sync when nothing changed since the last one (see
    /// the module): four stats, no lock, no listing; `None` when a full
    /// sync is needed.
    pub(super) fn quick_sync(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
    ) -> Result<Option<Synced<()>>, StoreError> {
        let dir = self.folder_dir(mailbox, folder)?;
        let handle = self.handle(mailbox, folder);
        let cache = lock(&handle.cache);
        let Some(cache) = cache.as_ref() else {
            return Ok(None);
        };
        let Some(seen) = &cache.seen else {
            return Ok(None);
        };
        if !unchanged(&dir, seen)? {
            return Ok(None);
        }
        Ok(Some(Synced {
            value: (),
            reconciled: Reconciled::Changes(Vec::new()),
            snapshot: cache.state.snapshot(),
        }))
    }
}

impl super::MaildirStore {
    /// `changes_since` without a trip to the blocking threads, when it
    /// can be had at once: the folder's mutex free, and its four stamps
    /// as the last trusted sync left them (four stats of paths whose
    /// directory entries are cached; no lock file, no listing). `None`
    /// sends the caller the usual way.
    pub(super) fn quick_changes(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        since: ModSeq,
    ) -> Option<Option<Vec<Change>>> {
        let handle = self.handle(mailbox, folder);
        let cache = handle.cache.try_lock().ok()?;
        let cache = cache.as_ref()?;
        let seen = cache.seen.as_ref()?;
        let dir = super::folders::folder_dir(&self.user_dir(mailbox), folder);
        if !unchanged(&dir, seen).ok()? {
            return None;
        }
        Some(cache.state.changes_since(since))
    }
}

/// One path's identity and last change; `None` when it does not exist.
pub(super) type Stamp = Option<FileStamp>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// `new/` and `cur/` as stamped just before they were listed, and when.
#[derive(Clone, Copy, Debug)]
pub(super) struct Listed {
    pub new: Stamp,
    pub cur: Stamp,
    pub at: SystemTime,
}

/// A folder as a trusted sync left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Seen {
    new: Stamp,
    cur: Stamp,
    uidlist: Stamp,
    modseq: Stamp,
}

pub(super) fn stamp(path: &Path) -> io::Result<Stamp> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Stamps `new/` and `cur/`, before listing them.
pub(super) fn before_listing(dir: &Path) -> io::Result<Listed> {
    let at = SystemTime::now();
    Ok(Listed {
        new: stamp(&dir.join("new"))?,
        cur: stamp(&dir.join("cur"))?,
        at,
    })
}

/// What a sync under the lock may leave for the quick one: `None` when
/// something changed after the listing or is too recent to trust.
pub(super) fn after_sync(dir: &Path, listed: Option<Listed>) -> io::Result<Option<Seen>> {
    let Some(listed) = listed else {
        return Ok(None);
    };
    let at = SystemTime::now();
    let seen = Seen {
        new: stamp(&dir.join("new"))?,
        cur: stamp(&dir.join("cur"))?,
        uidlist: stamp(&dir.join(super::locked::UIDLIST))?,
        modseq: stamp(&dir.join(MODSEQ_FILE))?,
    };
    let unchanged = seen.new == listed.new && seen.cur == listed.cur;
    let trusted = settled(listed.new, listed.at)
        && settled(listed.cur, listed.at)
        && settled(seen.uidlist, at)
        && settled(seen.modseq, at);
    Ok((unchanged && trusted).then_some(seen))
}

/// True when the folder is as `seen` says: the quick sync may answer.
pub(super) fn unchanged(dir: &Path, seen: &Seen) -> io::Result<bool> {
    Ok(stamp(&dir.join("cur"))? == seen.cur
        && stamp(&dir.join("new"))? == seen.new
        && stamp(&dir.join(super::locked::UIDLIST))? == seen.uidlist
        && stamp(&dir.join(MODSEQ_FILE))? == seen.modseq)
}

/// A later change cannot share this stamp's mtime: it was older, at
/// `at`, than the granularity of such stamps.
fn settled(stamp: Stamp, at: SystemTime) -> bool {
    let Some(stamp) = stamp else {
        return true;
    };
    let (secs, nanos) = stamp.mtime;
    let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) else {
        return false;
    };
    let mtime = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
    let margin = if nanos == 0 {
        MAILDIR_MTIME_SETTLED
    } else {
        MAILDIR_FINE_MTIME_SETTLED
    };
    at.duration_since(mtime).is_ok_and(|age| age > margin)
}
