//! `postern run` on PostgreSQL: real processes, a real database, python's
//! smtplib as the client and aiosmtpd sinks as the next hop. Sessions
//! commit to the shared queue before the `250`; nodes claim what is due,
//! deliver it (local copies into the mailboxes in the database, remote
//! ones through the smarthost), and a node killed while it holds leases loses nothing:
//! another node delivers once the leases run out.

mod support;

use std::path::Path;
use support::nodes::NodeConfig;
use support::outbound::Remote;
use support::postgres::{self, Database};
use support::{TestServer, eventually, free_port, python};

/// Node `node_id` on 127.0.0.`host`, mail for example.test (alice) kept
/// in the database, everything else through the smarthost at
/// 127.0.0.1:`smarthost`.
fn start_node(db: &Database, node_id: u16, host: u8, smarthost: u16) -> TestServer {
    NodeConfig::new(db, node_id)
        .host(host)
        .smarthost(smarthost)
        .start()
}

/// Sends one message with smtplib; answers what send.py printed.
fn send(server: &TestServer, to: &str, subject: &str) -> String {
    send_from(server, "carol@client.test", to, subject, "")
}

/// Sends one message from `from`, with `more` after the first line of
/// its body.
fn send_from(server: &TestServer, from: &str, to: &str, subject: &str, more: &str) -> String {
    let message = server.dir.path().join(format!("{subject}.eml"));
    let text = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n{more}"
    );
    std::fs::write(&message, text).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &[from, to, message.to_str().unwrap()],
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

const ALICE: (&str, &str) = ("example.test", "alice");

/// The texts of alice's messages in the database.
fn inbox(db: &Database) -> Vec<String> {
    postgres::mailbox_texts(db, ALICE.0, ALICE.1, "INBOX")
}

fn queue_rows(db: &Database) -> (i64, i64, i64) {
    (
        postgres::count_in(db, "SELECT count(*) FROM queue_messages"),
        postgres::count_in(db, "SELECT count(*) FROM queue_recipients"),
        // The queue's blobs (positive IDs); the mailboxes' stay.
        postgres::count_in(db, "SELECT count(*) FROM blobs WHERE blob_id > 0"),
    )
}

fn wait_for_empty_queue(db: &Database, servers: &[&TestServer]) {
    eventually(
        || queue_rows(db),
        |rows| *rows == (0, 0, 0),
        |rows| {
            let logs: Vec<String> = servers.iter().map(|s| s.log()).collect();
            format!(
                "the queue tables still hold {rows:?}; logs:\n{}",
                logs.join("\n----\n")
            )
        },
    );
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

#[test]
fn a_node_on_postgres_delivers_locally_once_and_remotely_and_the_queue_ends_empty() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let sink_port = free_port();
    let sink = Remote::sink(
        "127.0.0.1",
        sink_port,
        &["--reject-to", "nobody@remote.test"],
    );
    let node = start_node(&db, 1, 2, sink_port);

    assert!(send(&node, "alice@example.test", "local one").starts_with("OK"));
    assert!(send(&node, "dave@remote.test", "remote one").starts_with("OK"));
    assert!(send(&node, "alice@example.test,erin@remote.test", "both").starts_with("OK"));

    // Larger than the session's buffer: committed from the file in
    // spool/incoming, streamed in chunks.
    let large: String = (0..12_000)
        .map(|n| format!("line {n:05} of a large message, long enough to fill the buffer\r\n"))
        .collect();
    assert!(large.len() > 700_000);
    let reply = send_from(
        &node,
        "carol@client.test",
        "alice@example.test",
        "large",
        &large,
    );
    assert!(reply.starts_with("OK"), "{reply}; log:\n{}", node.log());
    // Refused for good by the next hop: the bounce is committed to the
    // shared queue like any message, and delivered to alice.
    let reply = send_from(
        &node,
        "alice@example.test",
        "nobody@remote.test",
        "refused",
        "",
    );
    assert!(reply.starts_with("OK"), "{reply}");

    let copies = postgres::wait_for_mailbox(&db, ALICE, 4, || node.log());
    let messages = sink.wait_for_messages(2, &node);
    wait_for_empty_queue(&db, &[&node]);
    // Settled: nothing more arrives.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let mut local = postgres::subjects_of(&inbox(&db));
    local.sort();
    let bounces: Vec<String> = local
        .iter()
        .filter(|s| !["both", "large", "local one"].contains(&s.as_str()))
        .cloned()
        .collect();
    assert_eq!(bounces.len(), 1, "alice got one bounce: {local:?}");
    local.retain(|s| !bounces.contains(s));
    assert_eq!(
        local,
        ["both", "large", "local one"],
        "each local copy once"
    );
    assert_eq!(copies.len(), 4);
    let large_copy = inbox(&db)
        .into_iter()
        .find(|text| text.contains("Subject: large"))
        .unwrap();
    assert!(
        large_copy.ends_with(&large),
        "the large message arrived whole"
    );
    // Nothing in the node's own Maildirs: every node reads the database.
    assert!(node.delivered("alice").is_empty());
    let mut remote: Vec<String> = sink
        .events("message")
        .iter()
        .map(|m| m["to"][0].as_str().unwrap().to_owned())
        .collect();
    remote.sort();
    assert_eq!(
        remote,
        ["dave@remote.test", "erin@remote.test"],
        "{messages:?}"
    );
    // The database held the messages: nothing was left in the spool's
    // directories.
    assert!(is_empty(&node.data().join("spool/queue")));
    assert!(is_empty(&node.data().join("spool/incoming")));
    let log = node.log();
    assert!(log.contains("joined the shared queue"), "{log}");
    assert_eq!(
        postgres::count_in(&db, "SELECT count(*) FROM nodes WHERE node_id = 1"),
        1
    );
}

