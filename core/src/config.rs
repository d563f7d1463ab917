//! The configuration: TOML text in, a validated [`Config`] or every error
//! found out, each with its line, key and fix.
//!
//! Reading the file is the runtime's job; this module only parses text, so
//! it is as deterministic as the rest of the core. Values with a shape
//! (addresses, sizes, durations, names) are checked while parsing, so the
//! TOML parser reports them at their exact position; rules that relate
//! several values are checked afterwards, with spans kept for the purpose.

mod dkim;
mod domain;
mod lists;
mod news_upstream;
mod outbound;
mod port;
pub mod reload;
mod run_as;
mod service;
mod storage;

pub use news_upstream::NewsUpstreamConfig;
pub use outbound::{
    CONNECT_TIMEOUT_DEFAULT, OUTBOUND_CONNECTIONS_DEFAULT, OUTBOUND_CONNECTIONS_MAX,
    OUTBOUND_CONNECTIONS_PER_DESTINATION_DEFAULT, OutboundConfig, tls_word,
};
pub use port::{PortNames, PortSpec, WELL_KNOWN_PORTS};
pub use run_as::{Privileges, RunAs, SystemName};
pub use service::{FtpConfig, ListenLines, ServiceConfig, ServiceKind};
pub use storage::{
    DatabaseTls, DatabaseUrl, PasswordSource, PostgresConfig, StorageConfig, UrlProblem,
    lease_problem,
};
use storage::{RawStorage, validate_storage};

pub use lists::{ListsConfig, parse_list_file, render_list_file};

pub use dkim::DkimKeyConfig;
use dkim::{RawDkim, validate_dkim};
use domain::{RawDomain, validate_domains};
mod news;
use lists::{RawList, RawListsSection, validate_lists};
pub use news::{NewsAccess, NewsConfig, NewsgroupConfig, check_wildmat};
use news::{RawNewsAccess, RawNewsgroup, validate_news};
use outbound::{RawOutbound, validate_outbound};
use run_as::{RawRunAs, validate_run_as};
use service::{RawService, ipv6_prefix, validate_services};

use crate::address::{DomainError, domain_key, is_domain};
use crate::auth::{AuthPolicy, LockoutPolicy};
use crate::limits::{
    DOMAIN_LABEL_BYTES_MAX, HOPS_DEFAULT, HOPS_MAX, MESSAGE_BYTES_MAX, SESSION_TIME_MAX,
};
use crate::policy::{Network, RelayPolicy};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// The most connections an instance may be configured to take at once.
pub const CONNECTIONS_MAX: u32 = 100_000;

/// How long a stopping server lets sessions finish, by default.
pub const SHUTDOWN_GRACE_DEFAULT: Duration = Duration::from_secs(30);

/// A whole, valid configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub server: ServerConfig,
    pub services: Vec<ServiceConfig>,
    pub domains: Vec<DomainConfig>,
    pub outbound: OutboundConfig,
    /// `[[newsgroup]]` and `[[news_access]]`.
    pub news: NewsConfig,
    /// `[auth]`: the server-wide lockout of hosts that guess passwords.
    pub lockout: LockoutPolicy,
    /// `[[news_upstream]]`: news servers to pull groups from.
    pub news_upstreams: Vec<NewsUpstreamConfig>,
    /// `[[dkim]]`: the keys that sign mail sent for our domains.
    pub dkim: Vec<DkimKeyConfig>,
    /// `[lists]` and the `[[list]]`s.
    pub lists: ListsConfig,
    /// `[storage]`: the files backend, or a PostgreSQL database.
    pub storage: StorageConfig,
    /// Settings that are valid but probably a mistake (a smarthost on
    /// port 465 without `tls = "implicit"`): `check-config` prints them,
    /// the server logs them at start.
    pub warnings: Vec<ConfigError>,
}

/// How long a TLS handshake may take, by default.
pub const TLS_HANDSHAKE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);

/// When an instance speaks TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Clear text only.
    None,
    /// Clear text, upgraded by STARTTLS (RFC 3207) when the client asks.
    StartTls,
    /// TLS from the first byte (RFC 8314): smtps on 465.
    Implicit,
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsMode::None => "none",
            TlsMode::StartTls => "starttls",
            TlsMode::Implicit => "implicit",
        })
    }
}

