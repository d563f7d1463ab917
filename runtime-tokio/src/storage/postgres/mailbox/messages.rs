//! A folder's messages: the snapshot and its changes, reading, appending
//! (one, or all of a MULTIAPPEND in one transaction), flags and expunge.

use super::{
    CHANGES_READ_MAX, Folder, MESSAGE_COLUMNS, PgMailboxStore, damaged, db, folder, meta_of,
    notify, pool, reserve_modseqs,
};
use crate::mailstore::{FlagOp, FolderName, MessageReader, NewMessage, StoreError};
use crate::storage::postgres::blob::{self, BlobReader};
use deadpool_postgres::Transaction;
use postern_core::envelope::LocalMailbox;
use postern_core::limits::{
    MAILBOX_CHANGES_KEPT_MAX, MAILBOX_MESSAGES_MAX, MAILDIR_KEYWORDS_MAX,
    MESSAGE_READ_AT_ONCE_BYTES_MAX, MULTIAPPEND_MESSAGES_MAX,
};
use postern_core::mailbox::row::changes_of_rows as changes_of;
use postern_core::mailbox::row::{flags_to_bits, keywords_to_text};
use postern_core::mailbox::{
    Change, Flags, Keywords, MessageMeta, ModSeq, Snapshot, Uid, UidValidity,
};
use postern_core::time::UnixTime;
use std::collections::BTreeSet;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_postgres::IsolationLevel;

/// A message stored as a blob, to be given a UID.
pub(super) struct Stored {
    pub blob_id: i64,
    pub size: i64,
    pub flags: Flags,
    pub keywords: Keywords,
    pub internal_date: UnixTime,
}

