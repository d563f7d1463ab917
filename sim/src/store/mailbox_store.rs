//! `MemoryStore` as a `postern::mailstore::MailboxStore`: the contract
//! the IMAP server and POP3 read mail through, served from
//! [`super::mailboxes`]. Each operation takes the store's mutex for an
//! instant and never holds it across an await. Append, MULTIAPPEND and
//! copy read their messages first and place them all at one instant;
//! flag changes, expunges and moves take one step (`MAILBOX_STEP`)
//! per message, each durable when done, so a crash can cut them between
//! messages as it can cut the Maildir store's renames and unlinks. Every
//! change fires the folder's watch channel.

use super::mailboxes::{Body, MailEvent, Placed, check_keywords, crlf, folder_name};
use super::{MemoryStore, PlantedBug, wall_clock};
use postern::mailstore::{
    CopyResult, FlagOp, FolderName, FolderStatus, MailboxStore, MessageReader, MoveResult,
    NewMessage, SpecialUse, StoreError, Usage,
};
use postern_core::envelope::LocalMailbox;
use postern_core::limits::MULTIAPPEND_MESSAGES_MAX;
use postern_core::mailbox::{Change, Flag, Flags, Keywords, ModSeq, Snapshot, Uid, UidValidity};
use postern_core::time::UnixTime;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

/// The UIDs asked for, each once, in ascending order.
fn ascending(uids: &[Uid]) -> Vec<Uid> {
    uids.iter()
        .copied()
        .collect::<BTreeSet<Uid>>()
        .into_iter()
        .collect()
}

impl MemoryStore {
    /// Every message placed in or removed from a folder so far, and every
    /// folder renamed or deleted, in order.
    pub fn mail_history(&self) -> Vec<MailEvent> {
        self.lock().mailboxes.history.clone()
    }

    /// A folder as a session should see it once it has caught up: its
    /// UIDVALIDITY, highest MODSEQ and each message's UID and flags (IMAP
    /// names, keywords included), in UID order. `None` when the user or
    /// folder does not exist.
    pub fn folder_view(&self, login: &str, folder: &str) -> Option<FolderView> {
        let mailbox = self.local_mailbox_of(login)?;
        let name = folder_name(folder).ok()?;
        let shared = self.lock();
        let state = shared
            .mailboxes
            .users()
            .get(&mailbox)?
            .folder(&name)?
            .state();
        Some(FolderView {
            uid_validity: state.uid_validity().0,
            highest_modseq: state.highest_modseq().0,
            messages: state
                .messages()
                .map(|meta| {
                    let mut flags: BTreeSet<String> = meta
                        .flags
                        .iter()
                        .map(|flag| flag.imap_name().to_owned())
                        .collect();
                    flags.extend(meta.keywords.iter().cloned());
                    (meta.uid.get(), flags)
                })
                .collect(),
        })
    }

    /// Waits one step of a change made message by message.
    async fn step(&self) {
        if !self.mailbox_step.is_zero() {
            tokio::time::sleep(self.mailbox_step).await;
        }
    }

    /// Runs `op` on the folder at one instant, then tells its watchers.
    fn in_folder<T>(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        op: impl FnOnce(&mut super::mailboxes::Folder) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut shared = self.lock();
        let user = shared.mailboxes.user(mailbox, wall_clock());
        let value = op(user.folder_mut(folder)?)?;
        shared.mailboxes.changed(mailbox, folder);
        Ok(value)
    }

    /// Places whole messages in a folder, all or none.
    fn place(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        messages: Vec<Placed>,
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        self.in_folder(mailbox, folder, |f| {
            let uids = f.place(messages, None)?;
            Ok((f.state().uid_validity(), uids))
        })
    }

    /// The planted bug: answers the UIDs the messages will get and places
    /// them a moment later, on a task a crash of the host kills.
    fn place_later(
        &self,
        mailbox: &LocalMailbox,
        folder: FolderName,
        messages: Vec<Placed>,
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        let (uid_validity, uid_next) = self.in_folder(mailbox, &folder, |f| {
            Ok((f.state().uid_validity(), f.state().uid_next()))
        })?;
        let uids = (0..messages.len() as u32)
            .filter_map(|n| Uid::new(uid_next + n))
            .collect();
        let (store, mailbox) = (self.clone(), mailbox.clone());
        tokio::task::spawn_local(async move {
            tokio::time::sleep(super::PLANTED_SYNC_DELAY).await;
            let _ = store.place(&mailbox, &folder, messages);
        });
        Ok((uid_validity, uids))
    }

