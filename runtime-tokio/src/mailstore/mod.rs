//! The mailbox store: where readers (POP3, IMAP, webmail) find mail.
//!
//! [`MailboxStore`] is the contract; [`MaildirStore`] its embedded
//! implementation on Maildir, compatible with Dovecot (see the book's
//! chapter "Mailboxes"), and `storage::postgres::PgMailboxStore` the one
//! on PostgreSQL, for several nodes. A mailbox is a user's [`LocalMailbox`] and a
//! folder name (`INBOX`, `Sent`, ...). The store only persists and
//! reports: the rules (UIDs strictly increase, expunged UIDs never come
//! back, every change bumps MODSEQ) are `postern_core::mailbox`'s, and what
//! a session tells its client is its machine's decision.
//!
//! Opening a mailbox syncs it: new mail gets UIDs under the mailbox's
//! lock. A [`Snapshot`] is then the session's own copy, read without any
//! lock. Every change this process makes fires the mailbox's
//! [`watch`](MailboxStore::watch) channel.

mod maildir;
mod reader;

/// What delivery (`crate::maildir`) shares with the store.
pub(crate) mod maildir_internal {
    pub(crate) use super::maildir::{inbox, make_user, unique_name, write_blocking};
}

pub use maildir::{DeliveredCopy, FolderWriter, MaildirStore};
pub use postern_core::mailbox::folder::{
    DEFAULT_FOLDERS, FolderError, FolderName, INBOX, SpecialUse,
};
pub use postern_core::mailbox::{CopyResult, MoveResult, NewMessage, Usage};
pub use reader::MessageReader;
pub(crate) use reader::to_crlf;

use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::{Change, Flags, Keywords, ModSeq, Snapshot, Uid, UidValidity};
use postern_core::time::UnixTime;
use std::fmt;
use std::future::Future;
use std::io;
use tokio::io::AsyncRead;
use tokio::sync::watch;

/// How [`MailboxStore::store_flags`] changes flags (RFC 9051 6.4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    /// Replace the flags and keywords with these.
    Set,
    /// Add these.
    Add,
    /// Remove these.
    Remove,
}

/// A folder and its figures, for listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderStatus {
    pub name: String,
    pub uid_validity: UidValidity,
    pub uid_next: u32,
    pub messages: usize,
    /// Messages without `\Seen`.
    pub unseen: usize,
    /// Octets as clients see them (CRLF), summed.
    pub size: u64,
    pub subscribed: bool,
    /// RFC 6154: the default folders' own, or the one `CREATE ... USE`
    /// gave.
    pub special_use: Option<SpecialUse>,
    /// RFC 7162 HIGHESTMODSEQ (STATUS), durable across restarts.
    pub highest_modseq: ModSeq,
    /// Messages with `\Deleted` (RFC 9051 STATUS DELETED).
    pub deleted: usize,
}

