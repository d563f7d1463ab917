//! Durable MODSEQs: a folder's `postern-modseq` (format in
//! [`postern_core::mailbox::modseq_file`]), read and written under the
//! folder's `dovecot-uidlist.lock`, after the uidlist.
//!
//! Every sync reads the file's first line. When its highest MODSEQ is
//! the one this process's state has, the state is current; otherwise
//! another process (or an earlier run of this one) changed the folder
//! since, and the state is resumed from the whole file. The state is then
//! reconciled with what the sync found (a flag Dovecot set meanwhile gets
//! a MODSEQ above the kept highest) and, if its highest moved, the file
//! is replaced atomically (scratch file, fsync, rename, directory fsync),
//! still under the lock and before any client hears of the change: no
//! client is ever told a MODSEQ the file does not hold, so HIGHESTMODSEQ
//! never goes back across a restart or a crash.
//!
//! A damaged file is reported (the file, what is wrong, the fix) and
//! never keeps mail from being read: the state is rebuilt above the
//! highest MODSEQ it can still trust (the damaged file's header if it
//! reads, else the clock in microseconds, which is above any counter
//! that counts one a change), and every change before it is unknown
//! (`changes_since` answers `None`: resync).

use super::lock::replace_leaving_dir;
use crate::mailstore::StoreError;
use crate::spool::sync_dir;
use postern_core::limits::MODSEQ_FILE_BYTES_MAX;
use postern_core::mailbox::modseq_file::{MODSEQ_FILE, ModSeqFile};
use postern_core::mailbox::{Found, MailboxState, ModSeq, Reconciled, UidValidity};
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::time::SystemTime;

/// What the file held when read.
enum OnDisk {
    Missing,
    /// The header only: its highest MODSEQ and UIDVALIDITY.
    Header(ModSeqFile),
    Whole(ModSeqFile),
    Damaged {
        error: StoreError,
        /// The highest MODSEQ its header still names, if it reads.
        highest: Option<ModSeq>,
    },
}

/// Brings `state` (this process's, if it has one) in line with the
/// folder under its lock: `found` as the sync found it. Returns the state
/// and what changed; writes the file if the highest MODSEQ moved.
///
/// `dir_unsynced`: the uidlist was just replaced in `dir` and the
/// directory not yet synced. One directory fsync, after this file's
/// rename (or alone, if it is not written, or on an error), makes both
/// renames durable before anyone hears of them. A crash between them
/// can leave either file new and the other old, as it always could (the
/// two were never one atomic step): the next holder reconciles the files
/// it finds with the uidlist, or rebuilds above the highest MODSEQ the
/// file names, so a MODSEQ never goes back.
pub(super) fn sync_state(
    dir: &Path,
    state: Option<MailboxState>,
    uid_validity: UidValidity,
    uid_next: u32,
    found: Vec<Found>,
    dir_unsynced: bool,
) -> Result<(MailboxState, Reconciled), StoreError> {
    let mut written = false;
    let result = sync_state_leaving_dir(dir, state, uid_validity, uid_next, found, &mut written);
    if dir_unsynced || written {
        sync_dir(dir)?;
    }
    result
}

