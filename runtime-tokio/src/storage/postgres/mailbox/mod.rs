//! [`MailboxStore`] on PostgreSQL: every node serves every mailbox.
//!
//! The tables are `migrations/0002_mailboxes.sql`'s. The contract is the
//! trait's, as the Maildir store keeps it; what differs is how:
//! - **UIDs and MODSEQs** are allocated by an `UPDATE` of the folder's
//!   row (`uid_next = uid_next + n, highest_modseq = highest_modseq + n
//!   ... RETURNING`) in the transaction that writes the messages, so the
//!   row's lock orders every writer of a folder, on any node: UIDs are
//!   distinct and increasing, and a rolled-back transaction hands out
//!   nothing.
//! - **Message bytes** are a blob (`blob.rs`), written in chunks with
//!   CRLF line ends before the folder's row is locked; a COPY shares the
//!   blob, and an expunge deletes it with its last reference.
//! - **Changes** are the rows themselves: a message's MODSEQ and the one
//!   it was appended at, and the tombstones of expunged UIDs
//!   (`mail_expunged`), at most [`MAILBOX_CHANGES_KEPT_MAX`] a folder;
//!   older ones are dropped and `changes_from` moves on.
//! - **Notifications**: each changing transaction sends `pg_notify(
//!   'postern_mailbox', 'user@domain/folder:modseq')`, delivered only if
//!   it commits; every store listens ([`watch`]) and fires its `watch`
//!   channels, so a change on any node wakes IDLE on every node.
//!
//! A failure to reach or use the database is [`StoreError::Io`]: the
//! sessions answer the temporary failure they answer for I/O.

mod deliver;
mod folders;
mod messages;
mod transfer;
mod watch;

pub use deliver::{DeliveredCopy, QueuedCopy};
pub use watch::MAILBOX_CHANNEL;

use super::{io_error, pool_error};
use crate::mailstore::{
    CopyResult, FlagOp, FolderName, FolderStatus, MailboxStore, MessageReader, MoveResult,
    NewMessage, SpecialUse, StoreError, Usage,
};
use deadpool_postgres::{Pool, PoolError, Transaction};
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::limits::{MAILBOX_CHANGES_KEPT_MAX, STORAGE_USERS_PAGE_MAX};
use postern_core::mailbox::row::{self, ChangeNotice};
use postern_core::mailbox::{
    Change, Flags, Keywords, MessageMeta, ModSeq, Snapshot, Uid, UidValidity, keyword,
};
use postern_core::time::UnixTime;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use tokio::io::AsyncRead;
use tokio::sync::watch as channel;

/// The mailbox store on one database. Cloning is cheap; clones share
/// their listener and channels. Each node's store has its own node ID
/// (the blobs and folders it makes carry it, as queue IDs do).
#[derive(Clone)]
pub struct PgMailboxStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    node_id: u16,
    /// Users whose rows (and default folders) exist: never looked up
    /// again. Bounded by the users this node serves.
    users: Mutex<BTreeSet<LocalMailbox>>,
    watchers: Arc<watch::Watchers>,
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data is replaced whole under the guard: usable after a panic.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PgMailboxStore {
    /// A store whose `watch` channels fire for changes made on any node:
    /// it connects with `config` and listens on [`MAILBOX_CHANNEL`]
    /// before it returns.
    pub async fn start(
        pool: Pool,
        config: impl Into<crate::storage::postgres::DbConfig>,
        node_id: u16,
    ) -> Result<Self, String> {
        let watchers = Arc::new(watch::Watchers::default());
        let listener = watch::listen(config.into(), Arc::clone(&watchers)).await?;
        Ok(Self::with(pool, node_id, watchers, Some(listener)))
    }

    /// A store whose `watch` channels fire for this store's own changes
    /// only (the export, which nobody watches).
    pub fn without_listener(pool: Pool, node_id: u16) -> Self {
        Self::with(pool, node_id, Arc::default(), None)
    }

    fn with(
        pool: Pool,
        node_id: u16,
        watchers: Arc<watch::Watchers>,
        listener: Option<tokio::task::JoinHandle<()>>,
    ) -> Self {
        PgMailboxStore {
            inner: Arc::new(Inner {
                pool,
                node_id,
                users: Mutex::new(BTreeSet::new()),
                watchers,
                listener,
            }),
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Users with a mailbox, in order: at most [`STORAGE_USERS_PAGE_MAX`]
    /// of those after `after` (from the first with `None`).
    pub async fn users(
        &self,
        after: Option<&LocalMailbox>,
    ) -> Result<Vec<LocalMailbox>, StoreError> {
        let client = self.inner.pool.get().await.map_err(pool)?;
        let (domain, user) = after.map_or(("", ""), |m| (m.domain.as_str(), m.user.as_str()));
        let rows = client
            .query(
                &format!(
                    "SELECT domain, username FROM mail_users \
                     WHERE (domain, username) > ($1, $2) \
                     ORDER BY domain, username LIMIT {STORAGE_USERS_PAGE_MAX}"
                ),
                &[&domain, &user],
            )
            .await
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|row| LocalMailbox {
                domain: row.get(0),
                user: row.get(1),
            })
            .collect())
    }

    /// A new key for a blob or a folder: the time and this node's ID, as
    /// a queue ID is made, and strictly increasing within the process.
    fn next_id(&self) -> Result<i64, StoreError> {
        static LAST: Mutex<QueueId> = Mutex::new(QueueId(0));
        let micros = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        let mut last = lock(&LAST);
        *last = QueueId::next(*last, micros as u64, self.inner.node_id);
        i64::try_from(last.0).map_err(|_| damaged("mail_folders", "IDs ran out"))
    }

    /// After a commit: this node's watchers, at once (the notification
    /// comes back through the listener too).
    fn fire(&self, mailbox: &LocalMailbox, folder: &FolderName, modseq: ModSeq) {
        self.inner.watchers.fire(&ChangeNotice {
            mailbox: mailbox.clone(),
            folder: folder.to_string(),
            modseq,
        });
    }
}

