//! Outbound delivery over real sockets on loopback: MX records from a
//! local DNS server (dnsmasq), remote servers that are Postfix's
//! smtp-sink, a scripted aiosmtpd server, or a second postern.

mod support;

use std::process::{Command, Stdio};
use support::outbound::{Dns, Remote, origin};
use support::{TestServer, eventually, free_port, postern, python};

/// Each test's remote servers live on loopback addresses of their own,
/// 127.0.N.x, so that tests running at once never reach each other's.
fn net() -> u8 {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(10);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Sends one message from alice@origin.test with python's smtplib.
fn send(server: &TestServer, to: &str) {
    let path = server
        .dir
        .path()
        .join(format!("message-{}.eml", to.replace(['@', ','], "_")));
    std::fs::write(&path, format!("From: alice@origin.test\r\nTo: {to}\r\nSubject: outbound\r\n\r\nHello there.\r\n.dot line\r\n")).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &["alice@origin.test", to, path.to_str().unwrap()],
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
}

fn wait_for_log(server: &TestServer, text: &str) -> String {
    eventually(
        || server.log(),
        |log| log.contains(text),
        |log| format!("no {text:?} in the log:\n{log}"),
    )
}

/// Runs `postern queue list` until its output contains `text`.
fn wait_for_queue_list(server: &TestServer, text: &str) -> String {
    eventually(
        || {
            let output = postern()
                .args(["queue", "list", "--config"])
                .arg(server.config_path())
                .output()
                .unwrap();
            String::from_utf8_lossy(&output.stdout).into_owned()
        },
        |list| list.contains(text),
        |list| format!("no {text:?} in:\n{list}"),
    )
}

fn wait_for_empty_queue(server: &TestServer) {
    eventually(
        || server.spool_queue().len(),
        |queued| *queued == 0,
        |queued| format!("{queued} still queued; log:\n{}", server.log()),
    );
}

/// One test's small Internet: its own loopback block 127.0.N.x, a free
/// port that every remote server there listens on, and a DNS server.
struct World {
    n: u8,
    port: u16,
    dns: Dns,
}

impl World {
    /// `dest.test` with one exchanger, mx1, at 127.0.N.2.
    fn one_mx() -> World {
        World::with_records(|n| {
            vec![
                "--mx-host=dest.test,mx1.dest.test,10".to_owned(),
                format!("--host-record=mx1.dest.test,127.0.{n}.2"),
            ]
        })
    }

    fn with_records(records: impl Fn(u8) -> Vec<String>) -> World {
        let n = net();
        let records = records(n);
        let records: Vec<&str> = records.iter().map(String::as_str).collect();
        World {
            n,
            port: free_port(),
            dns: Dns::start(&records),
        }
    }

    /// 127.0.N.`host`.
    fn address(&self, host: u8) -> String {
        format!("127.0.{}.{host}", self.n)
    }

    fn sink(&self, host: u8, options: &[&str]) -> Remote {
        Remote::sink(&self.address(host), self.port, options)
    }

    /// Our server, resolving through this world's DNS, delivering to its
    /// port, with `more` [outbound] settings.
    fn origin(&self, more: &str) -> TestServer {
        origin(&format!(
            "port = {}\nnameservers = [\"127.0.0.1:{}\"]\n{more}",
            self.port, self.dns.port
        ))
    }

    /// An `[outbound.smarthost]` table for 127.0.N.`host` on the port.
    fn smarthost(&self, host: u8, mode: &str) -> String {
        format!(
            "\n[outbound.smarthost]\nhost = \"{}:{}\"\nmode = \"{mode}\"",
            self.address(host),
            self.port
        )
    }
}

/// dest.test with two exchangers: mx1 at 127.0.N.2, mx2 at 127.0.N.3.
fn two_mx() -> World {
    World::with_records(|n| {
        vec![
            "--mx-host=dest.test,mx1.dest.test,10".to_owned(),
            "--mx-host=dest.test,mx2.dest.test,20".to_owned(),
            format!("--host-record=mx1.dest.test,127.0.{n}.2"),
            format!("--host-record=mx2.dest.test,127.0.{n}.3"),
        ]
    })
}

#[test]
fn delivery_to_the_mx_found_through_a_local_dns_server() {
    let world = two_mx();
    // mx1 (preferred) is Postfix's smtp-sink; mx2 would record the message.
    let mut smtp_sink = Command::new("smtp-sink")
        .args(["-u", "nobody", "-c"])
        .arg(format!("{}:{}", world.address(2), world.port))
        .arg("100")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("smtp-sink (Debian package postfix) is needed");
    let backup = world.sink(3, &[]);
    let server = world.origin("");
    send(&server, "bob@dest.test");
    let log = wait_for_log(
        &server,
        "to=<bob@dest.test> delivered via mx1.dest.test: 250 2.0.0 Ok",
    );
    wait_for_empty_queue(&server);
    assert!(backup.events("message").is_empty(), "{log}");
    let _ = smtp_sink.kill();
    let _ = smtp_sink.wait();
}

#[test]
fn a_refusing_mx_is_passed_over_for_the_next_preference() {
    let world = two_mx();
    // Nothing listens on mx1: connection refused; mx2 takes it.
    let mx2 = world.sink(3, &[]);
    let server = world.origin("");
    send(&server, "bob@dest.test");
    let messages = mx2.wait_for_messages(1, &server);
    assert_eq!(messages[0]["to"][0], "bob@dest.test");
    assert_eq!(messages[0]["from"], "alice@origin.test");
    let data = messages[0]["data"].as_str().unwrap();
    assert!(
        data.contains("\r\n.dot line\r\n"),
        "dot-stuffing round trip: {data:?}"
    );
    assert!(data.starts_with("Received: from client.test"), "{data:?}");
    wait_for_log(&server, "delivered via mx2.dest.test");
}

#[test]
fn exclusive_smarthost_with_auth_never_goes_direct() {
    let world = World::one_mx();
    let direct = world.sink(2, &[]);
    let smarthost = world.sink(4, &["--auth", "relay:s3cret"]);
    // This sink has no TLS: sending the password in clear must be chosen.
    let server = world.origin(&format!(
        "{}\nuser = \"relay\"\npassword = \"s3cret\"\ntls = \"none\"",
        world.smarthost(4, "exclusive")
    ));
    send(&server, "bob@dest.test,carol@elsewhere.test");
    let messages = smarthost.wait_for_messages(2, &server);
    assert!(
        messages.iter().all(|m| m["auth"] == "relay"),
        "{messages:?}"
    );
    assert!(direct.events("message").is_empty());
    let log = wait_for_log(
        &server,
        &format!("delivered via smarthost {}", world.address(4)),
    );
    assert!(
        !log.contains("s3cret"),
        "the password never reaches the log"
    );
}

/// A second postern at 127.0.N.`host` on the world's port: one instance
/// of `kind` with STARTTLS, a self-signed certificate for `cert_name`
/// beside its configuration, delivering for dest.test (user bob).
fn tls_postern(world: &World, host: u8, kind: &str, cert_name: &str) -> TestServer {
    tls_postern_with(world, host, kind, cert_name, "starttls")
}

/// As [`tls_postern`], with `tls` (`starttls` or `implicit`).
fn tls_postern_with(world: &World, host: u8, kind: &str, cert_name: &str, tls: &str) -> TestServer {
    let address = format!("{}:{}", world.address(host), world.port);
    let config = format!(
        r#"
[server]
hostname = "{kind}.isp.test"
data_dir = "data"

[[service]]
name = "{kind}"
kind = "{kind}"
listen = "{address}"
tls = "{tls}"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[domain]]
name = "dest.test"
users = ["bob"]
"#
    );
    TestServer::start_with_files(&config, address.parse().unwrap(), |dir| {
        let made = postern()
            .current_dir(dir)
            .args(["cert", "self-signed", "--host", cert_name])
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
    })
}

