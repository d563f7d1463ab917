//! A driver for tests: one or more IMAP sessions on one in-memory store,
//! on a virtual clock. Requests are answered from the store; the store's
//! watch is played by handing [`Input::FolderChanged`] to the other
//! sessions after a change. The transcript shows `C:` and `S:` lines,
//! store requests (not the routine `changes` and `read`) and events, each
//! stamped with virtual time and, with several sessions, the session's
//! letter.

use crate::auth::AuthPolicy;
use crate::imap::session::memory::Store;
use crate::imap::session::{ImapServer, Input, Output, Quota, Request, SessionConfig, SessionInfo};
use crate::time::{Instant, UnixTime};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

pub fn config() -> SessionConfig {
    SessionConfig {
        hostname: "imap.example.test".into(),
        starttls: true,
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            failure_delay: Duration::from_secs(2),
            ..AuthPolicy::default()
        },
        max_errors: 5,
        autologout: Duration::from_secs(30 * 60),
        idle_max: Duration::from_secs(30 * 60),
        max_session_time: Duration::from_secs(24 * 60 * 60),
        append_limit: 64 * 1024,
        quota: Quota {
            storage_bytes: Some(20 * 1024),
            messages: Some(100),
        },
    }
}

pub struct Session {
    pub server: ImapServer,
    pub closed: bool,
    /// Everything the server sent.
    pub bytes: Vec<u8>,
    partial_line: Vec<u8>,
}

pub struct Harness {
    pub store: Store,
    pub sessions: Vec<Session>,
    pub transcript: String,
    config: Arc<SessionConfig>,
    start: Instant,
    now: Instant,
    /// Store requests answered, in order (`changes` and `read` too).
    pub requests: Vec<Request>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(config())
    }

    pub fn with_config(config: SessionConfig) -> Self {
        let start = Instant::from_nanos(1_000_000_000);
        let mut harness = Harness {
            store: Store::new(),
            sessions: Vec::new(),
            transcript: String::new(),
            config: Arc::new(config),
            start,
            now: start,
            requests: Vec::new(),
        };
        harness.connect(false);
        harness
    }

    /// Another session on the same store; returns its index.
    pub fn connect(&mut self, tls: bool) -> usize {
        let info = SessionInfo {
            local: "127.0.0.1:143".parse().unwrap(),
            remote: "192.0.2.7:40000".parse().unwrap(),
            tls,
        };
        let server = ImapServer::new(self.config.clone(), info, self.now, UnixTime(1_795_300_000));
        self.sessions.push(Session {
            server,
            closed: false,
            bytes: Vec::new(),
            partial_line: Vec::new(),
        });
        let index = self.sessions.len() - 1;
        self.drain(index);
        index
    }

    /// Session 0 sends a line (CRLF added).
    pub fn line(&mut self, text: &str) {
        self.line_on(0, text);
    }

    pub fn line_on(&mut self, session: usize, text: &str) {
        self.send_on(session, format!("{text}\r\n").as_bytes());
    }

    pub fn send_on(&mut self, session: usize, bytes: &[u8]) {
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let shown = line.strip_suffix(b"\r\n").unwrap_or(line);
            let shown = crate::text::escape_bytes(shown).into_owned();
            self.note(session, &format!("C: {}", hide_password(&shown)));
        }
        self.feed_on(session, bytes);
    }

    /// Bytes without a transcript line of their own.
    pub fn feed_on(&mut self, session: usize, bytes: &[u8]) {
        self.sessions[session]
            .server
            .handle_input(self.now, Input::Bytes(bytes));
        self.drain(session);
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.feed_on(0, bytes);
    }

    /// Logs session `session` in as alice.
    pub fn login_on(&mut self, session: usize) {
        self.line_on(session, "L1 LOGIN alice@example.test \"correct horse\"");
    }

    pub fn login(&mut self) {
        self.login_on(0);
    }

    pub fn hang_up(&mut self, session: usize) {
        self.note(session, "C: <hangs up>");
        self.sessions[session]
            .server
            .handle_input(self.now, Input::EndOfInput);
        self.drain(session);
    }

    /// A message arrives from outside (SMTP delivery); every session is
    /// told the store changed.
    pub fn deliver(&mut self, folder: &str, content: &str) {
        let uid = self.store.deliver(folder, content);
        writeln!(
            self.transcript,
            "{}    <delivery to {folder}: uid {uid}>",
            self.stamp()
        )
        .unwrap();
        self.notify(usize::MAX);
    }

    pub fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        for session in 0..self.sessions.len() {
            let due = self.sessions[session]
                .server
                .poll_timeout()
                .is_some_and(|at| at <= self.now);
            if due {
                self.sessions[session]
                    .server
                    .handle_input(self.now, Input::TimerFired);
                self.drain(session);
            }
        }
    }

    fn stamp(&self) -> String {
        let elapsed = self.now.saturating_duration_since(self.start).as_secs();
        format!("[{elapsed:>4}s]")
    }

    fn note(&mut self, session: usize, text: &str) {
        let label = if self.sessions.len() > 1 {
            format!(" {}", (b'A' + session as u8) as char)
        } else {
            String::new()
        };
        writeln!(self.transcript, "{}{label} {text}", self.stamp()).unwrap();
    }

    fn server_sent(&mut self, session: usize, bytes: &[u8]) {
        let s = &mut self.sessions[session];
        s.bytes.extend_from_slice(bytes);
        s.partial_line.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(end) = s.partial_line.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = s.partial_line.drain(..=end).collect();
            let line = line.strip_suffix(b"\r\n").unwrap_or(&line).to_vec();
            lines.push(crate::text::escape_bytes(&line).into_owned());
        }
        for line in lines {
            self.note(session, &format!("S: {line}"));
        }
    }

    /// Drains a session's outputs, answering its requests, until it is
    /// quiet; then the other sessions hear of any change it made.
    pub fn drain(&mut self, session: usize) {
        let mut changed = false;
        loop {
            let mut answer = None;
            let mut tls = false;
            while let Some(output) = self.sessions[session].server.poll_output() {
                match output {
                    Output::Send(bytes) => self.server_sent(session, &bytes),
                    Output::Request(request) => {
                        assert!(answer.is_none(), "two requests at once");
                        changed |= Store::changes_folders(&request);
                        if let Some(text) = describe(&request) {
                            self.note(session, &format!("   request: {text}"));
                        }
                        answer = Some(request);
                    }
                    Output::StartTls => {
                        self.note(session, "   <TLS handshake>");
                        tls = true;
                    }
                    Output::Close => {
                        assert!(!self.sessions[session].closed, "Close twice");
                        self.sessions[session].closed = true;
                        self.note(session, "   <close>");
                    }
                    Output::Event(event) => self.note(session, &format!("   event: {event}")),
                }
            }
            let Some(request) = answer else {
                if tls && !self.sessions[session].closed {
                    self.sessions[session]
                        .server
                        .handle_input(self.now, Input::TlsStarted);
                    continue;
                }
                break;
            };
            self.requests.push(request.clone());
            let input = self.store.answer(request);
            self.sessions[session].server.handle_input(self.now, input);
        }
        if changed {
            self.notify(session);
        }
    }

    /// The store's watch: every session but `from` hears of a change.
    fn notify(&mut self, from: usize) {
        for other in 0..self.sessions.len() {
            if other != from && !self.sessions[other].closed {
                self.sessions[other]
                    .server
                    .handle_input(self.now, Input::FolderChanged);
                self.drain(other);
            }
        }
    }

    /// What session 0 sent since `mark` bytes, as text.
    pub fn sent_since(&self, mark: usize) -> String {
        String::from_utf8_lossy(&self.sessions[0].bytes[mark..]).into_owned()
    }

    pub fn mark(&self) -> usize {
        self.sessions[0].bytes.len()
    }

    pub fn closed(&self) -> bool {
        self.sessions[0].closed
    }
}

