//! FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9) with BINARY (RFC 3516),
//! CONDSTORE's MODSEQ and CHANGEDSINCE and QRESYNC's VANISHED (RFC 7162
//! 3.1.4, 3.2.6).
//!
//! Messages are read one at a time and each response is sent as soon as
//! its message is in, so a large FETCH holds one message at a time.
//! A body fetch that is not PEEK sets `\Seen` first (one STORE request
//! for all of them), so the FETCH responses carry the new FLAGS.

use super::machine::ImapServer;
use super::response::{Reply, date_time, failure_reply};
use super::state::Pending;
use super::view::{ViewMessage, flag_list, ranges_contain, set_ranges, uid_set};
use super::{ChangeSet, Event, Input, Request, StoreFailure};
use crate::imap::command::{
    FetchItem, FetchModifiers, Partial, Section, SectionText, SequenceSet, StoreAction,
};
use crate::imap::message::{BinaryError, ParsedMessage, partial};
use crate::imap::value::Value;
use crate::mailbox::{Change, Flag, Flags, Keywords, ModSeq, Uid};
use std::collections::BTreeSet;
use std::io::Write as _;

/// Where a FETCH stands.
#[derive(Debug, PartialEq, Eq)]
pub enum FetchPhase {
    /// UID FETCH ... (VANISHED): the UIDs expunged since CHANGEDSINCE.
    Vanished,
    /// `\Seen` is being set on the messages a body fetch reads.
    Seen,
    /// Messages are being read.
    Reading,
}

/// A FETCH in progress.
#[derive(Debug)]
pub struct FetchJob {
    pub tag: String,
    pub uid: bool,
    pub items: Vec<FetchItem>,
    /// The messages, by UID, in message number order.
    pub targets: Vec<Uid>,
    /// The next of `targets` to read.
    pub next: usize,
    pub phase: FetchPhase,
    /// MODSEQ goes in every response (CHANGEDSINCE or the MODSEQ item).
    pub modseq: bool,
    /// The UID set, for VANISHED (EARLIER).
    pub set: SequenceSet,
    /// Messages whose `\Seen` this FETCH set: FLAGS go with them.
    pub seen_now: BTreeSet<Uid>,
    /// Some message could not be read: `NO [EXPUNGEISSUED]`.
    pub gone: bool,
    /// RFC 3516 4.3: a part's transfer encoding is unknown.
    pub unknown_cte: bool,
}

impl ImapServer {
    pub(super) fn handle_fetch(
        &mut self,
        tag: String,
        uid: bool,
        set: &SequenceSet,
        items: Vec<FetchItem>,
        modifiers: FetchModifiers,
    ) {
        if modifiers.vanished
            && (!uid || !self.enabled.qresync || modifiers.changed_since.is_none())
        {
            return self.bad(
                &tag,
                "VANISHED needs UID FETCH, QRESYNC enabled and CHANGEDSINCE",
            );
        }
        let modseq = modifiers.changed_since.is_some() || items.contains(&FetchItem::ModSeq);
        if modseq {
            self.enable_condstore();
        }
        let Some(view) = self.view() else {
            return;
        };
        let found = match view.resolve(set, uid) {
            Ok(found) => found,
            Err(_) => return self.bad(&tag, "Invalid message sequence set"),
        };
        let targets: Vec<Uid> = found
            .iter()
            .map(|&i| &view.messages[i])
            .filter(|m| {
                modifiers
                    .changed_since
                    .is_none_or(|since| m.modseq.0 > since)
            })
            .map(|m| m.uid)
            .collect();
        let sets_seen = !view.read_only && items.iter().any(sets_seen);
        let unseen: Vec<Uid> = if sets_seen {
            targets
                .iter()
                .filter_map(|&u| view.index_of(u).map(|i| &view.messages[i]))
                .filter(|m| !m.flags.contains(Flag::Seen) && !m.expunged)
                .map(|m| m.uid)
                .collect()
        } else {
            Vec::new()
        };
        let folder = view.folder.clone();
        let mut job = FetchJob {
            tag,
            uid,
            items,
            targets,
            next: 0,
            phase: FetchPhase::Reading,
            modseq,
            set: set.clone(),
            seen_now: BTreeSet::new(),
            gone: false,
            unknown_cte: false,
        };
        if modifiers.vanished {
            job.phase = FetchPhase::Vanished;
            let since = ModSeq(modifiers.changed_since.unwrap_or_default());
            let read_only = self.view().is_some_and(|v| v.read_only);
            return self.request(
                Pending::Fetch(Box::new(job)),
                Request::Changes {
                    folder,
                    since,
                    read_only,
                },
            );
        }
        if !unseen.is_empty() {
            job.phase = FetchPhase::Seen;
            return self.request(
                Pending::Fetch(Box::new(job)),
                Request::StoreFlags {
                    folder,
                    uids: unseen,
                    action: StoreAction::Add,
                    flags: Flags::EMPTY.with(Flag::Seen),
                    keywords: Keywords::new(),
                },
            );
        }
        self.fetch_next(job);
    }

