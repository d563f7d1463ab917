//! Every bound the core enforces, in one module, with the reason beside
//! it; those of IMAP, NNTP, mail authentication, spam control and the
//! storage backend in parts of their own, re-exported here.
//!
//! Hitting one of these is an operating error with a defined reply, never a
//! panic and never unbounded growth. Names put the qualifier last
//! (`_MAX`, `_DEFAULT`).

use std::time::Duration;

mod imap;
mod mail_auth;
mod nntp;
mod spam;
mod storage;

pub use imap::*;
pub use mail_auth::*;
pub use nntp::*;
pub use spam::*;
pub use storage::*;

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

/// The largest envelope record a spool file may hold, and the most that
/// decoding one may allocate (bincode's limit): far above 10,000
/// recipients of 256 octets, and small enough that a damaged length
/// prefix cannot exhaust memory.
pub const SPOOL_RECORD_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Emptied spool files kept in `spool/free/` for the next messages
/// received, so that the spool does not create and delete a file per
/// message (see `runtime-tokio/src/spool/free.rs`). Empty files cost an
/// inode and a directory entry each.
pub const SPOOL_FREE_FILES_MAX: usize = 1024;

/// Blanks: empty files kept ready in `spool/queue/` under the queue IDs
/// of messages to come, so that a message is committed with one flush
/// instead of two (see `runtime-tokio/src/spool/blanks.rs`). At most
/// this many wait there; when fewer than [`SPOOL_BLANKS_LOW`] are left,
/// more are made, with one `fsync` of the directory for the batch.
pub const SPOOL_BLANKS_MAX: usize = 64;
/// See [`SPOOL_BLANKS_MAX`].
pub const SPOOL_BLANKS_LOW: usize = 32;

/// Records of messages just committed, kept in memory until delivery
/// takes them, so that a first try does not read back from disk what the
/// session has just written (see `runtime-tokio/src/spool.rs`). Past this
/// many (delivery far behind the sessions), a record is read from its
/// file as before. Each holds an envelope, usually well under a kilobyte.
pub const SPOOL_RECORDS_KEPT_MAX: usize = 1024;

/// The largest state file (every recipient's status and last reply), and
/// the most that decoding one may allocate: 10,000 recipients with a
/// reply text of several kilobytes each.
pub const STATE_FILE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A queued message that cannot be read (too many open files, an I/O
/// error, a panic while it was handled) is tried again after this delay,
/// doubled at each failure up to [`LOAD_RETRY_DELAY_MAX`].
pub const LOAD_RETRY_DELAY_FIRST: Duration = Duration::from_secs(1);

/// The longest wait between two tries at reading a queued message.
pub const LOAD_RETRY_DELAY_MAX: Duration = Duration::from_secs(5 * 60);

/// How long `postern queue` waits for the control socket to accept and
/// for each reply line before saying the server does not answer.
pub const CONTROL_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server waits for a command on a control connection
/// before closing it, so idle clients hold no task.
pub const CONTROL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Unprocessed input a session machine holds while it waits for a reply
/// from the driver (pipelined commands, RFC 2920). Four read chunks: a
/// driver that follows the contract never comes near it.
pub const INPUT_BUFFER_BYTES_MAX: usize = 4 * READ_CHUNK_BYTES;

/// The most a driver reads from a socket and hands in at once.
pub const READ_CHUNK_BYTES: usize = 16 * 1024;

/// What an SMTP session's read buffer starts at: a command line (RFC
/// 5321 4.5.3.1.4: 512 octets with its CRLF). It grows to
/// [`READ_CHUNK_BYTES`] when a read fills it (a message's data, pipelined
/// commands), so that an idle session holds 512 octets, not 16 KiB.
pub const READ_BUFFER_BYTES_INITIAL: usize = 512;

/// An SMTP session's replies are written when the machine has said all it
/// has to say, or when this much is waiting (a long batch of pipelined
/// replies goes out in more than one write). The buffer is let go after
/// each flush: an idle session holds none.
pub const WRITE_BUFFER_BYTES: usize = 1024;

/// RFC 5321 4.5.3.2.7: the server waits at least five minutes for a
/// command.
pub const COMMAND_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5 * 60);

