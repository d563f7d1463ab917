//! The AUTHORIZATION state (RFC 1939 4, 7): USER/PASS, AUTH (RFC 5034),
//! STLS (RFC 2595), what a failed login costs, and opening the maildrop.

use super::{Pop3Server, response_text};
use crate::auth::{AuthVerdict, LoginAttempt, Mechanism, PlainError, Secret, parse_plain};
use crate::pop3::codec::{self, Code};
use crate::pop3::state::{SaslStep, Session, State};
use crate::pop3::timers::Timer;
use crate::pop3::{Event, LoginVia, Maildrop, MaildropFailure, Output, Request};

use crate::text::counted;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

impl Pop3Server {
    /// A login in clear is accepted on this connection: USER, PASS and
    /// AUTH need TLS unless the instance allows them without.
    pub(super) fn login_allowed(&self) -> bool {
        self.config.auth.offered && (self.tls || self.config.auth.without_tls)
    }

    /// Refuses a login command on a connection where logins are not
    /// allowed; false if the command may go on.
    fn refuse_login_in_clear(&mut self) -> bool {
        if self.login_allowed() {
            return false;
        }
        let text = if !self.config.auth.offered {
            "Logins are not enabled here"
        } else if self.config.stls {
            "Plaintext authentication disallowed on non-secure connections: use STLS first"
        } else {
            "Plaintext authentication disallowed on non-secure connections"
        };
        self.refuse(Some(Code::Auth), text);
        true
    }

    pub(super) fn handle_user(&mut self, name: String) {
        if self.refuse_login_in_clear() {
            return;
        }
        self.state = State::Authorization { user: Some(name) };
        self.ok("");
    }

    pub(super) fn handle_pass(&mut self, password: Secret) {
        if self.refuse_login_in_clear() {
            return;
        }
        let State::Authorization { user: Some(login) } =
            std::mem::replace(&mut self.state, State::Authorization { user: None })
        else {
            return self.refuse(None, "Send USER first");
        };
        self.check_login(LoginVia::UserPass, LoginAttempt::new(login, password));
    }

    pub(super) fn handle_auth(&mut self, mechanism: Option<String>, initial: Option<String>) {
        let Some(mechanism) = mechanism else {
            // The de facto listing that clients (fetchmail among them) ask
            // for before RFC 2449's CAPA existed.
            let lines = if self.login_allowed() {
                vec!["PLAIN".to_owned(), "LOGIN".to_owned()]
            } else {
                Vec::new()
            };
            return self.multi_line("", &lines);
        };
        if self.refuse_login_in_clear() {
            return;
        }
        self.state = State::Authorization { user: None };
        let Some(mechanism) = Mechanism::parse(&mechanism) else {
            return self.refuse(
                None,
                "Unsupported authentication mechanism: use PLAIN or LOGIN",
            );
        };
        match (mechanism, initial) {
            (Mechanism::Plain, None) => self.challenge(SaslStep::Plain, ""),
            (Mechanism::Login, None) => self.challenge(SaslStep::LoginUser, "Username:"),
            (_, Some(response)) => {
                let step = match mechanism {
                    Mechanism::Plain => SaslStep::Plain,
                    Mechanism::Login => SaslStep::LoginUser,
                };
                self.sasl_step(step, response.as_bytes());
            }
        }
    }

    /// Sends a `+ ` continuation (RFC 5034 4) and waits for the response.
    fn challenge(&mut self, step: SaslStep, prompt: &str) {
        self.state = State::AuthResponse(step);
        self.send(format!("+ {}\r\n", BASE64.encode(prompt)).into_bytes());
    }

    pub(super) fn sasl_response(&mut self, line: &[u8]) {
        let State::AuthResponse(step) =
            std::mem::replace(&mut self.state, State::Authorization { user: None })
        else {
            unreachable!("sasl_response outside AuthResponse");
        };
        self.sasl_step(step, line);
    }

    /// One base64 response: `*` cancels, `=` is empty (RFC 5034 4).
    fn sasl_step(&mut self, step: SaslStep, response: &[u8]) {
        self.state = State::Authorization { user: None };
        if response == b"*" {
            return self.refuse(None, "Authentication cancelled");
        }
        let decoded = if response == b"=" {
            Ok(Vec::new())
        } else {
            BASE64.decode(response)
        };
        let Ok(decoded) = decoded else {
            return self.refuse(None, "Cannot decode the response: it is not base64");
        };
        match step {
            SaslStep::Plain => match parse_plain(&decoded) {
                Ok(attempt) => self.check_login(LoginVia::Sasl(Mechanism::Plain), attempt),
                Err(PlainError::Malformed) => {
                    self.refuse(None, "Malformed PLAIN response (RFC 4616)")
                }
                Err(PlainError::OtherIdentity) => {
                    let login = String::from_utf8_lossy(&decoded)
                        .split('\0')
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    self.login_failed(LoginVia::Sasl(Mechanism::Plain), login);
                }
            },
            SaslStep::LoginUser => match String::from_utf8(decoded) {
                Ok(login) if !login.is_empty() => {
                    self.challenge(SaslStep::LoginPassword { login }, "Password:")
                }
                _ => self.refuse(None, "The user name must be UTF-8 and not empty"),
            },
            SaslStep::LoginPassword { login } => match String::from_utf8(decoded) {
                Ok(password) => self.check_login(
                    LoginVia::Sasl(Mechanism::Login),
                    LoginAttempt::new(login, Secret::new(password)),
                ),
                Err(_) => self.refuse(None, "The password must be UTF-8"),
            },
        }
    }