/// An instance's TLS settings, when it has any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    pub mode: TlsMode,
    /// PEM files. Relative paths are relative to the configuration file's
    /// directory (the runtime resolves them).
    pub certificate: PathBuf,
    pub key: PathBuf,
    /// Lines of `tls_certificate` and `tls_key` in the file (1-based; 0
    /// when not read from text), so that an error in a file names them.
    pub lines: (usize, usize),
    /// A handshake that has not finished by then is dropped.
    pub handshake_timeout: Duration,
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
    /// `Received:` headers a message may carry (RFC 5321 6.3); more is a
    /// mail loop. Every instance applies it.
    pub max_hops: usize,
    /// `user`, `group`, `run_as_root`: whom client sessions run as.
    pub run_as: RunAs,
    /// `log_file`: log lines go here (appended, reopened on SIGUSR1)
    /// instead of standard error. A relative path is relative to the
    /// configuration file's directory (the runtime resolves it).
    pub log_file: Option<PathBuf>,
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
    /// in front and the offending line quoted (any password a database
    /// URL on it carries masked).
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
            let quoted = storage::redact_passwords(quoted);
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
    let message = error.message().trim().to_owned();
    ConfigError {
        position,
        key,
        help: did_you_mean(&message),
        message,
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (and the same
/// for variants): the expected name nearest to the one written, if one is
/// near enough to be a typo or a shortening. Nearness is Jaro-Winkler
/// similarity from the `strsim` crate, which favours a shared start
/// (`max_size` is near `max_message_size`), or a Damerau-Levenshtein
/// distance of at most a third of the name (a swapped pair is one edit).
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (written, expected) = rest.split_once('`')?;
    let (_, expected) = expected.split_once("expected")?;
    let written = written.to_ascii_lowercase();
    let near = (written.chars().count() / 3).clamp(1, 3);
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    // A shortened name (`max_size`): the shortest key that has its words
    // in order (`max_message_size`).
    let words: Vec<&str> = written.split('_').collect();
    let shortened = candidates
        .iter()
        .filter(|name| words.len() > 1 && has_words_in_order(name, &words))
        .min_by_key(|name| name.len());
    if let Some(name) = shortened {
        return Some(format!("did you mean `{name}`?"));
    }
    let (similarity, best) = candidates
        .iter()
        .map(|name| (strsim::jaro_winkler(&written, name), *name))
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    (similarity >= DID_YOU_MEAN_SIMILARITY_MIN
        || strsim::damerau_levenshtein(&written, best) <= near)
        .then(|| format!("did you mean `{best}`?"))
}

/// True if `name`'s `_`-separated words include `words`, in order.
fn has_words_in_order(name: &str, words: &[&str]) -> bool {
    let mut own = name.split('_');
    words.iter().all(|word| own.any(|w| w == *word))
}

/// How similar (Jaro-Winkler, 0 to 1) an unknown name must be to a known
/// one for the error to suggest it.
const DID_YOU_MEAN_SIMILARITY_MIN: f64 = 0.85;

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
    /// More service names, like lines of the seed's Services file.
    #[serde(default)]
    port_names: BTreeMap<String, Spanned<u16>>,
    #[serde(default, rename = "service")]
    services: Vec<Spanned<RawService>>,
    #[serde(default, rename = "domain")]
    domains: Vec<RawDomain>,
    #[serde(default)]
    outbound: RawOutbound,
    #[serde(default)]
    auth: RawAuth,
    #[serde(default, rename = "newsgroup")]
    newsgroups: Vec<RawNewsgroup>,
    #[serde(default)]
    news_access: Vec<RawNewsAccess>,
    #[serde(default, rename = "news_upstream")]
    news_upstreams: Vec<Spanned<news_upstream::RawNewsUpstream>>,
    #[serde(default, rename = "list")]
    lists: Vec<RawList>,
    #[serde(default)]
    dkim: Vec<RawDkim>,
    #[serde(default, rename = "lists")]
    lists_section: RawListsSection,
    #[serde(default)]
    storage: RawStorage,
}

