//! Properties of the POP3 machine, checked with proptest.

use super::harness::Harness;
use crate::limits::{INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES};
use crate::pop3::Input;
use proptest::prelude::*;

/// A pipelined session that touches every command.
const SESSION: &[u8] = b"CAPA\r\nUSER alice@example.test\r\nPASS correct horse\r\nSTAT\r\nLIST\r\n\
UIDL\r\nLIST 2\r\nTOP 1 1\r\nRETR 1\r\nDELE 1\r\nRETR 1\r\nLIST 9\r\nFROB\r\nRSET\r\nDELE 2\r\n\
RETR 3\r\nNOOP\r\nQUIT\r\n";

fn run_split(input: &[u8], cuts: &[usize]) -> Harness {
    let mut harness = Harness::new();
    let mut start = 0;
    for &cut in cuts {
        harness.feed(&input[start..cut]);
        start = cut;
    }
    harness.feed(&input[start..]);
    harness
}

proptest! {
    #[test]
    fn any_split_of_the_input_gives_the_same_session(
        mut cuts in proptest::collection::vec(0..SESSION.len(), 0..40),
        chunk in 1usize..64,
    ) {
        cuts.sort_unstable();
        let whole = run_split(SESSION, &[]);
        let mut split = Harness::new();
        split.chunk = chunk;
        let mut start = 0;
        for &cut in &cuts {
            split.feed(&SESSION[start..cut]);
            start = cut;
        }
        split.feed(&SESSION[start..]);
        prop_assert_eq!(&split.server_bytes, &whole.server_bytes);
        prop_assert_eq!(&split.updates, &whole.updates);
        prop_assert!(split.closed && whole.closed);
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overflow_the_buffer(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..READ_CHUNK_BYTES), 0..8),
    ) {
        let mut harness = Harness::new();
        for chunk in &chunks {
            if harness.closed {
                break;
            }
            harness.feed(chunk);
            prop_assert!(harness.server.buffered_input_len() <= INPUT_BUFFER_BYTES_MAX);
        }
        if !harness.closed {
            harness.server.handle_input(crate::time::Instant::from_nanos(1_000_000_000), Input::EndOfInput);
            harness.drain();
        }
        prop_assert!(harness.closed);
        prop_assert!(harness.updates.is_empty(), "an update without QUIT");
    }

    #[test]
    fn arbitrary_command_lines_never_panic_and_never_update_without_quit(
        lines in proptest::collection::vec("(USER|PASS|STAT|LIST|RETR|DELE|TOP|UIDL|RSET|NOOP|AUTH|CAPA|STLS)( [0-9a-z ]{0,12})?", 0..40),
    ) {
        let mut harness = Harness::new();
        harness.login();
        for line in &lines {
            if harness.closed {
                break;
            }
            harness.send_line(line);
        }
        harness.hang_up();
        prop_assert!(harness.closed);
        prop_assert!(harness.updates.is_empty(), "a dropped session updated the maildrop");
    }
}

#[test]
fn a_byte_at_a_time_gives_the_same_session() {
    let whole = run_split(SESSION, &[]);
    let cuts: Vec<usize> = (1..SESSION.len()).collect();
    let split = run_split(SESSION, &cuts);
    assert_eq!(split.server_bytes, whole.server_bytes);
    assert_eq!(whole.updates, vec![(vec![7], vec![3, 9])]);
}
