//! Postern's simulation: simulated twins of the runtime's environment, so
//! that whole networks of mail hosts can run in one process on turmoil,
//! reproducibly.
//!
//! Today this holds the in-memory [`MemoryStore`], and a test runs the
//! production session driver (`postern::driver::run_session`) unchanged
//! over turmoil's simulated TCP. Scenario files, faults, crash and restart
//! of hosts, and swarm runs are the simulation work still to come.

pub mod store;

pub use store::{Committed, MemoryStore};