/// Why the store could not do what was asked.
#[derive(Debug)]
pub enum StoreError {
    /// The folder does not exist.
    NoSuchFolder(String),
    /// The folder name cannot be used (why).
    BadFolderName(FolderError),
    /// Creating a folder that exists.
    FolderExists(String),
    /// INBOX cannot be deleted or renamed.
    InboxIsPermanent,
    /// No message with this UID (any longer).
    NoSuchMessage(Uid),
    /// A keyword is not an IMAP atom, or the mailbox has no letter left
    /// for a new one.
    BadKeyword(String),
    /// A file on disk is damaged: which, and what is wrong.
    Damaged {
        file: String,
        reason: String,
    },
    /// More messages in one request than a bound allows.
    TooManyMessages {
        count: usize,
        max: usize,
    },
    /// The mailbox lock stayed taken past the wait limit.
    LockTimeout {
        file: String,
    },
    Io(io::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NoSuchFolder(name) => write!(f, "no folder {name:?}"),
            StoreError::BadFolderName(error) => write!(f, "{error}"),
            StoreError::FolderExists(name) => write!(f, "folder {name:?} exists already"),
            StoreError::InboxIsPermanent => write!(f, "INBOX cannot be deleted or renamed"),
            StoreError::NoSuchMessage(uid) => write!(f, "no message with UID {uid}"),
            StoreError::BadKeyword(why) => write!(f, "bad keyword: {why}"),
            StoreError::Damaged { file, reason } => write!(f, "{file} is damaged: {reason}"),
            StoreError::TooManyMessages { count, max } => {
                write!(f, "{count} messages in one request, at most {max}")
            }
            StoreError::LockTimeout { file } => write!(
                f,
                "{file} stayed locked by another process; if none runs, remove the lock file"
            ),
            StoreError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<io::Error> for StoreError {
    fn from(error: io::Error) -> Self {
        StoreError::Io(error)
    }
}

/// Where readers find mail. Every method syncs the folder with what is on
/// disk first, so changes by other processes (Dovecot, another node's
/// delivery) are seen. `folder` is an IMAP name: `INBOX` (any case),
/// `Sent`, `Archive.2026`.
pub trait MailboxStore: Send + Sync + 'static {
    /// Syncs the folder (new mail gets UIDs, under the lock) and returns
    /// its state. The user's default folders are created on first use.
    fn open(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
    ) -> impl Future<Output = Result<Snapshot, StoreError>> + Send;

    /// The changes after `since`, oldest first, after a sync; `None` when
    /// some were already forgotten (or the UIDVALIDITY changed): re-open.
    /// UIDs expunged after `since` come as `Change::Expunged` (QRESYNC
    /// VANISHED), across restarts too.
    fn changes_since(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        since: ModSeq,
    ) -> impl Future<Output = Result<Option<Vec<Change>>, StoreError>> + Send;

    /// The message's bytes as clients see them: CRLF line ends, its
    /// `size` octets.
    fn read(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uid: Uid,
    ) -> impl Future<Output = Result<MessageReader, StoreError>> + Send;

    /// Stores a message (CRLF or LF text, read to its end) with these
    /// flags and internal date; returns its UID once it is durable.
    #[allow(clippy::too_many_arguments)]
    fn append<R: AsyncRead + Unpin + Send>(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        message: R,
        flags: Flags,
        keywords: &Keywords,
        internal_date: UnixTime,
    ) -> impl Future<Output = Result<Uid, StoreError>> + Send;

    /// Changes the flags of these messages; UIDs no longer there are
    /// skipped. Returns the changes made (the new flags, with MODSEQs).
    fn store_flags(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &Keywords,
    ) -> impl Future<Output = Result<Vec<Change>, StoreError>> + Send;

    /// Removes these messages for good; UIDs no longer there are skipped.
    /// Returns the UIDs this call removed.
    fn expunge(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uids: &[Uid],
    ) -> impl Future<Output = Result<Vec<Uid>, StoreError>> + Send;

    /// The user's folders, INBOX first, then by name, with their figures.
    fn folders(
        &self,
        mailbox: &LocalMailbox,
    ) -> impl Future<Output = Result<Vec<FolderStatus>, StoreError>> + Send;

    /// Creates a folder (not subscribed: RFC 9051 6.3.4 CREATE does not
    /// subscribe, nor does Dovecot).
    fn create_folder(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes a folder, its messages and its subfolders.
    fn delete_folder(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Renames a folder and its subfolders (UIDs and UIDVALIDITY go with
    /// them).
    fn rename_folder(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Copies these messages into `to` (which may be `from`) with their
    /// flags, keywords and internal date (RFC 9051 6.4.7), durable before
    /// it returns; UIDs no longer there are skipped. The pairs come in
    /// source UID order (RFC 4315 COPYUID).
    fn copy(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> impl Future<Output = Result<CopyResult, StoreError>> + Send;

    /// Moves these messages into `to` (RFC 6851): each is in one folder
    /// or the other at every instant, never lost (see the Maildir
    /// store's `transfer` module for how). UIDs no longer there are
    /// skipped.
    fn move_messages(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> impl Future<Output = Result<MoveResult, StoreError>> + Send;

    /// RFC 3502 MULTIAPPEND: stores every message or none; returns the
    /// folder's UIDVALIDITY and the new UIDs in order (RFC 4315
    /// APPENDUID).
    fn append_many(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        messages: Vec<NewMessage>,
    ) -> impl Future<Output = Result<(UidValidity, Vec<Uid>), StoreError>> + Send;

    /// Creates a folder (not subscribed) and records its special use
    /// (RFC 6154 CREATE-SPECIAL-USE), if any.
    fn create_folder_with_use(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        special_use: Option<SpecialUse>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Subscribes or unsubscribes; a name that does not exist may be
    /// subscribed (RFC 9051 6.3.7).
    fn subscribe(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        subscribed: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The subscribed names, in the order they were subscribed.
    fn subscriptions(
        &self,
        mailbox: &LocalMailbox,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// What the user's mail takes over all folders (RFC 9208 QUOTA).
    fn usage(
        &self,
        mailbox: &LocalMailbox,
    ) -> impl Future<Output = Result<Usage, StoreError>> + Send;

    /// Fires with the folder's highest MODSEQ after each change this
    /// process makes (append, delivery, flags, expunge); the postgres
    /// store's fires for changes any node makes.
    fn watch(&self, mailbox: &LocalMailbox, folder: &str) -> watch::Receiver<ModSeq>;
}
