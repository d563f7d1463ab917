//! A folder written whole with the UIDs another store gave its messages:
//! what `postern storage export --maildir` makes of a mailbox kept in
//! PostgreSQL, so that Dovecot (and Postern on files) find the same
//! UIDVALIDITY, UIDs, flags and keywords.
//!
//! Each message is written to `tmp/` (CRLF made LF, synced, its mtime the
//! internal date) and renamed into `cur/` with its flags and keyword
//! letters in the name; at the end `dovecot-keywords` and then
//! `dovecot-uidlist` (the UIDs, `N` the UIDNEXT given) are written
//! atomically. The folder must have no `dovecot-uidlist` yet: nothing
//! has numbered it.

use super::lock::write_atomically;
use super::locked::{KEYWORDS, UIDLIST};
use super::{MaildirStore, unique_name, write};
use crate::mailstore::{FolderName, StoreError};
use crate::spool::sync_dir;
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::keywords::KeywordTable;
use postern_core::mailbox::maildir_name::{Info, MaildirName};
use postern_core::mailbox::uidlist::{Record, Uidlist};
use postern_core::mailbox::{MessageMeta, UidValidity};
use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::io::AsyncRead;

/// A folder being written; [`FolderWriter::finish`] numbers it.
pub struct FolderWriter {
    dir: PathBuf,
    host: String,
    list: Uidlist,
    keywords: KeywordTable,
}

impl MaildirStore {
    /// A store whose users' Maildirs are `ROOT/DOMAIN/USER` (an export's
    /// directory), with the default folders.
    pub fn at_root(root: &std::path::Path, hostname: &str) -> Self {
        Self::at(root.to_owned(), hostname, true)
    }

    /// Starts writing `folder` (which must exist, unnumbered) with this
    /// UIDVALIDITY and UIDNEXT.
    pub fn restore_folder(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
        uid_validity: UidValidity,
        uid_next: u32,
    ) -> Result<FolderWriter, StoreError> {
        let dir = self.folder_dir(mailbox, folder)?;
        if dir.join(UIDLIST).exists() {
            return Err(StoreError::Io(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} has UIDs already; write into an empty directory",
                    dir.join(UIDLIST).display()
                ),
            )));
        }
        let mut list = Uidlist::new(uid_validity, None);
        list.next_uid = uid_next.max(1);
        Ok(FolderWriter {
            dir,
            host: self.host().to_owned(),
            list,
            keywords: KeywordTable::default(),
        })
    }
}

impl FolderWriter {
    /// Writes one message (CRLF or LF text) with `meta`'s UID, flags,
    /// keywords and internal date; UIDs must come in increasing order,
    /// below the UIDNEXT given.
    pub async fn add(
        &mut self,
        meta: &MessageMeta,
        data: impl AsyncRead + Unpin,
    ) -> Result<(), StoreError> {
        let in_order = self.list.records.last().is_none_or(|r| r.uid < meta.uid);
        if !in_order || meta.uid.get() >= self.list.next_uid {
            return Err(StoreError::Io(io::Error::other(format!(
                "UID {} out of order (UIDNEXT {})",
                meta.uid, self.list.next_uid
            ))));
        }
        let mut info = Info {
            flags: meta.flags,
            ..Info::default()
        };
        for word in &meta.keywords {
            let (index, _) = self.keywords.index_or_add(word).map_err(|_| {
                StoreError::BadKeyword(format!("no letter left for keyword {word:?}"))
            })?;
            info.keywords.insert(index);
        }
        let unique = unique_name(&self.host);
        let tmp = self.dir.join("tmp").join(&unique);
        let (size, vsize) = write::write_async(&tmp, data).await?;
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(meta.internal_date.0.max(0) as u64);
        let name = MaildirName::new(&unique, size, vsize).with_info(info);
        let placed = (|| {
            fs::File::options()
                .write(true)
                .open(&tmp)?
                .set_modified(date)?;
            fs::rename(&tmp, self.dir.join("cur").join(name.to_string()))
        })();
        if let Err(error) = placed {
            let _ = fs::remove_file(&tmp);
            return Err(error.into());
        }
        self.list.records.push(Record {
            uid: meta.uid,
            size: Some(size),
            vsize: Some(vsize),
            extra: Vec::new(),
            stem: name.stem().to_owned(),
        });
        Ok(())
    }

    /// Syncs `cur/` and writes the keywords, then the UIDs: a crash
    /// before leaves files no uidlist names (a new export starts over).
    pub fn finish(self) -> Result<usize, StoreError> {
        sync_dir(&self.dir.join("cur"))?;
        write_atomically(&self.dir.join(KEYWORDS), self.keywords.render().as_bytes())?;
        write_atomically(&self.dir.join(UIDLIST), self.list.render().as_bytes())?;
        Ok(self.list.records.len())
    }
}
