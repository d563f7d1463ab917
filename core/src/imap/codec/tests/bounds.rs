//! Every bound: over it the right event, the connection survives, and
//! the next command parses.

use super::{drain, events_with};
use crate::imap::codec::{CommandReader, LineTooLong, ReadEvent, ReaderLimits};
use crate::imap::command::CommandBody;

fn small() -> ReaderLimits {
    ReaderLimits {
        line_bytes_max: 100,
        literal_bytes_max: 50,
        nonsync_literal_bytes_max: 20,
        command_bytes_max: 200,
        items_max: 10,
        depth_max: 4,
    }
}

fn is_noop(event: &ReadEvent, tag: &str) -> bool {
    matches!(event, ReadEvent::Command(c) if c.tag == tag && c.body == CommandBody::Noop)
}

#[test]
fn over_long_line_is_bad_and_the_next_command_parses() {
    let long = format!("a1 LOGIN {} x\r\nb NOOP\r\n", "u".repeat(200));
    for chunk in [long.len(), 1, 7] {
        let mut reader = CommandReader::new(small());
        let mut got = Vec::new();
        for piece in long.as_bytes().chunks(chunk) {
            reader.push(piece);
            got.extend(drain(&mut reader));
            assert!(
                reader.buffered() <= 100 + 1 + chunk,
                "held {}",
                reader.buffered()
            );
        }
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            matches!(&got[0], ReadEvent::Bad { tag: Some(t), text } if t == "a1" && text.contains("too long"))
        );
        assert!(is_noop(&got[1], "b"));
    }
}

#[test]
fn over_long_line_ending_in_a_nonsync_literal_skips_the_literal() {
    let input = format!(
        "a1 LOGIN {} {{10+}}\r\nb NOOP\r\nx\r\nc NOOP\r\n",
        "u".repeat(200)
    );
    let got = events_with(small(), input.as_bytes());
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(matches!(&got[0], ReadEvent::Bad { .. }));
    // "b NOOP\r\nx" was the literal, "\r\n" ends the command.
    assert!(is_noop(&got[1], "c"));
}

#[test]
fn sync_literal_over_the_limit_is_too_big_without_waiting() {
    let got = events_with(small(), b"a APPEND INBOX {51}\r\n");
    assert_eq!(
        got,
        vec![ReadEvent::TooBig {
            tag: Some("a".into()),
            command: Some("APPEND".into()),
            text: "Literal of 51 octets is over the limit of 50".into(),
        }]
    );
    // The client sends no literal after the refusal; the next command
    // parses.
    let got = events_with(small(), b"a APPEND INBOX {51}\r\nb NOOP\r\n");
    assert!(is_noop(&got[1], "b"));
    // At the limit it is fine.
    let input = format!("a APPEND INBOX {{50}}\r\n{}\r\n", "x".repeat(50));
    let got = events_with(small(), input.as_bytes());
    assert_eq!(got[0], ReadEvent::ContinuationNeeded);
    assert!(matches!(&got[1], ReadEvent::Command(_)));
}

#[test]
fn nonsync_literal_over_the_limit_is_too_big_after_its_octets() {
    let mut reader = CommandReader::new(small());
    reader.push(b"a UID FETCH 1 BODY[HEADER.FIELDS ({30+}\r\n");
    reader.push(&[b'x'; 29]);
    assert_eq!(reader.next_command(), None);
    assert_eq!(reader.buffered(), 0, "skipped octets are not held");
    reader.push(b"x)]\r\nb NOOP\r\n");
    let got = drain(&mut reader);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(matches!(
        &got[0],
        ReadEvent::TooBig { tag: Some(t), command: Some(c), text }
            if t == "a" && c == "UID FETCH" && text.contains("LITERAL-")
    ));
    assert!(is_noop(&got[1], "b"));
}

#[test]
fn literal8_counts_against_the_same_bounds() {
    let got = events_with(small(), b"a APPEND x ~{51+}\r\n");
    assert!(matches!(&got[..], []));
    let input = format!("a APPEND x ~{{51+}}\r\n{}\r\nb NOOP\r\n", "y".repeat(51));
    let got = events_with(small(), input.as_bytes());
    assert!(matches!(&got[0], ReadEvent::TooBig { .. }));
    assert!(is_noop(&got[1], "b"));
}

#[test]
fn whole_command_over_the_bound_is_too_big() {
    // Each literal is within bounds; the fifth is over the command's.
    let mut input = b"a APPEND x".to_vec();
    for _ in 0..5 {
        input.extend_from_slice(b" {20+}\r\n");
        input.extend_from_slice(&[b'm'; 20]);
    }
    input.extend_from_slice(b"\r\nb NOOP\r\n");
    let mut limits = small();
    limits.command_bytes_max = 100;
    let got = events_with(limits, &input);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(matches!(
        &got[0],
        ReadEvent::TooBig { command: Some(c), text, .. }
            if c == "APPEND" && text.contains("Command over")
    ));
    assert!(is_noop(&got[1], "b"));
}

