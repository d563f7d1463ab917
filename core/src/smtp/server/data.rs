//! The DATA decoder: dot-unstuffing and end-of-data detection, streaming.
//!
//! RFC 5321 4.5.2: a line that starts with a period has it removed, and
//! the data ends at a line holding a single period. The decoder sees the
//! bytes once, in whatever pieces they arrive, and never holds more than
//! its position in the current line.
//!
//! Only `CRLF.CRLF` ends the data. A bare CR or LF anywhere is refused
//! (RFC 5321 2.3.8): different servers read it differently, which is how
//! SMTP smuggling works, so we stop reading the moment we see one.
//!
//! On the way it counts the `Received:` fields of the header section
//! (RFC 5321 6.3: a message with too many has been looping), with a few
//! bytes of state, whatever the pieces, and renames the
//! `Authentication-Results:` fields that claim to be ours
//! ([`ForgedResults`]).

use crate::limits::TEXT_LINE_BYTES_MAX;
use crate::smtp::server::forged_results::ForgedResults;

/// Where the decoder is within the current line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinePosition {
    /// At the first byte of a line.
    LineStart,
    /// After a period at the start of a line.
    Dot,
    /// After `.` and CR at the start of a line: LF ends the data.
    DotCr,
    /// Inside a line.
    InLine,
    /// After a CR inside a line: only LF may follow.
    Cr,
}

/// A fault in the message that is reported once the data has ended: the
/// session stays in step with the client and the message is discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFailure {
    /// Over the session's message size limit (RFC 1870).
    TooBig,
    /// A line over [`TEXT_LINE_BYTES_MAX`] (RFC 5321 4.5.3.1.6).
    LineTooLong,
    /// A NUL byte, which no mail format allows.
    NulByte,
    /// More `Received:` fields than the session's hop limit: a mail loop
    /// (RFC 5321 6.3). [`DataDecoder::hops`] says how many.
    TooManyHops,
}

/// The result of feeding bytes to the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Every byte was consumed; the data goes on.
    NeedMore,
    /// The data ended after `consumed` bytes; the rest are commands.
    End { consumed: usize },
    /// A bare CR or LF: the stream can no longer be trusted.
    BareLineEnding,
}

#[derive(Debug)]
pub struct DataDecoder {
    position: LinePosition,
    /// Octets of the current line so far, as transmitted.
    line_bytes: usize,
    /// Octets of message content after unstuffing.
    size: u64,
    max_size: u64,
    hops: HopCounter,
    max_hops: usize,
    failure: Option<DataFailure>,
    /// Renames forged `Authentication-Results:` fields, when set.
    results: Option<ForgedResults>,
    /// What `results` let out for the last octet (kept, not reallocated).
    released: Vec<u8>,
    /// Every octet through the per-octet path: the model the whole pieces
    /// are checked against.
    #[cfg(test)]
    octet_by_octet: bool,
}

impl DataDecoder {
    pub fn new(max_size: u64, max_hops: usize) -> Self {
        DataDecoder {
            position: LinePosition::LineStart,
            line_bytes: 0,
            size: 0,
            max_size,
            hops: HopCounter::default(),
            max_hops,
            failure: None,
            results: None,
            released: Vec::new(),
            #[cfg(test)]
            octet_by_octet: false,
        }
    }

    /// This decoder, renaming the header section's
    /// `Authentication-Results:` fields that claim `authserv_id`.
    pub fn renaming_forged_results(mut self, authserv_id: &str) -> Self {
        self.results = Some(ForgedResults::new(authserv_id));
        self
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// `Received:` fields in the header section so far (counted on after
    /// a failure, so that the reply can say how many).
    pub fn hops(&self) -> usize {
        self.hops.count
    }

    pub fn failure(&self) -> Option<DataFailure> {
        self.failure
    }

    /// Decodes `input`, appending message content to `out` until a failure
    /// is found; after that, bytes are only scanned for the end.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Progress {
        let mut i = 0;
        while i < input.len() {
            if let Some(run) = self.content_run(&input[i..]) {
                self.line_bytes += run;
                self.emit(&input[i..i + run], out);
                i += run;
                continue;
            }
            if let Some(progress) = self.step(input[i], i, out) {
                return progress;
            }
            i += 1;
        }
        Progress::NeedMore
    }

