//! The configuration: TOML text in, a validated [`Config`] or every error
//! found out, each with its line, key and fix.
//!
//! Reading the file is the runtime's job; this module only parses text, so
//! it is as deterministic as the rest of the core. Values with a shape
//! (addresses, sizes, durations, names) are checked while parsing, so the
//! TOML parser reports them at their exact position; rules that relate
//! several values are checked afterwards, with spans kept for the purpose.

use crate::address::is_domain;
use crate::limits::{
    COMMAND_TIMEOUT_DEFAULT, DATA_TIMEOUT_DEFAULT, ERRORS_PER_SESSION_DEFAULT,
    ERRORS_PER_SESSION_MAX, MESSAGE_BYTES_DEFAULT, MESSAGE_BYTES_MAX,
    RECIPIENTS_PER_MESSAGE_DEFAULT, RECIPIENTS_PER_MESSAGE_MAX,
};
use crate::smtp::server::SessionConfig;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// How long a stopping server lets sessions finish, by default.
pub const SHUTDOWN_GRACE_DEFAULT: Duration = Duration::from_secs(30);

/// A whole, valid configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub server: ServerConfig,
    pub services: Vec<ServiceConfig>,
    pub domains: Vec<DomainConfig>,
}

/// `[server]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Our name in greetings and trace headers.
    pub hostname: String,
    /// Spool and mailboxes live here. A relative path is relative to the
    /// configuration file's directory (the runtime resolves it).
    pub data_dir: PathBuf,
    /// How long sessions may run on after a stop signal.
    pub shutdown_grace: Duration,
}

/// One `[[service]]`: a listener and the policy of its sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    pub name: String,
    pub kind: ServiceKind,
    pub listen: SocketAddr,
    pub max_message_size: u64,
    pub max_recipients: usize,
    pub max_errors: u32,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
}

impl ServiceConfig {
    /// The settings each SMTP session of this service runs under.
    pub fn session_config(&self, hostname: &str) -> SessionConfig {
        SessionConfig {
            hostname: hostname.to_owned(),
            max_message_size: self.max_message_size,
            max_recipients: self.max_recipients,
            max_errors: self.max_errors,
            command_timeout: self.command_timeout,
            data_timeout: self.data_timeout,
        }
    }
}

/// What a service speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// SMTP: mail from other servers and clients (RFC 5321).
    Smtp,
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceKind::Smtp => "smtp",
        })
    }
}

/// One `[[domain]]`: a domain we deliver for, and its mailboxes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainConfig {
    pub name: String,
    pub users: Vec<String>,
    /// Other names for users of the same domain.
    pub aliases: BTreeMap<String, String>,
    /// The user who gets mail for unknown names in the domain.
    pub catch_all: Option<String>,
}

/// One thing wrong with a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line and column, when the error has a place.
    pub position: Option<(usize, usize)>,
    /// The key at fault, when known.
    pub key: Option<String>,
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl ConfigError {
    /// The error as an operator reads it, with `origin` (a file name)
    /// in front and the offending line quoted.
    pub fn render(&self, origin: &str, source: &str) -> String {
        let mut text = match self.position {
            Some((line, column)) => format!("{origin}:{line}:{column}: "),
            None => format!("{origin}: "),
        };
        if let Some(key) = &self.key {
            text.push_str(&format!("`{key}`: "));
        }
        text.push_str(&self.message);
        if let Some((line, _)) = self.position
            && let Some(quoted) = source.lines().nth(line - 1)
        {
            text.push_str(&format!("\n  {line:>4} | {quoted}"));
        }
        if let Some(help) = &self.help {
            text.push_str(&format!("\n  help: {help}"));
        }
        text
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render("config", ""))
    }
}

/// Parses and validates a configuration.
pub fn parse(source: &str) -> Result<Config, Vec<ConfigError>> {
    let raw: RawConfig =
        toml::from_str(source).map_err(|error| vec![syntax_error(source, &error)])?;
    let mut errors = Vec::new();
    let config = validate(source, raw, &mut errors);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

fn syntax_error(source: &str, error: &toml::de::Error) -> ConfigError {
    let position = error.span().map(|span| line_column(source, span.start));
    // The key is whatever stands before `=` on the offending line.
    let key = position.and_then(|(line, _)| {
        let text = source.lines().nth(line - 1)?;
        let (key, _) = text.split_once('=')?;
        Some(key.trim().to_owned()).filter(|k| !k.is_empty() && !k.starts_with('['))
    });
    ConfigError {
        position,
        key,
        message: error.message().trim().to_owned(),
        help: None,
    }
}

fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn spanned_error(
    source: &str,
    span: Range<usize>,
    key: &str,
    message: String,
    help: &str,
) -> ConfigError {
    ConfigError {
        position: Some(line_column(source, span.start)),
        key: Some(key.to_owned()),
        message,
        help: Some(help.to_owned()),
    }
}

// ---- The raw shape of the file, as serde reads it. ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default, rename = "service")]
    services: Vec<Spanned<RawService>>,
    #[serde(default, rename = "domain")]
    domains: Vec<RawDomain>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default = "default_hostname")]
    hostname: Hostname,
    #[serde(default = "default_data_dir")]
    data_dir: PathBuf,
    #[serde(default = "default_shutdown_grace")]
    shutdown_grace: Seconds,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            hostname: default_hostname(),
            data_dir: default_data_dir(),
            shutdown_grace: default_shutdown_grace(),
        }
    }
}

