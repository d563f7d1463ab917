//! The queue on PostgreSQL: committed messages, their claims and their
//! per-recipient results, shared by every node.
//!
//! The contract the delivery runner relies on:
//! - [`PgQueue::commit`] stores the record, the data (in chunks) and one
//!   row per recipient in one transaction, and announces it (`NOTIFY`);
//!   when it returns, the message is durable (the `250` may follow).
//! - [`PgQueue::claim_due`] takes due messages no live lease holds, with
//!   `FOR UPDATE SKIP LOCKED`, so concurrent claims by several nodes get
//!   disjoint sets. Each claim increments the message's lease counter;
//!   the lease's expiry is the **database's** clock plus the lease, never
//!   a node's clock.
//! - Every later write ([`PgQueue::renew`], [`PgQueue::record`],
//!   [`PgQueue::save_state`], [`PgQueue::release`], [`PgQueue::finish`])
//!   is fenced: it lands only while the lease is the writer's (same node,
//!   same counter, not expired); otherwise it is [`StoreError::Fenced`]
//!   and nothing is written.

use super::blob::{self, BlobReader};
use super::{StoreError, io_error, pool_error};
use crate::spool::{SpoolRecord, damaged, decode_spool_record, encode_header};
use deadpool_postgres::{Pool, Transaction};
use postern_core::envelope::QueueId;
use postern_core::limits::STORAGE_CLAIM_MESSAGES_MAX;
use postern_core::queue::row::{from_row, to_row};
use postern_core::queue::{DeliveryState, RecipientState};
use postern_core::time::UnixTime;
use std::io;
use std::time::{Duration, SystemTime};
use tokio::io::AsyncRead;

/// A node's claim on a message: the fence of its writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub node_id: u16,
    /// The message's lease counter when this claim took it.
    pub counter: i64,
}

/// A message claimed by [`PgQueue::claim_due`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub queue_id: QueueId,
    pub lease: Lease,
    /// When the lease ends unless renewed, by the database's clock.
    pub expires: SystemTime,
}

/// The queue store on one database.
#[derive(Clone)]
pub struct PgQueue {
    pool: Pool,
}

