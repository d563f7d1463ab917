//! Three nodes (127.0.0.2 to .4) on one PostgreSQL, under load from
//! python's smtplib to all three, while the database is stopped
//! (`pg_ctl stop -m fast`: every session cut off) and started again.
//! While it is down every node answers `451 4.3.0`, never `250`; no node
//! panics; each reconnects on its own; at the end every message
//! answered `250` is in the user's mailbox in the database exactly once
//! and the queue is empty. The cluster is stopped here, so this file has
//! it to itself (one test per process).

mod support;

use std::time::{Duration, Instant};
use support::nodes::{self, Load, NodeConfig};
use support::postgres;

/// How long the load runs, in seconds: before, during and after the
/// outage.
const LOAD_SECONDS: u32 = 16;
/// How long the database stays down: long enough for every node's
/// claimer (polling every 2 s) and listener to find it gone.
const DOWN_FOR: Duration = Duration::from_secs(4);

#[test]
fn three_nodes_answer_451_while_the_database_is_down_and_lose_nothing_acknowledged() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let nodes: Vec<_> = (1..=3).map(|id| NodeConfig::new(&db, id).start()).collect();
    let addrs: Vec<_> = nodes.iter().map(|node| node.addr).collect();
    let logs = || nodes::logs(&nodes);
    let work = tempfile::tempdir().unwrap();
    let load = Load::start(
        work.path(),
        &addrs,
        LOAD_SECONDS,
        3,
        Duration::from_secs(10),
    );

    // Some mail in before the fault.
    support::eventually(
        || postgres::count_in(&db, "SELECT count(*) FROM mail_messages"),
        |&n| n >= 20,
        |n| {
            format!(
                "{n} messages delivered before the outage; logs:\n{}",
                logs()
            )
        },
    );

    postgres::cluster().stop();
    let stopped_at = nodes::wall_clock();
    let down_since = Instant::now();
    let mut during = Vec::new();
    for (n, &addr) in addrs.iter().enumerate() {
        let id = format!("<during{n}@probe.test>");
        let reply = nodes::send_one(addr, &id, work.path());
        assert!(
            reply.starts_with("DATA 451") && reply.contains("4.3.0"),
            "node {}: {reply}; log:\n{}",
            n + 1,
            nodes[n].log()
        );
        during.push(id);
    }
    // The outage is the fault itself, not a wait for an outcome.
    std::thread::sleep(DOWN_FOR.saturating_sub(down_since.elapsed()));
    let starting_at = nodes::wall_clock();
    postgres::cluster().start_server();

    // Each node accepts again on its own (its pool connects anew).
    let mut after = Vec::new();
    for (n, &addr) in addrs.iter().enumerate() {
        let id = format!("<after{n}@probe.test>");
        support::eventually(
            || nodes::send_one(addr, &id, work.path()),
            |reply| reply.starts_with("OK"),
            |reply| format!("node {}: {reply}; log:\n{}", n + 1, nodes[n].log()),
        );
        after.push(id);
    }

    let outcomes = load.finish();
    // Not one 250 while the database was down (a second of margin each
    // side for replies to transactions committed just before the stop).
    let while_down: Vec<_> = outcomes
        .all
        .iter()
        .filter(|o| o.ok && o.at > stopped_at + 1.0 && o.at < starting_at)
        .collect();
    assert!(
        while_down.is_empty(),
        "answered 250 while the database was down: {while_down:?}"
    );
    let refused = outcomes
        .all
        .iter()
        .filter(|o| !o.ok && o.error.contains("451"))
        .count();
    let mut accepted = outcomes.accepted();
    let mut attempted = outcomes.attempted();
    accepted.extend(after.iter().cloned());
    attempted.extend(after.iter().cloned());
    assert!(accepted.len() >= 50, "only {} accepted", accepted.len());
    assert!(refused > 0, "the load met no 451: {:?}", outcomes.all);

    nodes::wait_for_empty_queue(&db, Duration::from_secs(60), logs);
    let copies = support::eventually(
        || nodes::copies(&db),
        |copies| accepted.iter().all(|id| copies.contains_key(id)),
        |copies| format!("{} of {} in the mailbox", copies.len(), accepted.len()),
    );
    nodes::check_exactly_once(&copies, &accepted, &attempted, logs);
    for id in &during {
        assert!(
            !copies.contains_key(id),
            "{id} was answered 451, yet delivered"
        );
    }
    for (n, node) in nodes.iter().enumerate() {
        let log = node.log();
        assert!(!log.contains("panicked"), "node {}: {log}", n + 1);
        assert!(
            log.contains("cannot claim due messages"),
            "node {} never found the database gone: {log}",
            n + 1
        );
        assert!(
            log.contains("claiming from the shared queue again"),
            "node {} did not claim again: {log}",
            n + 1
        );
    }
    println!(
        "{} messages sent, {} answered 250, {} answered 451 by the load, {} in the mailbox once each; database down {:.1}s",
        attempted.len(),
        accepted.len(),
        refused,
        copies.len(),
        starting_at - stopped_at
    );
}
