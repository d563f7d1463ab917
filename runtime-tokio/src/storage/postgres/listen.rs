//! Wake-ups across nodes: a connection of its own that `LISTEN`s on
//! [`QUEUE_CHANNEL`], and turns each notification (a commit on any node)
//! into a permit of a [`Notify`], so that this node's runner wakes.
//!
//! When the connection drops, the listener connects again (after
//! [`RECONNECT_DELAY`]) and gives one wake-up then: what was committed
//! while it was away is found by the runner's next claim.

use super::{DbConfig, PgConnection, describe};
use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client};

/// The channel commits notify.
pub const QUEUE_CHANNEL: &str = "postern_queue";

/// How long the listener waits before connecting again.
pub const RECONNECT_DELAY: Duration = Duration::from_secs(1);

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

/// Connects and sends `LISTEN channel`, polling the connection meanwhile.
pub(super) async fn subscribe(
    config: &DbConfig,
    channel: &str,
) -> Result<(Client, PgConnection), String> {
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
}

async fn run(
    config: DbConfig,
    mut client: Client,
    mut connection: PgConnection,
    notify: Arc<Notify>,
) {
    loop {
        loop {
            match poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => notify.notify_one(),
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!("queue listener: {}", describe(&error));
                    break;
                }
                None => break,
            }
        }
        drop(client);
        (client, connection) = loop {
            tokio::time::sleep(RECONNECT_DELAY).await;
            match subscribe(&config, QUEUE_CHANNEL).await {
                Ok(pair) => break pair,
                Err(error) => tracing::warn!("queue listener cannot connect: {error}"),
            }
        };
        // Commits made while away notified nobody here.
        notify.notify_one();
    }
}