impl PgMailboxStore {
    pub(super) async fn open_folder(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
    ) -> Result<Snapshot, StoreError> {
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        // One snapshot of the database: the figures match the messages.
        let transaction = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db)?;
        let folder = folder(&transaction, mailbox, name, false).await?;
        let rows = transaction
            .query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM mail_messages WHERE folder_id = $1 \
                     ORDER BY uid LIMIT {}",
                    MAILBOX_MESSAGES_MAX + 1
                ),
                &[&folder.id],
            )
            .await
            .map_err(db)?;
        if rows.len() > MAILBOX_MESSAGES_MAX {
            return Err(damaged(
                "mail_messages",
                format!("folder {name} holds more than {MAILBOX_MESSAGES_MAX} messages"),
            ));
        }
        let messages = rows.iter().map(meta_of).collect::<Result<Vec<_>, _>>()?;
        transaction.commit().await.map_err(db)?;
        Ok(Snapshot {
            uid_validity: folder.uid_validity,
            uid_next: folder.uid_next,
            highest_modseq: folder.highest_modseq,
            messages,
        })
    }

    pub(super) async fn changes(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
        since: ModSeq,
    ) -> Result<Option<Vec<Change>>, StoreError> {
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db)?;
        let folder = folder(&transaction, mailbox, name, false).await?;
        // As the Maildir store's model answers: changes before
        // `changes_from` are forgotten.
        if since.0.saturating_add(1) < folder.changes_from.0 {
            return Ok(None);
        }
        let since_key = since.0.min(i64::MAX as u64) as i64;
        let rows = transaction
            .query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS}, appended_modseq FROM mail_messages \
                     WHERE folder_id = $1 AND modseq > $2 ORDER BY modseq LIMIT {CHANGES_READ_MAX}"
                ),
                &[&folder.id, &since_key],
            )
            .await
            .map_err(db)?;
        let gone = transaction
            .query(
                &format!(
                    "SELECT uid, modseq FROM mail_expunged WHERE folder_id = $1 AND modseq > $2 \
                     ORDER BY modseq LIMIT {CHANGES_READ_MAX}"
                ),
                &[&folder.id, &since_key],
            )
            .await
            .map_err(db)?;
        transaction.commit().await.map_err(db)?;
        if rows.len() + gone.len() > MAILBOX_CHANGES_KEPT_MAX {
            return Ok(None);
        }
        let mut messages = Vec::with_capacity(rows.len());
        for row in &rows {
            messages.push((meta_of(row)?, ModSeq(row.get::<_, i64>(6) as u64)));
        }
        let mut expunged = Vec::with_capacity(gone.len());
        for row in &gone {
            let uid = u32::try_from(row.get::<_, i64>(0))
                .ok()
                .and_then(Uid::new)
                .ok_or_else(|| damaged("mail_expunged", "a UID out of range"))?;
            expunged.push((uid, ModSeq(row.get::<_, i64>(1) as u64)));
        }
        Ok(Some(changes_of(since, messages, expunged)))
    }

    /// A message up to [`MESSAGE_READ_AT_ONCE_BYTES_MAX`] (one chunk) is
    /// read in the transaction that finds it, so an expunge committed
    /// meanwhile cannot take its bytes away; a larger one streams a chunk
    /// at a time, and an expunge while it is read ends the read with an
    /// error.
    pub(super) async fn read_message(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
        uid: Uid,
    ) -> Result<MessageReader, StoreError> {
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db)?;
        let folder = folder(&transaction, mailbox, name, false).await?;
        let row = transaction
            .query_opt(
                "SELECT blob_id, size FROM mail_messages WHERE folder_id = $1 AND uid = $2",
                &[&folder.id, &i64::from(uid.get())],
            )
            .await
            .map_err(db)?
            .ok_or(StoreError::NoSuchMessage(uid))?;
        let (blob_id, size): (i64, i64) = (row.get(0), row.get(1));
        let size = u64::try_from(size)
            .map_err(|_| damaged("mail_messages", format!("UID {uid}: a negative size")))?;
        if size <= MESSAGE_READ_AT_ONCE_BYTES_MAX {
            let chunks = transaction
                .query(
                    "SELECT data FROM blob_chunks WHERE blob_id = $1 ORDER BY seq LIMIT 2",
                    &[&blob_id],
                )
                .await
                .map_err(db)?;
            transaction.commit().await.map_err(db)?;
            let mut bytes: Vec<u8> = Vec::with_capacity(size as usize);
            for chunk in &chunks {
                bytes.extend_from_slice(chunk.get::<_, &[u8]>(0));
            }
            if bytes.len() as u64 != size {
                return Err(damaged(
                    "blob_chunks",
                    format!(
                        "UID {uid}: {size} octets recorded, {} in its data",
                        bytes.len()
                    ),
                ));
            }
            return Ok(MessageReader::from_bytes(bytes, size));
        }
        transaction.commit().await.map_err(db)?;
        drop(client);
        let (stored, reader) = BlobReader::open(self.inner.pool.clone(), blob_id).await?;
        if stored != size {
            return Err(damaged(
                "mail_messages",
                format!("UID {uid}: {size} octets recorded, {stored} in its data"),
            ));
        }
        Ok(MessageReader::from_reader(reader, stored))
    }

    pub(super) async fn append_one<R: AsyncRead + Unpin + Send>(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
        message: R,
        flags: Flags,
        keywords: &Keywords,
        internal_date: UnixTime,
    ) -> Result<Uid, StoreError> {
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        // The bytes first, before the folder's row is locked: a large
        // message does not hold up the folder's other writers.
        let blob_id = -self.next_id()?;
        let size = blob::put(&transaction, blob_id, ToCrlf::new(message)).await?;
        let stored = Stored {
            blob_id,
            size,
            flags,
            keywords: keywords.clone(),
            internal_date,
        };
        let (_, uids, modseq) = place(&transaction, mailbox, name, vec![stored]).await?;
        notify(&transaction, mailbox, name, modseq).await?;
        transaction.commit().await.map_err(db)?;
        self.fire(mailbox, name, modseq);
        uids.first()
            .copied()
            .ok_or_else(|| StoreError::Io(io::Error::other("no UID was given")))
    }

    /// RFC 3502 MULTIAPPEND: every message in one transaction, so all are
    /// stored or none.
    pub(super) async fn append_all(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
        messages: Vec<NewMessage>,
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        if messages.len() > MULTIAPPEND_MESSAGES_MAX {
            return Err(StoreError::TooManyMessages {
                count: messages.len(),
                max: MULTIAPPEND_MESSAGES_MAX,
            });
        }
        for message in &messages {
            super::check_keywords(&message.keywords)?;
        }
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        let mut stored = Vec::with_capacity(messages.len());
        for message in messages {
            let blob_id = -self.next_id()?;
            let size = blob::put(&transaction, blob_id, ToCrlf::new(&message.content[..])).await?;
            stored.push(Stored {
                blob_id,
                size,
                flags: message.flags,
                keywords: message.keywords,
                internal_date: message.internal_date,
            });
        }
        let (uid_validity, uids, modseq) = place(&transaction, mailbox, name, stored).await?;
        if !uids.is_empty() {
            notify(&transaction, mailbox, name, modseq).await?;
        }
        transaction.commit().await.map_err(db)?;
        if !uids.is_empty() {
            self.fire(mailbox, name, modseq);
        }
        Ok((uid_validity, uids))
    }

    pub(super) async fn set_flags(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &Keywords,
    ) -> Result<Vec<Change>, StoreError> {
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        let folder = folder(&transaction, mailbox, name, true).await?;
        if op != FlagOp::Remove {
            ensure_keywords(&transaction, folder.id, keywords).await?;
        }
        let keys: Vec<i64> = uids.iter().map(|uid| i64::from(uid.get())).collect();
        let rows = transaction
            .query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM mail_messages \
                     WHERE folder_id = $1 AND uid = ANY($2) ORDER BY uid"
                ),
                &[&folder.id, &keys],
            )
            .await
            .map_err(db)?;
        let mut changed: Vec<MessageMeta> = Vec::new();
        for row in &rows {
            let mut meta = meta_of(row)?;
            let (old_flags, old_keywords) = (meta.flags, meta.keywords.clone());
            match op {
                FlagOp::Set => {
                    meta.flags = flags;
                    meta.keywords = keywords.clone();
                }
                FlagOp::Add => {
                    meta.flags = meta.flags.union(flags);
                    meta.keywords.extend(keywords.iter().cloned());
                }
                FlagOp::Remove => {
                    meta.flags = meta.flags.difference(flags);
                    meta.keywords.retain(|word| !keywords.contains(word));
                }
            }
            if meta.flags != old_flags || meta.keywords != old_keywords {
                changed.push(meta);
            }
        }
        if changed.is_empty() {
            transaction.commit().await.map_err(db)?;
            return Ok(Vec::new());
        }
        let first = reserve_modseqs(&transaction, folder.id, changed.len()).await?;
        let mut changes = Vec::with_capacity(changed.len());
        for (offset, meta) in changed.into_iter().enumerate() {
            let modseq = ModSeq(first + offset as u64);
            transaction
                .execute(
                    "UPDATE mail_messages SET flags = $3, keywords = $4, modseq = $5 \
                     WHERE folder_id = $1 AND uid = $2",
                    &[
                        &folder.id,
                        &i64::from(meta.uid.get()),
                        &flags_to_bits(meta.flags),
                        &keywords_to_text(&meta.keywords),
                        &(modseq.0 as i64),
                    ],
                )
                .await
                .map_err(db)?;
            changes.push(Change::FlagsChanged {
                uid: meta.uid,
                flags: meta.flags,
                keywords: meta.keywords,
                modseq,
            });
        }
        let highest = changes.last().map_or(folder.highest_modseq, Change::modseq);
        notify(&transaction, mailbox, name, highest).await?;
        transaction.commit().await.map_err(db)?;
        self.fire(mailbox, name, highest);
        Ok(changes)
    }

    pub(super) async fn expunge_uids(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
        uids: &[Uid],
    ) -> Result<Vec<Uid>, StoreError> {
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        let folder = folder(&transaction, mailbox, name, true).await?;
        let (removed, highest) = remove(&transaction, &folder, uids).await?;
        if removed.is_empty() {
            transaction.commit().await.map_err(db)?;
            return Ok(removed);
        }
        notify(&transaction, mailbox, name, highest).await?;
        transaction.commit().await.map_err(db)?;
        self.fire(mailbox, name, highest);
        Ok(removed)
    }
}

