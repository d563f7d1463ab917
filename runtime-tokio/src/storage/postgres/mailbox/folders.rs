//! A user's folders in `mail_folders`, subscriptions in
//! `mail_subscriptions`, and the user's row in `mail_users`, made with
//! INBOX and the default folders on first use. Every change to a user's
//! set of folders first locks the user's row, so two nodes creating,
//! renaming or deleting at once take turns.

use super::{FOLDER_COLUMNS, PgMailboxStore, damaged, db, lock, pool, u64_of};
use crate::mailstore::{DEFAULT_FOLDERS, FolderName, FolderStatus, SpecialUse, StoreError, Usage};
use crate::storage::postgres::blob;
use deadpool_postgres::Transaction;
use postern_core::envelope::LocalMailbox;
use postern_core::limits::FOLDERS_PER_USER_MAX;
use postern_core::mailbox::row::{DELETED_BIT, SEEN_BIT};
use postern_core::mailbox::{ModSeq, UidValidity};
use std::collections::BTreeSet;
use std::io;
use std::time::SystemTime;

impl PgMailboxStore {
    /// Makes the user's row, INBOX and the default folders (subscribed)
    /// the first time the user is seen; a folder the user deleted later is
    /// not made again.
    pub(super) async fn ensure_user(&self, mailbox: &LocalMailbox) -> Result<(), StoreError> {
        if lock(&self.inner.users).contains(mailbox) {
            return Ok(());
        }
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        let made = transaction
            .execute(
                "INSERT INTO mail_users (domain, username, last_uid_validity) \
                 VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
                &[&mailbox.domain, &mailbox.user],
            )
            .await
            .map_err(db)?;
        if made == 1 {
            let inbox =
                FolderName::parse(crate::mailstore::INBOX).map_err(StoreError::BadFolderName)?;
            self.insert_folder(&transaction, mailbox, &inbox, None)
                .await?;
            for (position, name) in DEFAULT_FOLDERS.iter().enumerate() {
                let folder = FolderName::parse(name).map_err(StoreError::BadFolderName)?;
                self.insert_folder(&transaction, mailbox, &folder, None)
                    .await?;
                transaction
                    .execute(
                        "INSERT INTO mail_subscriptions (domain, username, name, position) \
                         VALUES ($1, $2, $3, $4)",
                        &[&mailbox.domain, &mailbox.user, name, &(position as i64 + 1)],
                    )
                    .await
                    .map_err(db)?;
            }
        }
        transaction.commit().await.map_err(db)?;
        lock(&self.inner.users).insert(mailbox.clone());
        Ok(())
    }

