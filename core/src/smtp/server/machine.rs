//! The server machine: states and transitions. See the module docs of
//! [`super`] for the contract.

use super::command::{self, Command, ParseContext};
use super::reply::{Reply, status};
use super::state::State;
use super::timers::{Timer, TimerTable};
use super::{Event, Input, Output, SessionConfig, SessionInfo};
use crate::address::ForwardPath;
use crate::auth::Identity;
use crate::limits::{AUTH_LINE_BYTES_MAX, COMMAND_LINE_BYTES_MAX, INPUT_BUFFER_BYTES_MAX};
use crate::time::Instant;
use std::collections::VecDeque;
use std::sync::Arc;

pub use barring::BarredAddress;

mod auth;
mod barring;
mod envelope;
mod message;
mod spam;

/// What the client said in HELO or EHLO.
#[derive(Debug)]
struct Helo {
    domain: String,
    extended: bool,
}

/// One SMTP server session.
#[derive(Debug)]
pub struct Server {
    config: Arc<SessionConfig>,
    info: SessionInfo,
    state: State,
    helo: Option<Helo>,
    /// Failure replies so far (RFC 5321 does not bound them; we do).
    errors: u32,
    /// Bytes received and not yet processed.
    input: Vec<u8>,
    /// Inside a command line that was already refused as too long: drop
    /// bytes up to its end.
    discarding_line: bool,
    /// The client has gone; finish what is buffered, then close.
    input_ended: bool,
    output: VecDeque<Output>,
    now: Instant,
    timers: TimerTable,
    /// The instance's relay policy permits this client to send mail to
    /// other domains.
    may_relay: bool,
    /// The connection is encrypted.
    tls: bool,
    /// Who the client logged in as.
    identity: Option<Identity>,
    /// Failed logins in this session.
    auth_failures: u32,
    /// Logins tried, so a repeat does not count twice toward the lockout.
    tried_logins: crate::auth::TriedLogins,
    /// Bytes thrown away at STARTTLS, for the log line after it.
    discarded_after_starttls: usize,
}

impl Server {
    /// A new session; the greeting is already queued.
    /// A client the instance checks against DNS blocklists is greeted
    /// only once the lookups it asks for are answered.
    pub fn new(config: Arc<SessionConfig>, info: SessionInfo, now: Instant) -> Self {
        let mut timers = TimerTable::default();
        timers.set(Timer::Session, now + config.max_session_time);
        timers.set(Timer::Command, now + config.command_timeout);
        timers.set(Timer::Send, now + config.command_timeout);
        let may_relay = config.relay.permits(info.remote.ip(), false);
        let mut server = Server {
            config,
            info,
            state: State::ExpectMail,
            helo: None,
            errors: 0,
            input: Vec::new(),
            discarding_line: false,
            input_ended: false,
            output: VecDeque::new(),
            now,
            timers,
            may_relay,
            tls: info.tls,
            identity: None,
            auth_failures: 0,
            tried_logins: crate::auth::TriedLogins::default(),
            discarded_after_starttls: 0,
        };
        if !server.look_up_client() {
            server.greet();
        }
        server
    }

    fn greet(&mut self) {
        let greeting = Reply::plain(220, vec![format!("{} ESMTP Postern", self.config.hostname)]);
        self.reply(greeting);
    }

