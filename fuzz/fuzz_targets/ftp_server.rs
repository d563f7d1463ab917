//! The FTP server machine, driven as `runtime-tokio/src/ftp/driver.rs`
//! drives it, on a virtual clock, with client bytes in arbitrary pieces
//! and every request answered as the fuzzer chooses: file requests from
//! the core's in-memory home, transfers finished at once or held while
//! more control bytes arrive (ABOR).
//!
//! Input layout:
//!
//! ```text
//! byte 0      flags: 1 AUTH TLS offered, 2 logins without TLS, 4 implicit
//!             TLS, 8 failed-login delay
//! byte 1..3   max_errors, auth max_failures
//! byte 3      K, the length of the control bytes
//! K bytes     control: how to split, when to advance the clock, how to
//!             answer each request (when they run out: as the runtime does)
//! the rest    what the client sends
//! ```
//!
//! Asserted, besides "never panics": the machine contract (no output after
//! `Close` but events, at most one request at a time, no transfer answer
//! while none runs); every `Send` is whole CRLF lines; output stays
//! proportional to input; buffered input never exceeds
//! `INPUT_BUFFER_BYTES_MAX`; an open session waiting for its client has a
//! deadline ahead; end of input and shutdown close it. And the security
//! rules: no file request or transfer before a login was accepted and its
//! home opened; every path is inside the home (no empty, `.` or `..`
//! component, no `/` or NUL); every active data connection goes to the
//! client's own address on a port of 1024 or more; uploads never get more
//! room than the quota; where logins need TLS, every transfer is
//! protected.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::auth::{AuthPolicy, AuthVerdict, Identity, SendAs};
use postern_core::ftp::memory::MemoryHome;
use postern_core::ftp::{
    DataChannel, FileFailure, FileRequest, FtpPath, FtpServer, Input, Output, PassiveFailure,
    Request, SessionConfig, SessionInfo, Transfer, TransferAction, TransferFailure,
};
use postern_core::limits::{INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES};
use postern_core::time::{Instant, UnixTime};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

