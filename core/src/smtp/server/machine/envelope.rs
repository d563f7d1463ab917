//! MAIL and RCPT in the server machine: the envelope, from the sender
//! to each recipient the directory (and barring, the recipient's sender
//! lists and the greylist) accepts.

use super::{Server, message_too_big};
use crate::address::{ForwardPath, ReversePath};
use crate::directory::RecipientVerdict;
use crate::envelope::{Destination, Recipient};
use crate::mail_auth::SpfFailAction;
use crate::mail_auth::spf::{SpfResult, SpfVerdict};
use crate::smtp::server::command::{self, MailCommand};
use crate::smtp::server::reply::{Reply, status};
use crate::smtp::server::state::{State, Transaction};
use crate::smtp::server::{CheckRequest, Event, Output, Request};
use crate::text::escape_controls;

impl Server {
    pub(super) fn handle_mail(&mut self, mail: MailCommand) {
        if self.helo.is_none() {
            return self.refuse_command(Reply::new(
                503,
                status::INVALID_COMMAND,
                "Send HELO or EHLO first",
            ));
        }
        if !matches!(self.state, State::ExpectMail) {
            return self.refuse_command(Reply::new(
                503,
                status::INVALID_COMMAND,
                "Nested MAIL command",
            ));
        }
        if self.config.auth.required && self.identity.is_none() {
            return self.refuse_command(Reply::new(
                530,
                status::AUTH_REQUIRED,
                "Authentication required",
            ));
        }
        if let Some(identity) = &self.identity {
            let sender = match &mail.reverse_path {
                ReversePath::Null => None,
                ReversePath::Mailbox(mailbox) => Some(mailbox.to_string()),
            };
            if !identity.may_send_as(sender.as_deref()) {
                let text = format!(
                    "<{}>: Sender address rejected: not owned by user {}",
                    sender.unwrap_or_default(),
                    identity.login
                );
                return self.refuse_command(Reply::new(553, status::SENDER_NOT_OWNED, text));
            }
        }
        if mail
            .size
            .is_some_and(|size| size > self.config.max_message_size)
        {
            return self.refuse_command(message_too_big());
        }
        if self.sender_barred(&mail) {
            return;
        }
        self.look_up_sender(mail);
    }

    /// MAIL is acceptable so far: with `spf_fail = "refuse"`, asks SPF
    /// about a sender from outside; else accepts it.
    pub(super) fn check_sender(&mut self, mail: MailCommand) {
        let ours = self
            .config
            .relay
            .vouches_for(self.info.remote.ip(), self.identity.is_some());
        if ours || self.config.spf_fail != SpfFailAction::Refuse {
            return self.accept_mail(mail, None);
        }
        let helo = self.helo.as_ref().map(|h| h.domain.clone());
        self.output
            .push_back(Output::Request(Request::CheckSender(CheckRequest {
                reverse_path: mail.reverse_path.clone(),
                helo: helo.unwrap_or_default(),
                receiver: self.config.hostname.clone(),
                spf: None,
            })));
        self.state = State::AwaitingSpf(mail);
    }

    /// The answer to [`Request::CheckSender`]: a `fail` is refused with
    /// `550 5.7.23` (RFC 7372), with the domain's explanation when it
    /// gave one; anything else is accepted, the verdict kept for the
    /// message's checks.
    pub(super) fn sender_checked(&mut self, verdict: Option<SpfVerdict>) {
        let mail = match std::mem::replace(&mut self.state, State::ExpectMail) {
            State::AwaitingSpf(mail) => mail,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("SenderChecked in state {other:?}"),
        };
        match &verdict {
            Some(spf) if spf.result == SpfResult::Fail => {
                let why = spf.explanation.as_deref().map_or_else(
                    || {
                        format!(
                            "{} does not let {} send its mail",
                            spf.domain,
                            self.info.remote.ip()
                        )
                    },
                    str::to_owned,
                );
                let text = format!("SPF check failed: {}", escape_controls(&why));
                self.refuse_command(Reply::new(550, status::SPF_FAILED, text));
            }
            _ => self.accept_mail(mail, verdict),
        }
    }