/// `[auth]`: failed-login rules for the whole server.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    failure_delay: Option<Delay>,
    max_failures_per_session: Option<Spanned<u32>>,
    lockout_failures: Option<Spanned<u32>>,
    lockout_window: Option<Seconds>,
    lockout_ipv6_prefix: Option<Spanned<u8>>,
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
    max_hops: Option<Spanned<usize>>,
    user: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    run_as_root: Option<Spanned<bool>>,
    log_file: Option<PathBuf>,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            hostname: default_hostname(),
            data_dir: default_data_dir(),
            shutdown_grace: default_shutdown_grace(),
            max_hops: None,
            user: None,
            group: None,
            run_as_root: None,
            log_file: None,
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
        if let Some(label) = text.split('.').find(|l| l.len() > DOMAIN_LABEL_BYTES_MAX) {
            Err(format!(
                "\"{text}\" has a label of {} octets (\"{label}\"); RFC 1035 allows at most {DOMAIN_LABEL_BYTES_MAX}",
                label.len()
            ))
        } else if domain_key(&text) == Err(DomainError::LabelTooLong) {
            Err(format!(
                "\"{text}\" has a label over {DOMAIN_LABEL_BYTES_MAX} octets once written as an A-label (xn--...), as DNS carries it"
            ))
        } else if is_domain(&text) {
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

/// A port spec as written: a number, or text resolved against the port
/// names once they are all known.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum PortText {
    Number(i64),
    Text(String),
}

impl PortText {
    fn resolve(&self, names: &PortNames) -> Result<PortSpec, String> {
        match self {
            PortText::Number(n) if !(1..=65535).contains(n) => {
                Err(format!("{n} is not a port; ports run from 1 to 65535"))
            }
            PortText::Number(n) => names.parse(&n.to_string()),
            PortText::Text(text) => names.parse(text),
        }
    }
}

/// An address or CIDR block in an `allow` or `deny` list.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
struct NetworkValue(Network);

impl TryFrom<String> for NetworkValue {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse().map(NetworkValue).map_err(|e| e.to_string())
    }
}

/// `relay = "none" | "any" | "authenticated" | ["192.168.0.0/16", ...]`;
/// `None` when not written, so each kind can have its own default.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(try_from = "RelayText")]
struct RelayValue(Option<RelayPolicy>);

#[derive(Deserialize)]
#[serde(untagged)]
enum RelayText {
    Word(String),
    Networks(Vec<String>),
}

impl TryFrom<RelayText> for RelayValue {
    type Error = String;
    fn try_from(value: RelayText) -> Result<Self, String> {
        match value {
            RelayText::Networks(list) if list.is_empty() => Err(
                "an empty list of relay networks would permit nobody; write relay = \"none\" for that".to_owned(),
            ),
            RelayText::Word(word) => match word.to_ascii_lowercase().as_str() {
                "none" => Ok(RelayValue(Some(RelayPolicy::None))),
                "any" => Ok(RelayValue(Some(RelayPolicy::Any))),
                "authenticated" => Ok(RelayValue(Some(RelayPolicy::Authenticated))),
                _ => Err(format!(
                    "\"{word}\" is not a relay policy; write \"none\", \"any\", \"authenticated\", or a list of client networks such as [\"192.168.0.0/16\"]"
                )),
            },
            RelayText::Networks(list) => list
                .iter()
                .map(|text| text.parse::<Network>().map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
                .map(|networks| RelayValue(Some(RelayPolicy::Networks(networks)))),
        }
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
            // The spool's own bound: "no size limit" in the seed's words.
            SizeText::Text(text) if text.eq_ignore_ascii_case("unlimited") => {
                Ok(ByteSize(MESSAGE_BYTES_MAX))
            }
            SizeText::Text(text) => text
                .parse::<bytesize::ByteSize>()
                .map(|size| ByteSize(size.as_u64()))
                .map_err(|_| format!("\"{text}\" is not a size; write octets (1048576), a size such as \"25 MiB\" or \"10MB\", or \"unlimited\"")),
        }
    }
}

/// A delay that may be zero: `"0s"`, `"2s"`, `"500ms"`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
struct Delay(Duration);

