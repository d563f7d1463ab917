//! Posted articles: reading one after `340` (RFC 3977 6.3.1, dot-unstuffed,
//! bounded) and checking it (RFC 5536) before the store gets it.

use super::store_types::GroupName;
use crate::limits::{
    NNTP_MESSAGE_ID_BYTES_MAX, NNTP_NEWSGROUPS_PER_ARTICLE_MAX, NNTP_POSTED_HEADER_FIELDS_MAX,
    TEXT_LINE_BYTES_MAX,
};
use crate::time::UnixTime;

/// Reads a posted article as it arrives, in pieces of any size: lines end
/// in CRLF (a bare LF is taken as a line end too, as INN does), a leading
/// `.` is removed, and a line holding only `.` ends it. Past `max_size`
/// octets nothing more is kept; the rest is read to its end and dropped.
#[derive(Debug)]
pub struct PostDecoder {
    /// The current line, up to [`TEXT_LINE_BYTES_MAX`] octets.
    line: Vec<u8>,
    /// The current line is longer than that: its excess is dropped.
    line_overflowed: bool,
    article: Vec<u8>,
    max_size: u64,
    /// Octets of article content, kept or not.
    size: u64,
    fault: Option<PostFault>,
}

/// What is wrong with an article found while reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostFault {
    TooLarge,
    LineTooLong,
    NulByte,
}

/// How far [`PostDecoder::feed`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// All the input was consumed; the article goes on.
    NeedMore,
    /// The article ended after `consumed` octets; the rest are commands.
    End { consumed: usize },
}

impl PostDecoder {
    pub fn new(max_size: u64) -> Self {
        PostDecoder {
            line: Vec::new(),
            line_overflowed: false,
            article: Vec::new(),
            max_size,
            size: 0,
            fault: None,
        }
    }

    pub fn feed(&mut self, input: &[u8]) -> Progress {
        for (i, &byte) in input.iter().enumerate() {
            if byte != b'\n' {
                if self.line.len() < TEXT_LINE_BYTES_MAX {
                    self.line.push(byte);
                } else {
                    self.line_overflowed = true;
                }
                continue;
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            if self.line == b"." && !self.line_overflowed {
                return Progress::End { consumed: i + 1 };
            }
            self.end_line();
        }
        Progress::NeedMore
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.line_overflowed) {
            self.fail(PostFault::LineTooLong);
        }
        let content = line.strip_prefix(b".").unwrap_or(&line);
        if content.contains(&0) {
            self.fail(PostFault::NulByte);
        }
        self.size += content.len() as u64 + 2;
        if self.size > self.max_size {
            self.fail(PostFault::TooLarge);
        }
        if self.fault.is_none() {
            self.article.extend_from_slice(content);
            self.article.extend_from_slice(b"\r\n");
        }
    }

    /// The first fault is the one reported, but too large wins: the
    /// client should know not to send it again.
    fn fail(&mut self, fault: PostFault) {
        if fault == PostFault::TooLarge {
            self.fault = Some(fault);
            self.article = Vec::new();
        } else {
            self.fault.get_or_insert(fault);
        }
    }

    /// The article, or what was wrong with it.
    pub fn finish(self) -> Result<Vec<u8>, PostFault> {
        match self.fault {
            Some(fault) => Err(fault),
            None => Ok(self.article),
        }
    }
}

impl PostFault {
    pub fn reason(self) -> &'static str {
        match self {
            PostFault::TooLarge => "article too large",
            PostFault::LineTooLong => "a line is longer than 998 octets (RFC 5322 2.1.1)",
            PostFault::NulByte => "a NUL octet in the article",
        }
    }
}

/// What the machine adds to a posted article.
#[derive(Clone, Debug)]
pub struct Injection<'a> {
    /// Our name, prepended to `Path:` (RFC 5536 3.1.5).
    pub hostname: &'a str,
    /// Used when the article has no `Message-ID:`.
    pub message_id: String,
    /// Used when the article has no `Date:`.
    pub date: UnixTime,
}

/// An article that passed the checks, as the store is to keep it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedArticle {
    pub bytes: Vec<u8>,
    pub newsgroups: Vec<GroupName>,
    pub message_id: String,
}

/// One header field: its name and its value, unfolded lines joined.
struct Field<'a> {
    name: &'a str,
    /// The raw field, every line, with CRLFs.
    raw: &'a [u8],
    value: String,
}

