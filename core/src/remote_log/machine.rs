//! The remote-log session: greeting, login (SASL PLAIN, admins only),
//! filters, the backlog, then following the log.

use super::codec::{Command, ParseError, parse_command};
use super::timers::{Timer, TimerTable};
use super::{
    Event, FeedEntry, Filter, Input, LogRecord, Output, Request, SessionConfig, SessionInfo,
};
use crate::auth::{AuthVerdict, LoginAttempt, Mechanism, PlainError, TriedLogins, parse_plain};
use crate::limits::REMOTE_LOG_COMMAND_LINE_BYTES_MAX;
use crate::text::{counted, escape_controls};
use crate::time::Instant;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::VecDeque;
use std::sync::Arc;

/// Input held while the machine waits (a login's delay, a TLS
/// handshake): a few pipelined commands, never more.
const PENDING_INPUT_BYTES_MAX: usize = 4 * REMOTE_LOG_COMMAND_LINE_BYTES_MAX;

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Not logged in: a command.
    ExpectCommand,
    /// `AUTH PLAIN` without a response: the base64 response line.
    ExpectAuthResponse,
    /// Waiting for [`Input::Authenticated`].
    AwaitingAuth {
        login: String,
    },
    /// A failed login's reply waits out the delay.
    AuthDelay,
    /// Waiting for [`Input::TlsStarted`].
    AwaitingTls,
    /// Logged in, not following: a command.
    LoggedIn,
    /// Waiting for [`Input::Recent`]; then following or not, and the
    /// status line that ends the response.
    AwaitingRecent {
        follow: bool,
    },
    /// Logged in and following: commands, and [`Input::Live`].
    Following,
    Closed,
}

/// One remote-log session. See the [module documentation](super) for the
/// contract.
#[derive(Debug)]
pub struct RemoteLogServer {
    config: Arc<SessionConfig>,
    info: SessionInfo,
    state: State,
    tls: bool,
    /// Bytes received and not yet handled.
    input: Vec<u8>,
    /// Skipping the rest of a line that was too long.
    skipping: bool,
    /// Octets sent in clear after STARTTLS, thrown away.
    discarded_after_tls: usize,
    filter: Filter,
    /// Recent lines the login sends (`tail_lines`, or `TAIL n` before
    /// login).
    backlog: usize,
    login: Option<String>,
    errors: u32,
    auth_failures: u32,
    tried_logins: TriedLogins,
    timers: TimerTable,
    output: VecDeque<Output>,
    now: Instant,
}

impl RemoteLogServer {
    pub fn new(config: Arc<SessionConfig>, info: SessionInfo, now: Instant) -> Self {
        let mut server = RemoteLogServer {
            backlog: config.tail_lines,
            config,
            info,
            state: State::ExpectCommand,
            tls: info.tls,
            input: Vec::new(),
            skipping: false,
            discarded_after_tls: 0,
            filter: Filter::default(),
            login: None,
            errors: 0,
            auth_failures: 0,
            tried_logins: TriedLogins::default(),
            timers: TimerTable::default(),
            output: VecDeque::new(),
            now,
        };
        server
            .timers
            .set(Timer::Idle, now + server.config.idle_timeout);
        let greeting = format!(
            "+OK {} Postern remote log ready; AUTH PLAIN to log in (admins only)",
            server.config.hostname
        );
        server.line(&greeting);
        server
    }

    pub fn info(&self) -> SessionInfo {
        self.info
    }

    /// The account logged in, once it is.
    pub fn login(&self) -> Option<&str> {
        self.login.as_deref()
    }

    /// True while the session wants [`Input::Live`].
    pub fn is_following(&self) -> bool {
        self.state == State::Following
    }

    /// Octets received and not yet handled.
    pub fn buffered_input_len(&self) -> usize {
        self.input.len()
    }

    /// Hands one input to the machine. Drain [`RemoteLogServer::poll_output`]
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
        if self.state == State::Closed {
            return;
        }
        match input {
            Input::Bytes(bytes) => {
                if self.state == State::AwaitingTls {
                    // Never acted on: sent in clear after STARTTLS.
                    self.discarded_after_tls += bytes.len();
                    return;
                }
                self.input.extend_from_slice(bytes);
                self.process_input();
            }
            Input::EndOfInput => {
                self.event(Event::ClientLeft);
                self.close();
            }
            Input::TimerFired => match self.timers.expired(now) {
                Some(Timer::Idle) => {
                    self.event(Event::TimedOut);
                    self.line("-ERR [SYS/TEMP] idle too long, closing");
                    self.close();
                }
                Some(Timer::AuthDelay) => self.auth_delay_over(),
                _ => {}
            },
            Input::Shutdown => {
                self.event(Event::Shutdown);
                self.line("-ERR [SYS/TEMP] server shutting down");
                self.close();
            }
            Input::SendTimedOut => {
                self.output.retain(|o| matches!(o, Output::Event(_)));
                self.event(Event::SendTimedOut);
                self.state = State::Closed;
                self.output.push_back(Output::Close);
            }
            Input::TlsStarted => self.tls_started(),
            Input::Authenticated { verdict, admin } => self.authenticated(verdict, admin),
            Input::Recent(records) => self.recent(&records),
            Input::Live(entries) => self.live(&entries),
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    /// When to hand in [`Input::TimerFired`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_expiry()
    }

