//! Wake-ups across nodes: a connection of its own that `LISTEN`s on
//! [`QUEUE_CHANNEL`], and turns each notification (a commit on any node)
//! into a permit of a [`Notify`], so that this node's runner wakes.
//!
//! When the connection drops, or stops answering ([`serve`]), the
//! listener connects again (after [`RECONNECT_DELAY`]) and gives one
//! wake-up then: what was committed while it was away is found by the
//! runner's next claim.

use super::{DbConfig, PgConnection, describe};
use postern_core::limits::STORAGE_ANSWER_TIMEOUT;
use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Notification};

/// The channel commits notify.
pub const QUEUE_CHANNEL: &str = "postern_queue";

/// How long the listener waits before connecting again.
pub const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// How long a listener's connection may go without a question to the
/// database. A `LISTEN` connection owes no answer, so a connection cut
/// off quietly (a network that drops its packets) would look idle until
/// TCP gives up, a quarter of an hour, with no wake-up heard meanwhile:
/// after this much quiet the listener asks `SELECT 1`, and an answer
/// must come within [`STORAGE_ANSWER_TIMEOUT`].
pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// A running listener; dropping it stops it.
pub struct QueueListener {
    notify: Arc<Notify>,
    task: JoinHandle<()>,
}

impl QueueListener {
    /// Connects and listens; returns once the first `LISTEN` is in place,
    /// so a commit after this wakes it.
    pub async fn start(config: impl Into<DbConfig>) -> Result<Self, String> {
        let config = config.into();
        let notify = Arc::new(Notify::new());
        let (client, connection) = subscribe(&config, QUEUE_CHANNEL).await?;
        let task = tokio::spawn(run(config, client, connection, Arc::clone(&notify)));
        Ok(QueueListener { notify, task })
    }

    /// Completes at the next notification (or the one that came since the
    /// last wait).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// The permit the runner waits on.
    pub fn notify(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }
}

impl Drop for QueueListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects and sends `LISTEN channel`, polling the connection meanwhile;
/// gives up after [`STORAGE_ANSWER_TIMEOUT`].
pub(super) async fn subscribe(
    config: &DbConfig,
    channel: &str,
) -> Result<(Client, PgConnection), String> {
    let subscribed = async {
        let (client, mut connection) = config.connect().await.map_err(|e| describe(&e))?;
        let statement = format!("LISTEN {channel}");
        {
            let listen = client.batch_execute(&statement);
            tokio::pin!(listen);
            loop {
                tokio::select! {
                    result = &mut listen => {
                        result.map_err(|e| describe(&e))?;
                        break;
                    }
                    message = poll_fn(|cx| connection.poll_message(cx)) => {
                        if !matches!(message, Some(Ok(_))) {
                            return Err("the connection closed while subscribing".to_owned());
                        }
                    }
                }
            }
        }
        Ok((client, connection))
    };
    tokio::time::timeout(STORAGE_ANSWER_TIMEOUT, subscribed)
        .await
        .unwrap_or_else(|_| Err(no_answer()))
}

/// Connects and subscribes again, [`RECONNECT_DELAY`] after the last
/// try, until it succeeds; `who` names the listener in the log.
pub(super) async fn resubscribe(
    config: &DbConfig,
    channel: &str,
    who: &str,
) -> (Client, PgConnection) {
    loop {
        tokio::time::sleep(RECONNECT_DELAY).await;
        match subscribe(config, channel).await {
            Ok(pair) => return pair,
            Err(error) => tracing::warn!("{who} cannot connect: {error}"),
        }
    }
}

/// Hands every notification on `connection` to `heard` until the
/// connection fails or stops answering (a `SELECT 1` after
/// [`PROBE_INTERVAL`] of quiet, unanswered within
/// [`STORAGE_ANSWER_TIMEOUT`]); answers why it stopped, for the log.
pub(super) async fn serve(
    client: &Client,
    connection: &mut PgConnection,
    mut heard: impl FnMut(Notification),
) -> String {
    loop {
        let probe_at = tokio::time::Instant::now() + PROBE_INTERVAL;
        loop {
            tokio::select! {
                message = poll_fn(|cx| connection.poll_message(cx)) => {
                    if let Err(why) = take(message, &mut heard) {
                        return why;
                    }
                }
                () = tokio::time::sleep_until(probe_at) => break,
            }
        }
        let answer = client.simple_query("SELECT 1");
        tokio::pin!(answer);
        let deadline = tokio::time::sleep(STORAGE_ANSWER_TIMEOUT);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                result = &mut answer => match result {
                    Ok(_) => break,
                    Err(error) => return describe(&error),
                },
                message = poll_fn(|cx| connection.poll_message(cx)) => {
                    if let Err(why) = take(message, &mut heard) {
                        return why;
                    }
                }
                () = &mut deadline => return no_answer(),
            }
        }
    }
}

/// One message of the connection: a notification goes to `heard`; the
/// connection's end is an error, saying why.
fn take(
    message: Option<Result<AsyncMessage, tokio_postgres::Error>>,
    heard: &mut impl FnMut(Notification),
) -> Result<(), String> {
    match message {
        Some(Ok(AsyncMessage::Notification(note))) => {
            heard(note);
            Ok(())
        }
        Some(Ok(_)) => Ok(()),
        Some(Err(error)) => Err(describe(&error)),
        None => Err("the connection closed".to_owned()),
    }
}

fn no_answer() -> String {
    format!(
        "the database did not answer within {} s",
        STORAGE_ANSWER_TIMEOUT.as_secs()
    )
}

async fn run(
    config: DbConfig,
    mut client: Client,
    mut connection: PgConnection,
    notify: Arc<Notify>,
) {
    const WHO: &str = "queue listener";
    loop {
        let why = serve(&client, &mut connection, |_| notify.notify_one()).await;
        tracing::warn!("{WHO}: {why}; connecting again");
        drop(client);
        (client, connection) = resubscribe(&config, QUEUE_CHANNEL, WHO).await;
        // Commits made while away notified nobody here.
        notify.notify_one();
    }
}
