//! NNTP command lines (RFC 3977 3.1, RFC 4642, RFC 4643) and responses.
//!
//! A command is a case-insensitive keyword, then arguments separated by
//! spaces or tabs. Lines arrive here without their CRLF; the machine has
//! already bounded their length
//! ([`NNTP_COMMAND_LINE_BYTES_MAX`](crate::limits::NNTP_COMMAND_LINE_BYTES_MAX)).

use super::store_types::ArticleRange;
use crate::auth::Secret;
use crate::limits::NNTP_MESSAGE_ID_BYTES_MAX;
use std::fmt;

/// Which part of an article ARTICLE, HEAD, BODY and STAT send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Whole,
    Head,
    Body,
    /// STAT: only the status line.
    Status,
}

/// Which article a command names (RFC 3977 6.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// No argument: the current article.
    Current,
    Number(u32),
    MessageId(String),
}

/// What OVER and HDR cover (RFC 3977 8.3, 8.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    Current,
    Range(ArticleRange),
    MessageId(String),
}

/// The keyword after LIST (RFC 3977 7.6, RFC 6048 not included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListKind {
    Active(Option<String>),
    /// RFC 3977 7.6.4: when each group was created, and by whom.
    ActiveTimes(Option<String>),
    Newsgroups(Option<String>),
    OverviewFmt,
    Headers,
}

/// A NEWGROUPS or NEWNEWS date and time (RFC 3977 7.3.2), as sent: a
/// two-digit year is resolved against the server's clock later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewsDate {
    /// The full year, or the last two digits when `two_digit_year`.
    pub year: i32,
    pub two_digit_year: bool,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Capabilities,
    ModeReader,
    Quit,
    Help,
    Date,
    List(ListKind),
    Group(String),
    /// `LISTGROUP [group [range]]`.
    ListGroup(Option<(String, Option<ArticleRange>)>),
    Article(Part, Target),
    Next,
    Last,
    Over(Span),
    /// `legacy` for XHDR, which answers 221 where HDR answers 225.
    Hdr {
        field: String,
        span: Span,
        legacy: bool,
    },
    NewGroups(NewsDate),
    NewNews {
        wildmat: String,
        date: NewsDate,
    },
    Post,
    StartTls,
    AuthinfoUser(String),
    /// RFC 4643 2.3: the password is the rest of the line.
    AuthinfoPass(Secret),
    AuthinfoSasl {
        mechanism: String,
        initial_response: Option<String>,
    },
}

