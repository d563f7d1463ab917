//! [`MailboxStore`] on Maildir, readable by Dovecot with the same UIDs and
//! flags.
//!
//! `DATA/mail/DOMAIN/USER/` is INBOX; other folders are Maildir++
//! directories in it (`.Sent`). Flags are letters in file names; UIDs,
//! UIDVALIDITY and keywords live in `dovecot-uidlist` and
//! `dovecot-keywords`, changed only under Dovecot's dot-lock
//! (`dovecot-uidlist.lock`). Within this process a mutex per folder orders
//! the work; across processes (Dovecot, another `postern`) the lock file
//! does. MODSEQs and expunge tombstones are durable in a file of ours
//! beside Dovecot's, `postern-modseq`, written under the same lock
//! ([`modseq`]); special uses set by `CREATE ... USE` in the user's
//! `postern-special-use` ([`folders`]). COPY, MOVE and MULTIAPPEND are in
//! [`transfer`].

mod folders;
mod group;
mod lock;
mod locked;
mod modseq;
mod restore;
mod settled;
mod transfer;
mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_group;
#[cfg(test)]
mod tests_imap;
#[cfg(test)]
mod tests_quick;

pub(crate) use folders::ensure_user as make_user;
pub use restore::FolderWriter;
use write::safe_host;
pub(crate) use write::{unique_name, write_blocking};

use super::{
    CopyResult, FlagOp, FolderName, FolderStatus, MailboxStore, MessageReader, MoveResult,
    NewMessage, SpecialUse, StoreError, Usage,
};
use group::Held;
use locked::Locked;
use postern_core::envelope::LocalMailbox;
use postern_core::limits::MESSAGE_READ_AT_ONCE_BYTES_MAX;
use postern_core::mailbox::maildir_name::{Info, MaildirName};
use postern_core::mailbox::{
    Change, Flag, Flags, Keywords, MailboxState, ModSeq, Reconciled, Snapshot, Uid, UidValidity,
    keyword,
};
use postern_core::time::UnixTime;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncRead;
use tokio::sync::watch;

/// The Maildir store of one data directory. Cloning is cheap; clones
/// share their state (one process). Separate `new`s on the same directory
/// behave as separate processes would.
#[derive(Clone, Debug)]
pub struct MaildirStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `DATA/mail`.
    root: PathBuf,
    /// Our host name, safe for a file name.
    host: String,
    /// A user's mailbox gets the default folders on first use.
    default_folders: bool,
    folders: Mutex<BTreeMap<(LocalMailbox, FolderName), Arc<Handle>>>,
}

/// One folder in this process.
#[derive(Debug)]
struct Handle {
    cache: Mutex<Option<Cache>>,
    /// Work waiting for the next round under the lock ([`group`]).
    queue: Mutex<Vec<group::Job>>,
    changed: watch::Sender<ModSeq>,
    /// The `fsync`s of `new/` after first tries' deliveries, shared.
    new_sync: std::sync::OnceLock<crate::spool::DirSync>,
    /// Syncs under the lock, for the tests of the quick sync.
    #[cfg(test)]
    full_syncs: std::sync::atomic::AtomicU64,
    /// Rounds under the lock ([`group`]), for its tests.
    #[cfg(test)]
    rounds: std::sync::atomic::AtomicU64,
}

/// What the last sync saw.
#[derive(Debug)]
struct Cache {
    state: MailboxState,
    paths: BTreeMap<Uid, PathBuf>,
    /// The files' dates by name, so the next scan stats only new names.
    dates: locked::Dates,
    /// The folder as the last sync left it, if that can be trusted: a
    /// sync that finds it so answers from here ([`settled`]).
    seen: Option<settled::Seen>,
}

/// A message written to `tmp/`, to be appended.
struct TmpMessage {
    tmp: PathBuf,
    name: MaildirName,
    flags: Flags,
    keywords: Keywords,
    internal_date: UnixTime,
}

/// What a sync under the lock brought.
struct Synced<T> {
    value: T,
    reconciled: Reconciled,
    snapshot: Snapshot,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the guard leaves data that was only being
    // replaced whole; carry on with it.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MaildirStore {
    pub fn new(data_dir: &Path, hostname: &str) -> Self {
        Self::at(data_dir.join("mail"), hostname, true)
    }

    /// The newsgroups' store: `DATA/news`, each group a mailbox with an
    /// INBOX and no other folders.
    pub fn for_newsgroups(data_dir: &Path, hostname: &str) -> Self {
        Self::at(data_dir.join("news"), hostname, false)
    }

