//! A driver for tests: answers the machine's requests from a directory and
//! an in-memory store, on a virtual clock, and writes a transcript.
//!
//! Transcript lines: `C:` what the client sent, `S:` what the server
//! replied, and indented lines for what the machine asked of the driver
//! and the events it reported, each stamped with virtual time.

use crate::auth::{AuthVerdict, Identity, LockoutPolicy, LoginGuard, SendAs};
use crate::config::DomainConfig;
use crate::directory::Directory;
use crate::envelope::{Envelope, QueueId};
use crate::smtp::server::{
    Input, OpenedMessage, Output, Request, Server, SessionConfig, SessionInfo, StoreFailure,
};
use crate::spam::{Greylist, LookupAnswer, SenderLists};
use crate::time::{Instant, UnixTime};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

/// 2026-11-20 22:15:59 UTC: the wall clock every test message arrives at.
pub const RECEIVED_AT: UnixTime = UnixTime(1_795_212_959);

pub fn config() -> SessionConfig {
    SessionConfig {
        hostname: "mx.example.test".into(),
        relay: crate::policy::RelayPolicy::None,
        max_message_size: 10_000,
        max_recipients: 3,
        max_errors: 5,
        command_timeout: Duration::from_secs(300),
        data_timeout: Duration::from_secs(600),
        min_data_rate: 100,
        max_session_time: Duration::from_secs(3600),
        mail_auth: crate::mail_auth::MailAuthMode::Record,
        spf_fail: crate::mail_auth::SpfFailAction::Record,
        arc_trusted_sealers: Vec::new(),
        starttls: false,
        auth: crate::auth::AuthPolicy::default(),
        max_hops: crate::limits::HOPS_DEFAULT,
        spam: crate::spam::SpamPolicy::default(),
    }
}

pub fn directory() -> Directory {
    Directory::new(&[DomainConfig {
        name: "example.test".into(),
        users: vec!["alice".into(), "bob".into()],
        aliases: BTreeMap::from([("info".to_owned(), "alice".to_owned())]),
        catch_all: None,
    }])
}

/// A message the store committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub queue_id: QueueId,
    pub envelope: Envelope,
    pub data: Vec<u8>,
}

pub struct Harness {
    pub server: Server,
    directory: Directory,
    start: Instant,
    now: Instant,
    next_queue_id: u64,
    open: Option<(QueueId, Envelope, Vec<u8>)>,
    pub stored: Vec<Stored>,
    /// Everything the server sent, as bytes.
    pub server_bytes: Vec<u8>,
    pub transcript: String,
    pub closed: bool,
    pub fail_open: bool,
    pub fail_commit: bool,
    /// What the checks of a message from outside find (by default
    /// nothing, so no trace field: the transcripts stay as they were).
    pub findings: crate::mail_auth::results::Findings,
    /// What SPF finds at MAIL, when asked (`spf_fail = "refuse"`).
    pub spf: Option<crate::mail_auth::spf::SpfVerdict>,
    /// Accounts: login, password, and whether it may send as anyone.
    pub accounts: Vec<(&'static str, &'static str, bool)>,
    /// The server-wide lockout, as the runtime keeps it.
    pub guard: LoginGuard,
    remote: std::net::IpAddr,
    /// The DNS the blocklist lookups see: names not here are not listed.
    pub dns: BTreeMap<String, LookupAnswer>,
    /// The server's greylist, on a wall clock that starts at
    /// [`RECEIVED_AT`] and moves with the virtual one.
    pub greylist: Greylist,
    /// The mailboxes' allow and block lists (`user@domain`); a mailbox
    /// not here has none.
    pub sender_lists: BTreeMap<String, SenderLists>,
}

/// The accounts every harness knows.
pub const ACCOUNTS: &[(&str, &str, bool)] = &[
    ("alice@example.test", "correct horse", false),
    ("admin@example.test", "battery staple", true),
];

impl Harness {
    pub fn new() -> Self {
        Self::with_config(config())
    }

    pub fn with_config(config: SessionConfig) -> Self {
        Self::with_world(
            config,
            "192.0.2.7:40000",
            BTreeMap::new(),
            Greylist::default(),
        )
    }

