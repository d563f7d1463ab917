//! Bounds of the `[storage]` backend: the connection pool, the node
//! numbers, the queue's leases, and the chunks message data is stored in.

use std::time::Duration;

/// Connections a node's pool may hold at once. A PostgreSQL server's own
/// `max_connections` defaults to 100 and is shared by every node, so a
/// few dozen per node is already generous; beyond this the pool is a
/// mistake, not a tuning.
pub const STORAGE_POOL_SIZE_MAX: u32 = 256;

/// Connections a node's pool holds by default.
pub const STORAGE_POOL_SIZE_DEFAULT: u32 = 8;

/// The highest node number: node IDs take 10 bits of every queue ID a
/// node makes, so that two nodes never make the same one.
pub const STORAGE_NODE_ID_MAX: u16 = crate::envelope::NODE_ID_MAX;

/// The shortest lease a node may hold on a message: shorter, and a
/// delivery attempt's round trips to the database eat it.
pub const STORAGE_LEASE_MIN: Duration = Duration::from_secs(5);

/// The longest lease: a node that dies holds its messages this long
/// before another node may claim them.
pub const STORAGE_LEASE_MAX: Duration = Duration::from_secs(60 * 60);

/// The lease a node takes on a message it claims, by default.
pub const STORAGE_LEASE_DEFAULT: Duration = Duration::from_secs(60);

/// Octets of message data in one stored chunk: data streams in and out
/// this much at a time, never a whole message in memory.
pub const STORAGE_CHUNK_BYTES_MAX: usize = 256 * 1024;

/// Messages one claim takes at most.
pub const STORAGE_CLAIM_MESSAGES_MAX: u32 = 1_000;

/// Messages a node holds leases on at once: its claims stop there until
/// it finishes or releases some. A node holds a message while it
/// delivers it or waits for a connection slot; one waiting for a retry
/// is released.
pub const STORAGE_HELD_MESSAGES_MAX: usize = 10_000;

/// How often a node claims due messages when no commit wakes it: a
/// message released until a retry becomes due without a notification.
pub const STORAGE_CLAIM_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The longest a node waits before trying the database again after a
/// failure (its claims, renewals and heartbeat back off up to this).
pub const STORAGE_RETRY_DELAY_MAX: Duration = Duration::from_secs(30);

/// When a local delivery that failed because the database could not be
/// reached (its connection failed, it was shutting down or restarting) is
/// tried again. The recipient's retry schedule (five minutes first) is
/// for troubles of the recipient's; a database back within seconds
/// should not hold the mail that long.
pub const STORAGE_UNREACHABLE_RETRY: Duration = Duration::from_secs(10);

/// Octets of a storage URL.
pub const STORAGE_URL_BYTES_MAX: usize = 1_024;

/// Octets of a node's name (a host name's bound, RFC 1035 2.3.4).
pub const STORAGE_NODE_NAME_BYTES_MAX: usize = 253;

/// Octets of a recipient's last detail (a remote server's reply, an
/// error) a queue row keeps: longer is cut, marked `...`.
pub const STORAGE_RECIPIENT_DETAIL_BYTES_MAX: usize = 16 * 1024;

/// Users one page of the mailbox store's listing reads (the export walks
/// every user a page at a time).
pub const STORAGE_USERS_PAGE_MAX: usize = 1_000;

/// How long a node's claimer, woken by a commit (its own or, through
/// `NOTIFY`, another node's), waits for more commits before it claims:
/// under load one claim then takes the messages of many commits, rather
/// than every node running a claim for every commit. It delays a
/// delivery, never a `250`.
pub const STORAGE_CLAIM_GATHER_INTERVAL: Duration = Duration::from_millis(20);

/// The most leases one renewal statement carries (`UPDATE ... FROM
/// unnest($ids, $counters)`); a node holding more renews them in several.
pub const STORAGE_RENEW_MESSAGES_MAX: usize = 1_000;

/// The most messages `postern queue list` shows, and `flush` makes due,
/// on a shared queue in one go (the count of all is shown beside them).
pub const STORAGE_QUEUE_LIST_MESSAGES_MAX: usize = 10_000;

/// The longest reason recorded for a damaged message set aside in the
/// shared queue (`queue_damaged.reason`), control characters escaped.
pub const STORAGE_DAMAGE_REASON_BYTES_MAX: usize = 512;

/// Octets of the accounts document in the shared database (the text of
/// an `accounts.toml`): a change that would make it longer is refused.
/// Some 60,000 accounts with short plans fit.
pub const STORAGE_ACCOUNTS_BYTES_MAX: usize = 32 * 1024 * 1024;

/// How long a node waits for the database to answer one request (a
/// query, a step of a transaction, the login) before it gives the
/// connection up: a node cut off from the database by a network that
/// holds or drops its packets fails its commits (`451 4.3.0`) and its
/// claims within this, rather than when TCP gives up (minutes). Any
/// octet of an answer restarts it, so a long answer that keeps coming is
/// not cut.
pub const STORAGE_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the database lets a node's session sit in an open
/// transaction without a word from it before it ends the session
/// (PostgreSQL's `idle_in_transaction_session_timeout`, set by each node
/// on its connections): a node cut off mid-transaction holds the rows it
/// locked (a message's queue row, a folder's UID counter) only this long,
/// and the other nodes go on. Shorter than [`STORAGE_ANSWER_TIMEOUT`]:
/// another node's statement waiting on such a lock must outlast the
/// session that holds it, or it gives its own connection up too (with
/// both at 10 s, the partition test saw the other node's delivery fail
/// and the message wait five minutes for its retry).
pub const STORAGE_IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a node's statement waits for a lock another session holds
/// (PostgreSQL's `lock_timeout`, set by each node on its connections)
/// before it fails with SQLSTATE 55P03, "canceling statement due to lock
/// timeout": the caller gets that error and keeps its connection, where
/// a longer wait would go silent past [`STORAGE_ANSWER_TIMEOUT`] and lose
/// the connection to the deadline. Longer than
/// [`STORAGE_IDLE_IN_TRANSACTION_TIMEOUT`], so that a lock held by a
/// session cut off mid-transaction is freed before its waiters give up.
/// The work fails like an unreachable database's: a session answers
/// `451 4.3.0`, a local copy is tried again after
/// [`STORAGE_UNREACHABLE_RETRY`].
pub const STORAGE_LOCK_TIMEOUT: Duration = Duration::from_secs(8);

const _: () =
    assert!(STORAGE_IDLE_IN_TRANSACTION_TIMEOUT.as_secs() * 2 <= STORAGE_ANSWER_TIMEOUT.as_secs());
const _: () = assert!(
    STORAGE_IDLE_IN_TRANSACTION_TIMEOUT.as_secs() < STORAGE_LOCK_TIMEOUT.as_secs()
        && STORAGE_LOCK_TIMEOUT.as_secs() < STORAGE_ANSWER_TIMEOUT.as_secs()
);
