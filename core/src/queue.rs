//! The queue's decisions: each recipient's state, when to try again, when
//! to give up, and what goes into a bounce.
//!
//! The runtime keeps a [`DeliveryState`] beside each spool file and
//! rewrites it durably after every attempt, so a crash loses no result: a
//! recipient may be tried twice after a crash (its result was not yet
//! written), never zero times.

mod first_try;
pub mod lease;
pub mod row;

pub use first_try::FirstTries;

use crate::address::{ForwardPath, ReversePath};
use crate::envelope::{Destination, Envelope};
use crate::limits::BOUNCE_DETAIL_BYTES_MAX;
use crate::smtp::client::Verdict;
use crate::smtp::server::BodyType;
use crate::text::{bounded, counted, escape_controls};
use crate::time::UnixTime;
use bincode::{Decode, Encode};
use std::fmt;
use std::time::Duration;

/// The retry schedule: the delay before each retry (the last repeats), and
/// how long after arrival to give up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    pub delays: Vec<Duration>,
    pub expire_after: Duration,
}

impl Default for RetrySchedule {
    /// In the spirit of RFC 5321 4.5.4.1: retries soon within the first
    /// hour (5, 10, 15 and 30 minutes), then every 1, 2 and 4 hours, and
    /// give up after 5 days.
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        RetrySchedule {
            delays: vec![
                minutes(5),
                minutes(10),
                minutes(15),
                minutes(30),
                minutes(60),
                minutes(120),
                minutes(240),
            ],
            expire_after: Duration::from_secs(5 * 24 * 60 * 60),
        }
    }
}

impl RetrySchedule {
    /// When to try again after `attempts` failed attempts, the last at
    /// `now`; `None` when the message has been queued too long.
    pub fn next_attempt(
        &self,
        received_at: UnixTime,
        attempts: u32,
        now: UnixTime,
    ) -> Option<UnixTime> {
        let index = (attempts.max(1) as usize - 1).min(self.delays.len().saturating_sub(1));
        let delay = self
            .delays
            .get(index)
            .copied()
            .unwrap_or(Duration::from_secs(3600));
        let seconds = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let next = now.0.saturating_add(seconds(delay));
        let expires = received_at.0.saturating_add(seconds(self.expire_after));
        (now.0 < expires).then_some(UnixTime(next.min(expires)))
    }

    /// The same expiry, with every retry `delay` after the last: for a
    /// failure of the store the message is in (its database could not be
    /// reached), which says nothing about the recipient.
    pub fn with_delay(&self, delay: Duration) -> RetrySchedule {
        RetrySchedule {
            delays: vec![delay],
            expire_after: self.expire_after,
        }
    }
}

/// The last detail of a recipient whose copy is in its local mailbox
/// (on files, a Maildir; on the postgres backend, the database).
pub const DELIVERED_LOCALLY_DETAIL: &str = "delivered to the mailbox";

/// Where one recipient stands.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Status {
    /// Still to deliver, not before `next_attempt`.
    Pending { next_attempt: UnixTime },
    /// Handed over: in a local Maildir, or accepted by the next server.
    Delivered,
    /// Given up on; the sender was (or will be) told.
    Failed,
}

/// One recipient's delivery record.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RecipientState {
    pub status: Status,
    pub attempts: u32,
    /// The last reply or error, for `queue list` and the bounce.
    pub last_detail: String,
}

/// Every recipient's record, in the envelope's order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct DeliveryState {
    pub recipients: Vec<RecipientState>,
    /// A bounce has been queued for the failed recipients up to here,
    /// so a restart does not send it twice.
    pub bounced: Vec<bool>,
}

impl DeliveryState {
    /// A fresh message: every recipient pending now.
    pub fn new(envelope: &Envelope, now: UnixTime) -> Self {
        let count = envelope.recipients.len();
        DeliveryState {
            recipients: vec![
                RecipientState {
                    status: Status::Pending { next_attempt: now },
                    attempts: 0,
                    last_detail: String::new(),
                };
                count
            ],
            bounced: vec![false; count],
        }
    }

    /// Nothing is left to do: every recipient is delivered or failed, and
    /// every failure has its bounce queued.
    pub fn is_done(&self) -> bool {
        self.recipients
            .iter()
            .zip(&self.bounced)
            .all(|(r, bounced)| match r.status {
                Status::Pending { .. } => false,
                Status::Delivered => true,
                Status::Failed => *bounced,
            })
    }

    /// Whether delivering recipients `indexes` leaves nothing to do: every
    /// other recipient is delivered, or failed with its bounce queued.
    /// Then the delivery that settles them may remove the message at once,
    /// in the same step as its copies, once they are durable.
    pub fn done_once_delivered(&self, indexes: &[usize]) -> bool {
        self.recipients
            .iter()
            .zip(&self.bounced)
            .enumerate()
            .all(|(i, (r, bounced))| match r.status {
                _ if indexes.contains(&i) => true,
                Status::Pending { .. } => false,
                Status::Delivered => true,
                Status::Failed => *bounced,
            })
    }

