//! The IMAP session machine (RFC 9051, with RFC 3501 behaviour for
//! IMAP4rev1 clients): one connection's session, sans I/O.
//!
//! # Contract
//!
//! The same as every machine's (see [`crate::pop3`]):
//!
//! ```text
//! ImapServer::new(config, info, now, wall)  greeting queued
//! handle_input(now, Input)                  bytes, end of input, timer, answers
//! poll_output() -> Option<Output>           drain until None after every input
//! poll_timeout() -> Option<Instant>         when to hand in Input::TimerFired
//! send_deadline() -> Instant                when writes must be done
//! ```
//!
//! `wall` is the wall-clock time at `now`; the machine counts on from it
//! with `now` (for WITHIN's YOUNGER and OLDER, RFC 5032).
//!
//! The driver hands in one input, then drains every output before the
//! next; `now` never goes backwards. When the machine needs the world it
//! emits one [`Output::Request`] and waits for the matching answer; the
//! user is the one the login named, and every folder is named in UTF-8
//! with `INBOX` canonical:
//!
//! - [`Request::Authenticate`] → [`Input::Authenticated`];
//! - [`Request::Open`] → [`Input::Opened`]: the folder's state, and
//!   from which UID messages are `\Recent` to this session (RFC 3501
//!   2.3.2: the driver gives each new UID to the first session that sees
//!   it; a read-only open claims none);
//! - [`Request::Changes`] → [`Input::Changes`]: what changed since a
//!   MODSEQ (`None` when the store no longer knows: the machine opens the
//!   folder again and works out the difference itself);
//! - [`Request::Read`] → [`Input::Message`]: one message's bytes, whole
//!   (CRLF lines, as clients see them);
//! - [`Request::Append`] → [`Input::Appended`] (all stored or none,
//!   RFC 3502);
//! - [`Request::StoreFlags`] → [`Input::FlagsStored`];
//! - [`Request::Expunge`] → [`Input::Expunged`];
//! - [`Request::Copy`] → [`Input::Copied`], [`Request::Move`] →
//!   [`Input::Moved`];
//! - [`Request::Folders`] → [`Input::Folders`], [`Request::Subscriptions`]
//!   → [`Input::Subscriptions`], [`Request::Usage`] → [`Input::Usage`];
//! - [`Request::CreateFolder`], [`Request::DeleteFolder`],
//!   [`Request::RenameFolder`], [`Request::Subscribe`] → [`Input::Done`].
//!
//! Every answer may be a [`StoreFailure`]; the machine turns it into the
//! right response code. [`Input::FolderChanged`] (the store's watch) may
//! be handed in whenever the machine is not mid-request; during IDLE it
//! makes the machine ask for the changes and tell them at once.
//!
//! # Carrying out requests (for the driver)
//!
//! Each request maps onto one `MailboxStore` method: `Open` → `open`
//! (and the driver's `\Recent` claim), `Changes` → `changes_since`,
//! `Read` → `read` read whole, `Append` → `append_many`, `StoreFlags` →
//! `store_flags`, `Expunge` → `expunge`, `Copy` → `copy`, `Move` →
//! `move_messages`, `Folders` → `folders`, `CreateFolder` →
//! `create_folder_with_use`, `DeleteFolder` → `delete_folder` (never
//! asked for a folder with children), `RenameFolder` → `rename_folder`,
//! `Subscribe` → `subscribe`, `Subscriptions` → `subscriptions`, `Usage`
//! → `usage`. Its `StoreError`s become [`StoreFailure`]s:
//! `NoSuchFolder` → `NoSuchFolder`; `FolderExists` → `AlreadyExists`;
//! `NoSuchMessage` → `MessageGone`; `InboxIsPermanent`, `BadFolderName`,
//! `BadKeyword` and `TooManyMessages` → `Cannot(text)`; `LockTimeout` →
//! `InUse`; the rest (`Damaged`, `Io`) → `Failed`, logged by the driver.
//! `watch` firing for the selected folder is [`Input::FolderChanged`].
//!
//! # Back-pressure
//!
//! The machine holds at most
//! [`IMAP_INPUT_BUFFER_BYTES_MAX`](crate::limits::IMAP_INPUT_BUFFER_BYTES_MAX)
//! octets beyond the command it is reading. The driver reads from the
//! socket only while [`ImapServer::wants_input`] is true (while a request
//! is out, a pipelining client is left waiting in its socket buffer); a
//! client that still gets past the bound is disconnected.
//!
//! # Untagged updates (RFC 9051 5.2 and 7.4.1)
//!
//! Changes by other sessions are asked for at the end of every command in
//! the selected state, at NOOP and CHECK, and during IDLE. EXISTS, RECENT
//! and FETCH FLAGS may be told at the end of any command; EXPUNGE (or
//! VANISHED once QRESYNC is enabled) never at the end of FETCH, STORE or
//! SEARCH (their UID forms may), so that sequence numbers never shift under
//! a client that may pipeline them. An expunge held back keeps its sequence
//! number until it can be told.