    /// Adds a folder's row with a UIDVALIDITY none of the user's folders
    /// had (the seconds now, or one more than the last given).
    async fn insert_folder(
        &self,
        transaction: &Transaction<'_>,
        mailbox: &LocalMailbox,
        name: &FolderName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let row = transaction
            .query_one(
                "UPDATE mail_users SET last_uid_validity = GREATEST(last_uid_validity + 1, $3) \
                 WHERE domain = $1 AND username = $2 RETURNING last_uid_validity",
                &[&mailbox.domain, &mailbox.user, &now],
            )
            .await
            .map_err(db)?;
        let uid_validity: i64 = row.get(0);
        if uid_validity > i64::from(u32::MAX) {
            return Err(damaged("mail_users", "UIDVALIDITY values ran out"));
        }
        let id = self.next_id()?;
        let special_use = special_use.map(SpecialUse::attribute);
        transaction
            .execute(
                "INSERT INTO mail_folders (folder_id, domain, username, name, uid_validity, \
                 uid_next, highest_modseq, changes_from, special_use) \
                 VALUES ($1, $2, $3, $4, $5, 1, 1, 1, $6)",
                &[
                    &id,
                    &mailbox.domain,
                    &mailbox.user,
                    &name.as_str(),
                    &uid_validity,
                    &special_use,
                ],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Locks the user's row: folder changes take turns.
    async fn lock_user(
        transaction: &Transaction<'_>,
        mailbox: &LocalMailbox,
    ) -> Result<(), StoreError> {
        transaction
            .query_one(
                "SELECT 1 FROM mail_users WHERE domain = $1 AND username = $2 FOR UPDATE",
                &[&mailbox.domain, &mailbox.user],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The user's folders: (ID, name).
    async fn folder_ids(
        transaction: &Transaction<'_>,
        mailbox: &LocalMailbox,
    ) -> Result<Vec<(i64, FolderName)>, StoreError> {
        let rows = transaction
            .query(
                "SELECT folder_id, name FROM mail_folders WHERE domain = $1 AND username = $2",
                &[&mailbox.domain, &mailbox.user],
            )
            .await
            .map_err(db)?;
        rows.iter()
            .map(|row| {
                let name: &str = row.get(1);
                let name = FolderName::parse(name)
                    .map_err(|e| damaged("mail_folders", format!("{name:?}: {e}")))?;
                Ok((row.get(0), name))
            })
            .collect()
    }

    pub(super) async fn create(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        if name.is_inbox() {
            return Err(StoreError::FolderExists(name.to_string()));
        }
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        Self::lock_user(&transaction, mailbox).await?;
        let folders = Self::folder_ids(&transaction, mailbox).await?;
        if folders.iter().any(|(_, f)| f == name) {
            return Err(StoreError::FolderExists(name.to_string()));
        }
        if folders.len() > FOLDERS_PER_USER_MAX {
            return Err(StoreError::Io(io::Error::other(format!(
                "a user has at most {FOLDERS_PER_USER_MAX} folders"
            ))));
        }
        // Not subscribed: CREATE does not subscribe (RFC 9051 6.3.4).
        self.insert_folder(&transaction, mailbox, name, special_use)
            .await?;
        transaction.commit().await.map_err(db)
    }

    /// Deletes the folder and its subfolders: their messages (and the
    /// blobs no other message or queue entry refers to), tombstones and
    /// keywords. The subscriptions stay (RFC 3501 6.3.6).
    pub(super) async fn delete(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
    ) -> Result<(), StoreError> {
        if name.is_inbox() {
            return Err(StoreError::InboxIsPermanent);
        }
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        Self::lock_user(&transaction, mailbox).await?;
        let folders = Self::folder_ids(&transaction, mailbox).await?;
        if !folders.iter().any(|(_, f)| f == name) {
            return Err(StoreError::NoSuchFolder(name.to_string()));
        }
        let ids: Vec<i64> = folders
            .iter()
            .filter(|(_, f)| f.is_within(name))
            .map(|(id, _)| *id)
            .collect();
        let rows = transaction
            .query(
                "DELETE FROM mail_messages WHERE folder_id = ANY($1) RETURNING blob_id",
                &[&ids],
            )
            .await
            .map_err(db)?;
        let blobs: BTreeSet<i64> = rows.iter().map(|row| row.get(0)).collect();
        for table in ["mail_expunged", "mail_keywords", "mail_folders"] {
            transaction
                .execute(
                    &format!("DELETE FROM {table} WHERE folder_id = ANY($1)"),
                    &[&ids],
                )
                .await
                .map_err(db)?;
        }
        for blob_id in blobs {
            blob::delete_unreferenced(&transaction, blob_id)
                .await
                .map_err(db)?;
        }
        transaction.commit().await.map_err(db)
    }

    /// Renames the folder and its subfolders; each keeps its ID, so its
    /// UIDs, UIDVALIDITY, MODSEQs and special use go with it. The
    /// subscriptions follow.
    pub(super) async fn rename(
        &self,
        mailbox: &LocalMailbox,
        from: &FolderName,
        to: &FolderName,
    ) -> Result<(), StoreError> {
        if from.is_inbox() || to.is_inbox() {
            return Err(StoreError::InboxIsPermanent);
        }
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        Self::lock_user(&transaction, mailbox).await?;
        let folders = Self::folder_ids(&transaction, mailbox).await?;
        if !folders.iter().any(|(_, f)| f == from) {
            return Err(StoreError::NoSuchFolder(from.to_string()));
        }
        let mut renamed = Vec::new();
        for (id, name) in folders.iter().filter(|(_, f)| f.is_within(from)) {
            let tail = &name.as_str()[from.as_str().len()..];
            let new =
                FolderName::parse(&format!("{to}{tail}")).map_err(StoreError::BadFolderName)?;
            if folders.iter().any(|(_, f)| *f == new) {
                return Err(StoreError::FolderExists(new.to_string()));
            }
            renamed.push((*id, name.clone(), new));
        }
        for (id, old, new) in &renamed {
            transaction
                .execute(
                    "UPDATE mail_folders SET name = $2 WHERE folder_id = $1",
                    &[id, &new.as_str()],
                )
                .await
                .map_err(db)?;
            transaction
                .execute(
                    "UPDATE mail_subscriptions SET name = $4 \
                     WHERE domain = $1 AND username = $2 AND name = $3",
                    &[&mailbox.domain, &mailbox.user, &old.as_str(), &new.as_str()],
                )
                .await
                .map_err(db)?;
        }
        transaction.commit().await.map_err(db)
    }

    /// INBOX first, then by name, with their figures.
    pub(super) async fn list_folders(
        &self,
        mailbox: &LocalMailbox,
    ) -> Result<Vec<FolderStatus>, StoreError> {
        self.ensure_user(mailbox).await?;
        let subscribed: BTreeSet<String> = self.subscribed(mailbox).await?.into_iter().collect();
        let client = self.inner.pool.get().await.map_err(pool)?;
        let sql = format!(
            "SELECT f.name, f.special_use, f.{}, \
             count(m.uid), \
             COALESCE(sum(CASE WHEN m.flags & {SEEN_BIT} = 0 THEN 1 ELSE 0 END), 0)::BIGINT, \
             COALESCE(sum(CASE WHEN m.flags & {DELETED_BIT} <> 0 THEN 1 ELSE 0 END), 0)::BIGINT, \
             COALESCE(sum(m.size), 0)::BIGINT \
             FROM mail_folders f LEFT JOIN mail_messages m ON m.folder_id = f.folder_id \
             WHERE f.domain = $1 AND f.username = $2 \
             GROUP BY f.folder_id LIMIT {}",
            FOLDER_COLUMNS.replace(", ", ", f."),
            FOLDERS_PER_USER_MAX + 1
        );
        let rows = client
            .query(&sql, &[&mailbox.domain, &mailbox.user])
            .await
            .map_err(db)?;
        let mut statuses = Vec::new();
        for row in &rows {
            let name: &str = row.get(0);
            let name = FolderName::parse(name)
                .map_err(|e| damaged("mail_folders", format!("{name:?}: {e}")))?;
            let written = row
                .get::<_, Option<&str>>(1)
                .and_then(SpecialUse::from_attribute);
            // The columns after the name and use, as `folder_of` reads them.
            let folder = folder_of_at(row, 2)?;
            statuses.push(FolderStatus {
                subscribed: name.is_inbox() || subscribed.contains(name.as_str()),
                special_use: written.or_else(|| SpecialUse::of_default_folder(&name)),
                name: name.to_string(),
                uid_validity: folder.0,
                uid_next: folder.1,
                highest_modseq: folder.2,
                messages: row.get::<_, i64>(7) as usize,
                unseen: row.get::<_, i64>(8) as usize,
                deleted: row.get::<_, i64>(9) as usize,
                size: u64_of(row.get(10)),
            });
        }
        statuses.sort_by(|a, b| {
            let key = |s: &FolderStatus| (s.name != crate::mailstore::INBOX, s.name.clone());
            key(a).cmp(&key(b))
        });
        Ok(statuses)
    }

    pub(super) async fn set_subscribed(
        &self,
        mailbox: &LocalMailbox,
        name: &FolderName,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        self.ensure_user(mailbox).await?;
        let mut client = self.inner.pool.get().await.map_err(pool)?;
        let transaction = client.transaction().await.map_err(db)?;
        Self::lock_user(&transaction, mailbox).await?;
        if !subscribed {
            transaction
                .execute(
                    "DELETE FROM mail_subscriptions \
                     WHERE domain = $1 AND username = $2 AND name = $3",
                    &[&mailbox.domain, &mailbox.user, &name.as_str()],
                )
                .await
                .map_err(db)?;
            return transaction.commit().await.map_err(db);
        }
        let row = transaction
            .query_one(
                "SELECT count(*), COALESCE(max(position), 0), \
                 count(*) FILTER (WHERE name = $3) \
                 FROM mail_subscriptions WHERE domain = $1 AND username = $2",
                &[&mailbox.domain, &mailbox.user, &name.as_str()],
            )
            .await
            .map_err(db)?;
        let (count, last, present): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        if present > 0 {
            return Ok(());
        }
        if count as usize >= FOLDERS_PER_USER_MAX {
            return Err(StoreError::Io(io::Error::other(format!(
                "a user has at most {FOLDERS_PER_USER_MAX} subscriptions"
            ))));
        }
        transaction
            .execute(
                "INSERT INTO mail_subscriptions (domain, username, name, position) \
                 VALUES ($1, $2, $3, $4)",
                &[&mailbox.domain, &mailbox.user, &name.as_str(), &(last + 1)],
            )
            .await
            .map_err(db)?;
        transaction.commit().await.map_err(db)
    }

    /// The subscribed names, in the order they were subscribed.
    pub(super) async fn subscribed(
        &self,
        mailbox: &LocalMailbox,
    ) -> Result<Vec<String>, StoreError> {
        self.ensure_user(mailbox).await?;
        let client = self.inner.pool.get().await.map_err(pool)?;
        let rows = client
            .query(
                &format!(
                    "SELECT name FROM mail_subscriptions WHERE domain = $1 AND username = $2 \
                     ORDER BY position, name LIMIT {FOLDERS_PER_USER_MAX}"
                ),
                &[&mailbox.domain, &mailbox.user],
            )
            .await
            .map_err(db)?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    pub(super) async fn usage_of(&self, mailbox: &LocalMailbox) -> Result<Usage, StoreError> {
        self.ensure_user(mailbox).await?;
        let client = self.inner.pool.get().await.map_err(pool)?;
        let row = client
            .query_one(
                "SELECT COALESCE(sum(m.size), 0)::BIGINT, count(*) \
                 FROM mail_messages m JOIN mail_folders f ON f.folder_id = m.folder_id \
                 WHERE f.domain = $1 AND f.username = $2",
                &[&mailbox.domain, &mailbox.user],
            )
            .await
            .map_err(db)?;
        Ok(Usage {
            bytes: u64_of(row.get(0)),
            messages: u64_of(row.get(1)),
        })
    }
}

/// UIDVALIDITY, UIDNEXT and highest MODSEQ from a row whose
/// [`FOLDER_COLUMNS`] start at `at` (the folder ID first).
fn folder_of_at(
    row: &tokio_postgres::Row,
    at: usize,
) -> Result<(UidValidity, u32, ModSeq), StoreError> {
    let number = |index: usize| -> Result<u32, StoreError> {
        u32::try_from(row.get::<_, i64>(at + index))
            .map_err(|_| damaged("mail_folders", "a UIDVALIDITY or UIDNEXT out of range"))
    };
    Ok((
        UidValidity(number(1)?),
        number(2)?,
        ModSeq(row.get::<_, i64>(at + 3) as u64),
    ))
}
