//! Reading a server's replies (RFC 5321 4.2): `DDD-text` lines that go on,
//! then one `DDD text` line that ends the reply.
//!
//! A remote server chooses its reply texts, and they end up in log lines,
//! the delivery state (`postern queue list`) and bounces. So the parser
//! escapes control characters (a bare CR, an ESC sequence) as it reads, and
//! keeps a bounded amount: each line cut to [`REPLY_LINE_TEXT_BYTES_MAX`],
//! at most [`REPLY_LINES_MAX`] lines, and [`ServerReply::one_line`] cut to
//! [`REPLY_TEXT_BYTES_MAX`]. Lines longer than [`REPLY_LINE_BYTES_MAX`] or
//! more lines than that are a protocol error, not a reason to grow.

use crate::limits::{
    REPLY_LINE_BYTES_MAX, REPLY_LINE_TEXT_BYTES_MAX, REPLY_LINES_MAX, REPLY_TEXT_BYTES_MAX,
};
use crate::text::{bounded, escape_bytes};
use std::fmt;

/// One whole reply from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerReply {
    pub code: u16,
    /// The text of each line, without the code and separator; control
    /// characters escaped, each cut to [`REPLY_LINE_TEXT_BYTES_MAX`].
    pub lines: Vec<String>,
}

impl ServerReply {
    /// 2xx: the command succeeded (RFC 5321 4.2.1).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3xx: the server waits for more (354 to DATA, 334 to AUTH).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    pub fn is_permanent_failure(&self) -> bool {
        self.code >= 500
    }

    /// The reply on one line, as logs and bounces quote it: at most
    /// [`REPLY_TEXT_BYTES_MAX`] octets, with no control characters.
    pub fn one_line(&self) -> String {
        let text = format!("{} {}", self.code, self.lines.join(" "));
        bounded(text.trim_end(), REPLY_TEXT_BYTES_MAX).into_owned()
    }
}

impl fmt::Display for ServerReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

/// The server sent something that is not a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedReply(pub String);

/// How much of a malformed line its error quotes.
const QUOTED_BYTES_MAX: usize = 100;

/// Collects bytes into replies.
///
/// Linear in what it is handed, however a server cuts its bytes: lines are
/// read from `buffer[start..]` (consumed octets are dropped once per push,
/// not once per line), and the search for a line's end resumes where the
/// last one stopped.
#[derive(Debug, Default)]
pub struct ReplyParser {
    buffer: Vec<u8>,
    /// Octets at the front of `buffer` already returned as lines.
    start: usize,
    /// Octets after `start` already searched for a line end, in vain.
    searched: usize,
    lines: Vec<String>,
    code: Option<u16>,
}

impl ReplyParser {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.drain(..std::mem::take(&mut self.start));
        self.buffer.extend_from_slice(bytes);
    }

    /// Forgets everything received and not yet returned as a reply;
    /// answers how many octets that was. After the server's `220` to
    /// STARTTLS, nothing it sent in clear may be read as said under TLS
    /// (RFC 3207 4.2).
    pub fn discard(&mut self) -> usize {
        let octets = self.buffer.len() - self.start;
        self.buffer.clear();
        self.start = 0;
        self.searched = 0;
        self.lines.clear();
        self.code = None;
        octets
    }

    /// The next whole reply, if one has arrived.
    pub fn next_reply(&mut self) -> Result<Option<ServerReply>, MalformedReply> {
        loop {
            let too_long = || {
                MalformedReply(format!(
                    "a reply line longer than {REPLY_LINE_BYTES_MAX} octets"
                ))
            };
            let pending = &self.buffer[self.start..];
            let Some(found) = pending[self.searched..].iter().position(|&b| b == b'\n') else {
                self.searched = pending.len();
                if pending.len() > REPLY_LINE_BYTES_MAX {
                    return Err(too_long());
                }
                return Ok(None);
            };
            let end = self.searched + found;
            // The same bound for a line that arrived whole as for one that
            // arrived in pieces: more than the bound before its LF.
            if end > REPLY_LINE_BYTES_MAX {
                return Err(too_long());
            }
            let raw = &self.buffer[self.start..=self.start + end];
            self.start += end + 1;
            self.searched = 0;
            let line = raw.strip_suffix(b"\n").unwrap_or(raw);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let malformed = || {
                let quoted = escape_bytes(line);
                MalformedReply(format!(
                    "not an SMTP reply: \"{}\"",
                    bounded(&quoted, QUOTED_BYTES_MAX)
                ))
            };
            let Some(code) = reply_code(line) else {
                return Err(malformed());
            };
            if !(200..600).contains(&code) || self.code.is_some_and(|c| c != code) {
                return Err(malformed());
            }
            let last = match line.get(3) {
                None | Some(b' ') => true,
                Some(b'-') => false,
                Some(_) => return Err(malformed()),
            };
            let text = escape_bytes(line.get(4..).unwrap_or_default());
            self.lines
                .push(bounded(&text, REPLY_LINE_TEXT_BYTES_MAX).into_owned());
            if last {
                self.code = None;
                return Ok(Some(ServerReply {
                    code,
                    lines: std::mem::take(&mut self.lines),
                }));
            }
            if self.lines.len() >= REPLY_LINES_MAX {
                return Err(MalformedReply(format!(
                    "a reply of more than {REPLY_LINES_MAX} lines"
                )));
            }
            self.code = Some(code);
        }
    }
}

