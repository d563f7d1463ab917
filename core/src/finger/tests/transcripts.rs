//! Whole sessions: what the client is sent, snapshot-tested.

use super::harness::{Harness, advance, config};
use crate::finger::{Input, Request, SessionConfig};
use std::time::Duration;

fn ask(config: SessionConfig, query: &[u8]) -> Harness {
    let mut harness = Harness::with(config);
    harness.feed(query);
    assert!(harness.closed, "one query, one answer, closed");
    harness
}

#[test]
fn a_user_is_answered_with_name_mail_and_plan() {
    let harness = ask(config(), b"alice\r\n");
    assert_eq!(
        harness.requests,
        vec![Request::Lookup {
            user: "alice".to_owned()
        }]
    );
    let text = harness.text();
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
    assert!(text.contains("Mail: 3 new messages since"), "{text}");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn verbose_adds_the_mailbox_line() {
    let short = ask(config(), b"alice\r\n").text();
    let long = ask(config(), b"/W alice\r\n").text();
    assert!(!short.contains("Mailbox:"));
    assert!(
        long.contains("Mailbox: 5 messages in the INBOX, 3 unseen"),
        "{long}"
    );
    insta::assert_snapshot!(ask(config(), b"/W alice\r\n").transcript);
}

#[test]
fn a_hidden_user_looks_like_no_user() {
    let hidden = ask(config(), b"carol\r\n").text();
    let missing = ask(config(), b"zed\r\n").text();
    assert_eq!(hidden, "finger: carol: no such user.\r\n");
    assert_eq!(missing, "finger: zed: no such user.\r\n");
    let shown = ask(
        SessionConfig {
            hidden: Vec::new(),
            ..config()
        },
        b"carol\n",
    )
    .text();
    assert!(shown.contains("Carol Hidden"), "{shown}");
}

#[test]
fn the_list_is_refused_unless_allowed_and_leaves_out_hidden_users() {
    let refused = ask(config(), b"\r\n");
    assert!(refused.requests.is_empty());
    assert_eq!(
        refused.text(),
        "finger: this server does not list its users; ask for one by name (finger user@host).\r\n"
    );
    let allowed = ask(
        SessionConfig {
            list_users: true,
            ..config()
        },
        b"\r\n",
    );
    assert_eq!(allowed.requests, vec![Request::List]);
    let text = allowed.text();
    assert!(!text.contains("carol"), "{text}");
    insta::assert_snapshot!(allowed.transcript);
}

#[test]
fn forwarding_is_refused() {
    for query in [
        &b"alice@elsewhere.test\r\n"[..],
        b"/W @host\r\n",
        b"a@b@c\n",
    ] {
        let harness = ask(config(), query);
        assert!(harness.requests.is_empty());
        assert_eq!(
            harness.text(),
            "finger: forwarding refused: this server answers only for its own users (RFC 1288 3.2.1).\r\n"
        );
    }
}

#[test]
fn a_long_query_is_refused_without_waiting_for_its_end() {
    let mut harness = Harness::new();
    harness.feed(&vec![b'a'; crate::limits::FINGER_QUERY_BYTES_MAX]);
    assert!(harness.closed);
    assert_eq!(harness.text(), "finger: query too long.\r\n");
    assert!(harness.server.buffered_input_len() < crate::limits::FINGER_QUERY_BYTES_MAX);
}

#[test]
fn a_bad_query_gets_a_plain_refusal() {
    let harness = ask(config(), b"al\x1bice\r\n");
    assert_eq!(
        harness.text(),
        "finger: bad query: send a user name, /W and a user name, or an empty line.\r\n"
    );
    assert!(
        harness.events.iter().all(|e| !e.contains('\x1b')),
        "{:?}",
        harness.events
    );
}

#[test]
fn a_silent_client_is_closed_after_the_query_timeout() {
    let mut harness = Harness::new();
    let deadline = harness.server.poll_timeout().expect("the query timer");
    assert_eq!(deadline, harness.now + Duration::from_secs(10));
    advance(&mut harness, Duration::from_secs(9));
    harness.input(Input::TimerFired);
    assert!(!harness.closed, "a timer handed in early does nothing");
    advance(&mut harness, Duration::from_secs(1));
    harness.input(Input::TimerFired);
    assert!(harness.closed);
    assert!(harness.sent.is_empty());
    assert_eq!(harness.events, vec!["no query in time"]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_query_without_a_line_end_is_answered_at_end_of_input() {
    let mut harness = Harness::new();
    harness.feed(b"bob");
    assert!(!harness.closed);
    harness.input(Input::EndOfInput);
    assert!(harness.closed);
    assert!(
        harness.text().starts_with("Login: bob@example.test"),
        "{}",
        harness.text()
    );
    assert!(harness.text().contains("Mail: cannot be read just now."));
}

#[test]
fn a_user_in_two_domains_gets_both_answers() {
    let text = ask(config(), b"ALICE\r\n").text();
    assert!(text.contains("Login: alice@example.test"));
    assert!(text.contains("Login: alice@other.test"));
    assert!(text.contains("No unread mail."));
    assert!(text.contains("No Plan."));
}

#[test]
fn shutdown_and_a_stalled_write_close_without_more() {
    let mut harness = Harness::new();
    harness.input(Input::Shutdown);
    assert!(harness.closed && harness.sent.is_empty());
    let mut harness = Harness::new();
    harness.input(Input::SendTimedOut);
    assert!(harness.closed && harness.sent.is_empty());
    assert_eq!(harness.server.poll_timeout(), None);
}
