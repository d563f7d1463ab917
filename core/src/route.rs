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
//! says the domain takes no mail at all: a bounce, not a fallback; so does
//! a best exchanger that is ourselves (RFC 5321 5.1, a mail loop:
//! `554 5.4.6 mail for DOMAIN loops back to myself`).
//!
//! # Bounds
//!
//! Each leg tries at most `max_addresses` addresses and runs at most
//! `max_sessions` sessions (Postfix's 5 and 2); each failure text and
//! their joined detail are bounded. The runtime watches the attempt's
//! deadline ([`attempt_timeout`]) and reports it with
//! [`Attempt::timed_out`].

mod ourselves;

pub use ourselves::Ourselves;

use crate::limits::{
    ATTEMPT_DATA_BLOCK_BYTES, ATTEMPT_DETAIL_BYTES_MAX, ATTEMPT_FAILURES_KEPT, ATTEMPT_TIMEOUT_MAX,
    FAILURE_DETAIL_BYTES_MAX, OUTBOUND_ADDRESSES_DEFAULT, OUTBOUND_SESSIONS_DEFAULT,
};
use crate::rng::Rng;
use crate::smtp::client::{ClientTimeouts, Credentials, Outcome, TlsPolicy};
use crate::text::{bounded, counted};
use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

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
        /// STARTTLS for this session: the leg's policy, or
        /// [`TlsPolicy::Never`] when the address is tried again in clear
        /// after a failed handshake.
        tls: TlsPolicy,
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

/// What every attempt of this server shares: `[outbound]`'s routing
/// settings and where we ourselves listen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routing {
    pub smarthost: Option<Smarthost>,
    /// The port of mail exchangers (25; tests use another).
    pub mx_port: u16,
    /// Exchanger addresses tried, and exchanger hosts looked up, at most
    /// per leg ([`OUTBOUND_ADDRESSES_DEFAULT`]).
    pub max_addresses: u32,
    /// Sessions run at most per leg ([`OUTBOUND_SESSIONS_DEFAULT`]).
    pub max_sessions: u32,
    /// An exchanger here is a mail loop.
    pub ourselves: Ourselves,
}

impl Routing {
    /// The defaults, with `smarthost` and `mx_port`, and no listener of
    /// our own.
    pub fn new(smarthost: Option<&Smarthost>, mx_port: u16) -> Self {
        Routing {
            smarthost: smarthost.cloned(),
            mx_port,
            max_addresses: OUTBOUND_ADDRESSES_DEFAULT,
            max_sessions: OUTBOUND_SESSIONS_DEFAULT,
            ourselves: Ourselves::default(),
        }
    }
}

/// The default deadline of one attempt, for a message of `size` octets to
/// `recipients` recipients: the longest one session may honestly take
/// under RFC 5321 4.5.3.2's timeouts. That is the connection, the
/// greeting, a command timeout for each of EHLO, STARTTLS, EHLO again,
/// AUTH, MAIL and every RCPT, the reply to DATA, one `data_block` timeout
/// per [`ATTEMPT_DATA_BLOCK_BYTES`] of message begun (at least one), and
/// the reply to the final dot. With the defaults and one recipient, about
/// 50 minutes plus 3 minutes a MiB; never more than
/// [`ATTEMPT_TIMEOUT_MAX`].
pub fn attempt_timeout(
    connect: Duration,
    timeouts: &ClientTimeouts,
    size: u64,
    recipients: usize,
) -> Duration {
    let commands = u32::try_from(recipients.saturating_add(5)).unwrap_or(u32::MAX);
    let blocks = u32::try_from(size.div_ceil(ATTEMPT_DATA_BLOCK_BYTES).max(1)).unwrap_or(u32::MAX);
    connect
        .saturating_add(timeouts.greeting)
        .saturating_add(timeouts.command.saturating_mul(commands))
        .saturating_add(timeouts.data_start)
        .saturating_add(timeouts.data_block.saturating_mul(blocks))
        .saturating_add(timeouts.data_end)
        .min(ATTEMPT_TIMEOUT_MAX)
}

/// A host to try, with its port and MX preference.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    preference: u16,
}

