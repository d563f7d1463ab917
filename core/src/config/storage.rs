//! `[storage]`: where the queue (and later the mailboxes) is kept. The
//! files backend (the spool and Maildirs in the data directory) is the
//! default; the postgres backend keeps them in a PostgreSQL database
//! shared by several nodes.
//!
//! The URL is checked here without connecting: its shape, and above all
//! that it carries no password (a password goes in a file or in the
//! environment, never in a configuration file that is shown, copied and
//! logged).

use super::{ConfigError, Seconds, check_range, spanned_error};
use crate::limits::{
    STORAGE_LEASE_DEFAULT, STORAGE_LEASE_MAX, STORAGE_LEASE_MIN, STORAGE_NODE_ID_MAX,
    STORAGE_NODE_NAME_BYTES_MAX, STORAGE_POOL_SIZE_DEFAULT, STORAGE_POOL_SIZE_MAX,
    STORAGE_URL_BYTES_MAX,
};
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// `[storage]`, valid.
// Made once per configuration and rarely moved: boxing the postgres
// settings would only complicate every match on them.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StorageConfig {
    /// The spool and Maildirs in the data directory: one node.
    #[default]
    Files,
    /// A PostgreSQL database, shared by every node.
    Postgres(PostgresConfig),
}

impl StorageConfig {
    /// The backend's name, as written in the file.
    pub fn backend(&self) -> &'static str {
        match self {
            StorageConfig::Files => "files",
            StorageConfig::Postgres(_) => "postgres",
        }
    }

    /// This node's number, in the low bits of every queue ID it makes:
    /// the postgres backend's `node_id`, 0 for the files backend's one
    /// node.
    pub fn node_id(&self) -> u16 {
        match self {
            StorageConfig::Files => 0,
            StorageConfig::Postgres(pg) => pg.node_id,
        }
    }

    /// One line for `check-config`; never a password (the URL has none).
    pub fn summary(&self) -> String {
        match self {
            StorageConfig::Files => "files (the data directory)".to_owned(),
            StorageConfig::Postgres(pg) => format!(
                "postgres {} (node {} \"{}\", pool {}, lease {}s, password {}, {})",
                pg.url,
                pg.node_id,
                pg.node_name,
                pg.pool_size,
                pg.lease.as_secs(),
                match &pg.password {
                    None => "none".to_owned(),
                    Some(PasswordSource::File(path)) => format!("from file {}", path.display()),
                    Some(PasswordSource::Env(name)) => format!("from ${name}"),
                },
                match &pg.tls {
                    DatabaseTls::None => "tls none".to_owned(),
                    DatabaseTls::Required { ca_file: None } =>
                        "tls required, verified against the public roots".to_owned(),
                    DatabaseTls::Required {
                        ca_file: Some(path),
                    } => format!("tls required, verified against {}", path.display()),
                }
            ),
        }
    }
}

/// The postgres backend's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresConfig {
    pub url: DatabaseUrl,
    pub password: Option<PasswordSource>,
    /// Connections this node's pool holds at most.
    pub pool_size: u32,
    /// This node's name in the `nodes` table and in logs; by default the
    /// server's host name.
    pub node_name: String,
    /// This node's number, 0 to [`STORAGE_NODE_ID_MAX`]: unique among
    /// the nodes sharing one database.
    pub node_id: u16,
    /// How long a claim on a message lasts unless renewed.
    pub lease: Duration,
    /// The line of `password_file` (1-based; 0 when none), so that an
    /// error reading the file can name it.
    pub password_file_line: usize,
    /// Whether the connections are encrypted.
    pub tls: DatabaseTls,
}

/// How a node's connections to the database are protected (`tls`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseTls {
    /// In clear: the default for a database on loopback, where there is
    /// no network to cross.
    None,
    /// TLS, the server's certificate verified (its chain and its name):
    /// against `ca_file`'s certificates (a relative path is relative to
    /// the configuration file's directory), or the public roots. The
    /// default for a database on another host.
    Required { ca_file: Option<PathBuf> },
}

