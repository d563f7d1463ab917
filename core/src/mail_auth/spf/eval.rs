//! `check_host()` (RFC 7208 sections 4 to 6) over the answers gathered so
//! far: it either reaches a verdict or stops at the first lookup it has
//! no answer for.

use super::macros::{Letter, MacroString, Piece, query_name, transform};
use super::record::{self, DualCidr, Mechanism, Qualifier, Selected};
use super::{DnsAnswer, DnsQuery, DnsRecord, Identity, SpfRequest, SpfResult, SpfVerdict};
use crate::limits::{
    DOMAIN_LABEL_BYTES_MAX, SPF_DNS_TERMS_MAX, SPF_DOMAIN_CHARS_MAX, SPF_MX_NAMES_MAX,
    SPF_PTR_NAMES_MAX, SPF_QUERIES_MAX, SPF_VOID_LOOKUPS_MAX,
};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Why evaluation stopped before a result.
#[derive(Debug)]
enum Stop {
    /// An answer is missing: the driver must look this up.
    Need(DnsQuery),
    PermError(String),
    TempError(String),
}

/// What one `check_host()` reached.
struct Outcome {
    result: SpfResult,
    mechanism: Option<String>,
    /// The `exp=` of the record that decided, with its domain (`%{d}`).
    explanation: Option<(MacroString, String)>,
}

impl Outcome {
    fn plain(result: SpfResult) -> Outcome {
        Outcome {
            result,
            mechanism: None,
            explanation: None,
        }
    }
}

/// Evaluates the check over `answers`: the verdict, or the lookup
/// needed next.
pub(super) fn run(
    request: &SpfRequest,
    identity: Identity,
    answers: &BTreeMap<DnsQuery, DnsAnswer>,
) -> Result<SpfVerdict, DnsQuery> {
    let (local, raw_domain) = sender_parts(request, identity);
    let verdict = |result, domain: &str| SpfVerdict {
        result,
        domain: domain.to_owned(),
        mechanism: None,
        explanation: None,
        problem: None,
    };
    // 4.3: a malformed domain, or a single label, is "none".
    let Some(domain) = identity_domain(raw_domain) else {
        return Ok(verdict(SpfResult::None, raw_domain));
    };
    let mut evaluation = Evaluation {
        request,
        ip: request.ip.to_canonical(),
        local,
        sender_domain: &domain,
        answers,
        dns_terms: 0,
        void_lookups: 0,
        queries: 0,
    };
    match evaluation.check_host(&domain) {
        Ok(outcome) => {
            let explanation = match (&outcome.result, &outcome.explanation) {
                (SpfResult::Fail, Some((spec, at))) => evaluation.explain(spec, at)?,
                _ => None,
            };
            Ok(SpfVerdict {
                mechanism: outcome.mechanism,
                explanation,
                ..verdict(outcome.result, &domain)
            })
        }
        Err(Stop::Need(query)) => Err(query),
        Err(Stop::PermError(problem)) => Ok(SpfVerdict {
            problem: Some(problem),
            ..verdict(SpfResult::PermError, &domain)
        }),
        Err(Stop::TempError(problem)) => Ok(SpfVerdict {
            problem: Some(problem),
            ..verdict(SpfResult::TempError, &domain)
        }),
    }
}

/// The local part and the domain checked: the MAIL FROM's, or
/// `postmaster` at the HELO domain (RFC 7208 2.3, 2.4, 4.3).
fn sender_parts(request: &SpfRequest, identity: Identity) -> (&str, &str) {
    if identity == Identity::Helo || request.sender.is_empty() {
        return ("postmaster", request.helo.as_str());
    }
    match request.sender.rsplit_once('@') {
        Some(("", domain)) => ("postmaster", domain),
        Some((local, domain)) => (local, domain),
        None => ("postmaster", request.sender.as_str()),
    }
}

/// The domain a verdict names.
pub(super) fn checked_domain(request: &SpfRequest, identity: Identity) -> String {
    let raw = sender_parts(request, identity).1;
    identity_domain(raw).unwrap_or_else(|| raw.to_owned())
}

