//! The copies a distributed post becomes, and the list's own notices.
//!
//! A post's header is rewritten once ([`rewrite_header`]): list fields it
//! brought from elsewhere (RFC 2369, RFC 2919) and `Precedence:` go, the
//! subject gets the list's tag unless it has it already (a reply), and
//! `Precedence: list` and the trace field `X-BeenThere:` are added. The
//! trace fields of earlier lists stay, so a post that comes back through
//! another list is still recognized. Each subscriber's copy then gets
//! its own fields in front ([`list_headers`]: the list fields with that
//! subscriber's one-click unsubscribe URL) and its own VERP return path.

use super::ListDefinition;
use crate::address::{ForwardPath, Mailbox, ReversePath};
use crate::directory::{Directory, RecipientVerdict};
use crate::envelope::{ClientInfo, Destination, Envelope, Recipient};
use crate::smtp::server::BodyType;
use crate::time::UnixTime;

/// The trace field a list adds to each post it distributes (Mailman's
/// name), so the post is never distributed by it twice.
pub const TRACE_FIELD: &str = "X-BeenThere";

/// Fields of the original header dropped from the copies.
const DROPPED_FIELDS: [&str; 10] = [
    "list-id",
    "list-help",
    "list-subscribe",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-post",
    "list-archive",
    "list-owner",
    "precedence",
    "return-path",
];

/// One message for the queue: a subscriber's copy of a post (its
/// `message` is only the fields to put in front of the rewritten post)
/// or a whole notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    pub envelope: Envelope,
    pub message: Vec<u8>,
}

/// Where the post's header ends: the offset of its body (after the
/// blank line), or the end when there is none.
fn body_start(message: &[u8]) -> usize {
    let mut start = 0;
    while start < message.len() {
        let end = message[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |i| start + i + 1);
        let line = &message[start..end];
        if line == b"\r\n" || line == b"\n" {
            return end;
        }
        start = end;
    }
    message.len()
}

