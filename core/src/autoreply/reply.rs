//! The vacation reply: whether RFC 3834 allows one, and the message.

use super::{Arrival, NoReply, Vacation, VacationReply, canonical, sender};
use crate::address::{ForwardPath, Mailbox, ReversePath};
use crate::directory::RecipientVerdict;
use crate::envelope::{ClientInfo, Destination, Envelope, Recipient};
use crate::limits::{
    LOGGED_PEER_TEXT_BYTES_MAX, QUOTED_MESSAGE_ID_BYTES_MAX, TEXT_LINE_BYTES_MAX,
    VACATION_REFERENCES_MAX, VACATION_SUBJECT_BYTES_MAX,
};
use crate::smtp::server::BodyType;
use crate::text::bounded;
use base64::Engine;

/// RFC 2045 6.8: base64 lines of at most 76 characters.
const BASE64_LINE_OCTETS: usize = 76;

/// RFC 2047 2: an encoded word is at most 75 characters; 45 octets of
/// UTF-8 become 60 of base64, and with `=?utf-8?b?` and `?=` 72.
const ENCODED_WORD_TEXT_OCTETS: usize = 45;

/// Fields that mark a mailing list's message (RFC 2369 3, RFC 2919 3).
const LIST_FIELDS: [&str; 7] = [
    "list-id",
    "list-unsubscribe",
    "list-post",
    "list-help",
    "list-subscribe",
    "list-owner",
    "list-archive",
];

/// Local parts of senders that are programs, not people (RFC 3834 2 names
/// `MAILER-DAEMON`, `owner-*` and `*-request`; the others are their kin).
const ROBOT_LOCAL_PARTS: [&str; 9] = [
    "mailer-daemon",
    "mailer",
    "postmaster",
    "listserv",
    "majordomo",
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
];
const ROBOT_PREFIXES: [&str; 1] = ["owner-"];
const ROBOT_SUFFIXES: [&str; 4] = ["-request", "-owner", "-bounces", "-errors"];

/// The vacation rules, in the order the module docs give them, then the
/// reply.
pub(super) fn decide(
    vacation: &Vacation,
    arrival: &Arrival<'_>,
    own: &[String],
) -> Result<VacationReply, NoReply> {
    let today = super::day_of(arrival.now);
    let day = |text: &Option<String>| text.as_deref().and_then(|t| super::parse_day(t).ok());
    if day(&vacation.start).is_some_and(|start| today < start) {
        return Err(NoReply::NotStarted);
    }
    if day(&vacation.end).is_some_and(|end| today > end) {
        return Err(NoReply::Ended);
    }
    let Some(sender) = sender(&arrival.envelope.reverse_path) else {
        return Err(NoReply::NullSender);
    };
    let headers = arrival.headers;
    if let Some(value) = headers.first("auto-submitted") {
        let keyword = value
            .split(|c: char| c == ';' || c == '(' || c.is_whitespace())
            .next()
            .unwrap_or("");
        if !keyword.eq_ignore_ascii_case("no") {
            return Err(NoReply::AutoSubmitted(
                bounded(value, LOGGED_PEER_TEXT_BYTES_MAX).into_owned(),
            ));
        }
    }
    if let Some(value) = headers.first("precedence") {
        let value = value.trim().to_ascii_lowercase();
        if ["bulk", "list", "junk"].contains(&value.as_str()) {
            return Err(NoReply::Precedence(value));
        }
    }
    if let Some(field) = LIST_FIELDS.iter().find(|f| headers.first(f).is_some()) {
        return Err(NoReply::ListMessage(field));
    }
    let address = sender.to_string().to_lowercase();
    if is_robot(&sender.local_part) {
        return Err(NoReply::RobotSender(address));
    }
    if own.contains(&address) {
        return Err(NoReply::OwnAddress);
    }
    if !headers.recipients.iter().any(|r| own.contains(r)) {
        return Err(NoReply::NotAddressedToUser);
    }
    if let Some(at) = arrival.memory.last_reply(&address)
        && arrival.now.0 < at.0 + i64::from(vacation.days) * 86_400
    {
        return Err(NoReply::RepliedRecently(at));
    }
    let forward_path = ForwardPath::Mailbox(sender.clone());
    let destination = match arrival.directory.resolve(&forward_path) {
        RecipientVerdict::Local(mailbox) => Destination::Local(mailbox),
        RecipientVerdict::NotLocal => Destination::Remote,
        RecipientVerdict::UnknownLocalUser => return Err(NoReply::UnknownLocalSender),
    };
    let from = reply_from(arrival, own);
    let message = message(vacation, arrival, sender, &from);
    let envelope = Envelope {
        reverse_path: ReversePath::Null,
        recipients: vec![Recipient {
            forward_path,
            destination,
        }],
        body: if message.is_ascii() {
            BodyType::SevenBit
        } else {
            BodyType::EightBitMime
        },
        smtputf8: !sender.is_ascii() || !from.is_ascii(),
        client: ClientInfo {
            helo: arrival.hostname.to_owned(),
            address: format!("(vacation of {})", canonical(arrival)),
            submitted: true,
        },
    };
    Ok(VacationReply {
        envelope,
        message,
        sender: address,
        days: vacation.days,
    })
}

