//! The POP3 maildrop lock across nodes (RFC 1939 8: "the POP3 server ...
//! acquires an exclusive-access lock on the maildrop"): a row of
//! `pop3_locks` per mailbox a session holds, with an expiry from the
//! database's clock.
//!
//! A session takes the row when there is none or when its expiry has
//! passed (its node was killed or cut off), in one statement (`INSERT ...
//! ON CONFLICT DO UPDATE ... WHERE expires <= now()`), renews it every
//! third of the lease while it lives, and deletes it when it ends. No
//! advisory locks: CockroachDB has none, and a lock held by a connection
//! would tie a session to one pooled connection.
//!
//! Each hold has a token, so that a late renewal or release of a hold
//! that expired and passed to another session changes nothing.

use super::{io_error, pool_error};
use deadpool_postgres::Pool;
use postern_core::envelope::LocalMailbox;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

/// The maildrop locks in the database, as node `node_id` takes them.
#[derive(Clone, Debug)]
pub struct PgMaildropLocks {
    pool: Pool,
    node_id: u16,
    lease: Duration,
}

/// A lock held in the database; dropping it stops its renewal and
/// deletes its row (if the runtime still runs; otherwise the row expires).
#[derive(Debug)]
pub struct PgMaildropLock {
    renewal: JoinHandle<()>,
    release: Option<(PgMaildropLocks, LocalMailbox, i64)>,
}

/// A token no other hold has: the node in the top bits, then a counter
/// that starts from the clock, so a restarted node does not repeat one.
fn token(node_id: u16) -> i64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let _ = NEXT.compare_exchange(
        0,
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 | 1),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    let counter = NEXT.fetch_add(1, Ordering::Relaxed) & ((1 << 47) - 1);
    ((u64::from(node_id) << 47) | counter) as i64
}

fn millis(lease: Duration) -> f64 {
    lease.as_millis() as f64
}

impl PgMaildropLocks {
    /// Locks taken by node `node_id`, each lasting `lease` from its last
    /// renewal.
    pub fn new(pool: Pool, node_id: u16, lease: Duration) -> Self {
        PgMaildropLocks {
            pool,
            node_id,
            lease,
        }
    }

    /// Takes `mailbox`'s lock: `None` while a live hold has it.
    pub async fn try_lock(&self, mailbox: &LocalMailbox) -> io::Result<Option<PgMaildropLock>> {
        let token = token(self.node_id);
        let client = self.pool.get().await.map_err(pool_error)?;
        let taken = client
            .query_opt(
                "INSERT INTO pop3_locks (domain, username, node_id, token, expires) \
                 VALUES ($1, $2, $3, $4, now() + $5 * INTERVAL '1 millisecond') \
                 ON CONFLICT (domain, username) DO UPDATE \
                 SET node_id = EXCLUDED.node_id, token = EXCLUDED.token, expires = EXCLUDED.expires \
                 WHERE pop3_locks.expires <= now() \
                 RETURNING token",
                &[
                    &mailbox.domain,
                    &mailbox.user,
                    &i32::from(self.node_id),
                    &token,
                    &millis(self.lease),
                ],
            )
            .await
            .map_err(|e| io_error(&e))?;
        if taken.is_none() {
            return Ok(None);
        }
        let renewal = tokio::spawn(renew(self.clone(), mailbox.clone(), token));
        Ok(Some(PgMaildropLock {
            renewal,
            release: Some((self.clone(), mailbox.clone(), token)),
        }))
    }

    /// Extends the hold `token` on `mailbox`: false when it is no longer
    /// held (it expired, and another session may have it).
    async fn extend(&self, mailbox: &LocalMailbox, token: i64) -> io::Result<bool> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let renewed = client
            .execute(
                "UPDATE pop3_locks SET expires = now() + $4 * INTERVAL '1 millisecond' \
                 WHERE domain = $1 AND username = $2 AND token = $3 AND expires > now()",
                &[&mailbox.domain, &mailbox.user, &token, &millis(self.lease)],
            )
            .await
            .map_err(|e| io_error(&e))?;
        Ok(renewed == 1)
    }

    /// Deletes the hold `token` on `mailbox` (another's is left).
    async fn release(&self, mailbox: &LocalMailbox, token: i64) -> io::Result<()> {
        let client = self.pool.get().await.map_err(pool_error)?;
        client
            .execute(
                "DELETE FROM pop3_locks WHERE domain = $1 AND username = $2 AND token = $3",
                &[&mailbox.domain, &mailbox.user, &token],
            )
            .await
            .map_err(|e| io_error(&e))?;
        Ok(())
    }
}

/// Renews the hold every third of its lease until it is dropped. A hold
/// found gone is said once and no longer renewed; a failure to reach the
/// database is tried again at the next turn.
async fn renew(locks: PgMaildropLocks, mailbox: LocalMailbox, token: i64) {
    let every = locks.lease / 3;
    loop {
        tokio::time::sleep(every).await;
        match locks.extend(&mailbox, token).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    %mailbox,
                    "the POP3 lock of {mailbox} expired before it was renewed; another node may open the maildrop"
                );
                return;
            }
            Err(error) => {
                tracing::warn!(%mailbox, "cannot renew the POP3 lock of {mailbox}: {error}");
            }
        }
    }
}

impl Drop for PgMaildropLock {
    fn drop(&mut self) {
        self.renewal.abort();
        let Some((locks, mailbox, token)) = self.release.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = locks.release(&mailbox, token).await {
                    tracing::warn!(%mailbox, "cannot release the POP3 lock of {mailbox} (it expires): {error}");
                }
            });
        }
    }
}