/// Why a command line was not understood; each maps to one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// `500`.
    UnknownCommand,
    /// `501` with the reason.
    Syntax(&'static str),
    /// `501`: not UTF-8, or a control character.
    BadText,
    /// `503`: a LIST keyword RFC 3977 (or common use) defines that this
    /// server does not offer.
    NotSupported(&'static str),
}

impl ParseError {
    pub fn code(self) -> u16 {
        match self {
            ParseError::UnknownCommand => 500,
            ParseError::Syntax(_) | ParseError::BadText => 501,
            ParseError::NotSupported(_) => 503,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownCommand => f.write_str("Unknown command"),
            ParseError::Syntax(what) => write!(f, "Syntax error: {what}"),
            ParseError::BadText => {
                f.write_str("Syntax error: commands are printable UTF-8 without controls")
            }
            ParseError::NotSupported(what) => write!(f, "{what} is not supported here"),
        }
    }
}

/// Parses one command line (without CRLF).
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::BadText)?;
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::BadText);
    }
    let mut words = line.split([' ', '\t']).filter(|w| !w.is_empty());
    let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
    let arguments: Vec<&str> = words.collect();
    let none = |command: Command| {
        if arguments.is_empty() {
            Ok(command)
        } else {
            Err(ParseError::Syntax("this command takes no arguments"))
        }
    };
    let article = |part: Part| match arguments.as_slice() {
        [] => Ok(Command::Article(part, Target::Current)),
        [argument] if argument.starts_with('<') => {
            message_id(argument).map(|id| Command::Article(part, Target::MessageId(id)))
        }
        [argument] => number(argument).map(|n| Command::Article(part, Target::Number(n))),
        _ => Err(ParseError::Syntax("one article number or message-id")),
    };
    match keyword.as_str() {
        "CAPABILITIES" => match arguments.as_slice() {
            // RFC 3977 5.2.2: an optional keyword, ignored.
            [] | [_] => Ok(Command::Capabilities),
            _ => Err(ParseError::Syntax("CAPABILITIES takes at most one keyword")),
        },
        "MODE" => match arguments.as_slice() {
            [mode] if mode.eq_ignore_ascii_case("READER") => Ok(Command::ModeReader),
            _ => Err(ParseError::Syntax("the only mode is MODE READER")),
        },
        "QUIT" => none(Command::Quit),
        "HELP" => none(Command::Help),
        "DATE" => none(Command::Date),
        "POST" => none(Command::Post),
        "NEXT" => none(Command::Next),
        "LAST" => none(Command::Last),
        "STARTTLS" => none(Command::StartTls),
        "LIST" => parse_list(&arguments).map(Command::List),
        "GROUP" => match arguments.as_slice() {
            [group] => Ok(Command::Group((*group).to_owned())),
            _ => Err(ParseError::Syntax("GROUP takes one newsgroup name")),
        },
        "LISTGROUP" => match arguments.as_slice() {
            [] => Ok(Command::ListGroup(None)),
            [group] => Ok(Command::ListGroup(Some(((*group).to_owned(), None)))),
            [group, range_text] => Ok(Command::ListGroup(Some((
                (*group).to_owned(),
                Some(range(range_text)?),
            )))),
            _ => Err(ParseError::Syntax("LISTGROUP [newsgroup [range]]")),
        },
        "ARTICLE" => article(Part::Whole),
        "HEAD" => article(Part::Head),
        "BODY" => article(Part::Body),
        "STAT" => article(Part::Status),
        "OVER" | "XOVER" => match arguments.as_slice() {
            [] => Ok(Command::Over(Span::Current)),
            [argument] => span(argument).map(Command::Over),
            _ => Err(ParseError::Syntax("OVER [range or message-id]")),
        },
        "HDR" | "XHDR" => {
            let legacy = keyword == "XHDR";
            let (field, span) = match arguments.as_slice() {
                [field] => (field, Span::Current),
                [field, argument] => (field, span(argument)?),
                _ => return Err(ParseError::Syntax("HDR field [range or message-id]")),
            };
            Ok(Command::Hdr {
                field: (*field).to_owned(),
                span,
                legacy,
            })
        }
        "NEWGROUPS" => match arguments.as_slice() {
            [date, time] => news_date(date, time).map(Command::NewGroups),
            [date, time, gmt] if gmt.eq_ignore_ascii_case("GMT") => {
                news_date(date, time).map(Command::NewGroups)
            }
            _ => Err(ParseError::Syntax("NEWGROUPS date time [GMT]")),
        },
        "NEWNEWS" => match arguments.as_slice() {
            [wildmat, date, time] => Ok(Command::NewNews {
                wildmat: (*wildmat).to_owned(),
                date: news_date(date, time)?,
            }),
            [wildmat, date, time, gmt] if gmt.eq_ignore_ascii_case("GMT") => Ok(Command::NewNews {
                wildmat: (*wildmat).to_owned(),
                date: news_date(date, time)?,
            }),
            _ => Err(ParseError::Syntax("NEWNEWS wildmat date time [GMT]")),
        },
        "AUTHINFO" => parse_authinfo(line, &arguments),
        _ => Err(ParseError::UnknownCommand),
    }
}

fn parse_list(arguments: &[&str]) -> Result<ListKind, ParseError> {
    let Some((keyword, rest)) = arguments.split_first() else {
        return Ok(ListKind::Active(None));
    };
    let wildmat = || match rest {
        [] => Ok(None),
        [wildmat] => Ok(Some((*wildmat).to_owned())),
        _ => Err(ParseError::Syntax("LIST keyword [wildmat]")),
    };
    match keyword.to_ascii_uppercase().as_str() {
        "ACTIVE" => wildmat().map(ListKind::Active),
        "ACTIVE.TIMES" => wildmat().map(ListKind::ActiveTimes),
        "DISTRIB.PATS" => Err(ParseError::NotSupported("LIST DISTRIB.PATS")),
        "DISTRIBUTIONS" => Err(ParseError::NotSupported("LIST DISTRIBUTIONS")),
        "MOTD" => Err(ParseError::NotSupported("LIST MOTD")),
        "SUBSCRIPTIONS" => Err(ParseError::NotSupported("LIST SUBSCRIPTIONS")),
        "COUNTS" => Err(ParseError::NotSupported("LIST COUNTS")),
        "NEWSGROUPS" => wildmat().map(ListKind::Newsgroups),
        "OVERVIEW.FMT" if rest.is_empty() => Ok(ListKind::OverviewFmt),
        // RFC 3977 8.6: an optional MSGID or RANGE, answered alike here.
        "HEADERS" => match rest {
            [] => Ok(ListKind::Headers),
            [which] if ["MSGID", "RANGE"].contains(&which.to_ascii_uppercase().as_str()) => {
                Ok(ListKind::Headers)
            }
            _ => Err(ParseError::Syntax("LIST HEADERS [MSGID|RANGE]")),
        },
        _ => Err(ParseError::Syntax(
            "LIST ACTIVE, ACTIVE.TIMES, NEWSGROUPS, OVERVIEW.FMT or HEADERS",
        )),
    }
}

