//! FETCH data items (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ)
//! and FETCH modifiers (RFC 7162 CHANGEDSINCE and VANISHED).

use super::parser::{PResult, Parser, syntax};
use crate::imap::command::{FetchItem, FetchModifiers, Partial, Section, SectionText};

/// `ALL`, `FAST`, `FULL` (expanded), one item, or a list of items.
pub(super) fn fetch_items(p: &mut Parser) -> PResult<Vec<FetchItem>> {
    if p.peek() == Some(b'(') {
        return p.list(false, fetch_item);
    }
    let fast = [
        FetchItem::Flags,
        FetchItem::InternalDate,
        FetchItem::Rfc822Size,
    ];
    if p.eat_keyword("FAST") {
        return Ok(fast.to_vec());
    }
    if p.eat_keyword("ALL") {
        let mut items = fast.to_vec();
        items.push(FetchItem::Envelope);
        return Ok(items);
    }
    if p.eat_keyword("FULL") {
        let mut items = fast.to_vec();
        items.extend([FetchItem::Envelope, FetchItem::Body]);
        return Ok(items);
    }
    p.item()?;
    Ok(vec![fetch_item(p)?])
}

fn fetch_item(p: &mut Parser) -> PResult<FetchItem> {
    let name = p.take_while(|b| b.is_ascii_alphanumeric() || b == b'.');
    let name = String::from_utf8_lossy(name).to_ascii_uppercase();
    let item = match name.as_str() {
        "ENVELOPE" => FetchItem::Envelope,
        "FLAGS" => FetchItem::Flags,
        "INTERNALDATE" => FetchItem::InternalDate,
        "RFC822" => FetchItem::Rfc822,
        "RFC822.HEADER" => FetchItem::Rfc822Header,
        "RFC822.TEXT" => FetchItem::Rfc822Text,
        "RFC822.SIZE" => FetchItem::Rfc822Size,
        "BODYSTRUCTURE" => FetchItem::BodyStructure,
        "UID" => FetchItem::Uid,
        "MODSEQ" => FetchItem::ModSeq,
        "BODY" if p.peek() != Some(b'[') => FetchItem::Body,
        "BODY" | "BODY.PEEK" => {
            let section = section(p)?;
            FetchItem::BodySection {
                peek: name == "BODY.PEEK",
                section,
                partial: partial(p)?,
            }
        }
        "BINARY" | "BINARY.PEEK" => {
            let part = section_binary(p)?;
            FetchItem::Binary {
                peek: name == "BINARY.PEEK",
                part,
                partial: partial(p)?,
            }
        }
        "BINARY.SIZE" => FetchItem::BinarySize {
            part: section_binary(p)?,
        },
        _ => return syntax("Unknown FETCH item"),
    };
    Ok(item)
}

/// `section`: `[` [part] [text] `]`.
fn section(p: &mut Parser) -> PResult<Section> {
    p.expect(b'[', "[")?;
    let mut section = Section::default();
    if p.eat(b']') {
        return Ok(section);
    }
    if p.peek().is_some_and(|b| b.is_ascii_digit()) {
        section.part = part(p)?;
        if !p.eat(b'.') {
            p.expect(b']', "] closing the section")?;
            return Ok(section);
        }
    }
    let name = p.take_while(|b| b.is_ascii_alphabetic() || b == b'.');
    let text = match name.to_ascii_uppercase().as_slice() {
        b"HEADER" => SectionText::Header,
        b"TEXT" => SectionText::Text,
        b"MIME" if !section.part.is_empty() => SectionText::Mime,
        b"HEADER.FIELDS" => SectionText::HeaderFields(header_list(p)?),
        b"HEADER.FIELDS.NOT" => SectionText::HeaderFieldsNot(header_list(p)?),
        _ => return syntax("Unknown section"),
    };
    section.text = Some(text);
    p.expect(b']', "] closing the section")?;
    Ok(section)
}

/// `section-part`: `1.2.3`, stopping before a `.` that a name follows.
fn part(p: &mut Parser) -> PResult<Vec<u32>> {
    let mut part = vec![p.nz_number()?.get()];
    while p.peek() == Some(b'.') && p.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        p.eat(b'.');
        p.item()?;
        part.push(p.nz_number()?.get());
    }
    Ok(part)
}

/// `section-binary`: `[` [part] `]`.
fn section_binary(p: &mut Parser) -> PResult<Vec<u32>> {
    p.expect(b'[', "[")?;
    let part = if p.peek() == Some(b']') {
        Vec::new()
    } else {
        part(p)?
    };
    p.expect(b']', "] closing the section")?;
    Ok(part)
}

fn header_list(p: &mut Parser) -> PResult<Vec<String>> {
    p.sp()?;
    p.list(false, Parser::astring)
}

/// `<offset.length>`.
fn partial(p: &mut Parser) -> PResult<Option<Partial>> {
    if !p.eat(b'<') {
        return Ok(None);
    }
    let offset = p.number()?;
    p.expect(b'.', ". in a partial range")?;
    let length = p.nz_number()?;
    p.expect(b'>', "> closing a partial range")?;
    Ok(Some(Partial { offset, length }))
}

/// ` (CHANGEDSINCE n VANISHED)`, or nothing.
pub(super) fn fetch_modifiers(p: &mut Parser) -> PResult<FetchModifiers> {
    let mut modifiers = FetchModifiers::default();
    if !p.eat(b' ') {
        return Ok(modifiers);
    }
    let items = p.list(false, |p| match p.keyword()?.as_str() {
        "CHANGEDSINCE" => {
            p.sp()?;
            p.mod_sequence(false).map(Some)
        }
        "VANISHED" => Ok(None),
        _ => syntax("Unknown FETCH modifier"),
    })?;
    for item in items {
        match item {
            Some(modseq) => modifiers.changed_since = Some(modseq),
            None => modifiers.vanished = true,
        }
    }
    Ok(modifiers)
}
