//! SIGHUP reloads the configuration: domains, users, access lists and the
//! smarthost change for new sessions over real sockets (python's smtplib);
//! a session under way keeps its settings; a file that does not load keeps
//! the one in use; a listener change is named and not applied.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use support::outbound::{Remote, origin};
use support::{TestServer, eventually, free_port, python};

/// Edits the server's configuration file: each `(from, to)` in turn.
fn edit(server: &TestServer, edits: &[(&str, &str)]) {
    let path = server.config_path();
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in\n{text}");
        text = text.replacen(from, to, 1);
    }
    std::fs::write(&path, text).unwrap();
}

/// Adds `text` at the end of the server's configuration file.
fn append(server: &TestServer, text: &str) {
    let path = server.config_path();
    let old = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{old}\n{text}")).unwrap();
}

/// Sends SIGHUP and waits for the `count`th log line containing `text`.
fn hangup_and_wait(server: &TestServer, text: &str, count: usize) -> String {
    // SAFETY: kill(2) on our own child process.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGHUP) }, 0);
    eventually(
        || server.log(),
        |log| log.matches(text).count() >= count,
        |log| format!("not {count} times {text:?} in the log:\n{log}"),
    )
}

/// What smtplib, connecting from `source`, is told about each recipient.
fn rcpt(addr: SocketAddr, source: &str, recipients: &[&str]) -> String {
    let mut args = vec![source, "sender@remote.test"];
    args.extend_from_slice(recipients);
    let output = python("rcpt.py", addr, &args);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A session opened by hand, to see that it keeps its settings.
struct Held {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Held {
    fn open(addr: SocketAddr) -> Held {
        let writer = TcpStream::connect(addr).unwrap();
        let mut held = Held {
            reader: BufReader::new(writer.try_clone().unwrap()),
            writer,
        };
        assert!(held.reply().starts_with("220 "));
        held
    }

    /// The last line of the reply.
    fn reply(&mut self) -> String {
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.trim_end().to_owned();
            }
        }
    }

    fn command(&mut self, line: &str) -> String {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.reply()
    }
}

#[test]
fn sighup_applies_new_users_domains_and_access_lists_to_new_sessions() {
    let server = TestServer::start("");
    let mut held = Held::open(server.addr);
    assert!(held.command("EHLO client.test").starts_with("250 "));
    assert!(
        held.command("MAIL FROM:<sender@remote.test>")
            .starts_with("250 ")
    );
    assert_eq!(
        rcpt(
            server.addr,
            "127.0.0.1",
            &["carol@example.test", "dave@new.test"]
        ),
        // new.test is not ours yet: relaying is refused (554 5.7.1).
        "carol@example.test 550\ndave@new.test 554"
    );

    edit(
        &server,
        &[(
            "users = [\"alice\", \"bob\"]",
            "users = [\"alice\", \"bob\", \"carol\"]",
        )],
    );
    append(
        &server,
        "[[domain]]\nname = \"new.test\"\nusers = [\"dave\"]\n",
    );
    let log = hangup_and_wait(&server, "new sessions use it", 1);
    assert!(log.contains("SIGHUP received: reloading"), "{log}");
    assert!(!log.contains("not applied until a restart"), "{log}");
    assert_eq!(
        rcpt(
            server.addr,
            "127.0.0.1",
            &["carol@example.test", "dave@new.test", "alice@example.test"]
        ),
        "carol@example.test 250\ndave@new.test 250\nalice@example.test 250"
    );
    // The session opened before the reload keeps the users it started with.
    assert!(
        held.command("RCPT TO:<carol@example.test>")
            .starts_with("550 ")
    );
    assert!(
        held.command("RCPT TO:<alice@example.test>")
            .starts_with("250 ")
    );
    assert!(held.command("QUIT").starts_with("221 "));

    // Tighten the access list: only 127.0.0.2 may connect now.
    edit(
        &server,
        &[(
            "max_message_size = 100000",
            "max_message_size = 100000\nallow = [\"127.0.0.2\"]",
        )],
    );
    hangup_and_wait(&server, "new sessions use it", 2);
    let refused = rcpt(server.addr, "127.0.0.1", &["alice@example.test"]);
    assert!(refused.starts_with("refused 554"), "{refused}");
    assert_eq!(
        rcpt(server.addr, "127.0.0.2", &["dave@new.test"]),
        "dave@new.test 250"
    );
}

