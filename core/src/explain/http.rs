//! `postern explain` for a connection to an HTTP instance: what it
//! serves, HTTPS, how logins travel, the failed-login rules, the webmail
//! session lifetimes, the upload limit and the timers.

use super::login::{self, LoginWords};
use super::{Question, line};
use crate::config::{Config, ServiceConfig};
use crate::http::Area;
use crate::limits::{
    WEBMAIL_PERSONAL_IDLE, WEBMAIL_PERSONAL_LIFETIME, WEBMAIL_SHARED_IDLE, WEBMAIL_SHARED_LIFETIME,
};
use bytesize::ByteSize;
use humantime::format_duration;

/// The facts after access and quota, for an HTTP instance.
pub(super) fn lines(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    let serve = service
        .http
        .as_ref()
        .map(|http| http.serve)
        .unwrap_or_default();
    let what: Vec<String> = serve
        .iter()
        .map(|area| match area {
            Area::Webmail => "webmail at / (reading, writing, settings)".to_owned(),
            Area::Status => "the status page at /status".to_owned(),
            Area::Metrics => "Prometheus metrics at /metrics".to_owned(),
            Area::Admin => "the admin area at /admin (accounts marked admin)".to_owned(),
            Area::Lists => "mailing lists' one-click unsubscribe at /lists/unsubscribe/".to_owned(),
        })
        .collect();
    line(text, "serves", &what.join("; "));
    if serve.takes_logins() {
        login::tls_and_login(
            text,
            service,
            &LoginWords {
                clear: "none: plain HTTP",
                starttls: "none (HTTP has no STARTTLS)",
                implicit: "HTTPS",
                implicit_after: "",
                login_implicit: "the login form, over HTTPS only; session cookies are Secure",
                login_after_starttls: "the login form",
                login_before_starttls: "the login form",
                login_in_clear: "the login form in clear: passwords and session cookies travel unencrypted (auth_without_tls = true, for loopback)",
            },
        );
        let lockout = &config.lockout;
        let locked = crate::admission::HostKey::new(q.remote.to_canonical(), lockout.ipv6_prefix);
        line(
            text,
            "failures",
            &format!(
                "each failed login is answered after {} (403); {} within {} lock out {locked} (429), for every protocol",
                format_duration(service.auth.failure_delay),
                crate::text::counted(lockout.failures, "failure", "failures"),
                format_duration(lockout.window)
            ),
        );
        line(
            text,
            "sessions",
            &format!(
                "a personal computer's end after {} idle or {} in all; a shared computer's after {} idle or {} in all, and its cookie with the browser",
                format_duration(WEBMAIL_PERSONAL_IDLE),
                format_duration(WEBMAIL_PERSONAL_LIFETIME),
                format_duration(WEBMAIL_SHARED_IDLE),
                format_duration(WEBMAIL_SHARED_LIFETIME),
            ),
        );
        line(
            text,
            "sending",
            &format!(
                "as the logged-in user, under the rules of authenticated submission (own addresses only, relaying permitted), messages of up to {} (max_message_size)",
                ByteSize(service.max_message_size).display().iec()
            ),
        );
    } else if let Some(tls) = &service.tls {
        line(
            text,
            "tls",
            &format!(
                "HTTPS: the TLS handshake comes first, within {}",
                format_duration(tls.handshake_timeout)
            ),
        );
    } else {
        line(text, "tls", "none: plain HTTP");
    }
    line(
        text,
        "idle",
        &format!(
            "request headers within {0}; a kept-alive connection closed after {0} idle, and after {1} in all",
            format_duration(service.command_timeout),
            format_duration(service.max_session_time)
        ),
    );
    if q.from.is_some() || !q.to.is_empty() || q.size.is_some() {
        line(
            text,
            "envelope",
            "--from, --to and --size do not apply: an HTTP instance takes no mail by SMTP",
        );
    }
}

#[cfg(test)]
mod tests;
