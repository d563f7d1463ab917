//! What a message looks like to IMAP: ENVELOPE, BODY and BODYSTRUCTURE
//! (RFC 9051 7.5.2), BODY[section]<partial> (6.4.5), BINARY (RFC 3516),
//! SEARCH keys ([`search`]), SORT ([`sort`]) and THREAD ([`thread`]).
//!
//! Everything here is a pure function of the message's octets (CRLF
//! text, as the store hands it) and of figures the session passes in.
//! Parsing never fails: damaged mail still has a structure, the one
//! Dovecot would show where the rules leave room.
//!
//! The part tree is scanned here (`mime.rs`) because IMAP needs exact
//! octet ranges, which `mail-parser`'s parts do not give (its offsets
//! follow its decoding); `mail-parser` 0.11 does the value-level work:
//! RFC 2047 encoded words, charsets, dates. Where RFC 9051 leaves room
//! (damaged MIME, repeated fields, defaults) the answers are Dovecot
//! 2.3's, and the tests hold Dovecot's own answers for the fixtures in
//! `fixtures/`.

mod address;
pub mod convert;
mod decode;
mod mime;
pub mod search;
mod section;
pub mod sort;
mod structure;
pub mod thread;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use crate::imap::command::{Date, Partial, Section};
use crate::imap::value::Value;
use crate::time::UnixTime;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;

/// A message parsed for IMAP: its octets and its MIME tree.
#[derive(Clone, Debug)]
pub struct ParsedMessage<'a> {
    raw: &'a [u8],
    root: mime::Part,
    /// What SEARCH BODY and TEXT read, decoded once on first use.
    texts: OnceCell<section::Texts>,
}

/// Why BINARY[part] has no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryError {
    /// RFC 3516 4.2: the part's Content-Transfer-Encoding is one the
    /// server cannot undo: `NO [UNKNOWN-CTE]`.
    UnknownCte,
    /// The part number names no part.
    NoSuchPart,
}

impl fmt::Display for BinaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BinaryError::UnknownCte => f.write_str("the part's transfer encoding is unknown"),
            BinaryError::NoSuchPart => f.write_str("no such part"),
        }
    }
}

/// A Date: header's moment and the calendar day it names in its own
/// zone (RFC 9051 6.4.4: SENTON and friends disregard the zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SentDate {
    pub at: UnixTime,
    pub day: Date,
}

impl<'a> ParsedMessage<'a> {
    /// Parses `raw`; never fails.
    pub fn parse(raw: &'a [u8]) -> ParsedMessage<'a> {
        ParsedMessage {
            raw,
            root: mime::parse(raw),
            texts: OnceCell::new(),
        }
    }

    /// The message's octets.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// RFC 9051 7.5.2 ENVELOPE.
    pub fn envelope(&self) -> Value {
        structure::envelope(self.raw, &self.root)
    }

    /// BODY (`extensible` false) or BODYSTRUCTURE with every extension
    /// field (true).
    pub fn body_structure(&self, extensible: bool) -> Value {
        structure::body_structure(self.raw, &self.root, extensible)
    }

    /// BODY[section] before any <partial>: the octets (RFC 9051 6.4.5);
    /// `None` when the part does not exist (the session then answers an
    /// empty string, as Dovecot does).
    pub fn section(&self, section: &Section) -> Option<Cow<'a, [u8]>> {
        section::section(self.raw, &self.root, section)
    }

    /// BINARY[part]: the part's content with its Content-Transfer-Encoding
    /// removed (RFC 3516 4.1); `[]` is the whole message, as sent.
    pub fn binary(&self, part: &[u32]) -> Result<Cow<'a, [u8]>, BinaryError> {
        section::binary(self.raw, &self.root, part)
    }

    /// The Date: header as a moment.
    pub fn sent_date(&self) -> Option<UnixTime> {
        self.sent().map(|sent| sent.at)
    }

    pub(crate) fn sent(&self) -> Option<SentDate> {
        let value = self.root.field(self.raw, "Date")?;
        let text = mime::unfold(value);
        let parsed = mail_parser::DateTime::parse_rfc822(text.trim())?;
        if !parsed.is_valid() {
            return None;
        }
        Some(SentDate {
            at: UnixTime(parsed.to_timestamp()),
            day: Date {
                year: parsed.year,
                month: parsed.month,
                day: parsed.day,
            },
        })
    }

    /// The first field named `name`, RFC 2047 decoded and unfolded.
    pub(crate) fn header_decoded(&self, name: &str) -> Option<String> {
        self.root
            .field(self.raw, name)
            .map(|value| decode::header_text(value).trim().to_owned())
    }

    /// Every field of the message's header as (name, raw value).
    pub(crate) fn header_fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let raw = self.raw;
        self.root
            .fields
            .iter()
            .map(move |field| (&raw[field.name.clone()], &raw[field.value.clone()]))
    }

    /// The first field named `name`, raw (folds kept).
    pub(crate) fn header_raw(&self, name: &str) -> Option<&'a [u8]> {
        self.root.field(self.raw, name)
    }

    /// The first address list named `name` (From, To, ...), entries as sent.
    pub(crate) fn addresses(&self, name: &str) -> Vec<address::Entry> {
        self.root
            .field(self.raw, name)
            .map(|value| address::parse_list(&mime::unfold(value)))
            .unwrap_or_default()
    }

    /// The decoded text parts and the part headers SEARCH reads (and
    /// the message's own header, decoded), in lower case.
    pub(crate) fn texts(&self) -> &section::Texts {
        self.texts.get_or_init(|| {
            let mut texts = section::Texts::default();
            texts
                .headers
                .push(decode::header_text_block(self.header_block()));
            section::collect_texts(self.raw, &self.root, &mut texts);
            for text in texts.bodies.iter_mut().chain(texts.headers.iter_mut()) {
                *text = text.to_lowercase();
            }
            texts
        })
    }

    /// The message's header block, as sent.
    pub(crate) fn header_block(&self) -> &'a [u8] {
        &self.raw[self.root.header.clone()]
    }
}

/// `<offset.length>` applied (RFC 9051 6.4.5: an offset past the end
/// gives an empty string, a length past it the rest).
pub fn partial(data: &[u8], partial: Option<Partial>) -> &[u8] {
    let Some(partial) = partial else {
        return data;
    };
    let start = (partial.offset as usize).min(data.len());
    let end = start
        .saturating_add(partial.length.get() as usize)
        .min(data.len());
    &data[start..end]
}
