//! The NNTP reader machine, driven as the runtime's driver drives it, on
//! a virtual clock, with client bytes in arbitrary pieces and every
//! request answered as the fuzzer chooses.
//!
//! Input layout:
//!
//! ```text
//! byte 0      flags: 1 STARTTLS offered, 2 logins without TLS, 4 implicit TLS,
//!             8 failed-login delay, 16 logins offered at all,
//!             32 auth required, 64 posting, 128 anonymous may read only local.*
//! byte 1..3   max_errors, auth max_failures
//! byte 3      K, the length of the control bytes
//! K bytes     control: how to split, when to advance the clock, how to
//!             answer each request (when they run out: as a store would)
//! the rest    what the client sends
//! ```
//!
//! Asserted, besides "never panics": the machine contract (no output after
//! `Close` but events, at most one request at a time, chunks only while
//! reading an article); every `Send` is whole CRLF lines; output stays
//! proportional to input; buffered input never exceeds
//! `INPUT_BUFFER_BYTES_MAX`; an open session waiting for its client has a
//! deadline ahead; end of input and shutdown close it; a posted article
//! is never larger than the configured bound plus what the machine adds,
//! and names only groups the session may post to.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::auth::{AuthPolicy, AuthVerdict, Identity, SendAs};
use postern_core::limits::{INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES};
use postern_core::nntp::{
    Access, ArticleRef, Articles, GroupName, GroupSummary, Input, NntpServer, OpenedArticle,
    Output, OverviewRecord, PostingStatus, Request, SessionConfig, SessionInfo, SessionStart,
    Wildmat,
};
use postern_core::time::{Instant, UnixTime};
use std::sync::Arc;
use std::time::Duration;

/// The store every session sees: group, number, content.
const ARTICLES: &[(&str, u32, &[u8])] = &[
    (
        "local.general",
        1,
        b"From: a@b.test\r\nSubject: a\r\nMessage-ID: <1@b.test>\r\n\r\nline\r\n.dot\r\n..two\r\n.\r\nend\r\n",
    ),
    ("local.general", 4, b"Subject: no body\r\nMessage-ID: <4@b.test>\r\n"),
    ("private.x", 2, b"Subject: c\r\nMessage-ID: <p2@b.test>\r\n\r\nno final line end"),
];

const GROUPS: &[&str] = &["local.general", "local.empty", "private.x"];

const MAX_ARTICLE_SIZE: u64 = 4096;
/// What the machine may add to a posted article: Path, Date, Message-ID.
const INJECTED_BYTES_MAX: usize = 512;

