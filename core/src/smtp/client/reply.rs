//! Reading a server's replies (RFC 5321 4.2): `DDD-text` lines that go on,
//! then one `DDD text` line that ends the reply.

use std::fmt;

/// The longest reply line we read; RFC 5321 4.5.3.1.5 says 512, but real
/// servers send longer texts, so we are lenient up to a bound.
pub const REPLY_LINE_BYTES_MAX: usize = 4096;
/// The most lines in one reply (EHLO replies are the long ones).
pub const REPLY_LINES_MAX: usize = 100;

/// One whole reply from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerReply {
    pub code: u16,
    /// The text of each line, without the code and separator.
    pub lines: Vec<String>,
}

impl ServerReply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_permanent_failure(&self) -> bool {
        self.code >= 500
    }

    /// The reply on one line, as logs and bounces quote it.
    pub fn one_line(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" "))
            .trim_end()
            .to_owned()
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

/// Collects bytes into replies.
#[derive(Debug, Default)]
pub struct ReplyParser {
    buffer: Vec<u8>,
    lines: Vec<String>,
    code: Option<u16>,
}

impl ReplyParser {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole reply, if one has arrived.
    pub fn next_reply(&mut self) -> Result<Option<ServerReply>, MalformedReply> {
        loop {
            let too_long = || {
                MalformedReply(format!(
                    "a reply line longer than {REPLY_LINE_BYTES_MAX} octets"
                ))
            };
            let Some(end) = self.buffer.iter().position(|&b| b == b'\n') else {
                if self.buffer.len() > REPLY_LINE_BYTES_MAX {
                    return Err(too_long());
                }
                return Ok(None);
            };
            // The same bound for a line that arrived whole as for one that
            // arrived in pieces: more than the bound before its LF.
            if end > REPLY_LINE_BYTES_MAX {
                return Err(too_long());
            }
            let raw: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = raw.strip_suffix(b"\n").unwrap_or(&raw);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = String::from_utf8_lossy(line);
            let malformed = || MalformedReply(format!("not an SMTP reply: {text:?}"));
            if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
                return Err(malformed());
            }
            let code: u16 = text[..3].parse().map_err(|_| malformed())?;
            if !(200..600).contains(&code) || self.code.is_some_and(|c| c != code) {
                return Err(malformed());
            }
            let (last, rest) = match line.get(3) {
                None => (true, ""),
                Some(b' ') => (true, &text[4..]),
                Some(b'-') => (false, &text[4..]),
                Some(_) => return Err(malformed()),
            };
            self.lines.push(rest.to_owned());
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