/// RFC 5536 3: checks a posted article (CRLF lines) and returns it as it
/// is to be stored, or the reason for the `441`.
pub fn check(article: &[u8], injection: &Injection<'_>) -> Result<CheckedArticle, String> {
    let (fields, body) = split_fields(article)?;
    let one = |name: &str| -> Result<Option<&Field<'_>>, String> {
        let mut found = fields.iter().filter(|f| f.name.eq_ignore_ascii_case(name));
        let first = found.next();
        if found.next().is_some() {
            return Err(format!("more than one {name} header field"));
        }
        Ok(first)
    };
    let required = |name: &str| -> Result<&Field<'_>, String> {
        match one(name)? {
            Some(field) if !field.value.trim().is_empty() => Ok(field),
            Some(_) => Err(format!("the {name} header field is empty")),
            None => Err(format!("no {name} header field (RFC 5536 3.1)")),
        }
    };
    required("From")?;
    required("Subject")?;
    let newsgroups = parse_newsgroups(&required("Newsgroups")?.value)?;
    let message_id = match one("Message-ID")? {
        Some(field) => {
            let id = field.value.trim();
            if !valid_message_id(id) {
                return Err(format!(
                    "the Message-ID {:?} is not <left@right> (RFC 5536 3.1.3)",
                    crate::text::bounded(id, 80)
                ));
            }
            Some(id.to_owned())
        }
        None => None,
    };
    let date = match one("Date")? {
        Some(field) => {
            if !valid_date(field.value.trim()) {
                return Err("the Date header field is not an RFC 5322 date".to_owned());
            }
            true
        }
        None => false,
    };
    let path = one("Path")?.map(|f| f.value.trim().to_owned());

    let mut out = Vec::with_capacity(article.len() + 200);
    let path = match path {
        Some(path) if !path.is_empty() => format!("{}!{path}", injection.hostname),
        _ => format!("{}!not-for-mail", injection.hostname),
    };
    out.extend_from_slice(format!("Path: {path}\r\n").as_bytes());
    for field in fields
        .iter()
        .filter(|f| !f.name.eq_ignore_ascii_case("Path"))
    {
        out.extend_from_slice(field.raw);
    }
    if !date {
        out.extend_from_slice(format!("Date: {}\r\n", injection.date.to_rfc5322()).as_bytes());
    }
    let message_id = match message_id {
        Some(id) => id,
        None => {
            out.extend_from_slice(format!("Message-ID: {}\r\n", injection.message_id).as_bytes());
            injection.message_id.clone()
        }
    };
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(CheckedArticle {
        bytes: out,
        newsgroups,
        message_id,
    })
}

/// The header fields and the body (after the empty line).
fn split_fields(article: &[u8]) -> Result<(Vec<Field<'_>>, &[u8]), String> {
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut at = 0;
    loop {
        let Some(end) = article[at..].windows(2).position(|w| w == b"\r\n") else {
            return Err("the header section does not end with an empty line".to_owned());
        };
        let line = &article[at..at + end];
        let next = at + end + 2;
        if line.is_empty() {
            if fields.is_empty() {
                return Err("the article has no header section".to_owned());
            }
            return Ok((fields, &article[next..]));
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| "a header field is not UTF-8 (RFC 6532)".to_owned())?;
        if line[0] == b' ' || line[0] == b'\t' {
            let Some(last) = fields.last_mut() else {
                return Err("the header section starts with a continuation line".to_owned());
            };
            last.value.push_str(text);
            // The field's raw bytes run on to include this line.
            let start = last.raw.as_ptr() as usize - article.as_ptr() as usize;
            last.raw = &article[start..next];
        } else {
            let Some((name, value)) = text.split_once(':') else {
                return Err(format!(
                    "a header line without a colon: {:?}",
                    crate::text::bounded(text, 60)
                ));
            };
            if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b)) {
                return Err(format!(
                    "a bad header field name: {:?}",
                    crate::text::bounded(name, 60)
                ));
            }
            if fields.len() == NNTP_POSTED_HEADER_FIELDS_MAX {
                return Err(format!(
                    "more than {NNTP_POSTED_HEADER_FIELDS_MAX} header fields"
                ));
            }
            fields.push(Field {
                name,
                raw: &article[at..next],
                value: value.to_owned(),
            });
        }
        at = next;
    }
}

