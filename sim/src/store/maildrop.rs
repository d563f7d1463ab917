//! The store's mailboxes as POP3 reads them: per mailbox a UIDVALIDITY, a
//! UID counter and messages with their UID, CRLF bytes and `\Seen` flag;
//! the maildrop lock (one session per mailbox, released when the session
//! ends and when the server crashes); and the update after QUIT applied
//! one change at a time, each a simulated synced write, so that a crash in
//! the middle of UPDATE leaves a partial update, as a real disk could.
//!
//! Beside what the mailboxes hold now, the store keeps every copy ever
//! delivered, with its UID and virtual time: the record the invariants
//! check the mailboxes and the readers against.

use super::{MemoryStore, PlantedBug, wall_clock};
use postern::pop3::{MaildropHandle, Maildrops};
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::finger::MailStatus;
use postern_core::pop3::{Maildrop, MaildropFailure, MaildropMessage};
use postern_core::time::UnixTime;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::time::Duration;
use tracing::Instrument;

/// How long one change of an update (one expunge or one flag) takes to be
/// written and synced: the window a crash can cut an update in.
pub const UPDATE_STEP: Duration = Duration::from_millis(20);

/// One mailbox as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub uid_validity: u32,
    /// The UID the next message gets.
    pub uid_next: u32,
    /// In UID order.
    pub messages: Vec<MailMessage>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailMessage {
    pub uid: u32,
    /// CRLF lines, as clients see them.
    pub data: Vec<u8>,
    pub seen: bool,
    /// When it was delivered, by the simulated wall clock.
    pub arrived: UnixTime,
    /// The message it is a copy of, when delivery put it here.
    pub origin: Option<QueueId>,
}

/// A copy put in a mailbox, as it was put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The mailbox, `user@domain`.
    pub mailbox: String,
    pub uid_validity: u32,
    pub uid: u32,
    pub data: Vec<u8>,
    /// Virtual time of the delivery.
    pub at: Duration,
}

/// The mailboxes, their locks and their history.
#[derive(Debug, Default)]
pub(super) struct MailState {
    boxes: BTreeMap<String, Mailbox>,
    delivered: Vec<Delivered>,
    /// The server's life: one more at each crash. Locks and holds taken
    /// in an earlier life are void, as a process's are when it dies.
    generation: u64,
    /// The maildrop lock: mailbox to the life that took it.
    locks: BTreeMap<String, u64>,
    /// Sessions holding each maildrop, counted apart from the lock, to
    /// check it.
    holders: BTreeMap<String, u32>,
    /// Broken invariants seen as they happened.
    pub(super) violations: Vec<String>,
}

impl MailState {
    /// The UID of the copy of `origin` that `mailbox` holds, if it holds
    /// one.
    pub(super) fn copy_of(&self, mailbox: &str, origin: QueueId) -> Option<u32> {
        let held = self.boxes.get(mailbox)?;
        held.messages
            .iter()
            .find(|m| m.origin == Some(origin))
            .map(|m| m.uid)
    }

    /// Puts `data`, a copy of `origin`, in `mailbox` under a new UID;
    /// answers the UID.
    pub(super) fn append(
        &mut self,
        mailbox: &str,
        data: Vec<u8>,
        bug: Option<PlantedBug>,
        origin: Option<QueueId>,
    ) -> u32 {
        let held = self
            .boxes
            .entry(mailbox.to_owned())
            .or_insert_with(new_mailbox);
        let uid = match bug {
            // The bug: the counter is recomputed from what the mailbox
            // holds, so the UID of an expunged last message comes back.
            Some(PlantedBug::UidReuse) => held.messages.last().map_or(1, |m| m.uid + 1),
            _ => held.uid_next,
        };
        held.uid_next = uid + 1;
        held.messages.push(MailMessage {
            uid,
            data: data.clone(),
            seen: false,
            arrived: wall_clock(),
            origin,
        });
        self.delivered.push(Delivered {
            mailbox: mailbox.to_owned(),
            uid_validity: held.uid_validity,
            uid,
            data,
            at: turmoil::sim_elapsed().unwrap_or_default(),
        });
        uid
    }

    /// What finger tells of `mailbox`: an INBOX never delivered to is
    /// empty.
    pub(super) fn status(&self, mailbox: &str) -> MailStatus {
        let messages = self.boxes.get(mailbox).map_or(&[][..], |b| &b.messages);
        status_of(messages.iter())
    }

    /// The planted bug's answer: every mailbox's mail as one.
    pub(super) fn status_of_all(&self) -> MailStatus {
        status_of(self.boxes.values().flat_map(|b| &b.messages))
    }

    /// The server crashed: every lock and hold of its sessions is gone.
    pub(super) fn crashed(&mut self) {
        self.generation += 1;
        self.locks.clear();
        self.holders.clear();
    }
}

/// What finger tells of `messages`.
fn status_of<'a>(messages: impl Iterator<Item = &'a MailMessage> + Clone) -> MailStatus {
    let unseen: Vec<UnixTime> = messages
        .clone()
        .filter(|m| !m.seen)
        .map(|m| m.arrived)
        .collect();
    MailStatus {
        messages: messages.count(),
        unseen: unseen.len(),
        oldest_unseen: unseen.iter().min().copied(),
        newest_unseen: unseen.iter().max().copied(),
    }
}

/// A new mailbox: its UIDVALIDITY is its creation time, as Dovecot's is.
fn new_mailbox() -> Mailbox {
    Mailbox {
        uid_validity: wall_clock().0 as u32,
        uid_next: 1,
        messages: Vec::new(),
    }
}