/// How long the server waits for more message data before giving up on a
/// DATA transfer. RFC 5321 sets no server-side figure (4.5.3.2.5 gives
/// the client three minutes per data block, 4.5.3.2.6 ten minutes for the
/// reply to the final dot); we allow ten minutes between any two chunks.
pub const DATA_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10 * 60);

/// The longest line of a server's reply the SMTP client reads. RFC 5321
/// 4.5.3.1.5 says 512 octets, but real servers send longer texts, so the
/// client is lenient up to this bound; past it the reply is a protocol
/// error and the session ends.
pub const REPLY_LINE_BYTES_MAX: usize = 4096;

/// The most lines in one server reply (EHLO replies are the long ones:
/// a few dozen extensions at most). Past it the reply is a protocol error.
pub const REPLY_LINES_MAX: usize = 100;

/// The text the client keeps of each reply line, after control characters
/// are escaped (RFC 5321 4.5.3.1.5's 512 octets): a reply held while it is
/// read is at most `REPLY_LINES_MAX` times this.
pub const REPLY_LINE_TEXT_BYTES_MAX: usize = 512;

/// The most of one reply, on one line, that reaches an outcome's detail, a
/// log line, the delivery state (`postern queue list`) and a bounce. A
/// remote server chooses this text; a few hundred octets say why.
pub const REPLY_TEXT_BYTES_MAX: usize = 1000;

/// The most of one failure's detail a bounce quotes. With the recipient
/// (at most 256 octets) or `Diagnostic-Code: smtp; ` before it, every
/// line of the bounce stays within RFC 5322 2.1.1's 998 octets.
pub const BOUNCE_DETAIL_BYTES_MAX: usize = 700;

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

/// Addresses of mail exchangers one delivery attempt tries at most, and
/// exchanger hosts it looks up at most (Postfix's `smtp_mx_address_limit`
/// is 5): a domain that lists dozens of dead exchangers must not hold an
/// outbound connection slot for dozens of connect timeouts.
pub const OUTBOUND_ADDRESSES_DEFAULT: u32 = 5;

/// SMTP sessions one delivery attempt runs at most, counting those that
/// reached the server's greeting (Postfix's `smtp_mx_session_limit` is 2).
pub const OUTBOUND_SESSIONS_DEFAULT: u32 = 2;

/// The largest `max_addresses` or `max_sessions` a configuration may set.
pub const OUTBOUND_ATTEMPT_TRIES_MAX: u32 = 100;

/// The most octets kept of one failure's text (a remote reply, a
/// connection error) in an attempt's detail: one long reply must not crowd
/// out the others.
pub const FAILURE_DETAIL_BYTES_MAX: usize = 512;

/// The most octets of an attempt's joined failure detail, as it goes into
/// the state file, the log line and the bounce.
pub const ATTEMPT_DETAIL_BYTES_MAX: usize = 2048;

/// How many octets of message data the default attempt deadline allows one
/// `data_block_timeout` for (RFC 5321 4.5.3.2.5 gives 3 minutes per block;
/// at 1 MiB a block, the slowest server we wait for takes about 5.7 KiB/s).
pub const ATTEMPT_DATA_BLOCK_BYTES: u64 = 1024 * 1024;

