//! Message data in the database: a `blobs` row (size, chunk count) and
//! its `blob_chunks` of at most [`STORAGE_CHUNK_BYTES_MAX`] octets each.
//! Data streams in and out one chunk at a time; no whole message is ever
//! held in memory.

use super::{io_error, pool_error};
use crate::spool::damaged;
use deadpool_postgres::{Pool, Transaction};
use postern_core::limits::{MESSAGE_BYTES_MAX, STORAGE_CHUNK_BYTES_MAX};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

/// Stores `data` as blob `blob_id` inside `transaction`; answers its size.
pub(super) async fn put(
    transaction: &Transaction<'_>,
    blob_id: i64,
    mut data: impl AsyncRead + Unpin,
) -> io::Result<i64> {
    transaction
        .execute(
            "INSERT INTO blobs (blob_id, size, chunks) VALUES ($1, 0, 0)",
            &[&blob_id],
        )
        .await
        .map_err(|e| io_error(&e))?;
    let mut chunk = vec![0u8; STORAGE_CHUNK_BYTES_MAX];
    let mut size: u64 = 0;
    let mut chunks: i32 = 0;
    loop {
        let filled = fill(&mut data, &mut chunk).await?;
        if filled == 0 {
            break;
        }
        size += filled as u64;
        if size > MESSAGE_BYTES_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("message data over {MESSAGE_BYTES_MAX} octets"),
            ));
        }
        transaction
            .execute(
                "INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)",
                &[&blob_id, &chunks, &&chunk[..filled]],
            )
            .await
            .map_err(|e| io_error(&e))?;
        chunks += 1;
        if filled < chunk.len() {
            break;
        }
    }
    // Within MESSAGE_BYTES_MAX, which fits an i64.
    let size = size as i64;
    transaction
        .execute(
            "UPDATE blobs SET size = $2, chunks = $3 WHERE blob_id = $1",
            &[&blob_id, &size, &chunks],
        )
        .await
        .map_err(|e| io_error(&e))?;
    Ok(size)
}

/// Reads until `buffer` is full or the data ends; answers the octets read.
async fn fill(data: &mut (impl AsyncRead + Unpin), buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let read = data.read(&mut buffer[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}

/// Deletes blob `blob_id` unless a queued message or a mailbox message
/// still refers to it. The blob's row is locked first, so two
/// transactions dropping the last two references one each cannot both
/// find the other's and leave the blob behind: the second waits, then
/// sees the first's delete.
pub(super) async fn delete_unreferenced(
    transaction: &Transaction<'_>,
    blob_id: i64,
) -> Result<(), tokio_postgres::Error> {
    let exists = transaction
        .query_opt(
            "SELECT 1 FROM blobs WHERE blob_id = $1 FOR UPDATE",
            &[&blob_id],
        )
        .await?;
    if exists.is_none() {
        return Ok(());
    }
    let referred = transaction
        .query_opt(
            "SELECT 1 FROM queue_messages WHERE blob_id = $1 \
             UNION ALL SELECT 1 FROM mail_messages WHERE blob_id = $1 LIMIT 1",
            &[&blob_id],
        )
        .await?;
    if referred.is_none() {
        transaction
            .execute("DELETE FROM blob_chunks WHERE blob_id = $1", &[&blob_id])
            .await?;
        transaction
            .execute("DELETE FROM blobs WHERE blob_id = $1", &[&blob_id])
            .await?;
    }
    Ok(())
}

type Fetch = Pin<Box<dyn Future<Output = io::Result<Vec<u8>>> + Send>>;

/// A blob's data, fetched one chunk at a time as it is read. A missing
/// or oversized chunk, or data that does not add up to the blob's size,
/// is an error (of kind `InvalidData`), never a short read taken for the
/// end.
pub struct BlobReader {
    pool: Pool,
    blob_id: i64,
    size: u64,
    chunks: i32,
    next: i32,
    read: u64,
    buffer: Vec<u8>,
    position: usize,
    fetching: Option<Fetch>,
}

impl BlobReader {
    /// Opens blob `blob_id`: answers its size and a reader.
    pub(super) async fn open(pool: Pool, blob_id: i64) -> io::Result<(u64, BlobReader)> {
        let client = pool.get().await.map_err(pool_error)?;
        let row = client
            .query_opt(
                "SELECT size, chunks FROM blobs WHERE blob_id = $1",
                &[&blob_id],
            )
            .await
            .map_err(|e| io_error(&e))?
            .ok_or_else(|| damaged(format!("message data {blob_id} is missing")))?;
        drop(client);
        let size = u64::try_from(row.get::<_, i64>(0))
            .map_err(|_| damaged(format!("message data {blob_id} has a negative size")))?;
        let reader = BlobReader {
            pool,
            blob_id,
            size,
            chunks: row.get(1),
            next: 0,
            read: 0,
            buffer: Vec::new(),
            position: 0,
            fetching: None,
        };
        Ok((size, reader))
    }
}

async fn fetch(pool: Pool, blob_id: i64, seq: i32) -> io::Result<Vec<u8>> {
    let client = pool.get().await.map_err(pool_error)?;
    let row = client
        .query_opt(
            "SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2",
            &[&blob_id, &seq],
        )
        .await
        .map_err(|e| io_error(&e))?
        .ok_or_else(|| damaged(format!("message data {blob_id}: chunk {seq} is missing")))?;
    let data: Vec<u8> = row.get(0);
    if data.is_empty() || data.len() > STORAGE_CHUNK_BYTES_MAX {
        return Err(damaged(format!(
            "message data {blob_id}: chunk {seq} has {} octets",
            data.len()
        )));
    }
    Ok(data)
}

impl AsyncRead for BlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.position < this.buffer.len() {
                let take = buf.remaining().min(this.buffer.len() - this.position);
                buf.put_slice(&this.buffer[this.position..this.position + take]);
                this.position += take;
                return Poll::Ready(Ok(()));
            }
            if this.next >= this.chunks {
                if this.read != this.size {
                    return Poll::Ready(Err(damaged(format!(
                        "message data {}: {} octets in its chunks, {} in its size",
                        this.blob_id, this.read, this.size
                    ))));
                }
                return Poll::Ready(Ok(()));
            }
            let fetching = this
                .fetching
                .get_or_insert_with(|| Box::pin(fetch(this.pool.clone(), this.blob_id, this.next)));
            let data = match fetching.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => {
                    this.fetching = None;
                    result?
                }
            };
            this.read += data.len() as u64;
            this.next += 1;
            this.buffer = data;
            this.position = 0;
        }
    }
}