fn parse_authinfo(line: &str, arguments: &[&str]) -> Result<Command, ParseError> {
    let Some((kind, rest)) = arguments.split_first() else {
        return Err(ParseError::Syntax("AUTHINFO USER, PASS or SASL"));
    };
    match kind.to_ascii_uppercase().as_str() {
        "USER" => match rest {
            [name] => Ok(Command::AuthinfoUser((*name).to_owned())),
            _ => Err(ParseError::Syntax("AUTHINFO USER name")),
        },
        "PASS" => {
            // The rest of the line after `AUTHINFO PASS `, spaces and all.
            let after = line
                .trim_start()
                .get("AUTHINFO".len()..)
                .map(|s| s.trim_start_matches([' ', '\t']))
                .and_then(|s| s.get("PASS".len()..))
                .and_then(|s| s.strip_prefix([' ', '\t']))
                .unwrap_or_default();
            if after.is_empty() {
                Err(ParseError::Syntax("AUTHINFO PASS password"))
            } else {
                Ok(Command::AuthinfoPass(Secret::new(after)))
            }
        }
        "SASL" => match rest {
            [mechanism] => Ok(Command::AuthinfoSasl {
                mechanism: (*mechanism).to_owned(),
                initial_response: None,
            }),
            [mechanism, response] => Ok(Command::AuthinfoSasl {
                mechanism: (*mechanism).to_owned(),
                initial_response: Some((*response).to_owned()),
            }),
            _ => Err(ParseError::Syntax(
                "AUTHINFO SASL mechanism [initial-response]",
            )),
        },
        _ => Err(ParseError::Syntax("AUTHINFO USER, PASS or SASL")),
    }
}

/// An article number: 1 to 16 digits (RFC 3977 6: numbers are at most
/// 2,147,483,647; larger ones name no article here).
fn number(text: &str) -> Result<u32, ParseError> {
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Syntax("an article number is decimal digits"));
    }
    Ok(text
        .parse::<u64>()
        .map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX)))
}

/// RFC 3977 1.7: `n`, `n-` or `n-m`.
pub fn range(text: &str) -> Result<ArticleRange, ParseError> {
    match text.split_once('-') {
        None => {
            let n = number(text)?;
            Ok(ArticleRange {
                first: n,
                last: Some(n),
            })
        }
        Some((first, "")) => Ok(ArticleRange {
            first: number(first)?,
            last: None,
        }),
        Some((first, last)) => Ok(ArticleRange {
            first: number(first)?,
            last: Some(number(last)?),
        }),
    }
}

fn span(text: &str) -> Result<Span, ParseError> {
    if text.starts_with('<') {
        message_id(text).map(Span::MessageId)
    } else {
        range(text).map(Span::Range)
    }
}

/// RFC 3977 3.6: `<`, at least one printable character, `>`; at most
/// [`NNTP_MESSAGE_ID_BYTES_MAX`] octets.
pub fn message_id(text: &str) -> Result<String, ParseError> {
    let valid = text.len() >= 3
        && text.len() <= NNTP_MESSAGE_ID_BYTES_MAX
        && text.starts_with('<')
        && text.ends_with('>')
        && text[1..text.len() - 1]
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'>' && b != b'<');
    if valid {
        Ok(text.to_owned())
    } else {
        Err(ParseError::Syntax(
            "a message-id is <...> of printable ASCII",
        ))
    }
}

