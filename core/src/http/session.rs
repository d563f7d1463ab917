//! Webmail sessions: who is logged in on which browser, until when, and
//! the token every form of that session must carry (CSRF).
//!
//! A session is named by a [`Token`] of 32 random octets that the runtime
//! draws from the operating system and hands in; it travels only in an
//! `HttpOnly`, `SameSite=Strict` cookie. Each session has a second token
//! for its forms, compared in constant time. Sessions end when idle too
//! long, when too old, at logout, and (all of one account's) when its
//! password changes. The table is bounded: when it is full, the session
//! idle longest makes room.

use crate::auth::Identity;
use crate::limits::{
    WEBMAIL_PERSONAL_IDLE, WEBMAIL_PERSONAL_LIFETIME, WEBMAIL_SESSIONS_MAX, WEBMAIL_SHARED_IDLE,
    WEBMAIL_SHARED_LIFETIME,
};
use crate::time::Instant;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::BTreeMap;
use std::time::Duration;

/// Octets of randomness in a token.
pub const TOKEN_BYTES: usize = 32;

/// A session's name or form token: random octets, written in URL-safe
/// base64 without padding (43 characters).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Token([u8; TOKEN_BYTES]);

impl Token {
    pub fn from_bytes(bytes: [u8; TOKEN_BYTES]) -> Token {
        Token(bytes)
    }

    /// Reads a token as written by [`Token::text`]; anything else is
    /// `None`.
    pub fn parse(text: &str) -> Option<Token> {
        if text.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(Token(bytes.try_into().ok()?))
    }

    pub fn text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// True if `given` is this token's text, compared in time that does
    /// not depend on where they differ.
    pub fn matches(&self, given: &str) -> bool {
        let expected = self.text();
        let (a, b) = (expected.as_bytes(), given.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

// Never shown in logs or debug output.
impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// Mailtraq's public/personal choice at login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Computer {
    /// The user's own: the session lasts and its cookie outlives the
    /// browser.
    Personal,
    /// A shared or public computer: a short session, a cookie that dies
    /// with the browser.
    Shared,
}

impl Computer {
    pub fn idle_limit(self) -> Duration {
        match self {
            Computer::Personal => WEBMAIL_PERSONAL_IDLE,
            Computer::Shared => WEBMAIL_SHARED_IDLE,
        }
    }

    pub fn lifetime(self) -> Duration {
        match self {
            Computer::Personal => WEBMAIL_PERSONAL_LIFETIME,
            Computer::Shared => WEBMAIL_SHARED_LIFETIME,
        }
    }
}

/// One logged-in browser.
#[derive(Clone, Debug)]
pub struct WebSession {
    pub identity: Identity,
    pub computer: Computer,
    /// What every form of this session carries.
    pub form_token: Token,
    /// The account may use the admin area.
    pub admin: bool,
    started: Instant,
    last_seen: Instant,
}

impl WebSession {
    pub fn login(&self) -> &str {
        &self.identity.login
    }

    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_seen) >= self.computer.idle_limit()
            || now.saturating_duration_since(self.started) >= self.computer.lifetime()
    }
}

/// Every session of one HTTP instance, bounded by
/// [`WEBMAIL_SESSIONS_MAX`].
#[derive(Debug)]
pub struct WebSessions {
    sessions: BTreeMap<Token, WebSession>,
    max: usize,
}

impl Default for WebSessions {
    fn default() -> Self {
        WebSessions::with_capacity(WEBMAIL_SESSIONS_MAX)
    }
}

impl WebSessions {
    pub fn with_capacity(max: usize) -> WebSessions {
        WebSessions {
            sessions: BTreeMap::new(),
            max: max.max(1),
        }
    }

    /// Starts a session after a successful login. When the table is full,
    /// expired sessions go first, then the one idle longest.
    pub fn open(
        &mut self,
        name: Token,
        form_token: Token,
        identity: Identity,
        admin: bool,
        computer: Computer,
        now: Instant,
    ) {
        if self.sessions.len() >= self.max {
            self.sessions.retain(|_, session| !session.expired(now));
        }
        if self.sessions.len() >= self.max
            && let Some(idlest) = self
                .sessions
                .iter()
                .min_by_key(|(_, session)| session.last_seen)
                .map(|(token, _)| *token)
        {
            self.sessions.remove(&idlest);
        }
        self.sessions.insert(
            name,
            WebSession {
                identity,
                computer,
                form_token,
                admin,
                started: now,
                last_seen: now,
            },
        );
    }

    /// The live session this cookie names, marked as seen now; an expired
    /// one is ended and `None`.
    pub fn find(&mut self, name: &Token, now: Instant) -> Option<&WebSession> {
        let session = self.sessions.get_mut(name)?;
        if session.expired(now) {
            self.sessions.remove(name);
            return None;
        }
        session.last_seen = now;
        self.sessions.get(name)
    }

    /// Logout.
    pub fn close(&mut self, name: &Token) -> bool {
        self.sessions.remove(name).is_some()
    }

    /// Ends every session of `login` except `keep` (after a password
    /// change, other browsers must log in again). Returns how many ended.
    pub fn close_others(&mut self, login: &str, keep: Option<&Token>) -> usize {
        let before = self.sessions.len();
        self.sessions
            .retain(|token, session| session.login() != login || Some(token) == keep);
        before - self.sessions.len()
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

/// The cookie that names a session.
pub const SESSION_COOKIE: &str = "postern_session";
/// The cookie that pairs with the login form's token (a login form is
/// posted before any session exists).
pub const LOGIN_COOKIE: &str = "postern_login";

/// A `Set-Cookie` value: `HttpOnly` and `SameSite=Strict` always,
/// `Secure` over HTTPS, `Max-Age` when it should outlive the browser.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<Duration>) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    cookie
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    set_cookie(name, "", secure, Some(Duration::ZERO))
}

/// The session cookie for a new session: a personal computer's lasts as
/// long as the session may; a shared computer's dies with the browser.
pub fn session_cookie(name: &Token, computer: Computer, secure: bool) -> String {
    let max_age = match computer {
        Computer::Personal => Some(computer.lifetime()),
        Computer::Shared => None,
    };
    set_cookie(SESSION_COOKIE, &name.text(), secure, max_age)
}

/// The value of cookie `name` in a `Cookie:` header, if present.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests;
