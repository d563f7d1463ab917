//! AUTHINFO USER/PASS and SASL PLAIN (RFC 4643), what a failed login
//! costs, and STARTTLS (RFC 4642).

use super::{NntpServer, response_text};
use crate::auth::{AuthVerdict, LoginAttempt, PlainError, Secret, parse_plain};
use crate::nntp::codec;
use crate::nntp::state::State;
use crate::nntp::timers::Timer;
use crate::nntp::{Access, Event, LoginVia, Output, Request};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

impl NntpServer {
    /// A login is accepted on this connection: AUTHINFO needs TLS unless
    /// the instance allows it without.
    pub(super) fn login_allowed(&self) -> bool {
        self.config.auth.offered && (self.tls || self.config.auth.without_tls)
    }

    /// Refuses an AUTHINFO command that cannot be taken now; false if it
    /// may go on.
    fn refuse_authinfo(&mut self) -> bool {
        if self.login.is_some() {
            // RFC 4643 2.2: after a successful login, 502.
            self.refuse(502, "Already authenticated");
        } else if !self.config.auth.offered {
            self.refuse(502, "Authentication is not offered here");
        } else if !self.login_allowed() {
            // RFC 4643 2.2: 483 when encryption is required first.
            let text = if self.config.starttls {
                "Encryption required: use STARTTLS first"
            } else {
                "Encryption required"
            };
            self.refuse(483, text);
        } else {
            return false;
        }
        true
    }

    pub(super) fn handle_authinfo_user(&mut self, name: String) {
        if self.refuse_authinfo() {
            return;
        }
        self.user = Some(name);
        self.send_status(381, "Password required");
    }

    pub(super) fn handle_authinfo_pass(&mut self, password: Secret) {
        if self.refuse_authinfo() {
            return;
        }
        let Some(login) = self.user.take() else {
            return self.refuse(
                482,
                "Authentication commands issued out of sequence: USER first",
            );
        };
        self.check_login(LoginVia::UserPass, LoginAttempt::new(login, password));
    }

    pub(super) fn handle_authinfo_sasl(&mut self, mechanism: &str, initial: Option<String>) {
        if self.refuse_authinfo() {
            return;
        }
        self.user = None;
        if !mechanism.eq_ignore_ascii_case("PLAIN") {
            // RFC 4643 2.4.1: a mechanism we do not offer.
            return self.refuse(503, "Mechanism not recognized: use PLAIN");
        }
        match initial {
            Some(response) => self.sasl_plain(response.as_bytes()),
            None => {
                // RFC 4643 2.4.1: an empty challenge.
                self.state = State::SaslResponse;
                self.send(b"383 \r\n".to_vec());
            }
        }
    }

    pub(super) fn sasl_response(&mut self, line: &[u8]) {
        self.state = State::Command;
        self.sasl_plain(line);
    }

    /// One base64 PLAIN response: `*` cancels, `=` is empty (RFC 4643
    /// 2.4.1).
    fn sasl_plain(&mut self, response: &[u8]) {
        if response == b"*" {
            return self.refuse(481, "Authentication cancelled");
        }
        let decoded = if response == b"=" {
            Ok(Vec::new())
        } else {
            BASE64.decode(response)
        };
        let Ok(decoded) = decoded else {
            return self.refuse(482, "SASL protocol error: the response is not base64");
        };
        match parse_plain(&decoded) {
            Ok(attempt) => self.check_login(LoginVia::SaslPlain, attempt),
            Err(PlainError::Malformed) => self.refuse(
                482,
                "SASL protocol error: malformed PLAIN response (RFC 4616)",
            ),
            Err(PlainError::OtherIdentity) => {
                let login = String::from_utf8_lossy(&decoded)
                    .split('\0')
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                self.login_failed(LoginVia::SaslPlain, login);
            }
        }
    }