/// RFC 3977 7.3.2: `yymmdd` or `yyyymmdd`, then `hhmmss`.
fn news_date(date: &str, time: &str) -> Result<NewsDate, ParseError> {
    const BAD: ParseError = ParseError::Syntax("the date is yymmdd or yyyymmdd, the time hhmmss");
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(date) || !digits(time) || time.len() != 6 || !matches!(date.len(), 6 | 8) {
        return Err(BAD);
    }
    let field = |s: &str, at: usize| s[at..at + 2].parse::<u8>().map_err(|_| BAD);
    let year_len = date.len() - 4;
    let parsed = NewsDate {
        year: date[..year_len].parse().map_err(|_| BAD)?,
        two_digit_year: year_len == 2,
        month: field(date, year_len)?,
        day: field(date, year_len + 2)?,
        hour: field(time, 0)?,
        minute: field(time, 2)?,
        second: field(time, 4)?,
    };
    let valid = (1..=12).contains(&parsed.month)
        && (1..=31).contains(&parsed.day)
        && parsed.hour < 24
        && parsed.minute < 60
        // A leap second is written 60.
        && parsed.second <= 60;
    if valid { Ok(parsed) } else { Err(BAD) }
}

/// `code text` and CRLF.
pub fn status(out: &mut Vec<u8>, code: u16, text: &str) {
    out.extend_from_slice(format!("{code} {text}\r\n").as_bytes());
}

