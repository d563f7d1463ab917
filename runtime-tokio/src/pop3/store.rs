//! POP3 over the mailbox store: a maildrop is the user's INBOX as the
//! [`MailboxStore`] has it, so POP3 shows the UIDs (and, through
//! [`postern_core::pop3::uidl`], the UIDLs) that IMAP and Dovecot show.
//!
//! The session reads from the snapshot taken at login (RFC 1939: the
//! maildrop is fixed for the session; mail arriving meanwhile waits for
//! the next one), holding the in-process maildrop lock, not the store's
//! lock: delivery and other readers go on while a POP3 client reads.
//! With the postgres backend the session also holds the maildrop's lock
//! in the shared database ([`PgMaildropLocks`]), so that a second session
//! of the user on another node is refused too.

use super::{MaildropHandle, MaildropLock, MaildropLocks, Maildrops};
use crate::mailstore::{FlagOp, INBOX, MailboxStore, MessageReader, StoreError};
use crate::storage::postgres::{PgMaildropLock, PgMaildropLocks};
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::{Flag, Flags, Keywords, Uid};
use postern_core::pop3::{Maildrop, MaildropFailure, MaildropMessage};
use std::io;
use std::sync::Arc;

/// Every user's INBOX in `store`, one POP3 session at a time each.
#[derive(Debug)]
pub struct StoreMaildrops<S> {
    store: Arc<S>,
    locks: MaildropLocks,
    /// Every node's locks, with the postgres backend.
    shared: Option<PgMaildropLocks>,
}

impl<S> StoreMaildrops<S> {
    pub fn new(store: Arc<S>) -> Self {
        StoreMaildrops {
            store,
            locks: MaildropLocks::default(),
            shared: None,
        }
    }

    /// The same maildrops, each also locked in the shared database.
    pub fn with_shared_locks(self, shared: PgMaildropLocks) -> Self {
        StoreMaildrops {
            shared: Some(shared),
            ..self
        }
    }

    /// The mailbox store the maildrops are in.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// The maildrop locks, for tests.
    pub fn locks(&self) -> &MaildropLocks {
        &self.locks
    }
}

/// One session's hold on a user's INBOX.
#[derive(Debug)]
pub struct StoreHandle<S> {
    store: Arc<S>,
    mailbox: LocalMailbox,
    _lock: MaildropLock,
    _shared: Option<PgMaildropLock>,
}

impl<S: MailboxStore> Maildrops for StoreMaildrops<S> {
    type Handle = StoreHandle<S>;

    async fn open(
        &self,
        mailbox: &LocalMailbox,
    ) -> Result<(Maildrop, StoreHandle<S>), MaildropFailure> {
        let key = format!("{}/{}", mailbox.domain, mailbox.user);
        let lock = self.locks.try_lock(&key).ok_or(MaildropFailure::InUse)?;
        let shared = match &self.shared {
            None => None,
            Some(shared) => match shared.try_lock(mailbox).await {
                Ok(Some(held)) => Some(held),
                Ok(None) => return Err(MaildropFailure::InUse),
                Err(error) => {
                    tracing::error!(mailbox = %key, "cannot take the maildrop's lock in the database: {error}");
                    return Err(MaildropFailure::Unavailable);
                }
            },
        };
        let snapshot = self.store.open(mailbox, INBOX).await.map_err(|error| {
            tracing::error!(mailbox = %key, "cannot open the maildrop: {error}");
            MaildropFailure::Unavailable
        })?;
        let maildrop = Maildrop {
            uid_validity: snapshot.uid_validity.0,
            messages: snapshot
                .messages
                .iter()
                .map(|message| MaildropMessage {
                    uid: message.uid.get(),
                    size: message.size,
                })
                .collect(),
        };
        let handle = StoreHandle {
            store: Arc::clone(&self.store),
            mailbox: mailbox.clone(),
            _lock: lock,
            _shared: shared,
        };
        Ok((maildrop, handle))
    }
}

impl<S: MailboxStore> MaildropHandle for StoreHandle<S> {
    type Reader = MessageReader;

    async fn read(&self, uid: u32) -> io::Result<MessageReader> {
        let uid = Uid::new(uid).ok_or_else(|| io::Error::other("UID 0 names no message"))?;
        self.store
            .read(&self.mailbox, INBOX, uid)
            .await
            .map_err(into_io)
    }

