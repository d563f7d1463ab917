//! The accounts in the shared database: one document in the format of
//! `accounts.toml` (core's [`Accounts`] parses and renders it) in the one
//! row of `shared_accounts`, with a revision.
//!
//! A change locks the row (`SELECT ... FOR UPDATE`), parses the document,
//! applies the change, writes the new text and bumps the revision, in one
//! transaction: two changes from two nodes at once are applied one after
//! the other, and neither is lost. A reader keeps the document it read
//! with its revision, and reads it again only when the revision has moved
//! ([`PgAccounts::revision`] is one primary-key lookup).
//!
//! Revision 0 is the empty set no one has written yet: a node starting on
//! it may import its own `accounts.toml` ([`PgAccounts::import_if_empty`]).

use super::{io_error, pool_error};
use deadpool_postgres::Pool;
use postern_core::accounts::Accounts;
use postern_core::limits::STORAGE_ACCOUNTS_BYTES_MAX;
use std::io;
use tokio_postgres::error::SqlState;

/// The accounts row's key: there is one row.
const ROW: i32 = 1;

/// The shared accounts, reached through a pool.
#[derive(Clone)]
pub struct PgAccounts {
    pool: Pool,
}

/// Parses a stored document; the empty text of revision 0 is no accounts.
fn parse(document: &str) -> io::Result<Accounts> {
    if document.trim().is_empty() {
        return Ok(Accounts::default());
    }
    Accounts::parse(document).map_err(|why| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the accounts in the database (shared_accounts): {why}"),
        )
    })
}

impl PgAccounts {
    pub fn new(pool: Pool) -> Self {
        PgAccounts { pool }
    }

    /// The revision of the shared accounts now.
    pub async fn revision(&self) -> io::Result<i64> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_opt(
                "SELECT revision FROM shared_accounts WHERE id = $1",
                &[&ROW],
            )
            .await
            .map_err(|e| db_error(&e))?
            .ok_or_else(missing)?;
        Ok(row.get(0))
    }

    /// The accounts and their revision.
    pub async fn load(&self) -> io::Result<(i64, Accounts)> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_opt(
                "SELECT revision, document FROM shared_accounts WHERE id = $1",
                &[&ROW],
            )
            .await
            .map_err(|e| db_error(&e))?
            .ok_or_else(missing)?;
        let document: String = row.get(1);
        Ok((row.get(0), parse(&document)?))
    }

    /// Applies `change` to the accounts under the row's lock and writes
    /// them with the next revision; `change`'s message is the answer. A
    /// change that fails (its own refusal) writes nothing.
    pub async fn update(
        &self,
        change: impl FnOnce(&mut Accounts) -> Result<String, String>,
    ) -> Result<String, String> {
        let failed = |error: io::Error| format!("the accounts in the database: {error}");
        let mut client = self.pool.get().await.map_err(|e| failed(pool_error(e)))?;
        let transaction = client
            .transaction()
            .await
            .map_err(|e| failed(db_error(&e)))?;
        let row = transaction
            .query_opt(
                "SELECT revision, document FROM shared_accounts WHERE id = $1 FOR UPDATE",
                &[&ROW],
            )
            .await
            .map_err(|e| failed(db_error(&e)))?
            .ok_or_else(|| failed(missing()))?;
        let revision: i64 = row.get(0);
        let document: String = row.get(1);
        let mut accounts = parse(&document).map_err(failed)?;
        let message = change(&mut accounts)?;
        let text = accounts.render();
        if text.len() > STORAGE_ACCOUNTS_BYTES_MAX {
            return Err(format!(
                "the accounts would take {} octets, over the {STORAGE_ACCOUNTS_BYTES_MAX} the database keeps; nothing changed (shorten plans, or delete accounts no longer used)",
                text.len()
            ));
        }
        transaction
            .execute(
                "UPDATE shared_accounts SET revision = $2, document = $3 WHERE id = $1",
                &[&ROW, &(revision + 1), &text],
            )
            .await
            .map_err(|e| failed(db_error(&e)))?;
        transaction
            .commit()
            .await
            .map_err(|e| failed(db_error(&e)))?;
        Ok(message)
    }

    /// Writes `accounts` as the shared set if no one has written it yet
    /// (revision 0), answering whether it did. Two nodes starting at once:
    /// the second finds revision 1 and imports nothing.
    pub async fn import_if_empty(&self, accounts: &Accounts) -> io::Result<bool> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let written = client
            .execute(
                "UPDATE shared_accounts SET revision = 1, document = $2 \
                 WHERE id = $1 AND revision = 0",
                &[&ROW, &accounts.render()],
            )
            .await
            .map_err(|e| db_error(&e))?;
        Ok(written == 1)
    }
}

fn missing() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the table shared_accounts has no row; run `postern storage migrate`",
    )
}

/// `error` as an [`io::Error`]; a missing table names the fix.
fn db_error(error: &tokio_postgres::Error) -> io::Error {
    if error.code() == Some(&SqlState::UNDEFINED_TABLE) {
        return io::Error::new(
            io::ErrorKind::InvalidData,
            "the database has no table shared_accounts (its schema is older than this binary's); run `postern storage migrate`",
        );
    }
    io_error(error)
}
