//! Properties: whatever the records say and however DNS answers, a check
//! never panics, ends, stays within its lookup bounds, and gives the
//! same verdict for the same answers.

use super::super::*;
use crate::limits::{SPF_DNS_TERMS_MAX, SPF_QUERIES_MAX};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The names the generated records point at one another with.
const NAMES: [&str; 5] = [
    "a.example",
    "b.example",
    "c.example",
    "d.example",
    "e.example",
];

/// One term, from the grammar's corners or from anywhere.
fn term() -> impl Strategy<Value = String> {
    let name = prop::sample::select(NAMES.to_vec());
    prop_oneof![
        Just("all".to_owned()),
        Just("-all".to_owned()),
        Just("a".to_owned()),
        Just("mx".to_owned()),
        Just("ptr".to_owned()),
        name.clone().prop_map(|n| format!("include:{n}")),
        name.clone().prop_map(|n| format!("redirect={n}")),
        name.clone().prop_map(|n| format!("exp={n}")),
        name.clone().prop_map(|n| format!("~a:{n}/24//64")),
        name.clone().prop_map(|n| format!("?mx:{n}/0")),
        name.clone().prop_map(|n| format!("ptr:{n}")),
        name.clone()
            .prop_map(|n| format!("exists:%{{ir}}.%{{l1r-}}.{n}")),
        name.prop_map(|n| format!("a:%{{p}}.%{{d2}}.{n}")),
        Just("ip4:192.0.2.0/24".to_owned()),
        Just("ip6:2001:db8::/32".to_owned()),
        "[ -~]{0,12}",
        "\\PC{0,6}",
    ]
}

/// A record: usually an SPF one, sometimes anything at all.
fn record() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(term(), 0..8).prop_map(|terms| format!("v=spf1 {}", terms.join(" "))),
        1 => "\\PC{0,40}",
    ]
}

/// How the generated zone answers one name.
#[derive(Clone, Debug)]
struct Host {
    txt: Vec<String>,
    addresses: Vec<IpAddr>,
    exchanges: Vec<String>,
    fails: bool,
}

fn host() -> impl Strategy<Value = Host> {
    let address = prop_oneof![
        Just("192.0.2.1".parse::<IpAddr>().unwrap()),
        Just("198.51.100.7".parse::<IpAddr>().unwrap()),
        Just("2001:db8::1".parse::<IpAddr>().unwrap()),
    ];
    (
        prop::collection::vec(record(), 0..3),
        prop::collection::vec(address, 0..3),
        prop::collection::vec(prop::sample::select(NAMES.to_vec()), 0..14),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(txt, addresses, exchanges, fails)| Host {
            txt,
            addresses,
            exchanges: exchanges.into_iter().map(str::to_owned).collect(),
            fails,
        })
}

fn answer(zone: &BTreeMap<&str, Host>, ptr: &[String], query: &DnsQuery) -> DnsAnswer {
    let records: Vec<DnsRecord> = match query {
        DnsQuery::Ptr(_) => ptr.iter().cloned().map(DnsRecord::Name).collect(),
        DnsQuery::Txt(name) | DnsQuery::A(name) | DnsQuery::Aaaa(name) | DnsQuery::Mx(name) => {
            let Some(host) = zone.get(name.as_str()) else {
                return DnsAnswer::NotFound;
            };
            if host.fails {
                return DnsAnswer::Failed("SERVFAIL".into());
            }
            match query {
                DnsQuery::Txt(_) => host.txt.iter().cloned().map(DnsRecord::Txt).collect(),
                DnsQuery::Mx(_) => host
                    .exchanges
                    .iter()
                    .cloned()
                    .map(DnsRecord::Name)
                    .collect(),
                _ => host
                    .addresses
                    .iter()
                    .copied()
                    .map(DnsRecord::Address)
                    .collect(),
            }
        }
    };
    DnsAnswer::Records(records)
}

/// Runs the check; the verdict and the lookups in order.
fn run(
    zone: &BTreeMap<&str, Host>,
    ptr: &[String],
    request: &SpfRequest,
) -> (SpfVerdict, Vec<DnsQuery>) {
    let mut check = SpfCheck::new(request.clone(), Identity::MailFrom);
    let mut asked = Vec::new();
    // Each step either ends or asks a new query, and the queries are
    // bounded: a loop past the bound is a check that does not end.
    for _ in 0..=SPF_QUERIES_MAX {
        match check.step() {
            SpfStep::Lookup(query) => {
                assert!(!asked.contains(&query), "{query:?} asked twice");
                check.answer(answer(zone, ptr, &query));
                asked.push(query);
            }
            SpfStep::Done(verdict) => return (verdict, asked),
        }
    }
    panic!("the check did not end within {SPF_QUERIES_MAX} lookups");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_records_end_in_a_verdict_within_the_limits(
        hosts in prop::collection::vec(host(), NAMES.len()),
        ptr in prop::collection::vec(prop::sample::select(NAMES.to_vec()), 0..14),
        v6 in any::<bool>(),
    ) {
        let zone: BTreeMap<&str, Host> = NAMES.iter().copied().zip(hosts).collect();
        let ptr: Vec<String> = ptr.into_iter().map(str::to_owned).collect();
        let request = SpfRequest {
            ip: if v6 { "2001:db8::1".parse().unwrap() } else { "192.0.2.1".parse().unwrap() },
            sender: "someone@a.example".into(),
            helo: "mail.b.example".into(),
            receiver: "mx.postern.test".into(),
            now: crate::time::UnixTime(0),
        };
        let (verdict, asked) = run(&zone, &ptr, &request);
        // The record lookups: the first, one per include or redirect
        // (at most the DNS term limit), and the explanation.
        let txt = asked.iter().filter(|q| matches!(q, DnsQuery::Txt(_))).count();
        prop_assert!(txt <= SPF_DNS_TERMS_MAX + 2, "{txt} TXT lookups");
        let errors = matches!(verdict.result, SpfResult::PermError | SpfResult::TempError);
        prop_assert_eq!(errors, verdict.problem.is_some());
        prop_assert!(verdict.explanation.is_none() || verdict.result == SpfResult::Fail);
        // The same answers give the same verdict.
        prop_assert_eq!(run(&zone, &ptr, &request).0, verdict);
    }
}