mod any;
mod events;
mod fetch;
mod folders;
mod list;
mod machine;
pub mod memory;
mod names;
mod response;
mod search;
mod selected;
mod state;
#[cfg(test)]
mod tests;
mod timers;
mod updates;
mod view;

pub use events::{Event, LoginVia, SessionSummary};
pub use machine::ImapServer;
pub use timers::Timer;

use crate::auth::{AuthPolicy, AuthVerdict, LoginAttempt};
use crate::imap::command::StoreAction;
use crate::mailbox::{Change, Flags, Keywords, ModSeq, Snapshot, Uid, UidValidity};
use std::time::Duration;

pub use crate::mailbox::folder::SpecialUse;
pub use crate::mailbox::{CopyResult, MoveResult, NewMessage, Usage};
pub use crate::smtp::server::{EventLevel, SessionInfo};

/// The per-instance settings an IMAP session runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our name, in the greeting and the goodbye.
    pub hostname: String,
    /// STARTTLS is offered (RFC 9051 6.2.1) on connections not yet
    /// encrypted.
    pub starttls: bool,
    /// Logins: `offered` and `without_tls` say whether LOGIN and
    /// AUTHENTICATE are accepted on this connection (LOGINDISABLED
    /// otherwise); the failure count and delay are shared with SMTP AUTH
    /// and POP3.
    pub auth: AuthPolicy,
    /// `BAD` replies before the session ends with `* BYE`.
    pub max_errors: u32,
    /// RFC 9051 5.4: the inactivity autologout timer, at least
    /// [`IMAP_AUTOLOGOUT_MIN`](crate::limits::IMAP_AUTOLOGOUT_MIN) once
    /// logged in. Also how long the driver may take to write a response.
    pub autologout: Duration,
    /// How long an IDLE may last before the machine ends it (RFC 2177:
    /// clients re-issue it at least every 29 minutes).
    pub idle_max: Duration,
    /// The longest a session may last, whatever it is doing (the
    /// instance's `max_session_time`).
    pub max_session_time: Duration,
    /// APPENDLIMIT (RFC 7889): the largest message APPEND takes, the
    /// instance's maximum message size.
    pub append_limit: u64,
    /// The user's quota (RFC 9208), if the instance sets one.
    pub quota: Quota,
}

/// RFC 9208 resources with a limit: STORAGE in octets (told in units of
/// 1024) and MESSAGE, over all of a user's folders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    pub storage_bytes: Option<u64>,
    pub messages: Option<u64>,
}

/// One folder as [`Request::Folders`] lists it (the fields of the
/// runtime store's `FolderStatus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderStatus {
    /// UTF-8, `.`-separated levels, `INBOX` canonical.
    pub name: String,
    pub uid_validity: UidValidity,
    pub uid_next: u32,
    pub messages: usize,
    pub unseen: usize,
    /// Octets of all its messages (RFC 8438 STATUS SIZE).
    pub size: u64,
    pub subscribed: bool,
    pub special_use: Option<SpecialUse>,
    pub highest_modseq: ModSeq,
    /// Messages with `\Deleted` (RFC 9051 STATUS DELETED).
    pub deleted: usize,
    /// Messages no session has yet been told are `\Recent` (RFC 3501
    /// STATUS RECENT): the next to select the folder will be.
    pub recent: usize,
}

/// [`Request::Open`]'s answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub snapshot: Snapshot,
    /// Messages with this UID or above are `\Recent` to this session.
    pub recent_from: u32,
}

/// [`Request::Changes`]'s answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSet {
    /// Oldest first; `None` when changes that old are forgotten.
    pub changes: Option<Vec<Change>>,
    /// New messages with this UID or above are `\Recent` to this session.
    pub recent_from: u32,
}

