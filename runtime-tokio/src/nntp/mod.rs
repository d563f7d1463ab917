//! The NNTP service: sessions of the core's [`NntpServer`] over real
//! connections, answered from the [`NewsStore`](crate::news::NewsStore).
//!
//! [`NntpServer`]: postern_core::nntp::NntpServer

mod driver;

pub use driver::{NntpContext, run_nntp_session};
