//! Address patterns with wildcards, as barring (`bar_senders`,
//! `bar_recipients`) and a mailbox's allow and block lists write them.
//!
//! `*` stands for any run of characters (none included), `?` for exactly
//! one; everything else stands for itself, compared without regard to
//! case. What a pattern is matched against depends on its shape:
//!
//! | written              | matched against            | matches                                  |
//! |----------------------|----------------------------|------------------------------------------|
//! | `user@example.com`   | the whole address          | that address                             |
//! | `*@spam.example`     | the whole address          | any user at that domain, not subdomains  |
//! | `bulk-*@*`           | the whole address          | `bulk-` users at any domain              |
//! | `@example.com`       | the domain                 | the domain and all its subdomains        |
//! | `example.com`        | the domain                 | that domain only                         |
//! | `*.biz`              | the domain                 | every domain under `biz` (not `biz`)     |
//! | `*`                  | the domain                 | every address                            |
//!
//! The null reverse-path `<>` has no address and matches no pattern.
//! Each pattern is at most [`ADDRESS_PATTERN_BYTES_MAX`] octets, and so
//! is each address matched, so a match costs at most the product of the
//! two lengths.

use crate::address::Mailbox;
use crate::limits::ADDRESS_PATTERN_BYTES_MAX;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A checked pattern, lower-case, as written (trimmed).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AddressPattern {
    text: String,
    shape: Shape,
}

/// What a pattern is matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Shape {
    /// `local@domain`: the whole address.
    Address,
    /// No `@`: the domain.
    Domain,
    /// `@domain`: the domain or any of its subdomains.
    DomainAndSubdomains,
}

/// Why a written pattern was refused: what is wrong, and how to write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    pub problem: String,
    pub fix: &'static str,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.problem, self.fix)
    }
}

const FIX_SHAPE: &str = "write an address such as user@example.com or *@example.com, a domain such as example.com or *.example.com, or @example.com for a domain and its subdomains";

impl AddressPattern {
    /// Checks a written pattern. Refused: an empty one, one over
    /// [`ADDRESS_PATTERN_BYTES_MAX`] octets, spaces, control characters,
    /// angle brackets, quotes or commas, more than one `@`, an empty side
    /// of the `@`, and a pattern without `@` that has neither a dot nor
    /// a wildcard (`spammer` is a user's name, not a domain).
    pub fn parse(written: &str) -> Result<Self, PatternError> {
        let text = written.trim().to_lowercase();
        let refuse = |problem: String, fix| Err(PatternError { problem, fix });
        if text.is_empty() {
            return refuse("the pattern is empty".to_owned(), FIX_SHAPE);
        }
        if text.len() > ADDRESS_PATTERN_BYTES_MAX {
            return refuse(
                format!(
                    "the pattern is {} octets long; at most {ADDRESS_PATTERN_BYTES_MAX} are allowed",
                    text.len()
                ),
                "shorten it with a wildcard, such as *@example.com",
            );
        }
        if let Some(c) = text
            .chars()
            .find(|&c| c.is_whitespace() || c.is_control() || "<>\",;".contains(c))
        {
            return refuse(
                format!("\"{}\" has the character {:?}", shown(written), c),
                "write the bare address without angle brackets, quotes or spaces, one pattern per entry",
            );
        }
        let shape = match text.split('@').count() {
            1 if text.contains('.') || text.contains(['*', '?']) => Shape::Domain,
            1 => {
                return refuse(
                    format!("\"{text}\" has no @ and is no domain"),
                    "write user@* for a user at any domain, or a domain with its dot, such as example.com",
                );
            }
            2 => {
                let (local, domain) = text.split_once('@').unwrap_or_default();
                if domain.is_empty() {
                    return refuse(
                        format!("\"{text}\" has nothing after the @"),
                        "write the domain after the @, or * for any domain: user@*",
                    );
                }
                if local.is_empty() {
                    Shape::DomainAndSubdomains
                } else {
                    Shape::Address
                }
            }
            _ => {
                return refuse(format!("\"{text}\" has more than one @"), FIX_SHAPE);
            }
        };
        Ok(AddressPattern { text, shape })
    }

    /// The pattern as written (trimmed, lower-case).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when `address` (any case) matches.
    pub fn matches(&self, address: &Mailbox) -> bool {
        self.matches_subject(&Subject::new(address))
    }

    fn matches_subject(&self, subject: &Subject) -> bool {
        if subject.address.len() > ADDRESS_PATTERN_BYTES_MAX * 2 {
            return false;
        }
        match self.shape {
            Shape::Address => glob(&self.text, &subject.address),
            Shape::Domain => glob(&self.text, &subject.domain),
            Shape::DomainAndSubdomains => {
                let domain = &self.text[1..];
                glob(domain, &subject.domain)
                    || subject
                        .domain
                        .match_indices('.')
                        .any(|(dot, _)| glob(domain, &subject.domain[dot + 1..]))
            }
        }
    }
}

/// The first of `patterns` that `address` matches, if any.
pub fn first_match<'a>(
    patterns: &'a [AddressPattern],
    address: &Mailbox,
) -> Option<&'a AddressPattern> {
    let subject = Subject::new(address);
    patterns.iter().find(|p| p.matches_subject(&subject))
}

/// An address made lower-case once, for matching against many patterns.
struct Subject {
    address: String,
    domain: String,
}

impl Subject {
    fn new(mailbox: &Mailbox) -> Self {
        let domain = mailbox.domain.to_lowercase();
        Subject {
            address: format!("{}@{domain}", mailbox.local_part.to_lowercase()),
            domain,
        }
    }
}

/// `*` any run, `?` one character, the rest literally. The classic
/// single-backtrack walk: when a literal fails after a `*`, the `*`
/// takes one more character; linear in practice, at worst the product
/// of the lengths.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

fn shown(text: &str) -> String {
    crate::text::escape_controls(text.trim()).into_owned()
}

impl TryFrom<String> for AddressPattern {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        AddressPattern::parse(&text).map_err(|e| e.to_string())
    }
}

impl From<AddressPattern> for String {
    fn from(pattern: AddressPattern) -> String {
        pattern.text
    }
}

impl fmt::Display for AddressPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests;
