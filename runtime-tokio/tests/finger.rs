//! Finger over real sockets: Debian's `finger` client (it speaks only to
//! port 79, so the instances are multi-homed on 127.0.79.2 and
//! 127.0.79.3), `nc`, and a raw socket for what no client sends. The mail
//! waiting is what SMTP delivery wrote; names and plans come from
//! `postern user name` and `postern user plan`.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{TestServer, address, config_head, postern, python};

fn config(smtp: SocketAddr, finger: &str) -> String {
    format!(
        r#"{}
{finger}
[[domain]]
name = "example.test"
users = ["alice", "bob", "carol"]

[[domain]]
name = "other.test"
users = ["alice"]
"#,
        config_head(smtp, "")
    )
}

fn user(server: &TestServer, args: &[&str], stdin: &str) -> String {
    let mut child = postern()
        .arg("user")
        .args(args)
        .arg("--config")
        .arg(server.config_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "postern user {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Accounts alice (name, plan, mail waiting), alice in other.test, bob
/// and carol.
fn populate(server: &TestServer, smtp: SocketAddr) {
    for login in [
        "alice@example.test",
        "alice@other.test",
        "bob@example.test",
        "carol@example.test",
    ] {
        user(server, &["add", login], "a password\n");
    }
    user(server, &["name", "alice@example.test", "Alice Example"], "");
    let said = user(
        server,
        &["plan", "alice@example.test"],
        "Writing the finger chapter.\nBack at noon.\n",
    );
    assert!(
        said.contains("set the plan of alice@example.test"),
        "{said}"
    );
    for i in 0..2 {
        let file = server.dir.path().join(format!("message-{i}.eml"));
        std::fs::write(
            &file,
            format!("From: bob@remote.test\r\nSubject: m{i}\r\n\r\nHello.\r\n"),
        )
        .unwrap();
        python(
            "send.py",
            smtp,
            &[
                "bob@remote.test",
                "alice@example.test",
                file.to_str().unwrap(),
            ],
        );
    }
    server.wait_for_delivery("alice", 2);
}

/// Debian's finger client, asking `query` (such as `alice@127.0.79.2`).
fn finger(args: &[&str]) -> String {
    let output = Command::new("finger")
        .args(args)
        .output()
        .expect("Debian's finger client is needed (apt-get install finger; scripts/test does)");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text
}

fn assert_has(text: &str, expected: &[&str]) {
    for line in expected {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
}

#[test]
fn debians_finger_client_on_a_multi_homed_server() {
    let smtp = address();
    let instances = r#"
[[service]]
name = "finger-lan"
kind = "finger"
listen = "127.0.79.2:finger"
list_users = true
hidden = ["carol@example.test"]

[[service]]
name = "finger-public"
kind = "finger"
listen = "127.0.79.3:79"
allow = ["127.0.0.99"]
"#;
    let server = TestServer::start_with(&config(smtp, instances), smtp);
    populate(&server, smtp);

    let alice = finger(&["alice@127.0.79.2"]);
    assert_has(
        &alice,
        &[
            "Login: alice@example.test",
            "Name: Alice Example",
            "Mail: 2 new messages since ",
            "Plan:",
            "Writing the finger chapter.",
            "Back at noon.",
        ],
    );
    assert!(!alice.contains("Mailbox:"), "{alice}");
    let verbose = finger(&["-l", "alice@127.0.79.2"]);
    assert_has(&verbose, &["Mailbox: 2 messages in the INBOX, 2 unseen"]);

    let list = finger(&["@127.0.79.2"]);
    assert_has(
        &list,
        &[
            "alice@example.test",
            "Alice Example",
            "2 new",
            "bob@example.test",
        ],
    );
    assert!(!list.contains("carol"), "a hidden user is listed:\n{list}");
    let carol = finger(&["carol@127.0.79.2"]);
    assert_has(&carol, &["finger: carol: no such user."]);

    let forwarded = finger(&["alice@elsewhere.test@127.0.79.2"]);
    assert_has(&forwarded, &["finger: forwarding refused"]);

    let refused = finger(&["alice@127.0.79.3"]);
    assert_has(
        &refused,
        &["finger: no finger service for your address here."],
    );
    assert!(!refused.contains("Alice"), "{refused}");

    let log = server.log();
    assert_has(
        &log,
        &[
            "query \"alice\"",
            "answered: 2 users shown",
            "forwarding query refused",
        ],
    );
}

/// Sends `bytes` on a raw socket and reads the answer to the end.
fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8(answer).unwrap()
}

#[test]
fn nc_and_raw_sockets_see_refusals_timeouts_and_clean_text() {
    let smtp = address();
    let finger_addr = address();
    let instance = format!(
        "\n[[service]]\nname = \"finger\"\nkind = \"finger\"\nlisten = \"{finger_addr}\"\ncommand_timeout = \"1s\"\n"
    );
    let server = TestServer::start_with(&config(smtp, &instance), smtp);
    populate(&server, smtp);

    let nc = Command::new("nc")
        .args(["-N", "127.0.0.1", &finger_addr.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("nc is needed (apt-get install netcat-openbsd; scripts/test does)");
    let mut nc = nc;
    nc.stdin.take().unwrap().write_all(b"/W alice\r\n").unwrap();
    let output = nc.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_has(
        &text,
        &[
            "Login: alice@example.test",
            "Mailbox: 2 messages in the INBOX",
        ],
    );
    assert!(
        text.split_inclusive('\n').all(|l| l.ends_with("\r\n")),
        "CRLF lines: {text:?}"
    );

    // Alice has an account in two domains: both are answered.
    let both = raw(finger_addr, b"ALICE\r\n");
    assert_has(
        &both,
        &["Login: alice@example.test", "Login: alice@other.test"],
    );

    // The list is refused unless list_users = true.
    let list = raw(finger_addr, b"\r\n");
    assert_eq!(
        list,
        "finger: this server does not list its users; ask for one by name (finger user@host).\r\n"
    );

    // A query longer than the limit is refused before its end arrives.
    let long = raw(finger_addr, &[b'a'; 300]);
    assert_eq!(long, "finger: query too long.\r\n");

    // A client that says nothing is closed after command_timeout.
    let started = Instant::now();
    let silent = raw(finger_addr, b"");
    assert_eq!(silent, "");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );

    // A name and plan written into the accounts file by hand, with
    // terminal escapes: none reaches the client.
    let accounts = server.data().join("accounts.toml");
    let text = std::fs::read_to_string(&accounts).unwrap();
    let text = text.replace(
        "login = \"bob@example.test\"",
        "login = \"bob@example.test\"\nreal_name = \"Bob \\u001b[2JBobby\"\nplan = \"ring \\u0007 me\\r\\n\\u009b31mred\"",
    );
    std::fs::write(&accounts, text).unwrap();
    let bob = raw(finger_addr, b"bob\r\n");
    assert_has(&bob, &["Name: Bob [2JBobby", "ring  me\r\n31mred\r\n"]);
    assert!(
        !bob.chars()
            .any(|c| c.is_control() && c != '\r' && c != '\n'),
        "{bob:?}"
    );
}

#[test]
fn user_name_and_plan_are_checked_and_cleared() {
    let smtp = address();
    let server = TestServer::start_with(&config(smtp, ""), smtp);
    user(&server, &["add", "alice@example.test"], "a password\n");
    let refused = postern()
        .args(["user", "plan", "alice@example.test", "--config"])
        .arg(server.config_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(&vec![b'x'; 5000])?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("at most 4096 are allowed"),
        "{refused:?}"
    );
    user(&server, &["plan", "alice@example.test"], "Hello.\n");
    let accounts = std::fs::read_to_string(server.data().join("accounts.toml")).unwrap();
    assert!(accounts.contains("plan = \"Hello.\""), "{accounts}");
    user(&server, &["plan", "alice@example.test", "--clear"], "");
    user(&server, &["name", "alice@example.test", "--clear"], "");
    let accounts = std::fs::read_to_string(server.data().join("accounts.toml")).unwrap();
    assert!(
        !accounts.contains("plan") && !accounts.contains("real_name"),
        "{accounts}"
    );
}

#[test]
fn check_config_shows_the_finger_row_and_refuses_keys_that_do_not_apply() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[server]\ndata_dir = \"data\"\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n[[service]]\nname = \"finger\"\nkind = \"finger\"\nlisten = \"127.0.0.1:finger\"\nlist_users = true\n[[domain]]\nname = \"example.test\"\n",
    )
    .unwrap();
    let output = postern().arg("check-config").arg(&good).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let row = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("finger "))
        .unwrap_or_else(|| panic!("no finger row in:\n{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "finger",
            "finger",
            "127.0.0.1:79",
            "none",
            "-",
            "-",
            "-",
            "20",
            "(5/host)",
            "everyone"
        ],
        "{row}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[service]]\nname = \"finger\"\nkind = \"finger\"\nlisten = \"127.0.0.1:finger\"\ntls = \"starttls\"\ncommand_timeout = \"5m\"\n[[domain]]\nname = \"example.test\"\n",
    )
    .unwrap();
    let output = postern().arg("check-config").arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_has(
        &stderr,
        &[
            "bad.toml:5:7: `tls`: does not apply to a finger instance: RFC 1288 finger has no TLS",
            "help: remove `tls` from the [[service]] \"finger\" (kind = \"finger\")",
            "bad.toml:6:19: `command_timeout`: 5m is not a finger query timeout",
            "2 errors in",
        ],
    );
}