/// RFC 5536 3.1.4: group names separated by commas (spaces around them
/// tolerated), each valid, at most [`NNTP_NEWSGROUPS_PER_ARTICLE_MAX`];
/// a name given twice counts once.
fn parse_newsgroups(value: &str) -> Result<Vec<GroupName>, String> {
    let mut groups: Vec<GroupName> = Vec::new();
    for name in value.split(',').map(str::trim) {
        let group = GroupName::new(name).map_err(|error| {
            format!(
                "Newsgroups: {:?} is not a newsgroup name: {error}",
                crate::text::bounded(name, 60)
            )
        })?;
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    if groups.len() > NNTP_NEWSGROUPS_PER_ARTICLE_MAX {
        return Err(format!(
            "posted to {} newsgroups; at most {NNTP_NEWSGROUPS_PER_ARTICLE_MAX} are allowed",
            groups.len()
        ));
    }
    Ok(groups)
}

/// RFC 5536 3.1.3: `<id-left@id-right>`, printable ASCII, no spaces, at
/// most 250 octets.
pub fn valid_message_id(id: &str) -> bool {
    let Some(inner) = id.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return false;
    };
    let Some((left, right)) = inner.split_once('@') else {
        return false;
    };
    id.len() <= NNTP_MESSAGE_ID_BYTES_MAX
        && !left.is_empty()
        && !right.is_empty()
        && inner
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !b"<>".contains(&b))
        && !right.contains('@')
}

