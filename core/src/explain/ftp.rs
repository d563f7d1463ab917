//! `postern explain` for a connection to an FTP instance: TLS, whether a
//! login may travel in clear, the failed-login rules, the home and its
//! quota, the data connections and the timers.

use super::login::{self, LoginWords};
use super::{Question, line};
use crate::config::{Config, ServiceConfig};
use humantime::format_duration;

/// The facts after access and quota, for an FTP instance.
pub(super) fn lines(text: &mut String, config: &Config, service: &ServiceConfig, q: &Question) {
    login::tls_and_login(
        text,
        service,
        &LoginWords {
            clear: "none: the session and its data connections are in clear",
            starttls: "AUTH TLS (RFC 4217) upgrades the session when the client asks; PROT P protects data connections",
            implicit: "implicit (ftps)",
            implicit_after: "; PROT P protects data connections",
            login_implicit: "USER/PASS, always over TLS; files only over protected data connections (PROT P)",
            login_after_starttls: "USER/PASS only after AUTH TLS (530 before it); files only over protected data connections (PROT P)",
            login_before_starttls: "USER/PASS, also before AUTH TLS: passwords and files may travel in clear (auth_without_tls = true)",
            login_in_clear: "USER/PASS in clear: passwords and files travel unencrypted (auth_without_tls = true, for loopback)",
        },
    );
    login::failures(text, config, service, q);
    let remote = q.remote.to_canonical();
    let (quota, data_timeout, ports) = match &service.ftp {
        Some(ftp) => (
            bytesize::ByteSize(ftp.quota).display().iec().to_string(),
            ftp.data_timeout,
            ftp.passive_ports
                .map_or_else(|| "any free port".to_owned(), |r| format!("ports {r}")),
        ),
        None => (
            "-".to_owned(),
            crate::limits::FTP_DATA_TIMEOUT_DEFAULT,
            "any free port".to_owned(),
        ),
    };
    line(
        text,
        "home",
        &format!(
            "DATA_DIR/ftp/<login>/ of the account that logs in, created at its first login; no path leaves it (.., absolute paths and symbolic links are refused); at most {quota} (STOR and APPE beyond it get 552)"
        ),
    );
    line(
        text,
        "data",
        &format!(
            "passive (PASV/EPSV) on {} at {ports}, taking a connection only from {remote}; active (PORT/EPRT) only to {remote} on ports 1024 and above (the bounce attack is refused with 500); made within {}, and closed when it stalls that long",
            q.local.ip(),
            format_duration(data_timeout)
        ),
    );
    line(
        text,
        "idle",
        &format!(
            "closed after {} without a command (421), and after {} in all",
            format_duration(service.command_timeout),
            format_duration(service.max_session_time)
        ),
    );
    if q.from.is_some() || !q.to.is_empty() || q.size.is_some() {
        line(
            text,
            "envelope",
            "--from, --to and --size do not apply: an FTP instance takes no mail",
        );
    }
}

#[cfg(test)]
mod tests;
