//! SEARCH keys (RFC 9051 6.4.4, RFC 7162 MODSEQ, RFC 5032 WITHIN)
//! evaluated against one message.
//!
//! Text keys match substrings without regard to case (Unicode lower
//! case) on decoded text: header values with RFC 2047 words decoded,
//! bodies with their transfer encoding removed and charset converted to
//! UTF-8. BEFORE, ON and SINCE compare the internal date's day in UTC;
//! SENTBEFORE, SENTON and SENTSINCE the Date: header's day in its own
//! zone (1-Jan-1970 when there is no valid Date:, as in Dovecot). What
//! BODY and TEXT read is Dovecot's choice too: see [`super::section::Texts`].

use super::ParsedMessage;
use crate::imap::command::{Date, SearchKey};
use crate::mailbox::{Flag, Flags, Keywords, ModSeq, Uid};
use crate::time::UnixTime;

/// What the session knows of one message; `message` is `Some` only when
/// [`needs_content`] says the key reads the message.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'m> {
    pub seq: u32,
    pub uid: Uid,
    pub flags: Flags,
    pub keywords: &'m Keywords,
    pub recent: bool,
    pub internal_date: UnixTime,
    pub size: u64,
    pub modseq: ModSeq,
    pub message: Option<&'m ParsedMessage<'m>>,
}

/// What the whole search shares.
#[derive(Clone, Copy, Debug)]
pub struct SearchContext<'s> {
    /// The wall clock, for YOUNGER and OLDER.
    pub now: UnixTime,
    /// `*` in a sequence set.
    pub largest_seq: u32,
    /// `*` in a UID set.
    pub largest_uid: u32,
    /// `$` resolved by the session to UIDs (RFC 5182).
    pub saved: &'s [Uid],
}

/// Whether evaluating `key` reads the message (headers, body or the
/// Date: header); the others need only the session's figures.
pub fn needs_content(key: &SearchKey) -> bool {
    match key {
        SearchKey::And(keys) => keys.iter().any(needs_content),
        SearchKey::Or(a, b) => needs_content(a) || needs_content(b),
        SearchKey::Not(key) => needs_content(key),
        SearchKey::SentBefore(_)
        | SearchKey::SentOn(_)
        | SearchKey::SentSince(_)
        | SearchKey::Bcc(_)
        | SearchKey::Cc(_)
        | SearchKey::From(_)
        | SearchKey::Subject(_)
        | SearchKey::To(_)
        | SearchKey::Header(..)
        | SearchKey::Body(_)
        | SearchKey::Text(_) => true,
        _ => false,
    }
}

