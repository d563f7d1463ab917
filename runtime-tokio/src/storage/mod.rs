//! Storage backends other than the files in the data directory.
//!
//! Today the foundation of the postgres backend is here: its schema and
//! migrations, a queue store ([`postgres::PgQueue`]) whose operations
//! carry the lease and fence contract, and a mailbox store
//! ([`postgres::PgMailboxStore`]) with the Maildir store's contract.
//! `postern storage` creates, upgrades and checks the schema and
//! exports the mailboxes as Maildir ([`export`]). With `backend =
//! "postgres"` the server keeps its queue and its mailboxes there; the
//! readers reach either store through [`served::ServedMailboxes`].

pub mod export;
pub mod postgres;
pub mod served;