    /// Recipients (by index) that are pending and due at `now`.
    pub fn due(&self, now: UnixTime) -> Vec<usize> {
        self.recipients
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.status, Status::Pending { next_attempt } if next_attempt <= now))
            .map(|(i, _)| i)
            .collect()
    }

    /// The earliest next attempt of any pending recipient.
    pub fn next_attempt(&self) -> Option<UnixTime> {
        self.recipients
            .iter()
            .filter_map(|r| match r.status {
                Status::Pending { next_attempt } => Some(next_attempt),
                _ => None,
            })
            .min()
    }

    /// Makes every pending recipient due now (`postern queue flush`).
    pub fn flush(&mut self, now: UnixTime) {
        for recipient in &mut self.recipients {
            if let Status::Pending { next_attempt } = &mut recipient.status {
                *next_attempt = now;
            }
        }
    }

    /// Records one attempt's result for recipient `index`.
    pub fn record(
        &mut self,
        index: usize,
        verdict: Verdict,
        detail: &str,
        now: UnixTime,
        received_at: UnixTime,
        schedule: &RetrySchedule,
    ) {
        let recipient = &mut self.recipients[index];
        if !matches!(recipient.status, Status::Pending { .. }) {
            return;
        }
        recipient.attempts += 1;
        recipient.last_detail = detail.to_owned();
        recipient.status = match verdict {
            Verdict::Delivered => Status::Delivered,
            Verdict::Failed => Status::Failed,
            Verdict::Deferred => {
                match schedule.next_attempt(received_at, recipient.attempts, now) {
                    Some(next_attempt) => Status::Pending { next_attempt },
                    None => {
                        recipient.last_detail = format!(
                            "gave up after {} over {}; last: {detail}",
                            counted(recipient.attempts, "attempt", "attempts"),
                            humanize(schedule.expire_after)
                        );
                        Status::Failed
                    }
                }
            }
        };
    }

    /// Failed recipients still without a bounce: (index, detail).
    pub fn unbounced_failures(&self) -> Vec<(usize, String)> {
        self.recipients
            .iter()
            .enumerate()
            .filter(|(i, r)| r.status == Status::Failed && !self.bounced[*i])
            .map(|(i, r)| (i, r.last_detail.clone()))
            .collect()
    }

    pub fn mark_bounced(&mut self, indexes: &[usize]) {
        for &i in indexes {
            self.bounced[i] = true;
        }
    }
}

fn humanize(duration: Duration) -> String {
    let hours = duration.as_secs() / 3600;
    if hours >= 24 && hours % 24 == 0 {
        counted(hours / 24, "day", "days")
    } else if hours >= 1 {
        counted(hours, "hour", "hours")
    } else {
        counted(duration.as_secs(), "second", "seconds")
    }
}

/// The remote recipients of `envelope` that are due, grouped by domain
/// (lower-case), in a stable order: one delivery attempt per group.
pub fn remote_groups(
    envelope: &Envelope,
    state: &DeliveryState,
    now: UnixTime,
) -> Vec<(String, Vec<usize>)> {
    let mut groups: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    for index in state.due(now) {
        let recipient = &envelope.recipients[index];
        if recipient.destination != Destination::Remote {
            continue;
        }
        let domain = match &recipient.forward_path {
            ForwardPath::Mailbox(mailbox) => mailbox.domain.to_ascii_lowercase(),
            // <Postmaster> is always local.
            ForwardPath::Postmaster => continue,
        };
        groups.entry(domain).or_default().push(index);
    }
    groups.into_iter().collect()
}

/// One failed recipient, for a bounce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub recipient: ForwardPath,
    pub detail: String,
}

/// A bounce to send: its envelope sender is null, so it is never bounced
/// itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounce {
    pub recipient: ForwardPath,
    /// The whole message, CRLF line endings.
    pub message: Vec<u8>,
    /// How its envelope must declare it: `BODY=8BITMIME` when it carries
    /// 8-bit octets (quoted UTF-8 headers, a UTF-8 address).
    pub body: BodyType,
    /// `SMTPUTF8` when an address in it is not ASCII (RFC 6531): the
    /// bounce goes back to a UTF-8 sender, or names a UTF-8 recipient.
    pub smtputf8: bool,
}

/// What a bounce needs to know of the message that failed.
pub struct BounceContext<'a> {
    /// Our host name (Reporting-MTA, From: MAILER-DAEMON@).
    pub hostname: &'a str,
    pub queue_id: &'a str,
    pub reverse_path: &'a ReversePath,
    pub arrived: UnixTime,
    pub now: UnixTime,
    /// The original message's header section, CRLF endings, without the
    /// blank line (RFC 3462 text/rfc822-headers).
    pub original_headers: &'a [u8],
    /// Makes the MIME boundary unique and reproducible.
    pub seed: u64,
}

