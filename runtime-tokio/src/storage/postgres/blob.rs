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

/// The start of some data, read before anything is written.
pub(super) enum First {
    /// All of it: it fits one chunk (most mail).
    Whole(Vec<u8>),
    /// A full first chunk; more may follow.
    Partial(Vec<u8>),
}

/// Reads the first chunk of `data` (up to [`STORAGE_CHUNK_BYTES_MAX`]).
pub(super) async fn read_first(data: &mut (impl AsyncRead + Unpin)) -> io::Result<First> {
    let mut chunk = vec![0u8; STORAGE_CHUNK_BYTES_MAX];
    let filled = fill(data, &mut chunk).await?;
    if filled < chunk.len() {
        chunk.truncate(filled);
        Ok(First::Whole(chunk))
    } else {
        Ok(First::Partial(chunk))
    }
}

/// Stores `data` as blob `blob_id` inside `transaction`; answers its size.
/// Data that fits one chunk (most mail) takes one statement: the blob's
/// row with its size, and the chunk.
pub(super) async fn put(
    transaction: &Transaction<'_>,
    blob_id: i64,
    mut data: impl AsyncRead + Unpin,
) -> io::Result<i64> {
    match read_first(&mut data).await? {
        First::Whole(chunk) => {
            let statement = transaction
                .prepare_cached(
                    "WITH blob AS (INSERT INTO blobs (blob_id, size, chunks) VALUES ($1, $2, $3)) \
                     INSERT INTO blob_chunks (blob_id, seq, data) \
                     SELECT $1, 0, $4::BYTEA WHERE $3::INT > 0",
                )
                .await
                .map_err(|e| io_error(&e))?;
            // At most one chunk, which fits an i64.
            let size = chunk.len() as i64;
            transaction
                .execute(
                    &statement,
                    &[&blob_id, &size, &whole_chunks(&chunk), &chunk],
                )
                .await
                .map_err(|e| io_error(&e))?;
            Ok(size)
        }
        First::Partial(first) => put_chunks(transaction, blob_id, first, data).await,
    }
}

/// The chunks of data that fits one: none when it is empty.
pub(super) fn whole_chunks(data: &[u8]) -> i32 {
    i32::from(!data.is_empty())
}

/// Stores blob `blob_id` of more than one chunk: `first` (full), then the
/// rest of `data`, one statement per chunk, and its size after them.
pub(super) async fn put_chunks(
    transaction: &Transaction<'_>,
    blob_id: i64,
    mut chunk: Vec<u8>,
    mut data: impl AsyncRead + Unpin,
) -> io::Result<i64> {
    let insert_chunk = transaction
        .prepare_cached("INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)")
        .await
        .map_err(|e| io_error(&e))?;
    let insert_blob = transaction
        .prepare_cached("INSERT INTO blobs (blob_id, size, chunks) VALUES ($1, $2, $3)")
        .await
        .map_err(|e| io_error(&e))?;
    transaction
        .execute(&insert_blob, &[&blob_id, &0i64, &0i32])
        .await
        .map_err(|e| io_error(&e))?;
    let mut size: u64 = 0;
    let mut chunks: i32 = 0;
    let mut filled = chunk.len();
    chunk.resize(STORAGE_CHUNK_BYTES_MAX, 0);
    while filled > 0 {
        size += filled as u64;
        if size > MESSAGE_BYTES_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("message data over {MESSAGE_BYTES_MAX} octets"),
            ));
        }
        transaction
            .execute(&insert_chunk, &[&blob_id, &chunks, &&chunk[..filled]])
            .await
            .map_err(|e| io_error(&e))?;
        chunks += 1;
        if filled < chunk.len() {
            break;
        }
        filled = fill(&mut data, &mut chunk).await?;
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
    let lock = transaction
        .prepare_cached("SELECT 1 FROM blobs WHERE blob_id = $1 FOR UPDATE")
        .await?;
    if transaction.query_opt(&lock, &[&blob_id]).await?.is_none() {
        return Ok(());
    }
    let referred = transaction
        .prepare_cached(
            "SELECT 1 FROM queue_messages WHERE blob_id = $1 \
             UNION ALL SELECT 1 FROM mail_messages WHERE blob_id = $1 LIMIT 1",
        )
        .await?;
    if transaction
        .query_opt(&referred, &[&blob_id])
        .await?
        .is_none()
    {
        let chunks = transaction
            .prepare_cached("DELETE FROM blob_chunks WHERE blob_id = $1")
            .await?;
        transaction.execute(&chunks, &[&blob_id]).await?;
        let blob = transaction
            .prepare_cached("DELETE FROM blobs WHERE blob_id = $1")
            .await?;
        transaction.execute(&blob, &[&blob_id]).await?;
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
        BlobReader::with_first(pool, blob_id, (row.get(0), row.get(1)), None)
    }

    /// A reader of blob `blob_id` whose `(size, chunks)` were read already,
    /// and its first chunk too when `first` is given (the query that found
    /// the blob fetched it: one statement for a message of one chunk).
    pub(super) fn with_first(
        pool: Pool,
        blob_id: i64,
        (size, chunks): (i64, i32),
        first: Option<Vec<u8>>,
    ) -> io::Result<(u64, BlobReader)> {
        let size = u64::try_from(size)
            .map_err(|_| damaged(format!("message data {blob_id} has a negative size")))?;
        let mut reader = BlobReader {
            pool,
            blob_id,
            size,
            chunks,
            next: 0,
            read: 0,
            buffer: Vec::new(),
            position: 0,
            fetching: None,
        };
        if let Some(data) = first.filter(|_| chunks > 0) {
            check_chunk(blob_id, 0, &data)?;
            reader.read = data.len() as u64;
            reader.next = 1;
            reader.buffer = data;
        }
        Ok((size, reader))
    }
}

/// A chunk as stored is never empty nor over [`STORAGE_CHUNK_BYTES_MAX`].
fn check_chunk(blob_id: i64, seq: i32, data: &[u8]) -> io::Result<()> {
    if data.is_empty() || data.len() > STORAGE_CHUNK_BYTES_MAX {
        return Err(damaged(format!(
            "message data {blob_id}: chunk {seq} has {} octets",
            data.len()
        )));
    }
    Ok(())
}

async fn fetch(pool: Pool, blob_id: i64, seq: i32) -> io::Result<Vec<u8>> {
    let client = pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached("SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2")
        .await
        .map_err(|e| io_error(&e))?;
    let row = client
        .query_opt(&statement, &[&blob_id, &seq])
        .await
        .map_err(|e| io_error(&e))?
        .ok_or_else(|| damaged(format!("message data {blob_id}: chunk {seq} is missing")))?;
    let data: Vec<u8> = row.get(0);
    check_chunk(blob_id, seq, &data)?;
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
