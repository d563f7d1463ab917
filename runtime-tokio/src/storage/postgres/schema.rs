//! The schema and its versioned migrations, embedded in the binary.
//!
//! `schema_migrations` holds one row per migration applied (version,
//! name, when). Each migration runs in its own transaction, which first
//! inserts its row: two nodes migrating at once cannot both apply it (the
//! second waits on the row, then fails on its key and applies nothing).
//! A database whose schema is newer than the binary is refused, never
//! "downgraded".

use std::fmt;
use tokio_postgres::Client;

/// One migration: its version, name, and SQL (several statements).
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration this binary knows, in order of version (1, 2, ...).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_queue",
        sql: include_str!("migrations/0001_queue.sql"),
    },
    Migration {
        version: 2,
        name: "0002_mailboxes",
        sql: include_str!("migrations/0002_mailboxes.sql"),
    },
    Migration {
        version: 3,
        name: "0003_delivery_keys",
        sql: include_str!("migrations/0003_delivery_keys.sql"),
    },
    Migration {
        version: 4,
        name: "0004_shared_state",
        sql: include_str!("migrations/0004_shared_state.sql"),
    },
    Migration {
        version: 5,
        name: "0005_damaged",
        sql: include_str!("migrations/0005_damaged.sql"),
    },
];

/// The version of the schema this binary works with.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The table that records the migrations applied.
pub const MIGRATIONS_TABLE: &str = "schema_migrations";

/// What a database holds, as far as the schema goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaState {
    /// No tables at all (in the connection's current schema).
    Empty,
    /// Tables, but not ours (no `schema_migrations`): their names.
    Foreign(Vec<String>),
    /// Postern's schema at this version (0 when no migration is applied).
    Ours(i32),
}

/// Why the schema could not be made current.
#[derive(Debug)]
pub enum SchemaError {
    Database(tokio_postgres::Error),
    /// The database holds other tables; these, sorted.
    Foreign(Vec<String>),
    /// The schema is newer than this binary's.
    Newer {
        found: i32,
        known: i32,
    },
    /// `init` on a database that already holds our schema.
    AlreadyInitialised(i32),
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaError::Database(error) => f.write_str(&super::describe(error)),
            SchemaError::Foreign(tables) => write!(
                f,
                "the database holds tables that are not Postern's ({}); refusing to add ours among them\n  help: give Postern a database of its own (CREATE DATABASE postern OWNER ...)",
                shortened(tables)
            ),
            SchemaError::Newer { found, known } => write!(
                f,
                "the database's schema is at version {found}, newer than this binary's {known}\n  help: upgrade postern on this node to the version the others run"
            ),
            SchemaError::AlreadyInitialised(version) => write!(
                f,
                "the database already holds Postern's schema (version {version}); nothing done\n  help: `postern storage migrate` applies pending migrations"
            ),
        }
    }
}

impl From<tokio_postgres::Error> for SchemaError {
    fn from(error: tokio_postgres::Error) -> Self {
        SchemaError::Database(error)
    }
}

/// At most five names, then how many more.
fn shortened(tables: &[String]) -> String {
    let mut text = tables
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if tables.len() > 5 {
        text.push_str(&format!(" and {} more", tables.len() - 5));
    }
    text
}

/// What the database holds.
pub async fn state(client: &Client) -> Result<SchemaState, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT table_name::TEXT FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY table_name",
            &[],
        )
        .await?;
    let tables: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    if tables.is_empty() {
        return Ok(SchemaState::Empty);
    }
    if !tables.iter().any(|t| t == MIGRATIONS_TABLE) {
        return Ok(SchemaState::Foreign(tables));
    }
    let row = client
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?;
    Ok(SchemaState::Ours(row.get(0)))
}

/// Creates the schema in an empty database; answers the versions applied.
pub async fn init(client: &mut Client) -> Result<Vec<i32>, SchemaError> {
    match state(client).await? {
        SchemaState::Empty => migrate(client).await,
        SchemaState::Foreign(tables) => Err(SchemaError::Foreign(tables)),
        SchemaState::Ours(version) => Err(SchemaError::AlreadyInitialised(version)),
    }
}

/// Applies the migrations the database lacks (all of them to an empty
/// one); answers the versions applied, empty when it was current.
pub async fn migrate(client: &mut Client) -> Result<Vec<i32>, SchemaError> {
    let current = match state(client).await? {
        SchemaState::Foreign(tables) => return Err(SchemaError::Foreign(tables)),
        SchemaState::Empty => {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (\
                     version INT PRIMARY KEY, \
                     name TEXT NOT NULL, \
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                )
                .await?;
            0
        }
        SchemaState::Ours(version) => version,
    };
    if current > latest() {
        return Err(SchemaError::Newer {
            found: current,
            known: latest(),
        });
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&migration.version, &migration.name],
            )
            .await?;
        transaction.batch_execute(migration.sql).await?;
        transaction.commit().await?;
        applied.push(migration.version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i32 + 1);
            assert!(
                migration
                    .name
                    .starts_with(&format!("{:04}_", migration.version))
            );
        }
    }

    #[test]
    fn migrations_stay_in_the_portable_subset() {
        // CockroachDB and YugabyteDB lack these, or treat them differently.
        for migration in MIGRATIONS {
            // The statements, not the comments (which may name what is
            // left out).
            let sql: String = migration
                .sql
                .lines()
                .map(|line| line.split("--").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n")
                .to_ascii_uppercase();
            for word in [
                "SERIAL", "PLPGSQL", "TRIGGER", "$$", "BEGIN", "COMMIT", "OIDS",
            ] {
                assert!(!sql.contains(word), "{} uses {word}", migration.name);
            }
        }
    }
}
