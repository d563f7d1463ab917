//! The MIME tree as IMAP numbers it: every part's header block, body and
//! children as byte ranges of the message as stored.
//!
//! IMAP needs exact octets (BODY[1.MIME], sizes, line counts), so the
//! tree is scanned here rather than taken from `mail-parser`'s parts,
//! whose offsets follow its own decoding (a nested message/rfc822 is
//! re-based, the CRLF before a boundary is sometimes kept). The rules are
//! RFC 2046 5.1.1's: the line end before a delimiter line belongs to the
//! delimiter, a missing close delimiter ends the last part at the end of
//! its parent, and anything damaged still yields a tree.

use crate::limits::{IMAP_MIME_DEPTH_MAX, IMAP_MIME_PARTS_MAX};
use std::ops::Range;

/// One header field: its name, its value (after the colon, folds kept)
/// and the whole field with its line end.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub name: Range<usize>,
    pub value: Range<usize>,
    pub whole: Range<usize>,
}

/// A `type/subtype; name=value` header (Content-Type and, with an empty
/// subtype, Content-Disposition), as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ContentType {
    pub kind: String,
    pub subtype: String,
    pub params: Vec<(String, String)>,
}

impl ContentType {
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn text_plain() -> ContentType {
        ContentType {
            kind: "text".into(),
            subtype: "plain".into(),
            params: vec![("charset".into(), "us-ascii".into())],
        }
    }

    fn message_rfc822() -> ContentType {
        ContentType {
            kind: "message".into(),
            subtype: "rfc822".into(),
            params: Vec::new(),
        }
    }
}

/// One MIME part: the root of a message, a part of a multipart, or the
/// message a message/rfc822 part carries.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    /// The header block with the blank line that ends it, if any.
    pub header: Range<usize>,
    pub fields: Vec<Field>,
    pub body: Range<usize>,
    /// The header block has no blank line: it runs to the end.
    pub open_header: bool,
    /// Whether BODYSTRUCTURE reads the part's MIME fields: always for a
    /// multipart's parts, for a message only when it has MIME-Version or
    /// Content-Type (RFC 2045 4; Dovecot shows a Content-ID or transfer
    /// encoding of a message without either as absent).
    pub mime: bool,
    pub content_type: ContentType,
    pub kind: Kind,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Leaf,
    /// The parts, and where the close delimiter's line ends (after its
    /// line end) when there is one.
    Multipart(Vec<Part>, Option<usize>),
    /// message/rfc822 (or message/global): the message in its body.
    Message(Box<Part>),
}

impl Part {
    /// The first field named `name` (without case).
    pub fn field<'r>(&self, raw: &'r [u8], name: &str) -> Option<&'r [u8]> {
        self.fields
            .iter()
            .find(|field| raw[field.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|field| &raw[field.value.clone()])
    }

    /// The last field named `name`: ENVELOPE's choice, as in Dovecot,
    /// when a header repeats a field it should have once.
    pub fn field_last<'r>(&self, raw: &'r [u8], name: &str) -> Option<&'r [u8]> {
        self.fields
            .iter()
            .rfind(|field| raw[field.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|field| &raw[field.value.clone()])
    }

    /// Where this part's (or its carried message's) close delimiter line
    /// ends, if it has one.
    /// A carried message whose header runs to the end counts too: its
    /// last header line was a line, end and all.
    fn closes_at(&self) -> Option<usize> {
        match &self.kind {
            Kind::Leaf => None,
            Kind::Multipart(_, close_end) => *close_end,
            Kind::Message(inner) => inner.closes_at().or_else(|| {
                (inner.open_header && !inner.header.is_empty()).then_some(inner.header.end)
            }),
        }
    }

    /// Makes the body (and a carried message's) end at `end`. A carried
    /// message whose header runs to the end keeps its header and empty
    /// body as they are, as Dovecot shows them.
    fn extend_to(&mut self, end: usize) {
        if self.open_header && self.body.is_empty() {
            return;
        }
        self.body.end = end;
        if let Kind::Message(inner) = &mut self.kind {
            inner.extend_to(end);
        }
    }

    /// The Content-Transfer-Encoding as sent, trimmed.
    pub fn transfer_encoding(&self, raw: &[u8]) -> Option<String> {
        self.field(raw, "Content-Transfer-Encoding")
            .map(|value| unfold(value).trim().to_owned())
            .filter(|value| !value.is_empty())
    }
}