    /// Hands one input to the machine. Drain [`Server::poll_output`]
    /// before the next call.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        assert!(
            now >= self.now,
            "time went backwards: {now:?} < {:?}",
            self.now
        );
        assert!(
            self.output.is_empty(),
            "input handed in while output was pending"
        );
        self.now = now;
        // A deadline that has passed is acted on before anything else, so
        // that bytes racing the timer in the driver change nothing. A
        // stalled write is its own cause: no timeout is reported with it.
        if !matches!(input, Input::SendTimedOut) {
            self.fire_due_timers();
        }
        match input {
            Input::Bytes(bytes) => self.receive(bytes),
            Input::EndOfInput => self.input_ended = true,
            Input::TimerFired => {}
            Input::SendTimedOut => self.send_timed_out(),
            Input::Shutdown => {
                self.end_session(
                    Reply::new(
                        421,
                        status::SHUTTING_DOWN,
                        format!(
                            "{} Service shutting down, closing connection",
                            self.config.hostname
                        ),
                    ),
                    Event::ShutDown,
                );
            }
            Input::RecipientChecked(verdict) => self.recipient_checked(verdict),
            Input::MessageOpened(result) => self.message_opened(result),
            Input::MessageCommitted(result) => self.message_committed(result),
            Input::MessageChecked(findings) => self.message_checked(findings),
            Input::SenderChecked(verdict) => self.sender_checked(verdict),
            Input::TlsStarted => self.tls_started(),
            Input::Authenticated(verdict) => self.authenticated(verdict),
            Input::BlocklistsLookedUp(answers) => self.blocklists_looked_up(answers),
            Input::GreylistChecked(verdict) => self.greylist_checked(verdict),
            Input::SenderListsLookedUp(lists) => self.sender_lists_looked_up(lists),
        }
        self.process();
        self.rearm();
    }

    /// Sets the timers for what the machine waits for now.
    fn rearm(&mut self) {
        let writes =
            |output: &Output| matches!(output, Output::Send(_) | Output::StartTls | Output::Close);
        if self.output.iter().any(writes) {
            self.timers
                .set(Timer::Send, self.now + self.config.command_timeout);
        }
        if !self.state.awaits_command() {
            self.timers.stop(Timer::Command);
        } else if self.timers.get(Timer::Command).is_none() {
            self.timers
                .set(Timer::Command, self.now + self.config.command_timeout);
        }
        match &self.state {
            State::ReceivingData(receiving) => self.timers.set(
                Timer::Data,
                receiving
                    .pace
                    .deadline(self.config.data_timeout, self.config.min_data_rate),
            ),
            _ => self.timers.stop(Timer::Data),
        }
    }

    /// The next thing for the driver to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    /// When to hand in [`Input::TimerFired`]: only while the machine waits
    /// for the client (or for a failed login's delay to pass).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            ref state if state.is_awaiting_driver() => None,
            _ => self.timers.next_expiry(),
        }
    }

    /// The instant by which the driver must have written (and flushed)
    /// everything emitted so far; past it, hand in
    /// [`Input::SendTimedOut`]. It is `command_timeout` after the input
    /// that produced the latest output.
    pub fn send_deadline(&self) -> Instant {
        self.timers
            .get(Timer::Send)
            .expect("the send timer is set at the greeting and never stopped")
    }

    /// The connection this session runs on.
    pub fn info(&self) -> SessionInfo {
        self.info
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Bytes held unprocessed; never more than
    /// [`INPUT_BUFFER_BYTES_MAX`].
    pub fn buffered_input_len(&self) -> usize {
        self.input.len()
    }

    fn receive(&mut self, bytes: &[u8]) {
        if self.is_closed() {
            return;
        }
        if self.input.len() + bytes.len() > INPUT_BUFFER_BYTES_MAX {
            // Only a driver that hands in bytes without answering requests
            // gets here; replying now would put replies out of order.
            self.abort_open_message();
            self.close();
            return;
        }
        self.input.extend_from_slice(bytes);
    }

    /// Runs buffered input until it runs out or the machine must wait.
    fn process(&mut self) {
        while self.step() {}
        if self.input_ended && !self.is_closed() && !self.state.is_awaiting_driver() {
            if let State::ReceivingData(receiving) = &self.state {
                let queue_id = receiving.queue_id;
                self.output
                    .push_back(Output::Event(Event::ClientVanishedDuringData { queue_id }));
            }
            self.abort_open_message();
            self.close();
        }
    }

    /// One unit of work; false when no more can be done now.
    fn step(&mut self) -> bool {
        match self.state {
            State::Closed => false,
            ref state if state.is_awaiting_driver() => false,
            State::ReceivingData(_) => self.receive_data(),
            State::AuthDelay => false,
            _ => match self.next_line() {
                Some(line) => {
                    self.handle_line(&line);
                    true
                }
                None => false,
            },
        }
    }

    /// The next complete command line, without its line ending. Over-long
    /// lines are refused here, once each.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        while !self.is_closed() {
            let limit = self.line_limit();
            let Some(end) = self.input.iter().position(|&b| b == b'\n') else {
                if self.input.len() >= limit {
                    self.input.clear();
                    if !self.discarding_line {
                        self.discarding_line = true;
                        self.refuse_command(line_too_long(limit));
                    }
                }
                return None;
            };
            let mut line: Vec<u8> = self.input.drain(..=end).collect();
            // A line is complete: the next one gets its own deadline.
            self.timers.stop(Timer::Command);
            if std::mem::take(&mut self.discarding_line) {
                continue;
            }
            if line.len() > limit {
                self.refuse_command(line_too_long(limit));
                continue;
            }
            line.pop();
            // RFC 5321 2.3.8: CR and LF travel only as CRLF. A line that
            // ends in a bare LF, or holds a bare CR, is refused whole: the
            // next LF still marks where the next command starts.
            if line.pop() != Some(b'\r') {
                self.refuse_command(bare_line_ending("LF"));
                continue;
            }
            if line.contains(&b'\r') {
                self.refuse_command(bare_line_ending("CR"));
                continue;
            }
            return Some(line);
        }
        None
    }

    /// How long the next line may be: RFC 4954 4 allows an AUTH command
    /// and each SASL response 12,288 octets; other commands get the 512
    /// of RFC 5321 4.5.3.1.4.
    fn line_limit(&self) -> usize {
        let auth = matches!(self.state, State::AuthResponse(_))
            || self
                .input
                .get(..5)
                .is_some_and(|start| start.eq_ignore_ascii_case(b"AUTH "));
        if auth {
            AUTH_LINE_BYTES_MAX
        } else {
            COMMAND_LINE_BYTES_MAX
        }
    }

    fn handle_line(&mut self, line: &[u8]) {
        if let State::AuthResponse(_) = self.state {
            return self.sasl_response(line);
        }
        let context = ParseContext {
            extended: self.helo.as_ref().is_some_and(|h| h.extended),
        };
        if let State::Refused = self.state {
            return self.handle_refused(command::parse(line, context).ok());
        }
        match command::parse(line, context) {
            Ok(command) => self.handle_command(command),
            Err(reply) => self.refuse_command(reply),
        }
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Ehlo(domain) => self.handle_helo(domain, true),
            Command::Helo(domain) => self.handle_helo(domain, false),
            Command::Mail(mail) => self.handle_mail(mail),
            Command::Rcpt(forward_path) => self.handle_rcpt(forward_path),
            Command::Data => self.handle_data(),
            Command::Rset => {
                self.state = State::ExpectMail;
                self.reply(Reply::new(250, status::OK, "Ok"));
            }
            Command::Noop => self.reply(Reply::new(250, status::OK, "Ok")),
            Command::Quit => {
                let text = format!("{} closing connection", self.config.hostname);
                self.reply(Reply::new(221, status::OK, text));
                self.abort_open_message();
                self.close();
            }
            // RFC 5321 3.5.3: 252 when we will not say whether a user exists.
            Command::Vrfy => self.reply(Reply::new(
                252,
                status::CANNOT_VERIFY,
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn => self.refuse_command(Reply::new(
                502,
                status::INVALID_COMMAND,
                "EXPN is not supported",
            )),
            Command::Help => self.reply(Reply::new(
                214,
                status::OK,
                "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT VRFY HELP; see RFC 5321",
            )),
            Command::StartTls => self.handle_starttls(),
            Command::Auth {
                mechanism,
                initial_response,
            } => self.handle_auth(&mechanism, initial_response.as_deref()),
        }
    }

    /// AUTH is advertised and accepted on this connection now.
    fn auth_offered(&self) -> bool {
        self.config.auth.offered && (self.tls || self.config.auth.without_tls)
    }

    fn handle_starttls(&mut self) {
        let refusal = if self.tls {
            Some(Reply::new(
                503,
                status::INVALID_COMMAND,
                "TLS already active",
            ))
        } else if !self.config.starttls {
            Some(Reply::new(
                502,
                status::INVALID_COMMAND,
                "STARTTLS is not offered here",
            ))
        } else if !matches!(self.state, State::ExpectMail) {
            Some(Reply::new(
                503,
                status::INVALID_COMMAND,
                "STARTTLS is not allowed during a mail transaction",
            ))
        } else {
            None
        };
        if let Some(reply) = refusal {
            return self.refuse_command(reply);
        }
        self.reply(Reply::new(220, status::OK, "Ready to start TLS"));
        // RFC 3207 4.2 and CVE-2011-0411: nothing the client sent in clear
        // after STARTTLS may be acted on once TLS is up. The count is kept
        // for the log line.
        self.discarded_after_starttls = self.input.len();
        self.input.clear();
        self.state = State::AwaitingTls;
        self.output.push_back(Output::StartTls);
    }

    /// RFC 3207 4.2: after the handshake the server forgets everything it
    /// learned from the client, which must start again with EHLO.
    fn tls_started(&mut self) {
        match std::mem::replace(&mut self.state, State::ExpectMail) {
            State::AwaitingTls => {}
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("TlsStarted in state {other:?}"),
        }
        // Bytes that arrived while the driver ran the handshake were read
        // by TLS, not by us; anything here came before it and is stale.
        let discarded = std::mem::take(&mut self.discarded_after_starttls) + self.input.len();
        self.input.clear();
        self.tls = true;
        self.helo = None;
        self.identity = None;
        self.may_relay = self.config.relay.permits(self.info.remote.ip(), false);
        self.output
            .push_back(Output::Event(Event::TlsStarted { discarded }));
    }

    /// RFC 5321 4.1.4: HELO and EHLO reset any transaction.
    fn handle_helo(&mut self, domain: String, extended: bool) {
        self.state = State::ExpectMail;
        self.output.push_back(Output::Event(Event::Helo {
            domain: domain.clone(),
            extended,
        }));
        let mut lines = vec![format!("{} Hello {domain}", self.config.hostname)];
        if extended {
            lines.extend([
                "PIPELINING".to_owned(),
                format!("SIZE {}", self.config.max_message_size),
                "8BITMIME".to_owned(),
                "ENHANCEDSTATUSCODES".to_owned(),
                "SMTPUTF8".to_owned(),
            ]);
            if self.config.starttls && !self.tls {
                lines.push("STARTTLS".to_owned());
            }
            if self.auth_offered() {
                lines.push("AUTH PLAIN LOGIN".to_owned());
            }
        }
        self.helo = Some(Helo { domain, extended });
        self.reply(Reply::plain(250, lines));
    }

    /// Acts on every timer that waits on the client and has expired,
    /// earliest first.
    fn fire_due_timers(&mut self) {
        while self.poll_timeout().is_some() {
            let Some(timer) = self.timers.expired(self.now) else {
                return;
            };
            match timer {
                Timer::AuthDelay => self.auth_delay_over(),
                Timer::Data if self.data_too_slow() => {
                    let rate = self.config.min_data_rate;
                    let text = format!(
                        "{} Error: message data too slow (under {rate} octets/s), closing connection",
                        self.config.hostname
                    );
                    self.end_session(
                        Reply::new(421, status::TIMEOUT, text),
                        Event::DataTooSlow {
                            min_data_rate: rate,
                        },
                    );
                }
                Timer::Command | Timer::Data => {
                    let text = format!("{} Error: timeout exceeded", self.config.hostname);
                    self.end_session(Reply::new(421, status::TIMEOUT, text), Event::Timeout);
                }
                Timer::Session => {
                    let lasted = self.config.max_session_time;
                    let text = format!(
                        "{} Error: session too long ({}s), closing connection",
                        self.config.hostname,
                        lasted.as_secs()
                    );
                    self.end_session(
                        Reply::new(421, status::TIMEOUT, text),
                        Event::SessionTooLong { lasted },
                    );
                }
                Timer::Send => unreachable!("the send timer does not wait on the client"),
            }
        }
    }

    /// The data timer fired because the client sends too slowly, not
    /// because it went silent.
    fn data_too_slow(&self) -> bool {
        match &self.state {
            State::ReceivingData(receiving) => {
                receiving.pace.too_slow(self.now, self.config.data_timeout)
            }
            _ => false,
        }
    }

    /// The driver could not write our output in time: the client is not
    /// reading, so nothing more is said; the event is reported once.
    fn send_timed_out(&mut self) {
        self.output.push_back(Output::Event(Event::SendStalled {
            waited: self.config.command_timeout,
        }));
        if let State::ReceivingData(receiving) = &self.state {
            let queue_id = receiving.queue_id;
            self.output
                .push_back(Output::Event(Event::ClientVanishedDuringData { queue_id }));
        }
        if !self.is_closed() {
            self.abort_open_message();
            self.state = State::Closed;
            self.input.clear();
            self.output.push_back(Output::Close);
        }
    }

    /// Ends the session with a last reply, whatever it was doing.
    fn end_session(&mut self, reply: Reply, event: Event) {
        if self.is_closed() {
            return;
        }
        // A message cut off gets its own line, with its queue ID.
        if let State::ReceivingData(receiving) = &self.state {
            let queue_id = receiving.queue_id;
            self.output.push_back(Output::Event(Event::MessageRefused {
                queue_id,
                reply: reply_text(&reply),
            }));
        }
        self.abort_open_message();
        self.output.push_back(Output::Event(event));
        self.reply(reply);
        self.close();
    }

    fn refuse_command(&mut self, reply: Reply) {
        self.output.push_back(Output::Event(Event::CommandRefused {
            reply: reply_text(&reply),
        }));
        self.count_failure(reply);
    }

    fn refuse_recipient(&mut self, forward_path: ForwardPath, reply: Reply) {
        self.output
            .push_back(Output::Event(Event::RecipientRefused {
                forward_path,
                reply: reply_text(&reply),
            }));
        self.count_failure(reply);
    }

    /// Sends a failure reply and closes the session once there have been
    /// too many.
    fn count_failure(&mut self, reply: Reply) {
        debug_assert!(reply.is_failure());
        self.reply(reply);
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            let text = format!(
                "{} Error: too many errors, closing connection",
                self.config.hostname
            );
            self.end_session(
                Reply::new(421, status::TOO_MANY_ERRORS, text),
                Event::TooManyErrors,
            );
        }
    }

    /// Queues a reply, joining it to a reply already waiting so that a
    /// pipelined group goes out in one write.
    fn reply(&mut self, reply: Reply) {
        if let Some(Output::Send(bytes)) = self.output.back_mut() {
            reply.render(bytes);
        } else {
            let mut bytes = Vec::new();
            reply.render(&mut bytes);
            self.output.push_back(Output::Send(bytes));
        }
    }

    fn abort_open_message(&mut self) {
        if let State::ReceivingData(_) = self.state {
            self.output.push_back(Output::AbortMessage);
        }
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.input.clear();
        self.output.push_back(Output::Close);
    }
}

