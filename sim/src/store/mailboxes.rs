//! The simulation's mailboxes: every user's folders in memory, with the
//! rules of `postern_core::mailbox::MailboxState` (UIDs strictly increase
//! and are never reused, every change bumps MODSEQ, expunges leave
//! tombstones) asserted as the simulation runs. [`Mailboxes`] is the data
//! and its synchronous operations, each done at one instant under the
//! store's mutex; `MemoryStore` serves it as a `postern::mailstore::
//! MailboxStore` ([`super::mailbox_store`]), to POP3 as its maildrops
//! ([`super::maildrop`]), and delivery puts mail in it.
//!
//! Nothing here reads a clock or iterates a hash map: UIDVALIDITY is the
//! simulated time a folder is made (one more than the user's last when
//! that time was given already), internal dates come from the caller.
//!
//! Durability: like the rest of `MemoryStore`, what an operation did is
//! kept when it returns, across crashes of the server. Where the Maildir
//! store makes an operation durable at one point (append, MULTIAPPEND
//! and copy: renames into `cur/` under the lock, all or none), it is done
//! here at one instant. Where the Maildir store works file by file
//! (flag changes rename, expunge unlinks, move renames each file), the
//! store takes one simulated step per message, and a crash between steps
//! leaves the steps before it done: each message in one folder or the
//! other, never both, never lost.

use postern::mailstore::{FlagOp, FolderName, SpecialUse, StoreError};
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::limits::FOLDERS_PER_USER_MAX;
use postern_core::mailbox::folder::DEFAULT_FOLDERS;
use postern_core::mailbox::{
    Change, Flags, Found, Keywords, MailboxState, ModSeq, Reconciled, StateError, Uid, UidValidity,
    keyword,
};
use postern_core::time::UnixTime;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;
use tokio::sync::watch;

/// A message's bytes, CRLF line ends, and the queued message it is a copy
/// of, when delivery put it here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    pub data: Arc<Vec<u8>>,
    pub origin: Option<QueueId>,
}

/// A message to put in a folder.
#[derive(Clone, Debug)]
pub(super) struct Placed {
    pub body: Body,
    pub flags: Flags,
    pub keywords: Keywords,
    pub internal_date: UnixTime,
}

/// One folder: the model's state and each message's bytes.
#[derive(Clone, Debug)]
pub struct Folder {
    state: MailboxState,
    bodies: BTreeMap<Uid, Body>,
    /// Changes the model made that the history has not recorded yet.
    unrecorded: Vec<Change>,
}

impl Folder {
    fn new(uid_validity: UidValidity) -> Folder {
        Folder {
            state: MailboxState::new(uid_validity, 1),
            bodies: BTreeMap::new(),
            unrecorded: Vec::new(),
        }
    }

    /// The model's state: UIDVALIDITY, UIDNEXT, MODSEQs, messages.
    pub fn state(&self) -> &MailboxState {
        &self.state
    }

    pub fn body(&self, uid: Uid) -> Option<&Body> {
        self.bodies.get(&uid)
    }

    /// The messages as they are now, as a store hands them to the model.
    fn found(&self) -> Vec<Found> {
        self.state
            .messages()
            .map(|meta| Found {
                uid: meta.uid,
                flags: meta.flags,
                keywords: meta.keywords.clone(),
                internal_date: meta.internal_date,
                size: meta.size,
            })
            .collect()
    }

    /// Hands the model the folder as it is to be; nothing changes when it
    /// refuses (a broken rule: a bug in the store).
    fn reconcile(&mut self, found: Vec<Found>, uid_next: u32) -> Result<Vec<Change>, StoreError> {
        let uid_validity = self.state.uid_validity();
        match self.state.reconcile(uid_validity, uid_next, found) {
            Ok(Reconciled::Changes(changes)) => {
                self.unrecorded.extend(changes.iter().cloned());
                Ok(changes)
            }
            // The same UIDVALIDITY was handed in.
            Ok(Reconciled::UidValidityChanged) => Ok(Vec::new()),
            Err(error) => Err(refused(error)),
        }
    }

