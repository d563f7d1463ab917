//! Bytes to IMAP commands: framing with literals, bounded, then parsing
//! into the [`Command`](crate::imap::command::Command) tree.
//!
//! The contract: the driver hands in whatever it read with
//! [`CommandReader::push`] (any split, one octet at a time included),
//! then calls [`CommandReader::next_command`] until it returns `None`.
//! Each [`ReadEvent`] is one thing the session answers:
//!
//! - a whole command, literals included;
//! - `ContinuationNeeded` when a synchronizing literal `{n}` was
//!   announced within bounds: the session sends `+ ...` (RFC 9051 7.5)
//!   and the reader then waits for the octets;
//! - `Bad` for a command that does not parse: the reader has skipped the
//!   whole command (the octets of any non-synchronizing literal in it
//!   included, so a literal's content is never taken for commands);
//! - `TooBig` for a literal or a command over its bound.
//!
//! Every bound is in [`ReaderLimits`]: the text of a command outside its
//! literals, one literal, a non-synchronizing literal (LITERAL-), the
//! whole command, list items and nesting. Over a bound the reader never
//! holds more than the bound: it discards and skips to the next command.
//!
//! Mailbox names are returned as sent (modified UTF-7 or UTF-8, which
//! the session decodes with [`mutf7`]); only `INBOX` is normalized, as
//! RFC 9051 5.1 makes it case-insensitive.
//!
//! Responses are [`Value`](crate::imap::value::Value)s; [`response`]
//! adds the number sets of COPYUID, ESEARCH and VANISHED.

mod commands;
mod fetch;
pub mod mutf7;
mod parser;
mod reader;
pub mod response;
mod search;

#[cfg(test)]
mod tests;

pub use reader::CommandReader;

use crate::imap::command::Command;
use crate::limits::{
    IMAP_COMMAND_BYTES_DEFAULT, IMAP_COMMAND_DEPTH_MAX, IMAP_COMMAND_ITEMS_MAX,
    IMAP_COMMAND_LINE_BYTES_MAX, MESSAGE_BYTES_DEFAULT,
};

/// The reader's bounds; the session sets them from the instance's
/// configuration (`literal_bytes_max` is its APPENDLIMIT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderLimits {
    /// One command's text outside its literals, line ends included.
    pub line_bytes_max: usize,
    /// Any literal: the instance's largest message (APPENDLIMIT, RFC 7889).
    pub literal_bytes_max: u64,
    /// A non-synchronizing literal `{n+}`: [`literal_bytes_max`] with
    /// LITERAL+ (the default), 4096 with LITERAL- (RFC 7888 4,
    /// [`crate::limits::IMAP_LITERAL_MINUS_BYTES_MAX`]).
    ///
    /// [`literal_bytes_max`]: ReaderLimits::literal_bytes_max
    pub nonsync_literal_bytes_max: u64,
    /// A whole command, literals included (MULTIAPPEND).
    pub command_bytes_max: u64,
    /// Items in one command: list items, search keys, sequence ranges.
    pub items_max: usize,
    /// Parenthesis nesting, NOT and OR included.
    pub depth_max: usize,
}

impl Default for ReaderLimits {
    fn default() -> Self {
        ReaderLimits {
            line_bytes_max: IMAP_COMMAND_LINE_BYTES_MAX,
            literal_bytes_max: MESSAGE_BYTES_DEFAULT,
            nonsync_literal_bytes_max: MESSAGE_BYTES_DEFAULT,
            command_bytes_max: IMAP_COMMAND_BYTES_DEFAULT,
            items_max: IMAP_COMMAND_ITEMS_MAX,
            depth_max: IMAP_COMMAND_DEPTH_MAX,
        }
    }
}

/// What the reader found next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadEvent {
    Command(Command),
    /// A synchronizing literal `{n}` was announced within bounds: the
    /// session sends `+ ...` (RFC 9051 7.5); the reader then waits for
    /// the n octets and the rest of the command.
    ContinuationNeeded,
    /// Unparseable: the session answers `tag BAD text` (`* BAD` without
    /// a tag). The reader has skipped to the end of that command.
    Bad {
        tag: Option<String>,
        text: String,
    },
    /// A literal (or the whole command) over a bound: `tag NO [TOOBIG]`
    /// for APPEND (RFC 9051 7.1, RFC 7889), `tag BAD [TOOBIG]`
    /// otherwise; `command` is the command's name in capitals when it
    /// was read (`APPEND`, `UID FETCH`). For a `{n}` literal nothing more
    /// is read (the client sends nothing after a refusal); for a `{n+}`
    /// literal its n octets and the rest of the command are discarded.
    TooBig {
        tag: Option<String>,
        command: Option<String>,
        text: String,
    },
}

/// [`CommandReader::next_line`]: the line was over `line_bytes_max`; the
/// reader skips to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong;
