//! RFC 3977 4 wildmats: comma-separated patterns, each optionally negated
//! with `!`, matched in order; the last pattern that matches decides, and
//! a string no pattern matches does not match.
//!
//! Within a pattern `*` matches any run of characters, `?` one character,
//! and everything else itself. `[...]` (a set of characters and ranges,
//! `[^...]` for the complement) is the INN `uwildmat` extension that
//! access patterns are commonly written with; RFC 3977 4.2 reserves `[`
//! and `]` for it. A `\` quotes the next character.

use crate::limits::WILDMAT_PATTERNS_MAX;
use std::fmt;

/// A parsed wildmat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wildmat {
    /// The text it was parsed from, for display.
    source: String,
    patterns: Vec<Pattern>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    negated: bool,
    items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Char(char),
    Any,
    Star,
    /// `[...]`: inclusive ranges (a single character is `(c, c)`).
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Why a string is not a wildmat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WildmatError {
    /// An empty pattern: a leading, trailing or doubled comma, or nothing.
    EmptyPattern,
    TooManyPatterns,
    /// A `[` without its `]`.
    UnclosedSet,
    /// A `\` at the end.
    DanglingEscape,
    /// Whitespace or a control character.
    BadCharacter,
}

impl fmt::Display for WildmatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WildmatError::EmptyPattern => f.write_str("a wildmat has an empty pattern"),
            WildmatError::TooManyPatterns => write!(
                f,
                "a wildmat has at most {WILDMAT_PATTERNS_MAX} comma-separated patterns"
            ),
            WildmatError::UnclosedSet => f.write_str("a `[` in a wildmat has no `]`"),
            WildmatError::DanglingEscape => f.write_str("a wildmat ends with `\\`"),
            WildmatError::BadCharacter => {
                f.write_str("a wildmat cannot hold spaces or control characters")
            }
        }
    }
}

impl std::error::Error for WildmatError {}

impl Wildmat {
    pub fn parse(text: &str) -> Result<Wildmat, WildmatError> {
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(WildmatError::BadCharacter);
        }
        let mut patterns = Vec::new();
        let mut chars = text.chars().peekable();
        loop {
            if patterns.len() == WILDMAT_PATTERNS_MAX {
                return Err(WildmatError::TooManyPatterns);
            }
            let negated = chars.next_if_eq(&'!').is_some();
            let mut items = Vec::new();
            while let Some(c) = chars.next_if(|&c| c != ',') {
                items.push(match c {
                    '*' => Item::Star,
                    '?' => Item::Any,
                    '\\' => Item::Char(chars.next().ok_or(WildmatError::DanglingEscape)?),
                    '[' => parse_set(&mut chars)?,
                    c => Item::Char(c),
                });
            }
            if items.is_empty() {
                return Err(WildmatError::EmptyPattern);
            }
            patterns.push(Pattern { negated, items });
            if chars.next().is_none() {
                break;
            }
        }
        Ok(Wildmat {
            source: text.to_owned(),
            patterns,
        })
    }

    /// `*`: everything.
    pub fn everything() -> Wildmat {
        Wildmat::parse("*").expect("`*` is a wildmat")
    }

    /// Nothing at all (`!*`).
    pub fn nothing() -> Wildmat {
        Wildmat::parse("!*").expect("`!*` is a wildmat")
    }

    /// True if no string can match: every pattern is negated.
    pub fn matches_nothing(&self) -> bool {
        self.patterns.iter().all(|p| p.negated)
    }

    pub fn matches(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        self.patterns
            .iter()
            .rev()
            .find(|pattern| matches_items(&pattern.items, &chars))
            .is_some_and(|pattern| !pattern.negated)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True if it names groups outright, with no `*`, `?`, `!` or `[`:
    /// then they can be asked for one by one, with no LIST first.
    pub fn is_plain_list(&self) -> bool {
        !self.source.contains(['*', '?', '!', '[', '\\'])
    }

    /// The comma-separated patterns as written (the names of a plain
    /// list).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.source.split(',')
    }
}

impl fmt::Display for Wildmat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn parse_set(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Item, WildmatError> {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    // A `]` first is a member, not the end (as in uwildmat).
    let mut first = true;
    loop {
        let c = chars.next().ok_or(WildmatError::UnclosedSet)?;
        if c == ']' && !first {
            break;
        }
        first = false;
        let low = if c == '\\' {
            chars.next().ok_or(WildmatError::DanglingEscape)?
        } else {
            c
        };
        let mut high = low;
        if chars.peek() == Some(&'-') {
            chars.next();
            match chars.next().ok_or(WildmatError::UnclosedSet)? {
                ']' => {
                    ranges.push((low, low));
                    ranges.push(('-', '-'));
                    break;
                }
                '\\' => high = chars.next().ok_or(WildmatError::DanglingEscape)?,
                c => high = c,
            }
        }
        ranges.push((low, high));
    }
    Ok(Item::Set { negated, ranges })
}

/// Iterative matching with one backtrack point for the last `*`: linear
/// enough for names of at most a few hundred characters, and no recursion
/// however many stars a peer sends.
fn matches_items(items: &[Item], text: &[char]) -> bool {
    let (mut i, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match items.get(i) {
            Some(Item::Star) => {
                star = Some((i, t));
                i += 1;
                continue;
            }
            Some(item) if item_matches(item, text[t]) => {
                i += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_i, star_t)) => {
                i = star_i + 1;
                t = star_t + 1;
                star = Some((star_i, star_t + 1));
            }
            None => return false,
        }
    }
    items[i..].iter().all(|item| *item == Item::Star)
}

