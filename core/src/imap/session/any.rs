//! Commands of any state (RFC 9051 6.1: CAPABILITY, NOOP, LOGOUT; RFC
//! 2971 ID), of the not authenticated state (6.2: STARTTLS, AUTHENTICATE
//! with SASL-IR, LOGIN), and ENABLE (RFC 5161).

use super::machine::ImapServer;
use super::response::Reply;
use super::state::{Mode, Pending, SaslStep, State};
use super::timers::Timer;
use super::{Event, LoginVia, Output, Request};
use crate::auth::{AuthVerdict, LoginAttempt, Mechanism, PlainError, Secret, parse_plain};
use crate::imap::value::Value;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// What every authenticated session is offered (RFC 9051 7.2.2 and the
/// extensions' RFCs); APPENDLIMIT is added with its figure.
const CAPABILITIES_AUTHENTICATED: &str = "SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT \
UIDPLUS MOVE CONDSTORE QRESYNC ESEARCH SEARCHRES WITHIN SORT THREAD=ORDEREDSUBJECT \
THREAD=REFERENCES LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE CHILDREN MULTIAPPEND \
BINARY UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE STATUS=SIZE";

impl ImapServer {
    /// A login in clear is accepted on this connection.
    pub(super) fn login_allowed(&self) -> bool {
        self.config.auth.offered && (self.tls || self.config.auth.without_tls)
    }

    /// The capability list for the session's state and connection.
    pub(super) fn capabilities(&self) -> String {
        let mut caps = String::from("IMAP4rev1 IMAP4rev2");
        if matches!(self.mode, Mode::NotAuthenticated) {
            caps.push_str(" SASL-IR LITERAL+ ID ENABLE IDLE");
            if self.config.starttls && !self.tls {
                caps.push_str(" STARTTLS");
            }
            if self.login_allowed() {
                caps.push_str(" AUTH=PLAIN AUTH=LOGIN");
            } else {
                caps.push_str(" LOGINDISABLED");
            }
        } else {
            caps.push(' ');
            caps.push_str(CAPABILITIES_AUTHENTICATED);
            caps.push_str(&format!(" APPENDLIMIT={}", self.config.append_limit));
        }
        caps
    }

    pub(super) fn handle_capability(&mut self, tag: &str) {
        let caps = self.capabilities();
        self.untagged(&format!("CAPABILITY {caps}"));
        self.reply(tag, Reply::ok("Capability completed"));
    }

    pub(super) fn handle_logout(&mut self, tag: &str) {
        self.untagged("BYE Logging out");
        self.reply(tag, Reply::ok("Logout completed"));
        self.event(Event::LoggedOut);
        self.close();
    }

    /// RFC 2971: our name; what the client says of itself is not kept.
    pub(super) fn handle_id(&mut self, tag: String, _fields: &[(String, Option<String>)]) {
        let id = Value::List(vec![Value::string("name"), Value::string("Postern")]);
        let mut line = b"* ID ".to_vec();
        id.encode(&mut line, false);
        line.extend_from_slice(b"\r\n");
        self.send(line);
        self.finish(tag, Reply::ok("ID completed"), true);
    }

    /// RFC 5161: what is switched on is listed in `* ENABLED`; unknown
    /// names are ignored.
    pub(super) fn handle_enable(&mut self, tag: String, names: &[String]) {
        let mut enabled = Vec::new();
        for name in names {
            let upper = name.to_ascii_uppercase();
            let flag = match upper.as_str() {
                "IMAP4REV2" => &mut self.enabled.rev2,
                "CONDSTORE" => &mut self.enabled.condstore,
                "QRESYNC" => &mut self.enabled.qresync,
                "UTF8=ACCEPT" => &mut self.enabled.utf8,
                _ => continue,
            };
            if !*flag {
                *flag = true;
                enabled.push(upper);
            }
        }
        // RFC 7162 3.2.3: QRESYNC implies CONDSTORE.
        if self.enabled.qresync && !self.enabled.condstore {
            self.enabled.condstore = true;
        }
        let mut line = String::from("ENABLED");
        for name in &enabled {
            line.push(' ');
            line.push_str(name);
        }
        self.untagged(&line);
        self.finish(tag, Reply::ok("Enabled"), true);
    }

