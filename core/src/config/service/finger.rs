//! The keys of a `kind = "finger"` instance: which of the `[[service]]`
//! keys apply to it, its query timeout, and its own keys `list_users`
//! and `hidden`.
//!
//! Finger (RFC 1288) takes no mail, no logins and has no TLS, so the keys
//! for those are errors on a finger instance, not silently ignored; and
//! `list_users` and `hidden` are errors on any other kind.

use super::{ConfigError, RawService, ServiceConfig, ServiceKind, spanned_error};
use crate::accounts::normalize_login;
use crate::limits::{FINGER_QUERY_TIMEOUT_DEFAULT, FINGER_QUERY_TIMEOUT_MAX};
use std::ops::Range;
use std::time::Duration;

/// Reports every key written for a finger instance that does not apply
/// to it, at its line, with the fix.
pub(super) fn check_inapplicable_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) {
    let name = service.name.get_ref();
    let span = |v: Option<Range<usize>>| v;
    let inapplicable: [(&str, Option<Range<usize>>, &str); 14] = [
        (
            "relay",
            span(service.relay.as_ref().map(|v| v.span())),
            "a finger instance takes no mail",
        ),
        (
            "max_message_size",
            service.max_message_size.as_ref().map(|v| v.span()),
            "a finger instance takes no mail",
        ),
        (
            "max_recipients",
            service.max_recipients.as_ref().map(|v| v.span()),
            "a finger instance takes no mail",
        ),
        (
            "data_timeout",
            service.data_timeout.as_ref().map(|v| v.span()),
            "a finger instance takes no mail; its query timeout is command_timeout",
        ),
        (
            "min_data_rate",
            service.min_data_rate.as_ref().map(|v| v.span()),
            "a finger instance takes no mail",
        ),
        (
            "mail_auth",
            service.mail_auth.as_ref().map(|v| v.span()),
            "it checks the senders of mail received over SMTP",
        ),
        (
            "spf_fail",
            service.spf_fail.as_ref().map(|v| v.span()),
            "it checks the senders of mail received over SMTP",
        ),
        (
            "arc_trusted_sealers",
            service.arc_trusted_sealers.as_ref().map(|v| v.span()),
            "it decides what a DMARC failure of mail received over SMTP costs",
        ),
        (
            "max_errors",
            service.max_errors.as_ref().map(|v| v.span()),
            "a finger session is one query and one answer",
        ),
        (
            "auth",
            service.auth.as_ref().map(|v| v.span()),
            "finger takes no logins",
        ),
        (
            "auth_without_tls",
            service.auth_without_tls.as_ref().map(|v| v.span()),
            "finger takes no logins",
        ),
        (
            "tls",
            service.tls.as_ref().map(|v| v.span()),
            "RFC 1288 finger has no TLS",
        ),
        (
            "tls_certificate",
            service.tls_certificate.as_ref().map(|v| v.span()),
            "RFC 1288 finger has no TLS",
        ),
        (
            "tls_key",
            service.tls_key.as_ref().map(|v| v.span()),
            "RFC 1288 finger has no TLS",
        ),
    ];
    for (key, span, why) in inapplicable {
        if let Some(span) = span {
            errors.push(spanned_error(
                source,
                span,
                key,
                format!("does not apply to a finger instance: {why}"),
                &format!("remove `{key}` from the [[service]] \"{name}\" (kind = \"finger\")"),
            ));
        }
    }
}

/// `command_timeout` of a finger instance: how long a client has to send
/// its query, [`FINGER_QUERY_TIMEOUT_DEFAULT`] unless written, at most
/// [`FINGER_QUERY_TIMEOUT_MAX`].
pub(super) fn query_timeout(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    let Some(written) = &service.command_timeout else {
        return FINGER_QUERY_TIMEOUT_DEFAULT;
    };
    let timeout = written.get_ref().0;
    if timeout > FINGER_QUERY_TIMEOUT_MAX || timeout.is_zero() {
        errors.push(spanned_error(
            source,
            written.span(),
            "command_timeout",
            format!(
                "{} is not a finger query timeout: a client sends its one query line at once",
                humantime::format_duration(timeout)
            ),
            "use 1s to 60s (the default for a finger instance is 10s), or remove the key",
        ));
    }
    timeout
}

/// `list_users` and `hidden`: finger keys, errors on any other kind.
/// `hidden` addresses are checked and lower-cased.
pub(super) fn finger_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> (bool, Vec<String>) {
    let kind = *service.kind.get_ref();
    let name = service.name.get_ref();
    if kind != ServiceKind::Finger {
        let written = [
            ("list_users", service.list_users.as_ref().map(|v| v.span())),
            ("hidden", service.hidden.as_ref().map(|v| v.span())),
        ];
        for (key, span) in written {
            if let Some(span) = span {
                errors.push(spanned_error(
                    source,
                    span,
                    key,
                    format!("applies only to a finger instance, and this one is kind = \"{kind}\""),
                    &format!("remove `{key}` from the [[service]] \"{name}\""),
                ));
            }
        }
        return (false, Vec::new());
    }
    let list_users = service.list_users.as_ref().is_some_and(|v| *v.get_ref());
    let mut hidden = Vec::new();
    for address in service.hidden.as_ref().map_or(&[][..], |v| v.get_ref()) {
        match normalize_login(address.get_ref()) {
            Ok(address) => hidden.push(address),
            Err(message) => errors.push(spanned_error(
                source,
                address.span(),
                "hidden",
                message,
                "list account addresses, for example hidden = [\"postmaster@example.com\"]",
            )),
        }
    }
    (list_users, hidden)
}

/// Warns of a finger instance that lists its users to the world: one
/// with `list_users = true`, an access list that admits everyone, and a
/// listener that is not on loopback. Legitimate on a LAN-only address,
/// hence a warning, not an error.
pub(in crate::config) fn warnings(services: &[ServiceConfig]) -> Vec<ConfigError> {
    services
        .iter()
        .filter(|s| s.kind == ServiceKind::Finger && s.list_users)
        .filter(|s| s.access.allow.is_empty() && s.access.deny.is_empty())
        .filter(|s| s.listen.address.is_none_or(|address| !address.is_loopback()))
        .map(|s| ConfigError {
            position: (s.lines.listen > 0).then_some((s.lines.listen, 1)),
            key: Some("listen".to_owned()),
            message: format!(
                "finger instance \"{}\" lists every account (list_users = true) to anyone who can reach {}",
                s.name, s.listen
            ),
            help: Some(
                "give it an allow list (allow = [\"10.0.0.0/8\"]), listen on a LAN or loopback address, or remove list_users".to_owned(),
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests;
