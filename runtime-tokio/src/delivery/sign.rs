//! DKIM signatures and ARC seals for outbound messages: which ones, for
//! which domain (core's [`signing_domain`] and [`seal_plan`]), made once
//! per attempt and sent in front of the spooled message, which is left as
//! it is.

use super::Context;
use crate::environment::Environment;
use postern_core::envelope::{Envelope, QueueId};
use postern_core::mail_auth::arc::seal_plan;
use postern_core::mail_auth::dkim::signing_domain;
use std::io;
use std::sync::Arc;
use tokio::io::AsyncReadExt as _;

/// The header fields to send before message `id`: an ARC set (ARC-Seal,
/// ARC-Message-Signature, ARC-Authentication-Results) when we pass on
/// mail we checked (a forwarded copy, a list post), then the
/// `DKIM-Signature:` fields when the message is ours to sign; nothing
/// when neither applies. Both are made over the message as spooled, and
/// neither covers the other. An error is the message's to report: it
/// could not be read, or a key failed (the attempt is retried rather than
/// sent unsigned, which a receiver enforcing DMARC would refuse).
pub(super) async fn signature<E: Environment>(
    context: &Context<E>,
    id: QueueId,
    envelope: &Envelope,
) -> io::Result<Vec<u8>> {
    let signers = &context.dkim;
    if signers.is_empty() {
        return Ok(Vec::new());
    }
    let header_section = context.env.header_section(id).await?;
    let domain = signing_domain(
        &header_section,
        &envelope.reverse_path,
        envelope.client.submitted,
        signers.configs(),
    );
    let plan = seal_plan(
        &header_section,
        &context.hostname,
        &envelope.reverse_path,
        envelope.client.submitted,
        &signers.sealing_keys(),
    );
    if domain.is_none() && plan.is_none() {
        return Ok(Vec::new());
    }
    // Held while the message is in memory.
    let _slot = signers.slot().await;
    let (size, mut data) = context.env.data(id).await?;
    let mut message = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    data.read_to_end(&mut message).await?;
    let signers = Arc::clone(signers);
    let now = u64::try_from(context.env.now().0).unwrap_or(0);
    let fields = tokio::task::spawn_blocking(move || {
        let mut fields = match &plan {
            Some(plan) => signers.seal(plan, &message, now)?,
            None => Vec::new(),
        };
        if let Some(domain) = &domain {
            fields.extend(signers.sign(domain, &message)?);
        }
        Ok::<_, String>(fields)
    })
    .await
    .map_err(io::Error::other)?
    .map_err(io::Error::other)?;
    tracing::debug!(queue_id = %id, "{id}: signed or sealed");
    Ok(fields)
}
