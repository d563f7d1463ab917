//! `postern explain` for a connection to a remote-log instance: TLS,
//! whether a login may travel in clear, that only admins may watch, the
//! failed-login rules, what is sent after a login, and the buffers.

use super::login::{self, LoginWords};
use super::{Question, line};
use crate::config::{Config, ServiceConfig};
use crate::limits::REMOTE_LOG_SEND_TIMEOUT;
use crate::text::counted;
use humantime::format_duration;

/// The facts after access and quota, for a remote-log instance.
pub(super) fn lines(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    login::tls_and_login(
        text,
        service,
        &LoginWords {
            clear: "none: the session is in clear",
            starttls: "STARTTLS upgrades the session when the client asks",
            implicit: "implicit",
            implicit_after: "",
            login_implicit: "AUTH PLAIN, always over TLS",
            login_after_starttls: "AUTH PLAIN only after STARTTLS: a password never travels in clear",
            login_before_starttls: "AUTH PLAIN, also before STARTTLS: passwords may travel in clear (auth_without_tls = true)",
            login_in_clear: "AUTH PLAIN in clear: passwords travel unencrypted (auth_without_tls = true, for loopback)",
        },
    );
    line(
        text,
        "who",
        "accounts marked admin only (`postern user admin ADDRESS on`); any other account is refused after its password is checked",
    );
    login::failures(text, config, service, q);
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
