//! `postern explain` for a connection to a tunnel: where it is connected
//! through to, and the timers that bound it.

use super::{Question, line};
use crate::config::ServiceConfig;
use crate::tunnel::TargetHost;
use humantime::format_duration;

/// The facts after access and quota, for a tunnel instance.
pub(super) fn lines(text: &mut String, service: &ServiceConfig, q: &Question) {
    // Configuration checks refuse a tunnel without a target.
    let Some(tunnel) = &service.tunnel else {
        line(text, "target", "none: the configuration gives no target");
        return;
    };
    let resolved = match &tunnel.target.host {
        TargetHost::Address(_) => "",
        TargetHost::Name(_) => {
            " (the name is resolved through the server's resolver at each connection)"
        }
    };
    line(
        text,
        "target",
        &format!(
            "connected through to {}{resolved}; if it cannot be reached within {} (connect_timeout), the client is closed and the failure logged",
            tunnel.target,
            format_duration(tunnel.connect_timeout)
        ),
    );
    line(
        text,
        "relay",
        "bytes both ways, unread and unchanged; when one side closes its sending half, the other is told (half-close) and the other way goes on",
    );
    line(
        text,
        "idle",
        &format!(
            "closed after {} with no byte either way (idle_timeout)",
            format_duration(tunnel.idle_timeout)
        ),
    );
    if q.from.is_some() || !q.to.is_empty() || q.size.is_some() {
        line(
            text,
            "envelope",
            "--from, --to and --size do not apply: a tunnel takes no mail",
        );
    }
}

#[cfg(test)]
mod tests;
