//! The spool: where a message is made durable before the client hears
//! `250`.
//!
//! Layout under `DATA_DIR/spool/`:
//! - `queue/ID`: a committed message, waiting for delivery; or a message
//!   being received (its seal still open, see below); or an empty file,
//!   a *blank* named for a message to come (`spool/blanks.rs`).
//! - `incoming/ID`: a message being received for the database (see
//!   below). Never acknowledged; removed at start-up if found.
//! - `state/ID`: each recipient's delivery state, once an attempt has
//!   left something to do (a retry, a bounce to send). Written to
//!   `state/ID.new`, synced, renamed over, and the directory synced, so it
//!   is always either the old state or the new one. A message without a
//!   state file has had no attempt recorded: every recipient is pending.
//! - `free/NAME`: an emptied file of a message that needed nothing more,
//!   kept for the next message received instead of being deleted (see
//!   `spool/free.rs`).
//! - `damaged/ID.queue`, `damaged/ID.state`, `damaged/ID.reason`: a
//!   message whose record or state does not decode or does not check out
//!   (see `spool/record.rs`), moved aside by the queue runner with the reason, so
//!   that the rest of the queue is delivered. Nothing reads them again; an
//!   operator can inspect them, and `postern queue list` shows them.
//!
//! Everything here is private to the server's user: directories are
//! created 0700 and files 0600, whatever the umask (mail is personal, and
//! the spool holds everyone's).
//!
//! One file per message: a fixed header (magic, format version, record
//! length and the seal), the bincode-encoded [`SpoolRecord`] with the
//! envelope, then the message data exactly as the session produced it
//! (CRLF line endings, trace header first).
//!
//! A message is written where it will stay, `queue/ID`, and committed in
//! place with one flush:
//! 1. Its name is durable before its data arrives. A session takes a
//!    blank, whose name was synced with a batch of others; or, when none
//!    is ready, it makes the name and waits for a shared `fsync` of
//!    `queue/` ([`DirSync`], group commit) before it commits.
//! 2. Its seal stays open (zero) while the data arrives. At commit the
//!    seal is closed: the length and CRC-32 of the body (the record and
//!    the data) go into the header; then one `fdatasync` of the file.
//!    Only then is the session told the message is stored.
//!
//! At start-up each file in `queue/` is examined ([`Spool::open`]): an
//! empty one goes to `free/`; one whose seal is still open was never
//! acknowledged and goes there too; one whose body does not match its
//! closed seal was cut short by a crash during its commit (so it was never
//! acknowledged either) or damaged since, and is set aside in `damaged/`
//! rather than guessed about. Versions 2 and 3 of the format have no seal:
//! they were committed by renaming a synced file into `queue/`.
//!
//! With the postgres backend ([`CommitTo::Postgres`]) the session writes
//! to `incoming/` instead, and its commit streams the data into the
//! shared queue ([`PgQueue::commit`], one transaction), then removes the
//! file: the database holds the message, so the file needs no
//! `fdatasync`, and `queue/` stays empty.

mod blanks;
mod dir_sync;
mod examine;
mod free;
mod kept;
mod record;
mod shared;
mod writing;

use blanks::Blanks;
pub use dir_sync::DirSync;
use free::FreeFiles;
use kept::KeptRecords;
pub use shared::CommitTo;
use writing::Backing;
pub use writing::SpoolFile;

pub use record::{
    Damaged, FixedHeader, HEADER_BYTES, PREFIX_BYTES, SPOOL_FORMAT_VERSION, SPOOL_MAGIC, Seal,
    SpoolRecord, check_state, damage, damaged, decode_spool_record, decode_state, encode_header,
    encode_state,
};

use crate::driver::StoredMessage;
use postern_core::envelope::{Envelope, LocalMailbox, QueueId};
#[cfg(test)]
use postern_core::limits::TRACE_BYTES_MAX;
use postern_core::limits::{MESSAGE_READ_AT_ONCE_BYTES_MAX, STATE_FILE_BYTES_MAX};
use postern_core::queue::{DeliveryState, FirstTries};
use postern_core::text::counted;
use postern_core::time::UnixTime;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::mpsc;

