//! Delivery-time rules of a mailbox: forwarding and the vacation
//! autoresponder (RFC 3834).
//!
//! Local delivery asks [`decide`] once per mailbox a message reaches,
//! with the mailbox's [`MailboxRules`], the message's envelope and header
//! section, the [`ReplyMemory`] (when each sender was last replied to)
//! and the time. The answer is a [`Decision`]: whether a copy goes into
//! the mailbox, the envelope of a forwarded copy (the original message,
//! unchanged but for one `Delivered-To:` trace field on top), and a
//! vacation reply with its envelope, or the rule that said no. The
//! runtime only carries the decision out; this module reads no file and
//! no clock.
//!
//! What RFC 3834 asks of a responder, each a [`NoReply`] reason: never
//! to a null reverse-path (2, 3.1.1), never to a message whose
//! `Auto-Submitted:` is other than `no` (2, 5), nor to `Precedence:
//! bulk|list|junk` or a mailing list's message (2), nor to senders such
//! as `MAILER-DAEMON`, `owner-*` or `*-request` (2); only when the
//! recipient's address is in a recipient field (2); at most once per
//! sender per period (2). The reply says `Auto-Submitted: auto-replied`
//! (5.2), refers to the original (`In-Reply-To:`, `References:`, 3.1.5),
//! goes to the reverse-path (3.1.1) with a null reverse-path of its own
//! (3.3), from the address the message was sent to (3.1.4).

mod headers;
mod memory;
mod reply;
mod settings;
#[cfg(test)]
mod tests;

pub use headers::Headers;
pub use memory::ReplyMemory;
pub use settings::{
    Day, Forwarding, MailboxRules, REPLIED_FILE, RULES_FILE, Vacation, day_of, format_day,
    parse_day,
};

use crate::address::{ForwardPath, Mailbox, ReversePath};
use crate::directory::{Directory, RecipientVerdict};
use crate::envelope::{ClientInfo, Destination, Envelope, LocalMailbox, Recipient};
use crate::limits::FORWARD_DELIVERED_TO_MAX;
use crate::text::escape_controls;
use crate::time::UnixTime;
use std::fmt;

/// One message reaching one mailbox, as the rules see it.
pub struct Arrival<'a> {
    /// The message's envelope, as queued.
    pub envelope: &'a Envelope,
    /// The mailbox it reached.
    pub mailbox: &'a LocalMailbox,
    /// The local domains, users and aliases.
    pub directory: &'a Directory,
    /// The message's header section.
    pub headers: &'a Headers,
    /// When each sender was last sent a vacation reply from this mailbox.
    pub memory: &'a ReplyMemory,
    pub now: UnixTime,
    /// This server's name, for the reply's Message-ID and trace.
    pub hostname: &'a str,
    /// The original's queue ID, for the reply's Message-ID.
    pub queue_id: &'a str,
}

/// What to do with one message for one mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Put a copy in the mailbox.
    pub keep_copy: bool,
    /// A copy to forward, if any address is left to forward to.
    pub forward: Option<Forward>,
    /// Forward addresses dropped, and why.
    pub not_forwarded: Vec<(String, NotForwarded)>,
    /// The vacation reply, or why there is none.
    pub reply: Result<VacationReply, NoReply>,
}

/// A forwarded copy: the original message with `trace` on top, sent with
/// `envelope` (the original reverse-path, so failures go back to the
/// sender, to the forward addresses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    pub envelope: Envelope,
    /// `Delivered-To: MAILBOX` and CRLF: the mark that stops a loop.
    pub trace: String,
}

/// A vacation reply, ready to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VacationReply {
    /// Null reverse-path, to the original's reverse-path.
    pub envelope: Envelope,
    /// The whole message, CRLF line ends.
    pub message: Vec<u8>,
    /// The key to remember the reply by ([`ReplyMemory::remember`]).
    pub sender: String,
    /// The mailbox's days between replies to one sender.
    pub days: u32,
}

