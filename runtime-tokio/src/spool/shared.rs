//! The spool on a shared queue (the postgres backend): a session
//! writes to `incoming/`, and its commit streams the message into the
//! database instead of sealing it in `queue/`.

use super::{
    Backing, HEADER_BYTES, MESSAGE_READ_AT_ONCE_BYTES_MAX, Spool, SpoolFile, WRITE_BUFFER_BYTES,
    blocking,
};
use crate::driver::StoredMessage;
use crate::storage::postgres::PgQueue;
use postern_core::envelope::{Envelope, QueueId};
use postern_core::queue::DeliveryState;
use postern_core::time::UnixTime;
use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::Arc;

/// Where a [`Spool`]'s commits put messages.
#[derive(Clone, Default)]
pub enum CommitTo {
    /// `queue/` in the data directory: the files backend.
    #[default]
    Files,
    /// The queue in PostgreSQL that every node shares.
    Postgres(PgQueue),
}

impl std::fmt::Debug for CommitTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CommitTo::Files => "Files",
            CommitTo::Postgres(_) => "Postgres",
        })
    }
}

impl Spool {
    /// Queues a message made of `prefix` (a trace field) and then what
    /// `data` reads, in bounded chunks, committed like a message received
    /// over SMTP (a forwarded copy of a message the shared queue holds).
    pub async fn inject_stream(
        self: &Arc<Self>,
        envelope: Envelope,
        prefix: &[u8],
        mut data: impl tokio::io::AsyncRead + Unpin,
    ) -> io::Result<QueueId> {
        use tokio::io::AsyncReadExt;
        let (id, _, mut file) = self.create(envelope).await?;
        let copied: io::Result<()> = async {
            file.write(prefix).await?;
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

impl SpoolFile {
    /// The commit with the postgres backend: the record (with its trace)
    /// and the data, streamed from the buffer or from the file in
    /// `incoming/`, go into the shared queue in one transaction; then the
    /// file is removed, whether the commit succeeded or not (on failure
    /// nothing is kept, so the `451` the client gets is the truth).
    pub(super) async fn commit_to_database(mut self, queue: &PgQueue) -> io::Result<()> {
        let start = HEADER_BYTES + self.record_area;
        let state = DeliveryState::new(&self.record.envelope, UnixTime(self.record.received_at));
        let backing = std::mem::replace(&mut self.file, Backing::Lost);
        let created = !matches!(backing, Backing::NotCreated { .. });
        let committed = match backing {
            Backing::NotCreated { .. } => {
                queue
                    .commit(&self.record, &state, &self.buffer[start..])
                    .await
            }
            Backing::Open(mut file) => {
                // What is still buffered goes to the file (open for
                // writing only), which is opened again to be read from the
                // first octet of the data.
                let buffer = std::mem::take(&mut self.buffer);
                let path = self.spool.incoming.join(self.queue_id.to_string());
                let rewound = blocking(move || {
                    file.write_all(&buffer)?;
                    drop(file);
                    let mut file = fs::File::open(&path)?;
                    file.seek(SeekFrom::Start(start as u64))?;
                    Ok(file)
                })
                .await;
                match rewound {
                    Ok(file) => {
                        let data = tokio::io::BufReader::with_capacity(
                            WRITE_BUFFER_BYTES,
                            tokio::fs::File::from_std(file),
                        );
                        queue.commit(&self.record, &state, data).await
                    }
                    Err(error) => Err(error),
                }
            }
            Backing::Lost => Err(io::Error::other("spool file lost after an earlier error")),
        };
        if created {
            let path = self.spool.incoming.join(self.queue_id.to_string());
            if let Err(error) = blocking(move || fs::remove_file(&path)).await {
                tracing::warn!(queue_id = %self.queue_id, %error, "cannot remove a committed message's file from spool/incoming");
            }
        }
        committed?;
        // A wake-up for this node's claims; other nodes hear the NOTIFY.
        let _ = self.spool.committed.send(self.queue_id);
        Ok(())
    }
}
