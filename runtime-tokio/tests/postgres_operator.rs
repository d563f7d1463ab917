//! What an operator does to nodes on PostgreSQL: a clean stop (SIGTERM)
//! gives the node's leases back, so another node takes its messages at
//! once, not when the leases would have run out; and `postern queue list |
//! flush | delete` on any node act on the whole shared queue. Real
//! processes, python's smtplib as the client, aiosmtpd sinks as the next
//! hops.

mod support;

use std::time::{Duration, Instant};
use support::nodes::NodeConfig;
use support::outbound::Remote;
use support::postgres::{self, Database};
use support::{TestServer, eventually, free_port, python};

/// The lease of the nodes that are stopped: far longer than the test may
/// wait.
const LEASE: &str = "60s";

/// Node `node_id` on 127.0.0.`host`, everything through the smarthost
/// at 127.0.0.1:`smarthost`, with a lease of [`LEASE`].
fn start_node(db: &Database, node_id: u16, host: u8, smarthost: u16) -> TestServer {
    start_node_with(db, node_id, host, smarthost, LEASE)
}

fn start_node_with(
    db: &Database,
    node_id: u16,
    host: u8,
    smarthost: u16,
    lease: &str,
) -> TestServer {
    NodeConfig::new(db, node_id)
        .host(host)
        .lease(lease)
        .smarthost(smarthost)
        .start()
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

/// `postern queue ARGS -c CONFIG`: its status, stdout and stderr.
fn queue_command(config: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = support::postern()
        .arg("queue")
        .args(args)
        .arg("-c")
        .arg(config)
        .env_remove("POSTERN_CONFIG")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The queue ID `server`'s log gives the message for `to`.
fn queue_id_for(server: &TestServer, to: &str) -> String {
    let log = server.log();
    let line = log
        .lines()
        .find(|line| line.contains("queued from=") && line.contains(&format!("to=<{to}>")))
        .unwrap_or_else(|| panic!("no queued line for {to}; log:\n{log}"));
    line.split("queue_id=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn the_queue_command_on_any_node_lists_flushes_and_deletes_in_the_whole_shared_queue() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    // Node 1's next hop never answers the data: node 1 holds its message.
    let stall_port = free_port();
    let stall = Remote::sink("127.0.0.1", stall_port, &["--data-delay", "600"]);
    // Node 2's next hop defers the first message (451), then takes all.
    let sink_port = free_port();
    let sink = Remote::sink("127.0.0.1", sink_port, &["--tempfail", "1"]);
    // One node at a time takes each message: a running node claims what
    // another commits.
    let mut second = start_node_with(&db, 2, 3, sink_port, "6s");
    send(&second, "deferred@remote.test", "deferred");
    eventually(
        || second.log(),
        |log| log.contains("released to the shared queue until its next attempt"),
        |log| format!("node 2 did not release the deferred message; log:\n{log}"),
    );
    let deferred = queue_id_for(&second, "deferred@remote.test");
    assert!(second.stop().success());
    let mut first = start_node_with(&db, 1, 2, stall_port, "6s");
    send(&first, "stalled@remote.test", "stalled");
    eventually(
        || stall.events("mail").len(),
        |&mails| mails >= 1,
        |_| format!("nothing reached the stalling hop; log:\n{}", first.log()),
    );
    // Node 2 again: the one message it could take waits for its retry.
    let second = start_node_with(&db, 2, 3, sink_port, "6s");
    let stalled = queue_id_for(&first, "stalled@remote.test");

    // Either node's command lists both messages, with who holds each.
    for node in [&first, &second] {
        let (ok, list, errors) = queue_command(&node.config_path(), &["list"]);
        assert!(ok, "queue list failed: {errors}");
        eprintln!("postern queue list on {}:\n{list}", node.addr);
        assert!(list.contains("2 messages in the shared queue"), "{list}");
        let after = |id: &str| {
            list.split(id)
                .nth(1)
                .unwrap_or_else(|| panic!("{id} not in:\n{list}"))
                .to_owned()
        };
        let stalled_entry = after(&stalled);
        assert!(
            stalled_entry.contains("<stalled@remote.test> (remote)"),
            "{list}"
        );
        assert!(
            stalled_entry.contains("held by node 1 \"node1\" (lease for"),
            "{list}"
        );
        let deferred_entry = after(&deferred);
        assert!(
            deferred_entry.contains("deferred 1 time, next attempt in 5m"),
            "{list}"
        );
        assert!(
            deferred_entry.contains("held by no node, next attempt in 5m"),
            "{list}"
        );
    }

    // Deleting node 1's message from node 2: node 1's lease is fenced.
    let (ok, deleted, errors) = queue_command(&second.config_path(), &["delete", &stalled]);
    assert!(ok, "queue delete failed: {errors}");
    assert_eq!(
        deleted.trim(),
        format!(
            "ok deleted {stalled}; node 1 \"node1\" held it: its writes for it are refused from now on"
        )
    );
    eventually(
        || first.log(),
        |log| log.contains(&format!("{stalled}: lease lost, another node has it")),
        |log| format!("node 1 did not notice; log:\n{log}"),
    );
    let (ok, _, errors) = queue_command(&second.config_path(), &["delete", &stalled]);
    assert!(!ok);
    assert!(
        errors.contains(&format!("no message {stalled} in the shared queue")),
        "{errors}"
    );

    // Flushing from node 1, stopped: node 2's deferred message goes now,
    // not in five minutes.
    assert!(first.stop().success());
    let (ok, flushed, errors) = queue_command(&first.config_path(), &["flush"]);
    assert!(ok, "queue flush failed: {errors}");
    assert!(
        flushed.starts_with("ok 1 message due now in the shared queue"),
        "{flushed}"
    );
    let messages = sink.wait_for_messages(1, &second);
    assert_eq!(messages[0]["to"][0], "deferred@remote.test");
    eventually(
        || postgres::count_in(&db, "SELECT count(*) FROM queue_messages"),
        |&left| left == 0,
        |left| format!("{left} messages left; log:\n{}", second.log()),
    );
    let (ok, list, _) = queue_command(&second.config_path(), &["list"]);
    assert!(
        ok && list.contains("0 messages in the shared queue"),
        "{list}"
    );
    assert!(stall.events("message").is_empty());
}

/// The first column of the first row of `sql` (an `UPDATE ...
/// RETURNING`, wrapped to count what it changed).
fn changed(db: &Database, update: &str) -> i64 {
    postgres::count_in(
        db,
        &format!("WITH changed AS ({update} RETURNING 1) SELECT count(*) FROM changed"),
    )
}

#[test]
fn a_damaged_message_is_set_aside_for_the_operator_and_the_rest_is_delivered() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    // The hop defers the first message (451), then takes all.
    let sink_port = free_port();
    let sink = Remote::sink("127.0.0.1", sink_port, &["--tempfail", "1"]);
    let node = start_node_with(&db, 1, 2, sink_port, "6s");
    send(&node, "damaged@remote.test", "damaged");
    eventually(
        || node.log(),
        |log| log.contains("released to the shared queue until its next attempt"),
        |log| format!("the message was not deferred; log:\n{log}"),
    );
    let damaged = queue_id_for(&node, "damaged@remote.test");
    // Its record no longer reads (two octets where a header and a record
    // should be), and it is due now.
    let key: u64 = damaged
        .parse::<postern_core::envelope::QueueId>()
        .unwrap()
        .0;
    assert_eq!(
        changed(
            &db,
            &format!(
                "UPDATE queue_messages SET record = '\\x00ff'::bytea, next_attempt = now() \
                 WHERE queue_id = {key}"
            ),
        ),
        1
    );
    send(&node, "fine@remote.test", "fine");

    let messages = sink.wait_for_messages(1, &node);
    assert_eq!(messages[0]["to"][0], "fine@remote.test");
    let moved = format!(
        "{damaged}: damaged spool entry moved aside to the shared queue's damaged messages"
    );
    eventually(
        || node.log(),
        |log| log.contains(&moved),
        |log| format!("not set aside; log:\n{log}"),
    );
    assert_eq!(
        postgres::count_in(
            &db,
            &format!(
                "SELECT count(*) FROM queue_damaged d JOIN queue_messages m USING (queue_id) \
                 WHERE d.queue_id = {key} AND m.lease_node IS NULL \
                   AND d.reason LIKE 'spool file cut short: 2 octets%'"
            ),
        ),
        1,
        "recorded with its reason, its lease given back"
    );
    // Set aside once: not claimed and read again.
    std::thread::sleep(Duration::from_secs(2));
    let log = node.log();
    assert_eq!(
        log.lines()
            .filter(|line| line.contains(&damaged) && line.contains("spool entry"))
            .count(),
        1,
        "one line for the damage; log:\n{log}"
    );

    let (ok, list, errors) = queue_command(&node.config_path(), &["list"]);
    assert!(ok, "queue list failed: {errors}");
    eprintln!("postern queue list:\n{list}");
    assert!(list.contains("0 messages in the shared queue"), "{list}");
    assert!(
        list.contains("DAMAGED (set aside in the database, not delivered)"),
        "{list}"
    );
    assert!(
        list.contains(&format!(
            "{damaged}  damaged: spool file cut short: 2 octets"
        )),
        "{list}"
    );
    assert!(
        list.contains("1 damaged message set aside; `postern queue delete ID` removes one"),
        "{list}"
    );

    let (ok, deleted, errors) = queue_command(&node.config_path(), &["delete", &damaged]);
    assert!(ok, "queue delete failed: {errors}");
    assert_eq!(deleted.trim(), format!("ok deleted {damaged}"));
    assert_eq!(
        postgres::count_in(&db, "SELECT count(*) FROM queue_damaged"),
        0
    );
    assert_eq!(
        postgres::count_in(&db, "SELECT count(*) FROM queue_messages"),
        0
    );
}