fn is_robot(local_part: &str) -> bool {
    let local = local_part.to_ascii_lowercase();
    ROBOT_LOCAL_PARTS.contains(&local.as_str())
        || ROBOT_PREFIXES.iter().any(|p| local.starts_with(p))
        || ROBOT_SUFFIXES.iter().any(|s| local.ends_with(s))
}

/// RFC 3834 3.1.4: the reply comes from the address the message was sent
/// to: the first of the mailbox's addresses in a recipient field (an
/// alias the sender used), else the mailbox's own.
fn reply_from(arrival: &Arrival<'_>, own: &[String]) -> String {
    arrival
        .headers
        .recipients
        .iter()
        .find(|r| own.contains(r))
        .cloned()
        .unwrap_or_else(|| canonical(arrival))
}

/// The reply message, CRLF line ends.
fn message(vacation: &Vacation, arrival: &Arrival<'_>, sender: &Mailbox, from: &str) -> Vec<u8> {
    let headers = arrival.headers;
    let subject = match &vacation.subject {
        Some(subject) => subject.clone(),
        None => {
            let original = headers.subject.as_deref().unwrap_or("").trim();
            let original: String = original
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            if original.is_empty() {
                "Auto: (no subject)".to_owned()
            } else {
                format!("Auto: {original}")
            }
        }
    };
    let subject = bounded(&subject, VACATION_SUBJECT_BYTES_MAX).into_owned();
    let mut text = String::new();
    let mut line = |l: &str| {
        text.push_str(l);
        text.push_str("\r\n");
    };
    line(&format!("From: <{from}>"));
    line(&format!("To: <{sender}>"));
    line(&format!("Subject: {}", encode_words(&subject)));
    line(&format!("Date: {}", arrival.now.to_rfc5322()));
    line(&format!(
        "Message-ID: <vacation.{}.{:016x}@{}>",
        arrival.queue_id,
        fnv1a(canonical(arrival).as_bytes()),
        arrival.hostname
    ));
    let original = headers.message_id.as_deref().filter(|id| is_msg_id(id));
    if let Some(id) = original {
        line(&format!("In-Reply-To: <{id}>"));
    }
    let mut references: Vec<&str> = headers
        .references
        .iter()
        .map(String::as_str)
        .filter(|id| is_msg_id(id))
        .collect();
    references.extend(original);
    let skip = references.len().saturating_sub(VACATION_REFERENCES_MAX);
    if let Some((first, rest)) = references[skip..].split_first() {
        let mut field = format!("References: <{first}>");
        for id in rest {
            field.push_str(&format!("\r\n <{id}>"));
        }
        line(&field);
    }
    line("Auto-Submitted: auto-replied");
    line("MIME-Version: 1.0");
    let body = vacation.body.replace('\n', "\r\n");
    let charset = if body.is_ascii() { "us-ascii" } else { "utf-8" };
    line(&format!("Content-Type: text/plain; charset={charset}"));
    // RFC 5322 2.1.1: lines of at most 998 octets; longer ones travel in
    // base64, which any reader decodes.
    let long = body
        .split("\r\n")
        .any(|l| l.len() > TEXT_LINE_BYTES_MAX - 2);
    let body = if long {
        line("Content-Transfer-Encoding: base64");
        let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(BASE64_LINE_OCTETS)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or(""))
            .collect();
        lines.join("\r\n")
    } else if body.is_ascii() {
        line("Content-Transfer-Encoding: 7bit");
        body
    } else {
        line("Content-Transfer-Encoding: 8bit");
        body
    };
    line("");
    line(&body);
    text.into_bytes()
}

/// A Message-ID's inside as a reply may quote it: printable ASCII with
/// no brackets or spaces, short enough for one line.
fn is_msg_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= QUOTED_MESSAGE_ID_BYTES_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
}

/// RFC 2047 encoded words for a header text that is not ASCII (`=?utf-8?b?`,
/// whole characters per word, each word within 75 octets); ASCII as is.
fn encode_words(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > ENCODED_WORD_TEXT_OCTETS {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|word| {
            format!(
                "=?utf-8?b?{}?=",
                base64::engine::general_purpose::STANDARD.encode(word.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// FNV-1a: a stable 64-bit digest (not a secret), to tell apart the
/// replies of two mailboxes to one message.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