/// Parses a whole message into its tree.
pub(crate) fn parse(raw: &[u8]) -> Part {
    let mut parts = 0;
    parse_part(
        raw,
        0..raw.len(),
        0,
        &ContentType::text_plain(),
        &mut parts,
        true,
    )
}

fn parse_part(
    raw: &[u8],
    range: Range<usize>,
    depth: usize,
    default_type: &ContentType,
    parts: &mut usize,
    message: bool,
) -> Part {
    *parts += 1;
    let (fields, body_start, blank_line) = header_fields(raw, range.clone());
    let header = range.start..body_start;
    let body = body_start..range.end;
    let mut part = Part {
        header,
        fields,
        body: body.clone(),
        open_header: !blank_line,
        mime: true,
        content_type: default_type.clone(),
        kind: Kind::Leaf,
    };
    if let Some(value) = part.field(raw, "Content-Type") {
        // A Content-Type with no type at all shows as "" "" (Dovecot).
        part.content_type = parse_content_type(&unfold(value)).unwrap_or_default();
    }
    part.mime = !message
        || part.field(raw, "MIME-Version").is_some()
        || part.field(raw, "Content-Type").is_some();
    let deep = depth >= IMAP_MIME_DEPTH_MAX || *parts >= IMAP_MIME_PARTS_MAX;
    if deep {
        // Past a bound a part is not opened. A multipart left shut would
        // break BODYSTRUCTURE's grammar (it must list parts), so it is
        // shown as the text it then is.
        if part.content_type.kind.eq_ignore_ascii_case("multipart") {
            part.content_type = ContentType::text_plain();
        }
        return part;
    }
    if part.content_type.kind.eq_ignore_ascii_case("multipart") {
        let child_type = if part.content_type.subtype.eq_ignore_ascii_case("digest") {
            ContentType::message_rfc822()
        } else {
            ContentType::text_plain()
        };
        // Without a boundary nothing can be split: the multipart gets the
        // one empty part below, as in Dovecot.
        let boundary = part
            .content_type
            .param("boundary")
            .unwrap_or_default()
            .as_bytes()
            .to_vec();
        let split = if boundary.is_empty() {
            Split {
                parts: Vec::new(),
                close_end: None,
            }
        } else {
            split_multipart(raw, body.clone(), &boundary)
        };
        let mut children = Vec::new();
        for (range, untrimmed_end) in split.parts {
            if *parts >= IMAP_MIME_PARTS_MAX {
                break;
            }
            let end = range.end;
            let mut child = parse_part(raw, range, depth + 1, &child_type, parts, false);
            // Dovecot's reading, kept for the same sizes: when a part
            // ends with its own close delimiter line, that line's end is
            // not also the next delimiter's.
            if child.closes_at() == Some(end) {
                child.extend_to(untrimmed_end);
            }
            children.push(child);
        }
        if children.is_empty() {
            // RFC 9051 7.5.2 needs at least one part; Dovecot shows an
            // empty text/plain one.
            let end = body.end;
            children.push(parse_part(
                raw,
                end..end,
                depth + 1,
                &ContentType::text_plain(),
                parts,
                false,
            ));
        }
        part.kind = Kind::Multipart(children, split.close_end);
    } else if part.content_type.is("message", "rfc822") || part.content_type.is("message", "global")
    {
        // Read as a message whatever its transfer encoding, as Dovecot
        // does: a base64 one shows an empty envelope and body.
        let inner = parse_part(
            raw,
            body,
            depth + 1,
            &ContentType::text_plain(),
            parts,
            true,
        );
        part.kind = Kind::Message(Box::new(inner));
    }
    part
}

