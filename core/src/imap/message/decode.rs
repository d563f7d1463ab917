//! Content-Transfer-Encoding removed (BINARY, SEARCH BODY) and text
//! converted to UTF-8 (SEARCH), leniently: damaged mail still decodes to
//! what can be read of it.

use std::borrow::Cow;

/// A transfer encoding BINARY knows (RFC 3516 4.2: an unknown one is
/// `NO [UNKNOWN-CTE]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferEncoding {
    Identity,
    Base64,
    QuotedPrintable,
}

impl TransferEncoding {
    /// `None` for an encoding RFC 2045 6.1 does not define.
    pub fn parse(name: Option<&str>) -> Option<TransferEncoding> {
        let Some(name) = name else {
            return Some(TransferEncoding::Identity);
        };
        let name = name.trim();
        if ["7bit", "8bit", "binary"]
            .iter()
            .any(|known| name.eq_ignore_ascii_case(known))
        {
            Some(TransferEncoding::Identity)
        } else if name.eq_ignore_ascii_case("base64") {
            Some(TransferEncoding::Base64)
        } else if name.eq_ignore_ascii_case("quoted-printable") {
            Some(TransferEncoding::QuotedPrintable)
        } else {
            None
        }
    }

    pub fn decode<'a>(self, body: &'a [u8]) -> Cow<'a, [u8]> {
        match self {
            TransferEncoding::Identity => Cow::Borrowed(body),
            TransferEncoding::Base64 => Cow::Owned(base64(body)),
            TransferEncoding::QuotedPrintable => Cow::Owned(quoted_printable(body)),
        }
    }
}

/// Base64 (RFC 2045 6.8), skipping characters outside the alphabet and
/// stopping at padding.
fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &byte in input {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Quoted-printable (RFC 2045 6.7): `=XX` decoded, soft line breaks
/// removed, white space at the end of a line removed (rule 3: it is
/// transport padding), a broken escape kept as it is.
fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut at = 0;
    while at < input.len() {
        let byte = input[at];
        if byte == b' ' || byte == b'\t' {
            let run = input[at..]
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            match &input[at + run..] {
                [] | [b'\n', ..] | [b'\r', b'\n', ..] => {}
                _ => out.extend_from_slice(&input[at..at + run]),
            }
            at += run;
            continue;
        }
        if byte != b'=' {
            out.push(byte);
            at += 1;
            continue;
        }
        let rest = &input[at + 1..];
        if let [a, b, ..] = rest {
            if let (Some(high), Some(low)) = (hex(*a), hex(*b)) {
                out.push(high << 4 | low);
                at += 3;
                continue;
            }
        }
        // A soft line break: `=` then optional white space, then CRLF.
        let spaces = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        match &rest[spaces..] {
            [b'\r', b'\n', ..] => at += 1 + spaces + 2,
            [b'\n', ..] => at += 1 + spaces + 1,
            [] => at += 1 + spaces,
            _ => {
                out.push(byte);
                at += 1;
            }
        }
    }
    out
}

/// Text in `charset` as UTF-8 (`mail-parser`'s decoders, which know the
/// charsets mail uses); unknown charsets are read as UTF-8 with invalid
/// sequences replaced. US-ASCII, which a text part without a charset is,
/// is read as UTF-8 too, as Dovecot does (`charset_is_utf8`): mail
/// written in UTF-8 without saying so is common, and a strict ASCII
/// decoder would hide its words from SEARCH BODY.
pub(crate) fn to_utf8(bytes: &[u8], charset: Option<&str>) -> String {
    let read_as_utf8 = |name: &str| {
        ["us-ascii", "ascii", "utf-8", "utf8"]
            .iter()
            .any(|utf8| name.trim().eq_ignore_ascii_case(utf8))
    };
    if charset.is_some_and(read_as_utf8) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    if let Some(decoder) = charset.and_then(|name| {
        mail_parser::decoders::charsets::map::charset_decoder(name.trim().as_bytes())
    }) {
        return decoder(bytes);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// A header value with its RFC 2047 encoded words decoded and folds
/// undone (`mail-parser`'s unstructured-field parser).
pub(crate) fn header_text(raw_value: &[u8]) -> String {
    let mut value = raw_value.to_vec();
    value.extend_from_slice(b"\r\n");
    let mut stream = mail_parser::parsers::MessageStream::new(&value);
    match stream.parse_unstructured() {
        mail_parser::HeaderValue::Text(text) => text.into_owned(),
        mail_parser::HeaderValue::TextList(list) => list.join(" "),
        _ => String::new(),
    }
}

/// A whole header block with each line's encoded words decoded, for
/// SEARCH TEXT.
pub(crate) fn header_text_block(block: &[u8]) -> String {
    let mut out = String::new();
    for line in block.split(|&b| b == b'\n') {
        out.push_str(&header_text(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_skips_line_ends_and_garbage() {
        assert_eq!(base64(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(base64(b"aGV*sbG8"), b"hello");
    }

    #[test]
    fn quoted_printable_soft_breaks_and_broken_escapes() {
        assert_eq!(
            quoted_printable(b"caf=C3=A9 =\r\nau lait"),
            "café au lait".as_bytes()
        );
        assert_eq!(quoted_printable(b"a=zz b= \r\nc"), b"a=zz bc");
        assert_eq!(quoted_printable(b"end="), b"end");
    }

    #[test]
    fn quoted_printable_drops_trailing_white_space() {
        assert_eq!(
            quoted_printable(b"hello  \r\nfoo\t \t= \r\n=62\r\nfoo = \t\r\nbar \t"),
            b"hello\r\nfoo\t \tb\r\nfoo bar"
        );
    }

    #[test]
    fn unknown_transfer_encodings_are_refused() {
        assert_eq!(TransferEncoding::parse(Some("x-uuencode")), None);
        assert_eq!(
            TransferEncoding::parse(Some(" BASE64 ")),
            Some(TransferEncoding::Base64)
        );
        assert_eq!(
            TransferEncoding::parse(None),
            Some(TransferEncoding::Identity)
        );
    }

    #[test]
    fn charsets_and_encoded_words_become_utf8() {
        assert_eq!(to_utf8(b"caf\xe9", Some("iso-8859-1")), "café");
        // Undeclared 8-bit text (US-ASCII by default) is read as UTF-8.
        assert_eq!(to_utf8("café".as_bytes(), Some("us-ascii")), "café");
        assert_eq!(to_utf8("café".as_bytes(), Some(" US-ASCII")), "café");
        assert_eq!(to_utf8(b"caf\xe9", Some("us-ascii")), "caf\u{fffd}");
        assert_eq!(
            header_text(b" =?utf-8?q?caf=C3=A9?= au\r\n lait"),
            "café au lait"
        );
    }
}
