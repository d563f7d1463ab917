//! Mailbox addresses and SMTP paths (RFC 5321 4.1.2, RFC 6531 3.3).
//!
//! `Path = "<" [ A-d-l ":" ] Mailbox ">"`. Source routes (`A-d-l`) are
//! parsed and discarded, as RFC 5321 appendix C asks.

use crate::limits::{
    DOMAIN_BYTES_MAX, DOMAIN_LABEL_BYTES_MAX, LOCAL_PART_BYTES_MAX, PATH_BYTES_MAX,
};
use bincode::{Decode, Encode};
use std::fmt;

/// `Local-part "@" ( Domain / address-literal )`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Mailbox {
    /// The local part as it would be written unquoted: `"a b"@x` has the
    /// local part `a b`.
    pub local_part: String,
    /// A domain, or an address literal with its brackets: `[192.0.2.1]`.
    pub domain: String,
}

impl Mailbox {
    pub fn is_ascii(&self) -> bool {
        self.local_part.is_ascii() && self.domain.is_ascii()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_dot_string(&self.local_part) {
            f.write_str(&self.local_part)?;
        } else {
            f.write_str("\"")?;
            for c in self.local_part.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        write!(f, "@{}", self.domain)
    }
}

/// The argument of `MAIL FROM:`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ReversePath {
    /// `<>`: bounces and other notifications, which must never be answered
    /// with another bounce.
    Null,
    Mailbox(Mailbox),
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(mailbox) => write!(f, "<{mailbox}>"),
        }
    }
}

/// The argument of `RCPT TO:`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ForwardPath {
    /// `<Postmaster>` with no domain (RFC 5321 4.1.1.3): the postmaster of
    /// this server.
    Postmaster,
    Mailbox(Mailbox),
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(mailbox) => write!(f, "<{mailbox}>"),
        }
    }
}

/// Why a path could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// Not a path by the RFC 5321 grammar.
    Syntax,
    /// Non-ASCII characters without the SMTPUTF8 parameter (RFC 6531 3.4).
    NonAsciiWithoutSmtputf8,
    /// Over a length limit of RFC 5321 4.5.3.1.
    TooLong,
    /// A label of the domain is over 63 octets (RFC 1035 2.3.4), in its
    /// A-label form for an internationalized one.
    LabelTooLong,
}

/// Parses `<>` or a path; the text must be exactly the path.
pub fn parse_reverse_path(text: &str, utf8: bool) -> Result<ReversePath, PathError> {
    if text == "<>" {
        return Ok(ReversePath::Null);
    }
    parse_path(text, utf8).map(ReversePath::Mailbox)
}

/// Parses a forward path; `<Postmaster>` (any case) needs no domain.
pub fn parse_forward_path(text: &str, utf8: bool) -> Result<ForwardPath, PathError> {
    if text.eq_ignore_ascii_case("<postmaster>") {
        return Ok(ForwardPath::Postmaster);
    }
    parse_path(text, utf8).map(ForwardPath::Mailbox)
}

/// Splits the path off the front of a MAIL or RCPT argument, returning it
/// and the rest (the parameters). The path ends at the first `>` outside a
/// quoted string.
pub fn split_path(argument: &str) -> Option<(&str, &str)> {
    if !argument.starts_with('<') {
        return None;
    }
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in argument.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => return Some((&argument[..=i], &argument[i + 1..])),
            _ => {}
        }
    }
    None
}

fn parse_path(text: &str, utf8: bool) -> Result<Mailbox, PathError> {
    if text.len() > PATH_BYTES_MAX {
        return Err(PathError::TooLong);
    }
    let inner = text
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .ok_or(PathError::Syntax)?;
    let mailbox_text = strip_source_route(inner)?;
    let mailbox = parse_mailbox(mailbox_text)?;
    if !utf8 && !mailbox.is_ascii() {
        return Err(PathError::NonAsciiWithoutSmtputf8);
    }
    Ok(mailbox)
}

/// Drops `@a,@b:` from the front of a path (RFC 5321 4.1.2 `A-d-l`).
fn strip_source_route(inner: &str) -> Result<&str, PathError> {
    if !inner.starts_with('@') {
        return Ok(inner);
    }
    let (route, rest) = inner.split_once(':').ok_or(PathError::Syntax)?;
    for at_domain in route.split(',') {
        let domain = at_domain.strip_prefix('@').ok_or(PathError::Syntax)?;
        if !is_domain(domain) {
            return Err(PathError::Syntax);
        }
    }
    Ok(rest)
}