/// The fields of the header block starting at `range.start`, where the
/// body starts (after the blank line; the end when there is none), and
/// whether there was a blank line.
fn header_fields(raw: &[u8], range: Range<usize>) -> (Vec<Field>, usize, bool) {
    let mut fields: Vec<Field> = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let line_end = match raw[at..range.end].iter().position(|&b| b == b'\n') {
            Some(i) => at + i + 1,
            None => range.end,
        };
        let line = &raw[at..line_end];
        if line == b"\r\n" || line == b"\n" {
            return (fields, line_end, true);
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some(last) = fields.last_mut() {
                last.value.end = content_end(raw, at, line_end);
                last.whole.end = line_end;
            }
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            let mut name_end = at + colon;
            while name_end > at && matches!(raw[name_end - 1], b' ' | b'\t') {
                name_end -= 1;
            }
            fields.push(Field {
                name: at..name_end,
                value: at + colon + 1..content_end(raw, at + colon + 1, line_end),
                whole: at..line_end,
            });
        }
        // A line that is neither a field nor a fold (no colon) stays in
        // the header block and is otherwise ignored.
        at = line_end;
    }
    (fields, range.end, false)
}

/// `line_end` without its CRLF or LF, not before `start`.
fn content_end(raw: &[u8], start: usize, line_end: usize) -> usize {
    let mut end = line_end;
    if end > start && raw[end - 1] == b'\n' {
        end -= 1;
        if end > start && raw[end - 1] == b'\r' {
            end -= 1;
        }
    }
    end.max(start)
}

/// A multipart body split at its delimiter lines.
struct Split {
    /// Each part's range (without the line end before the next
    /// delimiter), and where it would end with that line end.
    parts: Vec<(Range<usize>, usize)>,
    /// Where the close delimiter's line ends, if there is one.
    close_end: Option<usize>,
}

/// The parts of a multipart body: the ranges between delimiter lines
/// (RFC 2046 5.1.1), preamble and epilogue left out.
fn split_multipart(raw: &[u8], body: Range<usize>, boundary: &[u8]) -> Split {
    let mut parts = Vec::new();
    let mut open: Option<usize> = None;
    let mut at = body.start;
    while at < body.end {
        let line_end = match raw[at..body.end].iter().position(|&b| b == b'\n') {
            Some(i) => at + i + 1,
            None => body.end,
        };
        let line = &raw[at..line_end];
        let after = line
            .strip_prefix(b"--")
            .and_then(|rest| rest.strip_prefix(boundary));
        // RFC 2046 5.1.1: the boundary, then `--` for the close
        // delimiter, then only white space; `--b2` is not `--b`.
        let close = after.is_some_and(|rest| rest.starts_with(b"--"));
        let is_delimiter =
            after.is_some_and(|rest| close || rest.iter().all(|b| b.is_ascii_whitespace()));
        if is_delimiter {
            if let Some(start) = open.take() {
                // The line end before the delimiter is the delimiter's.
                let mut end = at;
                if end > body.start && raw[end - 1] == b'\n' {
                    end -= 1;
                    if end > body.start && raw[end - 1] == b'\r' {
                        end -= 1;
                    }
                }
                parts.push((start..end.max(start), at.max(start)));
            }
            if close {
                return Split {
                    parts,
                    close_end: Some(line_end),
                };
            }
            open = Some(line_end);
        }
        at = line_end;
    }
    if let Some(start) = open {
        parts.push((start..body.end, body.end));
    }
    Split {
        parts,
        close_end: None,
    }
}

