//! Several `postern run` nodes on one PostgreSQL database, under load
//! from python's smtplib (`tests/clients/nodes_load.py`), for the tests
//! of faults: what each node was sent, what it answered, and how many
//! copies of each message the database's mailboxes hold.

use super::postgres::{self, Database};
use super::{TestServer, python};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The local user every message of the load is for.
pub const USER: (&str, &str) = ("example.test", "alice");

/// A node's configuration, built up by each test: `[server]` for node
/// `id`, the SMTP service `mx` on 127.0.0.`host` (relaying for
/// 127.0.0.0/8), the domain example.test, the `[storage]` table, and
/// what the test adds. Each service listens on a port of its own on the
/// node's host.
pub struct NodeConfig<'a> {
    db: &'a Database,
    id: u16,
    host: u8,
    smtp: SocketAddr,
    lease: String,
    storage: Option<String>,
    users: Vec<String>,
    more: String,
}

impl<'a> NodeConfig<'a> {
    /// Node `id` on 127.0.0.`id + 1`, sharing `db` with a lease of 5 s,
    /// for the user alice.
    pub fn new(db: &'a Database, id: u16) -> NodeConfig<'a> {
        let host = u8::try_from(id + 1).unwrap();
        NodeConfig {
            db,
            id,
            host,
            smtp: free_address(host),
            lease: "5s".to_owned(),
            storage: None,
            users: vec![USER.1.to_owned()],
            more: String::new(),
        }
    }

    /// On 127.0.0.`host` instead.
    pub fn host(mut self, host: u8) -> NodeConfig<'a> {
        self.host = host;
        self.smtp = free_address(host);
        self
    }

    /// Leases of `lease` (such as "6s").
    pub fn lease(mut self, lease: &str) -> NodeConfig<'a> {
        self.lease = lease.to_owned();
        self
    }

    /// This `[storage]` table instead (the database through a proxy, say).
    pub fn storage(mut self, table: String) -> NodeConfig<'a> {
        self.storage = Some(table);
        self
    }

    /// These users of example.test instead of alice.
    pub fn users(mut self, users: &[&str]) -> NodeConfig<'a> {
        self.users = users.iter().map(|user| user.to_string()).collect();
        self
    }

    /// Everything through the smarthost at 127.0.0.1:`port`, without TLS.
    pub fn smarthost(self, port: u16) -> NodeConfig<'a> {
        self.with(&format!(
            "[outbound.smarthost]\nhost = \"127.0.0.1:{port}\"\nmode = \"exclusive\"\ntls = \"none\"\n"
        ))
    }

    /// `toml` added as it is: an `[auth]` or `[outbound]` table, say.
    pub fn with(mut self, toml: &str) -> NodeConfig<'a> {
        self.more.push('\n');
        self.more.push_str(toml);
        self
    }

    /// A service of `kind` (named as its kind) with `settings`, on a
    /// port of its own; answers its address.
    pub fn service(&mut self, kind: &str, settings: &str) -> SocketAddr {
        let addr = free_address(self.host);
        self.more.push_str(&format!(
            "\n[[service]]\nname = \"{kind}\"\nkind = \"{kind}\"\nlisten = \"{addr}\"\n{settings}\n"
        ));
        addr
    }

    /// The configuration file's text.
    pub fn text(&self) -> String {
        let NodeConfig { id, smtp, .. } = self;
        let users = self
            .users
            .iter()
            .map(|user| format!("\"{user}\""))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            r#"
[server]
hostname = "node{id}.example.test"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{smtp}"
relay = ["127.0.0.0/8"]
max_connections = 40
max_connections_per_host = 40

[[domain]]
name = "example.test"
users = [{users}]

{storage}{more}"#,
            storage = self
                .storage
                .clone()
                .unwrap_or_else(|| postgres::storage_table(self.db, *id, &self.lease)),
            more = self.more,
        )
    }

    /// Starts the node (its address is the SMTP service's), the
    /// database's password beside its configuration.
    pub fn start(self) -> TestServer {
        self.start_with_files(|_| {})
    }

    /// As [`NodeConfig::start`], `prepare` writing more files into the
    /// configuration's directory first.
    pub fn start_with_files(self, prepare: impl FnOnce(&Path)) -> TestServer {
        TestServer::start_with_files(&self.text(), self.smtp, |dir| {
            postgres::write_password(dir);
            prepare(dir);
        })
    }
}

/// A free port on 127.0.0.`host`.
fn free_address(host: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, host], super::free_port()))
}

pub fn logs(nodes: &[TestServer]) -> String {
    nodes
        .iter()
        .map(|node| node.log())
        .collect::<Vec<_>>()
        .join("\n----\n")
}

/// The load: `nodes_load.py` sending to [`USER`] through `nodes` in turn.
pub struct Load {
    child: Child,
    pub log: PathBuf,
}