impl PgQueue {
    pub fn new(pool: Pool) -> Self {
        PgQueue { pool }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Stores a received message in one transaction: its data from
    /// `data` (streamed in chunks), `record`, and `state`'s recipient
    /// rows; then wakes every node's runner. Durable once it returns.
    pub async fn commit(
        &self,
        record: &SpoolRecord,
        state: &DeliveryState,
        data: impl AsyncRead + Unpin,
    ) -> io::Result<()> {
        let key = key(record.queue_id)?;
        if state.recipients.len() != record.envelope.recipients.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the delivery state does not match the envelope's recipients",
            ));
        }
        let encoded = encode_header(record)?;
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let transaction = client.transaction().await.map_err(|e| io_error(&e))?;
        // The message's own blob, named by its queue ID (unique already).
        let size = blob::put(&transaction, key, data).await?;
        let next_attempt = state.next_attempt().map(system_time);
        transaction
            .execute(
                "INSERT INTO queue_messages \
                 (queue_id, received_at, record, blob_id, size, next_attempt) \
                 VALUES ($1, $2, $3, $1, $4, COALESCE($5, now()))",
                &[
                    &key,
                    &system_time(UnixTime(record.received_at)),
                    &encoded,
                    &size,
                    &next_attempt,
                ],
            )
            .await
            .map_err(|e| io_error(&e))?;
        for (index, recipient) in state.recipients.iter().enumerate() {
            let bounced = state.bounced.get(index).copied().unwrap_or(false);
            insert_recipient(&transaction, key, index, recipient, bounced).await?;
        }
        // Delivered to listeners when (and only if) the transaction commits.
        transaction
            .batch_execute(&format!("NOTIFY {}", super::QUEUE_CHANNEL))
            .await
            .map_err(|e| io_error(&e))?;
        transaction.commit().await.map_err(|e| io_error(&e))
    }

    /// Claims up to `limit` due messages for node `node_id`, each for
    /// `lease` from now by the database's clock; the earliest due first
    /// (then by queue ID). The rule, at the boundaries too, is core's
    /// [`postern_core::queue::lease::LeaseTable::claim_due`].
    pub async fn claim_due(
        &self,
        node_id: u16,
        limit: u32,
        lease: Duration,
    ) -> io::Result<Vec<Claimed>> {
        let limit = i64::from(limit.min(STORAGE_CLAIM_MESSAGES_MAX));
        let client = self.pool.get().await.map_err(pool_error)?;
        let rows = client
            .query(
                "UPDATE queue_messages \
                 SET lease_node = $1, lease_counter = lease_counter + 1, \
                     lease_expires = now() + $2::FLOAT8 * INTERVAL '1 millisecond' \
                 WHERE queue_id IN ( \
                     SELECT queue_id FROM queue_messages \
                     WHERE next_attempt <= now() \
                       AND (lease_expires IS NULL OR lease_expires <= now()) \
                     ORDER BY next_attempt, queue_id LIMIT $3 \
                     FOR UPDATE SKIP LOCKED) \
                 RETURNING queue_id, lease_counter, lease_expires",
                &[&i32::from(node_id), &millis(lease), &limit],
            )
            .await
            .map_err(|e| io_error(&e))?;
        let mut claimed: Vec<Claimed> = rows
            .iter()
            .map(|row| Claimed {
                queue_id: QueueId(row.get::<_, i64>(0) as u64),
                lease: Lease {
                    node_id,
                    counter: row.get(1),
                },
                expires: row.get(2),
            })
            .collect();
        claimed.sort_by_key(|c| c.queue_id);
        Ok(claimed)
    }

    /// Extends the lease to `lease` from now (the database's clock);
    /// answers the new expiry.
    pub async fn renew(
        &self,
        id: QueueId,
        held: &Lease,
        lease: Duration,
    ) -> Result<SystemTime, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "UPDATE queue_messages \
                 SET lease_expires = now() + $4::FLOAT8 * INTERVAL '1 millisecond' \
                 WHERE queue_id = $1 AND lease_node = $2 AND lease_counter = $3 \
                   AND lease_expires > now() \
                 RETURNING lease_expires",
                &[
                    &key(id)?,
                    &i32::from(held.node_id),
                    &held.counter,
                    &millis(lease),
                ],
            )
            .await?;
        row.map(|row| row.get(0)).ok_or(StoreError::Fenced)
    }

    /// Records recipient `index`'s state.
    pub async fn record(
        &self,
        id: QueueId,
        held: &Lease,
        index: usize,
        state: &RecipientState,
    ) -> Result<(), StoreError> {
        let key = key(id)?;
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        fence(&transaction, key, held).await?;
        update_recipient(&transaction, key, index, state, None).await?;
        refresh_next_attempt(&transaction, key).await?;
        Ok(transaction.commit().await?)
    }

    /// Records that recipient `index`'s bounce is queued.
    pub async fn record_bounced(
        &self,
        id: QueueId,
        held: &Lease,
        index: usize,
    ) -> Result<(), StoreError> {
        let key = key(id)?;
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        fence(&transaction, key, held).await?;
        let changed = transaction
            .execute(
                "UPDATE queue_recipients SET bounced = true WHERE queue_id = $1 AND idx = $2",
                &[&key, &index_key(index)?],
            )
            .await?;
        if changed != 1 {
            return Err(no_recipient(id, index).into());
        }
        Ok(transaction.commit().await?)
    }

    /// Records every recipient's state and bounce at once.
    pub async fn save_state(
        &self,
        id: QueueId,
        held: &Lease,
        state: &DeliveryState,
    ) -> Result<(), StoreError> {
        let key = key(id)?;
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        fence(&transaction, key, held).await?;
        for (index, recipient) in state.recipients.iter().enumerate() {
            let bounced = state.bounced.get(index).copied().unwrap_or(false);
            update_recipient(&transaction, key, index, recipient, Some(bounced)).await?;
        }
        refresh_next_attempt(&transaction, key).await?;
        Ok(transaction.commit().await?)
    }

    /// Gives the message back, to be claimed again from `next_attempt`.
    pub async fn release(
        &self,
        id: QueueId,
        held: &Lease,
        next_attempt: UnixTime,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let changed = client
            .execute(
                "UPDATE queue_messages \
                 SET lease_node = NULL, lease_expires = NULL, next_attempt = $4 \
                 WHERE queue_id = $1 AND lease_node = $2 AND lease_counter = $3 \
                   AND lease_expires > now()",
                &[
                    &key(id)?,
                    &i32::from(held.node_id),
                    &held.counter,
                    &system_time(next_attempt),
                ],
            )
            .await?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::Fenced)
        }
    }

    /// Removes a message that needs nothing more: its rows, and its data
    /// when no other message refers to it.
    pub async fn finish(&self, id: QueueId, held: &Lease) -> Result<(), StoreError> {
        let key = key(id)?;
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        fence(&transaction, key, held).await?;
        let blob_id: i64 = transaction
            .query_one(
                "SELECT blob_id FROM queue_messages WHERE queue_id = $1",
                &[&key],
            )
            .await?
            .get(0);
        transaction
            .execute("DELETE FROM queue_recipients WHERE queue_id = $1", &[&key])
            .await?;
        transaction
            .execute("DELETE FROM queue_messages WHERE queue_id = $1", &[&key])
            .await?;
        blob::delete_unreferenced(&transaction, blob_id).await?;
        Ok(transaction.commit().await?)
    }

    /// A message's record and delivery state. A record or rows that cannot
    /// be used are an error [`crate::spool::damage`] recognizes.
    pub async fn load(&self, id: QueueId) -> io::Result<(SpoolRecord, DeliveryState)> {
        let key = key(id)?;
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = message_column(&client, "record", id).await?;
        let record = decode_spool_record(row.get(0))?;
        let rows = client
            .query(
                "SELECT idx, status, EXTRACT(EPOCH FROM next_attempt)::BIGINT, attempts, \
                        last_detail, bounced \
                 FROM queue_recipients WHERE queue_id = $1 ORDER BY idx",
                &[&key],
            )
            .await
            .map_err(|e| io_error(&e))?;
        let mut state = DeliveryState {
            recipients: Vec::with_capacity(rows.len()),
            bounced: Vec::with_capacity(rows.len()),
        };
        for (expected, row) in rows.iter().enumerate() {
            let index: i32 = row.get(0);
            if usize::try_from(index).ok() != Some(expected) {
                return Err(damaged(format!(
                    "message {id}: recipient rows skip from {expected} to {index}"
                )));
            }
            let (recipient, bounced) =
                from_row(row.get(1), row.get(2), row.get(3), row.get(4), row.get(5))
                    .map_err(|problem| damaged(format!("message {id}: {problem}")))?;
            state.recipients.push(recipient);
            state.bounced.push(bounced);
        }
        if state.recipients.len() != record.envelope.recipients.len() {
            return Err(damaged(format!(
                "message {id}: {} recipient rows for {} recipients",
                state.recipients.len(),
                record.envelope.recipients.len()
            )));
        }
        Ok((record, state))
    }

    /// A message's record alone (its envelope and trace fields).
    pub async fn spool_record(&self, id: QueueId) -> io::Result<SpoolRecord> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = message_column(&client, "record", id).await?;
        decode_spool_record(row.get(0))
    }

    /// A message's data and its size, read chunk by chunk as it is read.
    pub async fn data(&self, id: QueueId) -> io::Result<(u64, BlobReader)> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = message_column(&client, "blob_id", id).await?;
        drop(client);
        BlobReader::open(self.pool.clone(), row.get(0)).await
    }

    /// Messages in the queue.
    pub async fn count(&self) -> io::Result<i64> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_one("SELECT count(*) FROM queue_messages", &[])
            .await
            .map_err(|e| io_error(&e))?;
        Ok(row.get(0))
    }

    /// Says this node is alive: its `nodes` row, with the database's time.
    /// Refused when another live node (seen within `lease`) has the same
    /// number under another name: two nodes must never share one.
    pub async fn heartbeat(&self, node_id: u16, name: &str, lease: Duration) -> io::Result<()> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let changed = client
            .execute(
                "INSERT INTO nodes (node_id, name, last_seen) VALUES ($1, $2, now()) \
                 ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, last_seen = now() \
                 WHERE nodes.name = excluded.name \
                    OR nodes.last_seen < now() - $3::FLOAT8 * INTERVAL '1 millisecond'",
                &[&i32::from(node_id), &name, &millis(lease)],
            )
            .await
            .map_err(|e| io_error(&e))?;
        if changed == 1 {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "node id {node_id} is in use by another live node; give each node its own `node_id` under [storage]"
                ),
            ))
        }
    }
}

