//! IMAP4rev2 (RFC 9051) with IMAP4rev1 (RFC 3501) behaviour for older
//! clients: the pieces a session is made of, sans I/O.
//!
//! - [`command`]: what a client asks, as values (the command syntax tree);
//! - [`codec`]: bytes to commands (framing with literals, bounded) and
//!   response values to bytes;
//! - [`message`]: what a message looks like to IMAP (ENVELOPE,
//!   BODYSTRUCTURE, sections, BINARY, SEARCH keys, SORT and THREAD);
//! - [`session`]: the session machine (states, commands, untagged
//!   updates), driven like every other machine (see the book's chapter
//!   "The machine contract").
//!
//! The codec is written here, not taken from a crate: `imap-codec` 1.0
//! lacks UID EXPUNGE, ID, NAMESPACE, SORT and THREAD, ESEARCH,
//! LIST-EXTENDED, BINARY and MULTIAPPEND, and its 2.0 is an alpha (the
//! book's chapter "IMAP" says more). MIME parsing is `mail-parser`'s.

pub mod codec;
pub mod command;
pub mod message;
pub mod refusal;
pub mod sequence;
pub mod session;
pub mod shared;
pub mod value;
