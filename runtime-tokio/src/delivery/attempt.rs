//! One outbound attempt, carried out: the DNS lookups, connections and
//! SMTP sessions a [`postern_core::route::Attempt`] asks for, all within
//! the attempt's deadline.

use super::Context;
use crate::driver::{self, Clock};
use crate::environment::Environment;
use crate::spool::SpoolRecord;
use postern_core::envelope::{Envelope, QueueId};
use postern_core::route::{Attempt, AttemptResult, Leg, Step};
use postern_core::smtp::client::{self, Content, ContentScan, Delivery, TlsPolicy};
use std::io;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Carries out one attempt: DNS, connections, SMTP sessions, all within
/// the attempt's deadline (`[outbound] attempt_timeout`, by default sized
/// from the message): past it, the attempt ends and every recipient is
/// deferred, so a server that trickles or stalls cannot hold an outbound
/// connection slot.
pub(super) async fn run_attempt<E: Environment>(
    context: Arc<Context<E>>,
    record: Arc<SpoolRecord>,
    indexes: Vec<usize>,
    mut attempt: Attempt,
) -> AttemptResult {
    let id = record.queue_id;
    let envelope = &record.envelope;
    // The message is opened once up front, for its size (the deadline
    // depends on it), and that copy serves the first session.
    let opened = match content(&context, id, envelope).await {
        Ok(content) => context.env.data(id).await.map(|data| (content, data)),
        Err(error) => Err(error),
    };
    let (content, mut data) = match opened {
        Ok((content, data)) => (content, Some(data)),
        Err(error) => {
            tracing::error!(queue_id = %id, %error, "{id}: cannot read the message; will retry");
            return AttemptResult::Undeliverable {
                detail: format!("cannot read the message: {error}"),
                permanent: false,
            };
        }
    };
    let size = data.as_ref().map_or(0, |(size, _)| *size);
    let budget = context.outbound.attempt_timeout(size, indexes.len());
    let deadline = tokio::time::Instant::now() + budget;
    let mut fallback_logged = false;
    loop {
        if !fallback_logged && let Some(why) = attempt.fallback_reason() {
            // At the default level: "delivered via smarthost" alone would
            // not say why the direct route was not taken.
            fallback_logged = true;
            let domain = attempt.destination();
            tracing::info!(queue_id = %id, %domain, "{id}: direct delivery to {domain} failed: {why}; falling back to the smarthost");
        }
        match attempt.step() {
            Step::LookUpMx { domain } => {
                match tokio::time::timeout_at(deadline, context.env.mx(&domain)).await {
                    Ok(answer) => {
                        tracing::debug!(queue_id = %id, %domain, ?answer, "MX lookup");
                        attempt.mx_answer(answer);
                    }
                    Err(_) => attempt.timed_out(budget),
                }
            }
            Step::LookUpHost { host } => {
                match tokio::time::timeout_at(deadline, context.env.host(&host)).await {
                    Ok(answer) => {
                        tracing::debug!(queue_id = %id, %host, ?answer, "address lookup");
                        attempt.host_answer(answer);
                    }
                    Err(_) => attempt.timed_out(budget),
                }
            }
            Step::Deliver {
                address,
                host,
                leg,
                tls,
            } => {
                let connect_by = driver::within(context.outbound.connect_timeout, deadline);
                let connected =
                    tokio::time::timeout_at(connect_by, context.env.connect(address)).await;
                let stream = match connected {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::info!(queue_id = %id, %host, %address, %error, "{id}: cannot connect to {host} [{address}]: {error}");
                        attempt.connect_failed(&error.to_string());
                        continue;
                    }
                    Err(_) if tokio::time::Instant::now() >= deadline => {
                        attempt.timed_out(budget);
                        continue;
                    }
                    Err(_) => {
                        tracing::info!(queue_id = %id, %host, %address, "{id}: connection to {host} [{address}] timed out");
                        attempt.connect_failed("connection timed out");
                        continue;
                    }
                };
                let session = Session {
                    host: &host,
                    leg,
                    tls,
                    deadline,
                    content,
                };
                match session
                    .run(&context, &record, &indexes, stream, data.take())
                    .await
                {
                    Ok(Some(outcome)) => {
                        if let Some(failure) = &outcome.session_failure {
                            tracing::info!(queue_id = %id, %host, %address, "{id}: {host} [{address}] failed before MAIL: {failure}");
                        }
                        attempt.session_ended(outcome);
                    }
                    Ok(None) => {
                        tracing::info!(queue_id = %id, %host, %address, "{id}: {host} [{address}]: the attempt timed out after {}s", budget.as_secs());
                        attempt.timed_out(budget);
                    }
                    Err(error) => {
                        attempt.connect_failed(&format!("cannot read the message: {error}"))
                    }
                }
            }
            Step::Finished(result) => {
                if let AttemptResult::Undeliverable { detail, .. } = &result {
                    let to: Vec<String> = indexes
                        .iter()
                        .map(|&i| envelope.recipients[i].forward_path.to_string())
                        .collect();
                    tracing::info!(queue_id = %id, to = %to.join(","), "{id}: no server took the message: {detail}");
                }
                return result;
            }
        }
    }
}

