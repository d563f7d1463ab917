//! One outbound attempt, carried out: the DNS lookups, connections and
//! SMTP sessions a [`postern_core::route::Attempt`] asks for, all within
//! the attempt's deadline; and the connection it leaves open, which
//! carries further messages to the same destination while the runner has
//! some (RFC 5321 3.3), each within a deadline of its own.

use super::{Context, Report};
use crate::driver::{self, ClientConnection, Clock};
use crate::environment::Environment;
use crate::spool::SpoolRecord;
use postern_core::envelope::{Envelope, QueueId};
use postern_core::limits::CLIENT_MESSAGES_PER_CONNECTION_MAX;
use postern_core::route::{Attempt, AttemptResult, Leg, Step};
use postern_core::smtp::client::{self, Content, ContentScan, Delivery, TlsPolicy};
use std::io;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

/// One domain's due recipients of one message, for a connection.
pub(super) struct Job {
    pub(super) id: QueueId,
    pub(super) record: Arc<SpoolRecord>,
    pub(super) domain: String,
    pub(super) indexes: Vec<usize>,
}

/// A connection free for another message after a transaction.
pub(super) struct Open<S> {
    connection: ClientConnection<S>,
    /// Where it leads ([`Attempt::reuse_key`]).
    key: String,
    host: String,
    leg: Leg,
}

/// A connection task: the attempt for `first`, then, while its connection
/// stays free and the runner hands it messages for the same destination
/// (through `jobs`), those. Each message's result is reported on its own;
/// one that the connection could not even begin (its server hung up while
/// idle, or refused RSET) is reported [`Report::Returned`], untouched. The
/// connection QUITs when the runner has nothing for it within the idle
/// limit, or closes `jobs`.
pub(super) async fn run_connection<E: Environment>(
    context: Arc<Context<E>>,
    first: Job,
    attempt: Attempt,
    task: u64,
    reports: tokio::sync::mpsc::UnboundedSender<Report>,
    mut jobs: mpsc::Receiver<Job>,
) {
    let (result, mut open) = run_attempt(
        Arc::clone(&context),
        Arc::clone(&first.record),
        first.indexes.clone(),
        attempt,
    )
    .await;
    let _ = reports.send(Report::Attempt {
        id: first.id,
        task,
        domain: first.domain,
        indexes: first.indexes,
        result: Ok(result),
        reusable: open.as_ref().map(|open| open.key.clone()),
    });
    let mut log = |event: &client::ClientEvent| tracing::debug!("{event}");
    while let Some(mut connection) = open.take() {
        let waited = tokio::time::timeout_at(connection.connection.idle_until(), jobs.recv()).await;
        let job = match waited {
            Ok(job) => job,
            // A message handed over as the wait ended is still carried.
            Err(_) => {
                jobs.close();
                jobs.try_recv().ok()
            }
        };
        let Some(job) = job else {
            connection.connection.quit(&mut log).await;
            break;
        };
        let (result, ready) = deliver_on(&context, &mut connection, &job).await;
        let more = ready && !jobs.is_closed();
        let report = match result {
            Some(result) => Report::Attempt {
                id: job.id,
                task,
                domain: job.domain,
                indexes: job.indexes,
                result: Ok(result),
                reusable: more.then(|| connection.key.clone()),
            },
            None => Report::Returned {
                id: job.id,
                task,
                domain: job.domain,
            },
        };
        let _ = reports.send(report);
        if more {
            open = Some(connection);
        } else if ready {
            connection.connection.quit(&mut log).await;
        }
    }
}

