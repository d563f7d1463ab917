//! The NNTP pull client: one session with an upstream news server, sans
//! I/O. It fetches the new articles of the configured groups and posts
//! the local articles queued for upstream.
//!
//! # Contract
//!
//! The same shape as the SMTP client machine:
//!
//! ```text
//! PullClient::new(config, session, now)  nothing sent: the server speaks first
//! handle_input(now, Input)               bytes, end of input, timer, replies
//! poll_output() -> Option<Output>        drain until None after every input
//! poll_timeout() -> Option<Instant>      when to hand in Input::TimerFired
//! ```
//!
//! One session: the greeting (200 or 201), STARTTLS (RFC 4642, `382`)
//! when configured, MODE READER, AUTHINFO USER/PASS (RFC 4643, `381`,
//! `281`) when there are credentials (after MODE READER, which RFC 4643
//! 2.2 forbids after authentication), `LIST ACTIVE wildmat` when the
//! groups are a pattern, then for each group `GROUP g` and `ARTICLE n` for
//! every number above the group's high-water mark, then `POST` for each
//! local article, then QUIT.
//!
//! Every pulled article goes to the driver whole
//! ([`Output::Article`]); the machine waits for [`Input::Stored`] before it
//! emits [`Output::Pulled`], the new high-water mark. A crash between the
//! two re-pulls the article next round, never skips it (the store drops
//! a Message-ID it already has). An article the server no longer has
//! (`423`, `430`) or one over the size limit is skipped: `Pulled` moves
//! past it with no `Article`.
//!
//! A post goes as in SMTP's DATA: after the server's `340`, the machine
//! emits [`Output::SendPost`], the driver streams the article through
//! [`article_for_post`] (which leaves out the header fields of our own
//! injection, which an upstream would refuse: RFC 5537 3.5), dot-stuffed
//! ([`DotStuffer`](crate::smtp::client::DotStuffer)) with its final
//! `.CRLF`, and hands in [`Input::PostSent`]. Each post decided ends in
//! one [`Output::Posted`]; a post left undecided (the session failed) is
//! simply not reported and stays queued. An article whose `Path` already
//! names the upstream came from there and is never sent back
//! ([`PostResult::CameFromUpstream`]).
//!
//! Every wait has a deadline. Errors and timeouts end the session with
//! one [`Output::Finished`] carrying the reason, then [`Output::Close`];
//! the driver tries again on its schedule.

mod codec;
mod machine;
mod outgoing;
#[cfg(test)]
mod tests;

pub use crate::nntp::wildmat::{Wildmat, WildmatError};
pub use codec::{Block, MalformedResponse, ResponseReader, Status, parse_status};
pub use machine::PullClient;
pub use outgoing::{Outgoing, article_for_post, path_names};

use crate::limits::{
    NNTP_PULL_ARTICLE_BYTES_DEFAULT, NNTP_PULL_BLOCK_IDLE_TIMEOUT, NNTP_PULL_COMMAND_TIMEOUT,
    NNTP_PULL_DRIVER_TIMEOUT, NNTP_PULL_GREETING_TIMEOUT,
};
use crate::nntp::GroupName;
use crate::smtp::client::Credentials;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How the session with the upstream is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpstreamTls {
    /// In clear.
    #[default]
    None,
    /// STARTTLS (RFC 4642) right after the greeting; a server that
    /// refuses it fails the session before a password is sent.
    StartTls,
    /// TLS from the first byte (nntps, 563): the driver runs the
    /// handshake before the greeting.
    Implicit,
}

/// How long to wait at each stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PullTimeouts {
    pub greeting: Duration,
    pub command: Duration,
    /// Between two chunks of a multi-line block.
    pub block_idle: Duration,
    /// For the driver to store an article or send a post.
    pub driver: Duration,
}

impl Default for PullTimeouts {
    fn default() -> Self {
        PullTimeouts {
            greeting: NNTP_PULL_GREETING_TIMEOUT,
            command: NNTP_PULL_COMMAND_TIMEOUT,
            block_idle: NNTP_PULL_BLOCK_IDLE_TIMEOUT,
            driver: NNTP_PULL_DRIVER_TIMEOUT,
        }
    }
}

/// How a pull session behaves: from `[[news_upstream]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullConfig {
    pub tls: UpstreamTls,
    pub credentials: Option<Credentials>,
    /// The groups to pull.
    pub groups: Wildmat,
    /// Post local articles upstream.
    pub post_local: bool,
    /// The upstream's path identity (RFC 5536 3.1.5): an article whose
    /// `Path` names it came from there.
    pub path_identity: String,
    /// Articles larger than this are skipped.
    pub article_bytes_max: usize,
    pub timeouts: PullTimeouts,
}

impl PullConfig {
    /// A session in clear with no login, the default sizes and timeouts.
    pub fn new(groups: Wildmat, path_identity: &str) -> Self {
        PullConfig {
            tls: UpstreamTls::None,
            credentials: None,
            groups,
            post_local: true,
            path_identity: path_identity.to_owned(),
            article_bytes_max: NNTP_PULL_ARTICLE_BYTES_DEFAULT,
            timeouts: PullTimeouts::default(),
        }
    }
}

/// What this session starts from: where each group was left, and what
/// waits to go upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullState {
    /// The number of the last article pulled (or skipped) in each group.
    /// A group missing here is new: only its newest
    /// [`NNTP_PULL_NEW_GROUP_ARTICLES`](crate::limits::NNTP_PULL_NEW_GROUP_ARTICLES)
    /// are pulled.
    pub high_water: BTreeMap<GroupName, u32>,
    /// Local articles queued for upstream, oldest first; ignored unless
    /// `post_local`.
    pub outgoing: Vec<Outgoing>,
}

