//! What a session tells the log: events as they happen, and one summary
//! line when it ends. Peer text (logins, folder names, replies) is
//! escaped and bounded; message content never appears.

use super::{EventLevel, SessionInfo};
use crate::auth::Mechanism;
use crate::limits::LOGGED_PEER_TEXT_BYTES_MAX;
use crate::text::{bounded, counted, escape_controls};
use std::fmt;
use std::time::Duration;

/// How a client logged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginVia {
    /// The LOGIN command (RFC 9051 6.2.3).
    Login,
    /// AUTHENTICATE with a SASL mechanism (RFC 9051 6.2.2).
    Sasl(Mechanism),
}

impl fmt::Display for LoginVia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginVia::Login => f.write_str("LOGIN"),
            LoginVia::Sasl(mechanism) => write!(f, "{mechanism}"),
        }
    }
}

/// Session events for logs and metrics; never message content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    LoginSucceeded {
        login: String,
        via: LoginVia,
    },
    /// `login` is what the client offered (never the password).
    LoginFailed {
        login: String,
        via: LoginVia,
        reply: String,
    },
    Selected {
        folder: String,
        read_only: bool,
        messages: usize,
    },
    Appended {
        folder: String,
        messages: usize,
        octets: u64,
    },
    Expunged {
        folder: String,
        messages: usize,
    },
    Copied {
        to: String,
        messages: usize,
        moved: bool,
    },
    /// A `BAD` or `NO` reply.
    CommandRefused {
        reply: String,
    },
    /// A store request failed (`NO [SERVERBUG]`).
    StoreFailed {
        command: &'static str,
    },
    TlsStarted {
        discarded: usize,
    },
    /// LOGOUT.
    LoggedOut,
    /// RFC 9051 5.4.
    Autologout,
    IdleTooLong,
    /// The instance's `max_session_time` passed.
    SessionTooLong,
    SendStalled {
        waited: Duration,
    },
    TooManyErrors,
    /// The client held more input unread than the bound allows.
    InputOverflow,
    ShutDown,
}

impl Event {
    /// The level its log line gets.
    pub fn level(&self) -> EventLevel {
        match self {
            Event::CommandRefused { .. } | Event::TlsStarted { discarded: 0 } => EventLevel::Debug,
            _ => EventLevel::Info,
        }
    }
}

/// Peer text as a log line may show it: escaped and bounded.
pub(super) fn shown(text: &str) -> String {
    bounded(&escape_controls(text), LOGGED_PEER_TEXT_BYTES_MAX).into_owned()
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::LoginSucceeded { login, via } => {
                write!(f, "imap login {via} login={} succeeded", shown(login))
            }
            Event::LoginFailed { login, via, reply } => write!(
                f,
                "imap login {via} login={} failed: {}",
                shown(login),
                shown(reply)
            ),
            Event::Selected {
                folder,
                read_only,
                messages,
            } => write!(
                f,
                "{} {}: {}",
                if *read_only { "examine" } else { "select" },
                shown(folder),
                counted(messages, "message", "messages")
            ),
            Event::Appended {
                folder,
                messages,
                octets,
            } => write!(
                f,
                "append to {}: {}, {octets} octets",
                shown(folder),
                counted(messages, "message", "messages")
            ),
            Event::Expunged { folder, messages } => {
                write!(
                    f,
                    "expunge in {}: {}",
                    shown(folder),
                    counted(messages, "message", "messages")
                )
            }
            Event::Copied {
                to,
                messages,
                moved,
            } => write!(
                f,
                "{} {} to {}",
                if *moved { "moved" } else { "copied" },
                counted(messages, "message", "messages"),
                shown(to)
            ),
            Event::CommandRefused { reply } => write!(f, "command refused: {}", shown(reply)),
            Event::StoreFailed { command } => write!(f, "{command}: the store failed"),
            Event::TlsStarted { discarded: 0 } => f.write_str("TLS started"),
            Event::TlsStarted { discarded } => write!(
                f,
                "TLS started; {discarded} bytes sent in clear after STARTTLS were discarded"
            ),
            Event::LoggedOut => f.write_str("logout"),
            Event::Autologout => f.write_str("autologout: the client was idle too long"),
            Event::IdleTooLong => f.write_str("IDLE ended: it lasted too long"),
            Event::SessionTooLong => f.write_str("session ended: it lasted max_session_time"),
            Event::SendStalled { waited } => write!(
                f,
                "write stalled for {}s: the client is not reading",
                waited.as_secs()
            ),
            Event::TooManyErrors => f.write_str("too many errors"),
            Event::InputOverflow => f.write_str("too much input held unread"),
            Event::ShutDown => f.write_str("shut down"),
        }
    }
}

/// What a session did, for the one line logged when it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSummary {
    pub tls: bool,
    pub login: Option<String>,
    pub selected: usize,
    pub appended: usize,
    pub expunged: usize,
    pub copied: usize,
    pub refused: usize,
}

impl SessionSummary {
    pub fn new(info: SessionInfo) -> Self {
        SessionSummary {
            tls: info.tls,
            ..SessionSummary::default()
        }
    }

    pub fn record(&mut self, event: &Event) {
        match event {
            Event::TlsStarted { .. } => self.tls = true,
            Event::LoginSucceeded { login, .. } => self.login = Some(login.clone()),
            Event::Selected { .. } => self.selected += 1,
            Event::Appended { messages, .. } => self.appended += messages,
            Event::Expunged { messages, .. } => self.expunged += messages,
            Event::Copied { messages, .. } => self.copied += messages,
            Event::CommandRefused { .. } => self.refused += 1,
            _ => {}
        }
    }
}

impl fmt::Display for SessionSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let login = self.login.as_deref().map_or_else(|| "-".to_owned(), shown);
        write!(
            f,
            "imap tls={} login={login} selected={} appended={} expunged={} copied={} refused={}",
            if self.tls { "yes" } else { "no" },
            self.selected,
            self.appended,
            self.expunged,
            self.copied,
            self.refused,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_text_is_escaped_in_events_and_the_summary() {
        let event = Event::LoginSucceeded {
            login: "eve\r\n* OK forged".into(),
            via: LoginVia::Login,
        };
        assert_eq!(
            event.to_string(),
            "imap login LOGIN login=eve\\r\\n* OK forged succeeded"
        );
        let mut summary = SessionSummary::default();
        summary.record(&event);
        summary.record(&Event::Appended {
            folder: "INBOX".into(),
            messages: 2,
            octets: 10,
        });
        assert_eq!(
            summary.to_string(),
            "imap tls=no login=eve\\r\\n* OK forged selected=0 appended=2 expunged=0 copied=0 refused=0"
        );
    }
}
