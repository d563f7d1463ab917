//! Dovecot's dot-lock discipline for `dovecot-uidlist` and
//! `dovecot-keywords` (`file-dotlock.c`).
//!
//! The lock is `FILE.lock`, created exclusively; while it is held nobody
//! else writes `FILE`. The new content is written to a file of its own in
//! the Maildir's `tmp/`, synced, renamed over `FILE`, and then the lock is
//! removed. A lock left unchanged for [`UIDLIST_LOCK_STALE`] belongs to a
//! process that died and is removed, as Dovecot does.
//!
//! A lock of ours reads `PID:HOST:TOKEN` from the moment it exists to the
//! moment it is removed (Dovecot's dot-locks begin `PID:HOST` too),
//! `TOKEN` telling this process from an earlier one with the same PID: it
//! is written to a file in `tmp/` first and linked into place, so no
//! lock of ours is ever empty or half written while the system runs. A
//! lock whose process is gone (a crash, a SIGKILL at any instant) is
//! therefore always known as ours and broken at once rather than after
//! two minutes, so a restart delivers without waiting. The line is not
//! synced (that was an fsync on every store call): a crash of the whole
//! system can leave the lock empty, and an empty lock made before the
//! system booted is broken at once too.

use crate::mailstore::StoreError;
use crate::spool::sync_dir;
use postern_core::limits::{UIDLIST_LOCK_STALE, UIDLIST_LOCK_WAIT_MAX};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
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
            match create_with_owner(&path) {
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
            if break_if_stale(&path)? || break_if_owner_died(&path)? {
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

    /// Writes `content` to a new file, syncs it, renames it over the
    /// target and syncs the directory; then releases the lock. The lock
    /// keeps its owner line throughout, so a crash at any point leaves a
    /// lock that is known as ours.
    pub(super) fn replace(self, content: &[u8]) -> Result<(), StoreError> {
        self.write(content)
        // Drop removes the lock file.
    }

    /// As [`Lock::replace`], keeping the lock: files that go with the
    /// target (`postern-modseq`) are written under it next.
    pub(super) fn write(&self, content: &[u8]) -> Result<(), StoreError> {
        write_atomically(&self.target, content)
    }

    /// As [`Lock::write`] without the directory's fsync: the caller syncs
    /// the directory before anyone hears of the change.
    pub(super) fn write_leaving_dir(&self, content: &[u8]) -> Result<(), StoreError> {
        replace_leaving_dir(&self.target, content)
    }
}

/// [`write_atomically`] but for the directory's fsync.
pub(super) fn replace_leaving_dir(target: &Path, content: &[u8]) -> Result<(), StoreError> {
    let new = scratch_path(target, "new");
    let written = write_synced(&new, content).and_then(|()| fs::rename(&new, target));
    if let Err(error) = written {
        let _ = fs::remove_file(&new);
        return Err(error.into());
    }
    Ok(())
}

/// Replaces `target` with `content`: a scratch file (in the Maildir's
/// `tmp/` when there is one), synced, renamed over it, the directory
/// synced. A crash leaves the old file or the new one, never a torn one.
pub(super) fn write_atomically(target: &Path, content: &[u8]) -> Result<(), StoreError> {
    replace_leaving_dir(target, content)?;
    if let Some(dir) = target.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Creates the lock at `path` holding our owner line, or fails with
/// `AlreadyExists`: the line is written to a scratch file and hard-linked
/// into place, so the lock never exists without it.
///
/// The scratch file is not synced: after a crash of the process its line
/// is in the page cache and reads back; only a crash of the system can
/// lose it, and a lock made before the system booted has no live holder
/// ([`break_if_owner_died`] removes it). Syncing it cost an fsync on
/// every store call, NOOP included.
fn create_with_owner(path: &Path) -> io::Result<File> {
    let scratch = scratch_path(path, "lock");
    write_new(&scratch, owner().as_bytes())?;
    let linked = fs::hard_link(&scratch, path);
    let _ = fs::remove_file(&scratch);
    linked?;
    OpenOptions::new().read(true).open(path)
}

/// A file name of our own beside `target`: in the Maildir's `tmp/` when
/// there is one (Dovecot removes what a crash leaves there after 36
/// hours), unique to this process and call.
fn scratch_path(target: &Path, purpose: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = target.parent().unwrap_or(Path::new("."));
    let tmp = dir.join("tmp");
    let dir = if tmp.is_dir() { tmp } else { dir.to_owned() };
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    dir.join(format!(
        "{name}.{purpose}.{}.{}.{n}",
        std::process::id(),
        token()
    ))
}

/// Writes a new file (0600) with `content` and syncs it.
fn write_synced(path: &Path, content: &[u8]) -> io::Result<()> {
    write_new(path, content)?.sync_all()
}

/// Writes a new file (0600) with `content`, not synced.
fn write_new(path: &Path, content: &[u8]) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content)?;
    Ok(file)
}

/// When this system booted (`btime` in `/proc/stat`), if it can be read.
fn boot_time() -> Option<SystemTime> {
    static BOOT: std::sync::OnceLock<Option<SystemTime>> = std::sync::OnceLock::new();
    *BOOT.get_or_init(|| {
        let stat = fs::read_to_string("/proc/stat").ok()?;
        let secs = stat
            .lines()
            .find_map(|line| line.strip_prefix("btime "))?
            .trim()
            .parse::<u64>()
            .ok()?;
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    })
}

