//! The SMTP server machine: one session with one client, sans I/O.
//!
//! # Contract
//!
//! ```text
//! Server::new(config, info, now)      greeting queued (or first a
//!                                     blocklist lookup, see crate::spam)
//! handle_input(now, Input)            bytes, end of input, timer, replies
//! poll_output() -> Option<Output>     drain until None after every input
//! poll_timeout() -> Option<Instant>   when to hand in Input::TimerFired
//! ```
//!
//! The driver hands in one input, then drains every output before it hands
//! in the next; `now` never goes backwards. Both are asserted. When the
//! machine needs the world (does this mailbox exist, store this message)
//! it emits an [`Output::Request`] and waits: the driver answers with the
//! matching input ([`Input::RecipientChecked`], [`Input::MessageOpened`],
//! [`Input::MessageCommitted`], [`Input::BlocklistsLookedUp`],
//! [`Input::GreylistChecked`], [`Input::SenderListsLookedUp`]). Bytes handed in meanwhile are kept, up
//! to [`INPUT_BUFFER_BYTES_MAX`](crate::limits::INPUT_BUFFER_BYTES_MAX),
//! and processed once the reply arrives, which is how pipelining
//! (RFC 2920) works.
//!
//! Timers (see [`timers`]): [`Server::poll_timeout`] is the earliest
//! deadline that waits on the client (the command being awaited, the pace
//! of message data, a failed login's delay, the session's lifetime);
//! [`Server::send_deadline`] bounds the driver's writes. A driver that
//! cannot write the machine's output by then hands in
//! [`Input::SendTimedOut`] and the session ends without another word.
//!
//! Durability hangs on one ordering: the `250` that acknowledges a message
//! is emitted only after [`Input::MessageCommitted`] says the store has
//! synced it.

mod command;
mod data;
mod forged_results;
mod machine;
mod reply;
mod state;
mod summary;
#[cfg(test)]
mod tests;
pub mod timers;

pub use command::{BodyType, Command, MailCommand, ParseContext, parse as parse_command};
pub use data::DataFailure;
pub use machine::{BarredAddress, Server};
pub use reply::{EnhancedStatus, Reply, status};
pub use summary::SessionSummary;

use crate::admission::Refusal;
use crate::auth::{AuthPolicy, AuthVerdict, LoginAttempt, Mechanism};
use crate::policy::RelayPolicy;

use crate::address::{ForwardPath, ReversePath};
use crate::directory::RecipientVerdict;
use crate::envelope::{Envelope, QueueId};
use crate::limits::LOGGED_PEER_TEXT_BYTES_MAX;
use crate::mail_auth::results::Findings;
use crate::mail_auth::spf::SpfVerdict;
use crate::mail_auth::{MailAuthMode, SpfFailAction};
use crate::text::{bounded, escape_controls};
use crate::time::UnixTime;
use std::fmt::Display;
use std::net::SocketAddr;
use std::time::Duration;

/// The per-instance settings a session runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our name, in the greeting, EHLO reply and trace headers.
    pub hostname: String,
    /// Who may send to domains that are not ours.
    pub relay: RelayPolicy,
    /// The largest message accepted, in octets (RFC 1870 SIZE).
    pub max_message_size: u64,
    pub max_recipients: usize,
    /// Failure replies before the session is closed with 421.
    pub max_errors: u32,
    /// How long a command may take to arrive, from when the machine
    /// starts waiting for it to its line end (RFC 5321 4.5.3.2.7); also
    /// how long the driver may take to write a reply.
    pub command_timeout: Duration,
    /// How long message data may pause; see [`timers::DataPace`].
    pub data_timeout: Duration,
    /// The slowest pace of message data, in octets per second, that
    /// keeps a transfer going; 0 for none. See [`timers::DataPace`].
    pub min_data_rate: u32,
    /// The longest a session may last, whatever it is doing.
    pub max_session_time: Duration,
    /// Whether mail from outside is checked (see [`Request::CheckMessage`]).
    pub mail_auth: MailAuthMode,
    /// Whether a sender from outside whose SPF check fails is refused at
    /// MAIL (see [`Request::CheckSender`]).
    pub spf_fail: SpfFailAction,
    /// The ARC sealers whose passing chain overrides a DMARC failure
    /// (`arc_trusted_sealers`, RFC 8617 7.2).
    pub arc_trusted_sealers: Vec<String>,
    /// STARTTLS is offered (RFC 3207) on connections not yet encrypted.
    pub starttls: bool,
    pub auth: AuthPolicy,
    /// More `Received:` headers than this in a message is a mail loop
    /// (RFC 5321 6.3): it is refused with `554 5.4.6`.
    pub max_hops: usize,
    /// DNS blocklists and greylisting (see [`crate::spam`]).
    pub spam: crate::spam::SpamPolicy,
}

