//! TEMPORARY: POP3 over the plain Maildir that delivery writes today
//! (`DATA_DIR/mail/DOMAIN/USER/{new,cur}`), until the mailbox store
//! (Maildir with `dovecot-uidlist` UIDs) replaces it. Its UIDs are not
//! lasting: a message's UID is its position in a sorted listing of the
//! files, and UIDVALIDITY is always 1. Everything else is as the real
//! store must do it: sizes as clients see them (LF files read as CRLF),
//! the lock held for the session, deletions only at the update, synced.

use super::{MaildropHandle, MaildropLock, MaildropLocks, Maildrops};
use postern_core::envelope::LocalMailbox;
use postern_core::pop3::{Maildrop, MaildropFailure, MaildropMessage};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, ReadBuf};

/// The Maildirs under `DATA_DIR/mail`, and their locks.
#[derive(Debug)]
pub struct TemporaryMaildrops {
    root: PathBuf,
    locks: MaildropLocks,
}

impl TemporaryMaildrops {
    pub fn new(data_dir: &Path) -> Self {
        TemporaryMaildrops {
            root: data_dir.join("mail"),
            locks: MaildropLocks::default(),
        }
    }

    pub fn locks(&self) -> &MaildropLocks {
        &self.locks
    }
}

/// One message file.
#[derive(Debug)]
struct Entry {
    uid: u32,
    path: PathBuf,
}

/// A session's hold on one Maildir.
#[derive(Debug)]
pub struct TemporaryHandle {
    maildir: PathBuf,
    entries: Vec<Entry>,
    _lock: MaildropLock,
}

impl Maildrops for TemporaryMaildrops {
    type Handle = TemporaryHandle;

    async fn open(
        &self,
        mailbox: &LocalMailbox,
    ) -> Result<(Maildrop, TemporaryHandle), MaildropFailure> {
        let maildir = self.root.join(&mailbox.domain).join(&mailbox.user);
        let key = maildir.to_string_lossy().into_owned();
        let lock = self.locks.try_lock(&key).ok_or(MaildropFailure::InUse)?;
        let listed = {
            let maildir = maildir.clone();
            tokio::task::spawn_blocking(move || list(&maildir)).await
        };
        let listed = match listed {
            Ok(Ok(listed)) => listed,
            Ok(Err(error)) => {
                tracing::error!(%error, maildir = %maildir.display(), "cannot list a maildrop");
                return Err(MaildropFailure::Unavailable);
            }
            Err(error) => {
                tracing::error!(%error, "listing a maildrop failed");
                return Err(MaildropFailure::Unavailable);
            }
        };
        let (entries, messages) = listed.into_iter().unzip();
        Ok((
            Maildrop {
                uid_validity: 1,
                messages,
            },
            TemporaryHandle {
                maildir,
                entries,
                _lock: lock,
            },
        ))
    }
}

/// The files of `new/` and `cur/`, sorted by name (delivery time first),
/// numbered from 1, with their CRLF sizes. A Maildir not yet created is
/// empty.
fn list(maildir: &Path) -> io::Result<Vec<(Entry, MaildropMessage)>> {
    let mut paths = Vec::new();
    for sub in ["new", "cur"] {
        let dir = match fs::read_dir(maildir.join(sub)) {
            Ok(dir) => dir,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        for entry in dir {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                paths.push(entry.path());
            }
        }
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut listed = Vec::with_capacity(paths.len());
    for (i, path) in paths.into_iter().enumerate() {
        let uid = u32::try_from(i + 1).map_err(|_| io::Error::other("too many messages"))?;
        let size = crlf_size(&path)?;
        listed.push((Entry { uid, path }, MaildropMessage { uid, size }));
    }
    Ok(listed)
}

/// The octets [`CrlfReader`] yields for the file at `path`.
fn crlf_size(path: &Path) -> io::Result<u64> {
    let mut file = fs::File::open(path)?;
    let mut converter = Converter::default();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    let mut out = Vec::new();
    loop {
        let n = file.read(&mut buffer)?;
        out.clear();
        if n == 0 {
            converter.finish(&mut out);
            return Ok(size + out.len() as u64);
        }
        converter.convert(&buffer[..n], &mut out);
        size += out.len() as u64;
    }
}

/// LF line ends to CRLF; a last line without an end gets one.
#[derive(Debug, Default)]
struct Converter {
    after_cr: bool,
    /// The last octet seen, `None` before any.
    last: Option<u8>,
}

impl Converter {
    fn convert(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len() + chunk.len() / 16);
        for &byte in chunk {
            if byte == b'\n' && !self.after_cr {
                out.push(b'\r');
            }
            out.push(byte);
            self.after_cr = byte == b'\r';
        }
        if let Some(&last) = chunk.last() {
            self.last = Some(last);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.last.is_some_and(|last| last != b'\n') {
            if !self.after_cr {
                out.push(b'\r');
            }
            out.push(b'\n');
        }
        self.last = Some(b'\n');
    }
}

/// A message file read as CRLF text.
pub struct CrlfReader {
    file: tokio::fs::File,
    converter: Converter,
    out: Vec<u8>,
    position: usize,
    done: bool,
}

impl AsyncRead for CrlfReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.position < this.out.len() {
                let n = buf.remaining().min(this.out.len() - this.position);
                buf.put_slice(&this.out[this.position..this.position + n]);
                this.position += n;
                return Poll::Ready(Ok(()));
            }
            if this.done {
                return Poll::Ready(Ok(()));
            }
            let mut raw = [0u8; 8192];
            let mut raw_buf = ReadBuf::new(&mut raw);
            ready!(Pin::new(&mut this.file).poll_read(cx, &mut raw_buf))?;
            this.out.clear();
            this.position = 0;
            let filled = raw_buf.filled();
            if filled.is_empty() {
                this.done = true;
                this.converter.finish(&mut this.out);
            } else {
                this.converter.convert(filled, &mut this.out);
            }
        }
    }
}

