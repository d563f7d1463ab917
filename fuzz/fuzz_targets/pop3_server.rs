//! The POP3 server machine, driven as `runtime-tokio/src/pop3/driver.rs`
//! drives it, on a virtual clock, with client bytes in arbitrary pieces
//! and every request answered as the fuzzer chooses.
//!
//! Input layout:
//!
//! ```text
//! byte 0      flags: 1 STLS offered, 2 logins without TLS, 4 implicit TLS,
//!             8 failed-login delay, 16 logins offered at all
//! byte 1..3   max_errors, auth max_failures
//! byte 3      K, the length of the control bytes
//! K bytes     control: how to split, when to advance the clock, how to
//!             answer each request (when they run out: as the runtime does)
//! the rest    what the client sends
//! ```
//!
//! Asserted, besides "never panics": the machine contract (no output after
//! `Close` but events, at most one request at a time, chunks only while
//! retrieving); every `Send` is whole CRLF lines; output stays
//! proportional to input; buffered input never exceeds
//! `INPUT_BUFFER_BYTES_MAX`; an open session waiting for its client has a
//! deadline ahead; end of input and shutdown close it; the maildrop is
//! updated only after the client sent QUIT, with UIDs of the maildrop,
//! never one both expunged and marked seen.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::auth::{AuthPolicy, AuthVerdict, Identity, SendAs};
use postern_core::limits::{INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES};
use postern_core::pop3::{
    Input, Maildrop, MaildropFailure, MaildropMessage, Output, Pop3Server, Request,
    SessionConfig, SessionInfo, UpdateFailure,
};
use postern_core::time::Instant;
use std::sync::Arc;
use std::time::Duration;

/// The maildrop every session opens: UID and content.
const MESSAGES: &[(u32, &[u8])] = &[
    (4, b"Subject: a\r\nFrom: b@x.test\r\n\r\nline\r\n.dot\r\n..two\r\n.\r\nend\r\n"),
    (5, b"Subject: no body\r\n"),
    (9, b"Subject: c\r\n\r\nno final line end"),
];

const OUTPUT_PER_INPUT_BYTE_MAX: usize = 64;
const OUTPUT_PER_INPUT_FIXED_MAX: usize = 4096;

struct Control<'a> {
    bytes: &'a [u8],
}

impl Control<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }
}

struct Driver<'a> {
    server: Pop3Server,
    control: Control<'a>,
    now: Instant,
    closed: bool,
    gone: bool,
    stream: &'a [u8],
    /// Everything the client has sent so far.
    sent: Vec<u8>,
    /// The message being handed in, and how far.
    reading: Option<(&'static [u8], usize)>,
    input_since_drain: usize,
    /// Output not yet ending in a line end (message data goes out in
    /// pieces).
    partial: Vec<u8>,
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (header, rest) = data.split_at(4);
    let control_len = (header[3] as usize).min(rest.len());
    let (control, stream) = rest.split_at(control_len);
    run(header, Control { bytes: control }, stream);
});

