//! The spool: where a message is made durable before the client hears
//! `250`.
//!
//! Layout under `DATA_DIR/spool/`:
//! - `incoming/ID`: a message being received. Never acknowledged; removed
//!   at start-up if found.
//! - `queue/ID`: a committed message, waiting for delivery.
//! - `state/ID`: each recipient's delivery state, once an attempt has
//!   left something to do (a retry, a bounce to send). Written to
//!   `state/ID.new`, synced, renamed over, and the directory synced, so it
//!   is always either the old state or the new one. A message without a
//!   state file has had no attempt recorded: every recipient is pending.
//!
//! One file per message: a header (magic, format version, record length),
//! the bincode-encoded [`SpoolRecord`] with the envelope, then the message
//! data exactly as the session produced it (CRLF line endings, trace
//! header first). Commit is: write, `fdatasync` the file, rename it from
//! `incoming/` to `queue/`, `fsync` the `queue/` directory. Only then is
//! the session told the message is stored.

use crate::driver::StoredMessage;
use bincode::{Decode, Encode};
use postern_core::envelope::{Envelope, QueueId};
use postern_core::queue::DeliveryState;
use postern_core::time::UnixTime;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::mpsc;

/// The first bytes of every spool file.
pub const SPOOL_MAGIC: [u8; 8] = *b"PSTNSPL\n";
/// The format of what follows the magic; bump it when [`SpoolRecord`]
/// changes, and teach [`read_header`] the old one (until the first
/// release, older spools are refused with an error naming both versions).
/// 1: the first; 2: each recipient carries its destination (a local
/// mailbox, or remote for relayed mail).
pub const SPOOL_FORMAT_VERSION: u16 = 2;
/// The first bytes of every state file, and its format version.
const STATE_MAGIC: [u8; 8] = *b"PSTNSTA\n";
const STATE_FORMAT_VERSION: u16 = 1;
/// Magic, version (u16) and record length (u32).
const HEADER_BYTES: usize = SPOOL_MAGIC.len() + 2 + 4;
/// The largest envelope record we will read back: a sanity bound against
/// a damaged file, far above 10,000 recipients of 256 octets.
const RECORD_BYTES_MAX: u32 = 16 * 1024 * 1024;
/// Message data is buffered to this size before each write to the file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// What the spool keeps about a message besides its data.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SpoolRecord {
    pub queue_id: QueueId,
    /// Seconds since the Unix epoch when the message arrived.
    pub received_at: i64,
    pub envelope: Envelope,
}

/// The spool directories and the queue ID allocator.
#[derive(Debug)]
pub struct Spool {
    incoming: PathBuf,
    queue: PathBuf,
    state: PathBuf,
    last_id: Mutex<u64>,
    committed: mpsc::UnboundedSender<QueueId>,
}

