//! A node's accounts on the postgres backend: the shared set in the
//! database, which the first node to start on an empty one fills from
//! its own `accounts.toml`.

use crate::accounts::AccountsAt;
use crate::storage::postgres::PgAccounts;
use deadpool_postgres::Pool;
use postern_core::accounts::ACCOUNTS_FILE;
use std::path::Path;

/// The shared accounts on `pool`. When no one has written them yet
/// (revision 0) and this node's data directory has an `accounts.toml`
/// with accounts, they are imported, and the log says so; when the
/// database has its accounts and the node has a file too, the log says
/// the file is not read.
pub(super) async fn join(pool: Pool, data_dir: &Path, url: &str) -> Result<AccountsAt, String> {
    let shared = PgAccounts::new(pool);
    let path = data_dir.join(ACCOUNTS_FILE);
    let local = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || crate::accounts::read(&path))
            .await
            .map_err(|e| format!("reading {ACCOUNTS_FILE} stopped: {e}"))??
    };
    let failed = |error: std::io::Error| format!("{url}: the accounts: {error}");
    let imported = if local.is_empty() {
        false
    } else {
        shared.import_if_empty(&local).await.map_err(failed)?
    };
    if imported {
        tracing::info!(
            "imported {} accounts from {} into the database, which had none; every node now uses those, and this file is no longer read",
            local.len(),
            path.display()
        );
    } else if !local.is_empty() {
        tracing::warn!(
            "{} is not read: the accounts are in the database, shared by every node (`postern user list` shows them)",
            path.display()
        );
    }
    let (_, accounts) = shared.load().await.map_err(failed)?;
    tracing::info!(
        "{} accounts in the database, shared by every node",
        accounts.len()
    );
    Ok(AccountsAt::Shared(shared))
}
