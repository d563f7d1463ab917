//! IMAP sessions: the driver that runs `postern_core::imap::session`'s
//! machine over a connection, and the requests it carries out on the
//! [`MailboxStore`](crate::mailstore::MailboxStore).
//!
//! The machine decides everything a client is told; the driver reads and
//! writes bytes, checks logins, carries out one store request at a time,
//! and tells the machine when the selected folder changed (the store's
//! watch, so IDLE hears of a delivery at once).

mod driver;
mod recent;
mod requests;

pub use driver::run_imap_session;
pub use recent::RecentClaims;
