//! Tables of the record parser, the macro expansion of RFC 7208 7.4's
//! examples, the identities, the limits and the machine's contract.

use super::super::macros::MacroString;
use super::super::record::{self, DualCidr, Mechanism, Qualifier, Selected};
use super::super::*;
use super::zone::Rr::{self, *};
use super::zone::{check, request};
use crate::limits::{SPF_DNS_TERMS_MAX, SPF_VOID_LOOKUPS_MAX};

#[test]
fn select_keeps_exactly_one_v_spf1_record() {
    let rows: &[(&[&str], Selected)] = &[
        (&[], Selected::None),
        (&["google-site-verification=x"], Selected::None),
        (&["v=spf10 -all"], Selected::None),
        (&["v=spf1"], Selected::One("v=spf1")),
        (&["V=SpF1 -all", "other"], Selected::One("V=SpF1 -all")),
        (&["v=spf1 -all", "v=spf1 +all"], Selected::Several),
    ];
    for (records, expected) in rows {
        let records: Vec<String> = records.iter().map(|r| r.to_string()).collect();
        assert_eq!(record::select(&records), *expected, "{records:?}");
    }
}

#[test]
fn parse_reads_qualifiers_mechanisms_and_lengths() {
    let parsed =
        record::parse("v=spf1 a mx:m.example.com/24//64 ~ip4:192.0.2.0/24 ?ip6:2001:db8::/32 -all")
            .unwrap();
    let mechanisms: Vec<(Qualifier, Mechanism)> = parsed
        .directives
        .into_iter()
        .map(|d| (d.qualifier, d.mechanism))
        .collect();
    assert_eq!(
        mechanisms[0],
        (Qualifier::Pass, Mechanism::A(None, DualCidr::default()))
    );
    let spec = MacroString::parse_domain_spec("m.example.com").unwrap();
    assert_eq!(
        mechanisms[1],
        (
            Qualifier::Pass,
            Mechanism::Mx(Some(spec), DualCidr { v4: 24, v6: 64 })
        )
    );
    assert_eq!(
        mechanisms[2],
        (
            Qualifier::SoftFail,
            Mechanism::Ip4("192.0.2.0".parse().unwrap(), 24)
        )
    );
    assert_eq!(
        mechanisms[3],
        (
            Qualifier::Neutral,
            Mechanism::Ip6("2001:db8::".parse().unwrap(), 32)
        )
    );
    assert_eq!(mechanisms[4], (Qualifier::Fail, Mechanism::All));
}

#[test]
fn parse_refuses_what_the_grammar_refuses() {
    let rows = [
        "v=spf1 a:",
        "v=spf1 a/33",
        "v=spf1 a//129",
        "v=spf1 a/024",
        "v=spf1 ip4:192.0.2.1/33",
        "v=spf1 ip4:192.0.2",
        "v=spf1 ip6:2001:db8::/129",
        "v=spf1 include",
        "v=spf1 include:example",
        "v=spf1 exists:%{x}.example.com",
        "v=spf1 exists:%{r}.example.com",
        "v=spf1 ptr/24",
        "v=spf1 all/0",
        "v=spf1 redirect=a.example.com redirect=b.example.com",
        "v=spf1 exp=a.example.com exp=b.example.com",
        "v=spf1 unknown:example.com",
        "v=spf1 x=%",
        "v=spf1 -all\t",
        "v=spf1 é",
    ];
    for text in rows {
        assert!(record::parse(text).is_err(), "{text:?} parsed");
    }
}

#[test]
fn parse_ignores_unknown_modifiers_and_extra_spaces() {
    let parsed = record::parse("v=spf1  ip4:192.0.2.1   moo.cow=x:y/z -all ").unwrap();
    assert_eq!(parsed.directives.len(), 2);
    assert!(parsed.redirect.is_none() && parsed.explanation.is_none());
}

/// The sender, address and domain of RFC 7208 7.4's examples.
const SENDER: &str = "strong-bad@email.example.com";

