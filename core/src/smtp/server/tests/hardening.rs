//! Issue 12 in the machine: mail loops stopped by counting `Received:`
//! headers, AUTH lines as long as RFC 4954 allows, peer text that cannot
//! forge a log line, and per-command events at debug level.

use super::harness::{Harness, config};
use crate::auth::AuthPolicy;
use crate::limits::{AUTH_LINE_BYTES_MAX, COMMAND_LINE_BYTES_MAX};
use crate::smtp::server::{Event, EventLevel, SessionConfig};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::Duration;

fn envelope(config: SessionConfig) -> Harness {
    let mut harness = Harness::with_config(config);
    for line in [
        "EHLO client.test",
        "MAIL FROM:<sender@remote.test>",
        "RCPT TO:<alice@example.test>",
        "DATA",
    ] {
        harness.send_line(line);
    }
    harness
}

fn message_with_hops(hops: usize) -> Vec<u8> {
    let mut message = Vec::new();
    for n in 0..hops {
        message.extend_from_slice(
            format!(
                "Received: from hop{n}.test by hop{}.test; Sat, 1 Jan 2000\r\n",
                n + 1
            )
            .as_bytes(),
        );
    }
    message.extend_from_slice(b"Subject: loop\r\n\r\nReceived: in the body is not a hop\r\n.\r\n");
    message
}

#[test]
fn more_received_headers_than_the_hop_limit_is_refused_with_554_5_4_6() {
    let mut harness = envelope(config());
    harness.send(&message_with_hops(51));
    harness.send_line("QUIT");
    assert!(harness.stored.is_empty(), "nothing is queued");
    assert!(
        harness
            .transcript
            .contains("S: 554 5.4.6 Too many hops (51 Received headers): mail loop?"),
        "{}",
        harness.transcript
    );
    assert!(
        harness.transcript.contains("abort"),
        "{}",
        harness.transcript
    );
}

#[test]
fn exactly_the_hop_limit_is_accepted_and_the_limit_is_configurable() {
    let mut harness = envelope(config());
    harness.send(&message_with_hops(50));
    assert_eq!(harness.stored.len(), 1, "{}", harness.transcript);

    let mut strict = envelope(SessionConfig {
        max_hops: 2,
        ..config()
    });
    strict.send(&message_with_hops(3));
    assert!(strict.stored.is_empty());
    strict.send_line("QUIT");
    insta::assert_snapshot!(strict.transcript);
}

#[test]
fn hops_are_counted_whatever_the_pieces_the_header_arrives_in() {
    let message = message_with_hops(51);
    for piece in [1, 7, 64, 1000] {
        let mut harness = envelope(config());
        for chunk in message.chunks(piece) {
            harness.feed(chunk);
        }
        assert!(harness.stored.is_empty(), "pieces of {piece}");
        assert!(
            harness.transcript.contains("554 5.4.6 Too many hops (51"),
            "pieces of {piece}: {}",
            harness.transcript
        );
    }
}

fn auth_config() -> SessionConfig {
    SessionConfig {
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            failure_delay: Duration::ZERO,
            ..AuthPolicy::default()
        },
        ..config()
    }
}

#[test]
fn an_auth_line_may_be_12288_octets_and_other_commands_512() {
    let mut harness = Harness::with_config(auth_config());
    let password: &'static str = "p".repeat(9000).leak();
    harness
        .accounts
        .push(("long@example.test", password, false));
    harness.send_line("EHLO client.test");
    let response = BASE64.encode(format!("\0long@example.test\0{password}"));
    let line = format!("AUTH PLAIN {response}");
    assert!(line.len() + 2 > COMMAND_LINE_BYTES_MAX && line.len() + 2 <= AUTH_LINE_BYTES_MAX);
    harness.send_secret_line(&line);
    assert!(
        harness.transcript.contains("S: 235 2.7.0"),
        "{}",
        harness.transcript
    );

    // One octet over: refused as too long, and the session goes on.
    let mut harness = Harness::with_config(auth_config());
    harness.send_line("EHLO client.test");
    let over = format!("AUTH PLAIN {}", "A".repeat(AUTH_LINE_BYTES_MAX - 12));
    assert_eq!(over.len() + 2, AUTH_LINE_BYTES_MAX + 1);
    harness.send_secret_line(&over);
    assert!(
        harness
            .transcript
            .contains("S: 500 5.5.6 Authentication Exchange line is too long"),
        "{}",
        harness.transcript
    );
    harness.send_line("NOOP");
    assert!(harness.transcript.ends_with("S: 250 2.0.0 Ok\n"));

    // Other commands keep the 512 of RFC 5321 4.5.3.1.4.
    let long_mail = format!("MAIL FROM:<{}@remote.test>", "a".repeat(600));
    harness.send_line(&long_mail);
    assert!(
        harness.transcript.ends_with("S: 500 5.5.2 Line too long\n"),
        "{}",
        harness.transcript
    );
}

