//! Storage backends other than the files in the data directory.
//!
//! Today only the foundation of the postgres backend is here: its schema
//! and migrations, and a queue store ([`postgres::PgQueue`]) whose
//! operations carry the lease and fence contract. `postern storage`
//! creates, upgrades and checks the schema; the server itself does not
//! run on it yet.

pub mod export;
pub mod postgres;
