//! Text from a peer, made safe to show: in a log line, a trace header, a
//! bounce, `postern queue list`.
//!
//! A peer chooses its HELO argument, its login name, its addresses and its
//! reply texts. Written out raw, a CR or LF in one of them forges a line of
//! its own (a log line naming another client, a header the message never
//! had), and an ESC sequence rewrites an operator's terminal. Everything a
//! peer said goes through [`escape_controls`] (or [`escape_bytes`] when it
//! may not be UTF-8) before it is shown, and through [`bounded`] where a
//! peer could make it long.

use std::borrow::Cow;
use std::fmt::Write;

/// Replaces every control character (C0, DEL and C1) with a visible escape:
/// `\r`, `\n`, `\t`, and `\xHH` / `\u{HHHH}` for the rest. Other text,
/// UTF-8 included, is kept as it is; text with nothing to escape is not
/// copied.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut escaped, c);
    }
    Cow::Owned(escaped)
}

/// As [`escape_controls`], for bytes that may not be UTF-8: each octet of
/// an invalid sequence becomes `\xHH`.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return escape_controls(text);
    }
    let mut escaped = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut escaped, c);
        }
        for &byte in chunk.invalid() {
            let _ = write!(escaped, "\\x{byte:02x}");
        }
    }
    Cow::Owned(escaped)
}

/// At most `max` octets of `text`, cut at a character boundary and marked
/// with `...` when cut (the mark counts in `max`).
pub fn bounded(text: &str, max: usize) -> Cow<'_, str> {
    const MARK: &str = "...";
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub(MARK.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{MARK}", &text[..end]))
}

/// A count and its noun, singular for one: `counted(1, "message",
/// "messages")` is "1 message", `counted(3, ...)` "3 messages", and 0
/// takes the plural ("0 messages"), as English does.
pub fn counted(count: impl std::fmt::Display, singular: &str, plural: &str) -> String {
    // Any integer type: its decimal form is "1" exactly when it is one.
    let count = count.to_string();
    let noun = if count == "1" { singular } else { plural };
    format!("{count} {noun}")
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 && c.is_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        let rows: &[(&str, &str)] = &[
            ("mail.example.test", "mail.example.test"),
            ("a\r\nb", "a\\r\\nb"),
            ("x\x1b[2Jy", "x\\x1b[2Jy"),
            ("nul\0here", "nul\\x00here"),
            ("tab\there", "tab\\there"),
            ("del\x7f", "del\\x7f"),
            ("c1\u{85}", "c1\\x85"),
            ("bücher.test", "bücher.test"),
        ];
        for (input, expected) in rows {
            assert_eq!(escape_controls(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn clean_text_is_not_copied() {
        assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
        assert!(matches!(bounded("short", 10), Cow::Borrowed(_)));
    }

    #[test]
    fn invalid_utf8_octets_become_hex() {
        assert_eq!(escape_bytes(b"ok\xff\r\n"), "ok\\xff\\r\\n");
        assert_eq!(escape_bytes("bücher".as_bytes()), "bücher");
    }

    #[test]
    fn bounded_cuts_at_a_character_boundary_within_the_limit() {
        assert_eq!(bounded("abcdefghij", 8), "abcde...");
        let cut = bounded("ééééé", 8);
        assert!(cut.len() <= 8, "{cut}");
        assert_eq!(cut, "éé...");
    }

    #[test]
    fn counted_is_singular_only_for_one() {
        let rows = [
            (0usize, "0 messages"),
            (1, "1 message"),
            (2, "2 messages"),
            (21, "21 messages"),
        ];
        for (count, expected) in rows {
            assert_eq!(counted(count, "message", "messages"), expected);
        }
        assert_eq!(counted(1u32, "time", "times"), "1 time");
    }

    /// Counted texts of events, one and many: the singular for one.
    #[test]
    fn event_texts_agree_with_their_counts() {
        use crate::pop3::Event as Pop3Event;
        use crate::smtp::client::ClientEvent;
        use crate::smtp::server::Event;
        let rows = [
            (
                Event::TlsStarted { discarded: 1 }.to_string(),
                "TLS started; 1 byte sent in clear after STARTTLS was discarded",
            ),
            (
                Event::TlsStarted { discarded: 62 }.to_string(),
                "TLS started; 62 bytes sent in clear after STARTTLS were discarded",
            ),
            (
                Pop3Event::TlsStarted { discarded: 1 }.to_string(),
                "TLS started; 1 byte sent in clear after STLS was discarded",
            ),
            (
                Pop3Event::UpdateFailed { deleted: 1 }.to_string(),
                "update failed: the deleted message may remain",
            ),
            (
                Pop3Event::UpdateFailed { deleted: 2 }.to_string(),
                "update failed: some of the 2 deleted messages may remain",
            ),
            (
                ClientEvent::PlaintextDiscarded { octets: 1 }.to_string(),
                "discarded 1 octet the server sent in clear after its 220 to STARTTLS",
            ),
        ];
        for (text, expected) in rows {
            assert_eq!(text, expected);
        }
    }
}
