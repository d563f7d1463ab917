use super::*;
use crate::address::parse_forward_path;
use crate::smtp::client::{ClientTimeouts, RecipientResult, SessionFailure, TlsPolicy, Verdict};
use std::time::Duration;

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

fn refused_starttls() -> Outcome {
    Outcome {
        session_failure: Some(SessionFailure {
            stage: "STARTTLS",
            detail: "the TLS handshake failed: received corrupt message".into(),
            permanent: false,
        }),
        recipients: vec![],
    }
}

fn deliver_step(attempt: &Attempt) -> (SocketAddr, TlsPolicy) {
    match attempt.step() {
        Step::Deliver { address, tls, .. } => (address, tls),
        other => panic!("expected Deliver, got {other:?}"),
    }
}

fn undeliverable(attempt: &Attempt) -> (String, bool) {
    match attempt.step() {
        Step::Finished(AttemptResult::Undeliverable { detail, permanent }) => (detail, permanent),
        other => panic!("expected Undeliverable, got {other:?}"),
    }
}

/// This server listens on 127.0.0.1:25 and on every interface at 2525;
/// the host also has 192.0.2.7.
fn routing_here(smarthost: Option<&Smarthost>, mx_port: u16) -> Routing {
    let host = crate::bind::HostAddresses {
        networks: vec![crate::policy::Network::host(ip("192.0.2.7"))],
    };
    Routing {
        ourselves: Ourselves::new([(Some(ip("127.0.0.1")), 25), (None, 2525)], host),
        ..Routing::new(smarthost, mx_port)
    }
}

/// RFC 5321 5.1: the best exchanger is ourselves: a permanent 5.4.6, the
/// smarthost not tried, nothing connected.
#[test]
fn an_exchanger_that_is_ourselves_is_a_permanent_loop() {
    let fallback = smarthost(SmarthostMode::Fallback);
    type Row<'a> = (
        &'a str,
        Option<&'a Smarthost>,
        u16,
        MxAnswer,
        Option<HostAnswer>,
    );
    let rows: &[Row] = &[
        (
            "best MX named, on loopback",
            None,
            25,
            MxAnswer::Records(vec![
                (10, "mx.dest.test".into()),
                (20, "mx2.dest.test".into()),
            ]),
            Some(HostAnswer::Addresses(vec![ip("127.0.0.1")])),
        ),
        (
            "an address literal MX, with a fallback smarthost",
            Some(&fallback),
            25,
            MxAnswer::Records(vec![(0, "127.0.0.1".into())]),
            None,
        ),
        (
            "no MX: the domain's own address is this host's, wildcard listener",
            None,
            2525,
            MxAnswer::NoRecords,
            Some(HostAnswer::Addresses(vec![
                ip("192.0.2.8"),
                ip("192.0.2.7"),
            ])),
        ),
        (
            "the unspecified address",
            None,
            2525,
            MxAnswer::Records(vec![(5, "0.0.0.0".into())]),
            None,
        ),
    ];
    for (case, smarthost, port, mx, host) in rows {
        let mut attempt = Attempt::start("Dest.test", &routing_here(*smarthost, *port), 1);
        attempt.mx_answer(mx.clone());
        if let Some(host) = host {
            attempt.host_answer(host.clone());
        }
        let (detail, permanent) = undeliverable(&attempt);
        assert!(permanent, "{case}");
        assert_eq!(
            detail, "554 5.4.6 mail for dest.test loops back to myself",
            "{case}"
        );
    }
}

#[test]
fn our_address_on_another_port_or_another_address_is_not_a_loop() {
    let mut other_port = Attempt::start("dest.test", &routing_here(None, 26), 1);
    other_port.mx_answer(MxAnswer::Records(vec![(10, "127.0.0.1".into())]));
    assert_eq!(deliver_to(&other_port).0, "127.0.0.1:26".parse().unwrap());
    let mut other_address = Attempt::start("dest.test", &routing_here(None, 25), 1);
    other_address.mx_answer(MxAnswer::Records(vec![(10, "127.0.0.2".into())]));
    assert_eq!(
        deliver_to(&other_address).0,
        "127.0.0.2:25".parse().unwrap()
    );
}