    /// Inside a line, the octets before the next CR, LF or NUL are line
    /// content: their count when they can be taken as one piece, that is
    /// when the line's limit cannot be crossed within them (so that
    /// failures are found in the same order as octet by octet).
    fn content_run(&self, input: &[u8]) -> Option<usize> {
        if self.position != LinePosition::InLine || self.is_model() {
            return None;
        }
        let run = memchr::memchr3(b'\r', b'\n', 0, input).unwrap_or(input.len());
        (run > 0 && self.line_bytes + run <= TEXT_LINE_BYTES_MAX).then_some(run)
    }

    /// Decodes one octet, the `at`-th of its piece of input; `Some` when
    /// the data has ended or can no longer be trusted.
    fn step(&mut self, byte: u8, at: usize, out: &mut Vec<u8>) -> Option<Progress> {
        self.line_bytes += 1;
        if self.line_bytes > TEXT_LINE_BYTES_MAX {
            self.fail(DataFailure::LineTooLong);
        }
        match self.position {
            LinePosition::LineStart if byte == b'.' => self.position = LinePosition::Dot,
            LinePosition::Dot if byte == b'\r' => self.position = LinePosition::DotCr,
            LinePosition::DotCr if byte == b'\n' => {
                return Some(Progress::End { consumed: at + 1 });
            }
            LinePosition::DotCr => return Some(Progress::BareLineEnding),
            LinePosition::Cr if byte == b'\n' => {
                self.emit(b"\r\n", out);
                self.position = LinePosition::LineStart;
                self.line_bytes = 0;
            }
            LinePosition::Cr => return Some(Progress::BareLineEnding),
            // A stuffed period was dropped (or there was none): this
            // byte is line content.
            LinePosition::LineStart | LinePosition::Dot | LinePosition::InLine => {
                if self.in_line(byte, out).is_err() {
                    return Some(Progress::BareLineEnding);
                }
            }
        }
        None
    }

    /// [`DataDecoder::feed`] one octet at a time, as the decoder was
    /// written first: the model its pieces are checked against.
    #[cfg(test)]
    fn feed_octet_by_octet(&mut self, input: &[u8], out: &mut Vec<u8>) -> Progress {
        self.octet_by_octet = true;
        for (i, &byte) in input.iter().enumerate() {
            if let Some(progress) = self.step(byte, i, out) {
                return progress;
            }
        }
        Progress::NeedMore
    }

    fn in_line(&mut self, byte: u8, out: &mut Vec<u8>) -> Result<(), ()> {
        self.position = LinePosition::InLine;
        match byte {
            b'\r' => self.position = LinePosition::Cr,
            b'\n' => return Err(()),
            0 => self.fail(DataFailure::NulByte),
            _ => self.emit(&[byte], out),
        }
        Ok(())
    }

    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        // Past the header section, with nothing failed and room for all of
        // it: the octets go out as they are (the hop count is final, and
        // the forged-results filter only lets out what it held).
        let held = self.results.as_ref().map_or(0, ForgedResults::held_len);
        let released = (held + bytes.len()) as u64;
        if self.hops.scan == HeaderScan::Body
            && self.failure.is_none()
            && !self.is_model()
            && self.size + released <= self.max_size
        {
            self.size += released;
            match &mut self.results {
                Some(results) => results.push_body(bytes, out),
                None => out.extend_from_slice(bytes),
            }
            return;
        }
        for &byte in bytes {
            self.hops.scan(byte);
            if self.hops.count > self.max_hops {
                self.fail(DataFailure::TooManyHops);
            }
            if self.failure.is_some() {
                // Hops are still counted, for the reply.
                continue;
            }
            // What this octet lets out: itself, nothing (held back) or a
            // held line start; only what fits the size limit is written.
            let Some(results) = &mut self.results else {
                self.size += 1;
                if self.size > self.max_size {
                    self.fail(DataFailure::TooBig);
                } else {
                    out.push(byte);
                }
                continue;
            };
            self.released.clear();
            results.push(byte, self.hops.in_header(), &mut self.released);
            self.size += self.released.len() as u64;
            if self.size > self.max_size {
                self.fail(DataFailure::TooBig);
            } else {
                out.extend_from_slice(&self.released);
            }
        }
    }

    #[cfg(test)]
    fn is_model(&self) -> bool {
        self.octet_by_octet
    }

    #[cfg(not(test))]
    fn is_model(&self) -> bool {
        false
    }

    /// Keeps the first failure: it is the one the client is told about.
    fn fail(&mut self, failure: DataFailure) {
        self.failure.get_or_insert(failure);
    }
}

