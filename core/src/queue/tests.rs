use super::*;
use crate::address::{parse_forward_path, parse_reverse_path};
use crate::envelope::{ClientInfo, LocalMailbox, Recipient};
use crate::smtp::server::BodyType;

const ARRIVED: UnixTime = UnixTime(1_795_212_959);
const MINUTE: i64 = 60;

fn envelope(recipients: &[(&str, bool)]) -> Envelope {
    Envelope {
        reverse_path: parse_reverse_path("<sender@origin.test>", false).unwrap(),
        recipients: recipients
            .iter()
            .map(|(address, local)| Recipient {
                forward_path: parse_forward_path(&format!("<{address}>"), false).unwrap(),
                destination: if *local {
                    Destination::Local(LocalMailbox {
                        domain: "here.test".into(),
                        user: "alice".into(),
                    })
                } else {
                    Destination::Remote
                },
            })
            .collect(),
        body: BodyType::SevenBit,
        smtputf8: false,
        client: ClientInfo {
            helo: "c.test".into(),
            address: "127.0.0.1".into(),
            submitted: false,
        },
    }
}

fn at(seconds: i64) -> UnixTime {
    UnixTime(ARRIVED.0 + seconds)
}

#[test]
fn the_default_schedule_retries_early_then_every_few_hours_and_expires_in_five_days() {
    let schedule = RetrySchedule::default();
    let mut now = ARRIVED;
    let mut delays = Vec::new();
    let mut attempts = 0;
    while let Some(next) = schedule.next_attempt(ARRIVED, attempts + 1, now) {
        attempts += 1;
        delays.push((next.0 - now.0) / MINUTE);
        now = next;
    }
    assert_eq!(delays[..8], [5, 10, 15, 30, 60, 120, 240, 240]);
    assert!(
        delays.iter().take(4).sum::<i64>() <= 60,
        "early retries within the first hour"
    );
    assert_eq!(now, at(5 * 24 * 60 * MINUTE), "the last try is at expiry");
    assert_eq!(schedule.next_attempt(ARRIVED, attempts + 1, now), None);
}

#[test]
fn recipients_are_grouped_by_domain_when_due() {
    let envelope = envelope(&[
        ("a@far.test", false),
        ("alice@here.test", true),
        ("b@FAR.test", false),
        ("c@other.test", false),
    ]);
    let mut state = DeliveryState::new(&envelope, ARRIVED);
    assert_eq!(
        remote_groups(&envelope, &state, ARRIVED),
        [
            ("far.test".to_owned(), vec![0, 2]),
            ("other.test".to_owned(), vec![3])
        ]
    );
    let schedule = RetrySchedule::default();
    state.record(
        3,
        Verdict::Deferred,
        "451 later",
        ARRIVED,
        ARRIVED,
        &schedule,
    );
    assert_eq!(
        remote_groups(&envelope, &state, at(MINUTE)).len(),
        1,
        "c@ waits 5 minutes"
    );
    assert_eq!(remote_groups(&envelope, &state, at(5 * MINUTE)).len(), 2);
    assert_eq!(
        state.next_attempt(),
        Some(ARRIVED),
        "the others are due now"
    );
}