impl TemporaryHandle {
    fn path(&self, uid: u32) -> io::Result<&Path> {
        self.entries
            .iter()
            .find(|entry| entry.uid == uid)
            .map(|entry| entry.path.as_path())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such message"))
    }
}

impl MaildropHandle for TemporaryHandle {
    type Reader = CrlfReader;

    async fn read(&self, uid: u32) -> io::Result<CrlfReader> {
        let file = tokio::fs::File::open(self.path(uid)?).await?;
        Ok(CrlfReader {
            file,
            converter: Converter::default(),
            out: Vec::new(),
            position: 0,
            done: false,
        })
    }

    async fn update(&mut self, expunge: &[u32], seen: &[u32]) -> io::Result<()> {
        let removals: Vec<PathBuf> = expunge
            .iter()
            .map(|&uid| self.path(uid).map(Path::to_path_buf))
            .collect::<io::Result<_>>()?;
        let seen: Vec<PathBuf> = seen
            .iter()
            .map(|&uid| self.path(uid).map(Path::to_path_buf))
            .collect::<io::Result<_>>()?;
        let maildir = self.maildir.clone();
        tokio::task::spawn_blocking(move || apply_update(&maildir, &removals, &seen))
            .await
            .map_err(io::Error::other)?
    }
}

/// Removes the deleted files, moves the seen ones to `cur/` with the `S`
/// flag (maildir(5) `:2,S`), then syncs both directories.
fn apply_update(maildir: &Path, removals: &[PathBuf], seen: &[PathBuf]) -> io::Result<()> {
    for path in removals {
        match fs::remove_file(path) {
            Ok(()) => {}
            // Already gone: what was asked is done.
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    let cur = maildir.join("cur");
    if !seen.is_empty() {
        fs::create_dir_all(&cur)?;
    }
    for path in seen {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let (base, flags) = name.split_once(":2,").unwrap_or((name, ""));
        if flags.contains('S') {
            continue;
        }
        let mut flags: Vec<char> = flags.chars().chain(['S']).collect();
        flags.sort_unstable();
        let flags: String = flags.into_iter().collect();
        fs::rename(path, cur.join(format!("{base}:2,{flags}")))?;
    }
    for sub in ["new", "cur"] {
        let dir = maildir.join(sub);
        if dir.exists() {
            fs::File::open(&dir)?.sync_all()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn converted(parts: &[&[u8]]) -> Vec<u8> {
        let mut converter = Converter::default();
        let mut out = Vec::new();
        for part in parts {
            converter.convert(part, &mut out);
        }
        converter.finish(&mut out);
        out
    }

    #[test]
    fn lf_becomes_crlf_and_the_last_line_is_ended() {
        assert_eq!(converted(&[b"a\nb\n"]), b"a\r\nb\r\n");
        assert_eq!(converted(&[b"a\r", b"\nb"]), b"a\r\nb\r\n");
        assert_eq!(converted(&[b"a\r\n"]), b"a\r\n");
        assert_eq!(converted(&[b""]), b"");
    }

    #[tokio::test]
    async fn sizes_match_what_the_reader_yields_and_update_applies() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail/example.test/alice");
        fs::create_dir_all(maildir.join("new")).unwrap();
        fs::write(maildir.join("new/1.a"), b"Subject: x\n\nbody\n.dot").unwrap();
        fs::write(maildir.join("new/2.b"), b"Subject: y\r\n\r\nz\r\n").unwrap();
        let drops = TemporaryMaildrops::new(dir.path());
        let mailbox = LocalMailbox {
            domain: "example.test".into(),
            user: "alice".into(),
        };
        let (maildrop, mut handle) = drops.open(&mailbox).await.unwrap();
        assert!(matches!(
            drops.open(&mailbox).await,
            Err(MaildropFailure::InUse)
        ));
        for message in &maildrop.messages {
            let mut bytes = Vec::new();
            let mut reader = handle.read(message.uid).await.unwrap();
            reader.read_to_end(&mut bytes).await.unwrap();
            assert_eq!(bytes.len() as u64, message.size);
        }
        assert_eq!(maildrop.messages[0].size, 26);
        handle.update(&[2], &[1]).await.unwrap();
        assert!(maildrop.messages.len() == 2);
        assert!(!maildir.join("new/2.b").exists());
        assert!(maildir.join("cur/1.a:2,S").exists());
        drop(handle);
        assert_eq!(drops.locks().held(), 0);
    }
}
