//! Drives a [`RemoteLogServer`] the way the runtime driver does: logins
//! checked against fixed accounts, a ring of recent lines, a subscriber
//! buffer fed by [`Harness::log`], on a virtual clock; and writes a
//! transcript (`C:` what the client sent, `S:` each line the server sent,
//! with the seconds since the connection).

use crate::auth::{AuthPolicy, AuthVerdict, Identity, SendAs};
use crate::remote_log::{
    ClientBuffer, Filter, Input, Level, LogRecord, Output, RemoteLogServer, Request, SessionConfig,
    SessionInfo,
};
use crate::time::Instant;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

/// `admin@example.test` (an admin) and `alice@example.test` (not), both
/// with the password `secret`.
pub const ADMIN_PLAIN: &str = "AGFkbWluQGV4YW1wbGUudGVzdABzZWNyZXQ=";
pub const ALICE_PLAIN: &str = "AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=";
pub const WRONG_PLAIN: &str = "AGFkbWluQGV4YW1wbGUudGVzdAB3cm9uZw==";

pub fn config() -> SessionConfig {
    SessionConfig {
        hostname: "mx.example.test".to_owned(),
        starttls: true,
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            failure_delay: Duration::from_secs(2),
            ..AuthPolicy::default()
        },
        tail_lines: 3,
        max_errors: 5,
        idle_timeout: Duration::from_secs(300),
        send_timeout: Duration::from_secs(60),
    }
}

pub fn record(
    n: usize,
    level: Level,
    instance: &str,
    queue: Option<&str>,
    text: &str,
) -> LogRecord {
    LogRecord {
        time: format!("2026-11-30T08:00:{n:02}.000Z"),
        level,
        instance: (!instance.is_empty()).then(|| instance.to_owned()),
        queue_id: queue.map(str::to_owned),
        text: text.to_owned(),
    }
}

/// Five recent lines: two instances, levels, one with a queue ID.
pub fn ring() -> Vec<LogRecord> {
    vec![
        record(1, Level::Info, "", None, "postern starting"),
        record(
            2,
            Level::Info,
            "mx",
            None,
            "session=1 connect from 192.0.2.9",
        ),
        record(
            3,
            Level::Info,
            "mx",
            Some("0A1B2C"),
            "session=1 message accepted",
        ),
        record(
            4,
            Level::Warn,
            "pop",
            None,
            "session=2 login failed\r\nforged",
        ),
        record(5, Level::Error, "mx", Some("0A1B2C"), "delivery failed"),
    ]
}

pub struct Harness {
    pub server: RemoteLogServer,
    pub now: Instant,
    pub sent: Vec<u8>,
    pub requests: Vec<Request>,
    pub events: Vec<String>,
    pub closed: bool,
    pub starttls: bool,
    /// The subscription: its filter and buffer, while following.
    pub subscription: Option<(Filter, ClientBuffer<LogRecord>)>,
    pub buffer_lines: usize,
    pub ring: Vec<LogRecord>,
    /// Bytes handed in at most this many at a time.
    pub chunk: usize,
    pub transcript: String,
    start: Instant,
}

impl Harness {
    pub fn new() -> Self {
        Harness::with(config(), false)
    }

