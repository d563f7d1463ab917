//! The POP3 server machine (RFC 1939, with RFC 2449 CAPA, RFC 2595 STLS,
//! RFC 5034 SASL and RFC 3206 response codes): one session, sans I/O.
//!
//! # Contract
//!
//! The same as the SMTP server's (see [`crate::smtp::server`]):
//!
//! ```text
//! Pop3Server::new(config, info, now)   greeting queued
//! handle_input(now, Input)             bytes, end of input, timer, answers
//! poll_output() -> Option<Output>      drain until None after every input
//! poll_timeout() -> Option<Instant>    when to hand in Input::TimerFired
//! send_deadline() -> Instant           when writes must be done
//! ```
//!
//! The driver hands in one input, then drains every output before the
//! next; `now` never goes backwards. When the machine needs the world it
//! emits an [`Output::Request`] and waits for the matching answer:
//!
//! - [`Request::Authenticate`] → [`Input::Authenticated`];
//! - [`Request::OpenMaildrop`] → [`Input::MaildropOpened`]: the driver
//!   locks the mailbox for the session (a second session gets
//!   [`MaildropFailure::InUse`]) and keeps the lock until the session
//!   ends, however it ends;
//! - [`Request::Retrieve`] → any number of [`Input::MessageChunk`] (the
//!   message as clients see it, CRLF lines, at most
//!   [`POP3_MESSAGE_CHUNK_BYTES`](crate::limits::POP3_MESSAGE_CHUNK_BYTES)
//!   each), then [`Input::MessageEnd`]; or [`Input::MessageUnavailable`].
//!   The driver hands in chunks only while
//!   [`Pop3Server::is_retrieving`] is true: TOP stops early;
//! - [`Request::Update`] → [`Input::Updated`]: only after QUIT in the
//!   TRANSACTION state (RFC 1939 6). A connection that drops, times out
//!   or is shut down never updates the maildrop.

mod codec;
mod machine;
mod state;
#[cfg(test)]
mod tests;
mod timers;

pub use codec::{Code, Command, ParseError, parse as parse_command};
pub use machine::Pop3Server;
pub use timers::Timer;

use crate::admission::Refusal;
use crate::auth::{AuthPolicy, AuthVerdict, LoginAttempt, Mechanism};
use crate::limits::LOGGED_PEER_TEXT_BYTES_MAX;
use crate::text::{bounded, counted, escape_controls};
use std::fmt;
use std::time::Duration;

pub use crate::smtp::server::SessionInfo;

/// The per-instance settings a POP3 session runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our name, in the greeting and the goodbye.
    pub hostname: String,
    /// STLS is offered (RFC 2595) on connections not yet encrypted.
    pub stls: bool,
    /// Logins: `offered` and `without_tls` say whether USER/PASS and AUTH
    /// are accepted on this connection; the failure count and delay are
    /// SMTP AUTH's.
    pub auth: AuthPolicy,
    /// `-ERR` replies before the session is closed.
    pub max_errors: u32,
    /// RFC 1939 3: the inactivity autologout timer; the configuration
    /// keeps it at least [`POP3_AUTOLOGOUT_MIN`](crate::limits::POP3_AUTOLOGOUT_MIN).
    /// Also how long the driver may take to write a response.
    pub autologout: Duration,
    /// The longest a session may last, whatever it is doing.
    pub max_session_time: Duration,
}

/// A mailbox's messages as a POP3 session sees them: a snapshot taken
/// when the session enters the TRANSACTION state (RFC 1939 5: messages
/// that arrive later are not part of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maildrop {
    pub uid_validity: u32,
    /// In UID order; message number n is `messages[n - 1]`.
    pub messages: Vec<MaildropMessage>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaildropMessage {
    pub uid: u32,
    /// Octets as RETR sends them (CRLF lines, before dot-stuffing).
    pub size: u64,
}

/// Why the maildrop could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaildropFailure {
    /// Another session holds its lock: `-ERR [IN-USE]` (RFC 3206 4).
    InUse,
    /// It could not be read: `-ERR [SYS/TEMP]` (RFC 3206 5).
    Unavailable,
}

/// The maildrop could not be updated after QUIT: some deleted messages
/// may remain (RFC 1939 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpdateFailure;

