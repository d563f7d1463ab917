//! The gateways between mail and news (Mailtraq's): mail to a group's
//! address becomes an article in the group, and a group's new articles
//! are mailed to the addresses it names.
//!
//! What one gateway passed on carries [`GATEWAY_FIELD`], and the other
//! never passes it back: an article that came from mail is not mailed
//! out, and mail that came from a group is not posted to it again.

use super::article::{CheckedArticle, Injection, check};
use super::store_types::GroupName;

/// The header field that marks what a gateway made: `mail-to-news` or
/// `news-to-mail`, with the group.
pub const GATEWAY_FIELD: &str = "X-Postern-Gateway";

/// Header fields of a mail that do not belong in an article: news routing
/// fields the mail may carry (they are ours to set) and the envelope's
/// trace.
const DROPPED_FROM_MAIL: &[&str] = &[
    "newsgroups",
    "path",
    "xref",
    "followup-to",
    "injection-info",
    "injection-date",
    "return-path",
    "delivered-to",
];

/// Mail delivered to `group`'s gateway address, as the article to store
/// there: its own header fields with `Newsgroups: GROUP` and our
/// [`GATEWAY_FIELD`], checked like a POST (RFC 5536). A mail without a
/// Subject gets `(no subject)`; one that came from this group through
/// news-to-mail is refused, to stop a loop.
pub fn article_from_mail(
    mail: &[u8],
    group: &GroupName,
    injection: &Injection<'_>,
) -> Result<CheckedArticle, String> {
    let mail = crlf(mail);
    let (head, body) = split(&mail);
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut has_subject = false;
    for field in unfolded_fields(head) {
        let name = field_name(field);
        if name.eq_ignore_ascii_case(GATEWAY_FIELD) {
            return Err(format!(
                "it came from a newsgroup through the news-to-mail gateway ({})",
                String::from_utf8_lossy(field).trim()
            ));
        }
        if DROPPED_FROM_MAIL
            .iter()
            .any(|dropped| name.eq_ignore_ascii_case(dropped))
        {
            continue;
        }
        has_subject |= name.eq_ignore_ascii_case("subject");
        fields.push(field);
    }
    let mut article = Vec::with_capacity(mail.len() + 128);
    for field in fields {
        article.extend_from_slice(field);
    }
    if !has_subject {
        article.extend_from_slice(b"Subject: (no subject)\r\n");
    }
    article.extend_from_slice(format!("Newsgroups: {group}\r\n").as_bytes());
    article.extend_from_slice(format!("{GATEWAY_FIELD}: mail-to-news {group}\r\n").as_bytes());
    article.extend_from_slice(b"\r\n");
    article.extend_from_slice(body);
    check(&article, injection)
}

/// Whether an article came from mail (and so is not mailed out again).
pub fn came_from_mail(article: &[u8]) -> bool {
    let (head, _) = split(article);
    unfolded_fields(head).any(|field| {
        field_name(field).eq_ignore_ascii_case(GATEWAY_FIELD)
            && String::from_utf8_lossy(field).contains("mail-to-news")
    })
}

/// A group's article as the mail its `send_to` addresses get: the
/// article with our [`GATEWAY_FIELD`] and without its `Path`.
pub fn mail_from_article(article: &[u8], group: &GroupName) -> Vec<u8> {
    let (head, body) = split(article);
    let mut mail = Vec::with_capacity(article.len() + 64);
    for field in unfolded_fields(head) {
        if !field_name(field).eq_ignore_ascii_case("path") {
            mail.extend_from_slice(field);
        }
    }
    mail.extend_from_slice(format!("{GATEWAY_FIELD}: news-to-mail {group}\r\n").as_bytes());
    mail.extend_from_slice(b"\r\n");
    mail.extend_from_slice(body);
    mail
}

/// CRLF line ends, whatever the input had.
fn crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 32);
    let mut previous = 0u8;
    for &byte in text {
        if byte == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(byte);
        previous = byte;
    }
    out
}

/// The header section (each line with its CRLF) and the body after the
/// blank line; all header when there is no blank line.
fn split(message: &[u8]) -> (&[u8], &[u8]) {
    if message.starts_with(b"\r\n") {
        return (&[], &message[2..]);
    }
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => (&message[..at + 2], &message[at + 4..]),
        None => (message, &[]),
    }
}

/// Each header field with its continuation lines, CRLFs included.
fn unfolded_fields(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = head;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = 0;
        loop {
            match rest[end..].windows(2).position(|w| w == b"\r\n") {
                Some(at) => end += at + 2,
                None => end = rest.len(),
            }
            if end >= rest.len() || !matches!(rest[end], b' ' | b'\t') {
                break;
            }
        }
        let (field, tail) = rest.split_at(end);
        rest = tail;
        Some(field)
    })
}