fn item_matches(item: &Item, c: char) -> bool {
    match item {
        Item::Char(expected) => *expected == c,
        Item::Any => true,
        Item::Star => unreachable!("stars are handled by the matcher"),
        Item::Set { negated, ranges } => {
            ranges.iter().any(|&(low, high)| low <= c && c <= high) != *negated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matches(wildmat: &str, text: &str) -> bool {
        Wildmat::parse(wildmat).unwrap().matches(text)
    }

    #[test]
    fn rfc_3977_examples() {
        // RFC 3977 4.4.
        let rows: &[(&str, &str, bool)] = &[
            ("a*,!*b,*c", "aaa", true),
            ("a*,!*b,*c", "abb", false),
            ("a*,!*b,*c", "ccb", false),
            ("a*,!*b,*c", "xxc", true),
            ("a*,!*b,*c", "xxx", false),
            ("a*,!*b,*c", "abc", true),
            ("!*b", "abc", false),
            ("!*b", "abb", false),
            ("*", "", true),
            ("?", "", false),
            ("?", "x", true),
            ("comp.*", "comp.lang.c", true),
            ("comp.*", "comp", false),
            ("comp.*,!comp.os.*", "comp.os.linux", false),
            (
                "comp.*,!comp.os.*,comp.os.linux.*",
                "comp.os.linux.misc",
                true,
            ),
            ("local.general", "local.general", true),
            ("local.general", "local.generalx", false),
            ("*.test", "a.b.test", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a*b*c", "abcbc", true),
            ("***", "anything", true),
        ];
        for &(wildmat, text, expected) in rows {
            assert_eq!(matches(wildmat, text), expected, "{wildmat:?} on {text:?}");
        }
    }

    #[test]
    fn sets_and_escapes() {
        let rows: &[(&str, &str, bool)] = &[
            ("[abc]x", "bx", true),
            ("[abc]x", "dx", false),
            ("[a-c]*", "cat", true),
            ("[^a-c]*", "cat", false),
            ("[^a-c]*", "dog", true),
            ("[]]", "]", true),
            ("[a-]", "-", true),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
        ];
        for &(wildmat, text, expected) in rows {
            assert_eq!(matches(wildmat, text), expected, "{wildmat:?} on {text:?}");
        }
    }

    #[test]
    fn malformed_wildmats_say_why() {
        let rows: &[(&str, WildmatError)] = &[
            ("", WildmatError::EmptyPattern),
            ("a,", WildmatError::EmptyPattern),
            (",a", WildmatError::EmptyPattern),
            ("a,,b", WildmatError::EmptyPattern),
            ("!", WildmatError::EmptyPattern),
            ("[ab", WildmatError::UnclosedSet),
            ("ab\\", WildmatError::DanglingEscape),
            ("a b", WildmatError::BadCharacter),
        ];
        for &(text, error) in rows {
            assert_eq!(Wildmat::parse(text), Err(error), "{text:?}");
        }
        let many = vec!["a"; WILDMAT_PATTERNS_MAX + 1].join(",");
        assert_eq!(Wildmat::parse(&many), Err(WildmatError::TooManyPatterns));
        assert!(Wildmat::parse(&vec!["a"; WILDMAT_PATTERNS_MAX].join(",")).is_ok());
    }

    #[test]
    fn everything_and_nothing() {
        assert!(Wildmat::everything().matches("x.y"));
        assert!(!Wildmat::nothing().matches("x.y"));
        assert!(Wildmat::nothing().matches_nothing());
        assert!(!Wildmat::parse("!a,b").unwrap().matches_nothing());
    }

    proptest! {
        #[test]
        fn parsing_and_matching_never_panic(wildmat in "[a-c*?!,\\[\\]^\\\\-]{0,24}", text in "[a-c.-]{0,24}") {
            if let Ok(wildmat) = Wildmat::parse(&wildmat) {
                let _ = wildmat.matches(&text);
            }
        }

        #[test]
        fn a_literal_pattern_matches_only_itself(name in "[a-z.]{1,20}", other in "[a-z.]{1,20}") {
            let wildmat = Wildmat::parse(&name).unwrap();
            prop_assert!(wildmat.matches(&name));
            prop_assert_eq!(wildmat.matches(&other), name == other);
        }
    }
}
