//! A throwaway PostgreSQL cluster for the storage tests: one per test
//! process, started on first use (on a port of its own, loopback only,
//! its socket in its own directory), stopped and removed when the process
//! exits; and a fresh database per test.
//!
//! The cluster runs as the `postgres` user when the tests run as root
//! (initdb refuses root). Logins over TCP need a password (SCRAM): the
//! superuser's is [`ADMIN_PASSWORD`], the tests' role [`ROLE`] has
//! [`ROLE_PASSWORD`]. If PostgreSQL is missing the tests fail saying so:
//! `scripts/test` installs it.

use postern::spool::SpoolRecord;
use postern::storage::postgres::{self, PgMailboxStore, PgQueue, schema};
use postern_core::address::{ForwardPath, Mailbox, ReversePath};
use postern_core::envelope::{ClientInfo, Destination, Envelope, QueueId, Recipient};
use postern_core::queue::DeliveryState;
use postern_core::smtp::server::BodyType;
use postern_core::time::UnixTime;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

pub const ADMIN_PASSWORD: &str = "admin-pw-7Hq2";
pub const ROLE: &str = "postern";
pub const ROLE_PASSWORD: &str = "role-pw-Zx93kQ";

pub struct Cluster {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The process's cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(Cluster::start)
}

/// A new, empty database owned by [`ROLE`].
pub fn database() -> Database {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let cluster = cluster();
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    cluster.psql(&format!("CREATE DATABASE {name} OWNER {ROLE}"));
    Database {
        name,
        port: cluster.port,
    }
}

pub struct Database {
    pub name: String,
    pub port: u16,
}

impl Database {
    /// The URL a configuration names (no password).
    pub fn url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{}", self.port, self.name)
    }

    /// The client's settings, with the role's password.
    pub fn client_config(&self) -> tokio_postgres::Config {
        let mut config: tokio_postgres::Config = self.url().parse().unwrap();
        config.password(ROLE_PASSWORD);
        config
    }
}

/// The directory of PostgreSQL's programs (`/usr/lib/postgresql/N/bin`),
/// the newest there is.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/test, which installs Debian's postgresql"
        )
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `program` run as the cluster's owner: `postgres` when we are root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Cluster {
    fn start() -> Cluster {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("postern-pg")
            .tempdir()
            .unwrap()
            .keep();
        let port = super::free_port();
        let password_file = dir.join("pw");
        std::fs::write(&password_file, format!("{ADMIN_PASSWORD}\n")).unwrap();
        if is_root() {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres:"]).arg(&dir);
            run(chown, "chown postgres");
        }
        let data = dir.join("data");
        let mut initdb = as_owner(&bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", password_file.display()));
        run(initdb, "initdb");
        let cluster = Cluster { port, dir, bin };
        cluster.watch_for_exit();
        cluster.start_server();
        // SAFETY: registers a plain function; atexit has no other
        // precondition.
        unsafe { libc::atexit(stop_at_exit) };
        cluster.psql(&format!(
            "CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE_PASSWORD}'"
        ));
        cluster
    }

    /// Starts the server on the cluster's data (again, after [`Cluster::stop`]).
    pub fn start_server(&self) {
        let mut start = as_owner(&self.bin.join("pg_ctl"));
        start
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-o")
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=200",
                self.port,
                self.dir.display()
            ))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "start"])
            // The postmaster keeps what it inherits: never a pipe of ours.
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = start.status().expect("pg_ctl start");
        assert!(
            status.success(),
            "pg_ctl start failed; its log: {}",
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    /// Stops the server (fast: sessions are cut off), keeping its data.
    /// Every test of the process shares the cluster: only a test file of
    /// its own may stop it.
    pub fn stop(&self) {
        let mut stop = as_owner(&self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"]);
        run(stop, "pg_ctl stop");
    }

    /// Turns TLS on with `certificate` and `key` (PEM), without a
    /// restart. Every test of the process shares the cluster: only a test
    /// file of its own may change it.
    pub fn enable_tls(&self, certificate: &[u8], key: &[u8]) {
        use std::os::unix::fs::PermissionsExt;
        let data = self.dir.join("data");
        for (name, bytes) in [("server.crt", certificate), ("server.key", key)] {
            let path = data.join(name);
            std::fs::write(&path, bytes).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            if is_root() {
                let mut chown = Command::new("chown");
                chown.arg("postgres:").arg(&path);
                run(chown, "chown postgres");
            }
        }
        self.psql("ALTER SYSTEM SET ssl = on");
        self.psql("SELECT pg_reload_conf()");
    }

    /// Runs one SQL statement as the superuser.
    pub fn psql(&self, sql: &str) {
        let mut psql = Command::new(self.bin.join("psql"));
        psql.args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
            ])
            .args(["-c", sql])
            .env("PGPASSWORD", ADMIN_PASSWORD);
        run(psql, &format!("psql -c {sql:?}"));
    }

    /// Stops the cluster and removes its directory once this process is
    /// gone, however it ends (a test binary killed by a signal runs no
    /// atexit handler).
    fn watch_for_exit(&self) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}; rm -rf '{dir}'",
            pid = std::process::id(),
            stop = self.stop_command_line(),
            dir = self.dir.display()
        );
        // A process group of its own: a Ctrl-C to the tests' group, which
        // kills the tests without their atexit handlers, spares it.
        let _ = Command::new("sh")
            .args(["-c", &script])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    fn stop_command_line(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.dir.join("data");
        let command = format!(
            "{} -D '{}' -m immediate stop",
            pg_ctl.display(),
            data.display()
        );
        if is_root() {
            format!("runuser -u postgres -- {command} >/dev/null 2>&1")
        } else {
            format!("{command} >/dev/null 2>&1")
        }
    }
}