/// The identity's domain in A-labels, lowercase, without its final dot:
/// `None` when it is not a multi-label domain name (4.3).
pub(super) fn identity_domain(raw: &str) -> Option<String> {
    let name = raw.strip_suffix('.').unwrap_or(raw);
    let name = idna::domain_to_ascii(name).ok()?;
    let labels: Vec<&str> = name.split('.').collect();
    let valid_label = |label: &&str| {
        !label.is_empty()
            && label.len() <= DOMAIN_LABEL_BYTES_MAX
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let top_is_name = labels
        .last()
        .is_some_and(|top| !top.bytes().all(|b| b.is_ascii_digit()));
    let valid = name.len() <= SPF_DOMAIN_CHARS_MAX
        && labels.len() >= 2
        && labels.iter().all(valid_label)
        && top_is_name;
    valid.then_some(name)
}

struct Evaluation<'a> {
    request: &'a SpfRequest,
    /// The client's address, IPv4-mapped IPv6 as IPv4.
    ip: IpAddr,
    local: &'a str,
    sender_domain: &'a str,
    answers: &'a BTreeMap<DnsQuery, DnsAnswer>,
    dns_terms: usize,
    void_lookups: usize,
    queries: usize,
}

impl<'a> Evaluation<'a> {
    /// `check_host(ip, domain, sender)`: 4.4 to 4.7 and 6.1.
    fn check_host(&mut self, domain: &str) -> Result<Outcome, Stop> {
        let texts: Vec<String> = match self.lookup(DnsQuery::Txt(domain.to_owned()))? {
            DnsAnswer::Failed(why) => {
                return Err(Stop::TempError(format!("TXT lookup of {domain}: {why}")));
            }
            DnsAnswer::NotFound => Vec::new(),
            DnsAnswer::Records(records) => records
                .iter()
                .filter_map(|record| match record {
                    DnsRecord::Txt(text) => Some(text.clone()),
                    _ => None,
                })
                .collect(),
        };
        let text = match record::select(&texts) {
            Selected::None => return Ok(Outcome::plain(SpfResult::None)),
            Selected::Several => {
                return Err(Stop::PermError(format!(
                    "{domain} has more than one v=spf1 record (4.5)"
                )));
            }
            Selected::One(text) => text,
        };
        let record = record::parse(text)
            .map_err(|why| Stop::PermError(format!("the record of {domain}: {why}")))?;
        for directive in &record.directives {
            if directive.mechanism.queries_dns() {
                self.count_dns_term()?;
            }
            if self.matches(&directive.mechanism, domain)? {
                return Ok(Outcome {
                    result: match directive.qualifier {
                        Qualifier::Pass => SpfResult::Pass,
                        Qualifier::Fail => SpfResult::Fail,
                        Qualifier::SoftFail => SpfResult::SoftFail,
                        Qualifier::Neutral => SpfResult::Neutral,
                    },
                    mechanism: Some(directive.text.clone()),
                    explanation: record
                        .explanation
                        .clone()
                        .map(|spec| (spec, domain.to_owned())),
                });
            }
        }
        let Some(redirect) = &record.redirect else {
            return Ok(Outcome::plain(SpfResult::Neutral));
        };
        // 6.1: the redirected domain's result, its explanation and not ours;
        // "none" there is a permerror here.
        self.count_dns_term()?;
        let target = self.expand(redirect, domain)?;
        let Some(target) = query_name(&target) else {
            return Err(Stop::PermError(format!(
                "redirect={target} is not a domain"
            )));
        };
        let outcome = self.check_host(&target)?;
        if outcome.result == SpfResult::None {
            return Err(Stop::PermError(format!(
                "redirect={target}, which has no SPF record (6.1)"
            )));
        }
        Ok(outcome)
    }

