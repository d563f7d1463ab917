//! `postern storage init | migrate | check | export`: creates, upgrades
//! and checks the database of the postgres storage backend, and writes
//! its mailboxes out as Maildir.
//!
//! Exit status: 0 done; 1 an error (unreachable database, login refused,
//! a schema older or newer than the binary, ...); 2 with the files
//! backend, where there is nothing to do.

use crate::config_file::{Loaded, Source};
use crate::storage::export::export_maildir;
use crate::storage::postgres::PgMailboxStore;
use crate::storage::postgres::{
    self, describe, is_login_refused,
    schema::{self, SchemaState},
};
use clap::Subcommand;
use postern_core::config::{PasswordSource, PostgresConfig, StorageConfig};
use postern_core::text::counted;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum StorageAction {
    /// Creates the schema in an empty database (refuses one that holds
    /// other tables, or Postern's schema already).
    Init,
    /// Applies the migrations the database lacks (creates the schema in
    /// an empty one).
    Migrate,
    /// Connects and shows the schema's version, the nodes seen and the
    /// queue's size; fails when the schema is not this binary's.
    Check,
    /// Writes every mailbox as Maildir under DIR/DOMAIN/USER (Dovecot
    /// reads it with the same UIDs, flags and keywords); DIR must be
    /// empty or not exist.
    Export {
        /// The directory to write into.
        #[arg(long, value_name = "DIR")]
        maildir: PathBuf,
    },
}

/// Runs `action` with the configuration `flag` names (found as for
/// `run` without it).
pub fn run(flag: Option<PathBuf>, action: StorageAction) -> ExitCode {
    let source = Source::locate(flag);
    eprintln!("postern: {}", source.describe());
    let loaded = match source.load() {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let config = match &loaded.config.storage {
        StorageConfig::Files => {
            eprintln!(
                "postern storage: {} uses the files backend (the data directory): there is no database, nothing to do\n  help: set backend = \"postgres\" and url under [storage] to use PostgreSQL",
                loaded.origin
            );
            return ExitCode::from(2);
        }
        StorageConfig::Postgres(config) => config.clone(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(act(&loaded, &config, action)) {
        Ok(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("postern storage: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn act(
    loaded: &Loaded,
    config: &PostgresConfig,
    action: StorageAction,
) -> Result<String, String> {
    let client_config = postgres::client_config(config, &loaded.origin)?;
    let (mut client, connection) = client_config
        .connect()
        .await
        .map_err(|error| connect_error(config, &error))?;
    let connection = tokio::spawn(connection);
    let result = match action {
        StorageAction::Init => schema::init(&mut client)
            .await
            .map(|applied| applied_text(config, &applied, "created"))
            .map_err(|e| e.to_string()),
        StorageAction::Migrate => schema::migrate(&mut client)
            .await
            .map(|applied| applied_text(config, &applied, "migrated"))
            .map_err(|e| e.to_string()),
        StorageAction::Check => check(&client, config).await,
        StorageAction::Export { maildir } => match check(&client, config).await {
            Ok(_) => export(client_config, config, &maildir).await,
            Err(error) => Err(error),
        },
    };
    drop(client);
    let _ = connection.await;
    result
}

/// Why connecting failed, and what would fix it; never the password.
pub(crate) fn connect_error(config: &PostgresConfig, error: &tokio_postgres::Error) -> String {
    if is_login_refused(error) {
        let fix = match &config.password {
            Some(PasswordSource::File(path)) => {
                format!("check the password in {} (`password_file`)", path.display())
            }
            Some(PasswordSource::Env(name)) => {
                format!("check the password in ${name} (`password_env`)")
            }
            None => "give the password with `password_file` or `password_env` under [storage]"
                .to_owned(),
        };
        format!(
            "the database at {} refused the login: {}\n  help: {fix}, and the user in the URL",
            config.url,
            describe(error)
        )
    } else if describe(error).contains("TLS") {
        format!(
            "cannot connect to the database at {} over TLS: {}\n  help: with tls = \"required\" under [storage] the server must offer TLS (ssl = on) with a certificate that names the URL's host and chains to `ca_file` (or to a public root when there is none)",
            config.url,
            describe(error)
        )
    } else if error.as_db_error().is_some() {
        format!(
            "the database at {} refused the connection: {}",
            config.url,
            describe(error)
        )
    } else {
        format!(
            "cannot reach the database at {}: {}\n  help: is PostgreSQL running and listening there? (`url` under [storage])",
            config.url,
            describe(error)
        )
    }
}

/// Writes every mailbox under `dir` (see [`crate::storage::export`]).
async fn export(
    client_config: postgres::DbConfig,
    config: &PostgresConfig,
    dir: &std::path::Path,
) -> Result<String, String> {
    let pool = postgres::pool(client_config, config.pool_size)?;
    let store = PgMailboxStore::without_listener(pool, config.node_id);
    let exported = export_maildir(&store, dir, &config.node_name).await?;
    Ok(format!(
        "{}: exported {}, {} and {} as Maildir under {}",
        config.url,
        counted(exported.users as i64, "user", "users"),
        counted(exported.folders as i64, "folder", "folders"),
        counted(exported.messages as i64, "message", "messages"),
        dir.display()
    ))
}

fn applied_text(config: &PostgresConfig, applied: &[i32], verb: &str) -> String {
    match applied {
        [] => format!(
            "{}: the schema is current (version {}); nothing to do",
            config.url,
            schema::latest()
        ),
        [.., last] => format!(
            "{}: {verb} the schema: applied {} (now version {last})",
            config.url,
            applied
                .iter()
                .map(|v| format!("migration {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

async fn check(client: &tokio_postgres::Client, config: &PostgresConfig) -> Result<String, String> {
    let known = schema::latest();
    let version = match schema::state(client).await.map_err(|e| describe(&e))? {
        SchemaState::Empty => {
            return Err(format!(
                "{}: the database is empty, with no Postern schema\n  help: run `postern storage init`",
                config.url
            ));
        }
        SchemaState::Foreign(_) => {
            return Err(format!(
                "{}: the database holds tables that are not Postern's\n  help: give Postern a database of its own",
                config.url
            ));
        }
        SchemaState::Ours(version) if version < known => {
            return Err(format!(
                "{}: the schema is at version {version}, older than this binary's {known}\n  help: run `postern storage migrate`",
                config.url
            ));
        }
        SchemaState::Ours(version) if version > known => {
            return Err(format!(
                "{}: the schema is at version {version}, newer than this binary's {known}\n  help: upgrade postern on this node",
                config.url
            ));
        }
        SchemaState::Ours(version) => version,
    };
    let mut text = format!(
        "{}: schema version {version} (this binary's latest: {known})\n",
        config.url
    );
    let nodes = client
        .query(
            "SELECT node_id, name, last_seen::TEXT FROM nodes ORDER BY node_id",
            &[],
        )
        .await
        .map_err(|e| describe(&e))?;
    if nodes.is_empty() {
        text.push_str("nodes: none seen yet\n");
    }
    for row in &nodes {
        let (id, name, seen): (i32, String, String) = (row.get(0), row.get(1), row.get(2));
        text.push_str(&format!("node {id} \"{name}\" last seen {seen}\n"));
    }
    let count: i64 = client
        .query_one("SELECT count(*) FROM queue_messages", &[])
        .await
        .map_err(|e| describe(&e))?
        .get(0);
    text.push_str(&format!(
        "queue: {}\n",
        postern_core::text::counted(count, "message", "messages")
    ));
    Ok(text)
}
