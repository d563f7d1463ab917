//! The IMAP machine's timers: one slot per [`Timer`] in a fixed table.

use crate::time::TimerKind;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// RFC 9051 5.4: the inactivity autologout timer. Armed while the
    /// machine waits for a command; each command restarts it.
    Autologout,
    /// A failed login's reply is held back until then.
    AuthDelay,
    /// RFC 2177: an IDLE is ended when it has lasted this long.
    Idle,
    /// The session has lasted its instance's `max_session_time`.
    SessionEnd,
    /// Everything emitted must be written by then (see
    /// [`ImapServer::send_deadline`](super::ImapServer::send_deadline)).
    Send,
}

impl TimerKind for Timer {
    /// The timers whose expiry the driver reports as
    /// [`Input::TimerFired`](super::Input::TimerFired).
    const WAITING_ON_CLIENT: &'static [Timer] = &[
        Timer::Autologout,
        Timer::AuthDelay,
        Timer::Idle,
        Timer::SessionEnd,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per timer.
pub type TimerTable = crate::time::TimerTable<Timer>;
