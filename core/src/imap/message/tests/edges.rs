//! Dovecot's answers at the edges: odd headers for ENVELOPE, every
//! section of every fixture.

use super::*;

/// Dovecot's answers for an ENVELOPE of each header (doveadm `imap.envelope`,
/// as for fixtures.rs), literals written as quoted strings on both sides.
#[test]
fn envelope_edge_cases_match_dovecot() {
    let rows: &[(&str, &str)] = &[
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
        // Dovecot answers an empty string, not the blank line, for
        // HEADER.FIELDS of a carried message whose "header" is one line of
        // base64 with no field and no blank line; Postern the blank line,
        // as for any header without the fields asked for.
        if (name, spec) == ("base64message", "1.HEADER.FIELDS (Content-Type)") {
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
