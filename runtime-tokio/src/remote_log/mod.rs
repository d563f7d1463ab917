//! The remote logging service at run time: the log [`feed`] (a tracing
//! layer, the ring of recent lines and the following sessions' buffers),
//! the session [`driver`], and the `postern log --remote` [`client`].
//!
//! The protocol, logins, filters and the drop markers are decided in
//! `postern_core::remote_log`; this module carries out its requests.

pub mod client;
pub mod driver;
pub mod feed;

pub use driver::run_remote_log_session;
pub use feed::{FeedLayer, INSTANCE_SPAN, LogFeed, feed, installed, mark_installed};
