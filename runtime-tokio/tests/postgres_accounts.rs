//! The accounts are the database's with the postgres backend: an
//! account added with `postern user add` against node A's configuration
//! logs in at once on node B (SMTP AUTH with smtplib, IMAP with imaplib,
//! POP3 with poplib); a password changed on node B is the one node C
//! accepts, the old one refused; an account deleted on node A is refused
//! on every node. Nothing is written to a node's `accounts.toml`.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::nodes::NodeConfig;
use support::postgres::{self, Database};
use support::{TestServer, add_user, postern, python};

const USER: &str = "alice@example.test";
const FIRST: &str = "correct horse battery";
const SECOND: &str = "staple tuna sunrise";

struct Node {
    server: TestServer,
    submission: SocketAddr,
    imap: SocketAddr,
    pop3: SocketAddr,
}

/// Node `node_id` on 127.0.0.`host`; with `accounts`, its data directory
/// holds a copy of that file at start.
fn start_node(db: &Database, node_id: u16, host: u8, accounts: Option<&Path>) -> Node {
    let mut config = NodeConfig::new(db, node_id)
        .host(host)
        .with("[auth]\nfailure_delay = \"0s\"\nlockout_failures = 100\n");
    let submission = config.service("submission", "auth_without_tls = true");
    let imap = config.service("imap", "auth_without_tls = true");
    let pop3 = config.service("pop3", "auth_without_tls = true");
    let server = config.start_with_files(|dir| {
        if let Some(accounts) = accounts {
            std::fs::create_dir_all(dir.join("data")).unwrap();
            std::fs::copy(accounts, dir.join("data").join("accounts.toml")).unwrap();
        }
    });
    Node {
        server,
        submission,
        imap,
        pop3,
    }
}