/// RFC 5321 4.5.3.1.10 names the reply, `500 Line too long`; RFC 3463
/// X.5.2, a syntax error, is the enhanced status that fits. An AUTH line
/// over its own limit gets RFC 4954 section 4's reply instead.
fn line_too_long(limit: usize) -> Reply {
    if limit == AUTH_LINE_BYTES_MAX {
        Reply::new(
            500,
            status::LINE_TOO_LONG,
            "Authentication Exchange line is too long",
        )
    } else {
        Reply::new(500, status::SYNTAX_ERROR, "Line too long")
    }
}

fn bare_line_ending(what: &str) -> Reply {
    Reply::new(
        500,
        status::SYNTAX_ERROR,
        format!(
            "Bare {what} in a command line is not allowed: end lines with CRLF (RFC 5321 2.3.8)"
        ),
    )
}

fn message_too_big() -> Reply {
    Reply::new(
        552,
        status::MESSAGE_TOO_BIG,
        "Message size exceeds fixed maximum message size",
    )
}

/// A reply as one line of text, for events.
fn reply_text(reply: &Reply) -> String {
    let mut bytes = Vec::new();
    reply.render(&mut bytes);
    String::from_utf8_lossy(&bytes)
        .trim_end()
        .replace("\r\n", " / ")
}
