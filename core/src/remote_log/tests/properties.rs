//! Properties of the remote-log machine and its buffer, checked with
//! proptest.

use super::harness::{ADMIN_PLAIN, Harness, config, record};
use crate::limits::{READ_CHUNK_BYTES, REMOTE_LOG_COMMAND_LINE_BYTES_MAX};
use crate::remote_log::{ClientBuffer, FeedEntry, Level};
use proptest::prelude::*;

fn session() -> Vec<u8> {
    format!(
        "CAPA\r\nFILTER level=info\r\nTAIL 2\r\nNOOP\nAUTH PLAIN {ADMIN_PLAIN}\r\nFILTER text=line\r\nSTOP\r\nTAIL 3\r\nFOLLOW\r\nBOGUS\r\nQUIT\r\n"
    )
    .into_bytes()
}

proptest! {
    #[test]
    fn any_split_of_the_input_gives_the_same_transcript(chunk in 1usize..40) {
        let mut whole = Harness::new();
        whole.feed(&session());
        let mut split = Harness::new();
        split.chunk = chunk;
        split.feed(&session());
        prop_assert!(whole.closed && split.closed);
        prop_assert_eq!(split.text(), whole.text());
        prop_assert_eq!(&split.requests, &whole.requests);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_only_clean_lines_are_sent(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..READ_CHUNK_BYTES), 0..6),
        tls in any::<bool>(),
    ) {
        let mut harness = Harness::with(config(), tls);
        for chunk in &chunks {
            if harness.closed {
                break;
            }
            harness.feed(chunk);
            harness.log(record(9, Level::Info, "mx", None, "x\x1b[2J\ny"));
            harness.deliver();
            prop_assert!(harness.server.buffered_input_len() <= 4 * REMOTE_LOG_COMMAND_LINE_BYTES_MAX + READ_CHUNK_BYTES);
        }
        let text = String::from_utf8(harness.sent.clone()).expect("UTF-8 out");
        for line in text.split_terminator("\r\n") {
            prop_assert!(!line.chars().any(char::is_control), "{:?}", line);
            prop_assert!(
                ["+OK", "-ERR ", "+ ", "* ", "! "].iter().any(|p| line.starts_with(p)),
                "{:?}", line
            );
        }
    }

    #[test]
    fn a_buffer_never_holds_more_than_its_capacity_and_loses_no_count(
        capacity in 1usize..20,
        steps in proptest::collection::vec((any::<bool>(), 0usize..8), 0..200),
    ) {
        let mut buffer = ClientBuffer::new(capacity);
        let (mut pushed, mut seen, mut dropped, mut next) = (0u64, Vec::new(), 0u64, 0u32);
        for (push, take) in steps {
            if push {
                buffer.push(next);
                next += 1;
                pushed += 1;
            } else {
                for entry in buffer.take(take) {
                    match entry {
                        FeedEntry::Line(n) => seen.push(n),
                        FeedEntry::Dropped(n) => dropped += n,
                    }
                }
            }
            prop_assert!(buffer.lines() <= capacity);
            prop_assert!(buffer.len() <= 2 * capacity + 1);
        }
        for entry in buffer.take(usize::MAX) {
            match entry {
                FeedEntry::Line(n) => seen.push(n),
                FeedEntry::Dropped(n) => dropped += n,
            }
        }
        prop_assert_eq!(seen.len() as u64 + dropped, pushed);
        prop_assert!(seen.windows(2).all(|w| w[0] < w[1]), "lines stay in order");
    }
}

proptest! {
    #[test]
    fn any_text_parses_as_a_filter_or_an_error_never_a_panic(text in "\\PC{0,40}") {
        let _ = crate::remote_log::parse_filter(&text);
        let _ = crate::remote_log::parse_command(text.as_bytes());
    }

    #[test]
    fn a_filter_parses_back_from_how_it_is_written(
        level in proptest::option::of(0usize..5),
        instance in proptest::option::of("[a-z0-9-]{1,10}"),
        queue_id in proptest::option::of("[A-Z0-9]{1,12}"),
        text in proptest::option::of("[a-z]([a-z= ]{0,18}[a-z])?"),
    ) {
        let filter = crate::remote_log::Filter {
            level: level.map(|n| Level::ALL[n]),
            instance,
            queue_id,
            text,
        };
        prop_assert_eq!(crate::remote_log::parse_filter(&filter.to_string()), Ok(filter));
    }
}
