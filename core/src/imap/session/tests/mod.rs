//! Tests of the IMAP session machine: a harness with an in-memory store,
//! whole sessions as insta transcripts, two sessions on one mailbox, and
//! properties.

mod compliance;
mod content;
mod driving;
mod harness;
mod properties;
mod rfc;
mod sessions;
mod shared;
mod states;
mod transcripts;
