//! The model's side of `postern-modseq` ([`super::modseq_file`]): what a
//! state keeps on disk, and a state resumed from it.

use super::modseq_file::{ModSeqFile, ModSeqRecord};
use super::{Change, Found, MailboxState, MessageMeta, ModSeq, Reconciled, StateError, Uid};
use super::{UidValidity, state::check_ascending};
use crate::time::UnixTime;
use std::collections::{BTreeMap, VecDeque};

impl MailboxState {
    /// An empty mailbox whose MODSEQs start above `floor`: a rebuild after
    /// the kept MODSEQs were lost, so that none goes back. Every change up
    /// to `floor` is unknown (`changes_since` answers `None`).
    pub fn rebuilt(uid_validity: UidValidity, floor: ModSeq) -> Self {
        let mut state = MailboxState::new(uid_validity, 1);
        state.highest_modseq = floor.max(ModSeq(1));
        state.changes_from = ModSeq(state.highest_modseq.0 + 1);
        state
    }

    /// What `postern-modseq` keeps: each message's MODSEQ and flags, the
    /// MODSEQ of appends still in the change list, and the tombstones.
    pub fn durable(&self) -> ModSeqFile {
        let mut appended = BTreeMap::new();
        let mut expunged = Vec::new();
        for change in &self.changes {
            match change {
                Change::Appended(meta) => {
                    appended.insert(meta.uid, meta.modseq);
                }
                Change::Expunged { uid, modseq } => expunged.push((*uid, *modseq)),
                Change::FlagsChanged { .. } => {}
            }
        }
        ModSeqFile {
            uid_validity: self.uid_validity,
            uid_next: self.uid_next,
            highest_modseq: self.highest_modseq,
            changes_from: self.changes_from,
            messages: self
                .messages
                .values()
                .map(|meta| ModSeqRecord {
                    uid: meta.uid,
                    modseq: meta.modseq,
                    appended: appended.get(&meta.uid).copied(),
                    flags: meta.flags,
                    keywords: meta.keywords.clone(),
                })
                .collect(),
            expunged,
        }
    }

    /// The state `file` kept, brought in line with what the store finds
    /// now (as [`MailboxState::reconcile`] does): a change made while no
    /// one kept the file (Dovecot set a flag, a message was expunged or
    /// delivered) gets a MODSEQ above the kept highest. The change list is
    /// rebuilt from the file: appends, each message's last flag change
    /// and the tombstones, so `changes_since` answers across a restart.
    /// A file for another UIDVALIDITY only lends its highest MODSEQ.
    pub fn resume(
        file: ModSeqFile,
        uid_validity: UidValidity,
        uid_next: u32,
        found: Vec<Found>,
    ) -> Result<(MailboxState, Reconciled), StateError> {
        check_ascending(&found)?;
        if file.uid_validity != uid_validity {
            let mut state = MailboxState::rebuilt(file.uid_validity, file.highest_modseq);
            let reconciled = state.reconcile(uid_validity, uid_next, found)?;
            return Ok((state, reconciled));
        }
        let mut state = MailboxState::from_file(&file, &found)?;
        let reconciled = state.reconcile(uid_validity, uid_next, found)?;
        Ok((state, reconciled))
    }

    fn from_file(file: &ModSeqFile, found: &[Found]) -> Result<MailboxState, StateError> {
        if let Some(last) = file.messages.last() {
            if last.uid.get() >= file.uid_next {
                return Err(StateError::UidNotIncreasing {
                    uid: last.uid,
                    uid_next: file.uid_next,
                });
            }
        }
        let found: BTreeMap<Uid, &Found> = found.iter().map(|f| (f.uid, f)).collect();
        let mut messages = BTreeMap::new();
        let mut log = Vec::new();
        for record in &file.messages {
            // A message gone since is expunged by the reconcile that
            // follows: its date and size no longer matter.
            let (internal_date, size) = found
                .get(&record.uid)
                .map_or((UnixTime(0), 0), |f| (f.internal_date, f.size));
            let meta = MessageMeta {
                uid: record.uid,
                flags: record.flags,
                keywords: record.keywords.clone(),
                internal_date,
                size,
                modseq: record.modseq,
            };
            if let Some(appended) = record.appended {
                log.push(Change::Appended(MessageMeta {
                    modseq: appended,
                    ..meta.clone()
                }));
            }
            if record.modseq >= file.changes_from && record.appended != Some(record.modseq) {
                log.push(Change::FlagsChanged {
                    uid: record.uid,
                    flags: record.flags,
                    keywords: record.keywords.clone(),
                    modseq: record.modseq,
                });
            }
            messages.insert(record.uid, meta);
        }
        log.extend(
            file.expunged
                .iter()
                .map(|&(uid, modseq)| Change::Expunged { uid, modseq }),
        );
        log.sort_by_key(Change::modseq);
        let mut state = MailboxState {
            uid_validity: file.uid_validity,
            uid_next: file.uid_next.max(1),
            highest_modseq: file.highest_modseq.max(ModSeq(1)),
            messages,
            changes: VecDeque::new(),
            changes_from: file.changes_from,
        };
        for change in log {
            state.remember(change);
        }
        Ok(state)
    }
}
