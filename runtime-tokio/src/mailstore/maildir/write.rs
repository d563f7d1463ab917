//! Writing a new message file into `tmp/`: CRLF made LF (Maildir files
//! use the local line end), synced, with its size and its size as clients
//! see it (CRLF) counted on the way.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

const CHUNK_BYTES: usize = 64 * 1024;

/// Counts across the process, so that several stores (or a store and the
/// delivery) never make the same name in the same microsecond.
static DELIVERIES: AtomicU64 = AtomicU64::new(0);

/// `SECONDS.M<micros>P<pid>Q<n>.HOST`, unique on this host as maildir(5)
/// asks; `host` is already safe for a file name.
pub(crate) fn unique_name(host: &str) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let n = DELIVERIES.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}.M{}P{}Q{n}.{host}",
        now.as_secs(),
        now.subsec_micros(),
        process_id()
    )
}

/// This process's ID, asked of the kernel once: `getpid` is a system
/// call each time, and every delivery names a file with it.
fn process_id() -> u32 {
    static PROCESS_ID: OnceLock<u32> = OnceLock::new();
    *PROCESS_ID.get_or_init(std::process::id)
}

/// maildir(5): '/' and ':' cannot appear in the host part; ',' would
/// start a field in Dovecot's names.
pub(crate) fn safe_host(hostname: &str) -> String {
    hostname
        .replace('/', "\\057")
        .replace(':', "\\072")
        .replace(',', "\\054")
}

/// CRLF to LF across chunk boundaries; a CR not followed by LF is kept.
/// Counts the octets written and the octets with CRLF line ends.
#[derive(Default)]
pub(crate) struct LineEndings {
    pending_cr: bool,
    last_out: Option<u8>,
    pub size: u64,
    pub vsize: u64,
}

impl LineEndings {
    pub(crate) fn convert(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while let Some(&first) = input.first() {
            if std::mem::take(&mut self.pending_cr) && first != b'\n' {
                self.push(b'\r', out);
            }
            if first == b'\r' {
                self.pending_cr = true;
                input = &input[1..];
                continue;
            }
            // Up to the next CR, every octet goes out as it is.
            let run = memchr::memchr(b'\r', input).unwrap_or(input.len());
            self.push_run(&input[..run], out);
            input = &input[run..];
        }
    }

    /// [`LineEndings::push`] of each of `bytes`, which hold no CR.
    fn push_run(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let Some(&last) = bytes.last() else {
            return;
        };
        // Each LF gains a CR in the CRLF size, but one right after a CR.
        let lfs = memchr::memchr_iter(b'\n', bytes).count();
        let after_cr = bytes[0] == b'\n' && self.last_out == Some(b'\r');
        out.extend_from_slice(bytes);
        self.size += bytes.len() as u64;
        self.vsize += (bytes.len() + lfs - usize::from(after_cr)) as u64;
        self.last_out = Some(last);
    }

    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            self.push(b'\r', out);
        }
    }

    fn push(&mut self, byte: u8, out: &mut Vec<u8>) {
        if byte == b'\n' && self.last_out != Some(b'\r') {
            self.vsize += 1;
        }
        out.push(byte);
        self.size += 1;
        self.vsize += 1;
        self.last_out = Some(byte);
    }
}

