//! Whole sessions: what the client is sent, snapshot-tested.

use super::harness::{ADMIN_PLAIN, ALICE_PLAIN, Harness, WRONG_PLAIN, config, logged_in, record};
use crate::auth::AuthPolicy;
use crate::remote_log::{Input, Level, Request, SessionConfig};
use std::time::Duration;

fn tls_only() -> SessionConfig {
    SessionConfig {
        auth: AuthPolicy {
            without_tls: false,
            ..config().auth
        },
        ..config()
    }
}

#[test]
fn an_admin_gets_the_last_lines_then_each_new_line() {
    let mut harness = logged_in();
    harness.log(record(
        6,
        Level::Info,
        "mx",
        Some("0D0E"),
        "session=7 message accepted",
    ));
    harness.log(record(7, Level::Debug, "mx", None, "session=7 RCPT"));
    harness.deliver();
    let text = harness.text();
    // tail_lines = 3: the last three lines of the ring, then the new ones.
    assert!(!text.contains("connect from 192.0.2.9"), "{text}");
    assert!(
        text.contains("WARN pop - session=2 login failed\\r\\nforged"),
        "{text}"
    );
    assert!(
        text.contains("+OK following (3 recent lines above)"),
        "{text}"
    );
    assert!(
        text.ends_with("* 2026-11-30T08:00:07.000Z DEBUG mx - session=7 RCPT\r\n"),
        "{text}"
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn login_in_clear_is_refused_unless_allowed_and_starttls_discards_what_follows_it() {
    let mut harness = Harness::with(tls_only(), false);
    harness.feed(format!("AUTH PLAIN {ADMIN_PLAIN}\r\n").as_bytes());
    assert!(harness.requests.is_empty(), "no password checked in clear");
    harness.feed(b"STARTTLS\r\nFOLLOW\r\n");
    assert!(harness.starttls);
    assert!(
        harness
            .events
            .iter()
            .any(|e| e.contains("8 octets sent before it discarded")),
        "{:?}",
        harness.events
    );
    harness.feed(format!("AUTH PLAIN {ADMIN_PLAIN}\r\n").as_bytes());
    assert!(harness.server.is_following());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_correct_password_of_an_account_that_is_not_an_admin_is_refused() {
    let mut harness = Harness::new();
    harness.feed(b"AUTH PLAIN\r\n");
    harness.feed(format!("{ALICE_PLAIN}\r\n").as_bytes());
    assert!(!harness.server.is_following());
    assert!(harness.server.login().is_none());
    harness.feed(b"FOLLOW\r\nTAIL 5\r\nQUIT\r\n");
    assert!(harness.closed);
    assert!(
        !harness
            .requests
            .iter()
            .any(|r| matches!(r, Request::Follow { .. } | Request::Recent { .. })),
        "{:?}",
        harness.requests
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_wrong_password_waits_out_the_delay_and_the_third_closes() {
    let mut harness = Harness::new();
    for tried in 0..3 {
        harness.feed(format!("AUTH PLAIN {WRONG_PLAIN}\r\n").as_bytes());
        // The reply waits out the failure delay.
        assert_eq!(
            harness.text().matches("authentication failed").count(),
            tried
        );
        harness.advance(Duration::from_secs(2));
    }
    assert!(harness.closed);
    assert!(harness.text().contains("too many failed logins, closing"));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn filters_apply_to_the_backlog_to_tail_and_to_live_lines() {
    let mut harness = Harness::new();
    harness.feed(b"FILTER instance=mx\r\nTAIL 10\r\n");
    harness.feed(format!("AUTH PLAIN {ADMIN_PLAIN}\r\n").as_bytes());
    assert_eq!(
        harness.requests.last(),
        Some(&Request::Follow {
            backlog: 10,
            filter: crate::remote_log::parse_filter("instance=mx").unwrap()
        })
    );
    harness.feed(b"FILTER level=warn\r\n");
    harness.log(record(6, Level::Info, "mx", None, "quiet line"));
    harness.log(record(7, Level::Warn, "smtp-in", Some("0F"), "loud line"));
    harness.deliver();
    harness.feed(b"STOP\r\nTAIL 2\r\nFILTER queue=0a1b2c\r\nTAIL 9\r\nFOLLOW\r\nQUIT\r\n");
    let text = harness.text();
    assert!(
        !text.contains("quiet line") && text.contains("loud line"),
        "{text}"
    );
    assert!(!text.contains("pop -"), "{text}");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_reader_that_falls_behind_is_told_how_many_lines_it_missed() {
    let mut harness = logged_in();
    for n in 10..20 {
        harness.log(record(n, Level::Info, "mx", None, &format!("line {n}")));
    }
    harness.deliver();
    harness.log(record(20, Level::Info, "mx", None, "line 20"));
    harness.deliver();
    let text = harness.text();
    assert!(
        text.contains("line 13\r\n! ... 6 lines dropped (the connection did not keep up)\r\n* "),
        "{text}"
    );
    assert!(text.ends_with("line 20\r\n"), "{text}");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_silent_client_is_closed_but_a_following_one_is_not() {
    let mut idle = Harness::new();
    idle.advance(Duration::from_secs(301));
    assert!(idle.closed);
    assert!(
        idle.text()
            .ends_with("-ERR [SYS/TEMP] idle too long, closing\r\n")
    );
    let mut following = logged_in();
    following.advance(Duration::from_secs(3600));
    assert!(!following.closed);
    assert_eq!(following.server.poll_timeout(), None);
    following.input(Input::Shutdown);
    assert!(following.closed);
    assert!(following.subscription.is_none(), "unsubscribed on close");
}

#[test]
fn errors_are_counted_and_the_last_one_closes() {
    let mut harness = Harness::new();
    harness.feed(b"HELO\r\nFOLLOW\r\nFILTER x\r\nAUTH LOGIN\r\n");
    assert!(!harness.closed);
    harness.feed(&[b'x'; 3000]);
    harness.feed(b"\r\nCAPA\r\n");
    assert!(harness.closed);
    insta::assert_snapshot!(harness.transcript);
}

/// The case proptest found (`arbitrary_bytes_never_panic_and_only_clean_lines_are_sent`,
/// kept in `core/proptest-regressions/remote_log/tests/properties.txt`),
/// cut down: four empty lines, then an over-long line whose error is the
/// fifth and closes the session, with more than the pending-input bound
/// still buffered behind it. The machine used to go round its input loop
/// once more after that close, find itself in a state that takes no
/// commands with too much input held, and send `-ERR too much input sent
/// ahead, closing` and a second `Close` after the first.
#[test]
fn the_error_that_closes_on_an_over_long_line_is_the_last_thing_sent() {
    use crate::limits::{READ_CHUNK_BYTES, REMOTE_LOG_COMMAND_LINE_BYTES_MAX};
    let mut bytes = b"\n\n\n\n".to_vec();
    bytes.extend_from_slice(&[b'x'; REMOTE_LOG_COMMAND_LINE_BYTES_MAX]);
    bytes.push(b'\n');
    bytes.resize(READ_CHUNK_BYTES, b'y');
    let mut harness = Harness::new();
    harness.feed(&bytes);
    assert!(harness.closed);
    let text = harness.text();
    assert_eq!(text.matches("-ERR").count(), 5, "{text}");
    assert!(
        text.ends_with("-ERR line too long; too many errors, closing\r\n"),
        "{text}"
    );
    assert!(!text.contains("too much input"), "{text}");
    assert_eq!(harness.server.poll_timeout(), None);
}
