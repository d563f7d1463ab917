//! The keys of a `kind = "pop3"` instance: which of the `[[service]]`
//! keys apply to it, its autologout timer, and its logins.
//!
//! A POP3 instance reads mail and takes none, so the keys that shape an
//! SMTP transaction are errors there, not silently ignored. It always
//! takes logins (USER/PASS and AUTH), so `auth` does not apply either;
//! whether a login may travel in clear is `auth_without_tls`.

use super::keys::{Inapplicable, report_inapplicable};
use super::login::{NoLoginPossible, always_takes_logins};
use super::{ConfigError, RawService, TlsConfig, spanned_error};
use crate::auth::AuthPolicy;
use crate::limits::{POP3_AUTOLOGOUT_DEFAULT, POP3_AUTOLOGOUT_MIN};
use std::time::Duration;

/// Reports every key written for a POP3 instance that only an SMTP
/// instance uses, at its line, with the fix.
pub(super) fn check_inapplicable_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) {
    let name = service.name.get_ref();
    let smtp_only: [Inapplicable<'_>; 8] = [
        (
            "relay",
            service.relay.as_ref().map(|v| v.span()),
            "relaying is mail sent on through us",
        ),
        (
            "max_message_size",
            service.max_message_size.as_ref().map(|v| v.span()),
            "it limits the messages an SMTP session takes",
        ),
        (
            "max_recipients",
            service.max_recipients.as_ref().map(|v| v.span()),
            "it limits the recipients of a message an SMTP session takes",
        ),
        (
            "data_timeout",
            service.data_timeout.as_ref().map(|v| v.span()),
            "it bounds an SMTP DATA transfer; a POP3 session's idle limit is command_timeout",
        ),
        (
            "min_data_rate",
            service.min_data_rate.as_ref().map(|v| v.span()),
            "it paces an SMTP DATA transfer",
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
    ];
    report_inapplicable(
        source,
        service,
        errors,
        "a POP3 instance, which reads mail and takes none",
        &smtp_only,
    );
    if let Some(auth) = &service.auth {
        errors.push(spanned_error(
            source,
            auth.span(),
            "auth",
            "does not apply to a POP3 instance: it always takes logins (USER/PASS and AUTH)"
                .to_owned(),
            &format!(
                "remove `auth` from the [[service]] \"{name}\"; logins are over TLS unless auth_without_tls = true"
            ),
        ));
    }
}

/// `command_timeout` of a POP3 instance: its inactivity autologout timer,
/// [`POP3_AUTOLOGOUT_DEFAULT`] unless written, and never under
/// [`POP3_AUTOLOGOUT_MIN`] (RFC 1939 section 3).
pub(super) fn autologout(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    let Some(written) = &service.command_timeout else {
        return POP3_AUTOLOGOUT_DEFAULT;
    };
    let timeout = written.get_ref().0;
    if timeout < POP3_AUTOLOGOUT_MIN {
        errors.push(spanned_error(
            source,
            written.span(),
            "command_timeout",
            format!(
                "{} is under 10 minutes: RFC 1939 section 3 says a POP3 server's inactivity autologout timer must be at least 10 minutes",
                humantime::format_duration(timeout)
            ),
            "use at least \"10m\" (the default for a POP3 instance), or remove the key",
        ));
    }
    timeout
}

/// The login policy of a POP3 instance: logins always taken, over TLS
/// unless `auth_without_tls = true`. An instance with neither TLS nor
/// `auth_without_tls` could never take a login, which is an error.
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
            without_tls_key: "a POP3 instance takes logins only over TLS, and this instance has none, so nobody could log in",
            with_tls_none: "a POP3 instance takes logins only over TLS, and tls = \"none\", so nobody could log in",
            fix: "set tls = \"starttls\" (STLS on port 110) or tls = \"implicit\" (pop3s, port 995) with tls_certificate and tls_key; or, on loopback only, auth_without_tls = true",
        },
    )
}

#[cfg(test)]
mod tests;
