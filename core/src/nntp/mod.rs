//! NNTP (RFC 3977): newsgroups, their articles and the reader session.
//!
//! [`store_types`] holds what the session machine and the news store
//! share: group names, summaries, overview records and article ranges.

pub mod client;
pub mod store_types;

pub use store_types::{
    ArticleRange, GroupName, GroupNameError, GroupSummary, OverviewRecord, PostingStatus,
};
