//! Commands to a list's request address: one per line, in the Subject
//! and then the body, read until the first line that is no command or a
//! signature separator (`-- `), so a quoted help text or a signature is
//! never taken for commands.

use crate::limits::{LIST_COMMANDS_PER_MESSAGE_MAX, TEXT_LINE_BYTES_MAX};

/// One command. Addresses are lower-case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `subscribe [ADDRESS]`: the sender, or the address given (the
    /// confirmation goes to that address, never to the sender).
    Subscribe(Option<String>),
    /// `unsubscribe [ADDRESS]` (also `signoff`).
    Unsubscribe(Option<String>),
    /// `digest`: receive posts as digests.
    Digest,
    /// `nomail`: stay subscribed, receive nothing.
    NoMail,
    /// `resume` (also `mail`): receive each post again.
    Resume,
    /// `members` (also `who`).
    Members,
    Help,
    /// `confirm TOKEN`, or a reply to a confirmation: the token alone.
    Confirm(String),
    /// `approve TOKEN`: an owner approves a subscription, a moderator a
    /// post.
    Approve(String),
    /// `reject TOKEN` (also `discard`).
    Reject(String),
}

/// The commands of a message: its Subject first (after any `Re:`), then
/// its text body. Returns the commands and the first line not taken as
/// one (for the reply to say where reading stopped), if any.
pub fn parse_commands(subject: Option<&str>, body: &str) -> (Vec<Command>, Option<String>) {
    let mut commands = Vec::new();
    if let Some(subject) = subject
        && let Some(command) = parse_line(strip_reply_prefixes(subject))
    {
        commands.push(command);
    }
    let mut stopped = None;
    for line in body.lines() {
        let line = &line[..floor_char_boundary(line, TEXT_LINE_BYTES_MAX)];
        if line == "-- " || line == "--" {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        if commands.len() >= LIST_COMMANDS_PER_MESSAGE_MAX {
            stopped = Some(line.trim().to_owned());
            break;
        }
        match parse_line(line) {
            Some(command) => commands.push(command),
            None => {
                stopped = Some(line.trim().to_owned());
                break;
            }
        }
    }
    (commands, stopped)
}

/// One line as a command, if it is one.
pub(super) fn parse_line(line: &str) -> Option<Command> {
    let mut words = line.split_whitespace();
    let verb = words.next()?.to_ascii_lowercase();
    let argument = words.next();
    if words.next().is_some() {
        return None;
    }
    let address = |argument: Option<&str>| -> Option<Option<String>> {
        match argument {
            None => Some(None),
            Some(text) => {
                let text = text.trim_start_matches('<').trim_end_matches('>');
                crate::address::parse_mailbox(text)
                    .ok()
                    .map(|_| Some(text.to_lowercase()))
            }
        }
    };
    let token = |argument: Option<&str>| {
        argument
            .filter(|t| is_token(t))
            .map(str::to_ascii_lowercase)
    };
    match (verb.as_str(), argument) {
        ("subscribe" | "join", _) => address(argument).map(Command::Subscribe),
        ("unsubscribe" | "signoff" | "leave", _) => address(argument).map(Command::Unsubscribe),
        ("digest", None) => Some(Command::Digest),
        ("nomail", None) => Some(Command::NoMail),
        ("resume" | "mail", None) => Some(Command::Resume),
        ("members" | "who", None) => Some(Command::Members),
        ("help", None) => Some(Command::Help),
        ("confirm", _) => token(argument).map(Command::Confirm),
        ("approve", _) => token(argument).map(Command::Approve),
        ("reject" | "discard", _) => token(argument).map(Command::Reject),
        (word, None) if is_token(word) => Some(Command::Confirm(word.to_owned())),
        _ => None,
    }
}

/// `Re: Fwd: AW: confirm X` becomes `confirm X`.
fn strip_reply_prefixes(subject: &str) -> &str {
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(prefix) = ["re:", "fwd:", "fw:", "aw:", "sv:"]
            .iter()
            .find(|p| lower.starts_with(**p))
        else {
            return rest;
        };
        rest = rest[prefix.len()..].trim_start();
    }
}

/// Tokens are 32 lower-case hex digits (see `engine::new_token`).
pub(super) fn is_token(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn floor_char_boundary(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// The Subject (decoded) and the first text body of a message to the
/// request address, where its commands are (a MIME message's text part;
/// an HTML-only message's text, as mail-parser renders it).
pub fn command_text(message: &[u8]) -> (Option<String>, String) {
    let Some(parsed) = mail_parser::MessageParser::default().parse(message) else {
        return (None, String::new());
    };
    let subject = parsed.subject().map(str::to_owned);
    let body = parsed
        .body_text(0)
        .map(|text| text.into_owned())
        .unwrap_or_default();
    (subject, body)
}