/// A multi-line response (RFC 3977 3.1.1): the status line, the lines
/// dot-stuffed, then `.`.
pub fn multi_line(out: &mut Vec<u8>, code: u16, text: &str, lines: &[String]) {
    status(out, code, text);
    for line in lines {
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(first: u32, last: Option<u32>) -> ArticleRange {
        ArticleRange { first, last }
    }

    fn date(year: i32, two: bool) -> NewsDate {
        NewsDate {
            year,
            two_digit_year: two,
            month: 11,
            day: 30,
            hour: 12,
            minute: 0,
            second: 5,
        }
    }

    #[test]
    fn command_table() {
        use Command::*;
        let syntax = |what| Err(ParseError::Syntax(what));
        let rows: &[(&str, Result<Command, ParseError>)] = &[
            ("CAPABILITIES", Ok(Capabilities)),
            ("capabilities AUTOUPDATE", Ok(Capabilities)),
            ("mode reader", Ok(ModeReader)),
            ("MODE STREAM", syntax("the only mode is MODE READER")),
            ("QUIT", Ok(Quit)),
            ("quit now", syntax("this command takes no arguments")),
            ("HELP", Ok(Help)),
            ("DATE", Ok(Date)),
            ("POST", Ok(Post)),
            ("NEXT", Ok(Next)),
            ("last", Ok(Last)),
            ("STARTTLS", Ok(StartTls)),
            ("LIST", Ok(List(ListKind::Active(None)))),
            ("LIST ACTIVE", Ok(List(ListKind::Active(None)))),
            (
                "list active local.*",
                Ok(List(ListKind::Active(Some("local.*".into())))),
            ),
            (
                "LIST NEWSGROUPS *",
                Ok(List(ListKind::Newsgroups(Some("*".into())))),
            ),
            ("LIST OVERVIEW.FMT", Ok(List(ListKind::OverviewFmt))),
            ("LIST HEADERS", Ok(List(ListKind::Headers))),
            ("LIST HEADERS msgid", Ok(List(ListKind::Headers))),
            (
                "LIST ACTIVE.TIMES loc*",
                Ok(List(ListKind::ActiveTimes(Some("loc*".into())))),
            ),
            (
                "LIST DISTRIBUTIONS",
                Err(ParseError::NotSupported("LIST DISTRIBUTIONS")),
            ),
            (
                "LIST FROBS",
                syntax("LIST ACTIVE, ACTIVE.TIMES, NEWSGROUPS, OVERVIEW.FMT or HEADERS"),
            ),
            ("GROUP local.general", Ok(Group("local.general".into()))),
            ("GROUP", syntax("GROUP takes one newsgroup name")),
            ("LISTGROUP", Ok(ListGroup(None))),
            ("LISTGROUP a.b", Ok(ListGroup(Some(("a.b".into(), None))))),
            (
                "LISTGROUP a.b 3-",
                Ok(ListGroup(Some(("a.b".into(), Some(r(3, None)))))),
            ),
            ("ARTICLE", Ok(Article(Part::Whole, Target::Current))),
            ("article 3", Ok(Article(Part::Whole, Target::Number(3)))),
            (
                "HEAD <a@b>",
                Ok(Article(Part::Head, Target::MessageId("<a@b>".into()))),
            ),
            ("BODY 0", Ok(Article(Part::Body, Target::Number(0)))),
            (
                "STAT 99999999999",
                Ok(Article(Part::Status, Target::Number(u32::MAX))),
            ),
            ("STAT x", syntax("an article number is decimal digits")),
            ("STAT <a b>", syntax("one article number or message-id")),
            (
                "STAT <>",
                syntax("a message-id is <...> of printable ASCII"),
            ),
            ("OVER", Ok(Over(Span::Current))),
            ("XOVER 1-5", Ok(Over(Span::Range(r(1, Some(5)))))),
            ("OVER 7", Ok(Over(Span::Range(r(7, Some(7)))))),
            ("OVER <x@y>", Ok(Over(Span::MessageId("<x@y>".into())))),
            ("OVER 1-x", syntax("an article number is decimal digits")),
            (
                "HDR Subject 2-",
                Ok(Hdr {
                    field: "Subject".into(),
                    span: Span::Range(r(2, None)),
                    legacy: false,
                }),
            ),
            (
                "xhdr from",
                Ok(Hdr {
                    field: "from".into(),
                    span: Span::Current,
                    legacy: true,
                }),
            ),
            ("HDR", syntax("HDR field [range or message-id]")),
            ("NEWGROUPS 261130 120005", Ok(NewGroups(date(26, true)))),
            (
                "NEWGROUPS 20261130 120005 GMT",
                Ok(NewGroups(date(2026, false))),
            ),
            (
                "NEWGROUPS 2611300 120005",
                syntax("the date is yymmdd or yyyymmdd, the time hhmmss"),
            ),
            (
                "NEWGROUPS 261330 120005",
                syntax("the date is yymmdd or yyyymmdd, the time hhmmss"),
            ),
            (
                "NEWGROUPS 261130 250005",
                syntax("the date is yymmdd or yyyymmdd, the time hhmmss"),
            ),
            (
                "NEWNEWS local.* 20261130 120005",
                Ok(NewNews {
                    wildmat: "local.*".into(),
                    date: date(2026, false),
                }),
            ),
            ("NEWNEWS local.*", syntax("NEWNEWS wildmat date time [GMT]")),
            ("AUTHINFO USER alice", Ok(AuthinfoUser("alice".into()))),
            (
                "authinfo pass correct horse",
                Ok(AuthinfoPass(Secret::new("correct horse"))),
            ),
            ("AUTHINFO PASS", syntax("AUTHINFO PASS password")),
            (
                "AUTHINFO SASL PLAIN",
                Ok(AuthinfoSasl {
                    mechanism: "PLAIN".into(),
                    initial_response: None,
                }),
            ),
            (
                "AUTHINFO SASL PLAIN AGEAYg==",
                Ok(AuthinfoSasl {
                    mechanism: "PLAIN".into(),
                    initial_response: Some("AGEAYg==".into()),
                }),
            ),
            ("AUTHINFO GENERIC x", syntax("AUTHINFO USER, PASS or SASL")),
            ("IHAVE <a@b>", Err(ParseError::UnknownCommand)),
            ("", Err(ParseError::UnknownCommand)),
            ("GROUP a\x01b", Err(ParseError::BadText)),
            ("GROUP\ta.b", Ok(Group("a.b".into()))),
        ];
        for (line, expected) in rows {
            assert_eq!(&parse(line.as_bytes()), expected, "{line:?}");
        }
        assert_eq!(parse(b"GROUP \xff"), Err(ParseError::BadText));
    }

    #[test]
    fn ranges_round_the_rfc_forms() {
        assert_eq!(range("5"), Ok(r(5, Some(5))));
        assert_eq!(range("5-"), Ok(r(5, None)));
        assert_eq!(range("5-9"), Ok(r(5, Some(9))));
        assert_eq!(range("9-5"), Ok(r(9, Some(5))));
        assert!(range("-5").is_err());
        assert!(range("").is_err());
        assert!(range("5--").is_err());
    }

    #[test]
    fn responses_are_dot_stuffed() {
        let mut out = Vec::new();
        status(&mut out, 211, "3 1 3 a.b");
        multi_line(
            &mut out,
            215,
            "list follows",
            &["a.b 3 1 y".into(), ".x".into()],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "211 3 1 3 a.b\r\n215 list follows\r\na.b 3 1 y\r\n..x\r\n.\r\n"
        );
    }
}
