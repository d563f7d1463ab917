//! POP3 at run time: the narrow store interface a POP3 session reads
//! through ([`Maildrops`]), the in-process maildrop lock, and the session
//! driver ([`driver::run_pop3_session`]).
//!
//! The protocol is decided in `postern_core::pop3`; this module carries
//! out its requests: check a login, lock and open a maildrop, stream a
//! message, update the maildrop after QUIT.

pub mod driver;
pub mod lock;
pub mod store;

pub use driver::run_pop3_session;
pub use lock::{MaildropLock, MaildropLocks};
pub use store::StoreMaildrops;

use postern_core::envelope::LocalMailbox;
use postern_core::pop3::{Maildrop, MaildropFailure};
use std::future::Future;
use std::io;
use tokio::io::AsyncRead;

/// Where POP3 sessions find mailboxes.
pub trait Maildrops: Send + Sync {
    type Handle: MaildropHandle;

    /// Locks the mailbox for one session and lists its INBOX. The lock is
    /// held as long as the handle lives: dropping it, however the session
    /// ends, releases it. A mailbox already locked gives
    /// [`MaildropFailure::InUse`].
    fn open(
        &self,
        mailbox: &LocalMailbox,
    ) -> impl Future<Output = Result<(Maildrop, Self::Handle), MaildropFailure>> + Send;
}

/// One session's hold on a mailbox.
pub trait MaildropHandle: Send {
    type Reader: AsyncRead + Unpin + Send;

    /// The message `uid` as clients see it: CRLF lines, exactly as many
    /// octets as its size in the [`Maildrop`].
    fn read(&self, uid: u32) -> impl Future<Output = io::Result<Self::Reader>> + Send;

    /// RFC 1939 6: removes the `expunge` messages and marks the `seen`
    /// ones `\Seen`, durably, before the client hears `+OK`.
    fn update(
        &mut self,
        expunge: &[u32],
        seen: &[u32],
    ) -> impl Future<Output = io::Result<()>> + Send;
}

/// For backends with no mailboxes (the simulation today): every maildrop
/// is unavailable, so a POP3 login gets `-ERR [SYS/TEMP]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMaildrops;

/// The handle [`NoMaildrops`] never hands out.
#[derive(Debug)]
pub enum NoHandle {}

impl Maildrops for NoMaildrops {
    type Handle = NoHandle;

    async fn open(&self, _mailbox: &LocalMailbox) -> Result<(Maildrop, NoHandle), MaildropFailure> {
        Err(MaildropFailure::Unavailable)
    }
}

impl MaildropHandle for NoHandle {
    type Reader = tokio::io::Empty;

    async fn read(&self, _uid: u32) -> io::Result<tokio::io::Empty> {
        match *self {}
    }

    async fn update(&mut self, _expunge: &[u32], _seen: &[u32]) -> io::Result<()> {
        match *self {}
    }
}
