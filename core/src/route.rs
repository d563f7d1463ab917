//! Routing one domain's recipients of one message: direct to the domain's
//! mail exchangers, or through the smarthost, in the order the smarthost
//! mode says (ISMail's "SmartHost").
//!
//! An [`Attempt`] is a small machine the runtime drives: it asks for DNS
//! answers and connections ([`Step`]) and is told what happened. The
//! runtime never decides which host is next, or when the smarthost may be
//! used.
//!
//! # When direct delivery fails
//!
//! In fallback mode the smarthost is used only when *direct delivery
//! fails*, which means exactly one of:
//!
//! - the domain does not exist (NXDOMAIN), or has no MX and no address;
//! - DNS fails temporarily (SERVFAIL, timeout);
//! - every mail exchanger, at every address, refused the connection,
//!   timed out, or ended the session before MAIL (a 4xx or 5xx greeting,
//!   EHLO and HELO refused, a lost connection).
//!
//! A reply to MAIL, RCPT or DATA is the destination's answer, not a
//! failure to reach it: a 5xx for a recipient is a bounce, a 4xx a retry,
//! and neither sends the message to the smarthost. A null MX (RFC 7505)
//! says the domain takes no mail at all: a bounce, not a fallback.

use crate::rng::Rng;
use crate::smtp::client::{Credentials, Outcome};
use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// How the smarthost is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmarthostMode {
    /// Every remote message goes to the smarthost, never direct.
    Exclusive,
    /// Direct first; the smarthost only when direct delivery fails.
    Fallback,
}

impl fmt::Display for SmarthostMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmarthostMode::Exclusive => "exclusive",
            SmarthostMode::Fallback => "fallback",
        })
    }
}

/// `[outbound.smarthost]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smarthost {
    /// A host name or an IP address.
    pub host: String,
    pub port: u16,
    pub mode: SmarthostMode,
    pub credentials: Option<Credentials>,
    /// STARTTLS with the smarthost: required by default when there are
    /// credentials, so a password never travels in clear.
    pub tls: crate::smtp::client::TlsPolicy,
    /// Certificates the smarthost's must chain to (PEM); the public roots
    /// when `None`. Relative to the configuration file's directory.
    pub ca_file: Option<std::path::PathBuf>,
}

impl fmt::Display for Smarthost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => write!(f, "[{v6}]:{}", self.port),
            _ => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// One way of delivering: a leg of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leg {
    /// To the domain's mail exchangers.
    Direct,
    /// To the smarthost.
    Smarthost,
}

/// The legs to try, in order.
pub fn legs(smarthost: Option<&Smarthost>) -> Vec<Leg> {
    match smarthost.map(|s| s.mode) {
        None => vec![Leg::Direct],
        Some(SmarthostMode::Exclusive) => vec![Leg::Smarthost],
        Some(SmarthostMode::Fallback) => vec![Leg::Direct, Leg::Smarthost],
    }
}

/// The answer to an MX lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxAnswer {
    /// (preference, exchange host) records.
    Records(Vec<(u16, String)>),
    /// The domain exists but has no MX records: its own address is the
    /// implicit MX (RFC 5321 5.1).
    NoRecords,
    /// The domain does not exist.
    NoSuchDomain,
    /// The lookup failed; it may work later.
    TemporaryFailure(String),
}

/// The answer to an address (A/AAAA) lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostAnswer {
    Addresses(Vec<IpAddr>),
    /// No such host, or no addresses.
    NotFound,
    TemporaryFailure(String),
}

/// What the attempt needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Look up the domain's MX records; answer with [`Attempt::mx_answer`].
    LookUpMx { domain: String },
    /// Look up a host's addresses; answer with [`Attempt::host_answer`].
    LookUpHost { host: String },
    /// Connect and run an SMTP client session (logging in with the
    /// smarthost's credentials when `leg` is the smarthost); answer with
    /// [`Attempt::connect_failed`] or [`Attempt::session_ended`].
    Deliver {
        address: SocketAddr,
        host: String,
        leg: Leg,
    },
    /// Nothing more to do.
    Finished(AttemptResult),
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// A session reached MAIL: each recipient has its verdict.
    Session {
        outcome: Outcome,
        host: String,
        leg: Leg,
    },
    /// No session reached MAIL on any leg. `permanent` when the domain
    /// cannot take mail at all (null MX, or no such domain without a
    /// smarthost to fall back on).
    Undeliverable { detail: String, permanent: bool },
}

