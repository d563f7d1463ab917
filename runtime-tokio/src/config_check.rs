//! What `check-config` and `run` check beyond the text of the file: the
//! files it names (certificates, keys, the smarthost's CA file, news
//! upstreams' password and CA files), each
//! error at the line that names the file, and the `[outbound]` settings
//! and warnings as `check-config` shows them.

use crate::config_file::Loaded;
use crate::tls::{ClientTls, ServerTls, TlsFile};
use postern_core::config::{ConfigError, tls_word};
use postern_core::smtp::client::TlsPolicy;
use std::fmt::Write as _;
use std::path::Path;

/// Reads every certificate, key and CA file the configuration names:
/// all of them, so that every bad file is reported at once, each at its
/// line. Errors come back as one operator-ready text.
pub fn check_files(loaded: &Loaded) -> Result<(), String> {
    let mut errors = Vec::new();
    for service in &loaded.config.services {
        let Some(tls) = &service.tls else { continue };
        let Err(error) = ServerTls::load(tls, &service.name) else {
            continue;
        };
        let (certificate_line, key_line) = tls.lines;
        let (line, key, help) = match error.file {
            TlsFile::Certificate => (
                certificate_line,
                "tls_certificate",
                "point tls_certificate at the PEM certificate chain, the server's certificate first; `postern cert self-signed --host NAME` makes a pair for a first run".to_owned(),
            ),
            TlsFile::Key => (
                key_line,
                "tls_key",
                "point tls_key at the PEM private key of the certificate".to_owned(),
            ),
            TlsFile::Pair => (
                certificate_line,
                "tls_certificate",
                format!(
                    "tls_certificate (line {certificate_line}) and tls_key (line {key_line}) must name a certificate and its own key"
                ),
            ),
        };
        errors.push(error_at(
            loaded,
            line,
            key,
            &format!("instance {}: {error}", service.name),
            &help,
        ));
    }
    let outbound = &loaded.config.outbound;
    if let Some(ca_file) = outbound.smarthost.as_ref().and_then(|s| s.ca_file.as_ref())
        && let Err(error) = ClientTls::verified(Some(ca_file))
    {
        errors.push(error_at(
            loaded,
            outbound.ca_file_line,
            "ca_file",
            &error,
            "give a PEM file of the certificates the smarthost's must chain to (for a self-signed smarthost, its own certificate)",
        ));
    }
    for key in &loaded.config.dkim {
        if let Err(error) = crate::mail_auth::dkim::DkimSigners::load(std::slice::from_ref(key)) {
            errors.push(error_at(
                loaded,
                key.line,
                "dkim.key",
                &error.to_string(),
                "point key at a PEM private key (RSA of 2048 to 4096 bits, or Ed25519); `postern dkim keygen DOMAIN` makes one and prints the DNS record to publish",
            ));
        }
    }
    for upstream in &loaded.config.news_upstreams {
        // Paths are resolved by now (config_file::load).
        if let Err(error) =
            crate::nntp_pull::Upstream::load(upstream, Path::new(""), &loaded.data_dir)
        {
            errors.push(error_at(
                loaded,
                upstream.line,
                "news_upstream",
                &format!("upstream {}: {error}", upstream.name),
                "make password_file a readable file whose first line is the password, and ca_file a PEM file of CA certificates",
            ));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let count = errors.len();
    errors.push(format!(
        "{count} error{} in {}",
        if count == 1 { "" } else { "s" },
        loaded.origin
    ));
    Err(errors.join("\n"))
}

/// An error about a file the configuration names, rendered like the
/// parser's own: file, line and column, key, the line quoted, the fix.
fn error_at(loaded: &Loaded, line: usize, key: &str, message: &str, help: &str) -> String {
    // The column of the value: after `=` and its spaces.
    let column = loaded
        .source
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|text| {
            let (before, after) = text.split_once('=')?;
            Some(before.chars().count() + 2 + after.len() - after.trim_start().len())
        })
        .unwrap_or(1);
    ConfigError {
        position: (line > 0).then_some((line, column)),
        key: Some(key.to_owned()),
        message: message.to_owned(),
        help: Some(help.to_owned()),
    }
    .render(&loaded.origin, &loaded.source)
}

/// Each warning, as `check-config` prints it: `warning: ` and the
/// rendered error, with its line quoted and its fix.
pub fn warnings(loaded: &Loaded) -> Vec<String> {
    loaded
        .config
        .warnings
        .iter()
        .map(|w| format!("warning: {}", w.render(&loaded.origin, &loaded.source)))
        .collect()
}

/// Each warning on one line, for the log at start.
pub fn warning_lines(loaded: &Loaded) -> Vec<String> {
    loaded
        .config
        .warnings
        .iter()
        .map(|w| {
            let at = w
                .position
                .map_or(String::new(), |(line, _)| format!(":{line}"));
            let key = w
                .key
                .as_deref()
                .map_or(String::new(), |k| format!("`{k}`: "));
            let help = w
                .help
                .as_deref()
                .map_or(String::new(), |h| format!("; {h}"));
            format!("{}{at}: {key}{}{help}", loaded.origin, w.message)
        })
        .collect()
}

/// The `[outbound]` settings and the smarthost, for `check-config`.
pub fn outbound_summary(loaded: &Loaded) -> String {
    let outbound = &loaded.config.outbound;
    let human = |d: std::time::Duration| humantime::format_duration(d).to_string();
    let mut text = String::new();
    let nameservers = if outbound.nameservers.is_empty() {
        "the system's (/etc/resolv.conf)".to_owned()
    } else {
        outbound
            .nameservers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        text,
        "  outbound  MX port {}, {} connections at once ({} per destination), DNS {nameservers}",
        outbound.port, outbound.max_connections, outbound.max_connections_per_destination
    );
    let delays: Vec<String> = outbound.retry.delays.iter().map(|d| human(*d)).collect();
    let _ = writeln!(
        text,
        "            retry after {}, the last repeating; bounce after {}",
        delays.join(", "),
        human(outbound.retry.expire_after)
    );
    match &outbound.smarthost {
        None => text.push_str("  smarthost none: every message goes direct to its domain's MX\n"),
        Some(smarthost) => {
            let tls = match smarthost.tls {
                TlsPolicy::Never => "none (clear text)",
                TlsPolicy::Opportunistic => "opportunistic STARTTLS",
                TlsPolicy::Required => "required STARTTLS, certificate verified",
                TlsPolicy::Implicit => "implicit (TLS from the first byte), certificate verified",
            };
            let _ = writeln!(
                text,
                "  smarthost {smarthost} ({}), tls = \"{}\": {tls}",
                smarthost.mode,
                tls_word(smarthost.tls)
            );
            let trust = match (&smarthost.ca_file, smarthost.tls) {
                (_, TlsPolicy::Never) => "no TLS".to_owned(),
                (Some(file), _) => format!("ca_file {}", file.display()),
                (None, _) => "the public roots (webpki-roots)".to_owned(),
            };
            let login = smarthost
                .credentials
                .as_ref()
                .map_or("no login".to_owned(), |c| format!("logs in as {}", c.user));
            let _ = writeln!(text, "            trusts {trust}; {login}");
        }
    }
    text
}