/// A backup exchanger that is ourselves: the better one was tried and
/// failed, so the message waits for it; ours and worse are never tried.
#[test]
fn as_a_backup_exchanger_we_defer_and_try_nothing_worse() {
    let mut attempt = Attempt::start("dest.test", &routing_here(None, 25), 1);
    attempt.mx_answer(MxAnswer::Records(vec![
        (10, "192.0.2.50".into()),
        (20, "backup.dest.test".into()),
        (30, "192.0.2.51".into()),
    ]));
    attempt.connect_failed("connection refused");
    attempt.host_answer(HostAnswer::Addresses(vec![ip("127.0.0.1")]));
    let (detail, permanent) = undeliverable(&attempt);
    assert!(!permanent);
    assert!(
        detail.starts_with(
            "192.0.2.50 [192.0.2.50]: connection refused; backup.dest.test is this server"
        ),
        "{detail}"
    );
}

#[test]
fn a_smarthost_that_is_ourselves_is_a_permanent_loop() {
    let mut relay = smarthost(SmarthostMode::Exclusive);
    relay.host = "127.0.0.1".into();
    relay.port = 25;
    let attempt = Attempt::start("dest.test", &routing_here(Some(&relay), 25), 1);
    let (detail, permanent) = undeliverable(&attempt);
    assert!(permanent);
    assert!(
        detail.starts_with(
            "554 5.4.6 mail for dest.test loops back to myself (the smarthost 127.0.0.1"
        ),
        "{detail}"
    );
}

/// Postfix's limits: 5 addresses, 2 sessions, per leg; the smarthost leg
/// still follows.
#[test]
fn addresses_and_sessions_per_attempt_are_capped() {
    let many: Vec<IpAddr> = (1..=9).map(|i| ip(&format!("192.0.2.{i}"))).collect();
    // Every address refuses: five are tried.
    let mut refused = Attempt::new("dest.test", None, 25, 1);
    refused.mx_answer(MxAnswer::Records(vec![(10, "mx.dest.test".into())]));
    refused.host_answer(HostAnswer::Addresses(many.clone()));
    let mut tried = 0;
    while let Step::Deliver { .. } = refused.step() {
        tried += 1;
        refused.connect_failed("connection refused");
    }
    assert_eq!(tried, 5);
    let (detail, _) = undeliverable(&refused);
    assert!(
        detail.ends_with("gave up after 5 addresses (max_addresses)"),
        "{detail}"
    );

    // Every session fails at the greeting: two run, then the smarthost.
    let fallback = smarthost(SmarthostMode::Fallback);
    let mut busy = Attempt::new("dest.test", Some(&fallback), 25, 1);
    busy.mx_answer(MxAnswer::Records(vec![(10, "mx.dest.test".into())]));
    busy.host_answer(HostAnswer::Addresses(many));
    busy.session_ended(refused_greeting());
    busy.session_ended(refused_greeting());
    assert_eq!(
        busy.step(),
        Step::LookUpHost {
            host: "relay.isp.test".into()
        }
    );
}

#[test]
fn mx_hosts_looked_up_are_capped_too() {
    let records: Vec<(u16, String)> = (0..50).map(|i| (i, format!("mx{i}.dest.test"))).collect();
    let mut attempt = Attempt::new("dest.test", None, 25, 1);
    attempt.mx_answer(MxAnswer::Records(records));
    let mut lookups = 0;
    while let Step::LookUpHost { .. } = attempt.step() {
        lookups += 1;
        attempt.host_answer(HostAnswer::NotFound);
    }
    assert_eq!(lookups, 5);
}

/// Each failure is bounded, and so is their sum: the first and the last
/// are kept.
#[test]
fn the_failure_detail_is_bounded_and_keeps_the_first_and_last() {
    let routing = Routing {
        max_addresses: 100,
        max_sessions: 100,
        ..Routing::new(None, 25)
    };
    let mut attempt = Attempt::start("dest.test", &routing, 1);
    attempt.mx_answer(MxAnswer::Records(vec![(10, "mx.dest.test".into())]));
    let addresses: Vec<IpAddr> = (1..=60).map(|i| ip(&format!("192.0.2.{i}"))).collect();
    attempt.host_answer(HostAnswer::Addresses(addresses));
    let huge = "x".repeat(400_000);
    attempt.connect_failed(&format!("first {huge}"));
    for _ in 0..58 {
        attempt.connect_failed(&huge);
    }
    attempt.connect_failed("the last one");
    let (detail, _) = undeliverable(&attempt);
    assert!(
        detail.len() <= crate::limits::ATTEMPT_DETAIL_BYTES_MAX,
        "{}",
        detail.len()
    );
    assert!(
        detail.starts_with("mx.dest.test [192.0.2.1]: first xxx"),
        "{detail}"
    );
    assert!(detail.contains("; ... 58 more ...; "), "{detail}");
    assert!(
        detail.ends_with("mx.dest.test [192.0.2.60]: the last one"),
        "{detail}"
    );
    // A few short failures are all kept.
    let mut few = Attempt::new("dest.test", None, 25, 1);
    few.mx_answer(MxAnswer::Records(vec![
        (10, "192.0.2.1".into()),
        (20, "192.0.2.2".into()),
    ]));
    few.connect_failed("refused");
    few.connect_failed("timed out");
    assert_eq!(
        undeliverable(&few).0,
        "192.0.2.1 [192.0.2.1]: refused; 192.0.2.2 [192.0.2.2]: timed out"
    );
}

