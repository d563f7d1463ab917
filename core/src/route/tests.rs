use super::*;
use crate::address::parse_forward_path;
use crate::smtp::client::{RecipientResult, SessionFailure, Verdict};

fn smarthost(mode: SmarthostMode) -> Smarthost {
    Smarthost {
        host: "relay.isp.test".into(),
        port: 587,
        mode,
        credentials: None,
        tls: Default::default(),
        ca_file: None,
    }
}

fn delivered() -> Outcome {
    Outcome {
        session_failure: None,
        recipients: vec![RecipientResult {
            forward_path: parse_forward_path("<a@dest.test>", false).unwrap(),
            verdict: Verdict::Delivered,
            detail: "250 ok".into(),
        }],
    }
}

fn refused_greeting() -> Outcome {
    Outcome {
        session_failure: Some(SessionFailure {
            stage: "greeting",
            detail: "421 busy".into(),
            permanent: false,
        }),
        recipients: vec![],
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn deliver_to(attempt: &Attempt) -> (SocketAddr, Leg) {
    match attempt.step() {
        Step::Deliver { address, leg, .. } => (address, leg),
        other => panic!("expected Deliver, got {other:?}"),
    }
}

#[test]
fn mx_records_are_tried_in_preference_order_then_each_address() {
    let mut attempt = Attempt::new("Dest.test", None, 25, 1);
    assert_eq!(
        attempt.step(),
        Step::LookUpMx {
            domain: "dest.test".into()
        }
    );
    attempt.mx_answer(MxAnswer::Records(vec![
        (20, "mx2.dest.test.".into()),
        (10, "mx1.dest.test.".into()),
    ]));
    assert_eq!(
        attempt.step(),
        Step::LookUpHost {
            host: "mx1.dest.test".into()
        }
    );
    attempt.host_answer(HostAnswer::Addresses(vec![
        ip("192.0.2.1"),
        ip("2001:db8::1"),
    ]));
    assert_eq!(deliver_to(&attempt).0, "192.0.2.1:25".parse().unwrap());
    attempt.connect_failed("connection refused");
    assert_eq!(deliver_to(&attempt).0, "[2001:db8::1]:25".parse().unwrap());
    attempt.session_ended(refused_greeting());
    assert_eq!(
        attempt.step(),
        Step::LookUpHost {
            host: "mx2.dest.test".into()
        }
    );
    attempt.host_answer(HostAnswer::Addresses(vec![ip("192.0.2.2")]));
    attempt.session_ended(delivered());
    match attempt.step() {
        Step::Finished(AttemptResult::Session { host, leg, .. }) => {
            assert_eq!((host.as_str(), leg), ("mx2.dest.test", Leg::Direct));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn equal_preferences_are_shuffled_by_the_seed_and_reproducibly() {
    let first_host = |seed| {
        let mut attempt = Attempt::new("dest.test", None, 25, seed);
        attempt.mx_answer(MxAnswer::Records(vec![
            (10, "a.dest.test".into()),
            (10, "b.dest.test".into()),
            (10, "c.dest.test".into()),
            (5, "best.dest.test".into()),
        ]));
        attempt.host_answer(HostAnswer::NotFound);
        match attempt.step() {
            Step::LookUpHost { host } => host,
            other => panic!("{other:?}"),
        }
    };
    let firsts: std::collections::BTreeSet<String> = (0..40).map(first_host).collect();
    assert_eq!(
        firsts.len(),
        3,
        "every equal host comes first for some seed: {firsts:?}"
    );
    assert_eq!(first_host(7), first_host(7));
}

#[test]
fn no_mx_means_the_domain_itself_and_an_ip_target_needs_no_lookup() {
    let mut attempt = Attempt::new("dest.test", None, 2525, 1);
    attempt.mx_answer(MxAnswer::NoRecords);
    assert_eq!(
        attempt.step(),
        Step::LookUpHost {
            host: "dest.test".into()
        }
    );
    let mut literal = Attempt::new("dest.test", None, 25, 1);
    literal.mx_answer(MxAnswer::Records(vec![(0, "127.0.0.2".into())]));
    assert_eq!(deliver_to(&literal).0, "127.0.0.2:25".parse().unwrap());
}

#[test]
fn a_null_mx_is_permanent_even_with_a_fallback_smarthost() {
    let mut attempt = Attempt::new(
        "nullmx.test",
        Some(&smarthost(SmarthostMode::Fallback)),
        25,
        1,
    );
    attempt.mx_answer(MxAnswer::Records(vec![(0, ".".into())]));
    match attempt.step() {
        Step::Finished(AttemptResult::Undeliverable { detail, permanent }) => {
            assert!(permanent);
            assert!(detail.starts_with("556 5.1.10"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_a_smarthost_dns_failures_end_the_attempt() {
    let mut missing = Attempt::new("nowhere.test", None, 25, 1);
    missing.mx_answer(MxAnswer::NoSuchDomain);
    assert!(matches!(
        missing.step(),
        Step::Finished(AttemptResult::Undeliverable {
            permanent: true,
            ..
        })
    ));
    let mut flaky = Attempt::new("dest.test", None, 25, 1);
    flaky.mx_answer(MxAnswer::TemporaryFailure("SERVFAIL".into()));
    assert!(matches!(
        flaky.step(),
        Step::Finished(AttemptResult::Undeliverable {
            permanent: false,
            ..
        })
    ));
}

#[test]
fn exclusive_never_goes_direct() {
    let attempt = Attempt::new(
        "dest.test",
        Some(&smarthost(SmarthostMode::Exclusive)),
        25,
        1,
    );
    assert_eq!(
        attempt.step(),
        Step::LookUpHost {
            host: "relay.isp.test".into()
        }
    );
    assert_eq!(attempt.destination(), "relay.isp.test:587");
    let mut attempt = attempt;
    attempt.host_answer(HostAnswer::Addresses(vec![ip("127.0.0.9")]));
    assert_eq!(
        deliver_to(&attempt),
        ("127.0.0.9:587".parse().unwrap(), Leg::Smarthost)
    );
    attempt.connect_failed("refused");
    assert!(matches!(
        attempt.step(),
        Step::Finished(AttemptResult::Undeliverable {
            permanent: false,
            ..
        })
    ));
}

/// Each case of "direct delivery fails" sends the message to the
/// smarthost; a recipient's 5xx does not.
#[test]
fn fallback_takes_the_smarthost_only_when_direct_delivery_fails() {
    let fallback = smarthost(SmarthostMode::Fallback);
    let reaches_smarthost = |attempt: &Attempt| matches!(attempt.step(), Step::LookUpHost { ref host } if host == "relay.isp.test");
    let mut no_domain = Attempt::new("dest.test", Some(&fallback), 25, 1);
    no_domain.mx_answer(MxAnswer::NoSuchDomain);
    assert!(reaches_smarthost(&no_domain), "no MX/host found");

    let mut dns_down = Attempt::new("dest.test", Some(&fallback), 25, 1);
    dns_down.mx_answer(MxAnswer::TemporaryFailure("timeout".into()));
    assert!(reaches_smarthost(&dns_down), "DNS failure");

    let mut refused = Attempt::new("dest.test", Some(&fallback), 25, 1);
    refused.mx_answer(MxAnswer::Records(vec![
        (10, "127.0.0.2".into()),
        (20, "127.0.0.3".into()),
    ]));
    refused.connect_failed("connection refused");
    refused.connect_failed("timed out");
    assert!(reaches_smarthost(&refused), "every MX refused or silent");

    let mut busy = Attempt::new("dest.test", Some(&fallback), 25, 1);
    busy.mx_answer(MxAnswer::Records(vec![(10, "127.0.0.2".into())]));
    busy.session_ended(refused_greeting());
    assert!(reaches_smarthost(&busy), "4xx before MAIL");

    let mut bounced = Attempt::new("dest.test", Some(&fallback), 25, 1);
    bounced.mx_answer(MxAnswer::Records(vec![(10, "127.0.0.2".into())]));
    let mut outcome = delivered();
    outcome.recipients[0].verdict = Verdict::Failed;
    bounced.session_ended(outcome);
    assert!(
        matches!(
            bounced.step(),
            Step::Finished(AttemptResult::Session {
                leg: Leg::Direct,
                ..
            })
        ),
        "a 5xx for a recipient is the destination's answer"
    );
    assert_eq!(bounced.destination(), "dest.test");
}

#[test]
fn an_address_literal_is_delivered_to_its_address_without_dns() {
    let rows: &[(&str, &str)] = &[
        ("[192.0.2.1]", "192.0.2.1:25"),
        ("[IPv6:2001:db8::1]", "[2001:db8::1]:25"),
        // Groups are keyed by the lower-cased domain.
        ("[ipv6:::1]", "[::1]:25"),
    ];
    for &(domain, address) in rows {
        let attempt = Attempt::new(domain, None, 25, 1);
        match attempt.step() {
            Step::Deliver {
                address: to,
                host,
                leg,
            } => {
                assert_eq!(to, address.parse().unwrap(), "{domain}");
                assert_eq!(host, domain.to_ascii_lowercase());
                assert_eq!(leg, Leg::Direct);
            }
            other => panic!("{domain}: expected Deliver, got {other:?}"),
        }
        assert_eq!(attempt.destination(), domain.to_ascii_lowercase());
    }
}

#[test]
fn an_address_literal_fails_like_any_host_and_falls_back_to_the_smarthost() {
    let mut alone = Attempt::new("[192.0.2.1]", None, 25, 1);
    alone.connect_failed("connection refused");
    assert_eq!(
        alone.step(),
        Step::Finished(AttemptResult::Undeliverable {
            detail: "[192.0.2.1] [192.0.2.1]: connection refused".into(),
            permanent: false,
        })
    );
    let fallback = smarthost(SmarthostMode::Fallback);
    let mut attempt = Attempt::new("[192.0.2.1]", Some(&fallback), 25, 1);
    attempt.connect_failed("connection refused");
    assert_eq!(
        attempt.step(),
        Step::LookUpHost {
            host: "relay.isp.test".into()
        }
    );
}

#[test]
fn a_general_or_malformed_address_literal_cannot_be_routed() {
    for domain in ["[x-tag:whatever]", "[999.1.1.1]", "[IPv6:192.0.2.1]"] {
        let attempt = Attempt::new(domain, None, 25, 1);
        match attempt.step() {
            Step::Finished(AttemptResult::Undeliverable { detail, permanent }) => {
                assert!(permanent, "{domain}");
                assert!(detail.starts_with("553 5.1.3"), "{detail}");
            }
            other => panic!("{domain}: {other:?}"),
        }
    }
    assert_eq!(literal_address("dest.test"), None);
    assert_eq!(literal_address("192.0.2.1"), None, "brackets required");
}
