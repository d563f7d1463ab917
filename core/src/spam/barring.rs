//! Barring (an instance's `bar_senders` and `bar_recipients`, set by the
//! operator) and a mailbox's own allow and block lists of senders (in its
//! `postern-rules.toml`, set by its user): who is refused, and who goes
//! to Junk.
//!
//! Barring refuses a sender at MAIL and a recipient at RCPT with `550
//! 5.7.1`. Sender barring, like the blocklists, never applies to the
//! instance's own networks nor to a client that has logged in; recipient
//! barring applies to every client (a retired address takes mail from
//! nobody). A mailbox's lists apply to every sender: an allowed sender
//! is never blocked; a blocked one goes to the mailbox's Junk folder or,
//! when its user chose so, is refused at RCPT for that mailbox alone,
//! never bounced afterwards.

use super::pattern::{AddressPattern, PatternError, first_match};
use crate::address::{ForwardPath, ReversePath};
use crate::limits::SENDER_LIST_ENTRIES_MAX;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An instance's barring: none by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Barring {
    /// Senders refused at MAIL (`bar_senders`).
    pub senders: Vec<AddressPattern>,
    /// Recipients refused at RCPT (`bar_recipients`).
    pub recipients: Vec<AddressPattern>,
}

impl Barring {
    /// The pattern that bars this sender, if one does. The null sender is
    /// never barred.
    pub fn sender(&self, reverse_path: &ReversePath) -> Option<&AddressPattern> {
        match reverse_path {
            ReversePath::Mailbox(mailbox) => first_match(&self.senders, mailbox),
            ReversePath::Null => None,
        }
    }

    /// The pattern that bars this recipient, if one does. `<Postmaster>`
    /// is never barred (RFC 5321 4.5.1: it must be accepted).
    pub fn recipient(&self, forward_path: &ForwardPath) -> Option<&AddressPattern> {
        match forward_path {
            ForwardPath::Mailbox(mailbox) => first_match(&self.recipients, mailbox),
            ForwardPath::Postmaster => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.senders.is_empty() && self.recipients.is_empty()
    }
}

/// The reply text of a barred sender.
pub fn sender_barred_text(reverse_path: &ReversePath) -> String {
    format!("{reverse_path}: Sender address rejected: barred by this server's policy")
}

/// The reply text of a barred recipient.
pub fn recipient_barred_text(forward_path: &ForwardPath) -> String {
    format!("{forward_path}: Recipient address rejected: barred by this server's policy")
}

/// The reply text of a recipient whose user refuses the sender.
pub fn sender_refused_text(forward_path: &ForwardPath) -> String {
    format!(
        "{forward_path}: Recipient address rejected: the recipient does not accept mail from this sender"
    )
}

/// A mailbox's allow and block lists (the `[senders]` table of its
/// `postern-rules.toml`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderLists {
    /// Senders never blocked, whatever `block` says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<AddressPattern>,
    /// Senders whose mail goes to Junk or is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block: Vec<AddressPattern>,
    /// What happens to a blocked sender's mail.
    #[serde(default)]
    pub blocked: Blocked,
}

/// What happens to mail from a blocked sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Blocked {
    /// Delivered to the mailbox's Junk folder.
    #[default]
    Junk,
    /// Refused at RCPT with `550 5.7.1`, for this mailbox only.
    Refuse,
}

impl Blocked {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "junk" => Ok(Blocked::Junk),
            "refuse" => Ok(Blocked::Refuse),
            other => Err(format!(
                "\"{}\" is not what to do with a blocked sender's mail: write junk (to the Junk folder) or refuse (550 at RCPT)",
                crate::text::escape_controls(other)
            )),
        }
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Blocked::Junk => "junk",
            Blocked::Refuse => "refuse",
        })
    }
}

/// What a mailbox's lists say of a sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListVerdict<'a> {
    /// Neither list names the sender (or it is the null sender).
    Unlisted,
    /// The allow list names it (the block list may too: allow wins).
    Allowed(&'a AddressPattern),
    /// The block list names it, the allow list does not.
    Blocked(&'a AddressPattern, Blocked),
}

impl SenderLists {
    /// What the lists say of `reverse_path`. The null sender (a bounce)
    /// is never listed: a pattern names addresses.
    pub fn verdict(&self, reverse_path: &ReversePath) -> ListVerdict<'_> {
        let ReversePath::Mailbox(mailbox) = reverse_path else {
            return ListVerdict::Unlisted;
        };
        if let Some(pattern) = first_match(&self.allow, mailbox) {
            return ListVerdict::Allowed(pattern);
        }
        match first_match(&self.block, mailbox) {
            Some(pattern) => ListVerdict::Blocked(pattern, self.blocked),
            None => ListVerdict::Unlisted,
        }
    }

    /// True when neither list has an entry.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.block.is_empty()
    }

    /// Each entry once, in the order written; each list at most
    /// [`SENDER_LIST_ENTRIES_MAX`] entries.
    pub fn check(self) -> Result<Self, String> {
        let allow = dedup(self.allow, "allow")?;
        let block = dedup(self.block, "block")?;
        Ok(SenderLists {
            allow,
            block,
            blocked: self.blocked,
        })
    }

    /// The lists as a form writes them (the webmail's settings page):
    /// one pattern per line (commas also separate), blank lines ignored,
    /// and the choice `junk` or `refuse`. An error names the pattern.
    pub fn from_form(allow: &str, block: &str, blocked: &str) -> Result<Self, String> {
        let patterns = |text: &str| -> Result<Vec<AddressPattern>, String> {
            text.split(['\n', ','])
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(|entry| {
                    AddressPattern::parse(entry)
                        .map_err(|e: PatternError| format!("{}: {}", e.problem, e.fix))
                })
                .collect()
        };
        SenderLists {
            allow: patterns(allow)?,
            block: patterns(block)?,
            blocked: Blocked::parse(blocked)?,
        }
        .check()
    }

    /// Adds and removes entries, as `postern user senders` and the
    /// webmail ask: each of `add_allow` and `add_block` goes to its list
    /// (and leaves the other), each of `remove` leaves both.
    pub fn change(
        mut self,
        add_allow: &[String],
        add_block: &[String],
        remove: &[String],
    ) -> Result<Self, String> {
        let parse = |text: &String| {
            AddressPattern::parse(text)
                .map_err(|e: PatternError| format!("{}: {}", e.problem, e.fix))
        };
        for text in remove {
            let pattern = parse(text)?;
            let before = self.allow.len() + self.block.len();
            self.allow.retain(|p| p != &pattern);
            self.block.retain(|p| p != &pattern);
            if self.allow.len() + self.block.len() == before {
                return Err(format!("{pattern} is in neither list; nothing to remove"));
            }
        }
        for text in add_allow {
            let pattern = parse(text)?;
            self.block.retain(|p| p != &pattern);
            self.allow.push(pattern);
        }
        for text in add_block {
            let pattern = parse(text)?;
            self.allow.retain(|p| p != &pattern);
            self.block.push(pattern);
        }
        self.check()
    }
}

fn dedup(list: Vec<AddressPattern>, name: &str) -> Result<Vec<AddressPattern>, String> {
    let mut kept: Vec<AddressPattern> = Vec::with_capacity(list.len());
    for pattern in list {
        if !kept.contains(&pattern) {
            kept.push(pattern);
        }
    }
    if kept.len() > SENDER_LIST_ENTRIES_MAX {
        return Err(format!(
            "the {name} list has {} entries; at most {SENDER_LIST_ENTRIES_MAX} are allowed (a wildcard such as *@example.com covers a whole domain)",
            kept.len()
        ));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests;
