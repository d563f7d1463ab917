//! The SMTP server machine, driven as `runtime-tokio/src/driver.rs` drives
//! it, on a virtual clock, with client bytes in arbitrary pieces and every
//! request answered as the fuzzer chooses.
//!
//! Input layout (so that hand-written seeds stay readable):
//!
//! ```text
//! byte 0      flags: 1 STARTTLS offered, 2 AUTH offered, 4 AUTH without
//!             TLS, 8 AUTH required, 16 implicit TLS, 32 relay for anyone,
//!             64 relay for the authenticated, 128 failed-login delay
//! byte 1..5   max_errors, max_recipients (128 also turns spam control
//!             on: an IP and a domain blocklist, and greylisting),
//!             max_message_size / 64, auth max_failures
//! byte 5      K, the length of the control bytes
//! K bytes     control: how to split, when to advance the clock, how to
//!             answer each request (when they run out: as the runtime does)
//! the rest    what the client sends
//! ```
//!
//! Asserted, besides "never panics": the machine contract (no output after
//! `Close` but events, at most one request at a time, message data only
//! into an open message); every `Send` is well-formed replies that the
//! client's reply parser reads, with no control characters in their text;
//! output stays proportional to input; buffered input never exceeds
//! `INPUT_BUFFER_BYTES_MAX`; a session that is not closed always has a
//! deadline in the future; end of input and shutdown close it; a committed
//! message has CRLF lines of at most 1000 octets, no NUL, and no more
//! content than `max_message_size`; `MessageQueued` only after a commit.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::auth::{AuthVerdict, Identity, SendAs};
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::limits::{INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES, TEXT_LINE_BYTES_MAX};
use postern_core::policy::RelayPolicy;
use postern_core::smtp::client::ReplyParser;
use postern_core::smtp::server::{
    Event, Input, OpenedMessage, Output, Request, Server, SessionConfig, SessionInfo, StoreFailure,
};
use postern_core::spam::{
    AddressPattern, Barring, Blocked, Blocklists, GreylistPolicy, GreylistVerdict, LookupAnswer,
    SenderLists, SpamPolicy, Zone, ZoneKind,
};
use postern_core::time::{Instant, UnixTime};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The configuration every session starts from; fields the fuzzer sets
/// are overwritten. Built through the config parser so that settings added
/// later take their defaults here too.
const BASE_CONFIG: &str = r#"
[server]
hostname = "mx.example.test"

[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"

[[domain]]
name = "example.test"
users = ["alice", "bob"]
aliases = { info = "alice" }
"#;

/// Output bytes per input byte a session may produce, plus a fixed
/// allowance per input: the EHLO reply is the largest for its command
/// (about 30 times `EHLO a`), timeouts and shutdowns add a line.
const OUTPUT_PER_INPUT_BYTE_MAX: usize = 64;
const OUTPUT_PER_INPUT_FIXED_MAX: usize = 4096;

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
    server: Server,
    directory: Directory,
    control: Control<'a>,
    config: Arc<SessionConfig>,
    now: Instant,
    /// Everything sent, parsed as the client would.
    replies: ReplyParser,
    closed: bool,
    /// The message being received: its content so far, after the trace
    /// header, which is `None` until it has come.
    open: Option<Option<Vec<u8>>>,
    /// The last input was a successful commit: `MessageQueued` may follow.
    commit_acknowledged: bool,
    /// Bytes handed in since the last drain, and those the machine held
    /// when they were.
    input_since_drain: usize,
    /// The TLS handshake failed: the driver stops.
    gone: bool,
    /// What the client has still to send.
    stream: &'a [u8],
    /// Hand the client's next bytes in before the pending answer.
    delay_answer: bool,
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let (header, rest) = data.split_at(6);
    let control_len = (header[5] as usize).min(rest.len());
    let (control, stream) = rest.split_at(control_len);
    run(header, Control { bytes: control }, stream);
});

/// The base session settings and directory, parsed once.
fn base() -> &'static (SessionConfig, Directory) {
    static BASE: OnceLock<(SessionConfig, Directory)> = OnceLock::new();
    BASE.get_or_init(|| {
        let base = postern_core::config::parse(BASE_CONFIG).expect("the base config parses");
        let config = base.services[0].session_config(&base.server.hostname);
        (config, Directory::new(&base.domains))
    })
}