/// A host to try, with its port.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
}

/// Delivering one domain's recipients of one message.
#[derive(Debug)]
pub struct Attempt {
    domain: String,
    smarthost: Option<Smarthost>,
    /// The port of mail exchangers (25; tests use another).
    mx_port: u16,
    legs: VecDeque<Leg>,
    leg: Option<Leg>,
    targets: VecDeque<Target>,
    /// The current target's host name and its addresses still to try.
    host: String,
    addresses: VecDeque<SocketAddr>,
    /// Why each thing tried failed, for the log and the deferral text.
    failures: Vec<String>,
    permanent: bool,
    rng: Rng,
    next: Option<Step>,
    destination: String,
}

impl Attempt {
    /// `seed` orders mail exchangers of equal preference.
    pub fn new(domain: &str, smarthost: Option<&Smarthost>, mx_port: u16, seed: u64) -> Self {
        let legs = legs(smarthost);
        let destination = match (legs.first(), smarthost) {
            (Some(Leg::Smarthost), Some(smarthost)) => smarthost.to_string(),
            _ => domain.to_ascii_lowercase(),
        };
        let mut attempt = Attempt {
            destination,
            domain: domain.to_ascii_lowercase(),
            smarthost: smarthost.cloned(),
            mx_port,
            legs: legs.into(),
            leg: None,
            targets: VecDeque::new(),
            host: String::new(),
            addresses: VecDeque::new(),
            failures: Vec::new(),
            permanent: false,
            rng: Rng::new(seed),
            next: None,
        };
        attempt.next_leg();
        attempt
    }

    /// What to do now. Call again after answering.
    pub fn step(&self) -> Step {
        self.next
            .clone()
            .expect("an attempt always has a next step")
    }

    /// The leg being tried.
    pub fn leg(&self) -> Option<Leg> {
        self.leg
    }

    /// Where this attempt's connections go, for the per-destination
    /// quota: the smarthost when it is used exclusively, else the domain.
    pub fn destination(&self) -> &str {
        &self.destination
    }

    pub fn mx_answer(&mut self, answer: MxAnswer) {
        match answer {
            MxAnswer::Records(records) if is_null_mx(&records) => {
                self.failures.push(format!(
                    "556 5.1.10 {} accepts no mail (null MX, RFC 7505)",
                    self.domain
                ));
                // No fallback: the domain has said it takes no mail.
                self.permanent = true;
                self.legs.clear();
                self.next_leg();
            }
            MxAnswer::Records(mut records) => {
                // Preference order; equal preferences in a seeded random
                // order, so load spreads as RFC 5321 5.1 asks.
                self.rng.shuffle(&mut records);
                records.sort_by_key(|(preference, _)| *preference);
                self.targets = records
                    .into_iter()
                    .map(|(_, host)| Target {
                        host: host.trim_end_matches('.').to_ascii_lowercase(),
                        port: self.mx_port,
                    })
                    .collect();
                self.next_target();
            }
            MxAnswer::NoRecords => {
                self.targets = VecDeque::from([Target {
                    host: self.domain.clone(),
                    port: self.mx_port,
                }]);
                self.next_target();
            }
            MxAnswer::NoSuchDomain => {
                self.failures
                    .push(format!("550 5.1.2 domain {} does not exist", self.domain));
                self.permanent = true;
                self.next_leg();
            }
            MxAnswer::TemporaryFailure(why) => {
                self.failures
                    .push(format!("MX lookup for {} failed: {why}", self.domain));
                self.permanent = false;
                self.next_leg();
            }
        }
    }

    pub fn host_answer(&mut self, answer: HostAnswer) {
        match answer {
            HostAnswer::Addresses(addresses) if !addresses.is_empty() => {
                let port = self.targets.front().map_or(self.mx_port, |t| t.port);
                self.targets.pop_front();
                self.addresses = addresses
                    .into_iter()
                    .map(|a| SocketAddr::new(a, port))
                    .collect();
                self.next_address();
            }
            HostAnswer::Addresses(_) | HostAnswer::NotFound => {
                self.failures
                    .push(format!("host {} has no address", self.host));
                self.targets.pop_front();
                self.next_target();
            }
            HostAnswer::TemporaryFailure(why) => {
                self.failures
                    .push(format!("address lookup for {} failed: {why}", self.host));
                self.targets.pop_front();
                self.next_target();
            }
        }
    }