/// Where the header scan is, in message content (unstuffed, CRLF lines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum HeaderScan {
    /// At the start of a header line.
    #[default]
    LineStart,
    /// In a field name, `matched` octets long so far; `received` while
    /// it is still a prefix of `Received` (any case).
    Name { matched: u8, received: bool },
    /// Blanks after a field name, before its colon (RFC 5322 4.5.3
    /// obsolete syntax, which readers must accept).
    BeforeColon { received: bool },
    /// In a field body or a folded continuation line.
    InLine,
    /// A CR at the start of a line: the empty line that ends the header
    /// section.
    EmptyLine,
    /// Past the header section: nothing more is counted.
    Body,
}

/// Counts `Received:` fields at the start of header lines, case
/// insensitively. A line that is not a header field (nor a continuation)
/// ends the header section, as it does for mail readers.
#[derive(Debug, Default)]
struct HopCounter {
    scan: HeaderScan,
    count: usize,
}

const RECEIVED: &[u8] = b"received";

impl HopCounter {
    fn scan(&mut self, byte: u8) {
        // RFC 5322 2.2: a field name is printable ASCII except the colon.
        let name_byte = (33..=126).contains(&byte) && byte != b':';
        self.scan = match self.scan {
            HeaderScan::Body => HeaderScan::Body,
            HeaderScan::LineStart => match byte {
                b'\r' => HeaderScan::EmptyLine,
                b' ' | b'\t' => HeaderScan::InLine,
                _ if name_byte => HeaderScan::Name {
                    matched: 1,
                    received: byte.eq_ignore_ascii_case(&RECEIVED[0]),
                },
                _ => HeaderScan::Body,
            },
            HeaderScan::Name { matched, received } => match byte {
                b':' => self.field(received && usize::from(matched) == RECEIVED.len()),
                b' ' | b'\t' => HeaderScan::BeforeColon {
                    received: received && usize::from(matched) == RECEIVED.len(),
                },
                _ if name_byte => HeaderScan::Name {
                    matched: matched.saturating_add(1),
                    received: received
                        && RECEIVED
                            .get(usize::from(matched))
                            .is_some_and(|r| byte.eq_ignore_ascii_case(r)),
                },
                _ => HeaderScan::Body,
            },
            HeaderScan::BeforeColon { received } => match byte {
                b' ' | b'\t' => HeaderScan::BeforeColon { received },
                b':' => self.field(received),
                _ => HeaderScan::Body,
            },
            HeaderScan::InLine if byte == b'\n' => HeaderScan::LineStart,
            HeaderScan::InLine => HeaderScan::InLine,
            HeaderScan::EmptyLine => HeaderScan::Body,
        };
    }

    /// Still in the header section (the octet just scanned included).
    fn in_header(&self) -> bool {
        self.scan != HeaderScan::Body
    }

