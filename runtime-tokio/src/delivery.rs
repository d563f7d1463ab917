//! Local delivery: takes committed messages from the spool into Maildirs.
//!
//! The core has already decided where each recipient goes (the envelope
//! holds each recipient's mailbox); this task carries it out. A spool
//! entry is removed only after every mailbox's copy is durable, so a crash
//! at any point delivers again on restart rather than losing mail. The
//! price is a duplicate when the crash falls between a mailbox's sync and
//! the spool entry's removal.

use crate::maildir::Maildirs;
use crate::spool::Spool;
use postern_core::envelope::QueueId;
use std::io::{self, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// Messages delivered at once: enough to overlap the fsyncs of several.
pub const DELIVERY_WORKERS: usize = 4;
/// How long a message waits after a failed delivery before the next try.
pub const RETRY_DELAY: Duration = Duration::from_secs(60);

/// Delivers the `backlog`, then every ID the spool announces on
/// `arrivals` as committed.
pub async fn run(
    spool: Arc<Spool>,
    maildirs: Arc<Maildirs>,
    backlog: Vec<QueueId>,
    mut arrivals: mpsc::UnboundedReceiver<QueueId>,
) {
    let retry = spool.committed_sender();
    if !backlog.is_empty() {
        tracing::info!(
            count = backlog.len(),
            "delivering messages left in the spool"
        );
    }
    for id in backlog {
        let _ = retry.send(id);
    }
    let workers = Arc::new(Semaphore::new(DELIVERY_WORKERS));
    while let Some(id) = arrivals.recv().await {
        // The semaphore lives as long as this loop and is never closed.
        let permit = Arc::clone(&workers)
            .acquire_owned()
            .await
            .expect("delivery semaphore closed");
        let (spool, maildirs, retry) = (Arc::clone(&spool), Arc::clone(&maildirs), retry.clone());
        tokio::spawn(async move {
            let result = {
                let spool = Arc::clone(&spool);
                tokio::task::spawn_blocking(move || deliver(&spool, &maildirs, id)).await
            };
            drop(permit);
            match result {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(queue_id = %id, %error, "{id}: delivery failed; retrying in {}s", RETRY_DELAY.as_secs());
                    tokio::time::sleep(RETRY_DELAY).await;
                    let _ = retry.send(id);
                }
                Err(panic) => tracing::error!(queue_id = %id, %panic, "{id}: delivery task failed"),
            }
        });
    }
}

/// Delivers one message to each of its mailboxes, then removes it.
fn deliver(spool: &Spool, maildirs: &Maildirs, id: QueueId) -> io::Result<()> {
    let (record, mut file) = spool.read(id)?;
    let data_start = file.stream_position()?;
    let envelope = &record.envelope;
    let mailboxes = envelope.local_mailboxes();
    for mailbox in &mailboxes {
        file.seek(SeekFrom::Start(data_start))?;
        let headers = envelope.delivery_headers(mailbox, "\n");
        let path = maildirs.deliver(
            mailbox,
            headers.as_bytes(),
            &mut io::BufReader::new(&mut file),
        )?;
        tracing::info!(queue_id = %id, to = %mailbox, path = %path.display(), "{id}: delivered to {mailbox}");
    }
    spool.remove(id)?;
    tracing::info!(queue_id = %id, mailboxes = mailboxes.len(), "{id}: removed from the spool");
    Ok(())
}