/// A failed TLS handshake with an MX: the same address once more in
/// clear (opportunistic TLS); a second failure moves on.
#[test]
fn a_failed_handshake_is_retried_once_in_clear() {
    let mut attempt = Attempt::new("dest.test", None, 25, 1);
    attempt.mx_answer(MxAnswer::Records(vec![
        (10, "192.0.2.1".into()),
        (20, "192.0.2.2".into()),
    ]));
    let first = "192.0.2.1:25".parse().unwrap();
    assert_eq!(deliver_step(&attempt), (first, TlsPolicy::Opportunistic));
    attempt.session_ended(refused_starttls());
    assert_eq!(deliver_step(&attempt), (first, TlsPolicy::Never));
    attempt.session_ended(refused_greeting());
    assert_eq!(
        deliver_step(&attempt),
        ("192.0.2.2:25".parse().unwrap(), TlsPolicy::Opportunistic)
    );
    attempt.session_ended(delivered());
    assert!(matches!(
        attempt.step(),
        Step::Finished(AttemptResult::Session { .. })
    ));
}

#[test]
fn a_smarthost_with_required_tls_is_never_tried_in_clear() {
    let mut relay = smarthost(SmarthostMode::Exclusive);
    relay.tls = TlsPolicy::Required;
    let mut attempt = Attempt::new("dest.test", Some(&relay), 25, 1);
    attempt.host_answer(HostAnswer::Addresses(vec![ip("192.0.2.9")]));
    assert_eq!(deliver_step(&attempt).1, TlsPolicy::Required);
    attempt.session_ended(refused_starttls());
    let (detail, permanent) = undeliverable(&attempt);
    assert!(!permanent);
    assert!(
        detail.contains("STARTTLS: the TLS handshake failed"),
        "{detail}"
    );
}

#[test]
fn a_deadline_ends_the_attempt_with_a_deferral() {
    let mut attempt = Attempt::new(
        "dest.test",
        Some(&smarthost(SmarthostMode::Fallback)),
        25,
        1,
    );
    attempt.mx_answer(MxAnswer::Records(vec![(10, "192.0.2.1".into())]));
    attempt.timed_out(Duration::from_secs(42));
    assert_eq!(
        undeliverable(&attempt),
        ("attempt timed out after 42s".to_owned(), false)
    );
}

