//! The POP3 server machine: input, lines, timers and the session's end.
//! Commands are in [`auth`] (the AUTHORIZATION state) and [`transaction`]
//! (TRANSACTION and UPDATE). See the module docs of [`super`] for the
//! contract.

use super::codec::{self, Code, Command, ParseError};
use super::state::State;
use super::timers::{Timer, TimerTable};
use super::{Event, Input, Output, SessionConfig, SessionInfo};
use crate::limits::{AUTH_LINE_BYTES_MAX, INPUT_BUFFER_BYTES_MAX, POP3_COMMAND_LINE_BYTES_MAX};
use crate::time::Instant;
use std::collections::VecDeque;
use std::sync::Arc;

mod auth;
mod transaction;

/// One POP3 server session.
#[derive(Debug)]
pub struct Pop3Server {
    config: Arc<SessionConfig>,
    info: SessionInfo,
    state: State,
    /// `-ERR` replies counted toward `max_errors`.
    errors: u32,
    /// Bytes received and not yet processed.
    input: Vec<u8>,
    /// Inside a line already refused as too long: drop bytes to its end.
    discarding_line: bool,
    /// The client has gone; finish what is buffered, then close.
    input_ended: bool,
    output: VecDeque<Output>,
    now: Instant,
    timers: TimerTable,
    /// The connection is encrypted.
    tls: bool,
    /// Failed logins in this session.
    auth_failures: u32,
    /// Logins tried, so a repeat does not count twice toward the lockout.
    tried_logins: crate::auth::TriedLogins,
    /// Bytes thrown away at STLS, for the log line after it.
    discarded_after_stls: usize,
}

impl Pop3Server {
    /// A new session; the greeting is already queued. It carries no
    /// timestamp: APOP is not offered (RFC 1939 7).
    pub fn new(config: Arc<SessionConfig>, info: SessionInfo, now: Instant) -> Self {
        let mut timers = TimerTable::default();
        timers.set(Timer::Session, now + config.max_session_time);
        timers.set(Timer::Autologout, now + config.autologout);
        timers.set(Timer::Send, now + config.autologout);
        let greeting = format!("{} POP3 Postern ready", config.hostname);
        let mut server = Pop3Server {
            config,
            info,
            state: State::Authorization { user: None },
            errors: 0,
            input: Vec::new(),
            discarding_line: false,
            input_ended: false,
            output: VecDeque::new(),
            now,
            timers,
            tls: info.tls,
            auth_failures: 0,
            tried_logins: crate::auth::TriedLogins::default(),
            discarded_after_stls: 0,
        };
        server.ok(&greeting);
        server
    }

