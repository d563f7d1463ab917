//! `postern storage export --maildir DIR`: every mailbox kept in
//! PostgreSQL written as Maildir under `DIR/DOMAIN/USER`, as Postern's
//! files backend keeps mail and Dovecot reads it: the folders (Maildir++
//! directories), each message a file with its flags and keyword letters
//! in its name and its internal date as its mtime, `dovecot-uidlist`
//! with the same UIDVALIDITY, UIDs and UIDNEXT, `dovecot-keywords`,
//! `subscriptions`, and the special uses `CREATE ... USE` gave.
//!
//! The Maildir store makes the directories (and a user's default
//! folders, removed again where the user had deleted them); its
//! [`FolderWriter`](crate::mailstore::FolderWriter) writes each folder.
//! At the end a fresh Maildir store opens every folder written and the
//! export fails unless each holds what the database held (UIDVALIDITY,
//! UIDNEXT, and per message its UID, flags, keywords, internal date and
//! size). MODSEQs start over: the Maildir keeps its own.

use crate::mailstore::{
    DEFAULT_FOLDERS, FolderName, MailboxStore, MaildirStore, SpecialUse, StoreError,
};
use crate::storage::postgres::PgMailboxStore;
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::Snapshot;
use std::path::Path;

/// What an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exported {
    pub users: usize,
    pub folders: usize,
    pub messages: usize,
}

/// Writes every mailbox of `source` under `dir`, which must be empty or
/// not exist yet. Errors are operator-ready text.
pub async fn export_maildir(
    source: &PgMailboxStore,
    dir: &Path,
    hostname: &str,
) -> Result<Exported, String> {
    check_empty(dir)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let target = MaildirStore::at_root(dir, hostname);
    let mut exported = Exported::default();
    let mut after: Option<LocalMailbox> = None;
    loop {
        let users = source
            .users(after.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = users.last().cloned() else {
            break;
        };
        for mailbox in &users {
            let folders = export_user(source, &target, mailbox)
                .await
                .map_err(|e| format!("{mailbox}: {e}"))?;
            exported.users += 1;
            exported.folders += folders.len();
            exported.messages += folders.iter().map(|(_, s)| s.messages.len()).sum::<usize>();
            read_back(dir, hostname, mailbox, &folders).await?;
        }
        after = Some(last);
    }
    Ok(exported)
}

/// Opens every folder written with a store that has seen nothing of the
/// writing; an error unless each holds what the database held.
async fn read_back(
    dir: &Path,
    hostname: &str,
    mailbox: &LocalMailbox,
    folders: &[(FolderName, Snapshot)],
) -> Result<(), String> {
    let reader = MaildirStore::at_root(dir, hostname);
    for (name, expected) in folders {
        let found = reader
            .open(mailbox, name.as_str())
            .await
            .map_err(|e| format!("{mailbox} {name}: reading the export back: {e}"))?;
        check_same(expected, &found).map_err(|e| {
            format!("{mailbox} {name}: the export does not hold what the database held: {e}")
        })?;
    }
    Ok(())
}

fn check_empty(dir: &Path) -> Result<(), String> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "{} is not empty; refusing to write mailboxes among what it holds\n  help: name a new or empty directory",
                    dir.display()
                ));
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(format!("cannot read {}: {error}", dir.display())),
    }
}

/// One user's folders and subscriptions; answers each folder written with
/// what it held.
async fn export_user(
    source: &PgMailboxStore,
    target: &MaildirStore,
    mailbox: &LocalMailbox,
) -> Result<Vec<(FolderName, Snapshot)>, StoreError> {
    let folders = source.folders(mailbox).await?;
    let subscriptions = source.subscriptions(mailbox).await?;
    // The Maildir, with the default folders and their subscriptions.
    for name in target.subscriptions(mailbox).await? {
        target.subscribe(mailbox, &name, false).await?;
    }
    let mut names = Vec::new();
    for status in &folders {
        names.push(FolderName::parse(&status.name).map_err(StoreError::BadFolderName)?);
    }
    for default in DEFAULT_FOLDERS {
        let default = FolderName::parse(default).map_err(StoreError::BadFolderName)?;
        let explicit = folders
            .iter()
            .find(|f| f.name == default.as_str())
            .map(|f| f.special_use != SpecialUse::of_default_folder(&default));
        // Gone from the database, or with a use of its own to write.
        if explicit != Some(false) {
            target.delete_folder(mailbox, default.as_str()).await?;
        }
    }
    for (status, name) in folders.iter().zip(&names) {
        let exists = name.is_inbox()
            || (DEFAULT_FOLDERS.contains(&name.as_str())
                && status.special_use == SpecialUse::of_default_folder(name));
        if !exists {
            let special_use = status
                .special_use
                .filter(|u| Some(*u) != SpecialUse::of_default_folder(name));
            target
                .create_folder_with_use(mailbox, name.as_str(), special_use)
                .await?;
        }
    }
    for name in &subscriptions {
        target.subscribe(mailbox, name, true).await?;
    }
    let mut written = Vec::new();
    for name in names {
        let snapshot = export_folder(source, target, mailbox, &name).await?;
        written.push((name, snapshot));
    }
    Ok(written)
}

/// One folder's messages, streamed from the database into files.
async fn export_folder(
    source: &PgMailboxStore,
    target: &MaildirStore,
    mailbox: &LocalMailbox,
    name: &FolderName,
) -> Result<Snapshot, StoreError> {
    let mut snapshot = source.open(mailbox, name.as_str()).await?;
    let mut writer =
        target.restore_folder(mailbox, name, snapshot.uid_validity, snapshot.uid_next)?;
    let mut kept = Vec::with_capacity(snapshot.messages.len());
    for meta in snapshot.messages {
        match source.read(mailbox, name.as_str(), meta.uid).await {
            Ok(reader) => {
                writer.add(&meta, reader).await?;
                kept.push(meta);
            }
            // Expunged since the folder was listed: gone, not exported.
            Err(StoreError::NoSuchMessage(_)) => {}
            Err(error) => return Err(error),
        }
    }
    writer.finish()?;
    snapshot.messages = kept;
    Ok(snapshot)
}

/// The same UIDVALIDITY, UIDNEXT and messages, MODSEQs aside.
fn check_same(expected: &Snapshot, found: &Snapshot) -> Result<(), String> {
    if (expected.uid_validity, expected.uid_next) != (found.uid_validity, found.uid_next) {
        return Err(format!(
            "UIDVALIDITY {} UIDNEXT {} written, {} {} read",
            expected.uid_validity, expected.uid_next, found.uid_validity, found.uid_next
        ));
    }
    if expected.messages.len() != found.messages.len() {
        return Err(format!(
            "{} messages written, {} read",
            expected.messages.len(),
            found.messages.len()
        ));
    }
    for (a, b) in expected.messages.iter().zip(&found.messages) {
        let same = (a.uid, a.flags, &a.keywords, a.internal_date, a.size)
            == (b.uid, b.flags, &b.keywords, b.internal_date, b.size);
        if !same {
            return Err(format!("UID {} written as {a:?}, read as {b:?}", a.uid));
        }
    }
    Ok(())
}
