//! Tests of the finger machine: the query codec (table tests), whole
//! sessions (transcripts) and properties (proptest).

mod harness;
mod properties;
mod transcripts;

use super::{Query, QueryError, Target, clean_line, clean_plan, parse_query};

#[test]
fn queries_parse_as_rfc_1288_describes() {
    let user = |name: &str, verbose| {
        Ok(Query {
            verbose,
            target: Target::User(name.to_owned()),
        })
    };
    let list = |verbose| {
        Ok(Query {
            verbose,
            target: Target::List,
        })
    };
    let forward = |verbose| {
        Ok(Query {
            verbose,
            target: Target::Forward,
        })
    };
    let table: &[(&[u8], Result<Query, QueryError>)] = &[
        (b"", list(false)),
        (b"   ", list(false)),
        (b"/W", list(true)),
        (b"/w ", list(true)),
        (b"alice", user("alice", false)),
        (b"  alice  ", user("alice", false)),
        (b"/W alice", user("alice", true)),
        (b"/W   alice", user("alice", true)),
        (b"/W\talice", user("alice", true)),
        (b"alice@example.com", forward(false)),
        (b"/W alice@host1@host2", forward(true)),
        (b"@host", forward(false)),
        (b"/Walice", Err(QueryError::Malformed)),
        (b"alice bob", Err(QueryError::Malformed)),
        (b"/X alice", Err(QueryError::Malformed)),
        (b"ali/ce", Err(QueryError::Malformed)),
        (b"al\x1bice", Err(QueryError::BadCharacters)),
        (b"al\rice", Err(QueryError::BadCharacters)),
        (b"\xff\xfe", Err(QueryError::BadCharacters)),
    ];
    for (line, expected) in table {
        assert_eq!(
            &parse_query(line),
            expected,
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn control_characters_are_stripped_from_what_is_sent() {
    assert_eq!(clean_line("a\x1b[2Jb\x07c\u{9b}d\x7f"), "a[2Jbcd");
    assert_eq!(clean_line("tab\there"), "tab here");
    assert_eq!(clean_line("Zoë"), "Zoë");
    assert_eq!(
        clean_plan("line one\r\nline\x1b two\n\n"),
        vec!["line one".to_owned(), "line two".to_owned()]
    );
}

#[test]
fn a_plan_is_bounded() {
    let long = "x".repeat(crate::limits::FINGER_PLAN_BYTES_MAX * 2);
    let lines = clean_plan(&long);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].len() <= crate::limits::FINGER_PLAN_BYTES_MAX);
    assert!(lines[0].ends_with("..."));
}