    /// A field name has ended with its colon.
    fn field(&mut self, received: bool) -> HeaderScan {
        if received {
            self.count = self.count.saturating_add(1);
        }
        HeaderScan::InLine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(input: &[u8]) -> (Progress, Vec<u8>, Option<DataFailure>) {
        let mut decoder = DataDecoder::new(1_000_000, 50);
        let mut out = Vec::new();
        let progress = decoder.feed(input, &mut out);
        (progress, out, decoder.failure())
    }

    #[test]
    fn decoding_table() {
        let rows: &[(&[u8], Progress, &[u8])] = &[
            (b".\r\n", Progress::End { consumed: 3 }, b""),
            (b"Hi\r\n.\r\n", Progress::End { consumed: 7 }, b"Hi\r\n"),
            (
                b"..dot\r\n.\r\nQUIT\r\n",
                Progress::End { consumed: 10 },
                b".dot\r\n",
            ),
            (
                b"a.\r\n.b\r\n.\r\n",
                Progress::End { consumed: 11 },
                b"a.\r\nb\r\n",
            ),
            (b"Hi\r\n", Progress::NeedMore, b"Hi\r\n"),
            (b"Hi\r\n.", Progress::NeedMore, b"Hi\r\n"),
            (b"Hi\n.\n", Progress::BareLineEnding, b"Hi"),
            (b"Hi\r\n.\n", Progress::BareLineEnding, b"Hi\r\n"),
            (b"Hi\r.\r\n", Progress::BareLineEnding, b"Hi"),
            (b"Hi\r\n.\rX", Progress::BareLineEnding, b"Hi\r\n"),
            (b"\n.\r\n", Progress::BareLineEnding, b""),
        ];
        for (input, progress, out) in rows {
            let (got_progress, got_out, _) = decode(input);
            assert_eq!(
                got_progress,
                *progress,
                "{}",
                String::from_utf8_lossy(input)
            );
            assert_eq!(got_out, *out, "{}", String::from_utf8_lossy(input));
        }
    }

    /// Messages made of what the decoder tells apart: line ends (bare
    /// ones too), periods at line starts, NULs, `Received:` and forged
    /// `Authentication-Results:` fields, the blank line, runs of text up
    /// to past a line's limit.
    fn message_pieces() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"\r\n".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"\n".to_vec()),
            Just(b".".to_vec()),
            Just(b"\0".to_vec()),
            Just(b"Received: from a\r\n".to_vec()),
            Just(b"Authentication-Results: mx.test; spf=pass\r\n".to_vec()),
            Just(b"\r\n.\r\n".to_vec()),
            (1..200usize).prop_map(|n| vec![b'x'; n]),
            // About a line's limit.
            (TEXT_LINE_BYTES_MAX - 10..TEXT_LINE_BYTES_MAX + 10).prop_map(|n| vec![b'x'; n]),
            proptest::collection::vec(any::<u8>(), 1..8),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    /// What a decoder made of `input` cut at `cuts`: each piece's
    /// progress (up to the first that is not `NeedMore`), the content,
    /// the size, the hops and the failure.
    type Decoded = (Vec<Progress>, Vec<u8>, u64, usize, Option<DataFailure>);

    fn decode_in_pieces(
        mut decoder: DataDecoder,
        input: &[u8],
        cuts: &[usize],
        model: bool,
    ) -> Decoded {
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        bounds.push(0);
        bounds.push(input.len());
        bounds.sort_unstable();
        let (mut progress, mut out) = (Vec::new(), Vec::new());
        for piece in bounds.windows(2).map(|w| &input[w[0]..w[1]]) {
            let said = if model {
                decoder.feed_octet_by_octet(piece, &mut out)
            } else {
                decoder.feed(piece, &mut out)
            };
            progress.push(said);
            if said != Progress::NeedMore {
                break;
            }
        }
        let (size, hops, failure) = (decoder.size(), decoder.hops(), decoder.failure());
        (progress, out, size, hops, failure)
    }

    proptest! {
        #[test]
        fn whole_pieces_decode_as_octet_by_octet(
            input in message_pieces(),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            max_size in prop_oneof![Just(1_000_000u64), 0..600u64],
            max_hops in 0..3usize,
            renaming in any::<bool>(),
        ) {
            let decoder = || {
                let decoder = DataDecoder::new(max_size, max_hops);
                if renaming { decoder.renaming_forged_results("mx.test") } else { decoder }
            };
            prop_assert_eq!(
                decode_in_pieces(decoder(), &input, &cuts, false),
                decode_in_pieces(decoder(), &input, &cuts, true)
            );
        }
    }

