//! The bounds of IMAP: instances, the store, the codec, messages and
//! sessions.

use super::{MESSAGE_BYTES_DEFAULT, SESSION_TIME_MAX};
use std::time::Duration;

// IMAP instances

/// RFC 9051 section 5.4: an IMAP server's inactivity autologout timer
/// "MUST be at least 30 minutes". An IMAP instance's `command_timeout`
/// may not be shorter.
pub const IMAP_AUTOLOGOUT_MIN: Duration = Duration::from_secs(30 * 60);

/// How long an IMAP client that has not logged in may stay without a
/// command. RFC 9051 section 5.4 sets its 30-minute minimum for sessions
/// after authentication only; a connection that has not logged in holds
/// a slot of the instance's connection quota and has shown nothing, so
/// it gets three minutes, as Dovecot's login process gives it.
pub const IMAP_LOGIN_TIMEOUT: Duration = Duration::from_secs(3 * 60);

/// An IMAP instance's `command_timeout` when none is written: the RFC
/// 9051 minimum, as Dovecot's IMAP idle timeout.
pub const IMAP_AUTOLOGOUT_DEFAULT: Duration = IMAP_AUTOLOGOUT_MIN;

/// An IMAP instance's `max_session_time` when none is written: a day.
/// Mail clients stay connected all day (IDLE), so the other services'
/// 30 minutes would cut them off every half hour.
pub const IMAP_SESSION_TIME_DEFAULT: Duration = SESSION_TIME_MAX;

/// An IMAP instance's `max_connections_per_host` when none is written:
/// a mail client keeps several connections open (one per folder it
/// watches, Thunderbird up to five), often from a desktop and a phone
/// behind one address; Dovecot allows 10 per user and address.
pub const IMAP_CONNECTIONS_PER_HOST_DEFAULT: u32 = 10;

// IMAP store

/// Messages one MULTIAPPEND (RFC 3502) may store at once: each is written
/// to `tmp/` before any is made visible, so this bounds that work.
pub const MULTIAPPEND_MESSAGES_MAX: usize = 1000;

/// The largest `postern-modseq` read: a line of about 40 octets for each
/// of [`MAILBOX_MESSAGES_MAX`] messages, with room for keywords.
pub const MODSEQ_FILE_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// The largest `postern-special-use` read: one short line per folder.
pub const SPECIAL_USE_FILE_BYTES_MAX: u64 = 256 * 1024;
// IMAP codec

/// One IMAP command's text outside its literals, line ends included.
/// RFC 9051 4 sets no limit; RFC 7162 4 asks servers to accept command
/// lines of at least 8192 octets, and a QRESYNC client's known-UID sets
/// can be longer, so 64 KiB (Dovecot's default is the same).
pub const IMAP_COMMAND_LINE_BYTES_MAX: usize = 64 * 1024;

/// RFC 7888 4: with LITERAL- (not LITERAL+) a non-synchronizing literal
/// is at most 4096 octets. A session that advertises LITERAL- sets its
/// reader's `nonsync_literal_bytes_max` to this.
pub const IMAP_LITERAL_MINUS_BYTES_MAX: u64 = 4096;

/// One whole IMAP command, literals included, when the session sets no
/// other bound: a MULTIAPPEND (RFC 3502) of several messages of the
/// default maximum size.
pub const IMAP_COMMAND_BYTES_DEFAULT: u64 = 4 * MESSAGE_BYTES_DEFAULT;

/// Items in one IMAP command: sequence ranges, search keys, list and
/// FETCH items together. A real client's longest commands are QRESYNC
/// UID sets and SEARCH UID sets of a few thousand ranges.
pub const IMAP_COMMAND_ITEMS_MAX: usize = 10_000;

/// Nesting in one IMAP command: parenthesised lists and search keys
/// (NOT and OR count as a level), so that parsing never recurses deeper.
pub const IMAP_COMMAND_DEPTH_MAX: usize = 32;

/// The largest `mailbox_quota` a configuration may set: 16 TiB, far past
/// any one user's mail, small enough that RFC 9208's 1024-octet units fit
/// any client's integers.
pub const MAILBOX_QUOTA_BYTES_MAX: u64 = 16 * 1024 * 1024 * 1024 * 1024;
// IMAP message

/// How deep multiparts and message/rfc822 parts nest before a part is
/// taken as an opaque leaf (its octets still reachable as one part).
/// Real mail rarely nests past 5; the bound keeps a crafted message from
/// costing a deep recursion (the tree and BODYSTRUCTURE are recursive).
pub const IMAP_MIME_DEPTH_MAX: usize = 32;

/// MIME parts one message is split into; past it the rest of a
/// multipart is not split further (BODYSTRUCTURE stays bounded).
pub const IMAP_MIME_PARTS_MAX: usize = 5_000;

/// Message-IDs taken from one message's References for THREAD
/// (RFC 5256 3): the oldest ones beyond it are dropped.
pub const IMAP_THREAD_REFERENCES_MAX: usize = 256;

/// How deep a THREAD REFERENCES tree goes before the rest of a reply
/// chain is shown flat under its last level: the tree is walked
/// recursively, and a mailbox where each message answers the one before
/// must not exhaust the stack.
pub const IMAP_THREAD_DEPTH_MAX: usize = 256;

// IMAP session

/// A stored message this large or smaller is read whole in one step
/// (one trip to the blocking threads); a larger one is streamed in
/// bounded chunks.
pub const MESSAGE_READ_AT_ONCE_BYTES_MAX: u64 = 256 * 1024;

/// RFC 2177 3: clients re-issue IDLE at least every 29 minutes; an IDLE
/// that lasts longer than this ends the session.
pub const IMAP_IDLE_MAX: Duration = Duration::from_secs(30 * 60);

/// `BAD` replies an IMAP session may earn before `* BYE` (Dovecot allows
/// 20 too).
pub const IMAP_BAD_COMMANDS_MAX: u32 = 20;

/// Octets an IMAP session holds beyond the command it is reading while a
/// request is out: room for a pipelined group of commands. The driver
/// stops reading at this bound ([`crate::imap::session::ImapServer::wants_input`]).
pub const IMAP_INPUT_BUFFER_BYTES_MAX: usize = 64 * 1024;