    /// Puts `messages` in, under UIDs from `first_uid` (UIDNEXT unless a
    /// planted bug says otherwise), all or none; answers their UIDs.
    pub(super) fn place(
        &mut self,
        messages: Vec<Placed>,
        first_uid: Option<u32>,
    ) -> Result<Vec<Uid>, StoreError> {
        let first = first_uid.unwrap_or(self.state.uid_next());
        let mut found = self.found();
        let mut uids = Vec::with_capacity(messages.len());
        for (at, message) in messages.iter().enumerate() {
            let uid = u32::try_from(at)
                .ok()
                .and_then(|at| first.checked_add(at))
                .and_then(Uid::new)
                .filter(|uid| uid.next().is_some())
                .ok_or_else(|| io::Error::other("the folder's UIDs are used up"))?;
            uids.push(uid);
            found.push(Found {
                uid,
                flags: message.flags,
                keywords: message.keywords.clone(),
                internal_date: message.internal_date,
                size: message.body.data.len() as u64,
            });
        }
        let uid_next = uids
            .last()
            .map_or(self.state.uid_next(), |uid| uid.get() + 1);
        // A planted bug may hand out UIDs below existing ones; the model
        // refuses those, so keep the order it checks.
        found.sort_by_key(|f| f.uid);
        found.dedup_by_key(|f| f.uid);
        if found.len() != self.state.len() + messages.len() {
            return Err(refused(StateError::UidNotIncreasing {
                uid: uids[0],
                uid_next: self.state.uid_next(),
            }));
        }
        self.reconcile(found, uid_next.max(self.state.uid_next()))?;
        for (uid, message) in uids.iter().zip(messages) {
            self.bodies.insert(*uid, message.body);
        }
        Ok(uids)
    }

    /// Changes the flags of these messages (those still here).
    pub(super) fn set_flags(
        &mut self,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &Keywords,
    ) -> Result<Vec<Change>, StoreError> {
        let uids: BTreeSet<Uid> = uids.iter().copied().collect();
        let mut found = self.found();
        for message in found.iter_mut().filter(|m| uids.contains(&m.uid)) {
            match op {
                FlagOp::Set => {
                    message.flags = flags;
                    message.keywords = keywords.clone();
                }
                FlagOp::Add => {
                    message.flags = message.flags.union(flags);
                    message.keywords.extend(keywords.iter().cloned());
                }
                FlagOp::Remove => {
                    message.flags = message.flags.difference(flags);
                    message.keywords.retain(|word| !keywords.contains(word));
                }
            }
        }
        let uid_next = self.state.uid_next();
        self.reconcile(found, uid_next)
    }

    /// Removes these messages (those still here); answers the UIDs
    /// removed, in the order asked.
    pub(super) fn expunge(&mut self, uids: &[Uid]) -> Result<Vec<Uid>, StoreError> {
        let mut removed: Vec<Uid> = Vec::new();
        let mut gone = BTreeSet::new();
        for &uid in uids {
            if self.bodies.contains_key(&uid) && gone.insert(uid) {
                removed.push(uid);
            }
        }
        if removed.is_empty() {
            return Ok(removed);
        }
        let found = self
            .found()
            .into_iter()
            .filter(|m| !gone.contains(&m.uid))
            .collect();
        let uid_next = self.state.uid_next();
        self.reconcile(found, uid_next)?;
        for uid in &removed {
            self.bodies.remove(uid);
        }
        Ok(removed)
    }

    /// The message `uid` as a copy would place it.
    pub(super) fn placed(&self, uid: Uid) -> Option<Placed> {
        let meta = self.state.message(uid)?;
        Some(Placed {
            body: self.bodies.get(&uid)?.clone(),
            flags: meta.flags,
            keywords: meta.keywords.clone(),
            internal_date: meta.internal_date,
        })
    }

