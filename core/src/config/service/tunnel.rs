//! The keys of a `kind = "tunnel"` instance: its `target`, its two
//! timeouts, its access default, and the keys that do not apply to it.
//!
//! A tunnel relays bytes it does not read, so every key that shapes a
//! mail session is an error there, and so is TLS: the tunnel cannot
//! terminate it (the target speaks its own protocol, TLS or not, through
//! the relay). Its `allow` defaults to loopback and the private networks
//! ([`crate::tunnel::default_access`]).

use super::{ConfigError, RawService, spanned_error};
use crate::limits::{
    TUNNEL_CONNECT_TIMEOUT_DEFAULT, TUNNEL_CONNECT_TIMEOUT_MAX, TUNNEL_IDLE_TIMEOUT_DEFAULT,
    TUNNEL_IDLE_TIMEOUT_MAX, WELL_KNOWN_PORT_END,
};
use crate::tunnel::{Target, TargetHost, TunnelConfig};
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::time::Duration;

/// Reports every key written for a tunnel that it does not use, at its
/// line, with the fix.
pub(super) fn check_inapplicable_keys(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) {
    let name = service.name.get_ref();
    let span = |v: Option<Range<usize>>| v;
    let not_mail = "a tunnel relays bytes it does not read: it takes no mail and no logins";
    let keys: [(&str, Option<Range<usize>>, &str); 17] = [
        (
            "relay",
            span(service.relay.as_ref().map(|v| v.span())),
            not_mail,
        ),
        (
            "max_message_size",
            service.max_message_size.as_ref().map(|v| v.span()),
            not_mail,
        ),
        (
            "max_recipients",
            service.max_recipients.as_ref().map(|v| v.span()),
            not_mail,
        ),
        (
            "max_errors",
            service.max_errors.as_ref().map(|v| v.span()),
            not_mail,
        ),
        (
            "data_timeout",
            service.data_timeout.as_ref().map(|v| v.span()),
            "a tunnel's silence limit is idle_timeout",
        ),
        (
            "command_timeout",
            service.command_timeout.as_ref().map(|v| v.span()),
            "a tunnel's silence limit is idle_timeout",
        ),
        (
            "max_session_time",
            service.max_session_time.as_ref().map(|v| v.span()),
            "a relay lasts as long as it carries bytes; its silence limit is idle_timeout",
        ),
        (
            "min_data_rate",
            service.min_data_rate.as_ref().map(|v| v.span()),
            not_mail,
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
        ("auth", service.auth.as_ref().map(|v| v.span()), not_mail),
        (
            "auth_without_tls",
            service.auth_without_tls.as_ref().map(|v| v.span()),
            not_mail,
        ),
        (
            "tls",
            service.tls.as_ref().map(|v| v.span()),
            "a tunnel does not terminate TLS: a client speaks TLS, if at all, through the tunnel to the target",
        ),
        (
            "tls_certificate",
            service.tls_certificate.as_ref().map(|v| v.span()),
            "a tunnel does not terminate TLS",
        ),
        (
            "tls_key",
            service.tls_key.as_ref().map(|v| v.span()),
            "a tunnel does not terminate TLS",
        ),
        (
            "tls_handshake_timeout",
            service.tls_handshake_timeout.as_ref().map(|v| v.span()),
            "a tunnel does not terminate TLS",
        ),
    ];
    for (key, span, why) in keys {
        if let Some(span) = span {
            errors.push(spanned_error(
                source,
                span,
                key,
                format!("does not apply to a tunnel: {why}"),
                &format!("remove `{key}` from the [[service]] \"{name}\" (kind = \"tunnel\")"),
            ));
        }
    }
}

/// The target and timeouts of a tunnel. `None` (with an error reported)
/// when the target is missing or malformed.
pub(super) fn tunnel_config(
    source: &str,
    service: &RawService,
    span: Range<usize>,
    errors: &mut Vec<ConfigError>,
) -> Option<TunnelConfig> {
    let connect_timeout = timeout(
        source,
        service.connect_timeout.as_ref(),
        "connect_timeout",
        TUNNEL_CONNECT_TIMEOUT_DEFAULT,
        TUNNEL_CONNECT_TIMEOUT_MAX,
        errors,
    );
    let idle_timeout = timeout(
        source,
        service.idle_timeout.as_ref(),
        "idle_timeout",
        TUNNEL_IDLE_TIMEOUT_DEFAULT,
        TUNNEL_IDLE_TIMEOUT_MAX,
        errors,
    );
    let name = service.name.get_ref();
    let Some(written) = &service.target else {
        errors.push(spanned_error(
            source,
            span,
            "target",
            format!("the tunnel \"{name}\" has no target, so it could connect its clients nowhere"),
            "add target = \"host:port\", for example target = \"news.example.net:119\" or target = \"192.168.1.5:6667\"",
        ));
        return None;
    };
    match written.get_ref().parse::<Target>() {
        Ok(target) => {
            if matches!(target.host, TargetHost::Address(a) if unusable(a)) {
                errors.push(spanned_error(
                    source,
                    written.span(),
                    "target",
                    format!("{target} is not an address a connection can be made to"),
                    "give the target host's own address or name",
                ));
                return None;
            }
            Some(TunnelConfig {
                target,
                connect_timeout,
                idle_timeout,
            })
        }
        Err(error) => {
            errors.push(spanned_error(
                source,
                written.span(),
                "target",
                format!("{error}"),
                "write target = \"host:port\": a name (news.example.net:119), an IPv4 address (192.168.1.5:6667) or an IPv6 address in brackets ([fd00::5]:119)",
            ));
            None
        }
    }
}

fn unusable(address: IpAddr) -> bool {
    address.is_unspecified() || address.is_multicast() || address == IpAddr::V4(Ipv4Addr::BROADCAST)
}

fn timeout(
    source: &str,
    written: Option<&toml::Spanned<super::Seconds>>,
    key: &str,
    default: Duration,
    max: Duration,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    let Some(written) = written else {
        return default;
    };
    let value = written.get_ref().0;
    if value.is_zero() || value > max {
        errors.push(spanned_error(
            source,
            written.span(),
            key,
            format!(
                "{} is not a {key} a tunnel can use",
                humantime::format_duration(value)
            ),
            &format!(
                "use more than 0s and at most {} (the default is {})",
                humantime::format_duration(max),
                humantime::format_duration(default)
            ),
        ));
    }
    value
}

/// A warning when a tunnel listens on a well-known port (under
/// [`WELL_KNOWN_PORT_END`]): those belong to the services they are named
/// for, and the seed puts extra instances on 5000 and above.
pub(super) fn well_known_port_warning(
    source: &str,
    service: &RawService,
    port: u16,
    warnings: &mut Vec<ConfigError>,
) {
    if port >= WELL_KNOWN_PORT_END {
        return;
    }
    let name = service.name.get_ref();
    warnings.push(spanned_error(
        source,
        service.listen.span(),
        "listen",
        format!(
            "the tunnel \"{name}\" listens on port {port}, a well-known port (under {WELL_KNOWN_PORT_END}) that belongs to the service it is named for"
        ),
        &format!(
            "put tunnels on ports {} and above, as the seed does with its extra instances, for example listen = \"192.168.1.1:{}\"",
            crate::limits::TUNNEL_PORT_CONVENTION_MIN,
            crate::limits::TUNNEL_PORT_CONVENTION_MIN + 119
        ),
    ));
}

#[cfg(test)]
mod tests;
