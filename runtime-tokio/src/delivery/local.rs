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
    let id = record.queue_id;
    let mut by_mailbox: BTreeMap<&LocalMailbox, Vec<usize>> = BTreeMap::new();
    for &i in indexes {
        if let Destination::Local(mailbox) = &record.envelope.recipients[i].destination {
            by_mailbox.entry(mailbox).or_default().push(i);
        }
    }
    let (gateways, plain): (Vec<_>, Vec<_>) = by_mailbox
        .keys()
        .map(|&mailbox| mailbox.clone())
        .partition(|mailbox| rules::is_gateway(context, mailbox));
    let mut done = LocalDone {
        delivered: Vec::new(),
        error: None,
        removed: false,
    };
    let mut ruled = Vec::new();
    if !plain.is_empty() {
        let remove = settles && gateways.is_empty();
        let plain = context
            .env
            .deliver_plain(Arc::clone(&record), plain, remove)
            .await;
        done.removed = plain.removed;
        for (mailbox, copy) in plain.copies {
            match copy {
                PlainCopy::Made(path) => {
                    tracing::info!(queue_id = %id, to = %mailbox, %path, "{id}: delivered to {mailbox}");
                    done.delivered.extend(&by_mailbox[&mailbox]);
                }
                PlainCopy::Ruled(rules) => ruled.push((mailbox, rules)),
            }
        }
        if plain.error.is_some() {
            done.error = plain.error;
            return done;
        }
    }
    let ruled = ruled
        .into_iter()
        .map(|(mailbox, rules)| (mailbox, Some(rules)));
    let gateways = gateways.into_iter().map(|mailbox| (mailbox, None));
    for (mailbox, rules) in ruled.chain(gateways) {
        let result = match rules {
            Some(rules) => rules::deliver_with(context, &record, &mailbox, rules).await,
            None => rules::deliver_to(context, &record, &mailbox).await,
        };
        match result {
            Ok(path) => {
                tracing::info!(queue_id = %id, to = %mailbox, %path, "{id}: delivered to {mailbox}");
                done.delivered.extend(&by_mailbox[&mailbox]);
            }
            Err(error) => {
                done.error = Some(error);
                return done;
            }
        }
    }
    done
}
