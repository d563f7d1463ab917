//! Faults: what a scenario's `[[fault]]` does to the simulated network,
//! and to our server's memory when it crashes.

use super::ServerGroup;
use crate::scenario::{FaultKind, Scenario};
use std::net::IpAddr;

pub(super) fn apply_fault(
    sim: &mut turmoil::Sim<'_>,
    group: &ServerGroup,
    scenario: &Scenario,
    n: usize,
) {
    let fault = &scenario.faults[n];
    let hosts = |names: &[String]| -> Vec<IpAddr> {
        names
            .iter()
            .flat_map(|name| match name.as_str() {
                "server" => group.addresses.clone(),
                "store" => Vec::new(),
                node if node.starts_with("node") => {
                    super::nodes::named_nodes(group, std::slice::from_ref(name))
                        .into_iter()
                        .map(|(_, address)| address)
                        .collect()
                }
                other => match other.parse() {
                    Ok(address) => vec![address],
                    Err(_) => group.outbound.zone.addresses(other),
                },
            })
            .collect()
    };
    let (a, b) = (hosts(&fault.hosts), hosts(&fault.and));
    let _span = tracing::info_span!(parent: None, "host", ip = "sim").entered();
    let kind = format!("{:?}", fault.kind).to_lowercase();
    match b.is_empty() {
        true => tracing::info!("fault: {kind} {}", fault.hosts.join(" ")),
        false => tracing::info!(
            "fault: {kind} {} / {}",
            fault.hosts.join(" "),
            fault.and.join(" ")
        ),
    }
    // Every other host, for a paused node's held links.
    let others: Vec<IpAddr> = scenario
        .remotes
        .iter()
        .map(|remote| remote.address)
        .chain(scenario.senders.iter().map(|sender| sender.from))
        .collect();
    if super::nodes::apply_fault(sim, group, fault.kind, &fault.hosts, &fault.and, &others) {
        return;
    }
    for &x in &a {
        match fault.kind {
            FaultKind::Crash => sim.crash(x),
            FaultKind::Restart => sim.bounce(x),
            _ => {
                for &y in &b {
                    match fault.kind {
                        FaultKind::Partition => sim.partition(x, y),
                        FaultKind::Repair => sim.repair(x, y),
                        FaultKind::Hold => sim.hold(x, y),
                        FaultKind::Release => sim.release(x, y),
                        FaultKind::Crash
                        | FaultKind::Restart
                        | FaultKind::Pause
                        | FaultKind::Resume => unreachable!(),
                    }
                }
            }
        }
    }
    if fault.kind == FaultKind::Crash
        && group.nodes.is_empty()
        && a.iter().any(|x| group.addresses.contains(x))
    {
        group.crashed();
    }
}
