//! The bugs a run can plant in the store, to show that the invariants
//! catch them.

/// A known bug, planted on purpose to show that the simulation finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedBug {
    /// `commit` says the message is durable at once and stores it a
    /// moment later, so the client hears `250` before the sync: a crash
    /// in between loses an acknowledged message.
    AckBeforeSync,
    /// Saving a delivery state in which some recipient is delivered
    /// removes the message, as if it were done: the recipients still
    /// waiting for a retry are dropped without a bounce.
    DropAfterPartialDelivery,
    /// A mailbox's UID counter is recomputed from the messages it holds,
    /// so a UID expunged last is handed out again.
    UidReuse,
    /// A POP3 update rewrites the mailbox from what its session was
    /// shown: mail that arrived during the session is dropped, never
    /// marked deleted.
    ExpungeUnlisted,
    /// The maildrop lock is not taken: two sessions may hold one maildrop.
    NoMaildropLock,
    /// The maildrop gives sizes with LF line ends, as a Maildrop file
    /// holds them, not the CRLF octets RETR sends.
    SizesWithoutCr,
    /// A POP3 update answers `+OK` at once and makes its changes a
    /// moment later, on a task a crash kills: deletions acknowledged to
    /// the client come back.
    UpdateBeforeSync,
    /// Finger counts the new mail of every mailbox as the user's.
    FingerCountsEveryMailbox,
    /// Every FTP login opens one home, shared: a file one login uploads
    /// is seen by the others.
    SharedFtpHomes,
    /// An IMAP APPEND is answered `OK [APPENDUID ...]` at once and the
    /// message placed a moment later, on a task a crash kills: an
    /// acknowledged APPEND is lost.
    AppendBeforeSync,
    /// Delivery puts a message in the INBOX without telling the folder's
    /// watchers: a session in IDLE hears nothing.
    DeliveryUnannounced,
    /// An IMAP EXPUNGE also removes the message after each one asked for
    /// (an off-by-one), without saying so.
    ExpungeNeighbour,
    /// A news post (a single-message append to a group's store) is
    /// answered at once and the article placed a moment later, on a task
    /// a crash kills: an article acknowledged with `240` is lost.
    PostBeforeSync,
    /// Writing a list's state keeps a member it suspends receiving mail:
    /// a member past the bounce threshold still gets every post.
    ListLosesSuspension,
    /// A message the server writes itself (a list's copy, a bounce) is
    /// said to be committed at once and stored a moment later, on a task
    /// a crash kills: a list's expansion that finished before the crash
    /// loses the copies not yet stored.
    InjectBeforeSync,
    /// The first-try record survives a crash, as if messages found in the
    /// queue at start-up had been committed by the new process: a delivery
    /// cut short after its copy was made makes a second one.
    FirstTryAfterRestart,
    /// A node's claim on the shared queue takes messages whose lease has
    /// not run out: two nodes work on one message at once.
    ClaimIgnoresLease,
    /// The shared queue writes a delivery state without checking the
    /// writer's lease: a node paused past its lease writes over the
    /// state of the node that took the message over.
    FenceIgnored,
    /// A node cut off from the shared store acknowledges a message all
    /// the same (and keeps it nowhere): the client hears `250` for mail
    /// that is lost.
    AckWhileCutOff,
}
