//! SORT (RFC 5256 3) with DISPLAYFROM and DISPLAYTO (RFC 5957), and the
//! base subject (RFC 5256 2.1) THREAD shares.
//!
//! Strings compare with i;ascii-casemap (RFC 5256 3: ASCII letters
//! without case, other octets as they are); the display names of RFC
//! 5957 without Unicode case. Ties, and equal keys throughout, fall back
//! to the sequence number (RFC 5256 3).

use super::address::Entry;
use super::{ParsedMessage, decode};
use crate::imap::command::{SortCriterion, SortKey};
use crate::mailbox::Uid;
use crate::time::UnixTime;
use std::cmp::Ordering;

/// One message to sort.
#[derive(Clone, Copy, Debug)]
pub struct SortInput<'m> {
    pub seq: u32,
    pub uid: Uid,
    pub internal_date: UnixTime,
    pub size: u64,
    pub message: &'m ParsedMessage<'m>,
}

/// RFC 5256 SORT: indices into `items` in sorted order.
pub fn sort(criteria: &[SortCriterion], items: &[SortInput]) -> Vec<usize> {
    // Keys are computed once per message, not once per comparison.
    let keys: Vec<Vec<Key>> = items
        .iter()
        .map(|item| criteria.iter().map(|c| key(c.key, item)).collect())
        .collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        for (i, criterion) in criteria.iter().enumerate() {
            let ordering = keys[a][i].cmp(&keys[b][i]);
            let ordering = if criterion.reverse {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        items[a].seq.cmp(&items[b].seq)
    });
    order
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Number(i64),
    Text(String),
}

fn key(sort_key: SortKey, item: &SortInput) -> Key {
    let message = item.message;
    match sort_key {
        SortKey::Arrival => Key::Number(item.internal_date.0),
        SortKey::Size => Key::Number(i64::try_from(item.size).unwrap_or(i64::MAX)),
        // RFC 5256 3: the sent date, or the internal date without one.
        SortKey::Date => Key::Number(message.sent_date().unwrap_or(item.internal_date).0),
        SortKey::Subject => Key::Text(ascii_casemap(&base_subject(
            &message.header_decoded("Subject").unwrap_or_default(),
        ))),
        SortKey::From => Key::Text(first_mailbox(message, "From")),
        SortKey::To => Key::Text(first_mailbox(message, "To")),
        SortKey::Cc => Key::Text(first_mailbox(message, "Cc")),
        SortKey::DisplayFrom => Key::Text(display(message, "From")),
        SortKey::DisplayTo => Key::Text(display(message, "To")),
    }
}

fn ascii_casemap(text: &str) -> String {
    text.to_ascii_uppercase()
}

/// The first entry of an address list. A group's start counts, with its
/// name as the mailbox: RFC 5256 leaves groups out, and this is what
/// Dovecot sorts on (`To: team: a@x;` sorts as "team").
fn first_entry(message: &ParsedMessage, field: &str) -> Option<Entry> {
    message
        .addresses(field)
        .into_iter()
        .find(|entry| !matches!(entry, Entry::GroupEnd))
}

/// RFC 5256 3: the addr-mailbox of the first address; empty without one.
fn first_mailbox(message: &ParsedMessage, field: &str) -> String {
    match first_entry(message, field) {
        Some(Entry::Address(address)) => ascii_casemap(&address.mailbox),
        Some(Entry::GroupStart(name)) => ascii_casemap(&name),
        _ => String::new(),
    }
}

/// RFC 5957 3: the first address's display name, decoded; without one,
/// its addr-spec.
fn display(message: &ParsedMessage, field: &str) -> String {
    let shown = match first_entry(message, field) {
        Some(Entry::Address(address)) => address
            .name
            .map(|name| decode::header_text(name.as_bytes()).trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| format!("{}@{}", address.mailbox, address.host)),
        Some(Entry::GroupStart(name)) => name,
        _ => String::new(),
    };
    shown.to_lowercase()
}

/// RFC 5256 2.1 base subject.
pub fn base_subject(subject: &str) -> String {
    base_subject_and_reply(subject).0
}

/// The base subject and whether extracting it removed a reply or
/// forward marker (RFC 5256 2.1 and the "is a reply" test of 3).
pub(crate) fn base_subject_and_reply(subject: &str) -> (String, bool) {
    // (1) Encoded words decoded (by the caller, who holds the raw field,
    // or here if they remain), white space runs as one space.
    let decoded = if subject.contains("=?") {
        decode::header_text(subject.as_bytes())
    } else {
        subject.to_owned()
    };
    let mut text: String = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut reply = false;
    loop {
        // (2) Trailers: "(fwd)" and white space.
        loop {
            let trimmed = text.trim_end();
            // "(fwd)" is ASCII, so cutting before it keeps UTF-8 whole.
            let bytes = trimmed.as_bytes();
            if bytes.len() >= 5 && bytes[bytes.len() - 5..].eq_ignore_ascii_case(b"(fwd)") {
                text = trimmed[..trimmed.len() - 5].to_owned();
                reply = true;
            } else {
                text = trimmed.to_owned();
                break;
            }
        }
        // (3) and (4), repeated (5).
        loop {
            let before = text.len();
            if let Some(rest) = strip_leader(&text) {
                text = rest;
                reply = true;
            }
            let trimmed = text.trim_start();
            if trimmed.len() != text.len() {
                text = trimmed.to_owned();
            }
            if let Some(rest) = strip_blob(&text) {
                if !rest.is_empty() {
                    text = rest.to_owned();
                }
            }
            if text.len() == before {
                break;
            }
        }
        // (6) "[fwd: ...]".
        if text.len() >= 6
            && text.is_char_boundary(5)
            && text[..5].eq_ignore_ascii_case("[fwd:")
            && text.ends_with(']')
        {
            text = text[5..text.len() - 1].to_owned();
            reply = true;
            continue;
        }
        return (text, reply);
    }
}

/// `*subj-blob subj-refwd`: blobs then "re", "fw" or "fwd", an optional
/// blob, and a colon (RFC 5256 5). The text after it, or `None`.
fn strip_leader(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(after) = strip_blob(rest) {
        rest = after;
    }
    let lower = rest.to_ascii_lowercase();
    let word = if lower.starts_with("re") {
        2
    } else if lower.starts_with("fwd") {
        3
    } else if lower.starts_with("fw") {
        2
    } else {
        return None;
    };
    let mut after = rest[word..].trim_start_matches([' ', '\t']);
    if let Some(blob) = strip_blob(after) {
        after = blob;
    }
    after.strip_prefix(':').map(str::to_owned)
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP`: the text after it, or `None`.
fn strip_blob(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('[')?;
    let close = inner.find([']', '['])?;
    if !inner[close..].starts_with(']') {
        return None;
    }
    Some(inner[close + 1..].trim_start_matches([' ', '\t']))
}
