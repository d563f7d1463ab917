//! The metrics after real traffic: python's smtplib sends mail to a real
//! server, `postern metrics` asks it for its figures through the control
//! socket, and python's `prometheus_client` (a parser nobody here wrote)
//! reads them, with its Prometheus and its OpenMetrics parser alike.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use support::outbound::Remote;
use support::{TestServer, eventually, free_port, postern, python};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery";

fn at(port: u16) -> SocketAddr {
    format!("127.0.0.1:{port}").parse().unwrap()
}

/// `postern metrics` for the server's configuration.
fn metrics_text(server: &TestServer) -> String {
    let output = postern()
        .arg("metrics")
        .arg("--config")
        .arg(server.config_path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The samples of `text` as prometheus_client reads them, by
/// `name{label=value,...}` (labels sorted).
fn parsed(text: &str, dir: &Path) -> BTreeMap<String, f64> {
    let file = dir.join("metrics.txt");
    std::fs::write(&file, text).unwrap();
    let output = python("metrics.py", at(0), &["parse", file.to_str().unwrap()]);
    serde_json::from_slice(&output.stdout).unwrap()
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
}

fn make_certificate(dir: &Path) {
    let output = postern()
        .current_dir(dir)
        .args(["cert", "self-signed", "--host", "127.0.0.1", "--force"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn counters_move_with_real_traffic_and_a_prometheus_parser_reads_them() {
    let [mx, smtps, closed, smarthost] = [0; 4].map(|_| free_port());
    // The smarthost answers the first DATA with 451: the relayed message
    // is deferred, waits in the queue, and goes on the next run.
    let sink = Remote::sink("127.0.0.1", smarthost, &["--tempfail", "1"]);
    let config = format!(
        r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[auth]
failure_delay = "0s"

[outbound]
retry_delays = ["1h"]

[outbound.smarthost]
host = "127.0.0.1:{smarthost}"
mode = "exclusive"
tls = "none"

[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:{mx}"

[[service]]
name = "smtps"
kind = "submission"
listen = "127.0.0.1:{smtps}"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[service]]
name = "closed"
kind = "smtp"
listen = "127.0.0.1:{closed}"
deny = ["127.0.0.0/8"]

[[domain]]
name = "example.test"
users = ["alice", "bob"]
"#
    );
    let server = TestServer::start_with_files(&config, at(mx), make_certificate);
    support::add_user(&server.config_path(), USER, PASSWORD);
    let cafile = server.dir.path().join("cert.pem");

    let before = parsed(&metrics_text(&server), server.dir.path());
    // (The harness connected to mx once to see it listening.)
    assert_eq!(
        value(
            &before,
            "postern_connections_total{instance=smtps,kind=submission}"
        ),
        0.0,
        "the instance is there before its first connection"
    );
    assert_eq!(
        value(&before, "postern_messages_accepted_total{instance=mx}"),
        0.0
    );

    let smtps_port = smtps.to_string();
    let closed_port = closed.to_string();
    let traffic = python(
        "metrics.py",
        at(mx),
        &[
            "traffic",
            &smtps_port,
            &closed_port,
            cafile.to_str().unwrap(),
            USER,
            PASSWORD,
        ],
    );
    let said = String::from_utf8_lossy(&traffic.stdout);
    for line in ["smtps: wrong password 535", "closed: refused 554", "sent"] {
        assert!(said.lines().any(|l| l == line), "{line:?} in {said}");
    }
    server.wait_for_delivery("alice", 3);
    server.wait_for_delivery("bob", 1);

    // The relayed message was deferred once and waits for its retry.
    let waiting = eventually(
        || parsed(&metrics_text(&server), server.dir.path()),
        |m| {
            m.get("postern_deliveries_total{result=deferred}") == Some(&1.0)
                && m.get("postern_deliveries_total{result=delivered}") == Some(&4.0)
        },
        |m| format!("not 1 deferred and 4 delivered in {m:#?}\n{}", server.log()),
    );
    assert_eq!(
        value(&waiting, "postern_queue_messages{state=waiting}"),
        1.0
    );
    let age = value(&waiting, "postern_queue_oldest_message_age_seconds{}");
    assert!((0.0..60.0).contains(&age), "{age}");
    let flushed = postern()
        .args(["queue", "flush", "--config"])
        .arg(server.config_path())
        .output()
        .unwrap();
    assert!(flushed.status.success(), "{flushed:?}");
    sink.wait_for("message", &server);

    let m = eventually(
        || parsed(&metrics_text(&server), server.dir.path()),
        |m| m.get("postern_deliveries_total{result=delivered}") == Some(&5.0),
        |m| format!("not 5 delivered in {m:#?}\n{}", server.log()),
    );
    let expected = [
        // One session on mx for its three messages, and two connections
        // to smtps; the denied one is refused, not admitted.
        ("postern_connections_total{instance=mx,kind=smtp}", 1.0),
        (
            "postern_connections_total{instance=smtps,kind=submission}",
            2.0,
        ),
        ("postern_connections_total{instance=closed,kind=smtp}", 0.0),
        (
            "postern_connections_refused_total{instance=closed,reason=access}",
            1.0,
        ),
        (
            "postern_connections_refused_total{instance=mx,reason=quota_total}",
            0.0,
        ),
        ("postern_messages_accepted_total{instance=mx}", 3.0),
        ("postern_messages_accepted_total{instance=smtps}", 2.0),
        ("postern_deliveries_total{result=delivered}", 5.0),
        ("postern_deliveries_total{result=deferred}", 1.0),
        ("postern_deliveries_total{result=bounced}", 0.0),
        ("postern_delivery_latency_seconds_count{}", 5.0),
        ("postern_queue_messages{state=waiting}", 0.0),
        ("postern_queue_messages{state=delivering}", 0.0),
        ("postern_queue_oldest_message_age_seconds{}", 0.0),
        ("postern_login_failures_total{protocol=submission}", 1.0),
        ("postern_login_failures_total{protocol=smtp}", 0.0),
        (
            "postern_tls_handshakes_total{instance=smtps,result=ok}",
            1.0,
        ),
        (
            "postern_tls_handshakes_total{instance=smtps,result=failed}",
            1.0,
        ),
    ];
    // Counters are compared by how far they moved since `before`.
    let mut wrong = Vec::new();
    for (series, expected) in expected {
        let counter = series.contains("_total{") || series.contains("_count{");
        let base = if counter {
            before.get(series).copied()
        } else {
            None
        };
        let moved = m.get(series).map(|now| now - base.unwrap_or(0.0));
        if moved != Some(expected) {
            wrong.push(format!("{series}: {moved:?}, expected {expected}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\nall: {m:#?}");
    // Every connection has ended: none is open (the server counts a
    // session as ended once its task finishes, just after the client
    // has gone).
    let m = eventually(
        || parsed(&metrics_text(&server), server.dir.path()),
        |m| {
            ["mx", "smtps", "closed"]
                .iter()
                .all(|i| m.get(&format!("postern_connections_open{{instance={i}}}")) == Some(&0.0))
        },
        |m| format!("connections still open in {m:#?}"),
    );
    // The local deliveries took well under the top bucket: all five are
    // within a minute of their receipt, the relayed one included.
    assert_eq!(
        value(&m, "postern_delivery_latency_seconds_bucket{le=60.0}"),
        5.0
    );
    let started = value(&m, "postern_start_time_seconds{}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - 120.0..=now).contains(&started), "{started} vs {now}");
}

#[test]
fn metrics_without_a_running_server_say_so() {
    let server = TestServer::prepare("");
    std::fs::create_dir_all(server.data()).unwrap();
    let output = postern()
        .arg("metrics")
        .arg("--config")
        .arg(server.config_path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no server is running"), "{stderr}");
}
