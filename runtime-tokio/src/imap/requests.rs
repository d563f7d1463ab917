//! Carrying out an IMAP session's store requests: each maps onto one
//! [`MailboxStore`] method (the machine's module documentation lists
//! them), and each [`StoreError`] onto the [`StoreFailure`] the machine
//! turns into a response code.
//!
//! Folder names are routed here, in [`UserStore::place`]: the user's own
//! folders are in their mailbox, and `#lists/<address>` is the INBOX of
//! a list archive the user may read ([`postern_core::imap::shared`]). A
//! subscription to an archive is kept among the user's own as
//! `#lists.<address>` (their names cannot hold a `/`).
//! Nothing in an archive is changed through IMAP; a COPY out of one
//! reads each message and appends it to the user's folder.

use super::RecentClaims;
use crate::lists::SharedArchive;
use crate::mailstore::{FlagOp, MailboxStore, StoreError};
use postern_core::envelope::LocalMailbox;
use postern_core::imap::command::StoreAction;
use postern_core::imap::session::{ChangeSet, FolderStatus, Input, Opened, Request, StoreFailure};
use postern_core::imap::shared::{
    Route, is_shared, route, stored_subscription, subscription_folder,
};
use postern_core::mailbox::Change;
use postern_core::mailbox::{CopyResult, NewMessage, Uid};
use tokio::io::AsyncReadExt;

/// What the session's user may reach: their mailbox, and the process's
/// `\Recent` claims.
pub(super) struct UserStore<'a, S> {
    pub store: &'a S,
    pub mailbox: &'a LocalMailbox,
    pub recent: &'a RecentClaims,
    /// The list archives this user may read, as shared folders.
    pub archives: &'a [SharedArchive],
    /// The largest message a read hands the machine (the instance's
    /// APPENDLIMIT: nothing larger can be stored through it, and delivery
    /// takes nothing larger than the SMTP limit).
    pub read_limit: u64,
}