/// The smarthost is a second postern with a submission instance: the
/// client must start TLS, check the certificate against the CA file it is
/// given, and log in before MAIL.
#[test]
fn exclusive_smarthost_that_is_a_second_postern_with_starttls_and_auth() {
    let world = World::one_mx();
    let relay = tls_postern(&world, 5, "submission", &world.address(5));
    let mut add = postern()
        .args([
            "user",
            "add",
            "origin@dest.test",
            "--send-as-anyone",
            "--config",
        ])
        .arg(relay.config_path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(add.stdin.take().unwrap(), "s3cret").unwrap();
    assert!(add.wait().unwrap().success());
    let ca_file = relay.dir.path().join("cert.pem");
    let server = world.origin(&format!(
        "{}\nuser = \"origin@dest.test\"\npassword = \"s3cret\"\nca_file = \"{}\"",
        world.smarthost(5, "exclusive"),
        ca_file.display()
    ));
    send(&server, "bob@dest.test");
    let delivered = relay.wait_for_delivery_to("dest.test", "bob", 1);
    let message = std::fs::read_to_string(&delivered[0]).unwrap();
    assert!(
        message.contains("with ESMTPSA id"),
        "TLS and AUTH: {message}"
    );
    wait_for_log(
        &server,
        &format!("delivered via smarthost {}:", world.address(5)),
    );
    assert!(
        relay
            .log()
            .contains("auth PLAIN login=origin@dest.test succeeded")
    );
}

/// `tls = "implicit"`: the smarthost is a second postern whose submission
/// instance speaks TLS from the first byte (smtps), as on port 465. The
/// client handshakes before the greeting, verifies the certificate
/// against the CA file, never sends STARTTLS, and logs in.
#[test]
fn exclusive_smarthost_with_implicit_tls_is_reached_over_smtps() {
    let world = World::one_mx();
    let relay = tls_postern_with(&world, 7, "submission", &world.address(7), "implicit");
    let mut add = postern()
        .args([
            "user",
            "add",
            "origin@dest.test",
            "--send-as-anyone",
            "--config",
        ])
        .arg(relay.config_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(add.stdin.take().unwrap(), "s3cret").unwrap();
    assert!(add.wait().unwrap().success());
    let ca_file = relay.dir.path().join("cert.pem");
    let server = world.origin(&format!(
        "{}\ntls = \"implicit\"\nuser = \"origin@dest.test\"\npassword = \"s3cret\"\nca_file = \"{}\"",
        world.smarthost(7, "exclusive"),
        ca_file.display()
    ));
    send(&server, "bob@dest.test");
    let delivered = relay.wait_for_delivery_to("dest.test", "bob", 1);
    let message = std::fs::read_to_string(&delivered[0]).unwrap();
    // ESMTPSA: TLS and AUTH (RFC 3848); over implicit TLS there is no
    // STARTTLS for the relay to have seen.
    assert!(message.contains("with ESMTPSA id"), "{message}");
    wait_for_log(
        &server,
        &format!("delivered via smarthost {}:", world.address(7)),
    );
}

/// Delivery to an MX that offers STARTTLS is encrypted (opportunistic
/// TLS: its self-signed certificate is accepted).
#[test]
fn delivery_to_an_mx_starts_tls_when_offered() {
    let world = World::one_mx();
    let mx = tls_postern(&world, 2, "smtp", "mx1.dest.test");
    let server = world.origin("");
    send(&server, "bob@dest.test");
    let delivered = mx.wait_for_delivery_to("dest.test", "bob", 1);
    let message = std::fs::read_to_string(&delivered[0]).unwrap();
    assert!(message.contains("with ESMTPS id"), "{message}");
    wait_for_log(&server, "delivered via mx1.dest.test");
}

/// A smarthost whose certificate the client cannot verify gets neither
/// the password nor the message: it is deferred.
#[test]
fn an_unverifiable_smarthost_certificate_defers_the_message() {
    let world = World::one_mx();
    let relay = tls_postern(&world, 6, "submission", &world.address(6));
    // No ca_file: the public roots, which never signed a self-signed one.
    let server = world.origin(&format!(
        "{}\nuser = \"origin@dest.test\"\npassword = \"s3cret\"",
        world.smarthost(6, "exclusive")
    ));
    send(&server, "bob@dest.test");
    let log = wait_for_log(
        &server,
        "failed before MAIL: STARTTLS: the TLS handshake failed",
    );
    assert!(
        log.contains("UnknownIssuer") || log.contains("certificate"),
        "{log}"
    );
    assert!(!relay.log().contains("auth PLAIN"), "no password was sent");
    wait_for_queue_list(&server, "bob@dest.test");
}

/// A `ca_file` holding another self-signed certificate than the
/// smarthost's: each is named for its host, so the client reports an
/// unknown issuer (which certificate is wrong), not a bad signature.
#[test]
fn a_wrong_ca_file_is_an_unknown_issuer_not_a_bad_signature() {
    let world = World::one_mx();
    let relay = tls_postern(&world, 7, "submission", &world.address(7));
    let other = tempfile::tempdir().unwrap();
    let made = postern()
        .current_dir(other.path())
        .args(["cert", "self-signed", "--host", "other.isp.test"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let server = world.origin(&format!(
        "{}\nuser = \"origin@isp.test\"\npassword = \"s3cret\"\nca_file = \"{}\"",
        world.smarthost(7, "exclusive"),
        other.path().join("cert.pem").display()
    ));
    send(&server, "bob@dest.test");
    let log = wait_for_log(
        &server,
        "failed before MAIL: STARTTLS: the TLS handshake failed",
    );
    assert!(log.contains("UnknownIssuer"), "{log}");
    assert!(!log.contains("BadSignature"), "{log}");
    assert!(!relay.log().contains("auth PLAIN"), "no password was sent");
}

#[test]
fn fallback_smarthost_when_the_mx_refuses() {
    let world = World::one_mx();
    let smarthost = world.sink(4, &[]);
    let server = world.origin(&world.smarthost(4, "fallback"));
    send(&server, "bob@dest.test");
    smarthost.wait_for_messages(1, &server);
    let log = wait_for_log(&server, "delivered via smarthost");
    let refused = format!("cannot connect to mx1.dest.test [{}", world.address(2));
    assert!(log.contains(&refused), "{log}");
}

#[test]
fn fallback_smarthost_when_the_mx_is_silent() {
    let world = World::one_mx();
    let _silent = world.sink(2, &["--silent"]);
    let smarthost = world.sink(4, &[]);
    let server = world.origin(&format!(
        "greeting_timeout = \"1s\"\n{}",
        world.smarthost(4, "fallback")
    ));
    send(&server, "bob@dest.test");
    smarthost.wait_for_messages(1, &server);
    let log = wait_for_log(&server, "delivered via smarthost");
    assert!(log.contains("timed out waiting for greeting"), "{log}");
}

/// At the default log level, a DNS failure that sends mail to the
/// smarthost says why before "delivered via smarthost".
#[test]
fn a_fallback_after_a_dns_failure_is_logged_with_why_before_the_smarthost() {
    let world = World::one_mx();
    let smarthost = world.sink(4, &[]);
    let server = world.origin(&world.smarthost(4, "fallback"));
    send(&server, "bob@missing.test");
    smarthost.wait_for_messages(1, &server);
    let log = wait_for_log(&server, "delivered via smarthost");
    let why = "direct delivery to missing.test failed: 550 5.1.2 domain missing.test does not exist; falling back to the smarthost";
    let (Some(fallback), Some(delivered)) = (log.find(why), log.find("delivered via smarthost"))
    else {
        panic!("no {why:?} in the log:\n{log}");
    };
    assert!(fallback < delivered, "{log}");
    let line = log[..fallback].rsplit('\n').next().unwrap_or_default();
    assert!(line.contains("INFO"), "at info level: {line:?}");
}

/// When both legs fail, the deferral in the log and in `postern queue
/// list` says which leg said what.
#[test]
fn when_both_legs_fail_the_deferral_labels_each_leg() {
    let world = World::one_mx();
    // Nothing listens at mx1; the smarthost refuses for now, then for good.
    let _smarthost = world.sink(4, &["--tempfail", "1"]);
    let server = world.origin(&format!(
        "retry_delays = [\"1s\"]\n{}",
        world.smarthost(4, "fallback")
    ));
    send(&server, "bob@dest.test");
    let refused = format!("direct: mx1.dest.test [{}]: ", world.address(2));
    let list = wait_for_queue_list(&server, "; smarthost: 451 4.3.0 try again later");
    assert!(list.contains(&refused), "{list}");
    assert!(list.contains("deferred 1 time,"), "{list}");
    let log = wait_for_log(
        &server,
        "; smarthost: 451 4.3.0 try again later; next attempt in 1s",
    );
    assert!(log.contains(&format!("deferred: {refused}")), "{log}");
}

/// A bounce after a fallback names both legs, and its status is the
/// smarthost's, whose answer decided.
#[test]
fn when_both_legs_fail_for_good_the_bounce_labels_each_leg() {
    let world = World::one_mx();
    let _smarthost = world.sink(4, &["--reject"]);
    let server = world.origin(&world.smarthost(4, "fallback"));
    send(&server, "nobody@missing.test");
    let bounce =
        std::fs::read_to_string(&server.wait_for_delivery_to("origin.test", "alice", 1)[0])
            .unwrap();
    for expected in [
        "Status: 5.1.1",
        "Diagnostic-Code: smtp; direct: 550 5.1.2 domain missing.test does not exist; \
         smarthost: 550 5.1.1 <nobody@missing.test>: no such user here",
    ] {
        assert!(
            bounce.lines().any(|line| line.trim_end() == expected),
            "{expected} in\n{bounce}"
        );
    }
}

#[test]
fn a_550_from_the_mx_bounces_to_the_sender_and_not_to_the_smarthost() {
    let world = World::one_mx();
    let _mx = world.sink(2, &["--reject"]);
    let smarthost = world.sink(4, &[]);
    let server = world.origin(&world.smarthost(4, "fallback"));
    send(&server, "nobody@dest.test");
    let bounce =
        std::fs::read_to_string(&server.wait_for_delivery_to("origin.test", "alice", 1)[0])
            .unwrap();
    for expected in [
        "Return-Path: <>",
        "From: Mail Delivery System <MAILER-DAEMON@mx.origin.test>",
        "Content-Type: multipart/report; report-type=delivery-status",
        "Final-Recipient: rfc822; nobody@dest.test",
        "Action: failed",
        "Status: 5.1.1",
        "Diagnostic-Code: smtp; 550 5.1.1 <nobody@dest.test>: no such user here",
        "Subject: outbound",
    ] {
        assert!(bounce.contains(expected), "{expected} in\n{bounce}");
    }
    assert!(
        smarthost.events("message").is_empty(),
        "a 5xx is not a reason to relay"
    );
    wait_for_empty_queue(&server);
}

#[test]
fn a_temporary_failure_is_retried_on_schedule_and_the_queue_shows_it() {
    let world = World::one_mx();
    let mx = world.sink(2, &["--tempfail", "2"]);
    let server = world.origin("retry_delays = [\"1s\", \"2s\"]");
    send(&server, "bob@dest.test");
    wait_for_log(
        &server,
        "to=<bob@dest.test> deferred: 451 4.3.0 try again later; next attempt in 1s",
    );
    // The state file follows the log line; the retry may already be under
    // way, or over (the sink refuses twice).
    let list = wait_for_queue_list(&server, "<bob@dest.test> (remote) deferred ");
    assert!(list.contains("<alice@origin.test>"), "{list}");
    assert!(list.contains("1 message in the queue"), "{list}");
    mx.wait_for_messages(1, &server);
    let log = wait_for_log(&server, "to=<bob@dest.test> delivered via mx1.dest.test");
    assert!(
        log.contains("next attempt in 2s"),
        "the second delay of the schedule: {log}"
    );
    wait_for_empty_queue(&server);
}

#[test]
fn queue_flush_retries_now_and_delete_removes() {
    let world = World::one_mx();
    let mx = world.sink(2, &["--tempfail", "5"]);
    let server = world.origin("retry_delays = [\"1h\"]");
    let queue = |args: &[&str]| {
        let output = postern()
            .arg("queue")
            .args(args)
            .arg("--config")
            .arg(server.config_path())
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    send(&server, "bob@dest.test");
    wait_for_log(&server, "next attempt in 3600s");
    wait_for_queue_list(
        &server,
        "<bob@dest.test> (remote) deferred 1 time, next attempt in 1h: 451 4.3.0",
    );
    let (ok, flushed) = queue(&["flush"]);
    assert!(
        ok && flushed.starts_with("ok 1 message due now"),
        "{flushed}"
    );
    // The flush made a second attempt at once; the sink refused it too.
    wait_for_queue_list(&server, "deferred 2 times");
    let id = server.spool_queue()[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let (ok, deleted) = queue(&["delete", &id]);
    // stdout, then the stderr line saying which configuration was used.
    assert!(
        ok && deleted.trim()
            == format!(
                "ok deleted {id}\npostern: configuration {} (from -c)",
                server.config_path().display()
            ),
        "{deleted}"
    );
    assert!(server.spool_queue().is_empty());
    assert!(mx.events("message").is_empty());
    let (ok, missing) = queue(&["delete", &id]);
    assert!(!ok && missing.contains("no message"), "{missing}");
    let (_, list) = queue(&["list"]);
    assert!(list.contains("0 messages in the queue"), "{list}");
}

#[test]
fn never_more_outgoing_connections_than_the_maximum() {
    let world = World::one_mx();
    let slow = world.sink(2, &["--data-delay", "0.5"]);
    let server = world.origin("max_connections = 2\nmax_connections_per_destination = 2");
    for k in 0..8 {
        send(&server, &format!("user{k}@dest.test"));
    }
    slow.wait_for_messages(8, &server);
    let most = slow
        .events("open")
        .iter()
        .map(|e| e["max"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(most, 2, "two at once, never more");
    wait_for_empty_queue(&server);
}
