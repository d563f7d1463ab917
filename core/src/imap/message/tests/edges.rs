//! Dovecot's answers at the edges: odd headers for ENVELOPE, every
//! section of every fixture.

use super::*;

/// Dovecot's answers for an ENVELOPE of each header (doveadm `imap.envelope`,
/// as for fixtures.rs), literals written as quoted strings on both sides.
#[test]
fn envelope_edge_cases_match_dovecot() {
    let rows: &[(&str, &str)] = &[
        // A repeated From: adds to the list (Dovecot on a generated
        // message with `From: a@b` twice).
        (
            "From: a@b\r\nFrom: a@b\r\nSubject: s\r\n\r\n",
            "(NIL \"s\" ((NIL NIL \"a\" \"b\")(NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")(NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")(NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)",
        ),
        (
            "Subject:\r\nFrom: \r\nTo: a@b\r\n\r\nbody\r\n",
            "(NIL \"\" NIL NIL NIL ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL)",
        ),
        (
            "Subject:    \r\nSubject: second\r\nDate:  Tue, 3 Nov 2026 09:15:00 +0100  \r\n\r\nbody\r\n",
            "(\"Tue, 3 Nov 2026 09:15:00 +0100  \" \"second\" NIL NIL NIL NIL NIL NIL NIL NIL)",
        ),
        (
            "Message-ID:  <x@y> (comment)\r\nIn-Reply-To: <a@b> <c@d>\r\n\r\nbody\r\n",
            "(NIL NIL NIL NIL NIL NIL NIL NIL \"<a@b> <c@d>\" \"<x@y> (comment)\")",
        ),
        (
            "From: \"Joe \\\"Q\\\" Public\" <joe@x.example> (Comment), \"local part\"@x.example\r\n\r\nbody\r\n",
            "(NIL NIL (({14}\r\nJoe \"Q\" Public NIL \"joe\" \"x.example\")(NIL NIL \"local part\" \"x.example\")) (({14}\r\nJoe \"Q\" Public NIL \"joe\" \"x.example\")(NIL NIL \"local part\" \"x.example\")) (({14}\r\nJoe \"Q\" Public NIL \"joe\" \"x.example\")(NIL NIL \"local part\" \"x.example\")) NIL NIL NIL NIL NIL)",
        ),
        (
            "To: Friends: \"Ann\" <ann@x>, bob@y (Bob);, Empty:;\r\n\r\nbody\r\n",
            "(NIL NIL NIL NIL NIL ((NIL NIL \"Friends\" NIL)(\"Ann\" NIL \"ann\" \"x\")(\"Bob\" NIL \"bob\" \"y\")(NIL NIL NIL NIL)(NIL NIL \"Empty\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)",
        ),
        (
            "From: Jörg Müller <joerg@x.example>\r\n\r\nbody\r\n",
            "(NIL NIL (({13}\r\nJörg Müller NIL \"joerg\" \"x.example\")) (({13}\r\nJörg Müller NIL \"joerg\" \"x.example\")) (({13}\r\nJörg Müller NIL \"joerg\" \"x.example\")) NIL NIL NIL NIL NIL)",
        ),
        (
            "To: <>\r\nCc: @x\r\nBcc: a@\r\n\r\nbody\r\n",
            "(NIL NIL NIL NIL NIL ((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) ((NIL NIL \"MISSING_MAILBOX\" \"x\")) ((NIL NIL \"a\" \"MISSING_DOMAIN\")) NIL NIL)",
        ),
        (
            "Subject: tabs\r\n\tand more\r\nFrom:\r\n Folded Name\r\n <f@x>\r\n\r\nbody\r\n",
            "(NIL {13}\r\ntabs and more ((\"Folded Name\" NIL \"f\" \"x\")) ((\"Folded Name\" NIL \"f\" \"x\")) ((\"Folded Name\" NIL \"f\" \"x\")) NIL NIL NIL NIL NIL)",
        ),
        // Dovecot shows the empty member as a missing address; RFC 5322
        // 4.4 (obs-addr-list) says to ignore it, and so does Postern.
        (
            "From: a@b, , c@d\r\nReply-To: \r\nSender: s@x\r\n\r\nbody\r\n",
            "(NIL NIL ((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) ((NIL NIL \"s\" \"x\")) ((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL)",
        ),
        // An unterminated quoted string: Dovecot shows a missing address,
        // Postern the quoted text as the local part (no `@`, no domain).
        (
            "To: \"unterminated <a@b>\r\n\r\nbody\r\n",
            "(NIL NIL NIL NIL NIL ((NIL NIL \"unterminated <a@b>\" \"MISSING_DOMAIN\")) NIL NIL NIL NIL)",
        ),
        (
            "To: a@b.example (Real (nested) Name)\r\n\r\nbody\r\n",
            "(NIL NIL NIL NIL NIL ((\"Real (nested) Name\" NIL \"a\" \"b.example\")) NIL NIL NIL NIL)",
        ),
        (
            "From: <@route1,@route2:user@host>\r\n\r\nbody\r\n",
            "(NIL NIL ((NIL \"@route1,@route2\" \"user\" \"host\")) ((NIL \"@route1,@route2\" \"user\" \"host\")) ((NIL \"@route1,@route2\" \"user\" \"host\")) NIL NIL NIL NIL NIL)",
        ),
    ];
    for (raw, expected) in rows {
        let message = ParsedMessage::parse(raw.as_bytes());
        let ours = String::from_utf8(message.envelope().to_bytes(false)).expect("UTF-8 headers");
        assert_eq!(unliteral(&ours), unliteral(expected), "{raw:?}");
    }
}

