//! A clean stop (SIGTERM) of a node on PostgreSQL gives its leases back:
//! another node takes its messages at once, not when the leases would
//! have run out. Real processes, python's smtplib as the client, aiosmtpd
//! sinks as the next hops.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::outbound::Remote;
use support::postgres::{self, Database};
use support::{TestServer, eventually, free_port, python};

/// The lease of both nodes: far longer than the test may wait.
const LEASE: &str = "60s";

/// Node `node_id` on 127.0.0.`host`, everything through the smarthost
/// at 127.0.0.1:`smarthost`, with a lease of [`LEASE`].
fn start_node(db: &Database, node_id: u16, host: u8, smarthost: u16) -> TestServer {
    let addr: SocketAddr = format!("127.0.0.{host}:{}", free_port()).parse().unwrap();
    let config = format!(
        r#"
[server]
hostname = "node{node_id}.example.test"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{addr}"
relay = ["127.0.0.0/8"]

[[domain]]
name = "example.test"
users = ["alice"]

{storage}
[outbound]
[outbound.smarthost]
host = "127.0.0.1:{smarthost}"
mode = "exclusive"
tls = "none"
"#,
        storage = postgres::storage_table(db, node_id, LEASE)
    );
    TestServer::start_with_files(&config, addr, |dir| postgres::write_password(dir))
}

fn send(server: &TestServer, to: &str, subject: &str) {
    let message = server.dir.path().join(format!("{subject}.eml"));
    let text = format!("From: carol@client.test\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nbody\r\n");
    std::fs::write(&message, text).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &["carol@client.test", to, message.to_str().unwrap()],
    );
    let reply = String::from_utf8_lossy(&output.stdout);
    assert!(reply.starts_with("OK"), "{reply}");
}

#[test]
fn a_node_stopped_cleanly_gives_its_leases_to_another_node_at_once() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let sink_port = free_port();
    let sink = Remote::sink("127.0.0.1", sink_port, &[]);
    // Node 1's next hop takes the data and never answers it: node 1 holds
    // the leases of its messages while it waits.
    let stall_port = free_port();
    let stall = Remote::sink("127.0.0.1", stall_port, &["--data-delay", "600"]);
    let mut first = start_node(&db, 1, 2, stall_port);
    for n in 0..3 {
        send(
            &first,
            &format!("held{n}@remote.test"),
            &format!("held {n}"),
        );
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
    assert_eq!(held, 3, "node 1 holds the three it is sending");
    // Node 2 runs, to a sink that answers, and finds nothing to claim.
    let second = start_node(&db, 2, 3, sink_port);
    std::thread::sleep(Duration::from_secs(1));
    assert!(sink.events("mail").is_empty(), "node 2 took nothing yet");

    let stopping = Instant::now();
    assert!(
        first.stop().success(),
        "a clean exit; log:\n{}",
        first.log()
    );
    sink.wait_for_messages(3, &second);
    let taken_over = stopping.elapsed();
    assert!(
        taken_over < Duration::from_secs(20),
        "node 2 delivered node 1's messages {taken_over:?} after the stop, with a lease of {LEASE}"
    );
    assert!(
        first
            .log()
            .contains("released 3 of 3 leases to the shared queue"),
        "node 1 says so; log:\n{}",
        first.log()
    );
    let mut remote: Vec<String> = sink
        .events("message")
        .iter()
        .map(|m| m["to"][0].as_str().unwrap().to_owned())
        .collect();
    remote.sort();
    assert_eq!(
        remote,
        [
            "held0@remote.test",
            "held1@remote.test",
            "held2@remote.test"
        ],
        "each message once at the sink that answers"
    );
    eprintln!("node 2 delivered node 1's 3 messages {taken_over:?} after SIGTERM (lease {LEASE})");
}
