//! Postern's deterministic core.
//!
//! Everything that decides lives here: the configuration and its rules,
//! the protocol session machines, the local directory, the message
//! envelope. Nothing here performs I/O, reads a clock or draws a random
//! number from the thread: time and randomness come in as parameters, and
//! the world is reached only by emitting requests that a driver carries
//! out (`runtime-tokio` in production, `sim` in simulation).
//!
//! `core/clippy.toml` forbids the clock, file and socket APIs, and a test
//! in `runtime-tokio` checks that this crate's dependency tree holds no
//! tokio. See the book's chapter "The machine contract" for how a driver
//! runs a machine.

pub mod accounts;
pub mod address;
pub mod admission;
pub mod auth;
pub mod autoreply;
pub mod bind;
pub mod config;
pub mod directory;
pub mod envelope;
pub mod explain;
pub mod finger;
pub mod ftp;
pub mod http;
pub mod imap;
pub mod limits;
pub mod lists;
pub mod mail_auth;
pub mod mailbox;
pub mod nntp;
pub mod policy;
pub mod pop3;
pub mod queue;
pub mod remote_log;
pub mod rng;
pub mod route;
pub mod smtp;
pub mod spam;
pub mod text;
pub mod time;
pub mod tunnel;