/// Every `{n}\r\n` literal rewritten as a quoted string, so that two
/// encodings of the same strings compare equal.
fn unliteral(wire: &str) -> String {
    let mut out = String::new();
    let mut rest = wire;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').expect("a literal's length ends");
        let length: usize = after[..close].parse().expect("a literal's length");
        let body = &after[close + 3..close + 3 + length];
        out.push('"');
        for c in body.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        rest = &after[close + 3 + length..];
    }
    out.push_str(rest);
    out
}

/// Every fixture's sections and BINARY parts, 27 section kinds and 6
/// BINARY paths each (`fixtures/sections.tsv`: Dovecot 2.3.19's answers,
/// each FETCH alone on the Maildir of fixtures.rs through
/// `/usr/lib/dovecot/imap`). An empty answer stands for a part that is
/// not there as well (Dovecot sends an empty string for both). Dovecot
/// refuses BINARY of broken base64 (`NO [PARSE]`); Postern decodes what
/// it can, so those rows are skipped.
#[test]
fn every_section_matches_dovecot() {
    use base64::Engine;
    let table = include_str!("../fixtures/sections.tsv");
    let mut compared = 0;
    let mut differences = Vec::new();
    for line in table.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, item, spec, answer] = fields[..] else {
            panic!("a row has four fields: {line}");
        };
        if answer.starts_with("NO [PARSE]") {
            continue;
        }
        // BINARY of a message/rfc822 part whose message has a transfer
        // encoding of its own: Dovecot decodes inside it and rewrites its
        // header to `binary`; Postern sends the part as it is (RFC 3516
        // does not ask for either).
        if (name, item, spec) == ("partwithoutmime", "BINARY", "2") {
            continue;
        }
        let message = ParsedMessage::parse(fixture(name).raw);
        let ours: Result<Vec<u8>, String> = if item == "BINARY" {
            let path: Vec<u32> = spec
                .split('.')
                .map(|n| n.parse().expect("a number"))
                .collect();
            match message.binary(&path) {
                Ok(octets) => Ok(octets.into_owned()),
                Err(BinaryError::NoSuchPart) => Ok(Vec::new()),
                Err(BinaryError::UnknownCte) => Err("NO [UNKNOWN-CTE]".into()),
            }
        } else {
            Ok(message
                .section(&parse_section(spec))
                .map(|octets| octets.into_owned())
                .unwrap_or_default())
        };
        let expected: Result<Vec<u8>, String> = match answer {
            "-" => Ok(Vec::new()),
            no if no.starts_with("NO ") => Err(no.split(']').next().unwrap_or(no).to_owned() + "]"),
            encoded => Ok(base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .expect("base64 in the table")),
        };
        if ours != expected {
            differences.push(format!(
                "{item}[{spec}] of {name}: ours {:?}, Dovecot's {:?}",
                ours.as_ref().map(|o| String::from_utf8_lossy(o)),
                expected.as_ref().map(|e| String::from_utf8_lossy(e)),
            ));
        }
        compared += 1;
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert!(compared > 600, "{compared}");
}

