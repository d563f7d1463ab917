//! The keys of a `kind = "http"` instance: which of the `[[service]]`
//! keys apply to it, what it serves (`serve`), its idle timeout and its
//! logins.
//!
//! An HTTP instance serves any of the webmail, the status page, the
//! Prometheus metrics and the admin area, each chosen per instance (so the
//! status page can stay on loopback while webmail faces the world). It is
//! plain HTTP, or HTTPS with `tls = "implicit"`; HTTP has no STARTTLS.
//! Webmail and admin take logins, over HTTPS unless `auth_without_tls`.

use super::keys::{Inapplicable, report_inapplicable};
use super::login::{NoLoginPossible, always_takes_logins};
use super::{ConfigError, RawService, RawTlsMode, ServiceKind, TlsConfig, spanned_error};
use crate::auth::AuthPolicy;
use crate::http::{Area, Areas};
use crate::limits::HTTP_IDLE_TIMEOUT_DEFAULT;
use std::time::Duration;

/// What only an HTTP instance has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// `serve`: what this instance serves.
    pub serve: Areas,
}

/// Reports every key written for an HTTP instance that does not apply to
/// it, at its line, with the fix.
pub(super) fn check_inapplicable_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) {
    let keys: [Inapplicable<'_>; 8] = [
        (
            "relay",
            service.relay.as_ref().map(|v| v.span()),
            "webmail sends as its logged-in user, who may always relay (as on a submission instance)",
        ),
        (
            "max_recipients",
            service.max_recipients.as_ref().map(|v| v.span()),
            "it limits an SMTP transaction",
        ),
        (
            "data_timeout",
            service.data_timeout.as_ref().map(|v| v.span()),
            "it bounds an SMTP DATA transfer; an HTTP connection's idle limit is command_timeout",
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
            "webmail and admin always take logins, and the other areas none",
        ),
    ];
    report_inapplicable(source, service, errors, "an HTTP instance", &keys);
    if let Some(mode) = &service.tls
        && matches!(mode.get_ref(), RawTlsMode::StartTls)
    {
        errors.push(spanned_error(
            source,
            mode.span(),
            "tls",
            "HTTP has no STARTTLS: a browser speaks TLS from the first byte (HTTPS) or not at all"
                .to_owned(),
            "use tls = \"implicit\" (HTTPS, usually listen = \"https\"), or remove tls for plain HTTP",
        ));
    }
}

/// `command_timeout` of an HTTP instance: how long a kept-alive
/// connection may sit idle, [`HTTP_IDLE_TIMEOUT_DEFAULT`] unless written.
pub(super) fn idle_timeout(service: &RawService) -> Duration {
    service
        .command_timeout
        .as_ref()
        .map_or(HTTP_IDLE_TIMEOUT_DEFAULT, |d| d.get_ref().0)
}

/// The `serve` key: `["webmail"]` unless written; an error on any other
/// kind, or for a name that is not an area.
pub(super) fn http_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Option<HttpConfig> {
    let kind = *service.kind.get_ref();
    let name = service.name.get_ref();
    if kind != ServiceKind::Http {
        if let Some(serve) = &service.serve {
            errors.push(spanned_error(
                source,
                serve.span(),
                "serve",
                format!("applies only to an HTTP instance, and this one is kind = \"{kind}\""),
                &format!("remove `serve` from the [[service]] \"{name}\""),
            ));
        }
        return None;
    }
    let Some(written) = &service.serve else {
        let mut serve = Areas::only(Area::Webmail);
        serve.insert(Area::Lists);
        return Some(HttpConfig { serve });
    };
    let mut serve = Areas::default();
    for area in written.get_ref() {
        match Area::parse(area.get_ref()) {
            Some(parsed) => serve.insert(parsed),
            None => errors.push(spanned_error(
                source,
                area.span(),
                "serve",
                format!("{:?} is not something an HTTP instance serves", area.get_ref()),
                "use any of \"webmail\", \"status\", \"metrics\", \"admin\" and \"lists\", for example serve = [\"webmail\", \"status\"]",
            )),
        }
    }
    // The one-click unsubscribe goes wherever webmail is: its URL is the
    // webmail's (`[lists] web_url`).
    if serve.contains(Area::Webmail) {
        serve.insert(Area::Lists);
    }
    if written.get_ref().is_empty() {
        errors.push(spanned_error(
            source,
            written.span(),
            "serve",
            "an HTTP instance that serves nothing".to_owned(),
            "list what it serves: any of \"webmail\", \"status\", \"metrics\", \"admin\" and \"lists\"",
        ));
    }
    Some(HttpConfig { serve })
}

/// The login policy of an HTTP instance: webmail and admin take logins,
/// over HTTPS unless `auth_without_tls = true`; an instance serving only
/// the status page and metrics takes none.
pub(super) fn login_policy(
    source: &str,
    service: &RawService,
    tls: Option<&TlsConfig>,
    http: Option<&HttpConfig>,
    defaults: &AuthPolicy,
    errors: &mut Vec<ConfigError>,
) -> AuthPolicy {
    let takes_logins = http.is_some_and(|http| http.serve.takes_logins());
    if !takes_logins {
        if let Some(written) = &service.auth_without_tls {
            errors.push(spanned_error(
                source,
                written.span(),
                "auth_without_tls",
                "this HTTP instance takes no logins: it serves neither webmail nor admin"
                    .to_owned(),
                "remove `auth_without_tls`, or add \"webmail\" or \"admin\" to serve",
            ));
        }
        return AuthPolicy {
            offered: false,
            without_tls: false,
            required: false,
            ..defaults.clone()
        };
    }
    always_takes_logins(
        source,
        service,
        tls,
        defaults,
        errors,
        NoLoginPossible {
            without_tls_key: "webmail and admin take passwords only over HTTPS, and this instance has no TLS, so nobody could log in",
            with_tls_none: "webmail and admin take passwords only over HTTPS, and tls = \"none\", so nobody could log in",
            fix: "set tls = \"implicit\" (HTTPS, listen = \"https\") with tls_certificate and tls_key; or, on loopback only, auth_without_tls = true",
        },
    )
}

#[cfg(test)]
mod tests;
