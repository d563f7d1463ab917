//! Every bound the core enforces, in one place, with the reason beside it.
//!
//! Hitting one of these is an operating error with a defined reply, never a
//! panic and never unbounded growth. Names put the qualifier last
//! (`_MAX`, `_DEFAULT`).

use std::time::Duration;

/// RFC 5321 4.5.3.1.4: a command line is at most 512 octets, CRLF included.
pub const COMMAND_LINE_BYTES_MAX: usize = 512;

/// RFC 4954 4: an AUTH command line, and each SASL response line after a
/// `334`, may be up to 12,288 octets (CRLF included), so that a large
/// initial response fits. Every other command keeps
/// [`COMMAND_LINE_BYTES_MAX`].
pub const AUTH_LINE_BYTES_MAX: usize = 12_288;

/// RFC 5321 4.5.3.1.6: a text line (in DATA) is at most 1000 octets, CRLF
/// included.
pub const TEXT_LINE_BYTES_MAX: usize = 1000;

/// RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
pub const LOCAL_PART_BYTES_MAX: usize = 64;

/// RFC 5321 4.5.3.1.2: a domain is at most 255 octets.
pub const DOMAIN_BYTES_MAX: usize = 255;

/// RFC 1035 2.3.4: a label of a domain is at most 63 octets (of its
/// A-label form, for an internationalized domain).
pub const DOMAIN_LABEL_BYTES_MAX: usize = 63;

/// RFC 5321 4.5.3.1.3: a path, angle brackets included, is at most 256
/// octets.
pub const PATH_BYTES_MAX: usize = 256;

/// RFC 5321 4.5.3.1.8: a server must accept at least 100 recipients per
/// message; that is also our default maximum.
pub const RECIPIENTS_PER_MESSAGE_DEFAULT: usize = 100;

/// The largest `max_recipients` a configuration may set.
pub const RECIPIENTS_PER_MESSAGE_MAX: usize = 10_000;

/// Replies of class 4 or 5 a session may earn before it is closed with 421.
/// Postfix's `smtpd_hard_error_limit` is 20; a client that fails ten
/// times is confused or probing.
pub const ERRORS_PER_SESSION_DEFAULT: u32 = 10;

/// The largest `max_errors` a configuration may set.
pub const ERRORS_PER_SESSION_MAX: u32 = 1000;

/// Default largest message, in octets: 25 MiB.
pub const MESSAGE_BYTES_DEFAULT: u64 = 25 * 1024 * 1024;

/// The largest `max_message_size` a configuration may set: 1 GiB.
pub const MESSAGE_BYTES_MAX: u64 = 1024 * 1024 * 1024;

/// Unprocessed input a session machine holds while it waits for a reply
/// from the driver (pipelined commands, RFC 2920). Four read chunks: a
/// driver that follows the contract never comes near it.
pub const INPUT_BUFFER_BYTES_MAX: usize = 4 * READ_CHUNK_BYTES;

/// The most a driver reads from a socket and hands in at once.
pub const READ_CHUNK_BYTES: usize = 16 * 1024;

/// RFC 5321 4.5.3.2.7: the server waits at least five minutes for a
/// command.
pub const COMMAND_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5 * 60);

/// How long the server waits for more message data before giving up on a
/// DATA transfer. RFC 5321 sets no server-side figure (4.5.3.2.5 gives
/// the client three minutes per data block, 4.5.3.2.6 ten minutes for the
/// reply to the final dot); we allow ten minutes between any two chunks.
pub const DATA_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10 * 60);

/// RFC 5321 6.3: a message with more `Received:` headers than this is
/// taken to be looping and refused with `554 5.4.6`. Postfix's
/// `hopcount_limit` is 50 too; a message genuinely relayed that often
/// does not exist.
pub const HOPS_DEFAULT: usize = 50;

/// The largest `max_hops` a configuration may set.
pub const HOPS_MAX: usize = 1000;

/// The longest piece of peer-chosen text (a login, an address, a reply
/// quoting one) a log line shows, after its control characters are
/// escaped; longer text is cut and marked `...`. A path is at most 256
/// octets (RFC 5321 4.5.3.1.3), so an escaped one nearly always fits.
pub const LOGGED_PEER_TEXT_BYTES_MAX: usize = 512;

/// Connection quotas and the login lockout count IPv6 clients by network
/// prefix, not by full address: one customer is usually given a whole
/// /64 (RFC 6177), and can pick a new address in it for every
/// connection. IPv4 clients are counted per address (/32).
pub const IPV6_HOST_PREFIX_DEFAULT: u8 = 64;

/// The shortest IPv6 prefix a configuration may count as one host: a
/// shorter one would lump whole providers together.
pub const IPV6_HOST_PREFIX_MIN: u8 = 16;
