//! `postern user forward|vacation|senders ADDRESS ...`: a mailbox's
//! forwarding, vacation autoresponder and allow and block lists of
//! senders, set, changed or shown by an operator. Safe while the server
//! runs: the SMTP server reads the lists at every RCPT, and delivery
//! reads the settings at every message.

use crate::config_file::Loaded;
use crate::mailbox_command::resolve_user;
use crate::mailbox_rules::{SettingsAt, settings_at};
use postern_core::autoreply::{Forwarding, MailboxRules, Vacation};
use postern_core::directory::Directory;
use postern_core::envelope::LocalMailbox;
use postern_core::limits::{VACATION_BODY_BYTES_MAX, VACATION_DAYS_DEFAULT};
use postern_core::spam::{Blocked, SenderLists};
use std::io::Read;
use std::path::Path;

/// `postern user forward`'s arguments.
#[derive(Debug, Default, clap::Args)]
pub struct ForwardArgs {
    /// The user's address (an alias leads to its user).
    pub address: String,
    /// An address to forward to; may be repeated. Replaces the list.
    #[arg(long = "to", value_name = "ADDRESS", conflicts_with = "off")]
    pub to: Vec<String>,
    /// Keeps a copy in the mailbox too (the default).
    #[arg(long, conflicts_with_all = ["no_keep", "off"])]
    pub keep: bool,
    /// Keeps no copy: the mail is only forwarded.
    #[arg(long, conflicts_with = "off")]
    pub no_keep: bool,
    /// Stops forwarding.
    #[arg(long)]
    pub off: bool,
}

/// `postern user vacation`'s arguments.
#[derive(Debug, Default, clap::Args)]
pub struct VacationArgs {
    /// The user's address (an alias leads to its user).
    pub address: String,
    /// Switches replies on.
    #[arg(long, conflicts_with = "off")]
    pub on: bool,
    /// Switches replies off (the text is kept for next time).
    #[arg(long)]
    pub off: bool,
    /// The reply's subject; without it, "Auto: " and the original's. An
    /// empty one goes back to that.
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,
    /// The reply's text (UTF-8, at most 8192 octets); `-` reads it from
    /// standard input.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<String>,
    /// At most one reply per sender in this many days (1 to 365; 7 when
    /// first set).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// The first day replies are sent (UTC); empty for none.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub start: Option<String>,
    /// The last day replies are sent (UTC); empty for none.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub end: Option<String>,
}

/// `postern user senders`'s arguments.
#[derive(Debug, Default, clap::Args)]
pub struct SendersArgs {
    /// The user's address (an alias leads to its user).
    pub address: String,
    /// A sender pattern never blocked (user@example.com, *@example.com,
    /// @example.com, *.example); may be repeated. Taken out of the block
    /// list if it is there.
    #[arg(long, value_name = "PATTERN")]
    pub allow: Vec<String>,
    /// A sender pattern whose mail goes to Junk or is refused; may be
    /// repeated. Taken out of the allow list if it is there.
    #[arg(long, value_name = "PATTERN")]
    pub block: Vec<String>,
    /// A pattern to take out of both lists; may be repeated.
    #[arg(long, value_name = "PATTERN")]
    pub remove: Vec<String>,
    /// What happens to a blocked sender's mail: junk (the Junk folder,
    /// the default) or refuse (550 at RCPT, for this user only).
    #[arg(long, value_name = "junk|refuse")]
    pub blocked: Option<String>,
}

impl VacationArgs {
    fn is_empty(&self) -> bool {
        !self.on
            && !self.off
            && self.subject.is_none()
            && self.body_file.is_none()
            && self.days.is_none()
            && self.start.is_none()
            && self.end.is_none()
    }

