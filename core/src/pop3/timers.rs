//! The POP3 machine's timers: one slot per [`Timer`] in a fixed table.

use crate::time::Instant;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// RFC 1939 3: the inactivity autologout timer. Armed while the
    /// machine waits for a command; each complete line restarts it.
    Autologout,
    /// A failed login's reply is held back until then.
    AuthDelay,
    /// The session's lifetime ends then.
    Session,
    /// Everything emitted must be written by then (see
    /// [`Pop3Server::send_deadline`](super::Pop3Server::send_deadline)).
    Send,
}

impl Timer {
    const COUNT: usize = 4;

    /// The timers whose expiry the driver reports as
    /// [`Input::TimerFired`](super::Input::TimerFired).
    const WAITING_ON_CLIENT: [Timer; 3] = [Timer::Autologout, Timer::AuthDelay, Timer::Session];
}

#[derive(Clone, Debug, Default)]
pub struct TimerTable([Option<Instant>; Timer::COUNT]);

impl TimerTable {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer as usize] = Some(at);
    }

    pub fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.0[timer as usize]
    }

    /// The earliest deadline of the timers that wait on the client.
    pub fn next_expiry(&self) -> Option<Instant> {
        Timer::WAITING_ON_CLIENT
            .iter()
            .filter_map(|&timer| self.get(timer))
            .min()
    }

    /// The client timer that expired first by `now`, if any.
    pub fn expired(&self, now: Instant) -> Option<Timer> {
        Timer::WAITING_ON_CLIENT
            .iter()
            .filter_map(|&timer| self.get(timer).map(|at| (at, timer)))
            .filter(|&(at, _)| at <= now)
            .min_by_key(|&(at, _)| at)
            .map(|(_, timer)| timer)
    }
}
