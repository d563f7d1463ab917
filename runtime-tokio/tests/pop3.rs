//! POP3 over real sockets with real clients: python's poplib (USER/PASS,
//! STLS, POP3_SSL, APOP refused), fetchmail (keep and non-keep runs) and
//! curl (LIST, RETR, STLS with --ssl-reqd). The maildrop is what SMTP
//! delivery writes.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::dovecot::{doveadm_fetch, doveadm_mailbox_status};
use support::{TestServer, address, config_head, postern, python};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery";

/// A server with an SMTP instance to deliver through and three POP3
/// instances: `plain` (logins in clear allowed, as on loopback), `stls`
/// (STLS, logins only after it) and `pop3s` (implicit TLS).
struct Pop3World {
    server: TestServer,
    smtp: SocketAddr,
    plain: SocketAddr,
    stls: SocketAddr,
    pop3s: SocketAddr,
}

impl Pop3World {
    fn start() -> Pop3World {
        let [smtp, plain, stls, pop3s] = [0; 4].map(|_| address());
        let config = format!(
            r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[auth]
failure_delay = "0s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{smtp}"

[[service]]
name = "pop3"
kind = "pop3"
listen = "{plain}"
auth_without_tls = true

[[service]]
name = "pop3-stls"
kind = "pop3"
listen = "{stls}"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[service]]
name = "pop3s"
kind = "pop3"
listen = "{pop3s}"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[domain]]
name = "example.test"
users = ["alice", "bob"]
"#
        );
        let server = TestServer::start_with_files(&config, smtp, make_certificate);
        let world = Pop3World {
            server,
            smtp,
            plain,
            stls,
            pop3s,
        };
        world.add_user(USER, PASSWORD);
        world
    }

    fn add_user(&self, login: &str, password: &str) {
        support::add_user(&self.server.config_path(), login, password);
    }

    fn cafile(&self) -> PathBuf {
        self.server.dir.path().join("cert.pem")
    }

    /// Delivers `count` messages to alice through SMTP and waits for them.
    fn deliver(&self, count: usize) {
        let before = self.message_count();
        for i in 0..count {
            let file = self.server.dir.path().join(format!("message-{i}.eml"));
            std::fs::write(
                &file,
                format!(
                    "From: bob@remote.test\r\nSubject: message {i}\r\n\r\nHello {i}.\r\n.a line with a dot\r\n"
                ),
            )
            .unwrap();
            let out = python(
                "send.py",
                self.smtp,
                &["bob@remote.test", USER, file.to_str().unwrap()],
            );
            assert!(String::from_utf8_lossy(&out.stdout).starts_with("OK"));
        }
        support::eventually(
            || self.message_count(),
            |&n| n >= before + count,
            |n| format!("{n} of {} messages delivered", before + count),
        );
    }

    /// Messages marked `\Seen` (the `S` in a Maildir name's flags).
    fn seen_count(&self) -> usize {
        let seen = |file: &PathBuf| {
            let name = file.file_name().unwrap().to_str().unwrap();
            name.split_once(":2,")
                .is_some_and(|(_, flags)| flags.contains('S'))
        };
        self.files("cur").iter().filter(|file| seen(file)).count()
    }

    /// Alice's INBOX UIDVALIDITY, from the store's `dovecot-uidlist`.
    fn uid_validity(&self) -> u32 {
        let uidlist = self
            .server
            .data()
            .join("mail/example.test/alice/dovecot-uidlist");
        let text = std::fs::read_to_string(uidlist).unwrap();
        let field = text.split_whitespace().nth(1).unwrap();
        field.strip_prefix('V').unwrap().parse().unwrap()
    }

    fn files(&self, sub: &str) -> Vec<PathBuf> {
        let dir = self.server.data().join("mail/example.test/alice").join(sub);
        match std::fs::read_dir(dir) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Messages in the maildrop, new and seen.
    fn message_count(&self) -> usize {
        self.files("new").len() + self.files("cur").len()
    }

    fn poplib(&self, addr: SocketAddr, scenario: &str) -> String {
        let cafile = self.cafile();
        let out = python(
            "pop3.py",
            addr,
            &[scenario, cafile.to_str().unwrap(), USER, PASSWORD],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn make_certificate(dir: &Path) {
    let output = postern()
        .current_dir(dir)
        .args([
            "cert",
            "self-signed",
            "--host",
            "127.0.0.1",
            "--host",
            "localhost",
            "--force",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

fn assert_lines(out: &str, expected: &[&str]) {
    for line in expected {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
}

#[test]
fn poplib_reads_delivered_mail_and_deletes_only_at_quit() {
    let world = Pop3World::start();
    world.deliver(2);
    let out = world.poplib(world.plain, "plain");
    assert_lines(
        &out,
        &[
            "welcome: +OK mx.example.test POP3 Postern ready",
            "user: +OK",
            "pass: +OK Logged in: 2 messages",
            "capa: ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'TOP', 'UIDL']",
            "stat: (2, ",
            format!(
                "uidl: ['1 00000001{v:08X}', '2 00000002{v:08X}']",
                v = world.uid_validity()
            )
            .as_str(),
            "retr 1 subject: ['Subject: message 0']",
            "retr 2 subject: ['Subject: message 1']",
            "top 1 0: +OK Top of message follows",
            "dele 1: +OK Message 1 deleted",
            "quit: +OK mx.example.test POP3 Postern signing off (1 message left)",
        ],
    );
    // RETR sends exactly the octets LIST announced.
    for line in out
        .lines()
        .filter(|l| l.starts_with("retr ") && l.contains("octets="))
    {
        let announced: u64 = line
            .split("+OK ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let octets: u64 = line.rsplit("octets=").next().unwrap().parse().unwrap();
        // poplib counts each line's octets plus CRLF, the dot-stuffing removed.
        assert_eq!(announced, octets, "{line}");
    }
    assert_eq!(world.message_count(), 1, "one deleted at QUIT");
    assert_eq!(world.seen_count(), 1, "the other is marked seen");
    let log = world.server.log();
    assert!(
        log.contains("pop3 login USER login=alice@example.test succeeded"),
        "{log}"
    );
    assert!(log.contains("update: 1 deleted, 1 marked seen"), "{log}");
    assert!(!log.contains(PASSWORD));
}

#[test]
fn poplib_over_stls_and_pop3_ssl() {
    let world = Pop3World::start();
    world.deliver(1);
    let out = world.poplib(world.stls, "stls");
    assert_lines(
        &out,
        &[
            "capa before tls: ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'STLS', 'TOP', 'UIDL']",
            "stls: +OK Begin TLS negotiation",
            "capa after tls: ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']",
            "pass: +OK Logged in: 1 message",
            "retr 1 subject: ['Subject: message 0']",
        ],
    );
    let out = world.poplib(world.pop3s, "ssl");
    assert_lines(
        &out,
        &[
            "capa before login: ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']",
            "pass: +OK Logged in: 1 message",
            "quit: +OK",
        ],
    );
}

#[test]
fn apop_is_refused_and_plaintext_login_needs_tls() {
    let world = Pop3World::start();
    let out = world.poplib(world.plain, "apop");
    assert_lines(
        &out,
        &[
            "apop (poplib): error: -ERR APOP not supported by server",
            "apop (sent): error: -ERR APOP is not supported here",
        ],
    );
    let out = world.poplib(world.stls, "cleartext_refused");
    assert_lines(
        &out,
        &[
            "capa: ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'STLS', 'TOP', 'UIDL']",
            "user: error: -ERR [AUTH] Plaintext authentication disallowed on non-secure connections: use STLS first",
            "auth plain: error: -ERR [AUTH] Plaintext authentication disallowed",
        ],
    );
}

#[test]
fn a_second_session_gets_in_use_until_the_first_quits() {
    let world = Pop3World::start();
    world.deliver(1);
    let out = world.poplib(world.plain, "in_use");
    assert_lines(
        &out,
        &[
            "pass: +OK Logged in: 1 message",
            "second pass: error: -ERR [IN-USE] Mailbox is locked by another POP3 session",
            "first quit: +OK",
            "second pass again: +OK Logged in: 1 message",
            "second stat: (1, ",
        ],
    );
}

#[test]
fn a_connection_dropped_after_dele_deletes_nothing() {
    let world = Pop3World::start();
    world.deliver(2);
    let out = world.poplib(world.plain, "drop_after_dele");
    assert_lines(&out, &["stat: (2, ", "dele 2: +OK", "dropped"]);
    // The lock is released when the session ends, so the next session
    // gets in, and finds both messages.
    let out = support::eventually(
        || world.poplib(world.plain, "count"),
        |out| out.contains("stat: "),
        |out| out.clone(),
    );
    assert_lines(&out, &["stat: (2, "]);
    assert_eq!(world.message_count(), 2);
}

/// Runs fetchmail once against the plain instance; returns its output and
/// what it handed its MDA.
fn fetchmail(world: &Pop3World, keep: bool) -> (String, String) {
    let options = format!(
        "{} fetchall sslproto ''",
        if keep { "keep" } else { "nokeep" }
    );
    fetchmail_with(world, world.plain, &options)
}

/// Runs fetchmail once against `addr` with these poll options.
fn fetchmail_with(world: &Pop3World, addr: SocketAddr, options: &str) -> (String, String) {
    let home = world.server.dir.path().join("fetchmail-home");
    std::fs::create_dir_all(&home).unwrap();
    let delivered = home.join("delivered.mbox");
    let rc = home.join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "set no bouncemail\n\
             poll 127.0.0.1 with service {port} protocol POP3 auth password\n\
             \tuser \"{USER}\" there with password \"{PASSWORD}\" is root here\n\
             \t{options}\n\
             \tmda \"/bin/sh -c 'cat >> {delivered}'\"\n",
            port = addr.port(),
            delivered = delivered.display(),
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&rc).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    std::fs::set_permissions(&rc, permissions).unwrap();
    let output = Command::new("fetchmail")
        .arg("-f")
        .arg(&rc)
        .args(["--nodetach", "--nosyslog", "-v"])
        .env("HOME", &home)
        .env("FETCHMAILHOME", &home)
        .output()
        .expect("fetchmail is needed: apt-get install fetchmail (scripts/test does)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "fetchmail failed:\n{text}");
    let mbox = std::fs::read_to_string(&delivered).unwrap_or_default();
    std::fs::remove_file(&delivered).ok();
    (text, mbox)
}

#[test]
fn fetchmail_keeps_messages_only_when_asked() {
    let world = Pop3World::start();
    world.deliver(2);
    let (out, mbox) = fetchmail(&world, true);
    assert!(out.contains("2 messages for alice@example.test"), "{out}");
    assert_eq!(mbox.matches("Subject: message").count(), 2, "{mbox}");
    assert!(mbox.contains("\n.a line with a dot\n"), "unstuffed: {mbox}");
    assert_eq!(world.message_count(), 2, "keep: nothing deleted");
    let (out, mbox) = fetchmail(&world, false);
    assert_eq!(mbox.matches("Subject: message").count(), 2, "{out}");
    assert!(
        out.contains("flushed") || out.contains("deleted") || out.contains("DELE"),
        "{out}"
    );
    assert_eq!(world.message_count(), 0, "nokeep: both deleted");
}

fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl is needed");
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn curl_lists_and_retrieves_in_clear_and_over_stls() {
    let world = Pop3World::start();
    world.deliver(2);
    let credentials = format!("{USER}:{PASSWORD}");
    let plain = format!("pop3://{}/", world.plain);
    let listing = curl(&["-u", &credentials, &plain]);
    assert_eq!(listing.lines().count(), 2, "{listing}");
    assert!(listing.starts_with("1 "), "{listing}");
    let message = curl(&["-u", &credentials, &format!("{plain}2")]);
    assert!(message.contains("Subject: message 1"), "{message}");
    assert!(message.contains("\r\n.a line with a dot\r\n"), "{message}");
    let cafile = world.cafile();
    let stls = format!("pop3://{}/1", world.stls);
    let message = curl(&[
        "--ssl-reqd",
        "--cacert",
        cafile.to_str().unwrap(),
        "-u",
        &credentials,
        &stls,
    ]);
    assert!(message.contains("Subject: message 0"), "{message}");
    // The session's summary is logged once curl has had its last reply.
    support::eventually(
        || world.server.log(),
        |log| log.contains("pop3 tls=yes login=alice@example.test retrieved=1 deleted=0"),
        |log| format!("no summary of the STLS session in:\n{log}"),
    );
}

#[test]
fn refused_connections_on_a_pop3_instance_get_err_not_an_smtp_reply() {
    use std::io::{BufRead, BufReader};
    let [smtp, pop3, busy] = [0; 3].map(|_| address());
    let config = format!(
        r#"{}

[[service]]
name = "pop3"
kind = "pop3"
listen = "{pop3}"
auth_without_tls = true
deny = ["127.0.0.1"]

[[service]]
name = "busy"
kind = "pop3"
listen = "{busy}"
auth_without_tls = true
max_connections_per_host = 1

[[domain]]
name = "example.test"
users = ["alice"]
"#,
        config_head(smtp, "")
    );
    let _server = TestServer::start_with(&config, smtp);
    let first_line = |addr: SocketAddr| {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line).unwrap();
        (stream, line)
    };
    let (_denied, line) = first_line(pop3);
    assert!(
        line.starts_with("-ERR [SYS/PERM] mx.example.test Access denied"),
        "{line:?}"
    );
    let (_held, greeting) = first_line(busy);
    assert!(
        greeting.starts_with("+OK mx.example.test POP3 Postern ready"),
        "{greeting:?}"
    );
    let (_second, line) = first_line(busy);
    assert!(
        line.starts_with("-ERR [SYS/TEMP] mx.example.test Too many connections from your host"),
        "{line:?}"
    );
}

#[test]
fn commands_pipelined_behind_stls_are_discarded() {
    let world = Pop3World::start();
    let out = world.poplib(world.stls, "stls_injection");
    assert_lines(
        &out,
        &[
            "stls: +OK Begin TLS negotiation",
            // NOOP is refused in AUTHORIZATION: had the injected USER been
            // acted on, its +OK would come first.
            "first reply inside tls: -ERR Log in first (USER/PASS or AUTH)",
            "quit: +OK",
        ],
    );
    let log = world.server.log();
    assert!(
        log.contains("bytes sent in clear after STLS were discarded"),
        "{log}"
    );
}

#[test]
fn fetchmail_over_stls_with_the_self_signed_certificate() {
    let world = Pop3World::start();
    world.deliver(1);
    let options = format!(
        "nokeep fetchall sslproto 'TLS1.2+' sslcertck sslcertfile {} sslcommonname localhost",
        world.cafile().display()
    );
    let (out, mbox) = fetchmail_with(&world, world.stls, &options);
    assert_eq!(mbox.matches("Subject: message 0").count(), 1, "{out}");
    assert_eq!(world.message_count(), 0, "{out}");
    // The session's summary is logged as it ends, which may be just after
    // fetchmail has its answer to QUIT and exits.
    support::eventually(
        || world.server.log(),
        |log| log.contains("pop3 tls=yes login=alice@example.test retrieved=1 deleted=1"),
        |log| format!("no session summary in:\n{log}"),
    );
}

#[test]
fn dovecot_reads_pop3_deletions_and_seen_flags_with_the_same_uids() {
    let world = Pop3World::start();
    world.deliver(3);
    // RETR every message, DELE 1, QUIT.
    let out = world.poplib(world.plain, "plain");
    assert_lines(&out, &["quit: +OK"]);
    world.deliver(1);
    let maildir = world.server.data().join("mail/example.test/alice");
    let messages = doveadm_fetch(&maildir, USER, "INBOX");
    let seen: Vec<(u32, Vec<String>)> = messages.iter().map(|m| (m.uid, m.flags.clone())).collect();
    let flagged = || vec!["\\Seen".to_owned()];
    // UID 1 is gone for good: the next delivery got 4, not 1.
    assert_eq!(seen, [(2, flagged()), (3, flagged()), (4, vec![])], "{out}");
    let status = doveadm_mailbox_status(&maildir, USER, "INBOX");
    assert_eq!(status.uidvalidity, world.uid_validity());
    // POP3 shows the UIDLs Dovecot's pop3 would (%08Xu%08Xv).
    let again = world.poplib(world.plain, "plain");
    let expected = format!(
        "uidl: ['1 00000002{v:08X}', '2 00000003{v:08X}', '3 00000004{v:08X}']",
        v = status.uidvalidity
    );
    assert_lines(&again, &[expected.as_str()]);
}
