//! N nodes sharing one queue store (`[server] nodes`), as `postern run`
//! nodes share one PostgreSQL: each node is a host with its own
//! instances and its own production delivery runner, which hears of
//! messages only from the node's claimer and keeps them only while the
//! node's renewer keeps their leases. The claimer and the renewer are the
//! simulation's twins of `runtime-tokio/src/storage/postgres/node.rs`
//! (`claim` and `keep`), with the same timings, over the in-memory
//! shared queue ([`crate::store::shared_queue`]).
//!
//! After the run: the observer's violations (two holders at once, a
//! fenced write that landed), and no remote recipient given one message
//! more than once, plus once for each time a node lost its lease on it
//! (a node sends a message's final dot only while its lease surely
//! holds, so only a node that stops between its dot and its record of
//! the reply sends a second copy).

use super::checks::{contains, message_id};
use super::{Boot, Report, ServerGroup, delivery_context};
use crate::remote::Taken;
use crate::scenario::FaultKind;
use postern::delivery::{self, Command};
use postern_core::envelope::Destination;
use postern_core::limits::{STORAGE_CLAIM_POLL_INTERVAL, STORAGE_RETRY_DELAY_MAX};
use postern_core::queue::lease::{NodeId, renew_every};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

/// A lease's length when the scenario names none: `[storage] lease`'s
/// default.
pub(super) const LEASE_DEFAULT: Duration = Duration::from_secs(60);

/// The node at `slot` (node 1 first).
pub(super) fn node_id(slot: usize) -> NodeId {
    NodeId::try_from(slot + 1).unwrap_or(NodeId::MAX)
}