impl<S: MailboxStore> UserStore<'_, S> {
    /// Carries out one request (never [`Request::Authenticate`], which the
    /// driver answers itself) and returns the machine's answer.
    pub async fn carry_out(&self, request: Request) -> Input<'static> {
        let (store, mailbox) = (self.store, self.mailbox);
        match request {
            Request::Authenticate(_) => {
                unreachable!("the driver answers Authenticate itself")
            }
            Request::Open { folder, read_only } => {
                Input::Opened(match self.place(&folder) {
                    Err(refused) => Err(refused),
                    Ok((mailbox, folder)) => store
                        .open(mailbox, folder)
                        .await
                        .map_err(failure)
                        .map(|snapshot| {
                            let recent_from = self.recent.claim(
                                mailbox,
                                folder,
                                snapshot.uid_validity,
                                snapshot.uid_next,
                                read_only,
                            );
                            Opened {
                                snapshot,
                                recent_from,
                            }
                        }),
                })
            }
            Request::Changes {
                folder,
                since,
                read_only,
            } => Input::Changes(self.changes(&folder, since, read_only).await),
            Request::Read { folder, uid } => Input::Message(self.read(&folder, uid).await),
            Request::Append { folder, .. } if is_shared(&folder) => {
                Input::Appended(Err(read_only()))
            }
            Request::StoreFlags { folder, .. } if is_shared(&folder) => {
                Input::FlagsStored(Err(read_only()))
            }
            Request::Expunge { folder, .. } if is_shared(&folder) => {
                Input::Expunged(Err(read_only()))
            }
            Request::Copy { to, .. } if is_shared(&to) => Input::Copied(Err(read_only())),
            Request::Copy { from, uids, to } if is_shared(&from) => {
                Input::Copied(self.copy_out(&from, &uids, &to).await)
            }
            Request::Move { from, to, .. } if is_shared(&from) || is_shared(&to) => {
                Input::Moved(Err(read_only()))
            }
            Request::CreateFolder { name, .. } | Request::DeleteFolder { name }
                if is_shared(&name) =>
            {
                Input::Done(Err(read_only()))
            }
            Request::RenameFolder { from, to } if is_shared(&from) || is_shared(&to) => {
                Input::Done(Err(read_only()))
            }
            Request::Append { folder, messages } => Input::Appended(
                store
                    .append_many(mailbox, &folder, messages)
                    .await
                    .map_err(failure),
            ),
            Request::StoreFlags {
                folder,
                uids,
                action,
                flags,
                keywords,
            } => {
                let op = match action {
                    StoreAction::Replace => FlagOp::Set,
                    StoreAction::Add => FlagOp::Add,
                    StoreAction::Remove => FlagOp::Remove,
                };
                Input::FlagsStored(
                    store
                        .store_flags(mailbox, &folder, &uids, op, flags, &keywords)
                        .await
                        .map_err(failure),
                )
            }
            Request::Expunge { folder, uids } => Input::Expunged(
                store
                    .expunge(mailbox, &folder, &uids)
                    .await
                    .map_err(failure),
            ),
            Request::Copy { from, uids, to } => Input::Copied(
                store
                    .copy(mailbox, &from, &uids, &to)
                    .await
                    .map_err(failure),
            ),
            Request::Move { from, uids, to } => Input::Moved(
                store
                    .move_messages(mailbox, &from, &uids, &to)
                    .await
                    .map_err(failure),
            ),
            Request::Folders => Input::Folders(self.folders().await),
            Request::CreateFolder { name, special_use } => Input::Done(
                store
                    .create_folder_with_use(mailbox, &name, special_use)
                    .await
                    .map_err(failure),
            ),
            Request::DeleteFolder { name } => {
                let deleted = store.delete_folder(mailbox, &name).await;
                self.recent.forget(mailbox, &name);
                Input::Done(deleted.map_err(failure))
            }
            Request::RenameFolder { from, to } => {
                let renamed = store.rename_folder(mailbox, &from, &to).await;
                self.recent.forget(mailbox, &from);
                Input::Done(renamed.map_err(failure))
            }
            Request::Subscribe { name, subscribed } => Input::Done(
                store
                    .subscribe(mailbox, &stored_subscription(&name), subscribed)
                    .await
                    .map_err(failure),
            ),
            Request::Subscriptions => Input::Subscriptions(
                store
                    .subscriptions(mailbox)
                    .await
                    .map(|names| names.iter().map(|n| subscription_folder(n)).collect())
                    .map_err(failure),
            ),
            Request::Usage => Input::Usage(store.usage(mailbox).await.map_err(failure)),
        }
    }

    /// Every folder's figures, with the messages the next SELECT would
    /// call `\Recent` (STATUS RECENT): all of them in a folder this
    /// process has not opened, none when every UID is claimed, and
    /// otherwise counted in a snapshot (some may have been expunged).
    async fn folders(&self) -> Result<Vec<FolderStatus>, StoreFailure> {
        let store = self.store;
        let mut folders: Vec<(&LocalMailbox, crate::mailstore::FolderStatus)> = store
            .folders(self.mailbox)
            .await
            .map_err(failure)?
            .into_iter()
            .map(|folder| (self.mailbox, folder))
            .collect();
        if !self.archives.is_empty() {
            let subscribed = store.subscriptions(self.mailbox).await.map_err(failure)?;
            for archive in self.archives {
                // The archive is the INBOX of the list's mailbox (made
                // empty by the store if nothing was posted yet).
                let inbox = match store.folders(&archive.mailbox).await {
                    Ok(list) => list.into_iter().find(|f| f.name == "INBOX"),
                    Err(error) => {
                        tracing::warn!(archive = %archive.mailbox, %error, "a list archive cannot be listed");
                        None
                    }
                };
                if let Some(mut status) = inbox {
                    status.subscribed = subscribed.contains(&stored_subscription(&archive.folder));
                    status.name.clone_from(&archive.folder);
                    status.special_use = None;
                    folders.push((&archive.mailbox, status));
                }
            }
        }
        let mut statuses = Vec::with_capacity(folders.len());
        for (mailbox, mut folder) in folders {
            // Claims are kept under the store's name of the folder.
            let shown = std::mem::take(&mut folder.name);
            folder.name = match self.place(&shown) {
                Ok((_, stored)) => stored.to_owned(),
                Err(_) => shown.clone(),
            };
            let from = self
                .recent
                .unclaimed_from(mailbox, &folder.name, folder.uid_validity);
            let recent = if from <= 1 {
                folder.messages
            } else if from >= folder.uid_next {
                0
            } else {
                match store.open(mailbox, &folder.name).await {
                    Ok(snapshot) => snapshot
                        .messages
                        .iter()
                        .filter(|m| m.uid.get() >= from)
                        .count(),
                    Err(_) => 0,
                }
            };
            folder.name = shown;
            statuses.push(folder_status(folder, recent));
        }
        Ok(statuses)
    }

    /// Where a folder of the session is in the store: the user's own, or
    /// the INBOX of a list archive they may read (`NoSuchFolder` for any
    /// other name in the shared namespace).
    pub fn place<'f>(
        &'f self,
        folder: &'f str,
    ) -> Result<(&'f LocalMailbox, &'f str), StoreFailure> {
        place(self.mailbox, self.archives, folder)
    }

    /// COPY out of a list archive into one of the user's folders: each
    /// message read and appended (all or none, as APPEND), with its flags
    /// and internal date.
    async fn copy_out(
        &self,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreFailure> {
        let (archive, folder) = self.place(from)?;
        let snapshot = self.store.open(archive, folder).await.map_err(failure)?;
        let mut copied = Vec::with_capacity(uids.len());
        let mut messages = Vec::with_capacity(uids.len());
        for meta in snapshot.messages.iter().filter(|m| uids.contains(&m.uid)) {
            messages.push(NewMessage {
                content: self.read(from, meta.uid).await?,
                flags: meta.flags,
                keywords: meta.keywords.clone(),
                internal_date: meta.internal_date,
            });
            copied.push(meta.uid);
        }
        if messages.is_empty() {
            return Err(StoreFailure::MessageGone);
        }
        let (uid_validity, new) = self
            .store
            .append_many(self.mailbox, to, messages)
            .await
            .map_err(failure)?;
        Ok(CopyResult {
            uid_validity,
            pairs: copied.into_iter().zip(new).collect(),
        })
    }

    /// The changes since `since`; new messages are claimed as recent as an
    /// open claims them.
    async fn changes(
        &self,
        folder: &str,
        since: postern_core::mailbox::ModSeq,
        read_only: bool,
    ) -> Result<ChangeSet, StoreFailure> {
        let (mailbox, folder) = self.place(folder)?;
        let changes = self
            .store
            .changes_since(mailbox, folder, since)
            .await
            .map_err(failure)?;
        let appended_next = changes.iter().flatten().filter_map(|change| match change {
            Change::Appended(meta) => Some(meta.uid.get().saturating_add(1)),
            _ => None,
        });
        let recent_from = match appended_next.max() {
            Some(uid_next) => self.recent.claim_new(mailbox, folder, uid_next, read_only),
            None => u32::MAX,
        };
        Ok(ChangeSet {
            changes,
            recent_from,
        })
    }

    /// A message whole, as clients see it (CRLF), at most `read_limit`
    /// octets (a larger one is a damaged store: the machine answers
    /// `NO [SERVERBUG]`).
    async fn read(
        &self,
        folder: &str,
        uid: postern_core::mailbox::Uid,
    ) -> Result<Vec<u8>, StoreFailure> {
        let (mailbox, folder) = self.place(folder)?;
        let reader = self
            .store
            .read(mailbox, folder, uid)
            .await
            .map_err(failure)?;
        let size = reader.size();
        if size > self.read_limit {
            tracing::error!(
                %mailbox, folder, %uid, size,
                "a message is larger than this instance's limit; it is not read whole"
            );
            return Err(StoreFailure::Failed);
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let mut limited = reader.take(self.read_limit.saturating_add(1));
        match limited.read_to_end(&mut bytes).await {
            Ok(_) => Ok(bytes),
            Err(error) => {
                tracing::warn!(%mailbox, folder, %uid, %error, "reading a message failed");
                Err(StoreFailure::Failed)
            }
        }
    }
}

/// Where `folder` is in the store for the user of `mailbox` who may read
/// `archives`: the routing of [`postern_core::imap::shared::route`] with
/// the archives looked up.
pub(super) fn place<'f>(
    mailbox: &'f LocalMailbox,
    archives: &'f [SharedArchive],
    folder: &'f str,
) -> Result<(&'f LocalMailbox, &'f str), StoreFailure> {
    match route(folder) {
        Route::Personal(name) => Ok((mailbox, name)),
        Route::Archive(_) => archives
            .iter()
            .find(|archive| archive.folder == folder)
            .map(|archive| (&archive.mailbox, "INBOX"))
            .ok_or(StoreFailure::NoSuchFolder),
    }
}

