//! DATA in the server machine: opening the message in the store,
//! receiving it through the decoder, and committing it.

use super::{Server, message_too_big, reply_text};
use crate::envelope::{ClientInfo, Envelope};
use crate::mail_auth::MailAuthMode;
use crate::mail_auth::arc::apply_trusted_sealers;
use crate::mail_auth::dmarc::Policy;
use crate::mail_auth::results::{Findings, authentication_results};
use crate::smtp::server::data::{DataDecoder, DataFailure, Progress};
use crate::smtp::server::reply::{Reply, status};
use crate::smtp::server::state::{Receiving, State, Transaction};
use crate::smtp::server::timers::DataPace;
use crate::smtp::server::{CheckRequest, Event, OpenedMessage, Output, Request, StoreFailure};
use crate::text::escape_controls;
use std::net::IpAddr;

impl Server {
    pub(super) fn handle_data(&mut self) {
        let transaction = match std::mem::replace(&mut self.state, State::Closed) {
            State::ExpectRcptOrData(t) => t,
            other => {
                let reply = match &other {
                    State::ExpectRcpt(t) if t.rcpt_attempts > 0 => {
                        Reply::new(554, status::INVALID_COMMAND, "No valid recipients")
                    }
                    State::ExpectRcpt(_) => {
                        Reply::new(503, status::INVALID_COMMAND, "Need RCPT command first")
                    }
                    _ => Reply::new(503, status::INVALID_COMMAND, "Need MAIL command first"),
                };
                self.state = other;
                return self.refuse_command(reply);
            }
        };
        let envelope = Envelope {
            reverse_path: transaction.reverse_path.clone(),
            recipients: transaction.recipients.clone(),
            body: transaction.body,
            smtputf8: transaction.smtputf8,
            client: ClientInfo {
                helo: self
                    .helo
                    .as_ref()
                    .map(|h| h.domain.clone())
                    .unwrap_or_default(),
                address: self.info.remote.ip().to_string(),
                submitted: self
                    .config
                    .relay
                    .vouches_for(self.info.remote.ip(), self.identity.is_some()),
            },
        };
        self.output
            .push_back(Output::Request(Request::OpenMessage(envelope)));
        self.state = State::AwaitingOpen(transaction);
    }

    pub(super) fn message_opened(&mut self, result: Result<OpenedMessage, StoreFailure>) {
        let transaction = match std::mem::replace(&mut self.state, State::Closed) {
            State::AwaitingOpen(t) => t,
            State::Closed => return,
            other => panic!("MessageOpened in state {other:?}"),
        };
        let Ok(opened) = result else {
            self.state = State::ExpectMail;
            let reply = Reply::new(
                451,
                status::TEMPORARY_SYSTEM,
                "Cannot queue the message now, try again later",
            );
            self.output.push_back(Output::Event(Event::CommandRefused {
                reply: reply_text(&reply),
            }));
            // Our failure, not the client's: it does not count as an error.
            return self.reply(reply);
        };
        let header = self.received_header(&transaction, opened);
        self.output
            .push_back(Output::MessageData(header.into_bytes()));
        self.state = State::ReceivingData(Receiving {
            queue_id: opened.queue_id,
            decoder: DataDecoder::new(self.config.max_message_size, self.config.max_hops)
                .renaming_forged_results(&self.config.hostname),
            reverse_path: transaction.reverse_path,
            forward_paths: transaction
                .recipients
                .into_iter()
                .map(|r| r.forward_path)
                .collect(),
            pace: DataPace::new(self.now),
            spf: transaction.spf,
        });
        // RFC 2034 section 3 asks for enhanced codes on 2xx, 4xx and 5xx
        // replies; 354 is intermediate and goes without, as in Postfix.
        self.reply(Reply::plain(
            354,
            vec!["End data with <CR><LF>.<CR><LF>".to_owned()],
        ));
    }

