//! `postern explain` for a connection to an NNTP instance: TLS, logins,
//! who may read and post before and after one, and the timers.

use super::login::{self, LoginWords};
use super::{Question, line};
use crate::config::{Config, ServiceConfig};
use humantime::format_duration;

/// The facts after access and quota, for an NNTP instance.
pub(super) fn lines(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    if service.auth.offered {
        login::tls_and_login(
            text,
            service,
            &LoginWords {
                clear: "none: the session is in clear",
                starttls: "STARTTLS (RFC 4642) upgrades the session when the client asks",
                implicit: "implicit (nntps)",
                implicit_after: "",
                login_implicit: "AUTHINFO USER/PASS and SASL PLAIN (RFC 4643), always over TLS",
                login_after_starttls: "AUTHINFO USER/PASS and SASL PLAIN only after STARTTLS: a password never travels in clear",
                login_before_starttls: "AUTHINFO USER/PASS and SASL PLAIN, also before STARTTLS: passwords may travel in clear (auth_without_tls = true)",
                login_in_clear: "AUTHINFO USER/PASS and SASL PLAIN in clear: passwords travel unencrypted (auth_without_tls = true, for loopback)",
            },
        );
        login::failures(text, config, service, q);
    } else {
        line(
            text,
            "tls",
            "none: the session is in clear, and takes no logins (no TLS, no auth_without_tls)",
        );
    }
    let Some(nntp) = &service.nntp else {
        return;
    };
    let grant = |pattern: &str| {
        if pattern.is_empty() {
            "no group".to_owned()
        } else {
            format!("groups matching \"{pattern}\"")
        }
    };
    if nntp.login_required() {
        line(
            text,
            "anonymous",
            "nothing: every command but CAPABILITIES, MODE READER, STARTTLS, AUTHINFO, HELP, DATE and QUIT answers 480 until the client logs in",
        );
    } else {
        line(
            text,
            "anonymous",
            &format!(
                "reads {}, posts to {}",
                grant(&nntp.anonymous_read),
                grant(&nntp.anonymous_post)
            ),
        );
    }
    if service.auth.offered {
        let overrides = if config.news.access.is_empty() {
            String::new()
        } else {
            format!(
                ", unless one of the {} [[news_access]] entries names the user",
                config.news.access.len()
            )
        };
        line(
            text,
            "logged in",
            &format!(
                "reads {}, posts to {}{overrides}",
                grant(&nntp.read),
                grant(&nntp.post)
            ),
        );
    }
    line(
        text,
        "groups",
        &format!(
            "{} local [[newsgroup]], and the archives of mailing lists that name a newsgroup",
            config.news.groups.len()
        ),
    );
    line(
        text,
        "articles",
        &format!(
            "POST takes articles up to {} octets (max_message_size)",
            service.max_message_size
        ),
    );
    line(
        text,
        "idle",
        &format!(
            "closed after {} without a command (RFC 3977 section 3.1), and after {} in all",
            format_duration(service.command_timeout),
            format_duration(service.max_session_time)
        ),
    );
    if q.from.is_some() || !q.to.is_empty() || q.size.is_some() {
        line(
            text,
            "envelope",
            "--from, --to and --size do not apply: an NNTP instance takes articles, not mail",
        );
    }
}

#[cfg(test)]
mod tests;