    /// An answer while a FETCH is in progress.
    pub(super) fn fetch_answer(&mut self, mut job: FetchJob, input: Input<'_>) {
        match (&job.phase, input) {
            (FetchPhase::Vanished, Input::Changes(result)) => {
                self.fetch_vanished(&job, result);
                job.phase = FetchPhase::Reading;
                self.fetch_next(job);
            }
            (FetchPhase::Seen, Input::FlagsStored(result)) => {
                match result {
                    Ok(changes) => {
                        if let Some(view) = self.view_mut() {
                            for change in &changes {
                                view.apply_own(change);
                            }
                        }
                        job.seen_now = changes.iter().map(Change::uid).collect();
                    }
                    Err(_) => self.event(Event::StoreFailed { command: "FETCH" }),
                }
                job.phase = FetchPhase::Reading;
                self.fetch_next(job);
            }
            (FetchPhase::Reading, Input::Message(result)) => {
                let uid = job.targets[job.next - 1];
                match result {
                    Ok(bytes) => self.fetch_response(&mut job, uid, Some(&bytes)),
                    Err(StoreFailure::MessageGone) => job.gone = true,
                    Err(_) => {
                        self.event(Event::StoreFailed { command: "FETCH" });
                        job.gone = true;
                    }
                }
                self.fetch_next(job);
            }
            (phase, input) => panic!("FETCH at {phase:?} got {input:?}"),
        }
    }