/// Message data is buffered to this size before each write to the file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// The spool directories and the queue ID allocator.
#[derive(Debug)]
pub struct Spool {
    incoming: PathBuf,
    queue: PathBuf,
    /// The `fsync`s of `queue/` for new names, shared (group commit).
    queue_sync: Arc<DirSync>,
    /// Empty files in `queue/` whose names are durable already.
    blanks: Blanks,
    state: PathBuf,
    damaged: PathBuf,
    /// Files to use again for new messages.
    free: FreeFiles,
    /// Messages committed by this process, with the mailboxes a local
    /// delivery of each has been tried for ([`Spool::first_try`]).
    tried: Mutex<FirstTries>,
    /// Records just committed, for their first load ([`Spool::load_kept`]).
    kept: KeptRecords,
    last_id: Mutex<u64>,
    /// This node's ID, in the low bits of every queue ID it makes.
    node: u16,
    committed: mpsc::UnboundedSender<QueueId>,
    /// Where commits put messages.
    commit_to: CommitTo,
}

impl Spool {
    /// The queue in the database every node shares, when commits go
    /// there.
    pub fn shared_queue(&self) -> Option<&crate::storage::postgres::PgQueue> {
        match &self.commit_to {
            CommitTo::Postgres(queue) => Some(queue),
            CommitTo::Files => None,
        }
    }

    /// Opens (creating if need be) the spool under `data_dir`, removes
    /// messages that were never acknowledged, and returns the spool with
    /// the IDs of committed messages still waiting, oldest first.
    /// Committed IDs are announced on `committed`; new IDs carry `node`.
    pub fn open(
        data_dir: &Path,
        node: u16,
        committed: mpsc::UnboundedSender<QueueId>,
    ) -> io::Result<(Arc<Spool>, Vec<QueueId>)> {
        Self::open_committing_to(data_dir, node, committed, CommitTo::Files)
    }