/// How long the client waits to close a connection (QUIT sent, the TLS
/// close_notify flushed, the socket shut down) once the session is over:
/// the result is known by then, so a server that stopped reading costs
/// this much and no more.
pub const CLIENT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Messages one outbound connection carries at most (RFC 5321 3.3 allows
/// a new MAIL after a completed transaction): past this the client QUITs
/// and the next message opens a new connection, so one long-lived session
/// cannot pin a destination's behaviour, or a slot, for ever (Postfix
/// bounds its reuse by time, `smtp_connection_reuse_time_limit`, and
/// optionally by `smtp_connection_reuse_count_limit`).
pub const CLIENT_MESSAGES_PER_CONNECTION_MAX: u32 = 100;

/// How old an outbound connection may grow and still be given another
/// message: past this it QUITs after its transaction and the next message
/// opens a new connection (Postfix's `smtp_connection_reuse_time_limit`,
/// 300 s), so a reused session does not outlive a change of the
/// destination's address or load balancing.
pub const CLIENT_CONNECTION_AGE_MAX: Duration = Duration::from_secs(300);

/// How long an outbound connection waits, idle after a transaction, for
/// another message to the same destination before it QUITs (Postfix's
/// `smtp_connection_cache_time_limit`, 2 s): long enough to catch the next
/// message of a steady stream, short enough not to hold a connection slot
/// or the remote server's resources.
pub const CLIENT_CONNECTION_IDLE_MAX: Duration = Duration::from_secs(2);

/// Failure texts an attempt keeps: the first, and the latest after it.
pub const ATTEMPT_FAILURES_KEPT: usize = 8;

/// The longest deadline an attempt gets, whatever the formula or the
/// configuration says: a 1 GiB message at the default rate needs about 51
/// hours, and a deadline must stay a time the clock can reach.
pub const ATTEMPT_TIMEOUT_MAX: Duration = Duration::from_secs(72 * 60 * 60);

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

/// RFC 1939 section 3: a POP3 server's inactivity autologout timer "MUST
/// be of at least 10 minutes' duration". A POP3 instance's
/// `command_timeout` may not be set below it.
pub const POP3_AUTOLOGOUT_MIN: Duration = Duration::from_secs(10 * 60);

/// A POP3 instance's `command_timeout` when none is written: the RFC 1939
/// minimum, which is also Dovecot's idle timeout for POP3 clients.
pub const POP3_AUTOLOGOUT_DEFAULT: Duration = POP3_AUTOLOGOUT_MIN;

/// RFC 2449 4: a POP3 command line is at most 255 octets, CRLF included.
/// AUTH lines and SASL responses get [`AUTH_LINE_BYTES_MAX`] instead, as
/// RFC 5034 4 lets a client's responses run longer than a command.
pub const POP3_COMMAND_LINE_BYTES_MAX: usize = 255;

/// How much of a message the POP3 driver reads from the store and hands
/// the machine at a time: RETR streams, it never holds a whole message.
pub const POP3_MESSAGE_CHUNK_BYTES: usize = 64 * 1024;

/// Keywords a Maildir mailbox can hold: Dovecot gives each a letter `a`
/// to `z` in file names (the `dovecot-keywords` index), so 26.
pub const MAILDIR_KEYWORDS_MAX: usize = 26;

/// The longest keyword accepted: RFC 9051 sets no bound; Dovecot's own
/// limit on a keyword (`mail_max_keyword_length`) defaults to 50.
pub const KEYWORD_BYTES_MAX: usize = 50;

/// The longest Maildir file name: Linux's `NAME_MAX`.
pub const MAILDIR_FILE_NAME_BYTES_MAX: usize = 255;

/// The longest line in `dovecot-uidlist` or `dovecot-keywords`: a file
/// name of [`MAILDIR_FILE_NAME_BYTES_MAX`] with a UID and extension fields
/// (GUID, sizes, POP3 UIDL) fits many times over.
pub const UIDLIST_LINE_BYTES_MAX: usize = 4096;

/// The most messages one mailbox may hold: a bound on what a sync reads
/// into memory (about 100 octets each), far above any real mailbox.
pub const MAILBOX_MESSAGES_MAX: usize = 1_000_000;

/// The largest `dovecot-uidlist` read: [`MAILBOX_MESSAGES_MAX`] lines of
/// about 100 octets, with room to spare.
pub const UIDLIST_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Dovecot's `MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT`: a `dovecot-uidlist.lock`
/// left unchanged this long belongs to a process that died, and is removed.
pub const UIDLIST_LOCK_STALE: Duration = Duration::from_secs(2 * 60);

/// How long a sync waits for another process's `dovecot-uidlist.lock`
/// before it gives up with an error; a stale lock is broken before then.
pub const UIDLIST_LOCK_WAIT_MAX: Duration = Duration::from_secs(150);

/// Times an operation on a Maildir file is retried after the file was
/// renamed away by another process (ENOENT), each after a rescan.
pub const MAILDIR_RENAME_RETRIES_MAX: usize = 8;

/// How long after its mtime a Maildir directory or file stamped with
/// whole seconds is trusted to show a later change by a later mtime
/// (Dovecot's rule: a directory changed within the last second or two is
/// listed anyway, as a change in the same second leaves the same mtime).
pub const MAILDIR_MTIME_SETTLED: Duration = Duration::from_secs(2);

/// The same for a file system with sub-second stamps: well above the
/// kernel's timestamp tick (a jiffy, at most 10 ms).
pub const MAILDIR_FINE_MTIME_SETTLED: Duration = Duration::from_millis(100);

/// Changes a mailbox remembers for `changes since MODSEQ`; a session that
/// fell further behind re-reads the whole state.
pub const MAILBOX_CHANGES_KEPT_MAX: usize = 10_000;

/// Folders one user may have: bounds a listing and the subscriptions file.
pub const FOLDERS_PER_USER_MAX: usize = 1000;

/// The longest folder name, in octets (one Maildir++ directory name).
pub const FOLDER_NAME_BYTES_MAX: usize = 200;

/// Distinct login and password pairs a session remembers (as hashes) so
/// that a repeat, as when a client falls back from PLAIN to LOGIN, counts
/// once toward the lockout. Above `[auth] max_failures_per_session`'s
/// greatest value (100), so a session closes before the bound matters.
pub const LOGINS_TRIED_PER_SESSION_MAX: usize = 128;

/// The longest system user or group name `[server] user` and `group` take:
/// useradd's and groupadd's limit on Linux (32, `LOGIN_NAME_MAX` less its
/// terminator, as shadow-utils sets it).
pub const SYSTEM_NAME_BYTES_MAX: usize = 32;

/// A tunnel's `connect_timeout` when none is written: how long a client
/// waits for the target to answer the TCP handshake before it is closed.
/// Long enough for a LAN or a nearby host, short enough that a client is
/// not left hanging on a dead target (Linux's own SYN retries take over
/// two minutes).
pub const TUNNEL_CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// The longest `connect_timeout` a tunnel may set.
pub const TUNNEL_CONNECT_TIMEOUT_MAX: Duration = Duration::from_secs(5 * 60);

/// A tunnel's `idle_timeout` when none is written: a relay with no byte
/// either way for this long is closed. An IRC or NNTP session pings well
/// within it.
pub const TUNNEL_IDLE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10 * 60);

