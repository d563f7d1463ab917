//! Local delivery from the shared queue into the mailbox store, exactly
//! once.
//!
//! One transaction does it all, fenced by the delivering node's lease:
//! 1. the queued message's row is locked with the lease's condition
//!    (the queue's `fence`): a node whose lease has run out or passed to
//!    another node writes nothing, and no claim can take the message over
//!    until this transaction ends;
//! 2. the delivery key (`mail_deliveries`: queue ID and mailbox) is looked
//!    up: a copy made by an earlier try is found, and no second one made;
//! 3. otherwise the copy's bytes are written (the delivery headers as one
//!    chunk, then the queued message's chunks copied by the database, so
//!    no byte of the message passes through the node), the copy is given
//!    its UID, and its key is inserted;
//! 4. the recipients of that mailbox are recorded as delivered.
//!
//! In statements: `BEGIN`; 1 and 2 in one (the fence, the queued blob's
//! size, an earlier key); the copy's blob in one; its UID and row (the
//! mailbox store's `place`, two); the key, the recipients' result and the
//! change notification in one; `COMMIT`. Each is prepared once per
//! connection.
//!
//! So the copy and the recipient's result land together or not at all,
//! and a repeated delivery (after a crash, a lost lease, or a commit
//! whose answer was lost) leaves one copy. The key's primary key makes
//! that hold even for two transactions at once.

use super::messages::{Stored, place};
use super::{MAILBOX_CHANNEL, PgMailboxStore};
use crate::mailstore::{FolderName, MailboxStore, SpecialUse, StoreError as MailError};
use crate::spool::damaged;
use crate::storage::postgres::queue::Lease;
use crate::storage::postgres::{StoreError, io_error};
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::limits::STORAGE_CHUNK_BYTES_MAX;
use postern_core::mailbox::row::ChangeNotice;
use postern_core::mailbox::{Flags, Keywords, Uid};
use postern_core::queue::row::STATUS_DELIVERED;
use postern_core::time::UnixTime;
use std::io;

/// The folder a quarantined copy goes to when the user has none marked
/// `\Junk`.
const JUNK: &str = "Junk";

/// One local copy to make.
pub struct QueuedCopy<'a> {
    pub queue_id: QueueId,
    pub mailbox: &'a LocalMailbox,
    /// Into the user's Junk folder (a quarantined message).
    pub junk: bool,
    /// What goes before the message's data: `Return-Path:`,
    /// `Delivered-To:` and the trace fields, with CRLF line ends.
    pub headers: &'a [u8],
    /// The recipients (envelope indexes) this copy settles.
    pub recipients: &'a [usize],
    /// The recipients' last detail, as the runner records it.
    pub detail: &'a str,
    /// The copy's internal date.
    pub internal_date: UnixTime,
}

/// Where a copy is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveredCopy {
    pub folder: String,
    pub uid: Uid,
    /// An earlier try made it; this one made nothing.
    pub earlier: bool,
}

impl std::fmt::Display for DeliveredCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} UID {}", self.folder, self.uid)?;
        if self.earlier {
            f.write_str(" (made by an earlier try)")?;
        }
        Ok(())
    }
}

fn mail(error: MailError) -> StoreError {
    match error {
        MailError::Io(error) => StoreError::Io(error),
        other => StoreError::Io(io::Error::other(other.to_string())),
    }
}

fn db(error: tokio_postgres::Error) -> StoreError {
    StoreError::Io(io_error(&error))
}

