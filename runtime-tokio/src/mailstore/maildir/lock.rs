//! Dovecot's dot-lock discipline for `dovecot-uidlist` and
//! `dovecot-keywords` (`file-dotlock.c`).
//!
//! The lock is `FILE.lock`, created exclusively (`O_EXCL`); the new
//! content is written into it, synced, and renamed over `FILE`, which
//! releases the lock in the same step. A lock left unchanged for
//! [`UIDLIST_LOCK_STALE`] belongs to a process that died and is removed,
//! as Dovecot does. Nobody else writes `FILE` while the lock is held.

use crate::mailstore::StoreError;
use crate::spool::sync_dir;
use postern_core::limits::{UIDLIST_LOCK_STALE, UIDLIST_LOCK_WAIT_MAX};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// A held lock on `target`; dropping it without [`Lock::replace`]
/// removes the lock file and leaves `target` as it was.
#[derive(Debug)]
pub(super) struct Lock {
    target: PathBuf,
    path: PathBuf,
    file: Option<File>,
}

impl Lock {
    /// Takes the lock on `target`, waiting for another holder up to
    /// [`UIDLIST_LOCK_WAIT_MAX`] and breaking a stale lock.
    pub(super) fn acquire(target: &Path) -> Result<Lock, StoreError> {
        let mut name = target.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = target.with_file_name(name);
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(Lock {
                        target: target.to_owned(),
                        path,
                        file: Some(file),
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(error.into()),
            }
            if break_if_stale(&path)? {
                continue;
            }
            if started.elapsed() > UIDLIST_LOCK_WAIT_MAX {
                return Err(StoreError::LockTimeout {
                    file: path.display().to_string(),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Writes `content` into the lock file, syncs it and renames it over
    /// the target (releasing the lock), then syncs the directory.
    pub(super) fn replace(mut self, content: &[u8]) -> Result<(), StoreError> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("lock used twice"))?;
        let written = file.write_all(content).and_then(|()| file.sync_all());
        if let Err(error) = written {
            let _ = fs::remove_file(&self.path);
            return Err(error.into());
        }
        drop(file);
        if let Err(error) = fs::rename(&self.path, &self.target) {
            let _ = fs::remove_file(&self.path);
            return Err(error.into());
        }
        if let Some(dir) = self.target.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Removes a lock file not modified for [`UIDLIST_LOCK_STALE`]; true if
/// it is gone (removed here, or by its holder meanwhile).
fn break_if_stale(path: &Path) -> io::Result<bool> {
    let modified = match fs::metadata(path).and_then(|m| m.modified()) {
        Ok(modified) => modified,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(error) => return Err(error),
    };
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    if age < UIDLIST_LOCK_STALE {
        return Ok(false);
    }
    tracing::warn!(lock = %path.display(), ?age, "removing a stale lock");
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_and_a_stale_lock_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dovecot-uidlist");
        let lock = Lock::acquire(&target).unwrap();
        assert!(dir.path().join("dovecot-uidlist.lock").exists());
        let waiter = {
            let target = target.clone();
            std::thread::spawn(move || Lock::acquire(&target).map(|l| l.replace(b"two")))
        };
        std::thread::sleep(Duration::from_millis(50));
        lock.replace(b"one").unwrap();
        waiter.join().unwrap().unwrap().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");

        let stale = dir.path().join("dovecot-uidlist.lock");
        let file = File::create(&stale).unwrap();
        let old = SystemTime::now() - UIDLIST_LOCK_STALE - Duration::from_secs(1);
        file.set_modified(old).unwrap();
        Lock::acquire(&target).unwrap().replace(b"three").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"three");
        assert!(!stale.exists());
    }

    #[test]
    fn dropping_a_lock_leaves_the_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dovecot-uidlist");
        fs::write(&target, b"kept").unwrap();
        drop(Lock::acquire(&target).unwrap());
        assert_eq!(fs::read(&target).unwrap(), b"kept");
        assert!(!dir.path().join("dovecot-uidlist.lock").exists());
    }
}
