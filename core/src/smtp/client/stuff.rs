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
    ///
    /// A run at a time: only the octet after an LF can start a line, so
    /// everything up to and with the next LF is copied in one piece.
    pub fn stuff(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len() + 8);
        let mut rest = chunk;
        while let Some(&first) = rest.first() {
            if self.at_line_start && first == b'.' {
                out.push(b'.');
            }
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |lf| lf + 1);
            let (run, tail) = rest.split_at(end);
            out.extend_from_slice(run);
            let (last, before) = match run {
                [.., before, last] => (*last, *before == b'\r'),
                [last] => (*last, self.after_cr),
                [] => unreachable!("a run holds at least the first octet"),
            };
            self.at_line_start = before && last == b'\n';
            self.after_cr = last == b'\r';
            self.empty = false;
            rest = tail;
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

    /// The stuffer as it was first written, one octet at a time: the
    /// model the run-at-a-time code is checked against.
    fn stuffed_octet_by_octet(message: &[u8]) -> Vec<u8> {
        let (mut at_line_start, mut after_cr) = (true, false);
        let mut out = Vec::new();
        for &byte in message {
            if at_line_start && byte == b'.' {
                out.push(b'.');
            }
            out.push(byte);
            at_line_start = after_cr && byte == b'\n';
            after_cr = byte == b'\r';
        }
        if !message.is_empty() && !at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    proptest::proptest! {
        /// Any message, cut anywhere, is stuffed as the octet-by-octet
        /// model stuffs it whole.
        #[test]
        fn runs_stuff_as_octet_by_octet(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(b"\r\n".to_vec()),
                    proptest::strategy::Just(b".".to_vec()),
                    proptest::strategy::Just(b"\r".to_vec()),
                    proptest::strategy::Just(b"\n".to_vec()),
                    proptest::collection::vec(b'a'..=b'c', 1..6),
                ],
                0..40,
            ),
            cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..6),
        ) {
            let message = pieces.concat();
            let mut at: Vec<usize> = cuts.iter().map(|cut| cut % (message.len() + 1)).collect();
            at.push(0);
            at.push(message.len());
            at.sort_unstable();
            let chunks: Vec<&[u8]> = at.windows(2).map(|w| &message[w[0]..w[1]]).collect();
            proptest::prop_assert_eq!(stuffed(&chunks), stuffed_octet_by_octet(&message));
        }
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
