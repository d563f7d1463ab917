//! What a list remembers between messages: its members and their
//! settings, confirmations and approvals waiting for an answer, posts
//! held for moderation, and recent bounces; and the text file it is kept
//! in (`DATA/lists/ADDRESS/state`), one record a line, so an operator can
//! read it and a damaged line is reported by number.
//!
//! ```text
//! # postern list state 1
//! member alice@example.com 0123...cdef mail
//! member bob@example.com 4567...89ab digest moderated
//! pending 89ab...0123 carol@example.com confirm 1796083200
//! held fedc...3210 1796083200 dave@example.com
//! bounce bob@example.com 1795478400
//! ```

use crate::lists::command::is_token;
use crate::time::UnixTime;
use std::collections::BTreeMap;
use std::fmt;

/// The first line of every state file.
pub const STATE_HEADER: &str = "# postern list state 1";

/// How a member receives posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Each post, as it is distributed.
    Mail,
    /// Posts gathered into MIME digests (RFC 2046 5.1.5).
    Digest,
    /// Nothing (the member asked: `nomail`).
    NoMail,
    /// Nothing: too many bounces; `resume` undoes it.
    Suspended,
}

impl Delivery {
    fn word(self) -> &'static str {
        match self {
            Delivery::Mail => "mail",
            Delivery::Digest => "digest",
            Delivery::NoMail => "nomail",
            Delivery::Suspended => "suspended",
        }
    }

    fn parse(word: &str) -> Option<Delivery> {
        Some(match word {
            "mail" => Delivery::Mail,
            "digest" => Delivery::Digest,
            "nomail" => Delivery::NoMail,
            "suspended" => Delivery::Suspended,
            _ => return None,
        })
    }
}

/// One subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub delivery: Delivery,
    /// Their posts wait for a moderator whatever the list's kind.
    pub moderated: bool,
    /// They may neither post nor change their subscription.
    pub barred: bool,
    /// The secret of their one-click unsubscribe URL (RFC 8058).
    pub token: String,
}

/// What a pending token waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingKind {
    /// The address to confirm its subscription (double opt-in).
    Confirm,
    /// An owner to approve a confirmed subscription (closed lists).
    Approve,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub address: String,
    pub kind: PendingKind,
    pub expires: UnixTime,
}

/// A post waiting for a moderator; its message is kept beside the state
/// (`held/TOKEN`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub sender: String,
    pub expires: UnixTime,
}

/// Everything a list remembers, in sorted maps so its file is stable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListState {
    /// By address, lower-case.
    pub members: BTreeMap<String, Member>,
    /// By token.
    pub pending: BTreeMap<String, Pending>,
    /// By token.
    pub held: BTreeMap<String, Held>,
    /// By address: when its copies bounced, oldest first.
    pub bounces: BTreeMap<String, Vec<UnixTime>>,
}

