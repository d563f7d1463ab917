//! An in-memory DNS zone that answers an [`SpfCheck`]'s lookups, and the
//! shapes of the RFC 7208 suite's tables.

use super::super::*;
use std::net::IpAddr;

/// A resource record of a test zone.
#[derive(Clone, Copy, Debug)]
pub(super) enum Rr {
    /// A TXT record's strings (joined without spaces when answered).
    Txt(&'static [&'static str]),
    A(&'static str),
    Aaaa(&'static str),
    /// An MX record's exchange (the preference plays no part in SPF).
    Mx(&'static str),
    Ptr(&'static str),
    Cname(&'static str),
    /// The suite's `TIMEOUT`: a lookup of this name times out unless a
    /// record of the looked-up type comes before this marker.
    Timeout,
}

/// A zone: names and their records, in order.
pub(super) type Zone = [(&'static str, &'static [Rr])];

/// One scenario of the suite: a zone and the cases run against it.
pub(super) struct Scenario {
    pub section: &'static str,
    pub zone: &'static Zone,
    pub cases: &'static [Case],
}

/// One case: the connection, the envelope, and the results the suite
/// accepts (the first preferred).
pub(super) struct Case {
    pub name: &'static str,
    pub spec: &'static str,
    pub ip: &'static str,
    pub mailfrom: &'static str,
    pub helo: &'static str,
    pub results: &'static [&'static str],
    /// The expected explanation; [`DEFAULT`] means none of the domain's.
    pub explanation: Option<&'static str>,
}

/// The suite's word for "the receiver's default explanation": the
/// domain gave none.
pub(super) const DEFAULT: &str = "DEFAULT";

/// CNAMEs followed at most, so a loop ends.
const CNAME_HOPS_MAX: usize = 8;

/// The answer `zone` gives to `query`.
pub(super) fn answer(zone: &Zone, query: &DnsQuery) -> DnsAnswer {
    let name = match query {
        DnsQuery::Ptr(ip) => reverse_name(*ip),
        DnsQuery::Txt(name) | DnsQuery::A(name) | DnsQuery::Aaaa(name) | DnsQuery::Mx(name) => {
            name.clone()
        }
    };
    let mut name = normal(&name);
    for _ in 0..CNAME_HOPS_MAX {
        let Some((_, records)) = zone.iter().find(|(owner, _)| normal(owner) == name) else {
            return DnsAnswer::NotFound;
        };
        if let Some(Rr::Cname(target)) = records.iter().find(|rr| matches!(rr, Rr::Cname(_))) {
            name = normal(target);
            continue;
        }
        let mut found = Vec::new();
        for rr in records.iter() {
            match (rr, query) {
                (Rr::Timeout, _) if found.is_empty() => {
                    return DnsAnswer::Failed("timed out".into());
                }
                (Rr::Txt(strings), DnsQuery::Txt(_)) => {
                    found.push(DnsRecord::Txt(strings.concat()))
                }
                (Rr::A(address), DnsQuery::A(_)) | (Rr::Aaaa(address), DnsQuery::Aaaa(_)) => {
                    found.push(DnsRecord::Address(address.parse().unwrap()))
                }
                (Rr::Mx(name), DnsQuery::Mx(_)) | (Rr::Ptr(name), DnsQuery::Ptr(_)) => {
                    found.push(DnsRecord::Name((*name).to_owned()))
                }
                _ => {}
            }
        }
        return if found.is_empty() {
            DnsAnswer::NotFound
        } else {
            DnsAnswer::Records(found)
        };
    }
    DnsAnswer::Failed("CNAME loop".into())
}

fn normal(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// `4.3.2.1.in-addr.arpa` or the 32 nibbles of `ip6.arpa`.
fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut nibbles: Vec<String> = v6
                .octets()
                .iter()
                .flat_map(|byte| [byte >> 4, byte & 0x0f])
                .map(|nibble| format!("{nibble:x}"))
                .collect();
            nibbles.reverse();
            format!("{}.ip6.arpa", nibbles.join("."))
        }
    }
}

/// Runs a check to its verdict against `zone`, with the lookups it made.
pub(super) fn check(
    zone: &Zone,
    request: SpfRequest,
    identity: Identity,
) -> (SpfVerdict, Vec<DnsQuery>) {
    let mut check = SpfCheck::new(request, identity);
    let mut asked = Vec::new();
    loop {
        match check.step() {
            SpfStep::Lookup(query) => {
                check.answer(answer(zone, &query));
                asked.push(query);
            }
            SpfStep::Done(verdict) => return (verdict, asked),
        }
    }
}

/// A request from the suite's `host`, `mailfrom` and `helo`.
pub(super) fn request(ip: &str, mailfrom: &str, helo: &str) -> SpfRequest {
    SpfRequest {
        ip: ip.parse().unwrap(),
        sender: mailfrom.to_owned(),
        helo: helo.to_owned(),
        receiver: String::new(),
        now: crate::time::UnixTime(1_796_040_000),
    }
}