fn create(path: &Path) -> io::Result<fs::File> {
    // Mail is private to its owner, whatever the umask.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Writes `headers` then `data` to a new file at `path`, synced; returns
/// (size, CRLF size). The file is removed on failure.
///
/// A message of up to [`CHUNK_BYTES`] is one `write`. The buffers are
/// sized by what arrives, not zeroed: a delivery of a few KiB touches a
/// few KiB, which matters at thousands of deliveries a second.
pub(crate) fn write_blocking(
    path: &Path,
    headers: &[u8],
    data: &mut impl Read,
) -> io::Result<(u64, u64)> {
    let result = (|| {
        let mut file = create(path)?;
        let mut converter = LineEndings::default();
        let mut converted = Vec::new();
        converter.convert(headers, &mut converted);
        let mut chunk = Vec::with_capacity(CHUNK_BYTES);
        loop {
            chunk.clear();
            // `read_to_end` of at most a chunk reads into the vector's
            // spare capacity without zeroing it first; short of a whole
            // chunk means the source is done.
            let n = Read::take(&mut *data, CHUNK_BYTES as u64).read_to_end(&mut chunk)?;
            converter.convert(&chunk, &mut converted);
            if converted.len() >= CHUNK_BYTES {
                file.write_all(&converted)?;
                converted.clear();
            }
            if n < CHUNK_BYTES {
                break;
            }
        }
        converter.finish(&mut converted);
        file.write_all(&converted)?;
        file.sync_all()?;
        Ok((converter.size, converter.vsize))
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result
}

/// [`write_blocking`] for an async source, in bounded chunks.
pub(crate) async fn write_async<R: AsyncRead + Unpin>(
    path: &Path,
    mut data: R,
) -> io::Result<(u64, u64)> {
    let result = async {
        let std_file = {
            let path = path.to_owned();
            crate::spool::blocking(move || create(&path)).await?
        };
        let mut file = tokio::fs::File::from_std(std_file);
        let mut converter = LineEndings::default();
        let mut converted = Vec::with_capacity(CHUNK_BYTES);
        let mut buffer = vec![0u8; CHUNK_BYTES];
        loop {
            let n = data.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            converted.clear();
            converter.convert(&buffer[..n], &mut converted);
            file.write_all(&converted).await?;
        }
        converted.clear();
        converter.finish(&mut converted);
        file.write_all(&converted).await?;
        file.sync_all().await?;
        Ok((converter.size, converter.vsize))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    result
}

#[cfg(test)]
impl super::MaildirStore {
    /// Makes the `fsync`s of `mailbox`'s INBOX `new/` after first tries
    /// go through `sync`, for tests of a disk whose sync fails. Only
    /// before the first delivery into that mailbox.
    pub(crate) fn sync_new_with(
        &self,
        mailbox: &postern_core::envelope::LocalMailbox,
        sync: fn(&Path) -> io::Result<()>,
    ) {
        let inbox = super::inbox();
        let new_dir = self
            .folder_dir(mailbox, &inbox)
            .expect("the INBOX has a directory")
            .join("new");
        let set = self
            .handle(mailbox, &inbox)
            .new_sync
            .set(crate::spool::DirSync::with(new_dir, sync));
        assert!(set.is_ok(), "the sync of new/ is already in use");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert_in_pieces(input: &[u8], piece: usize) -> (Vec<u8>, u64, u64) {
        let mut converter = LineEndings::default();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            converter.convert(chunk, &mut out);
        }
        converter.finish(&mut out);
        (out, converter.size, converter.vsize)
    }

    #[test]
    fn crlf_becomes_lf_and_both_sizes_are_counted_whatever_the_chunking() {
        let input = b"a\r\nb\r\n\r\nc\rd\r";
        for piece in 1..input.len() {
            let (out, size, vsize) = convert_in_pieces(input, piece);
            assert_eq!(out, b"a\nb\n\nc\rd\r", "piece {piece}");
            assert_eq!(size, out.len() as u64);
            // Back to CRLF: every LF gains its CR again.
            assert_eq!(vsize, input.len() as u64, "piece {piece}");
        }
    }

    /// [`LineEndings::convert`] one octet at a time, as it was written
    /// first: the model its runs are checked against.
    fn convert_octet_by_octet(input: &[u8]) -> (Vec<u8>, u64, u64) {
        let mut converter = LineEndings::default();
        let mut out = Vec::new();
        for &byte in input {
            if std::mem::take(&mut converter.pending_cr) && byte != b'\n' {
                converter.push(b'\r', &mut out);
            }
            if byte == b'\r' {
                converter.pending_cr = true;
            } else {
                converter.push(byte, &mut out);
            }
        }
        converter.finish(&mut out);
        (out, converter.size, converter.vsize)
    }

    proptest::proptest! {
        #[test]
        fn runs_convert_as_octet_by_octet(
            input in proptest::collection::vec(
                proptest::sample::select(b"\r\nab".to_vec()), 0..200),
            piece in 1..50usize,
        ) {
            proptest::prop_assert_eq!(
                convert_in_pieces(&input, piece),
                convert_octet_by_octet(&input)
            );
        }
    }

    #[test]
    fn the_crlf_size_matches_what_a_reader_yields() {
        // "\r\r\n" leaves "\r\n" in the file: a reader adds no CR there.
        let (out, size, vsize) = convert_in_pieces(b"x\r\r\ny\n", 3);
        assert_eq!(out, b"x\r\ny\n");
        assert_eq!((size, vsize), (5, 6));
    }

    /// Yields at most `piece` octets a read, as a pipe or socket might.
    struct Trickle<'a> {
        rest: &'a [u8],
        piece: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let n = self.rest.len().min(self.piece).min(buffer.len());
            buffer[..n].copy_from_slice(&self.rest[..n]);
            self.rest = &self.rest[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_message_of_several_chunks_is_written_whole_whatever_the_reads() {
        let dir = tempfile::tempdir().unwrap();
        // A CR right at the end of the first chunk, its LF in the second;
        // and messages of exactly one and two chunks, whose last read
        // finds nothing.
        let mut across = vec![b'a'; CHUNK_BYTES - 1];
        across.extend_from_slice(b"\r\nb\r\n");
        across.extend(std::iter::repeat_n(b'c', 3 * CHUNK_BYTES));
        let cases = [
            across,
            vec![b'x'; CHUNK_BYTES],
            vec![b'y'; 2 * CHUNK_BYTES],
            Vec::new(),
        ];
        for (n, data) in cases.iter().enumerate() {
            for piece in [1000, CHUNK_BYTES, usize::MAX] {
                let path = dir.path().join(format!("{n}-{piece}"));
                let mut reader = Trickle { rest: data, piece };
                let (size, vsize) = write_blocking(&path, b"H: 1\r\n", &mut reader).unwrap();
                let mut whole = b"H: 1\r\n".to_vec();
                whole.extend_from_slice(data);
                let (expected, expected_size, expected_vsize) = convert_in_pieces(&whole, 7);
                let written = fs::read(&path).unwrap();
                assert!(
                    written == expected,
                    "case {n}, reads of {piece}: the file differs"
                );
                assert_eq!((size, vsize), (expected_size, expected_vsize), "case {n}");
            }
        }
    }
}
