//! ENVELOPE and BODY / BODYSTRUCTURE (RFC 9051 7.5.2), built as
//! [`Value`]s from the MIME tree.
//!
//! Strings go out as sent: header values unfolded but not decoded (a
//! client decodes RFC 2047 words itself), types and parameters in the
//! case the sender wrote them. Where a message leaves something out the
//! defaults are RFC 2045's (`text/plain; charset=us-ascii`, `7BIT`).

use super::address::{self, Entry};
use super::mime::{self, Kind, Part};
use crate::imap::value::Value;

/// The ENVELOPE of the message whose header is `part`'s.
pub(crate) fn envelope(raw: &[u8], part: &Part) -> Value {
    // As sent, unfolded, white space before the text dropped and after
    // it kept (Dovecot's reading, which clients already meet).
    let text = |name: &str| -> Value {
        Value::nstring(part.field_last(raw, name).map(|value| {
            let mut unfolded = mime::unfold_raw_untrimmed(value);
            let start = unfolded.len() - unfolded.trim_ascii_start().len();
            unfolded.drain(..start);
            unfolded
        }))
    };
    // A repeated address field adds its addresses to the list, as in
    // Dovecot.
    let addresses = |name: &str| -> Option<Value> {
        let entries: Vec<Entry> = part
            .fields
            .iter()
            .filter(|field| raw[field.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .flat_map(|field| address::parse_list(&mime::unfold(&raw[field.value.clone()])))
            .collect();
        address_list(entries)
    };
    let from = addresses("From");
    let sender = addresses("Sender").or_else(|| from.clone());
    let reply_to = addresses("Reply-To").or_else(|| from.clone());
    Value::List(vec![
        text("Date"),
        text("Subject"),
        from.unwrap_or(Value::Nil),
        sender.unwrap_or(Value::Nil),
        reply_to.unwrap_or(Value::Nil),
        addresses("To").unwrap_or(Value::Nil),
        addresses("Cc").unwrap_or(Value::Nil),
        addresses("Bcc").unwrap_or(Value::Nil),
        text("In-Reply-To"),
        text("Message-ID"),
    ])
}

/// An address list as ENVELOPE writes it; `None` (NIL) when it holds no
/// address and no group.
fn address_list(entries: Vec<Entry>) -> Option<Value> {
    if entries.is_empty() {
        return None;
    }
    let items: Vec<Value> = entries
        .into_iter()
        .map(|entry| match entry {
            Entry::Address(address) => Value::List(vec![
                Value::nstring(address.name),
                Value::nstring(address.adl),
                Value::string(address.mailbox),
                Value::string(address.host),
            ]),
            // RFC 9051 7.5.2: a group starts with (NIL NIL name NIL) and
            // ends with (NIL NIL NIL NIL).
            Entry::GroupStart(name) => Value::List(vec![
                Value::Nil,
                Value::Nil,
                Value::string(name),
                Value::Nil,
            ]),
            Entry::GroupEnd => Value::List(vec![Value::Nil; 4]),
        })
        .collect();
    Some(Value::List(vec![Value::Concat(items)]))
}

/// BODY (`extensible` false) or BODYSTRUCTURE of `part`.
pub(crate) fn body_structure(raw: &[u8], part: &Part, extensible: bool) -> Value {
    match &part.kind {
        Kind::Multipart(children, _) => {
            let parts: Vec<Value> = children
                .iter()
                .map(|child| body_structure(raw, child, extensible))
                .collect();
            let mut items = vec![
                Value::Concat(parts),
                Value::string(part.content_type.subtype.as_str()),
            ];
            if extensible {
                items.push(params(&part.content_type.params));
                items.extend(common_extensions(raw, part));
            }
            Value::List(items)
        }
        _ => single_part(raw, part, extensible),
    }
}

fn single_part(raw: &[u8], part: &Part, extensible: bool) -> Value {
    let content_type = &part.content_type;
    // A message without MIME-Version or Content-Type has no MIME fields.
    let field = |name: &str| part.field(raw, name).filter(|_| part.mime);
    let text = |name: &str| -> Value { Value::nstring(field(name).map(mime::unfold_raw)) };
    let body = &raw[part.body.clone()];
    let is_text = content_type.kind.eq_ignore_ascii_case("text");
    let mut shown_params = content_type.params.clone();
    if is_text && content_type.param("charset").is_none() {
        // RFC 2045 5.2's default, written out as Dovecot does.
        shown_params.push(("charset".to_owned(), "us-ascii".to_owned()));
    }
    let mut items = vec![
        Value::string(content_type.kind.as_str()),
        Value::string(content_type.subtype.as_str()),
        params(&shown_params),
        text("Content-ID"),
        text("Content-Description"),
        Value::string(
            part.transfer_encoding(raw)
                .filter(|_| part.mime)
                // Dovecot writes the default in lower case too.
                .unwrap_or_else(|| "7bit".to_owned()),
        ),
        Value::Number(body.len() as u64),
    ];
    match &part.kind {
        Kind::Message(inner) => {
            items.push(envelope(raw, inner));
            items.push(body_structure(raw, inner, extensible));
            items.push(Value::Number(lines(body)));
        }
        // A message/rfc822 part in base64 or quoted-printable is not
        // opened; its envelope and structure are an empty message's, as
        // in Dovecot (the grammar needs both).
        _ if content_type.is("message", "rfc822") || content_type.is("message", "global") => {
            let empty = mime::parse(b"");
            items.push(envelope(b"", &empty));
            items.push(body_structure(b"", &empty, extensible));
            items.push(Value::Number(lines(body)));
        }
        _ if is_text => {
            items.push(Value::Number(lines(body)));
        }
        _ => {}
    }
    if extensible {
        items.push(text("Content-MD5"));
        items.extend(common_extensions(raw, part));
    }
    Value::List(items)
}

/// Disposition, language and location: the extension data every part
/// has (RFC 9051 7.5.2).
fn common_extensions(raw: &[u8], part: &Part) -> [Value; 3] {
    let field = |name: &str| part.field(raw, name).filter(|_| part.mime);
    let disposition = field("Content-Disposition")
        .and_then(|value| mime::parse_content_type(&mime::unfold(value)))
        .map_or(Value::Nil, |parsed| {
            Value::List(vec![Value::string(parsed.kind), params(&parsed.params)])
        });
    let language = field("Content-Language")
        .map(|value| {
            mime::unfold(value)
                .split(',')
                .map(|tag| strip_comments(tag).trim().to_owned())
                .filter(|tag| !tag.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|tags| !tags.is_empty())
        // Always a list, even of one, as Dovecot sends it.
        .map_or(Value::Nil, |tags| {
            Value::List(tags.into_iter().map(Value::string).collect())
        });
    let location = Value::nstring(field("Content-Location").map(mime::unfold_raw));
    [disposition, language, location]
}

fn strip_comments(text: &str) -> String {
    let mut depth = 0usize;
    text.chars()
        .filter(|&c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

/// A parameter list as Dovecot writes it: plain parameters first, then
/// RFC 2231 ones (`name*`), whose continuations (`name*0`, `name*1*`)
/// are joined into one (`name`, or `name*` when any piece is encoded).
/// Values are otherwise as sent.
fn params(params: &[(String, String)]) -> Value {
    if params.is_empty() {
        return Value::Nil;
    }
    let mut plain: Vec<(String, String)> = Vec::new();
    let mut extended: Vec<(String, String, bool)> = Vec::new();
    for (name, value) in params {
        let Some((base, rest)) = name.split_once('*') else {
            plain.push((name.clone(), value.clone()));
            continue;
        };
        let encoded = rest.ends_with('*') || rest.is_empty();
        match extended
            .iter_mut()
            .find(|(seen, _, _)| seen.eq_ignore_ascii_case(base))
        {
            Some(entry) => {
                entry.1.push_str(value);
                entry.2 |= encoded;
            }
            None => extended.push((base.to_owned(), value.clone(), encoded)),
        }
    }
    let extended = extended.into_iter().map(|(base, value, encoded)| {
        let name = if encoded { format!("{base}*") } else { base };
        (name, value)
    });
    Value::List(
        plain
            .into_iter()
            .chain(extended)
            .flat_map(|(name, value)| [Value::string(name), Value::string(value)])
            .collect(),
    )
}

/// Lines in a body, as Dovecot counts them: its line ends (a last line
/// without one is not counted).
pub(crate) fn lines(body: &[u8]) -> u64 {
    body.iter().filter(|&&b| b == b'\n').count() as u64
}
