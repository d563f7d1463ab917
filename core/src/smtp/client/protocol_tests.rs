//! The client machine against scripted servers that bend the protocol:
//! replies where RFC 5321 allows none, text crafted for logs and bounces,
//! bytes injected before a TLS handshake, and servers without 8BITMIME or
//! SMTPUTF8.

use super::tests::{EHLO_OK, HAPPY, Scripted, config, delivery, scripted, verdicts, with};
use super::*;
use crate::address::{parse_forward_path, parse_reverse_path};
use crate::limits::REPLY_TEXT_BYTES_MAX;
use crate::smtp::server::BodyType;

const EHLO_NO_PIPELINING: &str = "250-mx.dest.test\r\n250 8BITMIME\r\n";

fn all(run: &Scripted, verdict: Verdict) -> bool {
    verdicts(run.outcome()).iter().all(|(_, v)| *v == verdict)
}

#[test]
fn a_2xx_or_3xx_reply_to_data_is_not_a_delivery() {
    for ehlo in [EHLO_OK, EHLO_NO_PIPELINING] {
        for reply in ["250 2.0.0 Ok: queued\r\n", "251 sure\r\n", "334 what\r\n"] {
            let run = scripted(&with(&[("EHLO", ehlo), ("DATA", reply)]), "220 hi\r\n");
            assert!(!run.message_sent, "{reply:?}: no message was sent");
            assert!(
                all(&run, Verdict::Deferred),
                "{reply:?}: {:?}",
                run.outcome()
            );
            let detail = &run.outcome().recipients[0].detail;
            assert!(
                detail.starts_with("protocol error: the server answered DATA with")
                    && detail.ends_with("not 354"),
                "{detail}"
            );
            assert_eq!(run.sent.last().map(String::as_str), Some("QUIT"));
        }
    }
}

#[test]
fn a_4xx_or_5xx_reply_to_data_defers_or_fails_the_accepted_recipients() {
    let later = scripted(&with(&[("DATA", "451 4.3.0 later\r\n")]), "220 hi\r\n");
    assert!(!later.message_sent);
    assert!(all(&later, Verdict::Deferred));
    assert_eq!(later.outcome().recipients[0].detail, "451 4.3.0 later");
    let never = scripted(&with(&[("DATA", "554 5.7.1 no\r\n")]), "220 hi\r\n");
    assert!(all(&never, Verdict::Failed));
}

#[test]
fn only_a_2xx_after_the_final_dot_is_a_delivery() {
    let rows: &[(&str, Verdict)] = &[
        ("250 2.0.0 queued\r\n", Verdict::Delivered),
        ("354 more please\r\n", Verdict::Deferred),
        ("334 eh\r\n", Verdict::Deferred),
        ("452 4.3.1 full\r\n", Verdict::Deferred),
        ("554 5.6.0 spam\r\n", Verdict::Failed),
    ];
    for &(reply, verdict) in rows {
        let run = scripted(&with(&[("<data>", reply)]), "220 hi\r\n");
        assert!(run.message_sent);
        assert!(all(&run, verdict), "{reply:?}: {:?}", run.outcome());
        if reply.starts_with('3') {
            assert!(
                run.outcome().recipients[0]
                    .detail
                    .starts_with("protocol error: the server answered the final dot with 3"),
                "{:?}",
                run.outcome()
            );
        }
    }
}

#[test]
fn a_3xx_to_mail_or_rcpt_is_no_acceptance() {
    for ehlo in [EHLO_OK, EHLO_NO_PIPELINING] {
        let rcpt = scripted(
            &with(&[
                ("EHLO", ehlo),
                ("RCPT", "354 sure\r\n"),
                (".", "554 5.5.1 no valid recipients\r\n"),
            ]),
            "220 hi\r\n",
        );
        assert!(!rcpt.message_sent, "no recipient was accepted");
        assert!(all(&rcpt, Verdict::Deferred), "{:?}", rcpt.outcome());
        let mail = scripted(
            &with(&[
                ("EHLO", ehlo),
                ("MAIL", "354 sure\r\n"),
                ("RCPT", "503 5.5.1 no\r\n"),
                ("DATA", "503 5.5.1 no\r\n"),
            ]),
            "220 hi\r\n",
        );
        assert!(!mail.message_sent);
        assert!(all(&mail, Verdict::Deferred), "{:?}", mail.outcome());
        assert_eq!(mail.outcome().recipients[0].detail, "354 sure");
    }
}

