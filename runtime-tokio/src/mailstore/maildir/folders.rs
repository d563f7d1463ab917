//! A user's folders on disk: Maildir++ directories beside INBOX's `cur/
//! new/ tmp/`, and Dovecot's `subscriptions` file.
//!
//! Blocking file work: run it on a blocking thread.

use crate::mailstore::{DEFAULT_FOLDERS, FolderName, StoreError};
use crate::spool::{create_dir_durably, sync_dir};
use postern_core::limits::FOLDERS_PER_USER_MAX;
use postern_core::limits::SPECIAL_USE_FILE_BYTES_MAX;
use postern_core::mailbox::folder::{SpecialUse, SpecialUses};
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const SUBSCRIPTIONS: &str = "subscriptions";

/// Special uses set by `CREATE ... USE` (RFC 6154 3), ours: Dovecot keeps
/// them in its configuration, not beside the mail.
pub(super) const SPECIAL_USE: &str = "postern-special-use";

/// Creates INBOX, the default folders and the subscriptions file the first
/// time a user's Maildir is used (the subscriptions file marks it done, so
/// a folder the user deleted is not made again).
pub(crate) fn ensure_user(root: &Path) -> Result<(), StoreError> {
    ensure_mailbox(root, true)
}

/// Creates INBOX and the subscriptions file the first time a Maildir is
/// used, and the default folders too where `default_folders` says so (a
/// user's mailbox; not a newsgroup's).
pub(super) fn ensure_mailbox(root: &Path, default_folders: bool) -> Result<(), StoreError> {
    if root.join(SUBSCRIPTIONS).exists() {
        return Ok(());
    }
    make_maildir(root)?;
    let mut names = Vec::new();
    for name in DEFAULT_FOLDERS.iter().filter(|_| default_folders) {
        let folder = FolderName::parse(name).map_err(StoreError::BadFolderName)?;
        make_folder(root, &folder)?;
        names.push(folder);
    }
    write_subscriptions(root, &names)
}

/// `cur/ new/ tmp/`, durably.
pub(super) fn make_maildir(dir: &Path) -> Result<(), StoreError> {
    for sub in ["tmp", "new", "cur"] {
        create_dir_durably(&dir.join(sub))?;
    }
    Ok(())
}

/// The directory of a folder.
pub(super) fn folder_dir(root: &Path, folder: &FolderName) -> PathBuf {
    match folder.dir_name() {
        Some(dir) => root.join(dir),
        None => root.to_owned(),
    }
}

/// A Maildir++ folder: its Maildir and the empty `maildirfolder` file
/// that marks it as one (Maildir++, and Dovecot's rule for subfolders).
fn make_folder(root: &Path, folder: &FolderName) -> Result<(), StoreError> {
    let dir = folder_dir(root, folder);
    make_maildir(&dir)?;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(dir.join("maildirfolder"))?;
    Ok(())
}

/// Every folder on disk, INBOX first, then by name.
pub(super) fn list(root: &Path) -> Result<Vec<FolderName>, StoreError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let Some(name) = entry
            .file_name()
            .to_str()
            .and_then(FolderName::from_dir_name)
        else {
            continue;
        };
        if entry.file_type()?.is_dir() {
            names.push(name);
            if names.len() > FOLDERS_PER_USER_MAX {
                return Err(StoreError::Damaged {
                    file: root.display().to_string(),
                    reason: format!("more than {FOLDERS_PER_USER_MAX} folders"),
                });
            }
        }
    }
    names.sort();
    let inbox = FolderName::parse(crate::mailstore::INBOX).map_err(StoreError::BadFolderName)?;
    names.insert(0, inbox);
    Ok(names)
}

pub(super) fn create(root: &Path, folder: &FolderName) -> Result<(), StoreError> {
    if folder.is_inbox() || folder_dir(root, folder).exists() {
        return Err(StoreError::FolderExists(folder.to_string()));
    }
    if list(root)?.len() > FOLDERS_PER_USER_MAX {
        return Err(StoreError::Io(io::Error::other(format!(
            "a user has at most {FOLDERS_PER_USER_MAX} folders"
        ))));
    }
    // Not subscribed: CREATE does not subscribe (RFC 9051 6.3.4), as
    // Dovecot does not.
    make_folder(root, folder)
}

