//! The IMAP machine's states.
//!
//! Two things are tracked apart: [`Mode`], the session's state in RFC 9051
//! 3 terms (not authenticated, authenticated, selected, logout), and
//! [`State`], what the machine waits for right now (a command, a SASL
//! response, the store's answer, IDLE's DONE), each holding only what is
//! valid there.

use super::fetch::FetchJob;
use super::response::Reply;
use super::search::SearchJob;
use super::selected::StoreJob;
use super::view::View;
use super::{FolderStatus, LoginVia, NewMessage, SpecialUse};
use crate::imap::command::{ListCommand, QresyncParams, StatusItem};

/// RFC 9051 3: the session's state.
#[derive(Debug)]
pub enum Mode {
    NotAuthenticated,
    Authenticated,
    Selected(Box<View>),
    Logout,
}

/// Where a SASL exchange (RFC 9051 6.2.2) stands while the client owes a
/// response line.
#[derive(Debug)]
pub enum SaslStep {
    /// PLAIN without an initial response: the whole response next.
    Plain,
    /// LOGIN: the user name next.
    LoginUser,
    /// LOGIN: the password next.
    LoginPassword { login: String },
}

/// What the machine waits for.
#[derive(Debug)]
pub enum State {
    /// The next command.
    Command,
    /// A SASL response line for the AUTHENTICATE tagged `tag`.
    AuthResponse {
        tag: String,
        step: SaslStep,
    },
    /// A failed login's delay, then this reply.
    AuthDelay {
        tag: String,
    },
    /// The TLS handshake STARTTLS asked for.
    AwaitingTls,
    /// IDLE's `DONE` (RFC 2177), telling changes as they come.
    Idle {
        tag: String,
    },
    /// The store's answer to the request just made.
    Store(Pending),
    Closed,
}

impl State {
    /// A request is out: only its answer (or the end) may come in.
    pub fn is_awaiting_driver(&self) -> bool {
        matches!(self, State::Store(_) | State::AwaitingTls)
    }
}

/// What to do once the selected folder's changes are in.
#[derive(Debug)]
pub enum Then {
    /// Tell them and send this tagged reply. `expunges`: EXPUNGE may be
    /// told (never at the end of FETCH, STORE or SEARCH, RFC 9051 7.4.1).
    Reply {
        tag: String,
        reply: Reply,
        expunges: bool,
    },
    /// Tell them and go on idling.
    Idle { tag: String },
}

/// A request that is out, and what its answer is for.
#[derive(Debug)]
pub enum Pending {
    Auth {
        tag: String,
        via: LoginVia,
        login: String,
    },
    Open {
        tag: String,
        folder: String,
        read_only: bool,
        condstore: bool,
        qresync: Option<QresyncParams>,
    },
    Changes(Then),
    /// The changes were too old: a fresh snapshot to compare with, and
    /// the first UID the changes' answer made `\Recent` to this session.
    Reopen(Then, u32),
    Fetch(Box<FetchJob>),
    Search(Box<SearchJob>),
    Store(Box<StoreJob>),
    /// APPEND: the user's usage, to check the quota first.
    AppendUsage {
        tag: String,
        folder: String,
        messages: Vec<NewMessage>,
    },
    Append {
        tag: String,
        folder: String,
        count: usize,
        octets: u64,
    },
    Expunge {
        tag: String,
        /// CLOSE: expunge silently, then leave the selected state.
        close: bool,
        uid: bool,
    },
    Copy {
        tag: String,
        to: String,
        moved: bool,
        uid: bool,
    },
    /// COPY: the user's usage, to check the quota first (RFC 9208 5).
    CopyUsage {
        tag: String,
        from: String,
        uids: Vec<crate::mailbox::Uid>,
        to: String,
        uid: bool,
        /// The octets the copies add.
        octets: u64,
    },
    /// LIST, LSUB and STATUS wait for the folders.
    List {
        tag: String,
        list: ListCommand,
        lsub: bool,
    },
    /// LIST and LSUB with subscriptions: the folders are in, the
    /// subscriptions next.
    ListSubscriptions {
        tag: String,
        list: ListCommand,
        lsub: bool,
        folders: Vec<FolderStatus>,
    },
    Status {
        tag: String,
        folder: String,
        items: Vec<StatusItem>,
    },
    /// SELECT with QRESYNC (RFC 7162 3.2.5): the folder is open; the
    /// changes since the client's MODSEQ next, then this reply.
    Qresync {
        tag: String,
        params: QresyncParams,
        reply: Reply,
    },
    /// GETQUOTA and GETQUOTAROOT (RFC 9208).
    Quota {
        tag: String,
        root_of: Option<String>,
    },
    /// CREATE: the missing superior names (the nearest last), then the
    /// folder itself (`last`).
    Create {
        tag: String,
        folder: String,
        special_use: Option<SpecialUse>,
        parents: Vec<String>,
        last: bool,
    },
    /// DELETE: the folders, to see whether this one has children.
    Delete {
        tag: String,
        folder: String,
    },
    /// CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE and RENAME: a plain answer.
    Done {
        tag: String,
        command: &'static str,
        folder: String,
    },
    /// RENAME INBOX (RFC 9051 6.3.6): the new folder is made, then
    /// INBOX's messages move into it.
    RenameInbox {
        tag: String,
        to: String,
        step: RenameInboxStep,
    },
}

#[derive(Debug)]
pub enum RenameInboxStep {
    Created,
    Opened,
    Moved,
}
