//! The client side: the reply parser on server bytes in arbitrary pieces,
//! and the client machine fed those bytes as a server would send them.
//!
//! Input layout:
//!
//! ```text
//! byte 0      flags: 1 credentials, 2 TLS required, 4 TLS never,
//!             8 SMTPUTF8 message, 16 8BITMIME message; bits 5-6: 1 to 3
//!             recipients
//! byte 1      K, the length of the control bytes
//! K bytes     control: piece sizes, clock moves, TLS handshake results
//! the rest    what the server sends
//! ```
//!
//! Asserted, besides "never panics": the parser gives the same replies
//! (and fails at the same place) whatever the pieces, and never more than
//! its line and reply bounds; the machine ends every session with exactly
//! one `Finished` and a `Close`, sends nothing after them, sends only
//! whole CRLF lines, gives a result for every recipient in order, defers
//! all of them when the session failed, has a deadline while it waits, and
//! finishes at end of input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::address::{ForwardPath, parse_forward_path, parse_reverse_path};
use postern_core::limits::READ_CHUNK_BYTES;
use postern_core::smtp::client::{
    Client, ClientConfig, ClientTimeouts, Content, Credentials, Delivery, Input, Output,
    ReplyParser, ServerReply, TlsPolicy, Verdict,
};
use postern_core::smtp::server::BodyType;
use postern_core::time::Instant;
use std::sync::Arc;
use std::time::Duration;

/// `REPLY_LINE_BYTES_MAX` and `REPLY_LINES_MAX` of the parser.
const REPLY_LINE_BYTES_MAX: usize = 4096;
const REPLY_LINES_MAX: usize = 100;

struct Control<'a> {
    bytes: &'a [u8],
}

impl Control<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }

    /// A piece size: 1 to 256 bytes, or a read chunk when control ran out.
    fn piece(&mut self) -> usize {
        self.next().map_or(READ_CHUNK_BYTES, |b| usize::from(b) + 1)
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (header, rest) = data.split_at(2);
    let control_len = usize::from(header[1]).min(rest.len());
    let (control, stream) = rest.split_at(control_len);
    parse_in_pieces(Control { bytes: control }, stream);
    run_client(header[0], Control { bytes: control }, stream);
});

/// Everything the parser makes of `stream` in these pieces: the replies,
/// then the error that stopped it, if one did.
fn replies(pieces: &mut dyn FnMut() -> usize, stream: &[u8]) -> (Vec<ServerReply>, bool) {
    let mut parser = ReplyParser::default();
    let mut replies = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let n = pieces().min(rest.len());
        parser.push(&rest[..n]);
        rest = &rest[n..];
        loop {
            match parser.next_reply() {
                Ok(Some(reply)) => {
                    assert!(!reply.lines.is_empty() && reply.lines.len() <= REPLY_LINES_MAX);
                    for line in &reply.lines {
                        assert!(
                            line.len() <= REPLY_LINE_BYTES_MAX * 3,
                            "a line of {}",
                            line.len()
                        );
                    }
                    assert!((200..600).contains(&reply.code));
                    replies.push(reply);
                }
                Ok(None) => break,
                Err(_) => return (replies, true),
            }
        }
    }
    (replies, false)
}

fn parse_in_pieces(mut control: Control<'_>, stream: &[u8]) {
    let whole = replies(&mut || usize::MAX, stream);
    let pieces = replies(&mut || control.piece(), stream);
    assert_eq!(
        whole, pieces,
        "the replies depend on how the bytes were cut"
    );
    let bytes = replies(&mut || 1, stream);
    assert_eq!(
        whole, bytes,
        "the replies differ when read a byte at a time"
    );
}

fn delivery(flags: u8) -> Delivery {
    let recipients = 1 + usize::from((flags >> 5) & 3).min(2);
    let body = if flags & 16 != 0 {
        BodyType::EightBitMime
    } else {
        BodyType::SevenBit
    };
    let smtputf8 = flags & 8 != 0;
    // What a scan of the message found: what was declared, or (bit 7) a
    // message that needs neither extension after all.
    let declared = Content::declared(body, smtputf8);
    let content = if flags & 128 != 0 {
        Content {
            eight_bit: false,
            ascii_headers: true,
        }
    } else {
        declared
    };
    Delivery {
        reverse_path: parse_reverse_path("<sender@example.test>", false).unwrap(),
        recipients: (0..recipients)
            .map(|n| parse_forward_path(&format!("<r{n}@remote.test>"), false).unwrap())
            .collect(),
        size: 1234,
        body,
        smtputf8,
        content,
    }
}

