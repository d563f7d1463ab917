//! A node on the shared queue: how `postern run` joins the database, and
//! the tasks that keep its claims going.
//!
//! - [`Node::join`] connects (the pool, and the listener's own
//!   connection), checks the schema's version, and says the node is
//!   alive (refusing a `node_id` another live node holds). Any failure
//!   is an operator-ready error: the server does not start.
//! - [`claim`] claims due messages for this node (at start, on every
//!   commit anywhere, which wakes it through `LISTEN/NOTIFY` or, for this
//!   node's own commits, directly, and every
//!   [`STORAGE_CLAIM_POLL_INTERVAL`] for messages whose retry came due),
//!   and hands their IDs to the delivery runner.
//! - [`keep`] renews the leases held every third of a lease, and the
//!   node's heartbeat in the same statement; a renewal refused (fenced)
//!   tells the runner to forget the message.
//!
//! When the database cannot be reached, both log it and try again,
//! waiting longer each time up to [`STORAGE_RETRY_DELAY_MAX`]; they never
//! stop while the server runs.

use super::store::{Leases, SharedSystem};
use super::{PgQueue, QueueListener, describe, schema};
use crate::delivery::Command;
use crate::delivery::Context;
use crate::environment::System;
use postern_core::config::PostgresConfig;
use postern_core::envelope::QueueId;
use postern_core::limits::{
    STORAGE_CLAIM_GATHER_INTERVAL, STORAGE_CLAIM_POLL_INTERVAL, STORAGE_RENEW_MESSAGES_MAX,
    STORAGE_RETRY_DELAY_MAX,
};
use postern_core::queue::lease::{claim_limit, renew_every};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

/// This node's place in the shared queue.
pub struct Node {
    pub queue: PgQueue,
    pub listener: QueueListener,
    pub node_id: u16,
    pub name: String,
    pub lease: Duration,
    /// The leases this node holds.
    leases: Leases,
}

impl Node {
    /// Connects to the database `config` names and joins it as a node.
    /// `origin` names the configuration file in errors.
    pub async fn join(config: &PostgresConfig, origin: &str) -> Result<Node, String> {
        let client = super::client_config(config, origin)?;
        let (connection_client, connection) = client
            .connect()
            .await
            .map_err(|error| crate::storage_command::connect_error(config, &error))?;
        let connection = tokio::spawn(connection);
        let checked = check_schema(&connection_client, config).await;
        drop(connection_client);
        let _ = connection.await;
        checked?;
        let pool = super::pool(client.clone(), config.pool_size)?;
        let queue = PgQueue::new(pool);
        queue
            .heartbeat(config.node_id, &config.node_name, config.lease)
            .await
            .map_err(|error| format!("{}: {error}", config.url))?;
        let listener = QueueListener::start(client)
            .await
            .map_err(|error| format!("{}: cannot listen for commits: {error}", config.url))?;
        Ok(Node {
            queue,
            listener,
            node_id: config.node_id,
            name: config.node_name.clone(),
            lease: config.lease,
            leases: Leases::default(),
        })
    }
}

impl Node {
    /// The runner's world on this node: `system`'s network, DNS and
    /// clock, the shared queue, and `mailboxes` for local copies.
    pub fn world(&self, system: System, mailboxes: super::PgMailboxStore) -> SharedSystem {
        SharedSystem {
            system,
            queue: self.queue.clone(),
            mailboxes,
            leases: self.leases.clone(),
            lease: self.lease,
        }
    }

