//! The keys of a `kind = "remote-log"` instance: which of the
//! `[[service]]` keys apply to it, its idle timeout, its logins, and its
//! own keys `tail_lines` and `buffer_lines`.
//!
//! A remote-log instance takes no mail, so the keys that shape an SMTP
//! transaction are errors there. It always takes logins (admins only), so
//! `auth` does not apply; whether a login may travel in clear is
//! `auth_without_tls`, as for POP3.

use super::keys::{Inapplicable, report_inapplicable};
use super::login::{NoLoginPossible, always_takes_logins};
use super::{ConfigError, RawService, ServiceConfig, ServiceKind, TlsConfig, spanned_error};
use crate::auth::AuthPolicy;
use crate::config::check_range;
use crate::limits::{
    REMOTE_LOG_BUFFER_LINES_DEFAULT, REMOTE_LOG_BUFFER_LINES_MAX, REMOTE_LOG_BUFFER_LINES_MIN,
    REMOTE_LOG_IDLE_TIMEOUT_DEFAULT, REMOTE_LOG_TAIL_LINES_DEFAULT, REMOTE_LOG_TAIL_LINES_MAX,
};
use std::time::Duration;

/// Reports every key written for a remote-log instance that does not
/// apply to it, at its line, with the fix.
pub(super) fn check_inapplicable_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) {
    let inapplicable: [Inapplicable<'_>; 10] = [
        (
            "relay",
            service.relay.as_ref().map(|v| v.span()),
            "it takes no mail",
        ),
        (
            "max_message_size",
            service.max_message_size.as_ref().map(|v| v.span()),
            "it takes no mail",
        ),
        (
            "max_recipients",
            service.max_recipients.as_ref().map(|v| v.span()),
            "it takes no mail",
        ),
        (
            "data_timeout",
            service.data_timeout.as_ref().map(|v| v.span()),
            "it takes no mail; how long a client may stay silent is command_timeout",
        ),
        (
            "min_data_rate",
            service.min_data_rate.as_ref().map(|v| v.span()),
            "it takes no mail",
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
            "max_session_time",
            service.max_session_time.as_ref().map(|v| v.span()),
            "a console follows the log for as long as it likes; how long a client that is not following may stay silent is command_timeout",
        ),
        (
            "auth",
            service.auth.as_ref().map(|v| v.span()),
            "it always takes logins (AUTH PLAIN, admin accounts only); logins are over TLS unless auth_without_tls = true",
        ),
    ];
    report_inapplicable(
        source,
        service,
        errors,
        "a remote-log instance",
        &inapplicable,
    );
}

/// `command_timeout` of a remote-log instance: how long a client that is
/// not following the log may stay silent, [`REMOTE_LOG_IDLE_TIMEOUT_DEFAULT`]
/// unless written.
pub(super) fn idle_timeout(service: &RawService) -> Duration {
    service
        .command_timeout
        .as_ref()
        .map_or(REMOTE_LOG_IDLE_TIMEOUT_DEFAULT, |d| d.get_ref().0)
}

/// The login policy: logins always taken, over TLS unless
/// `auth_without_tls = true`; an instance with neither could never take
/// one, which is an error.
pub(super) fn login_policy(
    source: &str,
    service: &RawService,
    tls: Option<&TlsConfig>,
    defaults: &AuthPolicy,
    errors: &mut Vec<ConfigError>,
) -> AuthPolicy {
    let message = "a remote-log instance takes logins only over TLS, and this instance has none, so no admin could log in";
    always_takes_logins(
        source,
        service,
        tls,
        defaults,
        errors,
        NoLoginPossible {
            without_tls_key: message,
            with_tls_none: message,
            fix: "set tls = \"starttls\" or tls = \"implicit\" with tls_certificate and tls_key; or, on loopback only, auth_without_tls = true",
        },
    )
}

/// `tail_lines` and `buffer_lines`: remote-log keys, errors on any other
/// kind, each within its bounds.
pub(super) fn remote_log_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> (usize, usize) {
    let kind = *service.kind.get_ref();
    if kind != ServiceKind::RemoteLog {
        let written = [
            ("tail_lines", service.tail_lines.as_ref().map(|v| v.span())),
            (
                "buffer_lines",
                service.buffer_lines.as_ref().map(|v| v.span()),
            ),
        ];
        for (key, span) in written {
            if let Some(span) = span {
                errors.push(spanned_error(
                    source,
                    span,
                    key,
                    format!(
                        "applies only to a remote-log instance, and this one is kind = \"{kind}\""
                    ),
                    &format!(
                        "remove `{key}` from the [[service]] \"{}\"",
                        service.name.get_ref()
                    ),
                ));
            }
        }
        return (
            REMOTE_LOG_TAIL_LINES_DEFAULT,
            REMOTE_LOG_BUFFER_LINES_DEFAULT,
        );
    }
    let tail_lines = service
        .tail_lines
        .as_ref()
        .map_or(REMOTE_LOG_TAIL_LINES_DEFAULT, |n| {
            check_range(
                source,
                n,
                "tail_lines",
                |n| *n,
                0,
                REMOTE_LOG_TAIL_LINES_MAX,
                errors,
            )
        });
    let buffer_lines = service
        .buffer_lines
        .as_ref()
        .map_or(REMOTE_LOG_BUFFER_LINES_DEFAULT, |n| {
            check_range(
                source,
                n,
                "buffer_lines",
                |n| *n,
                REMOTE_LOG_BUFFER_LINES_MIN,
                REMOTE_LOG_BUFFER_LINES_MAX,
                errors,
            )
        });
    (tail_lines, buffer_lines)
}

/// Warns of a remote-log instance that takes admin passwords in clear
/// (`auth_without_tls = true`) from anyone who can reach it: no access
/// list, and a listener that is not on loopback. Legitimate on a trusted
/// LAN address, hence a warning, not an error.
pub(in crate::config) fn warnings(services: &[ServiceConfig]) -> Vec<ConfigError> {
    services
        .iter()
        .filter(|s| s.kind == ServiceKind::RemoteLog && s.auth.without_tls)
        .filter(|s| s.tls_mode() != crate::config::TlsMode::Implicit)
        .filter(|s| s.access.allow.is_empty())
        .filter(|s| s.listen.address.is_none_or(|address| !address.is_loopback()))
        .map(|s| ConfigError {
            position: (s.lines.listen > 0).then_some((s.lines.listen, 1)),
            key: Some("listen".to_owned()),
            message: format!(
                "remote-log instance \"{}\" takes admin passwords in clear (auth_without_tls = true) from anyone who can reach {}",
                s.name, s.listen
            ),
            help: Some(
                "give it an allow list (allow = [\"192.168.1.0/24\"]), listen on a LAN or loopback address, or use TLS and remove auth_without_tls".to_owned(),
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests;
