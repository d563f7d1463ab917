//! The users' INBOXes as POP3 reads them ([`super::mailboxes`], the same
//! mail IMAP reads through `MailboxStore`): UIDs, CRLF bytes and `\Seen`;
//! the maildrop lock (one session per mailbox, released when the session
//! ends and when the server crashes); and the update after QUIT applied
//! one change at a time, each a simulated synced write, so that a crash in
//! the middle of UPDATE leaves a partial update, as a real disk could.
//!
//! The sim keeps its own `Maildrops` rather than the runtime's
//! `postern::pop3::StoreMaildrops` over the same store, because the
//! planted bugs the swarm tests find live here: a missing lock, an update
//! that rewrites the mailbox from the listing, one acknowledged before it
//! is synced, sizes counted without CR. The data is the store's, so POP3,
//! delivery and `MailboxStore` readers see one mailbox.
//!
//! Beside what the mailboxes hold now, the store keeps every copy ever
//! delivered, with its UID and virtual time: the record the invariants
//! check the mailboxes and the readers against.

use super::mailboxes::{Body, Mailboxes, Placed, inbox};
use super::{MemoryStore, PlantedBug, wall_clock};
use postern::mailstore::FlagOp;
use postern::pop3::{MaildropHandle, Maildrops};
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::finger::MailStatus;
use postern_core::mailbox::{Flag, Flags, Keywords, Uid};
use postern_core::pop3::{Maildrop, MaildropFailure, MaildropMessage};
use postern_core::time::UnixTime;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// How long one change of an update (one expunge or one flag) takes to be
/// written and synced: the window a crash can cut an update in.
pub const UPDATE_STEP: Duration = Duration::from_millis(20);

/// One INBOX as it is now.
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
    /// When it was delivered, by the simulated wall clock (its internal
    /// date).
    pub arrived: UnixTime,
    /// The message it is a copy of, when delivery put it here.
    pub origin: Option<QueueId>,
}

/// A copy put in a mailbox, as it was put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The mailbox, `user@domain`.
    pub mailbox: String,
    /// The folder: `INBOX`, or the Junk folder for quarantined mail.
    pub folder: String,
    /// The queued message it is a copy of.
    pub origin: QueueId,
    pub uid_validity: u32,
    pub uid: u32,
    pub data: Vec<u8>,
    /// Virtual time of the delivery.
    pub at: Duration,
}

/// The maildrop locks and the record of deliveries.
#[derive(Debug, Default)]
pub(super) struct MailState {
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
    /// The server crashed: every lock and hold of its sessions is gone.
    pub(super) fn crashed(&mut self) {
        self.generation += 1;
        self.locks.clear();
        self.holders.clear();
    }
}

