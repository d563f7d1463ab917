//! A node partitioned from the database: node 1 reaches PostgreSQL only
//! through a TCP proxy the test owns ([`support::proxy`]), node 2
//! directly. Under load from python's smtplib to both, the proxy turns
//! into a black hole (nothing passes, nothing is answered, connections
//! stay open). Then:
//!
//! - node 1 acknowledges nothing it cannot store: its sessions get
//!   `451 4.3.0`, within a bounded time (no wait on the database is
//!   without a deadline), never `250`;
//! - the leases node 1 held pass to node 2, which delivers those
//!   messages while the partition lasts;
//! - when the proxy heals, node 1 goes on (accepts again), and its late
//!   results are fenced: every message answered `250` is in the user's
//!   mailbox in the database exactly once, a remote recipient got a
//!   message at most twice, and the queue ends empty.
//!
//! And a node cut off in the middle of a send does not finish it once its
//! lease may have passed on: the node that claimed the message sends the
//! only copy.

mod support;

use postern_core::envelope::QueueId;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::free_port;
use support::nodes::{self, Load, NodeConfig};
use support::outbound::Remote;
use support::postgres::{self, Database};
use support::proxy::{Mode, Proxy};

/// How long the load runs, in seconds: before, during and after the
/// partition.
const LOAD_SECONDS: u32 = 24;
/// How long a session of the load may wait for an answer: longer than
/// any wait of the node's on the database should be.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(40);
/// The longest a partitioned node may take to answer `451`.
const ANSWER_BOUND: Duration = Duration::from_secs(25);

/// The queue IDs whose live lease node `node_id` holds.
fn held_by(db: &Database, node_id: u16) -> BTreeSet<i64> {
    postgres::ids_in(
        db,
        &format!(
            "SELECT queue_id FROM queue_messages \
             WHERE lease_node = {node_id} AND lease_expires > now()"
        ),
    )
    .into_iter()
    .collect()
}

fn still_queued(db: &Database, ids: &BTreeSet<i64>) -> Vec<i64> {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    postgres::ids_in(
        db,
        &format!(
            "SELECT queue_id FROM queue_messages WHERE queue_id IN ({})",
            list.join(",")
        ),
    )
}

/// Node `id` relaying through the smarthost at 127.0.0.1:`sink`.
fn node(db: &Database, id: u16, sink: u16) -> NodeConfig<'_> {
    NodeConfig::new(db, id)
        .with("[outbound]\nmax_connections = 8\nmax_connections_per_destination = 8\n")
        .smarthost(sink)
}

/// Node 1's `[storage]` table (leases of 5 s), which reaches the
/// database through `proxy`.
fn storage_through(db: &Database, proxy: &Proxy) -> String {
    postgres::storage_table(db, 1, "5s").replace(
        &format!("127.0.0.1:{}/", db.port),
        &format!("127.0.0.1:{}/", proxy.addr.port()),
    )
}