/// The lock was made before this system booted: no process holds it now.
fn made_before_boot(path: &Path) -> io::Result<bool> {
    let modified = fs::metadata(path)?.modified()?;
    Ok(boot_time().is_some_and(|boot| modified < boot))
}

impl Drop for Lock {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// What a lock we hold reads: `PID:HOST:TOKEN`.
fn owner() -> String {
    format!("{}:{}:{}", std::process::id(), host(), token())
}

fn host() -> String {
    let mut name = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many octets.
    let ok = unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) } == 0;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    if ok {
        String::from_utf8_lossy(&name[..end]).into_owned()
    } else {
        "localhost".to_owned()
    }
}

/// Tells this process from an earlier one that had the same PID: the
/// time this process first took a lock.
fn token() -> u128 {
    static TOKEN: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    *TOKEN.get_or_init(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(1)
    })
}

/// Removes a lock that one of our processes on this host took and that
/// process is gone; true if the lock is gone. A lock taken by anyone else
/// (Dovecot writes the new list into it) waits for [`break_if_stale`].
fn break_if_owner_died(path: &Path) -> io::Result<bool> {
    let mut head = String::new();
    match File::open(path) {
        Ok(file) => {
            let _ = file.take(300).read_to_string(&mut head);
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(error) => return Err(error),
    }
    if head.is_empty() {
        // Ours, its line lost with the system that crashed while it was
        // held (it is not synced), or Dovecot's cut short the same way:
        // gone if it predates the boot.
        return match made_before_boot(path) {
            Ok(true) => remove_dead(path, 0),
            Ok(false) => Ok(false),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(error) => Err(error),
        };
    }
    let mut parts = head.trim_end().splitn(3, ':');
    let (Some(pid), Some(lock_host), Some(lock_token)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(false);
    };
    let (Ok(pid), Ok(lock_token)) = (pid.parse::<i32>(), lock_token.parse::<u128>()) else {
        return Ok(false);
    };
    if lock_host != host() || pid <= 0 {
        return Ok(false);
    }
    let dead = if pid as u32 == std::process::id() {
        lock_token != token()
    } else {
        // SAFETY: kill with signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
        !alive
    };
    if !dead {
        return Ok(false);
    }
    remove_dead(path, pid)
}

fn remove_dead(path: &Path, pid: i32) -> io::Result<bool> {
    tracing::warn!(lock = %path.display(), pid, "removing the lock of a process that is gone");
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(error) => Err(error),
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
    fn a_lock_whose_process_is_gone_is_broken_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dovecot-uidlist");
        let lock_path = dir.path().join("dovecot-uidlist.lock");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::write(&lock_path, format!("{dead}:{}:{}", host(), token())).unwrap();
        let started = Instant::now();
        Lock::acquire(&target).unwrap().replace(b"new").unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(fs::read(&target).unwrap(), b"new");
        // Our own PID from an earlier run (another token) is gone too.
        fs::write(&lock_path, format!("{}:{}:1", std::process::id(), host())).unwrap();
        Lock::acquire(&target).unwrap().replace(b"again").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"again");
    }

    #[test]
    fn an_empty_lock_from_before_the_boot_is_broken_and_a_fresh_one_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dovecot-uidlist");
        let lock_path = dir.path().join("dovecot-uidlist.lock");
        // Being written right now (by Dovecot, or by us before the link).
        File::create(&lock_path).unwrap();
        assert!(!break_if_owner_died(&lock_path).unwrap());
        assert!(lock_path.exists());
        // Left by a system crash: its line never reached the disk.
        let boot = boot_time().expect("/proc/stat names the boot time");
        let file = File::options().write(true).open(&lock_path).unwrap();
        file.set_modified(boot - Duration::from_secs(5)).unwrap();
        let started = Instant::now();
        Lock::acquire(&target).unwrap().replace(b"new").unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn a_lock_of_a_live_process_or_of_dovecot_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let lock_path = dir.path().join("dovecot-uidlist.lock");
        // This process, this run: held by another store here.
        fs::write(&lock_path, owner()).unwrap();
        assert!(!break_if_owner_died(&lock_path).unwrap());
        // Dovecot writes the new list into its lock: no owner to check.
        fs::write(&lock_path, "3 V1 N1\n").unwrap();
        assert!(!break_if_owner_died(&lock_path).unwrap());
        assert!(!break_if_stale(&lock_path).unwrap());
        assert!(lock_path.exists());
    }

    #[test]
    fn a_held_lock_always_names_its_owner_and_leaves_no_scratch_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("tmp")).unwrap();
        let target = dir.path().join("dovecot-uidlist");
        let lock = Lock::acquire(&target).unwrap();
        let lock_path = dir.path().join("dovecot-uidlist.lock");
        assert_eq!(fs::read_to_string(&lock_path).unwrap(), owner());
        lock.replace(b"3 V1 N1\n").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"3 V1 N1\n");
        assert!(!lock_path.exists());
        let left: Vec<_> = fs::read_dir(dir.path().join("tmp")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
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
