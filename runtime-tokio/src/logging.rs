//! Log output that a peer cannot forge.
//!
//! Every session event escapes the peer's text at its source (see
//! `postern_core::smtp::server::Event`'s `Display`), but a log line has
//! many other fields (errors, remote replies, names) and one missed field
//! is enough to forge a line. So the writer itself escapes: each
//! formatted event reaches [`Escaping`] whole, and every control
//! character in it except the final newline is written as a visible
//! escape. One event is one line, whatever its fields held.
//!
//! - Text format: `\r`, `\n`, `\t`, `\xHH` and `\u{HHHH}` (as
//!   [`postern_core::text::escape_controls`] writes them). When colours
//!   are on (a terminal), the formatter's own SGR sequences
//!   (`ESC [ digits ; m`) are kept; any other ESC is escaped.
//! - JSON format: the JSON formatter escapes C0 characters already; DEL
//!   and C1 characters, which JSON allows raw, become `\u00XX`, so the
//!   line stays valid JSON.

use postern_core::text::escape_controls;
use std::io::{self, Write};
use tracing_subscriber::fmt::MakeWriter;

/// How the lines being escaped are formatted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain text; `colours` if the formatter writes ANSI colours.
    Text {
        colours: bool,
    },
    Json,
}

/// A [`MakeWriter`] whose writers escape control characters.
pub struct Escaping<M> {
    inner: M,
    format: Format,
}

impl<M> Escaping<M> {
    pub fn new(inner: M, format: Format) -> Self {
        Escaping { inner, format }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Escaping<M> {
    type Writer = EscapingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter {
            inner: self.inner.make_writer(),
            format: self.format,
        }
    }
}

/// Writes each buffer it is given (the formatter hands over one whole
/// event at a time) with its control characters escaped.
pub struct EscapingWriter<W> {
    inner: W,
    format: Format,
}

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner
            .write_all(escape_line(buf, self.format).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `event` (one formatted event, normally ending in a newline) with every
/// control character but that final newline escaped.
pub fn escape_line(event: &[u8], format: Format) -> String {
    let (body, newline) = match event.strip_suffix(b"\n") {
        Some(body) => (body, "\n"),
        None => (event, ""),
    };
    let text = String::from_utf8_lossy(body);
    let mut escaped = match format {
        Format::Text { colours } => escape_text(&text, colours),
        Format::Json => escape_json(&text),
    };
    escaped.push_str(newline);
    escaped
}

fn escape_text(text: &str, colours: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(char::is_control) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let length = match sgr_length(tail) {
            Some(length) if colours => {
                out.push_str(&tail[..length]);
                length
            }
            _ => {
                let c = tail.chars().next().map_or(1, char::len_utf8);
                out.push_str(&escape_controls(&tail[..c]));
                c
            }
        };
        rest = &tail[length..];
    }
    out.push_str(rest);
    out
}

/// The length of a Select Graphic Rendition sequence (`ESC [ 1;31 m`) at
/// the start of `text`: what tracing's colours are made of.
fn sgr_length(text: &str) -> Option<usize> {
    let parameters = text.strip_prefix("\x1b[")?;
    let digits = parameters
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (parameters.as_bytes().get(digits) == Some(&b'm')).then_some(2 + digits + 1)
}

fn escape_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: Format = Format::Text { colours: false };

    #[test]
    fn one_event_stays_one_line_whatever_its_fields_hold() {
        let rows: &[(&[u8], &str)] = &[
            (b"plain line\n", "plain line\n"),
            (
                b"auth login=x\r\n2026 INFO forged failed\n",
                "auth login=x\\r\\n2026 INFO forged failed\n",
            ),
            (
                b"esc \x1b[2J nul \0 del \x7f\n",
                "esc \\x1b[2J nul \\x00 del \\x7f\n",
            ),
            ("c1 \u{85} b\u{fc}cher\n".as_bytes(), "c1 \\x85 bücher\n"),
            (b"no newline", "no newline"),
            (b"bad utf8 \xff\n", "bad utf8 \u{fffd}\n"),
        ];
        for (input, expected) in rows {
            assert_eq!(escape_line(input, TEXT), *expected);
        }
    }

    #[test]
    fn colours_are_kept_only_when_on_and_only_sgr() {
        let coloured = b"\x1b[32m INFO\x1b[0m \x1b[2mpeer\x1b[0m=x\x1b]0;title\x07\n";
        assert_eq!(
            escape_line(coloured, Format::Text { colours: true }),
            "\x1b[32m INFO\x1b[0m \x1b[2mpeer\x1b[0m=x\\x1b]0;title\\x07\n"
        );
        assert!(!escape_line(coloured, TEXT).contains('\x1b'));
    }

    #[test]
    fn json_lines_stay_valid_json() {
        let line = "{\"fields\":{\"message\":\"a\\r\\nb \u{85} \u{7f}\"}}\n";
        let escaped = escape_line(line.as_bytes(), Format::Json);
        assert_eq!(
            escaped,
            "{\"fields\":{\"message\":\"a\\r\\nb \\u0085 \\u007f\"}}\n"
        );
    }

    #[test]
    fn the_writer_escapes_what_it_is_given() {
        let mut out = Vec::new();
        let mut writer = EscapingWriter {
            inner: &mut out,
            format: TEXT,
        };
        writer.write_all(b"a\rb\n").unwrap();
        assert_eq!(out, b"a\\rb\n");
    }
}
