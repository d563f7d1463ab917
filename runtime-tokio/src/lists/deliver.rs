//! Delivery to a list's addresses: what local delivery does instead of a
//! Maildir copy when a recipient is a list, its request address or its
//! bounce address. The core decides ([`postern_core::lists`]); this
//! carries it out, in an order that never loses a copy:
//!
//! 1. the state is read, changed and written under the list's lock (a
//!    held post's message is kept before the state names it);
//! 2. the copies of a distributed post are committed to the spool, one
//!    spool message per subscriber (each has its own VERP return path),
//!    then the list's notices;
//! 3. the post goes into the list's archive mailbox (exactly once: the
//!    Maildir copy is named by the queue ID);
//! 4. only then is the list recipient reported delivered.
//!
//! A crash (or an error) between 1 and 4 leaves the recipient pending,
//! and the next try does it all again: subscribers whose copies were
//! committed before the crash get the post twice, confirmations and
//! approval requests may go twice (a second held entry and token for a
//! held post). Nothing committed is ever lost. That is the documented
//! window (see the book's chapter on mailing lists).

use super::store::ListStore;
use super::{ListBook, Target};
use crate::delivery::Context;
use crate::environment::Environment;
use crate::spool::SpoolRecord;
use postern_core::autoreply::Headers;
use postern_core::envelope::{Envelope, LocalMailbox, QueueId};
use postern_core::limits::LIST_POST_BYTES_MAX;
use postern_core::lists::{
    self, Copy, Links, Outcome, PostVerdict, Role, command_text, copies_of_post, list_headers,
    rewrite_header,
};
use postern_core::rng::Rng;
use postern_core::smtp::server::BodyType;
use postern_core::text::escape_controls;
use std::io;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Hands message `record` to the list `target` names; answers what was
/// done, for the log.
pub async fn deliver_to_list<E: Environment>(
    context: &Context<E>,
    book: &Arc<ListBook>,
    record: &Arc<SpoolRecord>,
    target: Target,
) -> io::Result<String> {
    let id = record.queue_id;
    let message = read_message(context, record).await?;
    let Some(message) = message else {
        tracing::warn!(queue_id = %id, list = %target.definition.address(), "{id}: over {LIST_POST_BYTES_MAX} octets; not taken by the list");
        return Ok(format!(
            "dropped by {}: too large",
            target.definition.address()
        ));
    };
    let seed = book.store().seed();
    let web_url = book.web_url();
    let now = context.env.now();
    let (book2, envelope) = (Arc::clone(book), record.envelope.clone());
    let directory = Arc::clone(&context.directory);
    let definition = target.definition.clone();
    let role = target.role.clone();
    let message = Arc::new(message);
    let shared = Arc::clone(&message);
    let key = (record.queue_id, record.received_at);
    let (outcome, released, digests) = book
        .run(move || {
        let store = Arc::clone(book2.store());
        let list = definition.address();
        let mut rng = Rng::new(seed);
        let core = lists::Context {
            definition: &definition,
            directory: &directory,
            hostname: book2.hostname(),
            web_url: web_url.as_deref(),
            now,
        };
        store.update(&list, |state| {
            let outcome = match &role {
                Role::Post => {
                    let headers = Headers::parse(header_section(&shared));
                    let outcome = lists::handle_post(&core, state, &mut rng, &envelope, &headers);
                    if let Some(PostVerdict::Hold(token)) = &outcome.verdict {
                        store.write_held(&list, token, &shared)?;
                    }
                    outcome
                }
                Role::Request => {
                    let headers = Headers::parse(header_section(&shared));
                    let (_, body) = command_text(&shared);
                    lists::handle_commands(&core, state, &mut rng, &envelope, &headers, &body)
                }
                Role::Bounce(subscriber) => {
                    lists::handle_bounce(&core, state, &mut rng, subscriber.as_deref())
                }
            };
            // Approved posts: their copies, made from the state as it is
            // now (the approval may come after members changed).
            let mut released = Vec::new();
            for token in &outcome.release {
                match store.read_held(&list, token) {
                    Ok(held) => released.push((
                        token.clone(),
                        copies_of_post(&core, state, &held_envelope(&envelope)),
                        held,
                    )),
                    Err(error) => tracing::error!(list = %definition.address(), %error, "held post {token} cannot be read; not distributed"),
                }
            }
            let digests = gather_digests(&core, state, &mut rng, (store.as_ref(), &list), key, &outcome, &shared, &released)?;
            let changed = outcome.state_changed;
            Ok(((outcome, released, digests), changed))
        })
    })
        .await?;
    let id = record.queue_id;
    let mut done = carry_out(context, book, record, &target, outcome, &message, released).await?;
    for (batch, copies) in digests {
        for copy in copies {
            context.env.inject(copy.envelope, copy.message).await?;
        }
        tracing::info!(queue_id = %id, list = %target.definition.address(), "{id}: a digest of {} went to the digest members", target.definition.address());
        done.push_str(&format!("; digest of {}", target.definition.address()));
        let (store, list) = (Arc::clone(book.store()), target.definition.address());
        book.run(move || store.digest_sent(&list, &batch)).await?;
    }
    Ok(done)
}

