//! NNTP (RFC 3977): newsgroups, their articles and the reader session.
//!
//! [`store_types`] holds what the session machine and the news store
//! share: group names, summaries, overview records and article ranges.
//! [`NntpServer`] is the reader session (RFC 3977, RFC 4642 STARTTLS,
//! RFC 4643 AUTHINFO), sans I/O.
//!
//! # Contract
//!
//! The same as the POP3 server's (see [`crate::pop3`]):
//!
//! ```text
//! NntpServer::new(config, info, start, now)   greeting queued
//! handle_input(now, Input)                    bytes, end of input, timer, answers
//! poll_output() -> Option<Output>             drain until None after every input
//! poll_timeout() -> Option<Instant>           when to hand in Input::TimerFired
//! send_deadline() -> Instant                  when writes must be done
//! ```
//!
//! The driver hands in one input, then drains every output before the
//! next; `now` never goes backwards. Wall-clock time (DATE, NEWGROUPS and
//! NEWNEWS dates, a posted article's missing `Date:`) is
//! [`SessionStart::wall_clock`] at the `now` the session was created,
//! advanced by the monotonic clock: no request is needed for it.
//!
//! When the machine needs the world it emits an [`Output::Request`] and
//! waits for the matching answer; at most one request is out at a time:
//!
//! - [`Request::Authenticate`] → [`Input::Authenticated`]: the shared
//!   accounts and lockout, as for POP3; an accepted login's answer may
//!   carry the user's [`Access`] (otherwise the anonymous one stays);
//! - [`Request::Groups`] → [`Input::Groups`]: every group (created at or
//!   after `since`, when given); the machine filters them with the
//!   command's wildmat and the session's read access;
//! - [`Request::SelectGroup`] → [`Input::GroupSelected`]: the group's
//!   summary and its article numbers, ascending; `None` if it does not
//!   exist;
//! - [`Request::Article`] → [`Input::ArticleOpened`] (an article found
//!   by message-id in a group the session may not read counts as not
//!   found), then, when the
//!   request says `want_bytes`, any number of [`Input::ArticleChunk`]
//!   (the article as stored, CRLF lines, at most
//!   [`NNTP_ARTICLE_CHUNK_BYTES`](crate::limits::NNTP_ARTICLE_CHUNK_BYTES)
//!   each) and [`Input::ArticleEnd`], handed in only while
//!   [`NntpServer::is_reading_article`] is true (HEAD stops after the
//!   header); or [`Input::ArticleUnavailable`] (in place of the opening
//!   answer or of a chunk) if reading fails;
//! - [`Request::Overview`] → [`Input::Overview`]: the overview of the
//!   articles in a range of a group, or of one article by message-id (a
//!   record for each group holding it: the machine shows the first one
//!   in a group the session may read);
//! - [`Request::Header`] → [`Input::Header`]: one header field's value
//!   (unfolded) for each article, for HDR of a field not in the overview
//!   (by message-id, as for the overview);
//! - [`Request::NewNews`] → [`Input::NewNews`]: the message-ids of the
//!   articles that arrived at or after `since`, with their group;
//! - [`Request::Post`] → [`Input::Posted`]: store a checked article in
//!   its groups; an `Err` carries the reason for the `441`.

mod article;
pub mod client;
mod codec;
pub mod gateway;
mod machine;
mod overview;
mod state;
pub mod store_types;
#[cfg(test)]
mod tests;
mod timers;
pub mod wildmat;

pub use article::{CheckedArticle, Injection, PostFault, valid_message_id};
pub use codec::{
    Command, ListKind, NewsDate, ParseError, Part, Span, Target, parse as parse_command,
};
pub use machine::NntpServer;
pub use overview::overview;
pub use store_types::{
    ArticleRange, GroupName, GroupNameError, GroupSummary, OverviewRecord, PostingStatus,
};
pub use timers::Timer;
pub use wildmat::{Wildmat, WildmatError};

use crate::admission::Refusal;
use crate::auth::{AuthPolicy, AuthVerdict, LoginAttempt};
use crate::limits::LOGGED_PEER_TEXT_BYTES_MAX;
use crate::text::{bounded, escape_controls};
use crate::time::UnixTime;
use std::fmt;
use std::time::Duration;

pub use crate::smtp::server::{EventLevel, SessionInfo};

/// What a session may see and post to: groups `read` does not match do
/// not exist for it (`411`, left out of lists); groups `post` does not
/// match refuse its articles (`441`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub read: Wildmat,
    pub post: Wildmat,
}

impl Access {
    /// Read and post everything.
    pub fn everything() -> Access {
        Access {
            read: Wildmat::everything(),
            post: Wildmat::everything(),
        }
    }

    pub fn may_read(&self, group: &GroupName) -> bool {
        self.read.matches(group.as_str())
    }