/// The three digits a reply line starts with.
fn reply_code(line: &[u8]) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_replies_arrive_whole_whatever_the_chunks() {
        let text = b"250-mx.test Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n220 ok\r\n";
        for split in 0..text.len() {
            let mut parser = ReplyParser::default();
            let mut replies = Vec::new();
            for chunk in [&text[..split], &text[split..]] {
                parser.push(chunk);
                while let Some(reply) = parser.next_reply().unwrap() {
                    replies.push(reply);
                }
            }
            assert_eq!(replies.len(), 2, "split at {split}");
            assert_eq!(
                replies[0].lines,
                ["mx.test Hello", "PIPELINING", "SIZE 1000"]
            );
            assert_eq!(replies[1].one_line(), "220 ok");
        }
    }

    #[test]
    fn a_bare_code_and_lf_endings_are_accepted() {
        let mut parser = ReplyParser::default();
        parser.push(b"250\n");
        assert_eq!(parser.next_reply().unwrap().unwrap().code, 250);
    }

    #[test]
    fn garbage_is_malformed() {
        for text in [
            &b"hello\r\n"[..],
            b"25\r\n",
            b"250x\r\n",
            b"250-a\r\n251 b\r\n",
            b"999 x\r\n",
        ] {
            let mut parser = ReplyParser::default();
            parser.push(text);
            let mut result = parser.next_reply();
            if let Ok(Some(_)) = result {
                result = parser.next_reply();
            }
            assert!(result.is_err(), "{:?}", String::from_utf8_lossy(text));
        }
        let mut parser = ReplyParser::default();
        parser.push(&vec![b'2'; REPLY_LINE_BYTES_MAX + 1]);
        assert!(parser.next_reply().is_err());
    }

    #[test]
    fn control_characters_in_reply_text_are_escaped() {
        let mut parser = ReplyParser::default();
        parser.push(b"550-5.1.1 no\rsuch\x1b[2J user\r\n550 5.1.1 bye\xff\r\n");
        let reply = parser.next_reply().unwrap().unwrap();
        assert_eq!(
            reply.lines,
            ["5.1.1 no\\rsuch\\x1b[2J user", "5.1.1 bye\\xff"]
        );
        assert!(!reply.one_line().chars().any(char::is_control));
    }

    #[test]
    fn reply_text_kept_is_bounded_per_line_and_in_total() {
        let line = format!("250-{}\r\n", "x".repeat(REPLY_LINE_BYTES_MAX - 6));
        let mut text = line.repeat(REPLY_LINES_MAX - 1);
        text.push_str("250 end\r\n");
        let mut parser = ReplyParser::default();
        parser.push(text.as_bytes());
        let reply = parser.next_reply().unwrap().unwrap();
        assert_eq!(reply.lines.len(), REPLY_LINES_MAX);
        assert!(
            reply
                .lines
                .iter()
                .all(|l| l.len() <= REPLY_LINE_TEXT_BYTES_MAX)
        );
        assert!(reply.one_line().len() <= REPLY_TEXT_BYTES_MAX);
        assert!(reply.one_line().ends_with("..."));
    }

    #[test]
    fn overlong_lines_and_too_many_lines_are_protocol_errors() {
        // A whole overlong line in one chunk, newline included.
        let mut parser = ReplyParser::default();
        let mut long = vec![b'5'; 3];
        long.extend(vec![b'x'; REPLY_LINE_BYTES_MAX]);
        long.extend(b"\r\n");
        parser.push(&long);
        assert!(parser.next_reply().is_err());
        // One line more than a reply may have.
        let mut parser = ReplyParser::default();
        parser.push("250-x\r\n".repeat(REPLY_LINES_MAX).as_bytes());
        let error = parser.next_reply().unwrap_err();
        assert!(error.0.contains("more than 100 lines"), "{error:?}");
    }

    #[test]
    fn a_malformed_line_is_quoted_escaped_and_bounded() {
        let mut parser = ReplyParser::default();
        let mut junk = b"hello\x1b[31m".to_vec();
        junk.extend(vec![b'y'; 1000]);
        junk.extend(b"\r\n");
        parser.push(&junk);
        let error = parser.next_reply().unwrap_err();
        assert!(
            error.0.starts_with("not an SMTP reply: \"hello\\x1b[31m"),
            "{error:?}"
        );
        assert!(error.0.len() < 200, "{error:?}");
    }

    #[test]
    fn discard_forgets_buffered_bytes_and_partial_replies() {
        let mut parser = ReplyParser::default();
        parser.push(b"250-half\r\n250 fake\r\n25");
        assert_eq!(parser.discard(), 22);
        assert_eq!(parser.next_reply(), Ok(None));
        parser.push(b"220 real\r\n");
        assert_eq!(parser.next_reply().unwrap().unwrap().one_line(), "220 real");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever a server sends, in whatever chunks: no panic, and
        /// every reply kept is escaped and within its bounds.
        #[test]
        fn arbitrary_bytes_give_bounded_escaped_replies_or_an_error(
            chunks in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(b"0259 -\r\n\x1b\x00\xc3\xa9\xffx".to_vec()),
                    0..400,
                ),
                0..8,
            )
        ) {
            let mut parser = ReplyParser::default();
            'feed: for chunk in &chunks {
                parser.push(chunk);
                loop {
                    match parser.next_reply() {
                        Ok(Some(reply)) => {
                            proptest::prop_assert!(reply.lines.len() <= REPLY_LINES_MAX);
                            for line in &reply.lines {
                                proptest::prop_assert!(line.len() <= REPLY_LINE_TEXT_BYTES_MAX);
                                proptest::prop_assert!(!line.chars().any(char::is_control));
                            }
                            proptest::prop_assert!(reply.one_line().len() <= REPLY_TEXT_BYTES_MAX);
                        }
                        Ok(None) => break,
                        Err(error) => {
                            proptest::prop_assert!(!error.0.chars().any(char::is_control));
                            break 'feed;
                        }
                    }
                }
            }
        }
    }

    /// Found by the `smtp_reply` fuzz target: a line over the bound was
    /// refused when it came in pieces but accepted when it came whole.
    #[test]
    fn a_long_line_is_refused_however_it_arrives() {
        let mut long = b"250 ".to_vec();
        long.resize(REPLY_LINE_BYTES_MAX + 1, b'a');
        long.extend_from_slice(b"\r\n");
        let mut whole = ReplyParser::default();
        whole.push(&long);
        assert!(whole.next_reply().is_err(), "in one piece");
        let mut pieces = ReplyParser::default();
        pieces.push(&long[..REPLY_LINE_BYTES_MAX + 1]);
        assert!(pieces.next_reply().is_err(), "in two pieces");
        // At the bound, a line is read however it arrives.
        let mut at_bound = b"250 ".to_vec();
        at_bound.resize(REPLY_LINE_BYTES_MAX, b'a');
        at_bound.extend_from_slice(b"\n");
        for split in [at_bound.len(), REPLY_LINE_BYTES_MAX] {
            let mut parser = ReplyParser::default();
            parser.push(&at_bound[..split]);
            assert_eq!(
                parser.next_reply().map(|r| r.is_some()),
                Ok(split == at_bound.len())
            );
            parser.push(&at_bound[split..]);
            if split != at_bound.len() {
                assert!(parser.next_reply().unwrap().is_some(), "split at {split}");
            }
        }
    }
}
