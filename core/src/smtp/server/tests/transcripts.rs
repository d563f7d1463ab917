//! Whole sessions, snapshot-tested as transcripts.

use super::harness::Harness;
use std::time::Duration;

const GREETING_AND_ENVELOPE: &[&str] = &[
    "EHLO client.test",
    "MAIL FROM:<sender@remote.test>",
    "RCPT TO:<alice@example.test>",
];

fn session(lines: &[&str]) -> Harness {
    let mut harness = Harness::new();
    for line in lines {
        harness.send_line(line);
    }
    harness
}

fn with_envelope(more: &[&str]) -> Harness {
    let lines: Vec<&str> = GREETING_AND_ENVELOPE.iter().chain(more).copied().collect();
    session(&lines)
}

#[test]
fn good_session_queues_one_message() {
    let mut harness = with_envelope(&["DATA"]);
    harness.send(b"Subject: hello\r\n\r\nHi Alice.\r\n..leading dot\r\n.\r\n");
    harness.send_line("QUIT");
    assert_eq!(harness.stored.len(), 1);
    let data = String::from_utf8(harness.stored[0].data.clone()).unwrap();
    assert!(
        data.ends_with("Subject: hello\r\n\r\nHi Alice.\r\n.leading dot\r\n"),
        "{data}"
    );
    insta::assert_snapshot!(harness.transcript);
    insta::assert_snapshot!("good_session_stored_message", data);
}

