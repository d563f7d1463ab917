//! The TRANSACTION state (RFC 1939 5, 7): STAT, LIST, UIDL, RETR, TOP,
//! DELE, RSET; and QUIT, which enters UPDATE (RFC 1939 6).

use super::Pop3Server;
use crate::pop3::codec::Code;
use crate::pop3::state::{Retrieval, Session, State, TopFilter};
use crate::pop3::{Event, Output, Request, UpdateFailure, uidl};
use crate::smtp::client::DotStuffer;
use crate::text::counted;

impl Pop3Server {
    fn session(&self) -> &Session {
        match &self.state {
            State::Transaction(session) => session,
            other => unreachable!("a TRANSACTION command in {other:?}"),
        }
    }

    fn session_mut(&mut self) -> &mut Session {
        match &mut self.state {
            State::Transaction(session) => session,
            other => unreachable!("a TRANSACTION command in {other:?}"),
        }
    }

    /// The index of message `number`, if it exists and is not deleted;
    /// otherwise the client is told why (counted as an error).
    fn message_index(&mut self, number: u32) -> Option<usize> {
        let session = self.session();
        let index = (number as usize).checked_sub(1);
        match index.filter(|&i| i < session.maildrop.messages.len()) {
            None => {
                self.refuse(None, "No such message");
                None
            }
            Some(i) if session.deleted[i] => {
                self.refuse(None, &format!("Message {number} is deleted"));
                None
            }
            Some(i) => Some(i),
        }
    }

    pub(super) fn handle_stat(&mut self) {
        let (messages, octets) = self.session().totals();
        self.ok(&format!("{messages} {octets}"));
    }

    pub(super) fn handle_list(&mut self, message: Option<u32>) {
        self.scan_listing(message, |session, i| {
            session.maildrop.messages[i].size.to_string()
        });
    }

    pub(super) fn handle_uidl(&mut self, message: Option<u32>) {
        self.scan_listing(message, |session, i| {
            uidl(
                session.maildrop.messages[i].uid,
                session.maildrop.uid_validity,
            )
        });
    }

    /// LIST and UIDL: one message's line, or every message not deleted.
    fn scan_listing(&mut self, message: Option<u32>, value: impl Fn(&Session, usize) -> String) {
        if let Some(number) = message {
            if let Some(i) = self.message_index(number) {
                let line = format!("{number} {}", value(self.session(), i));
                self.ok(&line);
            }
            return;
        }
        let session = self.session();
        let lines: Vec<String> = (0..session.maildrop.messages.len())
            .filter(|&i| !session.deleted[i])
            .map(|i| format!("{} {}", i + 1, value(session, i)))
            .collect();
        let (messages, octets) = session.totals();
        self.multi_line(
            &format!(
                "{} ({})",
                counted(messages, "message", "messages"),
                counted(octets, "octet", "octets")
            ),
            &lines,
        );
    }

    /// RETR, or TOP with `lines`: asks the driver for the message.
    pub(super) fn handle_retr(&mut self, number: u32, lines: Option<u32>) {
        let Some(index) = self.message_index(number) else {
            return;
        };
        let State::Transaction(session) = std::mem::replace(&mut self.state, State::Closed) else {
            unreachable!("message_index succeeded outside TRANSACTION");
        };
        let message = session.maildrop.messages[index];
        self.output
            .push_back(Output::Request(Request::Retrieve { uid: message.uid }));
        self.state = State::Retrieving(
            session,
            Retrieval {
                uid: message.uid,
                stuffer: DotStuffer::default(),
                top: lines.map(TopFilter::new),
                started: false,
                octets: 0,
                size: message.size,
                index,
            },
        );
    }

    /// `+OK` before the first octet of the message.
    fn start_message(&mut self) {
        let State::Retrieving(_, retrieval) = &mut self.state else {
            return;
        };
        if retrieval.started {
            return;
        }
        retrieval.started = true;
        let text = if retrieval.top.is_some() {
            "Top of message follows".to_owned()
        } else {
            counted(retrieval.size, "octet", "octets")
        };
        self.ok(&text);
    }

    pub(in crate::pop3) fn message_chunk(&mut self, chunk: &[u8]) {
        match &self.state {
            State::Retrieving(..) => {}
            State::Closed => return,
            other => panic!("MessageChunk in state {other:?}"),
        }
        self.start_message();
        let State::Retrieving(_, retrieval) = &mut self.state else {
            unreachable!("checked above");
        };
        let (take, done) = match retrieval.top.as_mut().map(|top| top.take(chunk)) {
            Some(Some(n)) => (n, true),
            _ => (chunk.len(), false),
        };
        let mut out = Vec::with_capacity(take + take / 32 + 8);
        retrieval.stuffer.stuff(&chunk[..take], &mut out);
        retrieval.octets += take as u64;
        if !out.is_empty() {
            self.send(out);
        }
        if done {
            self.finish_message();
        }
    }

