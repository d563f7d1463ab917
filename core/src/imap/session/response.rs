//! Status responses, the form of dates and flags, and what a store
//! failure tells the client.

use super::StoreFailure;
use crate::imap::command::{DateTime, FlagName};
use crate::mailbox::{Flag, Flags, Keywords, keyword};
use crate::time::UnixTime;

/// RFC 9051 7.1: the result of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
        }
    }
}

/// A tagged status response: its result, response code and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: Status,
    /// The response code without its brackets (`READ-WRITE`,
    /// `COPYUID 5 1:2 7:8`).
    pub code: Option<String>,
    pub text: String,
}

impl Reply {
    pub fn ok(text: impl Into<String>) -> Reply {
        Reply {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    pub fn ok_code(code: impl Into<String>, text: impl Into<String>) -> Reply {
        Reply {
            status: Status::Ok,
            code: Some(code.into()),
            text: text.into(),
        }
    }

    pub fn no(code: Option<&str>, text: impl Into<String>) -> Reply {
        Reply {
            status: Status::No,
            code: code.map(str::to_owned),
            text: text.into(),
        }
    }

    pub fn bad(text: impl Into<String>) -> Reply {
        Reply {
            status: Status::Bad,
            code: None,
            text: text.into(),
        }
    }

    /// `tag OK [CODE] text` (or `*` for an untagged one).
    pub fn encode(&self, tag: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(tag.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.status.word().as_bytes());
        if let Some(code) = &self.code {
            out.extend_from_slice(b" [");
            out.extend_from_slice(code.as_bytes());
            out.push(b']');
        }
        out.push(b' ');
        out.extend_from_slice(self.text.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// What a store failure tells the client of `command`.
pub fn failure_reply(failure: &StoreFailure, command: &str) -> Reply {
    match failure {
        StoreFailure::NoSuchFolder => {
            if matches!(
                command,
                "APPEND" | "COPY" | "MOVE" | "UID COPY" | "UID MOVE"
            ) {
                Reply::no(Some("TRYCREATE"), "Mailbox doesn't exist")
            } else {
                Reply::no(Some("NONEXISTENT"), "Mailbox doesn't exist")
            }
        }
        StoreFailure::AlreadyExists => Reply::no(Some("ALREADYEXISTS"), "Mailbox already exists"),
        StoreFailure::OverQuota => Reply::no(Some("OVERQUOTA"), "Quota exceeded"),
        StoreFailure::MessageGone => Reply::no(
            Some("EXPUNGEISSUED"),
            "Some of the requested messages no longer exist",
        ),
        StoreFailure::InUse => Reply::no(Some("INUSE"), "Mailbox is in use, try again later"),
        StoreFailure::Cannot(why) => Reply::no(Some("CANNOT"), why.clone()),
        StoreFailure::Failed => Reply::no(
            Some("SERVERBUG"),
            format!("{command} failed: internal error, try again later"),
        ),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// RFC 9051 9 `date-time` in UTC: `17-Jul-1996 09:44:25 +0000`.
pub fn date_time(at: UnixTime) -> String {
    let at =
        time::OffsetDateTime::from_unix_timestamp(at.0).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:02}-{}-{:04} {:02}:{:02}:{:02} +0000",
        at.day(),
        MONTHS[usize::from(u8::from(at.month())) - 1],
        at.year(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// APPEND's date-time as a moment; `None` for one that does not exist
/// (30-Feb).
pub fn unix_time(at: &DateTime) -> Option<UnixTime> {
    let month = time::Month::try_from(at.date.month).ok()?;
    let date = time::Date::from_calendar_date(i32::from(at.date.year), month, at.date.day).ok()?;
    let clock = time::Time::from_hms(at.hour, at.minute, at.second).ok()?;
    let local = time::PrimitiveDateTime::new(date, clock).assume_utc();
    let seconds = local.unix_timestamp() - i64::from(at.zone_minutes) * 60;
    Some(UnixTime(seconds))
}

/// Flags a client wrote, split into system flags and keywords. `\Recent`
/// is dropped (it is never stored); an unknown `\Name` or a keyword that
/// is not an atom is refused.
pub fn stored_flags(names: &[FlagName]) -> Result<(Flags, Keywords), String> {
    let mut flags = Flags::EMPTY;
    let mut keywords = Keywords::new();
    for name in names {
        match name {
            FlagName::Seen => flags.insert(Flag::Seen),
            FlagName::Answered => flags.insert(Flag::Answered),
            FlagName::Flagged => flags.insert(Flag::Flagged),
            FlagName::Deleted => flags.insert(Flag::Deleted),
            FlagName::Draft => flags.insert(Flag::Draft),
            FlagName::Recent => {}
            FlagName::Extension(name) => {
                return Err(format!("Invalid system flag \\{name}"));
            }
            FlagName::Keyword(word) => match keyword(word) {
                Ok(word) => {
                    keywords.insert(word.to_owned());
                }
                Err(error) => return Err(format!("Invalid keyword: {error}")),
            },
        }
    }
    Ok((flags, keywords))
}

/// The FLAGS and PERMANENTFLAGS lists of SELECT (RFC 9051 7.3.5):
/// keywords in use, and any new one (`\*`).
pub fn flags_line(keywords: &Keywords, permanent: bool) -> String {
    let mut text = String::from("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for keyword in keywords {
        text.push(' ');
        text.push_str(keyword);
    }
    if permanent {
        text.push_str(" \\*");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::command::Date;

    #[test]
    fn date_time_is_in_utc() {
        assert_eq!(
            date_time(UnixTime(1_795_212_959)),
            "20-Nov-2026 22:15:59 +0000"
        );
        assert_eq!(date_time(UnixTime(0)), "01-Jan-1970 00:00:00 +0000");
    }

    #[test]
    fn append_dates_keep_their_zone() {
        let at = DateTime {
            date: Date {
                year: 1996,
                month: 7,
                day: 17,
            },
            hour: 2,
            minute: 44,
            second: 25,
            zone_minutes: -420,
        };
        assert_eq!(
            date_time(unix_time(&at).unwrap()),
            "17-Jul-1996 09:44:25 +0000"
        );
        let bad = DateTime {
            date: Date {
                year: 2026,
                month: 2,
                day: 30,
            },
            ..at
        };
        assert_eq!(unix_time(&bad), None);
    }

    #[test]
    fn replies_carry_their_code() {
        let mut out = Vec::new();
        Reply::ok_code("READ-WRITE", "Select completed").encode("a1", &mut out);
        assert_eq!(out, b"a1 OK [READ-WRITE] Select completed\r\n");
        let mut out = Vec::new();
        failure_reply(&StoreFailure::NoSuchFolder, "APPEND").encode("a2", &mut out);
        assert_eq!(out, b"a2 NO [TRYCREATE] Mailbox doesn't exist\r\n");
    }

    #[test]
    fn unknown_system_flags_are_refused_and_recent_dropped() {
        let names = [
            FlagName::Seen,
            FlagName::Recent,
            FlagName::Keyword("$Junk".into()),
        ];
        let (flags, keywords) = stored_flags(&names).unwrap();
        assert_eq!(flags, Flags::EMPTY.with(Flag::Seen));
        assert_eq!(keywords.len(), 1);
        assert!(stored_flags(&[FlagName::Extension("Foo".into())]).is_err());
    }
}