    async fn update(&mut self, expunge: &[u32], seen: &[u32]) -> io::Result<()> {
        let uids = |list: &[u32]| list.iter().filter_map(|&uid| Uid::new(uid)).collect();
        let (expunge, seen): (Vec<Uid>, Vec<Uid>) = (uids(expunge), uids(seen));
        if !expunge.is_empty() {
            self.store
                .expunge(&self.mailbox, INBOX, &expunge)
                .await
                .map_err(into_io)?;
        }
        if !seen.is_empty() {
            // Messages expunged above are skipped by the store.
            self.store
                .store_flags(
                    &self.mailbox,
                    INBOX,
                    &seen,
                    FlagOp::Add,
                    Flags::EMPTY.with(Flag::Seen),
                    &Keywords::default(),
                )
                .await
                .map_err(into_io)?;
        }
        Ok(())
    }
}

fn into_io(error: StoreError) -> io::Error {
    match error {
        StoreError::Io(error) => error,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailstore::MaildirStore;
    use postern_core::time::UnixTime;
    use tokio::io::AsyncReadExt;

    fn alice() -> LocalMailbox {
        LocalMailbox::new("alice", "example.test")
    }

    async fn store_with(messages: &[&[u8]]) -> (tempfile::TempDir, Arc<MaildirStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MaildirStore::new(dir.path(), "mx.test"));
        for &message in messages {
            store
                .append(
                    &alice(),
                    INBOX,
                    message,
                    Flags::EMPTY,
                    &Keywords::default(),
                    UnixTime(1_795_132_800),
                )
                .await
                .unwrap();
        }
        (dir, store)
    }

    #[tokio::test]
    async fn the_maildrop_is_the_inbox_with_its_uids_and_crlf_sizes() {
        let (_dir, store) =
            store_with(&[b"Subject: a\n\none\n", b"Subject: b\r\n\r\ntwo\r\n"]).await;
        let maildrops = StoreMaildrops::new(Arc::clone(&store));
        let (maildrop, handle) = maildrops.open(&alice()).await.unwrap();
        let sizes: Vec<(u32, u64)> = maildrop.messages.iter().map(|m| (m.uid, m.size)).collect();
        assert_eq!(sizes, [(1, 19), (2, 19)]);
        let mut text = Vec::new();
        handle
            .read(1)
            .await
            .unwrap()
            .read_to_end(&mut text)
            .await
            .unwrap();
        assert_eq!(text, b"Subject: a\r\n\r\none\r\n");
        let snapshot = store.open(&alice(), INBOX).await.unwrap();
        assert_eq!(maildrop.uid_validity, snapshot.uid_validity.0);
    }

    #[tokio::test]
    async fn a_second_session_is_in_use_until_the_first_ends() {
        let (_dir, store) = store_with(&[]).await;
        let maildrops = StoreMaildrops::new(store);
        let (_, first) = maildrops.open(&alice()).await.unwrap();
        assert!(matches!(
            maildrops.open(&alice()).await,
            Err(MaildropFailure::InUse)
        ));
        drop(first);
        assert_eq!(maildrops.locks().held(), 0);
        assert!(maildrops.open(&alice()).await.is_ok());
    }

    #[tokio::test]
    async fn the_update_expunges_and_marks_seen_and_uids_are_not_reused() {
        let (_dir, store) = store_with(&[b"1\n", b"2\n", b"3\n"]).await;
        let maildrops = StoreMaildrops::new(Arc::clone(&store));
        let (_, mut handle) = maildrops.open(&alice()).await.unwrap();
        handle.update(&[2], &[1, 2]).await.unwrap();
        drop(handle);
        let snapshot = store.open(&alice(), INBOX).await.unwrap();
        let left: Vec<(u32, bool)> = snapshot
            .messages
            .iter()
            .map(|m| (m.uid.get(), m.flags.contains(Flag::Seen)))
            .collect();
        assert_eq!(left, [(1, true), (3, false)]);
        store
            .append(
                &alice(),
                INBOX,
                &b"4\n"[..],
                Flags::EMPTY,
                &Keywords::default(),
                UnixTime(0),
            )
            .await
            .unwrap();
        let (maildrop, _) = maildrops.open(&alice()).await.unwrap();
        let uids: Vec<u32> = maildrop.messages.iter().map(|m| m.uid).collect();
        assert_eq!(uids, [1, 3, 4]);
    }
}
