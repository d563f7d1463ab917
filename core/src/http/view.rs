//! A message as the webmail shows it, from its bytes (mail-parser): the
//! header fields a reader wants, one body (the plain text, or the HTML
//! sanitized), and the attachments by number.

use super::sanitize::{SafeHtml, sanitize};
use crate::limits::WEBMAIL_SHOWN_BODY_BYTES_MAX;
use mail_parser::{Address, Message, MessageParser, MimeHeaders};

/// One address: its display name (maybe empty) and address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub address: String,
}

impl Person {
    /// `Name <address>`, or the address alone.
    pub fn display(&self) -> String {
        match (self.name.is_empty(), self.address.is_empty()) {
            (true, _) => self.address.clone(),
            (false, true) => self.name.clone(),
            (false, false) => format!("{} <{}>", self.name, self.address),
        }
    }

    /// The name if there is one, else the address: for message lists.
    pub fn short(&self) -> &str {
        if self.name.is_empty() {
            &self.address
        } else {
            &self.name
        }
    }
}

/// The fields of a message list row, from the header section alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub from: Vec<Person>,
    pub to: Vec<Person>,
    pub subject: String,
    /// The Date field as written (RFC 5322), or empty.
    pub date: String,
    /// Seconds since 1970 of the Date field, for sorting; 0 without one.
    pub date_seconds: i64,
    pub has_attachments: bool,
}

/// What the reader sees of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Plain text, shown as text (escaped by the page).
    Text(String),
    /// HTML after sanitizing.
    Html(SafeHtml),
}

/// An attachment, by its number in the message (0 first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub number: usize,
    /// The file name given, or one made up from the number.
    pub name: String,
    /// `type/subtype`, lower-case.
    pub content_type: String,
    /// Octets after decoding.
    pub size: usize,
}

/// A whole message for reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageView {
    pub summary: Summary,
    pub cc: Vec<Person>,
    pub reply_to: Vec<Person>,
    pub message_id: Option<String>,
    /// Message-IDs of `References:`, oldest first.
    pub references: Vec<String>,
    pub body: Body,
    /// True when the body was cut at [`WEBMAIL_SHOWN_BODY_BYTES_MAX`].
    pub body_cut: bool,
    pub attachments: Vec<Attachment>,
}

fn people(address: Option<&Address<'_>>) -> Vec<Person> {
    address.map_or_else(Vec::new, |address| {
        address
            .iter()
            .map(|addr| Person {
                name: addr.name().unwrap_or_default().trim().to_owned(),
                address: addr.address().unwrap_or_default().trim().to_owned(),
            })
            .collect()
    })
}

fn summary_of(message: &Message<'_>) -> Summary {
    Summary {
        from: people(message.from()),
        to: people(message.to()),
        subject: message.subject().unwrap_or_default().to_owned(),
        date: message.date().map(|d| d.to_rfc822()).unwrap_or_default(),
        date_seconds: message.date().map_or(0, |d| d.to_timestamp()),
        has_attachments: message.attachment_count() > 0,
    }
}

/// The list row of a message, parsing only what `bytes` holds (the
/// header section is enough). Without the body the parts are unknown, so
/// a `multipart/mixed` message counts as having attachments (the reading
/// of most mail programs: the other multiparts hold alternatives or
/// related parts of one body).
pub fn summary(bytes: &[u8]) -> Summary {
    MessageParser::default()
        .parse_headers(bytes)
        .map(|message| {
            let mut summary = summary_of(&message);
            summary.has_attachments |= message.content_type().is_some_and(|kind| {
                kind.c_type.eq_ignore_ascii_case("multipart")
                    && kind
                        .c_subtype
                        .as_deref()
                        .is_some_and(|sub| sub.eq_ignore_ascii_case("mixed"))
            });
            summary
        })
        .unwrap_or_default()
}

/// A time as a list shows it when the message has no `Date:` field of
/// its own (its arrival, the IMAP internal date): RFC 5322's format, UTC.
pub fn date_text(time: crate::time::UnixTime) -> String {
    mail_parser::DateTime::from_timestamp(time.0).to_rfc822()
}

/// A message list's short date of `when`, seen `now` (both UTC): the
/// time for today, the day and month for this year, else the day, month
/// and year.
pub fn list_date(when: crate::time::UnixTime, now: crate::time::UnixTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let at = mail_parser::DateTime::from_timestamp(when.0);
    let today = mail_parser::DateTime::from_timestamp(now.0);
    let month = MONTHS[usize::from(at.month.clamp(1, 12)) - 1];
    if (at.year, at.month, at.day) == (today.year, today.month, today.day) {
        format!("{:02}:{:02}", at.hour, at.minute)
    } else if at.year == today.year {
        format!("{} {month}", at.day)
    } else {
        format!("{} {month} {}", at.day, at.year)
    }
}

