//! Records of messages just committed, kept for their first delivery.
//!
//! The session has the record in memory when it commits: the envelope,
//! the trace and the junk flag, exactly what it wrote before the file's
//! `fdatasync`. Delivery used to read it back from `queue/ID` (and look
//! for a state file that a message committed a moment ago cannot have) in
//! a trip of its own to the blocking threads. A committed record is kept
//! here instead, and delivery's first load takes it: no trip, no read.
//!
//! Taking removes it, so any later load (a retry after the runner's
//! restart, a read after a failure) reads the file as before. At most
//! [`SPOOL_RECORDS_KEPT_MAX`] are kept; past that (delivery far behind
//! the sessions) a commit keeps nothing and delivery reads the file.

use super::SpoolRecord;
use postern_core::envelope::QueueId;
use postern_core::limits::SPOOL_RECORDS_KEPT_MAX;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// Committed records waiting for their first load.
#[derive(Debug, Default)]
pub struct KeptRecords {
    records: Mutex<BTreeMap<QueueId, SpoolRecord>>,
}

impl KeptRecords {
    /// Keeps `record`, just committed, unless [`SPOOL_RECORDS_KEPT_MAX`]
    /// are kept already.
    pub fn keep(&self, record: SpoolRecord) {
        let mut records = self.lock();
        if records.len() < SPOOL_RECORDS_KEPT_MAX {
            records.insert(record.queue_id, record);
        }
    }

    /// The record of `id`, if it is kept; it is kept no longer.
    pub fn take(&self, id: QueueId) -> Option<SpoolRecord> {
        self.lock().remove(&id)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<QueueId, SpoolRecord>> {
        // A map of plain records stays valid whatever panicked holding it.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}