impl TryFrom<String> for Delay {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match humantime::parse_duration(&text) {
            Ok(duration) if duration <= Duration::from_secs(60) => Ok(Delay(duration)),
            Ok(_) => Err(format!(
                "\"{text}\" is too long a delay; a delay here is at most \"60s\""
            )),
            Err(_) => Err(format!(
                "\"{text}\" is not a duration; write one such as \"0s\", \"500ms\" or \"2s\""
            )),
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
    let mut names = PortNames::default();
    for (name, port) in &raw.port_names {
        if let Err(message) = names.add(name, *port.get_ref()) {
            errors.push(spanned_error(
                source,
                port.span(),
                &format!("port_names.{name}"),
                message,
                "port names are like lines of a Services file: name = number",
            ));
        }
    }
    let (auth, lockout) = validate_auth(source, &raw.auth, errors);
    let max_hops = raw.server.max_hops.as_ref().map_or(HOPS_DEFAULT, |n| {
        check_range(source, n, "max_hops", |n| *n, 1, HOPS_MAX, errors)
    });
    let mut warnings = Vec::new();
    let mut services =
        validate_services(source, raw.services, &names, &auth, errors, &mut warnings);
    for service in &mut services {
        service.max_hops = max_hops;
    }
    let run_as = validate_run_as(
        source,
        RawRunAs {
            user: raw.server.user,
            group: raw.server.group,
            run_as_root: raw.server.run_as_root,
        },
        errors,
    );
    let domains = validate_domains(source, raw.domains, errors);
    let lists = validate_lists(source, raw.lists_section, raw.lists, &domains, errors);
    warnings.extend(service::finger_warnings(&services));
    warnings.extend(service::remote_log_warnings(&services));
    let server = ServerConfig {
        hostname: raw.server.hostname.0,
        data_dir: raw.server.data_dir,
        shutdown_grace: raw.server.shutdown_grace.0,
        max_hops,
        run_as,
        log_file: raw.server.log_file,
    };
    let dkim = validate_dkim(source, raw.dkim, &domains, &server, errors, &mut warnings);
    let storage = validate_storage(source, raw.storage, &server.hostname, errors, &mut warnings);
    Config {
        server,
        services,
        domains,
        outbound: validate_outbound(source, raw.outbound, errors, &mut warnings),
        news: validate_news(source, raw.newsgroups, raw.news_access, errors),
        lockout,
        news_upstreams: news_upstream::validate_news_upstreams(
            source,
            raw.news_upstreams,
            errors,
            &mut warnings,
        ),
        lists,
        dkim,
        storage,
        warnings,
    }
}

/// `[auth]`: the per-session failure rules every instance shares, and the
/// server-wide lockout.
fn validate_auth(
    source: &str,
    raw: &RawAuth,
    errors: &mut Vec<ConfigError>,
) -> (AuthPolicy, LockoutPolicy) {
    let defaults = (AuthPolicy::default(), LockoutPolicy::default());
    let policy = AuthPolicy {
        max_failures: raw
            .max_failures_per_session
            .as_ref()
            .map_or(defaults.0.max_failures, |n| {
                check_range(
                    source,
                    n,
                    "max_failures_per_session",
                    |n| *n,
                    1,
                    100,
                    errors,
                )
            }),
        failure_delay: raw.failure_delay.map_or(defaults.0.failure_delay, |d| d.0),
        ..defaults.0
    };
    let lockout = LockoutPolicy {
        failures: raw
            .lockout_failures
            .as_ref()
            .map_or(defaults.1.failures, |n| {
                check_range(source, n, "lockout_failures", |n| *n, 1, 10_000, errors)
            }),
        window: raw.lockout_window.map_or(defaults.1.window, |d| d.0),
        ipv6_prefix: raw
            .lockout_ipv6_prefix
            .as_ref()
            .map_or(defaults.1.ipv6_prefix, |n| {
                ipv6_prefix(source, n, "lockout_ipv6_prefix", errors)
            }),
    };
    (policy, lockout)
}

/// `max_session_time` is at most [`SESSION_TIME_MAX`].
fn check_session_time(
    source: &str,
    time: &Spanned<Seconds>,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    let duration = time.get_ref().0;
    if duration > SESSION_TIME_MAX {
        errors.push(spanned_error(
            source,
            time.span(),
            "max_session_time",
            format!("{}s is too long", duration.as_secs()),
            "use at most \"24h\"; sessions are meant to end",
        ));
    }
    duration
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod run_as_tests;
