//! How a run ends: the watcher host that ends it once the world has
//! settled, and the steps the runner adds after it for the server to see
//! its clients go.

use super::{ServerGroup, SharedState, lock};
use crate::scenario::Scenario;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The address of the host that ends a run once it has settled.
pub(super) const WATCHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 255, 255, 254));

/// Waits until the senders and readers are done, every fault has happened and the
/// queue is empty, or until the scenario's time is nearly up: the run ends
/// when it does.
pub(super) async fn watch_until_settled(
    scenario: Scenario,
    group: Arc<ServerGroup>,
    shared: SharedState,
) -> turmoil::Result {
    let last_fault = scenario
        .faults
        .iter()
        .map(|f| f.at + f.jitter)
        .max()
        .unwrap_or_default();
    let (senders, readers) = (scenario.senders.len(), scenario.readers.len());
    // Leave the end of the run for the server to see its clients go.
    let deadline = scenario
        .duration
        .saturating_sub(scenario.tick * (settle_steps(scenario.tick) + 100));
    loop {
        tokio::time::sleep(WATCH_EVERY.max(scenario.tick)).await;
        let now = turmoil::sim_elapsed().unwrap_or_default();
        let settled = lock(&shared).senders_done == senders
            && lock(&shared).readers_done == readers
            && lock(&shared).tunnel_clients_done == scenario.tunnel_clients.len()
            && lock(&shared).finger_clients_done == scenario.finger_clients.len()
            && lock(&shared).ftp_clients_done == scenario.ftp_clients.len()
            && lock(&shared).imap_clients_done == scenario.imap_clients.len()
            && lock(&shared).news.clients_done == scenario.news_clients.len()
            && lock(&shared).list_clients_done == scenario.list_subscribers.len()
            && now >= last_fault
            && group.store.queued().is_empty();
        if settled || now >= deadline {
            return Ok(());
        }
    }
}

/// How often the watcher looks: the steps of a settled world until it
/// looks again are waste (most of a short run's, at one look a second),
/// and so is each look of a run that cannot settle early.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// The virtual time run after every client has finished, for the server
/// to see the last of them go: a few of the network's longest delays.
const SETTLE: Duration = Duration::from_millis(500);

/// The steps that make up [`SETTLE`] at `tick`; at least a few, so that a
/// coarse tick still delivers what is in flight.
pub(super) fn settle_steps(tick: Duration) -> u32 {
    let steps = SETTLE.as_nanos().div_ceil(tick.as_nanos().max(1));
    u32::try_from(steps).unwrap_or(u32::MAX).max(3)
}
