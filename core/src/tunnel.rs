//! The TCP/IP proxy tunnel (`kind = "tunnel"`): each client admitted to
//! the instance is connected through to one fixed target, and bytes are
//! relayed both ways until both sides have closed.
//!
//! A tunnel has no wire protocol to parse: what is decided here is the
//! target (`host:port`, parsed from the configuration), who may connect by
//! default ([`default_access`]: loopback and private networks, never the
//! world), and the bookkeeping of one relay ([`Relay`]): which side has
//! closed its sending half, when the idle deadline falls, the bytes each
//! way and how the connection ended. The runtime copies the bytes; it asks
//! [`Relay`] what to do next.

use crate::policy::{AccessList, Network};
use crate::time::Instant;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

/// Where a tunnel connects each client: a host name (resolved through the
/// server's resolver when a client connects) or an address, and a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: TargetHost,
    pub port: u16,
}

/// The host part of a [`Target`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetHost {
    Address(IpAddr),
    /// A DNS name, lower-cased, without a trailing dot.
    Name(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            TargetHost::Address(IpAddr::V6(v6)) => write!(f, "[{v6}]:{}", self.port),
            TargetHost::Address(IpAddr::V4(v4)) => write!(f, "{v4}:{}", self.port),
            TargetHost::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

/// Why a `target` is not a `host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTarget(pub String);

impl fmt::Display for InvalidTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Target {
    type Err = InvalidTarget;

    /// `host:port`, `a.b.c.d:port` or `[v6]:port`; the port 1 to 65535.
    fn from_str(text: &str) -> Result<Self, InvalidTarget> {
        let error = |why: &str| Err(InvalidTarget(format!("\"{text}\" {why}")));
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let Some((v6, port)) = rest.split_once("]:") else {
                return error("is not [IPv6]:port");
            };
            let Ok(v6) = v6.parse::<Ipv6Addr>() else {
                return error("has no IPv6 address between its brackets");
            };
            (TargetHost::Address(IpAddr::V6(v6)), port)
        } else {
            let Some((host, port)) = text.rsplit_once(':') else {
                return error("has no port: write host:port");
            };
            if host.contains(':') {
                return error("has an IPv6 address without brackets: write [address]:port");
            }
            let host = if let Ok(v4) = host.parse::<Ipv4Addr>() {
                TargetHost::Address(IpAddr::V4(v4))
            } else {
                let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
                if !crate::address::is_domain(&name) {
                    return error("does not start with a host name or an address");
                }
                TargetHost::Name(name)
            };
            (host, port)
        };
        match port.parse::<u16>() {
            Ok(0) | Err(_) => error("needs a port from 1 to 65535 after the colon"),
            Ok(port) => Ok(Target { host, port }),
        }
    }
}

/// The settings of a tunnel instance, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelConfig {
    pub target: Target,
    /// How long the target has to accept the connection.
    pub connect_timeout: Duration,
    /// How long a relay may carry no byte either way before it is closed.
    pub idle_timeout: Duration,
}

/// Who may use a tunnel whose `allow` is not written: loopback and the
/// private networks (RFC 1918, RFC 4193), never the world. A tunnel open
/// to everyone would let anyone reach the target as if from this server.
pub fn default_access(deny: Vec<Network>) -> AccessList {
    let networks = [
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ];
    AccessList {
        allow: networks
            .iter()
            // The list above is literal and valid: parse cannot fail.
            .filter_map(|n| n.parse().ok())
            .collect(),
        deny,
    }
}

/// One of a relay's two ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client that connected to the tunnel.
    Client,
    /// The target the tunnel connected to.
    Target,
}

/// How a relay ended, for its log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Both sides closed their sending half: a clean end.
    Closed,
    /// No byte either way for the idle timeout.
    Idle(Duration),
    /// A read or write on one side failed (reset, broken pipe).
    Failed { side: Side, error: String },
    /// The server is stopping.
    Stopped,
}

/// What the driver should do after an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Keep relaying; nothing more to do.
    Relay,
    /// The given side has no more to send: shut down the write half
    /// toward the other side (half-close), and keep relaying the other
    /// direction.
    ShutdownToward(Side),
    /// Both directions are done (or the relay was cut): close both.
    Finish,
}

