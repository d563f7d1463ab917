//! Tests of the server machine: a harness standing in for the driver,
//! transcript snapshots of whole sessions, and properties.

mod barring;
mod checks;
mod hardening;
mod harness;
mod properties;
mod security;
mod spam;
mod timeouts;
mod transcripts;