    pub(super) fn accept_mail(&mut self, mail: MailCommand, spf: Option<SpfVerdict>) {
        self.output.push_back(Output::Event(Event::MailFrom {
            reverse_path: mail.reverse_path.clone(),
            size: mail.size,
        }));
        self.state = State::ExpectRcpt(Transaction {
            reverse_path: mail.reverse_path,
            body: mail.body,
            smtputf8: mail.smtputf8,
            recipients: Vec::new(),
            rcpt_attempts: 0,
            spf,
        });
        self.reply(Reply::new(250, status::SENDER_OK, "Ok"));
    }

    pub(super) fn handle_rcpt(&mut self, forward_path: ForwardPath) {
        let mut transaction = match std::mem::replace(&mut self.state, State::Closed) {
            State::ExpectRcpt(t) | State::ExpectRcptOrData(t) => t,
            other => {
                self.state = other;
                return self.refuse_command(Reply::new(
                    503,
                    status::INVALID_COMMAND,
                    "Need MAIL command first",
                ));
            }
        };
        transaction.rcpt_attempts += 1;
        if self.recipient_barred(&forward_path) {
            self.state = transaction_state(transaction);
            return;
        }
        let refusal = if transaction.recipients.len() >= self.config.max_recipients {
            Some(Reply::new(
                452,
                status::TOO_MANY_RECIPIENTS,
                "Too many recipients",
            ))
        } else if !transaction.smtputf8 && !forward_path_is_ascii(&forward_path) {
            Some(command::path_error_reply(
                crate::address::PathError::NonAsciiWithoutSmtputf8,
                status::BAD_DESTINATION_SYNTAX,
                "recipient",
            ))
        } else {
            None
        };
        match refusal {
            Some(reply) => {
                self.state = transaction_state(transaction);
                self.refuse_recipient(forward_path, reply);
            }
            None => {
                self.output
                    .push_back(Output::Request(Request::CheckRecipient(
                        forward_path.clone(),
                    )));
                self.state = State::AwaitingRecipientCheck(transaction, forward_path);
            }
        }
    }

    pub(super) fn recipient_checked(&mut self, verdict: RecipientVerdict) {
        let (transaction, forward_path) = match std::mem::replace(&mut self.state, State::Closed) {
            State::AwaitingRecipientCheck(t, f) => (t, f),
            State::Closed => return,
            other => panic!("RecipientChecked in state {other:?}"),
        };
        let destination = match verdict {
            RecipientVerdict::Local(mailbox) => Destination::Local(mailbox),
            // <Postmaster> without a domain is always ours (RFC 5321
            // 4.5.1): with no domain configured it has nowhere to go.
            RecipientVerdict::NotLocal
                if self.may_relay && matches!(forward_path, ForwardPath::Mailbox(_)) =>
            {
                Destination::Remote
            }
            RecipientVerdict::UnknownLocalUser => {
                self.state = transaction_state(transaction);
                let text = format!("{forward_path}: Recipient address rejected: User unknown");
                return self.refuse_recipient(
                    forward_path,
                    Reply::new(550, status::BAD_DESTINATION_MAILBOX, text),
                );
            }
            RecipientVerdict::NotLocal => {
                self.state = transaction_state(transaction);
                let text = format!("{forward_path}: Relaying denied");
                return self
                    .refuse_recipient(forward_path, Reply::new(554, status::RELAY_DENIED, text));
            }
        };
        let recipient = Recipient {
            forward_path,
            destination,
        };
        self.check_lists_or_go_on(transaction, recipient);
    }

    pub(super) fn accept_recipient(&mut self, mut transaction: Transaction, recipient: Recipient) {
        self.output
            .push_back(Output::Event(Event::RecipientAccepted {
                forward_path: recipient.forward_path.clone(),
            }));
        transaction.recipients.push(recipient);
        self.state = State::ExpectRcptOrData(transaction);
        self.reply(Reply::new(250, status::DESTINATION_OK, "Ok"));
    }
}

pub(super) fn transaction_state(transaction: Transaction) -> State {
    if transaction.recipients.is_empty() {
        State::ExpectRcpt(transaction)
    } else {
        State::ExpectRcptOrData(transaction)
    }
}

fn forward_path_is_ascii(forward_path: &ForwardPath) -> bool {
    match forward_path {
        ForwardPath::Postmaster => true,
        ForwardPath::Mailbox(mailbox) => mailbox.is_ascii(),
    }
}