/// Why each thing tried failed, for the log and the deferral text: each
/// text bounded, and the list bounded by keeping the first failure and the
/// latest ones (the first says what went wrong at the best exchanger, the
/// last how the attempt ended).
#[derive(Debug, Default)]
struct Failures {
    kept: Vec<String>,
    /// Failures dropped from the middle.
    omitted: usize,
}

impl Failures {
    fn push(&mut self, failure: String) {
        if self.kept.len() == ATTEMPT_FAILURES_KEPT {
            self.kept.remove(1);
            self.omitted += 1;
        }
        self.kept
            .push(bounded(&failure, FAILURE_DETAIL_BYTES_MAX).into_owned());
    }

    /// At most [`ATTEMPT_DETAIL_BYTES_MAX`] octets: every failure when
    /// they fit, else the first and the last with a count between.
    fn render(&self) -> String {
        let joined = self.kept.join("; ");
        let omitted = self.omitted + self.kept.len().saturating_sub(2);
        if joined.len() <= ATTEMPT_DETAIL_BYTES_MAX && self.omitted == 0 {
            return joined;
        }
        let (Some(first), Some(last)) = (self.kept.first(), self.kept.last()) else {
            return joined;
        };
        let between = format!("; ... {omitted} more ...; ");
        let each = (ATTEMPT_DETAIL_BYTES_MAX - between.len()) / 2;
        format!("{}{between}{}", bounded(first, each), bounded(last, each))
    }
}

/// Delivering one domain's recipients of one message.
#[derive(Debug)]
pub struct Attempt {
    domain: String,
    smarthost: Option<Smarthost>,
    /// The port of mail exchangers (25; tests use another).
    mx_port: u16,
    max_addresses: u32,
    max_sessions: u32,
    ourselves: Ourselves,
    legs: VecDeque<Leg>,
    leg: Option<Leg>,
    /// The leg every attempt to this destination starts with.
    first_leg: Option<Leg>,
    /// STARTTLS on this leg.
    tls: TlsPolicy,
    targets: VecDeque<Target>,
    /// The current target's host name, MX preference, and addresses still
    /// to try.
    host: String,
    preference: u16,
    addresses: VecDeque<SocketAddr>,
    /// The current address is being tried again in clear, after its TLS
    /// handshake failed.
    in_clear: bool,
    /// On this leg: addresses tried, sessions run, and the best (lowest)
    /// preference of an exchanger tried.
    addresses_tried: u32,
    sessions: u32,
    best_tried: Option<u16>,
    failures: Failures,
    /// Why the direct leg failed, rendered, once the attempt has fallen
    /// back to the smarthost: each leg's failures are then labelled.
    direct_failed: Option<String>,
    permanent: bool,
    rng: Rng,
    next: Option<Step>,
    destination: String,
}

impl Attempt {
    /// `seed` orders mail exchangers of equal preference. The default
    /// limits, and no listener of our own; see [`Attempt::start`].
    pub fn new(domain: &str, smarthost: Option<&Smarthost>, mx_port: u16, seed: u64) -> Self {
        Attempt::start(domain, &Routing::new(smarthost, mx_port), seed)
    }