/// A request as the transcript shows it; `None` for the routine ones.
fn describe(request: &Request) -> Option<String> {
    let uids = |uids: &[crate::mailbox::Uid]| {
        uids.iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    Some(match request {
        Request::Changes { .. } | Request::Read { .. } => return None,
        Request::Authenticate(attempt) => format!("authenticate {}", attempt.login),
        Request::Open { folder, read_only } => {
            format!(
                "open {folder}{}",
                if *read_only { " read-only" } else { "" }
            )
        }
        Request::Append { folder, messages } => format!("append {} to {folder}", messages.len()),
        Request::StoreFlags {
            folder,
            uids: list,
            action,
            flags,
            keywords,
        } => format!(
            "store {action:?} [{flags}] {keywords:?} on {} in {folder}",
            uids(list)
        ),
        Request::Expunge { folder, uids: list } => format!("expunge {} in {folder}", uids(list)),
        Request::Copy {
            from,
            uids: list,
            to,
        } => format!("copy {} from {from} to {to}", uids(list)),
        Request::Move {
            from,
            uids: list,
            to,
        } => format!("move {} from {from} to {to}", uids(list)),
        Request::Folders => "folders".into(),
        Request::CreateFolder { name, special_use } => format!("create {name} {special_use:?}"),
        Request::DeleteFolder { name } => format!("delete {name}"),
        Request::RenameFolder { from, to } => format!("rename {from} to {to}"),
        Request::Subscribe { name, subscribed } => format!("subscribe {name} {subscribed}"),
        Request::Subscriptions => "subscriptions".into(),
        Request::Usage => "usage".into(),
    })
}

/// `LOGIN user "password"` shows the password's length only.
fn hide_password(line: &str) -> String {
    let upper = line.to_ascii_uppercase();
    match upper.find(" LOGIN ") {
        Some(at) => {
            let rest = &line[at + 7..];
            match rest.split_once(' ') {
                Some((user, password)) => {
                    format!("{} LOGIN {user} <{} octets>", &line[..at], password.len())
                }
                None => line.to_owned(),
            }
        }
        None => line.to_owned(),
    }
}
