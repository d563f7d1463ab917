//! A mailbox's state and the rules it keeps.

use super::{Flags, Keywords, MessageMeta, ModSeq, Uid, UidValidity};
use crate::limits::MAILBOX_CHANGES_KEPT_MAX;
use crate::time::UnixTime;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// One change to a mailbox, in the order it happened; each carries the
/// MODSEQ it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Appended(MessageMeta),
    FlagsChanged {
        uid: Uid,
        flags: Flags,
        keywords: Keywords,
        modseq: ModSeq,
    },
    Expunged {
        uid: Uid,
        modseq: ModSeq,
    },
}

impl Change {
    pub fn modseq(&self) -> ModSeq {
        match self {
            Change::Appended(meta) => meta.modseq,
            Change::FlagsChanged { modseq, .. } | Change::Expunged { modseq, .. } => *modseq,
        }
    }

    pub fn uid(&self) -> Uid {
        match self {
            Change::Appended(meta) => meta.uid,
            Change::FlagsChanged { uid, .. } | Change::Expunged { uid, .. } => *uid,
        }
    }
}

/// A message as a store finds it, before the model gives it a MODSEQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub uid: Uid,
    pub flags: Flags,
    pub keywords: Keywords,
    pub internal_date: UnixTime,
    pub size: u64,
}

/// A rule the store's findings would break.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateError {
    /// A new UID at or below one already given out (or expunged).
    UidNotIncreasing { uid: Uid, uid_next: u32 },
    /// UIDNEXT went backwards.
    UidNextWentBack { was: u32, now: u32 },
    /// The store listed a UID twice or out of order.
    UidsNotAscending { uid: Uid },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::UidNotIncreasing { uid, uid_next } => write!(
                f,
                "UID {uid} appeared below UIDNEXT {uid_next}: a UID may not be reused"
            ),
            StateError::UidNextWentBack { was, now } => {
                write!(f, "UIDNEXT went back from {was} to {now}")
            }
            StateError::UidsNotAscending { uid } => {
                write!(f, "UID {uid} listed twice or out of order")
            }
        }
    }
}

impl std::error::Error for StateError {}

/// What [`MailboxState::reconcile`] made of a store's findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reconciled {
    /// The same UIDVALIDITY: these changes, oldest first (maybe none).
    Changes(Vec<Change>),
    /// A new UIDVALIDITY: the state was rebuilt; sessions must start over.
    UidValidityChanged,
}

/// A read-only copy of a mailbox's state, for a session to work from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub uid_validity: UidValidity,
    pub uid_next: u32,
    pub highest_modseq: ModSeq,
    /// In UID order.
    pub messages: Vec<MessageMeta>,
}

/// A mailbox: UIDVALIDITY, UIDNEXT, highest MODSEQ, its messages in UID
/// order and the latest changes.
#[derive(Clone, Debug)]
pub struct MailboxState {
    pub(super) uid_validity: UidValidity,
    pub(super) uid_next: u32,
    pub(super) highest_modseq: ModSeq,
    pub(super) messages: BTreeMap<Uid, MessageMeta>,
    /// The latest changes, oldest first, at most
    /// [`MAILBOX_CHANGES_KEPT_MAX`].
    pub(super) changes: VecDeque<Change>,
    /// Changes older than this MODSEQ were dropped from `changes`.
    pub(super) changes_from: ModSeq,
}

impl MailboxState {
    /// An empty mailbox.
    pub fn new(uid_validity: UidValidity, uid_next: u32) -> Self {
        MailboxState {
            uid_validity,
            uid_next: uid_next.max(1),
            highest_modseq: ModSeq(1),
            messages: BTreeMap::new(),
            changes: VecDeque::new(),
            changes_from: ModSeq(1),
        }
    }

    pub fn uid_validity(&self) -> UidValidity {
        self.uid_validity
    }

    pub fn uid_next(&self) -> u32 {
        self.uid_next
    }

    pub fn highest_modseq(&self) -> ModSeq {
        self.highest_modseq
    }

    /// The messages in UID order.
    pub fn messages(&self) -> impl Iterator<Item = &MessageMeta> {
        self.messages.values()
    }