    /// The UID of the copy of `origin` this folder holds, if any.
    pub fn copy_of(&self, origin: QueueId) -> Option<Uid> {
        self.bodies
            .iter()
            .find(|(_, body)| body.origin == Some(origin))
            .map(|(&uid, _)| uid)
    }
}

/// One user's mail: folders, subscriptions, special uses.
#[derive(Clone, Debug)]
pub struct UserMail {
    folders: BTreeMap<FolderName, Folder>,
    /// In the order subscribed (Dovecot's `subscriptions` file).
    subscriptions: Vec<FolderName>,
    /// Uses set by `CREATE ... USE`; the default folders have theirs by
    /// name.
    special_uses: BTreeMap<FolderName, SpecialUse>,
    /// The last UIDVALIDITY given to one of the user's folders.
    last_uid_validity: u32,
}

impl UserMail {
    /// A new user: INBOX and the default folders, these subscribed, as
    /// the Maildir store makes them.
    fn new(now: UnixTime) -> UserMail {
        let mut user = UserMail {
            folders: BTreeMap::new(),
            subscriptions: Vec::new(),
            special_uses: BTreeMap::new(),
            last_uid_validity: 0,
        };
        user.make(inbox(), now);
        for name in DEFAULT_FOLDERS {
            let name = FolderName::parse(name)
                .unwrap_or_else(|_| unreachable!("default folder names are valid"));
            user.make(name.clone(), now);
            user.subscriptions.push(name);
        }
        user
    }

    /// Its UIDVALIDITY is the time it is made, as Dovecot's is, and above
    /// every earlier one of the user's: a folder deleted and made again in
    /// the same second does not reuse its UIDs under the old UIDVALIDITY.
    fn make(&mut self, name: FolderName, now: UnixTime) {
        let uid_validity = (now.0.clamp(1, i64::from(u32::MAX)) as u32)
            .max(self.last_uid_validity.saturating_add(1));
        self.last_uid_validity = uid_validity;
        self.folders
            .insert(name, Folder::new(UidValidity(uid_validity)));
    }

    /// INBOX first, then by name.
    pub fn folders(&self) -> impl Iterator<Item = (&FolderName, &Folder)> {
        let inbox = self.folders.iter().filter(|(name, _)| name.is_inbox());
        inbox.chain(self.folders.iter().filter(|(name, _)| !name.is_inbox()))
    }

    pub fn folder(&self, name: &FolderName) -> Option<&Folder> {
        self.folders.get(name)
    }

    pub(super) fn folder_mut(&mut self, name: &FolderName) -> Result<&mut Folder, StoreError> {
        self.folders
            .get_mut(name)
            .ok_or_else(|| StoreError::NoSuchFolder(name.to_string()))
    }

    pub fn subscriptions(&self) -> &[FolderName] {
        &self.subscriptions
    }

    /// The folder's use: the one `CREATE ... USE` gave, else its default.
    pub fn special_use(&self, name: &FolderName) -> Option<SpecialUse> {
        self.special_uses
            .get(name)
            .copied()
            .or_else(|| SpecialUse::of_default_folder(name))
    }

    pub(super) fn create(
        &mut self,
        name: &FolderName,
        special_use: Option<SpecialUse>,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        if name.is_inbox() || self.folders.contains_key(name) {
            return Err(StoreError::FolderExists(name.to_string()));
        }
        if self.folders.len() > FOLDERS_PER_USER_MAX {
            return Err(StoreError::Io(io::Error::other(format!(
                "a user has at most {FOLDERS_PER_USER_MAX} folders"
            ))));
        }
        // CREATE does not subscribe (RFC 9051 6.3.4), as Dovecot.
        self.make(name.clone(), now);
        if let Some(special_use) = special_use {
            self.special_uses.insert(name.clone(), special_use);
        }
        Ok(())
    }