/// Why a forward address got no copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotForwarded {
    /// The message already passed through this mailbox (its
    /// `Delivered-To:` names it): forwarding again would go round.
    Loop,
    /// More `Delivered-To:` fields than [`FORWARD_DELIVERED_TO_MAX`].
    TooManyHops,
    /// The address leads back to this mailbox.
    OwnMailbox,
    /// Our domain, but no such user: it could never be delivered.
    UnknownLocalUser,
}

impl fmt::Display for NotForwarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotForwarded::Loop => {
                "the message was delivered to this mailbox before (Delivered-To): a forwarding loop"
            }
            NotForwarded::TooManyHops => "the message was forwarded too many times already",
            NotForwarded::OwnMailbox => "the address leads back to this mailbox",
            NotForwarded::UnknownLocalUser => "no such local user",
        })
    }
}

/// Why no vacation reply is sent: each variant one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoReply {
    /// No vacation set, or switched off.
    Off,
    /// Before the start date.
    NotStarted,
    /// After the end date.
    Ended,
    /// RFC 3834 2, 3.1.1: the reverse-path is null (a bounce).
    NullSender,
    /// RFC 3834 2, 5: `Auto-Submitted:` other than `no`.
    AutoSubmitted(String),
    /// RFC 3834 2: `Precedence: bulk`, `list` or `junk`.
    Precedence(String),
    /// RFC 3834 2 (RFC 2369, RFC 2919): a mailing list's message.
    ListMessage(&'static str),
    /// RFC 3834 2: a robot's address (`MAILER-DAEMON`, `owner-*`,
    /// `*-request`, ...).
    RobotSender(String),
    /// The sender is this mailbox itself.
    OwnAddress,
    /// RFC 3834 2: the mailbox's address is in no recipient field.
    NotAddressedToUser,
    /// RFC 3834 2: replied to this sender within the period.
    RepliedRecently(UnixTime),
    /// The sender is in our domain but no user: a reply could not be
    /// delivered.
    UnknownLocalSender,
}

impl fmt::Display for NoReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoReply::Off => f.write_str("no vacation set"),
            NoReply::NotStarted => f.write_str("the vacation has not started"),
            NoReply::Ended => f.write_str("the vacation has ended"),
            NoReply::NullSender => f.write_str("the reverse-path is null (RFC 3834 2)"),
            NoReply::AutoSubmitted(value) => {
                write!(
                    f,
                    "Auto-Submitted: {} (RFC 3834 2, 5)",
                    escape_controls(value)
                )
            }
            NoReply::Precedence(value) => {
                write!(f, "Precedence: {} (RFC 3834 2)", escape_controls(value))
            }
            NoReply::ListMessage(field) => {
                write!(f, "a mailing list's message ({field}; RFC 3834 2)")
            }
            NoReply::RobotSender(sender) => {
                write!(
                    f,
                    "{} is an automatic sender (RFC 3834 2)",
                    escape_controls(sender)
                )
            }
            NoReply::OwnAddress => f.write_str("the sender is this mailbox"),
            NoReply::NotAddressedToUser => {
                f.write_str("the mailbox's address is in no To or Cc (RFC 3834 2)")
            }
            NoReply::RepliedRecently(at) => {
                write!(f, "replied to this sender at {} already", at.to_rfc5322())
            }
            NoReply::UnknownLocalSender => f.write_str("the sender is no local user"),
        }
    }
}

/// Decides what happens to one message for one mailbox (see the module
/// docs). Inert rules give a copy and nothing else.
pub fn decide(rules: &MailboxRules, arrival: &Arrival<'_>) -> Decision {
    let own = own_addresses(arrival);
    let (mut keep_copy, forward, not_forwarded) = match &rules.forward {
        None => (true, None, Vec::new()),
        Some(forwarding) => forward(forwarding, arrival, &own),
    };
    // Mail is never dropped: with no forward left, it stays here.
    if forward.is_none() {
        keep_copy = true;
    }
    let reply = match &rules.vacation {
        Some(vacation) if vacation.enabled => reply::decide(vacation, arrival, &own),
        _ => Err(NoReply::Off),
    };
    Decision {
        keep_copy,
        forward,
        not_forwarded,
        reply,
    }
}

