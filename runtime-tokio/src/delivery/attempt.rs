//! One outbound attempt, carried out: the DNS lookups, connections and
//! SMTP sessions a [`postern_core::route::Attempt`] asks for, all within
//! the attempt's deadline.

use super::Context;
use crate::driver::{self, Clock};
use crate::environment::Environment;
use crate::spool::SpoolRecord;
use postern_core::route::{Attempt, AttemptResult, Leg, Step};
use postern_core::smtp::client::{self, Delivery, TlsPolicy};
use std::io;
use std::sync::Arc;

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
    let mut data = match context.env.data(id).await {
        Ok(data) => Some(data),
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
    loop {
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
            |event| tracing::debug!(queue_id = %id, %host, "{event}"),
        )
        .await)
    }
}
