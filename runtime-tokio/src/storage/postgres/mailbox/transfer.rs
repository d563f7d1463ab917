//! COPY and MOVE in one transaction. Both folders' rows are locked in the
//! order of their names (every node takes them so, and no other work
//! holds two), the copies are new rows sharing the source's blobs, and a
//! MOVE deletes the source's rows with tombstones in the same
//! transaction: each message is in one folder or the other at every
//! instant any node can see.

use super::messages::{Stored, place, remove};
use super::{PgMailboxStore, damaged, db, folder, meta_of, notify, pool};
use crate::mailstore::{CopyResult, FolderName, MoveResult, StoreError};
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::Uid;
use postern_core::time::UnixTime;

impl PgMailboxStore {
    /// Copies these messages from `from` into `to`, and with `remove`
    /// expunges the originals (RFC 6851 MOVE).
    pub(super) async fn transfer(
        &self,
        mailbox: &LocalMailbox,
        from: &FolderName,
        uids: &[Uid],
        to: &FolderName,
        remove_sources: bool,
    ) -> Result<MoveResult, StoreError> {
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        let (first, second) = if from <= to { (from, to) } else { (to, from) };
        let first = folder(&transaction, mailbox, first, true).await?;
        let second = folder(&transaction, mailbox, second, true).await?;
        let source = if from <= to { first } else { second };
        let keys: Vec<i64> = uids.iter().map(|uid| i64::from(uid.get())).collect();
        let rows = transaction
            .query(
                &format!(
                    "SELECT {}, blob_id FROM mail_messages \
                     WHERE folder_id = $1 AND uid = ANY($2) ORDER BY uid",
                    super::MESSAGE_COLUMNS
                ),
                &[&source.id, &keys],
            )
            .await
            .map_err(db)?;
        let mut sources = Vec::with_capacity(rows.len());
        let mut stored = Vec::with_capacity(rows.len());
        for row in &rows {
            let meta = meta_of(row)?;
            let size = i64::try_from(meta.size)
                .map_err(|_| damaged("mail_messages", "a size out of range"))?;
            sources.push(meta.uid);
            stored.push(Stored {
                blob_id: row.get(6),
                size,
                flags: meta.flags,
                keywords: meta.keywords,
                internal_date: UnixTime(meta.internal_date.0),
            });
        }
        let target = folder(&transaction, mailbox, to, false).await?;
        if stored.is_empty() {
            transaction.commit().await.map_err(db)?;
            return Ok(MoveResult {
                copied: CopyResult {
                    uid_validity: target.uid_validity,
                    pairs: Vec::new(),
                },
                expunged: Vec::new(),
            });
        }
        let (uid_validity, new_uids, target_modseq) =
            place(&transaction, mailbox, to, stored).await?;
        notify(&transaction, mailbox, to, target_modseq).await?;
        let mut expunged = Vec::new();
        let mut source_modseq = None;
        if remove_sources {
            // Read again: a MOVE within one folder has just raised it.
            let source = folder(&transaction, mailbox, from, false).await?;
            let (removed, highest) = remove(&transaction, &source, &sources).await?;
            notify(&transaction, mailbox, from, highest).await?;
            expunged = removed;
            source_modseq = Some(highest);
        }
        transaction.commit().await.map_err(db)?;
        self.fire(mailbox, to, target_modseq);
        if let Some(modseq) = source_modseq {
            self.fire(mailbox, from, modseq);
        }
        Ok(MoveResult {
            copied: CopyResult {
                uid_validity,
                pairs: sources.into_iter().zip(new_uids).collect(),
            },
            expunged,
        })
    }
}
