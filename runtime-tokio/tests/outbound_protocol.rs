//! The SMTP client's protocol over real sockets: remote servers on raw
//! sockets (tests/clients/rawmx.py) that answer DATA with 250, or offer no
//! 8BITMIME or SMTPUTF8. Every recipient is an address literal,
//! `user@[127.0.N.x]`, delivered to without DNS: the only nameserver
//! configured answers nothing.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use support::{TestServer, eventually, free_port, python};

/// Each test's remote servers live on loopback addresses of their own,
/// 127.0.N.x (N from 200 up, apart from tests/outbound.rs's).
fn net() -> u8 {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(200);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A raw-socket remote server (tests/clients/rawmx.py).
struct RawMx {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl RawMx {
    fn start(address: &str, port: u16, options: &[&str]) -> RawMx {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("rawmx.log");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/rawmx.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([address, &port.to_string(), log.to_str().unwrap()])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is needed for the outbound tests");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "rawmx.py did not start");
        RawMx {
            child,
            log,
            _dir: dir,
        }
    }

    fn events(&self, kind: &str) -> Vec<String> {
        let field = if kind == "message" { "data" } else { "line" };
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["event"] == kind)
            .map(|e| e[field].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn commands(&self) -> Vec<String> {
        self.events("command")
    }
}

impl Drop for RawMx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our server, mail for origin.test (user alice) kept here, relaying for
/// loopback; remote servers on `port`; a nameserver that never answers.
fn origin(port: u16) -> TestServer {
    support::outbound::origin(&format!(
        "port = {port}\nnameservers = [\"127.0.0.1:1\"]\nretry_delays = [\"1h\"]"
    ))
}

/// Sends `message` from `sender` to `recipient` with python's smtplib and
/// these MAIL parameters.
fn send(server: &TestServer, sender: &str, recipient: &str, message: &str, options: &[&str]) {
    let path = server.dir.path().join("message.eml");
    std::fs::write(&path, message).unwrap();
    let mut args = vec![sender, recipient, path.to_str().unwrap()];
    args.extend_from_slice(options);
    let output = python("send_with.py", server.addr, &args);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
}

fn wait_for_log(server: &TestServer, text: &str) -> String {
    eventually(
        || server.log(),
        |log| log.contains(text),
        |log| format!("no {text:?} in the log:\n{log}"),
    )
}

/// RFC 5321 4.3.2: only 354 lets the data go. A server that says 250 to
/// DATA has not received the message, so it is not delivered.
#[test]
fn a_250_to_data_is_not_a_delivery() {
    let (n, port) = (net(), free_port());
    let mx = RawMx::start(
        &format!("127.0.{n}.2"),
        port,
        &["--data-reply", "250 2.0.0 no need, thanks"],
    );
    let server = origin(port);
    let to = format!("bob@[127.0.{n}.2]");
    send(
        &server,
        "alice@origin.test",
        &to,
        "Subject: hi\r\n\r\nHello.\r\n",
        &[],
    );
    let log = wait_for_log(
        &server,
        &format!(
            "to=<{to}> deferred: protocol error: the server answered DATA with 250 2.0.0 no need, thanks, not 354; next attempt in 3600s"
        ),
    );
    assert!(!log.contains("delivered via"), "{log}");
    assert!(mx.events("message").is_empty());
    assert!(mx.commands().iter().any(|c| c == "DATA"));
    assert_eq!(server.spool_queue().len(), 1, "still queued");
}

/// RFC 6152 3: 8-bit data is not sent to a server without 8BITMIME; with
/// no conversion, its recipients fail with 5.6.3 and the sender gets a
/// bounce. Nothing was sent: no MAIL at all.
#[test]
fn an_8bit_message_to_a_server_without_8bitmime_bounces_with_5_6_3() {
    let (n, port) = (net(), free_port());
    let mx = RawMx::start(&format!("127.0.{n}.2"), port, &["--ext", "PIPELINING"]);
    let server = origin(port);
    let to = format!("bob@[127.0.{n}.2]");
    send(
        &server,
        "alice@origin.test",
        &to,
        "Subject: menu\r\n\r\nCaf\u{e9} cr\u{e8}me.\r\n",
        &["BODY=8BITMIME"],
    );
    let bounce =
        std::fs::read_to_string(&server.wait_for_delivery_to("origin.test", "alice", 1)[0])
            .unwrap();
    for expected in [
        format!("Final-Recipient: rfc822; {to}"),
        "Status: 5.6.3".to_owned(),
        "Diagnostic-Code: smtp; 554 5.6.3 the message has 8-bit data and requires 8BITMIME, which the server does not offer".to_owned(),
    ] {
        assert!(bounce.contains(&expected), "{expected} in\n{bounce}");
    }
    let commands = mx.commands();
    assert!(
        commands.iter().any(|c| c.starts_with("EHLO")),
        "{commands:?}"
    );
    assert!(
        !commands.iter().any(|c| c.starts_with("MAIL")),
        "{commands:?}"
    );
}

/// A message declared 8BITMIME whose octets are all 7-bit goes to the same
/// server, without BODY=8BITMIME.
#[test]
fn a_7bit_message_declared_8bitmime_goes_without_body_8bitmime() {
    let (n, port) = (net(), free_port());
    let mx = RawMx::start(&format!("127.0.{n}.2"), port, &["--ext", "PIPELINING"]);
    let server = origin(port);
    let to = format!("bob@[127.0.{n}.2]");
    send(
        &server,
        "alice@origin.test",
        &to,
        "Subject: plain\r\n\r\nJust ASCII.\r\n",
        &["BODY=8BITMIME"],
    );
    wait_for_log(&server, &format!("to=<{to}> delivered via [127.0.{n}.2]"));
    assert!(
        mx.commands()
            .contains(&"MAIL FROM:<alice@origin.test>".to_owned()),
        "{:?}",
        mx.commands()
    );
    assert_eq!(mx.events("message").len(), 1);
}

/// RFC 6531: a message flagged SMTPUTF8 whose envelope and headers are
/// ASCII does not need it; it goes to a server without SMTPUTF8, without
/// the parameter (it bounced with 5.6.7 before).
#[test]
fn an_ascii_message_flagged_smtputf8_goes_without_it() {
    let (n, port) = (net(), free_port());
    let mx = RawMx::start(&format!("127.0.{n}.2"), port, &["--ext", "8BITMIME"]);
    let server = origin(port);
    let to = format!("bob@[127.0.{n}.2]");
    send(
        &server,
        "alice@origin.test",
        &to,
        "Subject: ascii\r\n\r\nCaf\u{e9}, in the body only.\r\n",
        &["SMTPUTF8", "BODY=8BITMIME"],
    );
    wait_for_log(&server, &format!("to=<{to}> delivered via [127.0.{n}.2]"));
    let mail: Vec<String> = mx
        .commands()
        .into_iter()
        .filter(|c| c.starts_with("MAIL"))
        .collect();
    assert_eq!(
        mail,
        ["MAIL FROM:<alice@origin.test> BODY=8BITMIME"],
        "no SMTPUTF8"
    );
    let messages = mx.events("message");
    assert!(messages[0].contains("Caf\u{e9}, in the body only."));
}

/// A UTF-8 sender whose message cannot go (a UTF-8 recipient, a server
/// without SMTPUTF8) gets its bounce with SMTPUTF8, from a server that
/// offers it.
#[test]
fn a_bounce_to_a_utf8_sender_is_sent_with_smtputf8() {
    let (n, port) = (net(), free_port());
    let plain = RawMx::start(&format!("127.0.{n}.2"), port, &["--ext", "8BITMIME"]);
    let modern = RawMx::start(
        &format!("127.0.{n}.3"),
        port,
        &["--ext", "8BITMIME", "--ext", "SMTPUTF8"],
    );
    let server = origin(port);
    let sender = format!("j\u{f6}rg@[127.0.{n}.3]");
    let to = format!("z\u{f6}e@[127.0.{n}.2]");
    send(
        &server,
        &sender,
        &to,
        "Subject: hi\r\n\r\nHello.\r\n",
        &["SMTPUTF8"],
    );
    let bounce = eventually(
        || modern.events("message"),
        |messages| !messages.is_empty(),
        |_| format!("no bounce; log:\n{}", server.log()),
    );
    assert!(bounce[0].contains("Status: 5.6.7"), "{}", bounce[0]);
    let commands = modern.commands();
    assert!(
        commands.contains(&"MAIL FROM:<> BODY=8BITMIME SMTPUTF8".to_owned()),
        "{commands:?}"
    );
    assert!(commands.contains(&format!("RCPT TO:<{sender}>")));
    assert!(
        !plain.commands().iter().any(|c| c.starts_with("MAIL")),
        "{:?}",
        plain.commands()
    );
}

/// A reply text with a bare CR, an ESC sequence and 3,000 octets reaches
/// the log and `postern queue list` escaped and cut to about 1,000.
#[test]
fn a_hostile_reply_text_is_escaped_and_bounded_in_the_log_and_the_queue() {
    let (n, port) = (net(), free_port());
    let hostile = format!(
        "451-4.3.0 busy\rforged\x1b[2J\r\n451 4.3.0 {}",
        "y".repeat(3000)
    );
    let _mx = RawMx::start(&format!("127.0.{n}.2"), port, &["--rcpt-reply", &hostile]);
    let server = origin(port);
    let to = format!("bob@[127.0.{n}.2]");
    send(
        &server,
        "alice@origin.test",
        &to,
        "Subject: hi\r\n\r\nHello.\r\n",
        &[],
    );
    let escaped = "451 4.3.0 busy\\rforged\\x1b[2J 4.3.0 yyy";
    let log = wait_for_log(&server, &format!("to=<{to}> deferred: {escaped}"));
    let line = log.lines().find(|l| l.contains(escaped)).unwrap();
    assert!(line.len() < 1300, "{} octets: {line}", line.len());
    assert!(!log.contains('\x1b'), "no raw ESC in the log");
    let list = eventually(
        || {
            let output = support::postern()
                .args(["queue", "list", "--config"])
                .arg(server.config_path())
                .output()
                .unwrap();
            String::from_utf8_lossy(&output.stdout).into_owned()
        },
        |list| list.contains(escaped),
        |list| format!("no {escaped:?} in:\n{list}"),
    );
    assert!(!list.contains('\x1b') && !list.contains('\r'), "{list:?}");
    assert!(list.len() < 2000, "{} octets:\n{list}", list.len());
}