impl Spool {
    /// Opens (creating if need be) the spool under `data_dir`, removes
    /// messages that were never acknowledged, and returns the spool with
    /// the IDs of committed messages still waiting, oldest first.
    /// Committed IDs are announced on `committed`.
    pub fn open(
        data_dir: &Path,
        committed: mpsc::UnboundedSender<QueueId>,
    ) -> io::Result<(Arc<Spool>, Vec<QueueId>)> {
        let incoming = data_dir.join("spool").join("incoming");
        let queue = data_dir.join("spool").join("queue");
        let state = data_dir.join("spool").join("state");
        for dir in [&incoming, &queue, &state] {
            create_dir_durably(dir)?;
        }
        for entry in fs::read_dir(&incoming)? {
            let path = entry?.path();
            tracing::info!(path = %path.display(), "removing a message that was never acknowledged");
            fs::remove_file(&path)?;
        }
        let mut waiting: Vec<QueueId> = fs::read_dir(&queue)?
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        waiting.sort();
        // A state file whose message is gone: the removal was cut short.
        for entry in fs::read_dir(&state)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let id = name.strip_suffix(".new").unwrap_or(name).parse::<QueueId>();
            if name.ends_with(".new") || id.is_ok_and(|id| !waiting.contains(&id)) {
                fs::remove_file(&path)?;
            }
        }
        let last_id = waiting.last().map_or(0, |id| id.0);
        let spool = Spool {
            incoming,
            queue,
            state,
            last_id: Mutex::new(last_id),
            committed,
        };
        Ok((Arc::new(spool), waiting))
    }

    /// A new queue ID: the wall clock in microseconds, or one more than
    /// the last ID if the clock has not moved on (or went back).
    fn next_id(&self) -> QueueId {
        let micros = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        // A poisoned lock only means another thread panicked while holding
        // a plain integer, which is still valid.
        let mut last = self.last_id.lock().unwrap_or_else(|e| e.into_inner());
        *last = micros.max(*last + 1);
        QueueId(*last)
    }

    /// Where committed IDs are announced; delivery uses it to retry.
    pub fn committed_sender(&self) -> mpsc::UnboundedSender<QueueId> {
        self.committed.clone()
    }

    pub fn queue_path(&self, id: QueueId) -> PathBuf {
        self.queue.join(id.to_string())
    }

    /// Starts a message: creates `incoming/ID` with the header and record.
    pub async fn create(
        self: &Arc<Self>,
        envelope: Envelope,
    ) -> io::Result<(QueueId, UnixTime, SpoolFile)> {
        let queue_id = self.next_id();
        let received_at = UnixTime(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        );
        let record = SpoolRecord {
            queue_id,
            received_at: received_at.0,
            envelope,
        };
        let header = encode_header(&record)?;
        let path = self.incoming.join(queue_id.to_string());
        let file = blocking(move || {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?;
            file.write_all(&header)?;
            Ok(file)
        })
        .await?;
        let spool_file = SpoolFile {
            spool: Arc::clone(self),
            queue_id,
            file: Some(file),
            buffer: Vec::new(),
        };
        Ok((queue_id, received_at, spool_file))
    }

    /// Reads a committed message's record; the returned file is positioned
    /// at the start of the message data.
    pub fn read(&self, id: QueueId) -> io::Result<(SpoolRecord, File)> {
        let mut file = File::open(self.queue_path(id))?;
        let record = read_header(&mut file)?;
        Ok((record, file))
    }

    /// Removes a message that needs nothing more, with its state.
    ///
    /// The directory is not synced: if a crash undoes the unlink, the
    /// message comes back and is delivered again, the duplicate that the
    /// crash window allows, and never a loss. Syncing here would put one
    /// more disk flush on every message delivered.
    pub fn remove(&self, id: QueueId) -> io::Result<()> {
        fs::remove_file(self.queue_path(id))?;
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
        let mut bytes = STATE_MAGIC.to_vec();
        bytes.extend_from_slice(&STATE_FORMAT_VERSION.to_le_bytes());
        bincode::encode_into_std_write(state, &mut bytes, bincode::config::standard())
            .map_err(io::Error::other)?;
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
}

/// Reads `state_dir/ID`: the delivery state, if an attempt left one.
pub fn read_state_file(state_dir: &Path, id: QueueId) -> io::Result<Option<DeliveryState>> {
    let bytes = match fs::read(state_dir.join(id.to_string())) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let body = bytes
        .strip_prefix(&STATE_MAGIC[..])
        .ok_or_else(|| invalid(format!("{id}: not a Postern state file")))?;
    let (version, encoded) = body
        .split_at_checked(2)
        .ok_or_else(|| invalid(format!("{id}: state file cut short")))?;
    let version = u16::from_le_bytes([version[0], version[1]]);
    if version != STATE_FORMAT_VERSION {
        return Err(invalid(format!(
            "{id}: state format version {version}; this Postern reads {STATE_FORMAT_VERSION}"
        )));
    }
    let (state, _) = bincode::decode_from_slice(encoded, bincode::config::standard())
        .map_err(|e| invalid(format!("{id}: damaged state file: {e}")))?;
    Ok(Some(state))
}

/// A message being written to `incoming/`.
#[derive(Debug)]
pub struct SpoolFile {
    spool: Arc<Spool>,
    queue_id: QueueId,
    /// Taken while a blocking write holds it.
    file: Option<File>,
    buffer: Vec<u8>,
}

impl SpoolFile {
    pub fn queue_id(&self) -> QueueId {
        self.queue_id
    }

    async fn flush_buffer(&mut self) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("spool file lost after an earlier error"))?;
        let buffer = std::mem::take(&mut self.buffer);
        let (file, buffer) =
            blocking(move || file.write_all(&buffer).map(|()| (file, buffer))).await?;
        self.file = Some(file);
        self.buffer = buffer;
        self.buffer.clear();
        Ok(())
    }
}

