//! Logins (RFC 959 4.1.1 USER/PASS) with the accounts' failure rules,
//! and TLS (RFC 4217: AUTH TLS, PBSZ, PROT).

use super::{FtpServer, reply_text};
use crate::auth::{AuthVerdict, LoginAttempt, Secret};
use crate::ftp::codec;
use crate::ftp::path::home_name;
use crate::ftp::state::{State, UserSession};
use crate::ftp::timers::Timer;
use crate::ftp::{Event, FileFailure, Output, Request};

impl FtpServer {
    /// A login in clear is taken on this connection.
    fn login_allowed(&self) -> bool {
        self.tls || self.config.auth.without_tls
    }

    /// Refuses a login on a connection where passwords may not travel in
    /// clear; false if the command may go on.
    fn refuse_login_in_clear(&mut self) -> bool {
        if self.login_allowed() {
            return false;
        }
        let text = if self.config.auth_tls {
            "Log in over TLS: send AUTH TLS first (RFC 4217)"
        } else {
            "Logins in clear are not allowed here"
        };
        self.refuse(530, text);
        true
    }

    pub(super) fn handle_user(&mut self, name: String) {
        if self.state.is_logged_in() {
            return self.refuse(530, "Already logged in: cannot change to another user");
        }
        if self.refuse_login_in_clear() {
            return;
        }
        self.state = State::ExpectPass { user: name };
        self.reply(331, "Please specify the password");
    }

    pub(super) fn handle_pass(&mut self, password: Secret) {
        if self.state.is_logged_in() {
            return self.reply(230, "Already logged in");
        }
        if self.refuse_login_in_clear() {
            return;
        }
        let State::ExpectPass { user } = std::mem::replace(&mut self.state, State::ExpectUser)
        else {
            return self.refuse(503, "Login with USER first");
        };
        let mut attempt = LoginAttempt::new(user, password);
        self.tried_logins.note(&mut attempt);
        self.state = State::AwaitingAuth {
            login: attempt.login.clone(),
        };
        self.request(Request::Authenticate(attempt));
    }

    pub(in crate::ftp) fn authenticated(&mut self, verdict: AuthVerdict) {
        self.tried_logins.settled(&verdict);
        let login = match std::mem::replace(&mut self.state, State::ExpectUser) {
            State::AwaitingAuth { login } => login,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("Authenticated in state {other:?}"),
        };
        match verdict {
            AuthVerdict::Accepted(identity) => match home_name(&identity.login) {
                Some(home) => {
                    self.state = State::AwaitingHome {
                        login: identity.login.clone(),
                    };
                    self.request(Request::OpenHome {
                        login: identity.login,
                        home,
                    });
                }
                None => self.login_refused(login, 530, "This account has no FTP home"),
            },
            AuthVerdict::Rejected => self.login_failed(login),
            AuthVerdict::LockedOut => self.login_refused(
                login,
                530,
                "Too many failed logins from your address, try again later",
            ),
            AuthVerdict::Unavailable => self.login_refused(
                login,
                530,
                "Temporary authentication failure, try again later",
            ),
        }
    }

    /// A wrong login: the reply waits out the failure delay.
    fn login_failed(&mut self, login: String) {
        self.auth_failures += 1;
        self.output.push_back(Output::Event(Event::LoginFailed {
            login,
            reply: "530 Login incorrect".into(),
        }));
        let delay = self.config.auth.failure_delay;
        if delay.is_zero() {
            self.finish_failed_login();
        } else {
            self.state = State::AuthDelay;
            self.timers.set(Timer::AuthDelay, self.now + delay);
        }
    }

    pub(super) fn auth_delay_over(&mut self) {
        self.timers.stop(Timer::AuthDelay);
        if let State::AuthDelay = self.state {
            self.state = State::ExpectUser;
            self.finish_failed_login();
        }
    }