/// Delivery: puts `data`, a copy of `origin`, in the INBOX of `mailbox`
/// (in its Junk folder when `junk`, the message quarantined) under a new
/// UID, unless an earlier try did (as the Maildir store: the same queue
/// ID in the folder makes no second copy).
pub(super) fn deliver(
    store: &MemoryStore,
    mailbox: &LocalMailbox,
    junk: bool,
    data: Vec<u8>,
    origin: QueueId,
) -> io::Result<String> {
    let mut shared = store.lock();
    let shared = &mut *shared;
    let now = wall_clock();
    // A first try looks for no earlier copy, as the spool's does not.
    let first_try = shared.first_tries.try_now(origin, mailbox);
    let user = shared.mailboxes.user(mailbox, now);
    let name = if junk { user.junk_folder(now) } else { inbox() };
    let folder = user
        .folder_mut(&name)
        .map_err(|error| io::Error::other(error.to_string()))?;
    let place = if junk {
        format!("folder {name}")
    } else {
        "the mailbox".to_string()
    };
    if !first_try && let Some(uid) = folder.copy_of(origin) {
        return Ok(format!("message {uid} in {place} (made by an earlier try)"));
    }
    let first_uid = match store.bug {
        // The bug: the counter is recomputed from what the mailbox holds,
        // so the UID of an expunged last message comes back.
        Some(PlantedBug::UidReuse) => Some(
            folder
                .state()
                .messages()
                .last()
                .map_or(1, |m| m.uid.get() + 1),
        ),
        _ => None,
    };
    let uid_validity = folder.state().uid_validity().0;
    let placed = Placed {
        body: Body {
            data: Arc::new(data.clone()),
            origin: Some(origin),
        },
        flags: Flags::EMPTY,
        keywords: Keywords::new(),
        internal_date: now,
    };
    let uid = match folder.place(vec![placed], first_uid) {
        Ok(uids) => uids[0],
        Err(error) => {
            // The model refused: the rule it keeps was about to break.
            // Said once; delivery retries and is refused again.
            let uid = first_uid.unwrap_or_default();
            let broken = format!(
                "UID {uid} of {mailbox} (UIDVALIDITY {uid_validity}) was given to two messages"
            );
            let violations = &mut shared.mail.violations;
            if !violations.iter().any(|v| v.starts_with(&broken)) {
                violations.push(format!("{broken}: {error}"));
            }
            return Err(io::Error::other(error.to_string()));
        }
    };
    match store.bug {
        Some(PlantedBug::DeliveryUnannounced) => shared.mailboxes.record(mailbox, &name),
        _ => shared.mailboxes.changed(mailbox, &name),
    }
    shared.mail.delivered.push(Delivered {
        mailbox: mailbox.to_string(),
        folder: name.to_string(),
        origin,
        uid_validity,
        uid: uid.get(),
        data,
        at: turmoil::sim_elapsed().unwrap_or_default(),
    });
    Ok(format!("message {uid} in {place}"))
}

/// What finger tells of `mailbox`: an INBOX never delivered to is empty.
pub(super) fn status(mailboxes: &Mailboxes, mailbox: &LocalMailbox) -> MailStatus {
    let messages = mailboxes.inbox(mailbox).map(inbox_messages);
    status_of(messages.iter().flatten())
}

/// The planted bug's answer: every mailbox's mail as one.
pub(super) fn status_of_all(mailboxes: &Mailboxes) -> MailStatus {
    let all: Vec<MailMessage> = mailboxes
        .users()
        .keys()
        .filter_map(|mailbox| mailboxes.inbox(mailbox))
        .flat_map(inbox_messages)
        .collect();
    status_of(all.iter())
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

/// An INBOX's messages as POP3 and the checks see them.
fn inbox_messages(folder: &super::mailboxes::Folder) -> Vec<MailMessage> {
    folder
        .state()
        .messages()
        .filter_map(|meta| {
            let body = folder.body(meta.uid)?;
            Some(MailMessage {
                uid: meta.uid.get(),
                data: body.data.to_vec(),
                seen: meta.flags.contains(Flag::Seen),
                arrived: meta.internal_date,
                origin: body.origin,
            })
        })
        .collect()
}

impl MemoryStore {
    /// Every copy ever put in a mailbox, in order.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.lock().mail.delivered.clone()
    }

    /// What each INBOX holds now, by address.
    pub fn mailbox_contents(&self) -> BTreeMap<String, Mailbox> {
        let shared = self.lock();
        shared
            .mailboxes
            .users()
            .keys()
            .filter_map(|mailbox| {
                let folder = shared.mailboxes.inbox(mailbox)?;
                let held = Mailbox {
                    uid_validity: folder.state().uid_validity().0,
                    uid_next: folder.state().uid_next(),
                    messages: inbox_messages(folder),
                };
                Some((mailbox.to_string(), held))
            })
            .collect()
    }

    /// Invariants the mailboxes saw broken as they ran.
    pub fn mail_violations(&self) -> Vec<String> {
        self.lock().mail.violations.clone()
    }

    /// The server crashed: its maildrop locks go with it, and its record
    /// of first tries (the planted bug counts the queue's messages as
    /// committed by the next life).
    pub fn crashed(&self) {
        let mut shared = self.lock();
        let shared = &mut *shared;
        shared.mail.crashed();
        shared.first_tries = postern_core::queue::FirstTries::default();
        if self.bug == Some(PlantedBug::FirstTryAfterRestart) {
            for &id in shared.queue.keys() {
                shared.first_tries.committed(id);
            }
        }
    }
}