/// A change asked for in the shared namespace (the session refuses these
/// itself; this is the store's word if one gets through).
fn read_only() -> StoreFailure {
    StoreFailure::Cannot("list archives are read-only".to_owned())
}

fn folder_status(status: crate::mailstore::FolderStatus, recent: usize) -> FolderStatus {
    FolderStatus {
        name: status.name,
        uid_validity: status.uid_validity,
        uid_next: status.uid_next,
        messages: status.messages,
        unseen: status.unseen,
        size: status.size,
        subscribed: status.subscribed,
        special_use: status.special_use,
        highest_modseq: status.highest_modseq,
        deleted: status.deleted,
        recent,
    }
}

/// The machine's name for what went wrong; failures that are the
/// server's (damage, I/O) are logged here with their detail.
fn failure(error: StoreError) -> StoreFailure {
    match error {
        StoreError::NoSuchFolder(_) => StoreFailure::NoSuchFolder,
        StoreError::FolderExists(_) => StoreFailure::AlreadyExists,
        StoreError::NoSuchMessage(_) => StoreFailure::MessageGone,
        StoreError::LockTimeout { .. } => StoreFailure::InUse,
        StoreError::InboxIsPermanent
        | StoreError::BadFolderName(_)
        | StoreError::BadKeyword(_)
        | StoreError::TooManyMessages { .. } => StoreFailure::Cannot(error.to_string()),
        StoreError::Damaged { .. } | StoreError::Io(_) => {
            tracing::error!(%error, "mailbox store failure");
            StoreFailure::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_placed_in_the_users_mailbox_or_a_readable_archive() {
        let alice = LocalMailbox {
            domain: "example.test".into(),
            user: "alice".into(),
        };
        let team = SharedArchive {
            folder: "#lists/team@example.test".into(),
            mailbox: LocalMailbox {
                domain: "example.test".into(),
                user: "team".into(),
            },
        };
        let archives = [team.clone()];
        assert_eq!(place(&alice, &archives, "INBOX"), Ok((&alice, "INBOX")));
        assert_eq!(place(&alice, &archives, "Lists.x"), Ok((&alice, "Lists.x")));
        assert_eq!(
            place(&alice, &archives, "#lists/team@example.test"),
            Ok((&team.mailbox, "INBOX"))
        );
        assert_eq!(
            place(&alice, &archives, "#lists.team@example.test"),
            Ok((&alice, "#lists.team@example.test"))
        );
        for hidden in ["#lists/staff@example.test", "#lists/TEAM@example.test"] {
            assert_eq!(
                place(&alice, &archives, hidden),
                Err(StoreFailure::NoSuchFolder),
                "{hidden}"
            );
        }
        assert_eq!(
            place(&alice, &[], "#lists/team@example.test"),
            Err(StoreFailure::NoSuchFolder)
        );
    }
}
