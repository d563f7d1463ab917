//! The keys of a `kind = "nntp"` instance: which of the `[[service]]`
//! keys apply to it, its idle timer, who may read and post, and its
//! logins.
//!
//! An NNTP instance serves newsgroups (RFC 3977). Reading and posting are
//! granted by wildmat patterns (RFC 3977 4): `anonymous_read` and
//! `anonymous_post` before a login, `read` and `post` after it (unless a
//! `[[news_access]]` entry names the user). With no anonymous access at
//! all, every command but the ones a login needs answers `480`.

use super::keys::{Inapplicable, report_inapplicable};
use super::{ConfigError, RawService, ServiceKind, TlsConfig, spanned_error};
use crate::auth::AuthPolicy;
use crate::limits::{NNTP_IDLE_TIMEOUT_DEFAULT, NNTP_IDLE_TIMEOUT_MIN};
use std::time::Duration;
use toml::Spanned;

/// What only an NNTP instance has: who may read and post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NntpConfig {
    /// Groups anyone may read before logging in (a wildmat; empty: none).
    pub anonymous_read: String,
    /// Groups anyone may post to before logging in (empty: none).
    pub anonymous_post: String,
    /// Groups a logged-in user may read, unless `[[news_access]]` says
    /// otherwise for them.
    pub read: String,
    /// Groups a logged-in user may post to, unless `[[news_access]]`
    /// says otherwise.
    pub post: String,
}

impl NntpConfig {
    /// Whether a client must log in before it can do anything.
    pub fn login_required(&self) -> bool {
        self.anonymous_read.is_empty() && self.anonymous_post.is_empty()
    }
}

/// Reports every key written for an NNTP instance that only an SMTP
/// instance uses, at its line, with the fix.
pub(super) fn check_inapplicable_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) {
    let smtp_only: [Inapplicable<'_>; 8] = [
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
            "it bounds an SMTP DATA transfer; an NNTP session's idle limit is command_timeout",
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
        (
            "auth",
            service.auth.as_ref().map(|v| v.span()),
            "logins are offered wherever a password can travel safely (TLS, or auth_without_tls); who must log in is anonymous_read and anonymous_post",
        ),
    ];
    report_inapplicable(source, service, errors, "an NNTP instance", &smtp_only);
}

/// `command_timeout` of an NNTP instance: its inactivity timer,
/// [`NNTP_IDLE_TIMEOUT_DEFAULT`] unless written, and never under
/// [`NNTP_IDLE_TIMEOUT_MIN`] (RFC 3977 3.1: at least three minutes).
pub(super) fn idle_timeout(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    let Some(written) = &service.command_timeout else {
        return NNTP_IDLE_TIMEOUT_DEFAULT;
    };
    let timeout = written.get_ref().0;
    if timeout < NNTP_IDLE_TIMEOUT_MIN {
        errors.push(spanned_error(
            source,
            written.span(),
            "command_timeout",
            format!(
                "{} is under 3 minutes: RFC 3977 section 3.1 says an NNTP server's inactivity timer must be at least 3 minutes",
                humantime::format_duration(timeout)
            ),
            "use at least \"3m\" (the default for an NNTP instance is \"10m\"), or remove the key",
        ));
    }
    timeout
}

/// The `read`, `post`, `anonymous_read` and `anonymous_post` keys: an
/// error on any other kind, or for a pattern that is not a wildmat.
pub(super) fn nntp_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Option<NntpConfig> {
    let kind = *service.kind.get_ref();
    let keys = [
        ("anonymous_read", &service.anonymous_read, ""),
        ("anonymous_post", &service.anonymous_post, ""),
        ("read", &service.read, "*"),
        ("post", &service.post, "*"),
    ];
    if kind != ServiceKind::Nntp {
        for (key, written, _) in keys {
            if let Some(written) = written {
                errors.push(spanned_error(
                    source,
                    written.span(),
                    key,
                    format!("applies only to an NNTP instance, and this one is kind = \"{kind}\""),
                    &format!(
                        "remove `{key}` from the [[service]] \"{}\"",
                        service.name.get_ref()
                    ),
                ));
            }
        }
        return None;
    }
    let [anonymous_read, anonymous_post, read, post] =
        keys.map(|(key, written, default)| pattern(source, key, written.as_ref(), default, errors));
    Some(NntpConfig {
        anonymous_read,
        anonymous_post,
        read,
        post,
    })
}

/// A written wildmat, checked, or the default.
fn pattern(
    source: &str,
    key: &str,
    written: Option<&Spanned<String>>,
    default: &str,
    errors: &mut Vec<ConfigError>,
) -> String {
    let Some(written) = written else {
        return default.to_owned();
    };
    if let Err(reason) = super::super::news::check_wildmat(written.get_ref()) {
        errors.push(spanned_error(
            source,
            written.span(),
            key,
            format!("{:?} is not a wildmat: {reason}", written.get_ref()),
            "write group patterns like \"local.*,!local.private\" (RFC 3977 section 4): * and ? match, ! excludes, commas separate, the last match wins; \"\" grants nothing",
        ));
    }
    written.get_ref().clone()
}

/// The login policy of an NNTP instance: logins are offered over TLS, or
/// in clear where `auth_without_tls = true`. An instance where nobody may
/// do anything without a login, and nobody could log in, is an error.
pub(super) fn login_policy(
    source: &str,
    service: &RawService,
    tls: Option<&TlsConfig>,
    nntp: Option<&NntpConfig>,
    defaults: &AuthPolicy,
    errors: &mut Vec<ConfigError>,
) -> AuthPolicy {
    let without_tls = service
        .auth_without_tls
        .as_ref()
        .is_some_and(|a| *a.get_ref());
    let offered = tls.is_some() || without_tls;
    let required = nntp.is_some_and(NntpConfig::login_required);
    if required && !offered {
        errors.push(spanned_error(
            source,
            service.kind.span(),
            "kind",
            "this NNTP instance lets nobody read or post without a login (anonymous_read and anonymous_post are empty), and takes logins only over TLS, which it has none of, so nobody could use it".to_owned(),
            "set tls = \"starttls\" (port 119) or tls = \"implicit\" (nntps, port 563) with tls_certificate and tls_key; or grant anonymous reading, for example anonymous_read = \"local.*\"; or, on loopback only, auth_without_tls = true",
        ));
    }
    AuthPolicy {
        offered,
        without_tls,
        required,
        ..defaults.clone()
    }
}

#[cfg(test)]
mod tests;
