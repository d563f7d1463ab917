//! The FTP machine's timers: one slot per [`Timer`] in a fixed table.

use crate::time::TimerKind;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The session waits for a command; each complete line restarts it.
    /// Stopped during a transfer, which the driver bounds on its own.
    Idle,
    /// A failed login's reply is held back until then.
    AuthDelay,
    /// The session's lifetime ends then.
    Session,
    /// Everything emitted on the control connection must be written by
    /// then (see [`FtpServer::send_deadline`](super::FtpServer::send_deadline)).
    Send,
}

impl TimerKind for Timer {
    const WAITING_ON_CLIENT: &'static [Timer] = &[Timer::Idle, Timer::AuthDelay, Timer::Session];

    fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per timer.
pub type TimerTable = crate::time::TimerTable<Timer>;
