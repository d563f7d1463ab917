//! What start-up finds in `queue/`, and what it does with each file.
//!
//! A message is committed in place (see `spool.rs`): written into
//! `queue/ID` with its seal open, then sealed and synced with one flush.
//! So after a crash `queue/` can hold, besides committed messages, files
//! that were never committed, and start-up must tell them apart before
//! anything is delivered:
//! - an empty file: a blank, or a delivered message's file whose move to
//!   `free/` was cut short (`free.rs`): not examined here, it goes to
//!   `free/`;
//! - a seal still open: a message being received; its client was never
//!   told it was stored: to `free/`;
//! - a record naming another message: a blank made from a used file whose
//!   emptying did not last, still holding that message, which was
//!   delivered before (a file enters `free/` only then): to `free/`;
//! - a closed seal that the body does not match: a commit cut short by the
//!   crash (never acknowledged) or damage since. Which one cannot be told,
//!   so it is set aside in `damaged/` with the reason, not thrown away;
//! - anything else is a committed message, to deliver; a record that does
//!   not decode is the queue runner's to set aside, as it always was, and
//!   a file that cannot be read now the runner's to retry.

use super::{MESSAGE_READ_AT_ONCE_BYTES_MAX, Seal, Spool, damage, read_start};
use postern_core::envelope::QueueId;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

impl Spool {
    /// Examines the non-empty files found in `queue/` at start-up (see the
    /// module): answers the committed messages, oldest first. Files never
    /// committed go to `free/`; torn ones are set aside.
    pub(super) fn examine_all(&self, found: Vec<QueueId>) -> io::Result<Vec<QueueId>> {
        let mut waiting = Vec::with_capacity(found.len());
        for id in found {
            let path = self.queue_path(id);
            let found = examine(&path, id).unwrap_or_else(|error| {
                // Not readable now: the queue runner retries it, and
                // `postern queue list` shows why, as for any message.
                tracing::warn!(queue_id = %id, %error, "{id}: cannot examine {}: left for the queue runner", path.display());
                Found::Committed
            });
            match found {
                Found::Committed => waiting.push(id),
                Found::Unfinished => {
                    tracing::info!(queue_id = %id, "{id}: removing a message that was never acknowledged (its seal is open: it was being received)");
                    self.free.recycle(&path, &id.to_string())?;
                }
                Found::Stale(old) => {
                    tracing::info!(queue_id = %id, "{id}: an empty file made ready for it still holds message {old}, delivered before; it goes to spool/free");
                    self.free.recycle(&path, &id.to_string())?;
                }
                Found::Torn(why) => {
                    let to = self.set_aside(id, &why)?;
                    tracing::warn!(queue_id = %id, "{id}: {why}; moved to {}", to.display());
                }
            }
        }
        Ok(waiting)
    }
}

/// What start-up finds in a non-empty file of `queue/` (see the module).
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// A committed message; if its record is damaged, the queue runner
    /// sets it aside as it does any damaged message.
    Committed,
    /// Written while a message arrived, its seal never closed.
    Unfinished,
    /// A blank made from a used file whose emptying a crash undid: it
    /// still holds that message, delivered before.
    Stale(QueueId),
    /// Sealed, but the body does not match the seal: why.
    Torn(String),
}

