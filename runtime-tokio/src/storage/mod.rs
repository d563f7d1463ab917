//! Storage backends other than the files in the data directory.
//!
//! Today the foundation of the postgres backend is here: its schema and
//! migrations, a queue store ([`postgres::PgQueue`]) whose operations
//! carry the lease and fence contract, and a mailbox store
//! ([`postgres::PgMailboxStore`]) with the Maildir store's contract.
//! `postern storage` creates, upgrades and checks the schema and
//! exports the mailboxes as Maildir ([`export`]); the server itself does
//! not run on it yet.

pub mod export;
pub mod postgres;