    /// The failure's reply; the last one a session may have closes it.
    fn finish_failed_login(&mut self) {
        if self.auth_failures >= self.config.auth.max_failures {
            self.output.push_back(Output::Event(Event::TooManyErrors));
            self.reply(
                421,
                "Login incorrect; too many failed logins, closing control connection",
            );
            self.close();
        } else {
            self.reply(530, "Login incorrect");
        }
    }

    /// A login that could not be checked or used: no delay.
    fn login_refused(&mut self, login: String, code: u16, text: &str) {
        let mut reply = Vec::new();
        codec::reply(&mut reply, code, text);
        self.output.push_back(Output::Event(Event::LoginFailed {
            login,
            reply: reply_text(&reply),
        }));
        self.send(reply);
    }

    pub(in crate::ftp) fn home_opened(&mut self, result: Result<(), FileFailure>) {
        let login = match std::mem::replace(&mut self.state, State::ExpectUser) {
            State::AwaitingHome { login } => login,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("HomeOpened in state {other:?}"),
        };
        match result {
            Ok(()) => {
                self.output.push_back(Output::Event(Event::LoginSucceeded {
                    login: login.clone(),
                }));
                self.user = Some(UserSession::new(login));
                self.state = State::ExpectCommand;
                self.reply(230, "Login successful");
            }
            Err(_) => self.login_refused(
                login,
                530,
                "Your home directory cannot be opened, try again later",
            ),
        }
    }

    /// RFC 4217 4: AUTH TLS (or its old names TLS-C and SSL), before login.
    pub(super) fn handle_auth(&mut self, mechanism: &str) {
        if self.tls {
            return self.refuse(503, "TLS is already active");
        }
        if !self.config.auth_tls {
            return self.refuse(502, "AUTH TLS is not offered here");
        }
        if !matches!(mechanism, "TLS" | "TLS-C" | "SSL") {
            return self.refuse(504, "Unknown AUTH mechanism: use AUTH TLS");
        }
        if self.state.is_logged_in() || matches!(self.state, State::ExpectPass { .. }) {
            return self.refuse(503, "AUTH TLS comes before USER");
        }
        self.reply(234, "Proceed with negotiation");
        // The STARTTLS injection bug: nothing sent in clear after AUTH
        // TLS may be acted on once TLS is up.
        self.discarded_after_auth = self.input.len();
        self.input.clear();
        self.state = State::AwaitingTls;
        self.output.push_back(Output::StartTls);
    }

    pub(in crate::ftp) fn tls_started(&mut self) {
        match std::mem::replace(&mut self.state, State::ExpectUser) {
            State::AwaitingTls => {}
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("TlsStarted in state {other:?}"),
        }
        let discarded = std::mem::take(&mut self.discarded_after_auth) + self.input.len();
        self.input.clear();
        self.tls = true;
        self.output
            .push_back(Output::Event(Event::TlsStarted { discarded }));
    }

    /// RFC 4217 8: PBSZ 0 (the only size a stream protocol has).
    pub(super) fn handle_pbsz(&mut self, size: &str) {
        if !self.tls {
            return self.refuse(503, "PBSZ needs a TLS connection: send AUTH TLS first");
        }
        self.pbsz = true;
        if size == "0" {
            self.reply(200, "PBSZ=0");
        } else {
            self.reply(200, "PBSZ=0 (the only buffer size for TLS)");
        }
    }

    /// RFC 4217 9: PROT C or P, after PBSZ. Where logins need TLS, files
    /// do too: PROT C is refused (534).
    pub(super) fn handle_prot(&mut self, level: char) {
        if !self.tls {
            return self.refuse(503, "PROT needs a TLS connection: send AUTH TLS first");
        }
        if !self.pbsz {
            return self.refuse(503, "PROT needs PBSZ first");
        }
        if level == 'P' {
            self.protect = true;
            return self.reply(200, "Protection level set to P");
        }
        if self.config.requires_protected_data() {
            return self.refuse(
                534,
                "Request denied for policy reasons: data connections must be protected (PROT P)",
            );
        }
        self.protect = false;
        self.reply(200, "Protection level set to C");
    }
}
