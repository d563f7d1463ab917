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
use deadpool_postgres::{GenericClient, Pool, Transaction};
use postern_core::envelope::QueueId;
use postern_core::limits::STORAGE_CLAIM_MESSAGES_MAX;
use postern_core::queue::row::{from_row, to_row};
use postern_core::queue::{DeliveryState, RecipientState};
use postern_core::time::UnixTime;
use std::io;
use std::time::{Duration, SystemTime};
use tokio::io::AsyncRead;
use tokio_postgres::types::ToSql;

/// The accept's statement after its blob: the message's row (`$1` the
/// key, which names its blob too, `$2` received, `$3` the record, `$4`
/// the size, `$5` the next attempt), one row per recipient (`$6` to
/// `$11`, arrays of [`RecipientRows`]) and the wake-up (`$12` the
/// channel).
macro_rules! accept_rows {
    () => {
        "message AS ( \
             INSERT INTO queue_messages \
             (queue_id, received_at, record, blob_id, size, next_attempt) \
             VALUES ($1, $2, $3, $1, $4, COALESCE($5, now()))), \
         recipients AS ( \
             INSERT INTO queue_recipients \
             (queue_id, idx, status, attempts, next_attempt, last_detail, bounced) \
             SELECT $1, r.idx, r.status, r.attempts, r.next_attempt, r.last_detail, r.bounced \
             FROM unnest($6::INT[], $7::TEXT[], $8::BIGINT[], $9::TIMESTAMPTZ[], \
                         $10::TEXT[], $11::BOOL[]) \
                  AS r (idx, status, attempts, next_attempt, last_detail, bounced)) \
         SELECT pg_notify($12, '')"
    };
}

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
    ///
    /// A message whose data fits one chunk (most mail) is one statement,
    /// a transaction of its own: the blob's row and its chunk, the
    /// message's row, every recipient's row and the `NOTIFY`. A larger
    /// one writes its chunks first, then the rest in one statement, in a
    /// transaction.
    pub async fn commit(
        &self,
        record: &SpoolRecord,
        state: &DeliveryState,
        mut data: impl AsyncRead + Unpin,
    ) -> io::Result<()> {
        let key = key(record.queue_id)?;
        if state.recipients.len() != record.envelope.recipients.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the delivery state does not match the envelope's recipients",
            ));
        }
        let encoded = encode_header(record)?;
        let recipients = RecipientRows::of(state)?;
        let next_attempt = state.next_attempt().map(system_time);
        let received_at = system_time(UnixTime(record.received_at));
        // Read before a connection is taken: most messages are whole here.
        let first = blob::read_first(&mut data).await?;
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let chunk = match first {
            blob::First::Whole(chunk) => chunk,
            blob::First::Partial(first) => {
                let transaction = client.transaction().await.map_err(|e| io_error(&e))?;
                // The message's own blob, named by its queue ID (unique already).
                let size = blob::put_chunks(&transaction, key, first, data).await?;
                let statement = transaction
                    .prepare_cached(concat!("WITH ", accept_rows!()))
                    .await
                    .map_err(|e| io_error(&e))?;
                transaction
                    .execute(
                        &statement,
                        &recipients
                            .params(&[&key, &received_at, &encoded, &size, &next_attempt], &[]),
                    )
                    .await
                    .map_err(|e| io_error(&e))?;
                return transaction.commit().await.map_err(|e| io_error(&e));
            }
        };
        // Every sub-statement runs once, in one implicit transaction; the
        // foreign keys are checked at its end, when every row is there.
        // The notification is delivered when (and only if) it commits.
        let statement = client
            .prepare_cached(concat!(
                "WITH blob AS ( \
                     INSERT INTO blobs (blob_id, size, chunks) VALUES ($1, $4, $13::INT)), \
                 chunk AS ( \
                     INSERT INTO blob_chunks (blob_id, seq, data) \
                     SELECT $1, 0, $14::BYTEA WHERE $13::INT > 0), ",
                accept_rows!()
            ))
            .await
            .map_err(|e| io_error(&e))?;
        // One chunk at most, which fits an i64.
        let size = chunk.len() as i64;
        let chunks = blob::whole_chunks(&chunk);
        client
            .execute(
                &statement,
                &recipients.params(
                    &[&key, &received_at, &encoded, &size, &next_attempt],
                    &[&chunks, &chunk],
                ),
            )
            .await
            .map_err(|e| io_error(&e))?;
        Ok(())
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
                &client
                    .prepare_cached(
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
                    )
                    .await
                    .map_err(|e| io_error(&e))?,
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
                &client
                    .prepare_cached(
                        "UPDATE queue_messages \
                 SET lease_expires = now() + $4::FLOAT8 * INTERVAL '1 millisecond' \
                 WHERE queue_id = $1 AND lease_node = $2 AND lease_counter = $3 \
                   AND lease_expires > now() \
                 RETURNING lease_expires",
                    )
                    .await?,
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
                &transaction.prepare_cached("UPDATE queue_recipients SET bounced = true WHERE queue_id = $1 AND idx = $2").await?,
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
                &client
                    .prepare_cached(
                        "UPDATE queue_messages \
                 SET lease_node = NULL, lease_expires = NULL, next_attempt = $4 \
                 WHERE queue_id = $1 AND lease_node = $2 AND lease_counter = $3 \
                   AND lease_expires > now()",
                    )
                    .await?,
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

    /// Removes a message that needs nothing more: its rows, and its data.
    ///
    /// One statement, a transaction of its own: the fenced delete of the
    /// message's row (nothing when the lease is gone), and, only for the
    /// row it deleted, its recipients, its delivery keys (by cascade) and
    /// its blob. The blob is the message's own (named by its queue ID; a
    /// mailbox copy has a blob of its own), so nothing else refers to it;
    /// a mailbox message that did would keep it.
    pub async fn finish(&self, id: QueueId, held: &Lease) -> Result<(), StoreError> {
        let key = key(id)?;
        let client = self.pool.get().await?;
        let finish = client
            .prepare_cached(
                "WITH message AS ( \
                     DELETE FROM queue_messages \
                     WHERE queue_id = $1 AND lease_node = $2 AND lease_counter = $3 \
                       AND lease_expires > now() \
                     RETURNING queue_id, blob_id), \
                 recipients AS ( \
                     DELETE FROM queue_recipients \
                     WHERE queue_id IN (SELECT queue_id FROM message)), \
                 chunks AS ( \
                     DELETE FROM blob_chunks c WHERE c.blob_id IN (SELECT blob_id FROM message) \
                       AND NOT EXISTS (SELECT 1 FROM mail_messages u WHERE u.blob_id = c.blob_id)), \
                 blob AS ( \
                     DELETE FROM blobs b WHERE b.blob_id IN (SELECT blob_id FROM message) \
                       AND NOT EXISTS (SELECT 1 FROM mail_messages u WHERE u.blob_id = b.blob_id)) \
                 SELECT queue_id FROM message",
            )
            .await?;
        match client
            .query_opt(&finish, &[&key, &i32::from(held.node_id), &held.counter])
            .await?
        {
            Some(_) => Ok(()),
            None => Err(StoreError::Fenced),
        }
    }

    /// A message's record and delivery state. A record or rows that cannot
    /// be used are an error [`crate::spool::damage`] recognizes.
    pub async fn load(&self, id: QueueId) -> io::Result<(SpoolRecord, DeliveryState)> {
        let client = self.pool.get().await.map_err(pool_error)?;
        load_with(&client, id).await
    }

    /// A message's record alone (its envelope and trace fields).
    pub async fn spool_record(&self, id: QueueId) -> io::Result<SpoolRecord> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = message_column(&client, "record", id).await?;
        decode_spool_record(row.get(0))
    }

    /// A message's data and its size, read chunk by chunk as it is read.
    pub async fn data(&self, id: QueueId) -> io::Result<(u64, BlobReader)> {
        let (_, size, reader) = self.record_and_data(id).await?;
        Ok((size, reader))
    }

    /// A message's record (encoded, as stored), the size of its data and
    /// a reader of it: one statement, which brings the first chunk too
    /// (all of a message under
    /// [`postern_core::limits::STORAGE_CHUNK_BYTES_MAX`]).
    pub async fn record_and_data(&self, id: QueueId) -> io::Result<(Vec<u8>, u64, BlobReader)> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let statement = client
            .prepare_cached(
                "SELECT m.record, m.blob_id, b.size, b.chunks, c.data \
                 FROM queue_messages m \
                 LEFT JOIN blobs b ON b.blob_id = m.blob_id \
                 LEFT JOIN blob_chunks c ON c.blob_id = m.blob_id AND c.seq = 0 \
                 WHERE m.queue_id = $1",
            )
            .await
            .map_err(|e| io_error(&e))?;
        let row = client
            .query_opt(&statement, &[&key(id)?])
            .await
            .map_err(|e| io_error(&e))?
            .ok_or_else(|| not_queued(id))?;
        drop(client);
        let blob_id: i64 = row.get(1);
        let (Some(size), Some(chunks)) = (row.get(2), row.get(3)) else {
            return Err(damaged(format!("message data {blob_id} is missing")));
        };
        let (size, reader) =
            BlobReader::with_first(self.pool.clone(), blob_id, (size, chunks), row.get(4))?;
        Ok((row.get(0), size, reader))
    }

    /// Gives back each of `held`'s leases (all this node's, `node_id`)
    /// that is still live, in one statement, and wakes every node; each
    /// message is due again from its saved next attempt. Answers how many
    /// were given back.
    pub async fn release_held(&self, node_id: u16, held: &[(QueueId, Lease)]) -> io::Result<u64> {
        let mut keys = Vec::with_capacity(held.len());
        let mut counters = Vec::with_capacity(held.len());
        for (id, held) in held {
            keys.push(key(*id)?);
            counters.push(held.counter);
        }
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let transaction = client.transaction().await.map_err(|e| io_error(&e))?;
        let statement = transaction
            .prepare_cached(
                "UPDATE queue_messages AS m SET lease_node = NULL, lease_expires = NULL \
                 FROM unnest($2::BIGINT[], $3::BIGINT[]) AS h (queue_id, counter) \
                 WHERE m.queue_id = h.queue_id AND m.lease_counter = h.counter \
                   AND m.lease_node = $1 AND m.lease_expires > now()",
            )
            .await
            .map_err(|e| io_error(&e))?;
        let released = transaction
            .execute(&statement, &[&i32::from(node_id), &keys, &counters])
            .await
            .map_err(|e| io_error(&e))?;
        transaction
            .batch_execute(&format!("NOTIFY {}", super::QUEUE_CHANNEL))
            .await
            .map_err(|e| io_error(&e))?;
        transaction.commit().await.map_err(|e| io_error(&e))?;
        Ok(released)
    }

    /// Extends each of `held`'s leases (all this node's, `node_id`) to
    /// `lease` from now, in one statement; answers the messages whose
    /// lease was renewed. One missing from the answer is fenced: its lease
    /// ran out or passed to another node.
    pub async fn renew_many(
        &self,
        node_id: u16,
        held: &[(QueueId, Lease)],
        lease: Duration,
    ) -> io::Result<Vec<QueueId>> {
        Ok(self.renew_round(node_id, None, held, lease).await?.renewed)
    }

    /// [`PgQueue::renew_many`] and [`PgQueue::heartbeat`] (node `node_id`
    /// named `name`) in one statement: a renewal round of the node.
    pub async fn renew_with_heartbeat(
        &self,
        (node_id, name): (u16, &str),
        held: &[(QueueId, Lease)],
        lease: Duration,
    ) -> io::Result<Round> {
        self.renew_round(node_id, Some(name), held, lease).await
    }

    async fn renew_round(
        &self,
        node_id: u16,
        heartbeat: Option<&str>,
        held: &[(QueueId, Lease)],
        lease: Duration,
    ) -> io::Result<Round> {
        let mut keys = Vec::with_capacity(held.len());
        let mut counters = Vec::with_capacity(held.len());
        for (id, held) in held {
            keys.push(key(*id)?);
            counters.push(held.counter);
        }
        let client = self.pool.get().await.map_err(pool_error)?;
        // The heartbeat's insert runs only when a name is given ($5); its
        // rule is `heartbeat`'s.
        let statement = client
            .prepare_cached(
                "WITH beat AS ( \
                     INSERT INTO nodes (node_id, name, last_seen) \
                     SELECT $1, $5::TEXT, now() WHERE $5::TEXT IS NOT NULL \
                     ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, last_seen = now() \
                     WHERE nodes.name = excluded.name \
                        OR nodes.last_seen < now() - $4::FLOAT8 * INTERVAL '1 millisecond' \
                     RETURNING 1), \
                 renewed AS ( \
                     UPDATE queue_messages AS m \
                     SET lease_expires = now() + $4::FLOAT8 * INTERVAL '1 millisecond' \
                     FROM unnest($2::BIGINT[], $3::BIGINT[]) AS h (queue_id, counter) \
                     WHERE m.queue_id = h.queue_id AND m.lease_counter = h.counter \
                       AND m.lease_node = $1 AND m.lease_expires > now() \
                     RETURNING m.queue_id) \
                 SELECT (SELECT count(*) FROM beat), ARRAY(SELECT queue_id FROM renewed)",
            )
            .await
            .map_err(|e| io_error(&e))?;
        let row = client
            .query_one(
                &statement,
                &[
                    &i32::from(node_id),
                    &keys,
                    &counters,
                    &millis(lease),
                    &heartbeat,
                ],
            )
            .await
            .map_err(|e| io_error(&e))?;
        let renewed: Vec<i64> = row.get(1);
        Ok(Round {
            renewed: renewed.into_iter().map(|id| QueueId(id as u64)).collect(),
            alive: match heartbeat {
                None => Ok(()),
                Some(_) if row.get::<_, i64>(0) == 1 => Ok(()),
                Some(_) => Err(node_id_in_use(node_id)),
            },
        })
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
                &client
                    .prepare_cached(
                        "INSERT INTO nodes (node_id, name, last_seen) VALUES ($1, $2, now()) \
                 ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, last_seen = now() \
                 WHERE nodes.name = excluded.name \
                    OR nodes.last_seen < now() - $3::FLOAT8 * INTERVAL '1 millisecond'",
                    )
                    .await
                    .map_err(|e| io_error(&e))?,
                &[&i32::from(node_id), &name, &millis(lease)],
            )
            .await
            .map_err(|e| io_error(&e))?;
        if changed == 1 {
            Ok(())
        } else {
            Err(node_id_in_use(node_id))
        }
    }
}

