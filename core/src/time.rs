//! Time as the core sees it: a monotonic instant handed in by the driver.
//!
//! The core never reads a clock. Every input carries `now`, an [`Instant`]
//! measured in nanoseconds from an origin the driver picks (process start
//! in production, zero in simulation). Wall-clock time, which only mail
//! headers need, arrives separately as a [`UnixTime`].

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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
