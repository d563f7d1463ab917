//! A driver for tests: answers the FTP machine's requests from one
//! account and an in-memory home, carries out transfers on bytes, on a
//! virtual clock, and writes a transcript (`C:` client lines, `S:` server
//! lines, `D:` data connections, indented requests and events, each
//! stamped with virtual time).

use crate::auth::{AuthPolicy, AuthVerdict, Identity, SendAs};
use crate::ftp::memory::MemoryHome;
use crate::ftp::{
    DataChannel, FileRequest, FtpServer, Input, Output, PassiveFailure, Request, SessionConfig,
    SessionInfo, Transfer, TransferAction, TransferFailure,
};
use crate::time::{Instant, UnixTime};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

/// 2026-11-30 08:00:00 UTC, the wall clock listings see.
pub const NOW: UnixTime = UnixTime(1_796_025_600);

pub fn config() -> SessionConfig {
    SessionConfig {
        hostname: "ftp.example.test".into(),
        auth_tls: true,
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            failure_delay: Duration::from_secs(2),
            ..AuthPolicy::default()
        },
        max_errors: 10,
        idle_timeout: Duration::from_secs(300),
        max_session_time: Duration::from_secs(3600),
        quota: 1000,
    }
}

pub fn home() -> MemoryHome {
    let mut home = MemoryHome::default();
    let root = crate::ftp::FtpPath::root();
    home.put(
        &root.join("hello.txt").unwrap(),
        b"Hello, world!\r\n",
        UnixTime(NOW.0 - 60),
    );
    let docs = root.join("docs").unwrap();
    home.make_dir(&docs);
    home.put(
        &docs.join("a.txt").unwrap(),
        b"0123456789",
        UnixTime(1_600_000_000),
    );
    home
}