const OUTPUT_PER_INPUT_BYTE_MAX: usize = 64;
const OUTPUT_PER_INPUT_FIXED_MAX: usize = 8192;

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
    server: NntpServer,
    control: Control<'a>,
    now: Instant,
    closed: bool,
    gone: bool,
    stream: &'a [u8],
    /// The article being handed in, and how far.
    reading: Option<(&'static [u8], usize)>,
    input_since_drain: usize,
    /// Output not yet ending in a line end (article data goes out in
    /// pieces).
    partial: Vec<u8>,
    /// What the session may post to, as configured for a login.
    anonymous_post: Wildmat,
    logged_in: bool,
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
    let anonymous = if flags & 128 != 0 {
        Access {
            read: Wildmat::parse("local.*").unwrap(),
            post: Wildmat::parse("local.*,!local.empty").unwrap(),
        }
    } else {
        Access::everything()
    };
    let config = SessionConfig {
        hostname: "news.example.test".into(),
        starttls: flags & 1 != 0,
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
        auth_required: flags & 32 != 0,
        anonymous: anonymous.clone(),
        posting: flags & 64 != 0,
        max_errors: 1 + u32::from(header[1] % 20),
        idle_timeout: Duration::from_secs(180),
        max_session_time: Duration::from_secs(1800),
        max_article_size: MAX_ARTICLE_SIZE,
    };
    let info = SessionInfo {
        local: "127.0.0.1:119".parse().unwrap(),
        remote: "192.0.2.7:40000".parse().unwrap(),
        tls: flags & 4 != 0,
    };
    let start = SessionStart {
        wall_clock: UnixTime(1_795_212_959),
        message_id_seed: 7,
    };
    let now = Instant::from_nanos(1_000_000_000);
    let mut driver = Driver {
        server: NntpServer::new(Arc::new(config), info, start, now),
        control,
        now,
        closed: false,
        gone: false,
        stream,
        reading: None,
        input_since_drain: 0,
        partial: Vec::new(),
        anonymous_post: anonymous.post,
        logged_in: false,
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

fn group_name(name: &str) -> GroupName {
    GroupName::new(name).unwrap()
}

fn summary(name: &str) -> GroupSummary {
    let numbers: Vec<u32> = ARTICLES
        .iter()
        .filter(|a| a.0 == name)
        .map(|a| a.1)
        .collect();
    GroupSummary {
        name: group_name(name),
        count: numbers.len() as u32,
        low: numbers.first().copied().unwrap_or(1),
        high: numbers.last().copied().unwrap_or(0),
        status: PostingStatus::Allowed,
        description: "a group\twith a tab".into(),
        created: UnixTime(1_795_000_000),
    }
}

fn message_id(content: &[u8]) -> String {
    let text = String::from_utf8_lossy(content);
    text.split("\r\n")
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap_or("<none@b.test>")
        .to_owned()
}

fn covered(articles: &Articles) -> Vec<&'static (&'static str, u32, &'static [u8])> {
    ARTICLES
        .iter()
        .filter(|(group, number, content)| match articles {
            Articles::Range { group: g, range } => g.as_str() == *group && range.contains(*number),
            Articles::MessageId(id) => message_id(content) == *id,
        })
        .collect()
}

impl Driver<'_> {
    fn feed_chunk(&mut self, wanted: usize) {
        let n = wanted.min(READ_CHUNK_BYTES).min(self.stream.len());
        let (chunk, rest) = self.stream.split_at(n);
        self.stream = rest;
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
        if let Input::ArticleChunk(_) | Input::ArticleEnd = input {
            assert!(self.server.is_reading_article(), "a chunk while not reading");
        }
        self.input_since_drain += self.server.buffered_input_len();
        if let Input::Bytes(bytes) = input {
            self.input_since_drain += bytes.len();
        }
        self.server.handle_input(self.now, input);
    }

    fn drain(&mut self) {
        loop {
            let answer = self.drain_outputs();
            if self.gone {
                return;
            }
            if let Some(answer) = answer {
                self.hand_in(answer);
            } else if self.server.is_reading_article() {
                let input = self.next_chunk();
                self.hand_in(input);
            } else {
                self.reading = None;
                break;
            }
        }
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
            return Input::ArticleUnavailable;
        };
        if *offset >= content.len() {
            self.reading = None;
            return Input::ArticleEnd;
        }
        let end = (*offset + size).min(content.len());
        let chunk = &content[*offset..end];
        *offset = end;
        if size == 256 && self.control.next().is_some_and(|b| b == 0xff) {
            return Input::ArticleUnavailable;
        }
        Input::ArticleChunk(chunk)
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
                    answer = Some(self.answer(request));
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
        assert!(
            sent <= held * OUTPUT_PER_INPUT_BYTE_MAX + OUTPUT_PER_INPUT_FIXED_MAX,
            "{sent} bytes of responses for {held} bytes of input"
        );
        assert!(self.server.buffered_input_len() <= INPUT_BUFFER_BYTES_MAX);
        answer
    }

    /// What is sent is CRLF lines, with no bare CR or LF; a line may be
    /// cut between Sends only inside article data.
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

    fn answer(&mut self, request: Request) -> Input<'static> {
        let choice = self.control.next();
        match request {
            Request::Authenticate(attempt) => {
                let verdict = match choice.map(|b| b % 4) {
                    Some(1) => AuthVerdict::Rejected,
                    Some(2) => AuthVerdict::LockedOut,
                    Some(3) => AuthVerdict::Unavailable,
                    _ => AuthVerdict::Accepted(Identity {
                        login: attempt.login.to_lowercase(),
                        send_as: SendAs::Addresses(Vec::new()),
                    }),
                };
                let access = match &verdict {
                    AuthVerdict::Accepted(_) => {
                        self.logged_in = true;
                        None
                    }
                    _ => None,
                };
                Input::Authenticated(verdict, access)
            }
            Request::Groups { .. } => Input::Groups(GROUPS.iter().map(|g| summary(g)).collect()),
            Request::SelectGroup(name) => Input::GroupSelected(
                GROUPS
                    .iter()
                    .find(|g| **g == name.as_str())
                    .filter(|_| choice.is_none_or(|b| b % 8 != 7))
                    .map(|g| {
                        let numbers = ARTICLES.iter().filter(|a| a.0 == *g).map(|a| a.1).collect();
                        (summary(g), numbers)
                    }),
            ),
            Request::Article {
                article,
                want_bytes,
            } => {
                let articles = match article {
                    ArticleRef::Number { group, number } => Articles::Range {
                        group,
                        range: postern_core::nntp::ArticleRange {
                            first: number,
                            last: Some(number),
                        },
                    },
                    ArticleRef::MessageId(id) => Articles::MessageId(id),
                };
                if choice.is_some_and(|b| b % 8 == 7) {
                    return Input::ArticleUnavailable;
                }
                match covered(&articles).first() {
                    Some(&&(group, number, content)) => {
                        if want_bytes {
                            self.reading = Some((content, 0));
                        }
                        Input::ArticleOpened(Some(OpenedArticle {
                            group: group_name(group),
                            number,
                            message_id: message_id(content),
                        }))
                    }
                    None => Input::ArticleOpened(None),
                }
            }
            Request::Overview(articles) => Input::Overview(
                covered(&articles)
                    .into_iter()
                    .map(|&(group, number, content)| {
                        (
                            group_name(group),
                            OverviewRecord {
                                number,
                                subject: "a\tsubject\r\nwith controls".into(),
                                from: "a@b.test".into(),
                                date: String::new(),
                                message_id: message_id(content),
                                references: String::new(),
                                bytes: content.len() as u64,
                                lines: 1,
                            },
                        )
                    })
                    .collect(),
            ),
            Request::Header { articles, .. } => Input::Header(
                covered(&articles)
                    .into_iter()
                    .map(|&(group, number, _)| (group_name(group), number, "v\r\nx".into()))
                    .collect(),
            ),
            Request::NewNews { .. } => Input::NewNews(
                ARTICLES
                    .iter()
                    .map(|&(group, _, content)| (group_name(group), message_id(content)))
                    .collect(),
            ),
            Request::Post {
                article,
                newsgroups,
                message_id,
            } => {
                assert!(
                    article.len() <= MAX_ARTICLE_SIZE as usize + INJECTED_BYTES_MAX,
                    "a posted article of {} octets",
                    article.len()
                );
                assert!(!newsgroups.is_empty(), "a post to no group");
                assert!(message_id.starts_with('<') && message_id.ends_with('>'));
                if !self.logged_in {
                    for group in &newsgroups {
                        assert!(
                            self.anonymous_post.matches(group.as_str()),
                            "an anonymous post to {group}"
                        );
                    }
                }
                if choice.is_some_and(|b| b % 4 == 3) {
                    Input::Posted(Err("the store\r\nfailed".into()))
                } else {
                    Input::Posted(Ok(()))
                }
            }
        }
    }
}
