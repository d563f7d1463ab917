//! Wildmats (RFC 3977 4): which groups to pull.
//!
//! A wildmat is a comma-separated list of patterns, each perhaps preceded
//! by `!`; `*` matches any run of characters and `?` any one. The last
//! pattern that matches a name decides: a plain one includes it, a `!`
//! one excludes it; a name no pattern matches is excluded.

/// A parsed wildmat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wildmat {
    text: String,
}

/// Why a string is not a wildmat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WildmatError {
    Empty,
    /// A pattern between commas is empty (`a,,b`, `!`).
    EmptyPattern,
    /// `[`, `]` or `\`, which RFC 3977 4.1 leaves out, or a space or
    /// control character.
    BadCharacter(char),
}

impl std::fmt::Display for WildmatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WildmatError::Empty => f.write_str("a group pattern cannot be empty"),
            WildmatError::EmptyPattern => f.write_str(
                "a group pattern has an empty part between commas (write `comp.lang.*,!comp.lang.java`)",
            ),
            WildmatError::BadCharacter(c) => write!(
                f,
                "{c:?} is not allowed in a group pattern: use names with `*`, `?`, `!` and commas (RFC 3977 4)"
            ),
        }
    }
}

impl Wildmat {
    pub fn new(text: &str) -> Result<Wildmat, WildmatError> {
        if text.is_empty() {
            return Err(WildmatError::Empty);
        }
        if let Some(c) = text
            .chars()
            .find(|&c| matches!(c, '[' | ']' | '\\') || c.is_whitespace() || c.is_control())
        {
            return Err(WildmatError::BadCharacter(c));
        }
        if text
            .split(',')
            .any(|p| p.strip_prefix('!').unwrap_or(p).is_empty())
        {
            return Err(WildmatError::EmptyPattern);
        }
        Ok(Wildmat {
            text: text.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True if it names groups outright, with no `*`, `?` or `!`: then
    /// they can be asked for one by one, with no LIST first.
    pub fn is_plain_list(&self) -> bool {
        !self.text.contains(['*', '?', '!'])
    }

    /// The names of a plain list.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.text.split(',')
    }

    pub fn matches(&self, name: &str) -> bool {
        let mut verdict = false;
        for pattern in self.text.split(',') {
            let (negated, pattern) = match pattern.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, pattern),
            };
            if pattern_matches(pattern.as_bytes(), name.as_bytes()) {
                verdict = !negated;
            }
        }
        verdict
    }
}

/// `*` and `?` matching, iterative with one backtrack point, so that no
/// pattern takes more than `pattern.len() * name.len()` steps.
fn pattern_matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildmat_table() {
        let rows: &[(&str, &str, bool)] = &[
            ("misc.test", "misc.test", true),
            ("misc.test", "misc.tests", false),
            ("misc.*", "misc.test", true),
            ("misc.*", "misc", false),
            ("*", "anything.at.all", true),
            ("comp.*,!comp.lang.*", "comp.lang.rust", false),
            ("comp.*,!comp.lang.*", "comp.os.linux", true),
            ("!comp.lang.*,comp.*", "comp.lang.rust", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*.test", "local.test", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("local.general,misc.test", "misc.test", true),
        ];
        for (pattern, name, expected) in rows {
            let wildmat = Wildmat::new(pattern).unwrap();
            assert_eq!(wildmat.matches(name), *expected, "{pattern} ~ {name}");
        }
    }

    #[test]
    fn bad_wildmats_are_refused() {
        assert_eq!(Wildmat::new(""), Err(WildmatError::Empty));
        assert_eq!(Wildmat::new("a,,b"), Err(WildmatError::EmptyPattern));
        assert_eq!(Wildmat::new("a,!"), Err(WildmatError::EmptyPattern));
        assert_eq!(Wildmat::new("a[bc]"), Err(WildmatError::BadCharacter('[')));
        assert_eq!(Wildmat::new("a b"), Err(WildmatError::BadCharacter(' ')));
    }

    #[test]
    fn plain_lists_need_no_list_command() {
        assert!(Wildmat::new("a.b,c.d").unwrap().is_plain_list());
        assert!(!Wildmat::new("a.*").unwrap().is_plain_list());
        assert!(!Wildmat::new("a.b,!c.d").unwrap().is_plain_list());
    }
}
