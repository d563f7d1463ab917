//! DKIM signatures for outbound messages: which ones, for which domain
//! (core's [`signing_domain`]), made once per attempt and sent in front of
//! the spooled message, which is left as it is.

use super::Context;
use crate::environment::Environment;
use postern_core::envelope::{Envelope, QueueId};
use postern_core::mail_auth::dkim::signing_domain;
use std::io;
use std::sync::Arc;
use tokio::io::AsyncReadExt as _;

/// The `DKIM-Signature:` fields to send before message `id`, or nothing
/// when it is not signed: no keys, not submitted here, or no key for its
/// author's or sender's domain. An error is the message's to report: it
/// could not be read, or a key failed (the attempt is retried rather than
/// sent unsigned, which a receiver enforcing DMARC would refuse).
pub(super) async fn signature<E: Environment>(
    context: &Context<E>,
    id: QueueId,
    envelope: &Envelope,
) -> io::Result<Vec<u8>> {
    let signers = &context.dkim;
    if signers.is_empty() || !envelope.client.submitted {
        return Ok(Vec::new());
    }
    let header_section = context.env.header_section(id).await?;
    let Some(domain) = signing_domain(
        &header_section,
        &envelope.reverse_path,
        envelope.client.submitted,
        signers.configs(),
    ) else {
        return Ok(Vec::new());
    };
    // Held while the message is in memory.
    let _slot = signers.slot().await;
    let (size, mut data) = context.env.data(id).await?;
    let mut message = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    data.read_to_end(&mut message).await?;
    let signers = Arc::clone(signers);
    let fields = tokio::task::spawn_blocking(move || signers.sign(&domain, &message))
        .await
        .map_err(io::Error::other)?
        .map_err(io::Error::other)?;
    tracing::debug!(queue_id = %id, "{id}: signed with DKIM");
    Ok(fields)
}