/// What a renewal round ([`PgQueue::renew_with_heartbeat`]) did.
#[derive(Debug)]
pub struct Round {
    /// The messages whose lease was renewed; one held but missing here is
    /// fenced.
    pub renewed: Vec<QueueId>,
    /// The heartbeat's answer: refused when another live node has this
    /// node's number under another name.
    pub alive: io::Result<()>,
}

fn node_id_in_use(node_id: u16) -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        format!(
            "node id {node_id} is in use by another live node; give each node its own `node_id` under [storage]"
        ),
    )
}

/// [`PgQueue::load`] on `client` (a connection, or a transaction).
pub(super) async fn load_with(
    client: &impl GenericClient,
    id: QueueId,
) -> io::Result<(SpoolRecord, DeliveryState)> {
    let key = key(id)?;
    // One statement: the recipients' rows, the record on the first
    // (or on the only row, with no recipient, of a message without).
    let statement = client
        .prepare_cached(
            "SELECT CASE WHEN r.idx IS NULL OR r.idx = 0 THEN m.record END, \
                    r.idx, r.status, EXTRACT(EPOCH FROM r.next_attempt)::BIGINT, \
                    r.attempts, r.last_detail, r.bounced \
             FROM queue_messages m \
             LEFT JOIN queue_recipients r ON r.queue_id = m.queue_id \
             WHERE m.queue_id = $1 ORDER BY r.idx",
        )
        .await
        .map_err(|e| io_error(&e))?;
    let rows = client
        .query(&statement, &[&key])
        .await
        .map_err(|e| io_error(&e))?;
    let first = rows.first().ok_or_else(|| not_queued(id))?;
    let record: Option<&[u8]> = first.get(0);
    let record = decode_spool_record(
        record.ok_or_else(|| damaged(format!("message {id}: recipient rows start past 0")))?,
    )?;
    let mut state = DeliveryState {
        recipients: Vec::with_capacity(rows.len()),
        bounced: Vec::with_capacity(rows.len()),
    };
    for (expected, row) in rows.iter().enumerate() {
        let Some(index) = row.get::<_, Option<i32>>(1) else {
            // The message has no recipient rows.
            break;
        };
        if usize::try_from(index).ok() != Some(expected) {
            return Err(damaged(format!(
                "message {id}: recipient rows skip from {expected} to {index}"
            )));
        }
        let (recipient, bounced) =
            from_row(row.get(2), row.get(3), row.get(4), row.get(5), row.get(6))
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
            &transaction
                .prepare_cached(
                    "SELECT 1 FROM queue_messages \
             WHERE queue_id = $1 AND lease_node = $2 AND lease_counter = $3 \
               AND lease_expires > now() \
             FOR UPDATE",
                )
                .await?,
            &[&key, &i32::from(held.node_id), &held.counter],
        )
        .await?;
    if rows.is_empty() {
        Err(StoreError::Fenced)
    } else {
        Ok(())
    }
}

