//! A mailbox store in memory that answers the IMAP machine's requests as
//! the runtime's store does: UIDs strictly increase, every change bumps
//! MODSEQ and is kept (with the expunged UIDs) for `changes_since`, and
//! each new UID is `\Recent` to the first session that sees it. The
//! machine's tests, its fuzz target and anything else that wants whole
//! sessions without I/O answer requests with [`Store::answer`].

use crate::auth::{AuthVerdict, Identity, SendAs};
use crate::imap::command::StoreAction;
use crate::imap::session::{
    ChangeSet, CopyResult, FolderStatus, Input, MoveResult, NewMessage, Opened, Request,
    SpecialUse, StoreFailure, Usage,
};
use crate::mailbox::{
    Change, Flag, Flags, Keywords, MessageMeta, ModSeq, Snapshot, Uid, UidValidity,
};
use crate::time::UnixTime;
use std::collections::{BTreeMap, BTreeSet};

/// One folder: its messages and every change, oldest first.
#[derive(Clone, Debug)]
pub struct Folder {
    pub uid_validity: UidValidity,
    pub uid_next: u32,
    pub highest_modseq: ModSeq,
    pub messages: BTreeMap<Uid, (MessageMeta, Vec<u8>)>,
    pub changes: Vec<Change>,
    pub special_use: Option<SpecialUse>,
    /// RFC 3501 2.3.2: UIDs below this were seen by some session.
    pub recent_claimed: u32,
}

impl Folder {
    fn new(uid_validity: u32, special_use: Option<SpecialUse>) -> Self {
        Folder {
            uid_validity: UidValidity(uid_validity),
            uid_next: 1,
            highest_modseq: ModSeq(1),
            messages: BTreeMap::new(),
            changes: Vec::new(),
            special_use,
            recent_claimed: 1,
        }
    }

    fn bump(&mut self) -> ModSeq {
        self.highest_modseq = ModSeq(self.highest_modseq.0 + 1);
        self.highest_modseq
    }

    pub fn add(&mut self, content: &[u8], flags: Flags, keywords: Keywords, date: UnixTime) -> Uid {
        let uid = Uid::new(self.uid_next).expect("UIDs start at 1");
        self.uid_next += 1;
        let modseq = self.bump();
        let meta = MessageMeta {
            uid,
            flags,
            keywords,
            internal_date: date,
            size: content.len() as u64,
            modseq,
        };
        self.changes.push(Change::Appended(meta.clone()));
        self.messages.insert(uid, (meta, content.to_vec()));
        uid
    }

    fn remove(&mut self, uid: Uid) -> Option<(MessageMeta, Vec<u8>)> {
        let removed = self.messages.remove(&uid)?;
        let modseq = self.bump();
        self.changes.push(Change::Expunged { uid, modseq });
        Some(removed)
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            uid_validity: self.uid_validity,
            uid_next: self.uid_next,
            highest_modseq: self.highest_modseq,
            messages: self.messages.values().map(|(m, _)| m.clone()).collect(),
        }
    }

    /// The first UID that is `\Recent` to this session; a read-write
    /// session claims every UID there is.
    fn claim_recent(&mut self, read_only: bool) -> u32 {
        let from = self.recent_claimed;
        if !read_only {
            self.recent_claimed = self.uid_next;
        }
        from
    }
}

/// A user's folders and subscriptions.
#[derive(Clone, Debug)]
pub struct Store {
    pub folders: BTreeMap<String, Folder>,
    pub subscriptions: BTreeSet<String>,
    /// Changes older than this MODSEQ are "forgotten" (changes_since
    /// answers None), to exercise the machine's fresh snapshot.
    pub forget_before: Option<ModSeq>,
    /// Every request fails with [`StoreFailure::Failed`].
    pub broken: bool,
    next_uid_validity: u32,
}

/// The one account: its login and password.
pub const LOGIN: &str = "alice@example.test";
pub const PASSWORD: &str = "correct horse";
/// A login the store answers as locked out.
pub const LOCKED_LOGIN: &str = "locked@example.test";

/// The internal date of every message the store makes itself.
pub const DATE: UnixTime = UnixTime(1_795_212_959);

