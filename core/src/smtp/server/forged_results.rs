//! `Authentication-Results:` fields that arrive claiming our own
//! authserv-id are renamed on the way in (RFC 8601 5: a receiver "MUST
//! delete" or rename such a field, since it could only be a forgery: our
//! own results are added after the message has arrived). They become
//! `X-Forged-Authentication-Results:`, so nothing of the message is lost
//! and nothing downstream (a filter, a mail reader) takes them for ours.
//!
//! Streaming, like the rest of the DATA decoder: the start of each header
//! line is held back only until it is clear whether it is such a field,
//! at most [`HELD_BYTES_MAX`] octets.

/// The field name matched, in lower case.
const NAME: &[u8] = b"authentication-results";
/// What is put before a forged field's name.
pub const FORGED_PREFIX: &[u8] = b"X-Forged-";
/// The start of a line held back while it may be one of ours: the name,
/// the colon, blanks and an authserv-id of up to 255 octets fit.
const HELD_BYTES_MAX: usize = 320;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// At the first octet of a header line.
    LineStart,
    /// In what may be the field name.
    Name,
    /// After the colon, before the authserv-id.
    AfterColon,
    /// In the authserv-id.
    Id,
    /// The rest of the line goes through as it is.
    Pass,
}

/// The renaming filter; see the module documentation.
#[derive(Debug)]
pub struct ForgedResults {
    /// Our authserv-id (the host name), in lower case.
    authserv_id: Vec<u8>,
    scan: Scan,
    held: Vec<u8>,
    /// Where the authserv-id starts in `held`.
    id_start: usize,
}

impl ForgedResults {
    pub fn new(authserv_id: &str) -> Self {
        ForgedResults {
            authserv_id: authserv_id.to_ascii_lowercase().into_bytes(),
            scan: Scan::LineStart,
            held: Vec::new(),
            id_start: 0,
        }
    }

    /// Octets held back, not yet let out.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Takes octets of the body: what was held goes out, then they do (as
    /// [`ForgedResults::push`] of each, past the header section).
    pub fn push_body(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.release(false, out);
        out.extend_from_slice(bytes);
    }

    /// Takes one octet of the header section (`in_header`) or of the body,
    /// and writes to `out` what can be written.
    pub fn push(&mut self, byte: u8, in_header: bool, out: &mut Vec<u8>) {
        if !in_header {
            self.release(false, out);
            out.push(byte);
            return;
        }
        match self.scan {
            Scan::LineStart => match byte {
                // A continuation or the end of a line: nothing to hold.
                b' ' | b'\t' | b'\r' | b'\n' => {
                    out.push(byte);
                    self.scan = if byte == b'\n' {
                        Scan::LineStart
                    } else {
                        Scan::Pass
                    };
                }
                _ => {
                    self.held.push(byte);
                    self.scan = Scan::Name;
                    self.check_name(out);
                }
            },
            Scan::Name => {
                self.held.push(byte);
                self.check_name(out);
            }
            Scan::AfterColon => {
                self.held.push(byte);
                match byte {
                    b' ' | b'\t' => {}
                    b';' | b'(' | b'\r' | b'\n' => self.decide(out),
                    _ => {
                        self.id_start = self.held.len() - 1;
                        self.scan = Scan::Id;
                    }
                }
            }
            Scan::Id => {
                self.held.push(byte);
                if matches!(byte, b';' | b' ' | b'\t' | b'(' | b'\r' | b'\n') {
                    self.decide(out);
                }
            }
            Scan::Pass => out.push(byte),
        }
        if self.held.len() > HELD_BYTES_MAX {
            self.release(false, out);
        }
        if byte == b'\n' && self.held.is_empty() {
            self.scan = Scan::LineStart;
        }
    }

    /// The held name so far: still a prefix of ours, or ended with its
    /// colon (blanks may come before it).
    fn check_name(&mut self, out: &mut Vec<u8>) {
        let byte = *self.held.last().unwrap_or(&0);
        if byte == b':' {
            let name = self.held[..self.held.len() - 1].trim_ascii_end();
            if name.eq_ignore_ascii_case(NAME) {
                self.scan = Scan::AfterColon;
            } else {
                self.release(false, out);
            }
            return;
        }
        let name = self.held.trim_ascii_end();
        let blanks_then_more = name.len() < self.held.len() && !matches!(byte, b' ' | b'\t');
        let prefix = name.len() <= NAME.len() && name.eq_ignore_ascii_case(&NAME[..name.len()]);
        if !prefix || blanks_then_more {
            self.release(false, out);
        }
    }

