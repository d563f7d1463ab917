//! Spam control in the server machine (see [`crate::spam`]): blocklist
//! lookups before the greeting and at MAIL, the greylist at RCPT.
//!
//! A listed client gets `554 5.7.1` in place of the greeting (RFC 5321
//! 3.1); the session then answers QUIT with `221` and everything else
//! with `503` until the client leaves, its errors run out, or a timer
//! ends it. A listed sender domain gets `554 5.7.1` at MAIL. A greylisted
//! recipient gets `451 4.7.1`, which is not counted as the client's
//! error: a genuine sender is told to come back, not punished.

use super::Server;
use crate::address::{ForwardPath, ReversePath};
use crate::envelope::Recipient;
use crate::smtp::server::command::{Command, MailCommand};
use crate::smtp::server::reply::{Reply, status};
use crate::smtp::server::state::{State, Transaction};
use crate::smtp::server::{Event, Output, Request};
use crate::spam::dnsbl::{client_refusal, sender_refusal};
use crate::spam::{GreylistVerdict, Listed, LookupAnswer, Query, Triplet, exempt};

impl Server {
    /// Spam control does not apply to this client now: it is in our
    /// networks or has logged in.
    pub(super) fn spam_exempt(&self) -> bool {
        exempt(
            &self.config.relay,
            self.info.remote.ip(),
            self.identity.is_some(),
        )
    }

    /// At connect: asks for the client's blocklist lookups and returns
    /// true, or returns false when there are none to make (the greeting
    /// goes out at once).
    pub(super) fn look_up_client(&mut self) -> bool {
        if self.spam_exempt() {
            return false;
        }
        let queries = self
            .config
            .spam
            .blocklists
            .client_queries(self.info.remote.ip());
        if queries.is_empty() {
            return false;
        }
        self.output
            .push_back(Output::Request(Request::LookUpBlocklists(queries.clone())));
        self.state = State::AwaitingClientBlocklists(queries);
        true
    }

    /// At MAIL, once the command is otherwise acceptable: asks for the
    /// sender domain's lookups, or accepts the sender at once.
    pub(super) fn look_up_sender(&mut self, mail: MailCommand) {
        let queries = match &mail.reverse_path {
            ReversePath::Mailbox(mailbox) if !self.spam_exempt() => {
                self.config.spam.blocklists.domain_queries(&mailbox.domain)
            }
            _ => Vec::new(),
        };
        if queries.is_empty() {
            return self.check_sender(mail);
        }
        self.output
            .push_back(Output::Request(Request::LookUpBlocklists(queries.clone())));
        self.state = State::AwaitingSenderBlocklists(mail, queries);
    }

    /// The answer to [`Request::LookUpBlocklists`].
    pub(super) fn blocklists_looked_up(&mut self, answers: Vec<LookupAnswer>) {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::AwaitingClientBlocklists(queries) => {
                self.state = State::ExpectMail;
                if self.refused_by(&queries, &answers, None) {
                    self.state = State::Refused;
                } else {
                    self.greet();
                }
            }
            State::AwaitingSenderBlocklists(mail, queries) => {
                self.state = State::ExpectMail;
                let domain = match &mail.reverse_path {
                    ReversePath::Mailbox(mailbox) => mailbox.domain.clone(),
                    ReversePath::Null => String::new(),
                };
                if !self.refused_by(&queries, &answers, Some(&domain)) {
                    self.check_sender(mail);
                }
            }
            State::Closed => {}
            other => panic!("BlocklistsLookedUp in state {other:?}"),
        }
    }

    /// Weighs the answers; reports failed lookups; refuses with `554
    /// 5.7.1` (as the greeting, or at MAIL for `sender_domain`) when the
    /// threshold is reached. True if refused.
    fn refused_by(
        &mut self,
        queries: &[Query],
        answers: &[LookupAnswer],
        sender_domain: Option<&str>,
    ) -> bool {
        let verdict = self.config.spam.blocklists.verdict(queries, answers);
        for (zone, reason) in &verdict.failures {
            self.output
                .push_back(Output::Event(Event::BlocklistLookupFailed {
                    zone: zone.clone(),
                    reason: reason.clone(),
                }));
        }
        if !verdict.refused {
            return false;
        }
        let zone = verdict.first_zone().to_owned();
        let listed = match sender_domain {
            None => Listed::Client(self.info.remote.ip()),
            Some(domain) => Listed::SenderDomain(domain.to_owned()),
        };
        self.output.push_back(Output::Event(Event::Blocklisted {
            listed,
            zones: verdict.listing.iter().map(|(z, _)| z.clone()).collect(),
            score: verdict.score,
        }));
        match sender_domain {
            None => {
                let text = client_refusal(self.info.remote.ip(), &zone);
                self.reply(Reply::new(554, status::ACCESS_DENIED, text));
            }
            Some(domain) => {
                let text = sender_refusal(domain, &zone);
                self.refuse_command(Reply::new(554, status::ACCESS_DENIED, text));
            }
        }
        true
    }

    /// After a `554` greeting (RFC 5321 3.1): QUIT is answered, every
    /// other command gets `503`.
    pub(super) fn handle_refused(&mut self, command: Option<Command>) {
        if let Some(Command::Quit) = command {
            let text = format!("{} closing connection", self.config.hostname);
            self.reply(Reply::new(221, status::OK, text));
            return self.close();
        }
        self.refuse_command(Reply::new(
            503,
            status::INVALID_COMMAND,
            "Bad sequence of commands: no service here, send QUIT",
        ));
    }

    /// A recipient the directory accepted: asks the greylist about it when
    /// the instance greylists this client, or accepts it at once.
    pub(super) fn greylist_or_accept(&mut self, transaction: Transaction, recipient: Recipient) {
        let policy = match self.config.spam.greylist {
            Some(policy) if !self.spam_exempt() => policy,
            _ => return self.accept_recipient(transaction, recipient),
        };
        let triplet = Triplet::new(
            self.info.remote.ip(),
            &transaction.reverse_path,
            &recipient.forward_path,
        );
        self.output
            .push_back(Output::Request(Request::CheckGreylist(triplet, policy)));
        self.state = State::AwaitingGreylist(transaction, recipient);
    }

    /// The answer to [`Request::CheckGreylist`].
    pub(super) fn greylist_checked(&mut self, verdict: GreylistVerdict) {
        let (transaction, recipient) = match std::mem::replace(&mut self.state, State::Closed) {
            State::AwaitingGreylist(t, r) => (t, r),
            State::Closed => return,
            other => panic!("GreylistChecked in state {other:?}"),
        };
        match verdict {
            GreylistVerdict::Pass => self.accept_recipient(transaction, recipient),
            GreylistVerdict::Defer { retry_in } => {
                self.state = super::envelope::transaction_state(transaction);
                let reply = Reply::new(
                    451,
                    status::GREYLISTED,
                    GreylistVerdict::reply_text(retry_in),
                );
                let forward_path: ForwardPath = recipient.forward_path;
                self.output.push_back(Output::Event(Event::Greylisted {
                    forward_path: forward_path.clone(),
                    retry_in,
                }));
                self.output
                    .push_back(Output::Event(Event::RecipientRefused {
                        forward_path,
                        reply: super::reply_text(&reply),
                    }));
                self.reply(reply);
            }
        }
    }
}
