//! Issue 12, inbound: what a peer says cannot forge a log line or a trace
//! header, loops are stopped by their `Received:` count, IPv6 clients are
//! counted by network, long AUTH lines are read, and the info log holds
//! one line per session and per message, not one per command. Real
//! binary, real sockets; raw sockets where a real client would refuse to
//! misbehave, python's smtplib where one will do.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::Duration;
use support::{TestServer, eventually, free_port, postern, python};

/// A raw SMTP client: writes lines, reads replies.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        let greeting = client.reply();
        assert!(greeting.starts_with("220 "), "{greeting}");
        client
    }

    /// Sends `bytes` as they are and reads the reply.
    fn send(&mut self, bytes: &[u8]) -> String {
        self.writer.write_all(bytes).unwrap();
        self.reply()
    }

    fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes())
    }

    /// One whole reply, all its lines.
    fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            reply.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return reply;
            }
        }
    }
}

/// An instance with AUTH in clear (loopback only) and no delay on a
/// failed login.
const AUTH_IN_CLEAR: &str = r#"
[auth]
failure_delay = "0s"
"#;

fn auth_server() -> TestServer {
    let mut server = TestServer::prepare(AUTH_IN_CLEAR);
    let path = server.config_path();
    let config = std::fs::read_to_string(&path).unwrap().replace(
        "max_message_size = 100000",
        "max_message_size = 100000\nauth = true\nauth_without_tls = true",
    );
    std::fs::write(&path, config).unwrap();
    server.launch();
    server
}

const FORGED: &str = "2026-11-30T02:00:00.000000Z  INFO auth LOGIN login=admin@example.test succeeded session=1 peer=10.9.9.9:4000";

#[test]
fn a_login_name_with_crlf_writes_no_forged_log_line() {
    let server = auth_server();
    let mut client = Client::connect(server.addr);
    assert!(
        client
            .command("EHLO client.test")
            .contains("AUTH PLAIN LOGIN")
    );
    assert!(client.command("AUTH LOGIN").starts_with("334 "));
    let user = format!("nobody\r\n{FORGED}");
    assert!(client.command(&BASE64.encode(user)).starts_with("334 "));
    let refused = client.command(&BASE64.encode("wrong"));
    assert!(
        refused.starts_with("535 ") || refused.starts_with("454 "),
        "{refused}"
    );
    client.command("QUIT");
    let log = eventually(
        || server.log(),
        |log| log.contains("auth=0/1"),
        |log| format!("no disconnect line:\n{log}"),
    );
    for line in log.lines() {
        assert!(
            !line.starts_with("2026-11-30T02:00:00"),
            "forged: {line}\n{log}"
        );
    }
    assert!(
        log.contains(&format!("login=nobody\\r\\n{FORGED} failed")),
        "the login is shown escaped, on its own line:\n{log}"
    );
    assert!(!log.contains('\r'), "{log:?}");
}

#[test]
fn control_characters_in_ehlo_reach_neither_the_log_nor_received() {
    let server = TestServer::start("");
    let mut client = Client::connect(server.addr);
    // A bare CR is refused as a broken line ending before the HELO is
    // parsed; the other control characters as a bad argument.
    for (bad, refusal) in [
        (
            &b"EHLO evil\x1b[2J\x1b]0;owned\x07.test\r\n"[..],
            "501 5.5.4 ",
        ),
        (b"EHLO a\rINFO forged.test\r\n", "500 5.5.2 Bare CR"),
        ("HELO x\u{85}y.test\r\n".as_bytes(), "501 5.5.4 "),
    ] {
        let reply = client.send(bad);
        assert!(reply.starts_with(refusal), "{reply}");
    }
    assert!(client.command("EHLO client.test").starts_with("250"));
    assert!(
        client
            .command("MAIL FROM:<sender@remote.test>")
            .starts_with("250")
    );
    assert!(
        client
            .command("RCPT TO:<alice@example.test>")
            .starts_with("250")
    );
    assert!(client.command("DATA").starts_with("354"));
    assert!(
        client
            .send(b"Subject: hi\r\n\r\nbody\r\n.\r\n")
            .starts_with("250")
    );
    client.command("QUIT");
    let delivered = server.wait_for_delivery("alice", 1);
    let message = std::fs::read(&delivered[0]).unwrap();
    let text = String::from_utf8(message).unwrap();
    assert!(
        text.contains("Received: from client.test ([127.0.0.1])"),
        "{text}"
    );
    assert!(!text.contains(['\x1b', '\r', '\x07', '\u{85}']), "{text:?}");
    let log = eventually(
        || server.log(),
        |log| log.contains("errors=3"),
        |log| format!("no disconnect line:\n{log}"),
    );
    assert!(!log.contains(['\x1b', '\r', '\x07', '\u{85}']), "{log:?}");
}