    /// Opens the spool as [`Spool::open`] does, its commits going to
    /// `commit_to`. With the database, messages still waiting in `queue/`
    /// (committed while the node ran on files) are refused: the server
    /// must not start and leave them undelivered, and the shared queue
    /// must not take them unseen; the error names the directory and the
    /// fix.
    pub fn open_committing_to(
        data_dir: &Path,
        node: u16,
        committed: mpsc::UnboundedSender<QueueId>,
        commit_to: CommitTo,
    ) -> io::Result<(Arc<Spool>, Vec<QueueId>)> {
        let incoming = data_dir.join("spool").join("incoming");
        let queue = data_dir.join("spool").join("queue");
        let state = data_dir.join("spool").join("state");
        let damaged = data_dir.join("spool").join("damaged");
        let free_dir = data_dir.join("spool").join("free");
        for dir in [&incoming, &queue, &state, &damaged, &free_dir] {
            create_dir_durably(dir)?;
        }
        let free = FreeFiles::open(free_dir.clone())?;
        for entry in fs::read_dir(&incoming)? {
            let path = entry?.path();
            tracing::info!(path = %path.display(), "removing a message that was never acknowledged");
            fs::remove_file(&path)?;
        }
        let mut waiting: Vec<QueueId> = Vec::new();
        let mut emptied = 0;
        for entry in fs::read_dir(&queue)? {
            let entry = entry?;
            let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<QueueId>().ok())
            else {
                continue;
            };
            if free::is_recycled(&entry.path())? {
                free.recycle(&entry.path(), &id.to_string())?;
                emptied += 1;
                continue;
            }
            waiting.push(id);
        }
        if emptied > 0 {
            tracing::info!(
                "{} in {} (made ready for messages, or delivered before the last stop) moved to {}",
                counted(emptied, "empty file", "empty files"),
                queue.display(),
                free_dir.display()
            );
        }
        waiting.sort();
        if matches!(commit_to, CommitTo::Postgres(_)) && !waiting.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} holds {} message(s) committed with backend \"files\", which the shared queue does not take\n  help: run this node once more with [storage] backend = \"files\" until `postern queue list` shows the queue empty, then switch to \"postgres\"",
                    queue.display(),
                    waiting.len()
                ),
            ));
        }
        // New IDs sort after every one found, committed or not.
        let last_id = waiting.last().map_or(0, |id| id.0);
        let spool = Spool {
            incoming,
            queue_sync: Arc::new(DirSync::new(queue.clone())),
            blanks: Blanks::default(),
            queue,
            state,
            damaged,
            free,
            tried: Mutex::new(FirstTries::default()),
            kept: KeptRecords::default(),
            last_id: Mutex::new(last_id),
            node,
            committed,
            commit_to,
        };
        let waiting = spool.examine_all(waiting)?;
        // A state file whose message is gone: the removal was cut short.
        let kept: std::collections::BTreeSet<QueueId> = waiting.iter().copied().collect();
        for entry in fs::read_dir(&spool.state)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let id = name.strip_suffix(".new").unwrap_or(name).parse::<QueueId>();
            if name.ends_with(".new") || id.is_ok_and(|id| !kept.contains(&id)) {
                fs::remove_file(&path)?;
            }
        }
        Ok((Arc::new(spool), waiting))
    }

    /// A new queue ID: the wall clock in microseconds (or one more than
    /// the last ID's, if the clock has not moved on or went back) and this
    /// node's ID; see [`QueueId::next`].
    fn next_id(&self) -> QueueId {
        let micros = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        // A poisoned lock only means another thread panicked while holding
        // a plain integer, which is still valid.
        let mut last = self.last_id.lock().unwrap_or_else(|e| e.into_inner());
        *last = QueueId::next(QueueId(*last), micros, self.node).0;
        QueueId(*last)
    }

    /// Whether this is the first try of a local delivery of message `id`
    /// into `mailbox` (and records that it is tried now): see
    /// [`FirstTries`]. A first try's copy cannot exist yet, so delivery
    /// need not look for it ([`crate::maildir::Maildirs::deliver`]).
    pub fn first_try(&self, id: QueueId, mailbox: &LocalMailbox) -> bool {
        self.tried().try_now(id, mailbox)
    }

    fn tried(&self) -> std::sync::MutexGuard<'_, FirstTries> {
        // The record stays valid whatever panicked holding it.
        self.tried.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where committed IDs are announced; delivery uses it to retry.
    pub fn committed_sender(&self) -> mpsc::UnboundedSender<QueueId> {
        self.committed.clone()
    }

    pub fn queue_path(&self, id: QueueId) -> PathBuf {
        self.queue.join(id.to_string())
    }

    /// Where message `id` is written while it arrives: where it stays,
    /// or `incoming/` for the database.
    fn arriving_path(&self, id: QueueId) -> PathBuf {
        match self.commit_to {
            CommitTo::Files => self.queue_path(id),
            CommitTo::Postgres(_) => self.incoming.join(id.to_string()),
        }
    }

    /// Opens the file of message `id` for its first write, empty and
    /// private, with a durable name (see the module). `blank`: `queue/ID`
    /// is a blank. Blocks.
    fn start_file(&self, id: QueueId, blank: bool) -> io::Result<File> {
        let path = self.arriving_path(id);
        if let CommitTo::Postgres(_) = self.commit_to {
            return self.free.create(&path);
        }
        if blank {
            match OpenOptions::new().write(true).truncate(true).open(&path) {
                // Removed by hand: make the name anew.
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                opened => return opened,
            }
        }
        let file = self.free.create(&path)?;
        if let Err(error) = self.queue_sync.sync() {
            let _ = fs::remove_file(&path);
            return Err(error);
        }
        Ok(file)
    }

    /// Starts a message: its queue ID (a blank's, if one is ready) and
    /// arrival time, with the header and record buffered. Nothing touches
    /// the disk yet: the file is opened when the buffer first fills, so a
    /// small message is written and committed in one trip to the blocking
    /// threads.
    pub async fn create(
        self: &Arc<Self>,
        envelope: Envelope,
    ) -> io::Result<(QueueId, UnixTime, SpoolFile)> {
        let (queue_id, blank) = match self.commit_to {
            CommitTo::Files => Blanks::take(self),
            CommitTo::Postgres(_) => (self.next_id(), false),
        };
        let received_at = UnixTime(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        );
        let record = SpoolRecord {
            queue_id,
            received_at: received_at.0,
            envelope,
            trace: Vec::new(),
            junk: false,
        };
        let buffer = record::encode_header(&record)?;
        let spool_file = SpoolFile {
            spool: Arc::clone(self),
            queue_id,
            file: Backing::NotCreated { blank },
            record_area: buffer.len() - HEADER_BYTES,
            record,
            buffer,
            data_crc: crc32fast::Hasher::new(),
            data_length: 0,
        };
        Ok((queue_id, received_at, spool_file))
    }

    /// Reads a committed message's record; the returned file is positioned
    /// at the start of the message data. A record that does not decode,
    /// does not check out or names another message is [`damage`]d.
    pub fn read(&self, id: QueueId) -> io::Result<(SpoolRecord, File)> {
        let mut file = File::open(self.queue_path(id))?;
        let record = read_header(&mut file)?;
        if record.queue_id != id {
            return Err(damaged(format!(
                "the record in queue/{id} is for message {}",
                record.queue_id
            )));
        }
        Ok((record, file))
    }

    /// A committed message's record, and its delivery state if an attempt
    /// left one, both checked, and checked against each other.
    pub fn load(&self, id: QueueId) -> io::Result<(SpoolRecord, Option<DeliveryState>)> {
        let (record, _) = self.read(id)?;
        let state = self.read_state(id)?;
        if let Some(state) = &state {
            check_state(&record, state)?;
        }
        Ok((record, state))
    }

    /// A message committed by this process a moment ago, from memory:
    /// its record as the session wrote it, and no state (an attempt's
    /// state comes later). `None` when it is not kept (see
    /// `spool/kept.rs`): read it with [`Spool::load`].
    pub fn load_kept(&self, id: QueueId) -> Option<(SpoolRecord, Option<DeliveryState>)> {
        self.kept.take(id).map(|record| (record, None))
    }

    /// Moves a damaged message aside: `queue/ID` to `damaged/ID.queue`,
    /// `state/ID` (if any) to `damaged/ID.state`, with `reason` written to
    /// `damaged/ID.reason`. Answers where the message went.
    pub fn set_aside(&self, id: QueueId, reason: &str) -> io::Result<PathBuf> {
        self.tried().forget(id);
        self.kept.take(id);
        let reason_file = self.damaged.join(format!("{id}.reason"));
        replace_file(&reason_file, format!("{reason}\n").as_bytes())?;
        // The message leaves the queue first: a crash before its state
        // follows leaves a stray state file, which the next start removes,
        // rather than a message without its state, which would be
        // delivered again to every recipient.
        let queue_to = self.damaged.join(format!("{id}.queue"));
        fs::rename(self.queue_path(id), &queue_to)?;
        let state_to = self.damaged.join(format!("{id}.state"));
        match fs::rename(self.state.join(id.to_string()), &state_to) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        sync_dir(&self.damaged)?;
        sync_dir(&self.queue)?;
        sync_dir(&self.state)?;
        Ok(queue_to)
    }

    /// Removes a message that needs nothing more, with its state. Its
    /// file goes to `free/`, emptied, for a message to come.
    ///
    /// The directory is not synced: if a crash undoes the removal, the
    /// message comes back and is delivered again, the duplicate that the
    /// crash window allows, and never a loss. Syncing here would put one
    /// more disk flush on every message delivered.
    pub fn remove(&self, id: QueueId) -> io::Result<()> {
        self.tried().forget(id);
        self.kept.take(id);
        self.free.recycle(&self.queue_path(id), &id.to_string())?;
        match fs::remove_file(self.state.join(id.to_string())) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// The message's recorded delivery state, if an attempt left one.
    pub fn read_state(&self, id: QueueId) -> io::Result<Option<DeliveryState>> {
        read_state_file(&self.state, id)
    }

    /// Records the message's delivery state durably (see the module docs).
    pub fn write_state(&self, id: QueueId, state: &DeliveryState) -> io::Result<()> {
        let bytes = record::encode_state(state)?;
        replace_file(&self.state.join(id.to_string()), &bytes)
    }

    /// Queues a message the server writes itself (a bounce): stored and
    /// committed like one received over SMTP, and announced for delivery.
    pub async fn inject(self: &Arc<Self>, envelope: Envelope, data: &[u8]) -> io::Result<QueueId> {
        let (id, _, mut file) = self.create(envelope).await?;
        file.write(data).await?;
        file.commit().await?;
        Ok(id)
    }

    /// Queues a copy of message `source` (a forwarded copy): `prefix` (a
    /// trace field), then the source's data, read and written in bounded
    /// chunks, committed like a message received over SMTP.
    pub async fn inject_copy(
        self: &Arc<Self>,
        envelope: Envelope,
        prefix: &[u8],
        source: QueueId,
    ) -> io::Result<QueueId> {
        use tokio::io::AsyncReadExt;
        let spool = Arc::clone(self);
        let (record, data) = blocking(move || spool.read(source)).await?;
        let mut data = tokio::fs::File::from_std(data);
        let (id, _, mut file) = self.create(envelope).await?;
        let copied: io::Result<()> = async {
            file.write(prefix).await?;
            file.write(&record.trace).await?;
            let mut chunk = vec![0u8; MESSAGE_READ_AT_ONCE_BYTES_MAX as usize];
            loop {
                let read = data.read(&mut chunk).await?;
                if read == 0 {
                    return Ok(());
                }
                file.write(&chunk[..read]).await?;
            }
        }
        .await;
        match copied {
            Ok(()) => file.commit().await.map(|()| id),
            Err(error) => {
                file.abort().await;
                Err(error)
            }
        }
    }
}