    /// When everything emitted so far must have been written.
    pub fn send_deadline(&self) -> Instant {
        self.timers
            .get(Timer::Send)
            .unwrap_or(self.now + self.config.send_timeout)
    }

    /// Handles every whole line received while the state takes commands.
    fn process_input(&mut self) {
        loop {
            // Every line handled may close the session (QUIT, the error
            // that reaches `max_errors`): then the input left is never
            // looked at, and nothing more is sent.
            if self.state == State::Closed {
                return;
            }
            if !matches!(
                self.state,
                State::ExpectCommand
                    | State::ExpectAuthResponse
                    | State::LoggedIn
                    | State::Following
            ) {
                if self.input.len() > PENDING_INPUT_BYTES_MAX {
                    self.line("-ERR too much input sent ahead, closing");
                    self.close();
                }
                return;
            }
            let Some(end) = self.input.iter().position(|&b| b == b'\n') else {
                if self.input.len() >= REMOTE_LOG_COMMAND_LINE_BYTES_MAX {
                    self.input.clear();
                    if !self.skipping {
                        self.skipping = true;
                        self.error("line too long");
                    }
                }
                return;
            };
            let mut line: Vec<u8> = self.input.drain(..=end).collect();
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            if line.len() > REMOTE_LOG_COMMAND_LINE_BYTES_MAX {
                self.error("line too long");
                continue;
            }
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if self.state != State::Following {
                self.timers
                    .set(Timer::Idle, self.now + self.config.idle_timeout);
            }
            if self.state == State::ExpectAuthResponse {
                self.state = State::ExpectCommand;
                self.sasl_response(&line);
            } else {
                self.command(&line);
            }
        }
    }