extern "C" fn stop_at_exit() {
    if let Some(cluster) = CLUSTER.get() {
        let _ = Command::new("sh")
            .args(["-c", &cluster.stop_command_line()])
            .status();
        let _ = std::fs::remove_dir_all(&cluster.dir);
    }
}

/// A queue on a fresh database with the current schema.
pub async fn queue(db: &Database) -> PgQueue {
    let (mut client, connection) = db
        .client_config()
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    assert_eq!(
        schema::migrate(&mut client).await.unwrap(),
        (1..=schema::latest()).collect::<Vec<_>>()
    );
    drop(client);
    connection.await.unwrap().unwrap();
    PgQueue::new(postgres::pool(db.client_config(), 4).unwrap())
}

/// Brings the database's schema up to date (a no-op when it is).
pub async fn migrate(db: &Database) {
    let (mut client, connection) = db
        .client_config()
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    schema::migrate(&mut client).await.unwrap();
    drop(client);
    connection.await.unwrap().unwrap();
}

/// A mailbox store on the database, as node `node_id` runs it: its own
/// pool and its own listener.
pub async fn mailbox_store(db: &Database, node_id: u16) -> PgMailboxStore {
    migrate(db).await;
    let pool = postgres::pool(db.client_config(), 4).unwrap();
    PgMailboxStore::start(pool, db.client_config(), node_id)
        .await
        .unwrap()
}