/// A message's recipient rows as the columns' arrays, for one statement.
struct RecipientRows {
    idx: Vec<i32>,
    status: Vec<&'static str>,
    attempts: Vec<i64>,
    next_attempt: Vec<Option<SystemTime>>,
    last_detail: Vec<String>,
    bounced: Vec<bool>,
}

impl RecipientRows {
    fn of(state: &DeliveryState) -> io::Result<Self> {
        let count = state.recipients.len();
        let mut rows = RecipientRows {
            idx: Vec::with_capacity(count),
            status: Vec::with_capacity(count),
            attempts: Vec::with_capacity(count),
            next_attempt: Vec::with_capacity(count),
            last_detail: Vec::with_capacity(count),
            bounced: Vec::with_capacity(count),
        };
        for (index, recipient) in state.recipients.iter().enumerate() {
            let bounced = state.bounced.get(index).copied().unwrap_or(false);
            let row = to_row(recipient, bounced);
            rows.idx.push(index_key(index)?);
            rows.status.push(row.status);
            rows.attempts.push(row.attempts);
            rows.next_attempt
                .push(row.next_attempt.map(|t| system_time(UnixTime(t))));
            rows.last_detail.push(row.last_detail);
            rows.bounced.push(row.bounced);
        }
        Ok(rows)
    }