/// The UIDL string of a message: Dovecot's default
/// `pop3_uidl_format = %08Xu%08Xv`, the UID then the UIDVALIDITY in eight
/// upper-case hex digits each, so that Dovecot and Postern show the same
/// UIDLs for the same mailbox.
pub fn uidl(uid: u32, uid_validity: u32) -> String {
    format!("{uid:08X}{uid_validity:08X}")
}

/// What a client turned away before its session starts is told, in place
/// of the greeting; the driver sends it and closes.
pub fn refusal_response(hostname: &str, refusal: Refusal) -> Vec<u8> {
    let (code, text) = match refusal {
        Refusal::AccessDenied => (
            Code::SysPerm,
            format!("{hostname} Access denied: no POP3 service for your address here"),
        ),
        Refusal::TooManyConnections { .. } => (
            Code::SysTemp,
            format!("{hostname} Too many connections, try again later"),
        ),
        Refusal::TooManyFromHost { .. } => (
            Code::SysTemp,
            format!("{hostname} Too many connections from your host, try again later"),
        ),
    };
    let mut bytes = Vec::new();
    codec::err(&mut bytes, Some(code), &text);
    bytes
}

/// What the driver hands in.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the client, at most
    /// [`READ_CHUNK_BYTES`](crate::limits::READ_CHUNK_BYTES) at a time.
    Bytes(&'a [u8]),
    /// The client closed the connection, or it failed.
    EndOfInput,
    /// `now` has reached the instant [`Pop3Server::poll_timeout`] named.
    TimerFired,
    /// The server is stopping: end the session now, without an update.
    Shutdown,
    /// The driver could not write the output by
    /// [`Pop3Server::send_deadline`].
    SendTimedOut,
    /// The TLS handshake asked for by [`Output::StartTls`] succeeded.
    TlsStarted,
    /// The answer to [`Request::Authenticate`].
    Authenticated(AuthVerdict),
    /// The answer to [`Request::OpenMaildrop`].
    MaildropOpened(Result<Maildrop, MaildropFailure>),
    /// The next piece of the message [`Request::Retrieve`] asked for.
    MessageChunk(&'a [u8]),
    /// The whole message has been handed in.
    MessageEnd,
    /// The message cannot be read (the file went away, or reading it
    /// failed): before any chunk, the client gets `-ERR`; after some, the
    /// session ends, as the response cannot be finished.
    MessageUnavailable,
    /// The answer to [`Request::Update`].
    Updated(Result<(), UpdateFailure>),
}

/// What the machine asks of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Check a login (and the lockout of this client's host).
    Authenticate(LoginAttempt),
    /// Lock and open the maildrop of this account (the identity's login).
    OpenMaildrop { login: String },
    /// Read the message with this UID from its start.
    Retrieve { uid: u32 },
    /// RFC 1939 6, the UPDATE state: remove the `expunge` messages, mark
    /// the `seen` ones (those retrieved with RETR) `\Seen`.
    Update { expunge: Vec<u32>, seen: Vec<u32> },
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
    /// Close the connection once everything before this has been sent,
    /// and release the maildrop's lock.
    Close,
    /// Something worth a log line.
    Event(Event),
}

/// How a client logged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginVia {
    /// USER and PASS (RFC 1939 7).
    UserPass,
    /// AUTH with a SASL mechanism (RFC 5034).
    Sasl(Mechanism),
}

impl fmt::Display for LoginVia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginVia::UserPass => f.write_str("USER"),
            LoginVia::Sasl(mechanism) => write!(f, "{mechanism}"),
        }
    }
}

/// Session events for logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    LoginSucceeded {
        login: String,
        via: LoginVia,
    },
    /// `login` is what the client offered (never the password).
    LoginFailed {
        login: String,
        via: LoginVia,
        reply: String,
    },
    /// The maildrop is open: the session is in the TRANSACTION state.
    MaildropOpened {
        login: String,
        messages: usize,
        octets: u64,
    },
    MaildropRefused {
        login: String,
        reply: String,
    },
    Retrieved {
        uid: u32,
        octets: u64,
    },
    /// The UPDATE state is done.
    Updated {
        deleted: usize,
        seen: usize,
    },
    UpdateFailed {
        deleted: usize,
    },
    /// The message being sent could not be read to its end.
    RetrievalFailed {
        uid: u32,
    },
    CommandRefused {
        reply: String,
    },
    /// `discarded` counts the bytes sent in clear after STLS, thrown away
    /// unread (RFC 2595 4).
    TlsStarted {
        discarded: usize,
    },
    /// The autologout timer fired (RFC 1939 3).
    Autologout,
    SessionTooLong {
        lasted: Duration,
    },
    SendStalled {
        waited: Duration,
    },
    TooManyErrors,
    ShutDown,
}

