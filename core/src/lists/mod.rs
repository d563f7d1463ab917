//! Mailing lists: who may subscribe and post, what a command to the
//! request address does, the copies a post becomes, and the bounces that
//! come back.
//!
//! A list `team@example.test` answers at three kinds of local address:
//! the list itself (posts), `team-request@` (commands, one per line) and
//! `team-bounces+USER=HOST@` (the VERP return path of the copy sent to
//! `USER@HOST`, so a bounce names the subscriber). [`Role::of`] tells
//! which. The runtime loads the list's [`ListState`], calls one of
//! [`handle_commands`] (which also approves held posts),
//! [`handle_post`] or [`handle_bounce`] with the time and a seeded [`crate::rng::Rng`], and
//! carries out the [`Outcome`]: the new state to write, the mails to
//! queue, the copies of the post to make. Nothing here reads a file or a
//! clock.

mod command;
mod compose;
mod digest;
mod engine;
mod state;
#[cfg(test)]
mod tests;

pub use command::{Command, command_text, parse_commands};
pub use compose::{Copy, Links, TRACE_FIELD, list_headers, rewrite_header};
pub use digest::{digest_copies, digest_due};
pub use engine::{
    Context, Outcome, PostVerdict, copies_of_post, handle_bounce, handle_commands, handle_post,
    handle_unsubscribe_token,
};
pub use state::{Delivery, Held, ListState, Member, Pending, PendingKind, StateError};

use crate::limits::{LIST_BOUNCE_THRESHOLD_DEFAULT, LIST_BOUNCE_WINDOW_SECONDS_DEFAULT};
use crate::nntp::GroupName;
use std::fmt;
use std::time::Duration;

/// Who may subscribe and post.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum ListKind {
    /// Anyone may subscribe (after confirming) and post.
    #[default]
    Open,
    /// Subscribers post; a confirmed subscription waits for an owner.
    Closed,
    /// Anyone may subscribe; every post waits for a moderator.
    Moderated,
}

impl ListKind {
    pub fn parse(word: &str) -> Option<ListKind> {
        match word.to_ascii_lowercase().as_str() {
            "open" => Some(ListKind::Open),
            "closed" => Some(ListKind::Closed),
            "moderated" => Some(ListKind::Moderated),
            _ => None,
        }
    }
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListKind::Open => "open",
            ListKind::Closed => "closed",
            ListKind::Moderated => "moderated",
        })
    }
}

/// Who may ask a list for its members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MembersVisible {
    /// Owners and moderators only.
    #[default]
    Owners,
    /// Every subscriber.
    Subscribers,
}

/// A post a list holds for its moderators, as the webmail shows it to
/// one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldPost {
    /// The list's address.
    pub list: String,
    /// Where `approve TOKEN` and `reject TOKEN` go.
    pub request_address: String,
    pub token: String,
    /// Who sent it (the envelope sender).
    pub sender: String,
    pub subject: String,
}

impl HeldPost {
    /// A moderator's answer to this post as the mail a reply to the
    /// list's request would be: `approve TOKEN` (or `reject TOKEN`) in the
    /// subject and the body, from `moderator` to the request address.
    pub fn answer(&self, moderator: &str, approve: bool) -> String {
        let verb = if approve { "approve" } else { "reject" };
        let command = format!("{verb} {}", self.token);
        format!(
            "From: <{moderator}>\r\nTo: <{}>\r\nSubject: {command}\r\nAuto-Submitted: no\r\n\r\n{command}\r\n",
            self.request_address
        )
    }
}