/// The digests due after this message, if the list has digest members:
/// the distributed post and any released ones are kept for the next
/// digest first (see `lists/digest.rs`).
#[allow(clippy::too_many_arguments)]
fn gather_digests(
    core: &lists::Context<'_>,
    state: &lists::ListState,
    rng: &mut Rng,
    (store, list): (&dyn ListStore, &str),
    (id, received_at): (QueueId, i64),
    outcome: &Outcome,
    post: &[u8],
    released: &[(String, Vec<Copy>, Vec<u8>)],
) -> io::Result<Vec<(std::path::PathBuf, Vec<Copy>)>> {
    if state.digest_recipients().next().is_none() {
        return Ok(Vec::new());
    }
    let mut posts = Vec::new();
    if outcome.verdict == Some(PostVerdict::Distribute) {
        posts.push((
            format!("{received_at:012}-{id}"),
            rewrite_header(core.definition, post),
        ));
    }
    for (token, _, held) in released {
        posts.push((
            format!("{received_at:012}-{token}"),
            rewrite_header(core.definition, held),
        ));
    }
    Ok(store
        .gather_digest(list, &posts)?
        .into_iter()
        .map(|batch| {
            let copies = lists::digest_copies(core, state, rng, &batch.posts);
            (batch.dir, copies)
        })
        .collect())
}

/// The envelope a released post's copies take after: its body type is
/// not kept with it, so 8BITMIME is declared (harmless for 7-bit text).
fn held_envelope(approval: &Envelope) -> Envelope {
    let mut envelope = approval.clone();
    envelope.body = BodyType::EightBitMime;
    envelope
}

