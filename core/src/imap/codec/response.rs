//! What the session writes that is not a [`Value`](crate::imap::value::Value):
//! number sets for COPYUID and APPENDUID (RFC 4315 3), ESEARCH `ALL`
//! (RFC 4731 3.1) and VANISHED (RFC 7162 3.2.10).

/// Numbers as a `sequence-set`, runs of consecutive ascending numbers as
/// ranges (`1:3,7,9:10`), in the order given: COPYUID's two sets must
/// pair off, so nothing is sorted. Empty for no numbers (a caller with
/// none sends no set).
pub fn sequence_set_text(numbers: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && end.checked_add(1) == Some(numbers[i + 1]) {
            end = numbers[i + 1];
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sequence_set_text;

    #[test]
    fn runs_become_ranges_in_the_order_given() {
        assert_eq!(sequence_set_text(&[]), "");
        assert_eq!(sequence_set_text(&[5]), "5");
        assert_eq!(sequence_set_text(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(sequence_set_text(&[10, 11, 3, 4, 1]), "10:11,3:4,1");
        assert_eq!(
            sequence_set_text(&[u32::MAX - 1, u32::MAX, 1]),
            "4294967294:4294967295,1"
        );
    }
}
