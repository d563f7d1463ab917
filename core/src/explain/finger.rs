//! `postern explain` for a connection to a finger instance: what a query
//! is answered with, the user list, forwarding, hidden users and the
//! query timeout.

use super::{Question, line};
use crate::config::ServiceConfig;
use crate::limits::FINGER_QUERY_BYTES_MAX;
use crate::text::counted;
use humantime::format_duration;

/// The facts after access and quota, for a finger instance.
pub(super) fn lines(text: &mut String, service: &ServiceConfig, q: &Question) {
    line(
        text,
        "query",
        "\"user\": each account with that local part: address, real name, new mail, plan; \"/W user\" adds the INBOX's figures",
    );
    let list = if service.list_users {
        "answered with every account not hidden (list_users = true)"
    } else {
        "refused with a plain line (list_users is off)"
    };
    line(text, "list", list);
    line(text, "forwarding", "\"user@host\" refused (RFC 1288 3.2.1)");
    let hidden = if service.hidden.is_empty() {
        "none".to_owned()
    } else {
        format!(
            "{}, answered as no such user",
            counted(service.hidden.len(), "account", "accounts")
        )
    };
    line(text, "hidden", &hidden);
    line(
        text,
        "idle",
        &format!(
            "closed unless a query of at most {FINGER_QUERY_BYTES_MAX} octets arrives within {}",
            format_duration(service.command_timeout)
        ),
    );
    if q.from.is_some() || !q.to.is_empty() || q.size.is_some() {
        line(
            text,
            "envelope",
            "--from, --to and --size do not apply: a finger instance takes no mail",
        );
    }
}

#[cfg(test)]
mod tests;