pub struct Harness {
    pub server: FtpServer,
    start: Instant,
    now: Instant,
    pub transcript: String,
    pub server_bytes: Vec<u8>,
    pub closed: bool,
    pub home: MemoryHome,
    /// What the client sends on the next upload's data connection.
    pub upload: Vec<u8>,
    /// Everything clients received on data connections.
    pub downloaded: Vec<u8>,
    /// Keep the next transfer running until [`Harness::finish_transfer`].
    pub hold_transfer: bool,
    pub held: Option<Transfer>,
    /// Answer OpenPassive with a failure.
    pub passive_fails: bool,
    /// Each transfer requested.
    pub transfers: Vec<Transfer>,
    pub aborts: usize,
    pub passive_closed: usize,
    partial_line: Vec<u8>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(config(), false)
    }

    pub fn with_config(config: SessionConfig, tls: bool) -> Self {
        let info = SessionInfo {
            local: "127.0.0.2:21".parse().unwrap(),
            remote: "127.0.0.9:40000".parse().unwrap(),
            tls,
        };
        let start = Instant::from_nanos(1_000_000_000);
        let mut harness = Harness {
            server: FtpServer::new(Arc::new(config), info, start),
            start,
            now: start,
            transcript: String::new(),
            server_bytes: Vec::new(),
            closed: false,
            home: home(),
            upload: Vec::new(),
            downloaded: Vec::new(),
            hold_transfer: false,
            held: None,
            passive_fails: false,
            transfers: Vec::new(),
            aborts: 0,
            passive_closed: 0,
            partial_line: Vec::new(),
        };
        harness.drain();
        harness
    }

    pub fn send(&mut self, bytes: &[u8]) {
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let shown = line.strip_suffix(b"\r\n").unwrap_or(line);
            let shown = String::from_utf8_lossy(shown).escape_debug().to_string();
            if shown.to_ascii_uppercase().starts_with("PASS ") {
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

    pub fn login(&mut self) {
        self.send_line("USER alice@example.test");
        self.send_line("PASS correct horse");
    }

    /// The last reply line the server sent.
    pub fn last_reply(&self) -> String {
        let text = String::from_utf8_lossy(&self.server_bytes);
        text.trim_end()
            .rsplit("\r\n")
            .next()
            .unwrap_or_default()
            .to_owned()
    }

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

    /// Drains outputs, answering requests, until the machine is quiet.
    pub fn drain(&mut self) {
        loop {
            let mut answers: Vec<Input<'static>> = Vec::new();
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
                        answers.push(Input::TlsStarted);
                    }
                    Output::ClosePassive => self.passive_closed += 1,
                    Output::AbortTransfer => {
                        self.note("   <driver: transfer aborted>");
                        self.aborts += 1;
                        if self.held.take().is_some() {
                            answers.push(Input::TransferDone(Err(TransferFailure::Aborted)));
                        }
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
            match answers.pop() {
                Some(answer) => self.server.handle_input(self.now, answer),
                None => return,
            }
        }
    }

    /// Ends a held transfer with `result`.
    pub fn finish_transfer(&mut self, result: Result<u64, TransferFailure>) {
        self.held = None;
        self.server
            .handle_input(self.now, Input::TransferDone(result));
        self.drain();
    }

    fn answer(&mut self, request: Request) -> Option<Input<'static>> {
        Some(match request {
            Request::Authenticate(attempt) => {
                let ok = attempt.login == "alice@example.test"
                    && attempt.password.expose() == "correct horse";
                Input::Authenticated(if ok {
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
            Request::OpenHome { .. } => Input::HomeOpened(Ok(())),
            Request::File(request) => self.home.answer(&request, NOW),
            Request::OpenPassive => Input::PassiveOpened(if self.passive_fails {
                Err(PassiveFailure)
            } else {
                Ok(50_001)
            }),
            Request::Transfer(transfer) => {
                self.transfers.push(transfer.clone());
                if self.hold_transfer {
                    self.hold_transfer = false;
                    self.held = Some(transfer);
                    return None;
                }
                Input::TransferDone(self.carry_out(&transfer))
            }
        })
    }

    fn carry_out(&mut self, transfer: &Transfer) -> Result<u64, TransferFailure> {
        let result = match &transfer.action {
            TransferAction::Send(bytes) => Ok(bytes.clone()),
            TransferAction::Retrieve { path, offset } => self.home.retrieve(path, *offset),
            TransferAction::Store {
                path,
                append,
                offset,
                limit,
            } => {
                let upload = std::mem::take(&mut self.upload);
                let stored = self
                    .home
                    .store(path, *append, *offset, *limit, &upload, NOW);
                self.note(&format!("D: <{} bytes up>", upload.len()));
                return stored;
            }
        };
        let bytes = result?;
        for line in String::from_utf8_lossy(&bytes).lines() {
            self.note(&format!("D: {}", line.escape_debug()));
        }
        self.downloaded.extend_from_slice(&bytes);
        Ok(bytes.len() as u64)
    }
}

fn describe(request: &Request) -> String {
    match request {
        Request::Authenticate(attempt) => format!("authenticate {}", attempt.login),
        Request::OpenHome { home, .. } => format!("open home {home}"),
        Request::File(FileRequest::Rename { from, to }) => format!("rename {from} to {to}"),
        Request::File(request) => format!("{request:?}"),
        Request::OpenPassive => "open a passive port".into(),
        Request::Transfer(Transfer {
            channel,
            protected,
            action,
        }) => {
            let channel = match channel {
                DataChannel::Passive => "passive".to_owned(),
                DataChannel::Active(target) => format!("active to {target}"),
            };
            let action = match action {
                TransferAction::Send(bytes) => format!("send {} bytes", bytes.len()),
                TransferAction::Retrieve { path, offset } => {
                    format!("retrieve {path} from {offset}")
                }
                TransferAction::Store {
                    path,
                    append,
                    offset,
                    limit,
                } => format!("store {path} (append {append}, offset {offset}, limit {limit})"),
            };
            let tls = if *protected { ", protected" } else { "" };
            format!("transfer {channel}{tls}: {action}")
        }
    }
}
