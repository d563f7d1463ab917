//! A mailbox's delivery-time settings: forwarding, the vacation
//! autoresponder, and the allow and block lists of senders
//! ([`SenderLists`]), as the file `postern-rules.toml` beside its Maildir
//! holds them, and the checks every writer (the CLI, the webmail) goes
//! through.
//!
//! A parsed [`MailboxRules`] has always passed [`MailboxRules::check`]:
//! `parse` runs it, so delivery never meets a setting it cannot carry out.

use crate::address::parse_mailbox;
use crate::limits::{
    FORWARD_ADDRESSES_MAX, VACATION_BODY_BYTES_MAX, VACATION_DAYS_DEFAULT, VACATION_DAYS_MAX,
    VACATION_SUBJECT_BYTES_MAX,
};
use crate::spam::SenderLists;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};

/// The settings file's name, in the mailbox's directory (beside `cur/`,
/// `new/`, `tmp/`; Maildir++ folders start with a dot, so it is none).
pub const RULES_FILE: &str = "postern-rules.toml";

/// The vacation memory's file name, beside the settings.
pub const REPLIED_FILE: &str = "postern-replied";

const HEADER: &str = "# Delivery rules of this mailbox, written by `postern user forward|vacation|senders`\n# and the webmail. Edits by hand are checked when the file is read.\n\n";

/// One mailbox's forwarding, vacation and sender lists. Any may be absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<Forwarding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vacation: Option<Vacation>,
    /// The senders allowed and blocked (`[senders]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senders: Option<SenderLists>,
}

/// Forwarding: every message also (or only) goes to these addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forwarding {
    /// The addresses, lower-case, each once, at most
    /// [`FORWARD_ADDRESSES_MAX`].
    pub to: Vec<String>,
    /// Keep a copy in the mailbox too.
    #[serde(default = "yes")]
    pub keep: bool,
}

fn yes() -> bool {
    true
}

fn default_days() -> u32 {
    VACATION_DAYS_DEFAULT
}

/// The vacation autoresponder (RFC 3834).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vacation {
    /// Replies are sent; off keeps the text for next time.
    pub enabled: bool,
    /// The reply's subject; without it, `Auto: ` and the original's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The reply's text, lines ending in LF.
    pub body: String,
    /// At most one reply per sender in this many days.
    #[serde(default = "default_days")]
    pub days: u32,
    /// The first day replies are sent (UTC, `YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// The last day replies are sent (UTC, `YYYY-MM-DD`), inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

impl MailboxRules {
    /// Reads the file's text and checks it (with no addresses of the
    /// mailbox's own: at delivery, [`super::decide`] drops a forward
    /// address that leads back to the mailbox whatever the file says).
    pub fn parse(text: &str) -> Result<Self, String> {
        let rules: MailboxRules = toml::from_str(text).map_err(|e| e.to_string())?;
        rules.check(&[])
    }

    /// The file's text.
    pub fn render(&self) -> String {
        // Plain strings, numbers and booleans in two tables: nothing toml
        // cannot write.
        let body = toml::to_string(self).unwrap_or_default();
        format!("{HEADER}{body}")
    }

    /// True when [`super::decide`] has nothing to do: no forwarding,
    /// and no vacation or one switched off. (The sender lists are
    /// checked before it, see [`SenderLists::verdict`].)
    pub fn is_inert(&self) -> bool {
        self.forward.is_none() && self.vacation.as_ref().is_none_or(|v| !v.enabled)
    }

    /// True when delivering a message from `sender` to a mailbox with
    /// these settings (or none) is a plain copy into its INBOX: nothing to
    /// forward, no vacation on, and the sender not on its block list. The
    /// runtime then makes the copy in the step that read the settings.
    pub fn only_a_copy(rules: Option<&Self>, sender: &crate::address::ReversePath) -> bool {
        rules.is_none_or(|rules| {
            rules.is_inert()
                && !matches!(
                    rules.sender_lists().verdict(sender),
                    crate::spam::ListVerdict::Blocked(..)
                )
        })
    }

    /// True when nothing at all is set: the file need not exist.
    pub fn is_empty(&self) -> bool {
        self.forward.is_none() && self.vacation.is_none() && self.senders.is_none()
    }

    /// The sender lists (empty when none are set).
    pub fn sender_lists(&self) -> SenderLists {
        self.senders.clone().unwrap_or_default()
    }

