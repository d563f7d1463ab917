//! RFC 5322 3.4 address lists, read leniently and kept as sent: ENVELOPE
//! sends names with their encoded words undecoded (RFC 9051 7.5.2), so
//! `mail-parser`'s address parser, which decodes them, is not used here.

/// One entry of an address list: an address, or a group's start or end
/// marker (RFC 9051 7.5.2: NIL host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    Address(Address),
    GroupStart(String),
    GroupEnd,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    /// The display name (or a trailing comment), quotes removed.
    pub name: Option<String>,
    /// The obsolete source route (`@a,@b`).
    pub adl: Option<String>,
    pub mailbox: String,
    pub host: String,
}

/// What a missing local part or domain is shown as: Dovecot's words, so
/// clients see the same in both.
const MISSING_MAILBOX: &str = "MISSING_MAILBOX";
const MISSING_DOMAIN: &str = "MISSING_DOMAIN";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Comment(String),
    Special(u8),
}

fn tokenize(value: &str) -> Vec<Token> {
    let bytes = value.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' => at += 1,
            b'"' => {
                let mut text = Vec::new();
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    if bytes[at] == b'\\' && at + 1 < bytes.len() {
                        at += 1;
                    }
                    text.push(bytes[at]);
                    at += 1;
                }
                at += 1;
                tokens.push(Token::Quoted(String::from_utf8_lossy(&text).into_owned()));
            }
            b'(' => {
                let mut depth = 0usize;
                let mut text = Vec::new();
                while at < bytes.len() {
                    let byte = bytes[at];
                    at += 1;
                    match byte {
                        b'\\' if at < bytes.len() => {
                            text.push(bytes[at]);
                            at += 1;
                        }
                        b'(' => {
                            if depth > 0 {
                                text.push(byte);
                            }
                            depth += 1;
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            text.push(byte);
                        }
                        _ => text.push(byte),
                    }
                }
                tokens.push(Token::Comment(String::from_utf8_lossy(&text).into_owned()));
            }
            b'[' => {
                let start = at;
                while at < bytes.len() && bytes[at] != b']' {
                    at += 1;
                }
                at = (at + 1).min(bytes.len());
                tokens.push(Token::Word(
                    String::from_utf8_lossy(&bytes[start..at]).into_owned(),
                ));
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b'.' => {
                tokens.push(Token::Special(byte));
                at += 1;
            }
            _ => {
                let start = at;
                while at < bytes.len()
                    && !matches!(
                        bytes[at],
                        b' ' | b'\t'
                            | b'\r'
                            | b'\n'
                            | b'"'
                            | b'('
                            | b'['
                            | b'<'
                            | b'>'
                            | b'@'
                            | b','
                            | b';'
                            | b':'
                            | b'.'
                    )
                {
                    at += 1;
                }
                tokens.push(Token::Word(
                    String::from_utf8_lossy(&bytes[start..at]).into_owned(),
                ));
            }
        }
    }
    tokens
}

/// Parses an address list (From, To, Cc, ...), unfolded.
pub(crate) fn parse_list(value: &str) -> Vec<Entry> {
    let tokens = tokenize(value);
    let mut entries = Vec::new();
    let mut in_group = false;
    let mut item: Vec<Token> = Vec::new();
    let mut angle = false;
    for token in tokens {
        match token {
            Token::Special(b'<') => {
                angle = true;
                item.push(token);
            }
            Token::Special(b'>') => {
                angle = false;
                item.push(token);
            }
            Token::Special(b',') if !angle => flush(&mut item, &mut entries),
            Token::Special(b':') if !angle && !in_group && !item_has_at(&item) => {
                entries.push(Entry::GroupStart(phrase(&item).unwrap_or_default()));
                item.clear();
                in_group = true;
            }
            Token::Special(b';') if in_group && !angle => {
                flush(&mut item, &mut entries);
                entries.push(Entry::GroupEnd);
                in_group = false;
            }
            other => item.push(other),
        }
    }
    flush(&mut item, &mut entries);
    if in_group {
        entries.push(Entry::GroupEnd);
    }
    entries
}