fn session_config(header: &[u8]) -> (SessionConfig, Directory, bool) {
    let (config, directory) = base();
    let mut config = config.clone();
    let flags = header[0];
    config.starttls = flags & 1 != 0;
    config.auth.offered = flags & 2 != 0;
    config.auth.without_tls = flags & 4 != 0;
    config.auth.required = flags & 8 != 0;
    config.relay = if flags & 32 != 0 {
        RelayPolicy::Any
    } else if flags & 64 != 0 {
        RelayPolicy::Authenticated
    } else {
        RelayPolicy::None
    };
    config.auth.failure_delay = if flags & 128 != 0 {
        Duration::from_secs(2)
    } else {
        Duration::ZERO
    };
    // Mail from outside is checked whenever the relay networks do not
    // vouch for the client, so the checks' path is always there to reach.
    config.mail_auth = postern_core::mail_auth::MailAuthMode::Record;
    config.spf_fail = if header[1] & 0x80 != 0 {
        postern_core::mail_auth::SpfFailAction::Refuse
    } else {
        postern_core::mail_auth::SpfFailAction::Record
    };
    config.max_errors = 1 + u32::from(header[1] % 20);
    config.max_recipients = 1 + usize::from(header[2] % 5);
    config.max_message_size = u64::from(header[3]) * 64;
    config.auth.max_failures = 1 + u32::from(header[4] % 5);
    if header[2] & 0x80 != 0 {
        config.spam = spam_control();
    }
    (config, directory.clone(), flags & 16 != 0)
}

/// Blocklists of both kinds and greylisting, answered by the fuzzer.
fn spam_control() -> SpamPolicy {
    let zone = |name: &str, kind| Zone {
        zone: name.to_owned(),
        kind,
        weight: 1,
        codes: Vec::new(),
    };
    SpamPolicy {
        blocklists: Blocklists {
            zones: vec![
                zone("zen.example.test", ZoneKind::Ip),
                zone("dbl.example.test", ZoneKind::Domain),
            ],
            threshold: 1,
        },
        greylist: Some(GreylistPolicy::default()),
        barring: Barring {
            senders: patterns(&["*@spam.example", "bulk-*@*"]),
            recipients: patterns(&["bob@example.test"]),
        },
    }
}

fn patterns(written: &[&str]) -> Vec<AddressPattern> {
    written
        .iter()
        .map(|p| AddressPattern::parse(p).expect("a valid pattern"))
        .collect()
}