/// `2.HEADER.FIELDS.NOT (Subject)` and the like, as IMAP writes them.
fn parse_section(spec: &str) -> Section {
    let (head, names) = match spec.split_once(" (") {
        Some((head, rest)) => (
            head,
            rest.trim_end_matches(')')
                .split(' ')
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        ),
        None => (spec, Vec::new()),
    };
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    section(head, &names)
}

/// All twenty-five fixtures as one mailbox (FIXTURES then DAMAGED,
/// internal dates 2026-11-10 00:00:01 to :25), and Dovecot's answers to SEARCH,
/// SORT and THREAD there (each command as sent is in the comment).
fn whole_mailbox() -> Vec<ParsedMessage<'static>> {
    FIXTURES
        .iter()
        .chain(DAMAGED)
        .map(|f| ParsedMessage::parse(f.raw))
        .collect()
}

/// A sequence set from (start, end) pairs, 0 standing for `*`.
fn set(ranges: &[(u32, u32)]) -> crate::imap::command::SequenceSet {
    use crate::imap::command::{SeqNumber, SequenceRange, SequenceSet};
    let number = |n: u32| match NonZeroU32::new(n) {
        Some(n) => SeqNumber::Value(n),
        None => SeqNumber::Largest,
    };
    SequenceSet::Ranges(
        ranges
            .iter()
            .map(|&(start, end)| SequenceRange {
                start: number(start),
                end: number(end),
            })
            .collect(),
    )
}

