//! A message as clients see it: the Maildir file (LF line ends) read with
//! CRLF line ends, in bounded chunks. A store that keeps messages in
//! memory (the simulation's) hands its bytes in instead of a file.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, ReadBuf};

/// The file read in chunks of this many octets.
const CHUNK_BYTES: usize = 16 * 1024;

/// Reads a message with CRLF line ends: a LF not preceded by CR becomes
/// CRLF, everything else passes as it is (Dovecot's virtual size counts
/// the same way, so this yields `size` octets).
pub struct MessageReader {
    source: Source,
    size: u64,
    raw: Box<[u8]>,
    out: Vec<u8>,
    out_at: usize,
    last: Option<u8>,
    done: bool,
}

/// Where the octets come from.
enum Source {
    File(tokio::fs::File),
    Memory(io::Cursor<Vec<u8>>),
    /// Another store's reader (the postgres store's chunks).
    Stream(Pin<Box<dyn AsyncRead + Send>>),
}

impl MessageReader {
    pub(crate) fn new(file: tokio::fs::File, size: u64) -> Self {
        MessageReader::with_source(Source::File(file), size)
    }

    /// A message kept in memory (LF or CRLF line ends); `size` is its
    /// length with CRLF line ends, as the store recorded it.
    pub fn from_bytes(bytes: Vec<u8>, size: u64) -> Self {
        MessageReader::with_source(Source::Memory(io::Cursor::new(bytes)), size)
    }

    /// A message another store streams (LF or CRLF line ends); `size`
    /// is its length with CRLF line ends, as the store recorded it.
    pub fn from_reader(reader: impl AsyncRead + Send + 'static, size: u64) -> Self {
        MessageReader::with_source(Source::Stream(Box::pin(reader)), size)
    }

    fn with_source(source: Source, size: u64) -> Self {
        MessageReader {
            source,
            size,
            raw: vec![0; CHUNK_BYTES].into_boxed_slice(),
            out: Vec::with_capacity(2 * CHUNK_BYTES),
            out_at: 0,
            last: None,
            done: false,
        }
    }

    /// The octets this reader yields, as the mailbox recorded them.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// Appends `input` to `out` with every bare LF made CRLF; `last` is the
/// octet before `input`.
pub(crate) fn to_crlf(input: &[u8], last: &mut Option<u8>, out: &mut Vec<u8>) {
    for &byte in input {
        if byte == b'\n' && *last != Some(b'\r') {
            out.push(b'\r');
        }
        out.push(byte);
        *last = Some(byte);
    }
}

impl AsyncRead for MessageReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.out_at < this.out.len() {
                let n = (this.out.len() - this.out_at).min(buf.remaining());
                buf.put_slice(&this.out[this.out_at..this.out_at + n]);
                this.out_at += n;
                return Poll::Ready(Ok(()));
            }
            if this.done {
                return Poll::Ready(Ok(()));
            }
            let mut raw = ReadBuf::new(&mut this.raw);
            match &mut this.source {
                Source::File(file) => ready!(Pin::new(file).poll_read(cx, &mut raw))?,
                Source::Memory(bytes) => ready!(Pin::new(bytes).poll_read(cx, &mut raw))?,
                Source::Stream(reader) => ready!(reader.as_mut().poll_read(cx, &mut raw))?,
            }
            let filled = raw.filled().len();
            this.out.clear();
            this.out_at = 0;
            if filled == 0 {
                this.done = true;
                continue;
            }
            to_crlf(&this.raw[..filled], &mut this.last, &mut this.out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf_becomes_crlf_across_chunks() {
        let input = b"a\nb\r\nc\rd\n\n";
        for piece in 1..input.len() {
            let mut last = None;
            let mut out = Vec::new();
            for chunk in input.chunks(piece) {
                to_crlf(chunk, &mut last, &mut out);
            }
            assert_eq!(out, b"a\r\nb\r\nc\rd\r\n\r\n", "piece {piece}");
        }
    }

    #[tokio::test]
    async fn bytes_in_memory_are_read_with_crlf_line_ends() {
        use tokio::io::AsyncReadExt;
        let mut reader = MessageReader::from_bytes(b"a\nb\r\n".to_vec(), 6);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        assert_eq!((out.as_slice(), reader.size()), (&b"a\r\nb\r\n"[..], 6));
    }
}