fn message_with_hops(hops: usize) -> Vec<u8> {
    let mut message = Vec::new();
    for n in 0..hops {
        message.extend_from_slice(
            format!(
                "Received: from hop{n}.test by hop{}.test; Mon, 30 Nov 2026 02:00:00 +0000\r\n",
                n + 1
            )
            .as_bytes(),
        );
    }
    message.extend_from_slice(b"From: a@remote.test\r\nSubject: loop\r\n\r\nround and round\r\n");
    message
}

#[test]
fn a_message_with_51_received_headers_gets_554_5_4_6_and_is_not_queued() {
    let server = TestServer::start("");
    let path = server.dir.path().join("loop.eml");
    std::fs::write(&path, message_with_hops(51)).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &[
            "a@remote.test",
            "alice@example.test",
            path.to_str().unwrap(),
        ],
    );
    let outcome = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        outcome.trim(),
        "DATA 554 5.4.6 Too many hops (51 Received headers): mail loop?"
    );
    // Fifty pass, so the limit is the one configured and not lower.
    std::fs::write(&path, message_with_hops(50)).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &[
            "a@remote.test",
            "alice@example.test",
            path.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("OK"));
    server.wait_for_delivery("alice", 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        server.delivered("alice").len(),
        1,
        "the looping one is not delivered"
    );
    assert!(
        server.spool_queue().is_empty(),
        "{:?}",
        server.spool_queue()
    );
    assert!(
        server.log().contains("refused: 554 5.4.6 Too many hops"),
        "{}",
        server.log()
    );
}

#[test]
fn ipv6_clients_are_counted_by_their_64_network() {
    let addr: SocketAddr = format!("[::1]:{}", free_port()).parse().unwrap();
    let server = TestServer::start_service(addr, "max_connections_per_host = 1");
    // The readiness probe's connection may still hold the one slot.
    std::thread::sleep(Duration::from_millis(300));
    let _held = Client::connect(addr);
    let mut second = TcpStream::connect(addr).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut refusal = String::new();
    BufReader::new(&mut second).read_line(&mut refusal).unwrap();
    assert!(refusal.starts_with("421 4.7.0 "), "{refusal}");
    let log = eventually(
        || server.log(),
        |log| log.contains("refused: too many connections from"),
        |log| format!("no refusal line:\n{log}"),
    );
    assert!(
        log.contains("refused: too many connections from ::/64 (limit 1)"),
        "{log}"
    );
    assert!(
        log.contains("host=::/64"),
        "the connect line names the key: {log}"
    );

    // `postern explain` says which key a client is counted by.
    let explain = postern()
        .args(["explain", "--config"])
        .arg(server.config_path())
        .args(["--local", &addr.to_string(), "--remote", "2001:db8:1:2::7"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        text.contains("fewer than 1 from 2001:db8:1:2::/64 (IPv6 clients count by /64)"),
        "{text}"
    );
}

#[test]
fn a_12_kilobyte_auth_plain_initial_response_is_read_and_checked() {
    let server = auth_server();
    let password = "p".repeat(9000);
    let mut add = postern()
        .args(["user", "add", "alice@example.test", "--config"])
        .arg(server.config_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{password}").unwrap();
    assert!(add.wait().unwrap().success());
    let mut client = Client::connect(server.addr);
    client.command("EHLO client.test");
    let line = format!(
        "AUTH PLAIN {}",
        BASE64.encode(format!("\0alice@example.test\0{password}"))
    );
    assert!(
        line.len() > 12_000 && line.len() + 2 <= 12_288,
        "{}",
        line.len()
    );
    let reply = client.command(&line);
    assert!(reply.starts_with("235 2.7.0"), "{reply}");
    // Other commands are still held to 512 octets.
    let long = format!("NOOP {}", "x".repeat(600));
    assert!(client.command(&long).starts_with("500 5.5.2"));
}

#[test]
fn the_info_log_has_one_line_per_session_and_message_not_per_command() {
    let server = TestServer::start("");
    let mut client = Client::connect(server.addr);
    client.command("EHLO client.test");
    for _ in 0..20 {
        client.command("MAIL FROM:<sender@remote.test>");
        client.command("RCPT TO:<alice@example.test>");
        client.command("RSET");
    }
    client.command("MAIL FROM:<sender@remote.test>");
    client.command("RCPT TO:<alice@example.test>");
    assert!(
        client
            .command("RCPT TO:<nobody@example.test>")
            .starts_with("550")
    );
    client.command("DATA");
    assert!(
        client
            .send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
            .starts_with("250")
    );
    client.command("QUIT");
    let log = eventually(
        || server.log(),
        |log| log.contains("data=1/1"),
        |log| format!("no disconnect line:\n{log}"),
    );
    // The lines of this session (the readiness probe has its own).
    let peer = format!("peer={}", client.writer.local_addr().unwrap());
    let session_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("{peer} ")) || l.ends_with(&peer))
        .collect();
    assert_eq!(
        session_lines.len(),
        3,
        "connect, queued, disconnect: {session_lines:#?}"
    );
    assert!(
        !log.contains("EHLO client.test") && !log.contains("rcpt to="),
        "{log}"
    );
    assert!(
        log.contains("queued from=<sender@remote.test> to=<alice@example.test>"),
        "{log}"
    );
    assert!(
        log.contains("helo=1 mail=21 rcpt=21/22 data=1/1 errors=1 last_error=\"550 5.1.1 <nobody@example.test>"),
        "{log}"
    );
}

