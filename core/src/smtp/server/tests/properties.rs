//! Properties of the server machine, checked with proptest.

use super::harness::{Harness, Stored};
use crate::limits::{INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES};
use proptest::prelude::*;

/// A session that exercises every state: pipelining, a refused recipient,
/// dot-stuffing, two messages, an error and QUIT.
const SESSION: &[u8] =
    b"EHLO client.test\r\nMAIL FROM:<a@remote.test> SIZE=100\r\nRCPT TO:<alice@example.test>\r\n\
RCPT TO:<nobody@example.test>\r\nDATA\r\nSubject: one\r\n\r\n..dot\r\nline\r\n.\r\nFROB\r\n\
MAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\ntwo\r\n.\r\nQUIT\r\n";

/// What the server did, independent of how the input was split.
fn outcome(harness: &Harness) -> (Vec<u8>, Vec<Stored>, bool) {
    (
        harness.server_bytes.clone(),
        harness.stored.clone(),
        harness.closed,
    )
}

fn run_split(input: &[u8], cuts: &[usize]) -> Harness {
    let mut harness = Harness::new();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, input.len());
        harness.feed(&input[start..cut]);
        start = cut;
    }
    harness.feed(&input[start..]);
    harness
}

proptest! {
    #[test]
    fn any_split_of_the_input_gives_the_same_session(mut cuts in proptest::collection::vec(0..SESSION.len(), 0..40)) {
        cuts.sort_unstable();
        let whole = run_split(SESSION, &[]);
        prop_assert_eq!(whole.stored.len(), 2);
        let split = run_split(SESSION, &cuts);
        prop_assert_eq!(outcome(&split), outcome(&whole));
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overflow_the_buffer(
        prelude in prop::bool::ANY,
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..READ_CHUNK_BYTES), 0..8),
    ) {
        let mut harness = Harness::new();
        if prelude {
            harness.feed(b"EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
        }
        for chunk in &chunks {
            harness.feed(chunk);
            prop_assert!(harness.server.buffered_input_len() <= INPUT_BUFFER_BYTES_MAX);
        }
        for stored in &harness.stored {
            // The limit is on content; the Received header comes on top.
            prop_assert!(stored.data.len() <= 10_000 + 512);
        }
    }

    #[test]
    fn arbitrary_text_lines_never_panic(lines in proptest::collection::vec("[ -~]{0,80}", 0..60)) {
        let mut harness = Harness::new();
        for line in &lines {
            harness.feed(format!("{line}\r\n").as_bytes());
        }
        prop_assert!(harness.server.buffered_input_len() <= INPUT_BUFFER_BYTES_MAX);
    }
}

#[test]
fn a_byte_at_a_time_gives_the_same_session() {
    let cuts: Vec<usize> = (1..SESSION.len()).collect();
    assert_eq!(
        outcome(&run_split(SESSION, &cuts)),
        outcome(&run_split(SESSION, &[]))
    );
}