    /// The accept's parameters: `message` (`$1` to `$5`), these rows
    /// (`$6` to `$11`), the channel (`$12`), then `blob` (from `$13`).
    fn params<'a>(
        &'a self,
        message: &[&'a (dyn ToSql + Sync); 5],
        blob: &[&'a (dyn ToSql + Sync)],
    ) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut params: Vec<&(dyn ToSql + Sync)> = message.to_vec();
        let rows: [&(dyn ToSql + Sync); 7] = [
            &self.idx,
            &self.status,
            &self.attempts,
            &self.next_attempt,
            &self.last_detail,
            &self.bounced,
            &super::QUEUE_CHANNEL,
        ];
        params.extend(rows);
        params.extend_from_slice(blob);
        params
    }
}

/// Writes recipient `index`'s state, and its bounce flag when given.
pub(super) async fn update_recipient(
    transaction: &Transaction<'_>,
    key: i64,
    index: usize,
    state: &RecipientState,
    bounced: Option<bool>,
) -> Result<(), StoreError> {
    let row = to_row(state, bounced.unwrap_or(false));
    let changed = transaction
        .execute(
            &transaction
                .prepare_cached(
                    "UPDATE queue_recipients \
             SET status = $3, attempts = $4, next_attempt = $5, last_detail = $6, \
                 bounced = COALESCE($7, bounced) \
             WHERE queue_id = $1 AND idx = $2",
                )
                .await?,
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
pub(super) async fn refresh_next_attempt(
    transaction: &Transaction<'_>,
    key: i64,
) -> Result<(), StoreError> {
    transaction
        .execute(
            &transaction
                .prepare_cached(
                    "UPDATE queue_messages SET next_attempt = COALESCE( \
                 (SELECT min(next_attempt) FROM queue_recipients \
                  WHERE queue_id = $1 AND status = 'pending'), now()) \
             WHERE queue_id = $1",
                )
                .await?,
            &[&key],
        )
        .await?;
    Ok(())
}

/// A queue ID as the `BIGINT` key it is stored under.
pub(super) fn key(id: QueueId) -> io::Result<i64> {
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

pub(super) fn system_time(time: UnixTime) -> SystemTime {
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
    client: &deadpool_postgres::Client,
    column: &'static str,
    id: QueueId,
) -> io::Result<tokio_postgres::Row> {
    client
        .query_opt(
            &client
                .prepare_cached(&format!(
                    "SELECT {column} FROM queue_messages WHERE queue_id = $1"
                ))
                .await
                .map_err(|e| io_error(&e))?,
            &[&key(id)?],
        )
        .await
        .map_err(|e| io_error(&e))?
        .ok_or_else(|| not_queued(id))
}

pub(super) fn not_queued(id: QueueId) -> io::Error {
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