#[test]
fn a_u_label_domain_takes_mail_for_its_a_label_and_long_labels_are_refused() {
    let server = TestServer::start("\n[[domain]]\nname = \"bücher.test\"\nusers = [\"anna\"]\n");
    let mut client = Client::connect(server.addr);
    client.command("EHLO client.test");
    assert!(
        client
            .command("MAIL FROM:<sender@remote.test>")
            .starts_with("250")
    );
    let long = format!("RCPT TO:<anna@{}.test>", "b".repeat(64));
    let refused = client.command(&long);
    assert!(
        refused.starts_with("501 5.1.3 ") && refused.contains("label over 63 octets"),
        "{refused}"
    );
    assert!(
        client
            .command("RCPT TO:<anna@xn--bcher-kva.test>")
            .starts_with("250"),
        "the A-label of a configured U-label domain is local"
    );
    assert!(client.command("DATA").starts_with("354"));
    assert!(
        client
            .send(b"Subject: idn\r\n\r\nbody\r\n.\r\n")
            .starts_with("250")
    );
    client.command("QUIT");
    // One mailbox, named by the domain as configured.
    server.wait_for_delivery_to("bücher.test", "anna", 1);
}

#[test]
fn an_ipv6_guesser_is_locked_out_with_its_64_and_the_log_names_it_once() {
    let addr: SocketAddr = format!("[::1]:{}", free_port()).parse().unwrap();
    let config = format!(
        r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[auth]
failure_delay = "0s"
lockout_failures = 2

[[service]]
name = "mx"
kind = "smtp"
listen = "{addr}"
auth = true
auth_without_tls = true

[[domain]]
name = "example.test"
users = ["alice"]
"#
    );
    let server = TestServer::start_with(&config, addr);
    let mut add = postern()
        .args(["user", "add", "alice@example.test", "--config"])
        .arg(server.config_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "right password").unwrap();
    assert!(add.wait().unwrap().success());
    let plain = |password: &str| {
        format!(
            "AUTH PLAIN {}",
            BASE64.encode(format!("\0alice@example.test\0{password}"))
        )
    };
    let mut client = Client::connect(addr);
    client.command("EHLO client.test");
    // Two different wrong passwords: a repeated one counts once.
    for wrong in ["wrong", "wrong again"] {
        assert!(client.command(&plain(wrong)).starts_with("535 "));
    }
    assert!(
        client
            .command(&plain("right password"))
            .starts_with("454 4.7.0"),
        "locked out even with the right password"
    );
    let log = eventually(
        || server.log(),
        |log| log.contains("locked out for"),
        |log| format!("no lockout line:\n{log}"),
    );
    assert_eq!(
        log.matches("logins from ::/64 locked out for 15m: 2 failed logins within 15m")
            .count(),
        1,
        "{log}"
    );
}