#[test]
fn search_over_every_fixture_matches_dovecot() {
    let messages = whole_mailbox();
    let rows: Vec<(SearchKey, Vec<u32>)> = vec![
        // SEARCH TEXT inner
        (SearchKey::Text("inner".into()), vec![4, 13, 17, 20]),
        // SEARCH BODY inner
        (SearchKey::Body("inner".into()), vec![4, 13, 17, 20]),
        // SEARCH TEXT "inner body"
        (SearchKey::Text("inner body".into()), vec![17, 20]),
        // SEARCH BODY "inner body"
        (SearchKey::Body("inner body".into()), vec![17, 20]),
        // SEARCH TEXT one@example.org
        (SearchKey::Text("one@example.org".into()), vec![8]),
        // SEARCH BODY one
        (SearchKey::Body("one".into()), vec![8]),
        // SEARCH BODY "not a message"
        (SearchKey::Body("not a message".into()), vec![8]),
        // SEARCH TEXT boundary
        (
            SearchKey::Text("boundary".into()),
            vec![2, 3, 4, 5, 8, 9, 10, 11, 13, 17, 18, 19, 20, 23],
        ),
        // SEARCH TEXT preamble
        (SearchKey::Text("preamble".into()), vec![]),
        // SEARCH BODY hi
        (SearchKey::Body("hi".into()), vec![2]),
        // SEARCH BODY body
        (SearchKey::Body("body".into()), vec![7, 12, 17, 20]),
        // SEARCH TEXT body
        (SearchKey::Text("body".into()), vec![7, 12, 17, 20]),
        // SEARCH BODY a
        (
            SearchKey::Body("a".into()),
            vec![1, 2, 3, 4, 6, 7, 8, 13, 18, 19],
        ),
        // SEARCH BODY t
        (
            SearchKey::Body("t".into()),
            vec![1, 2, 3, 4, 7, 8, 13, 17, 18],
        ),
        // SEARCH BODY last
        (SearchKey::Body("last".into()), vec![13]),
        // SEARCH TEXT "caf%C3%A9.txt"
        (SearchKey::Text("caf%C3%A9.txt".into()), vec![12]),
        // SEARCH HEADER Content-Disposition attachment
        (
            SearchKey::Header("Content-Disposition".into(), "attachment".into()),
            vec![12],
        ),
        // SEARCH HEADER Content-Language ""
        (
            SearchKey::Header("Content-Language".into(), "".into()),
            vec![12],
        ),
        // SEARCH HEADER Content-Type multipart
        (
            SearchKey::Header("Content-Type".into(), "multipart".into()),
            vec![2, 3, 4, 5, 8, 9, 10, 11, 13, 17, 18, 19, 20, 23],
        ),
        // SEARCH HEADER subject ""
        (
            SearchKey::Header("subject".into(), "".into()),
            vec![
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20,
            ],
        ),
        // SEARCH HEADER from example.org
        (
            SearchKey::Header("from".into(), "example.org".into()),
            vec![1, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20],
        ),
        // SEARCH FROM x@example.org
        (
            SearchKey::From("x@example.org".into()),
            vec![9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20],
        ),
        // SEARCH FROM "Alice Example"
        (SearchKey::From("Alice Example".into()), vec![1]),
        // SEARCH TO example
        (SearchKey::To("example".into()), vec![1, 3, 4, 6]),
        // SEARCH SUBJECT inner
        (SearchKey::Subject("inner".into()), vec![]),
        // SEARCH SUBJECT "résumé"
        (SearchKey::Subject("résumé".into()), vec![2]),
        // SEARCH SUBJECT message
        (SearchKey::Subject("message".into()), vec![11]),
        // SEARCH SENTBEFORE 1-Jan-2000
        (
            SearchKey::SentBefore(day(2000, 1, 1)),
            vec![
                5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
            ],
        ),
        // SEARCH SENTON 5-Nov-2026
        (SearchKey::SentOn(day(2026, 11, 5)), vec![3]),
        // SEARCH SENTSINCE 7-Nov-2026
        (SearchKey::SentSince(day(2026, 11, 7)), vec![6]),
        // SEARCH SENTON 8-Nov-2026
        (SearchKey::SentOn(day(2026, 11, 8)), vec![]),
        // SEARCH SENTON 7-Nov-2026
        (SearchKey::SentOn(day(2026, 11, 7)), vec![6]),
        // SEARCH LARGER 300 SMALLER 600
        (
            SearchKey::And(vec![SearchKey::Larger(300), SearchKey::Smaller(600)]),
            vec![1, 5],
        ),
        // SEARCH OR SUBJECT boundary OR SUBJECT parts SUBJECT type
        (
            SearchKey::Or(
                Box::new(SearchKey::Subject("boundary".into())),
                Box::new(SearchKey::Or(
                    Box::new(SearchKey::Subject("parts".into())),
                    Box::new(SearchKey::Subject("type".into())),
                )),
            ),
            vec![9, 10, 13, 15],
        ),
        // SEARCH NOT TEXT example
        (
            SearchKey::Not(Box::new(SearchKey::Text("example".into()))),
            vec![7, 16, 21, 22, 23, 24, 25],
        ),
        // SEARCH BODY "=3D"
        (SearchKey::Body("=3D".into()), vec![]),
        // SEARCH BODY "week. "
        (SearchKey::Body("week. ".into()), vec![2]),
        // SEARCH TEXT "Content-Transfer-Encoding: base64"
        (
            SearchKey::Text("Content-Transfer-Encoding: base64".into()),
            vec![3, 5, 11, 21, 22, 23, 24],
        ),
        // SEARCH BODY "HTML inner"
        (SearchKey::Body("HTML inner".into()), vec![4]),
        // SEARCH BODY "<b>"
        (SearchKey::Body("<b>".into()), vec![4]),
        // SEARCH ON 10-Nov-2026
        (
            SearchKey::On(day(2026, 11, 10)),
            vec![
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                24, 25,
            ],
        ),
        // SEARCH BEFORE 10-Nov-2026
        (SearchKey::Before(day(2026, 11, 10)), vec![]),
        // SEARCH 1:3,7,19:* NOT 2
        (
            SearchKey::And(vec![
                SearchKey::SequenceSet(set(&[(1, 3), (7, 7), (19, 0)])),
                SearchKey::Not(Box::new(SearchKey::SequenceSet(set(&[(2, 2)])))),
            ]),
            vec![1, 3, 7, 19, 20, 21, 22, 23, 24, 25],
        ),
        // SEARCH UID 5:*
        (
            SearchKey::Uid(set(&[(5, 0)])),
            vec![
                5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
            ],
        ),
    ];
    let mut differences = Vec::new();
    for (key, expected) in rows {
        let ours = search_all(&key, &messages);
        if ours != expected {
            differences.push(format!("{key:?}: ours {ours:?}, Dovecot's {expected:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn sort_and_thread_over_every_fixture_match_dovecot() {
    let messages = whole_mailbox();
    type Row = (&'static [(bool, SortKey)], &'static [u32]);
    let rows: &[Row] = &[
        (
            &[(false, SortKey::Subject)],
            &[
                16, 21, 22, 23, 24, 25, 13, 5, 1, 8, 6, 11, 14, 9, 18, 19, 7, 10, 15, 12, 3, 20,
                17, 4, 2,
            ],
        ),
        (
            &[(false, SortKey::From)],
            &[
                7, 16, 21, 22, 23, 24, 25, 1, 3, 8, 4, 5, 2, 6, 9, 10, 11, 12, 13, 14, 15, 17, 18,
                19, 20,
            ],
        ),
        (
            &[(false, SortKey::To)],
            &[
                5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 1, 4,
                6, 3, 2,
            ],
        ),
        (
            &[(false, SortKey::Cc)],
            &[
                2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                25, 1,
            ],
        ),
        (
            &[(false, SortKey::Date)],
            &[
                1, 2, 3, 4, 6, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                24, 25,
            ],
        ),
        (
            &[(true, SortKey::Date)],
            &[
                25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 5, 6, 4,
                3, 2, 1,
            ],
        ),
        (
            &[(false, SortKey::DisplayFrom)],
            &[
                7, 16, 21, 22, 23, 24, 25, 1, 3, 8, 4, 5, 2, 6, 9, 10, 11, 12, 13, 14, 15, 17, 18,
                19, 20,
            ],
        ),
        (
            &[(false, SortKey::DisplayTo)],
            &[
                5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 1, 4,
                6, 3, 2,
            ],
        ),
        (
            &[(false, SortKey::Size)],
            &[
                16, 14, 24, 25, 7, 15, 22, 21, 10, 9, 20, 17, 23, 8, 19, 6, 12, 18, 11, 13, 5, 1,
                2, 4, 3,
            ],
        ),
        (
            &[(false, SortKey::Arrival)],
            &[
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                24, 25,
            ],
        ),
    ];
    for (criteria, expected) in rows {
        assert_eq!(
            &sort_all(criteria, &messages),
            expected,
            "SORT {criteria:?}"
        );
    }
    assert_eq!(
        thread_wire(ThreadAlgorithm::References, &messages),
        "(1)(2 4)(3)(6)(5)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16)(17)(18)(19)(20)(21)(22)(23)(24)(25)"
    );
    assert_eq!(
        thread_wire(ThreadAlgorithm::OrderedSubject, &messages),
        "(1)(2)(3)(4)(6)(5)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16 (21)(22)(23)(24)(25))(17)(18)(19)(20)"
    );
}
