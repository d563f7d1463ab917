//! DNS blocklists (RFC 5782): which names to query for a client address
//! or a sender domain, which answers count as a listing, and whether the
//! weights of the listing zones reach the instance's threshold.
//!
//! An IP zone is asked for the client's address written backwards under
//! the zone (`7.2.0.192.zen.example` for 192.0.2.7; IPv6 by nibbles,
//! RFC 5782 2.4); a domain zone for the sender's domain under the zone
//! (`example.com.dbl.example`, RFC 5782 2.3). An A record in the answer
//! is a listing when it is one of the zone's `codes`, or, with none
//! written, any address in 127.0.0.0/8 (RFC 5782 2.1) but the
//! 127.255.255.0/24 that some lists (Spamhaus) answer to report an
//! error with the query rather than a listing. A lookup that fails
//! lists nobody: a blocklist that cannot be reached must not stop mail.

use crate::address::domain_key;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

/// What a zone lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneKind {
    /// Client addresses (zen, bl, ...): asked at connect.
    Ip,
    /// Sender domains (dbl, ...): asked at MAIL.
    Domain,
}

impl std::fmt::Display for ZoneKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ZoneKind::Ip => "ip",
            ZoneKind::Domain => "domain",
        })
    }
}

/// One `[[service.dnsbl]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// The zone's name, lower-case, without a trailing dot.
    pub zone: String,
    pub kind: ZoneKind,
    /// What a listing here adds to the score.
    pub weight: u32,
    /// The answers that count; empty for any of 127.0.0.0/8 (but
    /// 127.255.255.0/24).
    pub codes: Vec<Ipv4Addr>,
}

impl Zone {
    /// True if `address`, one A record of this zone's answer, is a
    /// listing.
    pub fn counts(&self, address: IpAddr) -> bool {
        let IpAddr::V4(v4) = address.to_canonical() else {
            return false;
        };
        if self.codes.is_empty() {
            let [a, b, c, _] = v4.octets();
            a == 127 && !(b == 255 && c == 255)
        } else {
            self.codes.contains(&v4)
        }
    }
}

/// An instance's blocklists: none by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocklists {
    pub zones: Vec<Zone>,
    /// A client (or sender domain) is refused when the weights of the
    /// zones listing it add up to this.
    pub threshold: u32,
}

impl Default for Blocklists {
    fn default() -> Self {
        Blocklists {
            zones: Vec::new(),
            threshold: crate::limits::DNSBL_THRESHOLD_DEFAULT,
        }
    }
}

/// One DNS query: an A lookup of `name` on behalf of `zone`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub zone: String,
    /// Fully qualified, without the trailing dot.
    pub name: String,
}

/// What the resolver found for one query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupAnswer {
    /// The name exists; its A records.
    Listed(Vec<IpAddr>),
    /// NXDOMAIN, or no A record.
    NotListed,
    /// No answer: a timeout, SERVFAIL, no network. Lists nobody.
    Failed(String),
}

/// The outcome of one round of queries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Zones whose answer counts, with the addresses they answered.
    pub listing: Vec<(String, Vec<IpAddr>)>,
    /// The sum of the listing zones' weights.
    pub score: u32,
    /// The threshold reached: the client (or sender) is refused.
    pub refused: bool,
    /// Zones that did not answer (or answered only error codes), with why:
    /// for the log.
    pub failures: Vec<(String, String)>,
}

impl Verdict {
    /// The zone named in the refusal: the first that listed.
    pub fn first_zone(&self) -> &str {
        self.listing.first().map_or("", |(zone, _)| zone.as_str())
    }
}

impl Blocklists {
    fn zones(&self, kind: ZoneKind) -> impl Iterator<Item = &Zone> {
        self.zones.iter().filter(move |zone| zone.kind == kind)
    }

    /// The queries for a client address: one per IP zone.
    pub fn client_queries(&self, client: IpAddr) -> Vec<Query> {
        let reversed = reversed_address(client);
        self.zones(ZoneKind::Ip)
            .filter_map(|zone| query(zone, &reversed))
            .collect()
    }

    /// The queries for a sender's domain: one per domain zone. An address
    /// literal (`[192.0.2.1]`) or a domain that cannot be written in DNS
    /// is not asked about.
    pub fn domain_queries(&self, domain: &str) -> Vec<Query> {
        if domain.starts_with('[') {
            return Vec::new();
        }
        let Ok(key) = domain_key(domain.trim_end_matches('.')) else {
            return Vec::new();
        };
        self.zones(ZoneKind::Domain)
            .filter_map(|zone| query(zone, &key))
            .collect()
    }

    /// Weighs the answers to `queries` (in the same order).
    pub fn verdict(&self, queries: &[Query], answers: &[LookupAnswer]) -> Verdict {
        let mut verdict = Verdict::default();
        for (query, answer) in queries.iter().zip(answers) {
            let Some(zone) = self.zones.iter().find(|z| z.zone == query.zone) else {
                continue;
            };
            match answer {
                LookupAnswer::Listed(addresses) => {
                    if addresses.iter().any(|a| zone.counts(*a)) {
                        verdict.score = verdict.score.saturating_add(zone.weight);
                        verdict.listing.push((zone.zone.clone(), addresses.clone()));
                    } else if zone.codes.is_empty() {
                        // 127.255.255.x, or an answer outside 127/8: the
                        // list reports a problem with the query.
                        verdict.failures.push((
                            zone.zone.clone(),
                            format!("answered {} (not a listing)", addresses_text(addresses)),
                        ));
                    }
                }
                LookupAnswer::NotListed => {}
                LookupAnswer::Failed(why) => {
                    verdict.failures.push((zone.zone.clone(), why.clone()));
                }
            }
        }
        // A threshold of 0 is refused by the configuration check.
        verdict.refused = !verdict.listing.is_empty() && verdict.score >= self.threshold;
        verdict
    }
}

/// Who or what a blocklist refusal is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listed {
    /// The client's address, at connect.
    Client(IpAddr),
    /// The sender's domain, at MAIL.
    SenderDomain(String),
}

impl std::fmt::Display for Listed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listed::Client(address) => write!(f, "client [{}]", address.to_canonical()),
            Listed::SenderDomain(domain) => write!(f, "sender domain {domain}"),
        }
    }
}

/// The text after `554 5.7.1` for a listed client.
pub fn client_refusal(client: IpAddr, zone: &str) -> String {
    format!(
        "Service unavailable; client [{}] listed at {zone}",
        client.to_canonical()
    )
}

/// The text after `554 5.7.1` for a sender whose domain is listed.
pub fn sender_refusal(domain: &str, zone: &str) -> String {
    format!("Service unavailable; sender domain {domain} listed at {zone}")
}

fn query(zone: &Zone, prefix: &str) -> Option<Query> {
    let name = format!("{prefix}.{}", zone.zone);
    // RFC 1035 2.3.4: 253 octets as text, without the trailing dot.
    (name.len() <= 253).then(|| Query {
        zone: zone.zone.clone(),
        name,
    })
}

/// The address as a blocklist wants it: IPv4 octets reversed
/// (RFC 5782 2.1), IPv6 nibbles reversed (RFC 5782 2.4).
pub fn reversed_address(client: IpAddr) -> String {
    match client.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}")
        }
        IpAddr::V6(v6) => {
            let mut text = String::with_capacity(63);
            for octet in v6.octets().iter().rev() {
                let _ = write!(text, "{:x}.{:x}.", octet & 0xf, octet >> 4);
            }
            text.pop();
            text
        }
    }
}

fn addresses_text(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
