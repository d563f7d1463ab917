//! Webmail and finger over the database: a message accepted by node B's
//! SMTP is listed by node A's webmail (python's http.client, logging in
//! as the user) and shown by Debian's finger client asking node C, which
//! sees too that they were read through node A. Node A's status page
//! counts the whole shared queue, not only what node A holds, and its
//! admin area lists and deletes there.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use support::nodes::NodeConfig;
use support::postgres::{self, Database};
use support::{TestServer, add_user, free_port, python};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery";
/// Node C's finger: port 79 (the client knows no other), on an address
/// of this test's own.
const FINGER_HOST: &str = "127.0.19.4";

/// Node `node_id` with `services` besides SMTP, its remote mail to
/// 127.0.0.1:`dead_end`.
fn start_node(db: &Database, node_id: u16, services: &str, dead_end: u16) -> TestServer {
    let server = NodeConfig::new(db, node_id)
        .smarthost(dead_end)
        .with(services)
        .start();
    // The accounts are the database's: the first node adds the user for
    // every node.
    if node_id == 1 {
        add_user(&server.config_path(), USER, PASSWORD);
    }
    server
}

#[test]
fn webmail_on_one_node_and_finger_on_another_show_what_a_third_node_delivered() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let http: SocketAddr = format!("127.0.0.2:{}", free_port()).parse().unwrap();
    // Remote mail goes to a port nobody listens on: it waits in the
    // shared queue for a retry.
    let dead_end = free_port();
    let a = start_node(
        &db,
        1,
        &format!(
            "[[service]]\nname = \"web\"\nkind = \"http\"\nlisten = \"{http}\"\nserve = [\"webmail\", \"status\", \"admin\"]\nauth_without_tls = true\n"
        ),
        dead_end,
    );
    let b = start_node(&db, 2, "", dead_end);
    let c = start_node(
        &db,
        3,
        &format!(
            "[[service]]\nname = \"finger\"\nkind = \"finger\"\nlisten = \"{FINGER_HOST}:79\"\n"
        ),
        dead_end,
    );
    let logs = || [a.log(), b.log(), c.log()].join("\n----\n");
    let work = tempfile::tempdir().unwrap();
    for n in 0..2 {
        let reply = support::nodes::send_one(b.addr, &format!("<web{n}@probe.test>"), work.path());
        assert!(reply.starts_with("OK"), "{reply}");
    }
    postgres::wait_for_mailbox(&db, ("example.test", "alice"), 2, logs);

    // Node C's finger tells the user's mail status from the database.
    // (Two new messages; read them through node A and see it change.)
    let finger = |args: &[&str]| -> String {
        let output = Command::new("finger")
            .args(args)
            .output()
            .expect("Debian's finger client is needed (scripts/test installs it)");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let said = finger(&[&format!("alice@{FINGER_HOST}")]);
    assert!(said.contains("Login: alice@example.test"), "{said}");
    assert!(said.contains("Mail: 2 new messages since "), "{said}");
    let verbose = finger(&["-l", &format!("alice@{FINGER_HOST}")]);
    assert!(
        verbose.contains("Mailbox: 2 messages in the INBOX, 2 unseen"),
        "{verbose}"
    );
    // Node A's webmail lists and shows both.
    let output = python("web.py", http, &["read", USER, PASSWORD]);
    let page = String::from_utf8_lossy(&output.stdout);
    assert!(page.contains("inbox: 200"), "{page}");
    assert!(
        page.contains("uids: [1, 2]") || page.contains("uids: [2, 1]"),
        "{page}"
    );
    for uid in 1..=2 {
        assert!(page.contains(&format!("message {uid}: 200")), "{page}");
    }
    assert!(page.matches("probe@client.test").count() >= 2, "{page}");

    let said = finger(&[&format!("alice@{FINGER_HOST}")]);
    assert!(said.contains("No unread mail."), "read on node A: {said}");
    let verbose = finger(&["-l", &format!("alice@{FINGER_HOST}")]);
    assert!(
        verbose.contains("Mailbox: 2 messages in the INBOX, 0 unseen"),
        "{verbose}"
    );
    // Node A's status page counts the shared queue: a message accepted
    // by node B, deferred, released, held by no node (node A's own runner
    // holds nothing: before, the page said the queue was empty).
    let reply = support::nodes::send_to(b.addr, "<far@probe.test>", "far@remote.test", work.path());
    assert!(reply.starts_with("OK"), "{reply}");
    support::eventually(
        || {
            postgres::count_in(
                &db,
                "SELECT count(*) FROM queue_messages \
                 WHERE lease_node IS NULL AND next_attempt > now()",
            )
        },
        |&waiting| waiting == 1,
        |_| format!("the message was not deferred; logs:\n{}", logs()),
    );
    let output = python("web.py", http, &["status"]);
    let page = String::from_utf8_lossy(&output.stdout);
    for row in [
        "<td>in the shared queue (every node)</td><td class=\"number\">1</td>",
        "<td>waiting, held by no node</td><td class=\"number\">1</td>",
        "<td>being delivered by this node</td><td class=\"number\">0</td>",
    ] {
        assert!(page.contains(row), "no {row:?} in:\n{page}");
    }
    assert!(page.contains("Oldest message: "), "{page}");

    // Node A's admin area lists and deletes in the shared queue too, as
    // `postern queue` does there (before, it listed node A's empty spool).
    let far = postern_core::envelope::QueueId(
        postgres::ids_in(&db, "SELECT queue_id FROM queue_messages")[0] as u64,
    )
    .to_string();
    a.command(&["user", "admin", USER, "on"]);
    let output = python("web.py", http, &["admin-queue", USER, PASSWORD, &far]);
    let page = String::from_utf8_lossy(&output.stdout);
    assert!(page.contains("admin page: 200"), "{page}");
    assert!(page.contains("lists the shared queue: True"), "{page}");
    assert!(page.contains(&format!("lists {far}: True")), "{page}");
    assert!(
        page.contains(&format!("delete location: /admin?done=ok deleted {far}")),
        "{page}"
    );
    assert_eq!(
        postgres::count_in(&db, "SELECT count(*) FROM queue_messages"),
        0
    );

    assert!(a.delivered("alice").is_empty() && c.delivered("alice").is_empty());
    assert!(!logs().contains("panicked"));
}