#[test]
fn pipelined_session_is_answered_in_order() {
    let mut harness = Harness::new();
    harness.send_line("EHLO client.test");
    harness.send(
        b"MAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\n\
RCPT TO:<info@example.test>\r\nDATA\r\n",
    );
    harness.send(b"Subject: piped\r\n\r\nbody\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
    harness.send(b"bounce\r\n.\r\nQUIT\r\n");
    assert_eq!(harness.stored.len(), 2);
    assert_eq!(harness.stored[0].envelope.recipients.len(), 2);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn helo_session_offers_no_extensions() {
    let harness = session(&[
        "HELO client.test",
        "MAIL FROM:<a@remote.test> SIZE=10",
        "MAIL FROM:<a@remote.test>",
    ]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn unknown_command_and_bad_syntax() {
    let harness = session(&[
        "EHLO client.test",
        "FROB",
        "MAIL FROM:sender@remote.test",
        "MAIL FROM:<a@@b>",
        "EHLO",
    ]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn bad_sequence() {
    let harness = session(&[
        "MAIL FROM:<a@remote.test>",
        "EHLO client.test",
        "RCPT TO:<alice@example.test>",
        "DATA",
        "MAIL FROM:<a@remote.test>",
        "MAIL FROM:<a@remote.test>",
    ]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn over_long_command_line_is_refused_once_and_the_session_goes_on() {
    let mut harness = Harness::new();
    let long = format!("NOOP {}\r\n", "x".repeat(600));
    harness.note_client("NOOP xxx... (608 octets in one piece)");
    harness.feed(long.as_bytes());
    harness.note_client("NOOP xxx... (the same, in two pieces)");
    // The same, arriving in pieces with no line end in the first.
    harness.feed(&long.as_bytes()[..520]);
    harness.feed(&long.as_bytes()[520..]);
    harness.send_line("NOOP");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn declared_size_over_the_limit_is_refused_at_mail() {
    let harness = session(&[
        "EHLO client.test",
        "MAIL FROM:<a@remote.test> SIZE=10001",
        "MAIL FROM:<a@remote.test> SIZE=10000",
    ]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn message_over_the_limit_is_refused_at_the_end_of_data() {
    let mut harness = with_envelope(&["DATA"]);
    let line = format!("{}\r\n", "y".repeat(98));
    harness.note_client("(101 lines of 100 octets: 10,100 octets, over the limit of 10,000)");
    for _ in 0..101 {
        harness.feed(line.as_bytes());
    }
    harness.send(b".\r\n");
    harness.send_line("NOOP");
    assert!(harness.stored.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn too_many_recipients_get_452() {
    let harness = with_envelope(&[
        "RCPT TO:<bob@example.test>",
        "RCPT TO:<info@example.test>",
        "RCPT TO:<alice@example.test>",
    ]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn unknown_local_user_and_relay_attempt_are_refused() {
    let harness = with_envelope(&[
        "RCPT TO:<mallory@example.test>",
        "RCPT TO:<someone@elsewhere.test>",
        "RCPT TO:<postmaster>",
    ]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_client_in_a_relay_network_may_send_to_other_domains() {
    use crate::envelope::Destination;
    use crate::policy::RelayPolicy;
    let relaying = |networks: &str| {
        let mut config = super::harness::config();
        config.relay = RelayPolicy::Networks(vec![networks.parse().unwrap()]);
        let mut harness = Harness::with_config(config);
        for line in [
            "EHLO client.test",
            "MAIL FROM:<alice@example.test>",
            "RCPT TO:<carol@elsewhere.test>",
            "RCPT TO:<bob@example.test>",
            "DATA",
        ] {
            harness.send_line(line);
        }
        harness.send(b"Subject: hi\r\n\r\nHi.\r\n.\r\n");
        harness
    };
    // The harness's client is 192.0.2.7.
    let inside = relaying("192.0.2.0/24");
    let destinations: Vec<_> = inside.stored[0]
        .envelope
        .recipients
        .iter()
        .map(|r| r.destination.clone())
        .collect();
    assert!(matches!(
        destinations.as_slice(),
        [Destination::Remote, Destination::Local(_)]
    ));
    insta::assert_snapshot!("relay_permitted", inside.transcript);
    let outside = relaying("198.51.100.0/24");
    assert!(
        outside
            .transcript
            .contains("S: 554 5.7.1 <carol@elsewhere.test>: Relaying denied"),
        "{}",
        outside.transcript
    );
}

#[test]
fn non_ascii_addresses_need_smtputf8() {
    let harness = session(&[
        "EHLO client.test",
        "MAIL FROM:<jöe@remote.test>",
        "MAIL FROM:<a@remote.test>",
        "RCPT TO:<ålice@example.test>",
        "RSET",
        "MAIL FROM:<jöe@remote.test> SMTPUTF8",
        "RCPT TO:<ålice@example.test>",
    ]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn nul_bytes_are_refused_in_commands_and_in_data() {
    let mut harness = Harness::new();
    harness.send(b"EHLO client\0.test\r\n");
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<a@remote.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    harness.send_line("DATA");
    harness.send(b"a\0b\r\n.\r\n");
    assert!(harness.stored.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn over_long_data_line_discards_the_message() {
    let mut harness = with_envelope(&["DATA"]);
    harness.note_client("zzz... (one line of 1001 octets)");
    harness.feed(format!("{}\r\n", "z".repeat(999)).as_bytes());
    harness.send(b".\r\n");
    assert!(harness.stored.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn client_vanishing_mid_data_stores_nothing() {
    let mut harness = with_envelope(&["DATA"]);
    harness.send(b"Subject: half\r\n\r\nhalf a mess");
    harness.hang_up();
    assert!(harness.stored.is_empty());
    assert!(harness.closed);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn too_many_errors_close_the_session_with_421() {
    let harness = session(&["FROB 1", "FROB 2", "FROB 3", "FROB 4", "FROB 5", "NOOP"]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn bare_lf_in_data_is_refused_and_smuggled_commands_never_run() {
    let mut harness = with_envelope(&["DATA"]);
    // The SMTP smuggling pattern: `\n.\r\n` then a second transaction.
    harness.send(b"Subject: a\r\n\r\nhi\n.\r\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nforged\r\n.\r\n");
    assert!(harness.stored.is_empty());
    assert!(harness.closed);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn idle_client_times_out_with_421() {
    let mut harness = session(&["EHLO client.test"]);
    harness.advance(Duration::from_secs(299));
    harness.send_line("NOOP");
    harness.advance(Duration::from_secs(300));
    assert!(harness.closed);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn stalled_data_times_out_and_the_message_is_discarded() {
    let mut harness = with_envelope(&["DATA"]);
    harness.send(b"Subject: slow\r\n");
    harness.advance(Duration::from_secs(599));
    harness.send(b"\r\nstill here\r\n");
    harness.advance(Duration::from_secs(600));
    assert!(harness.stored.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn store_failures_are_temporary_and_lose_nothing_acknowledged() {
    let mut harness = with_envelope(&[]);
    harness.fail_open = true;
    harness.send_line("DATA");
    harness.fail_open = false;
    harness.send_line("MAIL FROM:<sender@remote.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    harness.send_line("DATA");
    harness.fail_commit = true;
    harness.send(b"x\r\n.\r\n");
    assert!(harness.stored.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn shutdown_mid_data_discards_the_message_with_421() {
    let mut harness = with_envelope(&["DATA"]);
    harness.send(b"Subject: interrupted\r\n");
    harness.shut_down();
    assert!(harness.stored.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn vrfy_expn_help_noop_rset() {
    let harness = session(&[
        "EHLO client.test",
        "VRFY alice",
        "EXPN staff",
        "HELP",
        "NOOP",
        "RSET",
        "QUIT",
        "NOOP",
    ]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn data_after_only_refused_recipients_gets_554() {
    let harness = session(&[
        "EHLO client.test",
        "MAIL FROM:<a@remote.test>",
        "RCPT TO:<nobody@example.test>",
        "DATA",
    ]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn bare_cr_and_lf_in_commands_are_refused_and_the_session_goes_on() {
    let mut harness = Harness::new();
    // A bare LF ends the line but is refused with it; a bare CR inside a
    // line makes it refused whole (RFC 5321 2.3.8). 8-bit bytes that are
    // not UTF-8 are refused too.
    harness.send(b"EHLO client.test\n");
    harness.send(b"NOOP\rRSET\r\n");
    harness.send(b"MAIL FROM:<a@remote.test>\r\r\n");
    harness.send(b"NOOP \xff\xfe\r\n");
    harness.send_line("EHLO client.test");
    harness.send_line("QUIT");
    let transcript = &harness.transcript;
    assert!(transcript.contains("S: 500 5.5.2 Bare LF in a command line"));
    assert_eq!(transcript.matches("S: 500 5.5.2 Bare CR").count(), 2);
    assert!(!transcript.contains("mail from="));
    assert!(transcript.contains("S: 221 2.0.0"));
    insta::assert_snapshot!(harness.transcript);
}
