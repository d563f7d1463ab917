//! Three nodes serve one user's mailbox from one database: an IMAP IDLE
//! on node A (python's imaplib, IDLE sent over its socket) hears of a
//! message accepted by node B's SMTP (smtplib) within a second, and POP3
//! (poplib) on node C lists the same messages with the same UIDLs as
//! POP3 on node A, whose IMAP shows the same UIDs. Nothing is written to
//! any node's Maildirs.

mod support;

use std::net::SocketAddr;
use support::nodes::NodeConfig;
use support::postgres::{self, Database};
use support::{TestServer, add_user, python, python_script};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery";

struct Node {
    server: TestServer,
    smtp: SocketAddr,
    imap: SocketAddr,
    pop3: SocketAddr,
}

fn start_node(db: &Database, node_id: u16, host: u8) -> Node {
    let mut config = NodeConfig::new(db, node_id).host(host);
    let imap = config.service("imap", "auth_without_tls = true");
    let pop3 = config.service("pop3", "auth_without_tls = true");
    let server = config.start();
    // The accounts are the database's: the user is added once, on node 1.
    if node_id == 1 {
        add_user(&server.config_path(), USER, PASSWORD);
    }
    Node {
        smtp: server.addr,
        server,
        imap,
        pop3,
    }
}

fn send(node: &Node, subject: &str) {
    let message = node.server.dir.path().join(format!("{subject}.eml"));
    std::fs::write(
        &message,
        format!("From: carol@client.test\r\nTo: {USER}\r\nSubject: {subject}\r\n\r\nbody\r\n"),
    )
    .unwrap();
    let output = python(
        "send.py",
        node.smtp,
        &["carol@client.test", USER, message.to_str().unwrap()],
    );
    let reply = String::from_utf8_lossy(&output.stdout);
    assert!(reply.starts_with("OK"), "{reply}");
}

/// The value after `label: ` on the line that starts with it.
fn field<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|line| line.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{out}"))
}

#[test]
fn idle_on_one_node_hears_another_nodes_delivery_and_pop3_on_a_third_sees_the_same_uidls() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let nodes = [
        start_node(&db, 1, 2),
        start_node(&db, 2, 3),
        start_node(&db, 3, 4),
    ];
    let logs = || {
        nodes
            .iter()
            .map(|n| n.server.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    // Two messages before, through nodes C and A.
    send(&nodes[2], "first via C");
    send(&nodes[0], "second via A");
    postgres::wait_for_mailbox(&db, ("example.test", "alice"), 2, logs);

    let spec = |a: SocketAddr| a.to_string();
    let output = python_script(
        "nodes_read.py",
        &[
            USER,
            PASSWORD,
            &spec(nodes[0].imap),
            &spec(nodes[1].smtp),
            &spec(nodes[2].pop3),
            &spec(nodes[0].pop3),
        ],
    );
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(field(&out, "exists before"), "2", "{out}");
    assert!(field(&out, "idle answer").starts_with('+'), "{out}");
    let delay: f64 = field(&out, "idle delay")
        .parse()
        .unwrap_or_else(|_| panic!("IDLE on node A heard nothing:\n{out}\n{}", logs()));
    println!("IDLE on node A reported node B's delivery {delay:.3} s after the transaction");
    assert!(delay < 1.0, "IDLE took {delay} s:\n{out}");
    assert_eq!(field(&out, "exists after"), "3", "{out}");
    assert_eq!(field(&out, "imap uids A"), "1 2 3", "{out}");

    // POP3 on C and on A: the same three messages, the same UIDLs, made
    // from IMAP's UIDs and UIDVALIDITY.
    let uidl_c = field(&out, "uidl C");
    assert_eq!(uidl_c, field(&out, "uidl A"), "{out}");
    let status = field(&out, "imap status A");
    let validity: u32 = status
        .split("UIDVALIDITY ")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("{status}"));
    let expected: Vec<String> = (1..=3u32)
        .map(|uid| format!("{uid} {}", postern_core::pop3::uidl(uid, validity)))
        .collect();
    assert_eq!(uidl_c, expected.join(" "), "{out}");
    assert_eq!(
        field(&out, "subjects C"),
        "first via C|second via A|through node B",
        "{out}"
    );
    assert_eq!(field(&out, "subjects C"), field(&out, "subjects A"));

    // `postern mailbox show` on node B reads the same database.
    let shown = support::postern()
        .current_dir(nodes[1].server.dir.path())
        .args(["mailbox", "show", USER, "--config"])
        .arg(nodes[1].server.config_path())
        .output()
        .unwrap();
    let shown_text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{shown:?}");
    for subject in ["first via C", "second via A", "through node B"] {
        assert!(shown_text.contains(subject), "{shown_text}");
    }

    // Nothing went to any node's own Maildirs; each says what stays there.
    for node in &nodes {
        assert!(node.server.delivered("alice").is_empty());
        let log = node.server.log();
        assert!(
            log.contains("and the POP3 lock are shared in the database"),
            "{log}"
        );
        assert!(!log.contains("panicked"), "{log}");
    }
}
