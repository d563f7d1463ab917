//! kill -9 in the middle of local deliveries into the database: node 1
//! takes large messages (1 MiB), each for three local users, and is
//! killed with SIGKILL while its copies are under way: the test holds
//! carol's INBOX row locked, so node 1's copies for carol wait inside
//! their transactions (the copy's data written, the message's queue row
//! locked) while alice's and bob's are made. Node 2 then claims the
//! messages when the leases run out and finishes them. Every message answered `250` ends with exactly one copy
//! in each recipient's INBOX (the copy, its delivery key and the result
//! are one transaction, fenced by the lease), and the queue is empty.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::TestServer;
use support::nodes::NodeConfig;
use support::postgres::{self, Database};

const USERS: [&str; 3] = ["alice", "bob", "carol"];
const MESSAGES: usize = 6;
/// Octets of each message's body: the copies take a while to make.
const BODY_BYTES: usize = 1024 * 1024;

fn start_node(db: &Database, node_id: u16) -> TestServer {
    NodeConfig::new(db, node_id).users(&USERS).start()
}

/// Sends message `n` to all three users through `node`; answers whether
/// it was answered 250 (a node killed meanwhile answers nothing).
fn send(node: SocketAddr, n: usize, dir: &Path) -> bool {
    let file = dir.join(format!("m{n}.eml"));
    let line = "x".repeat(76);
    let mut body = String::with_capacity(BODY_BYTES + 100);
    while body.len() < BODY_BYTES {
        body.push_str(&line);
        body.push_str("\r\n");
    }
    std::fs::write(
        &file,
        format!(
            "From: big@client.test\r\nMessage-ID: <m{n}@kill.test>\r\nSubject: m{n}\r\n\r\n{body}"
        ),
    )
    .unwrap();
    let rcpts: Vec<String> = USERS.iter().map(|u| format!("{u}@example.test")).collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/send.py");
    let output = Command::new("python3")
        .arg(script)
        .args([
            &node.ip().to_string(),
            &node.port().to_string(),
            "big@client.test",
        ])
        .arg(rcpts.join(","))
        .arg(&file)
        .output()
        .expect("python3");
    String::from_utf8_lossy(&output.stdout).starts_with("OK")
}

/// Copies in the database, by (user, Message-ID).
fn copies(db: &Database) -> BTreeMap<(String, String), i64> {
    // The copy's first chunk is its delivery headers; the message's own
    // header section starts the second.
    let rows = postgres::rows_in(
        db,
        "SELECT f.username, \
           substring(convert_from(substring(c.data from 1 for 400), 'UTF8') \
             from 'Message-ID: (<[^>]*>)'), count(*) \
         FROM mail_messages m \
         JOIN mail_folders f ON f.folder_id = m.folder_id \
         JOIN blob_chunks c ON c.blob_id = m.blob_id AND c.seq = 1 \
         WHERE f.name = 'INBOX' GROUP BY 1, 2",
        &[],
    );
    rows.iter()
        .map(|row| {
            let id: Option<String> = row.get(1);
            ((row.get(0), id.unwrap_or_default()), row.get(2))
        })
        .collect()
}

fn held_by(db: &Database, node_id: u16) -> i64 {
    postgres::count_in(
        db,
        &format!(
            "SELECT count(*) FROM queue_messages \
             WHERE lease_node = {node_id} AND lease_expires > now()"
        ),
    )
}

#[test]
fn a_node_killed_mid_delivery_leaves_exactly_one_copy_per_recipient() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let mut node1 = start_node(&db, 1);
    let work = tempfile::tempdir().unwrap();
    // A first message makes the three mailboxes.
    assert!(send(node1.addr, 0, work.path()));
    support::eventually(
        || postgres::count_in(&db, "SELECT count(*) FROM mail_messages"),
        |&n| n == 3,
        |n| format!("{n} copies of the first message; log:\n{}", node1.log()),
    );

    // The test holds carol's INBOX (its UID counter) in a transaction of
    // its own: node 1's copies for carol wait inside their transactions,
    // each holding its message's queue row, the copy's data written.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let holder = runtime.block_on(async {
        let client = postgres::look(&db).await;
        client
            .batch_execute(
                "BEGIN; SELECT 1 FROM mail_folders \
                 WHERE username = 'carol' AND name = 'INBOX' FOR UPDATE",
            )
            .await
            .unwrap();
        client
    });
    let mut accepted = vec![0];
    for n in 1..MESSAGES {
        assert!(send(node1.addr, n, work.path()), "message {n}");
        accepted.push(n);
    }
    // Kill when node 1 is inside a delivery: a session of its waits for
    // the lock, and it holds leases.
    support::eventually(
        || {
            (
                postgres::count_in(
                    &db,
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE application_name = 'postern' AND wait_event_type = 'Lock'",
                ),
                held_by(&db, 1),
            )
        },
        |&(waiting, held)| waiting > 0 && held > 0,
        |seen| {
            format!(
                "node 1 is not inside a delivery: {seen:?}; log:\n{}",
                node1.log()
            )
        },
    );
    let held = held_by(&db, 1);
    let made = postgres::count_in(&db, "SELECT count(*) FROM mail_messages");
    node1.kill9();
    runtime.block_on(async { holder.batch_execute("ROLLBACK").await.unwrap() });
    drop(holder);

    // Another node takes over when the leases run out.
    let node2 = start_node(&db, 2);
    let logs = || format!("{}\n----\n{}", node1.log(), node2.log());
    support::nodes::wait_for_empty_queue(&db, Duration::from_secs(60), logs);
    let copies = copies(&db);
    for &n in &accepted {
        for user in USERS {
            let key = (user.to_owned(), format!("<m{n}@kill.test>"));
            assert_eq!(
                copies.get(&key).copied().unwrap_or(0),
                1,
                "{key:?}: {copies:?}; logs:\n{}",
                logs()
            );
        }
    }
    assert_eq!(copies.len(), MESSAGES * USERS.len(), "{copies:?}");
    assert!(!node2.log().contains("panicked"), "{}", node2.log());
    println!(
        "node 1 killed holding {held} leases with {made} of {} copies made; \
         node 2 finished: {} copies, one per recipient and message",
        MESSAGES * USERS.len(),
        copies.len()
    );
}