    fn at(root: PathBuf, hostname: &str, default_folders: bool) -> Self {
        MaildirStore {
            inner: Arc::new(Inner {
                root,
                host: safe_host(hostname),
                default_folders,
                folders: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Makes the mailbox's Maildir on first use.
    fn ensure_mailbox(&self, root: &Path) -> Result<(), StoreError> {
        folders::ensure_mailbox(root, self.inner.default_folders)
    }

    /// The user's Maildir (INBOX).
    pub fn user_dir(&self, mailbox: &LocalMailbox) -> PathBuf {
        self.inner.root.join(&mailbox.domain).join(&mailbox.user)
    }

    pub(crate) fn host(&self) -> &str {
        &self.inner.host
    }

    fn handle(&self, mailbox: &LocalMailbox, folder: &FolderName) -> Arc<Handle> {
        let mut folders = lock(&self.inner.folders);
        folders
            .entry((mailbox.clone(), folder.clone()))
            .or_insert_with(|| {
                Arc::new(Handle {
                    cache: Mutex::new(None),
                    queue: Mutex::new(Vec::new()),
                    changed: watch::Sender::new(ModSeq(0)),
                    new_sync: std::sync::OnceLock::new(),
                    #[cfg(test)]
                    full_syncs: std::sync::atomic::AtomicU64::new(0),
                    #[cfg(test)]
                    rounds: std::sync::atomic::AtomicU64::new(0),
                })
            })
            .clone()
    }

    fn forget(&self, mailbox: &LocalMailbox, gone: impl Fn(&FolderName) -> bool) {
        lock(&self.inner.folders).retain(|(m, f), _| m != mailbox || !gone(f));
    }

    /// The folder's directory, the user's Maildir made on first use.
    fn folder_dir(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
    ) -> Result<PathBuf, StoreError> {
        let root = self.user_dir(mailbox);
        self.ensure_mailbox(&root)?;
        let dir = folders::folder_dir(&root, folder);
        if !dir.is_dir() {
            return Err(StoreError::NoSuchFolder(folder.to_string()));
        }
        Ok(dir)
    }

    fn sync_blocking(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
    ) -> Result<Synced<()>, StoreError> {
        if let Some(synced) = self.quick_sync(mailbox, folder)? {
            return Ok(synced);
        }
        self.locked(mailbox, folder, true, |_| Ok(()))
    }

    /// Delivery: moves a synced file from `tmp/` into INBOX's `new/` as
    /// `name`, then gives it its UID under the lock (leaving it in `new/`,
    /// as Dovecot's delivery does). Returns the UID and the file's path.
    ///
    /// A delivery's names are the same at every try (see
    /// [`postern_core::mailbox::maildir_name::delivery_unique`]): when the
    /// folder already holds a message of this name, in `new/` or moved to
    /// `cur/` by a reader, an earlier try made the copy before a crash cut
    /// it short, and this one removes its file instead of making a second.
    pub(crate) fn deliver_blocking(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        tmp: &Path,
        name: &MaildirName,
    ) -> Result<DeliveredCopy, StoreError> {
        let inbox = folder.clone();
        let dir = self.folder_dir(mailbox, &inbox)?;
        let new = dir.join("new").join(name.to_string());
        let stem = name.stem().to_owned();
        // Into new/ under the lock, as Dovecot's delivery does: a reader
        // never sees the file before its UID is settled.
        // `locked` has just scanned the folder, so an earlier try's copy
        // has its UID already; this try's file is the only one to add.
        let (tmp_owned, new_owned, file_name) = (tmp.to_owned(), new.clone(), name.to_string());
        let synced = self.locked(mailbox, &inbox, false, move |locked| {
            let earlier = uid_of(locked, &stem).is_some();
            if !earlier {
                fs::rename(&tmp_owned, &new_owned)?;
                // Synced with the round's commit, before the uidlist.
                locked.sync_later(&dir.join("new"));
                locked.adopt(&file_name, new_owned)?;
            }
            let uid = uid_of(locked, &stem);
            let path = uid.and_then(|uid| locked.files.get(&uid).map(|f| f.path.clone()));
            Ok((uid, path, earlier))
        })?;
        let (uid, path, earlier) = synced.value;
        if earlier {
            let _ = fs::remove_file(tmp);
        }
        match uid {
            Some(uid) => Ok(DeliveredCopy {
                uid: Some(uid),
                path: path.unwrap_or(new),
                earlier,
            }),
            None => {
                Err(io::Error::other(format!("delivered file {} vanished", new.display())).into())
            }
        }
    }

    /// A first try's delivery: moves a synced file from `tmp/` into
    /// INBOX's `new/` as `name` and syncs `new/` (concurrent deliveries
    /// share the `fsync`), without the lock or a scan. The next sync gives
    /// it its UID, as it does to a file any delivery agent leaves in
    /// `new/`; readers watching the folder are woken for that sync.
    ///
    /// Only for a copy that no earlier try can have made, so nothing is
    /// looked up: with a lookup under the lock each delivery listed the
    /// whole folder, and delivering n messages into a folder cost n².
    pub(crate) fn deliver_first_blocking(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        tmp: &Path,
        name: &MaildirName,
    ) -> Result<DeliveredCopy, StoreError> {
        let inbox = folder.clone();
        let new_dir = self.folder_dir(mailbox, &inbox)?.join("new");
        let path = new_dir.join(name.to_string());
        fs::rename(tmp, &path)?;
        let handle = self.handle(mailbox, &inbox);
        handle
            .new_sync
            .get_or_init(|| crate::spool::DirSync::new(new_dir))
            .sync()?;
        handle.changed.send_modify(|_| {});
        Ok(DeliveredCopy {
            uid: None,
            path,
            earlier: false,
        })
    }

    fn append_blocking(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        message: TmpMessage,
    ) -> Result<Uid, StoreError> {
        let TmpMessage {
            tmp,
            name,
            flags,
            keywords,
            internal_date,
        } = message;
        let tmp = tmp.as_path();
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(internal_date.0.max(0) as u64);
        fs::File::options()
            .write(true)
            .open(tmp)?
            .set_modified(date)?;
        let stem = name.stem().to_owned();
        let tmp_owned = tmp.to_owned();
        let synced = self.locked(mailbox, folder, true, move |locked| {
            let mut info = Info {
                flags,
                ..Info::default()
            };
            for word in &keywords {
                info.keywords.insert(locked.keyword_index(word)?);
            }
            let file_name = name.with_info(info).to_string();
            let target = locked.dir().join("cur").join(&file_name);
            // A new keyword's letter must name it before a file carries it.
            locked.write_keywords()?;
            fs::rename(&tmp_owned, &target)?;
            // Synced with the round's commit, before the uidlist.
            let cur = locked.dir().join("cur");
            locked.sync_later(&cur);
            // Placed under the lock just now: its UID without listing the
            // folder again.
            locked.adopt(&file_name, target)?;
            Ok(uid_of(locked, &stem))
        });
        match synced {
            Ok(synced) => synced
                .value
                .ok_or_else(|| io::Error::other("appended file vanished").into()),
            Err(error) => {
                let _ = fs::remove_file(tmp);
                Err(error)
            }
        }
    }

    fn store_flags_blocking(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &Keywords,
    ) -> Result<Vec<Change>, StoreError> {
        let (targets, keywords) = (uids.to_vec(), keywords.clone());
        let synced = self.locked(mailbox, folder, true, move |locked| {
            let mut indexes = std::collections::BTreeSet::new();
            for word in &keywords {
                indexes.insert(locked.keyword_index(word)?);
            }
            for &uid in &targets {
                let Some(entry) = locked.files.get(&uid) else {
                    continue;
                };
                let old = entry.name.info.clone().unwrap_or_default();
                let mut new = old.clone();
                match op {
                    FlagOp::Set => {
                        new.flags = flags;
                        new.keywords = indexes.clone();
                    }
                    FlagOp::Add => {
                        new.flags = new.flags.union(flags);
                        new.keywords.extend(indexes.iter().copied());
                    }
                    FlagOp::Remove => {
                        new.flags = new.flags.difference(flags);
                        new.keywords.retain(|i| !indexes.contains(i));
                    }
                }
                if new != old || entry.name.info.is_none() {
                    // Brings the entry up to date: no scan after.
                    locked.set_info(uid, new)?;
                }
            }
            Ok(())
        })?;
        // This call's own changes: the round may hold other sessions'
        // (told to them at their next sync, not as this STORE's).
        let asked: std::collections::BTreeSet<Uid> = uids.iter().copied().collect();
        let mut own = changes(synced.reconciled);
        own.retain(|change| {
            matches!(change, Change::FlagsChanged { .. }) && asked.contains(&change.uid())
        });
        Ok(own)
    }

    fn expunge_blocking(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        uids: &[Uid],
    ) -> Result<Vec<Uid>, StoreError> {
        let uids = uids.to_vec();
        let synced = self.locked(mailbox, folder, true, move |locked| {
            let mut removed = Vec::new();
            for &uid in &uids {
                if locked.remove(uid)? {
                    removed.push(uid);
                }
            }
            if !removed.is_empty() {
                locked.scan(true)?;
            }
            Ok(removed)
        })?;
        Ok(synced.value)
    }

    fn read_blocking(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        uid: Uid,
    ) -> Result<(fs::File, u64), StoreError> {
        let handle = self.handle(mailbox, folder);
        let cached = lock(&handle.cache).as_ref().and_then(|cache| {
            let size = cache.state.message(uid)?.size;
            Some((cache.paths.get(&uid)?.clone(), size))
        });
        if let Some((path, size)) = cached {
            match fs::File::open(&path) {
                Ok(file) => return Ok((file, size)),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
        // Not seen yet, or renamed by someone else: sync and look again.
        for _ in 0..postern_core::limits::MAILDIR_RENAME_RETRIES_MAX {
            let synced = self.sync_blocking(mailbox, folder)?;
            let Some(meta) = synced.snapshot.messages.iter().find(|m| m.uid == uid) else {
                return Err(StoreError::NoSuchMessage(uid));
            };
            let path = lock(&handle.cache)
                .as_ref()
                .and_then(|cache| cache.paths.get(&uid).cloned());
            if let Some(path) = path {
                match fs::File::open(&path) {
                    Ok(file) => return Ok((file, meta.size)),
                    Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error.into()),
                }
            }
        }
        Err(StoreError::NoSuchMessage(uid))
    }

    fn folders_blocking(&self, mailbox: &LocalMailbox) -> Result<Vec<FolderStatus>, StoreError> {
        let root = self.user_dir(mailbox);
        self.ensure_mailbox(&root)?;
        let subscribed = folders::subscriptions(&root)?;
        let uses = folders::special_uses(&root)?;
        let mut statuses = Vec::new();
        for name in folders::list(&root)? {
            let synced = self.sync_blocking(mailbox, &name)?;
            let snapshot = synced.snapshot;
            let count = |flag: Flag, set: bool| {
                snapshot
                    .messages
                    .iter()
                    .filter(|m| m.flags.contains(flag) == set)
                    .count()
            };
            statuses.push(FolderStatus {
                subscribed: name.is_inbox() || subscribed.contains(&name),
                special_use: uses.of(&name),
                name: name.to_string(),
                uid_validity: snapshot.uid_validity,
                uid_next: snapshot.uid_next,
                messages: snapshot.messages.len(),
                unseen: count(Flag::Seen, false),
                deleted: count(Flag::Deleted, true),
                size: snapshot.messages.iter().map(|m| m.size).sum(),
                highest_modseq: snapshot.highest_modseq,
            });
        }
        Ok(statuses)
    }
}

impl MaildirStore {
    /// The user's folder for quarantined mail: the one marked `\Junk`
    /// (RFC 6154), as a mail client marks its own; else `Junk`, made,
    /// subscribed and marked `\Junk` if it is not there.
    pub(crate) fn junk_folder_blocking(
        &self,
        mailbox: &LocalMailbox,
    ) -> Result<FolderName, StoreError> {
        use postern_core::mailbox::folder::SpecialUse;
        let root = self.user_dir(mailbox);
        self.ensure_mailbox(&root)?;
        let uses = folders::special_uses(&root)?;
        let marked = uses
            .0
            .iter()
            .find(|(folder, use_)| {
                **use_ == SpecialUse::Junk && folders::folder_dir(&root, folder).is_dir()
            })
            .map(|(folder, _)| folder.clone());
        if let Some(folder) = marked {
            return Ok(folder);
        }
        let junk = folder_name(JUNK)?;
        if !folders::folder_dir(&root, &junk).is_dir() {
            match folders::create(&root, &junk) {
                Ok(()) | Err(StoreError::FolderExists(_)) => {}
                Err(error) => return Err(error),
            }
            folders::set_subscribed(&root, &junk, true)?;
        }
        if !uses.0.values().any(|use_| *use_ == SpecialUse::Junk) {
            folders::set_special_use(&root, &junk, Some(SpecialUse::Junk))?;
        }
        Ok(junk)
    }
}

/// The folder quarantined mail goes to when the user has not marked one.
const JUNK: &str = "Junk";

pub(crate) fn inbox() -> FolderName {
    FolderName::parse(super::INBOX).unwrap_or_else(|_| unreachable!("INBOX is a valid name"))
}

fn folder_name(folder: &str) -> Result<FolderName, StoreError> {
    FolderName::parse(folder).map_err(StoreError::BadFolderName)
}

/// A message delivered into an INBOX.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveredCopy {
    /// `None` for a first try's copy, which the next sync numbers.
    pub uid: Option<Uid>,
    /// Its file, where the delivery found it.
    pub path: PathBuf,
    /// An earlier try had made this copy; this one made none.
    pub earlier: bool,
}

fn uid_of(locked: &Locked, stem: &str) -> Option<Uid> {
    locked
        .list
        .records
        .iter()
        .find(|r| r.stem == stem)
        .map(|r| r.uid)
}

fn changes(reconciled: Reconciled) -> Vec<Change> {
    match reconciled {
        Reconciled::Changes(changes) => changes,
        Reconciled::UidValidityChanged => Vec::new(),
    }
}

fn check_keywords(keywords: &Keywords) -> Result<(), StoreError> {
    for word in keywords {
        keyword(word).map_err(|error| StoreError::BadKeyword(error.to_string()))?;
    }
    Ok(())
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StoreError::Io(io::Error::other(error)))?
}

impl MailboxStore for MaildirStore {
    async fn open(&self, mailbox: &LocalMailbox, folder: &str) -> Result<Snapshot, StoreError> {
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        blocking(move || Ok(store.sync_blocking(&mailbox, &folder)?.snapshot)).await
    }

    async fn changes_since(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        since: ModSeq,
    ) -> Result<Option<Vec<Change>>, StoreError> {
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        // Asked after every command: nothing changed is answered here.
        if let Some(changes) = store.quick_changes(&mailbox, &folder, since) {
            return Ok(changes);
        }
        blocking(move || {
            let synced = store.sync_blocking(&mailbox, &folder)?;
            if synced.reconciled == Reconciled::UidValidityChanged {
                return Ok(None);
            }
            let handle = store.handle(&mailbox, &folder);
            let cache = lock(&handle.cache);
            Ok(cache.as_ref().and_then(|c| c.state.changes_since(since)))
        })
        .await
    }

    async fn read(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uid: Uid,
    ) -> Result<MessageReader, StoreError> {
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        let (read, size) = blocking(move || {
            let (mut file, size) = store.read_blocking(&mailbox, &folder, uid)?;
            // A small message is read here, on the same trip to the
            // blocking threads: reading it in chunks through tokio's
            // file costs a trip for every chunk.
            if file.metadata()?.len() <= MESSAGE_READ_AT_ONCE_BYTES_MAX {
                let mut bytes = Vec::new();
                io::Read::read_to_end(&mut file, &mut bytes)?;
                return Ok((Err(bytes), size));
            }
            Ok((Ok(file), size))
        })
        .await?;
        Ok(match read {
            Ok(file) => MessageReader::new(tokio::fs::File::from_std(file), size),
            Err(bytes) => MessageReader::from_bytes(bytes, size),
        })
    }

    async fn append<R: AsyncRead + Unpin + Send>(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        message: R,
        flags: Flags,
        keywords: &Keywords,
        internal_date: UnixTime,
    ) -> Result<Uid, StoreError> {
        check_keywords(keywords)?;
        let folder = folder_name(folder)?;
        let dir = {
            let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder.clone());
            blocking(move || store.folder_dir(&mailbox, &folder)).await?
        };
        let unique = unique_name(self.host());
        let tmp = dir.join("tmp").join(&unique);
        let (size, vsize) = write::write_async(&tmp, message).await?;
        let name = MaildirName::new(&unique, size, vsize);
        let (store, mailbox, keywords) = (self.clone(), mailbox.clone(), keywords.clone());
        let message = TmpMessage {
            tmp,
            name,
            flags,
            keywords,
            internal_date,
        };
        blocking(move || store.append_blocking(&mailbox, &folder, message)).await
    }

    async fn store_flags(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &Keywords,
    ) -> Result<Vec<Change>, StoreError> {
        check_keywords(keywords)?;
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        let (uids, keywords) = (uids.to_vec(), keywords.clone());
        blocking(move || store.store_flags_blocking(&mailbox, &folder, &uids, op, flags, &keywords))
            .await
    }

    async fn expunge(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uids: &[Uid],
    ) -> Result<Vec<Uid>, StoreError> {
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        let uids = uids.to_vec();
        blocking(move || store.expunge_blocking(&mailbox, &folder, &uids)).await
    }

    async fn folders(&self, mailbox: &LocalMailbox) -> Result<Vec<FolderStatus>, StoreError> {
        let (store, mailbox) = (self.clone(), mailbox.clone());
        blocking(move || store.folders_blocking(&mailbox)).await
    }

    async fn create_folder(&self, mailbox: &LocalMailbox, folder: &str) -> Result<(), StoreError> {
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        blocking(move || {
            let root = store.user_dir(&mailbox);
            store.ensure_mailbox(&root)?;
            folders::create(&root, &folder)
        })
        .await
    }

    async fn delete_folder(&self, mailbox: &LocalMailbox, folder: &str) -> Result<(), StoreError> {
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        blocking(move || {
            let root = store.user_dir(&mailbox);
            store.ensure_mailbox(&root)?;
            folders::delete(&root, &folder)?;
            store.forget(&mailbox, |f| f.is_within(&folder));
            Ok(())
        })
        .await
    }

    async fn rename_folder(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        let (store, mailbox) = (self.clone(), mailbox.clone());
        let (from, to) = (folder_name(from)?, folder_name(to)?);
        blocking(move || {
            let root = store.user_dir(&mailbox);
            store.ensure_mailbox(&root)?;
            folders::rename(&root, &from, &to)?;
            store.forget(&mailbox, |f| f.is_within(&from));
            Ok(())
        })
        .await
    }

    async fn copy(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreError> {
        let (store, mailbox, uids) = (self.clone(), mailbox.clone(), uids.to_vec());
        let (from, to) = (folder_name(from)?, folder_name(to)?);
        blocking(move || store.copy_blocking(&mailbox, &from, &uids, &to)).await
    }

    async fn move_messages(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<MoveResult, StoreError> {
        let (store, mailbox, uids) = (self.clone(), mailbox.clone(), uids.to_vec());
        let (from, to) = (folder_name(from)?, folder_name(to)?);
        blocking(move || store.move_blocking(&mailbox, &from, &uids, &to)).await
    }

    async fn append_many(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        messages: Vec<NewMessage>,
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        blocking(move || store.append_many_blocking(&mailbox, &folder, messages)).await
    }

    async fn create_folder_with_use(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        blocking(move || {
            let root = store.user_dir(&mailbox);
            store.ensure_mailbox(&root)?;
            folders::create(&root, &folder)?;
            if special_use.is_some() {
                folders::set_special_use(&root, &folder, special_use)?;
            }
            Ok(())
        })
        .await
    }

    async fn subscribe(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        let (store, mailbox, folder) = (self.clone(), mailbox.clone(), folder_name(folder)?);
        blocking(move || {
            let root = store.user_dir(&mailbox);
            store.ensure_mailbox(&root)?;
            folders::set_subscribed(&root, &folder, subscribed)
        })
        .await
    }

    async fn subscriptions(&self, mailbox: &LocalMailbox) -> Result<Vec<String>, StoreError> {
        let (store, mailbox) = (self.clone(), mailbox.clone());
        blocking(move || {
            let root = store.user_dir(&mailbox);
            store.ensure_mailbox(&root)?;
            let names = folders::subscriptions(&root)?;
            Ok(names.iter().map(ToString::to_string).collect())
        })
        .await
    }

    async fn usage(&self, mailbox: &LocalMailbox) -> Result<Usage, StoreError> {
        let (store, mailbox) = (self.clone(), mailbox.clone());
        let folders = blocking(move || store.folders_blocking(&mailbox)).await?;
        Ok(Usage {
            bytes: folders.iter().map(|f| f.size).sum(),
            messages: folders.iter().map(|f| f.messages as u64).sum(),
        })
    }

    fn watch(&self, mailbox: &LocalMailbox, folder: &str) -> watch::Receiver<ModSeq> {
        match folder_name(folder) {
            Ok(folder) => self.handle(mailbox, &folder).changed.subscribe(),
            // No such folder can change: a channel whose sender is gone.
            Err(_) => watch::channel(ModSeq(0)).1,
        }
    }
}
