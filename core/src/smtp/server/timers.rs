//! The machine's timers: one slot per [`Timer`] in a fixed table.
//!
//! Four timers wait on the client, and the earliest armed one is what
//! [`Server::poll_timeout`](super::Server::poll_timeout) names; the fifth,
//! [`Timer::Send`], bounds the driver's writes instead
//! ([`Server::send_deadline`](super::Server::send_deadline)). Output the
//! server sends never moves a timer that waits on the client.

use crate::time::{Instant, TimerKind};
use std::time::Duration;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The command being awaited must be complete by then (RFC 5321
    /// 4.5.3.2.7). Armed when the machine starts waiting for a command;
    /// bytes that do not complete a line never move it.
    Command,
    /// Message data must keep pace; see [`DataPace::deadline`].
    Data,
    /// A failed login's reply is held back until then.
    AuthDelay,
    /// The session's lifetime ends then, whatever it is doing.
    Session,
    /// Everything the machine has emitted must be written by then; the
    /// driver bounds its writes, flushes and shutdown by it and hands in
    /// [`Input::SendTimedOut`](super::Input::SendTimedOut) when it passes.
    Send,
}

impl TimerKind for Timer {
    /// The timers whose expiry the driver reports as
    /// [`Input::TimerFired`](super::Input::TimerFired).
    const WAITING_ON_CLIENT: &'static [Timer] = &[
        Timer::Command,
        Timer::Data,
        Timer::AuthDelay,
        Timer::Session,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per timer.
pub type TimerTable = crate::time::TimerTable<Timer>;

/// How a DATA transfer is keeping up.
///
/// The rule: the transfer is on time while both hold,
///
/// ```text
/// now < last + data_timeout                                  (no long silence)
/// now < started + data_timeout + received / min_data_rate    (a minimum pace)
/// ```
///
/// where `started` is the `354`, `last` the latest byte and `received`
/// the octets received since (as sent, dot-stuffing included). A client
/// sending at `min_data_rate` or faster never falls behind; one that
/// trickles a byte now and then runs out of credit after about
/// `data_timeout`, however often it sends. `min_data_rate = 0` keeps only
/// the silence rule.
#[derive(Clone, Copy, Debug)]
pub struct DataPace {
    started: Instant,
    last: Instant,
    received: u64,
}

impl DataPace {
    pub fn new(started: Instant) -> Self {
        DataPace {
            started,
            last: started,
            received: 0,
        }
    }

    /// Counts `octets` received at `now`.
    pub fn received(&mut self, octets: usize, now: Instant) {
        if octets > 0 {
            self.received = self
                .received
                .saturating_add(u64::try_from(octets).unwrap_or(u64::MAX));
            self.last = now;
        }
    }

    /// True if, at `now`, the pace rule has been broken but not the
    /// silence rule: the client sends, only too slowly.
    pub fn too_slow(&self, now: Instant, data_timeout: Duration) -> bool {
        now < self.last + data_timeout
    }

    /// When the transfer falls behind, by the rule above.
    pub fn deadline(&self, data_timeout: Duration, min_data_rate: u32) -> Instant {
        let silence = self.last + data_timeout;
        if min_data_rate == 0 {
            return silence;
        }
        let credit_nanos = u128::from(self.received) * 1_000_000_000 / u128::from(min_data_rate);
        let credit = Duration::from_nanos(u64::try_from(credit_nanos).unwrap_or(u64::MAX));
        silence.min(self.started + data_timeout + credit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(seconds)
    }

    #[test]
    fn the_earliest_expired_client_timer_wins_and_send_never_fires() {
        let mut table = TimerTable::default();
        table.set(Timer::Send, at(1));
        table.set(Timer::Session, at(5));
        table.set(Timer::Command, at(3));
        assert_eq!(table.next_expiry(), Some(at(3)));
        assert_eq!(table.expired(at(2)), None);
        assert_eq!(table.expired(at(3)), Some(Timer::Command));
        assert_eq!(table.expired(at(9)), Some(Timer::Command));
        table.stop(Timer::Command);
        assert_eq!(table.expired(at(9)), Some(Timer::Session));
    }

    #[test]
    fn data_pace_table() {
        let timeout = Duration::from_secs(10);
        /// (minimum rate, [(second, octets received)], deadline in seconds)
        type Row = (u32, &'static [(u64, usize)], u64);
        let rows: &[Row] = &[
            // Nothing sent: ten seconds of silence.
            (100, &[], 10),
            // Fast: the silence rule binds.
            (100, &[(1, 100_000)], 11),
            // A byte a second: the pace rule binds, at 10 s + 5 × 10 ms.
            (100, &[(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)], 10),
            // 500 octets in 5 s at 100/s: exactly on pace, 10 + 5 = 15.
            (100, &[(5, 500)], 15),
            // No minimum rate: silence only.
            (0, &[(1, 1), (2, 1), (3, 1)], 13),
        ];
        for &(rate, chunks, expected) in rows {
            let mut pace = DataPace::new(at(0));
            for &(second, octets) in chunks {
                pace.received(octets, at(second));
            }
            let deadline = pace.deadline(timeout, rate);
            let seconds = deadline.saturating_duration_since(at(0)).as_secs();
            assert_eq!(seconds, expected, "rate {rate}, chunks {chunks:?}");
        }
    }
}
