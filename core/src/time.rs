//! Time as the core sees it: a monotonic instant handed in by the driver.
//!
//! The core never reads a clock. Every input carries `now`, an [`Instant`]
//! measured in nanoseconds from an origin the driver picks (process start
//! in production, zero in simulation). Wall-clock time, which only mail
//! headers need, arrives separately as a [`UnixTime`].

use std::marker::PhantomData;
use std::ops::Add;
use std::time::Duration;

/// A point on the driver's monotonic clock, in nanoseconds from its origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the end of time rather than wrapping.
    fn add(self, rhs: Duration) -> Instant {
        let nanos = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

/// What a machine's deadlines are for: an enum whose variants index a
/// [`TimerTable`].
pub trait TimerKind: Copy + 'static {
    /// The timers the driver reports as fired when they pass; the others
    /// (a send deadline) bound the driver's own work instead.
    const WAITING_ON_CLIENT: &'static [Self];

    /// The timer's slot, below [`TIMERS_PER_MACHINE_MAX`].
    fn index(self) -> usize;
}

/// The most timers one machine has.
pub const TIMERS_PER_MACHINE_MAX: usize = 8;

/// A machine's timers: one optional deadline per [`TimerKind`] variant, in
/// a fixed table (quinn-proto's shape). The earliest armed timer that waits
/// on the client is what the machine's `poll_timeout` names.
#[derive(Clone, Debug)]
pub struct TimerTable<T> {
    deadlines: [Option<Instant>; TIMERS_PER_MACHINE_MAX],
    kind: PhantomData<T>,
}

impl<T: TimerKind> Default for TimerTable<T> {
    fn default() -> Self {
        TimerTable {
            deadlines: [None; TIMERS_PER_MACHINE_MAX],
            kind: PhantomData,
        }
    }
}

impl<T: TimerKind> TimerTable<T> {
    pub fn set(&mut self, timer: T, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    pub fn stop(&mut self, timer: T) {
        self.deadlines[timer.index()] = None;
    }

    pub fn get(&self, timer: T) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    /// The earliest deadline of the timers that wait on the client.
    pub fn next_expiry(&self) -> Option<Instant> {
        T::WAITING_ON_CLIENT
            .iter()
            .filter_map(|&timer| self.get(timer))
            .min()
    }

    /// The timer waiting on the client that expired first, if any has by
    /// `now`.
    pub fn expired(&self, now: Instant) -> Option<T> {
        T::WAITING_ON_CLIENT
            .iter()
            .filter_map(|&timer| self.get(timer).map(|at| (at, timer)))
            .filter(|&(at, _)| at <= now)
            .min_by_key(|&(at, _)| at)
            .map(|(_, timer)| timer)
    }
}

/// Wall-clock time in whole seconds since the Unix epoch, UTC.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, bincode::Encode, bincode::Decode,
)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The RFC 5322 section 3.3 date-time, such as
    /// `Fri, 20 Nov 2026 22:15:59 +0000`.
    pub fn to_rfc5322(self) -> String {
        use time::format_description::well_known::Rfc2822;
        let at = time::OffsetDateTime::from_unix_timestamp(self.0)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        // Formatting a valid OffsetDateTime as RFC 2822 only fails for years
        // outside 1900..=9999, which from_unix_timestamp's range excludes for
        // any clock this server will meet; fall back to the epoch regardless.
        at.format(&Rfc2822)
            .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".to_owned())
    }

    /// The year and month, as `202612`: a DKIM selector's usual suffix.
    pub fn year_month(self) -> String {
        let at = time::OffsetDateTime::from_unix_timestamp(self.0)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        format!("{}{:02}", at.year(), u8::from(at.month()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_month_is_six_digits() {
        // Fri, 20 Nov 2026 22:15:59 +0000
        assert_eq!(UnixTime(1_795_126_559).year_month(), "202611");
        assert_eq!(UnixTime(0).year_month(), "197001");
    }

    #[test]
    fn adding_a_huge_duration_saturates() {
        assert_eq!(
            Instant::from_nanos(5) + Duration::MAX,
            Instant::from_nanos(u64::MAX)
        );
    }

    #[test]
    fn duration_since_a_later_instant_is_zero() {
        let early = Instant::from_nanos(10);
        assert_eq!(
            early.saturating_duration_since(Instant::from_nanos(20)),
            Duration::ZERO
        );
    }

    #[test]
    fn rfc5322_date_is_formatted_in_utc() {
        assert_eq!(
            UnixTime(1_795_212_959).to_rfc5322(),
            "Fri, 20 Nov 2026 22:15:59 +0000"
        );
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Timer {
        Command,
        Send,
        Session,
    }

    impl TimerKind for Timer {
        const WAITING_ON_CLIENT: &'static [Timer] = &[Timer::Command, Timer::Session];

        fn index(self) -> usize {
            self as usize
        }
    }

    #[test]
    fn only_timers_waiting_on_the_client_expire_and_the_earliest_first() {
        let at = Instant::from_nanos;
        let mut timers = TimerTable::<Timer>::default();
        assert_eq!(timers.next_expiry(), None);
        timers.set(Timer::Send, at(1));
        timers.set(Timer::Session, at(30));
        timers.set(Timer::Command, at(20));
        assert_eq!(timers.next_expiry(), Some(at(20)));
        assert_eq!(timers.expired(at(19)), None);
        assert_eq!(timers.expired(at(40)), Some(Timer::Command));
        timers.stop(Timer::Command);
        assert_eq!(timers.expired(at(40)), Some(Timer::Session));
        assert_eq!(timers.get(Timer::Send), Some(at(1)));
    }
}
