//! The postgres backend: connections, the schema, and the queue store.
//!
//! Connections go over TLS when `[storage] tls` asks for it (the default
//! for a database on another host), the server's certificate verified
//! as a smarthost's is ([`DbConfig`]); in clear otherwise. The password comes from a
//! file or the environment ([`PasswordSource`]) and is handed to the
//! client only; no error or log line here carries it, and the URL never
//! holds one (the configuration refuses it).
//!
//! Every failure to reach or use the database is an [`io::Error`]: the
//! caller retries it later (a session answers `451 4.3.0`). A write
//! refused because the writer's lease is gone is [`StoreError::Fenced`].

mod accounts;
mod admin;
mod blob;
mod damaged;
mod listen;
mod mailbox;
pub mod node;
mod pop3_lock;
mod queue;
pub mod schema;
mod settings;
mod store;
mod watchdog;

pub use accounts::PgAccounts;
pub use admin::{Census, Flushed, Holder, Listed};
pub use blob::BlobReader;
pub use damaged::SetAside;
pub use listen::{PROBE_INTERVAL, QUEUE_CHANNEL, QueueListener, RECONNECT_DELAY};
pub use mailbox::{DeliveredCopy, MAILBOX_CHANNEL, PgMailboxStore, QueuedCopy};
pub use pop3_lock::{PgMaildropLock, PgMaildropLocks};
pub use queue::{Claimed, Lease, PgQueue, Round};
pub use settings::PgSettings;
pub use store::{Leases, SharedSystem, is_fenced};

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use postern_core::config::{DatabaseTls, PasswordSource, PostgresConfig};
use postern_core::limits::{STORAGE_IDLE_IN_TRANSACTION_TIMEOUT, STORAGE_LOCK_TIMEOUT};
use std::fmt;
use std::io;
use std::path::Path;
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long connecting to the database may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an operation waits for a free connection of the pool.
pub const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a node reaches the database: the client's settings, and the TLS
/// connector they go with (used only when the settings ask for TLS).
#[derive(Clone)]
pub struct DbConfig {
    pub config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
}

/// A connection to the database, over TLS or not.
pub type PgConnection =
    tokio_postgres::Connection<Socket, <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream>;

impl DbConfig {
    /// `config` in clear, whatever its `sslmode` said.
    pub fn clear(mut config: tokio_postgres::Config) -> DbConfig {
        config.ssl_mode(SslMode::Disable);
        DbConfig {
            config,
            // Never used: the settings ask for no TLS.
            tls: MakeRustlsConnect::new(
                rustls::ClientConfig::builder_with_provider(crate::tls::provider())
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default protocol versions")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            ),
        }
    }

    /// One connection, and the task's half of it to poll.
    pub async fn connect(&self) -> Result<(Client, PgConnection), tokio_postgres::Error> {
        self.config.connect(self.tls.clone()).await
    }
}

impl From<tokio_postgres::Config> for DbConfig {
    fn from(config: tokio_postgres::Config) -> DbConfig {
        DbConfig::clear(config)
    }
}

/// The client's settings for `config`: its URL, the password read from
/// its file or variable, and TLS as `tls` says (the server's certificate
/// verified against `ca_file` or the public roots). Errors are
/// operator-ready text naming the key and the fix (never the password).
pub fn client_config(config: &PostgresConfig, config_file: &str) -> Result<DbConfig, String> {
    let client = plain_client_config(config, config_file)?;
    match &config.tls {
        DatabaseTls::None => Ok(DbConfig::clear(client)),
        DatabaseTls::Required { ca_file } => {
            let tls = crate::tls::verified_client_config(
                ca_file.as_deref(),
                "the CA certificates the database's must chain to",
            )
            .map_err(|error| {
                format!(
                    "{config_file}: `storage.ca_file`: {error}\n  help: name a PEM file of the CA certificates that signed the database server's certificate"
                )
            })?;
            let mut client = client;
            client.ssl_mode(SslMode::Require);
            Ok(DbConfig {
                config: client,
                tls: MakeRustlsConnect::new(tls),
            })
        }
    }
}

fn plain_client_config(
    config: &PostgresConfig,
    config_file: &str,
) -> Result<tokio_postgres::Config, String> {
    let mut client: tokio_postgres::Config = config.url.as_str().parse().map_err(|error| {
        format!(
            "{config_file}: `storage.url`: {error}\n  help: write postgres://USER@HOST:PORT/DATABASE"
        )
    })?;
    match &config.password {
        None => {}
        Some(PasswordSource::File(path)) => {
            client.password(read_password_file(
                path,
                config.password_file_line,
                config_file,
            )?);
        }
        Some(PasswordSource::Env(name)) => {
            let password = std::env::var(name).map_err(|_| {
                format!(
                    "{config_file}: `storage.password_env`: ${name} is not set (or not UTF-8)\n  help: set it in the environment the command runs in"
                )
            })?;
            client.password(password);
        }
    }
    // A session of ours cut off mid-transaction must not hold its locks
    // for long: other nodes wait on them. A wait for a lock ends with an
    // error before the answer's deadline would drop the connection.
    // (Options the URL names come first; ours, later, win.)
    let ours = format!(
        "-c idle_in_transaction_session_timeout={} -c lock_timeout={}",
        STORAGE_IDLE_IN_TRANSACTION_TIMEOUT.as_millis(),
        STORAGE_LOCK_TIMEOUT.as_millis()
    );
    let options = match client.get_options() {
        Some(given) if !given.is_empty() => format!("{given} {ours}"),
        _ => ours,
    };
    client
        .connect_timeout(CONNECT_TIMEOUT)
        .application_name("postern")
        .options(options);
    Ok(client)
}

fn read_password_file(path: &Path, line: usize, config_file: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        format!(
            "{config_file}:{line}: `storage.password_file`: cannot read {}: {error}\n  help: put the database password on the file's first line, readable by the server's user only",
            path.display()
        )
    })?;
    let password = text.lines().next().unwrap_or("").to_owned();
    if password.is_empty() {
        return Err(format!(
            "{config_file}:{line}: `storage.password_file`: {} has no password on its first line",
            path.display()
        ));
    }
    Ok(password)
}