    /// Starts the runner on `context` (made on [`Node::world`]), with the
    /// claimer and the renewer. The runner hears of messages only from
    /// the claimer, which this node's commits (`committed`) wake, as
    /// other nodes' commits do through the listener. Answers the running
    /// node, to keep for as long as the server runs and to
    /// [`Running::leave`] at a clean stop.
    pub fn deliver(
        self,
        context: Context<SharedSystem>,
        committed: mpsc::UnboundedReceiver<QueueId>,
        commands: mpsc::UnboundedReceiver<Command>,
        lost: mpsc::UnboundedSender<Command>,
    ) -> Running {
        let (claimed, arrivals) = mpsc::unbounded_channel();
        let (stop_claiming, stopping) = watch::channel(false);
        tokio::spawn(crate::delivery::run(
            context,
            Vec::new(),
            arrivals,
            commands,
        ));
        let claimer = tokio::spawn(claim(
            self.queue.clone(),
            self.leases.clone(),
            (self.node_id, self.lease),
            (self.listener.notify(), stopping),
            committed,
            claimed,
        ));
        tokio::spawn(keep(
            self.queue.clone(),
            self.leases.clone(),
            (self.node_id, self.name, self.lease),
            lost,
        ));
        Running {
            _listener: self.listener,
            queue: self.queue,
            leases: self.leases,
            node_id: self.node_id,
            stop_claiming,
            claimer,
        }
    }
}

/// A node that delivers: its listener, and what a clean stop needs.
pub struct Running {
    _listener: QueueListener,
    queue: PgQueue,
    leases: Leases,
    node_id: u16,
    stop_claiming: watch::Sender<bool>,
    claimer: JoinHandle<()>,
}

impl Running {
    /// Leaves the shared queue at a clean stop: claims nothing more, and
    /// gives back every lease held (in one statement, with a `NOTIFY`), so
    /// that the other nodes take the messages at once rather than when
    /// the leases would have run out. Each message is due again from its
    /// last saved state. This node's writes for them are fenced from here
    /// on, and it makes no local copy of them (it no longer holds them).
    pub async fn leave(self) {
        let _ = self.stop_claiming.send(true);
        // A claim under way finishes first, so its leases are in the map.
        let _ = self.claimer.await;
        let held = self.leases.take_all();
        if held.is_empty() {
            return;
        }
        match self.queue.release_held(self.node_id, &held).await {
            Ok(released) => tracing::info!(
                released,
                "released {released} of {} leases to the shared queue",
                held.len()
            ),
            Err(error) => tracing::warn!(
                %error,
                "cannot release the leases held ({error}); the other nodes take the messages when they run out"
            ),
        }
    }
}

/// Refuses a database without Postern's schema, or with one older or
/// newer than this binary's, naming the fix.
async fn check_schema(
    client: &tokio_postgres::Client,
    config: &PostgresConfig,
) -> Result<(), String> {
    let known = schema::latest();
    let state = schema::state(client)
        .await
        .map_err(|e| format!("{}: {}", config.url, describe(&e)))?;
    match state {
        schema::SchemaState::Ours(version) if version == known => Ok(()),
        schema::SchemaState::Ours(version) if version > known => Err(format!(
            "{}: the schema is at version {version}, newer than this binary's {known}\n  help: upgrade postern on this node",
            config.url
        )),
        schema::SchemaState::Ours(version) => Err(format!(
            "{}: the schema is at version {version}, older than this binary's {known}\n  help: run `postern storage migrate`",
            config.url
        )),
        schema::SchemaState::Empty => Err(format!(
            "{}: the database is empty, with no Postern schema\n  help: run `postern storage init`",
            config.url
        )),
        schema::SchemaState::Foreign(_) => Err(format!(
            "{}: the database holds tables that are not Postern's\n  help: give Postern a database of its own",
            config.url
        )),
    }
}

/// The wait after `failures` failures in a row: one second, doubled each
/// time, at most [`STORAGE_RETRY_DELAY_MAX`].
fn backoff(failures: u32) -> Duration {
    let doubled = Duration::from_secs(1).saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(STORAGE_RETRY_DELAY_MAX)
}