impl StoredMessage for SpoolFile {
    async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= WRITE_BUFFER_BYTES {
            self.flush_buffer().await?;
        }
        Ok(())
    }

    async fn commit(mut self) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("spool file lost after an earlier error"))?;
        let buffer = std::mem::take(&mut self.buffer);
        let from = self.spool.incoming.join(self.queue_id.to_string());
        let to = self.spool.queue_path(self.queue_id);
        let queue_dir = self.spool.queue.clone();
        // On any failure the message is removed, so that the 451 the client
        // gets is the truth: nothing was kept, nothing will be delivered.
        blocking(move || {
            if let Err(error) = file.write_all(&buffer).and_then(|()| file.sync_data()) {
                let _ = fs::remove_file(&from);
                return Err(error);
            }
            if let Err(error) = fs::rename(&from, &to) {
                let _ = fs::remove_file(&from);
                return Err(error);
            }
            if let Err(error) = sync_dir(&queue_dir) {
                let _ = fs::remove_file(&to);
                return Err(error);
            }
            Ok(())
        })
        .await?;
        // The receiver is the delivery task; if it is gone the server is
        // stopping, and the message will be found in the queue at start.
        let _ = self.spool.committed.send(self.queue_id);
        Ok(())
    }

    async fn abort(mut self) {
        self.file.take();
        let path = self.spool.incoming.join(self.queue_id.to_string());
        if let Err(error) = blocking(move || fs::remove_file(&path)).await {
            tracing::warn!(queue_id = %self.queue_id, %error, "cannot remove an aborted spool file");
        }
    }
}

fn encode_header(record: &SpoolRecord) -> io::Result<Vec<u8>> {
    let encoded =
        bincode::encode_to_vec(record, bincode::config::standard()).map_err(io::Error::other)?;
    let length = u32::try_from(encoded.len())
        .map_err(|_| io::Error::other("envelope too large to spool"))?;
    let mut header = Vec::with_capacity(HEADER_BYTES + encoded.len());
    header.extend_from_slice(&SPOOL_MAGIC);
    header.extend_from_slice(&SPOOL_FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&length.to_le_bytes());
    header.extend_from_slice(&encoded);
    Ok(header)
}

/// Reads and checks the header and record of a spool file.
pub fn read_header(file: &mut File) -> io::Result<SpoolRecord> {
    let mut fixed = [0u8; HEADER_BYTES];
    file.read_exact(&mut fixed)?;
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    if fixed[..SPOOL_MAGIC.len()] != SPOOL_MAGIC {
        return Err(invalid("not a Postern spool file".into()));
    }
    let version = u16::from_le_bytes([fixed[8], fixed[9]]);
    if version != SPOOL_FORMAT_VERSION {
        return Err(invalid(format!(
            "spool format version {version}; this Postern reads {SPOOL_FORMAT_VERSION}"
        )));
    }
    let length = u32::from_le_bytes([fixed[10], fixed[11], fixed[12], fixed[13]]);
    if length > RECORD_BYTES_MAX {
        return Err(invalid(format!(
            "spool record of {length} octets is implausibly large"
        )));
    }
    let mut encoded = vec![0u8; length as usize];
    file.read_exact(&mut encoded)?;
    let (record, _) = bincode::decode_from_slice(&encoded, bincode::config::standard())
        .map_err(|e| invalid(format!("damaged spool record: {e}")))?;
    file.seek(SeekFrom::Start((HEADER_BYTES + encoded.len()) as u64))?;
    Ok(record)
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

    /// Takes the lock, creating the directory if need be; fails at once if
    /// another process holds it.
    pub fn acquire(data_dir: &Path) -> io::Result<DataDirLock> {
        use std::os::fd::AsRawFd;
        create_dir_durably(data_dir)?;
        let path = data_dir.join(Self::FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
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

/// Creates a directory and its missing parents, syncing each parent so the
/// new entries survive a crash.
pub fn create_dir_durably(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durably(parent)?;
    }
    match fs::create_dir(dir) {
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
    use std::os::unix::fs::OpenOptionsExt;
    let mut fresh = path.as_os_str().to_owned();
    fresh.push(".new");
    let fresh = std::path::PathBuf::from(fresh);
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
