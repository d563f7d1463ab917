//! `postern explain` for a connection to a POP3 instance: TLS, whether a
//! login may travel in clear, the failed-login rules, the maildrop and
//! the timers.

use super::{Question, line};
use crate::admission::HostKey;
use crate::config::{Config, ServiceConfig, TlsMode};
use crate::text::counted;
use humantime::format_duration;

/// The facts after access and quota, for a POP3 instance.
pub(super) fn lines(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    let tls = match &service.tls {
        None => "none: the session is in clear".to_owned(),
        Some(tls) if tls.mode == TlsMode::StartTls => {
            "STLS (RFC 2595) upgrades the session when the client asks".to_owned()
        }
        Some(tls) => format!(
            "implicit (pop3s): the TLS handshake comes first, within {}",
            format_duration(tls.handshake_timeout)
        ),
    };
    line(text, "tls", &tls);
    let login = match (service.tls_mode(), service.auth.without_tls) {
        (TlsMode::Implicit, _) => "USER/PASS and AUTH PLAIN/LOGIN, always over TLS",
        (TlsMode::StartTls, false) => {
            "USER/PASS and AUTH PLAIN/LOGIN only after STLS: a password never travels in clear"
        }
        (TlsMode::StartTls, true) => {
            "USER/PASS and AUTH PLAIN/LOGIN, also before STLS: passwords may travel in clear (auth_without_tls = true)"
        }
        (TlsMode::None, true) => {
            "USER/PASS and AUTH PLAIN/LOGIN in clear: passwords travel unencrypted (auth_without_tls = true, for loopback)"
        }
        // Configuration checks refuse a POP3 instance nobody could log
        // in to; say so should one get here anyway.
        (TlsMode::None, false) => "never: no TLS, and auth_without_tls is not set",
    };
    line(text, "login", login);
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
        "mailbox",
        "the INBOX of the account that logs in (`postern user`), locked for the session (another session gets -ERR [IN-USE]); DELE takes effect only after QUIT",
    );
    line(
        text,
        "idle",
        &format!(
            "closed after {} without a command (autologout, RFC 1939 section 3), and after {} in all",
            format_duration(service.command_timeout),
            format_duration(service.max_session_time)
        ),
    );
    if q.from.is_some() || !q.to.is_empty() || q.size.is_some() {
        line(
            text,
            "envelope",
            "--from, --to and --size do not apply: a POP3 instance takes no mail",
        );
    }
}

#[cfg(test)]
mod tests;
