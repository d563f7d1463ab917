//! AUTH (RFC 4954) in the server machine: the SASL exchange, the login
//! check, and what a failed login costs.

use super::{Server, reply_text};
use crate::auth::{AuthVerdict, LoginAttempt, Mechanism, PlainError, Secret, parse_plain};
use crate::smtp::server::reply::{Reply, status};
use crate::smtp::server::state::{SaslStep, State};
use crate::smtp::server::timers::Timer;
use crate::smtp::server::{Event, Output, Request};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

impl Server {
    pub(super) fn handle_auth(&mut self, mechanism: &str, initial_response: Option<&str>) {
        let refusal = if !self.config.auth.offered {
            Some(Reply::new(
                503,
                status::INVALID_COMMAND,
                "Authentication is not enabled here",
            ))
        } else if !self.helo.as_ref().is_some_and(|h| h.extended) {
            Some(Reply::new(503, status::INVALID_COMMAND, "Send EHLO first"))
        } else if self.identity.is_some() {
            Some(Reply::new(
                503,
                status::INVALID_COMMAND,
                "Already authenticated",
            ))
        } else if !matches!(self.state, State::ExpectMail) {
            Some(Reply::new(
                503,
                status::INVALID_COMMAND,
                "AUTH is not allowed during a mail transaction",
            ))
        } else if !self.auth_offered() {
            Some(Reply::new(
                538,
                status::ENCRYPTION_REQUIRED,
                "Encryption required for requested authentication mechanism: use STARTTLS first",
            ))
        } else {
            None
        };
        if let Some(reply) = refusal {
            return self.refuse_command(reply);
        }
        let Some(mechanism) = Mechanism::parse(mechanism) else {
            return self.refuse_command(Reply::new(
                504,
                status::INVALID_ARGUMENTS,
                "Unrecognized authentication type; use PLAIN or LOGIN",
            ));
        };
        match (mechanism, initial_response) {
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

    /// Sends a `334` challenge and waits for the client's response line.
    fn challenge(&mut self, step: SaslStep, prompt: &str) {
        self.state = State::AuthResponse(step);
        self.reply(Reply::plain(334, vec![BASE64.encode(prompt)]));
    }

    pub(super) fn sasl_response(&mut self, line: &[u8]) {
        let State::AuthResponse(step) = std::mem::replace(&mut self.state, State::ExpectMail)
        else {
            unreachable!("sasl_response outside AuthResponse");
        };
        self.sasl_step(step, line);
    }

    /// Takes one base64 response (RFC 4954 4): `*` cancels, `=` is empty.
    fn sasl_step(&mut self, step: SaslStep, response: &[u8]) {
        self.state = State::ExpectMail;
        if response == b"*" {
            return self.refuse_command(Reply::new(
                501,
                status::AUTH_CANCELLED,
                "Authentication cancelled",
            ));
        }
        let decoded = if response == b"=" {
            Ok(Vec::new())
        } else {
            BASE64.decode(response)
        };
        let Ok(decoded) = decoded else {
            return self.refuse_command(Reply::new(
                501,
                status::SYNTAX_ERROR,
                "Cannot decode the response: it is not base64",
            ));
        };
        match step {
            SaslStep::Plain => match parse_plain(&decoded) {
                Ok(attempt) => self.check_login(Mechanism::Plain, attempt),
                Err(PlainError::Malformed) => self.refuse_command(Reply::new(
                    501,
                    status::SYNTAX_ERROR,
                    "Malformed PLAIN response (RFC 4616)",
                )),
                Err(PlainError::OtherIdentity) => self.login_failed(
                    Mechanism::Plain,
                    String::from_utf8_lossy(&decoded)
                        .split('\0')
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned(),
                ),
            },
            SaslStep::LoginUser => match String::from_utf8(decoded) {
                Ok(login) if !login.is_empty() => {
                    self.challenge(SaslStep::LoginPassword { login }, "Password:")
                }
                _ => self.refuse_command(Reply::new(
                    501,
                    status::SYNTAX_ERROR,
                    "The user name must be UTF-8 and not empty",
                )),
            },
            SaslStep::LoginPassword { login } => match String::from_utf8(decoded) {
                Ok(password) => self.check_login(
                    Mechanism::Login,
                    LoginAttempt::new(login, Secret::new(password)),
                ),
                Err(_) => self.refuse_command(Reply::new(
                    501,
                    status::SYNTAX_ERROR,
                    "The password must be UTF-8",
                )),
            },
        }
    }

    fn check_login(&mut self, mechanism: Mechanism, mut attempt: LoginAttempt) {
        self.tried_logins.note(&mut attempt);
        self.state = State::AwaitingAuth {
            mechanism,
            login: attempt.login.clone(),
        };
        self.output
            .push_back(Output::Request(Request::Authenticate(attempt)));
    }

    pub(super) fn authenticated(&mut self, verdict: AuthVerdict) {
        self.tried_logins.settled(&verdict);
        let (mechanism, login) = match std::mem::replace(&mut self.state, State::ExpectMail) {
            State::AwaitingAuth { mechanism, login } => (mechanism, login),
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("Authenticated in state {other:?}"),
        };
        let temporary = |text: &str| Reply::new(454, status::AUTH_TEMPORARY, text);
        match verdict {
            AuthVerdict::Accepted(identity) => {
                self.output.push_back(Output::Event(Event::AuthSucceeded {
                    login: identity.login.clone(),
                    mechanism,
                }));
                self.may_relay = self.config.relay.permits(self.info.remote.ip(), true);
                self.identity = Some(identity);
                self.reply(Reply::new(
                    235,
                    status::AUTH_SUCCEEDED,
                    "Authentication successful",
                ));
            }
            AuthVerdict::Rejected => self.login_failed(mechanism, login),
            AuthVerdict::LockedOut => self.auth_refused(
                mechanism,
                login,
                temporary("Too many failed logins from your address, try again later"),
            ),
            AuthVerdict::Unavailable => self.auth_refused(
                mechanism,
                login,
                temporary("Temporary authentication failure, try again later"),
            ),
        }
    }

    /// A wrong login: the reply waits out the failure delay.
    fn login_failed(&mut self, mechanism: Mechanism, login: String) {
        self.auth_failures += 1;
        let delay = self.config.auth.failure_delay;
        self.output.push_back(Output::Event(Event::AuthFailed {
            login,
            mechanism,
            reply: reply_text(&auth_invalid()),
        }));
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
            self.state = State::ExpectMail;
            self.finish_failed_login();
        }
    }

    fn finish_failed_login(&mut self) {
        self.reply(auth_invalid());
        if self.auth_failures >= self.config.auth.max_failures {
            let text = format!(
                "{} Error: too many failed logins, closing connection",
                self.config.hostname
            );
            self.end_session(
                Reply::new(421, status::AUTH_TEMPORARY, text),
                Event::TooManyErrors,
            );
        }
    }

    fn auth_refused(&mut self, mechanism: Mechanism, login: String, reply: Reply) {
        self.output.push_back(Output::Event(Event::AuthFailed {
            login,
            mechanism,
            reply: reply_text(&reply),
        }));
        self.reply(reply);
    }
}

fn auth_invalid() -> Reply {
    Reply::new(
        535,
        status::AUTH_INVALID,
        "Authentication credentials invalid",
    )
}
