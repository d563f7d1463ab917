//! The mail-to-news gateway in delivery: mail for a newsgroup's
//! `address` is posted to the group.
//!
//! The article keeps the mail's Message-ID, or gets one made from the
//! queue ID, so a delivery repeated after a crash finds it already in the
//! group and stores no second copy.

use super::{NewsStore, PostError};
use crate::delivery::Context;
use crate::environment::Environment;
use crate::spool::SpoolRecord;
use postern_core::limits::NNTP_POST_BYTES_MAX;
use postern_core::nntp::gateway::article_from_mail;
use postern_core::nntp::{GroupName, Injection};
use std::io;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Posts message `record` to `group`; answers what was done, for the
/// log. Mail that cannot be an article (no From, too large, a loop) is
/// dropped with a log line; a store that fails is retried later.
pub async fn deliver_to_group<E: Environment>(
    context: &Context<E>,
    news: &NewsStore,
    record: &Arc<SpoolRecord>,
    group: GroupName,
) -> io::Result<String> {
    let id = record.queue_id;
    let (size, data) = context.env.data(id).await?;
    if size > NNTP_POST_BYTES_MAX {
        tracing::warn!(queue_id = %id, %group, "{id}: {size} octets, over the {NNTP_POST_BYTES_MAX} an article may have; not posted to {group}");
        return Ok(format!("not posted to {group}: too large for an article"));
    }
    let mut mail = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    data.take(NNTP_POST_BYTES_MAX)
        .read_to_end(&mut mail)
        .await?;
    let now = context.env.now();
    let injection = Injection {
        hostname: &context.hostname,
        message_id: format!("<{id}.{group}@{}>", context.hostname),
        date: now,
    };
    let article = match article_from_mail(&mail, &group, &injection) {
        Ok(article) => article,
        Err(reason) => {
            tracing::warn!(queue_id = %id, %group, "{id}: not posted to {group}: {reason}");
            return Ok(format!("not posted to {group}: {reason}"));
        }
    };
    match news
        .post(&article.bytes, std::slice::from_ref(&group), now)
        .await
    {
        Ok(posted) => {
            let numbers: Vec<String> = posted.stored.iter().map(|(_, n)| n.to_string()).collect();
            Ok(format!(
                "posted to {group} as article {} ({})",
                numbers.join(","),
                article.message_id
            ))
        }
        Err(PostError::Duplicate(message_id)) => Ok(format!("already in {group} ({message_id})")),
        Err(PostError::Store(error)) => Err(io::Error::other(error.to_string())),
        Err(refused) => {
            tracing::warn!(queue_id = %id, %group, "{id}: not posted to {group}: {refused}");
            Ok(format!("not posted to {group}: {refused}"))
        }
    }
}
