//! SPF (RFC 7208): is this IP address allowed to send mail for the domain
//! of the MAIL FROM (or HELO) identity?
//!
//! [`SpfCheck`] is a sans-I/O machine. It never touches the network: each
//! [`SpfCheck::step`] either asks for one DNS lookup ([`SpfStep::Lookup`]),
//! which the driver carries out and hands back with [`SpfCheck::answer`],
//! or gives the verdict ([`SpfStep::Done`]):
//!
//! ```
//! use postern_core::mail_auth::spf::*;
//! use postern_core::time::UnixTime;
//! let request = SpfRequest {
//!     ip: "192.0.2.1".parse().unwrap(),
//!     sender: "alice@example.test".into(),
//!     helo: "mail.example.test".into(),
//!     receiver: "mx.postern.test".into(),
//!     now: UnixTime(0),
//! };
//! let mut check = SpfCheck::new(request, Identity::MailFrom);
//! let verdict = loop {
//!     match check.step() {
//!         SpfStep::Lookup(DnsQuery::Txt(name)) if name == "example.test" => check.answer(
//!             DnsAnswer::Records(vec![DnsRecord::Txt("v=spf1 ip4:192.0.2.0/24 -all".into())]),
//!         ),
//!         SpfStep::Lookup(_) => check.answer(DnsAnswer::NotFound),
//!         SpfStep::Done(verdict) => break verdict,
//!     }
//! };
//! assert_eq!(verdict.result, SpfResult::Pass);
//! ```
//!
//! The same answers always give the same verdict, so a check can be
//! replayed from a log of its lookups, and the simulation answers from
//! its zone. The check keeps every answer it was given; each step
//! evaluates the record again from the start over those answers, until
//! it needs one it does not have. RFC 7208's limits (10 DNS-querying
//! terms, 2 void lookups, 10 MX and 10 PTR names: see
//! [`crate::limits`]) bound that to a few dozen lookups, and
//! [`SPF_QUERIES_MAX`](crate::limits::SPF_QUERIES_MAX) bounds it whatever
//! the records say.
//!
//! Undefined corners of the RFC, decided here: a target name that cannot
//! be a DNS name after macro expansion (an empty label, a label over 63
//! octets) matches nothing and is not looked up (4.8 and 5 leave it
//! open); `%{i}` writes IPv6 nibbles in lowercase, as 7.4's example does.

mod eval;
mod macros;
mod record;
#[cfg(test)]
mod tests;

use crate::time::UnixTime;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What the check is about: the connection and the envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfRequest {
    /// The SMTP client's address (an IPv4-mapped IPv6 address counts as
    /// IPv4, RFC 7208 5).
    pub ip: IpAddr,
    /// The MAIL FROM address without angle brackets; empty for `<>`.
    pub sender: String,
    /// The HELO or EHLO domain.
    pub helo: String,
    /// Our own host name, for `%{r}` in explanations.
    pub receiver: String,
    /// The time of the check, for `%{t}` in explanations.
    pub now: UnixTime,
}

/// Which identity is checked (RFC 7208 2.3, 2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// The MAIL FROM domain; with an empty reverse-path, the HELO domain
    /// as `postmaster@helo`.
    MailFrom,
    /// The HELO domain, as `postmaster@helo`.
    Helo,
}

/// One DNS lookup the check needs. Names are lowercase, without the
/// final dot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DnsQuery {
    Txt(String),
    A(String),
    Aaaa(String),
    Mx(String),
    /// The names of an address (its `in-addr.arpa` or `ip6.arpa` PTR).
    Ptr(IpAddr),
}

/// One record of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsRecord {
    /// A TXT record, its strings joined without spaces (RFC 7208 3.3).
    Txt(String),
    /// An A or AAAA record.
    Address(IpAddr),
    /// An MX exchange or a PTR name.
    Name(String),
}

