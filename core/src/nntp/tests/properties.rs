//! Properties of the NNTP machine, checked with proptest.

use super::harness::Harness;
use crate::limits::{INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES};
use crate::nntp::Input;
use proptest::prelude::*;

/// A pipelined session that touches every command family, a post with
/// dot-stuffing among them.
const SESSION: &[u8] = b"CAPABILITIES\r\nMODE READER\r\nLIST\r\nLIST NEWSGROUPS local.*\r\n\
GROUP local.general\r\nSTAT\r\nNEXT\r\nLAST\r\nARTICLE 1\r\nHEAD 3\r\nBODY <1@example.test>\r\n\
OVER 1-\r\nHDR Subject 1-\r\nXHDR X-None 1-\r\nNEWGROUPS 20261001 000000\r\n\
NEWNEWS * 20261101 000000 GMT\r\nFROB\r\nAUTHINFO USER alice@example.test\r\n\
AUTHINFO PASS correct horse\r\nLIST ACTIVE private.*\r\nPOST\r\nFrom: a@b\r\nSubject: s\r\n\
Newsgroups: local.general\r\n\r\n..dot\r\nbody\r\n.\r\nLISTGROUP\r\nDATE\r\nHELP\r\nQUIT\r\n";

fn run_split(input: &[u8], cuts: &[usize], chunk: usize) -> Harness {
    let mut harness = Harness::new();
    harness.chunk = chunk;
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
        let whole = run_split(SESSION, &[], 16);
        let split = run_split(SESSION, &cuts, chunk);
        prop_assert_eq!(&split.server_bytes, &whole.server_bytes);
        prop_assert_eq!(&split.posts, &whole.posts);
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
    }

    #[test]
    fn arbitrary_command_lines_never_panic(
        lines in proptest::collection::vec("(GROUP|LISTGROUP|STAT|ARTICLE|HEAD|BODY|NEXT|LAST|OVER|HDR|LIST|NEWNEWS|NEWGROUPS|POST|AUTHINFO|MODE|STARTTLS|\\.)( [0-9a-z.*<>@:-]{0,16}){0,3}", 0..40),
    ) {
        let mut harness = Harness::new();
        for line in &lines {
            if harness.closed {
                break;
            }
            harness.send_line(line);
        }
        harness.hang_up();
        prop_assert!(harness.closed);
    }
}

#[test]
fn a_byte_at_a_time_gives_the_same_session() {
    let whole = run_split(SESSION, &[], 16);
    let cuts: Vec<usize> = (1..SESSION.len()).collect();
    let split = run_split(SESSION, &cuts, 1);
    assert_eq!(split.server_bytes, whole.server_bytes);
    assert_eq!(whole.posts.len(), 1);
    assert!(String::from_utf8_lossy(&whole.posts[0].0).ends_with("\r\n\r\n.dot\r\nbody\r\n"));
    // Every command was answered; none refused but FROB.
    let text = String::from_utf8_lossy(&whole.server_bytes);
    assert_eq!(text.matches("\r\n500 ").count(), 1);
    assert!(text.ends_with("205 Connection closing\r\n"));
}