/// Why the store could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreFailure {
    /// The folder does not exist: `NO [NONEXISTENT]`, or `NO [TRYCREATE]`
    /// for APPEND, COPY and MOVE (RFC 9051 7.1).
    NoSuchFolder,
    /// `NO [ALREADYEXISTS]`.
    AlreadyExists,
    /// `NO [OVERQUOTA]` (RFC 9208 3).
    OverQuota,
    /// The message asked for is gone: `NO [EXPUNGEISSUED]`.
    MessageGone,
    /// Another session holds what is needed: `NO [INUSE]`.
    InUse,
    /// The store refused for this reason: `NO [CANNOT]`.
    Cannot(String),
    /// A read or write failed: `NO [SERVERBUG]` (the client may try
    /// again; the details are in the driver's log).
    Failed,
}

/// What the driver hands in.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the client, at most
    /// [`READ_CHUNK_BYTES`](crate::limits::READ_CHUNK_BYTES) at a time.
    Bytes(&'a [u8]),
    /// The client closed the connection, or it failed.
    EndOfInput,
    /// `now` has reached the instant [`ImapServer::poll_timeout`] named.
    TimerFired,
    /// The server is stopping: `* BYE` and close.
    Shutdown,
    /// The driver could not write the output by
    /// [`ImapServer::send_deadline`].
    SendTimedOut,
    /// The TLS handshake asked for by [`Output::StartTls`] succeeded.
    TlsStarted,
    /// The selected folder changed (the store's watch).
    FolderChanged,
    Authenticated(AuthVerdict),
    Opened(Result<Opened, StoreFailure>),
    Changes(Result<ChangeSet, StoreFailure>),
    /// The message [`Request::Read`] asked for.
    Message(Result<Vec<u8>, StoreFailure>),
    /// UIDVALIDITY of the folder and the new messages' UIDs.
    Appended(Result<(UidValidity, Vec<Uid>), StoreFailure>),
    /// The changes made (messages whose flags did not change are left
    /// out), each with its new MODSEQ.
    FlagsStored(Result<Vec<Change>, StoreFailure>),
    /// The UIDs removed.
    Expunged(Result<Vec<Uid>, StoreFailure>),
    Copied(Result<CopyResult, StoreFailure>),
    Moved(Result<MoveResult, StoreFailure>),
    Folders(Result<Vec<FolderStatus>, StoreFailure>),
    Subscriptions(Result<Vec<String>, StoreFailure>),
    Usage(Result<Usage, StoreFailure>),
    Done(Result<(), StoreFailure>),
}

/// What the machine asks of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Check a login (and the lockout of this client's host).
    Authenticate(LoginAttempt),
    /// The folder's state; `read_only` (EXAMINE) claims no `\Recent`.
    Open {
        folder: String,
        read_only: bool,
    },
    Changes {
        folder: String,
        since: ModSeq,
        read_only: bool,
    },
    Read {
        folder: String,
        uid: Uid,
    },
    /// RFC 3502: all stored, or none.
    Append {
        folder: String,
        messages: Vec<NewMessage>,
    },
    /// Sets, adds or removes flags and keywords on these messages.
    StoreFlags {
        folder: String,
        uids: Vec<Uid>,
        action: StoreAction,
        flags: Flags,
        keywords: Keywords,
    },
    Expunge {
        folder: String,
        uids: Vec<Uid>,
    },
    Copy {
        from: String,
        uids: Vec<Uid>,
        to: String,
    },
    /// RFC 6851.
    Move {
        from: String,
        uids: Vec<Uid>,
        to: String,
    },
    Folders,
    /// With its RFC 6154 special use, if asked.
    CreateFolder {
        name: String,
        special_use: Option<SpecialUse>,
    },
    DeleteFolder {
        name: String,
    },
    RenameFolder {
        from: String,
        to: String,
    },
    /// RFC 9051 6.3.7 and 6.3.8: a name that does not exist may be
    /// subscribed.
    Subscribe {
        name: String,
        subscribed: bool,
    },
    Subscriptions,
    Usage,
}

/// What the machine emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Bytes for the client.
    Send(Vec<u8>),
    /// Something only the driver can do; the machine waits for the answer.
    Request(Request),
    /// Send everything before this, then start TLS as the server; answer
    /// with [`Input::TlsStarted`].
    StartTls,
    /// Close the connection once everything before this has been sent.
    Close,
    /// Something worth a log line.
    Event(Event),
}