/// What a client turned away before its session starts is told, in
/// place of the greeting (RFC 5321 3.1: `554` for "no service for you";
/// `421` for "not now"). The driver sends it and closes.
pub fn refusal_reply(hostname: &str, refusal: Refusal) -> Vec<u8> {
    let reply = match refusal {
        Refusal::AccessDenied => Reply::new(
            554,
            status::ACCESS_DENIED,
            format!("{hostname} Access denied: no SMTP service for your address here"),
        ),
        Refusal::TooManyConnections { .. } => Reply::new(
            421,
            status::TOO_MANY_CONNECTIONS,
            format!("{hostname} Too many connections, try again later"),
        ),
        Refusal::TooManyFromHost { .. } => Reply::new(
            421,
            status::TOO_MANY_CONNECTIONS,
            format!("{hostname} Too many connections from your host, try again later"),
        ),
    };
    let mut bytes = Vec::new();
    reply.render(&mut bytes);
    bytes
}

/// The connection a session runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The connection is encrypted from its first byte (implicit TLS,
    /// RFC 8314).
    pub tls: bool,
}

/// What the driver hands in.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the client, at most
    /// [`READ_CHUNK_BYTES`](crate::limits::READ_CHUNK_BYTES) at a time.
    Bytes(&'a [u8]),
    /// The client closed the connection, or it failed.
    EndOfInput,
    /// `now` has reached the instant [`Server::poll_timeout`] named.
    TimerFired,
    /// The server is stopping: end the session now.
    Shutdown,
    /// The driver could not write the machine's output by
    /// [`Server::send_deadline`]: the client is not reading. The session
    /// ends without another word.
    SendTimedOut,
    /// The answer to [`Request::CheckRecipient`].
    RecipientChecked(RecipientVerdict),
    /// The answer to [`Request::OpenMessage`].
    MessageOpened(Result<OpenedMessage, StoreFailure>),
    /// The answer to [`Request::CommitMessage`]: `Ok` only once the
    /// message and its envelope are durable.
    MessageCommitted(Result<(), StoreFailure>),
    /// The answer to [`Request::CheckMessage`]: what the checks found
    /// (nothing, when the driver checks nothing).
    MessageChecked(Findings),
    /// The answer to [`Request::CheckSender`]: SPF's verdict (`None`
    /// when the driver checks nothing).
    SenderChecked(Option<SpfVerdict>),
    /// The TLS handshake that [`Output::StartTls`] asked for succeeded;
    /// the session starts over, encrypted. (If it fails, the driver
    /// closes the connection.)
    TlsStarted,
    /// The answer to [`Request::Authenticate`].
    Authenticated(AuthVerdict),
    /// The answer to [`Request::LookUpBlocklists`]: one answer per query,
    /// in order. A lookup that did not finish within
    /// [`DNSBL_LOOKUP_TIMEOUT`](crate::limits::DNSBL_LOOKUP_TIMEOUT) is
    /// [`LookupAnswer::Failed`](crate::spam::LookupAnswer::Failed).
    BlocklistsLookedUp(Vec<crate::spam::LookupAnswer>),
    /// The answer to [`Request::CheckGreylist`].
    GreylistChecked(crate::spam::GreylistVerdict),
    /// The answer to [`Request::LookUpSenderLists`]: the mailbox's lists
    /// (empty when it has none, or they cannot be read).
    SenderListsLookedUp(crate::spam::SenderLists),
}

/// The store accepted a new message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenedMessage {
    pub queue_id: QueueId,
    /// Wall-clock time of arrival, for the `Received:` header.
    pub received_at: UnixTime,
}

/// The store could not do what was asked; the driver logs the cause and
/// the client gets a temporary failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreFailure;

