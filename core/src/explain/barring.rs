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

/// What a recipient's lists decided, for the checks after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ListsSay {
    /// No list names the sender (or there are none): the greylist follows.
    GoOn,
    /// The allow list names the sender: accepted without the greylist.
    Allowed,
    /// The user refuses the sender at RCPT.
    Refused,
}

/// What `mailbox`'s lists say of the sender, with the line to show when
/// it has lists.
pub(super) fn lists_verdict(
    mailbox: &LocalMailbox,
    question: &Question,
    facts: &SpamFacts,
) -> (ListsSay, Option<String>) {
    let (Some(from), Some(lists)) = (&question.from, facts.sender_lists.get(&mailbox.to_string()))
    else {
        return (ListsSay::GoOn, None);
    };
    if lists.is_empty() {
        return (ListsSay::GoOn, None);
    }
    let (fact, says) = match lists.verdict(from) {
        ListVerdict::Unlisted => (
            format!("{from} is on neither list of {mailbox}"),
            ListsSay::GoOn,
        ),
        ListVerdict::Allowed(pattern) => (
            format!("{from} is allowed by {mailbox} ({pattern}): never blocked, not greylisted"),
            ListsSay::Allowed,
        ),
        ListVerdict::Blocked(pattern, Blocked::Junk) => (
            format!(
                "{from} is blocked by {mailbox} ({pattern}, blocked = junk): accepted, delivered to its Junk folder"
            ),
            ListsSay::GoOn,
        ),
        ListVerdict::Blocked(pattern, Blocked::Refuse) => (
            format!(
                "{from} is blocked by {mailbox} ({pattern}, blocked = refuse): refused for this recipient with 550 5.7.1"
            ),
            ListsSay::Refused,
        ),
    };
    (says, Some(fact))
}

#[cfg(test)]
mod tests;
