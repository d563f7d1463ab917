//! The configuration: TOML text in, a validated [`Config`] or every error
//! found out, each with its line, key and fix.
//!
//! Reading the file is the runtime's job; this module only parses text, so
//! it is as deterministic as the rest of the core. Values with a shape
//! (addresses, sizes, durations, names) are checked while parsing, so the
//! TOML parser reports them at their exact position; rules that relate
//! several values are checked afterwards, with spans kept for the purpose.

mod port;

pub use port::{PortNames, PortSpec, WELL_KNOWN_PORTS};

use crate::address::{DomainError, domain_key, is_domain};
use crate::admission::{CONNECTIONS_DEFAULT, CONNECTIONS_PER_HOST_DEFAULT};
use crate::auth::{AuthPolicy, LockoutPolicy};
use crate::limits::{
    ATTEMPT_TIMEOUT_MAX, COMMAND_TIMEOUT_DEFAULT, DATA_TIMEOUT_DEFAULT, DOMAIN_LABEL_BYTES_MAX,
    ERRORS_PER_SESSION_DEFAULT, ERRORS_PER_SESSION_MAX, HOPS_DEFAULT, HOPS_MAX,
    IPV6_HOST_PREFIX_DEFAULT, IPV6_HOST_PREFIX_MIN, MESSAGE_BYTES_DEFAULT, MESSAGE_BYTES_MAX,
    MIN_DATA_RATE_DEFAULT, MIN_DATA_RATE_MAX, OUTBOUND_ADDRESSES_DEFAULT,
    OUTBOUND_ATTEMPT_TRIES_MAX, OUTBOUND_SESSIONS_DEFAULT, RECIPIENTS_PER_MESSAGE_DEFAULT,
    RECIPIENTS_PER_MESSAGE_MAX, SESSION_TIME_DEFAULT, SESSION_TIME_MAX,
};
use crate::policy::{AccessList, Network, RelayPolicy};
use crate::queue::RetrySchedule;
use crate::route::{self, Ourselves, Routing, Smarthost, SmarthostMode};
use crate::smtp::client::{ClientTimeouts, Credentials, TlsPolicy};
use crate::smtp::server::SessionConfig;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
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
    /// `[auth]`: the server-wide lockout of hosts that guess passwords.
    pub lockout: LockoutPolicy,
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
    /// A handshake that has not finished by then is dropped.
    pub handshake_timeout: Duration,
}

/// ISMail's bounds and default for outgoing connections.
pub const OUTBOUND_CONNECTIONS_MAX: u32 = 20;
pub const OUTBOUND_CONNECTIONS_DEFAULT: u32 = 2;
/// By default one destination may use every outgoing connection, as in
/// ISMail, where the total is the only knob; lower it so that one slow
/// destination cannot hold them all.
pub const OUTBOUND_CONNECTIONS_PER_DESTINATION_DEFAULT: u32 = OUTBOUND_CONNECTIONS_MAX;
/// How long to wait for a TCP connection to a mail exchanger.
pub const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);

/// `[outbound]`: delivery to other servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundConfig {
    /// Connections open at once, in total (ISMail: 1 to 20, default 2).
    pub max_connections: u32,
    /// Connections open at once to one destination (a domain, or the
    /// smarthost).
    pub max_connections_per_destination: u32,
    /// The SMTP port of mail exchangers: 25, another for tests.
    pub port: u16,
    /// DNS servers to ask; empty means the system's (/etc/resolv.conf).
    pub nameservers: Vec<SocketAddr>,
    pub retry: RetrySchedule,
    pub connect_timeout: Duration,
    pub timeouts: ClientTimeouts,
    /// The deadline of one delivery attempt; `None`: sized for each
    /// message by [`route::attempt_timeout`].
    pub attempt_timeout: Option<Duration>,
    /// Exchanger addresses one attempt tries at most.
    pub max_addresses: u32,
    /// SMTP sessions one attempt runs at most.
    pub max_sessions: u32,
    pub smarthost: Option<Smarthost>,
}

impl OutboundConfig {
    /// The deadline of an attempt to deliver `size` octets to
    /// `recipients` recipients.
    pub fn attempt_timeout(&self, size: u64, recipients: usize) -> Duration {
        self.attempt_timeout
            .unwrap_or_else(|| {
                route::attempt_timeout(self.connect_timeout, &self.timeouts, size, recipients)
            })
            .min(ATTEMPT_TIMEOUT_MAX)
    }