fn field_name(field: &[u8]) -> &str {
    let name = field.split(|&b| b == b':').next().unwrap_or_default();
    std::str::from_utf8(name).unwrap_or_default().trim()
}

/// An article relayed by `host` (RFC 5537 3.2): `host!` in front of its
/// `Path`, or a `Path` of its own when it has none.
pub fn relayed(article: &[u8], host: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(article.len() + host.len() + 8);
    let mut rest = article;
    let mut done = false;
    while !done && !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |at| at + 1);
        let (line, tail) = rest.split_at(end);
        if line == b"\r\n" || line == b"\n" {
            out.extend_from_slice(format!("Path: {host}!not-for-mail\r\n").as_bytes());
            out.extend_from_slice(line);
            out.extend_from_slice(tail);
            return out;
        }
        if line.len() > 5 && line[..5].eq_ignore_ascii_case(b"path:") {
            out.extend_from_slice(b"Path: ");
            out.extend_from_slice(host.as_bytes());
            out.push(b'!');
            out.extend_from_slice(line[5..].trim_ascii_start());
            out.extend_from_slice(tail);
            done = true;
        } else {
            out.extend_from_slice(line);
        }
        rest = tail;
    }
    if !done {
        out.extend_from_slice(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::UnixTime;

    fn injection() -> Injection<'static> {
        Injection {
            hostname: "news.example.test",
            message_id: "<made@news.example.test>".to_owned(),
            date: UnixTime(1_796_000_000),
        }
    }

    fn group() -> GroupName {
        GroupName::new("local.general").unwrap()
    }

    #[test]
    fn mail_becomes_an_article_for_the_group() {
        let mail = b"Return-Path: <a@example.test>\nReceived: from x by y\nFrom: Alice <a@example.test>\nTo: general-news@example.test\nSubject: Hello\n  group\nNewsgroups: alt.elsewhere\nMessage-ID: <m1@example.test>\n\nBody line\n";
        let article = article_from_mail(mail, &group(), &injection()).unwrap();
        let text = String::from_utf8(article.bytes).unwrap();
        assert_eq!(article.newsgroups, [group()]);
        assert_eq!(article.message_id, "<m1@example.test>");
        assert!(
            text.starts_with("Path: news.example.test!not-for-mail\r\n"),
            "{text}"
        );
        assert!(text.contains("Subject: Hello\r\n  group\r\n"), "{text}");
        assert!(text.contains("Newsgroups: local.general\r\n"), "{text}");
        assert!(
            !text.contains("alt.elsewhere") && !text.contains("Return-Path"),
            "{text}"
        );
        assert!(
            text.contains("X-Postern-Gateway: mail-to-news local.general\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Date: ") && text.ends_with("\r\n\r\nBody line\r\n"),
            "{text}"
        );
        assert!(came_from_mail(text.as_bytes()));
    }

    #[test]
    fn a_mail_without_subject_gets_one_and_without_from_is_refused() {
        let article =
            article_from_mail(b"From: a@example.test\r\n\r\nx\r\n", &group(), &injection())
                .unwrap();
        assert!(String::from_utf8_lossy(&article.bytes).contains("Subject: (no subject)\r\n"));
        assert_eq!(article.message_id, "<made@news.example.test>");
        let refused = article_from_mail(b"Subject: x\r\n\r\nx\r\n", &group(), &injection());
        assert!(refused.unwrap_err().contains("From"));
    }

    #[test]
    fn what_one_gateway_passed_on_the_other_never_passes_back() {
        let article = b"Path: news.example.test!not-for-mail\r\nFrom: a@example.test\r\nNewsgroups: local.general\r\nSubject: s\r\nMessage-ID: <n1@x>\r\n\r\nbody\r\n";
        assert!(!came_from_mail(article));
        let mail = mail_from_article(article, &group());
        let text = String::from_utf8(mail.clone()).unwrap();
        assert!(!text.contains("Path:"), "{text}");
        assert!(
            text.contains("X-Postern-Gateway: news-to-mail local.general\r\n\r\nbody"),
            "{text}"
        );
        let looped = article_from_mail(&mail, &group(), &injection());
        assert!(looped.unwrap_err().contains("news-to-mail"));
    }

    #[test]
    fn our_name_goes_in_front_of_the_path() {
        assert_eq!(
            relayed(
                b"From: a\r\nPath: up.test!not-for-mail\r\n\r\nbody\r\n",
                "here.test"
            ),
            b"From: a\r\nPath: here.test!up.test!not-for-mail\r\n\r\nbody\r\n"
        );
        assert_eq!(
            relayed(b"From: a\r\n\r\nPath: not a header\r\n", "here.test"),
            b"From: a\r\nPath: here.test!not-for-mail\r\n\r\nPath: not a header\r\n"
        );
    }
}