    /// Where quarantined mail goes, as the Maildir store finds it: the
    /// folder marked `\Junk` (the first by name), else `Junk`, made
    /// (with that use) when the user has deleted it.
    pub(super) fn junk_folder(&mut self, now: UnixTime) -> FolderName {
        let marked = self
            .folders
            .keys()
            .find(|name| self.special_use(name) == Some(SpecialUse::Junk))
            .cloned();
        marked.unwrap_or_else(|| {
            let junk =
                FolderName::parse("Junk").unwrap_or_else(|_| unreachable!("Junk is a valid name"));
            if !self.folders.contains_key(&junk) {
                self.make(junk.clone(), now);
                self.special_uses.insert(junk.clone(), SpecialUse::Junk);
                self.subscriptions.push(junk.clone());
            }
            junk
        })
    }

    /// Removes the folder and its subfolders; answers the names removed.
    pub(super) fn delete(&mut self, name: &FolderName) -> Result<Vec<FolderName>, StoreError> {
        if name.is_inbox() {
            return Err(StoreError::InboxIsPermanent);
        }
        if !self.folders.contains_key(name) {
            return Err(StoreError::NoSuchFolder(name.to_string()));
        }
        let gone: Vec<FolderName> = self
            .folders
            .keys()
            .filter(|f| f.is_within(name))
            .cloned()
            .collect();
        self.folders.retain(|f, _| !f.is_within(name));
        // Subscriptions outlive their folders (RFC 3501 6.3.6).
        self.special_uses.retain(|f, _| !f.is_within(name));
        Ok(gone)
    }

    /// Renames the folder and its subfolders, with their UIDs,
    /// UIDVALIDITY, subscriptions and uses; answers the old names.
    pub(super) fn rename(
        &mut self,
        from: &FolderName,
        to: &FolderName,
    ) -> Result<Vec<FolderName>, StoreError> {
        if from.is_inbox() || to.is_inbox() {
            return Err(StoreError::InboxIsPermanent);
        }
        if !self.folders.contains_key(from) {
            return Err(StoreError::NoSuchFolder(from.to_string()));
        }
        if self.folders.contains_key(to) {
            return Err(StoreError::FolderExists(to.to_string()));
        }
        let mut renamed = Vec::new();
        for old in self.folders.keys().filter(|f| f.is_within(from)) {
            let tail = &old.as_str()[from.as_str().len()..];
            let new =
                FolderName::parse(&format!("{to}{tail}")).map_err(StoreError::BadFolderName)?;
            renamed.push((old.clone(), new));
        }
        if let Some((_, taken)) = renamed
            .iter()
            .find(|(_, new)| self.folders.contains_key(new) && !new.is_within(from))
        {
            return Err(StoreError::FolderExists(taken.to_string()));
        }
        let moved: Vec<(FolderName, Folder)> = renamed
            .iter()
            .filter_map(|(old, new)| Some((new.clone(), self.folders.remove(old)?)))
            .collect();
        self.folders.extend(moved);
        let new_name = |name: &FolderName| {
            renamed
                .iter()
                .find(|(old, _)| old == name)
                .map_or_else(|| name.clone(), |(_, new)| new.clone())
        };
        self.subscriptions = self.subscriptions.iter().map(new_name).collect();
        self.special_uses = std::mem::take(&mut self.special_uses)
            .into_iter()
            .map(|(name, special_use)| (new_name(&name), special_use))
            .collect();
        Ok(renamed.into_iter().map(|(old, _)| old).collect())
    }

    pub(super) fn subscribe(
        &mut self,
        name: &FolderName,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        let present = self.subscriptions.contains(name);
        if subscribed && !present {
            if self.subscriptions.len() >= FOLDERS_PER_USER_MAX {
                return Err(StoreError::Io(io::Error::other(format!(
                    "a user has at most {FOLDERS_PER_USER_MAX} subscriptions"
                ))));
            }
            self.subscriptions.push(name.clone());
        } else if !subscribed {
            self.subscriptions.retain(|f| f != name);
        }
        Ok(())
    }
}