#[test]
fn a_node_cut_off_from_the_database_answers_451_its_leases_pass_on_and_its_late_results_are_fenced()
{
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], db.port)));
    let sink_port = free_port();
    // Remote copies take 3 s to be answered: the messages node 1 holds
    // when the partition comes have deliveries in flight.
    let sink = Remote::sink("127.0.0.1", sink_port, &["--data-delay", "3"]);
    let via_proxy = storage_through(&db, &proxy);
    let nodes = [
        node(&db, 1, sink_port).storage(via_proxy).start(),
        node(&db, 2, sink_port).start(),
    ];
    let addrs: Vec<_> = nodes.iter().map(|node| node.addr).collect();
    let logs = || nodes::logs(&nodes);
    let work = tempfile::tempdir().unwrap();
    let load = Load::start(work.path(), &addrs, LOAD_SECONDS, 3, CLIENT_TIMEOUT);
    support::eventually(
        || postgres::count_in(&db, "SELECT count(*) FROM mail_messages"),
        |&n| n >= 10,
        |n| {
            format!(
                "{n} messages delivered before the partition; logs:\n{}",
                logs()
            )
        },
    );

    // Messages for alice and a remote recipient through node 1, until
    // node 1 holds the lease of one (its remote copy in flight).
    let mut held_sent = BTreeSet::new();
    let mut held = BTreeSet::new();
    for k in 0..20 {
        let id = format!("<held{k}@probe.test>");
        let reply = nodes::send_to(
            addrs[0],
            &id,
            &format!("alice@example.test,held{k}@remote.test"),
            work.path(),
        );
        assert!(reply.starts_with("OK"), "{reply}");
        held_sent.insert(id);
        std::thread::sleep(Duration::from_millis(100));
        held = held_by(&db, 1);
        if !held.is_empty() {
            break;
        }
    }
    assert!(
        !held.is_empty(),
        "node 1 never held a lease; logs:\n{}",
        logs()
    );

    proxy.set(Mode::BlackHole);
    let cut_at = nodes::wall_clock();
    // Node 1 cannot store: 451, in bounded time. Node 2 goes on.
    let asked = Instant::now();
    let reply = nodes::send_one(addrs[0], "<cut@probe.test>", work.path());
    let took = asked.elapsed();
    assert!(
        reply.starts_with("DATA 451") && reply.contains("4.3.0"),
        "node 1 cut off answered: {reply}; log:\n{}",
        nodes[0].log()
    );
    assert!(took < ANSWER_BOUND, "node 1 took {took:?} to answer 451");
    let reply = nodes::send_one(addrs[1], "<beside-cut@probe.test>", work.path());
    assert!(reply.starts_with("OK"), "node 2: {reply}");

    // What node 1 held passes to node 2, which delivers it, while the
    // partition lasts.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let left = still_queued(&db, &held);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node 1's messages {left:?} were not delivered by node 2; logs:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let healed_at = nodes::wall_clock();
    proxy.set(Mode::Open);

    // Node 1 goes on.
    support::eventually(
        || nodes::send_one(addrs[0], "<healed@probe.test>", work.path()),
        |reply| reply.starts_with("OK"),
        |reply| {
            format!(
                "node 1 after the partition: {reply}; log:\n{}",
                nodes[0].log()
            )
        },
    );

    let outcomes = load.finish();
    let node1 = addrs[0].to_string();
    let while_cut: Vec<_> = outcomes
        .all
        .iter()
        .filter(|o| o.ok && o.server == node1 && o.at > cut_at + 1.0 && o.at < healed_at)
        .collect();
    assert!(
        while_cut.is_empty(),
        "node 1 answered 250 while cut off: {while_cut:?}"
    );
    let mut accepted = outcomes.accepted();
    let mut attempted = outcomes.attempted();
    for id in held_sent.iter().cloned().chain([
        "<beside-cut@probe.test>".into(),
        "<healed@probe.test>".into(),
    ]) {
        accepted.insert(id.clone());
        attempted.insert(id);
    }
    attempted.insert("<cut@probe.test>".into());

    nodes::wait_for_empty_queue(&db, Duration::from_secs(60), logs);
    let copies = support::eventually(
        || nodes::copies(&db),
        |copies| accepted.iter().all(|id| copies.contains_key(id)),
        |copies| format!("{} of {} in the mailbox", copies.len(), accepted.len()),
    );
    nodes::check_exactly_once(&copies, &accepted, &attempted, logs);
    // Remote copies: each held message's at least once, at most twice.
    std::thread::sleep(Duration::from_secs(1));
    let mut remote = std::collections::BTreeMap::<String, usize>::new();
    for event in sink.events("message") {
        for rcpt in event["to"].as_array().into_iter().flatten() {
            *remote
                .entry(rcpt.as_str().unwrap_or("").to_owned())
                .or_default() += 1;
        }
    }
    for k in 0..held_sent.len() {
        let rcpt = format!("held{k}@remote.test");
        let n = remote.get(&rcpt).copied().unwrap_or(0);
        assert!(
            (1..=2).contains(&n),
            "{rcpt} reached the sink {n} times: {remote:?}"
        );
    }
    let log = nodes[0].log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(!nodes[1].log().contains("panicked"), "{}", nodes[1].log());
    // Node 1's late writes are refused (a renewal or a result after the
    // heal finds the lease gone and says so), unless it had already let
    // go of the message when a write failed while cut: either way nothing
    // of it landed twice, as the counts above show.
    let fenced = log.matches("lease lost, another node has it").count();
    let held_ids: Vec<String> = held
        .iter()
        .map(|&id| QueueId(id as u64).to_string())
        .collect();
    println!(
        "{} messages sent, {} answered 250 ({} by node 1 while cut: none), {} in the mailbox once each; \
         node 1 held {held_ids:?} at the cut, answered 451 in {:.1}s while cut, logged {fenced} lost leases; \
         remote copies {remote:?}",
        attempted.len(),
        accepted.len(),
        while_cut.len(),
        copies.len(),
        took.as_secs_f64()
    );
}

#[test]
fn a_node_cut_off_mid_send_leaves_the_only_copy_to_the_node_that_claimed_the_message() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], db.port)));
    let sink_port = free_port();
    // Each RCPT is answered 8 s after it comes: node 1 is in the middle of
    // its send, its lease (5 s) running out, when the answer comes.
    let sink = Remote::sink("127.0.0.1", sink_port, &["--rcpt-delay", "8"]);
    let via_proxy = storage_through(&db, &proxy);
    let node1 = node(&db, 1, sink_port).storage(via_proxy).start();
    let work = tempfile::tempdir().unwrap();
    let reply = nodes::send_to(
        node1.addr,
        "<midsend@probe.test>",
        "far@remote.test",
        work.path(),
    );
    assert!(reply.starts_with("OK"), "{reply}; log:\n{}", node1.log());
    // Node 1 has sent its RCPT and waits for the answer: cut it off.
    support::eventually(
        || sink.events("rcpt").len(),
        |&n| n == 1,
        |n| format!("{n} RCPTs at the sink; log:\n{}", node1.log()),
    );
    proxy.set(Mode::BlackHole);
    // Node 2 claims the message once node 1's lease has run out, and sends
    // it; node 1 meanwhile has its answer (8 s after its RCPT), and sends
    // the data but not the final dot.
    let node2 = node(&db, 2, sink_port).start();
    let nodes = [node1, node2];
    let logs = || nodes::logs(&nodes);
    nodes::wait_for_empty_queue(&db, Duration::from_secs(40), logs);
    // Node 1's answer came before node 2's (each 8 s after its RCPT):
    // whatever node 1 would have sent has had its moment.
    std::thread::sleep(Duration::from_secs(1));
    let copies = sink.events("message");
    assert_eq!(
        copies.len(),
        1,
        "the sink got {} copies: {copies:?}; logs:\n{}",
        copies.len(),
        logs()
    );
    assert_eq!(sink.events("rcpt").len(), 2, "node 1's RCPT and node 2's");
    let reason = "lease on the message may have run out";
    support::eventually(
        || nodes[0].log(),
        |log| log.contains(reason),
        |log| format!("node 1 did not say why it stopped short; log:\n{log}"),
    );
    proxy.set(Mode::Open);
    let line = nodes[0]
        .log()
        .lines()
        .find(|line| line.contains(reason))
        .unwrap_or_default()
        .to_owned();
    println!("node 1: {line}");
}
