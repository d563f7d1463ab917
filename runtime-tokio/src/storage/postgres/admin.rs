//! The operator's view of the shared queue (`postern queue` on a node of
//! a PostgreSQL backend): every message in the database, whichever node
//! accepted or holds it, and the two changes an operator makes.
//!
//! - [`PgQueue::listing`] answers each message with its holder (the node
//!   whose lease is live, and for how long) and its next attempt.
//! - [`PgQueue::flush`] makes every message that no live lease holds due
//!   now, with core's rule ([`DeliveryState::flush`]), and wakes every
//!   node. A held message is being delivered (a node releases a message
//!   that only waits for a retry), so it is left to its holder.
//! - [`PgQueue::delete`] removes a message whoever holds it: the holder's
//!   later writes for it are fenced (its row is gone), so it writes
//!   nothing more and forgets it.

use super::queue::{key, load_with, not_queued, refresh_next_attempt, update_recipient};
use super::{PgQueue, StoreError, blob, io_error, pool_error};
use crate::spool::SpoolRecord;
use postern_core::envelope::QueueId;
use postern_core::limits::STORAGE_QUEUE_LIST_MESSAGES_MAX;
use postern_core::queue::DeliveryState;
use postern_core::time::UnixTime;
use std::io;

/// The node holding a message: its live lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub node_id: u16,
    /// The node's name from its heartbeat, if it has one.
    pub name: Option<String>,
    /// Seconds until the lease runs out, by the database's clock.
    pub expires_in: i64,
}

/// One message of the shared queue, as `postern queue list` shows it.
#[derive(Debug)]
pub struct Listed {
    pub queue_id: QueueId,
    /// Its record and state; an error when they cannot be read.
    pub message: io::Result<(SpoolRecord, DeliveryState)>,
    pub size: u64,
    /// Seconds until its next attempt (negative: due), database clock.
    pub due_in: i64,
    pub holder: Option<Holder>,
}

/// What a flush did.
#[derive(Debug, PartialEq, Eq)]
pub struct Flushed {
    /// Messages made due now.
    pub flushed: usize,
    /// Messages left to the node holding them.
    pub held: i64,
}

/// The shared queue in figures, for the status page.
#[derive(Debug, PartialEq, Eq)]
pub struct Census {
    /// Messages in the shared queue, on every node.
    pub messages: i64,
    /// Of those, the ones a node holds a live lease on (being delivered).
    pub held: i64,
    /// How long the oldest has waited (seconds, the database's clock).
    pub oldest_age: Option<i64>,
}