/// Up to the server's 220 to STARTTLS, then the client's handshake.
fn up_to_starttls(reply: &str) -> Scripted {
    let run = Scripted::new(config(), delivery(&["a@dest.test"]), "220 hi\r\n").play(&with(&[
        ("EHLO", "250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
        ("STARTTLS", reply),
    ]));
    assert!(run.tls_requested, "the driver was asked for a handshake");
    run
}

/// The handshake succeeds and the server answers the new EHLO; the rest
/// of the transaction goes as in [`HAPPY`].
fn after_tls(mut run: Scripted, ehlo_reply: &str) -> Scripted {
    run.client.handle_input(run.now, Input::TlsStarted);
    run.drain();
    assert_eq!(
        run.sent.last().map(String::as_str),
        Some("EHLO out.origin.test")
    );
    let answered = run.sent.len();
    run.server_says(ehlo_reply);
    let mut reply = String::new();
    for line in &run.sent[answered..] {
        if let Some((_, r)) = HAPPY.iter().find(|(p, _)| line.starts_with(p)) {
            reply.push_str(r);
        }
    }
    run.server_says(&reply);
    run.client.handle_input(run.now, Input::MessageSent);
    run.drain();
    run.server_says("250 2.0.0 queued\r\n");
    run
}

#[test]
fn bytes_the_server_sent_behind_its_220_to_starttls_are_discarded() {
    // A whole forged reply in the same chunk as the 220: before, it was
    // read as the next reply and ended the session.
    let run = up_to_starttls("220 go ahead\r\n250 fake\r\n");
    assert!(
        run.events
            .contains(&ClientEvent::PlaintextDiscarded { octets: 10 })
    );
    let run = after_tls(run, "250-mx\r\n250 PIPELINING\r\n");
    assert_eq!(run.outcome().session_failure, None, "{:?}", run.sent);
    assert!(all(&run, Verdict::Delivered));
    // Half a line behind the 220: before, it was glued to the first line
    // of the reply to EHLO under TLS, and what was sent in clear was
    // believed (here a SIZE too small for the message: a bounce).
    let run = up_to_starttls("220 go ahead\r\n250-SIZE 10 ");
    assert!(
        run.events
            .contains(&ClientEvent::PlaintextDiscarded { octets: 12 })
    );
    let run = after_tls(run, "250-mx\r\n250 PIPELINING\r\n");
    assert!(all(&run, Verdict::Delivered), "{:?}", run.outcome());
    // Bytes handed in while the handshake is under way are dropped too.
    let mut waiting = up_to_starttls("220 go ahead\r\n");
    waiting
        .client
        .handle_input(waiting.now, Input::Bytes(b"250 injected\r\n"));
    let outputs = waiting.drain();
    assert_eq!(
        outputs,
        [Output::Event(ClientEvent::PlaintextDiscarded {
            octets: 14
        })]
    );
    assert!(waiting.outcome.is_none());
}

#[test]
fn reply_text_reaches_the_outcome_escaped_and_bounded() {
    let hostile = format!(
        "550-5.1.1 no\rsuch\x1b[2J user\r\n550 {}\r\n",
        "y".repeat(3000)
    );
    let script = with(&[
        ("RCPT", hostile.as_str()),
        (".", "554 5.5.1 no valid recipients\r\n"),
    ]);
    let run = scripted(&script, "220 hi\r\n");
    for recipient in &run.outcome().recipients {
        assert!(
            recipient
                .detail
                .starts_with("550 5.1.1 no\\rsuch\\x1b[2J user yyy")
        );
        assert!(!recipient.detail.chars().any(char::is_control));
        assert!(recipient.detail.len() <= REPLY_TEXT_BYTES_MAX);
    }
    for event in &run.events {
        assert!(!event.to_string().chars().any(char::is_control), "{event}");
    }
}

/// A delivery of a message with these envelope and content facts.
fn message(
    sender: &str,
    recipient: &str,
    body: BodyType,
    smtputf8: bool,
    content: Content,
) -> Delivery {
    Delivery {
        reverse_path: parse_reverse_path(&format!("<{sender}>"), true).unwrap(),
        recipients: vec![parse_forward_path(&format!("<{recipient}>"), true).unwrap()],
        size: 100,
        body,
        smtputf8,
        content,
    }
}

const SEVEN: Content = Content {
    eight_bit: false,
    ascii_headers: true,
};
const EIGHT_BODY: Content = Content {
    eight_bit: true,
    ascii_headers: true,
};
const UTF8_HEADERS: Content = Content {
    eight_bit: true,
    ascii_headers: false,
};

const PLAIN_SERVER: &str = "250-mx\r\n250 PIPELINING\r\n";
const EIGHT_BIT_SERVER: &str = "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
const UTF8_SERVER: &str = "250-mx\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n";

#[test]
fn eight_bit_and_utf8_messages_against_what_the_server_offers() {
    use BodyType::{EightBitMime as B8, SevenBit as B7};
    // (sender, recipient, body, SMTPUTF8, content, server) ->
    //   Ok(MAIL's parameters) or Err(the start of every recipient's detail).
    type Row = (
        &'static str,
        &'static str,
        BodyType,
        bool,
        Content,
        &'static str,
        Result<&'static str, &'static str>,
    );
    let rows: &[Row] = &[
        (
            "s@o.test",
            "a@d.test",
            B7,
            false,
            SEVEN,
            PLAIN_SERVER,
            Ok(""),
        ),
        (
            "s@o.test",
            "a@d.test",
            B8,
            false,
            EIGHT_BODY,
            EIGHT_BIT_SERVER,
            Ok(" BODY=8BITMIME"),
        ),
        (
            "s@o.test",
            "a@d.test",
            B8,
            false,
            EIGHT_BODY,
            PLAIN_SERVER,
            Err("554 5.6.3 "),
        ),
        // Declared 8BITMIME, but every octet is 7-bit: sent without BODY=.
        (
            "s@o.test",
            "a@d.test",
            B8,
            false,
            SEVEN,
            PLAIN_SERVER,
            Ok(""),
        ),
        (
            "s@o.test",
            "a@d.test",
            B8,
            false,
            SEVEN,
            EIGHT_BIT_SERVER,
            Ok(" BODY=8BITMIME"),
        ),
        // Declared 8BITMIME and not scanned: taken at its word.
        (
            "s@o.test",
            "a@d.test",
            B8,
            false,
            Content::declared(B8, false),
            PLAIN_SERVER,
            Err("554 5.6.3 "),
        ),
        // SMTPUTF8 with an ASCII envelope and headers: not needed.
        (
            "s@o.test",
            "a@d.test",
            B7,
            true,
            SEVEN,
            PLAIN_SERVER,
            Ok(""),
        ),
        (
            "s@o.test",
            "a@d.test",
            B8,
            true,
            EIGHT_BODY,
            EIGHT_BIT_SERVER,
            Ok(" BODY=8BITMIME"),
        ),
        (
            "s@o.test",
            "a@d.test",
            B7,
            true,
            EIGHT_BODY,
            PLAIN_SERVER,
            Err("554 5.6.3 "),
        ),
        // Needed: UTF-8 headers, or a UTF-8 address.
        (
            "s@o.test",
            "a@d.test",
            B8,
            true,
            UTF8_HEADERS,
            EIGHT_BIT_SERVER,
            Err("554 5.6.9 "),
        ),
        (
            "s@o.test",
            "a@d.test",
            B7,
            true,
            Content::declared(B7, true),
            PLAIN_SERVER,
            Err("554 5.6.9 "),
        ),
        (
            "s@o.test",
            "jörg@d.test",
            B8,
            true,
            EIGHT_BODY,
            EIGHT_BIT_SERVER,
            Err("553 5.6.7 "),
        ),
        (
            "jörg@o.test",
            "a@d.test",
            B7,
            true,
            SEVEN,
            PLAIN_SERVER,
            Err("553 5.6.7 "),
        ),
        // A server with SMTPUTF8 takes them all.
        (
            "jörg@o.test",
            "a@d.test",
            B8,
            true,
            UTF8_HEADERS,
            UTF8_SERVER,
            Ok(" BODY=8BITMIME SMTPUTF8"),
        ),
        (
            "s@o.test",
            "a@d.test",
            B7,
            true,
            SEVEN,
            UTF8_SERVER,
            Ok(" SMTPUTF8"),
        ),
    ];
    for &(sender, recipient, body, smtputf8, content, ehlo, expected) in rows {
        let delivery = message(sender, recipient, body, smtputf8, content);
        let run = Scripted::new(config(), delivery, "220 hi\r\n").play(&with(&[("EHLO", ehlo)]));
        let row =
            format!("{sender} -> {recipient} {body:?} smtputf8={smtputf8} {content:?} to {ehlo:?}");
        let mail = run.sent.iter().find(|l| l.starts_with("MAIL"));
        let result = &run.outcome().recipients[0];
        match expected {
            Ok(parameters) => {
                assert_eq!(
                    mail.map(String::as_str),
                    Some(format!("MAIL FROM:<{sender}>{parameters}").as_str()),
                    "{row}"
                );
                assert_eq!(result.verdict, Verdict::Delivered, "{row}: {result:?}");
                let dropped = smtputf8 && !parameters.contains("SMTPUTF8");
                assert_eq!(
                    run.events.contains(&ClientEvent::Smtputf8NotNeeded),
                    dropped,
                    "{row}"
                );
            }
            Err(detail) => {
                assert_eq!(mail, None, "{row}: nothing is sent");
                assert_eq!(result.verdict, Verdict::Failed, "{row}: {result:?}");
                assert!(result.detail.starts_with(detail), "{row}: {result:?}");
            }
        }
    }
}

/// A client with `tls = "implicit"`: its first output is the handshake,
/// before any SMTP byte is read or written.
fn implicit() -> Scripted {
    let config = ClientConfig {
        tls: TlsPolicy::Implicit,
        ..config()
    };
    let mut run = Scripted::new(config, delivery(&["a@dest.test"]), "");
    assert!(run.tls_requested, "the handshake comes first");
    assert!(run.sent.is_empty(), "nothing is sent before the handshake");
    run.tls_requested = false;
    run
}

#[test]
fn implicit_tls_handshakes_first_then_reads_the_greeting_and_never_sends_starttls() {
    let mut run = implicit();
    run.client.handle_input(run.now, Input::TlsStarted);
    run.drain();
    assert!(run.sent.is_empty(), "the greeting comes before EHLO");
    run.server_says("220 relay.test ESMTP\r\n");
    let script = with(&[(
        "EHLO",
        "250-relay.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n",
    )]);
    let run = run.play(&script);
    assert_eq!(run.outcome().session_failure, None, "{:?}", run.sent);
    assert_eq!(run.outcome().recipients[0].verdict, Verdict::Delivered);
    assert!(
        !run.sent.iter().any(|line| line == "STARTTLS"),
        "{:?}",
        run.sent
    );
    assert!(!run.tls_requested, "one handshake only");
    assert_eq!(run.sent[0], "EHLO out.origin.test");
}

#[test]
fn implicit_tls_handshake_failure_fails_the_session_before_any_smtp() {
    let mut run = implicit();
    run.client
        .handle_input(run.now, Input::TlsFailed("received corrupt message".into()));
    run.drain();
    let failure = run.outcome().session_failure.clone().unwrap();
    assert_eq!(failure.stage, "TLS");
    assert!(failure.detail.contains("handshake failed"), "{failure:?}");
    assert!(run.sent.is_empty());
}

#[test]
fn implicit_tls_greeting_timer_starts_after_the_handshake() {
    let mut run = implicit();
    assert_eq!(
        run.client.poll_timeout(),
        None,
        "the driver bounds the handshake"
    );
    run.client.handle_input(run.now, Input::TlsStarted);
    run.drain();
    let greeting = ClientTimeouts::default().greeting;
    assert_eq!(run.client.poll_timeout(), Some(run.now + greeting));
    let run = run.wait(greeting.as_secs());
    let failure = run.outcome().session_failure.clone().unwrap();
    assert!(
        failure.detail.contains("waiting for greeting"),
        "{failure:?}"
    );
}
