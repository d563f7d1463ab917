//! `postern explain` for a connection to a remote-log instance: TLS,
//! whether a login may travel in clear, that only admins may watch, the
//! failed-login rules, what is sent after a login, and the buffers.

use super::{Question, line};
use crate::admission::HostKey;
use crate::config::{Config, ServiceConfig, TlsMode};
use crate::limits::REMOTE_LOG_SEND_TIMEOUT;
use crate::text::counted;
use humantime::format_duration;

/// The facts after access and quota, for a remote-log instance.
pub(super) fn lines(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    let tls = match &service.tls {
        None => "none: the session is in clear".to_owned(),
        Some(tls) if tls.mode == TlsMode::StartTls => {
            "STARTTLS upgrades the session when the client asks".to_owned()
        }
        Some(tls) => format!(
            "implicit: the TLS handshake comes first, within {}",
            format_duration(tls.handshake_timeout)
        ),
    };
    line(text, "tls", &tls);
    let login = match (service.tls_mode(), service.auth.without_tls) {
        (TlsMode::Implicit, _) => "AUTH PLAIN, always over TLS",
        (TlsMode::StartTls, false) => {
            "AUTH PLAIN only after STARTTLS: a password never travels in clear"
        }
        (TlsMode::StartTls, true) => {
            "AUTH PLAIN, also before STARTTLS: passwords may travel in clear (auth_without_tls = true)"
        }
        (TlsMode::None, true) => {
            "AUTH PLAIN in clear: passwords travel unencrypted (auth_without_tls = true, for loopback)"
        }
        (TlsMode::None, false) => "never: no TLS, and auth_without_tls is not set",
    };
    line(text, "login", login);
    line(
        text,
        "who",
        "accounts marked admin only (`postern user admin ADDRESS on`); any other account is refused after its password is checked",
    );
    let remote = q.remote.to_canonical();
    let lockout = &config.lockout;
    let locked = HostKey::new(remote, lockout.ipv6_prefix);
    line(
        text,
        "failures",
        &format!(
            "each failed login is answered after {}; failure {} closes the session; {} within {} lock out {locked}",
            format_duration(service.auth.failure_delay),
            service.auth.max_failures,
            counted(lockout.failures, "failure", "failures"),
            format_duration(lockout.window)
        ),
    );
    line(
        text,
        "log",
        &format!(
            "after the login, the last {} (FILTER and TAIL n before AUTH change which and how many), then each new line as it is logged",
            counted(service.tail_lines, "line", "lines")
        ),
    );
    line(
        text,
        "buffer",
        &format!(
            "{} per client; past that, lines are dropped for that client and counted (\"! ... N lines dropped\"); a client that reads nothing for {} is closed",
            counted(service.buffer_lines, "line", "lines"),
            format_duration(REMOTE_LOG_SEND_TIMEOUT)
        ),
    );
    line(
        text,
        "idle",
        &format!(
            "closed after {} without a command, unless it is following the log",
            format_duration(service.command_timeout)
        ),
    );
    if q.from.is_some() || !q.to.is_empty() || q.size.is_some() {
        line(
            text,
            "envelope",
            "--from, --to and --size do not apply: a remote-log instance takes no mail",
        );
    }
}

#[cfg(test)]
mod tests;