    /// An attempt under `routing`; `seed` orders mail exchangers of equal
    /// preference.
    pub fn start(domain: &str, routing: &Routing, seed: u64) -> Self {
        let smarthost = routing.smarthost.as_ref();
        let legs = legs(smarthost);
        let destination = match (legs.first(), smarthost) {
            (Some(Leg::Smarthost), Some(smarthost)) => smarthost.to_string(),
            _ => domain.to_ascii_lowercase(),
        };
        let first_leg = legs.first().copied();
        let mut attempt = Attempt {
            first_leg,
            destination,
            domain: domain.to_ascii_lowercase(),
            smarthost: smarthost.cloned(),
            mx_port: routing.mx_port,
            max_addresses: routing.max_addresses.max(1),
            max_sessions: routing.max_sessions.max(1),
            ourselves: routing.ourselves.clone(),
            legs: legs.into(),
            leg: None,
            tls: TlsPolicy::Opportunistic,
            targets: VecDeque::new(),
            host: String::new(),
            preference: 0,
            addresses: VecDeque::new(),
            in_clear: false,
            addresses_tried: 0,
            sessions: 0,
            best_tried: None,
            failures: Failures::default(),
            direct_failed: None,
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

    /// Why direct delivery failed, once the attempt has fallen back to the
    /// smarthost (fallback mode): the runtime logs it before the smarthost
    /// is tried, so the fallback is never silent.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.direct_failed.as_deref()
    }

    /// Where this attempt's connections go, for the per-destination
    /// quota: the smarthost when it is used exclusively, else the domain.
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// Whether the connection of the last [`Step::Deliver`], once its
    /// transaction is over, may carry other messages to this attempt's
    /// [`Attempt::destination`] (RFC 5321 3.3), and under which key: only
    /// when it is where a new attempt would go first, as it would go
    /// there. That is the first leg (never the smarthost reached in
    /// fallback, which a new attempt tries only after direct delivery),
    /// with the leg's own STARTTLS policy (never an address tried again
    /// in clear after a failed handshake).
    pub fn reuse_key(&self) -> Option<String> {
        (self.leg.is_some() && self.leg == self.first_leg && !self.in_clear)
            .then(|| self.destination.clone())
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
                // Every host gives at least one address: hosts past the
                // address limit would never be tried.
                self.targets = records
                    .into_iter()
                    .take(self.max_addresses as usize)
                    .map(|(preference, host)| Target {
                        host: host.trim_end_matches('.').to_ascii_lowercase(),
                        port: self.mx_port,
                        preference,
                    })
                    .collect();
                self.next_target();
            }
            MxAnswer::NoRecords => {
                self.targets = VecDeque::from([Target {
                    host: self.domain.clone(),
                    port: self.mx_port,
                    preference: 0,
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
                if self.addresses.iter().any(|&a| self.ourselves.contains(a)) {
                    return self.loops_back();
                }
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
        self.in_clear = false;
        let address = self.addresses.pop_front();
        self.failures.push(match address {
            Some(address) => format!("{} [{}]: {why}", self.host, address.ip()),
            None => why.to_owned(),
        });
        self.next_address();
    }

    /// A session with the last [`Step::Deliver`] address ended.
    ///
    /// A session that failed at STARTTLS under opportunistic TLS failed in
    /// the handshake (a refused STARTTLS goes on in clear): the same
    /// address is tried once more without STARTTLS, as Postfix does, since
    /// refusing would only keep the mail from a server that takes it in
    /// clear. Never when TLS is required.
    pub fn session_ended(&mut self, outcome: Outcome) {
        match &outcome.session_failure {
            Some(failure)
                if failure.stage == "STARTTLS"
                    && self.tls == TlsPolicy::Opportunistic
                    && !self.in_clear
                    && !self.addresses.is_empty() =>
            {
                let address = self.addresses[0];
                self.failures.push(format!(
                    "{} [{}]: {failure}; trying again in clear",
                    self.host,
                    address.ip()
                ));
                self.in_clear = true;
                self.next = Some(self.deliver(address, TlsPolicy::Never));
            }
            Some(failure) => {
                self.sessions += 1;
                let why = failure.to_string();
                self.connect_failed(&why);
            }
            None => {
                self.sessions += 1;
                let mut outcome = outcome;
                if let Some(direct) = &self.direct_failed {
                    // The smarthost's refusal alone would hide why the
                    // message went to it: each leg says what it said.
                    for recipient in &mut outcome.recipients {
                        if recipient.verdict != crate::smtp::client::Verdict::Delivered {
                            recipient.detail = label_legs(direct, &recipient.detail);
                        }
                    }
                }
                self.next = Some(Step::Finished(AttemptResult::Session {
                    outcome,
                    host: self.host.clone(),
                    leg: self.leg.unwrap_or(Leg::Direct),
                }));
            }
        }
    }

    /// The attempt's deadline passed (after `after`) before it finished:
    /// nothing more is tried, and every recipient is deferred.
    pub fn timed_out(&mut self, after: Duration) {
        self.failures
            .push(format!("attempt timed out after {}s", after.as_secs()));
        self.permanent = false;
        self.legs.clear();
        self.next_leg();
    }

    fn deliver(&self, address: SocketAddr, tls: TlsPolicy) -> Step {
        Step::Deliver {
            address,
            host: self.host.clone(),
            leg: self.leg.unwrap_or(Leg::Direct),
            tls,
        }
    }

    /// The current target is this server. RFC 5321 5.1: it and every
    /// exchanger of equal or greater preference are dropped. When no better
    /// exchanger was tried, the domain's mail would come back to us: a
    /// permanent failure, with no fallback (as Postfix: `5.4.6 mail for
    /// DOMAIN loops back to myself`). When better ones were tried and
    /// failed, we are a backup exchanger: the message waits for them.
    fn loops_back(&mut self) {
        self.targets.clear();
        self.addresses.clear();
        if self.best_tried.is_some_and(|best| best < self.preference) {
            self.failures.push(format!(
                "{} is this server, a backup exchanger for {}; the better ones failed",
                self.host, self.domain
            ));
            return self.next_leg();
        }
        let mut text = format!("554 5.4.6 mail for {} loops back to myself", self.domain);
        if self.leg == Some(Leg::Smarthost) {
            text.push_str(&format!(" (the smarthost {} is this server)", self.host));
        }
        self.failures.push(text);
        self.permanent = true;
        self.legs.clear();
        self.next_leg();
    }

    /// Why this leg tries nothing more, when a limit says so.
    fn limit_reached(&self) -> Option<String> {
        if self.sessions >= self.max_sessions {
            Some(format!(
                "gave up after {} (max_sessions)",
                counted(self.sessions, "session", "sessions")
            ))
        } else if self.addresses_tried >= self.max_addresses {
            Some(format!(
                "gave up after {} (max_addresses)",
                counted(self.addresses_tried, "address", "addresses")
            ))
        } else {
            None
        }
    }

    fn next_leg(&mut self) {
        let previous = self.leg;
        self.leg = self.legs.pop_front();
        if previous == Some(Leg::Direct) && self.leg == Some(Leg::Smarthost) {
            self.direct_failed = Some(std::mem::take(&mut self.failures).render());
        }
        self.addresses.clear();
        self.targets.clear();
        self.in_clear = false;
        self.addresses_tried = 0;
        self.sessions = 0;
        self.best_tried = None;
        self.tls = match (self.leg, &self.smarthost) {
            (Some(Leg::Smarthost), Some(smarthost)) => smarthost.tls,
            _ => TlsPolicy::Opportunistic,
        };
        self.next = Some(match (self.leg, &self.smarthost) {
            (None, _) => Step::Finished(AttemptResult::Undeliverable {
                detail: match &self.direct_failed {
                    Some(direct) => label_legs(direct, &self.failures.render()),
                    None => self.failures.render(),
                },
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
                    preference: 0,
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
                    preference: 0,
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
        if let Some(why) = self.limit_reached() {
            self.failures.push(why);
            return self.next_leg();
        }
        self.host = target.host.clone();
        self.preference = target.preference;
        match target
            .host
            .parse::<IpAddr>()
            .ok()
            .or_else(|| literal_address(&target.host))
        {
            Some(address) => {
                self.targets.pop_front();
                let address = SocketAddr::new(address, target.port);
                if self.ourselves.contains(address) {
                    return self.loops_back();
                }
                self.addresses = VecDeque::from([address]);
                self.next_address();
            }
            None => self.next = Some(Step::LookUpHost { host: target.host }),
        }
    }

    fn next_address(&mut self) {
        match self.addresses.front() {
            Some(&address) => {
                if let Some(why) = self.limit_reached() {
                    self.failures.push(why);
                    return self.next_leg();
                }
                self.addresses_tried += 1;
                self.best_tried = Some(
                    self.best_tried
                        .map_or(self.preference, |best| best.min(self.preference)),
                );
                self.next = Some(self.deliver(address, self.tls));
            }
            None => self.next_target(),
        }
    }
}

/// What each leg of a fallback said, labelled ("direct: ...; smarthost:
/// ..."), within [`ATTEMPT_DETAIL_BYTES_MAX`] octets: each leg's text is
/// cut to half of it when both do not fit.
pub fn label_legs(direct: &str, smarthost: &str) -> String {
    let text = format!("direct: {direct}; smarthost: {smarthost}");
    if text.len() <= ATTEMPT_DETAIL_BYTES_MAX {
        return text;
    }
    let each = (ATTEMPT_DETAIL_BYTES_MAX - "direct: ; smarthost: ".len()) / 2;
    format!(
        "direct: {}; smarthost: {}",
        bounded(direct, each),
        bounded(smarthost, each)
    )
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
