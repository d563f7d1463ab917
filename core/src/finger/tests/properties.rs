//! Properties of the finger machine, checked with proptest.

use super::harness::{Harness, config};
use crate::finger::{Input, SessionConfig};
use crate::limits::{FINGER_QUERY_BYTES_MAX, READ_CHUNK_BYTES};
use proptest::prelude::*;

fn listing() -> SessionConfig {
    SessionConfig {
        list_users: true,
        ..config()
    }
}

proptest! {
    #[test]
    fn any_split_of_the_query_gives_the_same_answer(
        query in prop::sample::select(vec![
            &b"alice\r\n"[..], b"/W alice\r\n", b"\r\n", b"/W\r\n", b"carol\n",
            b"alice@elsewhere\r\n", b"bad query\r\n",
        ]),
        chunk in 1usize..12,
        list in any::<bool>(),
    ) {
        let make = || if list { Harness::with(listing()) } else { Harness::new() };
        let mut whole = make();
        whole.feed(query);
        let mut split = make();
        split.chunk = chunk;
        split.feed(query);
        prop_assert!(whole.closed && split.closed);
        prop_assert_eq!(&split.sent, &whole.sent);
        prop_assert_eq!(&split.requests, &whole.requests);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_only_clean_text_is_sent(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..READ_CHUNK_BYTES), 0..6),
        list in any::<bool>(),
    ) {
        let mut harness = if list { Harness::with(listing()) } else { Harness::new() };
        for chunk in &chunks {
            if harness.closed {
                break;
            }
            harness.feed(chunk);
            prop_assert!(harness.server.buffered_input_len() < FINGER_QUERY_BYTES_MAX);
        }
        if !harness.closed {
            harness.input(Input::EndOfInput);
        }
        prop_assert!(harness.closed);
        let text = String::from_utf8(harness.sent.clone()).expect("UTF-8 out");
        for line in text.split_terminator("\r\n") {
            prop_assert!(!line.chars().any(char::is_control), "{:?}", line);
        }
    }
}
