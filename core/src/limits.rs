//! Every bound the core enforces, in one place, with the reason beside it.
//!
//! Hitting one of these is an operating error with a defined reply, never a
//! panic and never unbounded growth. Names put the qualifier last
//! (`_MAX`, `_DEFAULT`).

use std::time::Duration;

/// RFC 5321 4.5.3.1.4: a command line is at most 512 octets, CRLF included.
pub const COMMAND_LINE_BYTES_MAX: usize = 512;

/// RFC 5321 4.5.3.1.6: a text line (in DATA) is at most 1000 octets, CRLF
/// included.
pub const TEXT_LINE_BYTES_MAX: usize = 1000;

/// RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
pub const LOCAL_PART_BYTES_MAX: usize = 64;

/// RFC 5321 4.5.3.1.2: a domain is at most 255 octets.
pub const DOMAIN_BYTES_MAX: usize = 255;

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

/// The slowest pace of message data, in octets per second, that keeps a
/// DATA transfer going (see `smtp::server::timers::DataPace`): Postfix's
/// `smtpd_min_data_rate` default. A byte every few minutes no longer
/// holds a connection for hours.
pub const MIN_DATA_RATE_DEFAULT: u32 = 500;

/// The largest `min_data_rate` a configuration may set: 1 MiB/s; more
/// would cut off honest clients on ordinary links.
pub const MIN_DATA_RATE_MAX: u32 = 1024 * 1024;

/// The longest a session may last, whatever it is doing: thirty minutes,
/// enough for a 25 MiB message at 15 kB/s. A client that keeps a
/// connection busy forever (a NOOP every few minutes) holds its slot no
/// longer than this.
pub const SESSION_TIME_DEFAULT: Duration = Duration::from_secs(30 * 60);

/// The largest `max_session_time` a configuration may set: one day.
pub const SESSION_TIME_MAX: Duration = Duration::from_secs(24 * 60 * 60);