/// The longest `idle_timeout` a tunnel may set: one day.
pub const TUNNEL_IDLE_TIMEOUT_MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Bytes a tunnel holds for each direction of a connection: one buffer
/// read from one side is written whole to the other before the next
/// read, so a slow reader slows its writer (TCP back-pressure) instead of
/// growing a queue.
pub const TUNNEL_BUFFER_BYTES: usize = 16 * 1024;

/// Ports below this are the IANA well-known ports; the seed's extra
/// instances use ports 5000 and above ([`TUNNEL_PORT_CONVENTION_MIN`]), so
/// `check-config` warns when a tunnel listens on a well-known port.
pub const WELL_KNOWN_PORT_END: u16 = 1024;

/// The seed (Mailtraq) puts its extra instances, tunnels among them, on
/// ports 5000 and above.
pub const TUNNEL_PORT_CONVENTION_MIN: u16 = 5000;

/// A finger query line, CRLF included. RFC 1288 sets no limit; a query is
/// a user name and perhaps `/W`, so 256 octets is plenty, and anything
/// longer is refused before it is read further.
pub const FINGER_QUERY_BYTES_MAX: usize = 256;

/// A finger instance's `command_timeout` (how long a client has to send
/// its one query line) when none is written. Real clients send the query
/// at once; a short wait keeps idle connections from holding the quota.
pub const FINGER_QUERY_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// The longest `command_timeout` a finger instance accepts.
pub const FINGER_QUERY_TIMEOUT_MAX: Duration = Duration::from_secs(60);

/// A user's plan text (`postern user plan`), in octets: a few screens.
pub const FINGER_PLAN_BYTES_MAX: usize = 4096;

/// A user's real name (`postern user name`), in octets.
pub const FINGER_REAL_NAME_BYTES_MAX: usize = 100;

/// Users listed for an empty query (`list_users = true`); the rest are
/// counted, not shown.
pub const FINGER_LIST_USERS_MAX: usize = 500;

/// A remote-log command line, CRLF included. The longest command is
/// `AUTH PLAIN` with its base64 response: RFC 4616 allows 255 octets for
/// each of the three parts, so 2048 octets hold any real login; longer
/// lines are refused and skipped to their end.
pub const REMOTE_LOG_COMMAND_LINE_BYTES_MAX: usize = 2048;

/// Recent log lines a remote-log client gets after its login
/// (`tail_lines`) when none is written: Mailtraq's console showed 700.
pub const REMOTE_LOG_TAIL_LINES_DEFAULT: usize = 700;