/// Cuts `text` at `max` octets, on a character boundary.
fn cut(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// The message for reading. The plain text is preferred when there is
/// one and `prefer_html` is false; HTML is always sanitized, its remote
/// images kept only when `remote_images`.
pub fn view(bytes: &[u8], prefer_html: bool, remote_images: bool) -> MessageView {
    let Some(message) = MessageParser::default().parse(bytes) else {
        let text = String::from_utf8_lossy(bytes);
        let (shown, body_cut) = cut(&text, WEBMAIL_SHOWN_BODY_BYTES_MAX);
        return MessageView {
            summary: Summary::default(),
            cc: Vec::new(),
            reply_to: Vec::new(),
            message_id: None,
            references: Vec::new(),
            body: Body::Text(shown.to_owned()),
            body_cut,
            attachments: Vec::new(),
        };
    };
    let html = message
        .body_html(0)
        .filter(|_| message.html_body_count() > 0);
    let text = message
        .body_text(0)
        .filter(|_| message.text_body_count() > 0);
    let only_html = message
        .text_bodies()
        .all(|part| part.is_content_type("text", "html"));
    let (body, body_cut) = match (html, text) {
        (Some(html), _) if prefer_html || only_html => {
            let (shown, was_cut) = cut(&html, WEBMAIL_SHOWN_BODY_BYTES_MAX);
            (Body::Html(sanitize(shown, remote_images)), was_cut)
        }
        (_, Some(text)) => {
            let (shown, was_cut) = cut(&text, WEBMAIL_SHOWN_BODY_BYTES_MAX);
            (Body::Text(shown.to_owned()), was_cut)
        }
        (Some(html), None) => {
            let (shown, was_cut) = cut(&html, WEBMAIL_SHOWN_BODY_BYTES_MAX);
            (Body::Html(sanitize(shown, remote_images)), was_cut)
        }
        (None, None) => (Body::Text(String::new()), false),
    };
    let attachments = message
        .attachments()
        .enumerate()
        .map(|(number, part)| Attachment {
            number,
            name: attachment_name(part.attachment_name(), number),
            content_type: content_type(part),
            size: part.contents().len(),
        })
        .collect();
    MessageView {
        summary: summary_of(&message),
        cc: people(message.cc()),
        reply_to: people(message.reply_to()),
        message_id: message.message_id().map(str::to_owned),
        references: message
            .references()
            .as_text_list()
            .map(|list| list.iter().map(|id| id.to_string()).collect())
            .or_else(|| message.references().as_text().map(|id| vec![id.to_owned()]))
            .unwrap_or_default(),
        body,
        body_cut,
        attachments,
    }
}

fn content_type(part: &mail_parser::MessagePart<'_>) -> String {
    part.content_type().map_or_else(
        || "application/octet-stream".to_owned(),
        |t| format!("{}/{}", t.ctype(), t.subtype().unwrap_or("octet-stream")).to_ascii_lowercase(),
    )
}

/// A file name safe to offer for download: the name given without any
/// directory part or control characters, or `attachment-N` without one.
pub fn attachment_name(given: Option<&str>, number: usize) -> String {
    let cleaned: String = given
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        format!("attachment-{}", number + 1)
    } else {
        cleaned
    }
}

/// Attachment `number` of a message: its name, type and decoded octets.
pub fn attachment(bytes: &[u8], number: usize) -> Option<(Attachment, Vec<u8>)> {
    let message = MessageParser::default().parse(bytes)?;
    let part = message.attachments().nth(number)?;
    let contents = if part.is_message() {
        // An attached message is offered as it was written.
        part.message().map_or_else(
            || part.contents().to_vec(),
            |inner| inner.raw_message().to_vec(),
        )
    } else {
        part.contents().to_vec()
    };
    Some((
        Attachment {
            number,
            name: attachment_name(part.attachment_name(), number),
            content_type: content_type(part),
            size: contents.len(),
        },
        contents,
    ))
}

/// A `Content-Disposition: attachment` value for `name` (RFC 6266): an
/// ASCII fallback and the UTF-8 name percent-encoded, so no name can
/// break out of the header or make the browser show the file inline.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | ';' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests;