/// The bookkeeping of one relayed connection: bytes each way, which side
/// has finished sending, the idle deadline, and how it ended. Inputs come
/// in the order they happen; `now` never goes backwards.
#[derive(Clone, Debug)]
pub struct Relay {
    started: Instant,
    last_activity: Instant,
    idle_timeout: Duration,
    /// Bytes from the client written to the target.
    to_target: u64,
    /// Bytes from the target written to the client.
    to_client: u64,
    client_done: bool,
    target_done: bool,
    ending: Option<Ending>,
}

impl Relay {
    /// A relay whose target connection was made at `now`.
    pub fn new(now: Instant, idle_timeout: Duration) -> Self {
        Relay {
            started: now,
            last_activity: now,
            idle_timeout,
            to_target: 0,
            to_client: 0,
            client_done: false,
            target_done: false,
            ending: None,
        }
    }

    fn advance(&mut self, now: Instant) {
        assert!(now >= self.last_activity, "time went backwards");
        self.last_activity = now;
    }

    /// `bytes` read from `from` were written whole to the other side.
    pub fn relayed(&mut self, now: Instant, from: Side, bytes: usize) -> Next {
        assert!(self.ending.is_none(), "bytes relayed after the relay ended");
        self.advance(now);
        let bytes = bytes as u64;
        match from {
            Side::Client => self.to_target = self.to_target.saturating_add(bytes),
            Side::Target => self.to_client = self.to_client.saturating_add(bytes),
        }
        Next::Relay
    }

    /// `from` closed its sending half (a read returned end of file).
    pub fn closed(&mut self, now: Instant, from: Side) -> Next {
        self.advance(now);
        match from {
            Side::Client => self.client_done = true,
            Side::Target => self.target_done = true,
        }
        if self.client_done && self.target_done {
            self.ending.get_or_insert(Ending::Closed);
            Next::Finish
        } else {
            Next::ShutdownToward(match from {
                Side::Client => Side::Target,
                Side::Target => Side::Client,
            })
        }
    }

    /// A read or write on `side` failed: the relay is cut.
    pub fn failed(&mut self, side: Side, error: String) -> Next {
        self.ending.get_or_insert(Ending::Failed { side, error });
        Next::Finish
    }

    /// The server is stopping: the relay is cut.
    pub fn stop(&mut self) -> Next {
        self.ending.get_or_insert(Ending::Stopped);
        Next::Finish
    }

    /// When the relay is closed for idleness unless a byte moves first.
    pub fn poll_timeout(&self) -> Instant {
        self.last_activity + self.idle_timeout
    }

    /// The deadline has passed at `now`: `Finish` if the relay is idle,
    /// `Relay` if a byte moved since the deadline was read.
    pub fn timeout(&mut self, now: Instant) -> Next {
        if now < self.poll_timeout() {
            return Next::Relay;
        }
        self.ending.get_or_insert(Ending::Idle(self.idle_timeout));
        Next::Finish
    }

    /// Whether `side` has finished sending.
    pub fn is_done(&self, side: Side) -> bool {
        match side {
            Side::Client => self.client_done,
            Side::Target => self.target_done,
        }
    }

    /// The facts for the connection's last log line, as of `now`.
    pub fn summary(&self, now: Instant) -> RelaySummary {
        RelaySummary {
            to_target: self.to_target,
            to_client: self.to_client,
            duration: now.saturating_duration_since(self.started),
            ending: self.ending.clone().unwrap_or(Ending::Stopped),
        }
    }
}

/// Bytes each way, duration and ending of one relayed connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelaySummary {
    pub to_target: u64,
    pub to_client: u64,
    pub duration: Duration,
    pub ending: Ending,
}

impl fmt::Display for RelaySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whole milliseconds: the log needs no nanoseconds.
        let millis =
            Duration::from_millis(u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX));
        write!(
            f,
            "{} bytes client to target, {} bytes target to client, {}; ",
            self.to_target,
            self.to_client,
            humantime::format_duration(millis)
        )?;
        match &self.ending {
            Ending::Closed => f.write_str("both sides closed"),
            Ending::Idle(after) => write!(
                f,
                "closed after {} idle (idle_timeout)",
                humantime::format_duration(*after)
            ),
            Ending::Failed { side, error } => write!(
                f,
                "the {} connection failed: {}",
                match side {
                    Side::Client => "client",
                    Side::Target => "target",
                },
                crate::text::escape_controls(error)
            ),
            Ending::Stopped => f.write_str("closed: the server is stopping"),
        }
    }
}

#[cfg(test)]
mod tests;
