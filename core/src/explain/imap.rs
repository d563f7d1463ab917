//! `postern explain` for a connection to an IMAP instance: TLS, whether a
//! login may travel in clear, the failed-login rules, the folders, the
//! APPEND limit and the timers.

use super::login::{self, LoginWords};
use super::{Question, line};
use crate::config::{Config, ServiceConfig};
use bytesize::ByteSize;
use humantime::format_duration;

/// The facts after access and quota, for an IMAP instance.
pub(super) fn lines(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    login::tls_and_login(
        text,
        service,
        &LoginWords {
            clear: "none: the session is in clear",
            starttls: "STARTTLS (RFC 9051 6.2.1) upgrades the session when the client asks",
            implicit: "implicit (imaps)",
            implicit_after: "",
            login_implicit: "LOGIN and AUTHENTICATE PLAIN/LOGIN, always over TLS",
            login_after_starttls: "LOGIN and AUTHENTICATE PLAIN/LOGIN only after STARTTLS (LOGINDISABLED before): a password never travels in clear",
            login_before_starttls: "LOGIN and AUTHENTICATE PLAIN/LOGIN, also before STARTTLS: passwords may travel in clear (auth_without_tls = true)",
            login_in_clear: "LOGIN and AUTHENTICATE PLAIN/LOGIN in clear: passwords travel unencrypted (auth_without_tls = true, for loopback)",
        },
    );
    login::failures(text, config, service, q);
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
