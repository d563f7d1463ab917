//! The SMTP client machine: delivers messages to one server over one
//! connection, sans I/O.
//!
//! # Contract
//!
//! The same shape as the server machine:
//!
//! ```text
//! Client::new(config, delivery, now)   nothing sent yet: the server speaks first
//! handle_input(now, Input)             bytes, end of input, timer, message sent
//! poll_output() -> Option<Output>      drain until None after every input
//! poll_timeout() -> Option<Instant>    when to hand in Input::TimerFired
//! ```
//!
//! The driver connects, then hands in what the server sends. The message
//! itself never passes through the machine: when the server has said
//! `354`, the machine emits [`Output::SendMessage`], and the driver streams
//! the message through a [`DotStuffer`] and hands in
//! [`Input::MessageSent`]. Each message ends with exactly one
//! [`Output::Finished`], whose [`Outcome`] gives every recipient's result;
//! the connection ends with one [`Output::Close`].
//!
//! # Connection reuse
//!
//! By default a session carries one message and QUITs. Made with
//! [`Client::with_reuse`], it may carry more (RFC 5321 3.3: a new MAIL
//! after a completed transaction): after a message's `Finished` it emits
//! [`Output::Ready`] and waits, at most [`CLIENT_CONNECTION_IDLE_MAX`], for
//! [`Input::NextMessage`] (the next message for the same destination) or
//! [`Input::NoMoreMessages`]; it QUITs at the idle limit, after
//! [`CLIENT_MESSAGES_PER_CONNECTION_MAX`] messages, or once the server has
//! said `421`. A transaction the server did not end (a refused DATA, all
//! recipients refused) is followed by `RSET` before the next `MAIL`.
//!
//! A failure mid-connection settles only the message in flight. A message
//! handed in on a reused connection whose server then refuses the `RSET`,
//! or hangs up (or goes silent) before answering its `MAIL`, was not
//! tried: its `Outcome` is a [`SessionFailure`], and the driver gives it
//! back to the queue untouched. A server that hangs up while the
//! connection is idle only ends the connection (a `Close`, no `Finished`).
//!
//! EHLO (HELO if EHLO is refused), AUTH PLAIN or LOGIN when credentials are
//! configured, MAIL with SIZE, BODY and SMTPUTF8 when offered, RCPT for each
//! recipient, DATA, and QUIT; with PIPELINING (RFC 2920) MAIL, RCPT and DATA
//! go in one write. Timeouts are RFC 5321 4.5.3.2's.
//!
//! Only what RFC 5321 4.2 and 4.3.2 allow counts as success: `354` to
//! DATA starts the data (any other reply to DATA ends the attempt), and
//! only a `2xx` after the final dot means delivered. A message that needs
//! 8BITMIME or SMTPUTF8 (its [`Content`] says so) is not sent to a server
//! that lacks them: its recipients fail with `554 5.6.3` (RFC 6152 3) or
//! `553 5.6.7` / `554 5.6.9` (RFC 6531 3.2); when it does not need them it
//! goes without. After the server's `220` to STARTTLS, whatever it sent in
//! clear is discarded (RFC 3207 4.2).

mod content;
mod machine;
mod offer;
#[cfg(test)]
mod protocol_tests;
mod reply;
#[cfg(test)]
mod reuse_tests;
mod stuff;
#[cfg(test)]
mod tests;

pub use content::{Content, ContentScan};
pub use machine::Client;
pub use reply::{MalformedReply, ReplyParser, ServerReply};
pub use stuff::DotStuffer;

#[cfg(doc)]
use crate::limits::{CLIENT_CONNECTION_IDLE_MAX, CLIENT_MESSAGES_PER_CONNECTION_MAX};

use crate::address::{ForwardPath, ReversePath};
use crate::smtp::server::BodyType;
use std::fmt;
use std::time::Duration;

/// How long to wait at each stage (RFC 5321 4.5.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// For the greeting: 5 minutes.
    pub greeting: Duration,
    /// For the replies to EHLO, AUTH, MAIL and RCPT: 5 minutes.
    pub command: Duration,
    /// For the reply to DATA: 2 minutes.
    pub data_start: Duration,
    /// For the driver to send the message, or the server to take it:
    /// 3 minutes between blocks in the RFC; the driver's send is bounded by
    /// the same figure here.
    pub data_block: Duration,
    /// For the reply after the final dot: 10 minutes.
    pub data_end: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        ClientTimeouts {
            greeting: minutes(5),
            command: minutes(5),
            data_start: minutes(2),
            data_block: minutes(3),
            data_end: minutes(10),
        }
    }
}

/// An account on the server (a smarthost) to log in with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    /// Passwords never reach logs or traces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: \"***\" }}",
            self.user
        )
    }
}

/// How a client session behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Our name, for EHLO.
    pub hostname: String,
    pub timeouts: ClientTimeouts,
    /// Log in before MAIL (to a smarthost). When set and the server offers
    /// neither PLAIN nor LOGIN, the session fails.
    pub credentials: Option<Credentials>,
    /// When to use STARTTLS (RFC 3207).
    pub tls: TlsPolicy,
}

