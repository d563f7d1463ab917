//! The remote-log server machine, driven as
//! `runtime-tokio/src/remote_log/driver.rs` drives it, on a virtual
//! clock, with client bytes in arbitrary pieces, logins answered by the
//! control bytes (accepted or not, admin or not), and log lines (with
//! control characters) pushed into a small subscriber buffer between
//! pieces.
//!
//! Input layout:
//!
//! ```text
//! byte 0      flags: 1 TLS from the start, 2 logins in clear allowed,
//!             4 STARTTLS offered
//! byte 1      K, the length of the control bytes
//! K bytes     control: how to split, when to advance the clock, how to
//!             answer logins, how many log lines to push and their text
//! the rest    what the client sends
//! ```
//!
//! Asserted, besides "never panics": the machine contract (no output after
//! `Close` but events, at most one request at a time); every `Send` is
//! whole CRLF lines without any other control character, each starting
//! with one of the markers `+OK`, `-ERR `, `+ `, `* `, `! `; no log line
//! is sent before an admin logged in; no password is checked on a
//! connection without TLS unless clear logins are allowed; buffered input
//! stays bounded; the subscriber buffer never holds more than its
//! capacity; the lines delivered and dropped add up to those pushed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::auth::{AuthPolicy, AuthVerdict, Identity, SendAs};
use postern_core::limits::{READ_CHUNK_BYTES, REMOTE_LOG_COMMAND_LINE_BYTES_MAX};
use postern_core::remote_log::{
    ClientBuffer, FeedEntry, Filter, Input, Level, LogRecord, Output, RemoteLogServer, Request,
    SessionConfig, SessionInfo,
};
use postern_core::time::Instant;
use std::sync::Arc;
use std::time::Duration;

const BUFFER_LINES: usize = 4;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (header, rest) = data.split_at(2);
    let control_len = (header[1] as usize).min(rest.len());
    let (control, stream) = rest.split_at(control_len);
    run(header[0], control, stream);
});

fn record(n: u8, control: &mut &[u8]) -> LogRecord {
    let text: Vec<u8> = control.iter().take(12).copied().collect();
    *control = &control[text.len().min(control.len())..];
    LogRecord {
        time: "2026-11-30T08:00:00.000Z".to_owned(),
        level: Level::ALL[n as usize % 5],
        instance: (n & 8 != 0).then(|| "mx".to_owned()),
        queue_id: (n & 16 != 0).then(|| "0A1B".to_owned()),
        text: String::from_utf8_lossy(&text).into_owned(),
    }
}

