//! The finger session: read one query line, answer it, close.

use super::codec::{QueryError, Target, parse_query};
use super::timers::{Timer, TimerTable};
use super::{Event, Input, Output, Query, Refused, Request, SessionConfig, SessionInfo, render};
use crate::limits::FINGER_QUERY_BYTES_MAX;
use crate::time::Instant;
use std::collections::VecDeque;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for the query line.
    ExpectQuery,
    /// Waiting for the driver's [`Input::Users`].
    AwaitingUsers(Query),
    Closed,
}

/// One finger session. See the [module documentation](super) for the
/// contract.
#[derive(Debug)]
pub struct FingerServer {
    config: Arc<SessionConfig>,
    info: SessionInfo,
    state: State,
    /// The query line so far (never more than [`FINGER_QUERY_BYTES_MAX`]).
    line: Vec<u8>,
    timers: TimerTable,
    output: VecDeque<Output>,
    /// The `now` of the last input.
    now: Instant,
}

impl FingerServer {
    pub fn new(config: Arc<SessionConfig>, info: SessionInfo, now: Instant) -> Self {
        let mut timers = TimerTable::default();
        timers.set(Timer::Query, now + config.query_timeout);
        timers.set(Timer::Send, now + config.query_timeout);
        FingerServer {
            config,
            info,
            state: State::ExpectQuery,
            line: Vec::new(),
            timers,
            output: VecDeque::new(),
            now,
        }
    }

    pub fn info(&self) -> SessionInfo {
        self.info
    }

    /// Octets of the query line held so far.
    pub fn buffered_input_len(&self) -> usize {
        self.line.len()
    }

    /// Hands one input to the machine. Drain [`FingerServer::poll_output`]
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
            Input::Bytes(bytes) => self.bytes(now, bytes),
            Input::EndOfInput => {
                if self.state == State::ExpectQuery {
                    if self.line.is_empty() {
                        self.event(Event::ClientLeft);
                        self.close();
                    } else {
                        // `printf alice | nc host 79`: the query without
                        // its line end.
                        let line = std::mem::take(&mut self.line);
                        self.query(now, &line);
                    }
                }
            }
            Input::TimerFired => {
                if self.state == State::ExpectQuery
                    && self.timers.expired(now) == Some(Timer::Query)
                {
                    self.event(Event::TimedOut);
                    self.close();
                }
            }
            Input::Shutdown => {
                self.event(Event::Shutdown);
                self.close();
            }
            Input::SendTimedOut => {
                self.event(Event::SendTimedOut);
                self.output.retain(|o| matches!(o, Output::Event(_)));
                self.close();
            }
            Input::Users(users) => {
                if let State::AwaitingUsers(query) =
                    std::mem::replace(&mut self.state, State::ExpectQuery)
                {
                    self.answer(now, &query, &users);
                }
            }
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    /// When to hand in [`Input::TimerFired`]: only while the query is
    /// awaited.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::ExpectQuery => self.timers.next_expiry(),
            _ => None,
        }
    }

    /// When everything emitted so far must have been written; the driver
    /// bounds its writes with it.
    pub fn send_deadline(&self) -> Instant {
        // Both are set in `new` and `Send` is never stopped.
        self.timers
            .get(Timer::Send)
            .unwrap_or_else(|| Instant::from_nanos(0))
    }

    fn bytes(&mut self, now: Instant, bytes: &[u8]) {
        if self.state != State::ExpectQuery {
            // Anything after the query line is ignored (RFC 1288 has one
            // query per connection).
            return;
        }
        match bytes.iter().position(|&b| b == b'\n') {
            Some(end) => {
                if self.line.len() + end + 1 > FINGER_QUERY_BYTES_MAX {
                    return self.refuse(now, Refused::QueryTooLong);
                }
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[..end]);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.query(now, &line);
            }
            None => {
                if self.line.len() + bytes.len() >= FINGER_QUERY_BYTES_MAX {
                    return self.refuse(now, Refused::QueryTooLong);
                }
                self.line.extend_from_slice(bytes);
            }
        }
    }

    fn query(&mut self, now: Instant, line: &[u8]) {
        self.timers.stop(Timer::Query);
        self.event(Event::Query {
            text: String::from_utf8_lossy(line).into_owned(),
        });
        let query = match parse_query(line) {
            Ok(query) => query,
            Err(QueryError::BadCharacters | QueryError::Malformed) => {
                return self.refuse(now, Refused::MalformedQuery);
            }
        };
        match &query.target {
            Target::Forward => self.refuse(now, Refused::ForwardingQuery),
            Target::List if !self.config.list_users => self.refuse(now, Refused::ListingNotAllowed),
            Target::List => {
                self.output.push_back(Output::Request(Request::List));
                self.state = State::AwaitingUsers(query);
            }
            Target::User(user) => {
                let user = user.clone();
                self.output
                    .push_back(Output::Request(Request::Lookup { user }));
                self.state = State::AwaitingUsers(query);
            }
        }
    }

    fn answer(&mut self, now: Instant, query: &Query, users: &[super::UserInfo]) {
        let mut visible: Vec<_> = users
            .iter()
            .filter(|user| self.config.is_visible(&user.address))
            .collect();
        visible.sort_by(|a, b| a.address.cmp(&b.address));
        let mut text = String::new();
        match &query.target {
            Target::User(user) if visible.is_empty() => {
                text = format!("finger: {}: no such user.\r\n", render::clean_line(user));
            }
            Target::User(_) => {
                for (n, user) in visible.iter().enumerate() {
                    if n > 0 {
                        text.push_str("\r\n");
                    }
                    render::user(&mut text, user, query.verbose);
                }
            }
            _ => render::list(&mut text, &visible, query.verbose),
        }
        self.event(Event::Answered {
            shown: visible.len(),
        });
        self.send(now, text);
    }

    fn refuse(&mut self, now: Instant, why: Refused) {
        self.timers.stop(Timer::Query);
        self.line.clear();
        let text = match why {
            Refused::ForwardingQuery => {
                "finger: forwarding refused: this server answers only for its own users (RFC 1288 3.2.1)."
            }
            Refused::ListingNotAllowed => {
                "finger: this server does not list its users; ask for one by name (finger user@host)."
            }
            Refused::QueryTooLong => "finger: query too long.",
            Refused::MalformedQuery => {
                "finger: bad query: send a user name, /W and a user name, or an empty line."
            }
        };
        self.event(Event::Refused(why));
        self.send(now, format!("{text}\r\n"));
    }

    fn send(&mut self, now: Instant, text: String) {
        self.timers
            .set(Timer::Send, now + self.config.query_timeout);
        self.output.push_back(Output::Send(text.into_bytes()));
        self.close();
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.timers.stop(Timer::Query);
        self.output.push_back(Output::Close);
    }

    fn event(&mut self, event: Event) {
        self.output.push_back(Output::Event(event));
    }
}