/// Reads `state_dir/ID`: the delivery state, if an attempt left one. At
/// most [`STATE_FILE_BYTES_MAX`] octets are read: a larger file is damaged.
pub fn read_state_file(state_dir: &Path, id: QueueId) -> io::Result<Option<DeliveryState>> {
    let file = match File::open(state_dir.join(id.to_string())) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut bytes = Vec::new();
    file.take(STATE_FILE_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)?;
    decode_state(&bytes).map(Some)
}

/// Reads and checks the header and record of a spool file, leaving the
/// file at the first octet of the message data.
pub fn read_header(file: &mut File) -> io::Result<SpoolRecord> {
    read_start(file).map(|(_, record)| record)
}

/// Reads and checks the fixed header and the record of a spool file,
/// leaving the file at the first octet of the message data.
pub fn read_start(file: &mut File) -> io::Result<(FixedHeader, SpoolRecord)> {
    let mut bytes = vec![0u8; PREFIX_BYTES];
    read_all(file, &mut bytes)?;
    bytes.resize(record::header_bytes(&bytes)?, 0);
    read_all(file, &mut bytes[PREFIX_BYTES..])?;
    let fixed = record::fixed_header(&bytes)?;
    bytes.resize(fixed.header_bytes + fixed.record_length, 0);
    read_all(file, &mut bytes[fixed.header_bytes..])?;
    let record = decode_spool_record(&bytes)?;
    file.seek(SeekFrom::Start(bytes.len() as u64))?;
    Ok((fixed, record))
}

