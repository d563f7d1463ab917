//! What an IMAP client asks, as values: the syntax tree the codec parses
//! commands into and the session machine acts on.
//!
//! The tree follows RFC 9051's grammar (section 9) with the extensions
//! Postern serves: LITERAL+ (RFC 7888), ID (RFC 2971), ENABLE (RFC 5161),
//! UIDPLUS and MOVE (RFC 4315, 6851), CONDSTORE and QRESYNC (RFC 7162),
//! ESEARCH and SEARCHRES (RFC 4731, 5182), WITHIN (RFC 5032), SORT and
//! THREAD (RFC 5256), LIST-EXTENDED and LIST-STATUS (RFC 5258, 5819),
//! SPECIAL-USE and CREATE-SPECIAL-USE (RFC 6154), MULTIAPPEND (RFC 3502),
//! BINARY (RFC 3516), QUOTA (RFC 9208), NAMESPACE (RFC 2342), UNSELECT
//! (RFC 3691), IDLE (RFC 2177), STATUS=SIZE (RFC 8438), SASL-IR (RFC 4959).
//!
//! Strings are kept as the client sent them: a mailbox name is decoded
//! (modified UTF-7 for IMAP4rev1 sessions, UTF-8 once UTF8=ACCEPT or
//! IMAP4rev2 is enabled) by the session, which knows which applies.

use std::num::NonZeroU32;

/// One command: its tag and what it asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The client's tag (RFC 9051 2.2.1), echoed in the tagged reply.
    pub tag: String,
    pub body: CommandBody,
}

/// Every command the codec understands. Which ones a state allows is the
/// session's decision (RFC 9051 6.1 to 6.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandBody {
    // Any state (RFC 9051 6.1).
    Capability,
    Noop,
    Logout,
    /// RFC 2971: the client's identification, field and value pairs
    /// (`ID NIL` is an empty list).
    Id(Vec<(String, Option<String>)>),

    // Not authenticated (RFC 9051 6.2).
    StartTls,
    /// `initial` is the SASL-IR initial response as sent (base64, or `=`
    /// for an empty one); `None` when the client waits for a challenge.
    Authenticate {
        mechanism: String,
        initial: Option<String>,
    },
    Login {
        user: String,
        password: String,
    },

    // Authenticated (RFC 9051 6.3).
    /// RFC 5161: capability names, as sent.
    Enable(Vec<String>),
    Select {
        mailbox: String,
        params: SelectParams,
    },
    Examine {
        mailbox: String,
        params: SelectParams,
    },
    /// RFC 6154 3: `USE (\Drafts)` asks for special-use attributes.
    Create {
        mailbox: String,
        special_use: Vec<String>,
    },
    Delete(String),
    Rename {
        from: String,
        to: String,
    },
    Subscribe(String),
    Unsubscribe(String),
    List(ListCommand),
    /// RFC 3501 6.3.9 (deprecated by RFC 9051, kept for IMAP4rev1 clients).
    Lsub {
        reference: String,
        pattern: String,
    },
    Namespace,
    Status {
        mailbox: String,
        items: Vec<StatusItem>,
    },
    /// RFC 3502 MULTIAPPEND: one or more messages, all stored or none.
    Append {
        mailbox: String,
        messages: Vec<AppendMessage>,
    },
    Idle,
    /// RFC 9208 4.2 and 4.3.
    GetQuota(String),
    GetQuotaRoot(String),
    /// RFC 9208 4.4: users cannot change their quota; the session
    /// answers NO, but the command parses.
    SetQuota {
        root: String,
        limits: Vec<(String, u64)>,
    },

    // Selected (RFC 9051 6.4).
    /// RFC 3501 6.4.1 (a NOOP in RFC 9051 terms, kept for rev1 clients).
    Check,
    Close,
    Unselect,
    Expunge,
    /// RFC 4315 2.1.
    UidExpunge(SequenceSet),
    Search {
        uid: bool,
        search: SearchProgram,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        items: Vec<FetchItem>,
        modifiers: FetchModifiers,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        /// RFC 7162 3.1.3 UNCHANGEDSINCE.
        unchanged_since: Option<u64>,
        action: StoreAction,
        silent: bool,
        flags: Vec<FlagName>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    /// RFC 5256 3.
    Sort {
        uid: bool,
        criteria: Vec<SortCriterion>,
        search: SearchProgram,
    },
    /// RFC 5256 3.
    Thread {
        uid: bool,
        algorithm: ThreadAlgorithm,
        search: SearchProgram,
    },
}