#[test]
fn results_settle_recipients_and_expiry_fails_them() {
    let envelope = envelope(&[
        ("a@far.test", false),
        ("b@far.test", false),
        ("c@far.test", false),
    ]);
    let mut state = DeliveryState::new(&envelope, ARRIVED);
    let schedule = RetrySchedule {
        delays: vec![Duration::from_secs(60)],
        expire_after: Duration::from_secs(150),
    };
    state.record(0, Verdict::Delivered, "250 ok", ARRIVED, ARRIVED, &schedule);
    state.record(
        1,
        Verdict::Failed,
        "550 5.1.1 no such user",
        ARRIVED,
        ARRIVED,
        &schedule,
    );
    state.record(
        2,
        Verdict::Deferred,
        "451 4.3.0 later",
        ARRIVED,
        ARRIVED,
        &schedule,
    );
    assert_eq!(
        state.recipients[2].status,
        Status::Pending {
            next_attempt: at(60)
        }
    );
    state.record(
        2,
        Verdict::Deferred,
        "451 4.3.0 later",
        at(60),
        ARRIVED,
        &schedule,
    );
    assert_eq!(
        state.recipients[2].status,
        Status::Pending {
            next_attempt: at(120)
        }
    );
    state.record(
        2,
        Verdict::Deferred,
        "451 4.3.0 still",
        at(150),
        ARRIVED,
        &schedule,
    );
    assert_eq!(state.recipients[2].status, Status::Failed);
    assert!(
        state.recipients[2]
            .last_detail
            .starts_with("gave up after 3 attempts"),
        "{}",
        state.recipients[2].last_detail
    );
    assert!(!state.is_done(), "failures wait for their bounce");
    let failures = state.unbounced_failures();
    assert_eq!(failures.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2]);
    state.mark_bounced(&[1, 2]);
    assert!(state.is_done());
    state.record(0, Verdict::Failed, "late", at(200), ARRIVED, &schedule);
    assert_eq!(
        state.recipients[0].status,
        Status::Delivered,
        "a settled recipient stays settled"
    );
}

#[test]
fn a_delivery_settles_the_message_only_when_nothing_else_is_left() {
    let envelope = envelope(&[
        ("a@here.test", true),
        ("b@here.test", true),
        ("c@far.test", false),
    ]);
    let schedule = RetrySchedule::default();
    let mut state = DeliveryState::new(&envelope, ARRIVED);
    assert!(state.done_once_delivered(&[0, 1, 2]));
    assert!(
        !state.done_once_delivered(&[0, 1]),
        "the remote recipient is still pending"
    );
    state.record(2, Verdict::Delivered, "250", ARRIVED, ARRIVED, &schedule);
    assert!(state.done_once_delivered(&[0, 1]));
    assert!(!state.done_once_delivered(&[0]));
    state.record(1, Verdict::Failed, "550", ARRIVED, ARRIVED, &schedule);
    assert!(
        !state.done_once_delivered(&[0]),
        "a failure waits for its bounce"
    );
    state.mark_bounced(&[1]);
    assert!(state.done_once_delivered(&[0]));
    assert!(!state.is_done(), "until recipient 0 is delivered");
}

#[test]
fn flush_makes_pending_recipients_due() {
    let envelope = envelope(&[("a@far.test", false)]);
    let mut state = DeliveryState::new(&envelope, ARRIVED);
    state.record(
        0,
        Verdict::Deferred,
        "451",
        ARRIVED,
        ARRIVED,
        &RetrySchedule::default(),
    );
    assert!(state.due(at(1)).is_empty());
    state.flush(at(1));
    assert_eq!(state.due(at(1)), [0]);
}

fn context<'a>(reverse_path: &'a ReversePath) -> BounceContext<'a> {
    BounceContext {
        hostname: "mx.here.test",
        queue_id: "0000000938NKR",
        reverse_path,
        arrived: ARRIVED,
        now: at(60),
        original_headers: b"From: sender@origin.test\r\nSubject: hello\r\n",
        seed: 9,
    }
}

#[test]
fn a_bounce_is_a_multipart_report_to_the_sender() {
    let sender = parse_reverse_path("<sender@origin.test>", false).unwrap();
    let failures = [Failure {
        recipient: parse_forward_path("<b@far.test>", false).unwrap(),
        detail: "550 5.1.1 <b@far.test>: no such user".into(),
    }];
    let bounce = bounce(&context(&sender), &failures).unwrap();
    assert_eq!(bounce.recipient.to_string(), "<sender@origin.test>");
    let text = String::from_utf8(bounce.message).unwrap();
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "CRLF line endings only"
    );
    insta::assert_snapshot!(text.replace("\r\n", "\n"));
}