/// Removes these messages from a locked folder, leaving tombstones with
/// new MODSEQs, and deletes the blobs nothing else refers to. Answers the
/// UIDs removed (ascending) and the folder's highest MODSEQ after.
pub(super) async fn remove(
    transaction: &Transaction<'_>,
    folder: &Folder,
    uids: &[Uid],
) -> Result<(Vec<Uid>, ModSeq), StoreError> {
    let keys: Vec<i64> = uids.iter().map(|uid| i64::from(uid.get())).collect();
    let rows = transaction
        .query(
            "DELETE FROM mail_messages WHERE folder_id = $1 AND uid = ANY($2) \
             RETURNING uid, blob_id",
            &[&folder.id, &keys],
        )
        .await
        .map_err(db)?;
    let mut removed: Vec<(i64, i64)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    removed.sort_unstable();
    if removed.is_empty() {
        return Ok((Vec::new(), folder.highest_modseq));
    }
    let first = reserve_modseqs(transaction, folder.id, removed.len()).await?;
    for (offset, (uid, _)) in removed.iter().enumerate() {
        transaction
            .execute(
                "INSERT INTO mail_expunged (folder_id, uid, modseq) VALUES ($1, $2, $3)",
                &[&folder.id, uid, &((first + offset as u64) as i64)],
            )
            .await
            .map_err(db)?;
    }
    prune_tombstones(transaction, folder.id).await?;
    let blobs: BTreeSet<i64> = removed.iter().map(|(_, blob_id)| *blob_id).collect();
    for blob_id in blobs {
        blob::delete_unreferenced(transaction, blob_id)
            .await
            .map_err(db)?;
    }
    let uids = removed
        .iter()
        .filter_map(|(uid, _)| u32::try_from(*uid).ok().and_then(Uid::new))
        .collect();
    Ok((uids, ModSeq(first + removed.len() as u64 - 1)))
}

