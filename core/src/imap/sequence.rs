//! Sequence sets (RFC 9051 9 `sequence-set`) tested against a number.

use crate::imap::command::{SeqNumber, SequenceSet};

impl SequenceSet {
    /// Whether `value` is in the set, `*` standing for `largest` (the
    /// highest message number or UID in use; RFC 9051 6.4.8: `*` in an
    /// empty mailbox matches nothing). `$` is never contained here: the
    /// session resolves it to the saved result first (RFC 5182).
    pub fn contains(&self, value: u32, largest: u32) -> bool {
        let SequenceSet::Ranges(ranges) = self else {
            return false;
        };
        let resolve = |number: SeqNumber| match number {
            SeqNumber::Value(v) => Some(v.get()),
            SeqNumber::Largest => (largest > 0).then_some(largest),
        };
        ranges.iter().any(|range| {
            let (Some(start), Some(end)) = (resolve(range.start), resolve(range.end)) else {
                return false;
            };
            let (low, high) = if start <= end {
                (start, end)
            } else {
                (end, start)
            };
            (low..=high).contains(&value)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::imap::command::{SeqNumber, SequenceRange, SequenceSet};
    use std::num::NonZeroU32;

    fn n(value: u32) -> SeqNumber {
        SeqNumber::Value(NonZeroU32::new(value).expect("test numbers are not zero"))
    }

    fn set(ranges: &[(SeqNumber, SeqNumber)]) -> SequenceSet {
        SequenceSet::Ranges(
            ranges
                .iter()
                .map(|&(start, end)| SequenceRange { start, end })
                .collect(),
        )
    }

    #[test]
    fn ranges_either_way_round_and_star() {
        let s = set(&[
            (n(2), n(4)),
            (n(9), n(7)),
            (SeqNumber::Largest, SeqNumber::Largest),
        ]);
        let inside: Vec<u32> = (1..=12).filter(|&v| s.contains(v, 12)).collect();
        assert_eq!(inside, vec![2, 3, 4, 7, 8, 9, 12]);
    }

    #[test]
    fn star_to_a_number_above_it_covers_the_range() {
        // RFC 9051 9: `5:*` with 3 messages is `3:5`.
        let s = set(&[(n(5), SeqNumber::Largest)]);
        assert!(s.contains(3, 3));
        assert!(!s.contains(2, 3));
    }

    #[test]
    fn star_in_an_empty_mailbox_and_saved_match_nothing() {
        assert!(!set(&[(SeqNumber::Largest, SeqNumber::Largest)]).contains(1, 0));
        assert!(!SequenceSet::Saved.contains(1, 10));
    }
}