/// INBOX's messages at the start.
pub const MESSAGES: [&str; 3] = [
    "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Lunch\r\nDate: Fri, 20 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n\r\nNoon at the usual place?\r\n",
    "From: Carol <carol@example.test>\r\nTo: alice@example.test\r\nSubject: Re: Lunch\r\nDate: Fri, 20 Nov 2026 12:30:00 +0000\r\nMessage-ID: <2@example.test>\r\nIn-Reply-To: <1@example.test>\r\nReferences: <1@example.test>\r\n\r\nCount me in.\r\n",
    "From: Dave <dave@example.test>\r\nTo: alice@example.test\r\nSubject: Invoice\r\nDate: Sat, 21 Nov 2026 09:00:00 +0000\r\nMessage-ID: <3@example.test>\r\n\r\nPlease find the invoice attached.\r\n",
];

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// The answer to a request, as the runtime's driver would hand it in.
    pub fn answer(&mut self, request: Request) -> Input<'static> {
        match request {
            Request::Authenticate(attempt) => Input::Authenticated(
                if attempt.login == LOGIN && attempt.password.expose() == PASSWORD {
                    AuthVerdict::Accepted(Identity {
                        login: attempt.login,
                        send_as: SendAs::Addresses(vec![]),
                    })
                } else if attempt.login == LOCKED_LOGIN {
                    AuthVerdict::LockedOut
                } else {
                    AuthVerdict::Rejected
                },
            ),
            Request::Open { folder, read_only } => Input::Opened(self.open(&folder, read_only)),
            Request::Changes {
                folder,
                since,
                read_only,
            } => Input::Changes(self.changes(&folder, since, read_only)),
            Request::Read { folder, uid } => Input::Message(self.read(&folder, uid)),
            Request::Append { folder, messages } => Input::Appended(self.append(&folder, messages)),
            Request::StoreFlags {
                folder,
                uids,
                action,
                flags,
                keywords,
            } => Input::FlagsStored(self.store_flags(&folder, &uids, action, flags, &keywords)),
            Request::Expunge { folder, uids } => Input::Expunged(self.expunge(&folder, &uids)),
            Request::Copy { from, uids, to } => Input::Copied(self.copy(&from, &uids, &to)),
            Request::Move { from, uids, to } => Input::Moved(self.move_messages(&from, &uids, &to)),
            Request::Folders => Input::Folders(self.folder_list()),
            Request::CreateFolder { name, special_use } => {
                Input::Done(self.create_folder(&name, special_use))
            }
            Request::DeleteFolder { name } => Input::Done(self.delete_folder(&name)),
            Request::RenameFolder { from, to } => Input::Done(self.rename_folder(&from, &to)),
            Request::Subscribe { name, subscribed } => {
                if subscribed {
                    self.subscriptions.insert(name);
                } else {
                    self.subscriptions.remove(&name);
                }
                Input::Done(Ok(()))
            }
            Request::Subscriptions => {
                Input::Subscriptions(Ok(self.subscriptions.iter().cloned().collect()))
            }
            Request::Usage => Input::Usage(self.usage()),
        }
    }

    /// Whether a request changes what other sessions see (the store's
    /// watch then tells them).
    pub fn changes_folders(request: &Request) -> bool {
        matches!(
            request,
            Request::Append { .. }
                | Request::StoreFlags { .. }
                | Request::Expunge { .. }
                | Request::Copy { .. }
                | Request::Move { .. }
                | Request::RenameFolder { .. }
        )
    }

    /// INBOX with three messages (the first one seen), and the default
    /// folders with their special uses.
    pub fn new() -> Self {
        let mut store = Store {
            folders: BTreeMap::new(),
            subscriptions: BTreeSet::new(),
            forget_before: None,
            broken: false,
            next_uid_validity: 1000,
        };
        store.create("INBOX", None);
        for (name, use_) in [
            ("Archive", SpecialUse::Archive),
            ("Drafts", SpecialUse::Drafts),
            ("Junk", SpecialUse::Junk),
            ("Sent", SpecialUse::Sent),
            ("Trash", SpecialUse::Trash),
        ] {
            store.create(name, Some(use_));
            store.subscriptions.insert(name.to_owned());
        }
        store.subscriptions.insert("INBOX".to_owned());
        let inbox = store.folders.get_mut("INBOX").unwrap();
        for (i, message) in MESSAGES.iter().enumerate() {
            let flags = if i == 0 {
                Flags::EMPTY.with(Flag::Seen)
            } else {
                Flags::EMPTY
            };
            inbox.add(message.as_bytes(), flags, Keywords::new(), DATE);
        }
        store
    }

    /// A new empty folder (a list archive the driver would route to).
    pub fn create(&mut self, name: &str, special_use: Option<SpecialUse>) {
        self.next_uid_validity += 1;
        self.folders.insert(
            name.to_owned(),
            Folder::new(self.next_uid_validity, special_use),
        );
    }

    /// A delivery from outside (SMTP): appended to a folder.
    pub fn deliver(&mut self, folder: &str, content: &str) -> Uid {
        let folder = self.folders.get_mut(folder).expect("the folder exists");
        folder.add(content.as_bytes(), Flags::EMPTY, Keywords::new(), DATE)
    }

    fn folder(&mut self, name: &str) -> Result<&mut Folder, StoreFailure> {
        if self.broken {
            return Err(StoreFailure::Failed);
        }
        self.folders.get_mut(name).ok_or(StoreFailure::NoSuchFolder)
    }

    pub fn open(&mut self, name: &str, read_only: bool) -> Result<Opened, StoreFailure> {
        let folder = self.folder(name)?;
        let recent_from = folder.claim_recent(read_only);
        Ok(Opened {
            snapshot: folder.snapshot(),
            recent_from,
        })
    }

    pub fn changes(
        &mut self,
        name: &str,
        since: ModSeq,
        read_only: bool,
    ) -> Result<ChangeSet, StoreFailure> {
        let forget = self.forget_before;
        let folder = self.folder(name)?;
        let recent_from = folder.claim_recent(read_only);
        if forget.is_some_and(|before| since < before) {
            return Ok(ChangeSet {
                changes: None,
                recent_from,
            });
        }
        let changes = folder
            .changes
            .iter()
            .filter(|c| c.modseq() > since)
            .cloned()
            .collect();
        Ok(ChangeSet {
            changes: Some(changes),
            recent_from,
        })
    }

    pub fn read(&mut self, name: &str, uid: Uid) -> Result<Vec<u8>, StoreFailure> {
        let folder = self.folder(name)?;
        folder
            .messages
            .get(&uid)
            .map(|(_, bytes)| bytes.clone())
            .ok_or(StoreFailure::MessageGone)
    }

    pub fn append(
        &mut self,
        name: &str,
        messages: Vec<NewMessage>,
    ) -> Result<(UidValidity, Vec<Uid>), StoreFailure> {
        let folder = self.folder(name)?;
        let uids = messages
            .into_iter()
            .map(|m| folder.add(&m.content, m.flags, m.keywords, m.internal_date))
            .collect();
        Ok((folder.uid_validity, uids))
    }

    pub fn store_flags(
        &mut self,
        name: &str,
        uids: &[Uid],
        action: StoreAction,
        flags: Flags,
        keywords: &Keywords,
    ) -> Result<Vec<Change>, StoreFailure> {
        let folder = self.folder(name)?;
        let mut changes = Vec::new();
        for uid in uids {
            let Some((meta, _)) = folder.messages.get(uid) else {
                continue;
            };
            let (new_flags, new_keywords) = match action {
                StoreAction::Replace => (flags, keywords.clone()),
                StoreAction::Add => (
                    meta.flags.union(flags),
                    meta.keywords.union(keywords).cloned().collect(),
                ),
                StoreAction::Remove => (
                    meta.flags.difference(flags),
                    meta.keywords.difference(keywords).cloned().collect(),
                ),
            };
            if new_flags == meta.flags && new_keywords == meta.keywords {
                continue;
            }
            let modseq = folder.bump();
            let (meta, _) = folder.messages.get_mut(uid).expect("found above");
            meta.flags = new_flags;
            meta.keywords = new_keywords.clone();
            meta.modseq = modseq;
            let change = Change::FlagsChanged {
                uid: *uid,
                flags: new_flags,
                keywords: new_keywords,
                modseq,
            };
            folder.changes.push(change.clone());
            changes.push(change);
        }
        Ok(changes)
    }

    pub fn expunge(&mut self, name: &str, uids: &[Uid]) -> Result<Vec<Uid>, StoreFailure> {
        let folder = self.folder(name)?;
        Ok(uids
            .iter()
            .filter(|&&uid| folder.remove(uid).is_some())
            .copied()
            .collect())
    }

    pub fn copy(&mut self, from: &str, uids: &[Uid], to: &str) -> Result<CopyResult, StoreFailure> {
        self.folder(to)?;
        let source = self.folder(from)?;
        let copies: Vec<(Uid, MessageMeta, Vec<u8>)> = uids
            .iter()
            .filter_map(|uid| {
                source
                    .messages
                    .get(uid)
                    .map(|(m, b)| (*uid, m.clone(), b.clone()))
            })
            .collect();
        let target = self.folder(to)?;
        let pairs = copies
            .into_iter()
            .map(|(uid, meta, bytes)| {
                (
                    uid,
                    target.add(&bytes, meta.flags, meta.keywords, meta.internal_date),
                )
            })
            .collect();
        Ok(CopyResult {
            uid_validity: target.uid_validity,
            pairs,
        })
    }

    pub fn move_messages(
        &mut self,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<MoveResult, StoreFailure> {
        let copied = self.copy(from, uids, to)?;
        let source = self.folder(from)?;
        let expunged = copied
            .pairs
            .iter()
            .filter(|(uid, _)| source.remove(*uid).is_some())
            .map(|(uid, _)| *uid)
            .collect();
        Ok(MoveResult { copied, expunged })
    }

    pub fn folder_list(&mut self) -> Result<Vec<FolderStatus>, StoreFailure> {
        if self.broken {
            return Err(StoreFailure::Failed);
        }
        Ok(self
            .folders
            .iter()
            .map(|(name, folder)| {
                let metas = folder.messages.values().map(|(m, _)| m);
                FolderStatus {
                    name: name.clone(),
                    uid_validity: folder.uid_validity,
                    uid_next: folder.uid_next,
                    messages: folder.messages.len(),
                    unseen: metas
                        .clone()
                        .filter(|m| !m.flags.contains(Flag::Seen))
                        .count(),
                    size: metas.clone().map(|m| m.size).sum(),
                    subscribed: self.subscriptions.contains(name),
                    special_use: folder.special_use,
                    highest_modseq: folder.highest_modseq,
                    deleted: metas.filter(|m| m.flags.contains(Flag::Deleted)).count(),
                    recent: folder
                        .messages
                        .keys()
                        .filter(|uid| uid.get() >= folder.recent_claimed)
                        .count(),
                }
            })
            .collect())
    }

    pub fn create_folder(
        &mut self,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreFailure> {
        if self.folders.contains_key(name) {
            return Err(StoreFailure::AlreadyExists);
        }
        self.create(name, special_use);
        Ok(())
    }

    pub fn delete_folder(&mut self, name: &str) -> Result<(), StoreFailure> {
        self.folders
            .remove(name)
            .map(|_| ())
            .ok_or(StoreFailure::NoSuchFolder)
    }

    /// The folder and every folder below it.
    pub fn rename_folder(&mut self, from: &str, to: &str) -> Result<(), StoreFailure> {
        if !self.folders.contains_key(from) {
            return Err(StoreFailure::NoSuchFolder);
        }
        if self.folders.contains_key(to) {
            return Err(StoreFailure::AlreadyExists);
        }
        let below = format!("{from}.");
        let names: Vec<String> = self
            .folders
            .keys()
            .filter(|n| *n == from || n.starts_with(&below))
            .cloned()
            .collect();
        for name in names {
            let folder = self.folders.remove(&name).expect("listed above");
            let new = format!("{to}{}", &name[from.len()..]);
            self.folders.insert(new, folder);
        }
        Ok(())
    }

    pub fn usage(&mut self) -> Result<Usage, StoreFailure> {
        let folders = self.folder_list()?;
        Ok(Usage {
            bytes: folders.iter().map(|f| f.size).sum(),
            messages: folders.iter().map(|f| f.messages as u64).sum(),
        })
    }
}
