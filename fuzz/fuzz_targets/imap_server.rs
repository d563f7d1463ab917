//! The IMAP server machine, logged in, with client bytes in arbitrary
//! pieces, on a virtual clock, every request answered by the in-memory
//! store (`postern_core::imap::session::memory`), and deliveries from
//! outside between reads.
//!
//! Input layout:
//!
//! ```text
//! byte 0      flags: 1 SELECT INBOX first, 2 ENABLE IMAP4rev2, 4 ENABLE
//!             QRESYNC, 8 the store forgets old changes, 16 the store fails
//! byte 1      max_errors
//! byte 2      K, the length of the control bytes
//! K bytes     control: how to split, when to advance the clock, when to
//!             deliver a message (when they run out: whole reads)
//! the rest    what the client sends
//! ```
//!
//! Asserted, besides "never panics": the machine contract (at most one
//! request at a time, nothing but events after `Close`); every `Send` is
//! whole CRLF lines or literal data; buffered input stays within the
//! reader's bounds; end of input and shutdown close the session; and what
//! the client is told numbers messages within the EXISTS it was told
//! (EXPUNGE and VANISHED counted down). That no EXPUNGE comes while
//! FETCH, STORE or SEARCH is answered is the core proptest's
//! (`imap::session::tests::properties`), which knows which command each
//! reply belongs to.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::auth::AuthPolicy;
use postern_core::imap::session::memory::Store;
use postern_core::imap::session::{ImapServer, Input, Output, Quota, SessionConfig, SessionInfo};
use postern_core::limits::{IMAP_INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES};
use postern_core::mailbox::ModSeq;
use postern_core::time::{Instant, UnixTime};
use std::sync::Arc;
use std::time::Duration;

const APPEND_LIMIT: u64 = 16 * 1024;

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

struct Driver {
    server: ImapServer,
    store: Store,
    now: Instant,
    closed: bool,
    /// Messages the client was told exist, once a folder is selected.
    exists: Option<u64>,
    partial: Vec<u8>,
    /// Octets of a literal still to come in what the server sends.
    literal_left: usize,
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (header, rest) = data.split_at(3);
    let control_len = (header[2] as usize).min(rest.len());
    let (control, stream) = rest.split_at(control_len);
    run(header, Control { bytes: control }, stream);
});

fn run(header: &[u8], mut control: Control<'_>, mut stream: &[u8]) {
    let flags = header[0];
    let config = SessionConfig {
        hostname: "imap.example.test".into(),
        starttls: false,
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            failure_delay: Duration::ZERO,
            ..AuthPolicy::default()
        },
        max_errors: 1 + u32::from(header[1] % 30),
        autologout: Duration::from_secs(1800),
        idle_max: Duration::from_secs(1800),
        max_session_time: Duration::from_secs(24 * 60 * 60),
        append_limit: APPEND_LIMIT,
        quota: Quota {
            storage_bytes: Some(64 * 1024),
            messages: Some(50),
        },
    };
    let info = SessionInfo {
        local: "127.0.0.1:143".parse().unwrap(),
        remote: "192.0.2.7:40000".parse().unwrap(),
        tls: false,
    };
    let now = Instant::from_nanos(1_000_000_000);
    let mut store = Store::new();
    if flags & 8 != 0 {
        store.forget_before = Some(ModSeq(3));
    }
    let mut driver = Driver {
        server: ImapServer::new(Arc::new(config), info, now, UnixTime(1_795_300_000)),
        store,
        now,
        closed: false,
        exists: None,
        partial: Vec::new(),
        literal_left: 0,
    };
    driver.drain();
    driver.bytes(b"L LOGIN alice@example.test \"correct horse\"\r\n");
    if flags & 2 != 0 {
        driver.bytes(b"E ENABLE IMAP4rev2\r\n");
    }
    if flags & 4 != 0 {
        driver.bytes(b"Q ENABLE QRESYNC\r\n");
    }
    if flags & 1 != 0 {
        driver.bytes(b"S SELECT INBOX\r\n");
    }
    driver.store.broken = flags & 16 != 0;
    let mut ended = false;
    while !stream.is_empty() && !driver.closed {
        let wanted = match control.next() {
            None => READ_CHUNK_BYTES,
            Some(op) => match op % 8 {
                0..=4 => control
                    .next()
                    .map_or(READ_CHUNK_BYTES, |b| usize::from(b) + 1),
                5 => {
                    let seconds = u64::from(control.next().unwrap_or(0)) * 16;
                    driver.advance(Duration::from_secs(seconds));
                    continue;
                }
                6 => {
                    driver.store.broken = false;
                    driver
                        .store
                        .deliver("INBOX", "Subject: fuzz\r\n\r\nhello\r\n");
                    driver.store.broken = flags & 16 != 0;
                    driver.input(Input::FolderChanged);
                    continue;
                }
                _ => {
                    driver.input(Input::EndOfInput);
                    ended = true;
                    break;
                }
            },
        };
        if !driver.server.wants_input() {
            // A driver stops reading here; the bytes wait in the socket.
            break;
        }
        let n = wanted.min(READ_CHUNK_BYTES).min(stream.len());
        let (chunk, rest) = stream.split_at(n);
        stream = rest;
        driver.bytes(chunk);
        assert!(
            driver.server.buffered_input_len()
                <= IMAP_INPUT_BUFFER_BYTES_MAX + 4 * APPEND_LIMIT as usize + READ_CHUNK_BYTES,
            "the machine holds {} octets",
            driver.server.buffered_input_len()
        );
    }
    if !ended && !driver.closed {
        driver.input(Input::EndOfInput);
    }
    if !driver.closed {
        driver.input(Input::Shutdown);
    }
    assert!(
        driver.closed,
        "end of input and shutdown, and the session is still open"
    );
    assert_eq!(
        driver.server.poll_timeout(),
        None,
        "a closed session has a timer"
    );
}

