//! Drives a [`FingerServer`] the way the runtime driver does, answering
//! its requests from a fixed set of users, on a virtual clock, and writes
//! a transcript (`C:` what the client sent, `S:` each line the server
//! sent, with the seconds since the connection).

use crate::finger::{
    FingerServer, Input, MailStatus, Output, Request, SessionConfig, SessionInfo, UserInfo,
};
use crate::time::{Instant, UnixTime};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

pub fn config() -> SessionConfig {
    SessionConfig {
        list_users: false,
        hidden: vec!["carol@example.test".to_owned()],
        query_timeout: Duration::from_secs(10),
    }
}

pub fn users() -> Vec<UserInfo> {
    vec![
        UserInfo {
            address: "alice@example.test".to_owned(),
            real_name: Some("Alice \x1b[31mExample".to_owned()),
            mail: Some(MailStatus {
                messages: 5,
                unseen: 3,
                oldest_unseen: Some(UnixTime(1_795_000_000)),
                newest_unseen: Some(UnixTime(1_795_100_000)),
            }),
            plan: Some("Working on finger.\r\nBack at \x07noon.\n".to_owned()),
        },
        UserInfo {
            address: "alice@other.test".to_owned(),
            real_name: None,
            mail: Some(MailStatus::default()),
            plan: None,
        },
        UserInfo {
            address: "bob@example.test".to_owned(),
            real_name: Some("Bob".to_owned()),
            mail: None,
            plan: None,
        },
        UserInfo {
            address: "carol@example.test".to_owned(),
            real_name: Some("Carol Hidden".to_owned()),
            mail: Some(MailStatus::default()),
            plan: Some("secret".to_owned()),
        },
    ]
}

pub struct Harness {
    pub server: FingerServer,
    pub now: Instant,
    pub sent: Vec<u8>,
    pub requests: Vec<Request>,
    pub events: Vec<String>,
    pub closed: bool,
    /// Bytes handed in at most this many at a time.
    pub chunk: usize,
    pub transcript: String,
    start: Instant,
}

impl Harness {
    pub fn new() -> Self {
        Harness::with(config())
    }

    pub fn with(config: SessionConfig) -> Self {
        let info = SessionInfo {
            local: "127.0.0.1:79".parse().unwrap(),
            remote: "192.0.2.7:40000".parse().unwrap(),
            tls: false,
        };
        let now = Instant::from_nanos(1_000_000_000);
        let mut harness = Harness {
            server: FingerServer::new(Arc::new(config), info, now),
            now,
            sent: Vec::new(),
            requests: Vec::new(),
            events: Vec::new(),
            closed: false,
            chunk: usize::MAX,
            transcript: String::new(),
            start: now,
        };
        harness.drain();
        harness
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes).escape_debug().to_string();
        self.note(&format!("C: {text}"));
        for piece in bytes.chunks(self.chunk.max(1)) {
            self.server.handle_input(self.now, Input::Bytes(piece));
            self.drain();
        }
    }

    pub fn input(&mut self, input: Input<'_>) {
        self.note(&format!("   {input:?}"));
        self.server.handle_input(self.now, input);
        self.drain();
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
            let mut answer = None;
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
                        self.note(&format!("   request: {request:?}"));
                        answer = Some(lookup(&request));
                        self.requests.push(request);
                    }
                    Output::Close => {
                        self.note("   close");
                        self.closed = true;
                    }
                    Output::Event(event) => self.events.push(event.to_string()),
                }
            }
            match answer {
                Some(users) => self.server.handle_input(self.now, Input::Users(users)),
                None => break,
            }
        }
    }
}

/// The users a request names, from [`users`].
fn lookup(request: &Request) -> Vec<UserInfo> {
    match request {
        Request::List => users(),
        Request::Lookup { user } => users()
            .into_iter()
            .filter(|u| {
                u.address
                    .split('@')
                    .next()
                    .is_some_and(|local| local.eq_ignore_ascii_case(user))
            })
            .collect(),
    }
}

pub fn advance(harness: &mut Harness, by: Duration) {
    harness.now = harness.now + by;
}