    /// What every attempt shares, with where we listen ourselves.
    pub fn routing(&self, ourselves: Ourselves) -> Routing {
        Routing {
            smarthost: self.smarthost.clone(),
            mx_port: self.port,
            max_addresses: self.max_addresses,
            max_sessions: self.max_sessions,
            ourselves,
        }
    }
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            max_connections: OUTBOUND_CONNECTIONS_DEFAULT,
            max_connections_per_destination: OUTBOUND_CONNECTIONS_DEFAULT,
            port: 25,
            nameservers: Vec::new(),
            retry: RetrySchedule::default(),
            connect_timeout: CONNECT_TIMEOUT_DEFAULT,
            timeouts: ClientTimeouts::default(),
            attempt_timeout: None,
            max_addresses: OUTBOUND_ADDRESSES_DEFAULT,
            max_sessions: OUTBOUND_SESSIONS_DEFAULT,
            smarthost: None,
        }
    }
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
}

/// One `[[service]]`: an instance of a service, where it listens, and
/// the policy of its sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    pub name: String,
    pub kind: ServiceKind,
    pub listen: PortSpec,
    /// ISMail's secondary (alternate) listen spec.
    pub secondary_listen: Option<PortSpec>,
    /// Lines of `listen` and `secondary_listen` in the file, so that bind
    /// conflicts can name them.
    pub lines: ListenLines,
    /// Who may connect.
    pub access: AccessList,
    /// Who may send mail to other domains through this instance.
    pub relay: RelayPolicy,
    /// Connections at once, in total and from one remote host.
    pub max_connections: u32,
    pub max_connections_per_host: u32,
    /// IPv6 clients in one network of this prefix length count as one
    /// host for `max_connections_per_host`; IPv4 clients count per
    /// address.
    pub ipv6_prefix: u8,
    pub max_message_size: u64,
    pub max_recipients: usize,
    pub max_errors: u32,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    /// Octets per second a DATA transfer must keep up; 0 for no minimum.
    pub min_data_rate: u32,
    pub max_session_time: Duration,
    /// `None` when the instance speaks only clear text.
    pub tls: Option<TlsConfig>,
    pub auth: AuthPolicy,
    /// `[server] max_hops`, the same for every instance.
    pub max_hops: usize,
}

impl ServiceConfig {
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.as_ref().map_or(TlsMode::None, |tls| tls.mode)
    }

    /// The settings each SMTP session of this service runs under.
    pub fn session_config(&self, hostname: &str) -> SessionConfig {
        SessionConfig {
            hostname: hostname.to_owned(),
            relay: self.relay.clone(),
            max_message_size: self.max_message_size,
            max_recipients: self.max_recipients,
            max_errors: self.max_errors,
            command_timeout: self.command_timeout,
            data_timeout: self.data_timeout,
            min_data_rate: self.min_data_rate,
            max_session_time: self.max_session_time,
            starttls: self.tls_mode() == TlsMode::StartTls,
            auth: self.auth.clone(),
            max_hops: self.max_hops,
        }
    }
}

/// Where an instance's listen specs are written (1-based lines; 0 when
/// the configuration was not read from text).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListenLines {
    pub listen: usize,
    pub secondary_listen: usize,
}

