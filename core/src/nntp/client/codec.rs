//! Reading an NNTP server's responses (RFC 3977 3.1, 3.2): a status line
//! `NNN text`, and for some responses a multi-line block after it, ended
//! by a line holding a single `.`, each line that starts with `.` having
//! had another put in front (dot-stuffing).
//!
//! The reader never grows without bound: a status line is at most
//! [`NNTP_STATUS_LINE_BYTES_MAX`] octets, a block line is buffered up to
//! [`NNTP_BLOCK_LINE_BYTES_MAX`], and a block past the size its caller
//! allows is read to its end but not kept ([`Block::TooLarge`]), so the
//! session stays in step with the server.

use crate::limits::{NNTP_BLOCK_LINE_BYTES_MAX, NNTP_STATUS_LINE_BYTES_MAX};
use crate::text::{bounded, escape_bytes};
use std::fmt;

/// A status line: a three-digit code and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
    /// What follows the code and its space, escaped for logs.
    pub text: String,
}

impl Status {
    /// The status as one line for logs: `211 3 1 3 misc.test`.
    pub fn one_line(&self) -> String {
        if self.text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {}", self.code, self.text)
        }
    }

    /// The words of the text (RFC 3977 3.2: arguments separated by
    /// spaces or tabs).
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.text.split_ascii_whitespace()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

/// What is wrong with what the server sent; it ends the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MalformedResponse {
    /// A status line longer than [`NNTP_STATUS_LINE_BYTES_MAX`].
    StatusLineTooLong,
    /// A status line that does not start with three digits and a space
    /// (or end there).
    BadStatusLine(String),
    /// A line of a block the caller needs whole (a LIST), longer than
    /// [`NNTP_BLOCK_LINE_BYTES_MAX`].
    BlockLineTooLong,
}

impl fmt::Display for MalformedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MalformedResponse::StatusLineTooLong => write!(
                f,
                "a status line longer than {NNTP_STATUS_LINE_BYTES_MAX} octets"
            ),
            MalformedResponse::BadStatusLine(line) => {
                write!(f, "not a status line: \"{line}\"")
            }
            MalformedResponse::BlockLineTooLong => write!(
                f,
                "a line of a list longer than {NNTP_BLOCK_LINE_BYTES_MAX} octets"
            ),
        }
    }
}

/// Parses one status line, without its line end.
pub fn parse_status(line: &[u8]) -> Result<Status, MalformedResponse> {
    let bad = || MalformedResponse::BadStatusLine(bounded(&escape_bytes(line), 100).into_owned());
    let (code, rest) = line.split_at_checked(3).ok_or_else(bad)?;
    if !code.iter().all(u8::is_ascii_digit) || !(b'1'..=b'5').contains(&code[0]) {
        return Err(bad());
    }
    let text = match rest {
        [] => &[][..],
        [b' ' | b'\t', text @ ..] => text,
        _ => return Err(bad()),
    };
    let code = code
        .iter()
        .fold(0u16, |n, digit| n * 10 + u16::from(digit - b'0'));
    Ok(Status {
        code,
        text: escape_bytes(text).trim().to_owned(),
    })
}

/// A whole multi-line block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// The block's lines, dot-unstuffed, each ended with CRLF (a line the
    /// server ended with a bare LF gets a CRLF too).
    Complete(Vec<u8>),
    /// The block was longer than allowed: it was read to its end and
    /// dropped. `octets` counts what was seen.
    TooLarge { octets: usize },
}

/// An unfinished block: what is kept so far.
#[derive(Debug)]
struct Reading {
    kept: Vec<u8>,
    max: usize,
    /// Octets seen, kept or not.
    octets: usize,
    too_large: bool,
    /// A long line is being skipped up to its LF.
    skipping_line: bool,
    /// A line over the line limit is an error rather than a reason to
    /// drop the block.
    strict_lines: bool,
}

/// Reads responses from bytes that arrive in pieces of any size.
#[derive(Debug, Default)]
pub struct ResponseReader {
    buffer: Vec<u8>,
    block: Option<Reading>,
}