impl PgMailboxStore {
    /// Delivers queued message `copy.queue_id` into `copy.mailbox` while
    /// `lease` holds it: see the module's documentation. Fenced (nothing
    /// written) when the lease is gone.
    pub async fn deliver_queued(
        &self,
        copy: &QueuedCopy<'_>,
        lease: &Lease,
    ) -> Result<DeliveredCopy, StoreError> {
        let mailbox = copy.mailbox;
        self.ensure_user(mailbox).await.map_err(mail)?;
        let folder = if copy.junk {
            self.junk_folder(mailbox).await.map_err(mail)?
        } else {
            super::folder_name(crate::mailstore::INBOX).map_err(mail)?
        };
        if copy.headers.is_empty() || copy.headers.len() > STORAGE_CHUNK_BYTES_MAX {
            return Err(StoreError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} octets of delivery headers", copy.headers.len()),
            )));
        }
        let key = queue_key(copy.queue_id)?;
        let mut client = self.inner.pool.get().await?;
        let transaction = client.transaction().await?;
        let recipients: Vec<i32> = copy
            .recipients
            .iter()
            .filter_map(|&i| i32::try_from(i).ok())
            .collect();
        let found = find(&transaction, key, lease, mailbox).await?;
        if let Some((folder, uid)) = found.earlier {
            record_delivered(&transaction, key, &recipients, copy.detail).await?;
            transaction.commit().await?;
            let uid = u32::try_from(uid).ok().and_then(Uid::new).ok_or_else(|| {
                StoreError::Io(io::Error::other("a delivery key's UID is out of range"))
            })?;
            return Ok(DeliveredCopy {
                folder,
                uid,
                earlier: true,
            });
        }
        let blob_id = -self.next_id().map_err(mail)?;
        let source = found.source.ok_or_else(|| {
            StoreError::Io(damaged(format!(
                "the data of queued message {} is missing",
                copy.queue_id
            )))
        })?;
        let size = copy_blob(&transaction, source, blob_id, copy.headers).await?;
        let stored = Stored {
            blob_id,
            size,
            flags: Flags::EMPTY,
            keywords: Keywords::new(),
            internal_date: copy.internal_date,
        };
        let (_, uids, modseq) = place(&transaction, mailbox, &folder, vec![stored])
            .await
            .map_err(mail)?;
        let uid = *uids
            .first()
            .ok_or_else(|| StoreError::Io(io::Error::other("no UID was given")))?;
        // The delivery key, the recipients' result and the notification
        // (sent if the transaction commits), in one statement.
        let notice = ChangeNotice {
            mailbox: mailbox.clone(),
            folder: folder.to_string(),
            modseq,
        };
        let settle = transaction
            .prepare_cached(
                "WITH delivered AS ( \
                     UPDATE queue_recipients \
                     SET status = $6, attempts = attempts + 1, next_attempt = NULL, \
                         last_detail = $7 \
                     WHERE queue_id = $1 AND idx = ANY($8) AND status = 'pending'), \
                 delivery AS ( \
                     INSERT INTO mail_deliveries (queue_id, domain, username, folder_id, uid) \
                     SELECT $1, $2, $3, folder_id, $5 FROM mail_folders \
                     WHERE domain = $2 AND username = $3 AND name = $4) \
                 SELECT pg_notify($9, $10)",
            )
            .await?;
        transaction
            .execute(
                &settle,
                &[
                    &key,
                    &mailbox.domain,
                    &mailbox.user,
                    &folder.as_str(),
                    &i64::from(uid.get()),
                    &STATUS_DELIVERED,
                    &copy.detail,
                    &recipients,
                    &MAILBOX_CHANNEL,
                    &notice.render(),
                ],
            )
            .await?;
        transaction.commit().await?;
        self.fire(mailbox, &folder, modseq);
        Ok(DeliveredCopy {
            folder: folder.to_string(),
            uid,
            earlier: false,
        })
    }

    /// The user's folder marked `\Junk` (the default folder Junk is, by
    /// its name), or a new `Junk` (subscribed) when none is, as the
    /// Maildir store does.
    async fn junk_folder(&self, mailbox: &LocalMailbox) -> Result<FolderName, MailError> {
        let folders = self.folders(mailbox).await?;
        if let Some(junk) = folders
            .iter()
            .find(|f| f.special_use == Some(SpecialUse::Junk))
        {
            return super::folder_name(&junk.name);
        }
        match self
            .create_folder_with_use(mailbox, JUNK, Some(SpecialUse::Junk))
            .await
        {
            Ok(()) => self.subscribe(mailbox, JUNK, true).await?,
            Err(MailError::FolderExists(_)) => {}
            Err(error) => return Err(error),
        }
        super::folder_name(JUNK)
    }
}

