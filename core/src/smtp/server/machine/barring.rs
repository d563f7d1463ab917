//! Barring and the recipients' sender lists in the server machine (see
//! [`crate::spam::barring`]).
//!
//! A barred sender gets `550 5.7.1` at MAIL, unless the client is in the
//! instance's own networks or has logged in; a barred recipient gets
//! `550 5.7.1` at RCPT whoever the client is. A local recipient's lists
//! are asked for at RCPT ([`Request::LookUpSenderLists`]): a sender its
//! user blocks with `blocked = "refuse"` gets `550 5.7.1` for that
//! recipient, and the others of the transaction are still accepted; a
//! blocked sender with `blocked = "junk"` is accepted here, and delivery
//! puts the copy in that mailbox's Junk folder.

use super::Server;
use crate::address::ForwardPath;
use crate::envelope::{Destination, Recipient};
use crate::smtp::server::command::MailCommand;
use crate::smtp::server::reply::{Reply, status};
use crate::smtp::server::state::{State, Transaction};
use crate::smtp::server::{Event, Output, Request};
use crate::spam::barring::{recipient_barred_text, sender_barred_text, sender_refused_text};
use crate::spam::{Blocked, ListVerdict, SenderLists};

/// What a log line says was barred.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BarredAddress {
    Sender(crate::address::ReversePath),
    Recipient(ForwardPath),
}

impl Server {
    /// At MAIL, before any lookup: true (and the reply sent) when a
    /// pattern of `bar_senders` bars the sender of a client that is not
    /// exempt.
    pub(super) fn sender_barred(&mut self, mail: &MailCommand) -> bool {
        if self.spam_exempt() {
            return false;
        }
        let Some(pattern) = self.config.spam.barring.sender(&mail.reverse_path) else {
            return false;
        };
        self.output.push_back(Output::Event(Event::Barred {
            address: BarredAddress::Sender(mail.reverse_path.clone()),
            pattern: pattern.to_string(),
        }));
        let text = sender_barred_text(&mail.reverse_path);
        self.refuse_command(Reply::new(550, status::BARRED, text));
        true
    }

    /// At RCPT, before the directory is asked: true (and the reply sent)
    /// when a pattern of `bar_recipients` bars the recipient.
    pub(super) fn recipient_barred(&mut self, forward_path: &ForwardPath) -> bool {
        let Some(pattern) = self.config.spam.barring.recipient(forward_path) else {
            return false;
        };
        self.output.push_back(Output::Event(Event::Barred {
            address: BarredAddress::Recipient(forward_path.clone()),
            pattern: pattern.to_string(),
        }));
        let text = recipient_barred_text(forward_path);
        self.refuse_recipient(forward_path.clone(), Reply::new(550, status::BARRED, text));
        true
    }

    /// A recipient the directory accepted: a local mailbox's lists are
    /// asked for (unless the sender is null, which no list names); others
    /// go on to the greylist.
    pub(super) fn check_lists_or_go_on(&mut self, transaction: Transaction, recipient: Recipient) {
        match (&recipient.destination, &transaction.reverse_path) {
            (Destination::Local(mailbox), crate::address::ReversePath::Mailbox(_)) => {
                self.output
                    .push_back(Output::Request(Request::LookUpSenderLists(mailbox.clone())));
                self.state = State::AwaitingSenderLists(transaction, recipient);
            }
            _ => self.greylist_or_accept(transaction, recipient),
        }
    }

    /// The answer to [`Request::LookUpSenderLists`].
    pub(super) fn sender_lists_looked_up(&mut self, lists: SenderLists) {
        let (transaction, recipient) = match std::mem::replace(&mut self.state, State::Closed) {
            State::AwaitingSenderLists(t, r) => (t, r),
            State::Closed => return,
            other => panic!("SenderListsLookedUp in state {other:?}"),
        };
        match lists.verdict(&transaction.reverse_path) {
            ListVerdict::Blocked(pattern, Blocked::Refuse) => {
                self.state = super::envelope::transaction_state(transaction);
                self.output
                    .push_back(Output::Event(Event::SenderRefusedByRecipient {
                        forward_path: recipient.forward_path.clone(),
                        pattern: pattern.to_string(),
                    }));
                let text = sender_refused_text(&recipient.forward_path);
                self.refuse_recipient(
                    recipient.forward_path,
                    Reply::new(550, status::BARRED, text),
                );
            }
            // The recipient asked for this sender's mail: no greylist
            // delay (the triplet is this recipient's alone).
            ListVerdict::Allowed(_) => self.accept_recipient(transaction, recipient),
            ListVerdict::Unlisted | ListVerdict::Blocked(_, Blocked::Junk) => {
                self.greylist_or_accept(transaction, recipient)
            }
        }
    }
}
