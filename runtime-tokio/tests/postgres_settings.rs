//! Each mailbox's settings are the database's with the postgres backend:
//! a vacation set with `postern user vacation` against node A's
//! configuration answers a message that node B accepts and delivers while
//! node A is stopped; the vacation's memory of whom it answered is shared
//! too, so the same sender writing again through node A (node B stopped)
//! is not answered twice. Mail sent with python's smtplib; the replies
//! read from the database's mailboxes.

mod support;

use std::net::SocketAddr;
use support::nodes::NodeConfig;
use support::postgres::{self, Database};
use support::{TestServer, eventually, postern, python};

struct Node {
    server: TestServer,
    smtp: SocketAddr,
}

fn start_node(db: &Database, node_id: u16, host: u8) -> Node {
    let server = NodeConfig::new(db, node_id)
        .host(host)
        .users(&["alice", "bob"])
        .start();
    Node {
        smtp: server.addr,
        server,
    }
}

fn send(node: &Node, n: u32) {
    let message = node.server.dir.path().join(format!("{n}.eml"));
    std::fs::write(
        &message,
        format!(
            "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Lunch {n}\r\nMessage-ID: <lunch{n}@example.test>\r\n\r\nLunch?\r\n"
        ),
    )
    .unwrap();
    let output = python(
        "send.py",
        node.smtp,
        &[
            "bob@example.test",
            "alice@example.test",
            message.to_str().unwrap(),
        ],
    );
    let reply = String::from_utf8_lossy(&output.stdout);
    assert!(reply.starts_with("OK"), "{reply}");
}

#[test]
fn a_vacation_set_on_one_node_answers_mail_another_node_delivers_once_per_sender() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let mut a = start_node(&db, 1, 2);
    let mut b = start_node(&db, 2, 3);
    let logs = |a: &Node, b: &Node| format!("{}\n----\n{}", a.server.log(), b.server.log());

    let body = a.server.dir.path().join("away.txt");
    std::fs::write(&body, "I am away until Monday.\n").unwrap();
    let set = postern()
        .args([
            "user",
            "vacation",
            "alice@example.test",
            "--on",
            "--subject",
            "Away",
        ])
        .arg("--body-file")
        .arg(&body)
        .arg("--config")
        .arg(a.server.config_path())
        .output()
        .unwrap();
    assert!(set.status.success(), "{set:?}");
    // Node A is stopped: what node B does, it does from the database.
    a.server.stop();

    send(&b, 1);
    postgres::wait_for_mailbox(&db, ("example.test", "alice"), 1, || logs(&a, &b));
    let replies = postgres::wait_for_mailbox(&db, ("example.test", "bob"), 1, || logs(&a, &b));
    assert!(replies[0].contains("Subject: Away"), "{}", replies[0]);
    assert!(
        replies[0].contains("I am away until Monday."),
        "{}",
        replies[0]
    );
    assert!(
        replies[0].contains("In-Reply-To: <lunch1@example.test>"),
        "{}",
        replies[0]
    );

    // Node A again, node B stopped: bob was answered already.
    a.server.launch();
    b.server.stop();
    send(&a, 2);
    postgres::wait_for_mailbox(&db, ("example.test", "alice"), 2, || logs(&a, &b));
    eventually(
        || a.server.log(),
        |log| log.contains("no vacation reply from alice@example.test: replied to this sender"),
        |log| format!("node A answered bob again, or said nothing:\n{log}"),
    );
    assert_eq!(
        postgres::mailbox_texts(&db, "example.test", "bob", "INBOX").len(),
        1,
        "{}",
        logs(&a, &b)
    );

    // The setting as node B's CLI shows it, from the database.
    let shown = postern()
        .args(["user", "vacation", "alice@example.test", "--config"])
        .arg(b.server.config_path())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("vacation on"), "{shown}");
    // Neither node wrote the settings under its data directory.
    for node in [&a, &b] {
        let dir = node.server.data().join("mail/example.test/alice");
        for file in ["postern-rules.toml", "postern-replied"] {
            assert!(!dir.join(file).exists(), "{}", dir.join(file).display());
        }
    }
}

/// A block list set through node A's configuration refuses that sender
/// at RCPT on node B, and `postern explain` with node B's configuration
/// says so: the session and the command both read the lists from the
/// database.
#[test]
fn sender_lists_set_through_one_node_refuse_on_another_and_explain_says_so() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let a = start_node(&db, 1, 2);
    let b = start_node(&db, 2, 3);
    let set = postern()
        .args(["user", "--config"])
        .arg(a.server.config_path())
        .args(["senders", "alice@example.test", "--block", "@remote.test"])
        .args(["--blocked", "refuse"])
        .output()
        .unwrap();
    assert!(set.status.success(), "{set:?}");

    let said = python(
        "envelope.py",
        b.smtp,
        &[
            "pitch@remote.test",
            "alice@example.test",
            "bob@example.test",
        ],
    );
    let said = String::from_utf8_lossy(&said.stdout);
    assert!(
        said.contains("rcpt alice@example.test 550 5.7.1"),
        "{said}\n{}",
        b.server.log()
    );
    assert!(said.contains("rcpt bob@example.test 250"), "{said}");

    let explained = b.server.command(&[
        "explain",
        "--local",
        &b.smtp.to_string(),
        "--remote",
        "192.0.2.7",
        "--from",
        "pitch@remote.test",
        "--to",
        "alice@example.test",
    ]);
    let explained = String::from_utf8_lossy(&explained.stdout);
    assert!(
        explained.contains(
            "lists      <pitch@remote.test> is blocked by alice@example.test (@remote.test, blocked = refuse)"
        ),
        "{explained}"
    );
}