/// A pool of at most `size` connections made with `client`; a connection
/// whose server owes an answer for longer than
/// [`postern_core::limits::STORAGE_ANSWER_TIMEOUT`] fails, and the pool
/// makes a new one in its place ([`watchdog`]).
pub fn pool(client: impl Into<DbConfig>, size: u32) -> Result<Pool, String> {
    let client = client.into();
    let manager = Manager::from_connect(
        client.config,
        watchdog::WatchedConnect { tls: client.tls },
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size as usize)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(POOL_WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|error| format!("cannot make the database pool: {error}"))
}

/// A write refused, or a failure to reach the database.
#[derive(Debug)]
pub enum StoreError {
    /// The writer's lease on the message has expired or passed to another
    /// node: nothing was written.
    Fenced,
    /// The database could not be reached or used; try again later.
    Io(io::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Fenced => f.write_str(
                "the lease on the message has expired or passed to another node; nothing was written",
            ),
            StoreError::Io(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<io::Error> for StoreError {
    fn from(error: io::Error) -> Self {
        StoreError::Io(error)
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        StoreError::Io(io_error(&error))
    }
}

impl From<PoolError> for StoreError {
    fn from(error: PoolError) -> Self {
        StoreError::Io(pool_error(error))
    }
}

impl From<StoreError> for io::Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Io(error) => error,
            fenced => io::Error::new(io::ErrorKind::PermissionDenied, fenced),
        }
    }
}

/// What went wrong, for an operator: the server's own words for an
/// error it reported, the client's otherwise. Neither holds a password.
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        // The client's text, then its causes ("error connecting to
        // server: Connection refused (os error 111)").
        None => {
            let mut text = error.to_string();
            let mut cause = std::error::Error::source(error);
            while let Some(inner) = cause {
                let more = inner.to_string();
                if !text.contains(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                cause = inner.source();
            }
            text
        }
    }
}

/// The login was refused (wrong password, unknown user, no entry in
/// `pg_hba.conf`), as opposed to the server being unreachable.
pub fn is_login_refused(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|code| {
        *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    })
}

/// `error` as an [`io::Error`] the caller may retry; [`unreachable`]
/// tells one that says the database cannot serve now from one about the
/// request.
pub fn io_error(error: &tokio_postgres::Error) -> io::Error {
    // SQLSTATE classes 08 (connection exception), 53 (insufficient
    // resources) and 57 (operator intervention: shutting down, restarting)
    // say the database cannot serve now, as a failed connection does; so
    // does 55P03, a lock not had within `STORAGE_LOCK_TIMEOUT`.
    let kind = match error.as_db_error() {
        Some(db) if matches!(db.code().code().get(..2), Some("08" | "53" | "57")) => {
            io::ErrorKind::ConnectionAborted
        }
        Some(db) if db.code() == &tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE => {
            io::ErrorKind::TimedOut
        }
        Some(_) => io::ErrorKind::Other,
        None => io::ErrorKind::ConnectionAborted,
    };
    io::Error::new(kind, format!("database: {}", describe(error)))
}

/// The error (from [`io_error`] or [`pool_error`]) says the database could
/// not be reached or could not serve, not that the request was wrong.
pub fn unreachable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::TimedOut
    )
}

/// A pool's failure to hand out a connection, as an [`io::Error`].
pub fn pool_error(error: PoolError) -> io::Error {
    match error {
        PoolError::Backend(error) => io_error(&error),
        PoolError::Timeout(_) => io::Error::new(
            io::ErrorKind::TimedOut,
            "database: no connection could be had in time",
        ),
        other => io::Error::other(format!("database: {other}")),
    }
}