/// The name `exists:SPEC` asks for, in a check of SENDER from `ip`.
fn expanded(spec: &str, ip: &str) -> String {
    let request = request(ip, SENDER, "mx.example.org");
    let mut check = SpfCheck::new(request, Identity::MailFrom);
    let mut last = None;
    loop {
        match check.step() {
            SpfStep::Lookup(DnsQuery::Txt(name)) if name == "email.example.com" => {
                let record = format!("v=spf1 exists:{spec} -all");
                check.answer(DnsAnswer::Records(vec![DnsRecord::Txt(record)]));
            }
            SpfStep::Lookup(query) => {
                last = Some(query);
                check.answer(DnsAnswer::NotFound);
            }
            SpfStep::Done(_) => break,
        }
    }
    match last {
        Some(DnsQuery::A(name)) => name,
        other => panic!("{spec}: asked {other:?}"),
    }
}

#[test]
fn macros_expand_as_in_rfc_7208_section_7_4() {
    let rows = [
        ("%{s}", "strong-bad@email.example.com"),
        ("%{o}", "email.example.com"),
        ("%{d}", "email.example.com"),
        ("%{d4}", "email.example.com"),
        ("%{d3}", "email.example.com"),
        ("%{d2}", "example.com"),
        ("%{d1}", "com"),
        ("%{dr}", "com.example.email"),
        ("%{d2r}", "example.email"),
        ("%{l}", "strong-bad"),
        ("%{l-}", "strong.bad"),
        ("%{lr}", "strong-bad"),
        ("%{lr-}", "bad.strong"),
        ("%{l1r-}", "strong"),
        (
            "%{ir}.%{v}._spf.%{d2}",
            "3.2.0.192.in-addr._spf.example.com",
        ),
        ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
        (
            "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
            "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
        ),
        (
            "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
            "3.2.0.192.in-addr.strong.lp._spf.example.com",
        ),
        (
            "%{d2}.trusted-domains.example.net",
            "example.com.trusted-domains.example.net",
        ),
        ("%{h}.x.example", "mx.example.org.x.example"),
        ("a%%b%_c%-d.example.com", "a%b c%20d.example.com"),
    ];
    for (spec, expected) in rows {
        assert_eq!(expanded(spec, "192.0.2.3"), expected, "{spec}");
    }
    assert_eq!(
        expanded("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
    );
    // An IPv4-mapped IPv6 client is an IPv4 client (RFC 7208 5).
    assert_eq!(
        expanded("%{i}.%{v}.example.com", "::ffff:192.0.2.3"),
        "192.0.2.3.in-addr.example.com"
    );
}

#[test]
fn an_expanded_name_over_253_characters_loses_labels_on_the_left() {
    let long = "%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.example.com";
    let name = expanded(long, "192.0.2.3");
    let whole = format!("{}example.com", "email.example.com.".repeat(14));
    assert!(name.len() <= 253 && whole.len() > 253, "{name}");
    // Whole labels went from the left, and no more than needed.
    assert!(whole.ends_with(&format!(".{name}")), "{name}");
    assert!(name.len() > 253 - "email.".len(), "{name}");
}

const ZONE: &[(&str, &[Rr])] = &[
    ("example.com", &[Txt(&["v=spf1 ip4:192.0.2.0/24 -all"])]),
    (
        "helo.example.com",
        &[Txt(&["v=spf1 a -all"]), A("192.0.2.9")],
    ),
    (
        "voids.example.com",
        &[Txt(&[
            "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com ?all",
        ])],
    ),
    (
        "terms.example.com",
        &[
            Txt(&["v=spf1 a a a a a a a a a a a ?all"]),
            A("198.51.100.1"),
        ],
    ),
    ("broken.example.com", &[Timeout]),
];

fn verdict(ip: &str, sender: &str, helo: &str, identity: Identity) -> SpfVerdict {
    check(ZONE, request(ip, sender, helo), identity).0
}

#[test]
fn mail_from_checks_the_sender_domain() {
    let pass = verdict(
        "192.0.2.1",
        "a@example.com",
        "helo.example.com",
        Identity::MailFrom,
    );
    assert_eq!(
        (pass.result, pass.domain.as_str()),
        (SpfResult::Pass, "example.com")
    );
    assert_eq!(pass.mechanism.as_deref(), Some("ip4:192.0.2.0/24"));
    let fail = verdict(
        "198.51.100.1",
        "a@EXAMPLE.com.",
        "helo.example.com",
        Identity::MailFrom,
    );
    assert_eq!(
        (fail.result, fail.mechanism.as_deref()),
        (SpfResult::Fail, Some("-all"))
    );
}

#[test]
fn an_empty_mail_from_checks_postmaster_at_the_helo() {
    let pass = verdict("192.0.2.9", "", "helo.example.com", Identity::MailFrom);
    assert_eq!(
        (pass.result, pass.domain.as_str()),
        (SpfResult::Pass, "helo.example.com")
    );
    let helo = verdict(
        "192.0.2.1",
        "a@example.com",
        "helo.example.com",
        Identity::Helo,
    );
    assert_eq!(
        (helo.result, helo.domain.as_str()),
        (SpfResult::Fail, "helo.example.com")
    );
}

#[test]
fn ipv4_mapped_ipv6_clients_are_checked_as_ipv4() {
    let pass = verdict(
        "::ffff:192.0.2.1",
        "a@example.com",
        "x.example",
        Identity::MailFrom,
    );
    assert_eq!(pass.result, SpfResult::Pass);
}

#[test]
fn a_third_void_lookup_is_a_permerror() {
    let over = verdict(
        "192.0.2.1",
        "a@voids.example.com",
        "x.example",
        Identity::MailFrom,
    );
    assert_eq!(over.result, SpfResult::PermError, "{over:?}");
    assert!(
        over.problem
            .unwrap()
            .contains(&SPF_VOID_LOOKUPS_MAX.to_string())
    );
}

#[test]
fn an_eleventh_dns_term_is_a_permerror() {
    let over = verdict(
        "192.0.2.1",
        "a@terms.example.com",
        "x.example",
        Identity::MailFrom,
    );
    assert_eq!(over.result, SpfResult::PermError, "{over:?}");
    assert!(
        over.problem
            .unwrap()
            .contains(&SPF_DNS_TERMS_MAX.to_string())
    );
}

#[test]
fn a_failed_record_lookup_is_a_temperror_and_no_name_is_none() {
    let failed = verdict(
        "192.0.2.1",
        "a@broken.example.com",
        "x.example",
        Identity::MailFrom,
    );
    assert_eq!(failed.result, SpfResult::TempError);
    assert!(failed.problem.is_some());
    let missing = verdict(
        "192.0.2.1",
        "a@nowhere.example.com",
        "x.example",
        Identity::MailFrom,
    );
    assert_eq!((missing.result, missing.problem), (SpfResult::None, None));
}

#[test]
fn step_repeats_the_pending_lookup_until_it_is_answered() {
    let mut check = SpfCheck::new(
        request("192.0.2.1", "a@example.com", "x.example"),
        Identity::MailFrom,
    );
    let first = check.step();
    assert_eq!(first, SpfStep::Lookup(DnsQuery::Txt("example.com".into())));
    assert_eq!(check.step(), first);
    check.answer(DnsAnswer::Records(vec![DnsRecord::Txt(
        "v=spf1 +all".into(),
    )]));
    let SpfStep::Done(verdict) = check.step() else {
        panic!("no verdict");
    };
    assert_eq!(verdict.result, SpfResult::Pass);
    assert_eq!(check.step(), SpfStep::Done(verdict));
    assert_eq!(check.lookups(), 1);
}

#[test]
#[should_panic(expected = "without a pending lookup")]
fn an_answer_nobody_asked_for_is_a_driver_bug() {
    let mut check = SpfCheck::new(
        request("192.0.2.1", "a@example.com", "x.example"),
        Identity::MailFrom,
    );
    check.answer(DnsAnswer::NotFound);
}

#[test]
fn results_have_the_rfc_8601_words() {
    let words: Vec<&str> = [
        SpfResult::None,
        SpfResult::Neutral,
        SpfResult::Pass,
        SpfResult::Fail,
        SpfResult::SoftFail,
        SpfResult::TempError,
        SpfResult::PermError,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    assert_eq!(
        words,
        [
            "none",
            "neutral",
            "pass",
            "fail",
            "softfail",
            "temperror",
            "permerror"
        ]
    );
}

#[test]
fn identity_domains_must_be_multi_label_names() {
    use super::super::eval::identity_domain;
    let rows: &[(&str, Option<&str>)] = &[
        ("example.com", Some("example.com")),
        ("Mail.EXAMPLE.com.", Some("mail.example.com")),
        ("_bounce.example.com", Some("_bounce.example.com")),
        ("bücher.example", Some("xn--bcher-kva.example")),
        ("localhost", None),
        ("[192.0.2.1]", None),
        ("192.0.2.1", None),
        ("a..example.com", None),
        ("", None),
        (".", None),
    ];
    for (raw, expected) in rows {
        assert_eq!(identity_domain(raw).as_deref(), *expected, "{raw:?}");
    }
    let label = "a".repeat(64);
    assert_eq!(identity_domain(&format!("{label}.example.com")), None);
}

#[test]
fn an_explanation_keeps_only_printable_ascii() {
    const ZONE: &[(&str, &[Rr])] = &[
        ("example.com", &[Txt(&["v=spf1 -all exp=why.example.com"])]),
        ("why.example.com", &[Txt(&["%{l} may not send"])]),
    ];
    let plain = check(
        ZONE,
        request("192.0.2.1", "bob@example.com", "x.example"),
        Identity::MailFrom,
    )
    .0;
    assert_eq!(plain.explanation.as_deref(), Some("bob may not send"));
    let odd = check(
        ZONE,
        request("192.0.2.1", "bøb@example.com", "x.example"),
        Identity::MailFrom,
    )
    .0;
    assert_eq!((odd.result, odd.explanation), (SpfResult::Fail, None));
}

/// Records shaped the way real zones get them wrong or odd.
const ODD: &[(&str, &[Rr])] = &[
    (
        "trailing.example.net",
        &[Txt(&["v=spf1 ip4:192.0.2.10 -all  "])],
    ),
    // A record split into strings is read joined; an empty TXT beside
    // it is no record at all.
    (
        "split.example.net",
        &[Txt(&["v=spf1 ip4:192.0", ".2.10 -all"]), Txt(&[])],
    ),
    ("tab.example.net", &[Txt(&["v=spf1 ip4:192.0.2.10\t-all"])]),
    (
        "newline.example.net",
        &[Txt(&["v=spf1 ip4:192.0.2.10\r\n-all"])],
    ),
    // The PTR name leads into a CNAME loop: its address lookup fails,
    // so the name is skipped (RFC 7208 5.5) and nothing matches.
    ("ptr.example.net", &[Txt(&["v=spf1 ptr"])]),
    ("10.2.0.192.in-addr.arpa", &[Ptr("host.ptr.example.net.")]),
    ("host.ptr.example.net", &[Cname("spin.example.net.")]),
    ("spin.example.net", &[Cname("SPIN.example.net.")]),
    // One record reached under two names (a CNAME alias) is still one
    // record each time it is read.
    (
        "twice.example.net",
        &[Txt(&[
            "v=spf1 include:real.example.net include:alias.example.net -all",
        ])],
    ),
    (
        "real.example.net",
        &[
            Txt(&["other text"]),
            Txt(&["v=spf1 ip4:198.51.100.0/24 ?all"]),
        ],
    ),
    ("alias.example.net", &[Cname("real.example.net")]),
];

fn odd(ip: &str, sender: &str) -> SpfVerdict {
    check(ODD, request(ip, sender, "x.example"), Identity::MailFrom).0
}

#[test]
fn trailing_spaces_and_split_strings_are_fine() {
    assert_eq!(
        odd("192.0.2.10", "a@trailing.example.net").result,
        SpfResult::Pass
    );
    assert_eq!(
        odd("192.0.2.11", "a@trailing.example.net").result,
        SpfResult::Fail
    );
    assert_eq!(
        odd("192.0.2.10", "a@split.example.net").result,
        SpfResult::Pass
    );
}

#[test]
fn terms_are_separated_by_spaces_only() {
    for sender in ["a@tab.example.net", "a@newline.example.net"] {
        assert_eq!(
            odd("192.0.2.10", sender).result,
            SpfResult::PermError,
            "{sender}"
        );
    }
}

#[test]
fn a_ptr_name_whose_lookup_fails_is_skipped() {
    let verdict = odd("192.0.2.10", "a@ptr.example.net");
    assert_eq!(
        (verdict.result, verdict.mechanism),
        (SpfResult::Neutral, None)
    );
}

#[test]
fn a_record_reached_through_an_alias_is_one_record() {
    let verdict = odd("192.0.2.27", "a@twice.example.net");
    assert_eq!(
        (verdict.result, verdict.mechanism.as_deref()),
        (SpfResult::Fail, Some("-all"))
    );
    let pass = odd("198.51.100.1", "a@twice.example.net");
    assert_eq!(pass.mechanism.as_deref(), Some("include:real.example.net"));
}