    fn command(&mut self, line: &[u8]) {
        let command = match parse_command(line) {
            Ok(command) => command,
            Err(ParseError::BadFilter(why)) => return self.error(&why.to_string()),
            Err(ParseError::BadArguments(why)) => return self.error(why),
            Err(ParseError::Empty) => return self.error("empty line: send a command"),
            Err(ParseError::BadCharacters) => {
                return self.error("control characters in the command");
            }
            Err(ParseError::UnknownCommand) => {
                return self.error("unknown command: CAPA lists what this server offers");
            }
        };
        let logged_in = matches!(self.state, State::LoggedIn | State::Following);
        match command {
            Command::Capa => {
                let mut capa = "+OK CAPA AUTH=PLAIN".to_owned();
                if self.config.starttls && !self.tls && !logged_in {
                    capa.push_str(" STARTTLS");
                }
                capa.push_str(" FILTER TAIL FOLLOW STOP NOOP QUIT");
                self.line(&capa);
            }
            Command::Noop => self.line("+OK"),
            Command::Quit => {
                self.event(Event::Quit);
                self.line("+OK bye");
                self.close();
            }
            Command::StartTls => self.starttls(logged_in),
            Command::Auth { .. } if logged_in => self.error("already logged in"),
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial),
            Command::Filter(filter) => {
                let reply = if filter.is_empty() {
                    "+OK no filter: every line".to_owned()
                } else {
                    format!("+OK filter {}", escape_controls(&filter.to_string()))
                };
                self.filter = filter;
                if self.state == State::Following {
                    self.output
                        .push_back(Output::SetFilter(self.filter.clone()));
                }
                self.line(&reply);
            }
            Command::Tail(lines) if !logged_in => {
                self.backlog = lines;
                self.line(&format!(
                    "+OK the login will send the last {}",
                    counted(lines, "line", "lines")
                ));
            }
            Command::Tail(lines) => {
                let follow = self.state == State::Following;
                self.state = State::AwaitingRecent { follow };
                self.output.push_back(Output::Request(Request::Recent {
                    lines,
                    filter: self.filter.clone(),
                }));
            }
            Command::Follow | Command::Stop if !logged_in => {
                self.error_with("AUTH", "log in first: AUTH PLAIN")
            }
            Command::Follow if self.state == State::Following => self.error("already following"),
            Command::Follow => self.follow(0),
            Command::Stop if self.state == State::LoggedIn => self.error("not following"),
            Command::Stop => {
                self.state = State::LoggedIn;
                self.timers
                    .set(Timer::Idle, self.now + self.config.idle_timeout);
                self.output.push_back(Output::Unfollow);
                self.line("+OK stopped; FOLLOW to go on");
            }
        }
    }

    fn starttls(&mut self, logged_in: bool) {
        if self.tls {
            return self.error("TLS already active");
        }
        if !self.config.starttls || logged_in {
            return self.error("STARTTLS is not offered here");
        }
        self.line("+OK Begin TLS negotiation");
        // The STARTTLS injection bug: nothing sent in clear behind the
        // command may be acted on once TLS is up.
        self.discarded_after_tls = std::mem::take(&mut self.input).len();
        self.state = State::AwaitingTls;
        self.timers.stop(Timer::Idle);
        self.output.push_back(Output::StartTls);
    }

    fn tls_started(&mut self) {
        if self.state != State::AwaitingTls {
            return;
        }
        self.tls = true;
        self.state = State::ExpectCommand;
        self.timers
            .set(Timer::Idle, self.now + self.config.idle_timeout);
        let discarded = std::mem::take(&mut self.discarded_after_tls) + self.input.len();
        self.input.clear();
        self.event(Event::TlsStarted { discarded });
    }

    fn login_allowed(&self) -> bool {
        self.tls || self.config.auth.without_tls
    }

    fn auth(&mut self, mechanism: &str, initial: Option<String>) {
        if !self.login_allowed() {
            let text = if self.config.starttls {
                "login in clear is not allowed here: STARTTLS first"
            } else {
                "login in clear is not allowed here: connect with TLS"
            };
            return self.error_with("AUTH", text);
        }
        if Mechanism::parse(mechanism) != Some(Mechanism::Plain) {
            return self.error("unsupported mechanism: use AUTH PLAIN");
        }
        match initial {
            Some(response) => self.sasl_response(response.as_bytes()),
            None => {
                self.state = State::ExpectAuthResponse;
                self.send(b"+ \r\n".to_vec());
            }
        }
    }

    /// The base64 PLAIN response (RFC 4616): `*` cancels, `=` is empty.
    fn sasl_response(&mut self, response: &[u8]) {
        if response == b"*" {
            return self.error("authentication cancelled");
        }
        let decoded = if response == b"=" {
            Ok(Vec::new())
        } else {
            BASE64.decode(response)
        };
        let Ok(decoded) = decoded else {
            return self.error("cannot decode the response: it is not base64");
        };
        match parse_plain(&decoded) {
            Ok(mut attempt) => self.check_login(&mut attempt),
            Err(PlainError::Malformed) => self.error("malformed PLAIN response (RFC 4616)"),
            Err(PlainError::OtherIdentity) => {
                self.error_with("AUTH", "acting as another user is not supported")
            }
        }
    }

    fn check_login(&mut self, attempt: &mut LoginAttempt) {
        self.tried_logins.note(attempt);
        self.state = State::AwaitingAuth {
            login: attempt.login.clone(),
        };
        self.timers.stop(Timer::Idle);
        self.output
            .push_back(Output::Request(Request::Authenticate(attempt.clone())));
    }

    fn authenticated(&mut self, verdict: AuthVerdict, admin: bool) {
        let State::AwaitingAuth { login } =
            std::mem::replace(&mut self.state, State::ExpectCommand)
        else {
            return;
        };
        self.tried_logins.settled(&verdict);
        self.timers
            .set(Timer::Idle, self.now + self.config.idle_timeout);
        match verdict {
            AuthVerdict::Accepted(identity) if admin => {
                self.event(Event::LoginSucceeded {
                    login: identity.login.clone(),
                });
                self.line(&format!(
                    "+OK logged in as {}",
                    escape_controls(&identity.login)
                ));
                self.login = Some(identity.login);
                self.follow(self.backlog);
            }
            AuthVerdict::Accepted(identity) => {
                self.event(Event::NotAdmin {
                    login: identity.login.clone(),
                });
                self.error_with(
                    "AUTH",
                    &format!(
                        "{} may not watch the log: it is not an admin account",
                        escape_controls(&identity.login)
                    ),
                );
            }
            AuthVerdict::Rejected => {
                self.auth_failures += 1;
                self.event(Event::LoginFailed {
                    login,
                    why: "wrong login or password",
                });
                let delay = self.config.auth.failure_delay;
                if delay.is_zero() {
                    self.finish_failed_login();
                } else {
                    self.state = State::AuthDelay;
                    self.timers.stop(Timer::Idle);
                    self.timers.set(Timer::AuthDelay, self.now + delay);
                }
            }
            AuthVerdict::LockedOut => {
                self.event(Event::LoginFailed {
                    login,
                    why: "locked out",
                });
                self.line(
                    "-ERR [SYS/TEMP] too many failed logins from your address, try again later",
                );
            }
            AuthVerdict::Unavailable => {
                self.event(Event::LoginFailed {
                    login,
                    why: "accounts unavailable",
                });
                self.line("-ERR [SYS/TEMP] temporary authentication failure, try again later");
            }
        }
        if self.state == State::ExpectCommand {
            // Commands pipelined behind the login.
            self.process_input();
        }
    }

    fn auth_delay_over(&mut self) {
        self.timers.stop(Timer::AuthDelay);
        if self.state == State::AuthDelay {
            self.state = State::ExpectCommand;
            self.timers
                .set(Timer::Idle, self.now + self.config.idle_timeout);
            self.finish_failed_login();
            if self.state != State::Closed {
                self.process_input();
            }
        }
    }

    fn finish_failed_login(&mut self) {
        if self.auth_failures >= self.config.auth.max_failures {
            self.event(Event::TooManyErrors);
            self.line("-ERR [AUTH] authentication failed; too many failed logins, closing");
            self.close();
        } else {
            self.line("-ERR [AUTH] authentication failed");
        }
    }

    /// Asks for the last `backlog` lines and a subscription to new ones.
    fn follow(&mut self, backlog: usize) {
        self.state = State::AwaitingRecent { follow: true };
        self.timers.stop(Timer::Idle);
        self.event(Event::Following {
            backlog,
            filter: self.filter.clone(),
        });
        self.output.push_back(Output::Request(Request::Follow {
            backlog,
            filter: self.filter.clone(),
        }));
    }

    fn recent(&mut self, records: &[LogRecord]) {
        let State::AwaitingRecent { follow } = self.state else {
            return;
        };
        let mut bytes = Vec::new();
        let mut sent = 0usize;
        for record in records.iter().filter(|r| self.filter.matches(r)) {
            record.render(&mut bytes);
            sent += 1;
        }
        let status = if follow {
            self.state = State::Following;
            format!(
                "+OK following ({} above)",
                counted(sent, "recent line", "recent lines")
            )
        } else {
            self.state = State::LoggedIn;
            self.timers
                .set(Timer::Idle, self.now + self.config.idle_timeout);
            format!("+OK {}", counted(sent, "line", "lines"))
        };
        bytes.extend_from_slice(status.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.send(bytes);
        // Commands that came while the lines were fetched.
        self.process_input();
    }

    fn live(&mut self, entries: &[FeedEntry]) {
        if self.state != State::Following {
            return;
        }
        let mut bytes = Vec::new();
        for entry in entries {
            match entry {
                FeedEntry::Line(record) if self.filter.matches(record) => record.render(&mut bytes),
                FeedEntry::Line(_) => {}
                FeedEntry::Dropped(count) => {
                    bytes.extend_from_slice(
                        format!(
                            "! ... {} dropped (the connection did not keep up)\r\n",
                            counted(count, "line", "lines")
                        )
                        .as_bytes(),
                    );
                }
            }
        }
        if !bytes.is_empty() {
            self.send(bytes);
        }
    }

    /// `-ERR text`, counted toward `max_errors`.
    fn error(&mut self, text: &str) {
        self.error_line(&format!("-ERR {text}"));
    }

    fn error_with(&mut self, code: &str, text: &str) {
        self.error_line(&format!("-ERR [{code}] {text}"));
    }

    fn error_line(&mut self, line: &str) {
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            self.event(Event::TooManyErrors);
            self.line(&format!("{line}; too many errors, closing"));
            self.close();
        } else {
            self.line(line);
        }
    }

    fn line(&mut self, text: &str) {
        self.send(format!("{text}\r\n").into_bytes());
    }

    fn send(&mut self, bytes: Vec<u8>) {
        self.timers
            .set(Timer::Send, self.now + self.config.send_timeout);
        self.output.push_back(Output::Send(bytes));
    }

    fn close(&mut self) {
        if self.state == State::Following {
            self.output.push_back(Output::Unfollow);
        }
        self.state = State::Closed;
        self.timers.stop(Timer::Idle);
        self.timers.stop(Timer::AuthDelay);
        self.output.push_back(Output::Close);
    }

    fn event(&mut self, event: Event) {
        self.output.push_back(Output::Event(event));
    }
}