fn run(header: &[u8], control: Control<'_>, stream: &[u8]) {
    let (config, directory, implicit_tls) = session_config(header);
    let config = Arc::new(config);
    let info = SessionInfo {
        local: "127.0.0.1:25".parse().unwrap(),
        remote: "192.0.2.7:40000".parse().unwrap(),
        tls: implicit_tls,
    };
    let now = Instant::from_nanos(1_000_000_000);
    let mut driver = Driver {
        server: Server::new(config.clone(), info, now),
        directory,
        control,
        config,
        now,
        replies: ReplyParser::default(),
        closed: false,
        open: None,
        commit_acknowledged: false,
        input_since_drain: 0,
        gone: false,
        stream,
        delay_answer: false,
    };
    driver.drain();
    let mut ended = false;
    while !driver.stream.is_empty() && !driver.closed && !driver.gone {
        match driver.control.next() {
            // Control bytes ran out: read as the runtime does.
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
                    let seconds = u64::from(driver.control.next().unwrap_or(0)) * 4;
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
                    assert!(
                        driver.closed || driver.gone,
                        "Shutdown left the session open"
                    );
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
    assert!(
        driver.closed,
        "end of input, every request answered, and the session is still open"
    );
    assert_eq!(
        driver.server.poll_timeout(),
        None,
        "a closed session has a timer"
    );
}

impl Driver<'_> {
    /// Hands in the client's next `wanted` bytes (at most a read chunk).
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
                let next = self.server.poll_timeout();
                assert!(
                    next.is_none_or(|deadline| deadline > self.now),
                    "a fired timer is due again at once: the driver would spin"
                );
            }
        }
    }

    /// Hands in one input and carries out everything that follows.
    fn input(&mut self, input: Input<'_>) {
        self.hand_in(input);
        self.drain();
    }

    /// `handle_input`, noting what the output bound allows for it.
    fn hand_in(&mut self, input: Input<'_>) {
        self.commit_acknowledged = matches!(input, Input::MessageCommitted(Ok(())));
        self.input_since_drain += self.server.buffered_input_len();
        if let Input::Bytes(bytes) = input {
            self.input_since_drain += bytes.len();
        }
        self.server.handle_input(self.now, input);
    }

    /// Drains outputs and answers requests, as the runtime's driver does,
    /// until the machine waits for the client.
    fn drain(&mut self) {
        while let Some(answer) = self.drain_outputs() {
            if self.gone {
                return;
            }
            if std::mem::take(&mut self.delay_answer) && !self.stream.is_empty() {
                // The client's next bytes arrive before the answer
                // (pipelining, RFC 2920): the machine must keep them.
                let wanted = self
                    .control
                    .next()
                    .map_or(READ_CHUNK_BYTES, |b| usize::from(b) + 1);
                let n = wanted.min(READ_CHUNK_BYTES).min(self.stream.len());
                let (chunk, rest) = self.stream.split_at(n);
                self.stream = rest;
                self.hand_in(Input::Bytes(chunk));
                assert!(
                    self.drain_outputs().is_none(),
                    "a request while another is unanswered"
                );
            }
            self.hand_in(answer);
        }
        self.commit_acknowledged = false;
        if !self.closed && !self.gone {
            let deadline = self.server.poll_timeout();
            assert!(
                deadline.is_some_and(|d| d > self.now),
                "an open session waiting for its client has no deadline ahead: {deadline:?}"
            );
        }
    }

    /// Carries out every pending output; returns the answer to the
    /// request among them, if there was one.
    fn drain_outputs(&mut self) -> Option<Input<'static>> {
        let held = self.input_since_drain;
        let mut sent = 0;
        let mut answer: Option<Input<'static>> = None;
        while let Some(output) = self.server.poll_output() {
            if let Output::Send(bytes) = &output {
                sent += bytes.len();
            }
            if let Some(input) = self.carry_out(output) {
                assert!(answer.is_none(), "two requests in one drain");
                answer = Some(input);
            }
        }
        self.input_since_drain = 0;
        assert!(
            sent <= held * OUTPUT_PER_INPUT_BYTE_MAX + OUTPUT_PER_INPUT_FIXED_MAX,
            "{sent} bytes of replies for {held} bytes of input"
        );
        assert!(
            self.server.buffered_input_len() <= INPUT_BUFFER_BYTES_MAX,
            "the machine holds {} bytes",
            self.server.buffered_input_len()
        );
        answer
    }

    fn carry_out(&mut self, output: Output) -> Option<Input<'static>> {
        if self.closed {
            assert!(
                matches!(output, Output::Event(_) | Output::Close),
                "{output:?} after Close"
            );
        }
        match output {
            Output::Send(bytes) => {
                assert!(!bytes.is_empty(), "an empty Send");
                self.check_replies(&bytes);
                None
            }
            Output::Request(request) => Some(self.answer(request)),
            Output::MessageData(chunk) => {
                let open = self
                    .open
                    .as_mut()
                    .expect("message data without an open message");
                match open {
                    None => {
                        check_received_header(&chunk);
                        *open = Some(Vec::new());
                    }
                    Some(content) => content.extend_from_slice(&chunk),
                }
                None
            }
            Output::AbortMessage => {
                assert!(self.open.take().is_some(), "abort without an open message");
                None
            }
            Output::Quarantine => {
                assert!(self.open.is_some(), "a quarantine without an open message");
                None
            }
            Output::Trace(fields) => {
                assert!(self.open.is_some(), "a trace without an open message");
                assert!(fields.starts_with(b"Authentication-Results: "));
                assert!(fields.ends_with(b"\r\n"));
                assert!(fields.len() <= postern_core::limits::TRACE_BYTES_MAX);
                None
            }
            Output::StartTls => {
                if self.control.next().is_some_and(|b| b % 8 == 7) {
                    // The handshake failed: the driver ends the session.
                    self.gone = true;
                    None
                } else {
                    Some(Input::TlsStarted)
                }
            }
            Output::Close => {
                assert!(!self.closed, "Close twice");
                self.closed = true;
                None
            }
            Output::Event(event) => {
                if let Event::MessageQueued { .. } = event {
                    assert!(
                        self.commit_acknowledged,
                        "a message reported queued without a commit"
                    );
                }
                // Events are logged: rendering them must not panic.
                let _ = event.to_string();
                None
            }
        }
    }

    fn answer(&mut self, request: Request) -> Input<'static> {
        let choice = self.control.next();
        self.delay_answer = choice.is_some_and(|b| b & 0x80 != 0);
        match request {
            Request::CheckRecipient(forward_path) => {
                Input::RecipientChecked(match choice.map(|b| b % 4) {
                    Some(2) => RecipientVerdict::UnknownLocalUser,
                    Some(3) => RecipientVerdict::NotLocal,
                    _ => self.directory.resolve(&forward_path),
                })
            }
            Request::OpenMessage(envelope) => {
                assert!(self.open.is_none(), "open while a message is open");
                assert!(!envelope.recipients.is_empty(), "open with no recipients");
                assert!(
                    envelope.recipients.len() <= self.config.max_recipients,
                    "{} recipients over a limit of {}",
                    envelope.recipients.len(),
                    self.config.max_recipients
                );
                if choice.is_some_and(|b| b % 8 == 7) {
                    return Input::MessageOpened(Err(StoreFailure));
                }
                self.open = Some(None);
                Input::MessageOpened(Ok(OpenedMessage {
                    queue_id: postern_core::envelope::QueueId(0x1234_5678),
                    received_at: UnixTime(1_795_212_959),
                }))
            }
            Request::CheckSender(_) => {
                assert!(self.open.is_none(), "SPF asked with a message open");
                use postern_core::mail_auth::spf::{SpfResult, SpfVerdict};
                let result = match choice.map(|b| b % 3) {
                    Some(0) => SpfResult::Fail,
                    Some(1) => SpfResult::Pass,
                    _ => SpfResult::TempError,
                };
                Input::SenderChecked(Some(SpfVerdict {
                    result,
                    domain: "remote.test\r\n".to_owned(),
                    mechanism: None,
                    explanation: choice.map(|_| "(see \x07)".to_owned()),
                    problem: None,
                }))
            }
            Request::CheckMessage(_) => {
                assert!(self.open.is_some(), "checks without an open message");
                use postern_core::mail_auth::results::{DkimFinding, DkimResult, Findings};
                let count = choice.map_or(0, |b| usize::from(b % 4));
                Input::MessageChecked(Findings {
                    arc: None,
                    dmarc: None,
                    spf: None,
                    dkim: Some(
                        (0..count)
                            .map(|i| DkimFinding {
                                result: DkimResult::Fail,
                                domain: format!("d{i}.test; dkim=pass"),
                                selector: "s\r\n".to_owned(),
                                signature_start: String::new(),
                                reason: Some("(x)".to_owned()),
                            })
                            .collect(),
                    ),
                })
            }
            Request::CommitMessage => {
                let content = self
                    .open
                    .take()
                    .expect("commit without an open message")
                    .expect("commit without a trace header");
                check_committed(&content, self.config.max_message_size);
                if choice.is_some_and(|b| b % 8 == 7) {
                    Input::MessageCommitted(Err(StoreFailure))
                } else {
                    Input::MessageCommitted(Ok(()))
                }
            }
            Request::LookUpBlocklists(queries) => Input::BlocklistsLookedUp(
                queries
                    .iter()
                    .map(|_| match choice.map(|b| b % 4) {
                        Some(1) => LookupAnswer::Listed(vec!["127.0.0.2".parse().unwrap()]),
                        Some(2) => LookupAnswer::Listed(vec!["127.255.255.254".parse().unwrap()]),
                        Some(3) => LookupAnswer::Failed("timed out".to_owned()),
                        _ => LookupAnswer::NotListed,
                    })
                    .collect(),
            ),
            Request::LookUpSenderLists(_) => Input::SenderListsLookedUp(match choice.map(|b| b % 3) {
                Some(1) => SenderLists {
                    allow: Vec::new(),
                    block: patterns(&["*"]),
                    blocked: Blocked::Refuse,
                },
                Some(2) => SenderLists {
                    allow: patterns(&["*@example.test"]),
                    block: patterns(&["*"]),
                    blocked: Blocked::Junk,
                },
                _ => SenderLists::default(),
            }),
            Request::CheckGreylist(..) => Input::GreylistChecked(match choice.map(|b| b % 2) {
                Some(1) => GreylistVerdict::Defer {
                    retry_in: Duration::from_secs(300),
                },
                _ => GreylistVerdict::Pass,
            }),
            Request::Authenticate(attempt) => {
                // An identity is an account from the accounts file, as the
                // runtime's backend finds it: never the client's text.
                let alice = || Identity {
                    login: "alice@example.test".to_owned(),
                    send_as: SendAs::Addresses(vec!["alice@example.test".to_owned()]),
                };
                Input::Authenticated(match choice.map(|b| b % 5) {
                    Some(0) => AuthVerdict::Accepted(Identity {
                        login: "admin@example.test".to_owned(),
                        send_as: SendAs::Anyone,
                    }),
                    Some(1) => AuthVerdict::Accepted(alice()),
                    Some(3) => AuthVerdict::LockedOut,
                    Some(4) => AuthVerdict::Unavailable,
                    Some(_) => AuthVerdict::Rejected,
                    None if attempt.login.eq_ignore_ascii_case("alice@example.test")
                        && attempt.password.expose() == "correct horse" =>
                    {
                        AuthVerdict::Accepted(alice())
                    }
                    None => AuthVerdict::Rejected,
                })
            }
        }
    }

    /// Every byte sent must be part of a well-formed reply.
    fn check_replies(&mut self, bytes: &[u8]) {
        assert!(bytes.ends_with(b"\r\n"), "a Send that ends mid-line");
        self.replies.push(bytes);
        let mut count = 0;
        loop {
            match self.replies.next_reply() {
                Ok(Some(reply)) => {
                    count += 1;
                    assert!((200..600).contains(&reply.code));
                    for line in &reply.lines {
                        assert!(
                            !line.chars().any(|c| c.is_control() && c != '\t'),
                            "a control character in a reply: {line:?}"
                        );
                    }
                }
                Ok(None) => break,
                Err(malformed) => panic!("the server sent a malformed reply: {malformed:?}"),
            }
        }
        assert!(count > 0, "a Send without a whole reply");
    }
}