/// One POP3 session's hold on a mailbox: the lock, taken in one life of
/// the server.
#[derive(Debug)]
pub struct SimHandle {
    store: MemoryStore,
    /// The lock's key, `user@domain`.
    mailbox: String,
    local: LocalMailbox,
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
        let folder = shared
            .mailboxes
            .user(mailbox, wall_clock())
            .folder(&inbox())
            .ok_or(MaildropFailure::Unavailable)?;
        let held = inbox_messages(folder);
        let maildrop = Maildrop {
            uid_validity: folder.state().uid_validity().0,
            messages: held
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
        let listed = held.iter().map(|m| m.uid).collect();
        let handle = SimHandle {
            store: self.clone(),
            mailbox: key,
            local: mailbox.clone(),
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
            .mailboxes
            .inbox(&self.local)
            .zip(Uid::new(uid))
            .and_then(|(folder, uid)| folder.body(uid))
            .map(|body| io::Cursor::new(body.data.to_vec()))
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
            self.local.clone(),
            self.listed.clone(),
            expunge.to_vec(),
            seen.to_vec(),
        );
        match self.store.bug {
            // The bug: the client hears +OK at once, and the changes are
            // made later, on a task that a crash of the host kills.
            Some(PlantedBug::UpdateBeforeSync) => {
                tokio::task::spawn_local(update.in_current_span());
            }
            _ => update.await,
        }
        Ok(())
    }
}

/// One change of an update, at one instant, told to the INBOX's watchers;
/// a change the model refuses is a violation.
fn change(
    store: &MemoryStore,
    mailbox: &LocalMailbox,
    op: impl FnOnce(&mut super::mailboxes::Folder) -> Result<(), postern::mailstore::StoreError>,
) {
    let mut shared = store.lock();
    let shared = &mut *shared;
    let done = shared
        .mailboxes
        .user(mailbox, wall_clock())
        .folder_mut(&inbox())
        .and_then(op);
    match done {
        Ok(()) => shared.mailboxes.changed(mailbox, &inbox()),
        Err(error) => shared
            .mail
            .violations
            .push(format!("the update of {mailbox}: {error}")),
    }
}

/// The update after QUIT, one synced change at a time.
async fn apply_update(
    store: MemoryStore,
    mailbox: LocalMailbox,
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
    let uids =
        |list: &[u32]| -> Vec<Uid> { list.iter().filter_map(|&uid| Uid::new(uid)).collect() };
    for uid in uids(&expunge) {
        tokio::time::sleep(UPDATE_STEP).await;
        change(&store, &mailbox, |folder| folder.expunge(&[uid]).map(drop));
    }
    if store.bug == Some(PlantedBug::ExpungeUnlisted) && !expunge.is_empty() {
        // The bug: the mailbox is rewritten from what the session was
        // shown, dropping the mail that arrived since.
        tokio::time::sleep(UPDATE_STEP).await;
        change(&store, &mailbox, |folder| {
            let unlisted: Vec<Uid> = folder
                .state()
                .messages()
                .map(|m| m.uid)
                .filter(|uid| !listed.contains(&uid.get()))
                .collect();
            folder.expunge(&unlisted).map(drop)
        });
    }
    let seen_flag = Flags::EMPTY.with(Flag::Seen);
    for uid in uids(&seen) {
        tokio::time::sleep(UPDATE_STEP).await;
        change(&store, &mailbox, |folder| {
            folder
                .set_flags(&[uid], FlagOp::Add, seen_flag, &Keywords::new())
                .map(drop)
        });
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
