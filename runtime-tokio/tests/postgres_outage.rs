//! A node whose database goes away while it runs: its sessions answer
//! `451 4.3.0` (nothing acknowledged that could not be stored), the node
//! keeps running, and when the database is back the next message is
//! accepted and delivered. The cluster is stopped and started here, so
//! this file has it to itself (one test per process).

mod support;

use support::nodes::NodeConfig;
use support::postgres;
use support::{TestServer, python};

fn send(server: &TestServer, subject: &str) -> String {
    let message = server.dir.path().join(format!("{subject}.eml"));
    std::fs::write(
        &message,
        format!("From: carol@client.test\r\nSubject: {subject}\r\n\r\nbody\r\n"),
    )
    .unwrap();
    let output = python(
        "send.py",
        server.addr,
        &[
            "carol@client.test",
            "alice@example.test",
            message.to_str().unwrap(),
        ],
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn wait_for_empty_queue(db: &postgres::Database, server: &TestServer) {
    support::eventually(
        || postgres::count_in(db, "SELECT count(*) FROM queue_messages"),
        |&count| count == 0,
        |count| format!("{count} messages still queued; log:\n{}", server.log()),
    );
}

#[test]
fn with_the_database_down_a_node_answers_451_and_carries_on_when_it_is_back() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let server = NodeConfig::new(&db, 1).start();
    assert!(send(&server, "before").starts_with("OK"));
    postgres::wait_for_mailbox(&db, ("example.test", "alice"), 1, || server.log());
    wait_for_empty_queue(&db, &server);

    postgres::cluster().stop();
    let reply = send(&server, "during");
    assert!(
        reply.starts_with("DATA 451") && reply.contains("4.3.0"),
        "{reply}; log:\n{}",
        server.log()
    );
    // Still running, still answering.
    let reply = send(&server, "during again");
    assert!(reply.starts_with("DATA 451"), "{reply}");

    // Long enough for the claimer's poll and the listener to fail.
    std::thread::sleep(std::time::Duration::from_secs(3));
    postgres::cluster().start_server();
    // The pool connects again for the next commit.
    let reply = support::eventually(
        || send(&server, "after"),
        |reply| reply.starts_with("OK"),
        |reply| format!("{reply}; log:\n{}", server.log()),
    );
    assert!(reply.starts_with("OK"));
    let delivered = postgres::wait_for_mailbox(&db, ("example.test", "alice"), 2, || server.log());
    wait_for_empty_queue(&db, &server);
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("cannot claim due messages"), "{log}");
    assert!(
        log.contains("claiming from the shared queue again"),
        "{log}"
    );
    let subjects = postgres::subjects_of(&delivered);
    assert!(subjects.contains(&"before".to_owned()), "{subjects:?}");
    assert!(subjects.contains(&"after".to_owned()), "{subjects:?}");
    assert!(
        !subjects.iter().any(|s| s.starts_with("during")),
        "{subjects:?}"
    );
}
