//! Expiry: articles older than their group's `expire` are removed, once
//! at start and then every [`NEWS_EXPIRY_INTERVAL`].

use super::NewsStore;
use crate::mailstore::MailboxStore;
use postern_core::limits::NEWS_EXPIRY_INTERVAL;
use tokio::sync::watch;

/// Runs expiry until `ending` turns true.
pub async fn run_expiry<S: MailboxStore + Clone>(
    store: NewsStore<S>,
    mut ending: watch::Receiver<bool>,
) {
    loop {
        match store.expire(crate::environment::system_now()).await {
            Ok(expired) => {
                for (group, count) in expired {
                    tracing::info!(%group, count, "news expiry: {count} articles of {group} removed");
                }
            }
            Err(error) => tracing::warn!(%error, "news expiry failed; trying again later"),
        }
        tokio::select! {
            () = tokio::time::sleep(NEWS_EXPIRY_INTERVAL) => {}
            _ = ending.changed() => return,
        }
        if *ending.borrow() {
            return;
        }
    }
}