    fn check_login(&mut self, via: LoginVia, mut attempt: LoginAttempt) {
        self.tried_logins.note(&mut attempt);
        self.state = State::AwaitingAuth {
            via,
            login: attempt.login.clone(),
        };
        self.output
            .push_back(Output::Request(Request::Authenticate(attempt)));
    }

    pub(in crate::pop3) fn authenticated(&mut self, verdict: AuthVerdict) {
        self.tried_logins.settled(&verdict);
        let (via, login) =
            match std::mem::replace(&mut self.state, State::Authorization { user: None }) {
                State::AwaitingAuth { via, login } => (via, login),
                State::Closed => {
                    self.state = State::Closed;
                    return;
                }
                other => panic!("Authenticated in state {other:?}"),
            };
        match verdict {
            AuthVerdict::Accepted(identity) => {
                self.output.push_back(Output::Event(Event::LoginSucceeded {
                    login: identity.login.clone(),
                    via,
                }));
                self.state = State::AwaitingMaildrop {
                    login: identity.login.clone(),
                };
                self.output
                    .push_back(Output::Request(Request::OpenMaildrop {
                        login: identity.login,
                    }));
            }
            AuthVerdict::Rejected => self.login_failed(via, login),
            AuthVerdict::LockedOut => self.login_refused(
                via,
                login,
                "Too many failed logins from your address, try again later",
            ),
            AuthVerdict::Unavailable => self.login_refused(
                via,
                login,
                "Temporary authentication failure, try again later",
            ),
        }
    }

    /// A wrong login: the reply waits out the failure delay.
    fn login_failed(&mut self, via: LoginVia, login: String) {
        self.auth_failures += 1;
        let mut reply = Vec::new();
        codec::err(&mut reply, Some(Code::Auth), "Authentication failed");
        self.output.push_back(Output::Event(Event::LoginFailed {
            login,
            via,
            reply: response_text(&reply),
        }));
        let delay = self.config.auth.failure_delay;
        if delay.is_zero() {
            self.finish_failed_login();
        } else {
            self.state = State::AuthDelay;
            self.timers.set(Timer::AuthDelay, self.now + delay);
        }
    }

    /// A failed login's delay is over: its reply goes out now.
    pub(super) fn auth_delay_over(&mut self) {
        self.timers.stop(Timer::AuthDelay);
        if let State::AuthDelay = self.state {
            self.state = State::Authorization { user: None };
            self.finish_failed_login();
        }
    }

    /// The failure's reply; the last one a session may have closes it.
    fn finish_failed_login(&mut self) {
        if self.auth_failures >= self.config.auth.max_failures {
            self.output.push_back(Output::Event(Event::TooManyErrors));
            self.err(
                Some(Code::Auth),
                "Authentication failed; too many failed logins, closing connection",
            );
            self.close();
        } else {
            self.err(Some(Code::Auth), "Authentication failed");
        }
    }

    /// A login that could not be checked: a temporary failure, no delay.
    fn login_refused(&mut self, via: LoginVia, login: String, text: &str) {
        let mut reply = Vec::new();
        codec::err(&mut reply, Some(Code::SysTemp), text);
        self.output.push_back(Output::Event(Event::LoginFailed {
            login,
            via,
            reply: response_text(&reply),
        }));
        self.send(reply);
    }

    pub(in crate::pop3) fn maildrop_opened(&mut self, result: Result<Maildrop, MaildropFailure>) {
        let login = match std::mem::replace(&mut self.state, State::Authorization { user: None }) {
            State::AwaitingMaildrop { login } => login,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("MaildropOpened in state {other:?}"),
        };
        let (code, text) = match result {
            Ok(maildrop) => {
                let session = Session::new(maildrop);
                let (messages, octets) = session.totals();
                self.output.push_back(Output::Event(Event::MaildropOpened {
                    login,
                    messages,
                    octets,
                }));
                self.state = State::Transaction(session);
                return self.ok(&format!(
                    "Logged in: {} ({})",
                    counted(messages, "message", "messages"),
                    counted(octets, "octet", "octets")
                ));
            }
            Err(MaildropFailure::InUse) => (
                Code::InUse,
                "Mailbox is locked by another POP3 session, try again later",
            ),
            Err(MaildropFailure::Unavailable) => (
                Code::SysTemp,
                "Mailbox cannot be opened right now, try again later",
            ),
        };
        // RFC 1939 4: the session stays in AUTHORIZATION; the client may
        // log in again or QUIT.
        let mut reply = Vec::new();
        codec::err(&mut reply, Some(code), text);
        self.output.push_back(Output::Event(Event::MaildropRefused {
            login,
            reply: response_text(&reply),
        }));
        self.send(reply);
    }

    pub(super) fn handle_stls(&mut self) {
        if self.tls {
            return self.refuse(None, "TLS already active");
        }
        if !self.config.stls {
            return self.refuse(None, "STLS is not offered here");
        }
        self.ok("Begin TLS negotiation");
        // RFC 2595 4 and the STARTTLS injection bug: nothing the client
        // sent in clear after STLS may be acted on once TLS is up.
        self.discarded_after_stls = self.input.len();
        self.input.clear();
        self.state = State::AwaitingTls;
        self.output.push_back(Output::StartTls);
    }

    /// After the handshake the session starts again in AUTHORIZATION,
    /// with nothing the client said before it.
    pub(in crate::pop3) fn tls_started(&mut self) {
        match std::mem::replace(&mut self.state, State::Authorization { user: None }) {
            State::AwaitingTls => {}
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("TlsStarted in state {other:?}"),
        }
        let discarded = std::mem::take(&mut self.discarded_after_stls) + self.input.len();
        self.input.clear();
        self.tls = true;
        self.output
            .push_back(Output::Event(Event::TlsStarted { discarded }));
    }
}
