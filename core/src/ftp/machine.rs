//! The FTP server machine: input, lines, the command-by-state table,
//! timers and the session's end. Logins and TLS are in [`login`], file
//! commands in [`files`], data connections and transfers in [`transfer`].
//! See the module docs of [`super`] for the contract.

use super::codec::{self, Command, ParseError};
use super::state::{State, UserSession};
use super::timers::{Timer, TimerTable};
use super::{Event, Input, Output, SessionConfig, SessionInfo};
use crate::limits::{FTP_COMMAND_LINE_BYTES_MAX, INPUT_BUFFER_BYTES_MAX};
use crate::time::Instant;
use std::collections::VecDeque;
use std::sync::Arc;

mod files;
mod login;
mod transfer;

/// One FTP control connection.
#[derive(Debug)]
pub struct FtpServer {
    config: Arc<SessionConfig>,
    info: SessionInfo,
    state: State,
    /// Set at login.
    user: Option<UserSession>,
    /// Refused commands counted toward `max_errors`.
    errors: u32,
    input: Vec<u8>,
    /// Inside a line already refused as too long: drop bytes to its end.
    discarding_line: bool,
    input_ended: bool,
    output: VecDeque<Output>,
    now: Instant,
    timers: TimerTable,
    /// The control connection is encrypted.
    tls: bool,
    /// RFC 4217 8: PBSZ has been given (it must come before PROT).
    pbsz: bool,
    /// RFC 4217 9: PROT P, data connections protected.
    protect: bool,
    /// RFC 2428 4: after EPSV ALL only EPSV sets up data connections.
    epsv_all: bool,
    auth_failures: u32,
    tried_logins: crate::auth::TriedLogins,
    discarded_after_auth: usize,
}

impl FtpServer {
    /// A new session; the greeting is already queued.
    pub fn new(config: Arc<SessionConfig>, info: SessionInfo, now: Instant) -> Self {
        let mut timers = TimerTable::default();
        timers.set(Timer::Session, now + config.max_session_time);
        timers.set(Timer::Idle, now + config.idle_timeout);
        timers.set(Timer::Send, now + config.idle_timeout);
        let greeting = format!("{} FTP Postern ready", config.hostname);
        let mut server = FtpServer {
            config,
            info,
            state: State::ExpectUser,
            user: None,
            errors: 0,
            input: Vec::new(),
            discarding_line: false,
            input_ended: false,
            output: VecDeque::new(),
            now,
            timers,
            tls: info.tls,
            pbsz: false,
            protect: false,
            epsv_all: false,
            auth_failures: 0,
            tried_logins: crate::auth::TriedLogins::default(),
            discarded_after_auth: 0,
        };
        server.reply(220, &greeting);
        server
    }

