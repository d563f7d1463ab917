//! A message being written: buffered, written to its file as it
//! arrives, and committed (see the module docs of `spool.rs`).

use super::{CommitTo, HEADER_BYTES, Spool, SpoolRecord, WRITE_BUFFER_BYTES, blocking, record};
use crate::driver::StoredMessage;
use postern_core::envelope::QueueId;
use std::fs::{self, File};
use std::io::{self, Write};
use std::sync::Arc;

/// A message being written to its file (see the module).
#[derive(Debug)]
pub struct SpoolFile {
    pub(super) spool: Arc<Spool>,
    pub(super) queue_id: QueueId,
    pub(super) file: Backing,
    /// The record, whose trace is set once the data has all arrived.
    pub(super) record: SpoolRecord,
    /// The octets the record takes after the fixed header: exactly its
    /// encoding while only the buffer holds it; with
    /// [`record::TRACE_ROOM_BYTES`] more once the file is started, so
    /// that the trace fits in place at commit.
    pub(super) record_area: usize,
    /// Written to the file when it reaches [`WRITE_BUFFER_BYTES`], and at
    /// commit. While the file is not created, it starts with the header
    /// and record.
    pub(super) buffer: Vec<u8>,
    /// The CRC-32 and length of the message data so far, for the seal.
    pub(super) data_crc: crc32fast::Hasher,
    pub(super) data_length: u64,
}

/// Where a [`SpoolFile`]'s file stands.
#[derive(Debug)]
pub(super) enum Backing {
    /// Not opened yet: everything so far is in the buffer. `blank`: the
    /// message's ID is a blank's.
    NotCreated {
        blank: bool,
    },
    Open(File),
    /// Taken by a blocking write that failed.
    Lost,
}

impl Backing {
    /// The file, opened for its first write if need be. Blocks.
    fn open(self, spool: &Spool, queue_id: QueueId) -> io::Result<File> {
        match self {
            Backing::NotCreated { blank } => spool.start_file(queue_id, blank),
            Backing::Open(file) => Ok(file),
            Backing::Lost => Err(io::Error::other("spool file lost after an earlier error")),
        }
    }
}

impl SpoolFile {
    pub fn queue_id(&self) -> QueueId {
        self.queue_id
    }

    async fn flush_buffer(&mut self) -> io::Result<()> {
        if matches!(self.file, Backing::NotCreated { .. }) {
            // The file starts with room for the trace.
            let area = self.record_area + record::TRACE_ROOM_BYTES;
            let header = record::encode_header_padded(&self.record, area)?;
            self.buffer
                .splice(..HEADER_BYTES + self.record_area, header);
            self.record_area = area;
        }
        let backing = std::mem::replace(&mut self.file, Backing::Lost);
        let buffer = std::mem::take(&mut self.buffer);
        let (spool, queue_id) = (Arc::clone(&self.spool), self.queue_id);
        let (file, buffer) = blocking(move || {
            let mut file = backing.open(&spool, queue_id)?;
            file.write_all(&buffer).map(|()| (file, buffer))
        })
        .await?;
        self.file = Backing::Open(file);
        self.buffer = buffer;
        self.buffer.clear();
        Ok(())
    }
}

impl StoredMessage for SpoolFile {
    async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.buffer.extend_from_slice(data);
        self.data_crc.update(data);
        self.data_length += data.len() as u64;
        if self.buffer.len() >= WRITE_BUFFER_BYTES {
            self.flush_buffer().await?;
        }
        Ok(())
    }

    fn set_trace(&mut self, fields: Vec<u8>) {
        self.record.trace = fields;
    }

    fn set_junk(&mut self) {
        self.record.junk = true;
    }

    async fn contents(&mut self) -> io::Result<Vec<u8>> {
        let start = HEADER_BYTES + self.record_area;
        if matches!(self.file, Backing::NotCreated { .. }) {
            return Ok(self.buffer[start..].to_vec());
        }
        // The file holds the start; the buffer, what came since.
        let backing = std::mem::replace(&mut self.file, Backing::Lost);
        let Backing::Open(file) = backing else {
            return Err(io::Error::other("spool file lost after an earlier error"));
        };
        let (file, mut data) = blocking(move || {
            use std::os::unix::fs::FileExt as _;
            let length = file.metadata()?.len();
            let mut data = vec![0u8; (length as usize).saturating_sub(start)];
            file.read_exact_at(&mut data, start as u64)?;
            Ok((file, data))
        })
        .await?;
        self.file = Backing::Open(file);
        data.extend_from_slice(&self.buffer);
        Ok(data)
    }

    async fn commit(mut self) -> io::Result<()> {
        if let CommitTo::Postgres(queue) = &self.spool.commit_to {
            let queue = queue.clone();
            return self.commit_to_database(&queue).await;
        }
        // The record with its trace, and the seal over it and the data: in
        // the buffer, or in place at the start of the file.
        let started = !matches!(self.file, Backing::NotCreated { .. });
        let mut header = if started {
            let padded = record::encode_header_padded(&self.record, self.record_area)?;
            if padded.len() != HEADER_BYTES + self.record_area {
                return Err(io::Error::other("trace fields too large for their room"));
            }
            padded
        } else {
            record::encode_header(&self.record)?
        };
        let mut body_crc = crc32fast::Hasher::new();
        body_crc.update(&header[HEADER_BYTES..]);
        body_crc.combine(&self.data_crc);
        let body_length = (header.len() - HEADER_BYTES) as u64 + self.data_length;
        record::seal(&mut header, body_length, body_crc.finalize());
        if !started {
            self.buffer
                .splice(..HEADER_BYTES + self.record_area, header.drain(..));
        }
        let backing = std::mem::replace(&mut self.file, Backing::Lost);
        let buffer = std::mem::take(&mut self.buffer);
        let path = self.spool.queue_path(self.queue_id);
        let (spool, queue_id) = (Arc::clone(&self.spool), self.queue_id);
        // On any failure the message is removed, so that the 451 the client
        // gets is the truth: nothing was kept, nothing will be delivered.
        blocking(move || {
            let written = backing.open(&spool, queue_id).and_then(|mut file| {
                file.write_all(&buffer)?;
                if started {
                    use std::os::unix::fs::FileExt as _;
                    file.write_all_at(&header, 0)?;
                }
                file.sync_data()
            });
            if let Err(error) = written {
                let _ = fs::remove_file(&path);
                return Err(error);
            }
            Ok(())
        })
        .await?;
        self.spool.tried().committed(self.queue_id);
        self.spool.kept.keep(self.record);
        // The receiver is the delivery task; if it is gone the server is
        // stopping, and the message will be found in the queue at start.
        let _ = self.spool.committed.send(self.queue_id);
        Ok(())
    }

    async fn abort(mut self) {
        match self.file {
            Backing::NotCreated { blank: true } => {
                return self.spool.blanks.give_back(self.queue_id);
            }
            Backing::NotCreated { blank: false } => return,
            Backing::Open(_) | Backing::Lost => {}
        }
        self.file = Backing::Lost;
        let path = self.spool.arriving_path(self.queue_id);
        if let Err(error) = blocking(move || fs::remove_file(&path)).await {
            tracing::warn!(queue_id = %self.queue_id, %error, "cannot remove an aborted spool file");
        }
    }
}