    pub fn message(&self, uid: Uid) -> Option<&MessageMeta> {
        self.messages.get(&uid)
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            uid_validity: self.uid_validity,
            uid_next: self.uid_next,
            highest_modseq: self.highest_modseq,
            messages: self.messages.values().cloned().collect(),
        }
    }

    /// The changes after `since`, oldest first; `None` when some of them
    /// were already forgotten (the session must re-read the snapshot).
    pub fn changes_since(&self, since: ModSeq) -> Option<Vec<Change>> {
        if since.0.saturating_add(1) < self.changes_from.0 {
            return None;
        }
        Some(
            self.changes
                .iter()
                .filter(|c| c.modseq() > since)
                .cloned()
                .collect(),
        )
    }

    /// Brings the state in line with what the store found: `found` in UID
    /// order, `uid_next` as the store records it. Messages that vanished
    /// are expunged, new ones appended, changed flags recorded, each
    /// change with its own MODSEQ. Nothing changes when the findings break
    /// a rule.
    pub fn reconcile(
        &mut self,
        uid_validity: UidValidity,
        uid_next: u32,
        found: Vec<Found>,
    ) -> Result<Reconciled, StateError> {
        check_ascending(&found)?;
        if uid_validity != self.uid_validity {
            // MODSEQ carries on (it never goes back in one process), and
            // every change before the rebuild is forgotten: a session that
            // asks for changes since an older MODSEQ must start over.
            let base = self.highest_modseq.0 + 1;
            let mut rebuilt = MailboxState::new(uid_validity, 1);
            rebuilt.highest_modseq = ModSeq(base);
            rebuilt.changes_from = ModSeq(base + 1);
            rebuilt.reconcile(uid_validity, uid_next, found)?;
            *self = rebuilt;
            return Ok(Reconciled::UidValidityChanged);
        }
        if uid_next < self.uid_next {
            return Err(StateError::UidNextWentBack {
                was: self.uid_next,
                now: uid_next,
            });
        }
        let mut found_at = BTreeMap::new();
        for message in &found {
            let known = self.messages.contains_key(&message.uid);
            if !known && message.uid.get() < self.uid_next {
                return Err(StateError::UidNotIncreasing {
                    uid: message.uid,
                    uid_next: self.uid_next,
                });
            }
            found_at.insert(message.uid, ());
        }
        let mut changes = Vec::new();
        let gone: Vec<Uid> = self
            .messages
            .keys()
            .filter(|uid| !found_at.contains_key(uid))
            .copied()
            .collect();
        for uid in gone {
            changes.push(self.expunge(uid));
        }
        for message in found {
            if let Some(change) = self.apply(message) {
                changes.push(change);
            }
        }
        self.uid_next = self.uid_next.max(uid_next);
        self.check_rules();
        Ok(Reconciled::Changes(changes))
    }

    fn next_modseq(&mut self) -> ModSeq {
        self.highest_modseq = ModSeq(self.highest_modseq.0 + 1);
        self.highest_modseq
    }

    fn expunge(&mut self, uid: Uid) -> Change {
        let removed = self.messages.remove(&uid);
        assert!(removed.is_some(), "expunging unknown UID {uid}");
        let change = Change::Expunged {
            uid,
            modseq: self.next_modseq(),
        };
        self.remember(change.clone());
        change
    }

    /// Appends a new message or records changed flags; `None` if nothing
    /// changed.
    fn apply(&mut self, found: Found) -> Option<Change> {
        if let Some(known) = self.messages.get(&found.uid) {
            if known.flags == found.flags && known.keywords == found.keywords {
                return None;
            }
            let modseq = self.next_modseq();
            let known = self.messages.get_mut(&found.uid)?;
            known.flags = found.flags;
            known.keywords = found.keywords.clone();
            known.modseq = modseq;
            let change = Change::FlagsChanged {
                uid: found.uid,
                flags: found.flags,
                keywords: found.keywords,
                modseq,
            };
            self.remember(change.clone());
            return Some(change);
        }
        assert!(
            found.uid.get() >= self.uid_next,
            "UID {} reused below UIDNEXT {}",
            found.uid,
            self.uid_next
        );
        let meta = MessageMeta {
            uid: found.uid,
            flags: found.flags,
            keywords: found.keywords,
            internal_date: found.internal_date,
            size: found.size,
            modseq: self.next_modseq(),
        };
        self.uid_next = found.uid.get().saturating_add(1);
        self.messages.insert(meta.uid, meta.clone());
        let change = Change::Appended(meta);
        self.remember(change.clone());
        Some(change)
    }

    pub(super) fn remember(&mut self, change: Change) {
        if self.changes.len() == MAILBOX_CHANGES_KEPT_MAX {
            if let Some(dropped) = self.changes.pop_front() {
                self.changes_from = ModSeq(dropped.modseq().0 + 1);
            }
        }
        self.changes.push_back(change);
    }

    /// The rules, asserted after every change.
    fn check_rules(&self) {
        if let Some((&last, _)) = self.messages.last_key_value() {
            assert!(last.get() < self.uid_next, "UIDNEXT must exceed every UID");
        }
        for meta in self.messages.values() {
            assert!(meta.modseq <= self.highest_modseq, "MODSEQ above highest");
        }
    }
}

pub(super) fn check_ascending(found: &[Found]) -> Result<(), StateError> {
    for pair in found.windows(2) {
        if pair[1].uid <= pair[0].uid {
            return Err(StateError::UidsNotAscending { uid: pair[1].uid });
        }
    }
    Ok(())
}