/// A state file that cannot be read: the line and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl ListState {
    /// The file's text.
    pub fn render(&self) -> String {
        let mut text = format!("{STATE_HEADER}\n");
        for (address, member) in &self.members {
            text.push_str(&format!(
                "member {address} {} {}",
                member.token,
                member.delivery.word()
            ));
            if member.moderated {
                text.push_str(" moderated");
            }
            if member.barred {
                text.push_str(" barred");
            }
            text.push('\n');
        }
        for (token, pending) in &self.pending {
            let kind = match pending.kind {
                PendingKind::Confirm => "confirm",
                PendingKind::Approve => "approve",
            };
            text.push_str(&format!(
                "pending {token} {} {kind} {}\n",
                pending.address, pending.expires.0
            ));
        }
        for (token, held) in &self.held {
            text.push_str(&format!(
                "held {token} {} {}\n",
                held.expires.0, held.sender
            ));
        }
        for (address, times) in &self.bounces {
            for time in times {
                text.push_str(&format!("bounce {address} {}\n", time.0));
            }
        }
        text
    }

    /// Reads a state file; the first line that cannot be used is an
    /// error naming it.
    pub fn parse(text: &str) -> Result<ListState, StateError> {
        let mut state = ListState::default();
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, STATE_HEADER)) => {}
            _ => {
                return Err(StateError {
                    line: 1,
                    message: format!("the file does not start with \"{STATE_HEADER}\""),
                });
            }
        }
        for (index, line) in lines {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            state.read_line(line).map_err(|message| StateError {
                line: index + 1,
                message,
            })?;
        }
        Ok(state)
    }

    fn read_line(&mut self, line: &str) -> Result<(), String> {
        let words: Vec<&str> = line.split(' ').collect();
        let address = |word: &str| -> Result<String, String> {
            crate::address::parse_mailbox(word)
                .map(|_| word.to_lowercase())
                .map_err(|_| format!("\"{word}\" is not an address"))
        };
        let token = |word: &str| -> Result<String, String> {
            if is_token(word) {
                Ok(word.to_owned())
            } else {
                Err(format!("\"{word}\" is not a token (32 hex digits)"))
            }
        };
        let time = |word: &str| -> Result<UnixTime, String> {
            word.parse()
                .map(UnixTime)
                .map_err(|_| format!("\"{word}\" is not a time (seconds since 1970)"))
        };
        match words.as_slice() {
            ["member", who, secret, delivery, flags @ ..] => {
                let delivery = Delivery::parse(delivery).ok_or_else(|| {
                    format!("\"{delivery}\" is not mail, digest, nomail or suspended")
                })?;
                let mut member = Member {
                    delivery,
                    moderated: false,
                    barred: false,
                    token: token(secret)?,
                };
                for flag in flags {
                    match *flag {
                        "moderated" => member.moderated = true,
                        "barred" => member.barred = true,
                        other => return Err(format!("\"{other}\" is not moderated or barred")),
                    }
                }
                self.members.insert(address(who)?, member);
            }
            ["pending", secret, who, kind, expires] => {
                let kind = match *kind {
                    "confirm" => PendingKind::Confirm,
                    "approve" => PendingKind::Approve,
                    other => return Err(format!("\"{other}\" is not confirm or approve")),
                };
                self.pending.insert(
                    token(secret)?,
                    Pending {
                        address: address(who)?,
                        kind,
                        expires: time(expires)?,
                    },
                );
            }
            ["held", secret, expires, sender @ ..] if !sender.is_empty() => {
                self.held.insert(
                    token(secret)?,
                    Held {
                        sender: sender.join(" "),
                        expires: time(expires)?,
                    },
                );
            }
            ["bounce", who, at] => {
                let at = time(at)?;
                self.bounces.entry(address(who)?).or_default().push(at);
            }
            _ => {
                return Err(format!(
                    "\"{}\" is not a member, pending, held or bounce record",
                    crate::text::bounded(line, 80)
                ));
            }
        }
        Ok(())
    }

    /// Drops confirmations, approvals and held posts past their time;
    /// answers the tokens of the held posts dropped (their messages go
    /// too).
    pub fn expire(&mut self, now: UnixTime) -> Vec<String> {
        self.pending.retain(|_, p| p.expires > now);
        let expired: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| h.expires <= now)
            .map(|(token, _)| token.clone())
            .collect();
        for token in &expired {
            self.held.remove(token);
        }
        expired
    }

    /// Who gets a copy of each post: members receiving mail, never the
    /// barred.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.receiving(Delivery::Mail)
    }

    /// Who gets digests.
    pub fn digest_recipients(&self) -> impl Iterator<Item = &str> {
        self.receiving(Delivery::Digest)
    }

    fn receiving(&self, delivery: Delivery) -> impl Iterator<Item = &str> {
        self.members
            .iter()
            .filter(move |(_, m)| !m.barred && m.delivery == delivery)
            .map(|(address, _)| address.as_str())
    }
}