    /// Hands one input to the machine. Drain [`Pop3Server::poll_output`]
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
        // A deadline that has passed is acted on first, so that bytes
        // racing the timer in the driver change nothing.
        if !matches!(input, Input::SendTimedOut) {
            self.fire_due_timers();
        }
        match input {
            Input::Bytes(bytes) => self.receive(bytes),
            Input::EndOfInput => self.input_ended = true,
            Input::TimerFired => {}
            Input::SendTimedOut => self.send_timed_out(),
            Input::Shutdown => self.end_session(
                Some(Code::SysTemp),
                &format!("{} Server shutting down", self.config.hostname),
                Event::ShutDown,
            ),
            Input::TlsStarted => self.tls_started(),
            Input::Authenticated(verdict) => self.authenticated(verdict),
            Input::MaildropOpened(result) => self.maildrop_opened(result),
            Input::MessageChunk(chunk) => self.message_chunk(chunk),
            Input::MessageEnd => self.message_end(),
            Input::MessageUnavailable => self.message_unavailable(),
            Input::Updated(result) => self.updated(result),
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
                .set(Timer::Send, self.now + self.config.autologout);
        }
        if !self.state.awaits_command() {
            self.timers.stop(Timer::Autologout);
        } else if self.timers.get(Timer::Autologout).is_none() {
            self.timers
                .set(Timer::Autologout, self.now + self.config.autologout);
        }
    }

    /// The next thing for the driver to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    /// When to hand in [`Input::TimerFired`]: only while the machine waits
    /// for the client (or for a failed login's delay).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            ref state if state.is_awaiting_driver() => None,
            _ => self.timers.next_expiry(),
        }
    }

    /// The instant by which the driver must have written everything
    /// emitted so far; past it, hand in [`Input::SendTimedOut`].
    pub fn send_deadline(&self) -> Instant {
        self.timers
            .get(Timer::Send)
            .expect("the send timer is set at the greeting and never stopped")
    }

    pub fn info(&self) -> SessionInfo {
        self.info
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// True while the machine takes [`Input::MessageChunk`]s: the driver
    /// stops reading the message when this turns false (TOP is done, or
    /// the session ended).
    pub fn is_retrieving(&self) -> bool {
        matches!(self.state, State::Retrieving(..))
    }

    /// Bytes held unprocessed; never more than [`INPUT_BUFFER_BYTES_MAX`].
    pub fn buffered_input_len(&self) -> usize {
        self.input.len()
    }

    fn receive(&mut self, bytes: &[u8]) {
        if self.is_closed() {
            return;
        }
        if self.input.len() + bytes.len() > INPUT_BUFFER_BYTES_MAX {
            // Only a client that pipelines without reading gets here while
            // a request is out; replying now would put replies out of order.
            self.close();
            return;
        }
        self.input.extend_from_slice(bytes);
    }

    /// Runs buffered input until it runs out or the machine must wait.
    fn process(&mut self) {
        while self.step() {}
        if self.input_ended && !self.is_closed() && !self.state.is_awaiting_driver() {
            // RFC 1939 6: a session that ends without QUIT never updates.
            self.close();
        }
    }

    /// One unit of work; false when no more can be done now.
    fn step(&mut self) -> bool {
        match self.state {
            State::Closed | State::AuthDelay => false,
            ref state if state.is_awaiting_driver() => false,
            _ => match self.next_line() {
                Some(line) => {
                    self.handle_line(&line);
                    true
                }
                None => false,
            },
        }
    }

    /// The next complete line, without its line ending. Over-long lines
    /// are refused here, once each. POP3 clients end lines with CRLF, but
    /// a bare LF is taken as a line end too, as Dovecot does.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        while !self.is_closed() {
            let limit = self.line_limit();
            let Some(end) = self.input.iter().position(|&b| b == b'\n') else {
                if self.input.len() >= limit {
                    self.input.clear();
                    if !self.discarding_line {
                        self.discarding_line = true;
                        self.refuse(None, "Line too long");
                    }
                }
                return None;
            };
            let mut line: Vec<u8> = self.input.drain(..=end).collect();
            // A complete line restarts the autologout timer.
            self.timers.stop(Timer::Autologout);
            if std::mem::take(&mut self.discarding_line) {
                continue;
            }
            if line.len() > limit {
                self.refuse(None, "Line too long");
                continue;
            }
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Some(line);
        }
        None
    }

    /// RFC 2449 4: 255 octets for a command; AUTH lines and SASL
    /// responses may be longer (RFC 5034 4).
    fn line_limit(&self) -> usize {
        let auth = matches!(self.state, State::AuthResponse(_))
            || self
                .input
                .get(..5)
                .is_some_and(|start| start.eq_ignore_ascii_case(b"AUTH "));
        if auth {
            AUTH_LINE_BYTES_MAX
        } else {
            POP3_COMMAND_LINE_BYTES_MAX
        }
    }

    fn handle_line(&mut self, line: &[u8]) {
        if let State::AuthResponse(_) = self.state {
            return self.sasl_response(line);
        }
        match codec::parse(line) {
            Ok(command) => self.handle_command(command),
            Err(error) => self.refuse_parse_error(error),
        }
    }

    fn refuse_parse_error(&mut self, error: ParseError) {
        self.refuse(None, &error.to_string());
    }

    /// The command-by-state table: AUTHORIZATION commands, TRANSACTION
    /// commands, and those valid in both (RFC 1939 4-6, RFC 2449 5).
    fn handle_command(&mut self, command: Command) {
        let authorization = matches!(self.state, State::Authorization { .. });
        match command {
            Command::Capa => self.handle_capa(),
            Command::Quit => self.handle_quit(),
            Command::User(name) if authorization => self.handle_user(name),
            Command::Pass(password) if authorization => self.handle_pass(password),
            Command::Auth {
                mechanism,
                initial_response,
            } if authorization => self.handle_auth(mechanism, initial_response),
            Command::Stls if authorization => self.handle_stls(),
            Command::Apop if authorization => {
                self.refuse(None, "APOP is not supported here: use USER/PASS or AUTH")
            }
            Command::User(_)
            | Command::Pass(_)
            | Command::Auth { .. }
            | Command::Stls
            | Command::Apop => self.refuse(None, "Already logged in"),
            _ if authorization => self.refuse(None, "Log in first (USER/PASS or AUTH)"),
            Command::Stat => self.handle_stat(),
            Command::List(message) => self.handle_list(message),
            Command::Uidl(message) => self.handle_uidl(message),
            Command::Retr(message) => self.handle_retr(message, None),
            Command::Top(message, lines) => self.handle_retr(message, Some(lines)),
            Command::Dele(message) => self.handle_dele(message),
            Command::Rset => self.handle_rset(),
            Command::Noop => self.ok(""),
        }
    }

    /// RFC 2449 5. USER and SASL only where a login in clear is allowed;
    /// STLS only before TLS; none of the three after login.
    fn handle_capa(&mut self) {
        let authorization = matches!(self.state, State::Authorization { .. });
        let mut lines: Vec<String> = vec!["TOP".into(), "UIDL".into()];
        if authorization && self.login_allowed() {
            lines.push("USER".into());
        }
        lines.extend(["RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"].map(String::from));
        if authorization && self.login_allowed() {
            lines.push("SASL PLAIN LOGIN".into());
        }
        if authorization && self.config.stls && !self.tls {
            lines.push("STLS".into());
        }
        lines.push("IMPLEMENTATION Postern".into());
        self.multi_line("Capability list follows", &lines);
    }

    /// Acts on every timer that waits on the client and has expired.
    fn fire_due_timers(&mut self) {
        while self.poll_timeout().is_some() {
            let Some(timer) = self.timers.expired(self.now) else {
                return;
            };
            match timer {
                Timer::AuthDelay => self.auth_delay_over(),
                Timer::Autologout => self.end_session(
                    None,
                    "Autologout: idle for too long, closing connection",
                    Event::Autologout,
                ),
                Timer::Session => {
                    let lasted = self.config.max_session_time;
                    self.end_session(
                        Some(Code::SysTemp),
                        &format!(
                            "Session too long ({}s), closing connection",
                            lasted.as_secs()
                        ),
                        Event::SessionTooLong { lasted },
                    );
                }
                Timer::Send => unreachable!("the send timer does not wait on the client"),
            }
        }
    }

    /// The driver could not write our output in time: nothing more is
    /// said; the session ends without an update.
    fn send_timed_out(&mut self) {
        self.output.push_back(Output::Event(Event::SendStalled {
            waited: self.config.autologout,
        }));
        if !self.is_closed() {
            self.state = State::Closed;
            self.input.clear();
            self.output.push_back(Output::Close);
        }
    }

    /// Ends the session with a last `-ERR`, whatever it was doing, and
    /// without an update. Mid-message, the response cannot be finished:
    /// the connection closes without another word.
    fn end_session(&mut self, code: Option<Code>, text: &str, event: Event) {
        if self.is_closed() {
            return;
        }
        self.output.push_back(Output::Event(event));
        if !matches!(&self.state, State::Retrieving(_, retrieval) if retrieval.started) {
            self.err(code, text);
        }
        self.close();
    }

    /// Sends a refusal counted toward `max_errors`, and closes once there
    /// have been too many.
    fn refuse(&mut self, code: Option<Code>, text: &str) {
        let mut reply = Vec::new();
        codec::err(&mut reply, code, text);
        self.output.push_back(Output::Event(Event::CommandRefused {
            reply: response_text(&reply),
        }));
        self.send(reply);
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            self.end_session(
                None,
                "Too many errors, closing connection",
                Event::TooManyErrors,
            );
        }
    }

    fn ok(&mut self, text: &str) {
        let mut bytes = Vec::new();
        codec::ok(&mut bytes, text);
        self.send(bytes);
    }

    /// An `-ERR` not counted as the client's error.
    fn err(&mut self, code: Option<Code>, text: &str) {
        let mut bytes = Vec::new();
        codec::err(&mut bytes, code, text);
        self.send(bytes);
    }

    fn multi_line(&mut self, text: &str, lines: &[String]) {
        let mut bytes = Vec::new();
        codec::multi_line(&mut bytes, text, lines);
        self.send(bytes);
    }

    /// Queues bytes, joining them to a write already waiting so that a
    /// pipelined group goes out in one write.
    fn send(&mut self, bytes: Vec<u8>) {
        if let Some(Output::Send(pending)) = self.output.back_mut() {
            pending.extend_from_slice(&bytes);
        } else {
            self.output.push_back(Output::Send(bytes));
        }
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.input.clear();
        self.output.push_back(Output::Close);
    }
}

/// A response as one line of text, for events.
fn response_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end().to_owned()
}
