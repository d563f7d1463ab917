//! TLS between a node and its database (`[storage] tls`, `ca_file`): a
//! node that requires TLS connects only over TLS to a server whose
//! certificate it can verify, and says what is wrong otherwise. The test
//! process has a cluster of its own, whose TLS this file turns on.

mod support;

use std::path::Path;
use support::nodes::NodeConfig;
use support::postgres::{self, Database};
use support::{postern, python};

/// A self-signed certificate for 127.0.0.1, made by `postern cert`:
/// `cert.pem` and `key.pem` in `dir`.
fn certificate(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let output = postern()
        .current_dir(dir)
        .args(["cert", "self-signed", "--host", "127.0.0.1", "--force"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    (
        std::fs::read(dir.join("cert.pem")).unwrap(),
        std::fs::read(dir.join("key.pem")).unwrap(),
    )
}

/// Node 1 on 127.0.0.1, on `db` with `tls` (lines of `[storage]`).
fn config<'a>(db: &'a Database, tls: &str) -> NodeConfig<'a> {
    NodeConfig::new(db, 1).host(1).lease("60s").with(tls)
}

/// `postern storage check` on `text`, with the password and `ca` (the
/// CA file's bytes) beside it: its status and what it printed.
fn check(text: &str, ca: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("postern.toml"), text).unwrap();
    std::fs::write(dir.path().join("db-ca.pem"), ca).unwrap();
    postgres::write_password(dir.path());
    let output = postern()
        .args(["storage", "check", "-c"])
        .arg(dir.path().join("postern.toml"))
        .env_remove("POSTERN_CONFIG")
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The node's connections to `db`, and how many of them are over TLS:
/// counted in one query, so both counts are of the same moment (with
/// two, a connection that closed between them, such as the storage
/// check's, made them differ).
fn connections(db: &Database) -> (i64, i64) {
    let sql = format!(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl) \
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
         WHERE a.datname = '{}' AND a.application_name = 'postern'",
        db.name
    );
    match postgres::rows_in(db, &sql, &[]).as_slice() {
        [row] => (row.get(0), row.get(1)),
        rows => panic!("{sql}: {} rows, not one", rows.len()),
    }
}

#[test]
fn a_node_that_requires_tls_uses_verified_tls_and_names_what_stops_it() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(certs.path());
    let required = "tls = \"required\"\nca_file = \"db-ca.pem\"\n";

    // The server offers no TLS yet: a node that requires it says so.
    let (ok, shown) = check(&config(&db, required).text(), &cert);
    assert!(!ok, "{shown}");
    assert!(shown.contains("over TLS"), "{shown}");
    assert!(shown.contains("must offer TLS (ssl = on)"), "{shown}");
    eprintln!("storage check with no TLS offered:\n{shown}");

    postgres::cluster().enable_tls(&cert, &key);

    // A certificate that chains to nothing the node trusts is refused.
    let (ok, shown) = check(&config(&db, "tls = \"required\"\n").text(), &cert);
    assert!(!ok, "{shown}");
    assert!(shown.contains("over TLS"), "{shown}");
    assert!(shown.contains("chains to `ca_file`"), "{shown}");
    eprintln!("storage check without the CA:\n{shown}");
    // With the CA named, it is accepted.
    let (ok, shown) = check(&config(&db, required).text(), &cert);
    assert!(ok, "{shown}");
    assert!(
        shown.contains("schema version"),
        "storage check reached the database: {shown}"
    );

    // A node running over TLS: its every connection is encrypted, and
    // mail flows through it into the database.
    let node = config(&db, required).start_with_files(|dir| {
        std::fs::write(dir.join("db-ca.pem"), &cert).unwrap();
    });
    let message = node.dir.path().join("m.eml");
    std::fs::write(
        &message,
        "From: carol@client.test\r\nTo: alice@example.test\r\nSubject: over tls\r\n\r\nbody\r\n",
    )
    .unwrap();
    let output = python(
        "send.py",
        node.addr,
        &[
            "carol@client.test",
            "alice@example.test",
            message.to_str().unwrap(),
        ],
    );
    let reply = String::from_utf8_lossy(&output.stdout);
    assert!(reply.starts_with("OK"), "{reply}");
    let texts = postgres::wait_for_mailbox(&db, ("example.test", "alice"), 1, || node.log());
    assert_eq!(postgres::subjects_of(&texts), ["over tls"]);
    let (all, encrypted) = connections(&db);
    assert!(all >= 2, "the node's pool and listeners: {all}");
    assert_eq!(encrypted, all, "every connection of the node over TLS");
}