    /// Checks and normalizes the settings: forward addresses are
    /// addresses, lower-case, each once, none of them the mailbox's own
    /// (`own`, lower-case: forwarding to oneself is a loop); the vacation
    /// text and subject within their limits, without control characters;
    /// days within 1 to [`VACATION_DAYS_MAX`]; dates real and in order;
    /// the sender lists within their bound, each entry once (lists with
    /// no entry and the default choice are no lists).
    pub fn check(self, own: &[String]) -> Result<Self, String> {
        let forward = self.forward.map(|f| check_forwarding(f, own)).transpose()?;
        let vacation = self.vacation.map(check_vacation).transpose()?;
        let senders = self
            .senders
            .map(SenderLists::check)
            .transpose()?
            .filter(|lists| *lists != SenderLists::default());
        Ok(MailboxRules {
            forward,
            vacation,
            senders,
        })
    }
}

fn check_forwarding(forward: Forwarding, own: &[String]) -> Result<Forwarding, String> {
    let mut to: Vec<String> = Vec::new();
    for address in &forward.to {
        let address = address.trim();
        let parsed = parse_mailbox(address).map_err(|_| {
            format!("\"{address}\" is not an address to forward to, such as bob@example.com")
        })?;
        let address = parsed.to_string().to_lowercase();
        if own.contains(&address) {
            return Err(format!(
                "{address} leads back to this mailbox; forwarding there would be a loop"
            ));
        }
        if !to.contains(&address) {
            to.push(address);
        }
    }
    if to.is_empty() {
        return Err("forwarding needs at least one address (--to ADDRESS)".to_owned());
    }
    if to.len() > FORWARD_ADDRESSES_MAX {
        return Err(format!(
            "{} forward addresses; at most {FORWARD_ADDRESSES_MAX} are allowed",
            to.len()
        ));
    }
    Ok(Forwarding {
        to,
        keep: forward.keep,
    })
}

fn check_vacation(vacation: Vacation) -> Result<Vacation, String> {
    let body = vacation.body.replace("\r\n", "\n");
    let body = body.trim_end_matches('\n');
    if body.trim().is_empty() {
        return Err("the vacation text is empty".to_owned());
    }
    if body.len() > VACATION_BODY_BYTES_MAX {
        return Err(format!(
            "the vacation text is {} octets long; at most {VACATION_BODY_BYTES_MAX} are allowed",
            body.len()
        ));
    }
    if let Some(c) = body
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(format!(
            "the vacation text has a control character ({}); it may have text, tabs and line ends only",
            c.escape_unicode()
        ));
    }
    let subject = match vacation.subject.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(subject) if subject.chars().any(char::is_control) => {
            return Err("the subject is one line of text, without control characters".to_owned());
        }
        Some(subject) if subject.len() > VACATION_SUBJECT_BYTES_MAX => {
            return Err(format!(
                "the subject is {} octets long; at most {VACATION_SUBJECT_BYTES_MAX} are allowed",
                subject.len()
            ));
        }
        Some(subject) => Some(subject.to_owned()),
    };
    if !(1..=VACATION_DAYS_MAX).contains(&vacation.days) {
        return Err(format!(
            "days is {}; give 1 to {VACATION_DAYS_MAX} (at most one reply per sender in that many days)",
            vacation.days
        ));
    }
    let start = vacation.start.as_deref().map(parse_day).transpose()?;
    let end = vacation.end.as_deref().map(parse_day).transpose()?;
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        return Err(format!(
            "the vacation ends ({}) before it starts ({})",
            format_day(end),
            format_day(start)
        ));
    }
    Ok(Vacation {
        enabled: vacation.enabled,
        subject,
        body: body.to_owned(),
        days: vacation.days,
        start: start.map(format_day),
        end: end.map(format_day),
    })
}

/// A calendar day, as days since 1970-01-01 (UTC).
pub type Day = i64;

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Parses `YYYY-MM-DD` into a [`Day`]; refuses a day that does not exist.
pub fn parse_day(text: &str) -> Result<Day, String> {
    let bad = || format!("\"{text}\" is not a date such as 2026-12-24 (YYYY-MM-DD)");
    let text = text.trim();
    let mut parts = text.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    let day: u8 = d.parse().map_err(|_| bad())?;
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    Ok(i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
}

/// `YYYY-MM-DD` of a [`Day`].
pub fn format_day(day: Day) -> String {
    let julian = i32::try_from(day + UNIX_EPOCH_JULIAN_DAY).unwrap_or(0);
    match time::Date::from_julian_day(julian) {
        Ok(date) => format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        Err(_) => "0000-01-01".to_owned(),
    }
}

/// The day (UTC) that `at` falls on.
pub fn day_of(at: UnixTime) -> Day {
    at.0.div_euclid(86_400)
}
