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
//! So the copy and the recipient's result land together or not at all,
//! and a repeated delivery (after a crash, a lost lease, or a commit
//! whose answer was lost) leaves one copy. The key's primary key makes
//! that hold even for two transactions at once.

use super::messages::{Stored, place};
use super::{PgMailboxStore, notify};
use crate::mailstore::{FolderName, MailboxStore, SpecialUse, StoreError as MailError};
use crate::storage::postgres::queue::{Lease, fence};
use crate::storage::postgres::{StoreError, io_error};
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::limits::STORAGE_CHUNK_BYTES_MAX;
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
        fence(&transaction, key, lease).await?;
        let recipients: Vec<i32> = copy
            .recipients
            .iter()
            .filter_map(|&i| i32::try_from(i).ok())
            .collect();
        let earlier = transaction
            .query_opt(
                "SELECT COALESCE(f.name, ''), d.uid FROM mail_deliveries d \
                 LEFT JOIN mail_folders f ON f.folder_id = d.folder_id \
                 WHERE d.queue_id = $1 AND d.domain = $2 AND d.username = $3",
                &[&key, &mailbox.domain, &mailbox.user],
            )
            .await?;
        if let Some(row) = earlier {
            record_delivered(&transaction, key, &recipients, copy.detail).await?;
            transaction.commit().await?;
            let uid = u32::try_from(row.get::<_, i64>(1))
                .ok()
                .and_then(Uid::new)
                .ok_or_else(|| {
                    StoreError::Io(io::Error::other("a delivery key's UID is out of range"))
                })?;
            return Ok(DeliveredCopy {
                folder: row.get(0),
                uid,
                earlier: true,
            });
        }
        let blob_id = -self.next_id().map_err(mail)?;
        let size = copy_blob(&transaction, key, blob_id, copy.headers).await?;
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
        transaction
            .execute(
                "INSERT INTO mail_deliveries (queue_id, domain, username, folder_id, uid) \
                 SELECT $1, $2, $3, folder_id, $5 FROM mail_folders \
                 WHERE domain = $2 AND username = $3 AND name = $4",
                &[
                    &key,
                    &mailbox.domain,
                    &mailbox.user,
                    &folder.as_str(),
                    &i64::from(uid.get()),
                ],
            )
            .await?;
        record_delivered(&transaction, key, &recipients, copy.detail).await?;
        notify(&transaction, mailbox, &folder, modseq)
            .await
            .map_err(mail)?;
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

/// Writes blob `blob_id`: `headers` as its first chunk, then the chunks
/// of queued message `key`'s data, copied inside the database. Answers
/// its size.
async fn copy_blob(
    transaction: &deadpool_postgres::Transaction<'_>,
    key: i64,
    blob_id: i64,
    headers: &[u8],
) -> Result<i64, StoreError> {
    let source = transaction
        .query_one(
            "SELECT b.blob_id, b.size, b.chunks FROM queue_messages q \
             JOIN blobs b ON b.blob_id = q.blob_id WHERE q.queue_id = $1",
            &[&key],
        )
        .await?;
    let (source_id, source_size, source_chunks): (i64, i64, i32) =
        (source.get(0), source.get(1), source.get(2));
    let size = source_size + headers.len() as i64;
    transaction
        .execute(
            "INSERT INTO blobs (blob_id, size, chunks) VALUES ($1, $2, $3)",
            &[&blob_id, &size, &(source_chunks + 1)],
        )
        .await?;
    transaction
        .execute(
            "INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, 0, $2)",
            &[&blob_id, &headers],
        )
        .await?;
    transaction
        .execute(
            "INSERT INTO blob_chunks (blob_id, seq, data) \
             SELECT $1, seq + 1, data FROM blob_chunks WHERE blob_id = $2",
            &[&blob_id, &source_id],
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
    transaction
        .execute(
            "UPDATE queue_recipients \
             SET status = $3, attempts = attempts + 1, next_attempt = NULL, last_detail = $4 \
             WHERE queue_id = $1 AND idx = ANY($2) AND status = 'pending'",
            &[&key, &recipients, &STATUS_DELIVERED, &detail],
        )
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
