//! COPY, MOVE and MULTIAPPEND on Maildir: messages that arrive in a folder
//! in one piece.
//!
//! - **Copy** (RFC 9051 6.4.7): under the source's lock each message is
//!   hard-linked into the target's `tmp/` (as Dovecot copies; the bytes
//!   are copied only where a link cannot be made), with its flags,
//!   keywords (by name: each folder numbers its own) and internal date
//!   (the link shares the file's mtime). Then, under the target's lock,
//!   the links are renamed into `cur/` and given UIDs, `cur/` is synced
//!   and the uidlist written before the call returns. The two locks are
//!   never held together, so a copy into the same folder works. A failure
//!   removes what was placed; a crash leaves links in `tmp/` only, which
//!   no reader lists (Dovecot clears `tmp/` after 36 hours).
//! - **Move** (RFC 6851): both folders are held at once (taken in name
//!   order, by every Postern, so two moves in opposite directions cannot
//!   deadlock; Dovecot holds one uidlist lock at a time) and each file is
//!   *renamed* from the source's `cur/` into the target's: no copy of the
//!   bytes, and one name on disk at every instant, so the message is in
//!   one folder or the other, never both and never lost. The target's
//!   uidlist is written first, then the source's. After a crash between
//!   the rename and those writes, the target's next sync finds the file
//!   and gives it a UID, and the source's next sync finds it gone and
//!   records its expunge (with a MODSEQ).
//! - **MULTIAPPEND** (RFC 3502): every message is written to `tmp/` and
//!   synced first; then, under the lock, all are renamed into `cur/` and
//!   given UIDs, and a failure on any renames back what was placed: all
//!   stored or none. Before the first rename the names are journaled
//!   (`postern-placing`, synced); the journal goes once the uidlist
//!   holds them all. A crash in between leaves the journal, and the next
//!   holder of the lock removes the files it names that have no UID, so
//!   none is visible (a copy is undone the same way).