#[test]
fn a_bounce_is_never_bounced() {
    let null = ReversePath::Null;
    let failures = [Failure {
        recipient: parse_forward_path("<b@far.test>", false).unwrap(),
        detail: "550 no".into(),
    }];
    assert_eq!(bounce(&context(&null), &failures), None);
}

#[test]
fn a_bounce_quotes_remote_text_escaped_and_bounded() {
    let sender = parse_reverse_path("<sender@origin.test>", false).unwrap();
    let hostile = format!(
        "550 5.1.1 no\r\n--fake-boundary\r\nContent-Type: text/html\x1b[2J {}",
        "z".repeat(5000)
    );
    let failures = [Failure {
        recipient: parse_forward_path("<b@far.test>", false).unwrap(),
        detail: hostile,
    }];
    let bounce = bounce(&context(&sender), &failures).unwrap();
    let text = String::from_utf8(bounce.message).unwrap();
    assert!(!text.contains("\r\n--fake-boundary"), "{text}");
    assert!(!text.contains('\x1b'));
    assert!(text.contains("Diagnostic-Code: smtp; 550 5.1.1 no\\r\\n--fake-boundary"));
    assert!(text.contains("Status: 5.1.1"));
    for line in text.split("\r\n") {
        assert!(line.len() <= 998, "RFC 5322 2.1.1: {} octets", line.len());
    }
}

#[test]
fn a_bounce_to_or_about_a_utf8_address_is_flagged_smtputf8() {
    let ascii = parse_reverse_path("<sender@origin.test>", false).unwrap();
    let utf8 = parse_reverse_path("<jörg@origin.test>", true).unwrap();
    let failure = |to: &str| Failure {
        recipient: parse_forward_path(to, true).unwrap(),
        detail: "550 5.1.1 no".into(),
    };
    let plain = bounce(&context(&ascii), &[failure("<b@far.test>")]).unwrap();
    assert!(!plain.smtputf8);
    assert_eq!(plain.body, BodyType::SevenBit);
    let to_utf8 = bounce(&context(&utf8), &[failure("<b@far.test>")]).unwrap();
    assert!(to_utf8.smtputf8);
    assert_eq!(to_utf8.body, BodyType::EightBitMime);
    let about_utf8 = bounce(&context(&ascii), &[failure("<zoë@far.test>")]).unwrap();
    assert!(about_utf8.smtputf8);
    // 8-bit octets in the quoted headers make an 8BITMIME bounce.
    let headers = "Subject: caf\u{e9}\r\n".as_bytes();
    let quoting = BounceContext {
        original_headers: headers,
        ..context(&ascii)
    };
    let quoted = bounce(&quoting, &[failure("<b@far.test>")]).unwrap();
    assert_eq!(
        (quoted.body, quoted.smtputf8),
        (BodyType::EightBitMime, false)
    );
}

/// After a fallback both legs are in the bounce, labelled, and the status
/// is the smarthost's: its answer decided.
#[test]
fn a_bounce_after_a_fallback_labels_each_leg_and_takes_the_smarthost_status() {
    let sender = parse_reverse_path("<sender@origin.test>", false).unwrap();
    let failures = [Failure {
        recipient: parse_forward_path("<b@far.test>", false).unwrap(),
        detail: crate::route::label_legs(
            "550 5.1.2 domain far.test does not exist",
            "550 5.7.1 relaying denied",
        ),
    }];
    let bounce = bounce(&context(&sender), &failures).unwrap();
    let text = String::from_utf8(bounce.message).unwrap();
    assert!(text.contains("Status: 5.7.1\r\n"), "{text}");
    assert!(
        text.contains(
            "Diagnostic-Code: smtp; direct: 550 5.1.2 domain far.test does not exist; \
             smarthost: 550 5.7.1 relaying denied\r\n"
        ),
        "{text}"
    );
}