/// One list, from a `[[list]]` table or a list created with
/// `postern list create`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListDefinition {
    /// The local part, lower-case.
    pub local: String,
    /// The domain, lower-case (one of our `[[domain]]`s).
    pub domain: String,
    pub kind: ListKind,
    /// Addresses (lower-case) told of subscriptions to approve and of
    /// suspended subscribers; they may also moderate.
    pub owners: Vec<String>,
    /// Addresses (lower-case) asked to approve held posts.
    pub moderators: Vec<String>,
    /// Put in front of the subject of each post (`[team]`), if set.
    pub subject_tag: Option<String>,
    pub description: String,
    /// The newsgroup the archive is read as over NNTP, if any.
    pub newsgroup: Option<GroupName>,
    /// Bounces within [`ListDefinition::bounce_window`] that suspend a
    /// subscriber.
    pub bounce_threshold: u32,
    pub bounce_window: Duration,
    pub members_visible: MembersVisible,
}

impl ListDefinition {
    /// A list with the defaults, for `postern list create` and tests.
    pub fn new(local: &str, domain: &str) -> Self {
        ListDefinition {
            local: local.to_lowercase(),
            domain: domain.to_lowercase(),
            kind: ListKind::Open,
            owners: Vec::new(),
            moderators: Vec::new(),
            subject_tag: None,
            description: String::new(),
            newsgroup: None,
            bounce_threshold: LIST_BOUNCE_THRESHOLD_DEFAULT,
            bounce_window: Duration::from_secs(LIST_BOUNCE_WINDOW_SECONDS_DEFAULT),
            members_visible: MembersVisible::Owners,
        }
    }

    /// `team@example.test`.
    pub fn address(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }

    /// `team-request@example.test`.
    pub fn request_address(&self) -> String {
        format!("{}-request@{}", self.local, self.domain)
    }

    /// `team-owner@example.test` is not an address of ours; the owners
    /// are named directly. The bounce address without a subscriber:
    /// `team-bounces@example.test`, the return path of the list's own
    /// notices.
    pub fn bounces_address(&self) -> String {
        format!("{}-bounces@{}", self.local, self.domain)
    }

    /// RFC 2919 2: the list identifier, `team.example.test`.
    pub fn list_id(&self) -> String {
        format!("{}.{}", self.local, self.domain)
    }

    /// The VERP return path of the copy sent to `subscriber`:
    /// `team-bounces+alice=example.com@example.test`.
    pub fn verp_address(&self, subscriber: &str) -> String {
        match subscriber.rsplit_once('@') {
            Some((user, host)) => format!("{}-bounces+{user}={host}@{}", self.local, self.domain),
            None => self.bounces_address(),
        }
    }

    /// True if `address` (any case) may moderate: a moderator or owner.
    pub fn is_moderator(&self, address: &str) -> bool {
        let address = address.to_lowercase();
        self.moderators.contains(&address) || self.owners.contains(&address)
    }

    pub fn is_owner(&self, address: &str) -> bool {
        self.owners.contains(&address.to_lowercase())
    }
}

/// What a local part of a list's domain means to the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The list address: a post.
    Post,
    /// `LOCAL-request`: commands.
    Request,
    /// `LOCAL-bounces+USER=HOST`: a bounce of the copy sent to
    /// `USER@HOST`; `None` for plain `LOCAL-bounces` (a bounce of a
    /// notice, which names nobody).
    Bounce(Option<String>),
}

impl Role {
    /// The role `local_part` (any case) plays for the list whose local
    /// part is `list` (lower-case), if any.
    pub fn of(list: &str, local_part: &str) -> Option<Role> {
        let local_part = local_part.to_lowercase();
        let rest = local_part.strip_prefix(list)?;
        match rest {
            "" => Some(Role::Post),
            "-request" => Some(Role::Request),
            "-bounces" => Some(Role::Bounce(None)),
            _ => {
                let verp = rest.strip_prefix("-bounces+")?;
                Some(Role::Bounce(decode_verp(verp)))
            }
        }
    }
}

/// `alice=example.com` back to `alice@example.com`: the last `=` is the
/// `@` (a domain holds no `=`; a local part may).
pub fn decode_verp(encoded: &str) -> Option<String> {
    let (user, host) = encoded.rsplit_once('=')?;
    (!user.is_empty() && !host.is_empty() && !host.contains('@'))
        .then(|| format!("{user}@{host}").to_lowercase())
}