/// What [`find`] found: the queued message's blob, and the copy an
/// earlier try made.
struct Found {
    /// The queued message's blob: its ID, size and chunks (`None` when
    /// it is missing).
    source: Option<(i64, i64, i32)>,
    /// The folder and UID of the copy an earlier try made.
    earlier: Option<(String, i64)>,
}

/// In one statement: the fence (queued message `key`'s row locked while
/// `lease` is its live lease, as the queue's `fence` does), its blob, and
/// the delivery key of `mailbox` an earlier try left.
async fn find(
    transaction: &deadpool_postgres::Transaction<'_>,
    key: i64,
    lease: &Lease,
    mailbox: &LocalMailbox,
) -> Result<Found, StoreError> {
    let statement = transaction
        .prepare_cached(
            "SELECT b.blob_id, b.size, b.chunks, COALESCE(f.name, ''), d.uid \
             FROM queue_messages q \
             LEFT JOIN blobs b ON b.blob_id = q.blob_id \
             LEFT JOIN mail_deliveries d \
               ON d.queue_id = q.queue_id AND d.domain = $4 AND d.username = $5 \
             LEFT JOIN mail_folders f ON f.folder_id = d.folder_id \
             WHERE q.queue_id = $1 AND q.lease_node = $2 AND q.lease_counter = $3 \
               AND q.lease_expires > now() \
             FOR UPDATE OF q",
        )
        .await?;
    let row = transaction
        .query_opt(
            &statement,
            &[
                &key,
                &i32::from(lease.node_id),
                &lease.counter,
                &mailbox.domain,
                &mailbox.user,
            ],
        )
        .await?
        .ok_or(StoreError::Fenced)?;
    let source = match (row.get(0), row.get(1), row.get(2)) {
        (Some(blob_id), Some(size), Some(chunks)) => Some((blob_id, size, chunks)),
        _ => None,
    };
    let earlier = row
        .get::<_, Option<i64>>(4)
        .map(|uid| (row.get::<_, String>(3), uid));
    Ok(Found { source, earlier })
}

/// Writes blob `blob_id` in one statement: `headers` as its first chunk,
/// then the chunks of the queued message's blob `source` (its ID, size
/// and chunks), copied inside the database. Answers its size.
async fn copy_blob(
    transaction: &deadpool_postgres::Transaction<'_>,
    (source_id, source_size, source_chunks): (i64, i64, i32),
    blob_id: i64,
    headers: &[u8],
) -> Result<i64, StoreError> {
    let size = source_size + headers.len() as i64;
    let statement = transaction
        .prepare_cached(
            "WITH blob AS (INSERT INTO blobs (blob_id, size, chunks) VALUES ($1, $3, $4)), \
             headers AS (INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, 0, $5)) \
             INSERT INTO blob_chunks (blob_id, seq, data) \
             SELECT $1, seq + 1, data FROM blob_chunks WHERE blob_id = $2",
        )
        .await?;
    transaction
        .execute(
            &statement,
            &[&blob_id, &source_id, &size, &(source_chunks + 1), &headers],
        )
        .await
        .map_err(db)?;
    Ok(size)
}

/// Records `recipients` of message `key` as delivered, each with one
/// attempt more, unless already settled.
async fn record_delivered(
    transaction: &deadpool_postgres::Transaction<'_>,
    key: i64,
    recipients: &[i32],
    detail: &str,
) -> Result<(), StoreError> {
    let statement = transaction
        .prepare_cached(
            "UPDATE queue_recipients \
             SET status = $3, attempts = attempts + 1, next_attempt = NULL, last_detail = $4 \
             WHERE queue_id = $1 AND idx = ANY($2) AND status = 'pending'",
        )
        .await?;
    transaction
        .execute(&statement, &[&key, &recipients, &STATUS_DELIVERED, &detail])
        .await?;
    Ok(())
}

fn queue_key(id: QueueId) -> Result<i64, StoreError> {
    i64::try_from(id.0).map_err(|_| {
        StoreError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("queue ID {id} is beyond what the database stores"),
        ))
    })
}