    /// Hands one input to the machine. Drain [`FtpServer::poll_output`]
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
        if !matches!(input, Input::SendTimedOut) {
            self.fire_due_timers();
        }
        match input {
            Input::Bytes(bytes) => self.receive(bytes),
            Input::EndOfInput => self.input_ended = true,
            Input::TimerFired => {}
            Input::SendTimedOut => self.send_timed_out(),
            Input::Shutdown => {
                let text = format!("{} Server shutting down", self.config.hostname);
                self.end_session(&text, Event::ShutDown);
            }
            Input::TlsStarted => self.tls_started(),
            Input::Authenticated(verdict) => self.authenticated(verdict),
            Input::HomeOpened(result) => self.home_opened(result),
            Input::Stat(result) => self.stat_answered(result),
            Input::Listed(result) => self.listed(result),
            Input::FileDone(result) => self.file_done(result),
            Input::Usage(result) => self.usage_answered(result),
            Input::PassiveOpened(result) => self.passive_opened(result),
            Input::TransferDone(result) => self.transfer_done(result),
        }
        self.process();
        self.rearm();
    }

    fn rearm(&mut self) {
        let writes =
            |output: &Output| matches!(output, Output::Send(_) | Output::StartTls | Output::Close);
        if self.output.iter().any(writes) {
            self.timers
                .set(Timer::Send, self.now + self.config.idle_timeout);
        }
        if !self.state.awaits_command() {
            self.timers.stop(Timer::Idle);
        } else if self.timers.get(Timer::Idle).is_none() {
            self.timers
                .set(Timer::Idle, self.now + self.config.idle_timeout);
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    /// When to hand in [`Input::TimerFired`]. During a transfer only the
    /// session's lifetime counts (the driver bounds the data connection).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            State::Transferring(_) => self.timers.get(Timer::Session),
            ref state if state.is_awaiting_driver() => None,
            _ => self.timers.next_expiry(),
        }
    }

    /// The instant by which the driver must have written everything
    /// emitted on the control connection so far.
    pub fn send_deadline(&self) -> Instant {
        self.timers
            .get(Timer::Send)
            .expect("the send timer is set at the greeting and never stopped")
    }

    pub fn info(&self) -> SessionInfo {
        self.info
    }

    /// The account logged in, if any.
    pub fn login(&self) -> Option<&str> {
        self.user.as_ref().map(|user| user.login.as_str())
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// True while a transfer runs: the driver reads the control
    /// connection alongside it, for ABOR.
    pub fn is_transferring(&self) -> bool {
        matches!(self.state, State::Transferring(_))
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
            // Only a client that pipelines without reading gets here.
            if let State::Transferring(_) = self.state {
                self.output.push_back(Output::AbortTransfer);
            }
            self.close();
            return;
        }
        self.input.extend_from_slice(bytes);
    }

    fn process(&mut self) {
        while self.step() {}
        if self.input_ended && !self.is_closed() && !self.state.is_awaiting_driver() {
            self.close();
        }
    }

    fn step(&mut self) -> bool {
        match self.state {
            State::Closed | State::AuthDelay => false,
            State::Transferring(_) => self.step_while_transferring(),
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

    /// During a transfer: ABOR is acted on at once, wherever it stands
    /// among the buffered lines; any other command stays buffered until
    /// the transfer ends (RFC 959 4.1.3).
    fn step_while_transferring(&mut self) -> bool {
        let mut start = 0;
        while let Some(length) = self.input[start..].iter().position(|&b| b == b'\n') {
            let end = start + length;
            let line = &self.input[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if codec::parse(line) == Ok(Command::Abor) {
                self.input.drain(start..=end);
                self.abort_transfer();
                return true;
            }
            start = end + 1;
        }
        false
    }

    /// The next complete line, without its line end; over-long lines are
    /// refused here, once each.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        while !self.is_closed() {
            let Some(end) = self.input.iter().position(|&b| b == b'\n') else {
                if self.input.len() >= FTP_COMMAND_LINE_BYTES_MAX {
                    self.input.clear();
                    if !self.discarding_line {
                        self.discarding_line = true;
                        self.refuse(500, "Command line too long");
                    }
                }
                return None;
            };
            let mut line: Vec<u8> = self.input.drain(..=end).collect();
            self.timers.stop(Timer::Idle);
            if std::mem::take(&mut self.discarding_line) {
                continue;
            }
            if line.len() > FTP_COMMAND_LINE_BYTES_MAX {
                self.refuse(500, "Command line too long");
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

    fn handle_line(&mut self, line: &[u8]) {
        match codec::parse(line) {
            Ok(command) => self.handle_command(command),
            Err(error) => self.refuse_parse_error(&error),
        }
    }

    fn refuse_parse_error(&mut self, error: &ParseError) {
        self.refuse(error.code(), &error.to_string());
    }

    /// The command-by-state table: what any session may do, what needs a
    /// login first, and the rest.
    fn handle_command(&mut self, command: Command) {
        let logged_in = self.state.is_logged_in();
        match command {
            Command::Quit => self.handle_quit(),
            Command::Noop => self.reply(200, "NOOP ok"),
            Command::Feat => self.handle_feat(),
            Command::Opts(option) => self.handle_opts(&option),
            Command::Syst => self.reply(215, "UNIX Type: L8"),
            Command::Auth(mechanism) => self.handle_auth(&mechanism),
            Command::Pbsz(size) => self.handle_pbsz(&size),
            Command::Prot(level) => self.handle_prot(level),
            Command::Abor => self.handle_abor_idle(),
            Command::User(name) => self.handle_user(name),
            Command::Pass(password) => self.handle_pass(password),
            _ if !logged_in => self.refuse(530, "Please log in with USER and PASS first"),
            Command::Type(data_type) => {
                self.user_mut().data_type = data_type;
                let text = match data_type {
                    super::DataType::Ascii => "Switching to ASCII mode",
                    super::DataType::Image => "Switching to Binary mode",
                };
                self.reply(200, text);
            }
            Command::Mode(_) => self.reply(200, "Mode set to S"),
            Command::Stru(_) => self.reply(200, "Structure set to F"),
            Command::Allo => self.reply(202, "ALLO is superfluous here: no space is reserved"),
            Command::Rest(offset) => {
                self.user_mut().rest = offset;
                self.reply(350, &format!("Restart position accepted ({offset})"));
            }
            Command::Pasv => self.handle_pasv(false),
            Command::Epsv(argument) => self.handle_epsv(argument),
            Command::Port(target) | Command::Eprt(target) => self.handle_port(target),
            command => self.handle_file_command(command),
        }
    }

    fn handle_quit(&mut self) {
        self.reply(221, "Goodbye");
        self.close();
    }

    /// RFC 2389 3: the extensions, one per line.
    fn handle_feat(&mut self) {
        let mut lines: Vec<String> = Vec::new();
        if self.config.auth_tls || self.tls {
            lines.push("AUTH TLS".into());
        }
        lines.extend(
            [
                "EPRT",
                "EPSV",
                "MDTM",
                "MLST type*;size*;modify*;perm*;",
                "PASV",
            ]
            .map(String::from),
        );
        if self.config.auth_tls || self.tls {
            lines.extend(["PBSZ", "PROT"].map(String::from));
        }
        lines.extend(["REST STREAM", "SIZE", "TVFS", "UTF8"].map(String::from));
        let mut bytes = Vec::new();
        codec::multi_line(&mut bytes, 211, "Features:", &lines, "End");
        self.send(bytes);
    }

    /// RFC 2389 4 and RFC 2640 3.1: UTF8 is always on.
    fn handle_opts(&mut self, option: &str) {
        let mut words = option.split(' ');
        let name = words.next().unwrap_or_default().to_ascii_uppercase();
        match name.as_str() {
            "UTF8" => self.reply(200, "Always in UTF8 mode"),
            "MLST" => self.reply(200, "MLST OPTS type;size;modify;perm;"),
            _ => self.refuse(501, "Option not understood"),
        }
    }

    /// Acts on every timer that waits on the client and has expired.
    fn fire_due_timers(&mut self) {
        while self.poll_timeout().is_some() {
            let Some(timer) = self.timers.expired(self.now) else {
                return;
            };
            match timer {
                Timer::AuthDelay => self.auth_delay_over(),
                Timer::Idle => self.end_session(
                    "Timeout: idle for too long, closing control connection",
                    Event::Idle,
                ),
                Timer::Session => {
                    let lasted = self.config.max_session_time;
                    self.end_session(
                        &format!(
                            "Session too long ({}s), closing control connection",
                            lasted.as_secs()
                        ),
                        Event::SessionTooLong { lasted },
                    );
                }
                Timer::Send => unreachable!("the send timer does not wait on the client"),
            }
        }
    }

    fn send_timed_out(&mut self) {
        self.output.push_back(Output::Event(Event::SendStalled {
            waited: self.config.idle_timeout,
        }));
        if !self.is_closed() {
            if let State::Transferring(_) = self.state {
                self.output.push_back(Output::AbortTransfer);
            }
            self.state = State::Closed;
            self.input.clear();
            self.output.push_back(Output::Close);
        }
    }

    /// Ends the session with a last 421 (RFC 959 5.4), stopping any
    /// transfer under way.
    fn end_session(&mut self, text: &str, event: Event) {
        if self.is_closed() {
            return;
        }
        self.output.push_back(Output::Event(event));
        if let State::Transferring(_) = self.state {
            self.output.push_back(Output::AbortTransfer);
        }
        self.reply(421, text);
        self.close();
    }

    /// Sends a refusal counted toward `max_errors`, and closes once there
    /// have been too many.
    fn refuse(&mut self, code: u16, text: &str) {
        let mut reply = Vec::new();
        codec::reply(&mut reply, code, text);
        self.output.push_back(Output::Event(Event::CommandRefused {
            reply: reply_text(&reply),
        }));
        self.send(reply);
        self.count_error();
    }

    fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            self.end_session(
                "Too many errors, closing control connection",
                Event::TooManyErrors,
            );
        }
    }

    fn reply(&mut self, code: u16, text: &str) {
        let mut bytes = Vec::new();
        codec::reply(&mut bytes, code, text);
        self.send(bytes);
    }

    /// Queues bytes, joining them to a write already waiting.
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

    /// The logged-in session; only called where the state says there is one.
    fn user_mut(&mut self) -> &mut UserSession {
        self.user
            .as_mut()
            .expect("a logged-in state always has a user session")
    }

    fn request(&mut self, request: super::Request) {
        self.output.push_back(Output::Request(request));
    }
}

/// A reply as one line of text, for events.
fn reply_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end().to_owned()
}