    fn check_login(&mut self, via: LoginVia, mut attempt: LoginAttempt) {
        self.tried_logins.note(&mut attempt);
        let login = attempt.login.clone();
        self.request(
            State::AwaitingAuth { via, login },
            Request::Authenticate(attempt),
        );
    }

    pub(in crate::nntp) fn authenticated(&mut self, verdict: AuthVerdict, access: Option<Access>) {
        self.tried_logins.settled(&verdict);
        let Some(state) = self.take_awaited("Authenticated") else {
            return;
        };
        let State::AwaitingAuth { via, login } = state else {
            panic!("Authenticated in state {state:?}");
        };
        match verdict {
            AuthVerdict::Accepted(identity) => {
                self.output.push_back(Output::Event(Event::LoginSucceeded {
                    login: identity.login.clone(),
                    via,
                }));
                self.login = Some(identity.login);
                if let Some(access) = access {
                    self.access = access;
                }
                // What the session could see may have changed.
                self.selected = None;
                self.send_status(281, "Authentication accepted");
            }
            AuthVerdict::Rejected => self.login_failed(via, login),
            AuthVerdict::LockedOut => self.login_refused(
                via,
                login,
                481,
                "Too many failed logins from your address, try again later",
            ),
            AuthVerdict::Unavailable => self.login_refused(
                via,
                login,
                403,
                "Temporary authentication failure, try again later",
            ),
        }
    }

    /// A wrong login: the reply waits out the failure delay.
    fn login_failed(&mut self, via: LoginVia, login: String) {
        self.auth_failures += 1;
        self.refused += 1;
        let mut reply = Vec::new();
        codec::status(&mut reply, 481, "Authentication failed");
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
            self.state = State::Command;
            self.finish_failed_login();
        }
    }

    /// The failure's reply; the last one a session may have closes it.
    fn finish_failed_login(&mut self) {
        if self.auth_failures >= self.config.auth.max_failures {
            self.output.push_back(Output::Event(Event::TooManyErrors));
            self.send_status(
                481,
                "Authentication failed; too many failed logins, closing connection",
            );
            self.close();
        } else {
            self.send_status(481, "Authentication failed");
        }
    }

    /// A login that could not be checked: no delay.
    fn login_refused(&mut self, via: LoginVia, login: String, code: u16, text: &str) {
        let mut reply = Vec::new();
        codec::status(&mut reply, code, text);
        self.output.push_back(Output::Event(Event::LoginFailed {
            login,
            via,
            reply: response_text(&reply),
        }));
        self.refused += 1;
        self.send(reply);
    }

    /// RFC 4642 2.2.
    pub(super) fn handle_starttls(&mut self) {
        if self.tls {
            return self.refuse(502, "TLS already active");
        }
        if self.login.is_some() {
            return self.refuse(502, "STARTTLS is not allowed after authentication");
        }
        if !self.config.starttls {
            return self.refuse(502, "STARTTLS is not offered here");
        }
        self.send_status(382, "Continue with TLS negotiation");
        // RFC 4642 2.2.2 and the STARTTLS injection bug: nothing the
        // client sent in clear after STARTTLS may be acted on once TLS is
        // up.
        self.discarded_after_starttls = self.input.len();
        self.input.clear();
        self.state = State::AwaitingTls;
        self.output.push_back(Output::StartTls);
    }

    /// After the handshake the session starts again, with nothing the
    /// client said before it (RFC 4642 2.2.2).
    pub(in crate::nntp) fn tls_started(&mut self) {
        let Some(state) = self.take_awaited("TlsStarted") else {
            return;
        };
        assert!(
            matches!(state, State::AwaitingTls),
            "TlsStarted in state {state:?}"
        );
        let discarded = std::mem::take(&mut self.discarded_after_starttls) + self.input.len();
        self.input.clear();
        self.tls = true;
        self.user = None;
        self.selected = None;
        self.output
            .push_back(Output::Event(Event::TlsStarted { discarded }));
    }
}