    /// A session from `remote`, with this DNS and greylist.
    pub fn with_world(
        config: SessionConfig,
        remote: &str,
        dns: BTreeMap<String, LookupAnswer>,
        greylist: Greylist,
    ) -> Self {
        let info = SessionInfo {
            local: "127.0.0.1:25".parse().unwrap(),
            remote: remote.parse().unwrap(),
            tls: false,
        };
        let start = Instant::from_nanos(1_000_000_000);
        let server = Server::new(Arc::new(config), info, start);
        let mut harness = Harness {
            server,
            directory: directory(),
            start,
            now: start,
            next_queue_id: 0x1234_5678,
            open: None,
            stored: Vec::new(),
            server_bytes: Vec::new(),
            transcript: String::new(),
            closed: false,
            fail_open: false,
            fail_commit: false,
            findings: Default::default(),
            spf: None,
            accounts: ACCOUNTS.to_vec(),
            guard: LoginGuard::new(LockoutPolicy::default()),
            remote: info.remote.ip(),
            dns,
            greylist,
            sender_lists: BTreeMap::new(),
        };
        harness.drain();
        harness
    }

    /// The client sends `bytes` in one piece.
    pub fn send(&mut self, bytes: &[u8]) {
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let shown = line.strip_suffix(b"\r\n").unwrap_or(line);
            let shown = String::from_utf8_lossy(shown).escape_debug().to_string();
            self.note(&format!("C: {shown}"));
        }
        self.feed(bytes);
    }

    /// Hands bytes in without writing them to the transcript.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.server.handle_input(self.now, Input::Bytes(bytes));
        self.drain();
    }

    /// Writes a client line to the transcript, for input fed quietly.
    pub fn note_client(&mut self, text: &str) {
        self.note(&format!("C: {text}"));
    }

    /// Sends a line that carries a password, noting only its length in
    /// the transcript: passwords never reach snapshots.
    pub fn send_secret_line(&mut self, line: &str) {
        self.note(&format!("C: <credentials, {} octets>", line.len()));
        self.feed(format!("{line}\r\n").as_bytes());
    }

    pub fn send_line(&mut self, line: &str) {
        self.send(format!("{line}\r\n").as_bytes());
    }

    /// The client closes the connection.
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

    /// The driver could not write the server's output in time.
    pub fn send_timed_out(&mut self) {
        self.note("   <driver: send timed out>");
        self.server.handle_input(self.now, Input::SendTimedOut);
        self.drain();
    }

    /// Seconds since the session started, on the virtual clock.
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(self.start)
    }

    /// Moves the clock on, firing the timer if it falls due.
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

    /// Moves the clock on without firing the timer, as when the driver's
    /// read wins a race against it.
    pub fn advance_quietly(&mut self, by: Duration) {
        self.now = self.now + by;
    }

    fn note(&mut self, text: &str) {
        let elapsed = self.now.saturating_duration_since(self.start).as_secs();
        writeln!(self.transcript, "[{elapsed:>4}s] {text}").unwrap();
    }

    /// Drains outputs, answering requests, until the machine is quiet.
    fn drain(&mut self) {
        loop {
            let mut answer = None;
            while let Some(output) = self.server.poll_output() {
                if let Some(input) = self.carry_out(output) {
                    assert!(answer.is_none(), "two requests in one drain");
                    answer = Some(input);
                }
            }
            match answer {
                Some(input) => self.server.handle_input(self.now, input),
                None => break,
            }
        }
    }

    fn carry_out(&mut self, output: Output) -> Option<Input<'static>> {
        match output {
            Output::Send(bytes) => {
                assert!(!self.closed, "bytes sent after Close");
                self.server_bytes.extend_from_slice(&bytes);
                for line in String::from_utf8_lossy(&bytes).split_terminator("\r\n") {
                    self.note(&format!("S: {line}"));
                }
                None
            }
            Output::Request(Request::CheckRecipient(forward_path)) => {
                let verdict = self.directory.resolve(&forward_path);
                let shown = match &verdict {
                    crate::directory::RecipientVerdict::Local(mailbox) => {
                        format!("local {mailbox}")
                    }
                    other => format!("{other:?}"),
                };
                self.note(&format!("   check {forward_path} -> {shown}"));
                Some(Input::RecipientChecked(verdict))
            }
            Output::Request(Request::OpenMessage(envelope)) => {
                if self.fail_open {
                    self.note("   open -> failure");
                    return Some(Input::MessageOpened(Err(StoreFailure)));
                }
                let queue_id = QueueId(self.next_queue_id);
                self.next_queue_id += 1;
                self.note(&format!(
                    "   open {queue_id} from {} to {}",
                    envelope.reverse_path,
                    envelope.recipients.len()
                ));
                self.open = Some((queue_id, envelope, Vec::new()));
                Some(Input::MessageOpened(Ok(OpenedMessage {
                    queue_id,
                    received_at: RECEIVED_AT,
                })))
            }
            Output::MessageData(chunk) => {
                let (_, _, data) = self
                    .open
                    .as_mut()
                    .expect("message data without an open message");
                data.extend_from_slice(&chunk);
                None
            }
            Output::Request(Request::CommitMessage) => {
                let (queue_id, envelope, data) =
                    self.open.take().expect("commit without an open message");
                if self.fail_commit {
                    self.note(&format!("   commit {queue_id} -> failure"));
                    return Some(Input::MessageCommitted(Err(StoreFailure)));
                }
                self.note(&format!("   commit {queue_id} ({} octets)", data.len()));
                self.stored.push(Stored {
                    queue_id,
                    envelope,
                    data,
                });
                Some(Input::MessageCommitted(Ok(())))
            }
            Output::Request(Request::CheckSender(request)) => {
                self.note(&format!("   spf {}", request.reverse_path));
                Some(Input::SenderChecked(self.spf.clone()))
            }
            Output::Request(Request::CheckMessage(_)) => {
                assert!(self.open.is_some(), "checks without an open message");
                if !self.findings.is_empty() {
                    self.note("   checks");
                }
                Some(Input::MessageChecked(self.findings.clone()))
            }
            Output::Trace(fields) => {
                self.note(&format!("   trace ({} octets)", fields.len()));
                let (_, _, data) = self.open.as_mut().expect("trace without an open message");
                // On top, as the spool's readers put it.
                data.splice(..0, fields);
                None
            }
            Output::Quarantine => {
                assert!(self.open.is_some(), "quarantine without an open message");
                self.note("   quarantine");
                None
            }
            Output::AbortMessage => {
                let (queue_id, _, _) = self.open.take().expect("abort without an open message");
                self.note(&format!("   abort {queue_id}"));
                None
            }
            Output::StartTls => {
                self.note("   TLS handshake");
                Some(Input::TlsStarted)
            }
            Output::Request(Request::Authenticate(attempt)) => {
                // The runtime's order: lockout first, then the password.
                let verdict = if self.guard.locked_until(self.remote, self.now).is_some() {
                    AuthVerdict::LockedOut
                } else {
                    let found = self.accounts.iter().find(|(login, password, _)| {
                        login.eq_ignore_ascii_case(&attempt.login)
                            && *password == attempt.password.expose()
                    });
                    match found {
                        Some((login, _, anyone)) => AuthVerdict::Accepted(Identity {
                            login: login.to_string(),
                            send_as: if *anyone {
                                SendAs::Anyone
                            } else {
                                SendAs::Addresses(vec![login.to_string()])
                            },
                        }),
                        // As the runtime does: a session's repeat of a
                        // failed login and password is not counted again.
                        None => {
                            if !attempt.repeated {
                                self.guard.record_failure(self.remote, self.now);
                            }
                            AuthVerdict::Rejected
                        }
                    }
                };
                let shown = match &verdict {
                    AuthVerdict::Accepted(identity) => format!("accepted as {}", identity.login),
                    other => format!("{other:?}"),
                };
                self.note(&format!("   authenticate {attempt:?} -> {shown}"));
                Some(Input::Authenticated(verdict))
            }
            Output::Request(Request::LookUpBlocklists(queries)) => {
                let answers: Vec<LookupAnswer> = queries
                    .iter()
                    .map(|q| {
                        self.dns
                            .get(&q.name)
                            .cloned()
                            .unwrap_or(LookupAnswer::NotListed)
                    })
                    .collect();
                for (query, answer) in queries.iter().zip(&answers) {
                    self.note(&format!("   look up {} -> {answer:?}", query.name));
                }
                Some(Input::BlocklistsLookedUp(answers))
            }
            Output::Request(Request::LookUpSenderLists(mailbox)) => {
                let lists = self
                    .sender_lists
                    .get(&mailbox.to_string())
                    .cloned()
                    .unwrap_or_default();
                // Every local recipient's lists are asked for; only the
                // mailboxes that have some get a transcript line, so that
                // sessions without lists read as they did before them.
                if !lists.is_empty() {
                    let allow: Vec<String> = lists.allow.iter().map(ToString::to_string).collect();
                    let block: Vec<String> = lists.block.iter().map(ToString::to_string).collect();
                    self.note(&format!(
                        "   sender lists of {mailbox} -> allow [{}] block [{}] blocked = {}",
                        allow.join(" "),
                        block.join(" "),
                        lists.blocked
                    ));
                }
                Some(Input::SenderListsLookedUp(lists))
            }
            Output::Request(Request::CheckGreylist(triplet, policy)) => {
                let wall = UnixTime(RECEIVED_AT.0 + self.elapsed().as_secs() as i64);
                let verdict = self.greylist.check(wall, &triplet, &policy);
                self.note(&format!("   greylist {triplet} -> {verdict:?}"));
                Some(Input::GreylistChecked(verdict))
            }
            Output::Close => {
                self.closed = true;
                self.note("   close");
                None
            }
            Output::Event(event) => {
                self.note(&format!("   event: {event}"));
                None
            }
        }
    }
}