fn run_client(flags: u8, mut control: Control<'_>, mut stream: &[u8]) {
    let config = Arc::new(ClientConfig {
        hostname: "client.example.test".into(),
        timeouts: ClientTimeouts::default(),
        credentials: (flags & 1 != 0).then(|| Credentials {
            user: "user".into(),
            password: "password".into(),
        }),
        tls: if flags & 2 != 0 {
            TlsPolicy::Required
        } else if flags & 4 != 0 {
            TlsPolicy::Never
        } else {
            TlsPolicy::Opportunistic
        },
    });
    let delivery = delivery(flags);
    let recipients = delivery.recipients.clone();
    let mut now = Instant::from_nanos(1_000_000_000);
    let mut session = Session {
        client: Client::new(config, delivery, now),
        recipients,
        finished: false,
        closed: false,
        message_sent: false,
        starting_tls: false,
    };
    session.check_waiting(now);
    while !session.finished {
        if stream.is_empty() {
            session.input(now, Input::EndOfInput, &mut control);
            assert!(session.finished, "end of input and the session goes on");
            break;
        }
        match control.next().map(|b| b % 4) {
            Some(3) => {
                now = now + Duration::from_secs(u64::from(control.next().unwrap_or(0)) * 4);
                if session.client.poll_timeout().is_some_and(|d| d <= now) {
                    session.input(now, Input::TimerFired, &mut control);
                }
            }
            _ => {
                let n = control.piece().min(stream.len());
                session.input(now, Input::Bytes(&stream[..n]), &mut control);
                stream = &stream[n..];
            }
        }
    }
    assert!(session.closed, "finished without Close");
}

struct Session {
    client: Client,
    recipients: Vec<ForwardPath>,
    finished: bool,
    closed: bool,
    /// The driver has streamed the message.
    message_sent: bool,
    /// The machine asked for a handshake.
    starting_tls: bool,
}

impl Session {
    /// Hands in `input`, then carries out outputs (and hands in their
    /// answers) until the machine waits for the server.
    fn input(&mut self, now: Instant, input: Input<'_>, control: &mut Control<'_>) {
        self.client.handle_input(now, input);
        loop {
            let mut answer = None;
            while let Some(output) = self.client.poll_output() {
                if let Some(input) = self.carry_out(output, control) {
                    assert!(answer.is_none(), "two things to answer at once");
                    answer = Some(input);
                }
            }
            match answer {
                Some(input) => self.client.handle_input(now, input),
                None => break,
            }
        }
        self.check_waiting(now);
    }

    fn check_waiting(&self, now: Instant) {
        if !self.finished {
            let deadline = self.client.poll_timeout();
            assert!(
                deadline.is_some_and(|d| d > now),
                "a session waiting for its server with no deadline ahead: {deadline:?}"
            );
        }
    }

    fn carry_out(&mut self, output: Output, control: &mut Control<'_>) -> Option<Input<'static>> {
        assert!(
            !self.closed && (!self.finished || matches!(output, Output::Close)),
            "{output:?} after the session finished"
        );
        match output {
            Output::Send(bytes) => {
                assert!(bytes.ends_with(b"\r\n"), "a command without its CRLF");
                let body = &bytes[..bytes.len() - 2];
                assert!(
                    body.split(|&b| b == b'\n')
                        .all(|line| !line.strip_suffix(b"\r").unwrap_or(line).contains(&b'\r')),
                    "a bare CR in a command"
                );
                None
            }
            Output::SendMessage => {
                assert!(!self.message_sent, "the message asked for twice");
                self.message_sent = true;
                Some(Input::MessageSent)
            }
            Output::StartTls => {
                assert!(!self.starting_tls, "TLS started twice");
                self.starting_tls = true;
                Some(if control.next().is_some_and(|b| b % 4 == 3) {
                    Input::TlsFailed("handshake failed".into())
                } else {
                    Input::TlsStarted
                })
            }
            Output::Finished(outcome) => {
                self.finished = true;
                let paths: Vec<_> = outcome.recipients.iter().map(|r| &r.forward_path).collect();
                assert_eq!(paths, self.recipients.iter().collect::<Vec<_>>());
                for result in &outcome.recipients {
                    if outcome.session_failure.is_some() {
                        assert_eq!(result.verdict, Verdict::Deferred, "{result:?}");
                    }
                    if result.verdict == Verdict::Delivered {
                        assert!(
                            self.message_sent,
                            "delivered without the message: {result:?}"
                        );
                    }
                }
                None
            }
            Output::Ready => panic!("Ready from a session made without reuse"),
            Output::Close => {
                assert!(self.finished, "Close before Finished");
                self.closed = true;
                None
            }
            Output::Event(event) => {
                let _ = event.to_string();
                None
            }
        }
    }
}
