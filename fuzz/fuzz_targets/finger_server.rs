//! The finger server machine, driven as `runtime-tokio/src/finger.rs`
//! drives it, on a virtual clock, with client bytes in arbitrary pieces
//! and every request answered with users whose names and plans the
//! fuzzer makes up (control characters included).
//!
//! Input layout:
//!
//! ```text
//! byte 0      flags: 1 list_users, 2 hide the first user
//! byte 1      K, the length of the control bytes
//! K bytes     control: how to split, when to advance the clock, and the
//!             users' names and plans (when they run out: whole chunks)
//! the rest    what the client sends
//! ```
//!
//! Asserted, besides "never panics": the machine contract (no output after
//! `Close` but events, at most one request, and only while the query is
//! awaited); every `Send` is whole CRLF lines without any other control
//! character; a hidden user's address is never sent; buffered input stays
//! under `FINGER_QUERY_BYTES_MAX`; an open session has a deadline ahead;
//! end of input and shutdown close it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::finger::{
    FingerServer, Input, MailStatus, Output, Request, SessionConfig, SessionInfo, UserInfo,
};
use postern_core::limits::{FINGER_QUERY_BYTES_MAX, READ_CHUNK_BYTES};
use postern_core::time::{Instant, UnixTime};
use std::sync::Arc;
use std::time::Duration;

const HIDDEN: &str = "hidden@example.test";

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (header, rest) = data.split_at(2);
    let control_len = (header[1] as usize).min(rest.len());
    let (control, stream) = rest.split_at(control_len);
    run(header[0], control, stream);
});

fn run(flags: u8, mut control: &[u8], mut stream: &[u8]) {
    let config = SessionConfig {
        list_users: flags & 1 != 0,
        hidden: if flags & 2 != 0 {
            vec![HIDDEN.to_owned()]
        } else {
            Vec::new()
        },
        query_timeout: Duration::from_secs(10),
    };
    let info = SessionInfo {
        local: "127.0.0.1:79".parse().unwrap(),
        remote: "192.0.2.7:40000".parse().unwrap(),
        tls: false,
    };
    let mut now = Instant::from_nanos(1_000_000_000);
    let mut server = FingerServer::new(Arc::new(config), info, now);
    let mut closed = false;
    let mut requested = false;
    let next = |control: &mut &[u8]| -> Option<u8> {
        let (&first, rest) = control.split_first()?;
        *control = rest;
        Some(first)
    };
    let users = make_users(control);
    loop {
        // Drain, answering a request.
        let mut answer = None;
        while let Some(output) = server.poll_output() {
            if closed {
                assert!(matches!(output, Output::Event(_)), "{output:?} after Close");
            }
            match output {
                Output::Send(bytes) => check_lines(&bytes, flags & 2 != 0),
                Output::Request(request) => {
                    assert!(!requested, "a second request");
                    requested = true;
                    if let Request::Lookup { user } = &request {
                        assert!(!user.is_empty() && !user.contains('@'));
                    }
                    answer = Some(users.clone());
                }
                Output::Close => closed = true,
                Output::Event(event) => {
                    let _ = event.to_string();
                }
            }
        }
        if let Some(users) = answer {
            server.handle_input(now, Input::Users(users));
            continue;
        }
        assert!(server.buffered_input_len() < FINGER_QUERY_BYTES_MAX);
        if closed {
            assert_eq!(server.poll_timeout(), None, "a closed session has a timer");
            return;
        }
        let deadline = server.poll_timeout();
        assert!(
            deadline.is_some_and(|d| d > now),
            "an open session has no deadline ahead: {deadline:?}"
        );
        if stream.is_empty() {
            server.handle_input(now, Input::EndOfInput);
            continue;
        }
        match next(&mut control).map(|b| b % 8) {
            Some(4) => {
                now = now + Duration::from_secs(u64::from(next(&mut control).unwrap_or(0)) / 16);
                if deadline.is_some_and(|d| d <= now) {
                    server.handle_input(now, Input::TimerFired);
                }
            }
            Some(5) => {
                server.handle_input(now, Input::Shutdown);
                assert!(
                    std::iter::from_fn(|| server.poll_output()).any(|o| o == Output::Close),
                    "Shutdown left the session open"
                );
                return;
            }
            op => {
                let wanted = match op {
                    None => READ_CHUNK_BYTES,
                    Some(_) => usize::from(next(&mut control).unwrap_or(255)) + 1,
                };
                let n = wanted.min(stream.len());
                let (chunk, rest) = stream.split_at(n);
                stream = rest;
                server.handle_input(now, Input::Bytes(chunk));
            }
        }
    }
}

/// Three users whose names and plans are cut from `control`: arbitrary
/// bytes, read as UTF-8 where they are.
fn make_users(control: &[u8]) -> Vec<UserInfo> {
    // Without `@`, so that only an address can put the hidden user's
    // address in the output, whatever the names and plans say.
    let text = String::from_utf8_lossy(control).replace('@', "");
    let third = text.len() / 3;
    let cut = |n: usize| {
        let mut i = (third * n).min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (a, b) = (cut(1), cut(2));
    vec![
        UserInfo {
            address: HIDDEN.to_owned(),
            real_name: Some(text[..a].to_owned()),
            mail: Some(MailStatus {
                messages: 3,
                unseen: 2,
                oldest_unseen: Some(UnixTime(1_700_000_000)),
                newest_unseen: Some(UnixTime(i64::MAX)),
            }),
            plan: Some(text[a..b].to_owned()),
        },
        UserInfo {
            address: "carol@example.test".to_owned(),
            real_name: Some(text[b..].to_owned()),
            mail: None,
            plan: Some(text.clone()),
        },
        UserInfo {
            address: "bob@example.test".to_owned(),
            real_name: None,
            mail: Some(MailStatus::default()),
            plan: None,
        },
    ]
}

/// Whole CRLF lines, no other control character, and no hidden address
/// when it is hidden.
fn check_lines(bytes: &[u8], hidden: bool) {
    assert!(!bytes.is_empty(), "an empty Send");
    let text = std::str::from_utf8(bytes).expect("UTF-8 out");
    assert!(text.ends_with("\r\n"), "a partial line: {text:?}");
    for line in text.split_terminator("\r\n") {
        assert!(!line.chars().any(char::is_control), "a control character in {line:?}");
    }
    if hidden {
        assert!(!text.contains(HIDDEN), "a hidden user was shown: {text:?}");
    }
}