    /// The authserv-id has ended (with the last octet held): a forgery
    /// if it is ours.
    fn decide(&mut self, out: &mut Vec<u8>) {
        let id = self.held[self.id_start..self.held.len() - 1].to_ascii_lowercase();
        let forged = self.scan == Scan::Id && id == self.authserv_id;
        self.release(forged, out);
    }

    /// Writes what is held, renamed if `forged`; the rest of the line
    /// passes.
    fn release(&mut self, forged: bool, out: &mut Vec<u8>) {
        if self.held.is_empty() {
            return;
        }
        if forged {
            out.extend_from_slice(FORGED_PREFIX);
        }
        let ended_line = self.held.last() == Some(&b'\n');
        out.append(&mut self.held);
        self.id_start = 0;
        self.scan = if ended_line {
            Scan::LineStart
        } else {
            Scan::Pass
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `input` through the filter in pieces of `piece` octets, the header
    /// section being everything before the first empty line.
    fn filter(input: &[u8], piece: usize) -> Vec<u8> {
        let body_at = input
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(input.len(), |i| i + 4);
        let mut results = ForgedResults::new("MX.Example.TEST");
        let mut out = Vec::new();
        for (chunk_start, chunk) in input.chunks(piece).enumerate() {
            for (i, &byte) in chunk.iter().enumerate() {
                let at = chunk_start * piece + i;
                results.push(byte, at < body_at, &mut out);
            }
        }
        out
    }

    #[test]
    fn only_fields_claiming_our_id_are_renamed_whatever_the_pieces() {
        let cases: &[(&str, &str)] = &[
            (
                "Authentication-Results: mx.example.test; dkim=pass\r\n",
                "X-Forged-Authentication-Results: mx.example.test; dkim=pass\r\n",
            ),
            // Any case, blanks before the colon, no blank after it, folded.
            (
                "authentication-results :MX.EXAMPLE.TEST;\r\n\tspf=pass\r\n",
                "X-Forged-authentication-results :MX.EXAMPLE.TEST;\r\n\tspf=pass\r\n",
            ),
            (
                "Authentication-Results: mx.example.test\r\n",
                "X-Forged-Authentication-Results: mx.example.test\r\n",
            ),
            (
                "Authentication-Results: mx.example.test (c) 1; none\r\n",
                "X-Forged-Authentication-Results: mx.example.test (c) 1; none\r\n",
            ),
            // Another receiver's, or one that only starts like ours.
            (
                "Authentication-Results: mx.other.test; dkim=pass\r\n",
                "Authentication-Results: mx.other.test; dkim=pass\r\n",
            ),
            (
                "Authentication-Results: mx.example.test.evil; x\r\n",
                "Authentication-Results: mx.example.test.evil; x\r\n",
            ),
            // Other fields, and names that only start the same.
            (
                "Authentication-Results-X: mx.example.test\r\n",
                "Authentication-Results-X: mx.example.test\r\n",
            ),
            (
                "Authentication: mx.example.test\r\n",
                "Authentication: mx.example.test\r\n",
            ),
            (
                "Subject: Authentication-Results: mx.example.test\r\n",
                "Subject: Authentication-Results: mx.example.test\r\n",
            ),
            // The body is never touched.
            (
                "Subject: x\r\n\r\nAuthentication-Results: mx.example.test; a\r\n",
                "Subject: x\r\n\r\nAuthentication-Results: mx.example.test; a\r\n",
            ),
        ];
        for (input, expected) in cases {
            for piece in [1, 2, 3, 7, 64] {
                assert_eq!(
                    String::from_utf8_lossy(&filter(input.as_bytes(), piece)),
                    *expected,
                    "piece {piece}"
                );
            }
        }
    }

    #[test]
    fn a_huge_authserv_id_is_let_through_once_the_hold_is_full() {
        let input = format!(
            "Authentication-Results: {}\r\nSubject: x\r\n",
            "a".repeat(1000)
        );
        assert_eq!(filter(input.as_bytes(), 5), input.as_bytes());
    }
}