/// The most `tail_lines` (and `TAIL n`) may ask for, and the lines the
/// server keeps in its ring of recent lines: about 2.5 MiB at the longest
/// lines seen in practice.
pub const REMOTE_LOG_TAIL_LINES_MAX: usize = 10_000;

/// Lines waiting for one remote-log client (`buffer_lines`) when none is
/// written. Past it, new lines are dropped for that client and counted;
/// logging never waits for a reader.
pub const REMOTE_LOG_BUFFER_LINES_DEFAULT: usize = 1000;

/// The bounds of `buffer_lines`.
pub const REMOTE_LOG_BUFFER_LINES_MIN: usize = 10;
pub const REMOTE_LOG_BUFFER_LINES_MAX: usize = 100_000;

/// One log line as the remote-log service keeps and sends it, in octets;
/// a longer one is cut (at a character boundary) and marked with `...`.
pub const REMOTE_LOG_LINE_BYTES_MAX: usize = 4096;

/// Lines handed to a remote-log session at once from its buffer, so that
/// one busy moment becomes several bounded writes.
pub const REMOTE_LOG_BATCH_LINES_MAX: usize = 256;

/// How long a remote-log client may leave what was sent unread before the
/// session is closed. Lines that arrive meanwhile are dropped and
/// counted; this bounds how long a reader that never reads holds its
/// connection.
pub const REMOTE_LOG_SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// A remote-log instance's `command_timeout` when none is written: how
/// long a client that has not logged in, or has stopped following, may
/// stay silent. A client following the log is never idle.
pub const REMOTE_LOG_IDLE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5 * 60);

/// The kernel send buffer of a remote-log connection, in octets: small, so
/// that a client that stops reading is noticed after a few dozen lines,
/// not megabytes (Linux may grow an unset one to several MiB), and the
/// lines it misses are counted in its drop marker.
pub const REMOTE_LOG_SOCKET_SEND_BYTES: usize = 16 * 1024;

/// An FTP path argument, in octets. RFC 959 sets no limit; Linux's
/// PATH_MAX is 4096, but a user's home holds nothing that deep, and a
/// shorter bound keeps every command line small.
pub const FTP_PATH_BYTES_MAX: usize = 1024;

/// One name in an FTP path: Linux's NAME_MAX (ext4 and most others).
pub const FTP_NAME_BYTES_MAX: usize = 255;

/// Directories below a user's home an FTP path may go.
pub const FTP_PATH_DEPTH_MAX: usize = 32;

/// An FTP command line, CRLF included: the longest verb and argument
/// ([`FTP_PATH_BYTES_MAX`] plus room for the verb). RFC 959 sets no limit.
pub const FTP_COMMAND_LINE_BYTES_MAX: usize = FTP_PATH_BYTES_MAX + 64;

/// An FTP instance's `command_timeout` (how long a logged-in or not
/// session may sit idle between commands) when none is written: vsftpd's
/// `idle_session_timeout`.
pub const FTP_IDLE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(300);

/// An FTP instance's `data_timeout` when none is written: how long a data
/// connection may take to be made, and how long one may stall.
pub const FTP_DATA_TIMEOUT_DEFAULT: Duration = Duration::from_secs(60);

/// The longest `data_timeout` an FTP instance accepts.
pub const FTP_DATA_TIMEOUT_MAX: Duration = Duration::from_secs(60 * 60);

/// A user's FTP storage quota when `ftp_quota` is not written.
pub const FTP_QUOTA_BYTES_DEFAULT: u64 = 100 * 1024 * 1024;

/// The largest `ftp_quota` a configuration may set: 1 TiB.
pub const FTP_QUOTA_BYTES_MAX: u64 = 1024 * 1024 * 1024 * 1024;

/// Entries one LIST, NLST or MLSD shows; the rest of a larger directory
/// is left out (and the event says how many).
pub const FTP_LISTING_ENTRIES_MAX: usize = 10_000;

/// Files and directories counted when measuring a home's usage for the
/// quota; a home with more is treated as full.
pub const FTP_USAGE_ENTRIES_MAX: usize = 100_000;

/// RFC 2577 section 3 (the bounce attack): PORT and EPRT may name only
/// the client's own address, and never a privileged port below this.
pub const FTP_ACTIVE_PORT_MIN: u16 = 1024;