/// A database error as the store's error: temporary, as I/O is.
fn db(error: tokio_postgres::Error) -> StoreError {
    StoreError::Io(io_error(&error))
}

fn pool(error: PoolError) -> StoreError {
    StoreError::Io(pool_error(error))
}

/// A row that cannot be what it should: which table, and why.
fn damaged(table: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Damaged {
        file: format!("database table {table}"),
        reason: reason.into(),
    }
}

fn folder_name(folder: &str) -> Result<FolderName, StoreError> {
    FolderName::parse(folder).map_err(StoreError::BadFolderName)
}

fn check_keywords(keywords: &Keywords) -> Result<(), StoreError> {
    for word in keywords {
        keyword(word).map_err(|error| StoreError::BadKeyword(error.to_string()))?;
    }
    Ok(())
}

/// A folder's row.
#[derive(Clone, Copy, Debug)]
struct Folder {
    id: i64,
    uid_validity: UidValidity,
    uid_next: u32,
    highest_modseq: ModSeq,
    changes_from: ModSeq,
}

const FOLDER_COLUMNS: &str = "folder_id, uid_validity, uid_next, highest_modseq, changes_from";

fn folder_of(row: &tokio_postgres::Row) -> Result<Folder, StoreError> {
    let number = |index: usize| -> Result<u32, StoreError> {
        u32::try_from(row.get::<_, i64>(index))
            .map_err(|_| damaged("mail_folders", "a UIDVALIDITY or UIDNEXT out of range"))
    };
    Ok(Folder {
        id: row.get(0),
        uid_validity: UidValidity(number(1)?),
        uid_next: number(2)?,
        highest_modseq: ModSeq(row.get::<_, i64>(3) as u64),
        changes_from: ModSeq(row.get::<_, i64>(4) as u64),
    })
}

/// The folder's row, locked for this transaction when `for_update`.
async fn folder(
    transaction: &Transaction<'_>,
    mailbox: &LocalMailbox,
    name: &FolderName,
    for_update: bool,
) -> Result<Folder, StoreError> {
    let sql = format!(
        "SELECT {FOLDER_COLUMNS} FROM mail_folders \
         WHERE domain = $1 AND username = $2 AND name = $3{}",
        if for_update { " FOR UPDATE" } else { "" }
    );
    let row = transaction
        .query_opt(&sql, &[&mailbox.domain, &mailbox.user, &name.as_str()])
        .await
        .map_err(db)?
        .ok_or_else(|| StoreError::NoSuchFolder(name.to_string()))?;
    folder_of(&row)
}

/// Raises the folder's highest MODSEQ by `count`; answers the first of
/// the MODSEQs so reserved. The row is locked until the commit.
async fn reserve_modseqs(
    transaction: &Transaction<'_>,
    folder_id: i64,
    count: usize,
) -> Result<u64, StoreError> {
    let count = count as i64;
    let row = transaction
        .query_one(
            "UPDATE mail_folders SET highest_modseq = highest_modseq + $2 \
             WHERE folder_id = $1 RETURNING highest_modseq",
            &[&folder_id, &count],
        )
        .await
        .map_err(db)?;
    Ok((row.get::<_, i64>(0) - count + 1) as u64)
}

/// Tells every node's watchers, if the transaction commits.
async fn notify(
    transaction: &Transaction<'_>,
    mailbox: &LocalMailbox,
    folder: &FolderName,
    modseq: ModSeq,
) -> Result<(), StoreError> {
    let notice = ChangeNotice {
        mailbox: mailbox.clone(),
        folder: folder.to_string(),
        modseq,
    };
    transaction
        .execute(
            "SELECT pg_notify($1, $2)",
            &[&MAILBOX_CHANNEL, &notice.render()],
        )
        .await
        .map_err(db)?;
    Ok(())
}