impl ResponseReader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Drops what is buffered, returning how many octets that was (after
    /// the server's go-ahead for STARTTLS, RFC 4642 2.2.2).
    pub fn discard(&mut self) -> usize {
        let octets = self.buffer.len();
        self.buffer.clear();
        octets
    }

    /// The next status line, if a whole one has arrived.
    pub fn status(&mut self) -> Result<Option<Status>, MalformedResponse> {
        assert!(
            self.block.is_none(),
            "a status line asked for inside a block"
        );
        match self.buffer.iter().position(|&b| b == b'\n') {
            Some(end) if end >= NNTP_STATUS_LINE_BYTES_MAX => {
                Err(MalformedResponse::StatusLineTooLong)
            }
            Some(end) => {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                parse_status(trim_line_end(&line)).map(Some)
            }
            None if self.buffer.len() >= NNTP_STATUS_LINE_BYTES_MAX => {
                Err(MalformedResponse::StatusLineTooLong)
            }
            None => Ok(None),
        }
    }

    /// Starts reading a block of at most `max` octets (after unstuffing).
    /// With `strict_lines`, a line over [`NNTP_BLOCK_LINE_BYTES_MAX`] is
    /// an error; otherwise it makes the block too large.
    pub fn begin_block(&mut self, max: usize, strict_lines: bool) {
        assert!(self.block.is_none(), "a block begun inside a block");
        self.block = Some(Reading {
            kept: Vec::new(),
            max,
            octets: 0,
            too_large: false,
            skipping_line: false,
            strict_lines,
        });
    }

    /// The block begun with [`begin_block`](Self::begin_block), once its
    /// terminating `.` line has arrived.
    pub fn block(&mut self) -> Result<Option<Block>, MalformedResponse> {
        let Some(reading) = self.block.as_mut() else {
            panic!("block() without begin_block()");
        };
        loop {
            let newline = self.buffer.iter().position(|&b| b == b'\n');
            if reading.skipping_line {
                let Some(end) = newline else {
                    reading.octets += self.buffer.len();
                    self.buffer.clear();
                    return Ok(None);
                };
                reading.octets += end + 1;
                self.buffer.drain(..=end);
                reading.skipping_line = false;
                continue;
            }
            let Some(end) = newline else {
                if self.buffer.len() > NNTP_BLOCK_LINE_BYTES_MAX {
                    if reading.strict_lines {
                        return Err(MalformedResponse::BlockLineTooLong);
                    }
                    reading.too_large = true;
                    reading.kept = Vec::new();
                    reading.skipping_line = true;
                    continue;
                }
                return Ok(None);
            };
            if end > NNTP_BLOCK_LINE_BYTES_MAX {
                if reading.strict_lines {
                    return Err(MalformedResponse::BlockLineTooLong);
                }
                reading.too_large = true;
                reading.kept = Vec::new();
            }
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = trim_line_end(&line);
            if line == b"." {
                let done = match self.block.take() {
                    Some(Reading {
                        too_large: true,
                        octets,
                        ..
                    }) => Block::TooLarge { octets },
                    Some(reading) => Block::Complete(reading.kept),
                    None => unreachable!("checked at the top"),
                };
                return Ok(Some(done));
            }
            // RFC 3977 3.1.1: a leading dot was doubled by the server.
            let line = line.strip_prefix(b".").unwrap_or(line);
            reading.octets += line.len() + 2;
            if reading.octets > reading.max {
                reading.too_large = true;
                reading.kept = Vec::new();
            }
            if !reading.too_large {
                reading.kept.extend_from_slice(line);
                reading.kept.extend_from_slice(b"\r\n");
            }
        }
    }
}

/// A line without its CRLF (or bare LF).
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_table() {
        /// A status line, and its code and text if it is one.
        type Row = (&'static [u8], Option<(u16, &'static str)>);
        let rows: &[Row] = &[
            (b"200 news.test ready", Some((200, "news.test ready"))),
            (b"211 3 1 3 misc.test", Some((211, "3 1 3 misc.test"))),
            (b"205", Some((205, ""))),
            (b"423\tno such article", Some((423, "no such article"))),
            (b"340 send it  ", Some((340, "send it"))),
            (b"20 short", None),
            (b"2000 long code", None),
            (b"abc text", None),
            (b"600 out of range", None),
            (b"", None),
        ];
        for (line, expected) in rows {
            let got = parse_status(line).ok().map(|s| (s.code, s.text));
            let expected = expected.map(|(c, t)| (c, t.to_owned()));
            assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn control_characters_in_a_status_line_are_escaped() {
        let status = parse_status(b"200 hi\x1b[31m").unwrap();
        assert!(!status.text.contains('\x1b'), "{:?}", status.text);
    }

    fn read_block(
        input: &[u8],
        max: usize,
        strict: bool,
    ) -> Result<Option<Block>, MalformedResponse> {
        let mut reader = ResponseReader::default();
        reader.push(input);
        reader.begin_block(max, strict);
        reader.block()
    }

    #[test]
    fn multi_line_block_table() {
        let rows: &[(&[u8], Option<Block>)] = &[
            (
                b"a\r\nb\r\n.\r\n",
                Some(Block::Complete(b"a\r\nb\r\n".to_vec())),
            ),
            // RFC 3977 3.1.1: a doubled leading dot loses one.
            (
                b"..x\r\n...\r\n.\r\n",
                Some(Block::Complete(b".x\r\n..\r\n".to_vec())),
            ),
            // Bare LF line ends are read, and stored as CRLF.
            (b"a\nb\n.\n", Some(Block::Complete(b"a\r\nb\r\n".to_vec()))),
            (b".\r\n", Some(Block::Complete(Vec::new()))),
            (b"a\r\nb\r\n", None),
            (b"a\r\n.", None),
            // Over the limit: read to the end, dropped, counted.
            (
                b"0123456789\r\n0123456789\r\n.\r\n",
                Some(Block::TooLarge { octets: 24 }),
            ),
        ];
        for (input, expected) in rows {
            assert_eq!(
                read_block(input, 20, false).unwrap(),
                *expected,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn an_oversize_line_drops_the_article_but_ends_a_list() {
        let mut long = vec![b'x'; crate::limits::NNTP_BLOCK_LINE_BYTES_MAX + 10];
        long.extend_from_slice(b"\r\nshort\r\n.\r\n");
        assert!(matches!(
            read_block(&long, usize::MAX, false),
            Ok(Some(Block::TooLarge { .. }))
        ));
        assert_eq!(
            read_block(&long, usize::MAX, true),
            Err(MalformedResponse::BlockLineTooLong)
        );
    }

    #[test]
    fn an_overlong_status_line_is_refused_before_its_end_arrives() {
        let mut reader = ResponseReader::default();
        reader.push(&[b'2'; crate::limits::NNTP_STATUS_LINE_BYTES_MAX]);
        assert_eq!(reader.status(), Err(MalformedResponse::StatusLineTooLong));
    }
}