/// Keeps at most [`MAILBOX_CHANGES_KEPT_MAX`] tombstones a folder: older
/// ones go, and `changes_from` moves past them (a session that far
/// behind re-reads the folder).
async fn prune_tombstones(transaction: &Transaction<'_>, folder_id: i64) -> Result<(), StoreError> {
    let count: i64 = transaction
        .query_one(
            "SELECT count(*) FROM mail_expunged WHERE folder_id = $1",
            &[&folder_id],
        )
        .await
        .map_err(db)?
        .get(0);
    let over = count - MAILBOX_CHANGES_KEPT_MAX as i64;
    if over <= 0 {
        return Ok(());
    }
    let cutoff: i64 = transaction
        .query_one(
            "SELECT modseq FROM mail_expunged WHERE folder_id = $1 \
             ORDER BY modseq LIMIT 1 OFFSET $2",
            &[&folder_id, &(over - 1)],
        )
        .await
        .map_err(db)?
        .get(0);
    transaction
        .execute(
            "DELETE FROM mail_expunged WHERE folder_id = $1 AND modseq <= $2",
            &[&folder_id, &cutoff],
        )
        .await
        .map_err(db)?;
    transaction
        .execute(
            "UPDATE mail_folders SET changes_from = GREATEST(changes_from, $2) \
             WHERE folder_id = $1",
            &[&folder_id, &(cutoff + 1)],
        )
        .await
        .map_err(db)?;
    Ok(())
}

