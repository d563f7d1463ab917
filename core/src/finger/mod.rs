//! The finger server machine (RFC 1288): one query, one answer, sans I/O.
//!
//! # Contract
//!
//! The same shape as the SMTP and POP3 machines':
//!
//! ```text
//! FingerServer::new(config, info, now)   no greeting: finger has none
//! handle_input(now, Input)               bytes, end of input, timer, answers
//! poll_output() -> Option<Output>        drain until None after every input
//! poll_timeout() -> Option<Instant>      when to hand in Input::TimerFired
//! send_deadline() -> Instant             when writes must be done
//! ```
//!
//! The client sends one query line (RFC 1288 2.3). The machine parses it
//! ([`parse_query`]) and either answers at once (a refusal: a forwarding
//! query, a list nobody may see, a bad or too long query) or asks the
//! driver for the users it names with [`Request::Lookup`] or
//! [`Request::List`], answered by [`Input::Users`]. The machine decides
//! everything else: who is hidden (a hidden user is answered exactly as
//! one that does not exist), what is shown, and that no control character
//! from stored text (a plan, a name) reaches the client. Then it closes.

mod codec;
mod machine;
mod render;
#[cfg(test)]
mod tests;
mod timers;

pub use codec::{Query, QueryError, Target, parse_query};
pub use machine::FingerServer;
pub use render::{clean_line, clean_plan};
pub use timers::Timer;

use crate::admission::Refusal;
use crate::limits::LOGGED_PEER_TEXT_BYTES_MAX;
use crate::text::{bounded, escape_controls};
use crate::time::UnixTime;
use std::fmt;
use std::time::Duration;

pub use crate::smtp::server::SessionInfo;

/// The per-instance settings a finger session runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// An empty query lists the users (`list_users = true`); otherwise it
    /// is refused.
    pub list_users: bool,
    /// Addresses (lower-case) never shown: a query for one is answered as
    /// for a user that does not exist, and lists leave them out.
    pub hidden: Vec<String>,
    /// How long the client has to send its query, and the driver to write
    /// the answer (`command_timeout`).
    pub query_timeout: Duration,
}

impl SessionConfig {
    /// True when `address` may be shown.
    pub fn is_visible(&self, address: &str) -> bool {
        !self
            .hidden
            .iter()
            .any(|hidden| hidden.eq_ignore_ascii_case(address))
    }
}

/// What the driver found about one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// The account's address.
    pub address: String,
    /// Their real name, if one is set.
    pub real_name: Option<String>,
    /// Their INBOX; `None` when it could not be read.
    pub mail: Option<MailStatus>,
    /// Their plan text, if one is set.
    pub plan: Option<String>,
}

/// A user's INBOX, as finger tells it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailStatus {
    /// Messages in the INBOX.
    pub messages: usize,
    /// Messages without `\Seen`.
    pub unseen: usize,
    /// When the oldest and the newest unseen message arrived.
    pub oldest_unseen: Option<UnixTime>,
    pub newest_unseen: Option<UnixTime>,
}

/// What a client turned away before its query is read is told: finger has
/// no status codes, so a plain line.
pub fn refusal_response(refusal: Refusal) -> Vec<u8> {
    let text = match refusal {
        Refusal::AccessDenied => "finger: no finger service for your address here.",
        Refusal::TooManyConnections { .. } => "finger: too many connections, try again later.",
        Refusal::TooManyFromHost { .. } => {
            "finger: too many connections from your host, try again later."
        }
    };
    format!("{text}\r\n").into_bytes()
}

/// What the driver hands in.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the client, at most
    /// [`READ_CHUNK_BYTES`](crate::limits::READ_CHUNK_BYTES) at a time.
    Bytes(&'a [u8]),
    /// The client closed its side, or the connection failed. Bytes
    /// received without a line end are taken as the query.
    EndOfInput,
    /// `now` has reached the instant [`FingerServer::poll_timeout`] named.
    TimerFired,
    /// The server is stopping.
    Shutdown,
    /// The driver could not write the output by
    /// [`FingerServer::send_deadline`].
    SendTimedOut,
    /// The answer to [`Request::Lookup`] or [`Request::List`]: every
    /// account that matches, hidden ones included (the machine leaves
    /// them out).
    Users(Vec<UserInfo>),
}

/// What the machine asks of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The accounts whose local part is `user` (compared without regard
    /// to case), in every domain.
    Lookup { user: String },
    /// Every account.
    List,
}

/// What the machine emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Bytes for the client.
    Send(Vec<u8>),
    /// Something only the driver can do; the machine waits for the answer.
    Request(Request),
    /// Close the connection once everything before this has been sent.
    Close,
    /// Something worth a log line.
    Event(Event),
}

/// Why a query was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// `user@host`: RFC 1288 3.2.1.
    ForwardingQuery,
    /// An empty query, and `list_users` is off.
    ListingNotAllowed,
    /// Longer than [`FINGER_QUERY_BYTES_MAX`](crate::limits::FINGER_QUERY_BYTES_MAX).
    QueryTooLong,
    /// Not a query RFC 1288 2.3 describes.
    MalformedQuery,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::ForwardingQuery => "forwarding query refused",
            Refused::ListingNotAllowed => "user list refused (list_users is off)",
            Refused::QueryTooLong => "query too long",
            Refused::MalformedQuery => "malformed query",
        })
    }
}

/// What happened in a session, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A query arrived (the text as received, bounded; escaped when shown).
    Query {
        text: String,
    },
    /// Answered: how many users were shown.
    Answered {
        shown: usize,
    },
    Refused(Refused),
    /// No query within the timeout.
    TimedOut,
    /// The client left before sending a query.
    ClientLeft,
    /// The server is stopping.
    Shutdown,
    /// The answer could not be written in time.
    SendTimedOut,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Query { text } => write!(
                f,
                "query \"{}\"",
                escape_controls(&bounded(text, LOGGED_PEER_TEXT_BYTES_MAX))
            ),
            Event::Answered { shown } => write!(
                f,
                "answered: {}",
                crate::text::counted(*shown, "user shown", "users shown")
            ),
            Event::Refused(why) => write!(f, "{why}"),
            Event::TimedOut => f.write_str("no query in time"),
            Event::ClientLeft => f.write_str("the client left without a query"),
            Event::Shutdown => f.write_str("server shutting down"),
            Event::SendTimedOut => f.write_str("the answer could not be written in time"),
        }
    }
}
