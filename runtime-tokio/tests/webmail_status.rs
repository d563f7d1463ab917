//! The status page and `/metrics` of an HTTP instance over real sockets:
//! the instances with their addresses and connections, the queue and the
//! counts; the metrics parsed by the `prometheus_client` package after a
//! message sent from the webmail and a failed webmail login. An instance
//! that does not serve them answers `404`.

mod support;

use support::imap::assert_lines;
use support::python;
use support::web::{ALICE, ALICE_PASSWORD, BOB, WebWorld};

#[test]
fn the_status_page_lists_instances_queue_and_counts() {
    let world = WebWorld::start();
    world.deliver(
        BOB,
        "From: carol@remote.test\r\nTo: bob@example.test\r\nSubject: hi\r\n\r\nHi.\r\n",
    );
    let out = world.web("status", &[]);
    assert_lines(
        &out,
        &[
            "status: 200",
            "<h1>Status of mx.example.test</h1>",
            "<td>mx</td><td>smtp</td>",
            &format!("<td>{}</td>", world.smtp),
            "<td>web</td><td>http</td>",
            "messages accepted",
            "The queue is empty.",
        ],
    );
}

#[test]
fn metrics_parse_and_count_webmail_logins_and_sends() {
    let world = WebWorld::start();
    let failed = world.web("wrong-passwords", &[ALICE, ALICE_PASSWORD, "1"]);
    assert_lines(&failed, &["wrong 1: 403", "right password: 303"]);
    let sent = world.web("send", &[ALICE, ALICE_PASSWORD, BOB, "counted"]);
    assert_lines(&sent, &["send: 303"]);
    world.server.wait_for_delivery("bob", 1);
    let out = world.web("metrics", &[]);
    assert_lines(
        &out,
        &[
            "metrics: 200",
            "content-type: application/openmetrics-text; version=1.0.0; charset=utf-8",
            "sample: postern_login_failures_total{protocol=http} 1",
            "sample: postern_messages_accepted_total{instance=web} 1",
            "sample: postern_connections_open{instance=web} 1",
        ],
    );
    assert!(
        out.contains("sample: postern_deliveries_total{result=delivered} 1"),
        "{out}"
    );
}

#[test]
fn an_instance_that_does_not_serve_status_or_metrics_answers_404() {
    let world = WebWorld::start();
    let cafile = world.cafile();
    for path in ["status", "metrics"] {
        let out = python(
            "web.py",
            world.https,
            &[path, "--tls", cafile.to_str().unwrap()],
        );
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains(&format!("{path}: 404")), "{out}");
    }
}