    /// `--on` (true), `--off` (false), or neither.
    fn enabled(&self) -> Option<bool> {
        match (self.on, self.off) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// The mailbox `address` names, its settings, and where they are kept
/// (the data directory, or the shared database).
struct Opened {
    at: SettingsAt,
    directory: Directory,
    runtime: tokio::runtime::Runtime,
}

fn open(loaded: &Loaded, address: &str) -> Result<(Opened, LocalMailbox, MailboxRules), String> {
    let mailbox = resolve_user(loaded, address)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    let at = settings_at(loaded)?;
    let rules = runtime.block_on(at.load(&mailbox))?;
    let opened = Opened {
        at,
        directory: Directory::new(&loaded.config.domains),
        runtime,
    };
    Ok((opened, mailbox, rules))
}

/// Checks and writes `rules` where `opened` keeps them.
fn save(
    opened: &Opened,
    mailbox: &LocalMailbox,
    rules: MailboxRules,
) -> Result<MailboxRules, String> {
    opened
        .runtime
        .block_on(opened.at.save(&opened.directory, mailbox, rules))
}

/// `postern user forward ADDRESS [--to X ...] [--keep|--no-keep] [--off]`;
/// with no options, shows the forwarding.
pub fn forward(loaded: &Loaded, change: ForwardArgs) -> Result<String, String> {
    let (opened, mailbox, mut rules) = open(loaded, &change.address)?;
    let keep = match (change.keep, change.no_keep) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    if change.off {
        if rules.forward.take().is_none() {
            return Ok(format!("{mailbox} does not forward; nothing to stop"));
        }
        save(&opened, &mailbox, rules)?;
        return Ok(format!("{mailbox} no longer forwards its mail"));
    }
    if change.to.is_empty() && keep.is_none() {
        return Ok(show_forward(&mailbox, &rules));
    }
    let forward = match (rules.forward.take(), change.to.is_empty()) {
        (current, false) => Forwarding {
            to: change.to,
            keep: keep.or(current.map(|f| f.keep)).unwrap_or(true),
        },
        (Some(current), true) => Forwarding {
            keep: keep.unwrap_or(current.keep),
            ..current
        },
        (None, true) => {
            return Err(format!(
                "{mailbox} does not forward; give the addresses with --to ADDRESS"
            ));
        }
    };
    rules.forward = Some(forward);
    let rules = save(&opened, &mailbox, rules)?;
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
pub fn vacation(loaded: &Loaded, change: VacationArgs) -> Result<String, String> {
    let (opened, mailbox, mut rules) = open(loaded, &change.address)?;
    if change.is_empty() {
        return Ok(show_vacation(&mailbox, &rules));
    }
    let body = change.body_file.as_deref().map(read_body).transpose()?;
    let current = rules.vacation.take();
    if change.enabled() == Some(false) && current.is_none() {
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
    if let Some(enabled) = change.enabled() {
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
    let rules = save(&opened, &mailbox, rules)?;
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

/// `postern user senders ADDRESS [--allow P ...] [--block P ...]
/// [--remove P ...] [--blocked junk|refuse]`; with no options, shows the
/// lists.
pub fn senders(loaded: &Loaded, change: SendersArgs) -> Result<String, String> {
    let (opened, mailbox, mut rules) = open(loaded, &change.address)?;
    let blocked = change.blocked.as_deref().map(Blocked::parse).transpose()?;
    if change.allow.is_empty()
        && change.block.is_empty()
        && change.remove.is_empty()
        && blocked.is_none()
    {
        return Ok(show_senders(&mailbox, &rules.sender_lists()));
    }
    let mut lists = rules
        .sender_lists()
        .change(&change.allow, &change.block, &change.remove)?;
    if let Some(blocked) = blocked {
        lists.blocked = blocked;
    }
    rules.senders = Some(lists);
    let rules = save(&opened, &mailbox, rules)?;
    Ok(show_senders(&mailbox, &rules.sender_lists()))
}

fn show_senders(mailbox: &LocalMailbox, lists: &SenderLists) -> String {
    let list = |patterns: &[postern_core::spam::AddressPattern]| {
        if patterns.is_empty() {
            "(none)".to_owned()
        } else {
            patterns
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    let what = match lists.blocked {
        Blocked::Junk => "delivered to the Junk folder",
        Blocked::Refuse => "refused at RCPT (550 5.7.1)",
    };
    format!(
        "{mailbox}: senders allowed: {}\n{mailbox}: senders blocked: {}\nmail from a blocked sender is {what} (blocked = {}); an allowed sender is never blocked",
        list(&lists.allow),
        list(&lists.block),
        lists.blocked
    )
}
