//! The keys of a `kind = "ftp"` instance: which of the `[[service]]`
//! keys apply to it, its idle and data timeouts, its logins, and its own
//! keys `passive_ports` and `ftp_quota`.
//!
//! An FTP instance takes no mail, so the keys that shape an SMTP
//! transaction are errors there. It always takes logins (USER/PASS), so
//! `auth` does not apply; whether a password may travel in clear is
//! `auth_without_tls`, as for POP3. `tls = "starttls"` offers AUTH TLS
//! (RFC 4217); `tls = "implicit"` is FTPS on port 990.

use super::keys::{Inapplicable, report_inapplicable};
use super::login::{NoLoginPossible, always_takes_logins};
use super::{ConfigError, RawService, ServiceKind, TlsConfig, spanned_error};
use crate::auth::AuthPolicy;
use crate::ftp::data::{PortRange, parse_port_range};
use crate::limits::{
    FTP_DATA_TIMEOUT_DEFAULT, FTP_DATA_TIMEOUT_MAX, FTP_IDLE_TIMEOUT_DEFAULT,
    FTP_QUOTA_BYTES_DEFAULT, FTP_QUOTA_BYTES_MAX,
};
use std::time::Duration;
use toml::Spanned;

/// An FTP instance's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FtpConfig {
    /// Where passive data connections listen; `None` lets the kernel
    /// pick any free port.
    pub passive_ports: Option<PortRange>,
    /// Bytes each user's home may hold.
    pub quota: u64,
    /// How long a data connection may take to be made, and may stall.
    pub data_timeout: Duration,
}

/// Reports every key written for an FTP instance that does not apply to
/// it, at its line, with the fix.
pub(super) fn check_inapplicable_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) {
    let inapplicable: [Inapplicable<'_>; 8] = [
        (
            "relay",
            service.relay.as_ref().map(|v| v.span()),
            "an FTP instance takes no mail",
        ),
        (
            "max_message_size",
            service.max_message_size.as_ref().map(|v| v.span()),
            "an FTP instance takes no mail; what a user may store is ftp_quota",
        ),
        (
            "max_recipients",
            service.max_recipients.as_ref().map(|v| v.span()),
            "an FTP instance takes no mail",
        ),
        (
            "min_data_rate",
            service.min_data_rate.as_ref().map(|v| v.span()),
            "it paces an SMTP DATA transfer; a stalled FTP data connection ends after data_timeout",
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
            "it always takes logins (USER/PASS); they are over TLS unless auth_without_tls = true",
        ),
    ];
    report_inapplicable(source, service, errors, "an FTP instance", &inapplicable);
}

/// `command_timeout` of an FTP instance: how long a session may wait for
/// a command, [`FTP_IDLE_TIMEOUT_DEFAULT`] unless written.
pub(super) fn idle_timeout(service: &RawService) -> Duration {
    service
        .command_timeout
        .as_ref()
        .map_or(FTP_IDLE_TIMEOUT_DEFAULT, |d| d.get_ref().0)
}

/// The FTP keys: `passive_ports`, `ftp_quota` and `data_timeout` on an
/// FTP instance; `passive_ports` and `ftp_quota` are errors on any other
/// kind. `None` for other kinds.
pub(super) fn ftp_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Option<FtpConfig> {
    let kind = *service.kind.get_ref();
    let name = service.name.get_ref();
    if kind != ServiceKind::Ftp {
        let written = [
            (
                "passive_ports",
                service.passive_ports.as_ref().map(|v| v.span()),
            ),
            ("ftp_quota", service.ftp_quota.as_ref().map(|v| v.span())),
        ];
        for (key, span) in written {
            if let Some(span) = span {
                errors.push(spanned_error(
                    source,
                    span,
                    key,
                    format!("applies only to an FTP instance, and this one is kind = \"{kind}\""),
                    &format!("remove `{key}` from the [[service]] \"{name}\""),
                ));
            }
        }
        return None;
    }
    let passive_ports = service
        .passive_ports
        .as_ref()
        .and_then(|text| passive_ports(source, text, errors));
    let quota = service
        .ftp_quota
        .as_ref()
        .map_or(FTP_QUOTA_BYTES_DEFAULT, |quota| {
            let bytes = quota.get_ref().0;
            if bytes == 0 || bytes > FTP_QUOTA_BYTES_MAX {
                errors.push(spanned_error(
                    source,
                    quota.span(),
                    "ftp_quota",
                    format!("{bytes} octets is not a quota this server keeps"),
                    "use a size from 1 octet to \"1 TiB\", for example ftp_quota = \"500 MiB\" (the default is 100 MiB)",
                ));
            }
            bytes
        });
    let data_timeout = match &service.data_timeout {
        None => FTP_DATA_TIMEOUT_DEFAULT,
        Some(written) => {
            let timeout = written.get_ref().0;
            if timeout > FTP_DATA_TIMEOUT_MAX {
                errors.push(spanned_error(
                    source,
                    written.span(),
                    "data_timeout",
                    format!(
                        "{} is too long for an FTP data connection to wait or stall",
                        humantime::format_duration(timeout)
                    ),
                    "use at most \"1h\" (the default for an FTP instance is 60s), or remove the key",
                ));
            }
            timeout
        }
    };
    Some(FtpConfig {
        passive_ports,
        quota,
        data_timeout,
    })
}

fn passive_ports(
    source: &str,
    text: &Spanned<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<PortRange> {
    match parse_port_range(text.get_ref()) {
        Ok(range) => Some(range),
        Err(message) => {
            errors.push(spanned_error(
                source,
                text.span(),
                "passive_ports",
                message,
                "write a range such as passive_ports = \"50000-50100\" (open it in your firewall), or remove the key to let the system pick",
            ));
            None
        }
    }
}

/// The login policy of an FTP instance: logins always taken, over TLS
/// unless `auth_without_tls = true`. An instance with neither could
/// never take a login, which is an error.
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
            without_tls_key: "an FTP instance takes logins only over TLS, and this instance has none, so nobody could log in",
            with_tls_none: "an FTP instance takes logins only over TLS, and tls = \"none\", so nobody could log in",
            fix: "set tls = \"starttls\" (AUTH TLS on port 21) or tls = \"implicit\" (ftps, port 990) with tls_certificate and tls_key; or, on loopback only, auth_without_tls = true",
        },
    )
}

#[cfg(test)]
mod tests;
