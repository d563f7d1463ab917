//! `[server] log_file`: log lines appended to a file that logrotate can
//! move away. After the move, SIGUSR1 makes the server open the name
//! again (a new, empty file) and write there; lines already written stay
//! in the moved file. (SIGHUP reloads the configuration instead.)
//!
//! Without `log_file`, lines go to standard error, which systemd sends
//! to the journal.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tracing_subscriber::fmt::MakeWriter;

/// The mode of a log file the server creates: its owner writes, its group
/// (adm, say, for an operator) reads; log lines name addresses.
const LOG_FILE_MODE: u32 = 0o640;

/// A log file that can be opened again under its name.
pub struct LogFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl LogFile {
    /// Opens (creating it if needed) `path` for appending.
    pub fn open(path: &Path) -> io::Result<Arc<LogFile>> {
        Ok(Arc::new(LogFile {
            path: path.to_path_buf(),
            file: Mutex::new(open_append(path)?),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the name again and writes there from now on. If the name
    /// cannot be opened, the old file is kept and the error returned.
    pub fn reopen(&self) -> io::Result<()> {
        let fresh = open_append(&self.path)?;
        *self.lock() = fresh;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        // A panic while writing a log line leaves a file that is still
        // fine to write to.
        self.file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(LOG_FILE_MODE)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Where tracing's formatter writes: the log file. Each event is written
/// whole under the lock, so lines of two threads never interleave.
#[derive(Clone)]
pub struct LogFileWriter(pub Arc<LogFile>);

impl Write for LogFileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().flush()
    }
}

impl<'a> MakeWriter<'a> for LogFileWriter {
    type Writer = LogFileWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Opens the log file again on every SIGUSR1, for logrotate's
/// `postrotate`. Call it inside the runtime, before anything listens.
/// Without a log file the signal is only logged: its default action
/// would kill the server.
pub fn reopen_on_usr1(log: Option<Arc<LogFile>>) -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handler = signal(SignalKind::user_defined1());
    async move {
        let Ok(mut signals) = handler else {
            tracing::warn!("cannot listen for SIGUSR1; the log file will not be reopened");
            return;
        };
        while signals.recv().await.is_some() {
            let Some(log) = &log else {
                tracing::info!(
                    "SIGUSR1: no [server] log_file to reopen; logging to standard error"
                );
                continue;
            };
            match log.reopen() {
                Ok(()) => tracing::info!("SIGUSR1: reopened the log file {}", log.path().display()),
                Err(error) => {
                    tracing::error!("SIGUSR1: kept writing to the old log file: {error}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopen_writes_to_a_new_file_after_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("postern.log");
        let log = LogFile::open(&path).unwrap();
        let mut writer = LogFileWriter(Arc::clone(&log));
        writer.write_all(b"one\n").unwrap();
        std::fs::rename(&path, dir.path().join("postern.log.1")).unwrap();
        writer.write_all(b"two\n").unwrap();
        log.reopen().unwrap();
        writer.write_all(b"three\n").unwrap();
        let moved = std::fs::read_to_string(dir.path().join("postern.log.1")).unwrap();
        assert_eq!(moved, "one\ntwo\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
    }

    #[test]
    fn a_name_that_cannot_be_opened_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/postern.log");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let log = LogFile::open(&path).unwrap();
        std::fs::rename(dir.path().join("sub"), dir.path().join("gone")).unwrap();
        let error = log.reopen().unwrap_err();
        assert!(error.to_string().contains("sub/postern.log"), "{error}");
        LogFileWriter(Arc::clone(&log))
            .write_all(b"still\n")
            .unwrap();
        let kept = std::fs::read_to_string(dir.path().join("gone/postern.log")).unwrap();
        assert_eq!(kept, "still\n");
    }
}
