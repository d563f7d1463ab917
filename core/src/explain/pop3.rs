//! `postern explain` for a connection to a POP3 instance: TLS, whether a
//! login may travel in clear, the failed-login rules, the maildrop and
//! the timers.

use super::login::{self, LoginWords};
use super::{Question, line};
use crate::config::{Config, ServiceConfig};
use humantime::format_duration;

/// The facts after access and quota, for a POP3 instance.
pub(super) fn lines(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    login::tls_and_login(
        text,
        service,
        &LoginWords {
            clear: "none: the session is in clear",
            starttls: "STLS (RFC 2595) upgrades the session when the client asks",
            implicit: "implicit (pop3s)",
            implicit_after: "",
            login_implicit: "USER/PASS and AUTH PLAIN/LOGIN, always over TLS",
            login_after_starttls: "USER/PASS and AUTH PLAIN/LOGIN only after STLS: a password never travels in clear",
            login_before_starttls: "USER/PASS and AUTH PLAIN/LOGIN, also before STLS: passwords may travel in clear (auth_without_tls = true)",
            login_in_clear: "USER/PASS and AUTH PLAIN/LOGIN in clear: passwords travel unencrypted (auth_without_tls = true, for loopback)",
        },
    );
    login::failures(text, config, service, q);
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
