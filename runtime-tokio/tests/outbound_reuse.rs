//! Outbound connection reuse over real sockets: the real `postern` relays
//! a burst of messages through an exclusive smarthost that is the aiosmtpd
//! sink (tests/clients/sink.py), which counts connections and
//! transactions, and hangs up when told to.

mod support;

use support::outbound::{Remote, origin};
use support::{TestServer, eventually, free_port, python};

/// Loopback addresses of this file's own, 127.0.N.2, apart from those
/// of outbound.rs (10 and up) and of each other.
fn net() -> u8 {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(200);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A sink at 127.0.N.2 with `options`, and our server relaying every
/// remote message to it as its exclusive smarthost, with `more` settings.
fn relay_through_sink(options: &[&str], more: &str) -> (Remote, TestServer) {
    let address = format!("127.0.{}.2", net());
    let port = free_port();
    let sink = Remote::sink(&address, port, options);
    let server = origin(&format!(
        "{more}\n[outbound.smarthost]\nhost = \"{address}:{port}\"\nmode = \"exclusive\"\ntls = \"none\""
    ));
    (sink, server)
}

/// Sends `count` messages over one session, to user0@dest.test, ...
fn burst(server: &TestServer, count: usize) {
    let output = python(
        "relay_burst.py",
        server.addr,
        &[&count.to_string(), "dest.test"],
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("OK {count}"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn wait_for_empty_queue(server: &TestServer) {
    eventually(
        || server.spool_queue().len(),
        |queued| *queued == 0,
        |queued| format!("{queued} still queued; log:\n{}", server.log()),
    );
}

/// How many times each of user0 .. user(count-1) reached the sink.
fn copies(sink: &Remote, count: usize) -> Vec<usize> {
    let messages = sink.events("message");
    (0..count)
        .map(|n| {
            let to = format!("user{n}@dest.test");
            messages
                .iter()
                .filter(|m| {
                    m["to"]
                        .as_array()
                        .is_some_and(|t| t.len() == 1 && t[0] == to)
                })
                .count()
        })
        .collect()
}

#[test]
fn a_burst_to_one_smarthost_shares_connections_and_arrives_once_each() {
    let count = 30;
    let (sink, server) = relay_through_sink(&[], "");
    burst(&server, count);
    sink.wait_for_messages(count, &server);
    wait_for_empty_queue(&server);
    let connections = sink.events("open").len();
    let transactions = sink.events("mail").len();
    println!("{count} messages: {connections} connections, {transactions} transactions");
    assert_eq!(copies(&sink, count), vec![1; count], "each exactly once");
    assert_eq!(transactions, count, "one transaction per message");
    assert!(
        connections * 3 <= count,
        "{connections} connections for {count} messages: too few reused; log:\n{}",
        server.log()
    );
}

#[test]
fn a_sink_hanging_up_at_mail_on_a_reused_connection_loses_and_repeats_nothing() {
    let count = 12;
    // The second MAIL on a reused connection is hung up on: that message
    // goes back untried and leaves on a new connection.
    let (sink, server) = relay_through_sink(&["--drop-at-mail", "2"], "");
    burst(&server, count);
    sink.wait_for_messages(count, &server);
    wait_for_empty_queue(&server);
    assert_eq!(sink.events("dropped").len(), 1);
    assert_eq!(
        copies(&sink, count),
        vec![1; count],
        "nothing lost or repeated"
    );
    let log = server.log();
    assert!(
        log.contains("goes back to the queue untried"),
        "the hung-up message was not counted an attempt; log:\n{log}"
    );
    assert!(
        !log.contains("deferred"),
        "nothing was deferred; log:\n{log}"
    );
}

#[test]
fn a_sink_hanging_up_mid_data_defers_only_that_message() {
    let count = 12;
    let (sink, server) = relay_through_sink(&["--drop-in-data", "5"], "");
    burst(&server, count);
    // Every message but the one in flight arrives at the first try.
    sink.wait_for_messages(count - 1, &server);
    let log = eventually(
        || server.log(),
        |log| log.contains("deferred"),
        |log| format!("no deferral in the log:\n{log}"),
    );
    assert_eq!(
        log.matches("deferred").count(),
        1,
        "only the message in flight is deferred; log:\n{log}"
    );
    // Its retry, brought forward.
    let flushed = support::postern()
        .args(["queue", "flush", "--config"])
        .arg(server.config_path())
        .output()
        .unwrap();
    assert!(flushed.status.success(), "{flushed:?}");
    sink.wait_for_messages(count, &server);
    wait_for_empty_queue(&server);
    assert_eq!(copies(&sink, count), vec![1; count], "nothing lost");
}