    pub(in crate::pop3) fn message_end(&mut self) {
        match &self.state {
            State::Retrieving(..) => {}
            State::Closed => return,
            other => panic!("MessageEnd in state {other:?}"),
        }
        self.start_message();
        self.finish_message();
    }

    /// The terminating `.` (a CRLF first if the message lacked one), and
    /// back to TRANSACTION.
    fn finish_message(&mut self) {
        let State::Retrieving(mut session, retrieval) =
            std::mem::replace(&mut self.state, State::Closed)
        else {
            unreachable!("finish_message outside Retrieving");
        };
        let mut out = Vec::new();
        retrieval.stuffer.finish(&mut out);
        self.send(out);
        if retrieval.top.is_none() {
            session.retrieved[retrieval.index] = true;
            self.output.push_back(Output::Event(Event::Retrieved {
                uid: retrieval.uid,
                octets: retrieval.octets,
            }));
        }
        self.state = State::Transaction(session);
    }

    /// The message could not be read: `-ERR` if nothing was sent yet;
    /// otherwise the response cannot be finished and the session ends.
    pub(in crate::pop3) fn message_unavailable(&mut self) {
        let State::Retrieving(session, retrieval) =
            std::mem::replace(&mut self.state, State::Closed)
        else {
            if !self.is_closed() {
                panic!("MessageUnavailable outside a retrieval");
            }
            return;
        };
        self.output
            .push_back(Output::Event(Event::RetrievalFailed { uid: retrieval.uid }));
        if retrieval.started {
            self.close();
            return;
        }
        self.state = State::Transaction(session);
        self.err(
            Some(Code::SysTemp),
            "Message cannot be read right now; it may have been removed",
        );
    }

    pub(super) fn handle_dele(&mut self, number: u32) {
        let Some(index) = self.message_index(number) else {
            return;
        };
        self.session_mut().deleted[index] = true;
        self.ok(&format!("Message {number} deleted"));
    }

    pub(super) fn handle_rset(&mut self) {
        let session = self.session_mut();
        session.deleted.fill(false);
        let (messages, octets) = session.totals();
        self.ok(&format!(
            "{} ({})",
            counted(messages, "message", "messages"),
            counted(octets, "octet", "octets")
        ));
    }

    /// QUIT: in AUTHORIZATION a goodbye; in TRANSACTION the UPDATE state
    /// (RFC 1939 6) when there is something to update.
    pub(super) fn handle_quit(&mut self) {
        let goodbye = format!("{} POP3 Postern signing off", self.config.hostname);
        let State::Transaction(session) = std::mem::replace(&mut self.state, State::Closed) else {
            self.state = State::Closed;
            self.ok(&goodbye);
            self.input.clear();
            self.output.push_back(Output::Close);
            return;
        };
        let (expunge, seen) = (session.expunge(), session.seen());
        let (left, _) = session.totals();
        if expunge.is_empty() && seen.is_empty() {
            self.ok(&format!(
                "{goodbye} ({} left)",
                counted(left, "message", "messages")
            ));
            self.close();
            return;
        }
        self.state = State::AwaitingUpdate {
            deleted: expunge.len(),
            seen: seen.len(),
            left,
        };
        self.output
            .push_back(Output::Request(Request::Update { expunge, seen }));
    }

    pub(in crate::pop3) fn updated(&mut self, result: Result<(), UpdateFailure>) {
        let (deleted, seen, left) = match std::mem::replace(&mut self.state, State::Closed) {
            State::AwaitingUpdate {
                deleted,
                seen,
                left,
            } => (deleted, seen, left),
            State::Closed => return,
            other => panic!("Updated in state {other:?}"),
        };
        match result {
            Ok(()) => {
                self.output
                    .push_back(Output::Event(Event::Updated { deleted, seen }));
                let text = format!(
                    "{} POP3 Postern signing off ({} left)",
                    self.config.hostname,
                    counted(left, "message", "messages")
                );
                self.ok(&text);
            }
            Err(UpdateFailure) => {
                self.output
                    .push_back(Output::Event(Event::UpdateFailed { deleted }));
                // RFC 1939 6: some deleted messages may not have been
                // removed.
                self.err(
                    Some(Code::SysTemp),
                    "Some deleted messages were not removed, try again later",
                );
            }
        }
        self.close();
    }
}
