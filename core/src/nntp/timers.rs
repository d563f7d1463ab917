//! The NNTP machine's timers: one slot per [`Timer`] in a fixed table.

use crate::time::TimerKind;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// How long the client may be silent (RFC 3977 3.1). Armed while the
    /// machine waits for a command; each complete line restarts it.
    Idle,
    /// A failed login's reply is held back until then.
    AuthDelay,
    /// The session's lifetime ends then.
    Session,
    /// Everything emitted must be written by then (see
    /// [`NntpServer::send_deadline`](super::Pop3Server::send_deadline)).
    Send,
}

impl TimerKind for Timer {
    /// The timers whose expiry the driver reports as
    /// [`Input::TimerFired`](super::Input::TimerFired).
    const WAITING_ON_CLIENT: &'static [Timer] = &[Timer::Idle, Timer::AuthDelay, Timer::Session];

    fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per timer.
pub type TimerTable = crate::time::TimerTable<Timer>;