/// One SMTP client session of an attempt.
struct Session<'a> {
    host: &'a str,
    leg: Leg,
    /// STARTTLS for this session, as the attempt says.
    tls: TlsPolicy,
    /// The attempt's deadline.
    deadline: tokio::time::Instant,
    /// What the message's octets are, for the 8BITMIME and SMTPUTF8
    /// decisions.
    content: Content,
}

impl Session<'_> {
    /// Runs the session over `stream`, sending `data` if given (the
    /// message opened for the attempt, unread) or the message opened
    /// afresh; `None` when the attempt's deadline passed first.
    async fn run<E: Environment>(
        &self,
        context: &Context<E>,
        record: &SpoolRecord,
        indexes: &[usize],
        stream: E::Stream,
        data: Option<(u64, E::Data)>,
    ) -> io::Result<Option<client::Outcome>> {
        let id = record.queue_id;
        let (size, message) = match data {
            Some(data) => data,
            None => context.env.data(id).await?,
        };
        let envelope = &record.envelope;
        let delivery = Delivery {
            reverse_path: envelope.reverse_path.clone(),
            recipients: indexes
                .iter()
                .map(|&i| envelope.recipients[i].forward_path.clone())
                .collect(),
            size,
            body: envelope.body,
            smtputf8: envelope.smtputf8,
            content: self.content,
        };
        let clock = Clock::new();
        let config = context.client_config(self.leg, self.tls);
        let machine = client::Client::new(Arc::new(config), delivery, clock.now());
        let host = self.host;
        Ok(driver::run_client_until(
            stream,
            machine,
            Some((context.client_tls(self.leg), host)),
            clock,
            message,
            context.outbound.timeouts.data_block,
            self.deadline,
            |event| match event {
                client::ClientEvent::PlaintextDiscarded { .. } => {
                    tracing::warn!(queue_id = %id, %host, "{id}: {host}: {event}")
                }
                _ => tracing::debug!(queue_id = %id, %host, "{event}"),
            },
        )
        .await)
    }
}

/// What the message's octets are, for the client machine's 8BITMIME and
/// SMTPUTF8 decisions: the spooled data streamed through a
/// [`ContentScan`] in fixed-size chunks, stopping as soon as the answer is
/// known, once per attempt. A message declared 7-bit without SMTPUTF8 goes
/// as it came, so it is not read.
async fn content<E: Environment>(
    context: &Context<E>,
    id: QueueId,
    envelope: &Envelope,
) -> io::Result<Content> {
    if !Content::worth_scanning(envelope.body, envelope.smtputf8) {
        return Ok(Content::declared(envelope.body, envelope.smtputf8));
    }
    let (_, mut data) = context.env.data(id).await?;
    let mut scan = ContentScan::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = data.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        scan.push(&chunk[..n]);
        if scan.is_settled() {
            break;
        }
    }
    Ok(scan.finish())
}