async fn carry_out<E: Environment>(
    context: &Context<E>,
    book: &Arc<ListBook>,
    record: &Arc<SpoolRecord>,
    target: &Target,
    outcome: Outcome,
    message: &[u8],
    released: Vec<(String, Vec<Copy>, Vec<u8>)>,
) -> io::Result<String> {
    let id = record.queue_id;
    let definition = &target.definition;
    let list = definition.address();
    for line in &outcome.log {
        tracing::info!(queue_id = %id, %list, "{id}: {list}: {line}");
    }
    let mut done = Vec::new();
    match &outcome.verdict {
        Some(PostVerdict::Distribute) => {
            let key = (record.queue_id, record.received_at);
            let count =
                distribute(context, book, key, definition, &outcome.copies, message).await?;
            done.push(format!("distributed by {list} to {count} subscriber(s)"));
        }
        Some(PostVerdict::Hold(token)) => done.push(format!("held by {list} as {token}")),
        Some(PostVerdict::Refuse(why)) => {
            tracing::info!(queue_id = %id, %list, "{id}: not distributed by {list}: {}", escape_controls(why));
            done.push(format!("refused by {list}"));
        }
        Some(PostVerdict::Loop(why)) => {
            tracing::warn!(queue_id = %id, %list, "{id}: dropped by {list}, a loop: {}", escape_controls(why));
            done.push(format!("dropped by {list} (loop)"));
        }
        None => {}
    }
    for (token, copies, held) in &released {
        // The archive copy is named by the held post's token, so that two
        // posts released by one message are two copies.
        let key = (
            QueueId(u64::from_str_radix(&token[..16], 16).unwrap_or(0)),
            record.received_at,
        );
        let count = distribute(context, book, key, definition, copies, held).await?;
        done.push(format!(
            "released a held post of {list} to {count} subscriber(s)"
        ));
    }
    for notice in outcome.notices {
        let to = notice.envelope.recipients[0].forward_path.to_string();
        let queued = context.env.inject(notice.envelope, notice.message).await?;
        done.push(format!("notice {queued} to {to}"));
    }
    let (store, discard) = (Arc::clone(book.store()), outcome.discard.clone());
    let address = list.clone();
    book.run(move || {
        for token in discard {
            store.remove_held(&address, &token)?;
        }
        Ok(())
    })
    .await?;
    if done.is_empty() {
        done.push(format!("taken by {list}"));
    }
    Ok(done.join("; "))
}

/// Commits each subscriber's copy of `post` to the spool, then keeps the
/// post in the list's archive. Answers how many copies were queued.
async fn distribute<E: Environment>(
    context: &Context<E>,
    book: &Arc<ListBook>,
    key: (QueueId, i64),
    definition: &lists::ListDefinition,
    copies: &[Copy],
    post: &[u8],
) -> io::Result<usize> {
    let id = key.0;
    let rewritten = rewrite_header(definition, post);
    for copy in copies {
        let mut data = copy.message.clone();
        data.extend_from_slice(&rewritten);
        let queued = context.env.inject(copy.envelope.clone(), data).await?;
        tracing::debug!(queue_id = %id, copy = %queued, to = %copy.envelope.recipients[0].forward_path, "list copy queued");
    }
    let web_url = book.web_url();
    let fields = list_headers(
        definition,
        Links {
            web_url: web_url.as_deref(),
            hostname: book.hostname(),
        },
        None,
    );
    let archive = LocalMailbox {
        domain: definition.domain.clone(),
        user: definition.local.clone(),
    };
    let store = Arc::clone(book.store());
    let place = book
        .run(move || store.archive(&archive, key, fields.as_bytes(), &rewritten))
        .await?;
    tracing::info!(queue_id = %id, list = %definition.address(), archive = %place, "{id}: archived by {}", definition.address());
    Ok(copies.len())
}

/// The whole message, or `None` if it is over [`LIST_POST_BYTES_MAX`].
async fn read_message<E: Environment>(
    context: &Context<E>,
    record: &SpoolRecord,
) -> io::Result<Option<Vec<u8>>> {
    let (size, data) = context.env.data(record.queue_id).await?;
    if size > LIST_POST_BYTES_MAX as u64 {
        return Ok(None);
    }
    let mut message = Vec::with_capacity(size as usize);
    data.take(LIST_POST_BYTES_MAX as u64)
        .read_to_end(&mut message)
        .await?;
    Ok(Some(message))
}

/// The header section of `message`: up to the blank line.
fn header_section(message: &[u8]) -> &[u8] {
    let mut start = 0;
    while let Some(end) = message[start..].iter().position(|&b| b == b'\n') {
        let line = &message[start..start + end + 1];
        if line == b"\r\n" || line == b"\n" {
            return &message[..start];
        }
        start += end + 1;
    }
    message
}
