//! Outbound delivery against servers that misbehave, over real sockets on
//! loopback: one that stops reading mid-DATA after STARTTLS, one whose TLS
//! handshake fails, and an MX that is ourselves (a mail loop). MX records
//! come from a local DNS server (dnsmasq); the misbehaving servers are
//! tests/clients/fake_mx.py, the good ones tests/clients/sink.py.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::outbound::{Dns, Remote, origin_at};
use support::{TestServer, eventually, free_port, python};

/// Each test's servers live on loopback addresses of their own, 127.0.N.x
/// (tests/outbound.rs counts up from 10; these from 200).
fn net() -> u8 {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(200);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Our server at `listen`, keeping mail for origin.test, relaying for
/// loopback, resolving through `dns`, with `outbound` settings.
fn origin(listen: &str, addr: SocketAddr, dns: &Dns, outbound: &str) -> TestServer {
    origin_at(
        listen,
        addr,
        &format!("nameservers = [\"127.0.0.1:{}\"]\n{outbound}", dns.port),
    )
}

/// Sends a message of about `size` octets from alice@origin.test.
fn send(server: &TestServer, to: &str, size: usize) {
    let path = server
        .dir
        .path()
        .join(format!("message-{}.eml", to.replace('@', "_")));
    let mut message = format!("From: alice@origin.test\r\nTo: {to}\r\nSubject: stall\r\n\r\n");
    let line = "0123456789".repeat(7) + "\r\n";
    while message.len() < size {
        message.push_str(&line);
    }
    std::fs::write(&path, message).unwrap();
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

/// stall.test's MX (127.0.N.2) stops reading mid-DATA after STARTTLS;
/// good.test's (127.0.N.3) takes everything.
struct StallWorld {
    n: u8,
    port: u16,
    dns: Dns,
    stalling: Remote,
    good: Remote,
}

impl StallWorld {
    fn start() -> StallWorld {
        let n = net();
        let port = free_port();
        let dns = Dns::start(&[
            "--mx-host=stall.test,mx.stall.test,10".to_owned(),
            format!("--host-record=mx.stall.test,127.0.{n}.2"),
            "--mx-host=good.test,mx.good.test,10".to_owned(),
            format!("--host-record=mx.good.test,127.0.{n}.3"),
        ]);
        let stalling = Remote::fake_mx(&format!("127.0.{n}.2"), port, "stall");
        let good = Remote::sink(&format!("127.0.{n}.3"), port, &[]);
        StallWorld {
            n,
            port,
            dns,
            stalling,
            good,
        }
    }

    /// Our server with one outbound connection: a stalled attempt holds
    /// the only slot.
    fn origin(&self, more: &str) -> TestServer {
        let port = free_port();
        let listen = format!("127.0.{}.1:{port}", self.n);
        origin(
            &listen,
            listen.parse().unwrap(),
            &self.dns,
            &format!("port = {}\nmax_connections = 1\n{more}", self.port),
        )
    }

    /// Sends a message big enough to fill every socket buffer to
    /// stall.test, and waits until the MX has stopped reading.
    fn stall(&self, server: &TestServer) {
        send(server, "bob@stall.test", 12 * 1024 * 1024);
        self.stalling.wait_for("stalled", server);
    }

    /// Sends to good.test and answers how long it took to arrive.
    fn deliver_to_the_good_domain(&self, server: &TestServer) -> Duration {
        let start = Instant::now();
        send(server, "carol@good.test", 100);
        let messages = self.good.wait_for("message", server);
        assert_eq!(messages[0]["to"][0], "carol@good.test");
        start.elapsed()
    }
}

/// The attempt's deadline ends an attempt that a server stalls mid-DATA
/// after STARTTLS, frees the only outbound slot, and defers the message;
/// mail to another domain goes out meanwhile.
#[test]
fn a_stalled_mx_after_starttls_does_not_block_delivery_to_another_domain() {
    let world = StallWorld::start();
    let server = world.origin("attempt_timeout = \"4s\"");
    world.stall(&server);
    let took = world.deliver_to_the_good_domain(&server);
    let log = wait_for_log(
        &server,
        "to=<bob@stall.test> deferred: attempt timed out after 4s",
    );
    assert!(took < Duration::from_secs(20), "{took:?}; log:\n{log}");
    assert!(
        log.contains("mx.stall.test [127.0."),
        "the log names the server: {log}"
    );
}

/// Without the attempt's deadline, the per-write timeout ends the DATA
/// transfer, and the close of a TLS connection nobody reads (its
/// close_notify can never be sent) is bounded too.
#[test]
fn a_stalled_tls_connection_is_closed_within_bounds() {
    let world = StallWorld::start();
    let server = world.origin("attempt_timeout = \"1h\"\ndata_block_timeout = \"2s\"");
    world.stall(&server);
    let took = world.deliver_to_the_good_domain(&server);
    let log = wait_for_log(&server, "to=<bob@stall.test> deferred: ");
    assert!(took < Duration::from_secs(25), "{took:?}; log:\n{log}");
}

/// An MX whose TLS handshake fails gets the message in clear on a second
/// connection, as Postfix does for opportunistic TLS.
#[test]
fn a_failed_tls_handshake_with_an_mx_is_retried_in_clear() {
    let n = net();
    let port = free_port();
    let dns = Dns::start(&[
        "--mx-host=dest.test,mx.dest.test,10".to_owned(),
        format!("--host-record=mx.dest.test,127.0.{n}.2"),
    ]);
    let mx = Remote::fake_mx(&format!("127.0.{n}.2"), port, "bad-tls");
    let own = free_port();
    let listen = format!("127.0.{n}.1:{own}");
    let server = origin(
        &listen,
        listen.parse().unwrap(),
        &dns,
        &format!("port = {port}"),
    );
    send(&server, "bob@dest.test", 100);
    let messages = mx.wait_for("message", &server);
    assert_eq!(messages[0]["tls"], false);
    assert_eq!(messages[0]["to"][0], "bob@dest.test");
    assert_eq!(mx.events("bad-tls").len(), 1);
    let log = wait_for_log(&server, "to=<bob@dest.test> delivered via mx.dest.test");
    assert_eq!(mx.events("connect").len(), 2, "{log}");
}

/// RFC 5321 5.1: loop.test's MX is ourselves (127.0.0.1, our port; or,
/// listening on every interface, any loopback address). The sender gets a
/// 5.4.6 bounce at once, and the message never comes back to us.
#[test]
fn an_mx_that_is_ourselves_bounces_with_5_4_6_and_never_loops() {
    for wildcard in [false, true] {
        let n = net();
        let port = free_port();
        let mx = if wildcard {
            format!("127.0.{n}.9")
        } else {
            "127.0.0.1".to_owned()
        };
        let dns = Dns::start(&[
            "--mx-host=loop.test,mx.loop.test,10".to_owned(),
            format!("--host-record=mx.loop.test,{mx}"),
        ]);
        let listen = if wildcard {
            port.to_string()
        } else {
            format!("127.0.0.1:{port}")
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let server = origin(&listen, addr, &dns, &format!("port = {port}"));
        send(&server, "bob@loop.test", 100);
        let bounce =
            std::fs::read_to_string(&server.wait_for_delivery_to("origin.test", "alice", 1)[0])
                .unwrap();
        for expected in [
            "Final-Recipient: rfc822; bob@loop.test",
            "Action: failed",
            "Status: 5.4.6",
            "554 5.4.6 mail for loop.test loops back to myself",
        ] {
            assert!(bounce.contains(expected), "{expected} in\n{bounce}");
        }
        eventually(
            || server.spool_queue().len(),
            |queued| *queued == 0,
            |queued| format!("{queued} still queued; log:\n{}", server.log()),
        );
        // Time for a loop to show, had there been one.
        std::thread::sleep(Duration::from_secs(1));
        let log = server.log();
        assert_eq!(
            log.matches(": queued from=").count(),
            1,
            "only the test's message was received, never one from ourselves:\n{log}"
        );
        assert_eq!(
            log.matches("failed: 554 5.4.6 mail for loop.test loops back to myself")
                .count(),
            1,
            "{log}"
        );
        assert_eq!(
            server.delivered_to("origin.test", "alice").len(),
            1,
            "one bounce"
        );
    }
}
