//! The mailbox store the server's readers use (POP3, IMAP with IDLE,
//! webmail, finger, `postern mailbox`), chosen at start by `[storage]
//! backend`: the Maildirs under the data directory, or the tables of the
//! shared database.
//!
//! An enum rather than a type parameter of the server: the sessions are
//! generic over the store already (through [`crate::driver::Backend`]),
//! but the server's own types (the generation a reload replaces, the
//! accept loops, the status page) stay one concrete type whatever the
//! backend, and the cost is one `match` per store call, beside a file
//! sync or a database round trip.

use crate::mailstore::{
    CopyResult, FlagOp, FolderStatus, MailboxStore, MaildirStore, MessageReader, MoveResult,
    NewMessage, SpecialUse, StoreError, Usage,
};
use crate::storage::postgres::PgMailboxStore;
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::{Change, Flags, Keywords, ModSeq, Snapshot, Uid, UidValidity};
use postern_core::time::UnixTime;
use tokio::io::AsyncRead;
use tokio::sync::watch;

/// The mailboxes this server serves.
#[derive(Clone)]
pub enum ServedMailboxes {
    /// `DATA_DIR/mail/DOMAIN/USER`, Dovecot-compatible Maildirs.
    Files(MaildirStore),
    /// The shared database: every node serves every mailbox.
    Postgres(PgMailboxStore),
}

impl ServedMailboxes {
    /// The backend's name, for log lines.
    pub fn backend(&self) -> &'static str {
        match self {
            ServedMailboxes::Files(_) => "files",
            ServedMailboxes::Postgres(_) => "postgres",
        }
    }
}

/// Calls `$method` on whichever store this is.
macro_rules! each {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            ServedMailboxes::Files($store) => $call,
            ServedMailboxes::Postgres($store) => $call,
        }
    };
}

impl MailboxStore for ServedMailboxes {
    async fn open(&self, mailbox: &LocalMailbox, folder: &str) -> Result<Snapshot, StoreError> {
        each!(self, store => store.open(mailbox, folder).await)
    }

    async fn changes_since(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        since: ModSeq,
    ) -> Result<Option<Vec<Change>>, StoreError> {
        each!(self, store => store.changes_since(mailbox, folder, since).await)
    }

    async fn read(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uid: Uid,
    ) -> Result<MessageReader, StoreError> {
        each!(self, store => store.read(mailbox, folder, uid).await)
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
        each!(self, store => store.append(mailbox, folder, message, flags, keywords, internal_date).await)
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
        each!(self, store => store.store_flags(mailbox, folder, uids, op, flags, keywords).await)
    }

    async fn expunge(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uids: &[Uid],
    ) -> Result<Vec<Uid>, StoreError> {
        each!(self, store => store.expunge(mailbox, folder, uids).await)
    }

    async fn folders(&self, mailbox: &LocalMailbox) -> Result<Vec<FolderStatus>, StoreError> {
        each!(self, store => store.folders(mailbox).await)
    }

    async fn create_folder(&self, mailbox: &LocalMailbox, folder: &str) -> Result<(), StoreError> {
        each!(self, store => store.create_folder(mailbox, folder).await)
    }

    async fn delete_folder(&self, mailbox: &LocalMailbox, folder: &str) -> Result<(), StoreError> {
        each!(self, store => store.delete_folder(mailbox, folder).await)
    }

    async fn rename_folder(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        each!(self, store => store.rename_folder(mailbox, from, to).await)
    }

    async fn copy(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreError> {
        each!(self, store => store.copy(mailbox, from, uids, to).await)
    }

    async fn move_messages(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<MoveResult, StoreError> {
        each!(self, store => store.move_messages(mailbox, from, uids, to).await)
    }

    async fn append_many(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        messages: Vec<NewMessage>,
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        each!(self, store => store.append_many(mailbox, folder, messages).await)
    }

    async fn create_folder_with_use(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        each!(self, store => store.create_folder_with_use(mailbox, folder, special_use).await)
    }

    async fn subscribe(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        each!(self, store => store.subscribe(mailbox, folder, subscribed).await)
    }

    async fn subscriptions(&self, mailbox: &LocalMailbox) -> Result<Vec<String>, StoreError> {
        each!(self, store => store.subscriptions(mailbox).await)
    }

    async fn usage(&self, mailbox: &LocalMailbox) -> Result<Usage, StoreError> {
        each!(self, store => store.usage(mailbox).await)
    }

    fn watch(&self, mailbox: &LocalMailbox, folder: &str) -> watch::Receiver<ModSeq> {
        each!(self, store => store.watch(mailbox, folder))
    }
}