impl DatabaseTls {
    /// The default for a database at `host`: none on loopback (or a
    /// Unix socket's directory), required anywhere else.
    pub fn default_for(host: &str) -> DatabaseTls {
        let loopback = host.starts_with('/')
            || host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            DatabaseTls::None
        } else {
            DatabaseTls::Required { ca_file: None }
        }
    }
}

/// Where the database password comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// The first line of this file. A relative path is relative to the
    /// configuration file's directory (the runtime resolves it).
    File(PathBuf),
    /// This environment variable.
    Env(String),
}

/// A `postgres://user@host:port/database` URL without a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseUrl {
    text: String,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub database: Option<String>,
}

impl DatabaseUrl {
    /// The URL as written (it holds no password).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a storage URL cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlProblem {
    NotPostgres,
    HasPassword,
    NoHost,
    BadPort,
    TooLong,
    HasSslMode,
}

impl UrlProblem {
    /// What was wrong, and the fix.
    pub fn explain(self) -> (&'static str, &'static str) {
        match self {
            UrlProblem::NotPostgres => (
                "this is not a PostgreSQL URL",
                "write postgres://USER@HOST:PORT/DATABASE",
            ),
            UrlProblem::HasPassword => (
                "the URL carries a password, which would then be shown and logged with it",
                "remove the password from the URL and put it in a file named by `password_file` (or in an environment variable named by `password_env`)",
            ),
            UrlProblem::NoHost => (
                "the URL names no host",
                "write postgres://USER@HOST:PORT/DATABASE, such as postgres://postern@127.0.0.1:5432/postern",
            ),
            UrlProblem::BadPort => (
                "the URL's port is not a number from 1 to 65535",
                "write postgres://USER@HOST:PORT/DATABASE, such as postgres://postern@127.0.0.1:5432/postern",
            ),
            UrlProblem::TooLong => (
                "the URL is too long",
                "a storage URL is at most 1024 octets",
            ),
            UrlProblem::HasSslMode => (
                "the URL sets `sslmode`, which `tls` under [storage] decides",
                "remove sslmode from the URL and set tls = \"required\" (with ca_file for a private CA) or tls = \"none\"",
            ),
        }
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = UrlProblem;

    fn from_str(text: &str) -> Result<Self, UrlProblem> {
        if text.len() > STORAGE_URL_BYTES_MAX {
            return Err(UrlProblem::TooLong);
        }
        let rest = text
            .strip_prefix("postgres://")
            .or_else(|| text.strip_prefix("postgresql://"))
            .ok_or(UrlProblem::NotPostgres)?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        // libpq takes connection parameters in the query too.
        if query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("password"))
        {
            return Err(UrlProblem::HasPassword);
        }
        if query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("sslmode"))
        {
            return Err(UrlProblem::HasSslMode);
        }
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, _)) if userinfo.contains(':') => return Err(UrlProblem::HasPassword),
            Some((user, host_port)) => (Some(user.to_owned()), host_port),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port)?;
        if host.is_empty() {
            return Err(UrlProblem::NoHost);
        }
        Ok(DatabaseUrl {
            text: text.to_owned(),
            user: user.filter(|u| !u.is_empty()),
            host,
            port,
            database: Some(database.to_owned()).filter(|d| !d.is_empty()),
        })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