fn run(header: &[u8], control: Control<'_>, stream: &[u8]) {
    let flags = header[0];
    let config = SessionConfig {
        hostname: "pop.example.test".into(),
        stls: flags & 1 != 0,
        auth: AuthPolicy {
            offered: flags & 16 != 0,
            without_tls: flags & 2 != 0,
            max_failures: 1 + u32::from(header[2] % 5),
            failure_delay: if flags & 8 != 0 {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            },
            ..AuthPolicy::default()
        },
        max_errors: 1 + u32::from(header[1] % 20),
        autologout: Duration::from_secs(600),
        max_session_time: Duration::from_secs(1800),
    };
    let info = SessionInfo {
        local: "127.0.0.1:110".parse().unwrap(),
        remote: "192.0.2.7:40000".parse().unwrap(),
        tls: flags & 4 != 0,
    };
    let now = Instant::from_nanos(1_000_000_000);
    let mut driver = Driver {
        server: Pop3Server::new(Arc::new(config), info, now),
        control,
        now,
        closed: false,
        gone: false,
        stream,
        sent: Vec::new(),
        reading: None,
        input_since_drain: 0,
        partial: Vec::new(),
    };
    driver.drain();
    let mut ended = false;
    while !driver.stream.is_empty() && !driver.closed && !driver.gone {
        match driver.control.next() {
            None => driver.feed_chunk(READ_CHUNK_BYTES),
            Some(op) => match op % 8 {
                0..=3 => {
                    let wanted = driver
                        .control
                        .next()
                        .map_or(READ_CHUNK_BYTES, |b| usize::from(b) + 1);
                    driver.feed_chunk(wanted);
                }
                4 => {
                    let seconds = u64::from(driver.control.next().unwrap_or(0)) * 8;
                    driver.advance(Duration::from_secs(seconds));
                }
                5 => {
                    if let Some(deadline) = driver.server.poll_timeout() {
                        let by = deadline.saturating_duration_since(driver.now);
                        driver.advance(by);
                    }
                }
                6 => {
                    driver.input(Input::EndOfInput);
                    ended = true;
                    break;
                }
                _ => {
                    driver.input(Input::Shutdown);
                    assert!(driver.closed || driver.gone, "Shutdown left the session open");
                    break;
                }
            },
        }
    }
    if driver.gone {
        return;
    }
    if !ended && !driver.closed {
        driver.input(Input::EndOfInput);
    }
    assert!(driver.closed, "end of input, and the session is still open");
    assert_eq!(driver.server.poll_timeout(), None, "a closed session has a timer");
}

