//! A message appended as `literal8` (RFC 3516 4.4) may carry parts in
//! `Content-Transfer-Encoding: binary`, NUL octets and all. BODY[] may
//! never send a NUL (RFC 9051 4.3: only `literal8` may hold one), so such
//! parts are stored in base64, as Dovecot stores them: BINARY[] still
//! gives the octets back, and BODY[] sends text every client can read.

use super::decode::TransferEncoding;
use super::mime::{self, Kind, Part};
use std::ops::Range;

/// The message with every leaf part in `binary` (or holding a NUL
/// without an encoding that allows one) stored in base64; `None` when
/// there is no such part.
pub fn binary_parts_to_base64(raw: &[u8]) -> Option<Vec<u8>> {
    let root = mime::parse(raw);
    let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    collect(raw, &root, &mut edits);
    if edits.is_empty() {
        return None;
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 3);
    let mut at = 0;
    for (range, replacement) in edits {
        if range.start < at {
            // Overlapping edits cannot come from one tree; keep the first.
            continue;
        }
        out.extend_from_slice(&raw[at..range.start]);
        out.extend_from_slice(&replacement);
        at = range.end;
    }
    out.extend_from_slice(&raw[at..]);
    Some(out)
}

fn collect(raw: &[u8], part: &Part, edits: &mut Vec<(Range<usize>, Vec<u8>)>) {
    match &part.kind {
        Kind::Multipart(parts, _) => {
            for child in parts {
                collect(raw, child, edits);
            }
        }
        Kind::Message(inner) => collect(raw, inner, edits),
        Kind::Leaf => {
            if part.open_header || part.header.is_empty() {
                return;
            }
            let encoding = part.transfer_encoding(raw);
            let body = &raw[part.body.clone()];
            let binary = encoding
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case("binary"));
            let identity =
                TransferEncoding::parse(encoding.as_deref()) == Some(TransferEncoding::Identity);
            if !(binary || (identity && body.contains(&0))) {
                return;
            }
            let field = b"Content-Transfer-Encoding: base64\r\n".to_vec();
            let mut cte = part
                .fields
                .iter()
                .filter(|f| raw[f.name.clone()].eq_ignore_ascii_case(b"Content-Transfer-Encoding"));
            match cte.next() {
                Some(first) => {
                    edits.push((first.whole.clone(), field));
                    for other in cte {
                        edits.push((other.whole.clone(), Vec::new()));
                    }
                }
                None => {
                    // Before the blank line that ends the header.
                    let header = &raw[part.header.clone()];
                    let blank = if header.ends_with(b"\r\n\r\n") || header == b"\r\n" {
                        2
                    } else {
                        1
                    };
                    let at = part.header.end - blank;
                    edits.push((at..at, field));
                }
            }
            // Every octet of the body is kept; a part that runs to the
            // message's end gets a line end after its last base64 line (a
            // boundary brings its own).
            let mut encoded = base64_lines(body);
            if part.body.end == raw.len() {
                encoded.extend_from_slice(b"\r\n");
            }
            edits.push((part.body.clone(), encoded));
        }
    }
}

/// Base64 in lines of 76 characters, each ended by CRLF but the last
/// (RFC 2045 6.8).
fn base64_lines(octets: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(octets.len() / 3 * 4 + octets.len() / 57 * 2 + 4);
    for (i, chunk) in octets.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.extend_from_slice(b"\r\n");
        }
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63]);
        out.push(ALPHABET[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63]
        } else {
            b'='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::message::ParsedMessage;

    const HEAD: &[u8] = b"From: user@domain.org\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n";

    #[test]
    fn a_binary_message_is_stored_in_base64_and_binary_gives_it_back() {
        let raw = [HEAD, b"\0-\xe4\n\r\n\n"].concat();
        let stored = binary_parts_to_base64(&raw).unwrap();
        assert!(!stored.contains(&0));
        assert!(
            stored.ends_with(b"Content-Transfer-Encoding: base64\r\n\r\nAC3kCg0KCg==\r\n"),
            "{}",
            String::from_utf8_lossy(&stored)
        );
        let parsed = ParsedMessage::parse(&stored);
        assert_eq!(parsed.binary(&[1]).unwrap().as_ref(), b"\0-\xe4\n\r\n\n");
    }

    #[test]
    fn parts_of_a_multipart_are_converted_alone() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/x\r\n\r\na\0b\r\n--b--\r\n";
        let stored = binary_parts_to_base64(raw).unwrap();
        let text = String::from_utf8_lossy(&stored);
        assert!(
            text.contains("text/plain\r\n\r\nhello\r\n--b\r\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "application/x\r\nContent-Transfer-Encoding: base64\r\n\r\nYQBi\r\n--b--"
            ),
            "{text}"
        );
        let parsed = ParsedMessage::parse(&stored);
        assert_eq!(parsed.binary(&[2]).unwrap().as_ref(), b"a\0b");
    }

    #[test]
    fn text_without_nul_or_binary_is_left_alone() {
        assert_eq!(
            binary_parts_to_base64(b"Subject: x\r\n\r\nplain 8bit \xe4\r\n"),
            None
        );
        assert_eq!(base64_lines(&[0u8; 60]).len(), 76 + 2 + 4);
    }
}