/// `read_exact`, where a file that ends too soon is damaged.
fn read_all(file: &mut File, buffer: &mut [u8]) -> io::Result<()> {
    match file.read_exact(buffer) {
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Err(damaged(
            "spool file cut short: it ends inside its header or record",
        )),
        other => other,
    }
}

/// An exclusive lock on a data directory, held while the server runs, so
/// that a second server cannot clean up the first one's incoming messages
/// or deliver its queue twice.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    pub const FILE_NAME: &str = "postern.lock";

    /// Takes the lock, creating the directory (0700) if need be, and
    /// tightening it to 0700 if it is open to others; fails at once if
    /// another process holds it.
    pub fn acquire(data_dir: &Path) -> io::Result<DataDirLock> {
        use std::os::fd::AsRawFd;
        create_dir_durably(data_dir)?;
        make_private(data_dir)?;
        let path = data_dir.join(Self::FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)?;
        // SAFETY: flock(2) on a file descriptor we own, for the life of `file`.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is in use by another postern (pid {})",
                    data_dir.display(),
                    holder.trim()
                ),
            ));
        }
        file.set_len(0)?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())?;
        Ok(DataDirLock { _file: file })
    }
}

/// Takes group and other permissions off a directory that has them (a
/// data directory made before Postern made them private, or by hand), and
/// says so in the log. Everything beneath is then out of other users'
/// reach, whatever its own mode.
pub fn make_private(dir: &Path) -> io::Result<()> {
    let mode = fs::metadata(dir)?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        tracing::warn!(
            dir = %dir.display(),
            "{}: was mode {mode:04o}, open to other users; made it 0700",
            dir.display()
        );
    }
    Ok(())
}

