//! Local delivery under a mailbox's rules: the copy, the forwarded copy and
//! the vacation reply that [`postern_core::autoreply::decide`] asks for,
//! and the Junk folder for a sender on the mailbox's block list.
//!
//! A blocked sender's message goes to the mailbox's Junk folder and
//! nowhere else: no forward, no vacation reply. That holds for
//! `blocked = "refuse"` too, for the messages that reach delivery anyway
//! (the list changed after RCPT, or the message was forwarded here from
//! another mailbox): a message once accepted is never bounced for it.
//!
//! Everything here happens before the recipient's result is reported, so
//! the queue records the recipient delivered only once the copy is in the
//! Maildir, the forwarded copy and the reply are committed to the spool,
//! and the reply is remembered. A crash or an error anywhere in between
//! leaves the recipient pending: the next try makes no second Maildir
//! copy (delivery is exactly once there), but may queue the forward and
//! the reply again. Forwards and replies are at least once.

use super::Context;
use crate::environment::Environment;
use crate::spool::SpoolRecord;
use postern_core::autoreply::{self, Arrival, Headers, MailboxRules, NoReply, ReplyMemory};
use postern_core::envelope::LocalMailbox;
use postern_core::spam::ListVerdict;
use std::io;
use std::sync::Arc;

/// Delivers message `record` to `mailbox` as its rules say; answers what
/// was done, for the log.
pub(super) async fn deliver_to<E: Environment>(
    context: &Context<E>,
    record: &Arc<SpoolRecord>,
    mailbox: &LocalMailbox,
) -> io::Result<String> {
    if let Some(book) = &context.lists
        && let Some(target) = book.target(mailbox)
    {
        return crate::lists::deliver::deliver_to_list(context, book, record, target).await;
    }
    if let Some(news) = &context.news
        && let Some(group) = news.gateway_group(&mailbox.to_string())
    {
        return crate::news::deliver::deliver_to_group(context, news, record, group).await;
    }
    let rules = context.env.mailbox_rules(mailbox.clone()).await;
    deliver_with(context, record, mailbox, rules).await
}

/// Whether `mailbox` is a mailing list's or a news gateway's address,
/// whose delivery is not a copy into a Maildir.
pub(super) fn is_gateway<E: Environment>(context: &Context<E>, mailbox: &LocalMailbox) -> bool {
    context
        .lists
        .as_ref()
        .is_some_and(|book| book.target(mailbox).is_some())
        || context
            .news
            .as_ref()
            .is_some_and(|news| news.gateway_group(&mailbox.to_string()).is_some())
}

/// Delivers message `record` to `mailbox` (no list's or gateway's) under
/// its settings, read already as `rules`; answers what was done.
pub(super) async fn deliver_with<E: Environment>(
    context: &Context<E>,
    record: &Arc<SpoolRecord>,
    mailbox: &LocalMailbox,
    rules: io::Result<Option<MailboxRules>>,
) -> io::Result<String> {
    let id = record.queue_id;
    let env = &context.env;
    let rules = match rules {
        Ok(Some(rules)) => rules,
        Ok(None) => return env.deliver(Arc::clone(record), mailbox.clone()).await,
        // Settings nobody can carry out never cost a message: it stays in
        // the mailbox, and the operator hears why.
        Err(error) if error.kind() == io::ErrorKind::InvalidData => {
            tracing::error!(queue_id = %id, to = %mailbox, %error, "{id}: the forwarding and vacation settings of {mailbox} cannot be used ({error}); delivering to the mailbox only");
            return env.deliver(Arc::clone(record), mailbox.clone()).await;
        }
        Err(error) => return Err(error),
    };
    if let ListVerdict::Blocked(pattern, blocked) =
        rules.sender_lists().verdict(&record.envelope.reverse_path)
    {
        let sender = &record.envelope.reverse_path;
        tracing::info!(queue_id = %id, to = %mailbox, "{id}: {sender} is on the block list of {mailbox} ({pattern}, blocked = {blocked}): delivered to its Junk folder");
        let mut junk = SpoolRecord::clone(record);
        junk.junk = true;
        let done = env.deliver(Arc::new(junk), mailbox.clone()).await?;
        return Ok(format!("{done} (Junk: blocked sender)"));
    }
    if rules.is_inert() {
        return env.deliver(Arc::clone(record), mailbox.clone()).await;
    }
    let headers = Headers::parse(&env.header_section(id).await?);
    let memory = match &rules.vacation {
        Some(vacation) if vacation.enabled => env.reply_memory(mailbox.clone()).await?,
        _ => ReplyMemory::default(),
    };
    let now = env.now();
    let queue_id = id.to_string();
    let decision = autoreply::decide(
        &rules,
        &Arrival {
            envelope: &record.envelope,
            mailbox,
            directory: &context.directory,
            headers: &headers,
            memory: &memory,
            now,
            hostname: &context.hostname,
            queue_id: &queue_id,
        },
    );
    let mut done = Vec::new();
    if decision.keep_copy {
        done.push(env.deliver(Arc::clone(record), mailbox.clone()).await?);
    }
    for (address, why) in &decision.not_forwarded {
        tracing::warn!(queue_id = %id, to = %mailbox, "{id}: not forwarded for {mailbox} to {address}: {why}");
    }
    if let Some(forward) = decision.forward {
        let to: Vec<String> = forward
            .envelope
            .recipients
            .iter()
            .map(|r| r.forward_path.to_string())
            .collect();
        let to = to.join(", ");
        let copy = env
            .forward(forward.envelope, forward.trace.into_bytes(), id)
            .await?;
        tracing::info!(queue_id = %id, to = %mailbox, forward = %copy, "{id}: forwarded for {mailbox} to {to} as {copy}");
        done.push(format!("forwarded to {to} as {copy}"));
    }
    match decision.reply {
        Ok(reply) => {
            let sender = reply.sender.clone();
            let days = reply.days;
            let answer = env.inject(reply.envelope, reply.message).await?;
            env.remember_reply(mailbox.clone(), sender.clone(), now, days)
                .await?;
            tracing::info!(queue_id = %id, to = %mailbox, reply = %answer, "{id}: vacation reply {answer} from {mailbox} queued for {sender}");
            done.push(format!("vacation reply {answer} to {sender}"));
        }
        Err(NoReply::Off) => {}
        Err(why) => {
            tracing::info!(queue_id = %id, to = %mailbox, "{id}: no vacation reply from {mailbox}: {why}");
        }
    }
    Ok(done.join("; "))
}