/// Goes on only while `held` is the message's live lease, and keeps the
/// message's row locked until the transaction ends, so that no claim
/// can take it over in between.
pub(super) async fn fence(
    transaction: &Transaction<'_>,
    key: i64,
    held: &Lease,
) -> Result<(), StoreError> {
    let rows = transaction
        .query(
            "SELECT 1 FROM queue_messages \
             WHERE queue_id = $1 AND lease_node = $2 AND lease_counter = $3 \
               AND lease_expires > now() \
             FOR UPDATE",
            &[&key, &i32::from(held.node_id), &held.counter],
        )
        .await?;
    if rows.is_empty() {
        Err(StoreError::Fenced)
    } else {
        Ok(())
    }
}

async fn insert_recipient(
    transaction: &Transaction<'_>,
    key: i64,
    index: usize,
    state: &RecipientState,
    bounced: bool,
) -> io::Result<()> {
    let row = to_row(state, bounced);
    transaction
        .execute(
            "INSERT INTO queue_recipients \
             (queue_id, idx, status, attempts, next_attempt, last_detail, bounced) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &key,
                &index_key(index)?,
                &row.status,
                &row.attempts,
                &row.next_attempt.map(|t| system_time(UnixTime(t))),
                &row.last_detail,
                &row.bounced,
            ],
        )
        .await
        .map_err(|e| io_error(&e))?;
    Ok(())
}