/// Claims due messages for this node and hands their IDs to the runner
/// (`arrivals`), until the runner is gone or `stopping` says stop. Wakes on `woken` (a commit
/// on any node), on `committed` (a commit on this one), and every
/// [`STORAGE_CLAIM_POLL_INTERVAL`].
pub async fn claim(
    queue: PgQueue,
    leases: Leases,
    (node_id, lease): (u16, Duration),
    (woken, mut stopping): (Arc<Notify>, watch::Receiver<bool>),
    mut committed: mpsc::UnboundedReceiver<QueueId>,
    arrivals: mpsc::UnboundedSender<QueueId>,
) {
    let mut failures = 0u32;
    let mut local_open = true;
    loop {
        if *stopping.borrow() {
            return;
        }
        let limit = claim_limit(leases.len());
        let mut full = false;
        if limit > 0 {
            let asked = tokio::time::Instant::now();
            match queue.claim_due(node_id, limit, lease).await {
                Ok(claimed) => {
                    if failures > 0 {
                        tracing::info!("claiming from the shared queue again");
                    }
                    failures = 0;
                    full = claimed.len() as u32 >= limit;
                    for message in claimed {
                        let id = message.queue_id;
                        leases.insert_until(id, message.lease, asked + lease);
                        tracing::debug!(queue_id = %id, counter = message.lease.counter, "{id}: claimed");
                        if arrivals.send(id).is_err() {
                            return;
                        }
                    }
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let wait = backoff(failures);
                    tracing::warn!(%error, "cannot claim due messages: {error}; trying again in {}s", wait.as_secs());
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
        }
        if full {
            // More may be due: claim again at once (bounded by the limit).
            continue;
        }
        let commit = tokio::select! {
            () = woken.notified() => true,
            id = committed.recv(), if local_open => {
                if id.is_none() {
                    local_open = false;
                }
                id.is_some()
            }
            () = tokio::time::sleep(STORAGE_CLAIM_POLL_INTERVAL) => false,
            _ = stopping.changed() => return,
        };
        if commit {
            // Let more commits come, then claim them all at once; the
            // wake-ups that came meanwhile are taken with them.
            tokio::time::sleep(STORAGE_CLAIM_GATHER_INTERVAL).await;
            while committed.try_recv().is_ok() {}
        }
        if arrivals.is_closed() {
            return;
        }
    }
}

/// Renews every lease this node holds, and its heartbeat, every third of
/// a lease, until the runner is gone (`lost` closes). A renewal refused
/// tells the runner to forget the message ([`Command::LeaseLost`]).
pub async fn keep(
    queue: PgQueue,
    leases: Leases,
    (node_id, name, lease): (u16, String, Duration),
    lost: mpsc::UnboundedSender<Command>,
) {
    let mut failures = 0u32;
    loop {
        let wait = if failures == 0 {
            renew_every(lease)
        } else {
            backoff(failures).min(renew_every(lease))
        };
        tokio::time::sleep(wait).await;
        if lost.is_closed() {
            return;
        }
        match renew_all(&queue, &leases, (node_id, &name, lease), &lost).await {
            Ok(()) => {
                if failures > 0 {
                    tracing::info!("renewing leases again");
                }
                failures = 0;
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!(%error, "cannot renew leases: {error}; trying again");
                continue;
            }
        }
    }
}

/// One renewal round: every lease held, up to
/// [`STORAGE_RENEW_MESSAGES_MAX`] a statement, the heartbeat in the first
/// statement (alone when no lease is held): one statement a round for up
/// to that many leases.
async fn renew_all(
    queue: &PgQueue,
    leases: &Leases,
    (node_id, name, lease): (u16, &str, Duration),
    lost: &mpsc::UnboundedSender<Command>,
) -> std::io::Result<()> {
    let snapshot = leases.snapshot();
    let mut rounds = snapshot.chunks(STORAGE_RENEW_MESSAGES_MAX);
    let first = rounds.next().unwrap_or_default();
    for (index, held) in std::iter::once(first).chain(rounds).enumerate() {
        let asked = tokio::time::Instant::now();
        let renewed: BTreeSet<QueueId> = if index == 0 {
            let round = queue
                .renew_with_heartbeat((node_id, name), held, lease)
                .await?;
            if let Err(error) = round.alive {
                tracing::warn!(%error, "heartbeat: {error}");
            }
            round.renewed.into_iter().collect()
        } else {
            queue
                .renew_many(node_id, held, lease)
                .await?
                .into_iter()
                .collect()
        };
        for &(id, held) in held {
            if renewed.contains(&id) {
                leases.renewed(id, held, asked + lease);
            } else if leases.remove_if(id, held) {
                let _ = lost.send(Command::LeaseLost(id));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_after_failures_doubles_up_to_its_bound() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(40), STORAGE_RETRY_DELAY_MAX);
    }
}