/// A header value with its folds undone (RFC 5322 2.2.3): each CRLF
/// before white space is removed. Invalid UTF-8 is replaced.
pub(crate) fn unfold(value: &[u8]) -> String {
    let mut out = Vec::with_capacity(value.len());
    for &byte in value {
        if byte != b'\r' && byte != b'\n' {
            out.push(byte);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A header value as ENVELOPE and BODYSTRUCTURE send it: folds undone,
/// white space around it trimmed, octets as sent (8-bit text included).
pub(crate) fn unfold_raw(value: &[u8]) -> Vec<u8> {
    unfold_raw_untrimmed(value).trim_ascii().to_vec()
}

/// A header value's octets with its folds undone, nothing trimmed: the
/// line end goes, and a tab that began the folded line becomes a space
/// (as Dovecot shows it).
pub(crate) fn unfold_raw_untrimmed(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut after_line_end = false;
    for &byte in value {
        match byte {
            b'\r' => {}
            b'\n' => after_line_end = true,
            b'\t' if after_line_end => {
                out.push(b' ');
                after_line_end = false;
            }
            _ => {
                out.push(byte);
                after_line_end = false;
            }
        }
    }
    out
}

/// Parses `type/subtype *(; attribute=value)` (RFC 2045 5.1) leniently;
/// with `subtype` absent (Content-Disposition) the subtype is empty.
/// `None` when there is no type at all.
pub(crate) fn parse_content_type(value: &str) -> Option<ContentType> {
    let mut tokens = Tokens::new(value);
    let kind = tokens.token()?;
    let mut subtype = String::new();
    if tokens.eat(b'/') {
        subtype = tokens.token().unwrap_or_default();
    }
    let mut params = Vec::new();
    while tokens.skip_to(b';') {
        let Some(name) = tokens.token() else { continue };
        if !tokens.eat(b'=') {
            continue;
        }
        let value = tokens
            .quoted()
            .or_else(|| tokens.token())
            .unwrap_or_default();
        params.push((name, value));
    }
    Some(ContentType {
        kind,
        subtype,
        params,
    })
}

/// RFC 2045 tokens, quoted strings and comments.
struct Tokens<'v> {
    bytes: &'v [u8],
    at: usize,
}

impl<'v> Tokens<'v> {
    fn new(value: &'v str) -> Self {
        Tokens {
            bytes: value.as_bytes(),
            at: 0,
        }
    }

    /// Skips white space and (nested) comments.
    fn skip_space(&mut self) {
        while let Some(&byte) = self.bytes.get(self.at) {
            match byte {
                b' ' | b'\t' | b'\r' | b'\n' => self.at += 1,
                b'(' => {
                    let mut depth = 0usize;
                    while let Some(&byte) = self.bytes.get(self.at) {
                        self.at += 1;
                        match byte {
                            b'\\' => self.at += 1,
                            b'(' => depth += 1,
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => break,
            }
        }
    }

    fn eat(&mut self, wanted: u8) -> bool {
        self.skip_space();
        if self.bytes.get(self.at) == Some(&wanted) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Moves past the next `stop` byte; false at the end.
    fn skip_to(&mut self, stop: u8) -> bool {
        loop {
            self.skip_space();
            match self.bytes.get(self.at) {
                None => return false,
                Some(&byte) if byte == stop => {
                    self.at += 1;
                    return true;
                }
                Some(b'"') => {
                    self.quoted();
                }
                Some(_) => self.at += 1,
            }
        }
    }

    fn token(&mut self) -> Option<String> {
        self.skip_space();
        let start = self.at;
        while let Some(&byte) = self.bytes.get(self.at) {
            let special = matches!(
                byte,
                b'(' | b')'
                    | b'<'
                    | b'>'
                    | b'@'
                    | b','
                    | b';'
                    | b':'
                    | b'\\'
                    | b'"'
                    | b'/'
                    | b'['
                    | b']'
                    | b'?'
                    | b'='
            );
            if special || byte <= b' ' || byte == 0x7f {
                break;
            }
            self.at += 1;
        }
        (self.at > start).then(|| String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned())
    }

    fn quoted(&mut self) -> Option<String> {
        self.skip_space();
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        self.at += 1;
        let mut out = Vec::new();
        while let Some(&byte) = self.bytes.get(self.at) {
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    if let Some(&next) = self.bytes.get(self.at) {
                        out.push(next);
                        self.at += 1;
                    }
                }
                _ => out.push(byte),
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_with_quoted_params_and_comments() {
        let parsed =
            parse_content_type(" text/plain (x) ; charset=\"utf-8\"; format = flowed").unwrap();
        assert_eq!(parsed.kind, "text");
        assert_eq!(parsed.subtype, "plain");
        assert_eq!(
            parsed.params,
            vec![
                ("charset".to_owned(), "utf-8".to_owned()),
                ("format".to_owned(), "flowed".to_owned())
            ]
        );
        let disposition = parse_content_type("attachment; filename=\"a b.txt\"").unwrap();
        assert_eq!(disposition.kind, "attachment");
        assert_eq!(disposition.subtype, "");
        assert_eq!(disposition.param("FILENAME"), Some("a b.txt"));
        assert_eq!(parse_content_type("  "), None);
    }

    #[test]
    fn multipart_parts_end_before_the_line_end_of_the_delimiter() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\ntwo\r\n--b--\r\nepilogue\r\n";
        let root = parse(raw);
        let Kind::Multipart(children, _) = &root.kind else {
            panic!("not a multipart: {root:?}");
        };
        assert_eq!(children.len(), 2);
        assert_eq!(&raw[children[0].body.clone()], b"one");
        assert_eq!(&raw[children[1].body.clone()], b"two");
        assert_eq!(
            &raw[children[1].header.clone()],
            b"Content-Type: text/html\r\n\r\n"
        );
        assert!(children[1].content_type.is("TEXT", "HTML"));
    }

    #[test]
    fn a_missing_close_delimiter_ends_the_part_at_the_end() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n";
        let root = parse(raw);
        let Kind::Multipart(children, _) = &root.kind else {
            panic!("not a multipart");
        };
        assert_eq!(&raw[children[0].body.clone()], b"one\r\n");
    }

    #[test]
    fn a_header_without_blank_line_has_an_empty_body() {
        let raw = b"Subject: x\r\nFrom: a@b";
        let root = parse(raw);
        assert_eq!(root.header, 0..raw.len());
        assert_eq!(root.body, raw.len()..raw.len());
        assert_eq!(root.field(raw, "from"), Some(&b" a@b"[..]));
    }

    #[test]
    fn folded_fields_keep_their_folds_in_the_value() {
        let raw = b"Subject: a\r\n b\r\nX: y\r\n\r\nbody";
        let root = parse(raw);
        assert_eq!(root.field(raw, "subject"), Some(&b" a\r\n b"[..]));
        assert_eq!(&raw[root.fields[0].whole.clone()], b"Subject: a\r\n b\r\n");
        assert_eq!(&raw[root.body.clone()], b"body");
    }

    #[test]
    fn nesting_stops_at_the_depth_bound() {
        let mut raw = Vec::new();
        for _ in 0..IMAP_MIME_DEPTH_MAX + 5 {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(b"Subject: deep\r\n\r\nbody\r\n");
        let mut part = parse(&raw);
        let mut depth = 0;
        while let Kind::Message(inner) = part.kind {
            part = *inner;
            depth += 1;
        }
        assert_eq!(depth, IMAP_MIME_DEPTH_MAX);
    }

    #[test]
    fn a_multipart_past_the_depth_bound_is_text() {
        let mut raw = Vec::new();
        for _ in 0..IMAP_MIME_DEPTH_MAX + 1 {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
        );
        let mut part = parse(&raw);
        while let Kind::Message(inner) = part.kind {
            part = *inner;
        }
        assert!(matches!(part.kind, Kind::Leaf));
        assert!(!part.content_type.kind.eq_ignore_ascii_case("multipart"));
    }

    #[test]
    fn parts_stop_at_the_parts_bound() {
        let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for _ in 0..IMAP_MIME_PARTS_MAX + 100 {
            raw.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        raw.extend_from_slice(b"--b--\r\n");
        let root = parse(&raw);
        let Kind::Multipart(children, _) = &root.kind else {
            panic!("not a multipart");
        };
        // The root counts as one part.
        assert_eq!(children.len(), IMAP_MIME_PARTS_MAX - 1);
    }

    #[test]
    fn a_delimiter_needs_the_whole_boundary_and_nothing_after() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b2\r\n--b \t\r\n\r\ntwo\r\n--b--";
        let root = parse(raw);
        let Kind::Multipart(children, close_end) = &root.kind else {
            panic!("not a multipart");
        };
        assert_eq!(&raw[children[0].body.clone()], b"one\r\n--b2");
        assert_eq!(&raw[children[1].body.clone()], b"two");
        assert_eq!(*close_end, Some(raw.len()));
    }
}