    /// The connection to the last [`Step::Deliver`] address failed.
    pub fn connect_failed(&mut self, why: &str) {
        let address = self.addresses.pop_front();
        self.failures.push(match address {
            Some(address) => format!("{} [{}]: {why}", self.host, address.ip()),
            None => why.to_owned(),
        });
        self.next_address();
    }

    /// A session with the last [`Step::Deliver`] address ended.
    pub fn session_ended(&mut self, outcome: Outcome) {
        match &outcome.session_failure {
            Some(failure) => {
                let why = failure.to_string();
                self.connect_failed(&why);
            }
            None => {
                self.next = Some(Step::Finished(AttemptResult::Session {
                    outcome,
                    host: self.host.clone(),
                    leg: self.leg.unwrap_or(Leg::Direct),
                }));
            }
        }
    }

    fn next_leg(&mut self) {
        self.leg = self.legs.pop_front();
        self.addresses.clear();
        self.targets.clear();
        self.next = Some(match (self.leg, &self.smarthost) {
            (None, _) => Step::Finished(AttemptResult::Undeliverable {
                detail: self.failures.join("; "),
                permanent: self.permanent,
            }),
            // RFC 5321 5.1 and 4.1.3: an address literal names the host
            // itself; there is no MX to look up.
            (Some(Leg::Direct), _) if self.domain.starts_with('[') => {
                if literal_address(&self.domain).is_none() {
                    self.failures.push(format!(
                        "553 5.1.3 cannot route to the address literal {}",
                        self.domain
                    ));
                    self.permanent = true;
                    return self.next_leg();
                }
                self.targets = VecDeque::from([Target {
                    host: self.domain.clone(),
                    port: self.mx_port,
                }]);
                return self.next_target();
            }
            (Some(Leg::Direct), _) => Step::LookUpMx {
                domain: self.domain.clone(),
            },
            (Some(Leg::Smarthost), Some(smarthost)) => {
                // Reaching the smarthost is a new question: an earlier
                // "no such domain" no longer decides.
                self.permanent = false;
                self.targets = VecDeque::from([Target {
                    host: smarthost.host.clone(),
                    port: smarthost.port,
                }]);
                return self.next_target();
            }
            (Some(Leg::Smarthost), None) => unreachable!("a smarthost leg needs a smarthost"),
        });
    }

    fn next_target(&mut self) {
        let Some(target) = self.targets.front().cloned() else {
            return self.next_leg();
        };
        self.host = target.host.clone();
        match target
            .host
            .parse::<IpAddr>()
            .ok()
            .or_else(|| literal_address(&target.host))
        {
            Some(address) => {
                self.targets.pop_front();
                self.addresses = VecDeque::from([SocketAddr::new(address, target.port)]);
                self.next_address();
            }
            None => self.next = Some(Step::LookUpHost { host: target.host }),
        }
    }

    fn next_address(&mut self) {
        match self.addresses.front() {
            Some(&address) => {
                self.next = Some(Step::Deliver {
                    address,
                    host: self.host.clone(),
                    leg: self.leg.unwrap_or(Leg::Direct),
                });
            }
            None => self.next_target(),
        }
    }
}

/// The address in an address literal (RFC 5321 4.1.3): `[192.0.2.1]` or
/// `[IPv6:2001:db8::1]` (the tag in any case). `None` for anything else,
/// a General-address-literal among them: nothing here can route to one.
pub fn literal_address(domain: &str) -> Option<IpAddr> {
    let inner = domain.strip_prefix('[')?.strip_suffix(']')?;
    match inner.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => inner[5..]
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(IpAddr::V6),
        _ => inner.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// RFC 7505: a single MX record with an empty exchange (".").
fn is_null_mx(records: &[(u16, String)]) -> bool {
    matches!(records, [(_, host)] if host.trim_end_matches('.').is_empty())
}

#[cfg(test)]
mod tests;