/// What the machine asks of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Is this a local mailbox? Answer with [`Input::RecipientChecked`].
    CheckRecipient(ForwardPath),
    /// Start a spool entry for this envelope; message data follows as
    /// [`Output::MessageData`]. Answer with [`Input::MessageOpened`].
    OpenMessage(Envelope),
    /// Make the open message durable. Answer with
    /// [`Input::MessageCommitted`].
    CommitMessage,
    /// The open message's data has all arrived: check where it came from
    /// (SPF for this sender and HELO, the message's DKIM signatures).
    /// Answer with [`Input::MessageChecked`]. Only for mail from outside:
    /// not for a client that logged in or that the relay networks vouch
    /// for.
    CheckMessage(CheckRequest),
    /// MAIL is otherwise acceptable: check SPF for this sender (and
    /// HELO) now. Answer with [`Input::SenderChecked`]. Only with
    /// `spf_fail = "refuse"`, for mail from outside.
    CheckSender(CheckRequest),
    /// Check a login (and the lockout of this client's host). Answer with
    /// [`Input::Authenticated`].
    Authenticate(LoginAttempt),
    /// Look these names up (A records), all at once, within
    /// [`DNSBL_LOOKUP_TIMEOUT`](crate::limits::DNSBL_LOOKUP_TIMEOUT).
    /// Answer with [`Input::BlocklistsLookedUp`].
    LookUpBlocklists(Vec<crate::spam::Query>),
    /// Check this triplet against the server's greylist, with the wall
    /// clock, and remember the try. Answer with [`Input::GreylistChecked`].
    CheckGreylist(crate::spam::Triplet, crate::spam::GreylistPolicy),
    /// The allow and block lists of this local mailbox (its
    /// `postern-rules.toml`), as they are now. Answer with
    /// [`Input::SenderListsLookedUp`].
    LookUpSenderLists(crate::envelope::LocalMailbox),
}

/// What [`Request::CheckMessage`] checks, besides the message itself
/// and the client's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRequest {
    pub reverse_path: ReversePath,
    /// The HELO or EHLO domain.
    pub helo: String,
    /// Our host name (SPF's `%{r}`).
    pub receiver: String,
    /// SPF's verdict when it was checked at MAIL already.
    pub spf: Option<SpfVerdict>,
}

/// What the machine emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Bytes for the client.
    Send(Vec<u8>),
    /// Something only the driver can do; the machine waits for the answer.
    Request(Request),
    /// The next piece of the open message, in order: the `Received:`
    /// header first, then the client's data, unstuffed, with CRLF line
    /// endings.
    MessageData(Vec<u8>),
    /// Discard the open message: it will never be acknowledged.
    AbortMessage,
    /// Header fields to put on top of the open message
    /// (`Authentication-Results:`), decided once its data had all
    /// arrived; before [`Request::CommitMessage`].
    Trace(Vec<u8>),
    /// The open message is quarantined (the sender's DMARC policy, and
    /// `mail_auth = "enforce"`): its local copies go to each recipient's
    /// Junk folder. Before [`Request::CommitMessage`].
    Quarantine,
    /// Send everything before this, then start TLS as the server; answer
    /// with [`Input::TlsStarted`].
    StartTls,
    /// Close the connection once everything before this has been sent.
    Close,
    /// Something worth a log line.
    Event(Event),
}

