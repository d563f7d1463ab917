//! What a reply, a reply to all or a forward starts with (RFC 5322 3.6.4
//! and common practice): who it goes to, its subject, the threading
//! fields, and the quoted text. The user edits it before sending.

use super::view::{Body, MessageView, Person};

/// A message being written: the form's fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Draft {
    /// Comma-separated addresses, as the user types them.
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub subject: String,
    pub body: String,
    /// The message replied to (its Message-ID), for In-Reply-To.
    pub in_reply_to: Option<String>,
    /// Message-IDs for References, oldest first.
    pub references: Vec<String>,
}

/// How a new message relates to one the user is reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Reply,
    ReplyAll,
    Forward,
}

impl Answer {
    pub fn parse(text: &str) -> Option<Answer> {
        match text {
            "reply" => Some(Answer::Reply),
            "reply-all" => Some(Answer::ReplyAll),
            "forward" => Some(Answer::Forward),
            _ => None,
        }
    }
}

/// `prefix` before `subject`, unless it starts with it already (in any
/// case): `Re: Re: x` helps nobody.
fn prefixed(prefix: &str, subject: &str) -> String {
    let trimmed = subject.trim();
    let already = trimmed.len() >= prefix.len()
        && trimmed.is_char_boundary(prefix.len())
        && trimmed[..prefix.len()].eq_ignore_ascii_case(prefix);
    if already {
        trimmed.to_owned()
    } else {
        format!("{prefix} {trimmed}")
    }
}

fn join(people: &[Person]) -> String {
    people
        .iter()
        .map(Person::display)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The body as text to quote: the plain text, or the HTML's text.
fn body_text(view: &MessageView) -> String {
    match &view.body {
        Body::Text(text) => text.replace("\r\n", "\n"),
        Body::Html(safe) => html_to_text(&safe.html),
    }
}

/// A rough text of sanitized HTML for quoting: tags dropped, block ends
/// as line breaks, the common entities decoded.
fn html_to_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                if matches!(name, "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3") {
                    text.push('\n');
                }
            }
            (true, c) => tag.push(c),
            (false, c) => text.push(c),
        }
    }
    text.trim_start_matches('\n')
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Starts an answer to `original`, written by `user` (whose own address
/// is left out of a reply to all).
pub fn answer(original: &MessageView, how: Answer, user: &str) -> Draft {
    let summary = &original.summary;
    let author = summary
        .from
        .first()
        .map_or_else(String::new, Person::display);
    let text = body_text(original);
    match how {
        Answer::Reply | Answer::ReplyAll => {
            let reply_to = if original.reply_to.is_empty() {
                &summary.from
            } else {
                &original.reply_to
            };
            let mut cc = Vec::new();
            if how == Answer::ReplyAll {
                let mut seen: Vec<String> = reply_to
                    .iter()
                    .map(|p| p.address.to_ascii_lowercase())
                    .collect();
                seen.push(user.to_ascii_lowercase());
                for person in summary.to.iter().chain(&original.cc) {
                    let address = person.address.to_ascii_lowercase();
                    if !address.is_empty() && !seen.contains(&address) {
                        seen.push(address);
                        cc.push(person.clone());
                    }
                }
            }
            let mut references = original.references.clone();
            references.extend(original.message_id.clone());
            let quoted: String = text.lines().map(|line| format!("> {line}\n")).collect();
            let when = if summary.date.is_empty() {
                String::new()
            } else {
                format!("On {}, ", summary.date)
            };
            Draft {
                to: join(reply_to),
                cc: join(&cc),
                bcc: String::new(),
                subject: prefixed("Re:", &summary.subject),
                body: format!("\n\n{when}{author} wrote:\n{quoted}"),
                in_reply_to: original.message_id.clone(),
                references,
            }
        }
        Answer::Forward => Draft {
            subject: prefixed("Fwd:", &summary.subject),
            body: format!(
                "\n\n---------- Forwarded message ----------\nFrom: {author}\nDate: {}\nSubject: {}\nTo: {}\n\n{text}",
                summary.date,
                summary.subject,
                join(&summary.to),
            ),
            ..Draft::default()
        },
    }
}

/// Splits the To/Cc/Bcc text a user typed into addresses: commas or
/// semicolons between them, `Name <address>` or a bare address. Returns
/// the addresses, or the first piece that is not one.
pub fn split_addresses(text: &str) -> Result<Vec<String>, String> {
    let mut addresses = Vec::new();
    for piece in text.split([',', ';']) {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let address = match (piece.rfind('<'), piece.rfind('>')) {
            (Some(open), Some(close)) if open < close => piece[open + 1..close].trim(),
            _ => piece,
        };
        if crate::address::parse_mailbox(address).is_err() {
            return Err(piece.to_owned());
        }
        addresses.push(address.to_owned());
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests;

/// Why a message from the webmail is not sent: said to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotSent {
    NoRecipients,
    TooManyRecipients {
        max: usize,
    },
    /// Our domain, but no such user (the SMTP path's `550 5.1.1`).
    UnknownLocalUser(String),
    /// An address the user typed is not one.
    BadAddress(String),
    TooLarge {
        size: u64,
        max: u64,
    },
    /// The account may not send as this address (the SMTP path's `553
    /// 5.7.1`).
    NotYourAddress(String),
}

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotSent::NoRecipients => f.write_str("Not sent: give at least one recipient."),
            NotSent::TooManyRecipients { max } => {
                write!(f, "Not sent: at most {max} recipients per message.")
            }
            NotSent::UnknownLocalUser(address) => {
                write!(f, "Not sent: there is no user {address} here.")
            }
            NotSent::BadAddress(text) => write!(f, "Not sent: {text:?} is not an address."),
            NotSent::TooLarge { size, max } => write!(
                f,
                "Not sent: the message with its attachments is {}, and at most {} may be sent.",
                bytesize::ByteSize(*size).display().iec(),
                bytesize::ByteSize(*max).display().iec()
            ),
            NotSent::NotYourAddress(address) => {
                write!(f, "Not sent: this account may not send as {address}.")
            }
        }
    }
}