#[test]
fn a_file_that_does_not_load_keeps_the_configuration_in_use() {
    let server = TestServer::start("");
    edit(
        &server,
        &[(
            "users = [\"alice\", \"bob\"]",
            "users = [\"alice\", \"bob\", \"carol\"]\nmax_mesage_size = 1",
        )],
    );
    let text = std::fs::read_to_string(server.config_path()).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("max_mesage_size"))
        .unwrap()
        + 1;
    let log = hangup_and_wait(&server, "configuration not reloaded", 1);
    let error = log
        .lines()
        .find(|l| l.contains("configuration not reloaded"))
        .unwrap();
    assert!(error.contains("ERROR"), "{error}");
    assert!(
        error.contains("configuration not reloaded; the one in use is kept: "),
        "{error}"
    );
    assert!(
        error.contains(&format!(
            "postern.toml:{line}:1: `max_mesage_size`: unknown field"
        )),
        "{error}"
    );
    assert!(!log.contains("new sessions use it"), "{log}");
    // carol is not a user: the old configuration is in use.
    assert_eq!(
        rcpt(server.addr, "127.0.0.1", &["carol@example.test"]),
        "carol@example.test 550"
    );
    // Fixed, it loads.
    edit(&server, &[("\nmax_mesage_size = 1", "")]);
    hangup_and_wait(&server, "new sessions use it", 1);
    assert_eq!(
        rcpt(server.addr, "127.0.0.1", &["carol@example.test"]),
        "carol@example.test 250"
    );
}

#[test]
fn a_listener_change_is_named_and_not_applied_and_the_rest_is() {
    let server = TestServer::start("");
    let moved = format!("127.0.0.1:{}", free_port());
    let added = format!("127.0.0.1:{}", free_port());
    edit(
        &server,
        &[
            (
                &format!("listen = \"{}\"", server.addr),
                &format!("listen = \"{moved}\""),
            ),
            (
                "users = [\"alice\", \"bob\"]",
                "users = [\"alice\", \"bob\", \"carol\"]",
            ),
        ],
    );
    append(
        &server,
        &format!("[[service]]\nname = \"extra\"\nkind = \"smtp\"\nlisten = \"{added}\"\n"),
    );
    let log = hangup_and_wait(&server, "new sessions use it", 1);
    let warning = log
        .lines()
        .find(|l| l.contains("not applied until a restart"))
        .unwrap_or_else(|| panic!("no warning in\n{log}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        warning.contains(
            "not applied until a restart: instance \"mx\": listen; instance \"extra\" added; the rest of the configuration is applied"
        ),
        "{warning}"
    );
    // Still on the old address only, with the new users.
    assert_eq!(
        rcpt(server.addr, "127.0.0.1", &["carol@example.test"]),
        "carol@example.test 250"
    );
    for address in [&moved, &added] {
        let address: SocketAddr = address.parse().unwrap();
        assert!(TcpStream::connect(address).is_err(), "{address} listens");
    }
}

