//! The remote-log machine's timers: one slot per [`Timer`] in a fixed table.

use crate::time::TimerKind;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// A client that is not following must send a command by then.
    Idle,
    /// A failed login's reply goes out then.
    AuthDelay,
    /// Everything emitted must be written by then (see
    /// [`RemoteLogServer::send_deadline`](super::RemoteLogServer::send_deadline)).
    Send,
}

impl TimerKind for Timer {
    const WAITING_ON_CLIENT: &'static [Timer] = &[Timer::Idle, Timer::AuthDelay];

    fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per timer.
pub type TimerTable = crate::time::TimerTable<Timer>;