/// Removes the folder and its subfolders.
pub(super) fn delete(root: &Path, folder: &FolderName) -> Result<(), StoreError> {
    if folder.is_inbox() {
        return Err(StoreError::InboxIsPermanent);
    }
    if !folder_dir(root, folder).is_dir() {
        return Err(StoreError::NoSuchFolder(folder.to_string()));
    }
    for name in list(root)? {
        if name.is_within(folder) {
            fs::remove_dir_all(folder_dir(root, &name))?;
        }
    }
    sync_dir(root)?;
    // The subscriptions stay: a server must not remove a name from them
    // because its folder is gone (RFC 3501 6.3.6; LIST shows it
    // `\NonExistent`, RFC 5258).
    let mut uses = special_uses(root)?;
    let before = uses.0.len();
    uses.0.retain(|name, _| !name.is_within(folder));
    if uses.0.len() != before {
        write_special_uses(root, &uses)?;
    }
    Ok(())
}

/// Renames the folder and its subfolders; returns the pairs renamed.
pub(super) fn rename(
    root: &Path,
    from: &FolderName,
    to: &FolderName,
) -> Result<Vec<(FolderName, FolderName)>, StoreError> {
    if from.is_inbox() || to.is_inbox() {
        return Err(StoreError::InboxIsPermanent);
    }
    if !folder_dir(root, from).is_dir() {
        return Err(StoreError::NoSuchFolder(from.to_string()));
    }
    if folder_dir(root, to).exists() {
        return Err(StoreError::FolderExists(to.to_string()));
    }
    let mut renamed = Vec::new();
    for name in list(root)? {
        if name.is_within(from) {
            let tail = &name.as_str()[from.as_str().len()..];
            let new =
                FolderName::parse(&format!("{to}{tail}")).map_err(StoreError::BadFolderName)?;
            fs::rename(folder_dir(root, &name), folder_dir(root, &new))?;
            renamed.push((name, new));
        }
    }
    sync_dir(root)?;
    let subscribed: Vec<FolderName> = subscriptions(root)?
        .into_iter()
        .map(|name| {
            renamed
                .iter()
                .find(|(old, _)| *old == name)
                .map_or(name, |(_, new)| new.clone())
        })
        .collect();
    write_subscriptions(root, &subscribed)?;
    let mut uses = special_uses(root)?;
    let mut moved = false;
    for (old, new) in &renamed {
        if let Some(use_) = uses.0.remove(old) {
            uses.0.insert(new.clone(), use_);
            moved = true;
        }
    }
    if moved {
        write_special_uses(root, &uses)?;
    }
    Ok(renamed)
}

/// Subscribes to a folder or unsubscribes from it; the folder need not
/// exist (RFC 9051 6.3.7).
pub(super) fn set_subscribed(
    root: &Path,
    folder: &FolderName,
    subscribed: bool,
) -> Result<(), StoreError> {
    let mut names = subscriptions(root)?;
    let present = names.contains(folder);
    if subscribed && !present {
        if names.len() >= FOLDERS_PER_USER_MAX {
            return Err(StoreError::Io(io::Error::other(format!(
                "a user has at most {FOLDERS_PER_USER_MAX} subscriptions"
            ))));
        }
        names.push(folder.clone());
    } else if !subscribed && present {
        names.retain(|name| name != folder);
    } else {
        return Ok(());
    }
    write_subscriptions(root, &names)
}