#[test]
fn a_new_smarthost_takes_the_next_message() {
    let port = free_port();
    let first = Remote::sink("127.0.200.4", port, &[]);
    let second = Remote::sink("127.0.200.5", port, &[]);
    let server = origin(&format!(
        "[outbound.smarthost]\nhost = \"127.0.200.4:{port}\"\nmode = \"exclusive\"\ntls = \"none\""
    ));
    let send = |to: &str| {
        let path = server.dir.path().join("message.eml");
        std::fs::write(&path, format!("Subject: to {to}\r\n\r\nHello.\r\n")).unwrap();
        let output = python(
            "send.py",
            server.addr,
            &["alice@origin.test", to, path.to_str().unwrap()],
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
    };
    send("bob@dest.test");
    first.wait_for_messages(1, &server);
    edit(
        &server,
        &[(
            &format!("host = \"127.0.200.4:{port}\""),
            &format!("host = \"127.0.200.5:{port}\""),
        )],
    );
    let log = hangup_and_wait(&server, "delivery uses the reloaded settings", 1);
    assert!(
        log.contains(&format!("smarthost=127.0.200.5:{port}")),
        "{log}"
    );
    send("carol@dest.test");
    let messages = second.wait_for_messages(1, &server);
    assert_eq!(messages[0]["to"], serde_json::json!(["carol@dest.test"]));
    assert_eq!(first.events("message").len(), 1);
}

#[test]
fn a_lowered_connection_limit_counts_the_sessions_under_way() {
    let server = TestServer::start("");
    let mut first = Held::open(server.addr);
    let mut second = Held::open(server.addr);
    edit(
        &server,
        &[(
            "max_message_size = 100000",
            "max_message_size = 100000\nmax_connections = 2",
        )],
    );
    hangup_and_wait(&server, "new sessions use it", 1);
    // The two sessions opened before the reload fill the new limit.
    let refused = rcpt(server.addr, "127.0.0.1", &["alice@example.test"]);
    assert!(
        refused.starts_with("refused 421") && refused.contains("Too many connections"),
        "{refused}"
    );
    assert!(first.command("QUIT").starts_with("221 "));
    // Once one ends, there is room again.
    eventually(
        || rcpt(server.addr, "127.0.0.1", &["alice@example.test"]),
        |answer| answer == "alice@example.test 250",
        |answer| format!("still {answer:?}"),
    );
    assert!(second.command("NOOP").starts_with("250 "));
}

/// The SHA-256 of the certificate served after STARTTLS, as python's
/// smtplib and ssl see it.
fn served_certificate(addr: SocketAddr) -> String {
    let script = "import hashlib, smtplib, ssl, sys\n\
        context = ssl.create_default_context()\n\
        context.check_hostname = False\n\
        context.verify_mode = ssl.CERT_NONE\n\
        with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30) as smtp:\n\
        \x20   smtp.starttls(context=context)\n\
        \x20   print(hashlib.sha256(smtp.sock.getpeercert(binary_form=True)).hexdigest())\n";
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &addr.ip().to_string(),
            &addr.port().to_string(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn a_renewed_certificate_is_taken_even_when_the_file_does_not_load() {
    let make_certificate = |dir: &std::path::Path| {
        let made = support::postern()
            .current_dir(dir)
            .args([
                "cert",
                "self-signed",
                "--host",
                "mx.example.test",
                "--force",
            ])
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
    };
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = format!(
        "[server]\nhostname = \"mx.example.test\"\ndata_dir = \"data\"\nshutdown_grace = \"1s\"\n\n\
[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"{addr}\"\ntls = \"starttls\"\n\
tls_certificate = \"cert.pem\"\ntls_key = \"key.pem\"\n\n\
[[domain]]\nname = \"example.test\"\nusers = [\"alice\"]\n"
    );
    let server = TestServer::start_with_files(&config, addr, make_certificate);
    let before = served_certificate(addr);
    make_certificate(server.dir.path());
    append(&server, "typo = 1\n");
    let log = hangup_and_wait(&server, "reloaded the certificate", 1);
    let error = log.find("configuration not reloaded").unwrap();
    assert!(
        error < log.find("reloaded the certificate").unwrap(),
        "{log}"
    );
    assert_ne!(served_certificate(addr), before);
}