/// Session events for logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Helo {
        domain: String,
        extended: bool,
    },
    MailFrom {
        reverse_path: ReversePath,
        size: Option<u64>,
    },
    RecipientAccepted {
        forward_path: ForwardPath,
    },
    RecipientRefused {
        forward_path: ForwardPath,
        reply: String,
    },
    /// The message is durable and the client has been told so.
    MessageQueued {
        queue_id: QueueId,
        reverse_path: ReversePath,
        forward_paths: Vec<ForwardPath>,
        size: u64,
    },
    /// The message was discarded and the client told why.
    MessageRefused {
        queue_id: QueueId,
        reply: String,
    },
    /// The message fails DMARC and its `From:` domain asks for
    /// quarantine: its local copies go to the recipients' Junk folders.
    MessageQuarantined {
        queue_id: QueueId,
        domain: String,
    },
    /// The client went away during DATA; nothing was stored.
    ClientVanishedDuringData {
        queue_id: QueueId,
    },
    /// A command was refused.
    CommandRefused {
        reply: String,
    },
    /// The connection is now encrypted. `discarded` counts the bytes the
    /// client sent after STARTTLS in clear, which were thrown away
    /// unread (RFC 3207 4.2).
    TlsStarted {
        discarded: usize,
    },
    AuthSucceeded {
        login: String,
        mechanism: Mechanism,
    },
    /// A login failed; `login` is what the client offered (never the
    /// password).
    AuthFailed {
        login: String,
        mechanism: Mechanism,
        reply: String,
    },
    Timeout,
    /// Message data came in under the minimum rate.
    DataTooSlow {
        min_data_rate: u32,
    },
    /// The session reached its lifetime cap.
    SessionTooLong {
        lasted: Duration,
    },
    /// The client stopped reading: our output could not be written within
    /// `waited`.
    SendStalled {
        waited: Duration,
    },
    TooManyErrors,
    ShutDown,
    /// The client (at connect) or the sender's domain (at MAIL) is listed
    /// on blocklists whose weights reach the threshold: refused.
    Blocklisted {
        listed: crate::spam::Listed,
        zones: Vec<String>,
        score: u32,
    },
    /// A blocklist did not answer, or answered an error code: it listed
    /// nobody.
    BlocklistLookupFailed {
        zone: String,
        reason: String,
    },
    /// A recipient was deferred by the greylist (`451 4.7.1`).
    Greylisted {
        forward_path: ForwardPath,
        retry_in: Duration,
    },
    /// A sender (at MAIL) or a recipient (at RCPT) matched a pattern of
    /// `bar_senders` or `bar_recipients`: refused with `550 5.7.1`.
    Barred {
        address: BarredAddress,
        pattern: String,
    },
    /// A recipient's block list (`blocked = "refuse"`) refused the
    /// sender: `550 5.7.1` for that recipient.
    SenderRefusedByRecipient {
        forward_path: ForwardPath,
        pattern: String,
    },
}

/// Recipients named in one log line; the rest are counted, so that a
/// message to thousands does not make a line of megabytes.
const LOGGED_RECIPIENTS_MAX: usize = 20;

/// How much an event matters to an operator reading the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventLevel {
    /// One line per command: for tracing a session, not for the log a
    /// busy server keeps (a stalled client can send thousands).
    Debug,
    /// At most a few per session and one per message: messages queued or
    /// refused, logins, how a session ended.
    Info,
}

impl Event {
    /// The level its log line gets. Per-command events are
    /// [`EventLevel::Debug`]; the runtime adds one info line per session
    /// (connect, and disconnect with a [`SessionSummary`]).
    pub fn level(&self) -> EventLevel {
        match self {
            Event::Helo { .. }
            | Event::MailFrom { .. }
            | Event::RecipientAccepted { .. }
            | Event::RecipientRefused { .. }
            | Event::CommandRefused { .. }
            | Event::TlsStarted { discarded: 0 } => EventLevel::Debug,
            // Commands sent in clear behind STARTTLS: an injection attempt
            // or a broken client, worth a line of its own.
            Event::TlsStarted { .. }
            | Event::MessageQueued { .. }
            | Event::MessageRefused { .. }
            | Event::MessageQuarantined { .. }
            | Event::ClientVanishedDuringData { .. }
            | Event::AuthSucceeded { .. }
            | Event::AuthFailed { .. }
            | Event::Timeout
            | Event::DataTooSlow { .. }
            | Event::SessionTooLong { .. }
            | Event::SendStalled { .. }
            | Event::TooManyErrors
            | Event::ShutDown
            | Event::Blocklisted { .. }
            | Event::BlocklistLookupFailed { .. }
            | Event::Greylisted { .. }
            | Event::Barred { .. }
            | Event::SenderRefusedByRecipient { .. } => EventLevel::Info,
        }
    }

    /// The message this event is about, if it is about one.
    pub fn queue_id(&self) -> Option<QueueId> {
        match self {
            Event::MessageQueued { queue_id, .. }
            | Event::MessageRefused { queue_id, .. }
            | Event::MessageQuarantined { queue_id, .. }
            | Event::ClientVanishedDuringData { queue_id } => Some(*queue_id),
            _ => None,
        }
    }
}

/// Text a peer chose (a HELO argument, an address, a login, a reply
/// that quotes one), as a log line may show it: control characters
/// escaped, so that it cannot end the line or forge another, and bounded.
pub(crate) fn shown(text: impl Display) -> String {
    let text = text.to_string();
    bounded(&escape_controls(&text), LOGGED_PEER_TEXT_BYTES_MAX).into_owned()
}