/// A delivery status notification (RFC 3464) for `failures`, addressed to
/// the original sender; `None` when the sender is null (a bounce is never
/// bounced: RFC 5321 6.1, RFC 3464 2).
pub fn bounce(context: &BounceContext<'_>, failures: &[Failure]) -> Option<Bounce> {
    let ReversePath::Mailbox(sender) = context.reverse_path else {
        return None;
    };
    if failures.is_empty() {
        return None;
    }
    let boundary = format!(
        "{:016x}/{}",
        crate::rng::Rng::new(context.seed).next_u64(),
        context.hostname
    );
    let mut text = String::new();
    let mut line = |l: &str| {
        text.push_str(l);
        text.push_str("\r\n");
    };
    line(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{}>",
        context.hostname
    ));
    line(&format!("To: {sender}"));
    line("Subject: Undelivered Mail Returned to Sender");
    line(&format!("Date: {}", context.now.to_rfc5322()));
    line(&format!(
        "Message-ID: <{}.bounce@{}>",
        context.queue_id, context.hostname
    ));
    line("Auto-Submitted: auto-replied");
    line("MIME-Version: 1.0");
    line(&format!(
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\""
    ));
    line("");
    line("This is a MIME-encapsulated message.");
    line("");
    line(&format!("--{boundary}"));
    line("Content-Type: text/plain; charset=us-ascii");
    line("");
    line(&format!(
        "This is the mail system at host {}.",
        context.hostname
    ));
    line("");
    line("Your message could not be delivered to one or more recipients.");
    line(&format!(
        "It arrived here as {} on {}.",
        context.queue_id,
        context.arrived.to_rfc5322()
    ));
    line("");
    // The details come from remote servers and DNS: escaped and cut, so
    // that none can end a line (or forge a MIME part) and every line stays
    // within RFC 5322 2.1.1's 998 octets.
    let details: Vec<String> = failures
        .iter()
        .map(|failure| {
            let escaped = escape_controls(&failure.detail);
            bounded(&escaped, BOUNCE_DETAIL_BYTES_MAX).into_owned()
        })
        .collect();
    for (failure, detail) in failures.iter().zip(&details) {
        line(&format!("{}: {detail}", failure.recipient));
    }
    line("");
    line(&format!("--{boundary}"));
    line("Content-Type: message/delivery-status");
    line("");
    line(&format!("Reporting-MTA: dns; {}", context.hostname));
    line(&format!("X-Postern-Queue-ID: {}", context.queue_id));
    line(&format!("Arrival-Date: {}", context.arrived.to_rfc5322()));
    for (failure, detail) in failures.iter().zip(&details) {
        line("");
        let address = match &failure.recipient {
            ForwardPath::Mailbox(mailbox) => mailbox.to_string(),
            ForwardPath::Postmaster => "postmaster".to_owned(),
        };
        line(&format!("Final-Recipient: rfc822; {address}"));
        line("Action: failed");
        line(&format!("Status: {}", status_of(detail)));
        line(&format!("Diagnostic-Code: smtp; {detail}"));
        line(&format!("Last-Attempt-Date: {}", context.now.to_rfc5322()));
    }
    line("");
    line(&format!("--{boundary}"));
    line("Content-Type: text/rfc822-headers");
    line("");
    let mut message = text.into_bytes();
    message.extend_from_slice(context.original_headers);
    if !context.original_headers.ends_with(b"\r\n") && !context.original_headers.is_empty() {
        message.extend_from_slice(b"\r\n");
    }
    message.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let smtputf8 = !sender.is_ascii()
        || failures.iter().any(|failure| match &failure.recipient {
            ForwardPath::Mailbox(mailbox) => !mailbox.is_ascii(),
            ForwardPath::Postmaster => false,
        });
    let body = if message.is_ascii() {
        BodyType::SevenBit
    } else {
        BodyType::EightBitMime
    };
    Some(Bounce {
        recipient: ForwardPath::Mailbox(sender.clone()),
        message,
        body,
        smtputf8,
    })
}

/// The RFC 3463 status in a reply such as `550 5.1.1 ...`, or a generic
/// permanent failure. After a fallback the smarthost's answer decided, so
/// its status is the one reported (`direct: ...; smarthost: 550 5.1.1`).
fn status_of(detail: &str) -> String {
    let decided = detail
        .rsplit_once("; smarthost: ")
        .map_or(detail, |(_, smarthost)| smarthost);
    let found = decided.split_whitespace().find(|word| {
        let parts: Vec<&str> = word.split('.').collect();
        parts.len() == 3
            && matches!(parts[0], "4" | "5")
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    });
    match found {
        Some(status) => status.to_owned(),
        None => "5.0.0".to_owned(),
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Pending { next_attempt } => write!(f, "pending until {}", next_attempt.0),
            Status::Delivered => f.write_str("delivered"),
            Status::Failed => f.write_str("failed"),
        }
    }
}

#[cfg(test)]
mod tests;
