//! The lines every instance that takes logins shares in `postern
//! explain` (POP3, IMAP, FTP, remote logging): how TLS starts, whether a
//! password may travel in clear, and the failed-login rules. Each kind
//! supplies its own words.

use super::{Question, line};
use crate::admission::HostKey;
use crate::config::{Config, ServiceConfig, TlsMode};
use crate::text::counted;
use humantime::format_duration;

/// One kind's words for its TLS and its logins.
pub(super) struct LoginWords<'a> {
    /// `tls` without TLS.
    pub clear: &'a str,
    /// `tls` on a `tls = "starttls"` instance.
    pub starttls: &'a str,
    /// `tls` on an implicit-TLS instance, before ": the TLS handshake
    /// comes first, within ...".
    pub implicit: &'a str,
    /// Said after the implicit line's handshake time (may be empty).
    pub implicit_after: &'a str,
    /// `login` on an implicit-TLS instance.
    pub login_implicit: &'a str,
    /// `login` after STARTTLS only.
    pub login_after_starttls: &'a str,
    /// `login` also before STARTTLS (`auth_without_tls = true`).
    pub login_before_starttls: &'a str,
    /// `login` in clear (`auth_without_tls = true`, no TLS).
    pub login_in_clear: &'a str,
}

/// The `tls` and `login` lines.
pub(super) fn tls_and_login(text: &mut String, service: &ServiceConfig, words: &LoginWords<'_>) {
    let tls = match &service.tls {
        None => words.clear.to_owned(),
        Some(tls) if tls.mode == TlsMode::StartTls => words.starttls.to_owned(),
        Some(tls) => format!(
            "{}: the TLS handshake comes first, within {}{}",
            words.implicit,
            format_duration(tls.handshake_timeout),
            words.implicit_after
        ),
    };
    line(text, "tls", &tls);
    let login = match (service.tls_mode(), service.auth.without_tls) {
        (TlsMode::Implicit, _) => words.login_implicit,
        (TlsMode::StartTls, false) => words.login_after_starttls,
        (TlsMode::StartTls, true) => words.login_before_starttls,
        (TlsMode::None, true) => words.login_in_clear,
        // Configuration checks refuse an instance nobody could log in
        // to; say so should one get here anyway.
        (TlsMode::None, false) => "never: no TLS, and auth_without_tls is not set",
    };
    line(text, "login", login);
}

/// The `failures` line: the delay, the count per session and the
/// per-host lockout every protocol shares.
pub(super) fn failures(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    let lockout = &config.lockout;
    let locked = HostKey::new(q.remote.to_canonical(), lockout.ipv6_prefix);
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
}
