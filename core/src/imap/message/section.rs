//! BODY[section] (RFC 9051 6.4.5) and BINARY[part] (RFC 3516 4.1).
//!
//! Part numbers: a multipart's parts count from 1; a message/rfc822
//! part's number is followed by the numbers of the message it carries;
//! a message that is not multipart has only part 1, its body.

use super::BinaryError;
use super::decode::{self, TransferEncoding};
use super::mime::{Kind, Part};
use crate::imap::command::{Section, SectionText};
use std::borrow::Cow;

/// What a part path names: the part, and whether it is a message's root
/// (the whole message or one a message/rfc822 part carries), whose
/// HEADER and TEXT are its own.
struct Target<'p> {
    part: &'p Part,
    /// The message/rfc822 part's carried message, or the root for `[]`.
    message: Option<&'p Part>,
}

fn resolve<'p>(root: &'p Part, path: &[u32]) -> Option<Target<'p>> {
    let mut node = root;
    let mut at_root = true;
    // Whether the last number named the part itself (a single part's
    // `1`); Dovecot allows that once, not `1.1.1`.
    let mut stayed = false;
    for &number in path {
        let index = (number as usize).checked_sub(1)?;
        // A message/rfc822 part's numbers go into the message it carries
        // (the root's own number 1 is its body, whatever its type).
        if !at_root {
            if let Kind::Message(inner) = &node.kind {
                node = inner;
                stayed = false;
                match &node.kind {
                    Kind::Multipart(children, _) => node = children.get(index)?,
                    _ if index == 0 => stayed = true,
                    _ => return None,
                }
                continue;
            }
        }
        match &node.kind {
            Kind::Multipart(children, _) if !stayed => {
                node = children.get(index)?;
                stayed = false;
            }
            // A single-part message's only part is 1, its body; Dovecot
            // also reads `1` below another single part as that part
            // (BODY[1.1] of a text/plain part 1), once.
            _ if index == 0 && !stayed => stayed = true,
            _ => return None,
        }
        at_root = false;
    }
    let message = if path.is_empty() {
        Some(root)
    } else {
        match &node.kind {
            Kind::Message(inner) => Some(inner.as_ref()),
            _ => None,
        }
    };
    Some(Target {
        part: node,
        message,
    })
}

pub(crate) fn section<'a>(raw: &'a [u8], root: &Part, section: &Section) -> Option<Cow<'a, [u8]>> {
    let target = resolve(root, &section.part)?;
    let slice = |range: std::ops::Range<usize>| Some(Cow::Borrowed(&raw[range]));
    match &section.text {
        None if section.part.is_empty() => Some(Cow::Borrowed(raw)),
        None => slice(target.part.body.clone()),
        Some(SectionText::Mime) => {
            if section.part.is_empty() {
                return None;
            }
            slice(target.part.header.clone())
        }
        Some(SectionText::Header) => slice(target.message?.header.clone()),
        Some(SectionText::Text) => slice(target.message?.body.clone()),
        Some(SectionText::HeaderFields(names)) => {
            Some(Cow::Owned(header_fields(raw, target.message?, names, true)))
        }
        Some(SectionText::HeaderFieldsNot(names)) => Some(Cow::Owned(header_fields(
            raw,
            target.message?,
            names,
            false,
        ))),
    }
}

/// The fields named (or, with `wanted` false, not named) in `names`, in
/// message order, then the blank line (RFC 9051 6.4.5). A header with no
/// blank line of its own and none of the fields gives nothing at all,
/// as in Dovecot.
fn header_fields(raw: &[u8], message: &Part, names: &[String], wanted: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for field in &message.fields {
        let name = &raw[field.name.clone()];
        let listed = names
            .iter()
            .any(|wanted| wanted.as_bytes().eq_ignore_ascii_case(name));
        if listed == wanted {
            out.extend_from_slice(&raw[field.whole.clone()]);
            if !out.ends_with(b"\n") {
                // The last field of a header without a blank line.
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if out.is_empty() && message.open_header && !message.header.is_empty() {
        return out;
    }
    out.extend_from_slice(b"\r\n");
    out
}

pub(crate) fn binary<'a>(
    raw: &'a [u8],
    root: &Part,
    path: &[u32],
) -> Result<Cow<'a, [u8]>, BinaryError> {
    if path.is_empty() {
        return Ok(Cow::Borrowed(raw));
    }
    let target = resolve(root, path).ok_or(BinaryError::NoSuchPart)?;
    let part = target.part;
    let body = &raw[part.body.clone()];
    // A multipart has no transfer encoding of its own, and message/rfc822
    // may only be 7bit, 8bit or binary (RFC 2046 5.2.1): Dovecot sends
    // either as it is, and so does Postern.
    if matches!(part.kind, Kind::Multipart(..) | Kind::Message(_)) {
        return Ok(Cow::Borrowed(body));
    }
    let encoding = part.transfer_encoding(raw);
    let encoding = TransferEncoding::parse(encoding.as_deref()).ok_or(BinaryError::UnknownCte)?;
    Ok(encoding.decode(body))
}

/// What SEARCH reads of a message (as Dovecot does): BODY the decoded
/// text parts, TEXT those and every header (the message's, each part's,
/// each carried message's), encoded words decoded. Preambles,
/// epilogues, non-text parts and parts in an unknown transfer encoding
/// are not searched.
#[derive(Clone, Debug, Default)]
pub(crate) struct Texts {
    pub bodies: Vec<String>,
    pub headers: Vec<String>,
}

/// Collects the texts under `part` (whose own header is the caller's).
pub(crate) fn collect_texts(raw: &[u8], part: &Part, texts: &mut Texts) {
    match &part.kind {
        Kind::Multipart(children, _) => {
            for child in children {
                texts
                    .headers
                    .push(decode::header_text_block(&raw[child.header.clone()]));
                collect_texts(raw, child, texts);
            }
        }
        Kind::Message(inner) => {
            texts
                .headers
                .push(decode::header_text_block(&raw[inner.header.clone()]));
            collect_texts(raw, inner, texts);
        }
        Kind::Leaf => {
            // `Content-Type: text` without a subtype is not text to
            // Dovecot's search either.
            let content_type = &part.content_type;
            if !content_type.kind.eq_ignore_ascii_case("text") || content_type.subtype.is_empty() {
                return;
            }
            let encoding = part.transfer_encoding(raw);
            let Some(encoding) = TransferEncoding::parse(encoding.as_deref()) else {
                return;
            };
            let bytes = encoding.decode(&raw[part.body.clone()]);
            texts
                .bodies
                .push(decode::to_utf8(&bytes, part.content_type.param("charset")));
        }
    }
}
