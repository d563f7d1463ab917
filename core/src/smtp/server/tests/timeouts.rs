//! Timers on the virtual clock: a command line must be complete within
//! `command_timeout` of when it was awaited, message data must keep a
//! minimum pace, a session has a lifetime cap, and a client that does not
//! read is let go without another word.

use super::harness::{Harness, config};
use crate::smtp::server::SessionConfig;
use proptest::prelude::*;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The harness's session, in the middle of DATA after the `354`.
fn in_data(config: SessionConfig) -> Harness {
    let mut harness = Harness::with_config(config);
    for line in [
        "EHLO client.test",
        "MAIL FROM:<sender@remote.test>",
        "RCPT TO:<alice@example.test>",
        "DATA",
    ] {
        harness.send_line(line);
    }
    assert!(harness.transcript.contains("S: 354"));
    harness
}

#[test]
fn a_command_line_dripped_a_byte_a_minute_times_out_at_command_timeout() {
    let mut harness = Harness::new();
    harness.send_line("EHLO client.test");
    // A byte every minute: each one used to move the deadline on.
    for &byte in b"NOOP and never a line end" {
        harness.advance(secs(60));
        if harness.closed {
            break;
        }
        harness.send(&[byte]);
    }
    assert!(harness.closed, "{}", harness.transcript);
    assert!(
        harness
            .transcript
            .contains("[ 300s] S: 421 4.4.2 mx.example.test Error: timeout exceeded"),
        "{}",
        harness.transcript
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn complete_commands_each_get_a_fresh_command_timeout() {
    let mut harness = Harness::new();
    harness.send_line("EHLO client.test");
    for _ in 0..10 {
        harness.advance(secs(250));
        harness.send_line("NOOP");
    }
    assert!(!harness.closed, "{}", harness.transcript);
    harness.advance(secs(299));
    assert!(!harness.closed);
    harness.advance(secs(1));
    assert!(harness.closed);
}

#[test]
fn the_server_s_own_output_never_moves_the_command_deadline() {
    let mut harness = Harness::new();
    harness.send_line("EHLO client.test");
    let deadline = harness.server.poll_timeout();
    // Half a line, then a refused over-long line: output, but no complete
    // command line, so the deadline stays where it was.
    harness.advance(secs(100));
    harness.send(b"NO");
    harness.advance(secs(100));
    harness.feed(&[b'x'; 600]);
    assert!(harness.transcript.contains("S: 500 5.5.2 Line too long"));
    assert_eq!(harness.server.poll_timeout(), deadline);
    harness.advance(secs(100));
    assert!(harness.closed, "{}", harness.transcript);
}

#[test]
fn data_dripped_below_the_minimum_rate_times_out_and_the_message_is_discarded() {
    // 100 octets/s minimum, 600 s data timeout: a byte every ten seconds
    // has earned under a second of credit by the time 600 s are up.
    let mut harness = in_data(config());
    for _ in 0..100 {
        harness.advance(secs(10));
        if harness.closed {
            break;
        }
        harness.send(b"x");
    }
    assert!(harness.closed, "{}", harness.transcript);
    assert!(harness.stored.is_empty());
    assert!(
        harness
            .transcript
            .contains("[ 610s] S: 421 4.4.2 mx.example.test Error: message data too slow (under 100 octets/s), closing connection"),
        "{}",
        harness.transcript
    );
    assert!(harness.transcript.contains("abort"));
    assert!(
        harness
            .transcript
            .contains("event: message data too slow: under 100 octets/s")
    );
}

#[test]
fn data_at_the_minimum_rate_or_faster_goes_on_past_the_data_timeout() {
    let mut harness = in_data(SessionConfig {
        max_message_size: 1_000_000,
        ..config()
    });
    // 1000 octets every 5 s (200/s, twice the minimum), for 20 minutes:
    // twice the data timeout.
    let line = [b"y".repeat(998), b"\r\n".to_vec()].concat();
    for _ in 0..240 {
        harness.advance(secs(5));
        harness.feed(&line);
    }
    assert!(!harness.closed, "{}", harness.transcript);
    harness.send(b".\r\n");
    assert_eq!(harness.stored.len(), 1);
}

#[test]
fn a_pause_longer_than_the_data_timeout_ends_data_whatever_was_sent_before() {
    let mut harness = in_data(SessionConfig {
        max_message_size: 1_000_000,
        ..config()
    });
    // Plenty of credit from a fast start does not buy a long silence.
    let lines = [b"z".repeat(998), b"\r\n".to_vec()].concat().repeat(500);
    for chunk in lines.chunks(crate::limits::READ_CHUNK_BYTES) {
        harness.feed(chunk);
    }
    harness.advance(secs(599));
    assert!(!harness.closed);
    harness.advance(secs(1));
    assert!(harness.closed, "{}", harness.transcript);
    assert!(
        harness
            .transcript
            .contains("S: 421 4.4.2 mx.example.test Error: timeout exceeded"),
        "silence is a timeout, not a slow transfer"
    );
}

#[test]
fn a_session_that_keeps_busy_is_ended_at_its_lifetime_cap() {
    let mut harness = Harness::with_config(SessionConfig {
        max_session_time: secs(1000),
        ..config()
    });
    harness.send_line("EHLO client.test");
    while !harness.closed && harness.elapsed() < secs(2000) {
        harness.advance(secs(100));
        harness.send_line("NOOP");
    }
    assert!(
        harness.transcript.contains(
            "[1000s] S: 421 4.4.2 mx.example.test Error: session too long (1000s), closing connection"
        ),
        "{}",
        harness.transcript
    );
    assert!(
        harness
            .transcript
            .contains("event: session too long: 1000s")
    );
}

#[test]
fn the_lifetime_cap_ends_a_transfer_in_progress_and_stores_nothing() {
    let mut harness = in_data(SessionConfig {
        max_session_time: secs(30),
        max_message_size: 1_000_000,
        ..config()
    });
    for _ in 0..10 {
        harness.advance(secs(5));
        harness.feed(b"fast enough\r\n");
    }
    assert!(harness.closed, "{}", harness.transcript);
    assert!(harness.stored.is_empty());
    assert!(harness.transcript.contains("abort"));
}

#[test]
fn bytes_that_race_an_expired_deadline_are_not_acted_on() {
    let mut harness = Harness::new();
    harness.send_line("EHLO client.test");
    // The driver's read won the race against the timer: the deadline has
    // passed all the same.
    harness.advance_quietly(secs(400));
    harness.send_line("MAIL FROM:<late@remote.test>");
    assert!(harness.closed);
    assert!(!harness.transcript.contains("mail from=<late"));
    assert!(harness.transcript.contains("421 4.4.2"));
}

#[test]
fn a_client_that_does_not_read_is_closed_without_another_word() {
    let mut harness = in_data(config());
    harness.feed(b"Subject: never read\r\n");
    let send_deadline = harness.server.send_deadline();
    // Only output moves the send deadline; the client's bytes do not.
    harness.advance(secs(10));
    harness.feed(b"more\r\n");
    assert_eq!(harness.server.send_deadline(), send_deadline);
    harness.send_timed_out();
    assert!(harness.closed);
    assert!(harness.stored.is_empty());
    let after = harness
        .transcript
        .split("<driver: send timed out>")
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(!after.contains("S:"), "{after}");
    assert!(after.contains("event: write stalled for 300s: the client is not reading"));
    assert!(after.contains("abort"));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_stall_on_the_last_reply_is_still_reported() {
    let mut harness = Harness::new();
    harness.send_line("QUIT");
    assert!(harness.closed);
    harness.send_timed_out();
    assert!(
        harness
            .transcript
            .ends_with("event: write stalled for 300s: the client is not reading\n"),
        "{}",
        harness.transcript
    );
}

proptest! {
    /// However bytes without a line end arrive, and whenever, the command
    /// deadline stays where it was when the command was awaited.
    #[test]
    fn bytes_without_a_line_end_never_move_the_command_deadline(
        pieces in proptest::collection::vec(
            (0u64..60, proptest::collection::vec(any::<u8>().prop_filter("no LF", |b| *b != b'\n'), 0..700)),
            0..20,
        ),
    ) {
        let mut harness = Harness::new();
        harness.send_line("EHLO client.test");
        let deadline = harness.server.poll_timeout();
        for (wait, bytes) in &pieces {
            harness.advance(secs(*wait));
            if harness.closed {
                break;
            }
            harness.feed(bytes);
            prop_assert_eq!(harness.server.poll_timeout(), deadline);
        }
    }
}

#[test]
fn every_goodbye_gets_a_fresh_send_deadline() {
    let mut harness = Harness::new();
    harness.send_line("EHLO client.test");
    let after_ehlo = harness.server.send_deadline();
    harness.advance(secs(299));
    harness.shut_down();
    assert!(harness.transcript.contains("S: 421 4.3.2"));
    // The 421 went out at 299 s: it has a whole command_timeout to be
    // written, not the second left of the EHLO reply's.
    assert_eq!(harness.server.send_deadline(), after_ehlo + secs(299));
}