/// The post with its header rewritten for the list (see the module
/// docs), CRLF line endings in what is added.
pub fn rewrite_header(definition: &ListDefinition, message: &[u8]) -> Vec<u8> {
    let split = body_start(message);
    let (header, body) = message.split_at(split);
    let mut out = Vec::with_capacity(message.len() + 200);
    let mut keep = true;
    let mut had_subject = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            continue;
        }
        let continued = line[0] == b' ' || line[0] == b'\t';
        if !continued {
            let colon = line.iter().position(|&b| b == b':').unwrap_or(0);
            let name = String::from_utf8_lossy(line[..colon].trim_ascii()).to_ascii_lowercase();
            keep = !DROPPED_FIELDS.contains(&name.as_str());
            if name == "subject" {
                had_subject = true;
                if let Some(tag) = &definition.subject_tag {
                    let value = &line[colon + 1..];
                    let text = String::from_utf8_lossy(value).to_lowercase();
                    if !text.contains(&tag.to_lowercase()) {
                        out.extend_from_slice(b"Subject: ");
                        out.extend_from_slice(tag.as_bytes());
                        out.push(b' ');
                        out.extend_from_slice(value.trim_ascii_start());
                        continue;
                    }
                }
            }
        }
        if keep {
            out.extend_from_slice(line);
        }
    }
    if !had_subject && let Some(tag) = &definition.subject_tag {
        out.extend_from_slice(format!("Subject: {tag}\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "{TRACE_FIELD}: {}\r\nPrecedence: list\r\n",
            definition.address()
        )
        .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Where the list's web pages and archive are, for its fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct Links<'a> {
    /// `[lists] web_url`: the base of one-click unsubscribe URLs.
    pub web_url: Option<&'a str>,
    /// This server's name, for a `news:` archive URL.
    pub hostname: &'a str,
}

/// The list fields of one subscriber's copy (RFC 2369 3, RFC 2919 2,
/// RFC 8058 3.1), CRLF-terminated. `token` is the subscriber's one-click
/// secret; with a web URL it makes the https unsubscribe URL.
pub fn list_headers(definition: &ListDefinition, links: Links<'_>, token: Option<&str>) -> String {
    let request = definition.request_address();
    let mut fields = String::new();
    let description = definition.description.replace(['"', '\\', '\r', '\n'], " ");
    if description.is_empty() {
        fields.push_str(&format!("List-Id: <{}>\r\n", definition.list_id()));
    } else {
        fields.push_str(&format!(
            "List-Id: \"{description}\" <{}>\r\n",
            definition.list_id()
        ));
    }
    fields.push_str(&format!("List-Help: <mailto:{request}?subject=help>\r\n"));
    fields.push_str(&format!(
        "List-Subscribe: <mailto:{request}?subject=subscribe>\r\n"
    ));
    let one_click = match (links.web_url, token) {
        (Some(base), Some(token)) => Some(format!(
            "{}/lists/unsubscribe/{token}",
            base.trim_end_matches('/')
        )),
        _ => None,
    };
    match &one_click {
        Some(url) => fields.push_str(&format!(
            "List-Unsubscribe: <{url}>, <mailto:{request}?subject=unsubscribe>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        )),
        None => fields.push_str(&format!(
            "List-Unsubscribe: <mailto:{request}?subject=unsubscribe>\r\n"
        )),
    }
    fields.push_str(&format!("List-Post: <mailto:{}>\r\n", definition.address()));
    if let Some(group) = &definition.newsgroup {
        fields.push_str(&format!(
            "List-Archive: <news://{}/{group}>\r\n",
            links.hostname
        ));
    }
    fields
}

/// An address as a mailbox; `None` if it is not one.
pub(super) fn mailbox(address: &str) -> Option<Mailbox> {
    crate::address::parse_mailbox(address).ok()
}

/// The envelope of one message from the list to `to`, with `from` as its
/// return path; `None` when `to` is in one of our domains but no
/// mailbox there (nobody could receive it: sending it out to our own
/// MX would only come back).
pub(super) fn envelope(
    directory: &Directory,
    hostname: &str,
    from: ReversePath,
    to: &Mailbox,
    body: BodyType,
    smtputf8: bool,
) -> Option<Envelope> {
    let forward_path = ForwardPath::Mailbox(to.clone());
    let destination = match directory.resolve(&forward_path) {
        RecipientVerdict::Local(mailbox) => Destination::Local(mailbox),
        RecipientVerdict::NotLocal => Destination::Remote,
        RecipientVerdict::UnknownLocalUser => return None,
    };
    Some(Envelope {
        reverse_path: from,
        recipients: vec![Recipient {
            forward_path,
            destination,
        }],
        body,
        smtputf8,
        client: ClientInfo {
            helo: hostname.to_owned(),
            address: "(mailing list)".to_owned(),
            submitted: true,
        },
    })
}

/// A plain-text notice from the list's request address.
pub(super) struct Notice<'a> {
    pub to: &'a Mailbox,
    pub subject: &'a str,
    pub body: &'a str,
    pub now: UnixTime,
    /// Unique per notice (from the seeded RNG).
    pub id: &'a str,
    /// `auto-replied` for answers to commands, else `auto-generated`
    /// (RFC 3834 5).
    pub auto: &'a str,
}

/// A notice as a queued message, its return path the list's plain
/// bounce address (a notice's bounce counts against nobody); `None` for
/// an address of ours with no mailbox.
pub(super) fn notice(
    definition: &ListDefinition,
    directory: &Directory,
    hostname: &str,
    notice: &Notice<'_>,
) -> Option<Copy> {
    let eight_bit = !notice.body.is_ascii() || !notice.subject.is_ascii();
    let message = format!(
        "From: {request}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@{hostname}>\r\nAuto-Submitted: {auto}\r\nList-Id: <{list_id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{body}",
        request = definition.request_address(),
        to = notice.to,
        subject = notice.subject,
        date = notice.now.to_rfc5322(),
        id = notice.id,
        auto = notice.auto,
        list_id = definition.list_id(),
        cte = if eight_bit { "8bit" } else { "7bit" },
        body = crlf_terminated(notice.body),
    );
    let from =
        mailbox(&definition.bounces_address()).map_or(ReversePath::Null, ReversePath::Mailbox);
    let body = if eight_bit {
        BodyType::EightBitMime
    } else {
        BodyType::SevenBit
    };
    Some(Copy {
        envelope: envelope(
            directory,
            hostname,
            from,
            notice.to,
            body,
            !notice.to.local_part.is_ascii(),
        )?,
        message: message.into_bytes(),
    })
}

/// `text` with CRLF line endings, ending in one.
fn crlf_terminated(text: &str) -> String {
    let mut out = text.replace("\r\n", "\n").replace('\n', "\r\n");
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out
}
