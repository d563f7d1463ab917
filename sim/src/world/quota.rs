//! The quota invariant, checked from outside the instance: sessions
//! are counted here as they live, apart from the instance's own count.

use super::{Boot, ServerGroup, SharedState, lock};
use postern_core::admission::Limits;
use std::net::IpAddr;
use std::sync::Arc;

/// The invariant: no instance ever serves more sessions than its limits,
/// in total or from one host.
pub(super) fn check_quota(
    group: &ServerGroup,
    boot: &Boot,
    name: &str,
    remote: IpAddr,
    shared: &SharedState,
) {
    let Some(service) = group.config.services.iter().find(|s| s.name == name) else {
        return;
    };
    let limits = Limits {
        total: service.max_connections,
        per_key: service.max_connections_per_host,
    };
    let live = lock(&boot.live);
    let total: u32 = live
        .iter()
        .filter(|((n, _), _)| n == name)
        .map(|(_, c)| c)
        .sum();
    let from_host = live.get(&(name.to_owned(), remote)).copied().unwrap_or(0);
    if total > limits.total || from_host > limits.per_key {
        lock(shared).violations.push(format!(
            "quota exceeded on instance {name}: {total} sessions (limit {}), {from_host} from {remote} (limit {})",
            limits.total, limits.per_key
        ));
    }
}

/// A session counted while it lives.
pub(super) struct LiveSession {
    boot: Arc<Boot>,
    key: (String, IpAddr),
}

impl LiveSession {
    pub(super) fn start(boot: &Arc<Boot>, instance: &str, remote: IpAddr) -> Self {
        let key = (instance.to_owned(), remote);
        *lock(&boot.live).entry(key.clone()).or_default() += 1;
        LiveSession {
            boot: Arc::clone(boot),
            key,
        }
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        let mut live = lock(&self.boot.live);
        if let Some(count) = live.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                live.remove(&self.key);
            }
        }
    }
}