impl std::fmt::Display for Event {
    /// One line, `key=value` style, as logs and transcripts show it.
    /// Everything the peer chose goes through [`shown`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Helo { domain, extended } => {
                let domain = shown(domain);
                write!(f, "{} {domain}", if *extended { "EHLO" } else { "HELO" })
            }
            Event::MailFrom {
                reverse_path,
                size: Some(size),
            } => write!(f, "mail from={} size={size}", shown(reverse_path)),
            Event::MailFrom {
                reverse_path,
                size: None,
            } => write!(f, "mail from={}", shown(reverse_path)),
            Event::RecipientAccepted { forward_path } => {
                write!(f, "rcpt to={} accepted", shown(forward_path))
            }
            Event::RecipientRefused {
                forward_path,
                reply,
            } => write!(
                f,
                "rcpt to={} refused: {}",
                shown(forward_path),
                shown(reply)
            ),
            Event::MessageQueued {
                queue_id,
                reverse_path,
                forward_paths,
                size,
            } => {
                write!(f, "{queue_id}: queued from={} to=", shown(reverse_path))?;
                for (i, forward_path) in
                    forward_paths.iter().take(LOGGED_RECIPIENTS_MAX).enumerate()
                {
                    let separator = if i == 0 { "" } else { "," };
                    write!(f, "{separator}{}", shown(forward_path))?;
                }
                if forward_paths.len() > LOGGED_RECIPIENTS_MAX {
                    write!(
                        f,
                        ",(+{} more)",
                        forward_paths.len() - LOGGED_RECIPIENTS_MAX
                    )?;
                }
                write!(f, " size={size}")
            }
            Event::MessageRefused { queue_id, reply } => {
                write!(f, "{queue_id}: refused: {}", shown(reply))
            }
            Event::MessageQuarantined { queue_id, domain } => write!(
                f,
                "{queue_id}: quarantined: fails DMARC and {} asks for quarantine; local copies go to Junk",
                shown(domain)
            ),
            Event::ClientVanishedDuringData { queue_id } => {
                write!(
                    f,
                    "{queue_id}: client went away during DATA; nothing stored"
                )
            }
            Event::CommandRefused { reply } => write!(f, "command refused: {}", shown(reply)),
            Event::TlsStarted { discarded: 0 } => f.write_str("TLS started"),
            Event::TlsStarted { discarded: 1 } => {
                f.write_str("TLS started; 1 byte sent in clear after STARTTLS was discarded")
            }
            Event::TlsStarted { discarded } => write!(
                f,
                "TLS started; {discarded} bytes sent in clear after STARTTLS were discarded"
            ),
            Event::AuthSucceeded { login, mechanism } => {
                write!(f, "auth {mechanism} login={} succeeded", shown(login))
            }
            Event::AuthFailed {
                login,
                mechanism,
                reply,
            } => write!(
                f,
                "auth {mechanism} login={} failed: {}",
                shown(login),
                shown(reply)
            ),
            Event::Timeout => f.write_str("timeout"),
            Event::DataTooSlow { min_data_rate } => {
                write!(f, "message data too slow: under {min_data_rate} octets/s")
            }
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
            Event::Blocklisted {
                listed,
                zones,
                score,
            } => write!(
                f,
                "{} listed at {} (score {score}): refused",
                shown(listed),
                zones.join(" ")
            ),
            Event::BlocklistLookupFailed { zone, reason } => write!(
                f,
                "blocklist {zone} lookup failed, not counted: {}",
                shown(reason)
            ),
            Event::Greylisted {
                forward_path,
                retry_in,
            } => write!(
                f,
                "rcpt to={} greylisted: retry in {}s",
                shown(forward_path),
                retry_in.as_secs()
            ),
            Event::Barred {
                address: BarredAddress::Sender(reverse_path),
                pattern,
            } => write!(
                f,
                "mail from={} barred by bar_senders pattern {}: refused",
                shown(reverse_path),
                shown(pattern)
            ),
            Event::Barred {
                address: BarredAddress::Recipient(forward_path),
                pattern,
            } => write!(
                f,
                "rcpt to={} barred by bar_recipients pattern {}: refused",
                shown(forward_path),
                shown(pattern)
            ),
            Event::SenderRefusedByRecipient {
                forward_path,
                pattern,
            } => write!(
                f,
                "rcpt to={} refused: the sender is on the recipient's block list ({}, blocked = refuse)",
                shown(forward_path),
                shown(pattern)
            ),
        }
    }
}