    pub fn with(config: SessionConfig, tls: bool) -> Self {
        let info = SessionInfo {
            local: "127.0.0.1:5001".parse().unwrap(),
            remote: "192.0.2.7:40000".parse().unwrap(),
            tls,
        };
        let now = Instant::from_nanos(1_000_000_000);
        let mut harness = Harness {
            server: RemoteLogServer::new(Arc::new(config), info, now),
            now,
            sent: Vec::new(),
            requests: Vec::new(),
            events: Vec::new(),
            closed: false,
            starttls: false,
            subscription: None,
            buffer_lines: 4,
            ring: ring(),
            chunk: usize::MAX,
            transcript: String::new(),
            start: now,
        };
        harness.drain();
        harness
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes).escape_debug().to_string();
        let text = crate::remote_log::cut(&text, 100).into_owned();
        self.note(&format!("C: {text}"));
        for piece in bytes.chunks(self.chunk.max(1)) {
            if self.closed {
                break;
            }
            self.server.handle_input(self.now, Input::Bytes(piece));
            self.drain();
        }
    }

    pub fn input(&mut self, input: Input<'_>) {
        self.note(&format!("   {input:?}"));
        self.server.handle_input(self.now, input);
        self.drain();
    }

    /// A new line is logged: it goes into the ring and, if it matches,
    /// into the subscription's buffer (never blocking: a full buffer
    /// counts it dropped).
    pub fn log(&mut self, record: LogRecord) {
        self.ring.push(record.clone());
        if let Some((filter, buffer)) = &mut self.subscription
            && filter.matches(&record)
        {
            buffer.push(record);
        }
    }

    /// The client reads: the buffer's entries go to the machine, as the
    /// driver hands them in when the socket can take them.
    pub fn deliver(&mut self) {
        let Some((_, buffer)) = &mut self.subscription else {
            return;
        };
        let entries = buffer.take(usize::MAX);
        if !entries.is_empty() {
            self.input(Input::Live(entries));
        }
    }

    /// Moves the virtual clock on and fires the timer if it is due.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        if self.server.poll_timeout().is_some_and(|at| at <= self.now) {
            self.input(Input::TimerFired);
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.sent.clone()).unwrap()
    }

    fn note(&mut self, text: &str) {
        let elapsed = self.now.saturating_duration_since(self.start).as_secs();
        writeln!(self.transcript, "[{elapsed:>3}s] {text}").unwrap();
    }

    /// Drains every output, then hands in the answer to a request, as the
    /// driver does.
    pub fn drain(&mut self) {
        loop {
            let mut answer: Option<Input<'static>> = None;
            while let Some(output) = self.server.poll_output() {
                match output {
                    Output::Send(bytes) => {
                        assert!(!self.closed, "sent after close");
                        self.sent.extend_from_slice(&bytes);
                        let text = String::from_utf8(bytes).unwrap();
                        for line in text.split_terminator("\r\n") {
                            self.note(&format!("S: {}", line.escape_debug()));
                        }
                    }
                    Output::Request(request) => {
                        assert!(answer.is_none(), "two requests at once");
                        answer = Some(self.answer(&request));
                        self.requests.push(request);
                    }
                    Output::StartTls => {
                        self.starttls = true;
                        answer = Some(Input::TlsStarted);
                    }
                    Output::SetFilter(filter) => {
                        let (old, _) = self.subscription.as_mut().expect("following");
                        *old = filter;
                    }
                    Output::Unfollow => self.subscription = None,
                    Output::Close => {
                        assert!(!self.closed, "closed twice");
                        self.closed = true;
                    }
                    Output::Event(event) => self.events.push(event.to_string()),
                }
            }
            match answer {
                Some(input) => {
                    self.server.handle_input(self.now, input);
                }
                None => return,
            }
        }
    }

    fn answer(&mut self, request: &Request) -> Input<'static> {
        let recent = |ring: &[LogRecord], lines: usize, filter: &Filter| {
            let matching: Vec<_> = ring.iter().filter(|r| filter.matches(r)).cloned().collect();
            matching[matching.len().saturating_sub(lines)..].to_vec()
        };
        match request {
            Request::Authenticate(attempt) => {
                let (verdict, admin) = match (attempt.login.as_str(), attempt.password.expose()) {
                    (login @ ("admin@example.test" | "alice@example.test"), "secret") => (
                        AuthVerdict::Accepted(Identity {
                            login: login.to_owned(),
                            send_as: SendAs::Addresses(vec![login.to_owned()]),
                        }),
                        login.starts_with("admin"),
                    ),
                    _ => (AuthVerdict::Rejected, false),
                };
                Input::Authenticated { verdict, admin }
            }
            Request::Recent { lines, filter } => Input::Recent(recent(&self.ring, *lines, filter)),
            Request::Follow { backlog, filter } => {
                self.subscription = Some((filter.clone(), ClientBuffer::new(self.buffer_lines)));
                Input::Recent(recent(&self.ring, *backlog, filter))
            }
        }
    }
}

/// Logs in as the admin, in clear (the test configuration allows it).
pub fn logged_in() -> Harness {
    let mut harness = Harness::new();
    harness.feed(format!("AUTH PLAIN {ADMIN_PLAIN}\r\n").as_bytes());
    assert!(harness.server.is_following(), "{}", harness.transcript);
    harness
}