const OUTPUT_PER_INPUT_BYTE_MAX: usize = 64;
const OUTPUT_PER_INPUT_FIXED_MAX: usize = 4096;
const QUOTA: u64 = 4096;
const NOW: UnixTime = UnixTime(1_796_025_600);

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
    server: FtpServer,
    control: Control<'a>,
    now: Instant,
    closed: bool,
    gone: bool,
    stream: &'a [u8],
    home: MemoryHome,
    /// A login was accepted and its home opened.
    logged_in: bool,
    /// A login was accepted; its home is being opened.
    accepted: bool,
    /// A transfer the fuzzer holds open while bytes come.
    held: Option<Transfer>,
    protected_required: bool,
    peer: IpAddr,
    input_since_drain: usize,
    partial: Vec<u8>,
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
    let config = SessionConfig {
        hostname: "ftp.example.test".into(),
        auth_tls: flags & 1 != 0,
        auth: AuthPolicy {
            offered: true,
            without_tls: flags & 2 != 0,
            max_failures: 1 + u32::from(header[2] % 5),
            failure_delay: if flags & 8 != 0 {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            },
            ..AuthPolicy::default()
        },
        max_errors: 1 + u32::from(header[1] % 20),
        idle_timeout: Duration::from_secs(300),
        max_session_time: Duration::from_secs(1800),
        quota: QUOTA,
    };
    let protected_required = config.requires_protected_data();
    let info = SessionInfo {
        local: "127.0.0.2:21".parse().unwrap(),
        remote: "127.0.0.9:40000".parse().unwrap(),
        tls: flags & 4 != 0,
    };
    let mut home = MemoryHome::default();
    let root = FtpPath::root();
    home.put(&root.join("a.txt").unwrap(), b"0123456789\r\n", NOW);
    home.make_dir(&root.join("d").unwrap());
    let now = Instant::from_nanos(1_000_000_000);
    let mut driver = Driver {
        server: FtpServer::new(Arc::new(config), info, now),
        control,
        now,
        closed: false,
        gone: false,
        stream,
        home,
        logged_in: false,
        accepted: false,
        held: None,
        protected_required,
        peer: info.remote.ip(),
        input_since_drain: 0,
        partial: Vec::new(),
    };
    driver.drain();
    let mut ended = false;
    while !driver.stream.is_empty() && !driver.closed && !driver.gone {
        match driver.control.next() {
            None => driver.feed_chunk(READ_CHUNK_BYTES),
            Some(op) => match op % 8 {
                0..=2 => {
                    let wanted = driver
                        .control
                        .next()
                        .map_or(READ_CHUNK_BYTES, |b| usize::from(b) + 1);
                    driver.feed_chunk(wanted);
                }
                3 => driver.finish_held(),
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
    // A transfer under way still owes its answer, and commands buffered
    // behind it may start more; then the session ends.
    while driver.held.is_some() {
        driver.finish_held();
    }
    assert!(driver.closed, "end of input, and the session is still open");
    assert_eq!(driver.server.poll_timeout(), None, "a closed session has a timer");
}

fn assert_confined(path: &FtpPath) {
    for component in path.components() {
        assert!(
            !component.is_empty()
                && component != "."
                && component != ".."
                && !component.contains('/')
                && !component.contains('\0'),
            "a path leaves the home: {path:?}"
        );
    }
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
        }
    }

    /// Ends the held transfer, if there is one, as the fuzzer chooses.
    fn finish_held(&mut self) {
        if let Some(transfer) = self.held.take() {
            let result = self.carry_out(&transfer);
            self.input(Input::TransferDone(result));
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.hand_in(input);
        self.drain();
    }

    fn hand_in(&mut self, input: Input<'_>) {
        if let Input::TransferDone(_) = input {
            // A session that ended mid-transfer (its timer, shutdown) still
            // hears how the stopped transfer ended, and ignores it.
            assert!(
                self.server.is_transferring() || self.server.is_closed(),
                "a transfer answer while none runs"
            );
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
            match answer {
                Some(answer) => self.hand_in(answer),
                None => break,
            }
        }
        assert!(
            self.partial.is_empty(),
            "the machine waits with a line half sent: {:?}",
            self.partial
        );
        if !self.closed && self.held.is_none() {
            let deadline = self.server.poll_timeout();
            assert!(
                deadline.is_some_and(|d| d > self.now),
                "an open session waiting for its client has no deadline ahead: {deadline:?}"
            );
        }
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
                    answer = self.answer(request);
                }
                Output::StartTls => {
                    if self.control.next().is_some_and(|b| b % 8 == 7) {
                        self.gone = true;
                    } else {
                        answer = Some(Input::TlsStarted);
                    }
                }
                Output::AbortTransfer => {
                    if self.held.take().is_some() {
                        answer = Some(Input::TransferDone(Err(TransferFailure::Aborted)));
                    }
                }
                Output::ClosePassive => {}
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
            "{sent} bytes of replies for {held} bytes of input"
        );
        assert!(self.server.buffered_input_len() <= INPUT_BUFFER_BYTES_MAX);
        answer
    }

    /// Replies are CRLF lines, with no bare CR or LF.
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

    fn answer(&mut self, request: Request) -> Option<Input<'static>> {
        let choice = self.control.next();
        Some(match request {
            Request::Authenticate(attempt) => Input::Authenticated(match choice.map(|b| b % 4) {
                Some(1) => AuthVerdict::Rejected,
                Some(2) => AuthVerdict::LockedOut,
                Some(3) => AuthVerdict::Unavailable,
                _ => {
                    self.accepted = true;
                    AuthVerdict::Accepted(Identity {
                        login: attempt.login.to_lowercase(),
                        send_as: SendAs::Addresses(Vec::new()),
                    })
                }
            }),
            Request::OpenHome { home, .. } => {
                assert!(self.accepted, "a home opened without a login");
                assert!(!home.contains('/') && home != ".." && home != ".");
                if choice.is_some_and(|b| b % 8 == 7) {
                    Input::HomeOpened(Err(FileFailure::Unavailable))
                } else {
                    self.logged_in = true;
                    Input::HomeOpened(Ok(()))
                }
            }
            Request::File(request) => {
                assert!(self.logged_in, "a file request before login: {request:?}");
                match &request {
                    FileRequest::Stat(path)
                    | FileRequest::List(path)
                    | FileRequest::MakeDir(path)
                    | FileRequest::RemoveDir(path)
                    | FileRequest::Delete(path) => assert_confined(path),
                    FileRequest::Rename { from, to } => {
                        assert_confined(from);
                        assert_confined(to);
                    }
                    FileRequest::Usage => {}
                }
                if choice.is_some_and(|b| b % 16 == 15) {
                    return Some(match request {
                        FileRequest::Stat(_) => Input::Stat(Err(FileFailure::Unavailable)),
                        FileRequest::List(_) => Input::Listed(Err(FileFailure::Unavailable)),
                        FileRequest::Usage => Input::Usage(Err(FileFailure::Unavailable)),
                        _ => Input::FileDone(Err(FileFailure::Unavailable)),
                    });
                }
                self.home.answer(&request, NOW)
            }
            Request::OpenPassive => {
                assert!(self.logged_in, "a passive port before login");
                Input::PassiveOpened(if choice.is_some_and(|b| b % 8 == 7) {
                    Err(PassiveFailure)
                } else {
                    Ok(50_000 + u16::from(choice.unwrap_or(0)))
                })
            }
            Request::Transfer(transfer) => {
                assert!(self.logged_in, "a transfer before login");
                self.check_transfer(&transfer);
                if choice.is_some_and(|b| b % 4 == 3) {
                    self.held = Some(transfer);
                    return None;
                }
                Input::TransferDone(self.carry_out(&transfer))
            }
        })
    }

    fn check_transfer(&self, transfer: &Transfer) {
        if let DataChannel::Active(target) = transfer.channel {
            assert_eq!(target.ip().to_canonical(), self.peer, "a bounce: {target}");
            assert!(target.port() >= 1024, "a privileged port: {target}");
        }
        if self.protected_required {
            assert!(transfer.protected, "an unprotected transfer where logins need TLS");
        }
        match &transfer.action {
            TransferAction::Send(_) => {}
            TransferAction::Retrieve { path, .. } => assert_confined(path),
            TransferAction::Store { path, limit, .. } => {
                assert_confined(path);
                assert!(*limit <= QUOTA, "an upload given {limit} bytes of room");
                assert!(
                    self.home.usage() + limit <= QUOTA.max(self.home.usage()),
                    "room beyond the quota"
                );
            }
        }
    }

    fn carry_out(&mut self, transfer: &Transfer) -> Result<u64, TransferFailure> {
        let choice = self.control.next().unwrap_or(0);
        match choice % 8 {
            5 => return Err(TransferFailure::NoConnection),
            6 => return Err(TransferFailure::ConnectionLost),
            7 => return Err(TransferFailure::TlsFailed),
            _ => {}
        }
        match &transfer.action {
            TransferAction::Send(bytes) => Ok(bytes.len() as u64),
            TransferAction::Retrieve { path, offset } => self
                .home
                .retrieve(path, *offset)
                .map(|bytes| bytes.len() as u64),
            TransferAction::Store {
                path,
                append,
                offset,
                limit,
            } => {
                let upload = vec![b'u'; usize::from(choice) * 40];
                self.home
                    .store(path, *append, *offset, *limit, &upload, NOW)
            }
        }
    }
}
