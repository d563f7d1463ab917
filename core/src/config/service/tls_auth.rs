//! An instance's TLS and AUTH keys, checked against each other: a
//! certificate needs a TLS mode and a mode needs both files; AUTH must
//! be reachable where the instance needs it.

use super::{RawService, ServiceKind, ftp, imap, pop3, remote_log};
use crate::auth::AuthPolicy;
use crate::config::{
    ConfigError, TLS_HANDSHAKE_TIMEOUT_DEFAULT, TlsConfig, TlsMode, line_column, spanned_error,
};
use crate::policy::RelayPolicy;
use serde::Deserialize;
use std::ops::Range;

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawTlsMode {
    None,
    StartTls,
    Implicit,
}

/// An instance's `tls*` keys, checked against each other.
pub(super) fn validate_tls(
    source: &str,
    service: &RawService,
    span: Range<usize>,
    errors: &mut Vec<ConfigError>,
) -> Option<TlsConfig> {
    let mode = service
        .tls
        .as_ref()
        .map_or(TlsMode::None, |m| match m.get_ref() {
            RawTlsMode::None => TlsMode::None,
            RawTlsMode::StartTls => TlsMode::StartTls,
            RawTlsMode::Implicit => TlsMode::Implicit,
        });
    let files = (service.tls_certificate.as_ref(), service.tls_key.as_ref());
    match (mode, files) {
        (TlsMode::None, (None, None)) => None,
        (TlsMode::None, (Some(file), _) | (_, Some(file))) => {
            errors.push(spanned_error(
                source,
                file.span(),
                "tls",
                "a certificate or key is given but tls is \"none\"".to_owned(),
                "set tls = \"starttls\" or \"implicit\", or remove tls_certificate and tls_key",
            ));
            None
        }
        (mode, (Some(certificate), Some(key))) => Some(TlsConfig {
            mode,
            certificate: certificate.get_ref().clone(),
            key: key.get_ref().clone(),
            lines: (
                line_column(source, certificate.span().start).0,
                line_column(source, key.span().start).0,
            ),
            handshake_timeout: service
                .tls_handshake_timeout
                .as_ref()
                .map_or(TLS_HANDSHAKE_TIMEOUT_DEFAULT, |d| d.get_ref().0),
        }),
        (mode, _) => {
            let span = service.tls.as_ref().map_or(span, |m| m.span());
            errors.push(spanned_error(
                source,
                span,
                "tls",
                format!("tls = \"{mode}\" needs both tls_certificate and tls_key"),
                "give the PEM files, for example tls_certificate = \"cert.pem\" and tls_key = \"key.pem\"; `postern cert self-signed --host NAME` makes a pair for a first run",
            ));
            None
        }
    }
}

/// An instance's `auth` keys: AUTH must be reachable where it is needed.
pub(super) fn validate_service_auth(
    source: &str,
    service: &RawService,
    span: Range<usize>,
    tls: Option<&TlsConfig>,
    defaults: &AuthPolicy,
    errors: &mut Vec<ConfigError>,
) -> AuthPolicy {
    match service.kind.get_ref() {
        ServiceKind::Pop3 => return pop3::login_policy(source, service, tls, defaults, errors),
        ServiceKind::Imap => return imap::login_policy(source, service, tls, defaults, errors),
        ServiceKind::RemoteLog => {
            return remote_log::login_policy(source, service, tls, defaults, errors);
        }
        ServiceKind::Ftp => return ftp::login_policy(source, service, tls, defaults, errors),
        // No logins through a tunnel or to finger; their `auth` keys are
        // reported as not applying. HTTP's and NNTP's are their own
        // modules' `login_policy`.
        ServiceKind::Tunnel | ServiceKind::Finger | ServiceKind::Http | ServiceKind::Nntp => {
            return AuthPolicy {
                offered: false,
                without_tls: false,
                required: false,
                ..defaults.clone()
            };
        }
        ServiceKind::Smtp | ServiceKind::Submission => {}
    }
    let submission = *service.kind.get_ref() == ServiceKind::Submission;
    let offered = service.auth.as_ref().map_or(submission, |a| *a.get_ref());
    let without_tls = service
        .auth_without_tls
        .as_ref()
        .is_some_and(|a| *a.get_ref());
    let at = |key: Option<Range<usize>>| key.unwrap_or_else(|| span.clone());
    if submission && !offered {
        errors.push(spanned_error(
            source,
            at(service.auth.as_ref().map(|a| a.span())),
            "auth",
            "a submission instance needs AUTH: its clients must log in before MAIL".to_owned(),
            "remove `auth = false`, or make this instance kind = \"smtp\"",
        ));
    }
    if offered && tls.is_none() && !without_tls {
        errors.push(spanned_error(
            source,
            at(service.auth.as_ref().map(|a| a.span())),
            "auth",
            "AUTH would never be offered: it needs TLS, and this instance has none".to_owned(),
            "set tls = \"starttls\" (or \"implicit\") with tls_certificate and tls_key; or, for testing on loopback only, auth_without_tls = true",
        ));
    }
    if matches!(relay_value(service), Some(RelayPolicy::Authenticated)) && !offered {
        errors.push(spanned_error(
            source,
            span.clone(),
            "relay",
            "relay = \"authenticated\" but this instance does not offer AUTH, so nobody could relay".to_owned(),
            "set auth = true (with TLS), or choose another relay policy",
        ));
    }
    AuthPolicy {
        offered,
        without_tls,
        required: submission,
        ..defaults.clone()
    }
}

/// The `relay` policy written for an instance, if any.
pub(super) fn relay_value(service: &RawService) -> Option<RelayPolicy> {
    service.relay.as_ref().and_then(|r| r.get_ref().0.clone())
}