impl Driver {
    fn bytes(&mut self, bytes: &[u8]) {
        self.input(Input::Bytes(bytes));
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        if self.server.poll_timeout().is_some_and(|at| at <= self.now) {
            self.input(Input::TimerFired);
        }
    }

    fn input(&mut self, input: Input<'_>) {
        if self.closed {
            return;
        }
        self.server.handle_input(self.now, input);
        self.drain();
    }

    /// Drains outputs, answering each request, until the machine is
    /// quiet.
    fn drain(&mut self) {
        loop {
            let mut request = None;
            while let Some(output) = self.server.poll_output() {
                match output {
                    Output::Send(bytes) => {
                        assert!(!self.closed, "output after Close");
                        self.told(&bytes);
                    }
                    Output::Request(asked) => {
                        assert!(!self.closed, "a request after Close");
                        assert!(request.is_none(), "two requests at once");
                        request = Some(asked);
                    }
                    Output::StartTls => panic!("STARTTLS is not offered"),
                    Output::Close => {
                        assert!(!self.closed, "Close twice");
                        self.closed = true;
                    }
                    Output::Event(event) => {
                        let _ = event.to_string();
                    }
                }
            }
            let Some(request) = request else {
                return;
            };
            let answer = self.store.answer(request);
            self.server.handle_input(self.now, answer);
        }
    }

    /// Follows what the client is told, line by line (a literal's data is
    /// skipped by its announced length).
    fn told(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        loop {
            let skip = self.literal_left.min(self.partial.len());
            self.partial.drain(..skip);
            self.literal_left -= skip;
            if self.literal_left > 0 {
                return;
            }
            let Some(end) = self.partial.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line: Vec<u8> = self.partial.drain(..end + 2).collect();
            let line = String::from_utf8_lossy(&line[..end]).into_owned();
            if let Some(length) = literal_length(&line) {
                self.literal_left = length;
            }
            self.check(&line);
        }
    }

    fn check(&mut self, line: &str) {
        let words: Vec<&str> = line.split(' ').collect();
        if words.len() < 3 || words[0] != "*" {
            return;
        }
        if words[1] == "VANISHED" && words[2] != "(EARLIER)" {
            let exists = self.exists.expect("VANISHED before EXISTS");
            let gone = set_size(words[2]);
            assert!(gone <= exists, "VANISHED {gone} of {exists}");
            self.exists = Some(exists - gone);
            return;
        }
        let Ok(n) = words[1].parse::<u64>() else {
            return;
        };
        match words[2] {
            "EXISTS" => self.exists = Some(n),
            "EXPUNGE" => {
                let exists = self.exists.expect("EXPUNGE before EXISTS");
                assert!(n >= 1 && n <= exists, "EXPUNGE {n} of {exists}");
                self.exists = Some(exists - 1);
            }
            "FETCH" => {
                let exists = self.exists.expect("FETCH before EXISTS");
                assert!(n >= 1 && n <= exists, "FETCH {n} of {exists}");
            }
            _ => {}
        }
    }
}

/// How many numbers `1:3,7` holds.
fn set_size(set: &str) -> u64 {
    set.split(',')
        .map(|range| match range.split_once(':') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
                a.max(b) - a.min(b) + 1
            }
            None => 1,
        })
        .sum()
}

/// `{123}` at a line's end: a literal of that many octets follows.
fn literal_length(line: &str) -> Option<usize> {
    let open = line.rfind('{')?;
    let inner = line[open + 1..].strip_suffix('}')?;
    inner.trim_end_matches('+').parse().ok()
}