/// What a service speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// SMTP: mail from other servers and clients (RFC 5321).
    Smtp,
    /// Message submission (RFC 6409): SMTP for a site's own users, who
    /// must authenticate before MAIL; relays for them by default.
    Submission,
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceKind::Smtp => "smtp",
            ServiceKind::Submission => "submission",
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
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            hostname: default_hostname(),
            data_dir: default_data_dir(),
            shutdown_grace: default_shutdown_grace(),
            max_hops: None,
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
    listen: Spanned<PortText>,
    secondary_listen: Option<Spanned<PortText>>,
    #[serde(default)]
    allow: Vec<NetworkValue>,
    #[serde(default)]
    deny: Vec<NetworkValue>,
    #[serde(default)]
    relay: RelayValue,
    max_connections: Option<Spanned<u32>>,
    max_connections_per_host: Option<Spanned<u32>>,
    ipv6_prefix: Option<Spanned<u8>>,
    max_message_size: Option<Spanned<ByteSize>>,
    max_recipients: Option<Spanned<usize>>,
    max_errors: Option<Spanned<u32>>,
    command_timeout: Option<Seconds>,
    data_timeout: Option<Seconds>,
    min_data_rate: Option<Spanned<u32>>,
    max_session_time: Option<Spanned<Seconds>>,
    tls: Option<Spanned<RawTlsMode>>,
    tls_certificate: Option<Spanned<PathBuf>>,
    tls_key: Option<Spanned<PathBuf>>,
    tls_handshake_timeout: Option<Seconds>,
    auth: Option<Spanned<bool>>,
    auth_without_tls: Option<Spanned<bool>>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawTlsMode {
    None,
    StartTls,
    Implicit,
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

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbound {
    max_connections: Option<Spanned<u32>>,
    max_connections_per_destination: Option<Spanned<u32>>,
    port: Option<Spanned<u16>>,
    #[serde(default)]
    nameservers: Vec<NameServer>,
    retry_delays: Option<Spanned<Vec<Seconds>>>,
    expire_after: Option<Seconds>,
    connect_timeout: Option<Seconds>,
    greeting_timeout: Option<Seconds>,
    command_timeout: Option<Seconds>,
    data_start_timeout: Option<Seconds>,
    data_block_timeout: Option<Seconds>,
    data_end_timeout: Option<Seconds>,
    attempt_timeout: Option<Seconds>,
    max_addresses: Option<Spanned<u32>>,
    max_sessions: Option<Spanned<u32>>,
    smarthost: Option<Spanned<RawSmarthost>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmarthost {
    host: HostAndPort,
    mode: RawSmarthostMode,
    user: Option<String>,
    password: Option<String>,
    tls: Option<RawClientTls>,
    ca_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawClientTls {
    None,
    Opportunistic,
    Required,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawSmarthostMode {
    Exclusive,
    Fallback,
}

/// `host`, `host:port`, `192.0.2.1:587` or `[2001:db8::1]:587`.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
struct HostAndPort(String, u16);

impl TryFrom<String> for HostAndPort {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let bad = || {
            format!(
                "\"{text}\" is not a smarthost; write a host name or address, with :PORT if not 25 (relay.example.net:587, [2001:db8::1]:587)"
            )
        };
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (address, port) = rest.split_once("]:").ok_or_else(bad)?;
            address.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
            (address.to_owned(), Some(port))
        } else {
            match text.rsplit_once(':') {
                Some((_, _)) if text.matches(':').count() > 1 => return Err(bad()),
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (text.clone(), None),
            }
        };
        let port = match port {
            None => 25,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(bad)?,
        };
        if host.parse::<std::net::IpAddr>().is_err() && !is_domain(&host) {
            return Err(bad());
        }
        Ok(HostAndPort(host, port))
    }
}

/// A DNS server: `IP` or `IP:PORT`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
struct NameServer(SocketAddr);

impl TryFrom<String> for NameServer {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse::<SocketAddr>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
            .map(NameServer)
            .map_err(|_| {
                format!("\"{text}\" is not a name server; write an IP address, with :PORT if not 53 (127.0.0.1:5353)")
            })
    }
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
    let mut services = validate_services(source, raw.services, &names, &auth, errors);
    for service in &mut services {
        service.max_hops = max_hops;
    }
    let domains = raw
        .domains
        .into_iter()
        .filter_map(|d| validate_domain(source, d, errors))
        .collect::<Vec<_>>();
    let mut seen = BTreeSet::new();
    // `bücher.test` and `xn--bcher-kva.test` are one domain.
    for domain in &domains {
        let key = domain_key(&domain.name).unwrap_or_else(|_| domain.name.clone());
        if !seen.insert(key) {
            errors.push(ConfigError {
                position: None,
                key: Some("domain.name".into()),
                message: format!(
                    "domain \"{}\" is declared twice (perhaps once as a U-label, once as its xn-- A-label)",
                    domain.name
                ),
                help: Some("merge the two [[domain]] tables into one".into()),
            });
        }
    }
    Config {
        server: ServerConfig {
            hostname: raw.server.hostname.0,
            data_dir: raw.server.data_dir,
            shutdown_grace: raw.server.shutdown_grace.0,
            max_hops,
        },
        services,
        domains,
        outbound: validate_outbound(source, raw.outbound, errors),
        lockout,
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

/// An instance's `tls*` keys, checked against each other.
fn validate_tls(
    source: &str,
    service: &RawService,
    span: Range<usize>,
    errors: &mut Vec<ConfigError>,
) -> Option<TlsConfig> {
    let mode = service
        .tls
        .as_ref()
        .map_or(TlsMode::None, |m| match m.get_ref() {
            RawTlsMode::None => TlsMode::None,
            RawTlsMode::StartTls => TlsMode::StartTls,
            RawTlsMode::Implicit => TlsMode::Implicit,
        });
    let files = (service.tls_certificate.as_ref(), service.tls_key.as_ref());
    match (mode, files) {
        (TlsMode::None, (None, None)) => None,
        (TlsMode::None, (Some(file), _) | (_, Some(file))) => {
            errors.push(spanned_error(
                source,
                file.span(),
                "tls",
                "a certificate or key is given but tls is \"none\"".to_owned(),
                "set tls = \"starttls\" or \"implicit\", or remove tls_certificate and tls_key",
            ));
            None
        }
        (mode, (Some(certificate), Some(key))) => Some(TlsConfig {
            mode,
            certificate: certificate.get_ref().clone(),
            key: key.get_ref().clone(),
            handshake_timeout: service
                .tls_handshake_timeout
                .map_or(TLS_HANDSHAKE_TIMEOUT_DEFAULT, |d| d.0),
        }),
        (mode, _) => {
            let span = service.tls.as_ref().map_or(span, |m| m.span());
            errors.push(spanned_error(
                source,
                span,
                "tls",
                format!("tls = \"{mode}\" needs both tls_certificate and tls_key"),
                "give the PEM files, for example tls_certificate = \"cert.pem\" and tls_key = \"key.pem\"; `postern cert self-signed --host NAME` makes a pair for a first run",
            ));
            None
        }
    }
}

fn validate_services(
    source: &str,
    raw: Vec<Spanned<RawService>>,
    names: &PortNames,
    auth_defaults: &AuthPolicy,
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
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut services = Vec::new();
    for spanned in raw {
        let span = spanned.span();
        let service = spanned.into_inner();
        let tls = validate_tls(source, &service, span.clone(), errors);
        let auth =
            validate_service_auth(source, &service, span, tls.as_ref(), auth_defaults, errors);
        let name = service.name.get_ref().clone();
        if !seen.insert(name.clone()) {
            errors.push(spanned_error(
                source,
                service.name.span(),
                "name",
                format!("service name \"{name}\" is used twice"),
                "give every [[service]] its own name",
            ));
        }
        let mut port_spec = |text: &Spanned<PortText>, key: &str| {
            let line = line_column(source, text.span().start).0;
            match text.get_ref().resolve(names) {
                Ok(spec) => (spec, line),
                Err(message) => {
                    errors.push(spanned_error(
                        source,
                        text.span(),
                        key,
                        message,
                        "for example: listen = \"smtp\" (port 25 on every interface) or listen = \"127.0.0.1:2525\"",
                    ));
                    (
                        PortSpec {
                            address: None,
                            port: 1,
                        },
                        line,
                    )
                }
            }
        };
        let (listen, listen_line) = port_spec(&service.listen, "listen");
        let secondary = service
            .secondary_listen
            .as_ref()
            .map(|text| port_spec(text, "secondary_listen"));
        let max_connections =
            service
                .max_connections
                .as_ref()
                .map_or(CONNECTIONS_DEFAULT, |count| {
                    check_range(
                        source,
                        count,
                        "max_connections",
                        |c| *c,
                        1,
                        CONNECTIONS_MAX,
                        errors,
                    )
                });
        let max_connections_per_host = service.max_connections_per_host.as_ref().map_or(
            CONNECTIONS_PER_HOST_DEFAULT.min(max_connections),
            |count| {
                check_range(
                    source,
                    count,
                    "max_connections_per_host",
                    |c| *c,
                    1,
                    max_connections,
                    errors,
                )
            },
        );
        let ipv6_prefix = service
            .ipv6_prefix
            .as_ref()
            .map_or(IPV6_HOST_PREFIX_DEFAULT, |n| {
                ipv6_prefix(source, n, "ipv6_prefix", errors)
            });
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
            secondary_listen: secondary.map(|(spec, _)| spec),
            lines: ListenLines {
                listen: listen_line,
                secondary_listen: secondary.map_or(0, |(_, line)| line),
            },
            access: AccessList {
                allow: service.allow.iter().map(|n| n.0).collect(),
                deny: service.deny.iter().map(|n| n.0).collect(),
            },
            relay: service.relay.0.unwrap_or(match service.kind {
                ServiceKind::Smtp => RelayPolicy::None,
                ServiceKind::Submission => RelayPolicy::Authenticated,
            }),
            max_connections,
            max_connections_per_host,
            ipv6_prefix,
            max_message_size,
            max_recipients,
            max_errors,
            command_timeout: service
                .command_timeout
                .map_or(COMMAND_TIMEOUT_DEFAULT, |d| d.0),
            data_timeout: service.data_timeout.map_or(DATA_TIMEOUT_DEFAULT, |d| d.0),
            min_data_rate: service.min_data_rate.map_or(MIN_DATA_RATE_DEFAULT, |rate| {
                check_range(
                    source,
                    &rate,
                    "min_data_rate",
                    |r| *r,
                    0,
                    MIN_DATA_RATE_MAX,
                    errors,
                )
            }),
            max_session_time: service
                .max_session_time
                .as_ref()
                .map_or(SESSION_TIME_DEFAULT, |time| {
                    check_session_time(source, time, errors)
                }),
            tls,
            auth,
            max_hops: HOPS_DEFAULT,
        });
    }
    services
}

/// A prefix length that makes one IPv6 host: from
/// [`IPV6_HOST_PREFIX_MIN`] to 128.
fn ipv6_prefix(source: &str, value: &Spanned<u8>, key: &str, errors: &mut Vec<ConfigError>) -> u8 {
    let prefix = *value.get_ref();
    if !(IPV6_HOST_PREFIX_MIN..=128).contains(&prefix) {
        errors.push(spanned_error(
            source,
            value.span(),
            key,
            format!("/{prefix} is not a prefix length this server counts as one host"),
            &format!(
                "use {IPV6_HOST_PREFIX_MIN} to 128: 64 (the default) counts each /64 as one host, as most providers give one to each customer; 128 counts every address"
            ),
        ));
    }
    prefix
}

/// An instance's `auth` keys: AUTH must be reachable where it is needed.
fn validate_service_auth(
    source: &str,
    service: &RawService,
    span: Range<usize>,
    tls: Option<&TlsConfig>,
    defaults: &AuthPolicy,
    errors: &mut Vec<ConfigError>,
) -> AuthPolicy {
    let submission = service.kind == ServiceKind::Submission;
    let offered = service.auth.as_ref().map_or(submission, |a| *a.get_ref());
    let without_tls = service
        .auth_without_tls
        .as_ref()
        .is_some_and(|a| *a.get_ref());
    let at = |key: Option<Range<usize>>| key.unwrap_or_else(|| span.clone());
    if submission && !offered {
        errors.push(spanned_error(
            source,
            at(service.auth.as_ref().map(|a| a.span())),
            "auth",
            "a submission instance needs AUTH: its clients must log in before MAIL".to_owned(),
            "remove `auth = false`, or make this instance kind = \"smtp\"",
        ));
    }
    if offered && tls.is_none() && !without_tls {
        errors.push(spanned_error(
            source,
            at(service.auth.as_ref().map(|a| a.span())),
            "auth",
            "AUTH would never be offered: it needs TLS, and this instance has none".to_owned(),
            "set tls = \"starttls\" (or \"implicit\") with tls_certificate and tls_key; or, for testing on loopback only, auth_without_tls = true",
        ));
    }
    if matches!(service.relay.0, Some(RelayPolicy::Authenticated)) && !offered {
        errors.push(spanned_error(
            source,
            span.clone(),
            "relay",
            "relay = \"authenticated\" but this instance does not offer AUTH, so nobody could relay".to_owned(),
            "set auth = true (with TLS), or choose another relay policy",
        ));
    }
    AuthPolicy {
        offered,
        without_tls,
        required: submission,
        ..defaults.clone()
    }
}

fn validate_outbound(
    source: &str,
    raw: RawOutbound,
    errors: &mut Vec<ConfigError>,
) -> OutboundConfig {
    let defaults = OutboundConfig::default();
    let max_connections = raw
        .max_connections
        .as_ref()
        .map_or(defaults.max_connections, |n| {
            check_range(
                source,
                n,
                "max_connections",
                |c| *c,
                1,
                OUTBOUND_CONNECTIONS_MAX,
                errors,
            )
        });
    let max_connections_per_destination = raw.max_connections_per_destination.as_ref().map_or(
        defaults
            .max_connections_per_destination
            .min(max_connections),
        |n| {
            check_range(
                source,
                n,
                "max_connections_per_destination",
                |c| *c,
                1,
                max_connections,
                errors,
            )
        },
    );
    let port = raw.port.as_ref().map_or(defaults.port, |p| {
        check_range(source, p, "port", |p| *p, 1, u16::MAX, errors)
    });
    let tries = |value: &Option<Spanned<u32>>, key: &str, default: u32, errors: &mut Vec<_>| {
        value.as_ref().map_or(default, |n| {
            check_range(
                source,
                n,
                key,
                |n| *n,
                1,
                OUTBOUND_ATTEMPT_TRIES_MAX,
                errors,
            )
        })
    };
    let max_addresses = tries(
        &raw.max_addresses,
        "max_addresses",
        defaults.max_addresses,
        errors,
    );
    let max_sessions = tries(
        &raw.max_sessions,
        "max_sessions",
        defaults.max_sessions,
        errors,
    );
    let mut retry = defaults.retry.clone();
    if let Some(delays) = &raw.retry_delays {
        if delays.get_ref().is_empty() {
            errors.push(spanned_error(
                source,
                delays.span(),
                "retry_delays",
                "the retry schedule is empty".to_owned(),
                "list at least one delay, such as [\"5m\", \"30m\", \"4h\"]; the last one repeats",
            ));
        }
        retry.delays = delays.get_ref().iter().map(|d| d.0).collect();
    }
    if let Some(expire) = raw.expire_after {
        retry.expire_after = expire.0;
    }
    let timeouts = ClientTimeouts {
        greeting: raw
            .greeting_timeout
            .map_or(defaults.timeouts.greeting, |d| d.0),
        command: raw
            .command_timeout
            .map_or(defaults.timeouts.command, |d| d.0),
        data_start: raw
            .data_start_timeout
            .map_or(defaults.timeouts.data_start, |d| d.0),
        data_block: raw
            .data_block_timeout
            .map_or(defaults.timeouts.data_block, |d| d.0),
        data_end: raw
            .data_end_timeout
            .map_or(defaults.timeouts.data_end, |d| d.0),
    };
    let smarthost = raw.smarthost.map(|spanned| {
        let span = spanned.span();
        let raw = spanned.into_inner();
        let credentials = match (raw.user, raw.password) {
            (Some(user), Some(password)) => Some(Credentials { user, password }),
            (None, None) => None,
            _ => {
                errors.push(spanned_error(
                    source,
                    span,
                    "smarthost",
                    "the smarthost has a user without a password, or a password without a user"
                        .to_owned(),
                    "give both `user` and `password`, or neither",
                ));
                None
            }
        };
        Smarthost {
            host: raw.host.0,
            port: raw.host.1,
            mode: match raw.mode {
                RawSmarthostMode::Exclusive => SmarthostMode::Exclusive,
                RawSmarthostMode::Fallback => SmarthostMode::Fallback,
            },
            tls: match raw.tls {
                Some(RawClientTls::None) => TlsPolicy::Never,
                Some(RawClientTls::Opportunistic) => TlsPolicy::Opportunistic,
                Some(RawClientTls::Required) => TlsPolicy::Required,
                None if credentials.is_some() => TlsPolicy::Required,
                None => TlsPolicy::Opportunistic,
            },
            credentials,
            ca_file: raw.ca_file,
        }
    });
    OutboundConfig {
        max_connections,
        max_connections_per_destination,
        port,
        nameservers: raw.nameservers.iter().map(|n| n.0).collect(),
        retry,
        connect_timeout: raw
            .connect_timeout
            .map_or(defaults.connect_timeout, |d| d.0),
        timeouts,
        attempt_timeout: raw.attempt_timeout.map(|d| d.0),
        max_addresses,
        max_sessions,
        smarthost,
    }
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
