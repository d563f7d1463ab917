//! The client machine: states and transitions. See the module docs of
//! [`super`] for the contract.

use super::offer::{Extensions, Transfer};
use super::reply::{ReplyParser, ServerReply};
use super::{
    ClientConfig, ClientEvent, Delivery, Input, Outcome, Output, RecipientResult, SessionFailure,
    TlsPolicy, Verdict,
};
use crate::limits::{
    CLIENT_CONNECTION_AGE_MAX, CLIENT_CONNECTION_IDLE_MAX, CLIENT_MESSAGES_PER_CONNECTION_MAX,
    REPLY_TEXT_BYTES_MAX,
};
use crate::text::{bounded, escape_controls};
use crate::time::Instant;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// A reply the machine is waiting for, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    AuthPlain,
    /// AUTH LOGIN: the prompt for the user name, then for the password,
    /// then the result.
    AuthLoginUser,
    AuthLoginPassword,
    AuthResult,
    Mail,
    /// The reply to RCPT for recipient `n`.
    Rcpt(usize),
    Data,
    /// The reply after the final dot.
    DataEnd,
    /// The reply to a lone dot sent after an unwanted 354.
    Discarded,
    /// The reply to RSET, before the next message on this connection.
    Rset,
}

impl Expect {
    fn command(self) -> &'static str {
        match self {
            Expect::Greeting => "greeting",
            Expect::Ehlo => "EHLO",
            Expect::Helo => "HELO",
            Expect::StartTls => "STARTTLS",
            Expect::AuthPlain
            | Expect::AuthLoginUser
            | Expect::AuthLoginPassword
            | Expect::AuthResult => "AUTH",
            Expect::Mail => "MAIL",
            Expect::Rcpt(_) => "RCPT",
            Expect::Data => "DATA",
            Expect::DataEnd => "end of data",
            Expect::Discarded => "end of discarded data",
            Expect::Rset => "RSET",
        }
    }
}

/// One SMTP client session.
#[derive(Debug)]
pub struct Client {
    config: Arc<ClientConfig>,
    delivery: Delivery,
    parser: ReplyParser,
    extensions: Extensions,
    /// Replies still to come, in order.
    expected: VecDeque<Expect>,
    /// The verdict so far of each recipient; `None` until its RCPT reply.
    verdicts: Vec<Option<(Verdict, String)>>,
    /// MAIL was refused: the recipients share its verdict.
    mail_refused: Option<(Verdict, String)>,
    /// The driver is streaming the message.
    sending_message: bool,
    /// The connection is over (QUIT sent, or lost): nothing more comes.
    finished: bool,
    /// Transactions this connection may carry; 1 unless
    /// [`Client::with_reuse`] said more.
    messages_max: u32,
    /// Transactions ended on this connection so far.
    messages: u32,
    /// [`Output::Ready`] was emitted: waiting for the next message.
    idle: bool,
    /// MAIL was sent and the transaction has not been ended by the server
    /// (a reply to the final dot, or MAIL refused): the next message needs
    /// an RSET first (RFC 5321 4.1.1.5).
    transaction_open: bool,
    /// The server said 421: it is closing the connection (RFC 5321 3.8).
    server_closing: bool,
    /// The connection is encrypted.
    tls: bool,
    /// StartTls was emitted; the handshake's result has not come back.
    awaiting_tls: bool,
    output: VecDeque<Output>,
    /// When the session began: a connection older than
    /// [`CLIENT_CONNECTION_AGE_MAX`] takes no further message.
    opened: Instant,
    now: Instant,
    deadline: Option<Instant>,
}

impl Client {
    /// A session that will deliver `delivery`; it waits for the greeting.
    pub fn new(config: Arc<ClientConfig>, delivery: Delivery, now: Instant) -> Self {
        let deadline = Some(now + config.timeouts.greeting);
        let recipients = delivery.recipients.len();
        let implicit = config.tls == TlsPolicy::Implicit;
        let mut client = Client {
            config,
            delivery,
            parser: ReplyParser::default(),
            extensions: Extensions::default(),
            expected: VecDeque::from([Expect::Greeting]),
            verdicts: vec![None; recipients],
            mail_refused: None,
            sending_message: false,
            finished: false,
            messages_max: 1,
            messages: 0,
            idle: false,
            transaction_open: false,
            server_closing: false,
            tls: false,
            awaiting_tls: false,
            output: VecDeque::new(),
            opened: now,
            now,
            deadline,
        };
        if implicit {
            // RFC 8314 3.3: the handshake comes first; the driver bounds
            // it, and the greeting timer starts when it is done.
            client.awaiting_tls = true;
            client.deadline = None;
            client.output.push_back(Output::StartTls);
        }
        client
    }