impl PgQueue {
    /// The shared queue's figures: one statement.
    pub async fn census(&self) -> io::Result<Census> {
        let client = self.pool().get().await.map_err(pool_error)?;
        let row = client
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE lease_expires > now()), \
                        EXTRACT(EPOCH FROM now() - min(received_at))::BIGINT \
                 FROM queue_messages",
                &[],
            )
            .await
            .map_err(|e| io_error(&e))?;
        Ok(Census {
            messages: row.get(0),
            held: row.get(1),
            oldest_age: row.get(2),
        })
    }

    /// Up to [`STORAGE_QUEUE_LIST_MESSAGES_MAX`] messages, in order of
    /// queue ID, with their holders; and how many there are in all. The
    /// damaged ones set aside are not among them ([`PgQueue::damaged`]).
    pub async fn listing(&self) -> io::Result<(Vec<Listed>, i64)> {
        let client = self.pool().get().await.map_err(pool_error)?;
        let limit = STORAGE_QUEUE_LIST_MESSAGES_MAX as i64;
        let rows = client
            .query(
                "SELECT m.queue_id, m.size, \
                        EXTRACT(EPOCH FROM m.next_attempt - now())::BIGINT, \
                        CASE WHEN m.lease_expires > now() THEN m.lease_node END, n.name, \
                        EXTRACT(EPOCH FROM m.lease_expires - now())::BIGINT \
                 FROM queue_messages m LEFT JOIN nodes n ON n.node_id = m.lease_node \
                 WHERE NOT EXISTS (SELECT 1 FROM queue_damaged d WHERE d.queue_id = m.queue_id) \
                 ORDER BY m.queue_id LIMIT $1",
                &[&limit],
            )
            .await
            .map_err(|e| io_error(&e))?;
        let total: i64 = client
            .query_one(
                "SELECT count(*) FROM queue_messages m \
                 WHERE NOT EXISTS (SELECT 1 FROM queue_damaged d WHERE d.queue_id = m.queue_id)",
                &[],
            )
            .await
            .map_err(|e| io_error(&e))?
            .get(0);
        let mut listed = Vec::with_capacity(rows.len());
        for row in rows {
            let queue_id = QueueId(row.get::<_, i64>(0) as u64);
            let message = load_with(&client, queue_id).await;
            // A message finished while we looked is simply gone.
            if matches!(&message, Err(e) if e.kind() == io::ErrorKind::NotFound) {
                continue;
            }
            let holder = row.get::<_, Option<i32>>(3).map(|node_id| Holder {
                node_id: u16::try_from(node_id).unwrap_or(u16::MAX),
                name: row.get(4),
                expires_in: row.get::<_, Option<i64>>(5).unwrap_or(0),
            });
            listed.push(Listed {
                queue_id,
                message,
                size: u64::try_from(row.get::<_, i64>(1)).unwrap_or(0),
                due_in: row.get(2),
                holder,
            });
        }
        Ok((listed, total))
    }

    /// Makes every message no live lease holds due at `now` (core's
    /// [`DeliveryState::flush`] on each), in one transaction, and wakes
    /// every node. Messages being claimed meanwhile are skipped, as held.
    pub async fn flush(&self, now: UnixTime) -> Result<Flushed, StoreError> {
        let mut client = self.pool().get().await?;
        let transaction = client.transaction().await?;
        let limit = STORAGE_QUEUE_LIST_MESSAGES_MAX as i64;
        let free = transaction
            .query(
                "SELECT queue_id FROM queue_messages \
                 WHERE lease_expires IS NULL OR lease_expires <= now() \
                 ORDER BY queue_id LIMIT $1 FOR UPDATE SKIP LOCKED",
                &[&limit],
            )
            .await?;
        let mut flushed = 0;
        for row in &free {
            let key: i64 = row.get(0);
            let id = QueueId(key as u64);
            let (_, mut state) = match load_with(&transaction, id).await {
                Ok(loaded) => loaded,
                // A damaged message is left as it is, for the runner.
                Err(error) if crate::spool::damage(&error).is_some() => continue,
                Err(error) => return Err(error.into()),
            };
            state.flush(now);
            for (index, recipient) in state.recipients.iter().enumerate() {
                update_recipient(&transaction, key, index, recipient, None).await?;
            }
            refresh_next_attempt(&transaction, key).await?;
            flushed += 1;
        }
        let held: i64 = transaction
            .query_one(
                "SELECT count(*) FROM queue_messages WHERE lease_expires > now()",
                &[],
            )
            .await?
            .get(0);
        transaction
            .batch_execute(&format!("NOTIFY {}", super::QUEUE_CHANNEL))
            .await?;
        transaction.commit().await?;
        Ok(Flushed { flushed, held })
    }

    /// Removes message `id` (its rows, and its data when nothing else
    /// refers to it), without a bounce, whoever holds it; answers the
    /// holder it had, whose writes for it are refused from now on.
    pub async fn delete(&self, id: QueueId) -> io::Result<Option<Holder>> {
        let key = key(id)?;
        let mut client = self.pool().get().await.map_err(pool_error)?;
        let transaction = client.transaction().await.map_err(|e| io_error(&e))?;
        // Locked: a claim or a holder's write under way finishes first.
        let row = transaction
            .query_opt(
                "SELECT m.blob_id, CASE WHEN m.lease_expires > now() THEN m.lease_node END, \
                        n.name, EXTRACT(EPOCH FROM m.lease_expires - now())::BIGINT \
                 FROM queue_messages m LEFT JOIN nodes n ON n.node_id = m.lease_node \
                 WHERE m.queue_id = $1 FOR UPDATE OF m",
                &[&key],
            )
            .await
            .map_err(|e| io_error(&e))?
            .ok_or_else(|| not_queued(id))?;
        let holder = row.get::<_, Option<i32>>(1).map(|node_id| Holder {
            node_id: u16::try_from(node_id).unwrap_or(u16::MAX),
            name: row.get(2),
            expires_in: row.get::<_, Option<i64>>(3).unwrap_or(0),
        });
        for statement in [
            "DELETE FROM queue_recipients WHERE queue_id = $1",
            "DELETE FROM queue_messages WHERE queue_id = $1",
        ] {
            transaction
                .execute(statement, &[&key])
                .await
                .map_err(|e| io_error(&e))?;
        }
        blob::delete_unreferenced(&transaction, row.get(0))
            .await
            .map_err(|e| io_error(&e))?;
        transaction.commit().await.map_err(|e| io_error(&e))?;
        Ok(holder)
    }
}
