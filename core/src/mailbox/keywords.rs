//! Dovecot's `dovecot-keywords`: which keyword each Maildir letter means.
//!
//! One `<index> <keyword>` line per keyword, index 0 to 25 for the letters
//! `a` to `z` in file names (Dovecot's `maildir-keywords.c`).

use super::keyword;
use crate::limits::{MAILDIR_KEYWORDS_MAX, UIDLIST_LINE_BYTES_MAX};
use std::collections::BTreeMap;
use std::fmt::{self, Write};

/// Keyword by index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeywordTable {
    by_index: BTreeMap<u8, String>,
}

/// What is wrong with a damaged file, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordsError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for KeywordsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dovecot-keywords line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for KeywordsError {}

/// Every letter is taken: a Maildir holds at most 26 keywords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordsFull;

impl KeywordTable {
    pub fn parse(input: &[u8]) -> Result<Self, KeywordsError> {
        let mut table = KeywordTable::default();
        for (index, line) in input.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let fail = |reason: String| KeywordsError {
                line: number,
                reason,
            };
            if line.is_empty() {
                continue;
            }
            if line.len() > UIDLIST_LINE_BYTES_MAX {
                return Err(fail("line too long".into()));
            }
            let text = std::str::from_utf8(line).map_err(|_| fail("not UTF-8".into()))?;
            let (position, word) = text
                .split_once(' ')
                .ok_or_else(|| fail("expected '<index> <keyword>'".into()))?;
            let position: u8 = position
                .parse()
                .ok()
                .filter(|&i| usize::from(i) < MAILDIR_KEYWORDS_MAX)
                .ok_or_else(|| fail(format!("index {position:?} is not 0 to 25")))?;
            let word = keyword(word).map_err(|e| fail(e.to_string()))?;
            if table.by_index.insert(position, word.to_owned()).is_some() {
                return Err(fail(format!("index {position} listed twice")));
            }
        }
        Ok(table)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (index, word) in &self.by_index {
            let _ = writeln!(out, "{index} {word}");
        }
        out
    }

    /// The keyword of a letter's index.
    pub fn keyword(&self, index: u8) -> Option<&str> {
        self.by_index.get(&index).map(String::as_str)
    }

    /// The index of a keyword (compared without regard to ASCII case, as
    /// Dovecot does), if it has one.
    pub fn index(&self, word: &str) -> Option<u8> {
        self.by_index
            .iter()
            .find(|(_, w)| w.eq_ignore_ascii_case(word))
            .map(|(&i, _)| i)
    }

    /// The index of a keyword, giving it the lowest free one if it has
    /// none yet; `Ok((index, true))` when the table changed.
    pub fn index_or_add(&mut self, word: &str) -> Result<(u8, bool), KeywordsFull> {
        if let Some(index) = self.index(word) {
            return Ok((index, false));
        }
        let free = (0..MAILDIR_KEYWORDS_MAX as u8)
            .find(|i| !self.by_index.contains_key(i))
            .ok_or(KeywordsFull)?;
        self.by_index.insert(free, word.to_owned());
        Ok((free, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_index_lines() {
        let table = KeywordTable::parse(b"0 $Forwarded\n2 Work\n").unwrap();
        assert_eq!(table.keyword(0), Some("$Forwarded"));
        assert_eq!(table.keyword(1), None);
        assert_eq!(table.index("work"), Some(2));
        assert_eq!(table.render(), "0 $Forwarded\n2 Work\n");
    }

    #[test]
    fn new_keywords_take_the_lowest_free_letter_until_full() {
        let mut table = KeywordTable::parse(b"0 a\n2 c\n").unwrap();
        assert_eq!(table.index_or_add("b"), Ok((1, true)));
        assert_eq!(table.index_or_add("B"), Ok((1, false)));
        for i in 3..26 {
            assert_eq!(table.index_or_add(&format!("k{i}")), Ok((i, true)));
        }
        assert_eq!(table.index_or_add("more"), Err(KeywordsFull));
    }

    #[test]
    fn damaged_lines_are_refused_with_a_reason() {
        let rows: &[(&[u8], &str)] = &[
            (b"x\n", "expected"),
            (b"26 a\n", "not 0 to 25"),
            (b"-1 a\n", "not 0 to 25"),
            (b"0 a\n0 b\n", "twice"),
            (b"0 a b\n", "atom"),
            (b"0 \n", "empty"),
            (b"0 \xff\n", "UTF-8"),
        ];
        for &(input, reason) in rows {
            let got = KeywordTable::parse(input).unwrap_err();
            assert!(got.reason.contains(reason), "{got} for {input:?}");
        }
    }
}