/// The webmail's submission rules, the same as an authenticated
/// submission session's: the sender must be the user's own address, the
/// recipients resolve (unknown local users are refused, other domains are
/// relayed), and the size and count stay within the instance's limits.
/// `resolved` is each recipient with the directory's verdict.
pub fn check_submission(
    identity: &crate::auth::Identity,
    sender: &str,
    resolved: Vec<(
        crate::address::ForwardPath,
        crate::directory::RecipientVerdict,
    )>,
    size: u64,
    max_size: u64,
    max_recipients: usize,
) -> Result<Vec<crate::envelope::Recipient>, NotSent> {
    use crate::directory::RecipientVerdict;
    use crate::envelope::{Destination, Recipient};
    if !identity.may_send_as(Some(sender)) {
        return Err(NotSent::NotYourAddress(sender.to_owned()));
    }
    if resolved.is_empty() {
        return Err(NotSent::NoRecipients);
    }
    if resolved.len() > max_recipients {
        return Err(NotSent::TooManyRecipients {
            max: max_recipients,
        });
    }
    if size > max_size {
        return Err(NotSent::TooLarge {
            size,
            max: max_size,
        });
    }
    let mut recipients = Vec::new();
    for (forward_path, verdict) in resolved {
        let destination = match verdict {
            RecipientVerdict::Local(mailbox) => Destination::Local(mailbox),
            RecipientVerdict::NotLocal => Destination::Remote,
            RecipientVerdict::UnknownLocalUser => {
                let address = match &forward_path {
                    crate::address::ForwardPath::Mailbox(mailbox) => mailbox.to_string(),
                    other => other.to_string(),
                };
                return Err(NotSent::UnknownLocalUser(address));
            }
        };
        recipients.push(Recipient {
            forward_path,
            destination,
        });
    }
    Ok(recipients)
}

/// The `Received:` field of a message sent from the webmail (RFC 5321
/// 4.4; RFC 3848's `HTTPA`/`HTTPSA` style names the way it came).
pub fn received_field(
    hostname: &str,
    client: std::net::IpAddr,
    tls: bool,
    queue_id: crate::envelope::QueueId,
    date: crate::time::UnixTime,
) -> String {
    let address = match client {
        std::net::IpAddr::V4(v4) => format!("[{v4}]"),
        std::net::IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    };
    let protocol = if tls { "HTTPSA" } else { "HTTPA" };
    format!(
        "Received: from webmail ({address})\r\n\tby {hostname} (Postern) with {protocol} id {queue_id};\r\n\t{}\r\n",
        date.to_rfc5322()
    )
}