/// The answer to a [`DnsQuery`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsAnswer {
    /// The records found (an empty list counts as [`DnsAnswer::NotFound`]).
    Records(Vec<DnsRecord>),
    /// No such name (NXDOMAIN), or no records of that type: a "void
    /// lookup" (RFC 7208 4.6.4).
    NotFound,
    /// SERVFAIL, a timeout or any other failure: `temperror` where the
    /// RFC says so.
    Failed(String),
}

/// The results of RFC 7208 section 2.6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl SpfResult {
    /// The word for `Authentication-Results` (RFC 8601 2.7.2) and
    /// `Received-SPF`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}

/// The outcome of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfVerdict {
    pub result: SpfResult,
    /// The domain checked (the MAIL FROM's, or the HELO).
    pub domain: String,
    /// The directive that decided, as written in its record
    /// (`-all`, `include:_spf.example.com`); `None` when none matched.
    pub mechanism: Option<String>,
    /// The domain's own explanation of a `fail` (the `exp=` modifier,
    /// RFC 7208 6.2), expanded; `None` when it has none or it could not
    /// be had.
    pub explanation: Option<String>,
    /// What went wrong, for a `permerror` or `temperror`.
    pub problem: Option<String>,
}

/// What the driver does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpfStep {
    /// Look this up, then call [`SpfCheck::answer`].
    Lookup(DnsQuery),
    Done(SpfVerdict),
}

/// One SPF check, driven by [`SpfCheck::step`] and [`SpfCheck::answer`].
#[derive(Clone, Debug)]
pub struct SpfCheck {
    request: SpfRequest,
    identity: Identity,
    answers: BTreeMap<DnsQuery, DnsAnswer>,
    pending: Option<DnsQuery>,
    verdict: Option<SpfVerdict>,
}

impl SpfCheck {
    pub fn new(request: SpfRequest, identity: Identity) -> SpfCheck {
        SpfCheck {
            request,
            identity,
            answers: BTreeMap::new(),
            pending: None,
            verdict: None,
        }
    }

    /// The lookup the check waits for, or its verdict. Asking again
    /// before answering gives the same lookup.
    pub fn step(&mut self) -> SpfStep {
        if let Some(verdict) = &self.verdict {
            return SpfStep::Done(verdict.clone());
        }
        if let Some(query) = &self.pending {
            return SpfStep::Lookup(query.clone());
        }
        match eval::run(&self.request, self.identity, &self.answers) {
            Ok(verdict) => {
                self.verdict = Some(verdict.clone());
                SpfStep::Done(verdict)
            }
            Err(query) => {
                // A query already answered is never asked again: run only
                // stops at a query missing from the answers.
                debug_assert!(!self.answers.contains_key(&query));
                self.pending = Some(query.clone());
                SpfStep::Lookup(query)
            }
        }
    }

    /// The answer to the lookup the last [`SpfCheck::step`] asked for.
    ///
    /// # Panics
    /// When no lookup is pending: a driver that answers what was not
    /// asked has a bug.
    pub fn answer(&mut self, answer: DnsAnswer) {
        let query = self
            .pending
            .take()
            .expect("SpfCheck::answer without a pending lookup");
        self.answers.insert(query, answer);
    }

    /// Ends the check with `temperror` because the driver gave up on it
    /// (RFC 7208 4.6.4 lets a receiver bound the time a check takes);
    /// `problem` says why. A check already decided keeps its verdict.
    pub fn abandon(&mut self, problem: String) -> SpfVerdict {
        let verdict = self.verdict.get_or_insert_with(|| SpfVerdict {
            result: SpfResult::TempError,
            domain: eval::checked_domain(&self.request, self.identity),
            mechanism: None,
            explanation: None,
            problem: Some(problem),
        });
        self.pending = None;
        verdict.clone()
    }

    /// The lookups answered so far.
    pub fn lookups(&self) -> usize {
        self.answers.len()
    }
}
