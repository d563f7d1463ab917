//! Whole sessions, snapshot-tested as transcripts.

use super::harness::{Harness, config};
use crate::pop3::MaildropFailure;
use std::time::Duration;

fn session(lines: &[&str]) -> Harness {
    let mut harness = Harness::new();
    for line in lines {
        harness.send_line(line);
    }
    harness
}

#[test]
fn good_session_reads_deletes_and_updates() {
    let mut harness = Harness::new();
    harness.send_line("CAPA");
    harness.login();
    for line in [
        "STAT", "LIST", "UIDL", "LIST 2", "UIDL 3", "RETR 1", "TOP 1 1", "TOP 3 0", "DELE 2",
        "STAT", "NOOP", "QUIT",
    ] {
        harness.send_line(line);
    }
    assert!(harness.closed);
    assert_eq!(harness.updates, vec![(vec![7], vec![3])]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn retr_sends_exactly_the_listed_octets_dot_stuffed() {
    let mut harness = Harness::new();
    harness.login();
    let before = harness.server_bytes.len();
    harness.send_line("RETR 1");
    let sent = &harness.server_bytes[before..];
    let (first, rest) = sent.split_at(sent.iter().position(|&b| b == b'\n').unwrap() + 1);
    let content = &super::harness::messages()[0].1;
    assert_eq!(
        first,
        format!("+OK {} octets\r\n", content.len()).as_bytes()
    );
    let body = rest.strip_suffix(b".\r\n").unwrap();
    let unstuffed = String::from_utf8_lossy(body).replace("\r\n..", "\r\n.");
    assert_eq!(unstuffed.as_bytes(), &content[..]);
}

#[test]
fn pipelined_session_is_answered_in_order() {
    let mut harness = Harness::new();
    harness.send(
        b"USER alice@example.test\r\nPASS correct horse\r\nSTAT\r\nUIDL\r\nRETR 2\r\nDELE 2\r\nDELE 3\r\nQUIT\r\n",
    );
    assert_eq!(harness.updates, vec![(vec![7, 9], vec![])]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn auth_plain_login_and_the_mechanism_list() {
    let mut harness = Harness::new();
    harness.send_line("AUTH");
    harness.send_line("AUTH CRAM-MD5");
    // base64("\0alice@example.test\0correct horse")
    harness.send_line("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNl");
    harness.send_line("QUIT");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn auth_login_with_challenges_and_a_cancel() {
    let mut harness = Harness::new();
    harness.send_line("AUTH PLAIN");
    harness.send_line("*");
    harness.send_line("AUTH LOGIN");
    harness.send_line("YWxpY2VAZXhhbXBsZS50ZXN0"); // alice@example.test
    harness.send_line("Y29ycmVjdCBob3JzZQ=="); // correct horse
    harness.send_line("STAT");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn unknown_command_and_bad_arguments() {
    let harness = session(&[
        "FROB",
        "USER",
        "USER alice@example.test",
        "PASS correct horse",
        "LIST x",
        "RETR",
        "TOP 1",
        "DELE 1 2",
        "QUIT",
    ]);
    assert!(harness.updates.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn message_numbers_out_of_range_and_deleted_messages() {
    let mut harness = Harness::new();
    harness.login();
    for line in [
        "RETR 0",
        "RETR 4",
        "LIST 4294967295",
        "DELE 1",
        "DELE 1",
        "RETR 1",
        "TOP 1 5",
        "LIST 1",
        "UIDL 1",
        "RSET",
        "LIST 1",
    ] {
        harness.send_line(line);
    }
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn commands_in_the_wrong_state() {
    let mut harness = session(&["STAT", "RETR 1", "NOOP", "PASS nothing", "APOP alice 0123"]);
    harness.login();
    for line in ["USER bob", "STLS", "APOP alice 0123", "QUIT"] {
        harness.send_line(line);
    }
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn too_many_errors_close_without_update() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("DELE 1");
    for _ in 0..10 {
        harness.send_line("FROB");
    }
    assert!(harness.closed);
    assert!(harness.updates.is_empty(), "nothing deleted");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn overlong_line_is_refused_once() {
    let mut harness = Harness::new();
    let long = format!("USER {}\r\n", "a".repeat(300));
    harness.send(long.as_bytes());
    harness.send(format!("LIST {}", "9".repeat(400)).as_bytes());
    harness.send(b"\r\nNOOP\r\nQUIT\r\n");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_line_of_exactly_255_octets_is_taken() {
    let mut harness = Harness::new();
    let name = "a".repeat(255 - "USER \r\n".len());
    harness.send_line(&format!("USER {name}"));
    assert!(
        harness.transcript.ends_with("S: +OK\n"),
        "{}",
        harness.transcript
    );
}

#[test]
fn stls_discards_pipelined_commands() {
    let mut config = config();
    config.auth.without_tls = false;
    let mut harness = Harness::with_config(config, false);
    harness.send_line("CAPA");
    harness.send_line("USER alice@example.test");
    // The injection: commands behind STLS in the same packet.
    harness.send(b"STLS\r\nUSER alice@example.test\r\nPASS correct horse\r\n");
    harness.send_line("CAPA");
    harness.login();
    harness.send_line("STAT");
    assert!(
        !harness.transcript.contains("Logged in: 3 messages (") || {
            // The login after TLS is the only one.
            harness.transcript.matches("request: authenticate").count() == 1
        }
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn autologout_closes_an_idle_session_without_update() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("DELE 1");
    harness.advance(Duration::from_secs(599));
    assert!(!harness.closed);
    harness.send_line("NOOP");
    harness.advance(Duration::from_secs(599));
    assert!(!harness.closed, "each command restarts the timer");
    harness.advance(Duration::from_secs(1));
    assert!(harness.closed);
    assert!(harness.updates.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_dropped_connection_after_dele_deletes_nothing() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("DELE 1");
    harness.send_line("DELE 2");
    harness.hang_up();
    assert!(harness.closed);
    assert!(harness.updates.is_empty());
    assert_eq!(harness.store.len(), 3);
}

#[test]
fn shutdown_ends_the_session_without_update() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("DELE 1");
    harness.shut_down();
    assert!(harness.updates.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn failed_logins_are_delayed_and_limited() {
    let mut harness = Harness::new();
    harness.send_line("USER alice@example.test");
    harness.send_line("PASS wrong");
    assert!(!harness.transcript.contains("S: -ERR [AUTH]"), "held back");
    harness.advance(Duration::from_secs(2));
    harness.send(b"USER alice@example.test\r\nPASS wrong\r\nUSER x\r\n");
    harness.advance(Duration::from_secs(2));
    harness.send_line("USER locked@example.test");
    harness.send_line("PASS anything");
    harness.send_line("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==");
    harness.advance(Duration::from_secs(2));
    assert!(harness.closed, "the third failure closes");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn the_same_wrong_password_by_another_mechanism_is_marked_a_repeat() {
    let mut harness = Harness::new();
    harness.send_line("USER alice@example.test");
    harness.send_line("PASS wrong");
    harness.advance(Duration::from_secs(2));
    // AUTH PLAIN with alice@example.test and "wrong" again.
    harness.send_line("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==");
    harness.advance(Duration::from_secs(2));
    harness.send_line("USER alice@example.test");
    harness.send_line("PASS correct horse");
    assert_eq!(
        harness.logins,
        [
            ("alice@example.test".to_owned(), false),
            ("alice@example.test".to_owned(), true),
            ("alice@example.test".to_owned(), false),
        ]
    );
    assert!(
        harness.transcript.contains("S: +OK"),
        "{}",
        harness.transcript
    );
}

#[test]
fn plaintext_login_is_refused_without_tls() {
    let mut config = config();
    config.auth.without_tls = false;
    let mut harness = Harness::with_config(config, false);
    for line in [
        "CAPA",
        "USER alice@example.test",
        "AUTH PLAIN",
        "AUTH",
        "QUIT",
    ] {
        harness.send_line(line);
    }
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn implicit_tls_allows_login_and_offers_no_stls() {
    let mut config = config();
    config.auth.without_tls = false;
    let mut harness = Harness::with_config(config, true);
    harness.send_line("CAPA");
    harness.send_line("STLS");
    harness.login();
    assert!(harness.transcript.contains("Logged in: 3 messages"));
    assert!(!harness.transcript.contains("S: STLS"));
}

#[test]
fn a_locked_maildrop_gets_in_use_and_the_session_stays_in_authorization() {
    let mut harness = Harness::new();
    harness.maildrop_failure = Some(MaildropFailure::InUse);
    harness.login();
    harness.send_line("STAT");
    harness.maildrop_failure = Some(MaildropFailure::Unavailable);
    harness.login();
    harness.maildrop_failure = None;
    harness.login();
    harness.send_line("STAT");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_vanished_message_and_a_failed_update() {
    let mut harness = Harness::new();
    harness.vanished = vec![7];
    harness.fail_update = true;
    harness.login();
    harness.send_line("RETR 2");
    harness.send_line("DELE 1");
    harness.send_line("QUIT");
    assert!(harness.closed);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn uidl_is_dovecots_default_format() {
    assert_eq!(crate::pop3::uidl(3, 0x5F00_0001), "000000035F000001");
    assert_eq!(crate::pop3::uidl(0xABCDEF12, 1), "ABCDEF1200000001");
}

#[test]
fn the_session_lifetime_ends_even_a_busy_session() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("DELE 1");
    for _ in 0..7 {
        harness.advance(Duration::from_secs(599));
        if harness.closed {
            break;
        }
        harness.send_line("NOOP");
    }
    assert!(harness.closed);
    assert!(harness.updates.is_empty());
    assert!(
        harness
            .transcript
            .contains("S: -ERR [SYS/TEMP] Session too long (3600s), closing connection"),
        "{}",
        harness.transcript
    );
}

#[test]
fn a_stalled_write_ends_the_session_silently_without_update() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("DELE 1");
    let sent = harness.server_bytes.len();
    let deadline = harness.server.send_deadline();
    harness.send_timed_out(deadline);
    assert!(harness.closed);
    assert_eq!(harness.server_bytes.len(), sent, "nothing more is written");
    assert!(harness.updates.is_empty());
    assert!(harness.transcript.contains("write stalled"));
}

#[test]
fn a_client_that_pipelines_past_the_buffer_while_a_request_is_out_is_closed() {
    use crate::limits::INPUT_BUFFER_BYTES_MAX;
    use crate::pop3::{Input, Output};
    let mut harness = Harness::new();
    harness.send_line("USER alice@example.test");
    // PASS goes out as a request the driver has not answered yet.
    let now = crate::time::Instant::from_nanos(1_000_000_000);
    harness
        .server
        .handle_input(now, Input::Bytes(b"PASS correct horse\r\n"));
    let mut requested = false;
    while let Some(output) = harness.server.poll_output() {
        requested |= matches!(output, Output::Request(_));
    }
    assert!(requested);
    let flood = vec![b'N'; INPUT_BUFFER_BYTES_MAX + 1];
    harness.server.handle_input(now, Input::Bytes(&flood));
    assert!(harness.server.is_closed());
    assert!(harness.server.buffered_input_len() <= INPUT_BUFFER_BYTES_MAX);
}

/// Every command in each state a client can type it in: the first
/// response line, or how it starts.
#[test]
fn command_by_state_table() {
    // (command, in AUTHORIZATION, in TRANSACTION)
    let rows: &[(&str, &str, &str)] = &[
        (
            "CAPA",
            "+OK Capability list follows",
            "+OK Capability list follows",
        ),
        ("USER alice@example.test", "+OK", "-ERR Already logged in"),
        ("PASS x", "-ERR Send USER first", "-ERR Already logged in"),
        (
            "APOP a b",
            "-ERR APOP is not supported",
            "-ERR Already logged in",
        ),
        ("AUTH", "+OK", "-ERR Already logged in"),
        ("AUTH PLAIN", "+ ", "-ERR Already logged in"),
        (
            "STLS",
            "+OK Begin TLS negotiation",
            "-ERR Already logged in",
        ),
        ("STAT", "-ERR Log in first", "+OK 3 130"),
        ("LIST", "-ERR Log in first", "+OK 3 messages"),
        ("LIST 1", "-ERR Log in first", "+OK 1 73"),
        ("UIDL", "-ERR Log in first", "+OK 3 messages"),
        ("UIDL 1", "-ERR Log in first", "+OK 1 000000035F000001"),
        ("RETR 2", "-ERR Log in first", "+OK 23 octets"),
        ("TOP 2 0", "-ERR Log in first", "+OK Top of message follows"),
        ("DELE 1", "-ERR Log in first", "+OK Message 1 deleted"),
        ("RSET", "-ERR Log in first", "+OK 3 messages"),
        ("NOOP", "-ERR Log in first", "+OK"),
        (
            "QUIT",
            "+OK pop.example.test POP3 Postern signing off",
            "+OK pop.example.test",
        ),
        ("FROB", "-ERR Unknown command", "-ERR Unknown command"),
    ];
    for &(command, authorization, transaction) in rows {
        for (logged_in, expected) in [(false, authorization), (true, transaction)] {
            let mut harness = Harness::new();
            if logged_in {
                harness.login();
            }
            let before = harness.server_bytes.len();
            harness.send_line(command);
            let response = String::from_utf8_lossy(&harness.server_bytes[before..]).into_owned();
            let first = response.lines().next().unwrap_or_default();
            assert!(
                first.starts_with(expected),
                "{command} (logged in: {logged_in}): {first:?}, expected {expected:?}"
            );
        }
    }
}