/// An RFC 5322 3.3 date-time (mail-parser's reading, which allows the
/// obsolete forms and a trailing comment such as `(UTC)`).
fn valid_date(value: &str) -> bool {
    mail_parser::DateTime::parse_rfc822(value).is_some_and(|date| date.is_valid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]], max: u64) -> (Result<Vec<u8>, PostFault>, Progress) {
        let mut decoder = PostDecoder::new(max);
        let mut progress = Progress::NeedMore;
        for chunk in chunks {
            progress = decoder.feed(chunk);
        }
        (decoder.finish(), progress)
    }

    #[test]
    fn decoder_unstuffs_and_finds_the_end_across_pieces() {
        let (article, progress) = decode(&[b"a\r\n..b\r", b"\n.", b"\r\nQUIT\r\n"], 100);
        assert_eq!(article, Ok(b"a\r\n.b\r\n".to_vec()));
        assert_eq!(progress, Progress::End { consumed: 2 });
        let (article, _) = decode(&[b"bare\nlf\n.\n"], 100);
        assert_eq!(article, Ok(b"bare\r\nlf\r\n".to_vec()));
    }

    #[test]
    fn decoder_faults() {
        let (article, progress) = decode(&[&[b'x'; 50], b"\r\n", &[b'y'; 60], b"\r\n.\r\n"], 100);
        assert_eq!(article, Err(PostFault::TooLarge));
        assert_eq!(progress, Progress::End { consumed: 5 });
        let long = vec![b'z'; TEXT_LINE_BYTES_MAX + 5];
        let (article, _) = decode(&[&long, b"\r\n.\r\n"], 1 << 20);
        assert_eq!(article, Err(PostFault::LineTooLong));
        let (article, _) = decode(&[b"a\0b\r\n.\r\n"], 100);
        assert_eq!(article, Err(PostFault::NulByte));
    }

    fn injection() -> Injection<'static> {
        Injection {
            hostname: "news.example.test",
            message_id: "<1.2@news.example.test>".into(),
            date: UnixTime(1_795_212_959),
        }
    }

    const GOOD: &str = "From: alice@example.test\r\nNewsgroups: local.general, local.test\r\nSubject: hi\r\n\r\nbody\r\n";

    #[test]
    fn a_good_article_gets_path_date_and_message_id() {
        let checked = check(GOOD.as_bytes(), &injection()).unwrap();
        assert_eq!(
            String::from_utf8(checked.bytes).unwrap(),
            "Path: news.example.test!not-for-mail\r\nFrom: alice@example.test\r\n\
Newsgroups: local.general, local.test\r\nSubject: hi\r\n\
Date: Fri, 20 Nov 2026 22:15:59 +0000\r\nMessage-ID: <1.2@news.example.test>\r\n\r\nbody\r\n"
        );
        assert_eq!(checked.message_id, "<1.2@news.example.test>");
        assert_eq!(
            checked.newsgroups,
            vec![
                GroupName::new("local.general").unwrap(),
                GroupName::new("local.test").unwrap()
            ]
        );
        let own = "Path: upstream!x\r\nFrom: a@b\r\nNewsgroups: a.b\r\nSubject: s\r\n \
folded\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000 (UTC)\r\nMessage-ID: <own@b>\r\n\r\n";
        let checked = check(own.as_bytes(), &injection()).unwrap();
        assert_eq!(
            String::from_utf8(checked.bytes).unwrap(),
            "Path: news.example.test!upstream!x\r\nFrom: a@b\r\nNewsgroups: a.b\r\nSubject: s\r\n \
folded\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000 (UTC)\r\nMessage-ID: <own@b>\r\n\r\n"
        );
        assert_eq!(checked.message_id, "<own@b>");
    }

    #[test]
    fn bad_articles_get_the_reason() {
        let rows: &[(&str, &str)] = &[
            ("\r\nbody\r\n", "the article has no header section"),
            (
                "From: a@b\r\n",
                "the header section does not end with an empty line",
            ),
            (
                " x\r\n\r\n",
                "the header section starts with a continuation line",
            ),
            (
                "no colon\r\n\r\n",
                "a header line without a colon: \"no colon\"",
            ),
            (
                "Newsgroups: a.b\r\nSubject: s\r\n\r\n",
                "no From header field (RFC 5536 3.1)",
            ),
            (
                "From: a@b\r\nNewsgroups: a.b\r\n\r\n",
                "no Subject header field (RFC 5536 3.1)",
            ),
            (
                "From: a@b\r\nSubject: s\r\n\r\n",
                "no Newsgroups header field (RFC 5536 3.1)",
            ),
            (
                "From: a@b\r\nSubject:  \r\nNewsgroups: a.b\r\n\r\n",
                "the Subject header field is empty",
            ),
            (
                "From: a@b\r\nFrom: c@d\r\nSubject: s\r\nNewsgroups: a.b\r\n\r\n",
                "more than one From header field",
            ),
            (
                "From: a@b\r\nSubject: s\r\nNewsgroups: Bad.Group\r\n\r\n",
                "Newsgroups: \"Bad.Group\" is not a newsgroup name: 'B' is not allowed in a newsgroup name: use lowercase letters, digits, `+`, `-`, `_` and dots",
            ),
            (
                "From: a@b\r\nSubject: s\r\nNewsgroups: a.b,\r\n\r\n",
                "Newsgroups: \"\" is not a newsgroup name: a newsgroup name cannot be empty",
            ),
            (
                "From: a@b\r\nSubject: s\r\nNewsgroups: a.b\r\nMessage-ID: nope\r\n\r\n",
                "the Message-ID \"nope\" is not <left@right> (RFC 5536 3.1.3)",
            ),
            (
                "From: a@b\r\nSubject: s\r\nNewsgroups: a.b\r\nDate: yesterday\r\n\r\n",
                "the Date header field is not an RFC 5322 date",
            ),
        ];
        for (article, reason) in rows {
            assert_eq!(
                check(article.as_bytes(), &injection()).map(|_| ()),
                Err((*reason).to_owned()),
                "{article:?}"
            );
        }
        let many: Vec<String> = (0..=NNTP_NEWSGROUPS_PER_ARTICLE_MAX)
            .map(|i| format!("g.n{i}"))
            .collect();
        let article = format!(
            "From: a@b\r\nSubject: s\r\nNewsgroups: {}\r\n\r\n",
            many.join(",")
        );
        assert_eq!(
            check(article.as_bytes(), &injection()).map(|_| ()),
            Err(format!(
                "posted to {} newsgroups; at most {NNTP_NEWSGROUPS_PER_ARTICLE_MAX} are allowed",
                NNTP_NEWSGROUPS_PER_ARTICLE_MAX + 1
            ))
        );
    }

    #[test]
    fn message_ids() {
        assert!(valid_message_id("<a@b>"));
        assert!(valid_message_id("<a.b$c@d.e>"));
        for bad in [
            "a@b", "<ab>", "<@b>", "<a@>", "<a b@c>", "<a@b@c>", "<a<@b>",
        ] {
            assert!(!valid_message_id(bad), "{bad}");
        }
        let long = format!("<{}@b>", "a".repeat(NNTP_MESSAGE_ID_BYTES_MAX));
        assert!(!valid_message_id(&long));
    }
}
