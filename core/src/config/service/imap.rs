//! The keys of a `kind = "imap"` instance: which of the `[[service]]`
//! keys apply to it, its autologout timer, and its logins.
//!
//! An IMAP instance reads mail and stores what clients APPEND, so
//! `max_message_size` applies (it is the APPENDLIMIT) while the keys that
//! shape an SMTP transaction are errors. It always takes logins (LOGIN
//! and AUTHENTICATE), so `auth` does not apply; whether a login may
//! travel in clear is `auth_without_tls`.

use super::login::{NoLoginPossible, always_takes_logins};
use super::{ConfigError, RawService, TlsConfig, spanned_error};
use crate::auth::AuthPolicy;
use crate::limits::{IMAP_AUTOLOGOUT_DEFAULT, IMAP_AUTOLOGOUT_MIN};
use std::ops::Range;
use std::time::Duration;

/// Reports every key written for an IMAP instance that only an SMTP
/// instance uses, at its line, with the fix.
pub(super) fn check_inapplicable_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) {
    let name = service.name.get_ref();
    let smtp_only: [(&str, Option<Range<usize>>, &str); 4] = [
        (
            "relay",
            service.relay.as_ref().map(|v| v.span()),
            "relaying is mail sent on through us",
        ),
        (
            "max_recipients",
            service.max_recipients.as_ref().map(|v| v.span()),
            "it limits the recipients of a message an SMTP session takes",
        ),
        (
            "data_timeout",
            service.data_timeout.as_ref().map(|v| v.span()),
            "it bounds an SMTP DATA transfer; an IMAP session's idle limit is command_timeout",
        ),
        (
            "min_data_rate",
            service.min_data_rate.as_ref().map(|v| v.span()),
            "it paces an SMTP DATA transfer",
        ),
    ];
    for (key, span, why) in smtp_only {
        if let Some(span) = span {
            errors.push(spanned_error(
                source,
                span,
                key,
                format!("does not apply to an IMAP instance, which sends no mail on: {why}"),
                &format!("remove `{key}` from the [[service]] \"{name}\" (kind = \"imap\")"),
            ));
        }
    }
    if let Some(auth) = &service.auth {
        errors.push(spanned_error(
            source,
            auth.span(),
            "auth",
            "does not apply to an IMAP instance: it always takes logins (LOGIN and AUTHENTICATE)"
                .to_owned(),
            &format!(
                "remove `auth` from the [[service]] \"{name}\"; logins are over TLS unless auth_without_tls = true"
            ),
        ));
    }
}

/// `command_timeout` of an IMAP instance: its inactivity autologout timer,
/// [`IMAP_AUTOLOGOUT_DEFAULT`] unless written, and never under
/// [`IMAP_AUTOLOGOUT_MIN`] (RFC 9051 section 5.4).
pub(super) fn autologout(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    let Some(written) = &service.command_timeout else {
        return IMAP_AUTOLOGOUT_DEFAULT;
    };
    let timeout = written.get_ref().0;
    if timeout < IMAP_AUTOLOGOUT_MIN {
        errors.push(spanned_error(
            source,
            written.span(),
            "command_timeout",
            format!(
                "{} is under 30 minutes: RFC 9051 section 5.4 says an IMAP server's inactivity autologout timer must be at least 30 minutes",
                humantime::format_duration(timeout)
            ),
            "use at least \"30m\" (the default for an IMAP instance), or remove the key",
        ));
    }
    timeout
}

/// The login policy of an IMAP instance: logins always taken, over TLS
/// unless `auth_without_tls = true` (LOGINDISABLED is advertised until
/// then, RFC 9051 6.2.3).
pub(super) fn login_policy(
    source: &str,
    service: &RawService,
    tls: Option<&TlsConfig>,
    defaults: &AuthPolicy,
    errors: &mut Vec<ConfigError>,
) -> AuthPolicy {
    always_takes_logins(
        source,
        service,
        tls,
        defaults,
        errors,
        NoLoginPossible {
            without_tls_key: "an IMAP instance takes logins only over TLS, and this instance has none, so nobody could log in",
            with_tls_none: "an IMAP instance takes logins only over TLS, and tls = \"none\", so nobody could log in",
            fix: "set tls = \"starttls\" (STARTTLS on port 143) or tls = \"implicit\" (imaps, port 993) with tls_certificate and tls_key; or, on loopback only, auth_without_tls = true",
        },
    )
}