/// One login by `protocol` on `node`: "ok" or "refused: ...".
fn login(node: &Node, protocol: &str, password: &str) -> String {
    let address = match protocol {
        "smtp" => node.submission,
        "imap" => node.imap,
        _ => node.pop3,
    };
    let output = python("login.py", address, &[protocol, USER, password]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Runs `postern user ARGS --config CONFIG`, `stdin` typed in.
fn run_user(config: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = postern()
        .arg("user")
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{stdin}").unwrap();
    child.wait_with_output().unwrap()
}

/// As [`run_user`], which must succeed; what it printed on its standard
/// output.
fn user(config: &Path, args: &[&str], stdin: &str) -> String {
    let output = run_user(config, args, stdin);
    assert!(output.status.success(), "postern user {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn an_account_changed_on_one_node_counts_at_once_on_every_node() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let nodes = [
        start_node(&db, 1, 2, None),
        start_node(&db, 2, 3, None),
        start_node(&db, 3, 4, None),
    ];
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let logs = || {
        nodes
            .iter()
            .map(|n| n.server.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };

    // Nobody yet: refused on B.
    assert!(login(b, "smtp", FIRST).starts_with("refused"), "{}", logs());

    // Added through node A's configuration: node B takes it at once.
    add_user(&a.server.config_path(), USER, FIRST);
    for protocol in ["smtp", "imap", "pop3"] {
        assert_eq!(
            login(b, protocol, FIRST),
            "ok",
            "{protocol} on B\n{}",
            logs()
        );
    }

    // Changed on node B: node C takes the new password, not the old.
    user(&b.server.config_path(), &["passwd", USER], SECOND);
    for protocol in ["smtp", "imap", "pop3"] {
        assert_eq!(
            login(c, protocol, SECOND),
            "ok",
            "{protocol} on C\n{}",
            logs()
        );
        assert!(
            login(c, protocol, FIRST).starts_with("refused"),
            "{protocol} on C took the old password\n{}",
            logs()
        );
    }

    // `user list` on C shows the one account.
    assert_eq!(user(&c.server.config_path(), &["list"], "").trim(), USER);

    // Deleted through node A: refused everywhere.
    user(&a.server.config_path(), &["del", USER], "");
    for node in &nodes {
        for protocol in ["smtp", "imap", "pop3"] {
            assert!(
                login(node, protocol, SECOND).starts_with("refused"),
                "{protocol} still accepted\n{}",
                logs()
            );
        }
    }

    // No node's own file was written.
    for node in &nodes {
        let file = node.server.dir.path().join("data").join("accounts.toml");
        assert!(!file.exists(), "{} was written", file.display());
        let log = node.server.log();
        assert!(
            log.contains("mailboxes, accounts, each mailbox's settings (vacation, forwarding, blocked senders) and the POP3 lock are shared in the database"),
            "{log}"
        );
        assert!(!log.contains("panicked"), "{log}");
    }
}

/// The first node on an empty set imports its own `accounts.toml`, and
/// says so; a node that starts later with a file of its own does not.
#[test]
fn the_first_node_imports_its_accounts_file_into_an_empty_database() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    // A node that ran on files had an account.
    let dir = tempfile::tempdir().unwrap();
    let files_config = dir.path().join("files.toml");
    std::fs::write(
        &files_config,
        "[server]\nhostname = \"old.example.test\"\ndata_dir = \"data\"\n\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n\n[[domain]]\nname = \"example.test\"\nusers = [\"alice\"]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    add_user(&files_config, USER, FIRST);
    let file = dir.path().join("data").join("accounts.toml");
    let a = start_node(&db, 1, 2, Some(&file));
    let log = a.server.log();
    assert!(log.contains("imported 1 accounts from"), "{log}");
    assert_eq!(login(&a, "imap", FIRST), "ok", "{log}");
    let b = start_node(&db, 2, 3, Some(&file));
    let log = b.server.log();
    assert!(!log.contains("imported"), "{log}");
    assert!(
        log.contains("is not read: the accounts are in the database"),
        "{log}"
    );
    assert_eq!(login(&b, "pop3", FIRST), "ok", "{log}");
}

/// An operator's `psql` holding the accounts row in an open transaction
/// for longer than the answer's deadline (10 s): `postern user passwd`
/// waits for the lock 8 s (`STORAGE_LOCK_TIMEOUT`) and then fails with
/// PostgreSQL's own words, rather than losing its connection to the
/// deadline with no word of the lock; once the holder commits, the same
/// command goes through.
#[test]
fn a_command_waiting_on_a_held_lock_fails_with_the_lock_timeout_then_works() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let node = start_node(&db, 1, 2, None);
    let config = node.server.config_path();
    add_user(&config, USER, FIRST);

    let (locked, wait_for_lock) = mpsc::channel();
    let client_config = db.client_config();
    let holder = std::thread::spawn(move || {
        postgres::blocking(async {
            let (mut client, connection) =
                client_config.connect(tokio_postgres::NoTls).await.unwrap();
            let connection = tokio::spawn(connection);
            let transaction = client.transaction().await.unwrap();
            transaction
                .batch_execute("SELECT 1 FROM shared_accounts FOR UPDATE")
                .await
                .unwrap();
            locked.send(()).unwrap();
            tokio::time::sleep(Duration::from_secs(12)).await;
            transaction.commit().await.unwrap();
            drop(client);
            let _ = connection.await;
        })
    });
    wait_for_lock.recv().unwrap();

    let started = Instant::now();
    let output = run_user(&config, &["passwd", USER], SECOND);
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("postern user passwd after {waited:?}: {output:?}");
    assert!(!output.status.success(), "{output:?}");
    assert!(stderr.contains("lock timeout"), "{stderr}");
    assert!(
        waited >= Duration::from_secs(7),
        "it waited for the lock: {waited:?}"
    );

    holder.join().unwrap();
    user(&config, &["passwd", USER], SECOND);
    assert_eq!(login(&node, "imap", SECOND), "ok", "{}", node.server.log());
    let log = node.server.log();
    assert!(!log.contains("panicked"), "{log}");
}