#[test]
fn two_nodes_deliver_every_message_once_and_a_killed_nodes_leases_pass_to_the_other() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let sink_port = free_port();
    let sink = Remote::sink("127.0.0.1", sink_port, &[]);
    // Node 1's next hop takes the data and never answers it: node 1 holds
    // the leases of its remote messages while it waits.
    let stall_port = free_port();
    let stall = Remote::sink("127.0.0.1", stall_port, &["--data-delay", "600"]);
    let mut first = start_node(&db, 1, 2, stall_port);
    for n in 0..3 {
        let reply = send(
            &first,
            &format!("stalled{n}@remote.test"),
            &format!("stalled {n}"),
        );
        assert!(reply.starts_with("OK"), "{reply}");
    }
    eventually(
        || stall.events("mail").len(),
        |&mails| mails >= 2,
        |mails| {
            format!(
                "{mails} of 2 reached the stalling hop; log:\n{}",
                first.log()
            )
        },
    );
    let held = postgres::count_in(
        &db,
        "SELECT count(*) FROM queue_messages WHERE lease_node = 1 AND lease_expires > now()",
    );
    // Two are in DATA (two connections to one destination at most), the
    // third waits for a connection: node 1 holds all three.
    assert_eq!(held, 3, "node 1 holds the three it is sending");
    first.kill9();

    // Node 2 (on 127.0.0.3) and node 3 (on 127.0.0.2), both to the sink
    // that answers: node 1's messages pass to one of them once its
    // leases run out.
    let second = start_node(&db, 2, 3, sink_port);
    let third = start_node(&db, 3, 2, sink_port);
    for n in 0..4 {
        for (node, name) in [(&second, "b"), (&third, "c")] {
            let subject = format!("{name} {n}");
            let reply = send(
                node,
                &format!("alice@example.test,{name}{n}@remote.test"),
                &subject,
            );
            assert!(reply.starts_with("OK"), "{reply}");
        }
    }
    sink.wait_for_messages(3 + 8, &second);
    wait_for_empty_queue(&db, &[&second, &third]);
    std::thread::sleep(std::time::Duration::from_secs(1));

    let mut remote: Vec<String> = sink
        .events("message")
        .iter()
        .map(|m| m["to"][0].as_str().unwrap().to_owned())
        .collect();
    remote.sort();
    let mut expected: Vec<String> = (0..3).map(|n| format!("stalled{n}@remote.test")).collect();
    for n in 0..4 {
        expected.push(format!("b{n}@remote.test"));
        expected.push(format!("c{n}@remote.test"));
    }
    expected.sort();
    assert_eq!(remote, expected, "every remote message once");
    let mut local = postgres::subjects_of(&inbox(&db));
    local.sort();
    let mut expected: Vec<String> = (0..4)
        .flat_map(|n| [format!("b {n}"), format!("c {n}")])
        .collect();
    expected.sort();
    assert_eq!(
        local, expected,
        "every local message once, whichever node delivered it"
    );
    assert!(
        stall.events("message").is_empty(),
        "the stalled hop never took a message"
    );
}

#[test]
fn a_node_with_messages_left_in_its_spool_queue_refuses_to_run_on_postgres() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("postern.toml");
    let text = NodeConfig::new(&db, 1).smarthost(free_port()).text();
    std::fs::write(&config, text).unwrap();
    postgres::write_password(dir.path());
    // A message committed while the node ran on files.
    let queue = dir.path().join("data/spool/queue");
    std::fs::create_dir_all(&queue).unwrap();
    std::fs::write(queue.join("1K1J2JPKJKA01"), b"a spool file").unwrap();
    let shown = support::run_expecting_failure(&config);
    assert!(
        shown.contains("spool/queue holds 1 message(s) committed with backend \"files\""),
        "{shown}"
    );
    assert!(
        shown.contains("until `postern queue list` shows the queue empty"),
        "{shown}"
    );
    assert!(
        queue.join("1K1J2JPKJKA01").exists(),
        "the message is left alone"
    );
}

#[test]
fn a_node_renews_its_lease_through_a_delivery_longer_than_the_lease() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    // The next hop answers the data after 10 s; the lease is 5 s.
    let sink_port = free_port();
    let sink = Remote::sink("127.0.0.1", sink_port, &["--data-delay", "10"]);
    let first = start_node(&db, 1, 2, sink_port);
    let second = start_node(&db, 2, 3, sink_port);
    let reply = send(&first, "dave@remote.test", "slow");
    assert!(reply.starts_with("OK"), "{reply}");
    // Whichever node claimed it (both heard the commit) is sending it.
    sink.wait_for("mail", &first);
    // Past the lease and more than one claim poll later: had the lease
    // not been renewed, a node would have claimed the message again
    // (counter 2), and the other node would have sent it a second time.
    std::thread::sleep(std::time::Duration::from_millis(7_500));
    assert_eq!(
        postgres::count_in(
            &db,
            "SELECT count(*) FROM queue_messages \
             WHERE lease_counter = 1 AND lease_expires > now()"
        ),
        1,
        "the first claim still holds; logs:\n{}\n----\n{}",
        first.log(),
        second.log()
    );
    sink.wait_for_messages(1, &first);
    wait_for_empty_queue(&db, &[&first, &second]);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(sink.events("message").len(), 1, "sent once");
    assert_eq!(sink.events("mail").len(), 1, "one transaction only");
}