    /// Refuses a login on a connection where logins are not allowed; true
    /// if it did.
    fn refuse_login_in_clear(&mut self, tag: &str) -> bool {
        if self.login_allowed() {
            return false;
        }
        let reply = if !self.config.auth.offered {
            Reply::no(Some("CANNOT"), "Logins are not enabled here")
        } else if self.config.starttls {
            Reply::no(
                Some("PRIVACYREQUIRED"),
                "Plaintext authentication disallowed on non-secure connections: use STARTTLS first",
            )
        } else {
            Reply::no(
                Some("PRIVACYREQUIRED"),
                "Plaintext authentication disallowed on non-secure connections",
            )
        };
        self.reply(tag, reply);
        true
    }

    pub(super) fn handle_login(&mut self, tag: String, user: String, password: String) {
        if self.refuse_login_in_clear(&tag) {
            return;
        }
        let attempt = LoginAttempt::new(user, Secret::new(password));
        self.check_login(tag, LoginVia::Login, attempt);
    }

    pub(super) fn handle_authenticate(
        &mut self,
        tag: String,
        mechanism: &str,
        initial: Option<String>,
    ) {
        if self.refuse_login_in_clear(&tag) {
            return;
        }
        let Some(mechanism) = Mechanism::parse(mechanism) else {
            return self.reply(
                &tag,
                Reply::no(
                    None,
                    "Unsupported authentication mechanism: use PLAIN or LOGIN",
                ),
            );
        };
        match (mechanism, initial) {
            (Mechanism::Plain, None) => self.challenge(tag, SaslStep::Plain, ""),
            (Mechanism::Login, None) => self.challenge(tag, SaslStep::LoginUser, "Username:"),
            (Mechanism::Plain, Some(response)) => {
                self.sasl_step(tag, SaslStep::Plain, response.as_bytes())
            }
            (Mechanism::Login, Some(response)) => {
                self.sasl_step(tag, SaslStep::LoginUser, response.as_bytes())
            }
        }
    }

    /// A `+ ` continuation (RFC 9051 7.5) and waits for the response.
    fn challenge(&mut self, tag: String, step: SaslStep, prompt: &str) {
        self.state = State::AuthResponse { tag, step };
        self.send(format!("+ {}\r\n", BASE64.encode(prompt)).into_bytes());
    }

    pub(super) fn sasl_response(&mut self, line: &[u8]) {
        let State::AuthResponse { tag, step } = std::mem::replace(&mut self.state, State::Command)
        else {
            unreachable!("sasl_response outside AuthResponse");
        };
        self.sasl_step(tag, step, line);
    }

    /// One base64 response: `*` cancels (RFC 9051 6.2.2), `=` is empty
    /// (RFC 4959).
    fn sasl_step(&mut self, tag: String, step: SaslStep, response: &[u8]) {
        self.state = State::Command;
        if response == b"*" {
            return self.bad(&tag, "Authentication cancelled");
        }
        let decoded = if response == b"=" {
            Ok(Vec::new())
        } else {
            BASE64.decode(response)
        };
        let Ok(decoded) = decoded else {
            return self.bad(&tag, "Cannot decode the response: it is not base64");
        };
        match step {
            SaslStep::Plain => match parse_plain(&decoded) {
                Ok(attempt) => self.check_login(tag, LoginVia::Sasl(Mechanism::Plain), attempt),
                Err(PlainError::Malformed) => self.bad(&tag, "Malformed PLAIN response (RFC 4616)"),
                Err(PlainError::OtherIdentity) => {
                    let login = String::from_utf8_lossy(&decoded)
                        .split('\0')
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    self.login_failed(tag, LoginVia::Sasl(Mechanism::Plain), login);
                }
            },
            SaslStep::LoginUser => match String::from_utf8(decoded) {
                Ok(login) if !login.is_empty() => {
                    self.challenge(tag, SaslStep::LoginPassword { login }, "Password:")
                }
                _ => self.bad(&tag, "The user name must be UTF-8 and not empty"),
            },
            SaslStep::LoginPassword { login } => match String::from_utf8(decoded) {
                Ok(password) => self.check_login(
                    tag,
                    LoginVia::Sasl(Mechanism::Login),
                    LoginAttempt::new(login, Secret::new(password)),
                ),
                Err(_) => self.bad(&tag, "The password must be UTF-8"),
            },
        }
    }