/// RFC 5321 4.4: the trace header is three folded lines, nothing a client
/// can break apart.
fn check_received_header(chunk: &[u8]) {
    assert!(
        chunk.starts_with(b"Received: "),
        "message data before the trace header"
    );
    for (i, line) in chunk.split_inclusive(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r\n").unwrap_or_else(|| {
            panic!(
                "a bare LF or no CRLF in the trace header: {:?}",
                String::from_utf8_lossy(chunk)
            )
        });
        assert!(
            !line.iter().any(|&b| b == b'\r' || b == 0),
            "a bare CR or NUL in the trace header: {:?}",
            String::from_utf8_lossy(chunk)
        );
        if i > 0 {
            assert!(
                line.starts_with(b"\t"),
                "a trace header line that is not folded"
            );
        }
    }
}

/// What the store is asked to keep is a valid RFC 5322 message body as
/// RFC 5321 carries it.
fn check_committed(content: &[u8], max_message_size: u64) {
    assert!(
        content.len() as u64 <= max_message_size,
        "{} octets committed over a limit of {max_message_size}",
        content.len()
    );
    assert!(!content.contains(&0), "a NUL byte committed");
    for line in content.split_inclusive(|&b| b == b'\n') {
        let line = line
            .strip_suffix(b"\r\n")
            .expect("a bare LF committed, or a message that ends mid-line");
        assert!(!line.contains(&b'\r'), "a bare CR committed");
        assert!(
            line.len() + 2 <= TEXT_LINE_BYTES_MAX,
            "a committed line of {} octets",
            line.len() + 2
        );
    }
}