/// Writes recipient `index`'s state, and its bounce flag when given.
async fn update_recipient(
    transaction: &Transaction<'_>,
    key: i64,
    index: usize,
    state: &RecipientState,
    bounced: Option<bool>,
) -> Result<(), StoreError> {
    let row = to_row(state, bounced.unwrap_or(false));
    let changed = transaction
        .execute(
            "UPDATE queue_recipients \
             SET status = $3, attempts = $4, next_attempt = $5, last_detail = $6, \
                 bounced = COALESCE($7, bounced) \
             WHERE queue_id = $1 AND idx = $2",
            &[
                &key,
                &index_key(index)?,
                &row.status,
                &row.attempts,
                &row.next_attempt.map(|t| system_time(UnixTime(t))),
                &row.last_detail,
                &bounced,
            ],
        )
        .await?;
    if changed == 1 {
        Ok(())
    } else {
        Err(no_recipient(QueueId(key as u64), index).into())
    }
}

/// The message's next attempt: its earliest pending recipient's, or now
/// when none is pending (a bounce to queue, or nothing left to do).
async fn refresh_next_attempt(transaction: &Transaction<'_>, key: i64) -> Result<(), StoreError> {
    transaction
        .execute(
            "UPDATE queue_messages SET next_attempt = COALESCE( \
                 (SELECT min(next_attempt) FROM queue_recipients \
                  WHERE queue_id = $1 AND status = 'pending'), now()) \
             WHERE queue_id = $1",
            &[&key],
        )
        .await?;
    Ok(())
}

/// A queue ID as the `BIGINT` key it is stored under.
fn key(id: QueueId) -> io::Result<i64> {
    i64::try_from(id.0).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("queue ID {id} is beyond what the database stores"),
        )
    })
}

fn index_key(index: usize) -> io::Result<i32> {
    i32::try_from(index).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("recipient index {index} is out of range"),
        )
    })
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn system_time(time: UnixTime) -> SystemTime {
    let seconds = Duration::from_secs(time.0.unsigned_abs());
    if time.0 >= 0 {
        SystemTime::UNIX_EPOCH + seconds
    } else {
        SystemTime::UNIX_EPOCH - seconds
    }
}

/// One column (`record` or `blob_id`) of message `id`'s row; `NotFound`
/// when it is not queued.
async fn message_column(
    client: &tokio_postgres::Client,
    column: &'static str,
    id: QueueId,
) -> io::Result<tokio_postgres::Row> {
    client
        .query_opt(
            &format!("SELECT {column} FROM queue_messages WHERE queue_id = $1"),
            &[&key(id)?],
        )
        .await
        .map_err(|e| io_error(&e))?
        .ok_or_else(|| not_queued(id))
}

fn not_queued(id: QueueId) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("message {id} is not in the queue"),
    )
}

fn no_recipient(id: QueueId, index: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("message {id} has no recipient {index}"),
    )
}