    #[test]
    fn the_end_is_found_across_any_split() {
        let input = b"Subject: x\r\n\r\n..a\r\nb\r\n.\r\n";
        for split in 0..input.len() {
            let mut decoder = DataDecoder::new(1_000, 50);
            let mut out = Vec::new();
            assert_eq!(
                decoder.feed(&input[..split], &mut out),
                Progress::NeedMore,
                "split {split}"
            );
            let rest = &input[split..];
            assert_eq!(
                decoder.feed(rest, &mut out),
                Progress::End {
                    consumed: rest.len()
                },
                "split {split}"
            );
            assert_eq!(out, b"Subject: x\r\n\r\n.a\r\nb\r\n");
        }
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted_and_one_more_octet_is_not() {
        let mut fits = vec![b'a'; TEXT_LINE_BYTES_MAX - 2];
        fits.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(decode(&fits).2, None);
        let mut over = vec![b'a'; TEXT_LINE_BYTES_MAX - 1];
        over.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(decode(&over).2, Some(DataFailure::LineTooLong));
    }

    #[test]
    fn over_the_size_limit_stops_emitting_but_finds_the_end() {
        let mut decoder = DataDecoder::new(5, 50);
        let mut out = Vec::new();
        assert_eq!(
            decoder.feed(b"123456789\r\n.\r\n", &mut out),
            Progress::End { consumed: 14 }
        );
        assert_eq!(decoder.failure(), Some(DataFailure::TooBig));
        assert!(out.len() <= 5);
    }

    #[test]
    fn nul_byte_fails_the_message() {
        assert_eq!(decode(b"a\0b\r\n.\r\n").2, Some(DataFailure::NulByte));
    }

    fn hops(input: &[u8]) -> usize {
        let mut decoder = DataDecoder::new(1_000_000, 1_000);
        let mut out = Vec::new();
        decoder.feed(input, &mut out);
        decoder.hops()
    }

    #[test]
    fn received_fields_are_counted_in_the_header_section_only() {
        let rows: &[(&[u8], usize)] = &[
            (b"Received: a\r\nReceived: b\r\n\r\nbody\r\n.\r\n", 2),
            (b"received: a\r\nRECEIVED:b\r\nReceived :c\r\n\r\n.\r\n", 3),
            // Folded continuation lines are part of their field.
            (
                b"Received: a\r\n Received: no\r\n\tReceived: no\r\n\r\n.\r\n",
                1,
            ),
            // After the empty line, a Received: line is body.
            (b"Subject: x\r\n\r\nReceived: body\r\n.\r\n", 0),
            // A line that is no header field ends the header section.
            (
                b"Received: a\r\nnot a header\r\nReceived: b\r\n\r\n.\r\n",
                1,
            ),
            // Other fields, and names that only start like it.
            (
                b"X-Received: a\r\nReceivedX: b\r\nReceive: c\r\n\r\n.\r\n",
                0,
            ),
            // Dot-stuffed: unstuffed first, so the field is still seen.
            (b"..Received: a\r\nReceived: b\r\n\r\n.\r\n", 1),
            (b"Received: a\r\n", 1),
        ];
        for (input, expected) in rows {
            assert_eq!(hops(input), *expected, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn hops_are_counted_across_any_split() {
        let input = b"Received: a\r\nreceived : b\r\n c\r\nSubject: d\r\n\r\nReceived: e\r\n.\r\n";
        for split in 0..input.len() {
            let mut decoder = DataDecoder::new(1_000, 50);
            let mut out = Vec::new();
            decoder.feed(&input[..split], &mut out);
            decoder.feed(&input[split..], &mut out);
            assert_eq!(decoder.hops(), 2, "split {split}");
        }
    }

    #[test]
    fn one_hop_over_the_limit_fails_the_message_and_counting_goes_on() {
        let mut message = b"Received: x\r\n".repeat(4);
        message.extend_from_slice(b"\r\nbody\r\n.\r\n");
        let mut decoder = DataDecoder::new(1_000, 3);
        let mut out = Vec::new();
        assert!(matches!(
            decoder.feed(&message, &mut out),
            Progress::End { .. }
        ));
        assert_eq!(decoder.failure(), Some(DataFailure::TooManyHops));
        assert_eq!(decoder.hops(), 4);
        let mut at_limit = DataDecoder::new(1_000, 4);
        at_limit.feed(&message, &mut out);
        assert_eq!(at_limit.failure(), None);
    }

    #[test]
    fn our_own_authentication_results_arriving_is_renamed_and_counted_in_the_size() {
        let input = b"Authentication-Results: mx.example.test; dkim=pass\r\nSubject: x\r\n\r\nAuthentication-Results: mx.example.test\r\n.\r\n";
        let expected = b"X-Forged-Authentication-Results: mx.example.test; dkim=pass\r\nSubject: x\r\n\r\nAuthentication-Results: mx.example.test\r\n";
        for split in 0..input.len() {
            let mut decoder =
                DataDecoder::new(1_000, 50).renaming_forged_results("mx.example.test");
            let mut out = Vec::new();
            decoder.feed(&input[..split], &mut out);
            decoder.feed(&input[split..], &mut out);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(expected),
                "split {split}"
            );
            assert_eq!(decoder.size(), expected.len() as u64);
        }
    }
}