    /// Feeds buffered bytes to the DATA decoder; true if the data ended
    /// and commands may follow.
    pub(super) fn receive_data(&mut self) -> bool {
        let State::ReceivingData(receiving) = &mut self.state else {
            unreachable!("receive_data outside ReceivingData");
        };
        let mut content = Vec::new();
        let progress = receiving.decoder.feed(&self.input, &mut content);
        if !content.is_empty() {
            self.output.push_back(Output::MessageData(content));
        }
        let consumed = match progress {
            Progress::NeedMore => self.input.len(),
            Progress::End { consumed } => consumed,
            Progress::BareLineEnding => 0,
        };
        receiving.pace.received(consumed, self.now);
        match progress {
            Progress::NeedMore => {
                self.input.clear();
                false
            }
            Progress::End { consumed } => {
                self.input.drain(..consumed);
                self.end_of_data();
                true
            }
            Progress::BareLineEnding => {
                let reply = Reply::new(
                    554,
                    status::SYNTAX_ERROR,
                    "Bare CR or LF in message data is not allowed (RFC 5321 2.3.8), closing connection",
                );
                let queue_id = receiving.queue_id;
                self.output.push_back(Output::Event(Event::MessageRefused {
                    queue_id,
                    reply: reply_text(&reply),
                }));
                self.abort_open_message();
                self.reply(reply);
                self.close();
                false
            }
        }
    }

    fn end_of_data(&mut self) {
        let State::ReceivingData(receiving) = std::mem::replace(&mut self.state, State::ExpectMail)
        else {
            unreachable!("end_of_data outside ReceivingData");
        };
        let Some(failure) = receiving.decoder.failure() else {
            let ours = self
                .config
                .relay
                .vouches_for(self.info.remote.ip(), self.identity.is_some());
            if ours || self.config.mail_auth == MailAuthMode::Off {
                self.output
                    .push_back(Output::Request(Request::CommitMessage));
                self.state = State::AwaitingStore(receiving);
            } else {
                let helo = self.helo.as_ref().map(|h| h.domain.clone());
                self.output
                    .push_back(Output::Request(Request::CheckMessage(CheckRequest {
                        reverse_path: receiving.reverse_path.clone(),
                        helo: helo.unwrap_or_default(),
                        receiver: self.config.hostname.clone(),
                        spf: receiving.spf.clone(),
                    })));
                self.state = State::AwaitingChecks(receiving);
            }
            return;
        };
        let reply = match failure {
            DataFailure::TooBig => message_too_big(),
            DataFailure::LineTooLong => Reply::new(
                500,
                status::SYNTAX_ERROR,
                "Message line too long: RFC 5321 4.5.3.1.6 allows 1000 octets",
            ),
            DataFailure::NulByte => {
                Reply::new(554, status::MEDIA_ERROR, "NUL byte in message data")
            }
            DataFailure::TooManyHops => Reply::new(
                554,
                status::ROUTING_LOOP,
                format!(
                    "Too many hops ({} Received headers): mail loop?",
                    receiving.decoder.hops()
                ),
            ),
        };
        self.output.push_back(Output::AbortMessage);
        self.output.push_back(Output::Event(Event::MessageRefused {
            queue_id: receiving.queue_id,
            reply: reply_text(&reply),
        }));
        self.count_failure(reply);
    }