/// What the driver hands in.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the server.
    Bytes(&'a [u8]),
    /// The server closed the connection, or it failed.
    EndOfInput,
    /// `now` has reached [`PullClient::poll_timeout`].
    TimerFired,
    /// The TLS handshake [`Output::StartTls`] asked for succeeded.
    TlsStarted,
    /// It failed, for this reason.
    TlsFailed(String),
    /// The article of the last [`Output::Article`] is stored durably.
    Stored,
    /// It could not be stored; the session ends and the article is
    /// pulled again next round.
    StoreFailed(String),
    /// The driver has sent the post of [`Output::SendPost`] and its final
    /// `.CRLF`.
    PostSent,
}

/// What the machine emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Bytes for the server.
    Send(Vec<u8>),
    /// Start TLS as the client, then hand in [`Input::TlsStarted`] or
    /// [`Input::TlsFailed`].
    StartTls,
    /// Store this article in `group`, then hand in [`Input::Stored`] or
    /// [`Input::StoreFailed`].
    Article {
        group: GroupName,
        number: u32,
        bytes: Vec<u8>,
    },
    /// Record `number` as the high-water mark of `group`.
    Pulled { group: GroupName, number: u32 },
    /// Stream the outgoing article `id`, through [`article_for_post`],
    /// dot-stuffed and ended with `.CRLF`, then hand in
    /// [`Input::PostSent`].
    SendPost { id: u64 },
    /// What became of the outgoing article `id`.
    Posted { id: u64, result: PostResult },
    /// The session's result; emitted once.
    Finished(Outcome),
    /// Close the connection once everything before this has been sent.
    Close,
    /// Something worth a log line.
    Event(PullEvent),
}

/// What became of one post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostResult {
    /// `240`: the upstream has it.
    Accepted,
    /// `441` (or another 5xx): refused for good, with the server's reason.
    /// Drop it from the queue and tell the poster.
    Refused(String),
    /// A `4xx` other than `441`: try again next round.
    Deferred(String),
    /// Its `Path` names the upstream: it came from there. Drop it.
    CameFromUpstream,
}

/// Session events for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullEvent {
    /// A response arrived, to this command.
    Response {
        command: &'static str,
        status: String,
    },
    Authenticated,
    TlsStarted,
    /// The server sent this many octets after its `382` and before the
    /// handshake; they were thrown away unread.
    PlaintextDiscarded {
        octets: usize,
    },
    /// The server does not carry this group (`411`).
    NoSuchGroup {
        group: GroupName,
    },
    /// The upstream's numbers went below our mark: it was renumbered or
    /// reset. Nothing is pulled until it passes the mark again.
    Renumbered {
        group: GroupName,
        high: u32,
        mark: u32,
    },
    /// An article was skipped: gone (`423`/`430`) or too large.
    Skipped {
        group: GroupName,
        number: u32,
        reason: String,
    },
    /// A group is done for this session.
    GroupDone {
        group: GroupName,
        pulled: u32,
    },
}

impl fmt::Display for PullEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PullEvent::Response { command, status } => write!(f, "{command}: {status}"),
            PullEvent::Authenticated => f.write_str("authenticated"),
            PullEvent::TlsStarted => f.write_str("TLS started"),
            PullEvent::PlaintextDiscarded { octets } => write!(
                f,
                "discarded {} the server sent in clear after its 382",
                crate::text::counted(octets, "octet", "octets")
            ),
            PullEvent::NoSuchGroup { group } => {
                write!(f, "group={group} the upstream does not carry it")
            }
            PullEvent::Renumbered { group, high, mark } => write!(
                f,
                "group={group} the upstream's newest article {high} is below our mark {mark}: renumbered?"
            ),
            PullEvent::Skipped {
                group,
                number,
                reason,
            } => write!(f, "group={group} article={number} skipped: {reason}"),
            PullEvent::GroupDone { group, pulled } => {
                write!(f, "group={group} pulled={pulled}")
            }
        }
    }
}

/// Why a session ended early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullFailure {
    /// Where: "greeting", "STARTTLS", "AUTHINFO", "MODE READER", "LIST",
    /// "GROUP", "ARTICLE", "POST", "store", "connection".
    pub stage: &'static str,
    pub detail: String,
}

impl fmt::Display for PullFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.stage, self.detail)
    }
}

/// The result of one session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Articles stored.
    pub pulled: u32,
    /// Posts accepted upstream.
    pub posted: u32,
    /// Posts refused for good.
    pub refused: u32,
    /// `None`: the session ran to its QUIT.
    pub failure: Option<PullFailure>,
}

/// How long until the next round of an upstream whose last
/// `consecutive_failures` rounds failed: the interval after a success;
/// after failures, [`NNTP_PULL_RETRY_DELAY_FIRST`] doubled each time, up to
/// [`NNTP_PULL_RETRY_DELAY_MAX`], and never longer than the interval.
///
/// [`NNTP_PULL_RETRY_DELAY_FIRST`]: crate::limits::NNTP_PULL_RETRY_DELAY_FIRST
/// [`NNTP_PULL_RETRY_DELAY_MAX`]: crate::limits::NNTP_PULL_RETRY_DELAY_MAX
pub fn next_round_in(interval: Duration, consecutive_failures: u32) -> Duration {
    use crate::limits::{NNTP_PULL_RETRY_DELAY_FIRST, NNTP_PULL_RETRY_DELAY_MAX};
    if consecutive_failures == 0 {
        return interval;
    }
    let doublings = (consecutive_failures - 1).min(16);
    NNTP_PULL_RETRY_DELAY_FIRST
        .saturating_mul(1 << doublings)
        .min(NNTP_PULL_RETRY_DELAY_MAX)
        .min(interval)
}
