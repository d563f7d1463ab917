//! The NNTP pull client: the machine fed arbitrary server bytes in
//! arbitrary pieces, with clock moves, handshake and store results.
//!
//! Input layout:
//!
//! ```text
//! byte 0      flags: 1 credentials, 2 STARTTLS, 4 implicit TLS,
//!             8 a wildmat (LIST ACTIVE) rather than a list of names,
//!             16 posting on, 32 a post from upstream in the queue
//! byte 1      K, the length of the control bytes
//! K bytes     control: piece sizes, clock moves, handshake and store
//!             results
//! the rest    what the server sends
//! ```
//!
//! Asserted, besides "never panics": one `Finished`, then `Close`, and
//! nothing after; commands are whole CRLF lines; an article handed over is
//! within the size limit; a mark moves only forward, and only past an
//! article that was stored or skipped (never past one whose store failed
//! or is pending); each queued post is reported at most once, and an
//! article from upstream is never posted; a waiting session has a
//! deadline; end of input finishes it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::limits::READ_CHUNK_BYTES;
use postern_core::nntp::GroupName;
use postern_core::nntp::client::{
    Input, Outgoing, Output, PostResult, PullClient, PullConfig, PullState, UpstreamTls, Wildmat,
};
use postern_core::smtp::client::Credentials;
use postern_core::time::Instant;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

const ARTICLE_BYTES_MAX: usize = 4096;

struct Control<'a> {
    bytes: &'a [u8],
}

impl Control<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }

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
    run(header[0], Control { bytes: control }, stream);
});

fn config(flags: u8) -> PullConfig {
    let groups = if flags & 8 != 0 {
        "misc.*,!misc.secret"
    } else {
        "misc.test,local.general"
    };
    let mut config = PullConfig::new(Wildmat::parse(groups).unwrap(), "upstream.test");
    config.credentials = (flags & 1 != 0).then(|| Credentials {
        user: "user".into(),
        password: "password".into(),
    });
    config.tls = if flags & 4 != 0 {
        UpstreamTls::Implicit
    } else if flags & 2 != 0 {
        UpstreamTls::StartTls
    } else {
        UpstreamTls::None
    };
    config.post_local = flags & 16 != 0;
    config.article_bytes_max = ARTICLE_BYTES_MAX;
    config
}

fn state(flags: u8) -> PullState {
    let mut state = PullState::default();
    state
        .high_water
        .insert(GroupName::new("misc.test").unwrap(), 3);
    state
        .outgoing
        .push(Outgoing::new(1, b"Path: ours.test!.POSTED\r\n\r\nhi\r\n"));
    if flags & 32 != 0 {
        state
            .outgoing
            .push(Outgoing::new(2, b"Path: upstream.test!x\r\n\r\nback\r\n"));
    }
    state
}

fn run(flags: u8, mut control: Control<'_>, mut stream: &[u8]) {
    let state = state(flags);
    let mut now = Instant::from_nanos(1_000_000_000);
    let mut session = Session {
        client: PullClient::new(Arc::new(config(flags)), state.clone(), now),
        marks: state.high_water,
        pending_article: None,
        reported: BTreeSet::new(),
        finished: false,
        closed: false,
    };
    session.settle(now, &mut control);
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
    client: PullClient,
    marks: BTreeMap<GroupName, u32>,
    /// An article handed over and not yet stored: (group, number, stored).
    pending_article: Option<(GroupName, u32, bool)>,
    reported: BTreeSet<u64>,
    finished: bool,
    closed: bool,
}

impl Session {
    fn input(&mut self, now: Instant, input: Input<'_>, control: &mut Control<'_>) {
        self.client.handle_input(now, input);
        self.settle(now, control);
    }

    /// Carries out outputs, handing in their answers, until the machine
    /// waits for the server.
    fn settle(&mut self, now: Instant, control: &mut Control<'_>) {
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
                assert!(
                    !bytes[..bytes.len() - 2].contains(&b'\n'),
                    "two lines in one command"
                );
                None
            }
            Output::StartTls => Some(if control.next().is_some_and(|b| b % 4 == 3) {
                Input::TlsFailed("handshake failed".into())
            } else {
                Input::TlsStarted
            }),
            Output::Article {
                group,
                number,
                bytes,
            } => {
                assert!(bytes.len() <= ARTICLE_BYTES_MAX, "an article over the limit");
                assert!(self.pending_article.is_none(), "two articles at once");
                let stored = !control.next().is_some_and(|b| b % 8 == 7);
                self.pending_article = Some((group, number, stored));
                Some(if stored {
                    Input::Stored
                } else {
                    Input::StoreFailed("disk full".into())
                })
            }
            Output::Pulled { group, number } => {
                if let Some((pending_group, pending_number, stored)) = self.pending_article.take()
                {
                    assert!(stored, "a mark past an article whose store failed");
                    assert_eq!((&pending_group, pending_number), (&group, number));
                }
                let old = self.marks.insert(group.clone(), number);
                assert!(
                    old.is_none_or(|old| old < number),
                    "{group}'s mark went from {old:?} to {number}"
                );
                None
            }
            Output::SendPost { id } => {
                assert_ne!(id, 2, "an article from upstream is posted back");
                Some(Input::PostSent)
            }
            Output::Posted { id, result } => {
                assert!(self.reported.insert(id), "post {id} reported twice");
                if id == 2 {
                    assert_eq!(result, PostResult::CameFromUpstream);
                }
                None
            }
            Output::Finished(_) => {
                self.finished = true;
                None
            }
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
