//! The bounds of NNTP: the reader service and the client that pulls
//! groups from an upstream server.

use std::time::Duration;

// NNTP.

/// The longest newsgroup name we accept (RFC 3977 3.1 leaves it to the
/// server; INN's default is 128 too).
pub const NEWSGROUP_NAME_BYTES_MAX: usize = 128;

/// RFC 3977 3.1: a command line is at most 512 octets, CRLF included.
/// `AUTHINFO SASL` lines and SASL responses get [`AUTH_LINE_BYTES_MAX`]
/// (RFC 4643 2.4.1 lets them run to 12,288 octets).
pub const NNTP_COMMAND_LINE_BYTES_MAX: usize = 512;

/// RFC 3977 3.1: a server that closes idle connections "SHOULD wait at
/// least 3 minutes"; an NNTP instance's idle timeout may not be set below
/// it.
pub const NNTP_IDLE_TIMEOUT_MIN: Duration = Duration::from_secs(3 * 60);

/// How much of an article the NNTP driver reads from the news store and
/// hands the machine at a time: ARTICLE streams, like POP3's RETR.
pub const NNTP_ARTICLE_CHUNK_BYTES: usize = 64 * 1024;

/// The largest article POST accepts, whatever the configuration says: the
/// machine holds a posted article in memory until the store has it. The
/// configured `max_article_size` may only be smaller. 4 MiB is many times
/// the largest text article Usenet servers commonly carry (1 MB).
pub const NNTP_POST_BYTES_MAX: u64 = 4 * 1024 * 1024;

/// Newsgroups one posted article may name (RFC 5536 3.1.4 sets no
/// bound; crossposting to many groups is how news spam spreads, and
/// INN-based servers commonly refuse more than a handful).
pub const NNTP_NEWSGROUPS_PER_ARTICLE_MAX: usize = 16;

/// Comma-separated patterns in one wildmat (RFC 3977 4): a LIST or
/// NEWNEWS argument fits in a command line anyway; an access pattern in
/// the configuration is bounded the same way.
pub const WILDMAT_PATTERNS_MAX: usize = 64;

/// The longest message-id (RFC 5536 3.1.3: "MUST NOT exceed 250 octets").
pub const NNTP_MESSAGE_ID_BYTES_MAX: usize = 250;

/// Header fields a posted article may have, at most: the checks walk them
/// all, and no real article has more than a few dozen.
pub const NNTP_POSTED_HEADER_FIELDS_MAX: usize = 500;

/// An NNTP session's inactivity timer unless `command_timeout` says
/// otherwise.
pub const NNTP_IDLE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10 * 60);

/// How often expired articles are removed from newsgroups.
pub const NEWS_EXPIRY_INTERVAL: Duration = Duration::from_secs(60 * 60);
// NNTP client: pulling groups from an upstream server.

/// The longest status line the pull client reads from an upstream
/// server (RFC 3977 3.1: a response line is at most 512 octets, CRLF
/// included; twice that, for servers that overrun it a little).
pub const NNTP_STATUS_LINE_BYTES_MAX: usize = 1024;

/// The longest line of a multi-line block (an article or a LIST) the
/// pull client buffers. RFC 5536 3.2 keeps article lines to 998 octets;
/// real ones overrun it. A longer line in an article makes the article
/// too large (it is skipped); in a LIST it ends the session.
pub const NNTP_BLOCK_LINE_BYTES_MAX: usize = 64 * 1024;

/// The largest article the pull client takes from an upstream server, by
/// default; a larger one is read to its end, dropped and skipped.
pub const NNTP_PULL_ARTICLE_BYTES_DEFAULT: usize = 1024 * 1024;

/// The largest article size an operator may configure.
pub const NNTP_PULL_ARTICLE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Articles one group gives one pull session at most; the rest come in
/// the next rounds, from the high-water mark on.
pub const NNTP_PULL_ARTICLES_PER_GROUP_MAX: u32 = 1000;

/// Articles pulled from a group seen for the first time: its newest ones
/// only, not its whole history (suck and INN's pullnews do the same).
pub const NNTP_PULL_NEW_GROUP_ARTICLES: u32 = 100;

/// Groups one pull session fetches at most (configured names, or what
/// `LIST ACTIVE wildmat` answered).
pub const NNTP_PULL_GROUPS_MAX: usize = 1000;

/// Local articles one pull session posts upstream at most.
pub const NNTP_PULL_POSTS_PER_SESSION_MAX: usize = 100;

/// How long the pull client waits for the greeting.
pub const NNTP_PULL_GREETING_TIMEOUT: Duration = Duration::from_secs(60);

/// How long it waits for the response to a command (and for the status
/// line of an article).
pub const NNTP_PULL_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// How long it waits for the rest of a multi-line block; reset by every
/// chunk that arrives, so a slow but live transfer goes on.
pub const NNTP_PULL_BLOCK_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the driver may take to store an article, or to send a post.
pub const NNTP_PULL_DRIVER_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The default time between two pull rounds of an upstream.
pub const NNTP_PULL_INTERVAL_DEFAULT: Duration = Duration::from_secs(15 * 60);

/// The shortest and longest configurable times between rounds.
pub const NNTP_PULL_INTERVAL_MIN: Duration = Duration::from_secs(10);
pub const NNTP_PULL_INTERVAL_MAX: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How long a failed round waits before the next try, doubling from the
/// first figure up to the second (never beyond the interval).
pub const NNTP_PULL_RETRY_DELAY_FIRST: Duration = Duration::from_secs(30);
pub const NNTP_PULL_RETRY_DELAY_MAX: Duration = Duration::from_secs(60 * 60);

/// How long dialling an upstream may take.
pub const NNTP_PULL_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one whole pull session may take, whatever happens.
pub const NNTP_PULL_SESSION_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Octets of a password file read, at most.
pub const NNTP_PULL_PASSWORD_FILE_BYTES_MAX: usize = 4096;

/// Octets of a `LIST ACTIVE wildmat` answer the pull client reads, at
/// most: [`NNTP_PULL_GROUPS_MAX`] lines of a long name and three numbers
/// fit several times over; a server that ignores the wildmat and sends
/// its whole active file fails the session instead of filling memory.
pub const NNTP_PULL_LIST_BYTES_MAX: usize = 1024 * 1024;