    /// Does the mechanism match the client (section 5)?
    fn matches(&mut self, mechanism: &Mechanism, domain: &str) -> Result<bool, Stop> {
        match mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Ip4(network, length) => Ok(in_network(self.ip, (*network).into(), *length)),
            Mechanism::Ip6(network, length) => Ok(in_network(self.ip, (*network).into(), *length)),
            Mechanism::A(spec, cidr) => {
                let Some(target) = self.target(spec.as_ref(), domain)? else {
                    return Ok(false);
                };
                let addresses = self.addresses(&target, true)?;
                Ok(addresses.iter().any(|&a| self.in_cidr(a, *cidr)))
            }
            Mechanism::Mx(spec, cidr) => self.mx_matches(spec.as_ref(), domain, *cidr),
            Mechanism::Ptr(spec) => {
                let Some(target) = self.target(spec.as_ref(), domain)? else {
                    return Ok(false);
                };
                self.ptr_matches(&target)
            }
            Mechanism::Exists(spec) => {
                let Some(target) = self.target(Some(spec), domain)? else {
                    return Ok(false);
                };
                // 5.7: an A lookup, whatever the connection's family.
                match self.lookup(DnsQuery::A(target.clone()))? {
                    DnsAnswer::Failed(why) => Err(temperror("A", &target, why)),
                    answer if has_records(answer) => Ok(true),
                    _ => self.count_void().map(|()| false),
                }
            }
            Mechanism::Include(spec) => {
                let expanded = self.expand(spec, domain)?;
                let Some(target) = query_name(&expanded) else {
                    return Err(Stop::PermError(format!(
                        "include:{expanded} is not a domain"
                    )));
                };
                // 5.2: pass matches; fail, softfail and neutral do not;
                // errors go up; "none" is a permerror.
                match self.check_host(&target)?.result {
                    SpfResult::Pass => Ok(true),
                    SpfResult::None => Err(Stop::PermError(format!(
                        "include:{target}, which has no SPF record (5.2)"
                    ))),
                    _ => Ok(false),
                }
            }
        }
    }

    /// 5.4: the addresses of the domain's MX hosts.
    fn mx_matches(
        &mut self,
        spec: Option<&MacroString>,
        domain: &str,
        cidr: DualCidr,
    ) -> Result<bool, Stop> {
        let Some(target) = self.target(spec, domain)? else {
            return Ok(false);
        };
        let exchanges = match self.lookup(DnsQuery::Mx(target.clone()))? {
            DnsAnswer::Failed(why) => return Err(temperror("MX", &target, why)),
            answer => names(answer),
        };
        if exchanges.is_empty() {
            self.count_void()?;
            return Ok(false);
        }
        if exchanges.len() > SPF_MX_NAMES_MAX {
            return Err(Stop::PermError(format!(
                "{target} has {} MX records, more than {SPF_MX_NAMES_MAX} (4.6.4)",
                exchanges.len()
            )));
        }
        for exchange in exchanges {
            // A null MX (RFC 7505) names the root: no address to match.
            let Some(exchange) = query_name(&exchange) else {
                continue;
            };
            let addresses = self.addresses(&exchange, false)?;
            if addresses.iter().any(|&a| self.in_cidr(a, cidr)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// 5.5: a validated name of the client that is the target or below it.
    fn ptr_matches(&mut self, target: &str) -> Result<bool, Stop> {
        let Some(names) = self.ptr_names(true)? else {
            return Ok(false);
        };
        for name in names.iter().filter(|name| is_within(name, target)) {
            if self.validates(name)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The client's PTR names, the first [`SPF_PTR_NAMES_MAX`] of them;
    /// `None` when the lookup failed (5.5: then nothing matches).
    fn ptr_names(&mut self, count_void: bool) -> Result<Option<Vec<String>>, Stop> {
        let names = match self.lookup(DnsQuery::Ptr(self.ip))? {
            DnsAnswer::Failed(_) => return Ok(None),
            answer => names(answer),
        };
        if names.is_empty() && count_void {
            self.count_void()?;
        }
        Ok(Some(
            names
                .into_iter()
                .filter_map(|name| query_name(&name))
                .take(SPF_PTR_NAMES_MAX)
                .collect(),
        ))
    }

    /// Does `name` lead back to the client's address? A failed lookup
    /// skips the name (5.5).
    fn validates(&mut self, name: &str) -> Result<bool, Stop> {
        let query = self.address_query(name);
        Ok(match self.lookup(query)? {
            DnsAnswer::Records(records) => records.iter().any(
                |record| matches!(record, DnsRecord::Address(a) if a.to_canonical() == self.ip),
            ),
            _ => false,
        })
    }

    /// `%{p}` (7.3): a validated name of the client, the domain itself
    /// first, then one below it, then any; "unknown" when none.
    fn validated_name(&mut self, domain: &str) -> Result<String, Stop> {
        let Some(names) = self.ptr_names(false)? else {
            return Ok("unknown".to_owned());
        };
        let mut ordered: Vec<&String> = names.iter().filter(|n| n.as_str() == domain).collect();
        ordered.extend(
            names
                .iter()
                .filter(|n| n.as_str() != domain && is_within(n, domain)),
        );
        ordered.extend(names.iter().filter(|n| !is_within(n, domain)));
        for name in ordered {
            if self.validates(name)? {
                return Ok(name.clone());
            }
        }
        Ok("unknown".to_owned())
    }

    /// The A or AAAA records of `name`, by the client's family. No
    /// records is a void lookup when `void` says the term counts them.
    fn addresses(&mut self, name: &str, void: bool) -> Result<Vec<IpAddr>, Stop> {
        let query = self.address_query(name);
        match self.lookup(query)? {
            DnsAnswer::Failed(why) => Err(temperror("address", name, why)),
            DnsAnswer::Records(records) if !records.is_empty() => Ok(records
                .iter()
                .filter_map(|record| match record {
                    DnsRecord::Address(address) => Some(address.to_canonical()),
                    _ => None,
                })
                .collect()),
            _ => {
                if void {
                    self.count_void()?;
                }
                Ok(Vec::new())
            }
        }
    }

    fn address_query(&self, name: &str) -> DnsQuery {
        match self.ip {
            IpAddr::V4(_) => DnsQuery::A(name.to_owned()),
            IpAddr::V6(_) => DnsQuery::Aaaa(name.to_owned()),
        }
    }

    fn in_cidr(&self, address: IpAddr, cidr: DualCidr) -> bool {
        let length = match self.ip {
            IpAddr::V4(_) => cidr.v4,
            IpAddr::V6(_) => cidr.v6,
        };
        in_network(self.ip, address, length)
    }

    /// The term's target name, expanded (the current domain when the
    /// term names none); `None` when it cannot be a DNS name.
    fn target(&mut self, spec: Option<&MacroString>, domain: &str) -> Result<Option<String>, Stop> {
        match spec {
            None => Ok(Some(domain.to_owned())),
            Some(spec) => Ok(query_name(&self.expand(spec, domain)?)),
        }
    }

    /// 6.2: the explanation of a fail, or `None` when anything about it
    /// goes wrong. Only a missing answer stops it.
    fn explain(&mut self, spec: &MacroString, domain: &str) -> Result<Option<String>, DnsQuery> {
        match self.explanation(spec, domain) {
            Ok(explanation) => Ok(explanation),
            Err(Stop::Need(query)) => Err(query),
            Err(_) => Ok(None),
        }
    }

    fn explanation(&mut self, spec: &MacroString, domain: &str) -> Result<Option<String>, Stop> {
        let Some(target) = query_name(&self.expand(spec, domain)?) else {
            return Ok(None);
        };
        let texts: Vec<&String> = match self.lookup(DnsQuery::Txt(target))? {
            DnsAnswer::Records(records) => records
                .iter()
                .filter_map(|record| match record {
                    DnsRecord::Txt(text) => Some(text),
                    _ => None,
                })
                .collect(),
            _ => return Ok(None),
        };
        let [text] = texts.as_slice() else {
            return Ok(None);
        };
        let Ok(text) = MacroString::parse(text, true) else {
            return Ok(None);
        };
        // The explanation ends up in a reply or a header: macros can bring
        // in the sender's own text, so only printable ASCII goes out.
        let explanation = self.expand(&text, domain)?;
        let printable = explanation
            .bytes()
            .all(|b| b == b' ' || b.is_ascii_graphic());
        Ok(printable.then_some(explanation))
    }

    /// Expands a macro string with `domain` as `%{d}` (7.3).
    fn expand(&mut self, spec: &MacroString, domain: &str) -> Result<String, Stop> {
        let mut expanded = String::new();
        for piece in &spec.pieces {
            match piece {
                Piece::Literal(text) => expanded.push_str(text),
                Piece::Macro(found) => {
                    let value = self.macro_value(found.letter, domain)?;
                    expanded.push_str(&transform(found, &value));
                }
            }
        }
        Ok(expanded)
    }

    fn macro_value(&mut self, letter: Letter, domain: &str) -> Result<String, Stop> {
        Ok(match letter {
            Letter::Sender => format!("{}@{}", self.local, self.sender_domain),
            Letter::LocalPart => self.local.to_owned(),
            Letter::SenderDomain => self.sender_domain.to_owned(),
            Letter::Domain => domain.to_owned(),
            Letter::Ip => dotted(self.ip),
            Letter::ValidatedName => self.validated_name(domain)?,
            Letter::IpVersion => match self.ip {
                IpAddr::V4(_) => "in-addr".to_owned(),
                IpAddr::V6(_) => "ip6".to_owned(),
            },
            Letter::Helo => self.request.helo.clone(),
            Letter::ClientIp => self.ip.to_string(),
            Letter::Receiver => match self.request.receiver.as_str() {
                "" => "unknown".to_owned(),
                receiver => receiver.to_owned(),
            },
            Letter::Timestamp => self.request.now.0.to_string(),
        })
    }

    /// The answer to `query`, or a stop asking for it.
    fn lookup(&mut self, query: DnsQuery) -> Result<&'a DnsAnswer, Stop> {
        self.queries += 1;
        if self.queries > SPF_QUERIES_MAX {
            return Err(Stop::PermError(format!(
                "more than {SPF_QUERIES_MAX} DNS lookups"
            )));
        }
        let query = match query {
            DnsQuery::Txt(name) => DnsQuery::Txt(name.to_ascii_lowercase()),
            DnsQuery::A(name) => DnsQuery::A(name.to_ascii_lowercase()),
            DnsQuery::Aaaa(name) => DnsQuery::Aaaa(name.to_ascii_lowercase()),
            DnsQuery::Mx(name) => DnsQuery::Mx(name.to_ascii_lowercase()),
            DnsQuery::Ptr(ip) => DnsQuery::Ptr(ip),
        };
        self.answers.get(&query).ok_or(Stop::Need(query))
    }

    fn count_dns_term(&mut self) -> Result<(), Stop> {
        self.dns_terms += 1;
        if self.dns_terms > SPF_DNS_TERMS_MAX {
            return Err(Stop::PermError(format!(
                "more than {SPF_DNS_TERMS_MAX} terms that query DNS (4.6.4)"
            )));
        }
        Ok(())
    }

    fn count_void(&mut self) -> Result<(), Stop> {
        self.void_lookups += 1;
        if self.void_lookups > SPF_VOID_LOOKUPS_MAX {
            return Err(Stop::PermError(format!(
                "more than {SPF_VOID_LOOKUPS_MAX} lookups found nothing (4.6.4)"
            )));
        }
        Ok(())
    }
}

fn temperror(kind: &str, name: &str, why: &str) -> Stop {
    Stop::TempError(format!("{kind} lookup of {name}: {why}"))
}

fn has_records(answer: &DnsAnswer) -> bool {
    matches!(answer, DnsAnswer::Records(records) if !records.is_empty())
}

/// The names of an MX or PTR answer.
fn names(answer: &DnsAnswer) -> Vec<String> {
    match answer {
        DnsAnswer::Records(records) => records
            .iter()
            .filter_map(|record| match record {
                DnsRecord::Name(name) => Some(name.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Is `name` the domain itself or a name below it (case aside)?
fn is_within(name: &str, domain: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let domain = domain.to_ascii_lowercase();
    name == domain || name.ends_with(&format!(".{domain}"))
}

/// Do `a` and `b` agree on their first `length` bits? Addresses of
/// different families never do.
fn in_network(a: IpAddr, b: IpAddr, length: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(length)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(length)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// `%{i}`: dotted decimal, or 32 dotted nibbles for IPv6 (7.3).
fn dotted(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let nibbles: Vec<String> = v6
                .octets()
                .iter()
                .flat_map(|byte| [byte >> 4, byte & 0x0f])
                .map(|nibble| format!("{nibble:x}"))
                .collect();
            nibbles.join(".")
        }
    }
}