    /// RFC 7162 3.2.6: `* VANISHED (EARLIER)` for the UIDs of the set
    /// expunged since CHANGEDSINCE.
    fn fetch_vanished(&mut self, job: &FetchJob, result: Result<ChangeSet, StoreFailure>) {
        let Some(view) = self.view() else {
            return;
        };
        let largest = view.messages.last().map_or(0, |m| m.uid.get());
        let Ok(ChangeSet {
            changes: Some(changes),
            ..
        }) = result
        else {
            return;
        };
        let within = set_ranges(&job.set, largest);
        let mut gone: Vec<u32> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Expunged { uid, .. } if view.index_of(*uid).is_none() => Some(uid.get()),
                _ => None,
            })
            .filter(|&uid| ranges_contain(&within, uid))
            .collect();
        gone.sort_unstable();
        gone.dedup();
        if !gone.is_empty() {
            self.untagged(&format!("VANISHED (EARLIER) {}", uid_set(&gone)));
        }
    }

    /// Sends the responses that need no message content at once, or
    /// asks for the next message; at the end, the tagged reply.
    fn fetch_next(&mut self, mut job: FetchJob) {
        let content = job.items.iter().any(needs_content);
        while job.next < job.targets.len() {
            let uid = job.targets[job.next];
            job.next += 1;
            let Some(view) = self.view() else {
                return;
            };
            if view.index_of(uid).is_none_or(|i| view.messages[i].expunged) && content {
                job.gone = true;
                continue;
            }
            if content {
                let folder = view.folder.clone();
                return self.request(Pending::Fetch(Box::new(job)), Request::Read { folder, uid });
            }
            self.fetch_response(&mut job, uid, None);
        }
        let reply = if job.unknown_cte {
            Reply::no(Some("UNKNOWN-CTE"), "Unknown Content-Transfer-Encoding")
        } else if job.gone {
            failure_reply(&StoreFailure::MessageGone, "FETCH")
        } else {
            Reply::ok("Fetch completed")
        };
        // RFC 9051 7.4.1: no EXPUNGE at the end of FETCH; UID FETCH may.
        self.finish(job.tag, reply, job.uid);
    }

    /// One `* n FETCH (...)` response.
    fn fetch_response(&mut self, job: &mut FetchJob, uid: Uid, content: Option<&[u8]>) {
        let style = self.update_style();
        let utf8 = self.enabled.utf8 || self.enabled.rev2;
        let Some(view) = self.view() else {
            return;
        };
        let Some(index) = view.index_of(uid) else {
            return;
        };
        let message = view.messages[index].clone();
        let parsed = content.map(ParsedMessage::parse);
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let wants = |item: &FetchItem| job.items.contains(item);
        if job.uid && !wants(&FetchItem::Uid) {
            parts.push(format!("UID {}", message.uid).into_bytes());
        }
        for item in &job.items {
            match fetch_item(item, &message, parsed.as_ref(), style.recent, utf8) {
                Ok(Some(bytes)) => parts.push(bytes),
                Ok(None) => {}
                Err(BinaryError::UnknownCte) => job.unknown_cte = true,
                Err(BinaryError::NoSuchPart) => {}
            }
        }
        if job.seen_now.contains(&uid) && !wants(&FetchItem::Flags) {
            let mut flags = b"FLAGS ".to_vec();
            flag_list(&message, style.recent, &mut flags);
            parts.push(flags);
        }
        if job.modseq && !wants(&FetchItem::ModSeq) {
            parts.push(format!("MODSEQ ({})", message.modseq).into_bytes());
        }
        let mut out = format!("* {} FETCH (", index + 1).into_bytes();
        out.extend_from_slice(&parts.join(&b' '));
        out.extend_from_slice(b")\r\n");
        self.send(out);
    }
}

/// One item's response data; `None` for an item that says nothing.
fn fetch_item(
    item: &FetchItem,
    message: &ViewMessage,
    parsed: Option<&ParsedMessage<'_>>,
    recent: bool,
    utf8: bool,
) -> Result<Option<Vec<u8>>, BinaryError> {
    let mut out = Vec::new();
    let with = |name: &str, value: Value| {
        let mut out = name.as_bytes().to_vec();
        out.push(b' ');
        value.encode(&mut out, utf8);
        out
    };
    match item {
        FetchItem::Uid => {
            let _ = write!(out, "UID {}", message.uid);
        }
        FetchItem::Flags => {
            out.extend_from_slice(b"FLAGS ");
            flag_list(message, recent, &mut out);
        }
        FetchItem::InternalDate => {
            let _ = write!(out, "INTERNALDATE \"{}\"", date_time(message.internal_date));
        }
        FetchItem::Rfc822Size => {
            let _ = write!(out, "RFC822.SIZE {}", message.size);
        }
        FetchItem::ModSeq => {
            let _ = write!(out, "MODSEQ ({})", message.modseq);
        }
        _ => {
            let Some(parsed) = parsed else {
                return Ok(None);
            };
            return content_item(item, parsed, utf8, with).map(Some);
        }
    }
    Ok(Some(out))
}