/// A direct connection, to look at the tables.
pub async fn look(db: &Database) -> tokio_postgres::Client {
    let (client, connection) = db
        .client_config()
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

pub fn record(id: u64, recipients: usize) -> SpoolRecord {
    SpoolRecord {
        queue_id: QueueId(id),
        received_at: 1_700_000_000,
        envelope: Envelope {
            reverse_path: ReversePath::Null,
            recipients: (0..recipients)
                .map(|i| Recipient {
                    forward_path: ForwardPath::Mailbox(Mailbox {
                        local_part: format!("rcpt{i}"),
                        domain: "elsewhere.test".into(),
                    }),
                    destination: Destination::Remote,
                })
                .collect(),
            body: BodyType::EightBitMime,
            smtputf8: false,
            client: ClientInfo {
                helo: "client.test".into(),
                address: "127.0.0.1".into(),
                submitted: false,
            },
        },
        trace: b"Authentication-Results: mx; none\r\n".to_vec(),
        junk: false,
    }
}

/// Commits message `id` with `recipients` recipients, due at once.
pub async fn commit(queue: &PgQueue, id: u64, recipients: usize, data: &[u8]) -> SpoolRecord {
    let record = record(id, recipients);
    let state = DeliveryState::new(&record.envelope, UnixTime(record.received_at));
    queue.commit(&record, &state, data).await.unwrap();
    record
}

/// Gives `db` the current schema (every migration this binary has).
pub fn migrate_blocking(db: &Database) {
    blocking(migrate(db));
}

/// Runs `future` to its end on a runtime of its own: for the tests that
/// drive real processes and look into the database between steps.
pub fn blocking<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The rows `sql` answers in `db`, on a connection of their own that is
/// closed before this returns.
pub fn rows_in(
    db: &Database,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Vec<tokio_postgres::Row> {
    blocking(async {
        let (client, connection) = db
            .client_config()
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap();
        let connection = tokio::spawn(connection);
        let rows = client.query(sql, params).await.unwrap();
        drop(client);
        let _ = connection.await;
        rows
    })
}

/// The BIGINTs of the first column of what `sql` returns, in its order.
pub fn ids_in(db: &Database, sql: &str) -> Vec<i64> {
    rows_in(db, sql, &[]).iter().map(|row| row.get(0)).collect()
}

/// The first column of the one row `sql` answers in `db`, as a number
/// (`SELECT count(*) ...`).
pub fn count_in(db: &Database, sql: &str) -> i64 {
    match rows_in(db, sql, &[]).as_slice() {
        [row] => row.get(0),
        rows => panic!("{sql}: {} rows, not one", rows.len()),
    }
}

/// The `[storage]` table of a node on `db`, the password in the file
/// `db-password` beside the configuration ([`write_password`]).
pub fn storage_table(db: &Database, node_id: u16, lease: &str) -> String {
    format!(
        "[storage]\nbackend = \"postgres\"\nurl = \"{}\"\npassword_file = \"db-password\"\nnode_id = {node_id}\nnode_name = \"node{node_id}\"\nlease = \"{lease}\"\n",
        db.url()
    )
}

/// Writes the role's password where [`storage_table`] names it.
pub fn write_password(config_dir: &Path) {
    std::fs::write(config_dir.join("db-password"), format!("{ROLE_PASSWORD}\n")).unwrap();
}

/// The messages of `user@domain`'s folder `folder` in the database, in
/// UID order, each whole (its blob's chunks joined) as text.
pub fn mailbox_texts(db: &Database, domain: &str, user: &str, folder: &str) -> Vec<String> {
    let rows = rows_in(
        db,
        "SELECT m.uid, c.data FROM mail_messages m \
         JOIN mail_folders f ON f.folder_id = m.folder_id \
         JOIN blob_chunks c ON c.blob_id = m.blob_id \
         WHERE f.domain = $1 AND f.username = $2 AND f.name = $3 \
         ORDER BY m.uid, c.seq",
        &[&domain, &user, &folder],
    );
    let mut texts: Vec<(i64, Vec<u8>)> = Vec::new();
    for row in &rows {
        let (uid, data): (i64, Vec<u8>) = (row.get(0), row.get(1));
        match texts.last_mut() {
            Some((last, bytes)) if *last == uid => bytes.extend_from_slice(&data),
            _ => texts.push((uid, data)),
        }
    }
    texts
        .into_iter()
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

/// The `Subject:` of each message text.
pub fn subjects_of(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .map(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("Subject: "))
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .collect()
}

/// Waits until `user@domain`'s INBOX in the database holds at least
/// `count` messages; answers their texts. `logs` explains a timeout.
pub fn wait_for_mailbox(
    db: &Database,
    (domain, user): (&str, &str),
    count: usize,
    logs: impl Fn() -> String,
) -> Vec<String> {
    super::eventually(
        || mailbox_texts(db, domain, user, "INBOX"),
        |texts| texts.len() >= count,
        |texts| {
            format!(
                "{} of {count} messages in {user}@{domain}'s INBOX; logs:\n{}",
                texts.len(),
                logs()
            )
        },
    )
}