const MESSAGE_COLUMNS: &str = "uid, modseq, flags, keywords, internal_date, size";

/// A `mail_messages` row (its [`MESSAGE_COLUMNS`] first) as the model's.
fn meta_of(row: &tokio_postgres::Row) -> Result<MessageMeta, StoreError> {
    let uid = u32::try_from(row.get::<_, i64>(0))
        .ok()
        .and_then(Uid::new)
        .ok_or_else(|| damaged("mail_messages", "a UID out of range"))?;
    let flags = row::flags_from_bits(row.get(2))
        .ok_or_else(|| damaged("mail_messages", format!("UID {uid}: flags out of range")))?;
    let keywords = row::keywords_from_text(row.get(3))
        .map_err(|e| damaged("mail_messages", format!("UID {uid}: {e}")))?;
    Ok(MessageMeta {
        uid,
        flags,
        keywords,
        internal_date: UnixTime(row.get(4)),
        size: row.get::<_, i64>(5) as u64,
        modseq: ModSeq(row.get::<_, i64>(1) as u64),
    })
}

/// Octets as clients see them from a column.
fn u64_of(value: i64) -> u64 {
    value.max(0) as u64
}

impl MailboxStore for PgMailboxStore {
    async fn open(&self, mailbox: &LocalMailbox, folder: &str) -> Result<Snapshot, StoreError> {
        self.open_folder(mailbox, &folder_name(folder)?).await
    }

    async fn changes_since(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        since: ModSeq,
    ) -> Result<Option<Vec<Change>>, StoreError> {
        self.changes(mailbox, &folder_name(folder)?, since).await
    }

    async fn read(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uid: Uid,
    ) -> Result<MessageReader, StoreError> {
        self.read_message(mailbox, &folder_name(folder)?, uid).await
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
        self.append_one(mailbox, &folder, message, flags, keywords, internal_date)
            .await
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
        self.set_flags(mailbox, &folder, uids, op, flags, keywords)
            .await
    }

    async fn expunge(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uids: &[Uid],
    ) -> Result<Vec<Uid>, StoreError> {
        self.expunge_uids(mailbox, &folder_name(folder)?, uids)
            .await
    }

    async fn folders(&self, mailbox: &LocalMailbox) -> Result<Vec<FolderStatus>, StoreError> {
        self.list_folders(mailbox).await
    }

    async fn create_folder(&self, mailbox: &LocalMailbox, folder: &str) -> Result<(), StoreError> {
        self.create(mailbox, &folder_name(folder)?, None).await
    }

    async fn delete_folder(&self, mailbox: &LocalMailbox, folder: &str) -> Result<(), StoreError> {
        self.delete(mailbox, &folder_name(folder)?).await
    }

    async fn rename_folder(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        self.rename(mailbox, &folder_name(from)?, &folder_name(to)?)
            .await
    }

    async fn copy(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreError> {
        let (from, to) = (folder_name(from)?, folder_name(to)?);
        Ok(self
            .transfer(mailbox, &from, uids, &to, false)
            .await?
            .copied)
    }

    async fn move_messages(
        &self,
        mailbox: &LocalMailbox,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<MoveResult, StoreError> {
        let (from, to) = (folder_name(from)?, folder_name(to)?);
        self.transfer(mailbox, &from, uids, &to, true).await
    }

    async fn append_many(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        messages: Vec<NewMessage>,
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        let folder = folder_name(folder)?;
        self.append_all(mailbox, &folder, messages).await
    }

    async fn create_folder_with_use(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        self.create(mailbox, &folder_name(folder)?, special_use)
            .await
    }

    async fn subscribe(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        self.set_subscribed(mailbox, &folder_name(folder)?, subscribed)
            .await
    }

    async fn subscriptions(&self, mailbox: &LocalMailbox) -> Result<Vec<String>, StoreError> {
        self.subscribed(mailbox).await
    }

    async fn usage(&self, mailbox: &LocalMailbox) -> Result<Usage, StoreError> {
        self.usage_of(mailbox).await
    }

    fn watch(&self, mailbox: &LocalMailbox, folder: &str) -> channel::Receiver<ModSeq> {
        match folder_name(folder) {
            Ok(folder) => self.inner.watchers.subscribe(mailbox, &folder),
            // No such folder can change: a channel whose sender is gone.
            Err(_) => channel::channel(ModSeq(0)).1,
        }
    }
}

/// Bounds the rows one `changes_since` reads: more changes than the
/// Maildir store keeps is "re-open".
const CHANGES_READ_MAX: i64 = MAILBOX_CHANGES_KEPT_MAX as i64 + 1;
