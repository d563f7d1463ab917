//! RFC 7208 section 7: macro strings, parsed once when a record is read
//! and expanded when a term is evaluated.
//!
//! ```text
//! macro-string = *( macro-expand / macro-literal )
//! macro-expand = ( "%{" macro-letter transformers *delimiter "}" )
//!                / "%%" / "%_" / "%-"
//! macro-literal = %x21-24 / %x26-7E
//! transformers = *DIGIT [ "r" ]
//! delimiter    = "." / "-" / "+" / "," / "/" / "_" / "="
//! ```

use crate::limits::{DOMAIN_LABEL_BYTES_MAX, SPF_DOMAIN_CHARS_MAX};

/// One piece of a macro string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text copied as it is (`%%`, `%_` and `%-` become text here).
    Literal(String),
    Macro(Macro),
}

/// `%{letter transformers delimiters}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Macro {
    pub letter: Letter,
    /// An uppercase letter asks for URL escaping of the value (7.3).
    pub url_escape: bool,
    /// Keep this many right-hand parts; `None` keeps them all.
    pub keep: Option<usize>,
    pub reverse: bool,
    /// Characters the value is split on; empty means `.`.
    pub delimiters: String,
}

/// The macro letters of 7.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Letter {
    Sender,
    LocalPart,
    SenderDomain,
    Domain,
    Ip,
    ValidatedName,
    IpVersion,
    Helo,
    /// `c`, `r` and `t` are allowed only in an explanation (7.2).
    ClientIp,
    Receiver,
    Timestamp,
}

impl Letter {
    fn from_char(letter: char) -> Option<Letter> {
        Some(match letter.to_ascii_lowercase() {
            's' => Letter::Sender,
            'l' => Letter::LocalPart,
            'o' => Letter::SenderDomain,
            'd' => Letter::Domain,
            'i' => Letter::Ip,
            'p' => Letter::ValidatedName,
            'v' => Letter::IpVersion,
            'h' => Letter::Helo,
            'c' => Letter::ClientIp,
            'r' => Letter::Receiver,
            't' => Letter::Timestamp,
            _ => return None,
        })
    }

    /// Is this letter allowed only in explanation text?
    pub fn explanation_only(self) -> bool {
        matches!(
            self,
            Letter::ClientIp | Letter::Receiver | Letter::Timestamp
        )
    }
}

/// A parsed macro string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MacroString {
    pub pieces: Vec<Piece>,
}

/// Why a macro string is not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MacroError(pub String);

impl MacroString {
    /// Parses `text`; `explanation` allows the letters `c`, `r` and `t`
    /// and any printable text (an explanation is text, 6.2).
    pub fn parse(text: &str, explanation: bool) -> Result<MacroString, MacroError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if c != '%' {
                let allowed = if explanation {
                    c == ' ' || c.is_ascii_graphic()
                } else {
                    c.is_ascii_graphic()
                };
                if !allowed {
                    return Err(MacroError(format!("character {c:?} in {text:?}")));
                }
                literal.push(c);
                continue;
            }
            match chars.next().map(|(_, c)| c) {
                Some('%') => literal.push('%'),
                Some('_') => literal.push(' '),
                Some('-') => literal.push_str("%20"),
                Some('{') => {
                    let rest = &text[at + 2..];
                    let Some(end) = rest.find('}') else {
                        return Err(MacroError(format!("unclosed macro in {text:?}")));
                    };
                    let found = parse_macro(&rest[..end], explanation)
                        .ok_or_else(|| MacroError(format!("bad macro %{{{}}}", &rest[..end])))?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Macro(found));
                    // Skip the macro's body and its closing brace.
                    for _ in 0..=rest[..end].chars().count() {
                        chars.next();
                    }
                }
                _ => return Err(MacroError(format!("a lone '%' in {text:?}"))),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(MacroString { pieces })
    }

    /// Parses a domain-spec (7.1): a macro string that ends with a macro
    /// or with `.` and a top label (and perhaps a final dot).
    pub fn parse_domain_spec(text: &str) -> Result<MacroString, MacroError> {
        let spec = MacroString::parse(text, false)?;
        match spec.pieces.last() {
            Some(Piece::Macro(_)) => Ok(spec),
            Some(Piece::Literal(tail)) if ends_with_top_label(tail) => Ok(spec),
            _ => Err(MacroError(format!("{text:?} is not a domain"))),
        }
    }
}

/// `letter transformers *delimiter`, between the braces.
fn parse_macro(body: &str, explanation: bool) -> Option<Macro> {
    let mut chars = body.chars();
    let first = chars.next()?;
    let letter = Letter::from_char(first)?;
    if letter.explanation_only() && !explanation {
        return None;
    }
    let rest = chars.as_str();
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let keep = if digits_end == 0 {
        None
    } else {
        // Past any label count a domain can have: saturate rather than
        // overflow (7.3 asks for at least 127).
        let n: usize = rest[..digits_end].parse().unwrap_or(usize::MAX);
        if n == 0 {
            return None;
        }
        Some(n)
    };
    let mut rest = &rest[digits_end..];
    let reverse = rest.starts_with(['r', 'R']);
    if reverse {
        rest = &rest[1..];
    }
    if !rest.chars().all(|c| ".-+,/_=".contains(c)) {
        return None;
    }
    Some(Macro {
        letter,
        url_escape: first.is_ascii_uppercase(),
        keep,
        reverse,
        delimiters: rest.to_owned(),
    })
}

/// `"." toplabel [ "." ]` at the end of `tail`, where
/// `toplabel = ( *alphanum ALPHA *alphanum ) /
///             ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`.
fn ends_with_top_label(tail: &str) -> bool {
    let tail = tail.strip_suffix('.').unwrap_or(tail);
    let Some((_, top)) = tail.rsplit_once('.') else {
        return false;
    };
    let bytes = top.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return false;
    }
    if bytes.contains(&b'-') {
        first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()
    } else {
        bytes.iter().any(u8::is_ascii_alphabetic)
    }
}

/// Applies a macro's transformers to its value (7.3): split on the
/// delimiters, reverse, keep the right-hand parts, join with dots, then
/// URL-escape for an uppercase letter.
pub(crate) fn transform(found: &Macro, value: &str) -> String {
    let transformed = if found.keep.is_none() && !found.reverse && found.delimiters.is_empty() {
        value.to_owned()
    } else {
        let delimiters: &str = if found.delimiters.is_empty() {
            "."
        } else {
            &found.delimiters
        };
        let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
        if found.reverse {
            parts.reverse();
        }
        if let Some(keep) = found.keep {
            let skip = parts.len().saturating_sub(keep);
            parts.drain(..skip);
        }
        parts.join(".")
    };
    if found.url_escape {
        url_escape(&transformed)
    } else {
        transformed
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn url_escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

/// A domain made by expansion, ready to query: without its final dot and
/// cut from the left to [`SPF_DOMAIN_CHARS_MAX`] (7.3). `None` when it
/// cannot be a DNS name (an empty or too long label): RFC 7208 leaves
/// that case undefined, and we treat it as a name that does not exist.
pub(crate) fn query_name(expanded: &str) -> Option<String> {
    let mut name = expanded.strip_suffix('.').unwrap_or(expanded);
    while name.len() > SPF_DOMAIN_CHARS_MAX {
        name = name.split_once('.')?.1;
    }
    let valid = !name.is_empty()
        && name
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= DOMAIN_LABEL_BYTES_MAX);
    valid.then(|| name.to_owned())
}
