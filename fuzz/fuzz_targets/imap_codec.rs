//! The IMAP command reader (`postern_core::imap::codec`) on arbitrary
//! client bytes, in arbitrary pieces, with raw lines (AUTHENTICATE, IDLE)
//! read between commands as the fuzzer chooses.
//!
//! Input layout:
//!
//! ```text
//! byte 0      flags: 1 small bounds (else the defaults), 2 LITERAL-,
//!             4 read a raw line after every command
//! byte 1      K, the length of the control bytes
//! K bytes     control: the length of each piece (when they run out: the
//!             rest at once)
//! the rest    what the client sends
//! ```
//!
//! Asserted, besides "never panics": after the reader is drained it holds
//! at most one command's bounds (text and literals); a refusal's text has
//! no control character and its tag is a tag; without raw lines, the
//! events are the same whatever the pieces (the whole input at once, one
//! byte at a time); a mailbox name that decodes from modified UTF-7
//! encodes back to itself, and any decoded name round-trips.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::imap::codec::{CommandReader, ReadEvent, ReaderLimits, mutf7};
use postern_core::imap::command::CommandBody;
use postern_core::limits::IMAP_LITERAL_MINUS_BYTES_MAX;

fuzz_target!(|data: &[u8]| {
    let [flags, control_len, rest @ ..] = data else {
        return;
    };
    let control_len = usize::from(*control_len).min(rest.len());
    let (control, input) = rest.split_at(control_len);
    let mut limits = if flags & 1 != 0 {
        ReaderLimits {
            line_bytes_max: 200,
            literal_bytes_max: 300,
            nonsync_literal_bytes_max: 300,
            command_bytes_max: 600,
            items_max: 20,
            depth_max: 5,
        }
    } else {
        ReaderLimits::default()
    };
    if flags & 2 != 0 {
        limits.nonsync_literal_bytes_max =
            IMAP_LITERAL_MINUS_BYTES_MAX.min(limits.literal_bytes_max);
    }
    let raw_lines = flags & 4 != 0;
    let bound = limits.line_bytes_max + 1 + limits.command_bytes_max as usize;

    let mut reader = CommandReader::new(limits);
    let mut pieces = Vec::new();
    let mut start = 0;
    for &length in control {
        let end = (start + usize::from(length)).min(input.len());
        pieces.push(&input[start..end]);
        start = end;
    }
    pieces.push(&input[start..]);

    let mut in_pieces = Vec::new();
    for piece in pieces {
        reader.push(piece);
        loop {
            let Some(event) = reader.next_command() else {
                break;
            };
            check(&event);
            in_pieces.push(event);
            if raw_lines {
                if let Some(Ok(line)) = reader.next_line() {
                    assert!(line.len() <= limits.line_bytes_max);
                    assert!(!line.contains(&b'\n'));
                }
            }
        }
        assert!(
            reader.buffered() <= bound,
            "held {} octets",
            reader.buffered()
        );
    }
    if raw_lines {
        return;
    }

    let mut at_once = CommandReader::new(limits);
    at_once.push(input);
    let whole: Vec<ReadEvent> = std::iter::from_fn(|| at_once.next_command()).collect();
    assert_eq!(whole, in_pieces, "events depend on how the input was split");
    if input.len() <= 4096 {
        let mut bytewise = CommandReader::new(limits);
        let mut one_by_one = Vec::new();
        for byte in input {
            bytewise.push(std::slice::from_ref(byte));
            one_by_one.extend(std::iter::from_fn(|| bytewise.next_command()));
        }
        assert_eq!(whole, one_by_one, "events differ one byte at a time");
    }
});

fn check(event: &ReadEvent) {
    match event {
        ReadEvent::Bad { tag, text } | ReadEvent::TooBig { tag, text, .. } => {
            assert!(
                !text.chars().any(char::is_control),
                "a control character in {text:?}"
            );
            if let Some(tag) = tag {
                assert!(!tag.is_empty() && !tag.contains([' ', '+', '\r', '\n', '(', '{']));
            }
        }
        ReadEvent::Command(command) => {
            assert!(!command.tag.is_empty() && !command.tag.contains([' ', '+']));
            if let Some(name) = mailbox(&command.body) {
                if let Ok(decoded) = mutf7::decode(name) {
                    assert_eq!(
                        mutf7::encode(&decoded),
                        name,
                        "two spellings of {decoded:?}"
                    );
                }
                let wire = mutf7::encode(name);
                assert_eq!(mutf7::decode(&wire).as_deref(), Ok(name));
            }
        }
        ReadEvent::ContinuationNeeded => {}
    }
}

fn mailbox(body: &CommandBody) -> Option<&str> {
    match body {
        CommandBody::Select { mailbox, .. }
        | CommandBody::Examine { mailbox, .. }
        | CommandBody::Create { mailbox, .. }
        | CommandBody::Status { mailbox, .. }
        | CommandBody::Append { mailbox, .. }
        | CommandBody::Copy { mailbox, .. }
        | CommandBody::Move { mailbox, .. }
        | CommandBody::Delete(mailbox)
        | CommandBody::Subscribe(mailbox)
        | CommandBody::Unsubscribe(mailbox) => Some(mailbox),
        CommandBody::Rename { from, .. } => Some(from),
        _ => None,
    }
}