/// Every user's mail, the watch channels of the folders someone watches,
/// and the history of every message placed and removed.
#[derive(Debug, Default)]
pub struct Mailboxes {
    users: BTreeMap<LocalMailbox, UserMail>,
    watches: BTreeMap<(LocalMailbox, FolderName), watch::Sender<ModSeq>>,
    pub(super) history: Vec<MailEvent>,
}

impl Mailboxes {
    /// The user's mail, made with INBOX and the default folders on first
    /// use (at the simulated time `now`).
    pub(super) fn user(&mut self, mailbox: &LocalMailbox, now: UnixTime) -> &mut UserMail {
        self.users
            .entry(mailbox.clone())
            .or_insert_with(|| UserMail::new(now))
    }

    /// Every user's mail as it is now.
    pub fn users(&self) -> &BTreeMap<LocalMailbox, UserMail> {
        &self.users
    }

    /// A user's INBOX, if the user has been used.
    pub fn inbox(&self, mailbox: &LocalMailbox) -> Option<&Folder> {
        self.users.get(mailbox)?.folder(&inbox())
    }

    /// After a change: records it in the history and tells the folder's
    /// watchers its highest MODSEQ, if anything changed.
    pub(super) fn changed(&mut self, mailbox: &LocalMailbox, folder: &FolderName) {
        self.record(mailbox, folder);
        self.notify(mailbox, folder);
    }

    /// Records a change in the history, telling no watcher (the planted
    /// [`super::PlantedBug::DeliveryUnannounced`]).
    pub(super) fn record(&mut self, mailbox: &LocalMailbox, folder: &FolderName) {
        let Some(held) = self
            .users
            .get_mut(mailbox)
            .and_then(|user| user.folders.get_mut(folder))
        else {
            return;
        };
        let at = turmoil::sim_elapsed().unwrap_or_default();
        for change in held.unrecorded.drain(..) {
            let place = Place {
                at,
                mailbox: mailbox.to_string(),
                folder: folder.to_string(),
                uid_validity: held.state.uid_validity().0,
                uid: change.uid().get(),
                modseq: change.modseq().0,
            };
            let event = match change {
                Change::Appended(meta) => MailEvent::Appended {
                    data: held
                        .bodies
                        .get(&meta.uid)
                        .map(|b| Arc::clone(&b.data))
                        .unwrap_or_default(),
                    place,
                },
                Change::Expunged { .. } => MailEvent::Expunged { place },
                Change::FlagsChanged { .. } => continue,
            };
            self.history.push(event);
        }
    }

    /// Tells the folder's watchers its highest MODSEQ, if it moved.
    fn notify(&mut self, mailbox: &LocalMailbox, folder: &FolderName) {
        let Some(sender) = self.watches.get(&(mailbox.clone(), folder.clone())) else {
            return;
        };
        let highest = self
            .users
            .get(mailbox)
            .and_then(|user| user.folder(folder))
            .map(|f| f.state.highest_modseq());
        if let Some(highest) = highest {
            sender.send_if_modified(|seen| {
                let moved = *seen != highest;
                *seen = highest;
                moved
            });
        }
    }

    /// A receiver of the folder's changes.
    pub(super) fn watch(
        &mut self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
    ) -> watch::Receiver<ModSeq> {
        self.watches
            .entry((mailbox.clone(), folder.clone()))
            .or_insert_with(|| watch::Sender::new(ModSeq(0)))
            .subscribe()
    }