    /// This session may carry up to `messages_max` messages (at most
    /// [`CLIENT_MESSAGES_PER_CONNECTION_MAX`]): after each transaction it
    /// emits [`Output::Ready`] instead of QUIT, and the driver hands in the
    /// next message or [`Input::NoMoreMessages`] (RFC 5321 3.3).
    pub fn with_reuse(mut self, messages_max: u32) -> Self {
        self.messages_max = messages_max.clamp(1, CLIENT_MESSAGES_PER_CONNECTION_MAX);
        self
    }

    /// Transactions this connection has ended so far.
    pub fn messages(&self) -> u32 {
        self.messages
    }

    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        assert!(now >= self.now, "time went backwards");
        assert!(
            self.output.is_empty(),
            "input handed in while output was pending"
        );
        self.now = now;
        if self.finished {
            return;
        }
        if self.idle {
            return self.handle_idle_input(input);
        }
        match input {
            Input::NextMessage(_) | Input::NoMoreMessages => {
                panic!("a next message handed in while a transaction is under way")
            }
            // RFC 3207 4.2: nothing the server sends between its 220 and
            // the handshake is read as a reply.
            Input::Bytes(bytes) if self.awaiting_tls => {
                self.output
                    .push_back(Output::Event(ClientEvent::PlaintextDiscarded {
                        octets: bytes.len(),
                    }));
            }
            Input::Bytes(bytes) => {
                self.parser.push(bytes);
                self.read_replies();
            }
            Input::EndOfInput => self.lost("the server closed the connection"),
            Input::TimerFired => {
                if self.deadline.is_some_and(|d| now >= d) {
                    let why = if self.sending_message {
                        "timed out sending the message".to_owned()
                    } else {
                        let waiting_for = self.expected.front().map_or("a reply", |e| e.command());
                        format!("timed out waiting for {waiting_for}")
                    };
                    self.lost(&why);
                }
            }
            Input::MessageSent => {
                assert!(self.sending_message, "MessageSent without SendMessage");
                self.sending_message = false;
                self.expect(Expect::DataEnd, self.config.timeouts.data_end);
            }
            Input::SendFailed(why) => {
                assert!(self.sending_message, "SendFailed without SendMessage");
                self.lost(&escape_controls(&why));
            }
            // RFC 3207 4.2: start over with EHLO, forgetting what the
            // server offered in clear.
            Input::TlsStarted if self.expected.front() == Some(&Expect::Greeting) => {
                // Implicit TLS: now the greeting, inside the tunnel.
                self.awaiting_tls = false;
                self.tls = true;
                self.output
                    .push_back(Output::Event(ClientEvent::TlsStarted));
                self.deadline = Some(now + self.config.timeouts.greeting);
            }
            Input::TlsStarted => {
                self.awaiting_tls = false;
                self.tls = true;
                self.extensions = Extensions::default();
                self.output
                    .push_back(Output::Event(ClientEvent::TlsStarted));
                self.send(format!("EHLO {}\r\n", self.config.hostname));
                self.expect(Expect::Ehlo, self.config.timeouts.command);
            }
            Input::TlsFailed(detail) => {
                self.awaiting_tls = false;
                let detail = escape_controls(&detail);
                let stage = if self.config.tls == TlsPolicy::Implicit {
                    "TLS"
                } else {
                    "STARTTLS"
                };
                self.session_failed(
                    stage,
                    format!(
                        "the TLS handshake failed: {}",
                        bounded(&detail, REPLY_TEXT_BYTES_MAX)
                    ),
                    false,
                )
            }
        }
    }

    /// Between transactions: the next message, the end, or the server
    /// hanging up (its 421 or a close), or the idle limit.
    fn handle_idle_input(&mut self, input: Input<'_>) {
        match input {
            Input::NextMessage(delivery) => {
                self.idle = false;
                self.verdicts = vec![None; delivery.recipients.len()];
                self.delivery = delivery;
                self.mail_refused = None;
                if self.transaction_open {
                    self.transaction_open = false;
                    self.send("RSET\r\n".to_owned());
                    self.expect(Expect::Rset, self.config.timeouts.command);
                } else {
                    self.start_transaction();
                }
            }
            Input::NoMoreMessages => self.quit_idle(),
            Input::TimerFired if self.deadline.is_some_and(|d| self.now >= d) => self.quit_idle(),
            Input::TimerFired => {}
            // Whatever the server says now (a 421 before it closes, RFC
            // 5321 3.8) ends the connection: there is no message to settle.
            Input::Bytes(_) | Input::EndOfInput | Input::TlsFailed(_) => self.close_idle(),
            Input::MessageSent | Input::SendFailed(_) | Input::TlsStarted => {
                panic!("{input:?} handed in between transactions")
            }
        }
    }

    fn quit_idle(&mut self) {
        self.send("QUIT\r\n".to_owned());
        self.close_idle();
    }

    fn close_idle(&mut self) {
        self.idle = false;
        self.finished = true;
        self.deadline = None;
        self.output.push_back(Output::Close);
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished { None } else { self.deadline }
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn read_replies(&mut self) {
        while !self.finished && !self.idle {
            match self.parser.next_reply() {
                Ok(Some(reply)) => self.on_reply(reply),
                Ok(None) => return,
                Err(malformed) => return self.lost(&malformed.0),
            }
        }
    }

    fn send(&mut self, text: String) {
        self.output.push_back(Output::Send(text.into_bytes()));
    }

    fn expect(&mut self, what: Expect, timeout: Duration) {
        self.expected.push_back(what);
        self.deadline = Some(self.now + timeout);
    }

    fn on_reply(&mut self, reply: ServerReply) {
        let Some(expected) = self.expected.pop_front() else {
            return self.lost(&format!("an unexpected reply: {reply}"));
        };
        self.output.push_back(Output::Event(ClientEvent::Reply {
            command: expected.command(),
            reply: reply.one_line(),
        }));
        let timeouts = self.config.timeouts;
        if reply.code == 421 {
            // RFC 5321 3.8: the server is closing; this reply settles what
            // it answers, and the connection takes no further message.
            self.server_closing = true;
        }
        match expected {
            Expect::Greeting if reply.code == 220 => {
                self.send(format!("EHLO {}\r\n", self.config.hostname));
                self.expect(Expect::Ehlo, timeouts.command);
            }
            Expect::Greeting => self.fail_session("greeting", &reply),
            Expect::Ehlo if reply.code == 250 => {
                self.extensions = Extensions::from_ehlo(&reply);
                self.secure_or_go_on();
            }
            // 500/502/504: EHLO not understood; try the old greeting.
            Expect::Ehlo if reply.code >= 500 => {
                self.send(format!("HELO {}\r\n", self.config.hostname));
                self.expect(Expect::Helo, timeouts.command);
            }
            Expect::Ehlo | Expect::Helo if reply.code != 250 => {
                self.fail_session(expected.command(), &reply)
            }
            Expect::Helo => self.secure_or_go_on(),
            Expect::StartTls if reply.code == 220 => {
                // The driver owns the connection until the handshake ends.
                // RFC 3207 4.2: what the server sent after its 220 and
                // before the handshake is not to be trusted (the classic
                // command injection, here on the client side): it goes.
                self.deadline = None;
                self.awaiting_tls = true;
                let octets = self.parser.discard();
                if octets > 0 {
                    self.output
                        .push_back(Output::Event(ClientEvent::PlaintextDiscarded { octets }));
                }
                self.output.push_back(Output::StartTls);
            }
            Expect::StartTls if self.config.tls == TlsPolicy::Required => {
                self.send("QUIT\r\n".to_owned());
                self.session_failed("STARTTLS", reply.one_line(), false);
            }
            // Opportunistic: the session goes on in clear.
            Expect::StartTls => self.after_hello(),
            Expect::Ehlo => unreachable!("every EHLO reply code is handled above"),
            Expect::AuthPlain | Expect::AuthResult if reply.code == 235 => self.authenticated(),
            Expect::AuthLoginUser if reply.code == 334 => {
                let user = self.credential(|c| c.user.clone());
                self.send(format!("{}\r\n", BASE64.encode(user)));
                self.expect(Expect::AuthLoginPassword, timeouts.command);
            }
            Expect::AuthLoginPassword if reply.code == 334 => {
                let password = self.credential(|c| c.password.clone());
                self.send(format!("{}\r\n", BASE64.encode(password)));
                self.expect(Expect::AuthResult, timeouts.command);
            }
            Expect::AuthPlain
            | Expect::AuthLoginUser
            | Expect::AuthLoginPassword
            | Expect::AuthResult => self.fail_session("AUTH", &reply),
            Expect::Mail => {
                if !reply.is_success() {
                    // No transaction was begun (RFC 5321 4.1.1.2).
                    self.transaction_open = false;
                    self.mail_refused = Some((failure_verdict(&reply), reply.one_line()));
                }
                if !self.extensions.pipelining {
                    self.after_mail();
                }
            }
            Expect::Rcpt(n) => {
                let verdict = match &self.mail_refused {
                    Some(refused) => refused.clone(),
                    None if reply.is_success() => (Verdict::Delivered, reply.one_line()),
                    None => (failure_verdict(&reply), reply.one_line()),
                };
                self.verdicts[n] = Some(verdict);
                if !self.extensions.pipelining {
                    self.after_rcpt(n);
                }
            }
            Expect::Data if reply.code == 354 && self.any_accepted() => {
                self.sending_message = true;
                self.deadline = Some(self.now + timeouts.data_block);
                self.output.push_back(Output::SendMessage);
            }
            Expect::Data if reply.code == 354 => {
                // RFC 2920 3.1: with no recipient accepted, end the data at
                // once with a lone dot.
                self.send(".\r\n".to_owned());
                self.expect(Expect::Discarded, timeouts.data_end);
            }
            // RFC 5321 4.3.2: only 354 starts the data. A 2xx here is not
            // a delivery: the server has not seen a byte of the message.
            Expect::Data if reply.is_success() || reply.is_intermediate() => {
                let detail = protocol_error("DATA", "354", &reply);
                self.settle_accepted(&(Verdict::Deferred, detail));
                self.end_transaction();
            }
            Expect::Data => {
                self.settle_accepted(&(failure_verdict(&reply), reply.one_line()));
                self.end_transaction();
            }
            Expect::DataEnd if reply.is_success() => {
                self.transaction_open = false;
                self.settle_accepted(&(Verdict::Delivered, reply.one_line()));
                self.end_transaction();
            }
            Expect::DataEnd if reply.is_intermediate() => {
                // Not a reply that ends the transaction: RSET before more.
                let detail = protocol_error("the final dot", "2xx", &reply);
                self.settle_accepted(&(Verdict::Deferred, detail));
                self.end_transaction();
            }
            Expect::DataEnd => {
                self.transaction_open = false;
                self.settle_accepted(&(failure_verdict(&reply), reply.one_line()));
                self.end_transaction();
            }
            Expect::Discarded => {
                // Any final reply to the dot ends the transaction.
                self.transaction_open = reply.is_intermediate();
                self.end_transaction();
            }
            Expect::Rset if reply.code == 250 => self.start_transaction(),
            // The message was not tried: a session failure, which gives it
            // back untouched.
            Expect::Rset => self.fail_session("RSET", &reply),
        }
    }

    fn credential(&self, field: impl Fn(&super::Credentials) -> String) -> String {
        self.config
            .credentials
            .as_ref()
            .map(field)
            .unwrap_or_default()
    }

    /// After EHLO or HELO: STARTTLS when offered and wanted; give up when
    /// TLS is required and not offered.
    fn secure_or_go_on(&mut self) {
        if self.tls || self.config.tls == TlsPolicy::Never {
            return self.after_hello();
        }
        if self.extensions.starttls {
            self.send("STARTTLS\r\n".to_owned());
            return self.expect(Expect::StartTls, self.config.timeouts.command);
        }
        if self.config.tls == TlsPolicy::Required {
            self.send("QUIT\r\n".to_owned());
            return self.session_failed(
                "STARTTLS",
                "the server does not offer STARTTLS, and TLS is required for it".to_owned(),
                false,
            );
        }
        self.after_hello();
    }

    /// After EHLO or HELO (and TLS): log in if we must, then the
    /// transaction.
    fn after_hello(&mut self) {
        let Some(credentials) = self.config.credentials.clone() else {
            return self.start_transaction();
        };
        let timeout = self.config.timeouts.command;
        if self.extensions.auth_plain {
            let token = format!("\0{}\0{}", credentials.user, credentials.password);
            self.send(format!("AUTH PLAIN {}\r\n", BASE64.encode(token)));
            self.expect(Expect::AuthPlain, timeout);
        } else if self.extensions.auth_login {
            self.send("AUTH LOGIN\r\n".to_owned());
            self.expect(Expect::AuthLoginUser, timeout);
        } else {
            self.session_failed(
                "AUTH",
                "the server offers neither AUTH PLAIN nor AUTH LOGIN, and credentials are configured for it".to_owned(),
                false,
            );
        }
    }

    fn authenticated(&mut self) {
        let user = self.credential(|c| c.user.clone());
        self.output
            .push_back(Output::Event(ClientEvent::Authenticated { user }));
        self.start_transaction();
    }

    fn start_transaction(&mut self) {
        if self.delivery.recipients.is_empty() {
            return self.end_transaction();
        }
        let size = self.delivery.size;
        if let Some(limit) = self.extensions.size.filter(|&l| l > 0 && size > l) {
            // RFC 1870 6: do not send what the server said it will refuse.
            let detail =
                format!("552 5.3.4 message of {size} octets exceeds the server's SIZE {limit}");
            return self.settle_all(Verdict::Failed, &detail);
        }
        let transfer = match Transfer::decide(&self.delivery, &self.extensions) {
            Ok(transfer) => transfer,
            Err(detail) => return self.settle_all(Verdict::Failed, &detail),
        };
        if self.delivery.smtputf8 && !transfer.smtputf8 {
            self.output
                .push_back(Output::Event(ClientEvent::Smtputf8NotNeeded));
        }
        let mut mail = format!("MAIL FROM:{}", self.delivery.reverse_path);
        if self.extensions.size.is_some() {
            mail.push_str(&format!(" SIZE={size}"));
        }
        if transfer.eight_bit_mime {
            mail.push_str(" BODY=8BITMIME");
        }
        if transfer.smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        mail.push_str("\r\n");
        self.transaction_open = true;
        let timeout = self.config.timeouts.command;
        if self.extensions.pipelining {
            // RFC 2920: MAIL, every RCPT and DATA in one write; the replies
            // come back in the same order.
            for (n, recipient) in self.delivery.recipients.iter().enumerate() {
                mail.push_str(&format!("RCPT TO:{recipient}\r\n"));
                self.expected.push_back(Expect::Rcpt(n));
            }
            mail.push_str("DATA\r\n");
            self.expected.push_front(Expect::Mail);
            self.expected.push_back(Expect::Data);
            self.deadline = Some(self.now + timeout);
            self.send(mail);
        } else {
            self.send(mail);
            self.expect(Expect::Mail, timeout);
        }
    }

    /// Without pipelining, after the reply to MAIL.
    fn after_mail(&mut self) {
        if let Some((verdict, detail)) = self.mail_refused.clone() {
            return self.settle_all(verdict, &detail);
        }
        self.send_rcpt(0);
    }

    fn send_rcpt(&mut self, n: usize) {
        let recipient = self.delivery.recipients[n].to_string();
        self.send(format!("RCPT TO:{recipient}\r\n"));
        self.expect(Expect::Rcpt(n), self.config.timeouts.command);
    }

    /// Without pipelining, after the reply to RCPT `n`.
    fn after_rcpt(&mut self, n: usize) {
        if n + 1 < self.delivery.recipients.len() {
            self.send_rcpt(n + 1);
        } else if self.any_accepted() {
            self.send("DATA\r\n".to_owned());
            self.expect(Expect::Data, self.config.timeouts.data_start);
        } else {
            self.end_transaction();
        }
    }

    fn any_accepted(&self) -> bool {
        self.verdicts
            .iter()
            .any(|v| matches!(v, Some((Verdict::Delivered, _))))
    }

    /// Recipients whose RCPT was accepted get the result of the data.
    fn settle_accepted(&mut self, verdict: &(Verdict, String)) {
        for slot in &mut self.verdicts {
            if matches!(slot, Some((Verdict::Delivered, _))) {
                *slot = Some(verdict.clone());
            }
        }
    }

    fn settle_all(&mut self, verdict: Verdict, detail: &str) {
        for slot in &mut self.verdicts {
            slot.get_or_insert_with(|| (verdict, detail.to_owned()));
        }
        self.end_transaction();
    }

    /// The transaction is over, each recipient settled: its outcome, then
    /// [`Output::Ready`] for the next message when the connection may carry
    /// one, else QUIT.
    fn end_transaction(&mut self) {
        self.messages += 1;
        // Bytes behind the reply that ended the transaction answer nothing
        // we sent: a server out of step is not given another message.
        let out_of_step = self.parser.discard() > 0;
        let too_old = self.now.saturating_duration_since(self.opened) >= CLIENT_CONNECTION_AGE_MAX;
        if self.messages >= self.messages_max || self.server_closing || out_of_step || too_old {
            self.send("QUIT\r\n".to_owned());
            return self.finish(None);
        }
        let outcome = self.outcome(None);
        self.output.push_back(Output::Finished(outcome));
        self.output.push_back(Output::Ready);
        self.idle = true;
        self.deadline = Some(self.now + CLIENT_CONNECTION_IDLE_MAX);
    }

    fn fail_session(&mut self, stage: &'static str, reply: &ServerReply) {
        self.send("QUIT\r\n".to_owned());
        self.session_failed(stage, reply.one_line(), reply.is_permanent_failure());
    }

    fn session_failed(&mut self, stage: &'static str, detail: String, permanent: bool) {
        self.finish(Some(SessionFailure {
            stage,
            detail,
            permanent,
        }));
    }

    /// The connection is gone or useless: what was not settled is
    /// deferred; before MAIL it is a session failure.
    fn lost(&mut self, why: &str) {
        // On a connection that carried a message before, the server may
        // have hung up while it was idle: a message with no reply yet to
        // its RSET or MAIL was not tried, and goes back untouched.
        let reused_unanswered = self.messages > 0
            && !self.sending_message
            && matches!(self.expected.front(), Some(Expect::Rset | Expect::Mail));
        let before_mail = reused_unanswered
            || self.awaiting_tls
            || self.expected.front().is_some_and(|e| {
                matches!(
                    e,
                    Expect::Greeting
                        | Expect::Ehlo
                        | Expect::Helo
                        | Expect::StartTls
                        | Expect::AuthPlain
                        | Expect::AuthLoginUser
                        | Expect::AuthLoginPassword
                        | Expect::AuthResult
                )
            }) && !self.sending_message;
        if before_mail {
            return self.session_failed("connection", why.to_owned(), false);
        }
        // Accepted recipients whose data was not acknowledged are not
        // delivered: the server may or may not have the message, and a
        // duplicate is better than a loss (RFC 1047).
        let detail = why.to_owned();
        for slot in &mut self.verdicts {
            match slot {
                Some((Verdict::Delivered, _)) | None => {
                    *slot = Some((Verdict::Deferred, detail.clone()));
                }
                Some(_) => {}
            }
        }
        self.finish(None);
    }

    fn finish(&mut self, session_failure: Option<SessionFailure>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.deadline = None;
        let outcome = self.outcome(session_failure);
        self.output.push_back(Output::Finished(outcome));
        self.output.push_back(Output::Close);
    }

    /// The current message's outcome: each recipient's verdict so far, and
    /// `Deferred` where it has none.
    fn outcome(&self, session_failure: Option<SessionFailure>) -> Outcome {
        let recipients = self
            .delivery
            .recipients
            .iter()
            .zip(&self.verdicts)
            .map(|(forward_path, verdict)| {
                let (verdict, detail) = match (&session_failure, verdict) {
                    (Some(failure), _) => (Verdict::Deferred, failure.to_string()),
                    (None, Some((verdict, detail))) => (*verdict, detail.clone()),
                    (None, None) => (Verdict::Deferred, "not tried".to_owned()),
                };
                RecipientResult {
                    forward_path: forward_path.clone(),
                    verdict,
                    detail,
                }
            })
            .collect();
        Outcome {
            session_failure,
            recipients,
        }
    }
}

/// A reply that is not a success: 5xx fails for good, anything else
/// (4xx, or a 3xx where none belongs) is worth another try.
fn failure_verdict(reply: &ServerReply) -> Verdict {
    if reply.is_permanent_failure() {
        Verdict::Failed
    } else {
        Verdict::Deferred
    }
}

/// The detail for a reply the protocol does not allow at this point.
fn protocol_error(command: &str, expected: &str, reply: &ServerReply) -> String {
    format!(
        "protocol error: the server answered {command} with {}, not {expected}",
        reply.one_line()
    )
}