    fn check_login(&mut self, tag: String, via: LoginVia, mut attempt: LoginAttempt) {
        self.tried_logins.note(&mut attempt);
        let login = attempt.login.clone();
        self.request(
            Pending::Auth { tag, via, login },
            Request::Authenticate(attempt),
        );
    }

    pub(super) fn authenticated(
        &mut self,
        tag: String,
        via: LoginVia,
        login: String,
        verdict: AuthVerdict,
    ) {
        self.tried_logins.settled(&verdict);
        match verdict {
            AuthVerdict::Accepted(identity) => {
                self.event(Event::LoginSucceeded {
                    login: identity.login.clone(),
                    via,
                });
                self.login = Some(identity.login);
                self.mode = Mode::Authenticated;
                let caps = self.capabilities();
                self.reply(
                    &tag,
                    Reply::ok_code(format!("CAPABILITY {caps}"), "Logged in"),
                );
            }
            AuthVerdict::Rejected => self.login_failed(tag, via, login),
            AuthVerdict::LockedOut => self.login_refused(
                &tag,
                via,
                login,
                "Too many failed logins from your address, try again later",
            ),
            AuthVerdict::Unavailable => self.login_refused(
                &tag,
                via,
                login,
                "Temporary authentication failure, try again later",
            ),
        }
    }

    /// A wrong login: the reply waits out the failure delay.
    fn login_failed(&mut self, tag: String, via: LoginVia, login: String) {
        self.auth_failures += 1;
        self.event(Event::LoginFailed {
            login,
            via,
            reply: "NO [AUTHENTICATIONFAILED] Authentication failed".into(),
        });
        let delay = self.config.auth.failure_delay;
        if delay.is_zero() {
            self.finish_failed_login(&tag);
        } else {
            self.state = State::AuthDelay { tag };
            self.timers.set(Timer::AuthDelay, self.now + delay);
        }
    }

    /// A failed login's delay is over: its reply goes out now.
    pub(super) fn auth_delay_over(&mut self) {
        if let State::AuthDelay { tag } = std::mem::replace(&mut self.state, State::Command) {
            self.finish_failed_login(&tag);
        }
    }

    /// The failure's reply; the last one a session may have ends it.
    fn finish_failed_login(&mut self, tag: &str) {
        self.reply(
            tag,
            Reply::no(Some("AUTHENTICATIONFAILED"), "Authentication failed"),
        );
        if self.auth_failures >= self.config.auth.max_failures {
            self.bye("Too many failed logins", Event::TooManyErrors);
        }
    }

    /// A login that could not be checked: a temporary failure, no delay.
    fn login_refused(&mut self, tag: &str, via: LoginVia, login: String, text: &str) {
        self.event(Event::LoginFailed {
            login,
            via,
            reply: format!("NO [UNAVAILABLE] {text}"),
        });
        self.reply(tag, Reply::no(Some("UNAVAILABLE"), text));
    }

    pub(super) fn handle_starttls(&mut self, tag: &str) {
        if self.tls {
            return self.bad(tag, "TLS is already active");
        }
        if !self.config.starttls {
            return self.bad(tag, "STARTTLS is not offered here");
        }
        self.reply(tag, Reply::ok("Begin TLS negotiation now"));
        // RFC 9051 6.2.1 and the STARTTLS injection bug: nothing the
        // client sent in clear after STARTTLS may be acted on.
        self.discarded_after_starttls = self.reset_reader();
        self.state = State::AwaitingTls;
        self.push_output(Output::StartTls);
    }

    /// After the handshake the session starts again, with nothing the
    /// client said before it.
    pub(super) fn tls_started(&mut self) {
        match std::mem::replace(&mut self.state, State::Command) {
            State::AwaitingTls => {}
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("TlsStarted in state {other:?}"),
        }
        let discarded = std::mem::take(&mut self.discarded_after_starttls) + self.reset_reader();
        self.tls = true;
        self.event(Event::TlsStarted { discarded });
    }
}