    fn copy_now(
        &self,
        mailbox: &LocalMailbox,
        from: &FolderName,
        uids: &[Uid],
        to: &FolderName,
    ) -> Result<CopyResult, StoreError> {
        let mut shared = self.lock();
        let user = shared.mailboxes.user(mailbox, wall_clock());
        let source = user.folder_mut(from)?;
        let (sources, messages): (Vec<Uid>, Vec<Placed>) = ascending(uids)
            .into_iter()
            .filter_map(|uid| Some((uid, source.placed(uid)?)))
            .unzip();
        let target = user.folder_mut(to)?;
        let uid_validity = target.state().uid_validity();
        let new = target.place(messages, None)?;
        shared.mailboxes.changed(mailbox, to);
        Ok(CopyResult {
            uid_validity,
            pairs: sources.into_iter().zip(new).collect(),
        })
    }
}

/// A folder's messages and flags at one instant ([`MemoryStore::folder_view`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderView {
    pub uid_validity: u32,
    pub highest_modseq: u64,
    /// UID and flags, in UID order.
    pub messages: Vec<(u32, BTreeSet<String>)>,
}

impl MailboxStore for MemoryStore {
    async fn open(&self, mailbox: &LocalMailbox, folder: &str) -> Result<Snapshot, StoreError> {
        let folder = folder_name(folder)?;
        self.in_folder(mailbox, &folder, |f| Ok(f.state().snapshot()))
    }

    async fn changes_since(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        since: ModSeq,
    ) -> Result<Option<Vec<Change>>, StoreError> {
        let folder = folder_name(folder)?;
        self.in_folder(mailbox, &folder, |f| Ok(f.state().changes_since(since)))
    }

    async fn read(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uid: Uid,
    ) -> Result<MessageReader, StoreError> {
        let folder = folder_name(folder)?;
        let data = self.in_folder(mailbox, &folder, |f| {
            f.body(uid)
                .map(|body| Arc::clone(&body.data))
                .ok_or(StoreError::NoSuchMessage(uid))
        })?;
        let size = data.len() as u64;
        Ok(MessageReader::from_bytes(data.to_vec(), size))
    }

    async fn append<R: AsyncRead + Unpin + Send>(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        mut message: R,
        flags: Flags,
        keywords: &Keywords,
        internal_date: UnixTime,
    ) -> Result<Uid, StoreError> {
        check_keywords(keywords)?;
        let folder = folder_name(folder)?;
        // As the Maildir store writes `tmp/` first: a crash while the
        // message is read leaves nothing a reader sees.
        let mut data = Vec::new();
        message.read_to_end(&mut data).await?;
        let placed = Placed {
            body: Body {
                data: Arc::new(crlf(&data)),
                origin: None,
            },
            flags,
            keywords: keywords.clone(),
            internal_date,
        };
        let (_, uids) = if self.bug == Some(PlantedBug::PostBeforeSync) {
            self.place_later(mailbox, folder, vec![placed])?
        } else {
            self.place(mailbox, &folder, vec![placed])?
        };
        uids.first()
            .copied()
            .ok_or_else(|| std::io::Error::other("no UID for the appended message").into())
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
        let folder = folder_name(folder)?;
        self.in_folder(mailbox, &folder, |_| Ok(()))?;
        let mut changes = Vec::new();
        for uid in uids {
            self.step().await;
            let made = self.in_folder(mailbox, &folder, |f| {
                f.set_flags(&[*uid], op, flags, keywords)
            })?;
            changes.extend(made);
        }
        Ok(changes)
    }

    async fn expunge(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uids: &[Uid],
    ) -> Result<Vec<Uid>, StoreError> {
        let folder = folder_name(folder)?;
        self.in_folder(mailbox, &folder, |_| Ok(()))?;
        let mut removed = Vec::new();
        for uid in uids {
            self.step().await;
            let bug = self.bug;
            let gone = self.in_folder(mailbox, &folder, |f| {
                let gone = f.expunge(&[*uid])?;
                if bug == Some(PlantedBug::ExpungeNeighbour) {
                    let next = f.state().messages().map(|m| m.uid).find(|u| u > uid);
                    f.expunge(&next.into_iter().collect::<Vec<_>>())?;
                }
                Ok(gone)
            })?;
            removed.extend(gone);
        }
        Ok(removed)
    }

    async fn folders(&self, mailbox: &LocalMailbox) -> Result<Vec<FolderStatus>, StoreError> {
        let mut shared = self.lock();
        let user = shared.mailboxes.user(mailbox, wall_clock());
        let statuses = user
            .folders()
            .map(|(name, folder)| {
                let state = folder.state();
                let count = |flag: Flag, set: bool| {
                    state
                        .messages()
                        .filter(|m| m.flags.contains(flag) == set)
                        .count()
                };
                FolderStatus {
                    name: name.to_string(),
                    uid_validity: state.uid_validity(),
                    uid_next: state.uid_next(),
                    messages: state.len(),
                    unseen: count(Flag::Seen, false),
                    size: state.messages().map(|m| m.size).sum(),
                    subscribed: name.is_inbox() || user.subscriptions().contains(name),
                    special_use: user.special_use(name),
                    highest_modseq: state.highest_modseq(),
                    deleted: count(Flag::Deleted, true),
                }
            })
            .collect();
        Ok(statuses)
    }