/// One more message over an open connection: its result (`None` when the
/// connection could not begin it, which leaves it untouched), and whether
/// the connection is free for another.
async fn deliver_on<E: Environment>(
    context: &Context<E>,
    open: &mut Open<E::Stream>,
    job: &Job,
) -> (Option<AttemptResult>, bool) {
    let id = job.id;
    let envelope = &job.record.envelope;
    let opened = match open_message(context, id, envelope).await {
        Ok(opened) => opened,
        Err(error) => {
            tracing::error!(queue_id = %id, %error, "{id}: cannot read the message; will retry");
            let result = AttemptResult::Undeliverable {
                detail: format!("cannot read the message: {error}"),
                permanent: false,
            };
            // Nothing was sent: the connection is still free.
            return (Some(result), true);
        }
    };
    let (size, data) = opened.data;
    let size = size + opened.signature.len() as u64;
    let mut message = std::io::Cursor::new(opened.signature).chain(data);
    let budget = context.outbound.attempt_timeout(size, job.indexes.len());
    let deadline = tokio::time::Instant::now() + budget;
    let delivery = delivery(envelope, &job.indexes, size, opened.content);
    let host = open.host.clone();
    let mut log = |event: &client::ClientEvent| log_event(id, &host, event);
    match open
        .connection
        .next(delivery, &mut message, deadline, &mut log)
        .await
    {
        None => {
            tracing::info!(queue_id = %id, %host, "{id}: {host}: the attempt timed out after {}s", budget.as_secs());
            let result = AttemptResult::Undeliverable {
                detail: format!("attempt timed out after {}s", budget.as_secs()),
                permanent: false,
            };
            (Some(result), false)
        }
        Some((outcome, _)) if outcome.session_failure.is_some() => {
            if let Some(failure) = &outcome.session_failure {
                tracing::info!(queue_id = %id, %host, "{id}: {host}: the reused connection did not take the message ({failure}); it goes back to the queue untried");
            }
            (None, false)
        }
        Some((outcome, ready)) => {
            let result = AttemptResult::Session {
                outcome,
                host: open.host.clone(),
                leg: open.leg,
            };
            (Some(result), ready)
        }
    }
}

/// The envelope of recipients `indexes`, as the client machine sends it.
fn delivery(envelope: &Envelope, indexes: &[usize], size: u64, content: Content) -> Delivery {
    Delivery {
        reverse_path: envelope.reverse_path.clone(),
        recipients: indexes
            .iter()
            .map(|&i| envelope.recipients[i].forward_path.clone())
            .collect(),
        size,
        body: envelope.body,
        smtputf8: envelope.smtputf8,
        content,
    }
}

fn log_event(id: QueueId, host: &str, event: &client::ClientEvent) {
    match event {
        client::ClientEvent::PlaintextDiscarded { .. } => {
            tracing::warn!(queue_id = %id, %host, "{id}: {host}: {event}")
        }
        _ => tracing::debug!(queue_id = %id, %host, "{event}"),
    }
}

