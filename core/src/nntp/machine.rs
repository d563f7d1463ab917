//! The NNTP server machine: input, lines, timers, the command table and
//! the session's end. Commands are in [`auth`] (AUTHINFO, STARTTLS),
//! [`groups`] (LIST, GROUP, LISTGROUP, NEWGROUPS, NEWNEWS), [`articles`]
//! (ARTICLE, HEAD, BODY, STAT, NEXT, LAST, OVER, HDR) and [`post`]. See
//! the module docs of [`super`] for the contract.

use super::codec::{self, Command, ParseError};
use super::state::{Selected, State};
use super::timers::{Timer, TimerTable};
use super::{Access, Event, Input, Output, SessionConfig, SessionInfo, SessionStart};
use crate::limits::{AUTH_LINE_BYTES_MAX, INPUT_BUFFER_BYTES_MAX, NNTP_COMMAND_LINE_BYTES_MAX};
use crate::time::{Instant, UnixTime};
use std::collections::VecDeque;
use std::sync::Arc;

mod articles;
mod auth;
mod groups;
mod post;

/// One NNTP reader session.
#[derive(Debug)]
pub struct NntpServer {
    config: Arc<SessionConfig>,
    info: SessionInfo,
    start: SessionStart,
    /// The `now` of [`SessionStart::wall_clock`].
    started: Instant,
    state: State,
    /// Refusals counted toward `max_errors`.
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
    /// The name given with AUTHINFO USER, waiting for PASS.
    user: Option<String>,
    /// The account logged in.
    login: Option<String>,
    access: Access,
    selected: Option<Selected>,
    /// Bytes thrown away at STARTTLS, for the log line after it.
    discarded_after_starttls: usize,
    /// Message-ids made for posted articles so far.
    message_ids_made: u32,
    articles_sent: u32,
    posted: u32,
    refused: u32,
}

impl NntpServer {
    /// A new session; the greeting is already queued.
    pub fn new(
        config: Arc<SessionConfig>,
        info: SessionInfo,
        start: SessionStart,
        now: Instant,
    ) -> Self {
        let mut timers = TimerTable::default();
        timers.set(Timer::Session, now + config.max_session_time);
        timers.set(Timer::Idle, now + config.idle_timeout);
        timers.set(Timer::Send, now + config.idle_timeout);
        let access = config.anonymous.clone();
        let mut server = NntpServer {
            config,
            info,
            start,
            started: now,
            state: State::Command,
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
            user: None,
            login: None,
            access,
            selected: None,
            discarded_after_starttls: 0,
            message_ids_made: 0,
            articles_sent: 0,
            posted: 0,
            refused: 0,
        };
        let greeting = server.mode_reader_status();
        server.send_status(greeting.0, &greeting.1);
        server
    }

