//! Spool files used again: `spool/free/`.
//!
//! Every message received used to create a file (an inode) and every
//! message delivered to delete one. On ext4 without a journal (this
//! project's machines) each new inode is checked against the ones freed
//! in the last half minute (`recently_deleted()` in the kernel's inode
//! allocator), so at a thousand messages a second file creation cost a
//! third of the server's CPU (see the Benchmarks chapter). Everywhere
//! else an inode freed and another allocated are still two bitmap updates
//! that a rename avoids.
//!
//! So a delivered message's file is not deleted: it is renamed into
//! `free/` and emptied, and the next message received takes it instead of
//! creating one. At most [`SPOOL_FREE_FILES_MAX`] wait there (give or take
//! the deliveries finishing at that moment); beyond that a file is deleted
//! as before.
//!
//! Nothing here is synced, as deletion never was. After a crash:
//! - a rename that did not last leaves the message in `queue/`, delivered
//!   again, the duplicate the crash window has always allowed;
//! - an emptying that lasted without its rename leaves an empty file in
//!   `queue/`. A committed message's file is never empty (its data was
//!   synced before it entered `queue/`), so [`is_recycled`] tells these
//!   apart and the spool takes them back at start-up;
//! - a file in `free/` that was not emptied is emptied when it is used.

use postern_core::limits::SPOOL_FREE_FILES_MAX;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The files in `free/`, ready to hold a new message.
#[derive(Debug)]
pub struct FreeFiles {
    dir: PathBuf,
    /// Names of the files in `dir`.
    names: Mutex<Vec<String>>,
}

impl FreeFiles {
    /// The free files in `dir` (which exists), keeping at most
    /// [`SPOOL_FREE_FILES_MAX`] and deleting the rest.
    pub fn open(dir: PathBuf) -> io::Result<FreeFiles> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                fs::remove_file(entry.path())?;
                continue;
            };
            if names.len() < SPOOL_FREE_FILES_MAX {
                names.push(name);
            } else {
                fs::remove_file(entry.path())?;
            }
        }
        names.sort();
        Ok(FreeFiles {
            dir,
            names: Mutex::new(names),
        })
    }

    /// Opens `path` for a new message, empty and private (0600): a free
    /// file moved there if there is one, or a new file. Blocks.
    pub fn create(&self, path: &Path) -> io::Result<File> {
        let taken = self.lock().pop();
        if let Some(name) = taken {
            match fs::rename(self.dir.join(&name), path) {
                Ok(()) => {
                    return OpenOptions::new().write(true).truncate(true).open(path);
                }
                // Someone removed it (an operator cleaning up): make one.
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    }

    /// Takes `path` (a message that needs nothing more) out of its
    /// directory: into `free/` as `name`, emptied, or deleted when
    /// `free/` is full. Blocks.
    pub fn recycle(&self, path: &Path, name: &str) -> io::Result<()> {
        if self.lock().len() >= SPOOL_FREE_FILES_MAX {
            return fs::remove_file(path);
        }
        let to = self.dir.join(name);
        fs::rename(path, &to)?;
        // Emptied after the rename: the message's data is not kept, and a
        // crash that keeps the emptying but not the rename leaves an empty
        // file in queue/, which start-up recognizes. The name is offered
        // only once the file is empty.
        match OpenOptions::new().write(true).truncate(true).open(&to) {
            Ok(_) => self.lock().push(name.to_owned()),
            // The message has left the queue all the same. If the file
            // cannot go either, the next start finds it in free/ and
            // empties it when it is used.
            Err(_) => {
                let _ = fs::remove_file(&to);
            }
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        // A list of names stays valid whatever panicked while holding it.
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Whether a file found in `queue/` is empty: a delivered message whose
/// move to `free/` a crash cut short (see the module).
pub fn is_recycled(path: &Path) -> io::Result<bool> {
    Ok(fs::metadata(path)?.len() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let queue = tmp.path().join("queue");
        let free = tmp.path().join("free");
        fs::create_dir(&queue).unwrap();
        fs::create_dir(&free).unwrap();
        (tmp, queue, free)
    }

    #[test]
    fn a_recycled_file_is_emptied_and_holds_the_next_message() {
        let (_tmp, queue, free) = dirs();
        let files = FreeFiles::open(free.clone()).unwrap();
        let first = queue.join("1");
        files
            .create(&first)
            .unwrap()
            .write_all(b"a message")
            .unwrap();
        let inode = fs::metadata(&first).unwrap().ino();
        files.recycle(&first, "1").unwrap();
        assert!(!first.exists());
        assert_eq!(fs::metadata(free.join("1")).unwrap().len(), 0);

        let second = queue.join("2");
        files.create(&second).unwrap().write_all(b"next").unwrap();
        assert_eq!(fs::metadata(&second).unwrap().ino(), inode, "not reused");
        assert_eq!(fs::read(&second).unwrap(), b"next");
        assert_eq!(fs::read_dir(&free).unwrap().count(), 0);
        let mode = fs::metadata(&second).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_free_file_that_was_not_emptied_is_emptied_when_used() {
        let (_tmp, queue, free) = dirs();
        fs::write(free.join("7"), b"left from before a crash").unwrap();
        let files = FreeFiles::open(free).unwrap();
        let path = queue.join("8");
        files.create(&path).unwrap().write_all(b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn free_is_bounded_and_beyond_it_files_are_deleted() {
        let (_tmp, queue, free) = dirs();
        for n in 0..SPOOL_FREE_FILES_MAX + 3 {
            fs::write(free.join(n.to_string()), b"").unwrap();
        }
        let files = FreeFiles::open(free.clone()).unwrap();
        assert_eq!(files.len(), SPOOL_FREE_FILES_MAX);
        assert_eq!(fs::read_dir(&free).unwrap().count(), SPOOL_FREE_FILES_MAX);

        let path = queue.join("x");
        fs::write(&path, b"delivered").unwrap();
        files.recycle(&path, "x").unwrap();
        assert!(!path.exists());
        assert!(!free.join("x").exists(), "kept beyond the bound");
    }

    #[test]
    fn a_free_file_removed_by_hand_is_replaced_by_a_new_one() {
        let (_tmp, queue, free) = dirs();
        fs::write(free.join("gone"), b"").unwrap();
        let files = FreeFiles::open(free.clone()).unwrap();
        fs::remove_file(free.join("gone")).unwrap();
        let path = queue.join("1");
        files.create(&path).unwrap().write_all(b"ok").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"ok");
    }

    #[test]
    fn only_an_empty_queue_file_counts_as_recycled() {
        let (_tmp, queue, _free) = dirs();
        fs::write(queue.join("empty"), b"").unwrap();
        fs::write(queue.join("message"), b"header").unwrap();
        assert!(is_recycled(&queue.join("empty")).unwrap());
        assert!(!is_recycled(&queue.join("message")).unwrap());
    }
}