pub use crate::smtp::server::EventLevel;

/// What a session did, for the one line logged when it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSummary {
    pub tls: bool,
    pub login: Option<String>,
    pub retrieved: usize,
    pub deleted: usize,
    pub refused: usize,
    pub updated: bool,
}

impl SessionSummary {
    pub fn new(info: SessionInfo) -> Self {
        SessionSummary {
            tls: info.tls,
            ..SessionSummary::default()
        }
    }

    pub fn record(&mut self, event: &Event) {
        match event {
            Event::TlsStarted { .. } => self.tls = true,
            Event::MaildropOpened { login, .. } => self.login = Some(login.clone()),
            Event::Retrieved { .. } => self.retrieved += 1,
            Event::Updated { deleted, .. } => {
                self.deleted = *deleted;
                self.updated = true;
            }
            Event::CommandRefused { .. } | Event::LoginFailed { .. } => self.refused += 1,
            _ => {}
        }
    }
}

impl fmt::Display for SessionSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let login = self.login.as_deref().map_or_else(|| "-".to_owned(), shown);
        write!(
            f,
            "pop3 tls={} login={login} retrieved={} deleted={} refused={} updated={}",
            if self.tls { "yes" } else { "no" },
            self.retrieved,
            self.deleted,
            self.refused,
            if self.updated { "yes" } else { "no" },
        )
    }
}

impl Event {
    /// The level its log line gets.
    pub fn level(&self) -> EventLevel {
        match self {
            Event::Retrieved { .. }
            | Event::CommandRefused { .. }
            | Event::TlsStarted { discarded: 0 } => EventLevel::Debug,
            _ => EventLevel::Info,
        }
    }
}

/// Peer text as a log line may show it: escaped and bounded.
fn shown(text: &str) -> String {
    bounded(&escape_controls(text), LOGGED_PEER_TEXT_BYTES_MAX).into_owned()
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::LoginSucceeded { login, via } => {
                write!(f, "pop3 login {via} login={} succeeded", shown(login))
            }
            Event::LoginFailed { login, via, reply } => write!(
                f,
                "pop3 login {via} login={} failed: {}",
                shown(login),
                shown(reply)
            ),
            Event::MaildropOpened {
                login,
                messages,
                octets,
            } => write!(
                f,
                "maildrop of {} open: {}, {}",
                shown(login),
                counted(messages, "message", "messages"),
                counted(octets, "octet", "octets")
            ),
            Event::MaildropRefused { login, reply } => {
                write!(f, "maildrop of {} refused: {}", shown(login), shown(reply))
            }
            Event::Retrieved { uid, octets } => {
                write!(
                    f,
                    "retrieved uid {uid}: {}",
                    counted(octets, "octet", "octets")
                )
            }
            Event::Updated { deleted, seen } => {
                write!(f, "update: {deleted} deleted, {seen} marked seen")
            }
            Event::UpdateFailed { deleted: 1 } => {
                f.write_str("update failed: the deleted message may remain")
            }
            Event::UpdateFailed { deleted } => write!(
                f,
                "update failed: some of the {deleted} deleted messages may remain"
            ),
            Event::RetrievalFailed { uid } => {
                write!(f, "message uid {uid} could not be read to its end")
            }
            Event::CommandRefused { reply } => write!(f, "command refused: {}", shown(reply)),
            Event::TlsStarted { discarded: 0 } => f.write_str("TLS started"),
            Event::TlsStarted { discarded: 1 } => {
                f.write_str("TLS started; 1 byte sent in clear after STLS was discarded")
            }
            Event::TlsStarted { discarded } => write!(
                f,
                "TLS started; {discarded} bytes sent in clear after STLS were discarded"
            ),
            Event::Autologout => f.write_str("autologout: the client was idle too long"),
            Event::SessionTooLong { lasted } => {
                write!(f, "session too long: {}s", lasted.as_secs())
            }
            Event::SendStalled { waited } => write!(
                f,
                "write stalled for {}s: the client is not reading",
                waited.as_secs()
            ),
            Event::TooManyErrors => f.write_str("too many errors"),
            Event::ShutDown => f.write_str("shut down"),
        }
    }
}