/// `line` with every password a database URL on it carries replaced by
/// `****`: the userinfo's (`postgres://user:secret@host`) and a
/// `password=` parameter's. An error about a configuration line quotes
/// the line, and a password must not reach the terminal or a log that
/// way either.
pub fn redact_passwords(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after
            .find(['/', '?', '"', '\'', ' '])
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rsplit_once('@') {
            Some((userinfo, host)) if userinfo.contains(':') => {
                let (user, _) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                out.push_str(&format!("{user}:****@{host}"));
            }
            _ => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    redact_parameter(&out)
}

/// `password=VALUE` (as libpq takes it in a URL's query) with the value
/// replaced by `****`, up to the next `&`, quote or space.
fn redact_parameter(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("password=") {
        let (before, after) = rest.split_at(at + "password=".len());
        out.push_str(before);
        let end = after.find(['&', '"', '\'', ' ']).unwrap_or(after.len());
        if end > 0 {
            out.push_str("****");
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn split_host_port(text: &str) -> Result<(String, Option<u16>), UrlProblem> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(UrlProblem::NoHost)?;
        (host, after.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        None => None,
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or(UrlProblem::BadPort)?,
        ),
    };
    Ok((host.to_owned(), port))
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum RawBackend {
    #[default]
    Files,
    Postgres,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum RawTls {
    None,
    Required,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    backend: Option<Spanned<RawBackend>>,
    url: Option<Spanned<String>>,
    password_file: Option<Spanned<PathBuf>>,
    password_env: Option<Spanned<String>>,
    pool_size: Option<Spanned<i64>>,
    node_name: Option<Spanned<String>>,
    node_id: Option<Spanned<i64>>,
    lease: Option<Spanned<Seconds>>,
    tls: Option<Spanned<RawTls>>,
    ca_file: Option<Spanned<PathBuf>>,
}

/// Checks `[storage]`; `hostname` is the default node name.
pub(super) fn validate_storage(
    source: &str,
    raw: RawStorage,
    hostname: &str,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) -> StorageConfig {
    let backend = raw
        .backend
        .as_ref()
        .map(|b| *b.get_ref())
        .unwrap_or_default();
    if backend == RawBackend::Files {
        let set = [
            ("url", raw.url.as_ref().map(Spanned::span)),
            (
                "password_file",
                raw.password_file.as_ref().map(Spanned::span),
            ),
            ("password_env", raw.password_env.as_ref().map(Spanned::span)),
            ("pool_size", raw.pool_size.as_ref().map(Spanned::span)),
            ("node_name", raw.node_name.as_ref().map(Spanned::span)),
            ("node_id", raw.node_id.as_ref().map(Spanned::span)),
            ("lease", raw.lease.as_ref().map(Spanned::span)),
            ("tls", raw.tls.as_ref().map(Spanned::span)),
            ("ca_file", raw.ca_file.as_ref().map(Spanned::span)),
        ];
        if let Some((key, Some(span))) = set.into_iter().find(|(_, span)| span.is_some()) {
            warnings.push(spanned_error(
                source,
                span,
                key,
                "the files backend uses no database; this key is ignored".to_owned(),
                "set backend = \"postgres\" under [storage], or remove the database keys",
            ));
        }
        return StorageConfig::Files;
    }
    let url = match &raw.url {
        None => {
            errors.push(ConfigError {
                position: raw
                    .backend
                    .as_ref()
                    .map(|b| super::line_column(source, b.span().start)),
                key: Some("url".to_owned()),
                message: "the postgres backend needs the database's URL".to_owned(),
                help: Some(
                    "add url = \"postgres://USER@HOST:PORT/DATABASE\" under [storage]".to_owned(),
                ),
            });
            None
        }
        Some(text) => match text.get_ref().parse::<DatabaseUrl>() {
            Ok(url) => Some(url),
            Err(problem) => {
                let (message, help) = problem.explain();
                errors.push(spanned_error(
                    source,
                    text.span(),
                    "url",
                    message.to_owned(),
                    help,
                ));
                None
            }
        },
    };
    let password = password_source(source, &raw, errors);
    let pool_size = raw
        .pool_size
        .as_ref()
        .map_or(STORAGE_POOL_SIZE_DEFAULT, |n| {
            let n = check_range(
                source,
                n,
                "pool_size",
                |n| *n,
                1,
                i64::from(STORAGE_POOL_SIZE_MAX),
                errors,
            );
            n.clamp(1, i64::from(STORAGE_POOL_SIZE_MAX)) as u32
        });
    let node_id = raw.node_id.as_ref().map_or(0, |n| {
        let n = check_range(
            source,
            n,
            "node_id",
            |n| *n,
            0,
            i64::from(STORAGE_NODE_ID_MAX),
            errors,
        );
        n.clamp(0, i64::from(STORAGE_NODE_ID_MAX)) as u16
    });
    let node_name = match &raw.node_name {
        None => hostname.to_owned(),
        Some(name) => {
            if !is_node_name(name.get_ref()) {
                errors.push(spanned_error(
                    source,
                    name.span(),
                    "node_name",
                    format!("\"{}\" is not a node name", name.get_ref().escape_debug()),
                    "use letters, digits, `.`, `-` and `_`, at most 253 of them, such as mx1.example.com",
                ));
            }
            name.get_ref().clone()
        }
    };
    let lease = raw.lease.as_ref().map_or(STORAGE_LEASE_DEFAULT, |lease| {
        let duration = lease.get_ref().0;
        if let Some(problem) = lease_problem(duration) {
            errors.push(spanned_error(
                source,
                lease.span(),
                "lease",
                problem,
                "use a lease from \"5s\" to \"1h\"; \"60s\" is the default",
            ));
        }
        duration
    });
    let password_file_line = raw
        .password_file
        .as_ref()
        .map_or(0, |f| super::line_column(source, f.span().start).0);
    match url {
        Some(url) => StorageConfig::Postgres(PostgresConfig {
            tls: database_tls(source, &raw, &url, errors),
            url,
            password,
            pool_size,
            node_name,
            node_id,
            lease,
            password_file_line,
        }),
        None => StorageConfig::Files,
    }
}

fn password_source(
    source: &str,
    raw: &RawStorage,
    errors: &mut Vec<ConfigError>,
) -> Option<PasswordSource> {
    match (&raw.password_file, &raw.password_env) {
        (Some(_), Some(env)) => {
            errors.push(spanned_error(
                source,
                env.span(),
                "password_env",
                "both `password_file` and `password_env` are set".to_owned(),
                "keep one: the password comes from a file or from the environment",
            ));
            None
        }
        (Some(file), None) => Some(PasswordSource::File(file.get_ref().clone())),
        (None, Some(env)) => {
            let name = env.get_ref();
            let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                errors.push(spanned_error(
                    source,
                    env.span(),
                    "password_env",
                    format!(
                        "\"{}\" is not an environment variable's name",
                        name.escape_debug()
                    ),
                    "write the variable's name without `$`, such as POSTERN_DB_PASSWORD",
                ));
            }
            Some(PasswordSource::Env(name.clone()))
        }
        (None, None) => None,
    }
}

/// `tls` and `ca_file`, or the default for the URL's host.
fn database_tls(
    source: &str,
    raw: &RawStorage,
    url: &DatabaseUrl,
    errors: &mut Vec<ConfigError>,
) -> DatabaseTls {
    let ca_file = raw.ca_file.as_ref().map(|f| f.get_ref().clone());
    match raw.tls.as_ref().map(|t| *t.get_ref()) {
        Some(RawTls::None) => {
            if let Some(file) = &raw.ca_file {
                errors.push(spanned_error(
                    source,
                    file.span(),
                    "ca_file",
                    "`ca_file` is set, but tls = \"none\" verifies no certificate".to_owned(),
                    "set tls = \"required\" to connect over TLS, or remove ca_file",
                ));
            }
            DatabaseTls::None
        }
        Some(RawTls::Required) => DatabaseTls::Required { ca_file },
        None => match DatabaseTls::default_for(&url.host) {
            DatabaseTls::None if ca_file.is_some() => DatabaseTls::Required { ca_file },
            DatabaseTls::None => DatabaseTls::None,
            DatabaseTls::Required { .. } => DatabaseTls::Required { ca_file },
        },
    }
}

/// Why `lease` is out of bounds, if it is.
pub fn lease_problem(lease: Duration) -> Option<String> {
    if lease < STORAGE_LEASE_MIN {
        Some(format!(
            "a lease of {}s is too short: a delivery attempt's round trips to the database would outlast it",
            lease.as_secs_f64()
        ))
    } else if lease > STORAGE_LEASE_MAX {
        Some(format!(
            "a lease of {}s is too long: the messages of a node that dies would wait that long",
            lease.as_secs()
        ))
    } else {
        None
    }
}

fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= STORAGE_NODE_NAME_BYTES_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
#[path = "storage_tests.rs"]
mod tests;
