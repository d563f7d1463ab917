//! What the world gives the production delivery runner: its context (our
//! own listeners, the lists) and the outbound limits the world checks it
//! against.

use super::ServerGroup;
use crate::outbound::{OutboundLimits, SimEnvironment, Zone};
use crate::scenario::Scenario;
use postern::delivery;
use postern_core::bind::HostAddresses;
use postern_core::config::Config;
use postern_core::directory::Directory;
use postern_core::policy::Network;
use postern_core::route::Ourselves;
use std::net::IpAddr;
use std::sync::Arc;

/// The outbound limits as the world checks them: the per-destination limit
/// applies per remote address, times the destinations it serves.
pub(super) fn outbound_limits(scenario: &Scenario, config: &Config, zone: &Zone) -> OutboundLimits {
    let per_destination = config.outbound.max_connections_per_destination;
    let smarthost = smarthost_addresses(config, zone);
    let per_address = scenario
        .remotes
        .iter()
        .map(|remote| {
            let destinations = zone.destinations_at(remote.address).len()
                + usize::from(smarthost.contains(&remote.address));
            (
                remote.address,
                per_destination.saturating_mul(destinations.max(1) as u32),
            )
        })
        .collect();
    OutboundLimits {
        total: config.outbound.max_connections,
        per_address,
    }
}

/// The addresses of the configured smarthost, if there is one.
pub(super) fn smarthost_addresses(config: &Config, zone: &Zone) -> Vec<IpAddr> {
    config
        .outbound
        .smarthost
        .as_ref()
        .map(|smarthost| zone.addresses(&smarthost.host))
        .unwrap_or_default()
}

/// The delivery runner's context on `env`, as production builds it.
pub(super) fn delivery_context(
    group: &ServerGroup,
    env: SimEnvironment,
) -> Result<delivery::Context<SimEnvironment>, String> {
    // Our own listeners, as production gives them: an exchanger there is
    // a mail loop.
    let ourselves = Ourselves::new(
        group
            .plan
            .listeners
            .iter()
            .map(|listener| (listener.spec.address, listener.spec.port)),
        HostAddresses {
            networks: group.addresses.iter().map(|&a| Network::host(a)).collect(),
        },
    );
    let (lists, definitions) = super::list_clients::book(&group.config, &group.store);
    delivery::Context::new(
        &group.config,
        env,
        Arc::new(Directory::new(&group.config.domains).with_lists(&definitions)),
    )
    .map(|context| context.listening_at(ourselves).with_lists(lists))
}
