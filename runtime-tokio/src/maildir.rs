//! Maildir delivery (the format of qmail's maildir(5), as Dovecot and
//! Courier read it).
//!
//! A message is written to `tmp/`, synced, renamed into `new/` under a
//! unique name ending in `,S=<size>`, and the `new/` directory is synced.
//! Maildir files use LF line endings, so the spool's CRLF become LF on the
//! way, and the size in the name is the size of the file.
//!
//! Directories are created 0700 and files 0600, whatever the umask.

use crate::spool::{create_dir_durably, sync_dir};
use postern_core::envelope::LocalMailbox;
use std::fs::{self, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// The mailboxes under `DATA_DIR/mail/DOMAIN/USER/`.
#[derive(Debug)]
pub struct Maildirs {
    root: PathBuf,
    /// Our host name, made safe for a file name.
    hostname: String,
    deliveries: AtomicU64,
}

impl Maildirs {
    pub fn new(data_dir: &Path, hostname: &str) -> Self {
        // maildir(5): '/' and ':' cannot appear in the host part.
        let hostname = hostname.replace('/', "\\057").replace(':', "\\072");
        Maildirs {
            root: data_dir.join("mail"),
            hostname,
            deliveries: AtomicU64::new(0),
        }
    }

    /// The Maildir of a mailbox.
    pub fn path(&self, mailbox: &LocalMailbox) -> PathBuf {
        self.root.join(&mailbox.domain).join(&mailbox.user)
    }

    /// Delivers `headers` followed by `data` (CRLF text) into the
    /// mailbox; returns the path of the new file once it is durable.
    pub fn deliver(
        &self,
        mailbox: &LocalMailbox,
        headers: &[u8],
        data: &mut impl Read,
    ) -> io::Result<PathBuf> {
        let maildir = self.path(mailbox);
        for sub in ["tmp", "new", "cur"] {
            create_dir_durably(&maildir.join(sub))?;
        }
        let unique = self.unique_name();
        let tmp = maildir.join("tmp").join(&unique);
        let size = match write_converted(&tmp, headers, data) {
            Ok(size) => size,
            Err(error) => {
                let _ = fs::remove_file(&tmp);
                return Err(error);
            }
        };
        let new = maildir.join("new").join(format!("{unique},S={size}"));
        fs::rename(&tmp, &new)?;
        sync_dir(&maildir.join("new"))?;
        Ok(new)
    }

    /// `SECONDS.M<micros>P<pid>Q<n>.HOST`, unique per delivery on this
    /// host as maildir(5) asks.
    fn unique_name(&self) -> String {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let n = self.deliveries.fetch_add(1, Ordering::Relaxed);
        format!(
            "{}.M{}P{}Q{n}.{}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            self.hostname
        )
    }
}

/// Writes the file, CRLF turned to LF, synced; returns its size.
fn write_converted(path: &Path, headers: &[u8], data: &mut impl Read) -> io::Result<u64> {
    use std::os::unix::fs::OpenOptionsExt;
    // Mail is private to its owner, whatever the umask.
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let mut out = BufWriter::with_capacity(64 * 1024, file);
    let mut converter = LineEndings::default();
    let mut size = 0u64;
    let mut converted = Vec::with_capacity(64 * 1024);
    size += converter.convert(headers, &mut converted);
    out.write_all(&converted)?;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = data.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        converted.clear();
        size += converter.convert(&buffer[..n], &mut converted);
        out.write_all(&converted)?;
    }
    converted.clear();
    size += converter.finish(&mut converted);
    out.write_all(&converted)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(size)
}

/// CRLF to LF across chunk boundaries; a CR not followed by LF is kept.
#[derive(Default)]
struct LineEndings {
    pending_cr: bool,
}

impl LineEndings {
    fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) -> u64 {
        let start = out.len();
        for &byte in input {
            if std::mem::take(&mut self.pending_cr) && byte != b'\n' {
                out.push(b'\r');
            }
            if byte == b'\r' {
                self.pending_cr = true;
            } else {
                out.push(byte);
            }
        }
        (out.len() - start) as u64
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> u64 {
        if std::mem::take(&mut self.pending_cr) {
            out.push(b'\r');
            return 1;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert_in_pieces(input: &[u8], piece: usize) -> Vec<u8> {
        let mut converter = LineEndings::default();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            converter.convert(chunk, &mut out);
        }
        converter.finish(&mut out);
        out
    }

    #[test]
    fn crlf_becomes_lf_whatever_the_chunking() {
        let input = b"a\r\nb\r\n\r\nc\rd\r";
        for piece in 1..input.len() {
            assert_eq!(
                convert_in_pieces(input, piece),
                b"a\nb\n\nc\rd\r",
                "piece {piece}"
            );
        }
    }

    #[test]
    fn delivery_writes_new_file_named_with_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let maildirs = Maildirs::new(dir.path(), "mx.test");
        let mailbox = LocalMailbox {
            domain: "x.test".into(),
            user: "alice".into(),
        };
        let path = maildirs
            .deliver(
                &mailbox,
                b"Return-Path: <>\n",
                &mut &b"Subject: hi\r\n\r\nbody\r\n"[..],
            )
            .unwrap();
        let content = fs::read(&path).unwrap();
        assert_eq!(content, b"Return-Path: <>\nSubject: hi\n\nbody\n");
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(name.ends_with(&format!(",S={}", content.len())), "{name}");
        assert_eq!(
            path.parent().unwrap(),
            dir.path().join("mail/x.test/alice/new")
        );
        assert!(dir.path().join("mail/x.test/alice/cur").is_dir());
        assert_eq!(
            fs::read_dir(dir.path().join("mail/x.test/alice/tmp"))
                .unwrap()
                .count(),
            0
        );
    }
}