/// Records the keywords a folder has not seen yet, each with the next
/// letter; at most [`MAILDIR_KEYWORDS_MAX`], as a Maildir can hold (so
/// that every folder can be exported). The folder's row must be locked.
pub(super) async fn ensure_keywords(
    transaction: &Transaction<'_>,
    folder_id: i64,
    keywords: &Keywords,
) -> Result<(), StoreError> {
    if keywords.is_empty() {
        return Ok(());
    }
    let rows = transaction
        .query(
            "SELECT word FROM mail_keywords WHERE folder_id = $1",
            &[&folder_id],
        )
        .await
        .map_err(db)?;
    let known: BTreeSet<String> = rows.iter().map(|row| row.get(0)).collect();
    let new = keywords.iter().filter(|w| !known.contains(*w));
    for (next, word) in (known.len()..).zip(new) {
        if next >= MAILDIR_KEYWORDS_MAX {
            return Err(StoreError::BadKeyword(format!(
                "the folder has {MAILDIR_KEYWORDS_MAX} keywords, the most it can hold; {word:?} is one more"
            )));
        }
        transaction
            .execute(
                "INSERT INTO mail_keywords (folder_id, idx, word) VALUES ($1, $2, $3)",
                &[&folder_id, &(next as i32), word],
            )
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// Gives stored messages their UIDs and MODSEQs in the folder, in order,
/// and inserts their rows; the `UPDATE` that allocates them locks the
/// folder's row until the commit. Answers the folder's UIDVALIDITY, the
/// UIDs, and its highest MODSEQ after.
pub(super) async fn place(
    transaction: &Transaction<'_>,
    mailbox: &LocalMailbox,
    name: &FolderName,
    messages: Vec<Stored>,
) -> Result<(UidValidity, Vec<Uid>, ModSeq), StoreError> {
    let count = messages.len() as i64;
    let allocate = transaction
        .prepare_cached(
            "UPDATE mail_folders \
             SET uid_next = uid_next + $4, highest_modseq = highest_modseq + $4 \
             WHERE domain = $1 AND username = $2 AND name = $3 \
             RETURNING folder_id, uid_validity, uid_next, highest_modseq",
        )
        .await
        .map_err(db)?;
    let row = transaction
        .query_opt(
            &allocate,
            &[&mailbox.domain, &mailbox.user, &name.as_str(), &count],
        )
        .await
        .map_err(db)?
        .ok_or_else(|| StoreError::NoSuchFolder(name.to_string()))?;
    let (folder_id, uid_validity, uid_next, highest): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if uid_next - 1 > i64::from(u32::MAX) {
        return Err(StoreError::Io(io::Error::other(format!(
            "folder {name} has used up its UIDs"
        ))));
    }
    let uid_validity = UidValidity(
        u32::try_from(uid_validity)
            .map_err(|_| damaged("mail_folders", "a UIDVALIDITY out of range"))?,
    );
    let words: Keywords = messages
        .iter()
        .flat_map(|m| m.keywords.iter().cloned())
        .collect();
    ensure_keywords(transaction, folder_id, &words).await?;
    let (first_uid, first_modseq) = (uid_next - count, highest - count + 1);
    let insert = transaction
        .prepare_cached(
            "INSERT INTO mail_messages (folder_id, uid, modseq, appended_modseq, flags, \
             keywords, internal_date, size, blob_id) \
             VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)",
        )
        .await
        .map_err(db)?;
    let mut uids = Vec::with_capacity(messages.len());
    for (offset, message) in messages.iter().enumerate() {
        let (uid, modseq) = (first_uid + offset as i64, first_modseq + offset as i64);
        transaction
            .execute(
                &insert,
                &[
                    &folder_id,
                    &uid,
                    &modseq,
                    &flags_to_bits(message.flags),
                    &keywords_to_text(&message.keywords),
                    &message.internal_date.0,
                    &message.size,
                    &message.blob_id,
                ],
            )
            .await
            .map_err(db)?;
        uids.extend(u32::try_from(uid).ok().and_then(Uid::new));
    }
    Ok((uid_validity, uids, ModSeq(highest as u64)))
}

/// Reads a message with CRLF line ends: what the blob keeps, so that its
/// size is the size clients see.
struct ToCrlf<R> {
    inner: R,
    last: Option<u8>,
    raw: Box<[u8]>,
    out: Vec<u8>,
    out_at: usize,
}

/// The input read this many octets at a time.
const CRLF_CHUNK_BYTES: usize = 16 * 1024;

impl<R> ToCrlf<R> {
    fn new(inner: R) -> Self {
        ToCrlf {
            inner,
            last: None,
            raw: vec![0; CRLF_CHUNK_BYTES].into_boxed_slice(),
            out: Vec::with_capacity(2 * CRLF_CHUNK_BYTES),
            out_at: 0,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for ToCrlf<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.out_at < this.out.len() {
                let n = (this.out.len() - this.out_at).min(buf.remaining());
                buf.put_slice(&this.out[this.out_at..this.out_at + n]);
                this.out_at += n;
                return Poll::Ready(Ok(()));
            }
            let mut raw = ReadBuf::new(&mut this.raw);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut raw))?;
            let filled = raw.filled().len();
            if filled == 0 {
                return Poll::Ready(Ok(()));
            }
            this.out.clear();
            this.out_at = 0;
            crate::mailstore::to_crlf(&this.raw[..filled], &mut this.last, &mut this.out);
        }
    }
}