/// An address list written out plainly for searching: `Name
/// <mailbox@host>` or `mailbox@host`, groups as `group: a@b, c@d;`,
/// names with their encoded words decoded, comments inside addresses
/// dropped.
pub(crate) fn plain_list(value: &str) -> String {
    let mut out = String::new();
    let mut first_in_group = false;
    for entry in parse_list(value) {
        match entry {
            Entry::Address(address) => {
                if !out.is_empty() && !first_in_group {
                    out.push_str(", ");
                }
                first_in_group = false;
                match &address.name {
                    Some(name) => {
                        out.push_str(&super::decode::header_text(name.as_bytes()));
                        out.push_str(" <");
                        out.push_str(&address.mailbox);
                        out.push('@');
                        out.push_str(&address.host);
                        out.push('>');
                    }
                    None => {
                        out.push_str(&address.mailbox);
                        out.push('@');
                        out.push_str(&address.host);
                    }
                }
            }
            Entry::GroupStart(name) => {
                if !out.is_empty() {
                    out.push_str(", ");
                }
                out.push_str(&name);
                out.push_str(": ");
                first_in_group = true;
            }
            Entry::GroupEnd => {
                out.push(';');
                first_in_group = false;
            }
        }
    }
    out
}

fn item_has_at(item: &[Token]) -> bool {
    item.iter()
        .any(|t| matches!(t, Token::Special(b'@') | Token::Special(b'<')))
}

fn flush(item: &mut Vec<Token>, entries: &mut Vec<Entry>) {
    if let Some(address) = mailbox(item) {
        entries.push(Entry::Address(address));
    }
    item.clear();
}

/// Words and quoted strings joined by single spaces; `None` when empty.
fn phrase(tokens: &[Token]) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    let mut glue_next = false;
    for token in tokens {
        match token {
            Token::Word(word) | Token::Quoted(word) => {
                if glue_next {
                    if let Some(last) = words.last_mut() {
                        last.push_str(word);
                        glue_next = false;
                        continue;
                    }
                }
                words.push(word.clone());
            }
            // obs-phrase allows dots: `John Q. Public`.
            Token::Special(b'.') => {
                match words.last_mut() {
                    Some(last) => last.push('.'),
                    None => words.push(".".to_owned()),
                }
                glue_next = false;
            }
            _ => {}
        }
    }
    let joined = words.join(" ");
    (!joined.is_empty()).then_some(joined)
}

