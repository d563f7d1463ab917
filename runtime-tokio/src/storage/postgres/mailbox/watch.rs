//! Change notifications across nodes. Each changing transaction sends
//! `pg_notify('postern_mailbox', 'user@domain/folder:modseq')`
//! ([`ChangeNotice`]), which PostgreSQL delivers to every listening
//! connection only if the transaction commits. Each store keeps one
//! connection that `LISTEN`s and fans each notice out to the folder's
//! `tokio::sync::watch` sender, if anyone on this node watches it.
//!
//! When the connection drops or stops answering it connects again (see
//! [`crate::storage::postgres::listen`]) and then fires every channel:
//! what changed while it was away is found by the watchers' next
//! `changes_since`.

use crate::mailstore::FolderName;
use crate::storage::postgres::listen::{resubscribe, serve, subscribe};
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::ModSeq;
use postern_core::mailbox::row::ChangeNotice;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The channel mailbox changes notify.
pub const MAILBOX_CHANNEL: &str = "postern_mailbox";

/// The channels of the folders watched on this node.
#[derive(Default)]
pub(super) struct Watchers {
    senders: Mutex<BTreeMap<(LocalMailbox, String), watch::Sender<ModSeq>>>,
}

impl Watchers {
    pub(super) fn subscribe(
        &self,
        mailbox: &LocalMailbox,
        folder: &FolderName,
    ) -> watch::Receiver<ModSeq> {
        let mut senders = super::lock(&self.senders);
        // Folders nobody watches any longer: their senders go, so the map
        // holds at most the folders watched now.
        senders.retain(|_, sender| sender.receiver_count() > 0);
        senders
            .entry((mailbox.clone(), folder.to_string()))
            .or_insert_with(|| watch::Sender::new(ModSeq(0)))
            .subscribe()
    }

    /// Fires the folder's channel, if watched, with the notice's MODSEQ
    /// (never a lower one than it holds).
    pub(super) fn fire(&self, notice: &ChangeNotice) {
        let senders = super::lock(&self.senders);
        if let Some(sender) = senders.get(&(notice.mailbox.clone(), notice.folder.clone())) {
            sender.send_modify(|modseq| *modseq = (*modseq).max(notice.modseq));
        }
    }

    fn fire_all(&self) {
        for sender in super::lock(&self.senders).values() {
            sender.send_modify(|_| {});
        }
    }
}

/// Connects, listens, and runs the fan-out until the handle is aborted.
pub(super) async fn listen(
    config: crate::storage::postgres::DbConfig,
    watchers: Arc<Watchers>,
) -> Result<JoinHandle<()>, String> {
    let (client, connection) = subscribe(&config, MAILBOX_CHANNEL).await?;
    Ok(tokio::spawn(async move {
        const WHO: &str = "mailbox listener";
        let (mut client, mut connection) = (client, connection);
        loop {
            let why = serve(&client, &mut connection, |note| {
                match ChangeNotice::parse(note.payload()) {
                    Some(notice) => watchers.fire(&notice),
                    None => tracing::warn!("{WHO}: a notice that is not one: {:?}", note.payload()),
                }
            })
            .await;
            tracing::warn!("{WHO}: {why}; connecting again");
            drop(client);
            (client, connection) = resubscribe(&config, MAILBOX_CHANNEL, WHO).await;
            // Changes made while away notified nobody here.
            watchers.fire_all();
        }
    }))
}