impl CommandBody {
    /// The command's name as logged and as named in replies (`UID FETCH`).
    pub fn name(&self) -> &'static str {
        match self {
            CommandBody::Capability => "CAPABILITY",
            CommandBody::Noop => "NOOP",
            CommandBody::Logout => "LOGOUT",
            CommandBody::Id(_) => "ID",
            CommandBody::StartTls => "STARTTLS",
            CommandBody::Authenticate { .. } => "AUTHENTICATE",
            CommandBody::Login { .. } => "LOGIN",
            CommandBody::Enable(_) => "ENABLE",
            CommandBody::Select { .. } => "SELECT",
            CommandBody::Examine { .. } => "EXAMINE",
            CommandBody::Create { .. } => "CREATE",
            CommandBody::Delete(_) => "DELETE",
            CommandBody::Rename { .. } => "RENAME",
            CommandBody::Subscribe(_) => "SUBSCRIBE",
            CommandBody::Unsubscribe(_) => "UNSUBSCRIBE",
            CommandBody::List(_) => "LIST",
            CommandBody::Lsub { .. } => "LSUB",
            CommandBody::Namespace => "NAMESPACE",
            CommandBody::Status { .. } => "STATUS",
            CommandBody::Append { .. } => "APPEND",
            CommandBody::Idle => "IDLE",
            CommandBody::GetQuota(_) => "GETQUOTA",
            CommandBody::GetQuotaRoot(_) => "GETQUOTAROOT",
            CommandBody::SetQuota { .. } => "SETQUOTA",
            CommandBody::Check => "CHECK",
            CommandBody::Close => "CLOSE",
            CommandBody::Unselect => "UNSELECT",
            CommandBody::Expunge => "EXPUNGE",
            CommandBody::UidExpunge(_) => "UID EXPUNGE",
            CommandBody::Search { uid: false, .. } => "SEARCH",
            CommandBody::Search { uid: true, .. } => "UID SEARCH",
            CommandBody::Fetch { uid: false, .. } => "FETCH",
            CommandBody::Fetch { uid: true, .. } => "UID FETCH",
            CommandBody::Store { uid: false, .. } => "STORE",
            CommandBody::Store { uid: true, .. } => "UID STORE",
            CommandBody::Copy { uid: false, .. } => "COPY",
            CommandBody::Copy { uid: true, .. } => "UID COPY",
            CommandBody::Move { uid: false, .. } => "MOVE",
            CommandBody::Move { uid: true, .. } => "UID MOVE",
            CommandBody::Sort { uid: false, .. } => "SORT",
            CommandBody::Sort { uid: true, .. } => "UID SORT",
            CommandBody::Thread { uid: false, .. } => "THREAD",
            CommandBody::Thread { uid: true, .. } => "UID THREAD",
        }
    }
}

/// SELECT and EXAMINE parameters: RFC 7162 3.1.8 CONDSTORE and 3.2.5
/// QRESYNC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectParams {
    pub condstore: bool,
    pub qresync: Option<QresyncParams>,
}

/// RFC 7162 3.2.5: what the client knew of the mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QresyncParams {
    pub uid_validity: u32,
    pub modseq: u64,
    /// The UIDs the client knows, if it says.
    pub known_uids: Option<SequenceSet>,
    /// Message sequence numbers and the UIDs they match, to narrow the
    /// VANISHED reply.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// LIST in full (RFC 9051 6.3.9 with RFC 5258 LIST-EXTENDED, RFC 5819
/// LIST-STATUS and RFC 6154 SPECIAL-USE).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListCommand {
    pub reference: String,
    /// One pattern, or several in parentheses (LIST-EXTENDED).
    pub patterns: Vec<String>,
    pub selection: ListSelection,
    pub returns: ListReturn,
}

/// RFC 5258 3.1 selection options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListSelection {
    pub subscribed: bool,
    pub remote: bool,
    pub recursive_match: bool,
    pub special_use: bool,
}

/// RFC 5258 3.2 return options, RFC 5819 STATUS and RFC 6154 SPECIAL-USE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListReturn {
    pub subscribed: bool,
    pub children: bool,
    pub special_use: bool,
    /// `RETURN (STATUS (MESSAGES UNSEEN))`: empty when not asked.
    pub status: Vec<StatusItem>,
}

/// RFC 9051 6.3.11 with RFC 7162 HIGHESTMODSEQ and RFC 8438 SIZE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusItem {
    Messages,
    UidNext,
    UidValidity,
    Unseen,
    Deleted,
    Size,
    /// RFC 3501 only; an IMAP4rev2 server may still answer it.
    Recent,
    HighestModSeq,
    /// RFC 9051 6.3.11 APPENDLIMIT (RFC 7889).
    AppendLimit,
}

/// One message of an APPEND.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<FlagName>,
    pub date: Option<DateTime>,
    /// The message's octets, as sent in the literal.
    pub content: Vec<u8>,
    /// Sent as `literal8` (`~{n}`, RFC 3516 4.4): may hold NUL octets.
    pub binary: bool,
    /// Sent as `UTF8 (literal)` (RFC 6855 4).
    pub utf8: bool,
}

/// A flag as the client wrote it: a system flag, a keyword, or in a
/// PERMANENTFLAGS list `\*`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlagName {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
    /// `\Recent` may appear in SEARCH and old clients' STORE; it is
    /// never stored.
    Recent,
    /// Any other `\Name`: RFC 9051 says a server may refuse it.
    Extension(String),
    /// An atom without a backslash (`$Junk`, `NonJunk`).
    Keyword(String),
}