#[test]
fn a_long_sasl_continuation_line_is_read_whole() {
    let mut harness = Harness::with_config(auth_config());
    harness.send_line("EHLO client.test");
    harness.send_line("AUTH LOGIN");
    let user = BASE64.encode("u".repeat(3000));
    assert!(user.len() > COMMAND_LINE_BYTES_MAX);
    harness.send_secret_line(&user);
    assert!(
        harness.transcript.ends_with("S: 334 UGFzc3dvcmQ6\n"),
        "the user name was taken and the password asked for: {}",
        harness.transcript
    );
}

#[test]
fn a_login_name_with_a_line_break_cannot_forge_a_log_line() {
    let mut harness = Harness::with_config(auth_config());
    harness.send_line("EHLO client.test");
    harness.send_line("AUTH LOGIN");
    let forged =
        "x\r\n2026-11-30T02:00:00Z  INFO auth LOGIN login=admin succeeded peer=10.9.9.9\x1b[2J";
    harness.send_secret_line(&BASE64.encode(forged));
    harness.send_secret_line(&BASE64.encode("wrong"));
    let event = harness
        .transcript
        .lines()
        .find(|line| line.contains("event: auth LOGIN"))
        .expect("a failed-login event");
    assert!(
        event.contains("login=x\\r\\n2026-11-30T02:00:00Z  INFO auth LOGIN login=admin succeeded peer=10.9.9.9\\x1b[2J failed"),
        "{event}"
    );
    for line in harness.transcript.lines() {
        assert!(!line.starts_with("2026-11-30"), "forged line: {line}");
        assert!(!line.contains('\x1b'), "raw ESC: {line:?}");
    }
}

#[test]
fn a_helo_argument_with_control_characters_is_refused_and_never_shown_raw() {
    // A bare CR is refused before the HELO is even parsed.
    for (bad, refusal) in [
        ("EHLO evil\x1b[2Jname", "S: 501 5.5.4 Syntax: "),
        ("HELO a\rb", "S: 500 5.5.2 Bare CR"),
        ("EHLO x\u{85}y", "S: 501 5.5.4 Syntax: "),
    ] {
        let mut harness = Harness::new();
        harness.send_line(bad);
        assert!(
            harness.transcript.contains(refusal),
            "{bad:?}: {}",
            harness.transcript
        );
        assert!(!harness.transcript.contains(['\x1b', '\r', '\u{85}']));
    }
}

#[test]
fn per_command_events_are_debug_and_messages_and_endings_info() {
    let mut harness = envelope(config());
    harness.send(b"Subject: x\r\n\r\nbody\r\n.\r\n");
    assert_eq!(harness.stored.len(), 1);
    let helo = Event::Helo {
        domain: "client.test".into(),
        extended: true,
    };
    assert_eq!(helo.level(), EventLevel::Debug);
    assert_eq!(
        Event::CommandRefused {
            reply: "500".into()
        }
        .level(),
        EventLevel::Debug
    );
    assert_eq!(Event::Timeout.level(), EventLevel::Info);
    assert_eq!(
        Event::MessageQueued {
            queue_id: harness.stored[0].queue_id,
            reverse_path: harness.stored[0].envelope.reverse_path.clone(),
            forward_paths: Vec::new(),
            size: 1,
        }
        .level(),
        EventLevel::Info
    );
}