impl MemoryStore {
    /// Every copy ever put in a mailbox, in order.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.lock().mail.delivered.clone()
    }

    /// What each mailbox holds now.
    pub fn mailbox_contents(&self) -> BTreeMap<String, Mailbox> {
        self.lock().mail.boxes.clone()
    }

    /// Invariants the mailboxes saw broken as they ran.
    pub fn mail_violations(&self) -> Vec<String> {
        self.lock().mail.violations.clone()
    }

    /// The server crashed: its maildrop locks go with it.
    pub fn crashed(&self) {
        self.lock().mail.crashed();
    }
}

/// One POP3 session's hold on a mailbox: the lock, taken in one life of
/// the server.
#[derive(Debug)]
pub struct SimHandle {
    store: MemoryStore,
    mailbox: String,
    generation: u64,
    /// The UIDs the session was shown.
    listed: BTreeSet<u32>,
}

impl Maildrops for MemoryStore {
    type Handle = SimHandle;

    async fn open(&self, mailbox: &LocalMailbox) -> Result<(Maildrop, SimHandle), MaildropFailure> {
        let key = mailbox.to_string();
        let mut shared = self.lock();
        let mail = &mut shared.mail;
        if mail.locks.contains_key(&key) && self.bug != Some(PlantedBug::NoMaildropLock) {
            return Err(MaildropFailure::InUse);
        }
        let generation = mail.generation;
        mail.locks.insert(key.clone(), generation);
        let holders = mail.holders.entry(key.clone()).or_default();
        *holders += 1;
        if *holders > 1 {
            let at = turmoil::sim_elapsed().unwrap_or_default();
            mail.violations.push(format!(
                "at {:.3}s {holders} sessions held the maildrop of {key} at once",
                at.as_secs_f64()
            ));
        }
        let held = mail.boxes.entry(key.clone()).or_insert_with(new_mailbox);
        let maildrop = Maildrop {
            uid_validity: held.uid_validity,
            messages: held
                .messages
                .iter()
                .map(|m| MaildropMessage {
                    uid: m.uid,
                    size: match self.bug {
                        Some(PlantedBug::SizesWithoutCr) => {
                            m.data.iter().filter(|&&b| b != b'\r').count() as u64
                        }
                        _ => m.data.len() as u64,
                    },
                })
                .collect(),
        };
        let listed = held.messages.iter().map(|m| m.uid).collect();
        let handle = SimHandle {
            store: self.clone(),
            mailbox: key,
            generation,
            listed,
        };
        Ok((maildrop, handle))
    }
}

impl MaildropHandle for SimHandle {
    type Reader = io::Cursor<Vec<u8>>;

    async fn read(&self, uid: u32) -> io::Result<io::Cursor<Vec<u8>>> {
        let shared = self.store.lock();
        shared
            .mail
            .boxes
            .get(&self.mailbox)
            .and_then(|held| held.messages.iter().find(|m| m.uid == uid))
            .map(|m| io::Cursor::new(m.data.clone()))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{}: no message with UID {uid}", self.mailbox),
                )
            })
    }

    async fn update(&mut self, expunge: &[u32], seen: &[u32]) -> io::Result<()> {
        let update = apply_update(
            self.store.clone(),
            self.mailbox.clone(),
            self.listed.clone(),
            expunge.to_vec(),
            seen.to_vec(),
        );
        match self.store.bug {
            // The bug: the client hears +OK at once, and the changes are
            // made later, on a task that a crash of the host kills.
            Some(PlantedBug::UpdateBeforeSync) => {
                tokio::spawn(update.in_current_span());
            }
            _ => update.await,
        }
        Ok(())
    }
}

/// The update after QUIT, one synced change at a time.
async fn apply_update(
    store: MemoryStore,
    mailbox: String,
    listed: BTreeSet<u32>,
    expunge: Vec<u32>,
    seen: Vec<u32>,
) {
    tracing::info!(
        "maildrop {mailbox}: update begins, {} to expunge, {} to mark seen, {}ms a step",
        expunge.len(),
        seen.len(),
        UPDATE_STEP.as_millis()
    );
    for &uid in &expunge {
        tokio::time::sleep(UPDATE_STEP).await;
        let mut shared = store.lock();
        if let Some(held) = shared.mail.boxes.get_mut(&mailbox) {
            held.messages.retain(|m| m.uid != uid);
        }
    }
    if store.bug == Some(PlantedBug::ExpungeUnlisted) && !expunge.is_empty() {
        // The bug: the mailbox is rewritten from what the session was
        // shown, dropping the mail that arrived since.
        tokio::time::sleep(UPDATE_STEP).await;
        let mut shared = store.lock();
        if let Some(held) = shared.mail.boxes.get_mut(&mailbox) {
            held.messages.retain(|m| listed.contains(&m.uid));
        }
    }
    for &uid in &seen {
        tokio::time::sleep(UPDATE_STEP).await;
        let mut shared = store.lock();
        let message = shared
            .mail
            .boxes
            .get_mut(&mailbox)
            .and_then(|held| held.messages.iter_mut().find(|m| m.uid == uid));
        if let Some(message) = message {
            message.seen = true;
        }
    }
    tracing::info!(
        "maildrop {mailbox}: update done, {} expunged, {} marked seen",
        expunge.len(),
        seen.len()
    );
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let mut shared = self.store.lock();
        let mail = &mut shared.mail;
        if mail.generation != self.generation {
            return; // taken in an earlier life of the server: already void
        }
        if mail.locks.get(&self.mailbox) == Some(&self.generation) {
            mail.locks.remove(&self.mailbox);
        }
        if let Some(holders) = mail.holders.get_mut(&self.mailbox) {
            *holders = holders.saturating_sub(1);
        }
    }
}
