//! `postern explain` for a connection to an IMAP instance: TLS, whether a
//! login may travel in clear, the failed-login rules, the folders, the
//! APPEND limit and the timers.

use super::{Question, line};
use crate::admission::HostKey;
use crate::config::{Config, ServiceConfig, TlsMode};
use crate::text::counted;
use bytesize::ByteSize;
use humantime::format_duration;

/// The facts after access and quota, for an IMAP instance.
pub(super) fn lines(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    let tls = match &service.tls {
        None => "none: the session is in clear".to_owned(),
        Some(tls) if tls.mode == TlsMode::StartTls => {
            "STARTTLS (RFC 9051 6.2.1) upgrades the session when the client asks".to_owned()
        }
        Some(tls) => format!(
            "implicit (imaps): the TLS handshake comes first, within {}",
            format_duration(tls.handshake_timeout)
        ),
    };
    line(text, "tls", &tls);
    let login = match (service.tls_mode(), service.auth.without_tls) {
        (TlsMode::Implicit, _) => "LOGIN and AUTHENTICATE PLAIN/LOGIN, always over TLS",
        (TlsMode::StartTls, false) => {
            "LOGIN and AUTHENTICATE PLAIN/LOGIN only after STARTTLS (LOGINDISABLED before): a password never travels in clear"
        }
        (TlsMode::StartTls, true) => {
            "LOGIN and AUTHENTICATE PLAIN/LOGIN, also before STARTTLS: passwords may travel in clear (auth_without_tls = true)"
        }
        (TlsMode::None, true) => {
            "LOGIN and AUTHENTICATE PLAIN/LOGIN in clear: passwords travel unencrypted (auth_without_tls = true, for loopback)"
        }
        // Configuration checks refuse an IMAP instance nobody could log
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
        "folders",
        "the account's folders (INBOX, Sent, Drafts, Trash, Junk, Archive and its own), shared by every session: each is told of the others' changes",
    );
    line(
        text,
        "append",
        &format!(
            "messages of up to {} (APPENDLIMIT, max_message_size)",
            ByteSize(service.max_message_size).display().iec()
        ),
    );
    line(
        text,
        "idle",
        &format!(
            "closed after {} without a command (autologout, RFC 9051 section 5.4), an IDLE after {} (clients renew it), and after {} in all",
            format_duration(service.command_timeout),
            format_duration(crate::limits::IMAP_IDLE_MAX),
            format_duration(service.max_session_time)
        ),
    );
    if q.from.is_some() || !q.to.is_empty() || q.size.is_some() {
        line(
            text,
            "envelope",
            "--from, --to and --size do not apply: an IMAP instance takes no mail by SMTP",
        );
    }
}

#[cfg(test)]
mod tests;
