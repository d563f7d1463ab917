//! Maildir delivery (the format of qmail's maildir(5), as Dovecot and
//! Courier read it), through the mailbox store's rules.
//!
//! A message is written to `tmp/`, synced, renamed into `new/` under a
//! name ending in `,S=<size>,W=<CRLF size>`, and the `new/` directory is
//! synced; then, under the `dovecot-uidlist` lock, it gets its UID (see
//! [`crate::mailstore`]), so a UID is never handed out twice whether a
//! message came by delivery or by append.
//!
//! Delivery is exactly once: the name is made from the queue ID, the
//! time the message arrived and the mailbox ([`delivery_unique`]), the
//! same at every try, and a try that finds a
//! message of that name in the INBOX (in `new/`, or in `cur/` where a
//! reader moved it) makes no second copy. A crash after the copy and
//! before the queue recorded it costs nothing but a repeated check. Maildir files use LF
//! line endings, so the spool's CRLF become LF on the way; `S=` is the
//! file's size, `W=` the size clients are told (POP3 LIST, IMAP
//! RFC822.SIZE).
//!
//! Directories are created 0700 and files 0600, whatever the umask.

use crate::mailstore::maildir_internal::{unique_name, write_blocking};
use crate::mailstore::{DeliveredCopy, MaildirStore, StoreError};
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::mailbox::maildir_name::{MaildirName, delivery_unique};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The mailboxes under `DATA_DIR/mail/DOMAIN/USER/`.
#[derive(Debug)]
pub struct Maildirs {
    store: MaildirStore,
}

impl Maildirs {
    pub fn new(data_dir: &Path, hostname: &str) -> Self {
        Maildirs {
            store: MaildirStore::new(data_dir, hostname),
        }
    }

    /// The store that delivery writes through; readers (POP3, IMAP) share
    /// it, so they hear of new mail at once.
    pub fn store(&self) -> &MaildirStore {
        &self.store
    }

    /// The Maildir of a mailbox.
    pub fn path(&self, mailbox: &LocalMailbox) -> PathBuf {
        self.store.user_dir(mailbox)
    }

    /// Delivers `headers` followed by `data` (CRLF text), the message
    /// `key` (its queue ID, and the time it arrived in microseconds since
    /// the Unix epoch), into the mailbox's INBOX;
    /// returns the copy once it is durable, or the copy an earlier try
    /// made.
    ///
    /// A `first_try` (no earlier try of this copy can have made it: the
    /// spool knows, see [`crate::spool::Spool::first_try`]) only puts the
    /// file in `new/`, and the next sync numbers it. Any other try looks
    /// under the lock for an earlier try's copy and gives a new one its
    /// UID at once.
    pub fn deliver(
        &self,
        mailbox: &LocalMailbox,
        key: (QueueId, u64),
        headers: &[u8],
        data: &mut impl Read,
        first_try: bool,
    ) -> io::Result<DeliveredCopy> {
        self.deliver_into(mailbox, false, key, headers, data, first_try)
    }

    /// As [`Maildirs::deliver`], into the user's Junk folder when `junk`
    /// (a quarantined message; the folder is made if need be).
    pub fn deliver_into(
        &self,
        mailbox: &LocalMailbox,
        junk: bool,
        (queue_id, arrived): (QueueId, u64),
        headers: &[u8],
        data: &mut impl Read,
        first_try: bool,
    ) -> io::Result<DeliveredCopy> {
        let maildir = self.path(mailbox);
        crate::mailstore::maildir_internal::make_user(&maildir).map_err(into_io)?;
        let folder = if junk {
            self.store.junk_folder_blocking(mailbox).map_err(into_io)?
        } else {
            crate::mailstore::maildir_internal::inbox()
        };
        // The file in tmp/ has a name of its own at each try: a crash can
        // leave one behind, which must not stop the next try.
        let tmp = maildir.join("tmp").join(unique_name(self.store.host()));
        let (size, vsize) = write_blocking(&tmp, headers, data)?;
        let unique = delivery_unique(arrived, queue_id, mailbox, self.store.host());
        let name = MaildirName::new(&unique, size, vsize);
        let delivered = if first_try {
            self.store
                .deliver_first_blocking(mailbox, &folder, &tmp, &name)
        } else {
            self.store.deliver_blocking(mailbox, &folder, &tmp, &name)
        };
        match delivered {
            Ok(copy) => Ok(copy),
            Err(error) => {
                let _ = std::fs::remove_file(&tmp);
                Err(into_io(error))
            }
        }
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
    use std::fs;

    #[test]
    fn delivery_writes_new_file_named_with_both_sizes_and_gives_it_a_uid() {
        let dir = tempfile::tempdir().unwrap();
        let maildirs = Maildirs::new(dir.path(), "mx.test");
        let mailbox = LocalMailbox {
            domain: "x.test".into(),
            user: "alice".into(),
        };
        let path = maildirs
            .deliver(
                &mailbox,
                (QueueId(1), 1_795_000_000_000_000),
                b"Return-Path: <>\n",
                &mut &b"Subject: hi\r\n\r\nbody\r\n"[..],
                false,
            )
            .unwrap()
            .path;
        let content = fs::read(&path).unwrap();
        assert_eq!(content, b"Return-Path: <>\nSubject: hi\n\nbody\n");
        let name = path.file_name().unwrap().to_str().unwrap();
        let crlf = content.len() + 4;
        assert!(
            name.ends_with(&format!(",S={},W={crlf}", content.len())),
            "{name}"
        );
        assert_eq!(
            path.parent().unwrap(),
            dir.path().join("mail/x.test/alice/new")
        );
        assert!(dir.path().join("mail/x.test/alice/cur").is_dir());
        assert!(dir.path().join("mail/x.test/alice/.Sent/cur").is_dir());
        assert_eq!(
            fs::read_dir(dir.path().join("mail/x.test/alice/tmp"))
                .unwrap()
                .count(),
            0
        );
        let uidlist =
            fs::read_to_string(dir.path().join("mail/x.test/alice/dovecot-uidlist")).unwrap();
        let stem = name;
        assert!(
            uidlist.lines().nth(1) == Some(&format!("1 S{} W{crlf} :{stem}", content.len())),
            "{uidlist}"
        );
        assert!(
            uidlist.starts_with("3 V") && uidlist.contains(" N2"),
            "{uidlist}"
        );
    }
}