fn default_hostname() -> Hostname {
    Hostname("localhost".to_owned())
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("postern-data")
}

fn default_shutdown_grace() -> Seconds {
    Seconds(SHUTDOWN_GRACE_DEFAULT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: Spanned<String>,
    kind: ServiceKind,
    listen: Spanned<ListenAddress>,
    max_message_size: Option<Spanned<ByteSize>>,
    max_recipients: Option<Spanned<usize>>,
    max_errors: Option<Spanned<u32>>,
    command_timeout: Option<Seconds>,
    data_timeout: Option<Seconds>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    name: Spanned<DomainName>,
    #[serde(default)]
    users: Vec<Spanned<UserName>>,
    #[serde(default)]
    aliases: BTreeMap<UserName, Spanned<UserName>>,
    catch_all: Option<Spanned<UserName>>,
}

// ---- Values with a shape: checked as they are parsed. ----

#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
struct Hostname(String);

impl TryFrom<String> for Hostname {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if is_domain(&text) && text.is_ascii() {
            Ok(Hostname(text))
        } else {
            Err(format!(
                "\"{text}\" is not a host name; write a domain such as mail.example.com"
            ))
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
struct DomainName(String);

impl TryFrom<String> for DomainName {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if is_domain(&text) {
            Ok(DomainName(text.to_lowercase()))
        } else {
            Err(format!(
                "\"{text}\" is not a domain name; write one such as example.com"
            ))
        }
    }
}

/// A local user name: a dot-atom without `@`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
struct UserName(String);

impl TryFrom<String> for UserName {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let probe = format!("{text}@x");
        match crate::address::parse_mailbox(&probe) {
            // A user name becomes a directory name: no '/'.
            Ok(mailbox) if mailbox.local_part == text && !text.contains(['"', '/']) => {
                Ok(UserName(text.to_lowercase()))
            }
            _ => Err(format!(
                "\"{text}\" is not a user name; use letters, digits and . _ - + without @ or / (the domain comes from [[domain]] name)"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
struct ListenAddress(SocketAddr);

impl TryFrom<String> for ListenAddress {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse().map(ListenAddress).map_err(|_| {
            format!("\"{text}\" is not a listen address; write IP:PORT such as 127.0.0.1:2525 or [::1]:2525")
        })
    }
}

/// A size in octets: an integer, or text such as `"25 MiB"`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "SizeText")]
struct ByteSize(u64);

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeText {
    Octets(u64),
    Text(String),
}

impl TryFrom<SizeText> for ByteSize {
    type Error = String;
    fn try_from(value: SizeText) -> Result<Self, String> {
        match value {
            SizeText::Octets(octets) => Ok(ByteSize(octets)),
            SizeText::Text(text) => text
                .parse::<bytesize::ByteSize>()
                .map(|size| ByteSize(size.as_u64()))
                .map_err(|_| format!("\"{text}\" is not a size; write octets (1048576) or a size such as \"25 MiB\" or \"10MB\"")),
        }
    }
}

/// A duration written as text: `"30s"`, `"5m"`, `"1h 30m"`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
struct Seconds(Duration);

impl TryFrom<String> for Seconds {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match humantime::parse_duration(&text) {
            Ok(duration) if duration >= Duration::from_secs(1) => Ok(Seconds(duration)),
            Ok(_) => Err(format!(
                "\"{text}\" is under a second; durations here are at least \"1s\""
            )),
            Err(_) => Err(format!(
                "\"{text}\" is not a duration; write one such as \"30s\", \"5m\" or \"1h\""
            )),
        }
    }
}

// ---- Rules across values. ----

fn validate(source: &str, raw: RawConfig, errors: &mut Vec<ConfigError>) -> Config {
    let services = validate_services(source, raw.services, errors);
    let domains = raw
        .domains
        .into_iter()
        .filter_map(|d| validate_domain(source, d, errors))
        .collect::<Vec<_>>();
    let mut seen = BTreeSet::new();
    for domain in &domains {
        if !seen.insert(domain.name.clone()) {
            errors.push(ConfigError {
                position: None,
                key: Some("domain.name".into()),
                message: format!("domain \"{}\" is declared twice", domain.name),
                help: Some("merge the two [[domain]] tables into one".into()),
            });
        }
    }
    Config {
        server: ServerConfig {
            hostname: raw.server.hostname.0,
            data_dir: raw.server.data_dir,
            shutdown_grace: raw.server.shutdown_grace.0,
        },
        services,
        domains,
    }
}

fn validate_services(
    source: &str,
    raw: Vec<Spanned<RawService>>,
    errors: &mut Vec<ConfigError>,
) -> Vec<ServiceConfig> {
    if raw.is_empty() {
        errors.push(ConfigError {
            position: None,
            key: Some("service".into()),
            message: "no [[service]] is defined, so the server would listen nowhere".into(),
            help: Some("add one:\n    [[service]]\n    name = \"mx\"\n    kind = \"smtp\"\n    listen = \"127.0.0.1:2525\"".into()),
        });
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut listens: BTreeMap<SocketAddr, String> = BTreeMap::new();
    let mut services = Vec::new();
    for spanned in raw {
        let service = spanned.into_inner();
        let name = service.name.get_ref().clone();
        if !names.insert(name.clone()) {
            errors.push(spanned_error(
                source,
                service.name.span(),
                "name",
                format!("service name \"{name}\" is used twice"),
                "give every [[service]] its own name",
            ));
        }
        let listen = service.listen.get_ref().0;
        if let Some(other) = listens.insert(listen, name.clone()) {
            errors.push(spanned_error(
                source,
                service.listen.span(),
                "listen",
                format!("{listen} is already the listen address of service \"{other}\""),
                "give each service its own address or port",
            ));
        }
        let max_message_size = service
            .max_message_size
            .map_or(MESSAGE_BYTES_DEFAULT, |size| {
                check_range(
                    source,
                    &size,
                    "max_message_size",
                    |s| s.0,
                    1,
                    MESSAGE_BYTES_MAX,
                    errors,
                )
            });
        let max_recipients =
            service
                .max_recipients
                .map_or(RECIPIENTS_PER_MESSAGE_DEFAULT, |count| {
                    check_range(
                        source,
                        &count,
                        "max_recipients",
                        |c| *c,
                        1,
                        RECIPIENTS_PER_MESSAGE_MAX,
                        errors,
                    )
                });
        let max_errors = service
            .max_errors
            .map_or(ERRORS_PER_SESSION_DEFAULT, |count| {
                check_range(
                    source,
                    &count,
                    "max_errors",
                    |c| *c,
                    1,
                    ERRORS_PER_SESSION_MAX,
                    errors,
                )
            });
        services.push(ServiceConfig {
            name,
            kind: service.kind,
            listen,
            max_message_size,
            max_recipients,
            max_errors,
            command_timeout: service
                .command_timeout
                .map_or(COMMAND_TIMEOUT_DEFAULT, |d| d.0),
            data_timeout: service.data_timeout.map_or(DATA_TIMEOUT_DEFAULT, |d| d.0),
        });
    }
    services
}

fn check_range<T, N>(
    source: &str,
    value: &Spanned<T>,
    key: &str,
    number: impl Fn(&T) -> N,
    min: N,
    max: N,
    errors: &mut Vec<ConfigError>,
) -> N
where
    N: PartialOrd + fmt::Display + Copy,
{
    let n = number(value.get_ref());
    if n < min || n > max {
        errors.push(spanned_error(
            source,
            value.span(),
            key,
            format!("{n} is out of range"),
            &format!("use a value from {min} to {max}"),
        ));
    }
    n
}

fn validate_domain(
    source: &str,
    raw: RawDomain,
    errors: &mut Vec<ConfigError>,
) -> Option<DomainConfig> {
    let name = raw.name.get_ref().0.clone();
    let users: Vec<String> = raw.users.iter().map(|u| u.get_ref().0.clone()).collect();
    let is_user =
        |user: &str| users.iter().any(|u| u == user) || user == crate::directory::POSTMASTER;
    let before = errors.len();
    for (alias, target) in &raw.aliases {
        if is_user(&alias.0) {
            errors.push(spanned_error(
                source,
                target.span(),
                &format!("aliases.{}", alias.0),
                format!(
                    "\"{}\" is both a user and an alias in domain {name}",
                    alias.0
                ),
                "remove it from users or from aliases",
            ));
        } else if !is_user(&target.get_ref().0) {
            errors.push(spanned_error(
                source,
                target.span(),
                &format!("aliases.{}", alias.0),
                format!(
                    "alias target \"{}\" is not a user of domain {name}",
                    target.get_ref().0
                ),
                "add it to this domain's users, or point the alias at an existing user",
            ));
        }
    }
    if let Some(catch_all) = &raw.catch_all
        && !is_user(&catch_all.get_ref().0)
    {
        errors.push(spanned_error(
            source,
            catch_all.span(),
            "catch_all",
            format!(
                "catch_all \"{}\" is not a user of domain {name}",
                catch_all.get_ref().0
            ),
            "add it to this domain's users",
        ));
    }
    (errors.len() == before).then(|| DomainConfig {
        name,
        users,
        aliases: raw
            .aliases
            .into_iter()
            .map(|(a, t)| (a.0, t.into_inner().0))
            .collect(),
        catch_all: raw.catch_all.map(|c| c.into_inner().0),
    })
}

#[cfg(test)]
mod tests;
