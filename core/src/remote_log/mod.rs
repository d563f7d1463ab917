//! The remote logging service: a line protocol of Postern's own through
//! which an admin watches the server's log from another machine, sans I/O.
//!
//! # Contract
//!
//! The same shape as the POP3 and finger machines':
//!
//! ```text
//! RemoteLogServer::new(config, info, now)   greeting queued
//! handle_input(now, Input)                  bytes, end of input, timer, answers, log lines
//! poll_output() -> Option<Output>           drain until None after every input
//! poll_timeout() -> Option<Instant>         when to hand in Input::TimerFired
//! send_deadline() -> Instant                when writes must be done
//! ```
//!
//! The driver hands in one input, then drains every output before the
//! next; `now` never goes backwards. [`Output::Close`] is the machine's
//! last output: nothing follows it (no `Send`, no second `Close`), and
//! every input after it is ignored. Requests and their answers:
//!
//! - [`Request::Authenticate`] → [`Input::Authenticated`], with whether
//!   the account is an admin: only admins may watch the log;
//! - [`Request::Recent`] → [`Input::Recent`]: the last lines of the
//!   server's ring that match a filter (`TAIL n`);
//! - [`Request::Follow`] → [`Input::Recent`] (the backlog), after which
//!   the driver hands in [`Input::Live`] as lines arrive: the driver
//!   subscribes the session to the log with the filter given, so that a
//!   line the client would not see never takes a place in its buffer.
//!   [`Output::SetFilter`] changes that filter; [`Output::Unfollow`] ends
//!   the subscription.
//!
//! # The protocol
//!
//! Every line the server sends starts with a marker a script can tell
//! apart: `+OK ` and `-ERR [CODE] ` are replies to commands, `+ ` asks
//! for a SASL response, `* ` is a log line, and `! ` is news about the
//! stream (`! ... 12 lines dropped`). See [`codec`] for the commands and
//! the book's "Remote logging" chapter for a session by hand.

mod buffer;
pub mod codec;
mod machine;
#[cfg(test)]
mod tests;
mod timers;

pub use buffer::ClientBuffer;
pub use codec::{
    Command, Filter, FilterError, Level, ParseError, ServerLine, auth_plain_command, classify,
    parse_command, parse_filter,
};
pub use machine::RemoteLogServer;
pub use timers::Timer;

use crate::admission::Refusal;
use crate::auth::{AuthPolicy, AuthVerdict, LoginAttempt};
use crate::limits::{LOGGED_PEER_TEXT_BYTES_MAX, REMOTE_LOG_LINE_BYTES_MAX};
use crate::text::{bounded, escape_controls};
use std::fmt;
use std::time::Duration;

pub use crate::smtp::server::SessionInfo;

/// The per-instance settings a remote-log session runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our name, in the greeting.
    pub hostname: String,
    /// STARTTLS is offered on connections not yet encrypted.
    pub starttls: bool,
    /// Logins: `without_tls` says whether AUTH is accepted in clear; the
    /// failure count and delay are SMTP AUTH's.
    pub auth: AuthPolicy,
    /// Recent lines sent after a login (`tail_lines`).
    pub tail_lines: usize,
    /// `-ERR` replies before the session is closed.
    pub max_errors: u32,
    /// How long a client that is not following may stay silent
    /// (`command_timeout`).
    pub idle_timeout: Duration,
    /// How long what was sent may stay unread.
    pub send_timeout: Duration,
}

/// One log line as the server recorded it: its level and the structured
/// fields that filters match, taken from the tracing event, not from its
/// text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// RFC 3339 UTC time, as the runtime formatted it.
    pub time: String,
    pub level: Level,
    /// The instance whose session logged it, if any.
    pub instance: Option<String>,
    /// The queue ID it is about, if any.
    pub queue_id: Option<String>,
    /// The message and the other fields (`session=3 peer=... text`).
    pub text: String,
}

impl LogRecord {
    /// The line as a client sees it, CRLF included: `* TIME LEVEL
    /// INSTANCE QUEUE TEXT`, `-` for a missing instance or queue ID,
    /// every control character escaped, at most
    /// [`REMOTE_LOG_LINE_BYTES_MAX`] octets before the CRLF.
    pub fn render(&self, out: &mut Vec<u8>) {
        let word = |field: &Option<String>| match field {
            Some(value) if !value.is_empty() => escape_controls(&value.replace(' ', "_"))
                .into_owned()
                .into(),
            _ => std::borrow::Cow::Borrowed("-"),
        };
        let line = format!(
            "* {} {} {} {} {}",
            escape_controls(&self.time),
            self.level,
            word(&self.instance),
            word(&self.queue_id),
            escape_controls(&self.text)
        );
        out.extend_from_slice(cut(&line, REMOTE_LOG_LINE_BYTES_MAX).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// `text` cut to at most `max` octets at a character boundary, ending in
/// `...` when cut.
pub fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end]).into()
}