use super::MaildirStore;
use super::locked::Locked;
use crate::mailstore::{FolderName, StoreError};
use crate::spool::sync_dir;
use postern_core::envelope::LocalMailbox;
use postern_core::limits::MULTIAPPEND_MESSAGES_MAX;
use postern_core::mailbox::maildir_name::{Info, MaildirName};
use postern_core::mailbox::{
    CopyResult, Flags, Keywords, MoveResult, NewMessage, Uid, UidValidity,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A message file in the target's `tmp/`, waiting to be placed.
pub(super) struct Staged {
    /// Its UID in the source; `None` in a MULTIAPPEND.
    pub source: Option<Uid>,
    pub tmp: PathBuf,
    pub name: MaildirName,
    pub flags: Flags,
    pub keywords: Keywords,
}

/// The UIDs asked for, each once, in ascending order.
fn ascending(uids: &[Uid]) -> Vec<Uid> {
    uids.iter()
        .copied()
        .collect::<BTreeSet<Uid>>()
        .into_iter()
        .collect()
}

/// The keyword names of a message's info.
fn keyword_names(locked: &Locked, info: &Info) -> Keywords {
    info.keywords
        .iter()
        .filter_map(|&i| locked.keywords.keyword(i).map(str::to_owned))
        .collect()
}

impl MaildirStore {
    pub(super) fn copy_blocking(
        &self,
        mailbox: &LocalMailbox,
        from: &FolderName,
        uids: &[Uid],
        to: &FolderName,
    ) -> Result<CopyResult, StoreError> {
        let to_tmp = self.folder_dir(mailbox, to)?.join("tmp");
        let host = self.host().to_owned();
        let asked = ascending(uids);
        let staged = Arc::new(
            self.locked(mailbox, from, true, move |locked| {
                stage(locked, &asked, &to_tmp, &host)
            })?
            .value,
        );
        let to_place = Arc::clone(&staged);
        let placed = self.locked(mailbox, to, true, move |locked| {
            let pairs = place(locked, &to_place)?;
            Ok((locked.uid_validity(), pairs))
        });
        match placed {
            Ok(synced) => {
                let (uid_validity, pairs) = synced.value;
                Ok(CopyResult {
                    uid_validity,
                    pairs,
                })
            }
            Err(error) => {
                for staged in staged.iter() {
                    let _ = fs::remove_file(&staged.tmp);
                }
                Err(error)
            }
        }
    }

    pub(super) fn append_many_blocking(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        messages: Vec<NewMessage>,
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        if messages.len() > MULTIAPPEND_MESSAGES_MAX {
            return Err(StoreError::TooManyMessages {
                count: messages.len(),
                max: MULTIAPPEND_MESSAGES_MAX,
            });
        }
        let tmp_dir = self.folder_dir(mailbox, folder)?.join("tmp");
        let mut staged = Vec::with_capacity(messages.len());
        let written = (|| {
            for message in messages {
                staged.push(write_staged(&tmp_dir, self.host(), message)?);
            }
            Ok::<(), StoreError>(())
        })();
        let staged = Arc::new(staged);
        let to_place = Arc::clone(&staged);
        let placed = written.and_then(|()| {
            self.locked(mailbox, folder, true, move |locked| {
                let pairs = place(locked, &to_place)?;
                Ok((locked.uid_validity(), pairs))
            })
        });
        match placed {
            Ok(synced) => {
                let (uid_validity, pairs) = synced.value;
                Ok((
                    uid_validity,
                    pairs.into_iter().map(|(_, new)| new).collect(),
                ))
            }
            Err(error) => {
                for staged in staged.iter() {
                    let _ = fs::remove_file(&staged.tmp);
                }
                Err(error)
            }
        }
    }

    pub(super) fn move_blocking(
        &self,
        mailbox: &LocalMailbox,
        from: &FolderName,
        uids: &[Uid],
        to: &FolderName,
    ) -> Result<MoveResult, StoreError> {
        if from == to {
            // RFC 6851 3.3 leaves it to the server: a copy, then the
            // originals expunged.
            let copied = self.copy_blocking(mailbox, from, uids, to)?;
            let sources: Vec<Uid> = copied.pairs.iter().map(|&(source, _)| source).collect();
            let expunged = self.expunge_blocking(mailbox, from, &sources)?;
            return Ok(MoveResult { copied, expunged });
        }
        let from_dir = self.folder_dir(mailbox, from)?;
        let to_dir = self.folder_dir(mailbox, to)?;
        let (from_handle, to_handle) = (self.handle(mailbox, from), self.handle(mailbox, to));
        // Every Postern takes the two folders in name order.
        let (mut from_cache, mut to_cache);
        let (mut source, mut target) = if from < to {
            from_cache = super::lock(&from_handle.cache);
            let source = super::Held::hold(from_dir, &from_handle, &mut from_cache, true)?;
            to_cache = super::lock(&to_handle.cache);
            (
                source,
                super::Held::hold(to_dir, &to_handle, &mut to_cache, true)?,
            )
        } else {
            to_cache = super::lock(&to_handle.cache);
            let target = super::Held::hold(to_dir, &to_handle, &mut to_cache, true)?;
            from_cache = super::lock(&from_handle.cache);
            (
                super::Held::hold(from_dir, &from_handle, &mut from_cache, true)?,
                target,
            )
        };
        let moved = rename_across(&mut source.locked, &mut target.locked, &ascending(uids))?;
        source.locked.scan(true)?;
        let uid_validity = target.locked.uid_validity();
        // The target's UIDs are durable before the source forgets them.
        target.commit()?;
        source.commit()?;
        Ok(MoveResult {
            copied: CopyResult {
                uid_validity,
                pairs: moved.clone(),
            },
            expunged: moved.into_iter().map(|(source, _)| source).collect(),
        })
    }
}

/// Hard-links (or copies) each message into `to_tmp` under a new unique
/// name; messages no longer there are skipped.
fn stage(
    locked: &mut Locked,
    uids: &[Uid],
    to_tmp: &Path,
    host: &str,
) -> Result<Vec<Staged>, StoreError> {
    let mut staged = Vec::new();
    let result = (|| {
        for &uid in uids {
            let unique = super::unique_name(host);
            let tmp = to_tmp.join(&unique);
            let linked =
                locked.retry_on_file(uid, |entry| link_or_copy(&entry.path, &tmp, entry))?;
            if !linked {
                continue;
            }
            let Some(entry) = locked.files.get(&uid) else {
                continue;
            };
            let info = entry.name.info.clone().unwrap_or_default();
            let (size, vsize) = locked.sizes(uid);
            let (size, vsize) = match (size, vsize) {
                (Some(size), Some(vsize)) => (size, vsize),
                _ => super::locked::count_sizes(&tmp)?,
            };
            staged.push(Staged {
                source: Some(uid),
                name: MaildirName::new(&unique, size, vsize),
                tmp,
                flags: info.flags,
                keywords: keyword_names(locked, &info),
            });
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(staged),
        Err(error) => {
            for staged in &staged {
                let _ = fs::remove_file(&staged.tmp);
            }
            Err(error)
        }
    }
}

/// A hard link, as Dovecot copies; the bytes (and the mtime, the internal
/// date) where the file system refuses links.
fn link_or_copy(source: &Path, tmp: &Path, entry: &super::locked::FileEntry) -> io::Result<()> {
    match fs::hard_link(source, tmp) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Err(error),
        Err(_) => {
            fs::copy(source, tmp)?;
            let file = fs::File::options().write(true).open(tmp)?;
            let date = SystemTime::UNIX_EPOCH + Duration::from_secs(entry.mtime.0.max(0) as u64);
            file.set_modified(date)?;
            file.sync_all()
        }
    }
}

/// Writes one MULTIAPPEND message to `tmp/`, synced, with its date.
fn write_staged(tmp_dir: &Path, host: &str, message: NewMessage) -> Result<Staged, StoreError> {
    super::check_keywords(&message.keywords)?;
    let unique = super::unique_name(host);
    let tmp = tmp_dir.join(&unique);
    let (size, vsize) = super::write_blocking(&tmp, b"", &mut message.content.as_slice())?;
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(message.internal_date.0.max(0) as u64);
    fs::File::options()
        .write(true)
        .open(&tmp)?
        .set_modified(date)?;
    Ok(Staged {
        source: None,
        name: MaildirName::new(&unique, size, vsize),
        tmp,
        flags: message.flags,
        keywords: message.keywords,
    })
}

/// Renames the staged files into `cur/` with their flags and gives them
/// UIDs, in order. Every name is made first (a keyword refused refuses
/// the whole call before any file moves) and journaled (see
/// [`super::locked::PLACING`]); on any failure the files placed go back
/// to `tmp/`. Returns (source UID or new UID, new UID).
pub(super) fn place(locked: &mut Locked, staged: &[Staged]) -> Result<Vec<(Uid, Uid)>, StoreError> {
    let cur = locked.dir().join("cur");
    let mut names = Vec::with_capacity(staged.len());
    let mut added = false;
    for item in staged {
        let mut info = Info {
            flags: item.flags,
            ..Info::default()
        };
        for word in &item.keywords {
            added |= locked.keywords.index(word).is_none();
            info.keywords.insert(locked.keyword_index(word)?);
        }
        names.push(item.name.with_info(info).to_string());
    }
    if added {
        // A new keyword's letter must name it before a file carries it.
        locked.write_keywords()?;
    }
    // One file needs no journal: its rename into `cur/` is the one step
    // that makes it exist, as in Dovecot's APPEND and in delivery. A
    // crash before the uidlist holds it leaves a whole message that the
    // next sync numbers, never part of a set. Several files need it, so
    // that a crash never leaves some of them (MULTIAPPEND, COPY are all
    // or nothing). Saves two fsyncs (the journal, its directory) on
    // every single APPEND and COPY.
    if staged.len() > 1 {
        locked.begin_placing(&names)?;
    }
    let mut placed: Vec<(PathBuf, &Staged)> = Vec::new();
    let mut pairs = Vec::new();
    let result = (|| {
        for (item, name) in staged.iter().zip(&names) {
            let target = cur.join(name);
            fs::rename(&item.tmp, &target)?;
            placed.push((target.clone(), item));
            let uid = locked
                .adopt(name, target)?
                .ok_or_else(|| io::Error::other(format!("placed file {name} vanished")))?;
            pairs.push((item.source.unwrap_or(uid), uid));
        }
        if staged.len() > 1 {
            sync_dir(&cur)?;
        } else {
            // One file, no journal: synced with the round's commit,
            // before the uidlist (several sessions' APPENDs share it).
            locked.sync_later(&cur);
        }
        Ok::<(), StoreError>(())
    })();
    if let Err(error) = result {
        for (target, item) in placed {
            let _ = fs::rename(&target, &item.tmp);
        }
        locked.abandon_placing();
        return Err(error);
    }
    Ok(pairs)
}

/// Renames each message from the source's `cur/` into the target's,
/// keeping its stem, flags and keywords (renumbered for the target), and
/// gives it a UID there. Returns (source UID, new UID) pairs; messages no
/// longer there are skipped. On a failure the files moved so far are
/// renamed back.
fn rename_across(
    source: &mut Locked,
    target: &mut Locked,
    uids: &[Uid],
) -> Result<Vec<(Uid, Uid)>, StoreError> {
    // The target's number for each source keyword the messages carry.
    let mut renumbered = BTreeMap::new();
    for uid in uids {
        let Some(entry) = source.files.get(uid) else {
            continue;
        };
        for &index in &entry.name.info.clone().unwrap_or_default().keywords {
            if let Some(word) = source.keywords.keyword(index).map(str::to_owned) {
                renumbered.insert(index, target.keyword_index(&word)?);
            }
        }
    }
    target.write_keywords()?;
    let cur = target.dir().join("cur");
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut pairs = Vec::new();
    let result = (|| {
        for &uid in uids {
            let last = RefCell::new(None);
            let renamed = source.retry_on_file(uid, |entry| {
                let mut info = entry.name.info.clone().unwrap_or_default();
                info.keywords = info
                    .keywords
                    .iter()
                    .filter_map(|i| renumbered.get(i).copied())
                    .collect();
                let name = entry.name.with_info(info).to_string();
                let to = cur.join(&name);
                fs::rename(&entry.path, &to)?;
                *last.borrow_mut() = Some((name, entry.path.clone(), to));
                Ok(())
            })?;
            let Some((name, from, to)) = last.into_inner().filter(|_| renamed) else {
                continue;
            };
            moved.push((from, to.clone()));
            let new = target
                .adopt(&name, to)?
                .ok_or_else(|| io::Error::other(format!("moved file {name} vanished")))?;
            pairs.push((uid, new));
        }
        sync_dir(&cur)?;
        sync_dir(&source.dir().join("cur"))?;
        Ok::<(), StoreError>(())
    })();
    if let Err(error) = result {
        for (from, to) in moved.into_iter().rev() {
            let _ = fs::rename(&to, &from);
        }
        return Err(error);
    }
    Ok(pairs)
}
