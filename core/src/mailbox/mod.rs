//! The mailbox model every reader shares (POP3, IMAP, webmail, NNTP).
//!
//! A mailbox has a UIDVALIDITY, a UIDNEXT, a highest MODSEQ and messages,
//! each with a UID, system flags and keywords, an internal date, a size (in
//! octets as clients see them: CRLF line ends) and the MODSEQ of its last
//! change. [`MailboxState`] keeps the rules and asserts them: UIDs strictly
//! increase and are never reused within one UIDVALIDITY (RFC 9051 2.3.1.1),
//! an expunged UID is gone for good, and every change bumps MODSEQ
//! (RFC 7162 3.1). A store hands in what it found on disk; the state turns
//! it into a list of [`Change`]s that session machines decide how to tell
//! their client.
//!
//! The pure Maildir codecs live beside it: file names
//! ([`maildir_name`]), Dovecot's `dovecot-uidlist` ([`uidlist`]) and
//! `dovecot-keywords` ([`keywords`]). No I/O here: the runtime reads and
//! writes the files.

pub mod folder;
pub mod header;
pub mod keywords;
pub mod maildir_name;
pub mod modseq_file;
mod resume;
pub mod row;
mod state;
mod store_types;
pub mod uidlist;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_modseq;

pub use state::{Change, Found, MailboxState, Reconciled, Snapshot, StateError};
pub use store_types::{CopyResult, MoveResult, NewMessage, Usage};

use crate::limits::KEYWORD_BYTES_MAX;
use crate::time::UnixTime;
use std::collections::BTreeSet;
use std::fmt;
use std::num::NonZeroU32;

/// A message's unique identifier within one UIDVALIDITY (RFC 9051
/// 2.3.1.1): never zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uid(NonZeroU32);

impl Uid {
    /// The first UID of a new mailbox.
    pub const FIRST: Uid = Uid(NonZeroU32::MIN);

    /// `None` for zero, which is never a UID.
    pub const fn new(value: u32) -> Option<Uid> {
        match NonZeroU32::new(value) {
            Some(v) => Some(Uid(v)),
            None => None,
        }
    }

    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// The UID after this one, `None` when the 32-bit space is used up
    /// (the mailbox then needs a new UIDVALIDITY).
    pub fn next(self) -> Option<Uid> {
        self.0.checked_add(1).map(Uid)
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// RFC 9051 2.3.1.1: names one assignment of UIDs; a new value tells
/// clients to forget every UID they cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UidValidity(pub u32);

impl fmt::Display for UidValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// RFC 7162 3.1: a mailbox's change counter; every change gets a higher
/// one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModSeq(pub u64);

impl fmt::Display for ModSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// One of the system flags of RFC 9051 2.3.2 that a mailbox stores
/// (`\Recent` is per session, not stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
}

impl Flag {
    pub const ALL: [Flag; 5] = [
        Flag::Seen,
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Draft,
    ];

    const fn bit(self) -> u8 {
        match self {
            Flag::Seen => 1,
            Flag::Answered => 2,
            Flag::Flagged => 4,
            Flag::Deleted => 8,
            Flag::Draft => 16,
        }
    }

    /// The name as IMAP writes it, such as `\Seen`.
    pub const fn imap_name(self) -> &'static str {
        match self {
            Flag::Seen => "\\Seen",
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Draft => "\\Draft",
        }
    }
}

/// A set of system flags, as a bitset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    pub const EMPTY: Flags = Flags(0);

    pub fn contains(self, flag: Flag) -> bool {
        self.0 & flag.bit() != 0
    }

    pub fn insert(&mut self, flag: Flag) {
        self.0 |= flag.bit();
    }

    pub fn remove(&mut self, flag: Flag) {
        self.0 &= !flag.bit();
    }

    pub fn with(mut self, flag: Flag) -> Flags {
        self.insert(flag);
        self
    }

    pub fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub fn difference(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags set, in [`Flag::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Flag> for Flags {
    fn from_iter<I: IntoIterator<Item = Flag>>(iter: I) -> Self {
        let mut flags = Flags::EMPTY;
        for flag in iter {
            flags.insert(flag);
        }
        flags
    }
}

impl fmt::Display for Flags {
    /// IMAP's form, such as `\Seen \Flagged`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for flag in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(flag.imap_name())?;
        }
        Ok(())
    }
}

/// A message's keywords (RFC 9051 2.3.2), each a valid [`keyword`].
pub type Keywords = BTreeSet<String>;

/// Why a keyword was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeywordError {
    Empty,
    TooLong {
        len: usize,
    },
    /// RFC 9051 9: a flag keyword is an atom: no space, control, `(`,
    /// `)`, `{`, `%`, `*`, `"`, `\`, `]` and no octet above 0x7e.
    NotAnAtom {
        byte: u8,
    },
}

impl fmt::Display for KeywordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeywordError::Empty => write!(f, "a keyword cannot be empty"),
            KeywordError::TooLong { len } => write!(
                f,
                "a keyword is at most {KEYWORD_BYTES_MAX} octets, this one {len}"
            ),
            KeywordError::NotAnAtom { byte } => {
                write!(
                    f,
                    "a keyword is an IMAP atom: octet {byte:#04x} is not allowed"
                )
            }
        }
    }
}

/// Checks that `word` can be a keyword: an IMAP atom (RFC 9051 9
/// `flag-keyword`) of at most [`KEYWORD_BYTES_MAX`] octets.
pub fn keyword(word: &str) -> Result<&str, KeywordError> {
    if word.is_empty() {
        return Err(KeywordError::Empty);
    }
    if word.len() > KEYWORD_BYTES_MAX {
        return Err(KeywordError::TooLong { len: word.len() });
    }
    for &byte in word.as_bytes() {
        let special = matches!(byte, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']');
        if byte <= b' ' || byte >= 0x7f || special {
            return Err(KeywordError::NotAnAtom { byte });
        }
    }
    Ok(word)
}

/// What the model knows about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageMeta {
    pub uid: Uid,
    pub flags: Flags,
    pub keywords: Keywords,
    /// RFC 9051 2.3.3: when the message arrived (Maildir: the file's mtime).
    pub internal_date: UnixTime,
    /// Octets as clients see them: CRLF line ends (Dovecot's virtual
    /// size, `W=` in a Maildir file name). POP3 LIST and IMAP RFC822.SIZE.
    pub size: u64,
    /// The MODSEQ of the message's last change.
    pub modseq: ModSeq,
}
