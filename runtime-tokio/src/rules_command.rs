//! `postern user forward|vacation ADDRESS ...`: a mailbox's forwarding and
//! vacation autoresponder, set, changed or shown by an operator. Safe while
//! the server runs: delivery reads the settings at every message.

use crate::config_file::Loaded;
use crate::mailbox_command::resolve_user;
use crate::mailbox_rules::{load, save};
use postern_core::autoreply::{Forwarding, MailboxRules, Vacation};
use postern_core::directory::Directory;
use postern_core::envelope::LocalMailbox;
use postern_core::limits::{VACATION_BODY_BYTES_MAX, VACATION_DAYS_DEFAULT};
use std::io::Read;
use std::path::Path;

/// What `postern user forward` was asked.
#[derive(Debug, Default)]
pub struct ForwardChange {
    /// New addresses (replacing the list), if any were given.
    pub to: Vec<String>,
    /// `--keep` (true) or `--no-keep` (false).
    pub keep: Option<bool>,
    /// `--off`.
    pub off: bool,
}

/// What `postern user vacation` was asked.
#[derive(Debug, Default)]
pub struct VacationChange {
    /// `--on` (true) or `--off` (false).
    pub enabled: Option<bool>,
    /// `--subject` (empty: back to `Auto: ` and the original's).
    pub subject: Option<String>,
    /// `--body-file` (`-`: standard input).
    pub body_file: Option<String>,
    pub days: Option<u32>,
    /// `--start` and `--end` (empty: none).
    pub start: Option<String>,
    pub end: Option<String>,
}

impl VacationChange {
    fn is_empty(&self) -> bool {
        self.enabled.is_none()
            && self.subject.is_none()
            && self.body_file.is_none()
            && self.days.is_none()
            && self.start.is_none()
            && self.end.is_none()
    }
}

fn open(loaded: &Loaded, address: &str) -> Result<(Directory, LocalMailbox, MailboxRules), String> {
    let mailbox = resolve_user(loaded, address)?;
    let rules = load(&loaded.data_dir, &mailbox)?;
    Ok((Directory::new(&loaded.config.domains), mailbox, rules))
}

/// `postern user forward ADDRESS [--to X ...] [--keep|--no-keep] [--off]`;
/// with no options, shows the forwarding.
pub fn forward(loaded: &Loaded, address: &str, change: ForwardChange) -> Result<String, String> {
    let (directory, mailbox, mut rules) = open(loaded, address)?;
    if change.off {
        if rules.forward.take().is_none() {
            return Ok(format!("{mailbox} does not forward; nothing to stop"));
        }
        save(&loaded.data_dir, &directory, &mailbox, rules)?;
        return Ok(format!("{mailbox} no longer forwards its mail"));
    }
    if change.to.is_empty() && change.keep.is_none() {
        return Ok(show_forward(&mailbox, &rules));
    }
    let forward = match (rules.forward.take(), change.to.is_empty()) {
        (current, false) => Forwarding {
            to: change.to,
            keep: change.keep.or(current.map(|f| f.keep)).unwrap_or(true),
        },
        (Some(current), true) => Forwarding {
            keep: change.keep.unwrap_or(current.keep),
            ..current
        },
        (None, true) => {
            return Err(format!(
                "{mailbox} does not forward; give the addresses with --to ADDRESS"
            ));
        }
    };
    rules.forward = Some(forward);
    let rules = save(&loaded.data_dir, &directory, &mailbox, rules)?;
    Ok(show_forward(&mailbox, &rules))
}

fn show_forward(mailbox: &LocalMailbox, rules: &MailboxRules) -> String {
    match &rules.forward {
        None => format!("{mailbox} does not forward"),
        Some(forward) => format!(
            "{mailbox} forwards to {} ({})",
            forward.to.join(", "),
            if forward.keep {
                "keeping a copy"
            } else {
                "keeping no copy"
            }
        ),
    }
}

/// `postern user vacation ADDRESS --on --subject S --body-file F [--days
/// N] [--start D] [--end D] | --off`; with no options, shows the vacation.
pub fn vacation(loaded: &Loaded, address: &str, change: VacationChange) -> Result<String, String> {
    let (directory, mailbox, mut rules) = open(loaded, address)?;
    if change.is_empty() {
        return Ok(show_vacation(&mailbox, &rules));
    }
    let body = change.body_file.as_deref().map(read_body).transpose()?;
    let current = rules.vacation.take();
    if change.enabled == Some(false) && current.is_none() {
        return Ok(format!(
            "{mailbox} has no vacation set; nothing to switch off"
        ));
    }
    let mut vacation = match (current, body) {
        (Some(current), body) => Vacation {
            body: body.unwrap_or(current.body),
            ..current
        },
        (None, Some(body)) => Vacation {
            enabled: true,
            subject: None,
            body,
            days: VACATION_DAYS_DEFAULT,
            start: None,
            end: None,
        },
        (None, None) => {
            return Err(format!(
                "{mailbox} has no vacation set; give the reply's text with --on --body-file FILE"
            ));
        }
    };
    if let Some(enabled) = change.enabled {
        vacation.enabled = enabled;
    }
    let empty_is_none = |text: String| Some(text).filter(|t| !t.trim().is_empty());
    if let Some(subject) = change.subject {
        vacation.subject = empty_is_none(subject);
    }
    if let Some(days) = change.days {
        vacation.days = days;
    }
    if let Some(start) = change.start {
        vacation.start = empty_is_none(start);
    }
    if let Some(end) = change.end {
        vacation.end = empty_is_none(end);
    }
    rules.vacation = Some(vacation);
    let rules = save(&loaded.data_dir, &directory, &mailbox, rules)?;
    Ok(show_vacation(&mailbox, &rules))
}

fn show_vacation(mailbox: &LocalMailbox, rules: &MailboxRules) -> String {
    let Some(vacation) = &rules.vacation else {
        return format!("{mailbox} has no vacation set");
    };
    let mut out = format!(
        "{mailbox}: vacation {}, at most one reply per sender every {} day{}",
        if vacation.enabled { "on" } else { "off" },
        vacation.days,
        if vacation.days == 1 { "" } else { "s" }
    );
    match (&vacation.start, &vacation.end) {
        (Some(start), Some(end)) => out.push_str(&format!(", from {start} to {end}")),
        (Some(start), None) => out.push_str(&format!(", from {start}")),
        (None, Some(end)) => out.push_str(&format!(", until {end}")),
        (None, None) => {}
    }
    out.push_str(&format!(
        "\nsubject: {}\n\n{}",
        vacation
            .subject
            .as_deref()
            .unwrap_or("Auto: (the original subject)"),
        vacation.body
    ));
    out
}

/// The reply's text from `path` (`-`: standard input), read up to one
/// octet past the limit so that a long text is refused, not cut.
fn read_body(path: &str) -> Result<String, String> {
    let limit = VACATION_BODY_BYTES_MAX as u64 + 1;
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(Path::new(path))
            .and_then(|file| file.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|error| format!("cannot read {path}: {error}"))?;
    String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8 text"))
}