/// A set of message numbers or UIDs (RFC 9051 9 `sequence-set`), in the
/// order the client wrote them. `*` and `$` are resolved by the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SequenceSet {
    Ranges(Vec<SequenceRange>),
    /// RFC 5182 `$`: the result the last `SEARCH RETURN (SAVE)` saved.
    Saved,
}

/// `a`, `a:b` or with `*`; `start` may be above `end` (RFC 9051 9: the
/// range is the same either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceRange {
    pub start: SeqNumber,
    pub end: SeqNumber,
}

/// A number in a sequence set, or `*` (the largest in use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqNumber {
    Value(NonZeroU32),
    Largest,
}

/// `STORE` actions: `FLAGS`, `+FLAGS`, `-FLAGS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreAction {
    Replace,
    Add,
    Remove,
}

/// FETCH modifiers (RFC 7162 3.1.4 CHANGEDSINCE, 3.2.6 VANISHED).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchModifiers {
    pub changed_since: Option<u64>,
    pub vanished: bool,
}

/// One FETCH data item (RFC 9051 6.4.5). The macros ALL, FAST and FULL
/// are expanded by the codec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchItem {
    Envelope,
    Flags,
    InternalDate,
    /// `RFC822.SIZE`.
    Rfc822Size,
    /// `RFC822` (rev1): the same as `BODY[]`, sets `\Seen`.
    Rfc822,
    /// `RFC822.HEADER`: the same as `BODY.PEEK[HEADER]`.
    Rfc822Header,
    /// `RFC822.TEXT`: the same as `BODY[TEXT]`, sets `\Seen`.
    Rfc822Text,
    /// `BODY`: the structure without extension data.
    Body,
    BodyStructure,
    Uid,
    /// `BODY[section]<partial>` and `BODY.PEEK[...]`.
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<Partial>,
    },
    /// RFC 3516 `BINARY[part]<partial>` and `BINARY.PEEK`.
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<Partial>,
    },
    /// RFC 3516 `BINARY.SIZE[part]`.
    BinarySize {
        part: Vec<u32>,
    },
    /// RFC 7162 3.1.4.1.
    ModSeq,
}

/// `<offset.length>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partial {
    pub offset: u32,
    pub length: NonZeroU32,
}

/// A body section (RFC 9051 6.4.5): a part path (`1.2.3`, empty for the
/// whole message) and what of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// Field names as the client wrote them (matched without case).
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    /// Only with a part number: that part's MIME header.
    Mime,
}

/// SEARCH, as sent: what to return and which messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchProgram {
    /// `CHARSET x`, as sent; the session accepts US-ASCII and UTF-8.
    pub charset: Option<String>,
    /// RFC 4731 `RETURN (...)`: `None` when absent (a plain SEARCH
    /// reply), `Some(empty)` for `RETURN ()` (the same as `RETURN (ALL)`).
    pub returns: Option<Vec<SearchReturn>>,
    /// The keys, ANDed.
    pub key: SearchKey,
}

/// RFC 4731 and RFC 5182 result options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    Save,
}

/// A search key (RFC 9051 6.4.4, RFC 7162 MODSEQ, RFC 5032 WITHIN).
/// Several keys in a row are [`SearchKey::And`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchKey {
    All,
    And(Vec<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    Not(Box<SearchKey>),
    SequenceSet(SequenceSet),
    Uid(SequenceSet),

    Answered,
    Deleted,
    Draft,
    Flagged,
    Seen,
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unseen,
    Keyword(String),
    Unkeyword(String),
    /// RFC 3501 only: `RECENT`, `NEW` (recent and unseen) and `OLD`.
    Recent,
    New,
    Old,

    /// Internal date, by day (RFC 9051: "disregarding time and timezone").
    Before(Date),
    On(Date),
    Since(Date),
    /// The Date: header, by day.
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    /// RFC 5032: internal date at most / at least this many seconds ago.
    Younger(u32),
    Older(u32),

    Larger(u32),
    Smaller(u32),

    /// Substring matches without case (RFC 9051 6.4.4).
    Bcc(String),
    Cc(String),
    From(String),
    Subject(String),
    To(String),
    /// `HEADER name value`: an empty value matches any message with the
    /// field.
    Header(String, String),
    Body(String),
    Text(String),

    /// RFC 7162 3.1.5: messages whose MODSEQ is at least this.
    ModSeq(u64),
}

/// A calendar day (`date` in RFC 9051 9: `1-Feb-2026`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31, checked against the month.
    pub day: u8,
}

/// A moment with its zone (`date-time` in RFC 9051 9:
/// `"17-Jul-1996 02:44:25 -0700"`), as APPEND carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// The zone's offset from UTC in minutes (`-0700` is -420).
    pub zone_minutes: i16,
}

/// RFC 5256 SORT criteria; `reverse` applies to the one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortCriterion {
    pub reverse: bool,
    pub key: SortKey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    /// RFC 5957 DISPLAYFROM and DISPLAYTO.
    DisplayFrom,
    DisplayTo,
}

/// RFC 5256 THREAD algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
}
