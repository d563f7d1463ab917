//! Local delivery of one message: a copy into the Maildir of each local
//! recipient's mailbox, under the mailbox's settings.
//!
//! Most mailboxes have no settings that ask for more than a copy, so the
//! store reads their settings and makes their copies in one step
//! ([`crate::environment::QueueStore::deliver_plain`]: on disk, one trip to the blocking
//! threads); when those copies are all the message still needs, the same
//! step removes it from the queue, after the copies are durable. Mailing
//! lists, news gateways and mailboxes that forward, answer or file a
//! blocked sender's mail in Junk are delivered one by one
//! ([`super::rules`]).

use super::{Context, rules};
use crate::environment::{Environment, PlainCopy};
use crate::spool::SpoolRecord;
use postern_core::envelope::{Destination, LocalMailbox};
use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

/// What a local delivery did.
pub(super) struct LocalDone {
    /// Recipient indexes now in their Maildir.
    pub delivered: Vec<usize>,
    /// The error that stopped the rest, if one did.
    pub error: Option<io::Error>,
    /// The message was removed from the queue: it needed nothing more.
    pub removed: bool,
}

/// Copies the message into the Maildir of each local recipient in
/// `indexes` (once per mailbox), and forwards it and answers it as the
/// mailbox's settings say. With `settles` (the runner's decision: these
/// recipients are all the message still waits for), the message is
/// removed once every copy is durable, if every mailbox was a plain copy.
pub(super) async fn deliver_locally<E: Environment>(
    context: &Context<E>,
    record: Arc<SpoolRecord>,
    indexes: &[usize],
    settles: bool,
) -> LocalDone {
    let mut by_mailbox: BTreeMap<&LocalMailbox, Vec<usize>> = BTreeMap::new();
    for &i in indexes {
        if let Destination::Local(mailbox) = &record.envelope.recipients[i].destination {
            by_mailbox.entry(mailbox).or_default().push(i);
        }
    }
    let mailboxes: Vec<LocalMailbox> = by_mailbox.keys().map(|&m| m.clone()).collect();
    let mut done = LocalDone {
        delivered: Vec::new(),
        error: None,
        removed: false,
    };
    // In the mailboxes' order: a gateway on its own, and each run of
    // other mailboxes in one step of the store, which stops at a mailbox
    // whose settings ask for more than a copy.
    let mut next = 0;
    while next < mailboxes.len() {
        let step = if rules::is_gateway(context, &mailboxes[next]) {
            let mailbox = &mailboxes[next];
            next += 1;
            vec![(mailbox.clone(), None)]
        } else {
            let end = mailboxes[next..]
                .iter()
                .position(|m| rules::is_gateway(context, m))
                .map_or(mailboxes.len(), |n| next + n);
            let run = mailboxes[next..end].to_vec();
            // The last step of a delivery that settles the message.
            let remove = settles && end == mailboxes.len();
            let plain = context
                .env
                .deliver_plain(Arc::clone(&record), run, remove)
                .await;
            done.removed = plain.removed;
            if plain.copies.is_empty() && plain.error.is_none() {
                // A store that tried none would loop here forever.
                done.error = Some(io::Error::other("the store tried no mailbox"));
                return done;
            }
            next += plain.copies.len();
            let mut step = Vec::new();
            for (mailbox, copy) in plain.copies {
                match copy {
                    PlainCopy::Made(path) => done.delivered(&record, &by_mailbox, &mailbox, &path),
                    PlainCopy::Ruled(rules) => step.push((mailbox, Some(rules))),
                }
            }
            if plain.error.is_some() {
                done.error = plain.error;
                return done;
            }
            step
        };
        for (mailbox, rules) in step {
            let result = match rules {
                Some(rules) => rules::deliver_with(context, &record, &mailbox, rules).await,
                None => rules::deliver_to(context, &record, &mailbox).await,
            };
            match result {
                Ok(path) => done.delivered(&record, &by_mailbox, &mailbox, &path),
                Err(error) => {
                    done.error = Some(error);
                    return done;
                }
            }
        }
    }
    done
}

impl LocalDone {
    /// Notes (and logs) the copy into `mailbox` made.
    fn delivered(
        &mut self,
        record: &SpoolRecord,
        by_mailbox: &BTreeMap<&LocalMailbox, Vec<usize>>,
        mailbox: &LocalMailbox,
        path: &str,
    ) {
        let id = record.queue_id;
        tracing::info!(queue_id = %id, to = %mailbox, %path, "{id}: delivered to {mailbox}");
        self.delivered.extend(&by_mailbox[mailbox]);
    }
}