#[test]
fn sighup_changes_list_users_and_hidden_for_new_sessions() {
    let smtp = address();
    let finger_addr = address();
    let instance = format!(
        "\n[[service]]\nname = \"finger\"\nkind = \"finger\"\nlisten = \"{finger_addr}\"\n"
    );
    let server = TestServer::start_with(&config(smtp, &instance), smtp);
    for login in ["alice@example.test", "bob@example.test"] {
        user(&server, &["add", login], "a password\n");
    }
    assert!(raw(finger_addr, b"\r\n").contains("does not list its users"));
    assert!(raw(finger_addr, b"bob\r\n").contains("Login: bob@example.test"));

    let path = server.config_path();
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "kind = \"finger\"\n",
        "kind = \"finger\"\nlist_users = true\nhidden = [\"bob@example.test\"]\n",
    );
    std::fs::write(&path, text).unwrap();
    // SAFETY: kill(2) on our own child process.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGHUP) }, 0);
    support::eventually(
        || server.log(),
        |log| log.contains("new sessions use it"),
        |log| format!("no reload in:\n{log}"),
    );
    let list = raw(finger_addr, b"\r\n");
    assert!(list.contains("alice@example.test"), "{list}");
    assert!(!list.contains("bob"), "{list}");
    assert_eq!(
        raw(finger_addr, b"bob\r\n"),
        "finger: bob: no such user.\r\n"
    );
}
