//! The codec's tests: table tests of every command (`table`), the RFC
//! 9051 examples (`rfc`), bounds (`bounds`), properties (`props`, with
//! the test-only encoder in `encode`), modified UTF-7 (`mutf7`).

mod bounds;
mod encode;
mod mutf7;
mod props;
mod rfc;
mod table;

use super::{CommandReader, ReadEvent, ReaderLimits};
use crate::imap::command::{Command, CommandBody};

/// Every event the reader gives for `input`, pushed at once.
pub fn events_with(limits: ReaderLimits, input: &[u8]) -> Vec<ReadEvent> {
    let mut reader = CommandReader::new(limits);
    reader.push(input);
    drain(&mut reader)
}

pub fn events(input: &[u8]) -> Vec<ReadEvent> {
    events_with(ReaderLimits::default(), input)
}

pub fn drain(reader: &mut CommandReader) -> Vec<ReadEvent> {
    let mut events = Vec::new();
    while let Some(event) = reader.next_command() {
        events.push(event);
    }
    events
}

/// The one command `input` holds (continuation requests ignored).
pub fn command(input: &str) -> Command {
    let events: Vec<ReadEvent> = events(input.as_bytes())
        .into_iter()
        .filter(|e| *e != ReadEvent::ContinuationNeeded)
        .collect();
    match events.as_slice() {
        [ReadEvent::Command(command)] => command.clone(),
        other => panic!("{input:?} gave {other:?}"),
    }
}

/// The body of the one command in `line` (CRLF added).
pub fn body(line: &str) -> CommandBody {
    command(&format!("{line}\r\n")).body
}

/// `line` is refused with a tagged BAD; returns its text.
pub fn bad(line: &str) -> String {
    let input = format!("{line}\r\n");
    match events(input.as_bytes()).as_slice() {
        [ReadEvent::Bad { tag, text }] => {
            assert_eq!(tag.as_deref(), line.split(' ').next(), "{line:?}");
            text.clone()
        }
        other => panic!("{line:?} gave {other:?}"),
    }
}