/// An item read from the message itself.
fn content_item(
    item: &FetchItem,
    parsed: &ParsedMessage<'_>,
    utf8: bool,
    with: impl Fn(&str, Value) -> Vec<u8>,
) -> Result<Vec<u8>, BinaryError> {
    let section = |section: Section| {
        parsed
            .section(&section)
            .map(|c| c.into_owned())
            .unwrap_or_default()
    };
    Ok(match item {
        FetchItem::Envelope => with("ENVELOPE", parsed.envelope()),
        FetchItem::Body => with("BODY", parsed.body_structure(false)),
        FetchItem::BodyStructure => with("BODYSTRUCTURE", parsed.body_structure(true)),
        FetchItem::Rfc822 => with("RFC822", Value::Literal(section(Section::default()))),
        FetchItem::Rfc822Header => with(
            "RFC822.HEADER",
            Value::Literal(section(Section {
                part: Vec::new(),
                text: Some(SectionText::Header),
            })),
        ),
        FetchItem::Rfc822Text => with(
            "RFC822.TEXT",
            Value::Literal(section(Section {
                part: Vec::new(),
                text: Some(SectionText::Text),
            })),
        ),
        FetchItem::BodySection {
            section: wanted,
            partial: range,
            ..
        } => {
            let data = section(wanted.clone());
            let name = format!("BODY[{}]{}", section_spec(wanted), origin(*range));
            with(&name, Value::Literal(partial(&data, *range).to_vec()))
        }
        FetchItem::Binary {
            part,
            partial: range,
            ..
        } => {
            let name = format!("BINARY[{}]{}", part_spec(part), origin(*range));
            match parsed.binary(part) {
                Ok(data) => {
                    let data = partial(&data, *range).to_vec();
                    // RFC 3516 4.2: literal8 only where NUL needs it.
                    let value = if data.contains(&0) {
                        Value::Binary(data)
                    } else {
                        Value::Literal(data)
                    };
                    with(&name, value)
                }
                Err(BinaryError::NoSuchPart) => with(&name, Value::Nil),
                Err(error) => return Err(error),
            }
        }
        FetchItem::BinarySize { part } => {
            let name = format!("BINARY.SIZE[{}]", part_spec(part));
            match parsed.binary(part) {
                Ok(data) => with(&name, Value::Number(data.len() as u64)),
                Err(BinaryError::NoSuchPart) => with(&name, Value::Number(0)),
                Err(error) => return Err(error),
            }
        }
        _ => {
            let _ = utf8;
            Vec::new()
        }
    })
}

/// `<origin>` of a partial fetch's response (RFC 9051 7.5.2).
fn origin(range: Option<Partial>) -> String {
    range.map_or_else(String::new, |p| format!("<{}>", p.offset))
}

fn part_spec(part: &[u32]) -> String {
    part.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A section as the response names it: `1.2.HEADER.FIELDS (FROM TO)`.
fn section_spec(section: &Section) -> String {
    let mut spec = part_spec(&section.part);
    let text = match &section.text {
        None => return spec,
        Some(SectionText::Header) => "HEADER".to_owned(),
        Some(SectionText::Text) => "TEXT".to_owned(),
        Some(SectionText::Mime) => "MIME".to_owned(),
        Some(SectionText::HeaderFields(fields)) => {
            format!("HEADER.FIELDS ({})", field_list(fields))
        }
        Some(SectionText::HeaderFieldsNot(fields)) => {
            format!("HEADER.FIELDS.NOT ({})", field_list(fields))
        }
    };
    if !spec.is_empty() {
        spec.push('.');
    }
    spec.push_str(&text);
    spec
}

/// Field names as astrings: atoms as they are, others quoted.
fn field_list(fields: &[String]) -> String {
    fields
        .iter()
        .map(|field| {
            let atom = !field.is_empty()
                && field
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b));
            if atom {
                field.clone()
            } else {
                String::from_utf8_lossy(&Value::string(field.as_str()).to_bytes(true)).into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A body fetch that is not PEEK sets `\Seen` (RFC 9051 6.4.5).
fn sets_seen(item: &FetchItem) -> bool {
    match item {
        FetchItem::Rfc822 | FetchItem::Rfc822Text => true,
        FetchItem::BodySection { peek, .. } | FetchItem::Binary { peek, .. } => !peek,
        _ => false,
    }
}

fn needs_content(item: &FetchItem) -> bool {
    !matches!(
        item,
        FetchItem::Uid
            | FetchItem::Flags
            | FetchItem::InternalDate
            | FetchItem::Rfc822Size
            | FetchItem::ModSeq
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_named_as_asked() {
        let section = Section {
            part: vec![1, 2],
            text: Some(SectionText::HeaderFields(vec!["From".into(), "X Y".into()])),
        };
        assert_eq!(section_spec(&section), "1.2.HEADER.FIELDS (From \"X Y\")");
        assert_eq!(section_spec(&Section::default()), "");
        assert_eq!(
            section_spec(&Section {
                part: vec![],
                text: Some(SectionText::Text)
            }),
            "TEXT"
        );
    }
}