    pub fn may_post(&self, group: &GroupName) -> bool {
        self.post.matches(group.as_str())
    }
}

/// The per-instance settings an NNTP session runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our name: in the greeting, and prepended to a posted article's
    /// `Path:`; the right-hand side of the message-ids we make.
    pub hostname: String,
    /// STARTTLS (RFC 4642) is offered on connections not yet encrypted.
    pub starttls: bool,
    /// Logins: `offered` and `without_tls` say whether AUTHINFO is
    /// accepted on this connection; the failure count and delay are the
    /// other services'.
    pub auth: AuthPolicy,
    /// Every command but CAPABILITIES, MODE READER, STARTTLS, AUTHINFO,
    /// HELP, DATE and QUIT gets `480` until the client has logged in.
    pub auth_required: bool,
    /// What a session may read and post to before (or without) a login.
    pub anonymous: Access,
    /// POST is offered at all.
    pub posting: bool,
    /// Refused commands before the session is closed.
    pub max_errors: u32,
    /// How long the client may be silent; the configuration keeps it at
    /// least [`NNTP_IDLE_TIMEOUT_MIN`](crate::limits::NNTP_IDLE_TIMEOUT_MIN).
    /// Also how long the driver may take to write a response.
    pub idle_timeout: Duration,
    /// The longest a session may last, whatever it is doing.
    pub max_session_time: Duration,
    /// The largest article POST accepts, in octets; at most
    /// [`NNTP_POST_BYTES_MAX`](crate::limits::NNTP_POST_BYTES_MAX).
    pub max_article_size: u64,
}

/// What the driver knows about a session as it starts, besides the
/// connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionStart {
    /// Wall-clock time at the `now` given to [`NntpServer::new`].
    pub wall_clock: UnixTime,
    /// Makes the message-ids this session gives posted articles unique
    /// (`<wall-clock.seed.n@hostname>`): from the driver's seeded RNG.
    pub message_id_seed: u64,
}

/// What the client is told, in place of the greeting, when it is turned
/// away before its session starts; the driver sends it and closes.
pub fn refusal_response(hostname: &str, refusal: Refusal) -> Vec<u8> {
    let text = match refusal {
        Refusal::AccessDenied => {
            format!("{hostname} Access denied: no news service for your address here")
        }
        Refusal::TooManyConnections { .. } => {
            format!("{hostname} Too many connections, try again later")
        }
        Refusal::TooManyFromHost { .. } => {
            format!("{hostname} Too many connections from your host, try again later")
        }
    };
    let code = match refusal {
        // RFC 3977 5.1.1: 502 for a permanent refusal, 400 for a temporary one.
        Refusal::AccessDenied => 502,
        _ => 400,
    };
    let mut bytes = Vec::new();
    codec::status(&mut bytes, code, &text);
    bytes
}

/// Which article [`Request::Article`] asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArticleRef {
    Number { group: GroupName, number: u32 },
    MessageId(String),
}

/// Which articles [`Request::Overview`] and [`Request::Header`] cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Articles {
    Range {
        group: GroupName,
        range: ArticleRange,
    },
    MessageId(String),
}

/// An article found by [`Request::Article`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedArticle {
    /// The group and number it has there: for a lookup by number, the ones
    /// asked for; by message-id, any group holding it.
    pub group: GroupName,
    pub number: u32,
    pub message_id: String,
}