fn mailbox(item: &[Token]) -> Option<Address> {
    // Nothing but comments (`group: (foo) ;`) is no address.
    if item.iter().all(|t| matches!(t, Token::Comment(_))) {
        return None;
    }
    let open = item.iter().position(|t| *t == Token::Special(b'<'));
    let (name, spec): (Option<String>, &[Token]) = match open {
        Some(open) => {
            let close = item[open..]
                .iter()
                .position(|t| *t == Token::Special(b'>'))
                .map_or(item.len(), |i| open + i);
            (phrase(&item[..open]), &item[open + 1..close])
        }
        None => {
            let comment = item.iter().rev().find_map(|t| match t {
                Token::Comment(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
                _ => None,
            });
            (comment, item)
        }
    };
    // An obsolete route: `@a,@b:` before the addr-spec.
    let (adl, spec) = match spec.iter().position(|t| *t == Token::Special(b':')) {
        Some(colon) if spec.first() == Some(&Token::Special(b'@')) => {
            (Some(join(&spec[..colon])), &spec[colon + 1..])
        }
        _ => (None, spec),
    };
    let at = spec.iter().rposition(|t| *t == Token::Special(b'@'));
    let (local, domain) = match at {
        Some(at) => (join(&spec[..at]), join(&spec[at + 1..])),
        None => (join(spec), String::new()),
    };
    // `<>` is an address with nothing in it, shown as missing both.
    if local.is_empty() && domain.is_empty() && name.is_none() && open.is_none() {
        return None;
    }
    Some(Address {
        name,
        adl,
        mailbox: if local.is_empty() {
            MISSING_MAILBOX.to_owned()
        } else {
            local
        },
        host: if domain.is_empty() {
            MISSING_DOMAIN.to_owned()
        } else {
            domain
        },
    })
}

/// An addr-spec's or route's tokens written back without spaces; a
/// quoted local part loses its quotes (`"a b"@x` is mailbox `a b`, as
/// Dovecot shows it).
fn join(tokens: &[Token]) -> String {
    let mut out = String::new();
    for token in tokens {
        match token {
            Token::Word(word) | Token::Quoted(word) => out.push_str(word),
            Token::Special(byte) => out.push(char::from(*byte)),
            Token::Comment(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(name: Option<&str>, mailbox: &str, host: &str) -> Entry {
        Entry::Address(Address {
            name: name.map(str::to_owned),
            adl: None,
            mailbox: mailbox.to_owned(),
            host: host.to_owned(),
        })
    }

    #[test]
    fn address_lists_in_their_forms() {
        let rows: &[(&str, Vec<Entry>)] = &[
            ("a@b.example", vec![address(None, "a", "b.example")]),
            (
                "\"Doe, John\" <john@x.example>, Jane <jane@y.example>",
                vec![
                    address(Some("Doe, John"), "john", "x.example"),
                    address(Some("Jane"), "jane", "y.example"),
                ],
            ),
            (
                "john@x.example (John Doe)",
                vec![address(Some("John Doe"), "john", "x.example")],
            ),
            (
                "=?utf-8?q?J=C3=B6rg?= <j@x.example>",
                vec![address(Some("=?utf-8?q?J=C3=B6rg?="), "j", "x.example")],
            ),
            (
                "John Q. Public <jqp@x.example>",
                vec![address(Some("John Q. Public"), "jqp", "x.example")],
            ),
            (
                "undisclosed-recipients:;",
                vec![
                    Entry::GroupStart("undisclosed-recipients".into()),
                    Entry::GroupEnd,
                ],
            ),
            (
                "team: a@x.example, b@y.example;, c@z.example",
                vec![
                    Entry::GroupStart("team".into()),
                    address(None, "a", "x.example"),
                    address(None, "b", "y.example"),
                    Entry::GroupEnd,
                    address(None, "c", "z.example"),
                ],
            ),
            ("nobody", vec![address(None, "nobody", MISSING_DOMAIN)]),
            ("", vec![]),
            (" , ,", vec![]),
        ];
        for (input, expected) in rows {
            assert_eq!(&parse_list(input), expected, "{input}");
        }
    }

    #[test]
    fn plain_lists_drop_comments_and_keep_groups() {
        assert_eq!(
            plain_list("<user-from (comment)@ (comment) domain.org>"),
            "user-from@domain.org"
        );
        assert_eq!(
            plain_list("user@domain.org (Real Name)"),
            "Real Name <user@domain.org>"
        );
        assert_eq!(
            plain_list("g: a@b.org, c@d.org;, h: e@f.org;"),
            "g: a@b.org, c@d.org;, h: e@f.org;"
        );
        assert_eq!(
            plain_list("=?utf-8?q?J=C3=B6rg?= <j@x.org>"),
            "Jörg <j@x.org>"
        );
    }

    #[test]
    fn a_comment_alone_in_a_group_is_no_address() {
        assert_eq!(
            parse_list("group:;, group2: (foo) ;"),
            vec![
                Entry::GroupStart("group".into()),
                Entry::GroupEnd,
                Entry::GroupStart("group2".into()),
                Entry::GroupEnd,
            ]
        );
    }

    #[test]
    fn source_routes_go_in_the_adl() {
        let entries = parse_list("<@a.example,@b.example:joe@c.example>");
        assert_eq!(
            entries,
            vec![Entry::Address(Address {
                name: None,
                adl: Some("@a.example,@b.example".into()),
                mailbox: "joe".into(),
                host: "c.example".into(),
            })]
        );
    }
}
