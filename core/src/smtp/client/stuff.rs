//! Dot-stuffing for DATA (RFC 5321 4.5.2): a line that starts with `.`
//! gets another in front, and `CRLF.CRLF` ends the data.

/// Stuffs a message that arrives in chunks of any size.
#[derive(Debug)]
pub struct DotStuffer {
    at_line_start: bool,
    /// The last octet written was CR.
    after_cr: bool,
    /// Nothing written yet.
    empty: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer {
            at_line_start: true,
            after_cr: false,
            empty: true,
        }
    }
}

impl DotStuffer {
    /// Appends `chunk`, stuffed, to `out`. Lines must end in CRLF, as the
    /// spool keeps them.
    pub fn stuff(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len() + 8);
        for &byte in chunk {
            if self.at_line_start && byte == b'.' {
                out.push(b'.');
            }
            out.push(byte);
            self.at_line_start = self.after_cr && byte == b'\n';
            self.after_cr = byte == b'\r';
            self.empty = false;
        }
    }

    /// Appends the end of data: a CRLF if the last line lacks one, then
    /// `.CRLF`.
    pub fn finish(self, out: &mut Vec<u8>) {
        if !self.empty && !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuffed(chunks: &[&[u8]]) -> Vec<u8> {
        let mut stuffer = DotStuffer::default();
        let mut out = Vec::new();
        for chunk in chunks {
            stuffer.stuff(chunk, &mut out);
        }
        stuffer.finish(&mut out);
        out
    }

    #[test]
    fn leading_dots_are_doubled_across_chunk_boundaries() {
        assert_eq!(stuffed(&[b".a\r\nb\r\n.\r\n"]), b"..a\r\nb\r\n..\r\n.\r\n");
        assert_eq!(stuffed(&[b"x\r", b"\n", b".y\r\n"]), b"x\r\n..y\r\n.\r\n");
        assert_eq!(stuffed(&[b"no end"]), b"no end\r\n.\r\n");
        assert_eq!(stuffed(&[]), b".\r\n");
        assert_eq!(stuffed(&[b"a.b\r\n"]), b"a.b\r\n.\r\n");
    }
}