    /// Hands one input to the machine. Drain [`NntpServer::poll_output`]
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
            Input::Shutdown => {
                self.end_session("Server shutting down, closing connection", Event::ShutDown)
            }
            Input::TlsStarted => self.tls_started(),
            Input::Authenticated(verdict, access) => self.authenticated(verdict, access),
            Input::Groups(groups) => self.groups_listed(groups),
            Input::GroupSelected(group) => self.group_selected(group),
            Input::ArticleOpened(article) => self.article_opened(article),
            Input::ArticleChunk(chunk) => self.article_chunk(chunk),
            Input::ArticleEnd => self.article_end(),
            Input::ArticleUnavailable => self.article_unavailable(),
            Input::Overview(records) => self.overview_answered(records),
            Input::Header(values) => self.header_answered(values),
            Input::NewNews(articles) => self.new_news_answered(articles),
            Input::Posted(result) => self.posted(result),
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
                .set(Timer::Send, self.now + self.config.idle_timeout);
        }
        if !self.state.awaits_client() {
            self.timers.stop(Timer::Idle);
        } else if self.timers.get(Timer::Idle).is_none() {
            self.timers
                .set(Timer::Idle, self.now + self.config.idle_timeout);
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

    /// True while the machine takes [`Input::ArticleChunk`]s: the driver
    /// stops reading the article when this turns false (HEAD has the
    /// header, or the session ended).
    pub fn is_reading_article(&self) -> bool {
        matches!(self.state, State::SendingArticle(_))
    }

    /// Bytes held unprocessed; never more than [`INPUT_BUFFER_BYTES_MAX`].
    pub fn buffered_input_len(&self) -> usize {
        self.input.len()
    }

    /// The wall-clock time now.
    fn wall_clock(&self) -> UnixTime {
        let elapsed = self.now.saturating_duration_since(self.started).as_secs();
        UnixTime(
            self.start
                .wall_clock
                .0
                .saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX)),
        )
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
            self.close();
        }
    }

    /// One unit of work; false when no more can be done now.
    fn step(&mut self) -> bool {
        match self.state {
            State::Closed | State::AuthDelay => false,
            ref state if state.is_awaiting_driver() => false,
            State::ReceivingArticle(_) => self.receive_article(),
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
    /// are refused here, once each. A bare LF is taken as a line end too.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        while !self.is_closed() {
            let limit = self.line_limit();
            let Some(end) = self.input.iter().position(|&b| b == b'\n') else {
                if self.input.len() >= limit {
                    self.input.clear();
                    if !self.discarding_line {
                        self.discarding_line = true;
                        self.refuse(501, "Line too long");
                    }
                }
                return None;
            };
            let mut line: Vec<u8> = self.input.drain(..=end).collect();
            // A complete line restarts the idle timer.
            self.timers.stop(Timer::Idle);
            if std::mem::take(&mut self.discarding_line) {
                continue;
            }
            if line.len() > limit {
                self.refuse(501, "Line too long");
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

    /// RFC 3977 3.1: 512 octets for a command; AUTHINFO lines and SASL
    /// responses may be longer (RFC 4643 2.4.1).
    fn line_limit(&self) -> usize {
        let auth = matches!(self.state, State::SaslResponse)
            || self
                .input
                .get(..9)
                .is_some_and(|start| start.eq_ignore_ascii_case(b"AUTHINFO "));
        if auth {
            AUTH_LINE_BYTES_MAX
        } else {
            NNTP_COMMAND_LINE_BYTES_MAX
        }
    }

    fn handle_line(&mut self, line: &[u8]) {
        if let State::SaslResponse = self.state {
            return self.sasl_response(line);
        }
        match codec::parse(line) {
            Ok(command) => self.handle_command(command),
            Err(error) => self.refuse_parse_error(error),
        }
    }

    fn refuse_parse_error(&mut self, error: ParseError) {
        self.refuse(error.code(), &error.to_string());
    }

    /// RFC 3977 3.2.1 and RFC 4643 2.2: without a login where one is
    /// required, only these commands are answered.
    fn allowed_before_login(command: &Command) -> bool {
        matches!(
            command,
            Command::Capabilities
                | Command::ModeReader
                | Command::StartTls
                | Command::AuthinfoUser(_)
                | Command::AuthinfoPass(_)
                | Command::AuthinfoSasl { .. }
                | Command::Help
                | Command::Date
                | Command::Quit
        )
    }

    fn handle_command(&mut self, command: Command) {
        if self.config.auth_required
            && self.login.is_none()
            && !Self::allowed_before_login(&command)
        {
            return self.refuse(480, "Authentication required");
        }
        match command {
            Command::Capabilities => self.handle_capabilities(),
            Command::ModeReader => {
                let (code, text) = self.mode_reader_status();
                self.send_status(code, &text);
            }
            Command::Quit => {
                self.send_status(205, "Connection closing");
                self.close();
            }
            Command::Help => self.handle_help(),
            Command::Date => {
                let date = self.wall_clock().to_news_date();
                self.send_status(111, &date);
            }
            Command::StartTls => self.handle_starttls(),
            Command::AuthinfoUser(name) => self.handle_authinfo_user(name),
            Command::AuthinfoPass(password) => self.handle_authinfo_pass(password),
            Command::AuthinfoSasl {
                mechanism,
                initial_response,
            } => self.handle_authinfo_sasl(&mechanism, initial_response),
            Command::List(kind) => self.handle_list(kind),
            Command::Group(name) => self.handle_group(&name),
            Command::ListGroup(argument) => self.handle_listgroup(argument),
            Command::NewGroups(date) => self.handle_newgroups(date),
            Command::NewNews { wildmat, date } => self.handle_newnews(&wildmat, date),
            Command::Article(part, target) => self.handle_article(part, target),
            Command::Next => self.handle_next_or_last(true),
            Command::Last => self.handle_next_or_last(false),
            Command::Over(span) => self.handle_over(span),
            Command::Hdr {
                field,
                span,
                legacy,
            } => self.handle_hdr(field, span, legacy),
            Command::Post => self.handle_post(),
        }
    }

    fn posting_allowed(&self) -> bool {
        self.config.posting && !self.access.post.matches_nothing()
    }

    /// RFC 3977 5.1.1, 5.3: 200 when posting may be allowed, 201 when not.
    fn mode_reader_status(&self) -> (u16, String) {
        let host = &self.config.hostname;
        if self.posting_allowed() {
            (
                200,
                format!("{host} Postern NNTP service ready, posting allowed"),
            )
        } else {
            (
                201,
                format!("{host} Postern NNTP service ready, posting prohibited"),
            )
        }
    }

    /// RFC 3977 5.2. STARTTLS only before TLS and before a login (RFC
    /// 4642 2.1); AUTHINFO only before a login, and with its mechanisms
    /// only where a login is allowed on this connection (RFC 4643 2.1).
    fn handle_capabilities(&mut self) {
        let mut lines: Vec<String> = vec!["VERSION 2".into(), "READER".into()];
        if self.posting_allowed() {
            lines.push("POST".into());
        }
        lines.extend(
            [
                "LIST ACTIVE ACTIVE.TIMES NEWSGROUPS OVERVIEW.FMT HEADERS",
                "OVER",
                "HDR",
                "NEWNEWS",
            ]
            .map(String::from),
        );
        if self.login.is_none() {
            if self.config.starttls && !self.tls {
                lines.push("STARTTLS".into());
            }
            if self.login_allowed() {
                lines.push("AUTHINFO USER SASL".into());
                lines.push("SASL PLAIN".into());
            } else if self.config.auth.offered {
                lines.push("AUTHINFO".into());
            }
        }
        lines.push("IMPLEMENTATION Postern".into());
        self.send_multi_line(101, "Capability list:", &lines);
    }

    fn handle_help(&mut self) {
        let lines: Vec<String> = [
            "ARTICLE [message-id|number]",
            "AUTHINFO USER name|PASS password|SASL PLAIN [response]",
            "BODY [message-id|number]",
            "CAPABILITIES [keyword]",
            "DATE",
            "GROUP newsgroup",
            "HDR field [message-id|range]",
            "HEAD [message-id|number]",
            "HELP",
            "LAST",
            "LIST [ACTIVE|ACTIVE.TIMES|NEWSGROUPS [wildmat]|OVERVIEW.FMT|HEADERS]",
            "LISTGROUP [newsgroup [range]]",
            "MODE READER",
            "NEWGROUPS [yy]yymmdd hhmmss [GMT]",
            "NEWNEWS wildmat [yy]yymmdd hhmmss [GMT]",
            "NEXT",
            "OVER [message-id|range]",
            "POST",
            "QUIT",
            "STARTTLS",
            "STAT [message-id|number]",
        ]
        .map(String::from)
        .to_vec();
        self.send_multi_line(100, "Help text follows", &lines);
    }

    /// Acts on every timer that waits on the client and has expired.
    fn fire_due_timers(&mut self) {
        while self.poll_timeout().is_some() {
            let Some(timer) = self.timers.expired(self.now) else {
                return;
            };
            match timer {
                Timer::AuthDelay => self.auth_delay_over(),
                Timer::Idle => {
                    self.end_session("Idle for too long, closing connection", Event::IdleTimeout)
                }
                Timer::Session => {
                    let lasted = self.config.max_session_time;
                    self.end_session(
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
    /// said.
    fn send_timed_out(&mut self) {
        self.output.push_back(Output::Event(Event::SendStalled {
            waited: self.config.idle_timeout,
        }));
        if !self.is_closed() {
            self.close();
        }
    }

    /// Ends the session with a last `400` (RFC 3977 3.2.1), whatever it
    /// was doing. Mid-article, the response cannot be finished: the
    /// connection closes without another word.
    fn end_session(&mut self, text: &str, event: Event) {
        if self.is_closed() {
            return;
        }
        self.output.push_back(Output::Event(event));
        let mid_article = matches!(&self.state,
            State::SendingArticle(sending) if sending.status_line.is_none());
        if !mid_article {
            self.send_status(400, text);
        }
        self.close();
    }

    /// Sends a refusal counted toward `max_errors`, and closes once there
    /// have been too many.
    fn refuse(&mut self, code: u16, text: &str) {
        let mut reply = Vec::new();
        codec::status(&mut reply, code, text);
        self.output.push_back(Output::Event(Event::CommandRefused {
            reply: response_text(&reply),
        }));
        self.send(reply);
        self.refused += 1;
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            self.end_session("Too many errors, closing connection", Event::TooManyErrors);
        }
    }

    fn send_status(&mut self, code: u16, text: &str) {
        let mut bytes = Vec::new();
        codec::status(&mut bytes, code, text);
        self.send(bytes);
    }

    fn send_multi_line(&mut self, code: u16, text: &str, lines: &[String]) {
        let mut bytes = Vec::new();
        codec::multi_line(&mut bytes, code, text, lines);
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

    fn request(&mut self, state: State, request: super::Request) {
        self.state = state;
        self.output.push_back(Output::Request(request));
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.input.clear();
        self.output.push_back(Output::Event(Event::Closed {
            articles: self.articles_sent,
            posted: self.posted,
            refused: self.refused,
        }));
        self.output.push_back(Output::Close);
    }

    /// Takes the state for an answer from the driver, leaving `Command`:
    /// `None` if the session closed meanwhile (the answer is dropped).
    fn take_awaited(&mut self, what: &str) -> Option<State> {
        match std::mem::replace(&mut self.state, State::Command) {
            State::Closed => {
                self.state = State::Closed;
                None
            }
            state if state.is_awaiting_driver() => Some(state),
            other => panic!("{what} in state {other:?}"),
        }
    }
}

/// A response as one line of text, for events.
fn response_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end().to_owned()
}

trait NewsDateFormat {
    fn to_news_date(self) -> String;
}

impl NewsDateFormat for UnixTime {
    /// RFC 3977 7.1: `yyyymmddhhmmss`, UTC.
    fn to_news_date(self) -> String {
        let at = time::OffsetDateTime::from_unix_timestamp(self.0)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        )
    }
}
