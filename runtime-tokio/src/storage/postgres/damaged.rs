//! Damaged messages of the shared queue, set aside as files' spool sets
//! them aside in `spool/damaged/`.
//!
//! A message no node can read (its record, its recipients' rows or its
//! data: [`crate::spool::damage`] names the reason) would otherwise be
//! claimed, fail and be claimed again for ever, its holder retrying it
//! with backoff and keeping its lease. [`PgQueue::set_aside`] writes its
//! reason into `queue_damaged` and gives the message back with its next
//! attempt at the end of time, in one transaction fenced by the lease:
//! no node claims it again, and a node whose lease is gone writes
//! nothing. The message's rows stay as they were, for an operator to
//! look at; `postern queue list` shows it apart ([`PgQueue::damaged`]),
//! and `postern queue delete ID` removes it, reason and all.

use super::queue::{Lease, key};
use super::{PgQueue, StoreError, io_error, pool_error};
use postern_core::envelope::QueueId;
use postern_core::limits::{STORAGE_DAMAGE_REASON_BYTES_MAX, STORAGE_QUEUE_LIST_MESSAGES_MAX};
use postern_core::text::{bounded, escape_controls};
use std::io;

/// The next attempt of a message set aside: never, in a form every SQL
/// engine of the portable subset takes (CockroachDB's `infinity` for
/// timestamps is recent).
const NEVER: &str = "9999-12-31 00:00:00+00";

/// A message set aside, as `postern queue list` shows it.
#[derive(Debug, PartialEq, Eq)]
pub struct SetAside {
    pub queue_id: QueueId,
    pub reason: String,
    /// Seconds since it was set aside, by the database's clock.
    pub age: i64,
}

impl PgQueue {
    /// Sets message `id` aside as damaged for `reason`, under the lease
    /// `held`: its reason recorded, its lease released and its next
    /// attempt put at the end of time. [`StoreError::Fenced`] when the
    /// lease is no longer this node's (then nothing is written).
    pub async fn set_aside(
        &self,
        id: QueueId,
        held: &Lease,
        reason: &str,
    ) -> Result<(), StoreError> {
        let key = key(id)?;
        let reason =
            bounded(&escape_controls(reason), STORAGE_DAMAGE_REASON_BYTES_MAX).into_owned();
        let mut client = self.pool().get().await?;
        let transaction = client.transaction().await?;
        let released = transaction
            .execute(
                &format!(
                    "UPDATE queue_messages \
                     SET lease_node = NULL, lease_expires = NULL, \
                         next_attempt = TIMESTAMPTZ '{NEVER}' \
                     WHERE queue_id = $1 AND lease_node = $2 AND lease_counter = $3 \
                       AND lease_expires > now()"
                ),
                &[&key, &i32::from(held.node_id), &held.counter],
            )
            .await?;
        if released != 1 {
            return Err(StoreError::Fenced);
        }
        transaction
            .execute(
                "INSERT INTO queue_damaged (queue_id, reason, set_aside_at) \
                 VALUES ($1, $2, now()) \
                 ON CONFLICT (queue_id) \
                 DO UPDATE SET reason = excluded.reason, set_aside_at = excluded.set_aside_at",
                &[&key, &reason],
            )
            .await?;
        Ok(transaction.commit().await?)
    }

    /// The messages set aside, in order of queue ID, up to
    /// [`STORAGE_QUEUE_LIST_MESSAGES_MAX`]; and how many there are in all.
    pub async fn damaged(&self) -> io::Result<(Vec<SetAside>, i64)> {
        let client = self.pool().get().await.map_err(pool_error)?;
        let limit = STORAGE_QUEUE_LIST_MESSAGES_MAX as i64;
        let rows = client
            .query(
                "SELECT queue_id, reason, EXTRACT(EPOCH FROM now() - set_aside_at)::BIGINT \
                 FROM queue_damaged ORDER BY queue_id LIMIT $1",
                &[&limit],
            )
            .await
            .map_err(|e| io_error(&e))?;
        let total: i64 = client
            .query_one("SELECT count(*) FROM queue_damaged", &[])
            .await
            .map_err(|e| io_error(&e))?
            .get(0);
        let listed = rows
            .iter()
            .map(|row| SetAside {
                queue_id: QueueId(row.get::<_, i64>(0) as u64),
                reason: row.get(1),
                age: row.get(2),
            })
            .collect();
        Ok((listed, total))
    }
}