/// Carries out one attempt: DNS, connections, SMTP sessions, all within
/// the attempt's deadline (`[outbound] attempt_timeout`, by default sized
/// from the message): past it, the attempt ends and every recipient is
/// deferred, so a server that trickles or stalls cannot hold an outbound
/// connection slot. A connection left free after the message is given
/// back for the next, when it leads where the next would go.
pub(super) async fn run_attempt<E: Environment>(
    context: Arc<Context<E>>,
    record: Arc<SpoolRecord>,
    indexes: Vec<usize>,
    mut attempt: Attempt,
) -> (AttemptResult, Option<Open<E::Stream>>) {
    let id = record.queue_id;
    let envelope = &record.envelope;
    // The message is opened once up front, for its size (the deadline
    // depends on it), and that copy serves the first session.
    let (content, signature, mut data) = match open_message(&context, id, envelope).await {
        Ok(opened) => (opened.content, opened.signature, Some(opened.data)),
        Err(error) => {
            tracing::error!(queue_id = %id, %error, "{id}: cannot read the message; will retry");
            let result = AttemptResult::Undeliverable {
                detail: format!("cannot read the message: {error}"),
                permanent: false,
            };
            return (result, None);
        }
    };
    let size = data.as_ref().map_or(0, |(size, _)| *size) + signature.len() as u64;
    let budget = context.outbound.attempt_timeout(size, indexes.len());
    let deadline = tokio::time::Instant::now() + budget;
    let mut fallback_logged = false;
    let mut open = None;
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
                    signature: &signature,
                };
                match session
                    .run(&context, &record, &indexes, stream, data.take())
                    .await
                {
                    Ok(Some((outcome, connection))) => {
                        if let Some(failure) = &outcome.session_failure {
                            tracing::info!(queue_id = %id, %host, %address, "{id}: {host} [{address}] failed before MAIL: {failure}");
                        }
                        let key = attempt.reuse_key();
                        attempt.session_ended(outcome);
                        match (connection, key) {
                            (Some(connection), Some(key)) => {
                                open = Some(Open {
                                    connection,
                                    key,
                                    host: host.clone(),
                                    leg,
                                })
                            }
                            (Some(connection), None) => {
                                connection
                                    .quit(&mut |event| log_event(id, &host, event))
                                    .await
                            }
                            (None, _) => {}
                        }
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
                return (result, open);
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
    /// The DKIM-Signature fields sent in front of the message.
    signature: &'a [u8],
}

impl Session<'_> {
    /// Runs the session over `stream`, sending `data` if given (the
    /// message opened for the attempt, unread) or the message opened
    /// afresh: its outcome, and the connection when it is free for another
    /// message; `None` when the attempt's deadline passed first.
    async fn run<E: Environment>(
        &self,
        context: &Context<E>,
        record: &SpoolRecord,
        indexes: &[usize],
        stream: E::Stream,
        data: Option<(u64, E::Data)>,
    ) -> io::Result<Option<(client::Outcome, Option<ClientConnection<E::Stream>>)>> {
        let id = record.queue_id;
        let (size, data) = match data {
            Some(data) => data,
            None => context.env.data(id).await?,
        };
        let size = size + self.signature.len() as u64;
        let mut message = self.signature.chain(data);
        let delivery = delivery(&record.envelope, indexes, size, self.content);
        let clock = Clock::new();
        let config = context.client_config(self.leg, self.tls);
        let machine = client::Client::new(Arc::new(config), delivery, clock.now())
            .with_reuse(CLIENT_MESSAGES_PER_CONNECTION_MAX);
        let host = self.host;
        let tls = Some((context.client_tls(self.leg).clone(), host.to_owned()));
        let mut connection = ClientConnection::new(
            stream,
            machine,
            tls,
            clock,
            context.outbound.timeouts.data_block,
        );
        let mut log = |event: &client::ClientEvent| log_event(id, host, event);
        let ended = connection
            .transaction(&mut message, self.deadline, &mut log)
            .await;
        Ok(ended.map(|(outcome, ready)| (outcome, ready.then_some(connection))))
    }
}

/// A message opened for sending.
struct Opened<D> {
    /// What its octets are.
    content: Content,
    /// The DKIM-Signature fields to send in front of it (empty when it is
    /// not signed), made once for the attempt.
    signature: Vec<u8>,
    /// Its size and data, as spooled.
    data: (u64, D),
}

async fn open_message<E: Environment>(
    context: &Context<E>,
    id: QueueId,
    envelope: &Envelope,
) -> io::Result<Opened<E::Data>> {
    let content = content(context, id, envelope).await?;
    let signature = super::sign::signature(context, id, envelope).await?;
    let data = context.env.data(id).await?;
    Ok(Opened {
        content,
        signature,
        data,
    })
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
    let mut chunk = Vec::with_capacity(64 * 1024);
    loop {
        chunk.clear();
        if data.read_buf(&mut chunk).await? == 0 {
            break;
        }
        scan.push(&chunk);
        if scan.is_settled() {
            break;
        }
    }
    Ok(scan.finish())
}