impl Load {
    /// `threads` senders for `seconds`, each waiting `pause` between
    /// messages; a session times out after `timeout`.
    pub fn start(
        dir: &Path,
        nodes: &[SocketAddr],
        seconds: u32,
        threads: u32,
        timeout: Duration,
    ) -> Load {
        let log = dir.join("load.log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/nodes_load.py");
        let child = Command::new("python3")
            .arg(&script)
            .arg(&log)
            .args([&seconds.to_string(), &threads.to_string(), "0.05"])
            .args(nodes.iter().map(|addr| addr.to_string()))
            .env("LOAD_RCPT", format!("{}@{}", USER.1, USER.0))
            .env("LOAD_TIMEOUT", timeout.as_secs_f64().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 is needed for the real-client tests");
        Load { child, log }
    }

    /// Waits for the load to end; answers what it sent.
    pub fn finish(self) -> Outcomes {
        let output = self.child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "nodes_load.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Outcomes::read(&self.log)
    }
}

/// One message of the load.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub id: String,
    pub server: String,
    /// Answered 250 after its data.
    pub ok: bool,
    /// When the outcome came, as seconds since the epoch.
    pub at: f64,
    pub error: String,
}

pub struct Outcomes {
    pub all: Vec<Outcome>,
}

impl Outcomes {
    fn read(path: &Path) -> Outcomes {
        let all = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line).unwrap();
                Outcome {
                    id: entry["id"].as_str().unwrap().to_owned(),
                    server: entry["server"].as_str().unwrap().to_owned(),
                    ok: entry["ok"] == true,
                    at: entry["t"].as_f64().unwrap_or(0.0),
                    error: entry["error"].as_str().unwrap_or("").to_owned(),
                }
            })
            .collect();
        Outcomes { all }
    }

    pub fn attempted(&self) -> BTreeSet<String> {
        self.all.iter().map(|o| o.id.clone()).collect()
    }

    pub fn accepted(&self) -> BTreeSet<String> {
        self.all
            .iter()
            .filter(|o| o.ok)
            .map(|o| o.id.clone())
            .collect()
    }
}

/// Seconds since the epoch, as `nodes_load.py` writes them.
pub fn wall_clock() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// How many copies of each Message-ID [`USER`]'s INBOX in the database
/// holds.
pub fn copies(db: &Database) -> BTreeMap<String, usize> {
    let mut copies = BTreeMap::new();
    for text in postgres::mailbox_texts(db, USER.0, USER.1, "INBOX") {
        let id = text
            .lines()
            .find_map(|line| line.strip_prefix("Message-ID: "))
            .unwrap_or("")
            .trim()
            .to_owned();
        *copies.entry(id).or_insert(0) += 1;
    }
    copies
}

/// Sends one message with Message-ID `id` to `node`, for [`USER`];
/// answers send.py's line ("OK ...", or "DATA 451 ...").
pub fn send_one(node: SocketAddr, id: &str, dir: &Path) -> String {
    send_to(node, id, &format!("{}@{}", USER.1, USER.0), dir)
}

/// As [`send_one`], for `recipients` (comma-separated).
pub fn send_to(node: SocketAddr, id: &str, recipients: &str, dir: &Path) -> String {
    let file = dir.join(format!("{}.eml", id.trim_matches(['<', '>'])));
    std::fs::write(
        &file,
        format!("From: probe@client.test\r\nMessage-ID: {id}\r\nSubject: probe\r\n\r\nprobe\r\n"),
    )
    .unwrap();
    let output = python(
        "send.py",
        node,
        &["probe@client.test", recipients, file.to_str().unwrap()],
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Checks the end of a run: every message answered 250 (`accepted`) is
/// in the mailbox exactly once, nothing is there twice, nothing is there
/// that nobody sent; answers the copies.
pub fn check_exactly_once(
    copies: &BTreeMap<String, usize>,
    accepted: &BTreeSet<String>,
    attempted: &BTreeSet<String>,
    logs: impl Fn() -> String,
) {
    let missing: Vec<&String> = accepted
        .iter()
        .filter(|id| !copies.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} messages answered 250 are not in the mailbox: {missing:?}; logs:\n{}",
        missing.len(),
        logs()
    );
    let twice: Vec<(&String, &usize)> = copies.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "copies made more than once: {twice:?}; logs:\n{}",
        logs()
    );
    let strangers: Vec<&String> = copies
        .keys()
        .filter(|id| !attempted.contains(*id))
        .collect();
    assert!(strangers.is_empty(), "messages nobody sent: {strangers:?}");
}

/// Waits until the queue tables are empty.
pub fn wait_for_empty_queue(db: &Database, deadline: Duration, logs: impl Fn() -> String) {
    let until = std::time::Instant::now() + deadline;
    loop {
        let rows = (
            postgres::count_in(db, "SELECT count(*) FROM queue_messages"),
            postgres::count_in(db, "SELECT count(*) FROM queue_recipients"),
        );
        if rows == (0, 0) {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "the queue tables still hold {rows:?}; logs:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