/// Parses `Local-part "@" ( Domain / address-literal )`.
pub fn parse_mailbox(text: &str) -> Result<Mailbox, PathError> {
    let (local_part, domain) = if let Some(rest) = text.strip_prefix('"') {
        let (local, after) = parse_quoted(rest)?;
        let domain = after.strip_prefix('@').ok_or(PathError::Syntax)?;
        (local, domain)
    } else {
        // A dot-string holds no `@`, so the first one ends it: the domain
        // may be a general address literal with `@` in it (RFC 5321 4.1.3
        // `dcontent`).
        let (local, domain) = text.split_once('@').ok_or(PathError::Syntax)?;
        if !is_dot_string(local) {
            return Err(PathError::Syntax);
        }
        (local.to_owned(), domain)
    };
    if local_part.len() > LOCAL_PART_BYTES_MAX || domain.len() > DOMAIN_BYTES_MAX {
        return Err(PathError::TooLong);
    }
    if !(is_domain_shape(domain) || is_address_literal(domain)) {
        return Err(PathError::Syntax);
    }
    if !is_address_literal(domain) {
        match domain_key(domain) {
            Ok(_) => {}
            Err(DomainError::LabelTooLong) => return Err(PathError::LabelTooLong),
            Err(DomainError::Invalid) => return Err(PathError::Syntax),
        }
    }
    Ok(Mailbox {
        local_part,
        domain: domain.to_owned(),
    })
}

/// Parses the body of a quoted string (after the opening quote); returns
/// the unescaped content and the text after the closing quote.
fn parse_quoted(rest: &str) -> Result<(String, &str), PathError> {
    let mut content = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((content, &rest[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) if (' '..='~').contains(&escaped) => content.push(escaped),
                _ => return Err(PathError::Syntax),
            },
            // qtextSMTP is %d32-33 / %d35-91 / %d93-126, plus UTF-8 (RFC 6531).
            ' '..='~' => content.push(c),
            c if is_utf8_text(c) => content.push(c),
            _ => return Err(PathError::Syntax),
        }
    }
    Err(PathError::Syntax)
}

/// `atext` of RFC 5322 3.2.3, widened to UTF-8 by RFC 6531 3.3 (but not
/// to control characters, which have no place in an address and would
/// reach log lines and headers).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || is_utf8_text(c)
}

/// A non-ASCII character allowed in addresses: anything but a control.
fn is_utf8_text(c: char) -> bool {
    !c.is_ascii() && !c.is_control()
}

/// `Dot-string = Atom *("." Atom)`.
fn is_dot_string(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// `Domain = sub-domain *("." sub-domain)`; a sub-domain is letters,
/// digits and inner hyphens, or a U-label (RFC 6531 3.3), and no label
/// is over 63 octets (RFC 1035 2.3.4) in its A-label form.
pub fn is_domain(text: &str) -> bool {
    is_domain_shape(text) && domain_key(text).is_ok()
}

/// The shape of RFC 5321's `Domain`, without the checks of its labels'
/// lengths and encoding that [`domain_key`] makes.
fn is_domain_shape(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || is_utf8_text(c))
        })
}

/// Why a domain has no [`domain_key`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainError {
    /// A label is over 63 octets (RFC 1035 2.3.4).
    LabelTooLong,
    /// Not a domain IDNA can encode: a bad A-label (`xn--` that is not
    /// Punycode), a disallowed character.
    Invalid,
}

/// The form in which domains are compared: ASCII, lower case, each
/// internationalized label as its A-label (RFC 5890, by UTS 46
/// processing), so that `bücher.test`, `BÜCHER.test` and
/// `xn--bcher-kva.test` are one domain. The domain as the client or the
/// operator wrote it is kept for display; this is for lookups.
pub fn domain_key(domain: &str) -> Result<String, DomainError> {
    if domain.is_ascii() {
        // The common case needs no IDNA: only the lengths, and A-labels
        // (`xn--`) checked for being Punycode.
        if domain.split('.').any(|l| l.len() > DOMAIN_LABEL_BYTES_MAX) {
            return Err(DomainError::LabelTooLong);
        }
        let lower = domain.to_ascii_lowercase();
        if !lower.split('.').any(|l| l.starts_with("xn--")) {
            return Ok(lower);
        }
    }
    let uts46 = idna::uts46::Uts46::new();
    let ascii = uts46
        .to_ascii(
            domain.as_bytes(),
            idna::uts46::AsciiDenyList::STD3,
            idna::uts46::Hyphens::Allow,
            idna::uts46::DnsLength::Ignore,
        )
        .map_err(|_| DomainError::Invalid)?;
    if ascii.split('.').any(|l| l.len() > DOMAIN_LABEL_BYTES_MAX) {
        return Err(DomainError::LabelTooLong);
    }
    Ok(ascii.into_owned())
}