/// When the client starts TLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsPolicy {
    /// Never, even when offered.
    Never,
    /// When the server offers it; in clear otherwise, or when the server
    /// refuses STARTTLS with a reply (RFC 7435 opportunistic security). A
    /// failed handshake fails the session: the connection is unusable.
    #[default]
    Opportunistic,
    /// Always: a server that does not offer STARTTLS, or refuses it, fails
    /// the session before anything (a password above all) is sent.
    Required,
    /// TLS from the first byte (RFC 8314 3.3, smtps on 465): the driver
    /// runs the handshake before the greeting, and the machine starts as
    /// if secured, so it never sends STARTTLS. A failed handshake fails
    /// the session before a byte of SMTP.
    Implicit,
}

/// The message to hand over: its envelope, as this server must send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub reverse_path: ReversePath,
    pub recipients: Vec<ForwardPath>,
    /// The message's size in octets (before dot-stuffing), for SIZE=.
    pub size: u64,
    /// As the message was received: `BODY=8BITMIME`, `SMTPUTF8`.
    pub body: BodyType,
    pub smtputf8: bool,
    /// What the message's octets actually are: whether 8BITMIME and
    /// SMTPUTF8 are needed, or only declared.
    pub content: Content,
}

/// What the driver hands in.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the server.
    Bytes(&'a [u8]),
    /// The server closed the connection, or it failed.
    EndOfInput,
    /// `now` has reached [`Client::poll_timeout`].
    TimerFired,
    /// The driver has sent the whole message and the final `.CRLF`.
    MessageSent,
    /// After [`Output::SendMessage`]: the driver could not send the
    /// message to its end, for this reason (it could not read it, or the
    /// server stopped taking it); the final `.CRLF` was not sent, and the
    /// connection is unusable.
    SendFailed(String),
    /// The TLS handshake [`Output::StartTls`] asked for succeeded.
    TlsStarted,
    /// It failed, for this reason; the connection is unusable.
    TlsFailed(String),
    /// After [`Output::Ready`]: the next message, for the same destination.
    NextMessage(Delivery),
    /// After [`Output::Ready`]: nothing more to send; QUIT.
    NoMoreMessages,
}

/// What the machine emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Bytes for the server.
    Send(Vec<u8>),
    /// Stream the message, dot-stuffed and ended with `.CRLF`, then hand
    /// in [`Input::MessageSent`].
    SendMessage,
    /// Start TLS as the client, then hand in [`Input::TlsStarted`] or
    /// [`Input::TlsFailed`].
    StartTls,
    /// A message's result; emitted once per message.
    Finished(Outcome),
    /// The connection is free for another message (after that message's
    /// `Finished`): hand in [`Input::NextMessage`] or
    /// [`Input::NoMoreMessages`] before [`Client::poll_timeout`]; at that
    /// time, [`Input::TimerFired`] QUITs.
    Ready,
    /// Close the connection once everything before this has been sent.
    Close,
    /// Something worth a log line.
    Event(ClientEvent),
}

/// Session events for logs and traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// A reply arrived, to this command.
    Reply {
        command: &'static str,
        reply: String,
    },
    /// Logged in as this user.
    Authenticated { user: String },
    /// The connection is encrypted from here on.
    TlsStarted,
    /// The server sent this many octets after its `220` to STARTTLS and
    /// before the handshake; they were thrown away unread (RFC 3207 4.2).
    PlaintextDiscarded { octets: usize },
    /// The message was flagged SMTPUTF8, the server does not offer it, and
    /// the envelope and header section are ASCII: it goes without.
    Smtputf8NotNeeded,
}

impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::Reply { command, reply } => write!(f, "{command}: {reply}"),
            ClientEvent::Authenticated { user } => write!(f, "authenticated as {user}"),
            ClientEvent::TlsStarted => f.write_str("TLS started"),
            ClientEvent::PlaintextDiscarded { octets } => write!(
                f,
                "discarded {} the server sent in clear after its 220 to STARTTLS",
                crate::text::counted(octets, "octet", "octets")
            ),
            ClientEvent::Smtputf8NotNeeded => f.write_str(
                "sent without SMTPUTF8, which the server does not offer: the envelope and headers are ASCII",
            ),
        }
    }
}

/// A recipient's result from one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// The server took responsibility for the message (2xx after the
    /// final dot).
    Delivered,
    /// Try again later (4xx, a timeout, a lost connection).
    Deferred,
    /// The server refused for good (5xx): a bounce.
    Failed,
}

/// What became of one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientResult {
    pub forward_path: ForwardPath,
    pub verdict: Verdict,
    /// The server's reply, or what went wrong, on one line.
    pub detail: String,
}

/// Why a session ended before any recipient was tried: the cases that
/// send the message to the next MX or to a fallback smarthost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFailure {
    /// Where it happened: "greeting", "EHLO", "HELO", "STARTTLS", "AUTH",
    /// "connection".
    pub stage: &'static str,
    pub detail: String,
    /// The server's reply was a 5xx (to the greeting, EHLO or HELO, or
    /// AUTH).
    pub permanent: bool,
}

impl fmt::Display for SessionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.stage, self.detail)
    }
}

/// The result of one session: every recipient's verdict, and whether the
/// session failed before MAIL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `Some` when nothing was tried: every recipient is then `Deferred`.
    pub session_failure: Option<SessionFailure>,
    pub recipients: Vec<RecipientResult>,
}