/// What the driver hands in.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the client, at most
    /// [`READ_CHUNK_BYTES`](crate::limits::READ_CHUNK_BYTES) at a time.
    Bytes(&'a [u8]),
    /// The client closed the connection, or it failed.
    EndOfInput,
    /// `now` has reached the instant [`NntpServer::poll_timeout`] named.
    TimerFired,
    /// The server is stopping: end the session now.
    Shutdown,
    /// The driver could not write the output by
    /// [`NntpServer::send_deadline`].
    SendTimedOut,
    /// The TLS handshake asked for by [`Output::StartTls`] succeeded.
    TlsStarted,
    /// The answer to [`Request::Authenticate`]; with an accepted login,
    /// the user's access (`None` keeps the anonymous one).
    Authenticated(AuthVerdict, Option<Access>),
    /// The answer to [`Request::Groups`].
    Groups(Vec<GroupSummary>),
    /// The answer to [`Request::SelectGroup`]: the summary and the article
    /// numbers, ascending.
    GroupSelected(Option<(GroupSummary, Vec<u32>)>),
    /// The answer to [`Request::Article`]; `None`: no such article.
    ArticleOpened(Option<OpenedArticle>),
    /// The next piece of the article.
    ArticleChunk(&'a [u8]),
    /// The whole article has been handed in.
    ArticleEnd,
    /// The article cannot be read: before any chunk, the client gets
    /// `403`; after some, the session ends, as the response cannot be
    /// finished.
    ArticleUnavailable,
    /// The answer to [`Request::Overview`], in article order, each with
    /// the group it is in (the one asked for; by message-id, any group
    /// holding it: a group the session may not read hides it).
    Overview(Vec<(GroupName, OverviewRecord)>),
    /// The answer to [`Request::Header`]: the group, the article number
    /// and the field's value (empty when the article lacks it), in article
    /// order.
    Header(Vec<(GroupName, u32, String)>),
    /// The answer to [`Request::NewNews`].
    NewNews(Vec<(GroupName, String)>),
    /// The answer to [`Request::Post`].
    Posted(Result<(), String>),
}

/// What the machine asks of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Check a login (and the lockout of this client's host).
    Authenticate(LoginAttempt),
    /// List the groups, all of them or those created at or after `since`.
    Groups {
        since: Option<UnixTime>,
    },
    /// Look a group up for GROUP or LISTGROUP.
    SelectGroup(GroupName),
    /// Find an article; send its bytes only if `want_bytes` (STAT, NEXT
    /// and LAST need only its number and message-id).
    Article {
        article: ArticleRef,
        want_bytes: bool,
    },
    Overview(Articles),
    /// `field` is a header field name as the client wrote it (compare
    /// without case).
    Header {
        articles: Articles,
        field: String,
    },
    NewNews {
        since: UnixTime,
    },
    /// Store a checked article (RFC 5536, with our `Path:`, `Date:` and
    /// `Message-ID:`) in these groups.
    Post {
        article: Vec<u8>,
        newsgroups: Vec<GroupName>,
        message_id: String,
    },
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
    /// Close the connection once everything before this has been sent.
    Close,
    /// Something worth a log line.
    Event(Event),
}

/// How a client logged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginVia {
    /// AUTHINFO USER and PASS (RFC 4643 2.3).
    UserPass,
    /// AUTHINFO SASL PLAIN (RFC 4643 2.4).
    SaslPlain,
}

impl fmt::Display for LoginVia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LoginVia::UserPass => "USER",
            LoginVia::SaslPlain => "PLAIN",
        })
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
    GroupSelected {
        group: GroupName,
        count: u32,
    },
    /// An article (or its head or body) was sent.
    ArticleSent {
        message_id: String,
        octets: u64,
    },
    /// The article being sent could not be read to its end.
    ArticleFailed {
        message_id: String,
    },
    PostAccepted {
        message_id: String,
        newsgroups: Vec<GroupName>,
        octets: u64,
    },
    PostRefused {
        reply: String,
    },
    CommandRefused {
        reply: String,
    },
    /// `discarded` counts the bytes sent in clear after STARTTLS, thrown
    /// away unread (RFC 4642 2.2).
    TlsStarted {
        discarded: usize,
    },
    IdleTimeout,
    SessionTooLong {
        lasted: Duration,
    },
    SendStalled {
        waited: Duration,
    },
    TooManyErrors,
    ShutDown,
    /// The session is over: what it did.
    Closed {
        articles: u32,
        posted: u32,
        refused: u32,
    },
}

impl Event {
    /// The level its log line gets.
    pub fn level(&self) -> EventLevel {
        match self {
            Event::ArticleSent { .. }
            | Event::GroupSelected { .. }
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
                write!(f, "nntp login {via} login={} succeeded", shown(login))
            }
            Event::LoginFailed { login, via, reply } => write!(
                f,
                "nntp login {via} login={} failed: {}",
                shown(login),
                shown(reply)
            ),
            Event::GroupSelected { group, count } => {
                write!(f, "group {group} selected: {count} articles")
            }
            Event::ArticleSent { message_id, octets } => {
                write!(f, "article {} sent: {octets} octets", shown(message_id))
            }
            Event::ArticleFailed { message_id } => {
                write!(
                    f,
                    "article {} could not be read to its end",
                    shown(message_id)
                )
            }
            Event::PostAccepted {
                message_id,
                newsgroups,
                octets,
            } => {
                let groups: Vec<&str> = newsgroups.iter().map(GroupName::as_str).collect();
                write!(
                    f,
                    "post {} accepted to {}: {octets} octets",
                    shown(message_id),
                    groups.join(",")
                )
            }
            Event::PostRefused { reply } => write!(f, "post refused: {}", shown(reply)),
            Event::CommandRefused { reply } => write!(f, "command refused: {}", shown(reply)),
            Event::TlsStarted { discarded: 0 } => f.write_str("TLS started"),
            Event::TlsStarted { discarded } => write!(
                f,
                "TLS started; {discarded} bytes sent in clear after STARTTLS were discarded"
            ),
            Event::IdleTimeout => f.write_str("idle timeout: the client was silent too long"),
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
            Event::Closed {
                articles,
                posted,
                refused,
            } => write!(
                f,
                "nntp session closed: articles={articles} posted={posted} refused={refused}"
            ),
        }
    }
}