/// What a client's buffer hands on: a line, or how many lines were
/// dropped at that point because the client did not keep up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedEntry<T = LogRecord> {
    Line(T),
    Dropped(u64),
}

/// What a client turned away before its session starts is told, in place
/// of the greeting.
pub fn refusal_response(hostname: &str, refusal: Refusal) -> Vec<u8> {
    let (code, text) = match refusal {
        Refusal::AccessDenied => ("SYS/PERM", "no remote log service for your address here"),
        Refusal::TooManyConnections { .. } => ("SYS/TEMP", "too many connections, try again later"),
        Refusal::TooManyFromHost { .. } => (
            "SYS/TEMP",
            "too many connections from your host, try again later",
        ),
    };
    format!("-ERR [{code}] {hostname} {text}\r\n").into_bytes()
}

/// What the driver hands in.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the client, at most
    /// [`READ_CHUNK_BYTES`](crate::limits::READ_CHUNK_BYTES) at a time.
    Bytes(&'a [u8]),
    /// The client closed the connection, or it failed.
    EndOfInput,
    /// `now` has reached the instant [`RemoteLogServer::poll_timeout`] named.
    TimerFired,
    /// The server is stopping.
    Shutdown,
    /// The driver could not write the output by
    /// [`RemoteLogServer::send_deadline`].
    SendTimedOut,
    /// The TLS handshake asked for by [`Output::StartTls`] succeeded.
    TlsStarted,
    /// The answer to [`Request::Authenticate`]; `admin` is whether the
    /// account accepted is marked admin (false for any other verdict).
    Authenticated { verdict: AuthVerdict, admin: bool },
    /// The answer to [`Request::Recent`] or [`Request::Follow`]: the
    /// matching lines, oldest first.
    Recent(Vec<LogRecord>),
    /// New lines (and drop counts) for a following session, oldest first.
    Live(Vec<FeedEntry>),
}

/// What the machine asks of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Check a login (and the lockout of this client's host), and whether
    /// the account is an admin.
    Authenticate(LoginAttempt),
    /// The last `lines` lines of the ring that `filter` matches.
    Recent { lines: usize, filter: Filter },
    /// The last `backlog` matching lines, and a subscription to every new
    /// line that `filter` matches.
    Follow { backlog: usize, filter: Filter },
}

/// What the machine emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Bytes for the client.
    Send(Vec<u8>),
    /// Something only the driver can do; the machine waits for the answer.
    Request(Request),
    /// Send everything before this, then start TLS as the server; answer
    /// with [`Input::TlsStarted`].
    StartTls,
    /// The subscription's filter is now this one.
    SetFilter(Filter),
    /// End the subscription: no more [`Input::Live`].
    Unfollow,
    /// Close the connection once everything before this has been sent.
    /// The last output of the session: nothing is emitted after it.
    Close,
    /// Something worth a log line. Never one per log line sent: the
    /// session's own events would feed its stream.
    Event(Event),
}

/// What happened in a session, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    LoginSucceeded {
        login: String,
    },
    LoginFailed {
        login: String,
        why: &'static str,
    },
    /// A correct password for an account that is not an admin.
    NotAdmin {
        login: String,
    },
    TlsStarted {
        discarded: usize,
    },
    Following {
        backlog: usize,
        filter: Filter,
    },
    TimedOut,
    TooManyErrors,
    ClientLeft,
    Quit,
    Shutdown,
    SendTimedOut,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown =
            |login: &str| escape_controls(&bounded(login, LOGGED_PEER_TEXT_BYTES_MAX)).into_owned();
        match self {
            Event::LoginSucceeded { login } => write!(f, "remote log login as {}", shown(login)),
            Event::LoginFailed { login, why } => {
                write!(f, "remote log login as {} failed: {why}", shown(login))
            }
            Event::NotAdmin { login } => write!(
                f,
                "remote log login as {} refused: not an admin account",
                shown(login)
            ),
            Event::TlsStarted { discarded } => {
                write!(
                    f,
                    "TLS started; {discarded} octets sent before it discarded"
                )
            }
            Event::Following { backlog, filter } if filter.is_empty() => {
                write!(f, "following the log ({backlog} recent lines, every line)")
            }
            Event::Following { backlog, filter } => {
                write!(
                    f,
                    "following the log ({backlog} recent lines, filter {filter})"
                )
            }
            Event::TimedOut => f.write_str("idle too long"),
            Event::TooManyErrors => f.write_str("too many errors"),
            Event::ClientLeft => f.write_str("the client left"),
            Event::Quit => f.write_str("QUIT"),
            Event::Shutdown => f.write_str("server shutting down"),
            Event::SendTimedOut => f.write_str("the client did not read what was sent in time"),
        }
    }
}