/// `"[" ( IPv4 / "IPv6:" IPv6 / tag ":" dcontent ) "]"`.
fn is_address_literal(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return false;
    };
    if let Some(v6) = inner.strip_prefix("IPv6:") {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    if inner.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    // General-address-literal: Standardized-tag ":" 1*dcontent.
    match inner.split_once(':') {
        Some((tag, content)) => {
            is_domain(tag)
                && !content.is_empty()
                && content
                    .chars()
                    .all(|c| ('!'..='Z').contains(&c) || ('^'..='~').contains(&c))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(local: &str, domain: &str) -> Mailbox {
        Mailbox {
            local_part: local.into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn reverse_paths() {
        let rows: &[(&str, bool, Result<ReversePath, PathError>)] = &[
            ("<>", false, Ok(ReversePath::Null)),
            (
                "<a@b.test>",
                false,
                Ok(ReversePath::Mailbox(mailbox("a", "b.test"))),
            ),
            (
                "<first.last@ex-ample.test>",
                false,
                Ok(ReversePath::Mailbox(mailbox("first.last", "ex-ample.test"))),
            ),
            (
                "<@relay.test,@r2.test:a@b.test>",
                false,
                Ok(ReversePath::Mailbox(mailbox("a", "b.test"))),
            ),
            (
                "<\"a b\"@b.test>",
                false,
                Ok(ReversePath::Mailbox(mailbox("a b", "b.test"))),
            ),
            (
                "<\"a\\\"b\"@b.test>",
                false,
                Ok(ReversePath::Mailbox(mailbox("a\"b", "b.test"))),
            ),
            (
                "<a@[192.0.2.1]>",
                false,
                Ok(ReversePath::Mailbox(mailbox("a", "[192.0.2.1]"))),
            ),
            (
                "<a@[IPv6:2001:db8::1]>",
                false,
                Ok(ReversePath::Mailbox(mailbox("a", "[IPv6:2001:db8::1]"))),
            ),
            (
                "<jö@b.test>",
                true,
                Ok(ReversePath::Mailbox(mailbox("jö", "b.test"))),
            ),
            (
                "<a@bücher.test>",
                true,
                Ok(ReversePath::Mailbox(mailbox("a", "bücher.test"))),
            ),
            (
                "<jö@b.test>",
                false,
                Err(PathError::NonAsciiWithoutSmtputf8),
            ),
            ("a@b.test", false, Err(PathError::Syntax)),
            ("<a@b.test", false, Err(PathError::Syntax)),
            ("<a>", false, Err(PathError::Syntax)),
            ("<@b.test>", false, Err(PathError::Syntax)),
            ("<a..b@b.test>", false, Err(PathError::Syntax)),
            ("<.a@b.test>", false, Err(PathError::Syntax)),
            ("<a@-b.test>", false, Err(PathError::Syntax)),
            ("<a@b..test>", false, Err(PathError::Syntax)),
            ("<a b@b.test>", false, Err(PathError::Syntax)),
            ("<a@[999.1.1.1]>", false, Err(PathError::Syntax)),
            ("<\"unterminated@b.test>", false, Err(PathError::Syntax)),
        ];
        for (text, utf8, expected) in rows {
            assert_eq!(&parse_reverse_path(text, *utf8), expected, "{text}");
        }
    }

    #[test]
    fn domains_compare_in_one_form_and_labels_are_at_most_63_octets() {
        let long = "a".repeat(64);
        let rows: &[(&str, Result<&str, DomainError>)] = &[
            ("example.test", Ok("example.test")),
            ("Example.TEST", Ok("example.test")),
            ("bücher.test", Ok("xn--bcher-kva.test")),
            ("BÜCHER.test", Ok("xn--bcher-kva.test")),
            ("xn--bcher-kva.test", Ok("xn--bcher-kva.test")),
            ("XN--BCHER-KVA.test", Ok("xn--bcher-kva.test")),
            (&long, Err(DomainError::LabelTooLong)),
            ("xn--zz-.test", Err(DomainError::Invalid)),
        ];
        for (domain, expected) in rows {
            let got = domain_key(domain);
            assert_eq!(got.as_deref(), expected.as_ref().map(|s| *s), "{domain}");
        }
        // 63 ASCII octets fit; a U-label whose A-label is over 63 does not.
        assert!(domain_key(&format!("{}.test", "a".repeat(63))).is_ok());
        // Twenty CJK ideographs: 60 octets of UTF-8, 68 as an A-label.
        let ideographs: String = (0..20u32)
            .filter_map(|i| char::from_u32(0x4e00 + (i * 7919) % 20_000))
            .collect();
        let wide = format!("{ideographs}.test");
        assert_eq!(ideographs.len(), 60);
        assert_eq!(domain_key(&wide), Err(DomainError::LabelTooLong));
    }

    #[test]
    fn addresses_with_long_labels_or_control_characters_are_refused() {
        let long_label = format!("<a@{}.test>", "b".repeat(64));
        assert_eq!(
            parse_forward_path(&long_label, false),
            Err(PathError::LabelTooLong)
        );
        let fits = format!("<a@{}.test>", "b".repeat(63));
        assert!(parse_forward_path(&fits, false).is_ok());
        for text in [
            "<a\u{85}b@b.test>",
            "<\"a\u{9b}b\"@b.test>",
            "<a@b\u{85}.test>",
        ] {
            assert_eq!(
                parse_forward_path(text, true),
                Err(PathError::Syntax),
                "{text:?}"
            );
        }
        assert!(!is_domain(&format!("{}.test", "b".repeat(64))));
        assert!(is_domain("bücher.test"));
    }

    #[test]
    fn over_long_local_part_is_too_long() {
        let text = format!("<{}@b.test>", "a".repeat(65));
        assert_eq!(parse_reverse_path(&text, false), Err(PathError::TooLong));
        let text = format!("<{}@b.test>", "a".repeat(64));
        assert!(parse_reverse_path(&text, false).is_ok());
    }

    #[test]
    fn over_long_path_is_too_long() {
        let text = format!("<a@{}.test>", "b".repeat(260));
        assert_eq!(parse_reverse_path(&text, false), Err(PathError::TooLong));
    }

    #[test]
    fn postmaster_needs_no_domain_in_any_case() {
        assert_eq!(
            parse_forward_path("<PostMaster>", false),
            Ok(ForwardPath::Postmaster)
        );
        assert_eq!(parse_forward_path("<other>", false), Err(PathError::Syntax));
    }

    #[test]
    fn split_path_ends_at_the_first_unquoted_angle() {
        assert_eq!(split_path("<a@b> SIZE=10"), Some(("<a@b>", " SIZE=10")));
        assert_eq!(
            split_path("<\"x>y\"@b> BODY=8BITMIME"),
            Some(("<\"x>y\"@b>", " BODY=8BITMIME"))
        );
        assert_eq!(split_path("a@b"), None);
        assert_eq!(split_path("<a@b"), None);
    }

    /// Found by the `smtp_command` fuzz target: a mailbox parsed from a
    /// quoted local part and a general address literal holding `@`
    /// printed as text that did not parse back, because the unquoted form
    /// was split at its last `@`.
    #[test]
    fn an_at_sign_in_an_address_literal_survives_printing() {
        let text = "<\"quote\"@[tag:x@y]>";
        let parsed = parse_reverse_path(text, false).unwrap();
        assert_eq!(parsed, ReversePath::Mailbox(mailbox("quote", "[tag:x@y]")));
        let printed = parsed.to_string();
        assert_eq!(printed, "<quote@[tag:x@y]>");
        assert_eq!(parse_reverse_path(&printed, false), Ok(parsed));
        assert_eq!(
            parse_forward_path("<a@b@c.test>", false),
            Err(PathError::Syntax)
        );
    }

    #[test]
    fn display_quotes_local_parts_that_need_it() {
        assert_eq!(mailbox("a b", "x.test").to_string(), "\"a b\"@x.test");
        assert_eq!(mailbox("a\"b", "x.test").to_string(), "\"a\\\"b\"@x.test");
        assert_eq!(mailbox("a.b", "x.test").to_string(), "a.b@x.test");
    }
}