    async fn create_folder(&self, mailbox: &LocalMailbox, folder: &str) -> Result<(), StoreError> {
        self.create_folder_with_use(mailbox, folder, None).await
    }

    async fn delete_folder(&self, mailbox: &LocalMailbox, folder: &str) -> Result<(), StoreError> {
        let folder = folder_name(folder)?;
        self.lock().mailboxes.delete(mailbox, &folder, wall_clock())
    }

    async fn rename_folder(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        let (from, to) = (folder_name(from)?, folder_name(to)?);
        self.lock()
            .mailboxes
            .rename(mailbox, &from, &to, wall_clock())
    }

    async fn copy(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreError> {
        let (from, to) = (folder_name(from)?, folder_name(to)?);
        self.copy_now(mailbox, &from, uids, &to)
    }

    async fn move_messages(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<MoveResult, StoreError> {
        let (from, to) = (folder_name(from)?, folder_name(to)?);
        if from == to {
            // RFC 6851 3.3 leaves it to the server: a copy, then the
            // originals expunged (as the Maildir store does).
            let copied = self.copy_now(mailbox, &from, uids, &to)?;
            let sources: Vec<Uid> = copied.pairs.iter().map(|&(source, _)| source).collect();
            let expunged = self.expunge(mailbox, from.as_str(), &sources).await?;
            return Ok(MoveResult { copied, expunged });
        }
        let uid_validity = self.in_folder(mailbox, &to, |f| Ok(f.state().uid_validity()))?;
        self.in_folder(mailbox, &from, |_| Ok(()))?;
        let mut result = MoveResult {
            copied: CopyResult {
                uid_validity,
                pairs: Vec::new(),
            },
            expunged: Vec::new(),
        };
        for uid in ascending(uids) {
            self.step().await;
            // One message at one instant: out of the source and into the
            // target together, as one rename moves a Maildir file.
            let mut shared = self.lock();
            let user = shared.mailboxes.user(mailbox, wall_clock());
            let Some(placed) = user.folder_mut(&from)?.placed(uid) else {
                continue;
            };
            let target = user.folder_mut(&to)?;
            if target.state().uid_validity() != uid_validity {
                return Err(StoreError::NoSuchFolder(to.to_string()));
            }
            let new = target.place(vec![placed], None)?;
            user.folder_mut(&from)?.expunge(&[uid])?;
            shared.mailboxes.changed(mailbox, &to);
            shared.mailboxes.changed(mailbox, &from);
            result
                .copied
                .pairs
                .extend(new.into_iter().map(|new| (uid, new)));
            result.expunged.push(uid);
        }
        Ok(result)
    }

    async fn append_many(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        messages: Vec<NewMessage>,
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        if messages.len() > MULTIAPPEND_MESSAGES_MAX {
            return Err(StoreError::TooManyMessages {
                count: messages.len(),
                max: MULTIAPPEND_MESSAGES_MAX,
            });
        }
        let folder = folder_name(folder)?;
        for message in &messages {
            check_keywords(&message.keywords)?;
        }
        let placed = messages
            .into_iter()
            .map(|message| Placed {
                body: Body {
                    data: Arc::new(crlf(&message.content)),
                    origin: None,
                },
                flags: message.flags,
                keywords: message.keywords,
                internal_date: message.internal_date,
            })
            .collect();
        if self.bug == Some(PlantedBug::AppendBeforeSync) {
            return self.place_later(mailbox, folder, placed);
        }
        self.place(mailbox, &folder, placed)
    }

    async fn create_folder_with_use(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        let folder = folder_name(folder)?;
        let now = wall_clock();
        self.lock()
            .mailboxes
            .user(mailbox, now)
            .create(&folder, special_use, now)
    }

    async fn subscribe(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        let folder = folder_name(folder)?;
        self.lock()
            .mailboxes
            .user(mailbox, wall_clock())
            .subscribe(&folder, subscribed)
    }

    async fn subscriptions(&self, mailbox: &LocalMailbox) -> Result<Vec<String>, StoreError> {
        let mut shared = self.lock();
        let user = shared.mailboxes.user(mailbox, wall_clock());
        Ok(user
            .subscriptions()
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    async fn usage(&self, mailbox: &LocalMailbox) -> Result<Usage, StoreError> {
        let mut shared = self.lock();
        let user = shared.mailboxes.user(mailbox, wall_clock());
        let mut usage = Usage::default();
        for (_, folder) in user.folders() {
            usage.messages += folder.state().len() as u64;
            usage.bytes += folder.state().messages().map(|m| m.size).sum::<u64>();
        }
        Ok(usage)
    }

    fn watch(&self, mailbox: &LocalMailbox, folder: &str) -> watch::Receiver<ModSeq> {
        match folder_name(folder) {
            Ok(folder) => self.lock().mailboxes.watch(mailbox, &folder),
            // No such folder can change: a channel whose sender is gone.
            Err(_) => watch::channel(ModSeq(0)).1,
        }
    }
}