/// Creates a directory (0700) and its missing parents, syncing each parent
/// so the new entries survive a crash.
pub fn create_dir_durably(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durably(parent)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(error) => return Err(error),
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => sync_dir(Path::new(".")),
    }
}

/// Replaces `path` with `contents` so that after a crash it holds the old
/// contents or the new, never a mix: written to `path.new`, synced,
/// renamed over, and the directory synced. New files are private (0600).
pub fn replace_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut fresh = path.as_os_str().to_owned();
    fresh.push(".new");
    let fresh = std::path::PathBuf::from(fresh);
    // A leftover from a crash may have another mode; the file is made anew.
    match fs::remove_file(&fresh) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&fresh)?;
    file.write_all(contents)?;
    file.sync_data()?;
    fs::rename(&fresh, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// `fsync` on a directory: makes renames and new entries in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Runs blocking file work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_core::address::ReversePath;
    use postern_core::envelope::ClientInfo;
    use postern_core::smtp::server::BodyType;

    pub(super) fn envelope() -> Envelope {
        Envelope {
            reverse_path: ReversePath::Null,
            recipients: vec![postern_core::envelope::Recipient {
                forward_path: postern_core::address::ForwardPath::Mailbox(
                    postern_core::address::Mailbox {
                        local_part: "bob".into(),
                        domain: "elsewhere.test".into(),
                    },
                ),
                destination: postern_core::envelope::Destination::Remote,
            }],
            body: BodyType::EightBitMime,
            smtputf8: false,
            client: ClientInfo {
                helo: "client.test".into(),
                address: "127.0.0.1".into(),
                submitted: false,
            },
        }
    }

    /// A message of `size` octets with `trace`, committed and read back:
    /// the record's trace and the data.
    async fn round_trip(size: usize, trace: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let (committed, _announced) = mpsc::unbounded_channel();
        let (spool, _) = Spool::open(dir.path(), 0, committed).unwrap();
        let (id, _, mut file) = spool.create(envelope()).await.unwrap();
        let data: Vec<u8> = (0..size).map(|i| b"abcdefgh\r\n"[i % 10]).collect();
        for chunk in data.chunks(64 * 1024) {
            file.write(chunk).await.unwrap();
        }
        file.set_trace(trace.to_vec());
        file.set_junk();
        file.commit().await.unwrap();
        let (record, mut file) = spool.read(id).unwrap();
        assert!(record.junk, "the junk flag is kept with the trace");
        let mut read = Vec::new();
        file.read_to_end(&mut read).unwrap();
        assert_eq!(read, data, "the data is untouched");
        (record.trace, read)
    }

    #[tokio::test]
    async fn the_trace_is_kept_whether_the_file_was_started_before_the_end_or_not() {
        let trace = b"Authentication-Results: mx.example.test; dkim=pass\r\n";
        // Small: the whole message was in the buffer at commit.
        assert_eq!(round_trip(1000, trace).await.0, trace);
        // Large: the file was started, with room for the trace.
        assert_eq!(round_trip(3 * WRITE_BUFFER_BYTES, trace).await.0, trace);
        // No trace at all, either way.
        assert_eq!(round_trip(1000, b"").await.0, b"");
        assert_eq!(round_trip(3 * WRITE_BUFFER_BYTES, b"").await.0, b"");
        // The largest trace fits in the room.
        let largest = vec![b'x'; TRACE_BYTES_MAX];
        assert_eq!(
            round_trip(3 * WRITE_BUFFER_BYTES, &largest).await.0,
            largest
        );
    }
}
