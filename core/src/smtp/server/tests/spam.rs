//! Spam control in the machine: blocklists at connect and at MAIL, the
//! greylist at RCPT, and who is exempt.

use super::harness::{Harness, config};
use crate::auth::AuthPolicy;
use crate::policy::RelayPolicy;
use crate::smtp::server::SessionConfig;
use crate::spam::{Blocklists, Greylist, GreylistPolicy, LookupAnswer, SpamPolicy, Zone, ZoneKind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeMap;
use std::time::Duration;

fn zone(name: &str, kind: ZoneKind, weight: u32) -> Zone {
    Zone {
        zone: name.to_owned(),
        kind,
        weight,
        codes: Vec::new(),
    }
}

fn blocklisting() -> SessionConfig {
    SessionConfig {
        spam: SpamPolicy {
            blocklists: Blocklists {
                zones: vec![
                    zone("zen.example.test", ZoneKind::Ip, 1),
                    zone("dbl.example.test", ZoneKind::Domain, 1),
                ],
                threshold: 1,
            },
            greylist: None,
            ..SpamPolicy::default()
        },
        ..config()
    }
}

fn greylisting() -> SessionConfig {
    SessionConfig {
        spam: SpamPolicy {
            blocklists: Blocklists::default(),
            greylist: Some(GreylistPolicy {
                delay: Duration::from_secs(60),
                ..GreylistPolicy::default()
            }),
            ..SpamPolicy::default()
        },
        ..config()
    }
}

fn listed() -> LookupAnswer {
    LookupAnswer::Listed(vec!["127.0.0.2".parse().unwrap()])
}

fn dns(rows: &[(&str, LookupAnswer)]) -> BTreeMap<String, LookupAnswer> {
    rows.iter()
        .map(|(name, answer)| (name.to_string(), answer.clone()))
        .collect()
}

#[test]
fn a_listed_client_is_greeted_with_554_and_then_only_quit_is_answered() {
    let mut harness = Harness::with_world(
        blocklisting(),
        "192.0.2.7:40000",
        dns(&[("7.2.0.192.zen.example.test", listed())]),
        Greylist::default(),
    );
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<a@remote.test>");
    harness.send_line("QUIT");
    assert!(harness.closed);
    assert!(
        harness.transcript.contains(
            "S: 554 5.7.1 Service unavailable; client [192.0.2.7] listed at zen.example.test"
        ),
        "{}",
        harness.transcript
    );
    assert!(
        !harness.transcript.contains("S: 220"),
        "{}",
        harness.transcript
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn an_unlisted_client_or_a_failed_lookup_is_served() {
    for answer in [
        LookupAnswer::NotListed,
        LookupAnswer::Failed("timed out".into()),
        // An error code from the list, not a listing.
        LookupAnswer::Listed(vec!["127.255.255.254".parse().unwrap()]),
    ] {
        let mut harness = Harness::with_world(
            blocklisting(),
            "192.0.2.7:40000",
            dns(&[("7.2.0.192.zen.example.test", answer.clone())]),
            Greylist::default(),
        );
        assert!(
            harness.transcript.contains("S: 220 mx.example.test ESMTP"),
            "{answer:?}\n{}",
            harness.transcript
        );
        harness.send_line("EHLO client.test");
        harness.send_line("MAIL FROM:<a@remote.test>");
        assert!(
            harness.transcript.contains("S: 250 2.1.0 Ok"),
            "{}",
            harness.transcript
        );
        if !matches!(answer, LookupAnswer::NotListed) {
            assert!(
                harness
                    .transcript
                    .contains("event: blocklist zen.example.test lookup failed, not counted"),
                "{}",
                harness.transcript
            );
        }
    }
}

#[test]
fn a_listed_sender_domain_is_refused_at_mail_and_another_sender_is_accepted() {
    let mut harness = Harness::with_world(
        blocklisting(),
        "192.0.2.7:40000",
        dns(&[("spam.test.dbl.example.test", listed())]),
        Greylist::default(),
    );
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<seller@Spam.test>");
    harness.send_line("MAIL FROM:<>");
    harness.send_line("RSET");
    harness.send_line("MAIL FROM:<friend@good.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    assert!(
        harness.transcript.contains(
            "S: 554 5.7.1 Service unavailable; sender domain Spam.test listed at dbl.example.test"
        ),
        "{}",
        harness.transcript
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn own_networks_and_logged_in_clients_are_not_looked_up() {
    // The client is in the instance's relay networks.
    let own = SessionConfig {
        relay: RelayPolicy::Networks(vec!["192.0.2.0/24".parse().unwrap()]),
        ..blocklisting()
    };
    let listing = dns(&[
        ("7.2.0.192.zen.example.test", listed()),
        ("spam.test.dbl.example.test", listed()),
    ]);
    let mut harness =
        Harness::with_world(own, "192.0.2.7:40000", listing.clone(), Greylist::default());
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<seller@spam.test>");
    assert!(
        !harness.transcript.contains("look up"),
        "{}",
        harness.transcript
    );
    assert!(harness.transcript.contains("S: 250 2.1.0 Ok"));

    // A submission client is looked up at connect (it has not logged in
    // yet) but not at MAIL once it has.
    let submission = SessionConfig {
        relay: RelayPolicy::Authenticated,
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            required: true,
            ..AuthPolicy::default()
        },
        ..blocklisting()
    };
    let mut clean = listing;
    clean.remove("7.2.0.192.zen.example.test");
    let mut harness =
        Harness::with_world(submission, "192.0.2.7:40000", clean, Greylist::default());
    harness.send_line("EHLO client.test");
    let plain = BASE64.encode("\0alice@example.test\0correct horse");
    harness.send_secret_line(&format!("AUTH PLAIN {plain}"));
    harness.send_line("MAIL FROM:<alice@example.test>");
    assert!(
        harness
            .transcript
            .contains("look up 7.2.0.192.zen.example.test")
    );
    assert!(
        !harness.transcript.contains("look up example.test.dbl"),
        "{}",
        harness.transcript
    );
    assert!(
        harness.transcript.contains("S: 250 2.1.0 Ok"),
        "{}",
        harness.transcript
    );
}

#[test]
fn greylisting_defers_a_first_try_and_accepts_a_retry_after_the_delay() {
    let mut harness = Harness::with_world(
        greylisting(),
        "192.0.2.7:40000",
        BTreeMap::new(),
        Greylist::default(),
    );
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<friend@remote.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    harness.send_line("RCPT TO:<nobody@example.test>");
    harness.send_line("DATA");
    harness.advance_quietly(Duration::from_secs(30));
    harness.send_line("RCPT TO:<alice@example.test>");
    harness.advance_quietly(Duration::from_secs(30));
    harness.send_line("RCPT TO:<alice@example.test>");
    harness.send_line("RCPT TO:<bob@example.test>");
    harness.send_line("QUIT");
    assert!(
        harness
            .transcript
            .contains("S: 451 4.7.1 Greylisted, try again in 60 seconds"),
        "{}",
        harness.transcript
    );
    insta::assert_snapshot!(harness.transcript);
    // The greylist does not count as the client's errors: ten deferred
    // recipients (max_errors is 5) do not close the session.
    let mut harness = Harness::with_world(
        SessionConfig {
            max_recipients: 20,
            ..greylisting()
        },
        "192.0.2.7:40000",
        BTreeMap::new(),
        Greylist::default(),
    );
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<friend@remote.test>");
    for _ in 0..10 {
        harness.send_line("RCPT TO:<alice@example.test>");
    }
    assert!(!harness.closed, "{}", harness.transcript);
}

#[test]
fn greylisting_spares_own_networks_and_logged_in_clients() {
    let own = SessionConfig {
        relay: RelayPolicy::Any,
        ..greylisting()
    };
    let mut harness =
        Harness::with_world(own, "192.0.2.7:40000", BTreeMap::new(), Greylist::default());
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<friend@remote.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    assert!(
        harness.transcript.contains("S: 250 2.1.5 Ok"),
        "{}",
        harness.transcript
    );
    assert!(harness.greylist.is_empty());
}