impl Driver<'_> {
    fn feed_chunk(&mut self, wanted: usize) {
        let n = wanted.min(READ_CHUNK_BYTES).min(self.stream.len());
        let (chunk, rest) = self.stream.split_at(n);
        self.stream = rest;
        self.sent.extend_from_slice(chunk);
        self.input(Input::Bytes(chunk));
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        if self
            .server
            .poll_timeout()
            .is_some_and(|deadline| deadline <= self.now)
        {
            self.input(Input::TimerFired);
            if !self.closed {
                assert!(
                    self.server.poll_timeout().is_none_or(|d| d > self.now),
                    "a fired timer is due again at once"
                );
            }
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.hand_in(input);
        self.drain();
    }

    fn hand_in(&mut self, input: Input<'_>) {
        if let Input::MessageChunk(_) | Input::MessageEnd = input {
            assert!(self.server.is_retrieving(), "a chunk while not retrieving");
        }
        self.input_since_drain += self.server.buffered_input_len();
        if let Input::Bytes(bytes) = input {
            self.input_since_drain += bytes.len();
        }
        self.server.handle_input(self.now, input);
    }

    /// Drains outputs and answers requests until the machine waits for
    /// the client.
    fn drain(&mut self) {
        loop {
            let answer = self.drain_outputs();
            if self.gone {
                return;
            }
            if let Some(answer) = answer {
                self.hand_in(answer);
            } else if self.server.is_retrieving() {
                let input = self.next_chunk();
                self.hand_in(input);
            } else {
                self.reading = None;
                break;
            }
        }
        // A session cut off in the middle of a message (it could not be
        // read to its end) closes with the line unfinished; one that goes
        // on never waits with one.
        assert!(
            self.closed || self.partial.is_empty(),
            "the machine waits with a line half sent: {:?}",
            self.partial
        );
        if !self.closed {
            let deadline = self.server.poll_timeout();
            assert!(
                deadline.is_some_and(|d| d > self.now),
                "an open session waiting for its client has no deadline ahead: {deadline:?}"
            );
        }
    }

    fn next_chunk(&mut self) -> Input<'static> {
        let size = usize::from(self.control.next().unwrap_or(255)) + 1;
        let Some((content, offset)) = self.reading.as_mut() else {
            panic!("retrieving without a Retrieve request");
        };
        if *offset >= content.len() {
            self.reading = None;
            return Input::MessageEnd;
        }
        let end = (*offset + size).min(content.len());
        let chunk = &content[*offset..end];
        *offset = end;
        if size == 256 && self.control.next().is_some_and(|b| b == 0xff) {
            return Input::MessageUnavailable;
        }
        Input::MessageChunk(chunk)
    }

    fn drain_outputs(&mut self) -> Option<Input<'static>> {
        let held = self.input_since_drain;
        let mut sent = 0;
        let mut answer = None;
        while let Some(output) = self.server.poll_output() {
            if self.closed {
                assert!(
                    matches!(output, Output::Event(_) | Output::Close),
                    "{output:?} after Close"
                );
            }
            match output {
                Output::Send(bytes) => {
                    assert!(!bytes.is_empty(), "an empty Send");
                    self.check_lines(&bytes);
                    sent += bytes.len();
                }
                Output::Request(request) => {
                    assert!(answer.is_none(), "two requests in one drain");
                    answer = self.answer(request);
                }
                Output::StartTls => {
                    if self.control.next().is_some_and(|b| b % 8 == 7) {
                        self.gone = true;
                    } else {
                        answer = Some(Input::TlsStarted);
                    }
                }
                Output::Close => {
                    assert!(!self.closed, "Close twice");
                    self.closed = true;
                }
                Output::Event(event) => {
                    let _ = event.to_string();
                }
            }
        }
        self.input_since_drain = 0;
        // A message goes out in pieces: its octets count as input handed in.
        assert!(
            sent <= held * OUTPUT_PER_INPUT_BYTE_MAX + OUTPUT_PER_INPUT_FIXED_MAX,
            "{sent} bytes of responses for {held} bytes of input"
        );
        assert!(self.server.buffered_input_len() <= INPUT_BUFFER_BYTES_MAX);
        answer
    }

    /// What is sent is CRLF lines, with no bare CR or LF; a line may be
    /// cut between Sends only inside message data.
    fn check_lines(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let body = line
                .strip_suffix(b"\r\n")
                .unwrap_or_else(|| panic!("a bare LF in {line:?}"));
            assert!(!body.contains(&b'\r'), "a bare CR in {line:?}");
        }
    }

    fn answer(&mut self, request: Request) -> Option<Input<'static>> {
        let choice = self.control.next();
        Some(match request {
            Request::Authenticate(attempt) => Input::Authenticated(match choice.map(|b| b % 4) {
                Some(1) => AuthVerdict::Rejected,
                Some(2) => AuthVerdict::LockedOut,
                Some(3) => AuthVerdict::Unavailable,
                _ => AuthVerdict::Accepted(Identity {
                    login: attempt.login.to_lowercase(),
                    send_as: SendAs::Addresses(Vec::new()),
                }),
            }),
            Request::OpenMaildrop { .. } => Input::MaildropOpened(match choice.map(|b| b % 4) {
                Some(1) => Err(MaildropFailure::InUse),
                Some(2) => Err(MaildropFailure::Unavailable),
                _ => Ok(Maildrop {
                    uid_validity: 7,
                    messages: MESSAGES
                        .iter()
                        .map(|&(uid, content)| MaildropMessage {
                            uid,
                            size: content.len() as u64,
                        })
                        .collect(),
                }),
            }),
            Request::Retrieve { uid } => {
                let content = MESSAGES
                    .iter()
                    .find(|(u, _)| *u == uid)
                    .map(|(_, content)| *content)
                    .expect("Retrieve of a UID not in the maildrop");
                if choice.is_some_and(|b| b % 8 == 7) {
                    return Some(Input::MessageUnavailable);
                }
                self.reading = Some((content, 0));
                return None;
            }
            Request::Update { expunge, seen } => {
                let said_quit = self
                    .sent
                    .windows(4)
                    .any(|w| w.eq_ignore_ascii_case(b"QUIT"));
                assert!(said_quit, "an update without QUIT");
                for uid in expunge.iter().chain(&seen) {
                    assert!(MESSAGES.iter().any(|(u, _)| u == uid), "uid {uid} unknown");
                }
                assert!(
                    !expunge.iter().any(|uid| seen.contains(uid)),
                    "a message both expunged and marked seen"
                );
                if choice.is_some_and(|b| b % 4 == 3) {
                    Input::Updated(Err(UpdateFailure))
                } else {
                    Input::Updated(Ok(()))
                }
            }
        })
    }
}

