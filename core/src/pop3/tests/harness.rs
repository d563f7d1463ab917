//! A driver for tests: answers the POP3 machine's requests from accounts
//! and an in-memory maildrop, on a virtual clock, and writes a transcript
//! (`C:` client lines, `S:` server lines, indented requests and events,
//! each stamped with virtual time).

use crate::auth::{AuthPolicy, AuthVerdict, Identity, SendAs};
use crate::pop3::{
    Input, Maildrop, MaildropFailure, MaildropMessage, Output, Pop3Server, Request, SessionConfig,
    SessionInfo, UpdateFailure,
};
use crate::time::Instant;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

pub fn config() -> SessionConfig {
    SessionConfig {
        hostname: "pop.example.test".into(),
        stls: true,
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            failure_delay: Duration::from_secs(2),
            ..AuthPolicy::default()
        },
        max_errors: 10,
        autologout: Duration::from_secs(600),
        max_session_time: Duration::from_secs(3600),
    }
}

/// The messages of alice's maildrop: UID, then content (CRLF).
pub fn messages() -> Vec<(u32, Vec<u8>)> {
    vec![
        (
            3,
            b"Subject: one\r\nFrom: bob@example.test\r\n\r\nFirst line\r\n.dotted line\r\nthird\r\n"
                .to_vec(),
        ),
        (7, b"Subject: two\r\n\r\nshort\r\n".to_vec()),
        (9, b"Subject: three\r\n\r\nno final newline".to_vec()),
    ]
}

pub const UID_VALIDITY: u32 = 0x5F00_0001;

