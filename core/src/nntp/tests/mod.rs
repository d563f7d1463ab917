//! Tests of the NNTP machine: a harness standing in for the driver,
//! transcript snapshots of whole sessions, and properties.

mod harness;
mod properties;
mod transcripts;