#[test]
fn the_default_deadline_grows_with_the_message_and_its_recipients() {
    let timeouts = ClientTimeouts::default();
    let connect = Duration::from_secs(30);
    let minutes = |m: u64| Duration::from_secs(60 * m) + connect;
    let rows = [
        (0, 1, minutes(5 + 30 + 2 + 3 + 10)),
        (1024 * 1024, 1, minutes(50)),
        (1024 * 1024 + 1, 1, minutes(53)),
        (25 * 1024 * 1024, 1, minutes(50 + 24 * 3)),
        (1000, 3, minutes(60)),
    ];
    for (size, recipients, expected) in rows {
        assert_eq!(
            attempt_timeout(connect, &timeouts, size, recipients),
            expected,
            "{size} octets to {recipients}"
        );
    }
    assert_eq!(
        attempt_timeout(connect, &timeouts, u64::MAX, usize::MAX),
        crate::limits::ATTEMPT_TIMEOUT_MAX
    );
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
                ..
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

/// When direct delivery fails and the smarthost does too, each leg's
/// failure is labelled, so the deferral says which leg said what; the
/// reason the direct leg failed is there for the log before the fallback.
#[test]
fn when_both_legs_fail_each_is_labelled() {
    let fallback = smarthost(SmarthostMode::Fallback);
    let mut attempt = Attempt::new("dest.test", Some(&fallback), 25, 1);
    assert_eq!(attempt.fallback_reason(), None);
    attempt.mx_answer(MxAnswer::NoSuchDomain);
    assert_eq!(
        attempt.fallback_reason(),
        Some("550 5.1.2 domain dest.test does not exist")
    );
    attempt.host_answer(HostAnswer::Addresses(vec![ip("127.0.0.9")]));
    attempt.connect_failed("connection refused");
    let (detail, permanent) = undeliverable(&attempt);
    assert!(!permanent, "the smarthost may answer later");
    assert_eq!(
        detail,
        "direct: 550 5.1.2 domain dest.test does not exist; \
         smarthost: relay.isp.test [127.0.0.9]: connection refused"
    );
}

/// A smarthost's refusal of a recipient after a fallback keeps the direct
/// leg's reason beside it; a delivery is not relabelled.
#[test]
fn a_smarthost_refusal_after_a_fallback_names_both_legs() {
    let fallback = smarthost(SmarthostMode::Fallback);
    let mut attempt = Attempt::new("dest.test", Some(&fallback), 25, 1);
    attempt.mx_answer(MxAnswer::TemporaryFailure("SERVFAIL".into()));
    attempt.host_answer(HostAnswer::Addresses(vec![ip("127.0.0.9")]));
    let mut outcome = delivered();
    outcome.recipients[0].verdict = Verdict::Deferred;
    outcome.recipients[0].detail = "451 4.3.0 try later".into();
    outcome.recipients.push(delivered().recipients.remove(0));
    attempt.session_ended(outcome);
    match attempt.step() {
        Step::Finished(AttemptResult::Session { outcome, leg, .. }) => {
            assert_eq!(leg, Leg::Smarthost);
            assert_eq!(
                outcome.recipients[0].detail,
                "direct: MX lookup for dest.test failed: SERVFAIL; smarthost: 451 4.3.0 try later"
            );
            assert_eq!(outcome.recipients[1].detail, "250 ok");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn labelled_legs_stay_within_the_detail_limit() {
    let long = "x".repeat(crate::limits::ATTEMPT_DETAIL_BYTES_MAX);
    let text = label_legs(&long, &long);
    assert!(
        text.len() <= crate::limits::ATTEMPT_DETAIL_BYTES_MAX,
        "{}",
        text.len()
    );
    assert!(text.starts_with("direct: xx") && text.contains("...; smarthost: xx"));
    assert_eq!(label_legs("a", "b"), "direct: a; smarthost: b");
}

/// A connection may carry the next message to the same destination only
/// where a new attempt would go first, as it would go there.
#[test]
fn only_a_first_leg_connection_with_its_own_tls_is_reused() {
    let exclusive = smarthost(SmarthostMode::Exclusive);
    let mut to_smarthost = Attempt::new("dest.test", Some(&exclusive), 25, 1);
    to_smarthost.host_answer(HostAnswer::Addresses(vec![ip("127.0.0.9")]));
    assert_eq!(
        to_smarthost.reuse_key().as_deref(),
        Some("relay.isp.test:587"),
        "every domain shares the exclusive smarthost's connections"
    );

    let mut direct = Attempt::new("Dest.Test", None, 25, 1);
    assert_eq!(direct.reuse_key(), Some("dest.test".to_owned()));
    direct.mx_answer(MxAnswer::Records(vec![(10, "127.0.0.2".into())]));
    assert_eq!(direct.reuse_key(), Some("dest.test".to_owned()));

    // Opportunistic TLS failed in the handshake: the address again in
    // clear, whose connection is not reused.
    direct.session_ended(refused_starttls());
    assert_eq!(deliver_step(&direct).1, TlsPolicy::Never);
    assert_eq!(direct.reuse_key(), None);

    // Direct delivery failed: the fallback smarthost's connection is not
    // where the next message to the domain would go first.
    let fallback = smarthost(SmarthostMode::Fallback);
    let mut fell_back = Attempt::new("dest.test", Some(&fallback), 25, 1);
    assert_eq!(fell_back.reuse_key(), Some("dest.test".to_owned()));
    fell_back.mx_answer(MxAnswer::NoSuchDomain);
    fell_back.host_answer(HostAnswer::Addresses(vec![ip("127.0.0.9")]));
    assert_eq!(deliver_to(&fell_back).1, Leg::Smarthost);
    assert_eq!(fell_back.reuse_key(), None);
}
