//! Local delivery: takes committed messages from the spool into Maildirs.
//!
//! The core has already decided where each recipient goes (the envelope
//! holds each recipient's mailbox); this task carries it out. A spool
//! entry is removed only after every mailbox's copy is durable, so a crash
//! at any point delivers again on restart rather than losing mail. The
//! price is a duplicate when the crash falls between a mailbox's sync and
//! the spool entry's removal.
//!
//! When a delivery fails part-way (a full disk, a mailbox path that is not
//! a directory), the message is tried again later, with a delay that
//! doubles up to [`RETRY_DELAY_MAX`]; mailboxes that already have their
//! copy are remembered and skipped, so retries add no duplicates.

use crate::maildir::Maildirs;
use crate::spool::Spool;
use postern_core::envelope::{LocalMailbox, QueueId};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// Messages delivered at once: enough to overlap the fsyncs of several.
pub const DELIVERY_WORKERS: usize = 4;
/// The delay after a message's first failed delivery.
pub const RETRY_DELAY_FIRST: Duration = Duration::from_secs(30);
/// The longest delay between two tries.
pub const RETRY_DELAY_MAX: Duration = Duration::from_secs(60 * 60);

/// What is known of a message whose delivery has failed at least once.
#[derive(Debug, Default)]
struct Progress {
    delivered: BTreeSet<LocalMailbox>,
    failures: u32,
}

type Retries = Arc<Mutex<BTreeMap<QueueId, Progress>>>;

/// Delivers the `backlog`, then every ID the spool announces on
/// `arrivals` as committed.
pub async fn run(
    spool: Arc<Spool>,
    maildirs: Arc<Maildirs>,
    backlog: Vec<QueueId>,
    mut arrivals: mpsc::UnboundedReceiver<QueueId>,
) {
    let again = spool.committed_sender();
    if !backlog.is_empty() {
        tracing::info!(
            count = backlog.len(),
            "delivering messages left in the spool"
        );
    }
    for id in backlog {
        let _ = again.send(id);
    }
    let workers = Arc::new(Semaphore::new(DELIVERY_WORKERS));
    let retries: Retries = Arc::default();
    while let Some(id) = arrivals.recv().await {
        // The semaphore lives as long as this loop and is never closed.
        let permit = Arc::clone(&workers)
            .acquire_owned()
            .await
            .expect("delivery semaphore closed");
        let (spool, maildirs, retries, again) = (
            Arc::clone(&spool),
            Arc::clone(&maildirs),
            Arc::clone(&retries),
            again.clone(),
        );
        tokio::spawn(async move {
            let result = {
                let retries = Arc::clone(&retries);
                tokio::task::spawn_blocking(move || deliver(&spool, &maildirs, id, &retries)).await
            };
            drop(permit);
            let error = match result {
                Ok(Ok(())) => return,
                Ok(Err(error)) => error.to_string(),
                Err(panic) => panic.to_string(),
            };
            let delay = {
                let mut retries = retries.lock().unwrap_or_else(|e| e.into_inner());
                let progress = retries.entry(id).or_default();
                progress.failures += 1;
                retry_delay(progress.failures)
            };
            tracing::error!(queue_id = %id, %error, "{id}: delivery failed; next try in {}s", delay.as_secs());
            tokio::time::sleep(delay).await;
            let _ = again.send(id);
        });
    }
}

/// 30 s, 60 s, 120 s, ... up to an hour.
fn retry_delay(failures: u32) -> Duration {
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX);
    RETRY_DELAY_FIRST
        .saturating_mul(factor)
        .min(RETRY_DELAY_MAX)
}

/// Delivers one message to each of its mailboxes that lacks it, then
/// removes it from the spool.
fn deliver(
    spool: &Spool,
    maildirs: &Maildirs,
    id: QueueId,
    retries: &Mutex<BTreeMap<QueueId, Progress>>,
) -> io::Result<()> {
    let lock = || retries.lock().unwrap_or_else(|e| e.into_inner());
    let (record, mut file) = spool.read(id)?;
    let data_start = file.stream_position()?;
    let envelope = &record.envelope;
    let mailboxes = envelope.local_mailboxes();
    for &mailbox in &mailboxes {
        if lock()
            .get(&id)
            .is_some_and(|p| p.delivered.contains(mailbox))
        {
            continue;
        }
        file.seek(SeekFrom::Start(data_start))?;
        let headers = envelope.delivery_headers(mailbox, "\n");
        let path = maildirs.deliver(
            mailbox,
            headers.as_bytes(),
            &mut io::BufReader::new(&mut file),
        )?;
        lock()
            .entry(id)
            .or_default()
            .delivered
            .insert(mailbox.clone());
        tracing::info!(queue_id = %id, to = %mailbox, path = %path.display(), "{id}: delivered to {mailbox}");
    }
    let remote: Vec<String> = envelope
        .remote_recipients()
        .map(ToString::to_string)
        .collect();
    if !remote.is_empty() {
        // Relayed mail waits in the spool, durable, for outbound delivery
        // (not in this version); nothing acknowledged is thrown away.
        tracing::warn!(queue_id = %id, to = %remote.join(","), "{id}: held in the spool for {} remote recipient(s): outbound delivery is not available in this version", remote.len());
        return Ok(());
    }
    spool.remove(id)?;
    lock().remove(&id);
    tracing::info!(queue_id = %id, mailboxes = mailboxes.len(), "{id}: removed from the spool");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_an_hour() {
        let delays: Vec<u64> = (1..=10).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(retry_delay(u32::MAX), RETRY_DELAY_MAX);
    }
}
