use super::*;
use crate::address::{parse_forward_path, parse_reverse_path};
use std::collections::BTreeMap;

fn triplet(client: &str, from: &str, to: &str) -> Triplet {
    Triplet::new(
        client.parse().unwrap(),
        &parse_reverse_path(from, true).unwrap(),
        &parse_forward_path(to, true).unwrap(),
    )
}

fn policy() -> GreylistPolicy {
    GreylistPolicy {
        delay: Duration::from_secs(300),
        retry_window: Duration::from_secs(4 * 3600),
        expiry: Duration::from_secs(36 * 24 * 3600),
    }
}

const T0: i64 = 1_795_212_959;

fn at(seconds: i64) -> UnixTime {
    UnixTime(T0 + seconds)
}

fn defer(seconds: u64) -> GreylistVerdict {
    GreylistVerdict::Defer {
        retry_in: Duration::from_secs(seconds),
    }
}

#[test]
fn triplets_count_clients_by_network_and_ignore_case() {
    let rows = [
        ("192.0.2.7", "192.0.2.0/24"),
        ("::ffff:192.0.2.200", "192.0.2.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ];
    for (client, network) in rows {
        assert_eq!(
            triplet(client, "<a@x.test>", "<b@y.test>").network,
            network,
            "{client}"
        );
    }
    let one = triplet("192.0.2.7", "<Sender@X.test>", "<Bob@Example.test>");
    assert_eq!(
        one,
        triplet("192.0.2.99", "<sender@x.test>", "<bob@example.test>")
    );
    assert_eq!(
        one.to_string(),
        "(192.0.2.0/24, sender@x.test, bob@example.test)"
    );
    assert_eq!(triplet("192.0.2.7", "<>", "<b@y.test>").sender, "<>");
    assert_eq!(
        triplet("192.0.2.7", "<>", "<Postmaster>").recipient,
        "postmaster"
    );
}

/// (seconds after the first try, the verdict) for one triplet, in order.
#[test]
fn a_retry_after_the_delay_and_within_the_window_passes_and_is_remembered() {
    let rows: &[(i64, GreylistVerdict)] = &[
        (0, defer(300)),
        (60, defer(240)),
        (299, defer(1)),
        (300, GreylistVerdict::Pass),
        (301, GreylistVerdict::Pass),
        // Remembered: passes at once for as long as it keeps coming.
        (30 * 24 * 3600, GreylistVerdict::Pass),
        (60 * 24 * 3600, GreylistVerdict::Pass),
        // Not seen for more than the expiry: a stranger again.
        (97 * 24 * 3600, defer(300)),
    ];
    let mut greylist = Greylist::default();
    let one = triplet("192.0.2.7", "<a@x.test>", "<b@y.test>");
    for (seconds, verdict) in rows {
        assert_eq!(
            greylist.check(at(*seconds), &one, &policy()),
            *verdict,
            "at +{seconds}s"
        );
    }
}

#[test]
fn a_retry_after_the_window_starts_over() {
    let mut greylist = Greylist::default();
    let one = triplet("192.0.2.7", "<a@x.test>", "<b@y.test>");
    assert_eq!(greylist.check(at(0), &one, &policy()), defer(300));
    assert_eq!(greylist.check(at(5 * 3600), &one, &policy()), defer(300));
    assert_eq!(
        greylist.check(at(5 * 3600 + 299), &one, &policy()),
        defer(1)
    );
    assert_eq!(
        greylist.check(at(5 * 3600 + 300), &one, &policy()),
        GreylistVerdict::Pass
    );
}

#[test]
fn other_senders_recipients_and_networks_wait_on_their_own() {
    let mut greylist = Greylist::default();
    let one = triplet("192.0.2.7", "<a@x.test>", "<b@y.test>");
    greylist.check(at(0), &one, &policy());
    assert_eq!(
        greylist.check(at(400), &one, &policy()),
        GreylistVerdict::Pass
    );
    for other in [
        triplet("192.0.3.7", "<a@x.test>", "<b@y.test>"),
        triplet("192.0.2.7", "<c@x.test>", "<b@y.test>"),
        triplet("192.0.2.7", "<a@x.test>", "<d@y.test>"),
    ] {
        assert_eq!(
            greylist.check(at(400), &other, &policy()),
            defer(300),
            "{other}"
        );
    }
    // The same /24, another address: the same triplet.
    let pool = triplet("192.0.2.200", "<a@x.test>", "<b@y.test>");
    assert_eq!(
        greylist.check(at(500), &pool, &policy()),
        GreylistVerdict::Pass
    );
}

#[test]
fn peek_changes_nothing() {
    let mut greylist = Greylist::default();
    let one = triplet("192.0.2.7", "<a@x.test>", "<b@y.test>");
    assert_eq!(greylist.peek(at(0), &one, &policy()), defer(300));
    assert!(greylist.is_empty());
    greylist.check(at(0), &one, &policy());
    assert_eq!(greylist.peek(at(100), &one, &policy()), defer(200));
    assert_eq!(
        greylist.peek(at(300), &one, &policy()),
        GreylistVerdict::Pass
    );
    assert!(!greylist.entry(&one).unwrap().passed);
}

#[test]
fn expire_forgets_waiting_triplets_after_the_window_and_passed_ones_after_expiry() {
    let mut greylist = Greylist::default();
    let waiting = triplet("192.0.2.7", "<a@x.test>", "<b@y.test>");
    let passed = triplet("192.0.2.7", "<c@x.test>", "<b@y.test>");
    greylist.check(at(0), &waiting, &policy());
    greylist.check(at(0), &passed, &policy());
    greylist.check(at(300), &passed, &policy());
    greylist.expire(at(4 * 3600 + 1), &policy());
    assert_eq!(greylist.len(), 1);
    assert!(greylist.entry(&passed).is_some());
    greylist.expire(at(300 + 36 * 24 * 3600 + 1), &policy());
    assert!(greylist.is_empty());
}

#[test]
fn a_full_table_forgets_the_least_recently_seen_first() {
    let mut greylist = Greylist::default();
    for n in 0..GREYLIST_ENTRIES_MAX {
        let t = triplet("192.0.2.7", &format!("<s{n}@x.test>"), "<b@y.test>");
        greylist.check(at(n as i64), &t, &policy());
    }
    assert_eq!(greylist.len(), GREYLIST_ENTRIES_MAX);
    let newcomer = triplet("192.0.2.7", "<new@x.test>", "<b@y.test>");
    greylist.check(at(GREYLIST_ENTRIES_MAX as i64), &newcomer, &policy());
    assert!(greylist.len() <= GREYLIST_ENTRIES_MAX);
    assert!(greylist.entry(&newcomer).is_some());
    let oldest = triplet("192.0.2.7", "<s0@x.test>", "<b@y.test>");
    let newest = triplet(
        "192.0.2.7",
        &format!("<s{}@x.test>", GREYLIST_ENTRIES_MAX - 1),
        "<b@y.test>",
    );
    assert!(greylist.entry(&oldest).is_none(), "the oldest is forgotten");
    assert!(greylist.entry(&newest).is_some(), "the newest is kept");
}

#[test]
fn the_file_round_trips_and_damage_is_named() {
    let mut greylist = Greylist::default();
    let one = triplet("192.0.2.7", "<a@x.test>", "<b@y.test>");
    let two = triplet("2001:db8::1", "<>", "<\"odd name\"@y.test>");
    greylist.check(at(0), &one, &policy());
    greylist.check(at(10), &two, &policy());
    greylist.check(at(400), &one, &policy());
    let text = greylist.render();
    assert!(text.starts_with("postern-greylist 1\n"), "{text}");
    assert_eq!(Greylist::parse(&text).unwrap(), greylist);
    let rows = [
        ("", "line 1 is not \"postern-greylist 1\""),
        (
            "postern-greylist 1\n1\t2\tpassed\tn\ts\n",
            "line 2 is not a greylist entry",
        ),
        (
            "postern-greylist 1\nx\t2\tpassed\tn\ts\tr\n",
            "line 2 is not a greylist entry",
        ),
        (
            "postern-greylist 1\n1\t2\tmaybe\tn\ts\tr\n",
            "line 2 is not a greylist entry",
        ),
    ];
    for (text, error) in rows {
        assert_eq!(Greylist::parse(text).unwrap_err(), error, "{text:?}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a damaged file holds, reading it never panics, and
        /// what it accepts is within the bound and reads back the same.
        #[test]
        fn any_text_is_read_or_refused_without_panic(text in "postern-greylist 1\n(([0-9]{1,3}|x)\t[0-9]{1,3}\t(passed|waiting|x)\t[a-z0-9./]{0,6}\t[a-z<>@.]{0,6}\t[a-z@.]{0,6}\n){0,8}") {
            if let Ok(greylist) = Greylist::parse(&text) {
                prop_assert!(greylist.len() <= GREYLIST_ENTRIES_MAX);
                prop_assert_eq!(Greylist::parse(&greylist.render()).unwrap(), greylist);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(text in ".{0,200}") {
            let _ = Greylist::parse(&text);
        }

        /// However the tries of a few triplets interleave, a triplet
        /// passes only after the delay since its first try in the round.
        #[test]
        fn nothing_passes_before_the_delay(tries in proptest::collection::vec((0u8..3, 0i64..600), 1..40)) {
            let policy = policy();
            let mut greylist = Greylist::default();
            let mut now = T0;
            let mut first: BTreeMap<u8, i64> = BTreeMap::new();
            for (who, step) in tries {
                now += step;
                let t = triplet("192.0.2.7", &format!("<s{who}@x.test>"), "<b@y.test>");
                let verdict = greylist.check(UnixTime(now), &t, &policy);
                let began = *first.entry(who).or_insert(now);
                if verdict == GreylistVerdict::Pass {
                    prop_assert!(now - began >= 300, "passed {}s after the first try", now - began);
                }
            }
        }
    }
}

#[test]
fn a_control_character_never_breaks_the_file() {
    let odd = ReversePath::Mailbox(crate::address::Mailbox {
        local_part: "a\tb\nc".to_owned(),
        domain: "x.test".to_owned(),
    });
    let recipient = parse_forward_path("<b@y.test>", true).unwrap();
    let t = Triplet::new("192.0.2.7".parse().unwrap(), &odd, &recipient);
    assert!(!t.sender.chars().any(char::is_control), "{t}");
    let mut greylist = Greylist::default();
    greylist.check(at(0), &t, &policy());
    assert_eq!(Greylist::parse(&greylist.render()).unwrap(), greylist);
}