    /// Deletes a folder and its subfolders, recording the messages they
    /// held.
    pub(super) fn delete(
        &mut self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let user = self.user(mailbox, now);
        let held: Vec<(FolderName, u32, Vec<u32>)> = user
            .folders
            .iter()
            .filter(|(name, _)| name.is_within(folder))
            .map(|(name, f)| {
                let uids = f.state.messages().map(|m| m.uid.get()).collect();
                (name.clone(), f.state.uid_validity().0, uids)
            })
            .collect();
        let gone = user.delete(folder)?;
        let at = turmoil::sim_elapsed().unwrap_or_default();
        for (name, uid_validity, uids) in held {
            let place = Place {
                at,
                mailbox: mailbox.to_string(),
                folder: name.to_string(),
                uid_validity,
                uid: 0,
                modseq: 0,
            };
            self.history.push(MailEvent::FolderDeleted { place, uids });
        }
        self.forget(mailbox, &gone);
        Ok(())
    }

    /// Renames a folder and its subfolders, recording each.
    pub(super) fn rename(
        &mut self,
        mailbox: &LocalMailbox,
        from: &FolderName,
        to: &FolderName,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let user = self.user(mailbox, now);
        let gone = user.rename(from, to)?;
        let at = turmoil::sim_elapsed().unwrap_or_default();
        let mut events = Vec::with_capacity(gone.len());
        for old in &gone {
            let tail = &old.as_str()[from.as_str().len()..];
            let new = format!("{to}{tail}");
            let uid_validity = FolderName::parse(&new)
                .ok()
                .and_then(|name| user.folder(&name))
                .map_or(0, |f| f.state.uid_validity().0);
            let place = Place {
                at,
                mailbox: mailbox.to_string(),
                folder: old.to_string(),
                uid_validity,
                uid: 0,
                modseq: 0,
            };
            events.push(MailEvent::FolderRenamed { place, to: new });
        }
        self.history.extend(events);
        self.forget(mailbox, &gone);
        Ok(())
    }

    /// Folders deleted or renamed: their channels close, as the Maildir
    /// store forgets their handles.
    fn forget(&mut self, mailbox: &LocalMailbox, names: &[FolderName]) {
        self.watches
            .retain(|(m, f), _| m != mailbox || !names.contains(f));
    }
}

/// Where and when a message was placed or removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// Virtual time.
    pub at: std::time::Duration,
    /// `user@domain`.
    pub mailbox: String,
    pub folder: String,
    pub uid_validity: u32,
    pub uid: u32,
    /// The MODSEQ the model gave the change.
    pub modseq: u64,
}

/// What happened to the messages of the mailboxes, in order: the record
/// IMAP's invariants check against (UIDs never reused, nothing lost but
/// by expunge or a folder's deletion). Flag changes are left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailEvent {
    /// By delivery, append, copy or move, with the bytes placed.
    Appended { place: Place, data: Arc<Vec<u8>> },
    /// By expunge, move or a POP3 update.
    Expunged { place: Place },
    /// A folder deleted with these messages in it (RFC 9051 6.3.4).
    FolderDeleted { place: Place, uids: Vec<u32> },
    /// A folder renamed, with its UIDVALIDITY and UIDs, to `to`.
    FolderRenamed { place: Place, to: String },
}

/// A change the model refused: a bug in the store, as it happens.
fn refused(error: StateError) -> StoreError {
    StoreError::Io(io::Error::other(format!(
        "the mailbox model refused the change: {error}"
    )))
}

pub(super) fn inbox() -> FolderName {
    FolderName::parse(postern::mailstore::INBOX)
        .unwrap_or_else(|_| unreachable!("INBOX is a valid name"))
}

pub(super) fn folder_name(folder: &str) -> Result<FolderName, StoreError> {
    FolderName::parse(folder).map_err(StoreError::BadFolderName)
}

pub(super) fn check_keywords(keywords: &Keywords) -> Result<(), StoreError> {
    for word in keywords {
        keyword(word).map_err(|error| StoreError::BadKeyword(error.to_string()))?;
    }
    Ok(())
}

/// `data` with every bare LF made CRLF: what clients see, and what a
/// message's size counts.
pub(super) fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut last = None;
    for &byte in data {
        if byte == b'\n' && last != Some(b'\r') {
            out.push(b'\r');
        }
        out.push(byte);
        last = Some(byte);
    }
    out
}