#[test]
fn a_bad_command_is_refused_before_its_literal() {
    let got = events_with(small(), b"a FROB {5}\r\n");
    assert!(matches!(&got[..], [ReadEvent::Bad { tag: Some(t), .. }] if t == "a"));
    let got = events_with(small(), b"a SELECT x (BOGUS {5}\r\n");
    assert!(matches!(&got[..], [ReadEvent::Bad { .. }]));
}

#[test]
fn a_literal_in_the_middle_of_a_line_is_bad() {
    let got = events_with(small(), b"a LOGIN {3} x\r\nb NOOP\r\n");
    assert!(matches!(&got[0], ReadEvent::Bad { .. }));
    assert!(is_noop(&got[1], "b"));
}

#[test]
fn too_many_items_is_bad() {
    let ranges: Vec<String> = (1..=11).map(|n| n.to_string()).collect();
    let line = format!("a FETCH {} FLAGS\r\nb NOOP\r\n", ranges.join(","));
    let got = events_with(small(), line.as_bytes());
    assert!(
        matches!(&got[0], ReadEvent::Bad { text, .. } if text.contains("Too many items")),
        "{got:?}"
    );
    assert!(is_noop(&got[1], "b"));
    let line = format!("a FETCH {} FLAGS\r\n", ranges[..9].join(","));
    assert!(matches!(
        &events_with(small(), line.as_bytes())[..],
        [ReadEvent::Command(_)]
    ));
}

#[test]
fn nesting_over_the_bound_is_bad_and_never_overflows_the_stack() {
    let ok = "a SEARCH ((((SEEN))))\r\n";
    assert!(matches!(
        &events_with(small(), ok.as_bytes())[..],
        [ReadEvent::Command(_)]
    ));
    let deep = "a SEARCH (((((SEEN)))))\r\n";
    assert!(matches!(
        &events_with(small(), deep.as_bytes())[..],
        [ReadEvent::Bad { text, .. }] if text.contains("Nested too deeply")
    ));
    // NOT and OR count as levels: 15,000 of them is a BAD, not a crash.
    let nots = format!("a SEARCH {}SEEN\r\n", "NOT ".repeat(15_000));
    let got = super::events(nots.as_bytes());
    assert!(
        matches!(&got[..], [ReadEvent::Bad { text, .. }] if text.contains("Nested too deeply")),
        "{got:?}"
    );
}

#[test]
fn next_line_reads_raw_lines_and_bounds_them() {
    let mut reader = CommandReader::new(small());
    reader.push(b"dGVzdA==\r\nDONE\n");
    assert_eq!(reader.next_line(), Some(Ok(b"dGVzdA==".to_vec())));
    assert_eq!(reader.next_line(), Some(Ok(b"DONE".to_vec())));
    assert_eq!(reader.next_line(), None);
    reader.push(&[b'z'; 150]);
    assert_eq!(reader.next_line(), Some(Err(LineTooLong)));
    reader.push(&[b'z'; 150]);
    assert_eq!(reader.next_line(), None);
    assert_eq!(reader.buffered(), 0);
    reader.push(b"zz\r\n*\r\nb NOOP\r\n");
    assert_eq!(reader.next_line(), Some(Ok(b"*".to_vec())));
    assert!(is_noop(&reader.next_command().expect("a command"), "b"));
}

#[test]
fn discard_buffered_drops_what_was_pipelined() {
    let mut reader = CommandReader::new(small());
    reader.push(b"a STARTTLS\r\nb LOGIN x y\r\n");
    assert!(matches!(
        reader.next_command(),
        Some(ReadEvent::Command(c)) if c.body == CommandBody::StartTls
    ));
    reader.discard_buffered();
    assert_eq!(reader.buffered(), 0);
    assert_eq!(reader.next_command(), None);
}

#[test]
fn set_limits_applies_to_the_next_literal() {
    let mut reader = CommandReader::new(small());
    let mut limits = small();
    limits.literal_bytes_max = 1000;
    limits.command_bytes_max = 2000;
    reader.set_limits(limits);
    reader.push(b"a APPEND x {500}\r\n");
    assert_eq!(reader.next_command(), Some(ReadEvent::ContinuationNeeded));
}

#[test]
fn next_line_waits_while_a_command_is_being_read() {
    let mut reader = CommandReader::new(small());
    reader.push(b"a LOGIN {3}\r\n");
    assert_eq!(reader.next_command(), Some(ReadEvent::ContinuationNeeded));
    reader.push(b"abc x\r\n");
    assert_eq!(reader.next_line(), None);
    assert!(matches!(reader.next_command(), Some(ReadEvent::Command(_))));
    reader.push(b"b NOOP");
    assert_eq!(reader.next_command(), None);
    assert_eq!(reader.next_line(), None);
}
