//! The keys of a `kind = "imap"` instance: which of the `[[service]]`
//! keys apply to it, its autologout timer, and its logins.
//!
//! An IMAP instance reads mail and stores what clients APPEND, so
//! `max_message_size` applies (it is the APPENDLIMIT) while the keys that
//! shape an SMTP transaction are errors. It always takes logins (LOGIN
//! and AUTHENTICATE), so `auth` does not apply; whether a login may
//! travel in clear is `auth_without_tls`.

use super::keys::{Inapplicable, report_inapplicable};
use super::login::{NoLoginPossible, always_takes_logins};
use super::{ConfigError, RawService, ServiceKind, TlsConfig, spanned_error};
use crate::auth::AuthPolicy;
use crate::limits::{IMAP_AUTOLOGOUT_DEFAULT, IMAP_AUTOLOGOUT_MIN, MAILBOX_QUOTA_BYTES_MAX};
use std::time::Duration;

/// Reports every key written for an IMAP instance that only an SMTP
/// instance uses, at its line, with the fix.
pub(super) fn check_inapplicable_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) {
    let name = service.name.get_ref();
    let smtp_only: [Inapplicable<'_>; 7] = [
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
        "an IMAP instance, which sends no mail on",
        &smtp_only,
    );
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

/// What only an IMAP instance has: each user's quota (RFC 9208), over
/// all of their folders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImapConfig {
    /// `mailbox_quota`: octets (QUOTA's STORAGE resource).
    pub quota_bytes: Option<u64>,
    /// `mailbox_quota_messages`: messages (QUOTA's MESSAGE resource).
    pub quota_messages: Option<u64>,
}

/// The IMAP keys, `mailbox_quota` and `mailbox_quota_messages`: errors on
/// any other kind, `None` for them.
pub(super) fn imap_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Option<ImapConfig> {
    let kind = *service.kind.get_ref();
    if kind != ServiceKind::Imap {
        let name = service.name.get_ref();
        let written = [
            (
                "mailbox_quota",
                service.mailbox_quota.as_ref().map(|v| v.span()),
            ),
            (
                "mailbox_quota_messages",
                service.mailbox_quota_messages.as_ref().map(|v| v.span()),
            ),
        ];
        for (key, span) in written {
            if let Some(span) = span {
                errors.push(spanned_error(
                    source,
                    span,
                    key,
                    format!("applies only to an IMAP instance, and this one is kind = \"{kind}\""),
                    &format!("remove `{key}` from the [[service]] \"{name}\""),
                ));
            }
        }
        return None;
    }
    let quota_bytes = service.mailbox_quota.as_ref().map(|quota| {
        let bytes = quota.get_ref().0;
        if bytes == 0 || bytes > MAILBOX_QUOTA_BYTES_MAX {
            errors.push(spanned_error(
                source,
                quota.span(),
                "mailbox_quota",
                format!("{bytes} octets is not a quota this server keeps"),
                "use a size from 1 octet to \"16 TiB\", for example mailbox_quota = \"2 GiB\", or remove the key for no quota",
            ));
        }
        bytes
    });
    let quota_messages = service.mailbox_quota_messages.as_ref().map(|quota| {
        let messages = *quota.get_ref();
        if messages == 0 {
            errors.push(spanned_error(
                source,
                quota.span(),
                "mailbox_quota_messages",
                "0 messages is a mailbox nobody could use".to_owned(),
                "use at least 1, for example mailbox_quota_messages = 100000, or remove the key for no limit",
            ));
        }
        messages
    });
    Some(ImapConfig {
        quota_bytes,
        quota_messages,
    })
}

#[cfg(test)]
mod tests;