/// How much of a file the FTP driver moves at a time between the disk and
/// a data connection.
pub const FTP_TRANSFER_CHUNK_BYTES: usize = 64 * 1024;

/// After an upload passes the quota, the driver reads and discards up to
/// this much more of it before closing the data connection. A client
/// still sending then finishes and reads the `552` on the control
/// connection; closing with its bytes unread would reset the connection
/// under it (the kernel answers unread data with RST) and the client would
/// report a reset instead of the reason. A larger upload is cut off.
pub const FTP_REFUSED_UPLOAD_DRAIN_BYTES_MAX: u64 = 64 * 1024 * 1024;

// Passwords

/// Cores a server leaves to its sessions while it checks passwords:
/// argon2 checks run on (cores - this) threads of their own, at least
/// one. A burst of logins then queues for the hasher instead of taking
/// every core from the sessions' commands (Dovecot's single auth process
/// does the same), and at most that many argon2 memories (19 MiB each at
/// the default cost) exist at once.
pub const PASSWORD_CHECK_SPARE_CORES: usize = 1;

/// The niceness of the password-checking threads: under a shortage of
/// CPU, sessions' commands and deliveries go first and logins take what
/// is left (a login waits; mail keeps moving).
pub const PASSWORD_CHECK_NICENESS: i32 = 10;

// HTTP and webmail

/// An idle kept-alive HTTP connection is closed after this, and a client
/// must send a request's headers within it (hyper's header read timeout:
/// a slow-loris client is cut off). An HTTP instance's `command_timeout`
/// unless written; browsers keep idle connections about as long.
pub const HTTP_IDLE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(60);

/// Octets of a request's headers (hyper's read buffer): larger requests
/// get `431`.
pub const HTTP_HEADER_BYTES_MAX: usize = 64 * 1024;

/// Octets of a form without uploads (login, settings, flags): larger ones
/// get `413`.
pub const HTTP_FORM_BYTES_MAX: usize = 256 * 1024;

/// Webmail sessions an HTTP instance keeps at once; beyond this, the one
/// idle longest is ended to make room.
pub const WEBMAIL_SESSIONS_MAX: usize = 10_000;

/// A webmail session on a personal computer: ended after this long idle,
/// and after [`WEBMAIL_PERSONAL_LIFETIME`] in all.
pub const WEBMAIL_PERSONAL_IDLE: Duration = Duration::from_secs(24 * 60 * 60);
pub const WEBMAIL_PERSONAL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// A webmail session on a shared computer (Mailtraq's "public" choice):
/// ended after this long idle, after [`WEBMAIL_SHARED_LIFETIME`] in all,
/// and its cookie lives only as long as the browser.
pub const WEBMAIL_SHARED_IDLE: Duration = Duration::from_secs(15 * 60);
pub const WEBMAIL_SHARED_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// Messages on one page of the webmail's message list.
pub const WEBMAIL_PAGE_MESSAGES: usize = 50;

/// Octets of a message body the webmail shows at once; the rest is
/// offered as a download of the whole message.
pub const WEBMAIL_SHOWN_BODY_BYTES_MAX: usize = 2 * 1024 * 1024;

/// Attachments one composed message may carry.
pub const WEBMAIL_ATTACHMENTS_MAX: usize = 32;

/// The shortest password the webmail's password change accepts.
pub const PASSWORD_CHARS_MIN: usize = 10;
/// The longest (octets): argon2 takes any length, a form should not.
pub const PASSWORD_BYTES_MAX: usize = 1024;
/// Warning and error log lines the status page shows: the most recent,
/// kept in a ring by the runtime's metrics. A screenful; the log file and
/// the remote-log service have the rest.
pub const STATUS_RECENT_PROBLEMS_MAX: usize = 20;

/// One such line, in octets; a longer one is cut (at a character
/// boundary) and marked with `...`. Enough for any line the server writes
/// itself; what makes a line longer is a peer's text quoted in it.
pub const STATUS_PROBLEM_LINE_BYTES_MAX: usize = 1024;
// Forwarding and the vacation autoresponder

/// Addresses one mailbox may forward to: a list, not a mailing list.
pub const FORWARD_ADDRESSES_MAX: usize = 10;