/// The mailbox's own addresses, lower-case: its canonical address, the
/// aliases that lead to it, and the envelope recipients that reached it.
fn own_addresses(arrival: &Arrival<'_>) -> Vec<String> {
    let canonical = arrival.mailbox.to_string().to_lowercase();
    let mut own = arrival.directory.owned_addresses(&canonical);
    for recipient in &arrival.envelope.recipients {
        if let (Destination::Local(mailbox), ForwardPath::Mailbox(address)) =
            (&recipient.destination, &recipient.forward_path)
            && mailbox == arrival.mailbox
        {
            let address = address.to_string().to_lowercase();
            if !own.contains(&address) {
                own.push(address);
            }
        }
    }
    own
}

/// The address a forwarded copy and a reply carry as the mailbox's own.
fn canonical(arrival: &Arrival<'_>) -> String {
    arrival.mailbox.to_string().to_lowercase()
}

fn forward(
    forwarding: &Forwarding,
    arrival: &Arrival<'_>,
    own: &[String],
) -> (bool, Option<Forward>, Vec<(String, NotForwarded)>) {
    let delivered_to: Vec<String> = arrival
        .headers
        .all("delivered-to")
        .map(str::to_lowercase)
        .collect();
    let whole = if delivered_to.iter().any(|d| own.contains(d)) {
        Some(NotForwarded::Loop)
    } else if delivered_to.len() >= FORWARD_DELIVERED_TO_MAX {
        Some(NotForwarded::TooManyHops)
    } else {
        None
    };
    let mut recipients = Vec::new();
    let mut not_forwarded = Vec::new();
    for address in &forwarding.to {
        if let Some(reason) = whole {
            not_forwarded.push((address.clone(), reason));
            continue;
        }
        let Ok(mailbox) = crate::address::parse_mailbox(address) else {
            continue;
        };
        let forward_path = ForwardPath::Mailbox(mailbox);
        let destination = match arrival.directory.resolve(&forward_path) {
            RecipientVerdict::Local(target) if &target == arrival.mailbox => {
                not_forwarded.push((address.clone(), NotForwarded::OwnMailbox));
                continue;
            }
            RecipientVerdict::Local(target) => Destination::Local(target),
            RecipientVerdict::NotLocal => Destination::Remote,
            RecipientVerdict::UnknownLocalUser => {
                not_forwarded.push((address.clone(), NotForwarded::UnknownLocalUser));
                continue;
            }
        };
        recipients.push(Recipient {
            forward_path,
            destination,
        });
    }
    if recipients.is_empty() {
        return (true, None, not_forwarded);
    }
    let original = arrival.envelope;
    let envelope = Envelope {
        reverse_path: original.reverse_path.clone(),
        smtputf8: original.smtputf8 || recipients.iter().any(|r| !is_ascii(&r.forward_path)),
        recipients,
        body: original.body,
        client: ClientInfo {
            helo: arrival.hostname.to_owned(),
            address: format!("(forwarded by {})", canonical(arrival)),
            // A forwarded copy is ours only if the original was.
            submitted: original.client.submitted,
        },
    };
    let forward = Forward {
        envelope,
        trace: format!("Delivered-To: {}\r\n", canonical(arrival)),
    };
    (forwarding.keep, Some(forward), not_forwarded)
}

fn is_ascii(path: &ForwardPath) -> bool {
    match path {
        ForwardPath::Mailbox(mailbox) => mailbox.is_ascii(),
        ForwardPath::Postmaster => true,
    }
}

/// The sender to reply to, if the reverse-path is not null.
fn sender(reverse_path: &ReversePath) -> Option<&Mailbox> {
    match reverse_path {
        ReversePath::Null => None,
        ReversePath::Mailbox(mailbox) => Some(mailbox),
    }
}