fn run(flags: u8, mut control: &[u8], mut stream: &[u8]) {
    let tls_at_start = flags & 1 != 0;
    let config = SessionConfig {
        hostname: "mx.example.test".to_owned(),
        starttls: flags & 4 != 0,
        auth: AuthPolicy {
            offered: true,
            without_tls: flags & 2 != 0,
            failure_delay: Duration::from_secs(1),
            ..AuthPolicy::default()
        },
        tail_lines: 3,
        max_errors: 5,
        idle_timeout: Duration::from_secs(60),
        send_timeout: Duration::from_secs(60),
    };
    let clear_allowed = config.auth.without_tls;
    let info = SessionInfo {
        local: "127.0.0.1:5001".parse().unwrap(),
        remote: "192.0.2.7:40000".parse().unwrap(),
        tls: tls_at_start,
    };
    let mut now = Instant::from_nanos(1_000_000_000);
    let mut server = RemoteLogServer::new(Arc::new(config), info, now);
    let mut closed = false;
    let mut tls = tls_at_start;
    let mut admin_in = false;
    let mut subscription: Option<(Filter, ClientBuffer<LogRecord>)> = None;
    let (mut pushed, mut handed, mut dropped) = (0u64, 0u64, 0u64);
    let next = |control: &mut &[u8]| -> Option<u8> {
        let (&first, rest) = control.split_first()?;
        *control = rest;
        Some(first)
    };
    let ring: Vec<LogRecord> = (0..5).map(|n| record(n, &mut &b"recent\x1b[2J"[..])).collect();
    loop {
        let mut answer: Option<Input<'static>> = None;
        while let Some(output) = server.poll_output() {
            if closed {
                assert!(matches!(output, Output::Event(_)), "{output:?} after Close");
            }
            match output {
                Output::Send(bytes) => check_lines(&bytes, admin_in),
                Output::Request(request) => {
                    assert!(answer.is_none(), "two requests at once");
                    answer = Some(match request {
                        Request::Authenticate(attempt) => {
                            assert!(tls || clear_allowed, "a password checked in clear");
                            let byte = next(&mut control).unwrap_or(3);
                            let admin = byte & 2 != 0;
                            let verdict = match byte % 4 {
                                0 => AuthVerdict::Rejected,
                                1 => AuthVerdict::LockedOut,
                                _ => AuthVerdict::Accepted(Identity {
                                    login: attempt.login.clone(),
                                    send_as: SendAs::Anyone,
                                }),
                            };
                            if admin && matches!(verdict, AuthVerdict::Accepted(_)) {
                                admin_in = true;
                            }
                            Input::Authenticated { verdict, admin }
                        }
                        Request::Recent { filter, .. } => {
                            assert!(admin_in);
                            Input::Recent(ring.iter().filter(|r| filter.matches(r)).cloned().collect())
                        }
                        Request::Follow { filter, .. } => {
                            assert!(admin_in);
                            subscription = Some((filter, ClientBuffer::new(BUFFER_LINES)));
                            Input::Recent(ring.clone())
                        }
                    });
                }
                Output::StartTls => {
                    assert!(!tls, "STARTTLS twice");
                    tls = true;
                    answer = Some(Input::TlsStarted);
                }
                Output::SetFilter(filter) => {
                    subscription.as_mut().expect("SetFilter while following").0 = filter;
                }
                Output::Unfollow => subscription = None,
                Output::Close => closed = true,
                Output::Event(_) => {}
            }
        }
        if let Some(input) = answer {
            server.handle_input(now, input);
            continue;
        }
        if closed {
            break;
        }
        assert!(
            server.buffered_input_len() <= 4 * REMOTE_LOG_COMMAND_LINE_BYTES_MAX + READ_CHUNK_BYTES
        );
        // Log lines arrive, and some are handed in.
        let lines = next(&mut control).unwrap_or(0);
        if let Some((filter, buffer)) = subscription.as_mut() {
            for n in 0..lines % 8 {
                let line = record(n, &mut control);
                if filter.matches(&line) {
                    pushed += 1;
                    buffer.push(line);
                }
                assert!(buffer.lines() <= BUFFER_LINES);
            }
            if lines & 8 != 0 {
                let entries = buffer.take(lines as usize % 5 + 1);
                for entry in &entries {
                    match entry {
                        FeedEntry::Line(_) => handed += 1,
                        FeedEntry::Dropped(n) => dropped += n,
                    }
                }
                if !entries.is_empty() {
                    server.handle_input(now, Input::Live(entries));
                    continue;
                }
            }
        }
        match next(&mut control) {
            Some(byte) if byte & 3 == 0 => {
                now = now + Duration::from_millis(u64::from(byte) * 500);
                if server.poll_timeout().is_some_and(|at| at <= now) {
                    server.handle_input(now, Input::TimerFired);
                    continue;
                }
            }
            _ => {}
        }
        if stream.is_empty() {
            server.handle_input(now, Input::EndOfInput);
            continue;
        }
        let size = (usize::from(next(&mut control).unwrap_or(255)) + 1).min(READ_CHUNK_BYTES);
        let (piece, rest) = stream.split_at(size.min(stream.len()));
        stream = rest;
        server.handle_input(now, Input::Bytes(piece));
    }
    if let Some((_, mut buffer)) = subscription {
        for entry in buffer.take(usize::MAX) {
            match entry {
                FeedEntry::Line(_) => handed += 1,
                FeedEntry::Dropped(n) => dropped += n,
            }
        }
        assert_eq!(handed + dropped, pushed, "a line neither handed on nor counted");
    }
}

fn check_lines(bytes: &[u8], admin_in: bool) {
    let text = std::str::from_utf8(bytes).expect("UTF-8 out");
    assert!(text.ends_with("\r\n"), "{text:?}");
    for line in text.split_terminator("\r\n") {
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(
            ["+OK", "-ERR ", "+ ", "* ", "! "]
                .iter()
                .any(|marker| line.starts_with(marker)),
            "{line:?}"
        );
        if line.starts_with("* ") || line.starts_with("! ") {
            assert!(admin_in, "a log line before an admin logged in: {line:?}");
        }
    }
}