fn sync_state_leaving_dir(
    dir: &Path,
    state: Option<MailboxState>,
    uid_validity: UidValidity,
    uid_next: u32,
    found: Vec<Found>,
    wrote: &mut bool,
) -> Result<(MailboxState, Reconciled), StoreError> {
    let path = dir.join(MODSEQ_FILE);
    let current = state
        .as_ref()
        .map(|s| (s.uid_validity(), s.highest_modseq()));
    let on_disk = read(&path, current)?;
    let cached_highest = state.as_ref().map(MailboxState::highest_modseq);
    let (written, state, reconciled) = match (on_disk, state) {
        (OnDisk::Header(file), Some(mut state)) => {
            let reconciled = reconcile(&path, &mut state, uid_validity, uid_next, found)?;
            (Some(file.highest_modseq), state, reconciled)
        }
        (OnDisk::Missing, Some(mut state)) => {
            let reconciled = reconcile(&path, &mut state, uid_validity, uid_next, found)?;
            (None, state, reconciled)
        }
        (OnDisk::Missing, None) => {
            let mut state = MailboxState::new(uid_validity, 1);
            let reconciled = reconcile(&path, &mut state, uid_validity, uid_next, found)?;
            (None, state, reconciled)
        }
        (OnDisk::Header(file) | OnDisk::Whole(file), _) => {
            let highest = file.highest_modseq;
            match MailboxState::resume(file, uid_validity, uid_next, found.clone()) {
                Ok((state, reconciled)) => (Some(highest), state, reconciled),
                Err(error) => {
                    let damage = damaged(&path, error.to_string());
                    report(&damage);
                    let floor = highest.max(cached_highest.unwrap_or_default());
                    rebuild(&path, floor, uid_validity, uid_next, found)?
                }
            }
        }
        (OnDisk::Damaged { error, highest }, _) => {
            report(&error);
            let floor = highest
                .unwrap_or_else(clock_floor)
                .max(cached_highest.unwrap_or_default());
            rebuild(&path, floor, uid_validity, uid_next, found)?
        }
    };
    if written != Some(state.highest_modseq()) {
        *wrote = true;
        replace_leaving_dir(&path, state.durable().render().as_bytes())?;
    }
    Ok((state, reconciled))
}

fn reconcile(
    path: &Path,
    state: &mut MailboxState,
    uid_validity: UidValidity,
    uid_next: u32,
    found: Vec<Found>,
) -> Result<Reconciled, StoreError> {
    state
        .reconcile(uid_validity, uid_next, found)
        .map_err(|error| StoreError::Damaged {
            file: path.with_file_name("dovecot-uidlist").display().to_string(),
            reason: error.to_string(),
        })
}

fn rebuild(
    path: &Path,
    floor: ModSeq,
    uid_validity: UidValidity,
    uid_next: u32,
    found: Vec<Found>,
) -> Result<(Option<ModSeq>, MailboxState, Reconciled), StoreError> {
    let mut state = MailboxState::rebuilt(uid_validity, floor);
    let reconciled = reconcile(path, &mut state, uid_validity, uid_next, found)?;
    Ok((None, state, reconciled))
}

fn report(error: &StoreError) {
    tracing::warn!(
        %error,
        "rebuilding the folder's MODSEQs above the highest known; clients resync \
         (CONDSTORE/QRESYNC); nothing to fix by hand, the file is rewritten now"
    );
}

/// Reads the header; the whole file only when `current` (this process's
/// UIDVALIDITY and highest MODSEQ) is not what it says.
fn read(path: &Path, current: Option<(UidValidity, ModSeq)>) -> Result<OnDisk, StoreError> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(OnDisk::Missing),
        Err(error) => return Err(error.into()),
    };
    let mut reader = BufReader::new(file.take(MODSEQ_FILE_BYTES_MAX + 1));
    let mut header = Vec::new();
    reader.read_until(b'\n', &mut header)?;
    let head = match ModSeqFile::parse(&header) {
        Ok(head) => head,
        Err(error) => {
            return Ok(OnDisk::Damaged {
                error: damaged(path, error.to_string()),
                highest: None,
            });
        }
    };
    if current == Some((head.uid_validity, head.highest_modseq)) {
        return Ok(OnDisk::Header(head));
    }
    let mut bytes = header;
    reader.read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MODSEQ_FILE_BYTES_MAX {
        return Ok(OnDisk::Damaged {
            error: damaged(path, format!("larger than {MODSEQ_FILE_BYTES_MAX} octets")),
            highest: Some(head.highest_modseq),
        });
    }
    match ModSeqFile::parse(&bytes) {
        Ok(file) => Ok(OnDisk::Whole(file)),
        Err(error) => Ok(OnDisk::Damaged {
            error: damaged(path, error.to_string()),
            highest: Some(head.highest_modseq),
        }),
    }
}

fn damaged(path: &Path, reason: String) -> StoreError {
    StoreError::Damaged {
        file: path.display().to_string(),
        reason,
    }
}

/// A MODSEQ above any a counter could have reached: the clock in
/// microseconds (a counter counting one a change is far below it).
fn clock_floor() -> ModSeq {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    ModSeq(u64::try_from(now.as_micros()).unwrap_or(u64::MAX / 2))
}