/// Examines the file of message `id` at `path` (see [`Found`]): reads
/// the whole body of a sealed one to check it. Blocks.
fn examine(path: &Path, id: QueueId) -> io::Result<Found> {
    let mut file = File::open(path)?;
    let (fixed, record) = match read_start(&mut file) {
        Ok(start) => start,
        Err(error) if damage(&error).is_some() => return Ok(Found::Committed),
        Err(error) => return Err(error),
    };
    if record.queue_id != id {
        return Ok(Found::Stale(record.queue_id));
    }
    let Seal::Closed {
        body_length,
        body_crc,
    } = fixed.seal
    else {
        return Ok(match fixed.seal {
            Seal::Open => Found::Unfinished,
            _ => Found::Committed,
        });
    };
    file.seek(SeekFrom::Start(fixed.header_bytes as u64))?;
    let mut crc = crc32fast::Hasher::new();
    let mut length = 0u64;
    let mut chunk = vec![0u8; MESSAGE_READ_AT_ONCE_BYTES_MAX as usize];
    loop {
        let read = file.read(&mut chunk)?;
        if read == 0 {
            break;
        }
        crc.update(&chunk[..read]);
        length += read as u64;
    }
    let found = crc.finalize();
    Ok(if length != body_length {
        Found::Torn(format!(
            "its body is {length} octets, its seal says {body_length}: a commit cut short by a crash (the client was not told the message was stored), or damage since"
        ))
    } else if found != body_crc {
        Found::Torn(format!(
            "its body's CRC-32 is {found:08x}, its seal says {body_crc:08x}: a commit cut short by a crash (the client was not told the message was stored), or damage since"
        ))
    } else {
        Found::Committed
    })
}

#[cfg(test)]
mod tests {
    use super::super::WRITE_BUFFER_BYTES;
    use super::super::tests::envelope;
    use super::*;
    use crate::driver::StoredMessage;
    use crate::testing::names_in;
    use std::fs;
    use std::sync::Arc;
    use tokio::sync::mpsc;

    /// Commits a message of `size` octets: its ID.
    async fn committed(spool: &Arc<Spool>, size: usize) -> QueueId {
        let (id, _, mut file) = spool.create(envelope()).await.unwrap();
        file.write(&vec![b'x'; size]).await.unwrap();
        file.commit().await.unwrap();
        id
    }

    #[tokio::test]
    async fn start_up_keeps_committed_messages_and_clears_or_sets_aside_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (announce, _announced) = mpsc::unbounded_channel();
        let (spool, _) = Spool::open(dir.path(), 0, announce.clone()).unwrap();
        // Small messages are written in one piece at commit, large ones
        // as they arrive: both are sealed.
        let small = committed(&spool, 1000).await;
        let large = committed(&spool, 3 * WRITE_BUFFER_BYTES).await;
        let flipped = committed(&spool, 1000).await;
        let cut = committed(&spool, 3 * WRITE_BUFFER_BYTES).await;
        // Being received when the server stopped: started, never sealed.
        let (unfinished, _, mut file) = spool.create(envelope()).await.unwrap();
        file.write(&vec![b'y'; 2 * WRITE_BUFFER_BYTES])
            .await
            .unwrap();
        drop(file);
        // A blank that still holds a delivered message.
        let stale = QueueId(12345);
        fs::copy(spool.queue_path(small), spool.queue_path(stale)).unwrap();
        // A commit torn by a crash, or damage since: one octet of the
        // data changed, or the data cut short.
        let path = spool.queue_path(flipped);
        let mut bytes = fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        fs::write(&path, bytes).unwrap();
        let path = spool.queue_path(cut);
        let length = fs::metadata(&path).unwrap().len();
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(length - 4096)
            .unwrap();
        drop(spool);

        let (_spool, waiting) = Spool::open(dir.path(), 0, announce).unwrap();
        let mut expected = vec![small, large];
        expected.sort();
        assert_eq!(waiting, expected, "only the committed messages wait");
        let mut in_queue: Vec<String> = expected.iter().map(|id| id.to_string()).collect();
        in_queue.sort();
        assert_eq!(names_in(&dir.path().join("spool/queue")), in_queue);
        let free = names_in(&dir.path().join("spool/free"));
        for id in [unfinished, stale] {
            assert!(
                free.contains(&id.to_string()),
                "{id} not in free/: {free:?}"
            );
        }
        let damaged = dir.path().join("spool/damaged");
        let reason =
            |id: QueueId| fs::read_to_string(damaged.join(format!("{id}.reason"))).unwrap();
        assert!(reason(flipped).contains("CRC-32"), "{}", reason(flipped));
        assert!(reason(cut).contains("its seal says"), "{}", reason(cut));
        assert!(damaged.join(format!("{cut}.queue")).exists());
    }
}
