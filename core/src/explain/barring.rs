//! The barring lines of `postern explain` for an SMTP or submission
//! instance (`bar_senders` at MAIL, `bar_recipients` at RCPT), and what
//! each local recipient's allow and block lists say of the sender.

use super::{Question, SpamFacts, line};
use crate::address::{ForwardPath, ReversePath};
use crate::config::ServiceConfig;
use crate::envelope::LocalMailbox;
use crate::spam::{Blocked, ListVerdict, exempt};

/// The MAIL line for `bar_senders`; false when the sender is refused.
/// An instance that bars no sender gets no line.
pub(super) fn sender_line(text: &mut String, service: &ServiceConfig, question: &Question) -> bool {
    let barring = &service.spam.barring;
    let Some(from) = &question.from else {
        return true;
    };
    if barring.senders.is_empty() {
        return true;
    }
    if exempt(&service.relay, question.remote, false) {
        line(
            text,
            "barring",
            &format!(
                "sender not checked: {} is one of the instance's own networks",
                question.remote
            ),
        );
        return true;
    }
    match (from, barring.sender(from)) {
        (ReversePath::Null, _) => {
            line(text, "barring", "sender <> (a bounce) is never barred");
            true
        }
        (_, Some(pattern)) => {
            line(
                text,
                "barring",
                &format!(
                    "sender {from}: refused with 550 5.7.1 (bar_senders pattern {pattern}; not checked once the client has logged in)"
                ),
            );
            false
        }
        (_, None) => {
            line(
                text,
                "barring",
                &format!(
                    "sender {from}: matches none of the {} bar_senders patterns",
                    barring.senders.len()
                ),
            );
            true
        }
    }
}

/// True (with its line) when `bar_recipients` bars `to`.
pub(super) fn recipient_barred(
    text: &mut String,
    service: &ServiceConfig,
    to: &ForwardPath,
) -> bool {
    let Some(pattern) = service.spam.barring.recipient(to) else {
        return false;
    };
    line(
        text,
        "recipient",
        &format!(
            "{to}: refused: 550 5.7.1 barred (bar_recipients pattern {pattern}; for every client)"
        ),
    );
    true
}

/// What `mailbox`'s lists say of the sender, when it has lists; false
/// when its user refuses the sender at RCPT.
pub(super) fn lists_line(
    text: &mut String,
    mailbox: &LocalMailbox,
    question: &Question,
    facts: &SpamFacts,
) -> bool {
    let (Some(from), Some(lists)) = (&question.from, facts.sender_lists.get(&mailbox.to_string()))
    else {
        return true;
    };
    if lists.is_empty() {
        return true;
    }
    let (fact, accepted) = match lists.verdict(from) {
        ListVerdict::Unlisted => (format!("{from} is on neither list of {mailbox}"), true),
        ListVerdict::Allowed(pattern) => (
            format!("{from} is allowed by {mailbox} ({pattern}): never blocked"),
            true,
        ),
        ListVerdict::Blocked(pattern, Blocked::Junk) => (
            format!(
                "{from} is blocked by {mailbox} ({pattern}, blocked = junk): accepted, delivered to its Junk folder"
            ),
            true,
        ),
        ListVerdict::Blocked(pattern, Blocked::Refuse) => (
            format!(
                "{from} is blocked by {mailbox} ({pattern}, blocked = refuse): refused for this recipient with 550 5.7.1"
            ),
            false,
        ),
    };
    line(text, "lists", &fact);
    accepted
}

#[cfg(test)]
mod tests;
