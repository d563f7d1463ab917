//! `[outbound]` and its `[outbound.smarthost]`: the raw shape, the
//! defaults and the checks of delivery to other servers.

use super::{ConfigError, Seconds, check_range, spanned_error};
use crate::address::is_domain;
use crate::limits::{
    ATTEMPT_TIMEOUT_MAX, OUTBOUND_ADDRESSES_DEFAULT, OUTBOUND_ATTEMPT_TRIES_MAX,
    OUTBOUND_SESSIONS_DEFAULT,
};
use crate::queue::RetrySchedule;
use crate::route::{self, Ourselves, Routing, Smarthost, SmarthostMode};
use crate::smtp::client::{ClientTimeouts, Credentials, TlsPolicy};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

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
    /// The line of the smarthost's `ca_file` (0 when none), so that an
    /// error in the file can name it.
    pub ca_file_line: usize,
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
            ca_file_line: 0,
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutbound {
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
    host: Spanned<HostAndPort>,
    mode: RawSmarthostMode,
    user: Option<String>,
    password: Option<String>,
    tls: Option<RawClientTls>,
    ca_file: Option<Spanned<PathBuf>>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawClientTls {
    None,
    Opportunistic,
    Required,
    Implicit,
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
struct HostAndPort(String, Option<u16>);

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
            None => None,
            Some(port) => Some(
                port.parse::<u16>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(bad)?,
            ),
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

/// SMTP's port (RFC 5321 4.5.4.1 names no other) and smtps's, TLS from
/// the first byte (RFC 8314 3.3).
const SMTP_PORT: u16 = 25;
const SMTPS_PORT: u16 = 465;
/// Submission with STARTTLS (RFC 6409).
const SUBMISSION_PORT: u16 = 587;

/// A smarthost port whose convention disagrees with `tls`: the message
/// and the fix. Not an error: a server may listen anywhere, but a client
/// that waits for a clear greeting on 465 (or starts a handshake on 587)
/// stalls until a timeout, and the mail waits with it.
fn port_warning(port: u16, tls: TlsPolicy) -> Option<(String, &'static str)> {
    match (port, tls) {
        (SMTPS_PORT, TlsPolicy::Implicit) => None,
        (SMTPS_PORT, _) => Some((
            format!(
                "port {SMTPS_PORT} is conventionally smtps, TLS from the first byte (RFC 8314 3.3), but tls = \"{}\" waits for a greeting in clear, which such a server never sends",
                tls_word(tls)
            ),
            "set tls = \"implicit\" for this smarthost, or use its STARTTLS port (587)",
        )),
        (SMTP_PORT | SUBMISSION_PORT, TlsPolicy::Implicit) => Some((
            format!(
                "tls = \"implicit\" starts TLS at once, but port {port} conventionally greets in clear and offers STARTTLS"
            ),
            "use tls = \"required\" for STARTTLS on this port, or the smarthost's smtps port (465) with tls = \"implicit\"",
        )),
        _ => None,
    }
}

/// The `tls` word that gives `policy`.
pub fn tls_word(policy: TlsPolicy) -> &'static str {
    match policy {
        TlsPolicy::Never => "none",
        TlsPolicy::Opportunistic => "opportunistic",
        TlsPolicy::Required => "required",
        TlsPolicy::Implicit => "implicit",
    }
}

pub(super) fn validate_outbound(
    source: &str,
    raw: RawOutbound,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
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
    let ca_file_line = raw
        .smarthost
        .as_ref()
        .and_then(|s| s.get_ref().ca_file.as_ref())
        .map_or(0, |file| super::line_column(source, file.span().start).0);
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
        let tls = match raw.tls {
            Some(RawClientTls::None) => TlsPolicy::Never,
            Some(RawClientTls::Opportunistic) => TlsPolicy::Opportunistic,
            Some(RawClientTls::Required) => TlsPolicy::Required,
            Some(RawClientTls::Implicit) => TlsPolicy::Implicit,
            None if credentials.is_some() => TlsPolicy::Required,
            None => TlsPolicy::Opportunistic,
        };
        let host_span = raw.host.span();
        let HostAndPort(host, port) = raw.host.into_inner();
        // Without a port: smtps (RFC 8314 3.3) for TLS from the first
        // byte, SMTP's own port otherwise.
        let port = port.unwrap_or(if tls == TlsPolicy::Implicit {
            SMTPS_PORT
        } else {
            SMTP_PORT
        });
        if let Some(warning) = port_warning(port, tls) {
            warnings.push(spanned_error(
                source,
                host_span,
                "smarthost.host",
                warning.0,
                warning.1,
            ));
        }
        Smarthost {
            host,
            port,
            mode: match raw.mode {
                RawSmarthostMode::Exclusive => SmarthostMode::Exclusive,
                RawSmarthostMode::Fallback => SmarthostMode::Fallback,
            },
            tls,
            credentials,
            ca_file: raw.ca_file.map(Spanned::into_inner),
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
        ca_file_line,
    }
}