/// Starts the node at `slot`'s delivery runner, claimer and renewer on
/// its view of the shared store.
pub(super) fn start(
    group: &ServerGroup,
    slot: usize,
    boot: &Boot,
    commands: mpsc::UnboundedReceiver<Command>,
    commander: mpsc::UnboundedSender<Command>,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<(), String> {
    let store = group.store_of(slot);
    let mut env = group.outbound.clone();
    env.store = store.clone();
    env.log = Arc::clone(&group.node_logs[slot]);
    let context = delivery_context(group, env)?;
    let (arrivals, arrived) = mpsc::unbounded_channel();
    tasks.spawn_local(delivery::run(context, Vec::new(), arrived, commands).in_current_span());
    tasks.spawn_local(claim(store.clone(), arrivals).in_current_span());
    tasks.spawn_local(keep(store, commander).in_current_span());
    if let Some(news) = postern::driver::Backend::news(&boot.store).filter(|_| group.news.expires())
    {
        tasks.spawn_local(crate::store::news::run_expiry(news.clone()).in_current_span());
    }
    Ok(())
}

/// The wait after `failures` failures in a row, as the node's in
/// production: one second, doubled, at most [`STORAGE_RETRY_DELAY_MAX`].
fn backoff(failures: u32) -> Duration {
    let doubled = Duration::from_secs(1).saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(STORAGE_RETRY_DELAY_MAX)
}

/// Claims due messages for this node and hands them to the runner: at
/// start, on every commit on any node, and every
/// [`STORAGE_CLAIM_POLL_INTERVAL`].
async fn claim(
    store: crate::store::MemoryStore,
    arrivals: mpsc::UnboundedSender<postern_core::envelope::QueueId>,
) {
    let mut failures = 0u32;
    loop {
        match store.claim_due().await {
            Ok(claimed) => {
                if failures > 0 {
                    tracing::info!("claiming from the shared queue again");
                }
                failures = 0;
                for id in claimed {
                    if arrivals.send(id).is_err() {
                        return;
                    }
                }
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                let wait = backoff(failures);
                tracing::warn!(
                    "cannot claim due messages: {error}; trying again in {}s",
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
                continue;
            }
        }
        store.woken_or(STORAGE_CLAIM_POLL_INTERVAL).await;
        if arrivals.is_closed() {
            return;
        }
    }
}

/// Renews every lease this node holds every third of a lease; a lease
/// lost tells the runner to forget the message.
async fn keep(store: crate::store::MemoryStore, lost: mpsc::UnboundedSender<Command>) {
    let Some(lease) = store.shared_queue().map(|queue| queue.lease()) else {
        return;
    };
    let mut failures = 0u32;
    loop {
        let wait = match failures {
            0 => renew_every(lease),
            n => backoff(n).min(renew_every(lease)),
        };
        tokio::time::sleep(wait).await;
        if lost.is_closed() {
            return;
        }
        match store.renew_all().await {
            Ok(gone) => {
                if failures > 0 {
                    tracing::info!("renewing leases again");
                }
                failures = 0;
                for id in gone {
                    let _ = lost.send(Command::LeaseLost(id));
                }
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!("cannot renew leases: {error}; trying again");
            }
        }
    }
}

/// The nodes a fault names: "node1", "node2", ... or "server" (all).
pub(super) fn named_nodes(group: &ServerGroup, names: &[String]) -> Vec<(NodeId, IpAddr)> {
    (0..group.nodes.len())
        .filter(|&slot| {
            names
                .iter()
                .any(|name| name == "server" || *name == format!("node{}", slot + 1))
        })
        .map(|slot| (node_id(slot), group.nodes[slot]))
        .collect()
}

/// What a fault does to nodes beyond the network: a crash makes a node
/// forget its leases and its running server; a partition from "store"
/// cuts its link to the shared store; a pause stalls it. Answers whether
/// the fault was the store's alone (nothing for the network to do).
pub(super) fn apply_fault(
    sim: &mut turmoil::Sim<'_>,
    group: &ServerGroup,
    kind: FaultKind,
    hosts: &[String],
    and: &[String],
    others: &[IpAddr],
) -> bool {
    let Some(queue) = group.store.shared_queue() else {
        return false;
    };
    let nodes = named_nodes(group, hosts);
    let to_store = and.iter().any(|name| name == "store");
    for &(node, address) in &nodes {
        match kind {
            FaultKind::Crash => {
                queue.crashed(node);
                *super::lock(&group.boots[usize::from(node) - 1]) = None;
            }
            FaultKind::Partition if to_store => queue.set_partitioned(node, true),
            FaultKind::Repair if to_store => queue.set_partitioned(node, false),
            FaultKind::Pause | FaultKind::Resume => {
                let paused = kind == FaultKind::Pause;
                queue.set_paused(node, paused);
                for &other in others.iter().filter(|&&other| other != address) {
                    match paused {
                        true => sim.hold(address, other),
                        false => sim.release(address, other),
                    }
                }
            }
            _ => {}
        }
    }
    to_store || matches!(kind, FaultKind::Pause | FaultKind::Resume)
}

/// The invariants of nodes sharing a queue, once the run is over.
pub(super) fn check_leases(group: &ServerGroup, taken: &[Taken], report: &mut Report) {
    let Some(queue) = group.store.shared_queue() else {
        return;
    };
    report.violations.extend(queue.violations());
    for (slot, log) in group.node_logs.iter().enumerate() {
        let log = super::lock(log);
        report.stats.outbound_peak = report.stats.outbound_peak.max(log.peak);
        let node = slot + 1;
        report
            .violations
            .extend(log.violations.iter().map(|v| format!("node {node}: {v}")));
    }
    let stats = queue.stats();
    report.stats.lease_claims = stats.claims;
    report.stats.lease_takeovers = stats.takeovers;
    report.stats.fenced_writes = stats.fenced;
    report.stats.store_unreachable = stats.unreachable;
    let taken_over = queue.taken_over();
    for message in group.store.committed() {
        let id = message_id(&message.data);
        for recipient in &message.envelope.recipients {
            if recipient.destination != Destination::Remote {
                continue;
            }
            let address = recipient
                .forward_path
                .to_string()
                .trim_matches(['<', '>'])
                .to_lowercase();
            let copies = taken
                .iter()
                .filter(|t| t.recipients.contains(&address) && contains(&t.data, &id))
                .count();
            let lost_on: &[_] = taken_over.get(&message.queue_id).map_or(&[], Vec::as_slice);
            if copies > 1 + lost_on.len() {
                report.violations.push(format!(
                    "message {} {id} reached {address} {copies} times (nodes that lost its lease, in order: {lost_on:?}): once, and once more only for each lease that ran out",
                    message.queue_id,
                ));
            }
        }
    }
}