/// Whether the candidate matches `key`. A key that needs the content
/// matches nothing when the candidate carries none.
pub fn matches(key: &SearchKey, candidate: &Candidate, context: &SearchContext) -> bool {
    let flag = |flag: Flag| candidate.flags.contains(flag);
    let message = candidate.message;
    match key {
        SearchKey::All => true,
        SearchKey::And(keys) => keys.iter().all(|key| matches(key, candidate, context)),
        SearchKey::Or(a, b) => matches(a, candidate, context) || matches(b, candidate, context),
        SearchKey::Not(key) => !matches(key, candidate, context),
        SearchKey::SequenceSet(set) => match set {
            crate::imap::command::SequenceSet::Saved => context.saved.contains(&candidate.uid),
            _ => set.contains(candidate.seq, context.largest_seq),
        },
        SearchKey::Uid(set) => match set {
            crate::imap::command::SequenceSet::Saved => context.saved.contains(&candidate.uid),
            _ => set.contains(candidate.uid.get(), context.largest_uid),
        },
        SearchKey::Answered => flag(Flag::Answered),
        SearchKey::Deleted => flag(Flag::Deleted),
        SearchKey::Draft => flag(Flag::Draft),
        SearchKey::Flagged => flag(Flag::Flagged),
        SearchKey::Seen => flag(Flag::Seen),
        SearchKey::Unanswered => !flag(Flag::Answered),
        SearchKey::Undeleted => !flag(Flag::Deleted),
        SearchKey::Undraft => !flag(Flag::Draft),
        SearchKey::Unflagged => !flag(Flag::Flagged),
        SearchKey::Unseen => !flag(Flag::Seen),
        SearchKey::Keyword(word) => has_keyword(candidate.keywords, word),
        SearchKey::Unkeyword(word) => !has_keyword(candidate.keywords, word),
        SearchKey::Recent => candidate.recent,
        SearchKey::New => candidate.recent && !flag(Flag::Seen),
        SearchKey::Old => !candidate.recent,
        SearchKey::Before(date) => utc_day(candidate.internal_date) < *date,
        SearchKey::On(date) => utc_day(candidate.internal_date) == *date,
        SearchKey::Since(date) => utc_day(candidate.internal_date) >= *date,
        SearchKey::SentBefore(date) => sent_day(candidate).is_some_and(|day| day < *date),
        SearchKey::SentOn(date) => sent_day(candidate).is_some_and(|day| day == *date),
        SearchKey::SentSince(date) => sent_day(candidate).is_some_and(|day| day >= *date),
        // RFC 5032: YOUNGER n is within the last n seconds, OLDER n
        // before that; each message is exactly one of the two.
        SearchKey::Younger(seconds) => {
            context.now.0.saturating_sub(candidate.internal_date.0) <= i64::from(*seconds)
        }
        SearchKey::Older(seconds) => {
            context.now.0.saturating_sub(candidate.internal_date.0) > i64::from(*seconds)
        }
        SearchKey::Larger(n) => candidate.size > u64::from(*n),
        SearchKey::Smaller(n) => candidate.size < u64::from(*n),
        SearchKey::Bcc(text) => address_contains(message, "Bcc", text),
        SearchKey::Cc(text) => address_contains(message, "Cc", text),
        SearchKey::From(text) => address_contains(message, "From", text),
        SearchKey::Subject(text) => header_contains(message, "Subject", text),
        SearchKey::To(text) => address_contains(message, "To", text),
        SearchKey::Header(name, text) => header_contains(message, name, text),
        SearchKey::Body(text) => message.is_some_and(|m| {
            let needle = text.to_lowercase();
            m.texts().bodies.iter().any(|body| body.contains(&needle))
        }),
        SearchKey::Text(text) => message.is_some_and(|m| {
            let needle = text.to_lowercase();
            let texts = m.texts();
            texts.headers.iter().any(|header| header.contains(&needle))
                || texts.bodies.iter().any(|body| body.contains(&needle))
        }),
        SearchKey::ModSeq(modseq) => candidate.modseq.0 >= *modseq,
    }
}

fn has_keyword(keywords: &Keywords, word: &str) -> bool {
    keywords.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// The UTC calendar day of a moment.
pub(crate) fn utc_day(at: UnixTime) -> Date {
    let date = time::OffsetDateTime::from_unix_timestamp(at.0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    Date {
        // Years before 0 or after 65535 cannot come from a 64-bit Unix
        // time that `time` accepts; clamp rather than wrap.
        year: u16::try_from(date.year()).unwrap_or(0),
        month: u8::from(date.month()),
        day: date.day(),
    }
}

/// The Date: header's day in its own zone. A message without a valid
/// one counts as sent on 1-Jan-1970, as in Dovecot (SENTBEFORE finds it,
/// SENTSINCE does not); SORT and THREAD use the internal date instead,
/// as RFC 5256 says.
fn sent_day(candidate: &Candidate) -> Option<Date> {
    let message = candidate.message?;
    Some(match message.sent() {
        Some(sent) => sent.day,
        None => utc_day(UnixTime(0)),
    })
}

/// Any field named `name` whose decoded value holds `text`; an empty
/// `text` matches any message with the field (RFC 9051 6.4.4 HEADER).
fn header_contains(message: Option<&ParsedMessage>, name: &str, text: &str) -> bool {
    let Some(message) = message else {
        return false;
    };
    let needle = text.to_lowercase();
    message
        .header_fields()
        .filter(|(field, _)| field.eq_ignore_ascii_case(name.as_bytes()))
        .any(|(_, value)| {
            needle.is_empty() || contains(&super::decode::header_text(value), &needle)
        })
}

/// FROM, TO, CC and BCC: any field named `name` whose addresses, written
/// out plainly (`Name <mailbox@host>`, groups as `group: ...;`, comments
/// and route syntax dropped), hold `text`, as Dovecot searches them; an
/// empty `text` matches any message with the field.
fn address_contains(message: Option<&ParsedMessage>, name: &str, text: &str) -> bool {
    let Some(message) = message else {
        return false;
    };
    let needle = text.to_lowercase();
    message
        .header_fields()
        .filter(|(field, _)| field.eq_ignore_ascii_case(name.as_bytes()))
        .any(|(_, value)| {
            needle.is_empty() || {
                let unfolded = super::mime::unfold(value);
                contains(&super::address::plain_list(&unfolded), &needle)
            }
        })
}

/// `needle` is already lower case.
fn contains(haystack: &str, needle: &str) -> bool {
    needle.is_empty() || haystack.to_lowercase().contains(needle)
}
