//! The POP3 machine's states (RFC 1939 3: AUTHORIZATION, TRANSACTION and
//! UPDATE), each holding only what is valid in it.

use super::{LoginVia, Maildrop};
use crate::smtp::client::DotStuffer;

/// Where a SASL exchange (RFC 5034) stands while the client owes a
/// response line.
#[derive(Debug)]
pub enum SaslStep {
    /// PLAIN without an initial response: the whole response next.
    Plain,
    /// LOGIN: the user name next.
    LoginUser,
    /// LOGIN: the password next.
    LoginPassword { login: String },
}

/// The open maildrop and what this session did to it.
#[derive(Debug)]
pub struct Session {
    pub maildrop: Maildrop,
    /// Per message number - 1: marked with DELE (RSET clears).
    pub deleted: Vec<bool>,
    /// Per message number - 1: sent whole by RETR, to be marked `\Seen`.
    pub retrieved: Vec<bool>,
}

impl Session {
    pub fn new(maildrop: Maildrop) -> Self {
        let count = maildrop.messages.len();
        Session {
            maildrop,
            deleted: vec![false; count],
            retrieved: vec![false; count],
        }
    }

    /// Messages not marked deleted, and their octets (RFC 1939 5 STAT).
    pub fn totals(&self) -> (usize, u64) {
        self.maildrop
            .messages
            .iter()
            .zip(&self.deleted)
            .filter(|(_, deleted)| !**deleted)
            .fold((0, 0), |(count, octets), (message, _)| {
                (count + 1, octets + message.size)
            })
    }

    /// UIDs of the messages marked deleted.
    pub fn expunge(&self) -> Vec<u32> {
        self.uids_where(&self.deleted)
    }

    /// UIDs retrieved and not deleted: to be marked `\Seen`.
    pub fn seen(&self) -> Vec<u32> {
        let kept: Vec<bool> = self
            .retrieved
            .iter()
            .zip(&self.deleted)
            .map(|(&retrieved, &deleted)| retrieved && !deleted)
            .collect();
        self.uids_where(&kept)
    }

    fn uids_where(&self, marks: &[bool]) -> Vec<u32> {
        self.maildrop
            .messages
            .iter()
            .zip(marks)
            .filter(|(_, mark)| **mark)
            .map(|(message, _)| message.uid)
            .collect()
    }
}

/// What TOP sends of a message: the header, the blank line, then `lines`
/// lines of the body (RFC 1939 7).
#[derive(Debug)]
pub struct TopFilter {
    body_lines_left: u32,
    in_header: bool,
    /// Octets of the current line so far (CR included).
    line_length: usize,
}

impl TopFilter {
    pub fn new(lines: u32) -> Self {
        TopFilter {
            body_lines_left: lines,
            in_header: true,
            line_length: 0,
        }
    }

    /// How much of `chunk` to send; `Some(n)` with `n` octets when the
    /// filter is done after them, `None` when all of it goes and more may.
    pub fn take(&mut self, chunk: &[u8]) -> Option<usize> {
        for (i, &byte) in chunk.iter().enumerate() {
            if byte != b'\n' {
                self.line_length += 1;
                continue;
            }
            let empty = self.line_length <= 1;
            self.line_length = 0;
            if self.in_header {
                if empty {
                    self.in_header = false;
                    if self.body_lines_left == 0 {
                        return Some(i + 1);
                    }
                }
            } else {
                self.body_lines_left -= 1;
                if self.body_lines_left == 0 {
                    return Some(i + 1);
                }
            }
        }
        None
    }
}

/// A message being sent for RETR or TOP.
#[derive(Debug)]
pub struct Retrieval {
    pub uid: u32,
    pub stuffer: DotStuffer,
    /// `Some` for TOP.
    pub top: Option<TopFilter>,
    /// `+OK` has gone out: the response can no longer be an `-ERR`.
    pub started: bool,
    /// Message octets sent, before stuffing.
    pub octets: u64,
    /// The RETR size, for the `+OK` line.
    pub size: u64,
    /// Index of the message, for marking it retrieved.
    pub index: usize,
}

#[derive(Debug)]
pub enum State {
    /// RFC 1939 4: waiting for a login; `user` after a USER command.
    Authorization {
        user: Option<String>,
    },
    /// In a SASL exchange: the next line is a response, not a command.
    AuthResponse(SaslStep),
    /// Waiting for the driver to check a login.
    AwaitingAuth {
        via: LoginVia,
        login: String,
    },
    /// A failed login's reply is held back; input waits.
    AuthDelay,
    /// Waiting for the driver to lock and open the maildrop.
    AwaitingMaildrop {
        login: String,
    },
    /// STLS accepted: waiting for the handshake.
    AwaitingTls,
    /// RFC 1939 5.
    Transaction(Session),
    /// Sending a message; the driver hands in its chunks.
    Retrieving(Session, Retrieval),
    /// RFC 1939 6: QUIT in TRANSACTION; waiting for the driver.
    AwaitingUpdate {
        deleted: usize,
        seen: usize,
        left: usize,
    },
    Closed,
}

impl State {
    /// True while the machine waits for the client's next line: the
    /// autologout timer runs.
    pub fn awaits_command(&self) -> bool {
        matches!(
            self,
            State::Authorization { .. } | State::AuthResponse(_) | State::Transaction(_)
        )
    }

    /// True while the machine waits for the driver.
    pub fn is_awaiting_driver(&self) -> bool {
        matches!(
            self,
            State::AwaitingAuth { .. }
                | State::AwaitingMaildrop { .. }
                | State::AwaitingTls
                | State::Retrieving(..)
                | State::AwaitingUpdate { .. }
        )
    }
}