/// `Delivered-To:` fields a message may carry and still be forwarded: each
/// forwarding hop adds one, so a chain longer than this is taken to be a
/// loop (one that never passes back through the same mailbox, which is
/// caught at once) and the message stays in the mailbox.
pub const FORWARD_DELIVERED_TO_MAX: usize = 10;

/// Octets of a vacation reply's text (UTF-8): a note, not a newsletter.
pub const VACATION_BODY_BYTES_MAX: usize = 8 * 1024;

/// Octets of a vacation reply's subject, configured or made from the
/// original's (`Auto: ...`), before RFC 2047 encoding.
pub const VACATION_SUBJECT_BYTES_MAX: usize = 200;

/// RFC 3834 2: "once per sender per N days"; N when not given.
pub const VACATION_DAYS_DEFAULT: u32 = 7;

/// The most days between two replies to one sender (a year).
pub const VACATION_DAYS_MAX: u32 = 365;

/// Senders one mailbox remembers replying to: entries older than the
/// mailbox's N days are pruned at each write, and past this count the
/// oldest go (a sender forgotten early gets a second reply, no worse).
pub const VACATION_MEMORY_ENTRIES_MAX: usize = 10_000;

/// Octets of the vacation memory file read, at most: the entries above at
/// about 60 octets each, with room to spare. A longer file is cut there.
pub const VACATION_MEMORY_BYTES_MAX: usize = 1024 * 1024;

/// Octets of an original's Message-ID (or a reference) that a vacation
/// reply quotes in `In-Reply-To:` or `References:`: one per line, well
/// within RFC 5322 2.1.1's 998; a longer one is left out.
pub const QUOTED_MESSAGE_ID_BYTES_MAX: usize = 250;

/// Message-IDs kept in a vacation reply's `References:` (RFC 5322 3.6.4):
/// the original's last ones and its own.
pub const VACATION_REFERENCES_MAX: usize = 10;

/// Octets of a mailbox's settings file read, at most: the longest text
/// and every address come to about 10 KiB; a longer file is damaged.
pub const MAILBOX_RULES_BYTES_MAX: usize = 64 * 1024;

// Mailing lists.

/// Commands read from one message to a list's request address: a reply
/// quoting a whole help text stops long before, at the first line that
/// is no command.
pub const LIST_COMMANDS_PER_MESSAGE_MAX: usize = 20;

/// Subscribers of one list. Each distributed post becomes one spool
/// message per subscriber (VERP), so this bounds one post's fan-out.
pub const LIST_MEMBERS_MAX: usize = 10_000;

/// Confirmations and approvals waiting at once in one list: a flood of
/// `subscribe` messages fills this, then further ones are refused.
pub const LIST_PENDING_MAX: usize = 1_000;

/// Posts held for moderation at once in one list.
pub const LIST_HELD_MAX: usize = 500;

/// How long a confirmation, an approval request or a held post waits
/// for its answer (Mailman's default is three days too).
pub const LIST_PENDING_SECONDS: i64 = 3 * 24 * 60 * 60;

/// Bounces within the window that suspend a subscriber, by default.
pub const LIST_BOUNCE_THRESHOLD_DEFAULT: u32 = 5;

/// The window bounces are counted in, by default (seconds: a week).
pub const LIST_BOUNCE_WINDOW_SECONDS_DEFAULT: u64 = 7 * 24 * 60 * 60;

/// Bounce times remembered per subscriber: at most the threshold is ever
/// needed, so the highest threshold a list may set.
pub const LIST_BOUNCE_THRESHOLD_MAX: u32 = 1_000;

/// Octets of a list's state file read, at most: about 200 octets per
/// member, pending entry and held post at their limits.
pub const LIST_STATE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Octets of a post a list distributes or holds: the whole message is
/// read to rewrite its header (subject tag, list fields), so lists take
/// smaller messages than the spool.
pub const LIST_POST_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Characters of a list's subject tag (`[team]`).
pub const LIST_SUBJECT_TAG_CHARS_MAX: usize = 40;

/// Posts one digest holds: a digest goes to the digest members when this
/// many posts have gathered (there is no timed digest).
pub const LIST_DIGEST_POSTS_MAX: usize = 10;

/// Octets of posts one digest holds: it goes out as soon as its posts
/// come to this much, even with fewer than [`LIST_DIGEST_POSTS_MAX`].
pub const LIST_DIGEST_BYTES_MAX: usize = 512 * 1024;