pub struct Harness {
    pub server: Pop3Server,
    start: Instant,
    now: Instant,
    pub transcript: String,
    /// Everything the server sent.
    pub server_bytes: Vec<u8>,
    pub closed: bool,
    /// The maildrop: UID and content, as the store holds it.
    pub store: Vec<(u32, Vec<u8>)>,
    /// What the driver answers OpenMaildrop with, when not Ok.
    pub maildrop_failure: Option<MaildropFailure>,
    pub fail_update: bool,
    /// UIDs whose file "went away" (Retrieve answers unavailable).
    pub vanished: Vec<u32>,
    /// Chunk size for message data.
    pub chunk: usize,
    /// Updates carried out: (expunged, seen).
    pub updates: Vec<(Vec<u32>, Vec<u32>)>,
    /// Each login checked: the login, and whether the session marked it
    /// a repeat (which the lockout does not count again).
    pub logins: Vec<(String, bool)>,
    /// The message being handed in, and how far.
    reading: Option<(Vec<u8>, usize)>,
    /// Server output not yet ending in a line end.
    partial_line: Vec<u8>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(config(), false)
    }

    pub fn with_config(config: SessionConfig, tls: bool) -> Self {
        let info = SessionInfo {
            local: "127.0.0.1:110".parse().unwrap(),
            remote: "192.0.2.7:40000".parse().unwrap(),
            tls,
        };
        let start = Instant::from_nanos(1_000_000_000);
        let mut harness = Harness {
            server: Pop3Server::new(Arc::new(config), info, start),
            start,
            now: start,
            transcript: String::new(),
            server_bytes: Vec::new(),
            closed: false,
            store: messages(),
            maildrop_failure: None,
            fail_update: false,
            vanished: Vec::new(),
            chunk: 16,
            updates: Vec::new(),
            logins: Vec::new(),
            reading: None,
            partial_line: Vec::new(),
        };
        harness.drain();
        harness
    }

    pub fn send(&mut self, bytes: &[u8]) {
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let shown = line.strip_suffix(b"\r\n").unwrap_or(line);
            let shown = String::from_utf8_lossy(shown).escape_debug().to_string();
            if shown.starts_with("PASS ") {
                self.note(&format!("C: PASS <{} octets>", shown.len() - 5));
            } else {
                self.note(&format!("C: {shown}"));
            }
        }
        self.feed(bytes);
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.server.handle_input(self.now, Input::Bytes(bytes));
        self.drain();
    }

    pub fn send_line(&mut self, line: &str) {
        self.send(format!("{line}\r\n").as_bytes());
    }

    pub fn hang_up(&mut self) {
        self.note("C: <hangs up>");
        self.server.handle_input(self.now, Input::EndOfInput);
        self.drain();
    }

    pub fn shut_down(&mut self) {
        self.note("   <server shutting down>");
        self.server.handle_input(self.now, Input::Shutdown);
        self.drain();
    }

    /// The driver could not write by `deadline`.
    pub fn send_timed_out(&mut self, deadline: Instant) {
        self.now = self.now.max(deadline);
        self.note("   <driver: send timed out>");
        self.server.handle_input(self.now, Input::SendTimedOut);
        self.drain();
    }

    pub fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        if self
            .server
            .poll_timeout()
            .is_some_and(|deadline| deadline <= self.now)
        {
            self.server.handle_input(self.now, Input::TimerFired);
            self.drain();
        }
    }

    /// Logs alice in with USER/PASS.
    pub fn login(&mut self) {
        self.send_line("USER alice@example.test");
        self.send_line("PASS correct horse");
    }

    /// Notes what the server sent, a whole line at a time (message data
    /// comes in chunks that cut lines anywhere).
    fn server_sent(&mut self, bytes: &[u8]) {
        self.server_bytes.extend_from_slice(bytes);
        self.partial_line.extend_from_slice(bytes);
        while let Some(end) = self.partial_line.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial_line.drain(..=end).collect();
            let line = line.strip_suffix(b"\r\n").unwrap_or(&line);
            let line = String::from_utf8_lossy(line).escape_debug().to_string();
            self.note(&format!("S: {line}"));
        }
    }

    fn note(&mut self, text: &str) {
        let elapsed = self.now.saturating_duration_since(self.start).as_secs();
        writeln!(self.transcript, "[{elapsed:>4}s] {text}").unwrap();
    }

    /// Drains outputs, answering requests, until the machine is quiet. A
    /// message being retrieved is handed in chunk by chunk while the
    /// machine takes them, as the runtime's driver does.
    pub fn drain(&mut self) {
        loop {
            let mut answers: Vec<Answer> = Vec::new();
            while let Some(output) = self.server.poll_output() {
                match output {
                    Output::Send(bytes) => self.server_sent(&bytes),
                    Output::Request(request) => {
                        self.note(&format!("   request: {}", describe(&request)));
                        if let Some(answer) = self.answer(request) {
                            answers.push(answer);
                        }
                    }
                    Output::StartTls => {
                        self.note("   <TLS handshake>");
                        answers.push(Answer::Tls);
                    }
                    Output::Close => {
                        assert!(!self.closed, "Close twice");
                        self.closed = true;
                        self.note("   <close>");
                    }
                    Output::Event(event) => self.note(&format!("   event: {event}")),
                }
            }
            assert!(answers.len() <= 1, "two requests at once");
            if let Some(answer) = answers.pop() {
                self.give(answer);
            } else if self.server.is_retrieving() {
                self.next_chunk();
            } else {
                self.reading = None;
                return;
            }
        }
    }

    /// The next piece of the message being read, or its end.
    fn next_chunk(&mut self) {
        let (content, offset) = self.reading.as_mut().expect("retrieving without a message");
        if *offset < content.len() {
            let end = (*offset + self.chunk).min(content.len());
            let chunk = content[*offset..end].to_vec();
            *offset = end;
            self.server
                .handle_input(self.now, Input::MessageChunk(&chunk));
        } else {
            self.reading = None;
            self.server.handle_input(self.now, Input::MessageEnd);
        }
    }

    fn give(&mut self, answer: Answer) {
        let input = match answer {
            Answer::Tls => Input::TlsStarted,
            Answer::Auth(verdict) => Input::Authenticated(verdict),
            Answer::Maildrop(result) => Input::MaildropOpened(result),
            Answer::Unavailable => Input::MessageUnavailable,
            Answer::Update(result) => Input::Updated(result),
        };
        self.server.handle_input(self.now, input);
    }

    fn answer(&mut self, request: Request) -> Option<Answer> {
        Some(match request {
            Request::Authenticate(attempt) => {
                self.logins.push((attempt.login.clone(), attempt.repeated));
                let ok = attempt.login == "alice@example.test"
                    && attempt.password.expose() == "correct horse";
                Answer::Auth(if ok {
                    AuthVerdict::Accepted(Identity {
                        login: attempt.login,
                        send_as: SendAs::Addresses(vec![]),
                    })
                } else if attempt.login == "locked@example.test" {
                    AuthVerdict::LockedOut
                } else {
                    AuthVerdict::Rejected
                })
            }
            Request::OpenMaildrop { .. } => Answer::Maildrop(match self.maildrop_failure {
                Some(failure) => Err(failure),
                None => Ok(Maildrop {
                    uid_validity: UID_VALIDITY,
                    messages: self
                        .store
                        .iter()
                        .map(|(uid, content)| MaildropMessage {
                            uid: *uid,
                            size: content.len() as u64,
                        })
                        .collect(),
                }),
            }),
            Request::Retrieve { uid } => {
                let content = self.store.iter().find(|(u, _)| *u == uid);
                match content {
                    Some((_, content)) if !self.vanished.contains(&uid) => {
                        self.reading = Some((content.clone(), 0));
                        return None;
                    }
                    _ => Answer::Unavailable,
                }
            }
            Request::Update { expunge, seen } => {
                if self.fail_update {
                    return Some(Answer::Update(Err(UpdateFailure)));
                }
                self.store.retain(|(uid, _)| !expunge.contains(uid));
                self.updates.push((expunge, seen));
                Answer::Update(Ok(()))
            }
        })
    }
}

enum Answer {
    Tls,
    Auth(AuthVerdict),
    Maildrop(Result<Maildrop, MaildropFailure>),
    Unavailable,
    Update(Result<(), UpdateFailure>),
}

fn describe(request: &Request) -> String {
    match request {
        Request::Authenticate(attempt) => format!("authenticate {}", attempt.login),
        Request::OpenMaildrop { login } => format!("open maildrop of {login}"),
        Request::Retrieve { uid } => format!("retrieve uid {uid}"),
        Request::Update { expunge, seen } => format!("update: expunge {expunge:?}, seen {seen:?}"),
    }
}
