//! The finger machine's timers: one slot per [`Timer`] in a fixed table.

use crate::time::TimerKind;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The query line must have arrived by then.
    Query,
    /// Everything emitted must be written by then (see
    /// [`FingerServer::send_deadline`](super::FingerServer::send_deadline)).
    Send,
}

impl TimerKind for Timer {
    const WAITING_ON_CLIENT: &'static [Timer] = &[Timer::Query];

    fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per timer.
pub type TimerTable = crate::time::TimerTable<Timer>;