    /// The checks are done: their `Authentication-Results:` goes on top
    /// of the message, which is then committed.
    pub(super) fn message_checked(&mut self, mut findings: Findings) {
        let receiving = match std::mem::replace(&mut self.state, State::ExpectMail) {
            State::AwaitingChecks(r) => r,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("MessageChecked in state {other:?}"),
        };
        apply_trusted_sealers(&mut findings, &self.config.arc_trusted_sealers);
        let rejected = findings
            .dmarc
            .as_ref()
            .filter(|d| d.disposition == Policy::Reject)
            .map(|d| d.from_domain.clone());
        if let Some(domain) = rejected
            && self.config.mail_auth == MailAuthMode::Enforce
        {
            // RFC 7489 6.6.4 and 10.3: a 5xx at the end of DATA.
            let reply = Reply::new(
                550,
                status::SECURITY_POLICY,
                format!(
                    "Message refused: {} rejects mail from its domain that fails DMARC",
                    escape_controls(&domain)
                ),
            );
            self.output.push_back(Output::AbortMessage);
            self.output.push_back(Output::Event(Event::MessageRefused {
                queue_id: receiving.queue_id,
                reply: reply_text(&reply),
            }));
            // The sender's policy, not the client's mistake: not counted.
            return self.reply(reply);
        }
        let field = authentication_results(&self.config.hostname, &findings);
        if !field.is_empty() {
            self.output.push_back(Output::Trace(field.into_bytes()));
        }
        let quarantined = findings
            .dmarc
            .as_ref()
            .filter(|d| d.disposition == Policy::Quarantine)
            .map(|d| d.from_domain.clone());
        if let Some(domain) = quarantined
            && self.config.mail_auth == MailAuthMode::Enforce
        {
            self.output.push_back(Output::Quarantine);
            self.output
                .push_back(Output::Event(Event::MessageQuarantined {
                    queue_id: receiving.queue_id,
                    domain,
                }));
        }
        self.output
            .push_back(Output::Request(Request::CommitMessage));
        self.state = State::AwaitingStore(receiving);
    }

    pub(super) fn message_committed(&mut self, result: Result<(), StoreFailure>) {
        let receiving = match std::mem::replace(&mut self.state, State::ExpectMail) {
            State::AwaitingStore(r) => r,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("MessageCommitted in state {other:?}"),
        };
        let queue_id = receiving.queue_id;
        match result {
            Ok(()) => {
                self.output.push_back(Output::Event(Event::MessageQueued {
                    queue_id,
                    reverse_path: receiving.reverse_path,
                    forward_paths: receiving.forward_paths,
                    size: receiving.decoder.size(),
                }));
                self.reply(Reply::new(
                    250,
                    status::OK,
                    format!("Ok: queued as {queue_id}"),
                ));
            }
            Err(StoreFailure) => {
                let reply = Reply::new(
                    451,
                    status::TEMPORARY_SYSTEM,
                    "Error writing the message to the queue, try again later",
                );
                self.output.push_back(Output::Event(Event::MessageRefused {
                    queue_id,
                    reply: reply_text(&reply),
                }));
                // Our failure, not the client's: it does not count as an error.
                self.reply(reply);
            }
        }
    }

    /// RFC 5321 4.4 trace header, folded onto three lines.
    fn received_header(&self, transaction: &Transaction, opened: OpenedMessage) -> String {
        // The parser refuses control characters in HELO; escaping here too
        // means no change there can let one forge a header line.
        let helo = escape_controls(self.helo.as_ref().map_or("unknown", |h| h.domain.as_str()));
        let extended = self.helo.as_ref().is_some_and(|h| h.extended);
        // RFC 3848 and RFC 6531 3.7.3 name the protocol.
        let base = match (extended, transaction.smtputf8) {
            (true, true) => "UTF8SMTP",
            (true, false) => "ESMTP",
            (false, _) => "SMTP",
        };
        // RFC 3848 and RFC 6531: S for TLS, A for AUTH (extended only).
        let suffix = match (extended, self.tls, self.identity.is_some()) {
            (false, _, _) | (true, false, false) => "",
            (true, true, false) => "S",
            (true, false, true) => "A",
            (true, true, true) => "SA",
        };
        let protocol = format!("{base}{suffix}");
        let address = match self.info.remote.ip() {
            IpAddr::V4(v4) => format!("[{v4}]"),
            IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
        };
        // Name the recipient only when there is one, so that a message to
        // many does not tell each of them about the others.
        let for_clause = match transaction.recipients.as_slice() {
            [only] => format!("\r\n\tfor {}", only.forward_path),
            _ => String::new(),
        };
        format!(
            "Received: from {helo} ({address})\r\n\tby {host} (Postern) with {protocol} id {id}{for_clause};\r\n\t{date}\r\n",
            host = self.config.hostname,
            id = opened.queue_id,
            date = opened.received_at.to_rfc5322(),
        )
    }
}