/// The special uses written for the user's folders (`postern-special-use`);
/// a damaged file is an error naming it.
pub(super) fn special_uses(root: &Path) -> Result<SpecialUses, StoreError> {
    let path = root.join(SPECIAL_USE);
    let mut text = String::new();
    match fs::File::open(&path) {
        Ok(file) => {
            file.take(SPECIAL_USE_FILE_BYTES_MAX + 1)
                .read_to_string(&mut text)?;
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(SpecialUses::default()),
        Err(error) => return Err(error.into()),
    }
    let damaged = |reason: String| StoreError::Damaged {
        file: path.display().to_string(),
        reason: format!("{reason}; fix the line or remove the file (the uses it sets are lost)"),
    };
    if text.len() as u64 > SPECIAL_USE_FILE_BYTES_MAX {
        return Err(damaged(format!(
            "larger than {SPECIAL_USE_FILE_BYTES_MAX} octets"
        )));
    }
    SpecialUses::parse(&text).map_err(damaged)
}

/// Sets (or, with `None`, clears) a folder's special use.
pub(super) fn set_special_use(
    root: &Path,
    folder: &FolderName,
    special_use: Option<SpecialUse>,
) -> Result<(), StoreError> {
    let mut uses = special_uses(root)?;
    match special_use {
        Some(use_) => uses.0.insert(folder.clone(), use_),
        None => uses.0.remove(folder),
    };
    write_special_uses(root, &uses)
}

fn write_special_uses(root: &Path, uses: &SpecialUses) -> Result<(), StoreError> {
    super::lock::write_atomically(&root.join(SPECIAL_USE), uses.render().as_bytes())
}

/// The subscribed folders. Dovecot reads (and we write) one name per line;
/// Dovecot 2.3's version 2 (`V\t2` first, then names with `\t` between
/// levels) is read too. Names we cannot use are skipped.
pub(super) fn subscriptions(root: &Path) -> Result<Vec<FolderName>, StoreError> {
    let mut text = String::new();
    match fs::File::open(root.join(SUBSCRIPTIONS)) {
        Ok(file) => {
            file.take(1024 * 1024).read_to_string(&mut text)?;
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    }
    let mut lines = text.lines().peekable();
    let version_2 = lines.peek().is_some_and(|l| l.starts_with("V\t"));
    if version_2 {
        lines.next();
    }
    Ok(lines
        .filter(|line| !line.is_empty())
        .take(FOLDERS_PER_USER_MAX)
        .filter_map(|line| {
            let name = if version_2 {
                line.replace('\t', ".")
            } else {
                line.to_owned()
            };
            FolderName::parse(&name).ok()
        })
        .collect())
}

fn write_subscriptions(root: &Path, names: &[FolderName]) -> Result<(), StoreError> {
    let mut text = String::new();
    for name in names {
        text.push_str(name.as_str());
        text.push('\n');
    }
    // Two processes may set a user up at once: each its own temporary file.
    let tmp = root.join(format!("subscriptions.{}.tmp", super::unique_name("tmp")));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, root.join(SUBSCRIPTIONS))?;
    sync_dir(root)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> FolderName {
        FolderName::parse(s).unwrap()
    }

    #[test]
    fn a_new_user_gets_inbox_the_default_folders_and_subscriptions() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("alice");
        ensure_user(&root).unwrap();
        for sub in [
            "cur",
            "new",
            "tmp",
            ".Sent/cur",
            ".Junk/new",
            ".Archive/tmp",
        ] {
            assert!(root.join(sub).is_dir(), "{sub}");
        }
        assert!(root.join(".Trash/maildirfolder").is_file());
        assert_eq!(
            fs::read_to_string(root.join("subscriptions")).unwrap(),
            "Sent\nDrafts\nTrash\nJunk\nArchive\n"
        );
        let listed: Vec<String> = list(&root).unwrap().iter().map(|f| f.to_string()).collect();
        assert_eq!(
            listed,
            ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"]
        );
    }

    #[test]
    fn folders_are_created_renamed_with_their_children_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        ensure_user(&root).unwrap();
        create(&root, &name("Work")).unwrap();
        create(&root, &name("Work.2026")).unwrap();
        assert!(matches!(
            create(&root, &name("Work")),
            Err(StoreError::FolderExists(_))
        ));
        // CREATE does not subscribe (RFC 9051 6.3.4).
        assert!(!subscriptions(&root).unwrap().contains(&name("Work.2026")));
        set_subscribed(&root, &name("Work.2026"), true).unwrap();
        rename(&root, &name("Work"), &name("Job")).unwrap();
        assert!(root.join(".Job.2026/cur").is_dir());
        assert!(!root.join(".Work").exists());
        let subscribed = subscriptions(&root).unwrap();
        assert!(subscribed.contains(&name("Job.2026")), "{subscribed:?}");
        delete(&root, &name("Job")).unwrap();
        assert!(!root.join(".Job.2026").exists());
        // The subscription outlives the folder (RFC 3501 6.3.6).
        assert!(subscriptions(&root).unwrap().contains(&name("Job.2026")));
        assert!(matches!(
            delete(&root, &name("INBOX")),
            Err(StoreError::InboxIsPermanent)
        ));
        assert!(matches!(
            delete(&root, &name("Nope")),
            Err(StoreError::NoSuchFolder(_))
        ));
    }

    #[test]
    fn dovecot_version_2_subscriptions_are_read() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("subscriptions"),
            "V\t2\n\nSent\nArchive\t2026\n",
        )
        .unwrap();
        assert_eq!(
            subscriptions(dir.path()).unwrap(),
            [name("Sent"), name("Archive.2026")]
        );
    }
}
