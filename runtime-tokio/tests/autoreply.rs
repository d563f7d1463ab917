//! Forwarding and the vacation autoresponder end to end: the settings made
//! with `postern user forward|vacation`, mail sent with python3's smtplib,
//! the results read from the Maildirs.

mod support;

use std::path::PathBuf;
use support::{TestServer, eventually, postern, python};

/// Two domains of local users, so every reply and forward stays here.
const USERS: &str = r#"
[[domain]]
name = "other.test"
users = ["carol", "dave"]
"#;

fn cli(server: &TestServer, args: &[&str]) -> String {
    let output = postern()
        .arg("user")
        .arg("--config")
        .arg(server.config_path())
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "postern user {args:?}:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn send(server: &TestServer, from: &str, to: &str, name: &str, message: &str) {
    let path = server.dir.path().join(name);
    std::fs::write(&path, message).unwrap();
    let output = python("send.py", server.addr, &[from, to, path.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
}

fn read(path: &PathBuf) -> String {
    String::from_utf8(std::fs::read(path).unwrap()).unwrap()
}

/// Waits for `text` in the server's log.
fn wait_for_log(server: &TestServer, text: &str) {
    eventually(
        || server.log(),
        |log| log.contains(text),
        |log| format!("no {text:?} in the log:\n{log}"),
    );
}

#[test]
fn a_vacation_answers_each_sender_once_and_never_bulk_mail() {
    let server = TestServer::start(USERS);
    let body = server.dir.path().join("away.txt");
    std::fs::write(&body, "I am away until Monday.\nAsk Dave.\n").unwrap();
    let shown = cli(
        &server,
        &[
            "vacation",
            "alice@example.test",
            "--on",
            "--subject",
            "Away",
            "--body-file",
            body.to_str().unwrap(),
        ],
    );
    assert!(
        shown.contains("vacation on, at most one reply per sender every 7 days"),
        "{shown}"
    );

    let from_bob = |n: u32| {
        format!(
            "From: Bob <bob@example.test>\r\nTo: Alice <alice@example.test>\r\nSubject: Lunch {n}\r\nMessage-ID: <lunch{n}@example.test>\r\n\r\nLunch?\r\n"
        )
    };
    send(
        &server,
        "bob@example.test",
        "alice@example.test",
        "1.eml",
        &from_bob(1),
    );
    let replies = server.wait_for_delivery("bob", 1);
    let reply = read(&replies[0]);
    for expected in [
        "Return-Path: <>\n",
        "From: <alice@example.test>\n",
        "To: <bob@example.test>\n",
        "Subject: Away\n",
        "In-Reply-To: <lunch1@example.test>\n",
        "Auto-Submitted: auto-replied\n",
        "\nI am away until Monday.\nAsk Dave.\n",
    ] {
        assert!(
            reply.contains(expected),
            "{expected:?} in the reply:\n{reply}"
        );
    }

    // A second message from bob: delivered, not answered.
    send(
        &server,
        "bob@example.test",
        "alice@example.test",
        "2.eml",
        &from_bob(2),
    );
    server.wait_for_delivery("alice", 2);
    wait_for_log(
        &server,
        "no vacation reply from alice@example.test: replied to this sender",
    );

    // Bulk mail from carol: delivered, not answered.
    let bulk = "From: carol@other.test\r\nTo: alice@example.test\r\nSubject: News\r\nPrecedence: bulk\r\n\r\nNews.\r\n";
    send(
        &server,
        "carol@other.test",
        "alice@example.test",
        "3.eml",
        bulk,
    );
    server.wait_for_delivery("alice", 3);
    wait_for_log(
        &server,
        "no vacation reply from alice@example.test: Precedence: bulk",
    );

    // dave writes like a person and hears back: the responder still runs.
    let from_dave = "From: dave@other.test\r\nCc: alice@example.test\r\nSubject: Hi\r\n\r\nHi.\r\n";
    send(
        &server,
        "dave@other.test",
        "alice@example.test",
        "4.eml",
        from_dave,
    );
    let to_dave = server.wait_for_delivery_to("other.test", "dave", 1);
    assert!(read(&to_dave[0]).contains("Subject: Away\n"));

    assert_eq!(server.delivered("bob").len(), 1, "bob is answered once");
    assert!(
        server.delivered_to("other.test", "carol").is_empty(),
        "no reply to bulk mail"
    );
    assert_eq!(
        server.delivered("alice").len(),
        4,
        "every message is in the mailbox"
    );
    let memory = std::fs::read_to_string(
        server
            .data()
            .join("mail/example.test/alice/postern-replied"),
    )
    .unwrap();
    let senders: Vec<&str> = memory.lines().filter_map(|l| l.split(' ').nth(1)).collect();
    assert_eq!(senders, ["bob@example.test", "dave@other.test"], "{memory}");

    // Switched off, the responder stays quiet for a new sender too.
    cli(&server, &["vacation", "alice@example.test", "--off"]);
    send(
        &server,
        "carol@other.test",
        "alice@example.test",
        "5.eml",
        "To: alice@example.test\r\nSubject: x\r\n\r\nx\r\n",
    );
    server.wait_for_delivery("alice", 5);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(server.delivered_to("other.test", "carol").is_empty());
}

#[test]
fn forwarding_without_a_copy_delivers_to_the_other_user_only_and_a_loop_stays_put() {
    let server = TestServer::start(USERS);
    let shown = cli(
        &server,
        &[
            "forward",
            "alice@example.test",
            "--to",
            "carol@other.test",
            "--no-keep",
        ],
    );
    assert_eq!(
        shown.trim_end().lines().next(),
        Some("alice@example.test forwards to carol@other.test (keeping no copy)")
    );
    let message = "From: someone@remote.test\r\nTo: alice@example.test\r\nSubject: For Alice\r\n\r\nHello.\r\n";
    send(
        &server,
        "someone@remote.test",
        "alice@example.test",
        "1.eml",
        message,
    );
    let forwarded = server.wait_for_delivery_to("other.test", "carol", 1);
    let copy = read(&forwarded[0]);
    // carol's copy: her own trace, then alice's, then the message as it
    // arrived; the sender kept, so a failure would go back to them.
    assert!(
        copy.starts_with("Return-Path: <someone@remote.test>\nDelivered-To: carol@other.test\nDelivered-To: alice@example.test\nReceived: from client.test"),
        "{copy}"
    );
    assert!(copy.ends_with("\nHello.\n"), "{copy}");
    wait_for_log(
        &server,
        "forwarded for alice@example.test to <carol@other.test>",
    );
    assert!(server.delivered("alice").is_empty(), "no copy kept");

    // carol forwards back to alice: the message comes round to alice, who
    // has had it before, and stays with her instead of going round again.
    cli(
        &server,
        &[
            "forward",
            "carol@other.test",
            "--to",
            "alice@example.test",
            "--no-keep",
        ],
    );
    send(
        &server,
        "someone@remote.test",
        "alice@example.test",
        "2.eml",
        message,
    );
    let kept = server.wait_for_delivery("alice", 1);
    assert!(
        read(&kept[0])
            .contains("Delivered-To: carol@other.test\nDelivered-To: alice@example.test\n")
    );
    wait_for_log(&server, "a forwarding loop");
    assert_eq!(
        server.delivered_to("other.test", "carol").len(),
        1,
        "carol kept no copy"
    );

    // Forwarding off: mail stays with alice again.
    cli(&server, &["forward", "alice@example.test", "--off"]);
    send(
        &server,
        "someone@remote.test",
        "alice@example.test",
        "3.eml",
        message,
    );
    server.wait_for_delivery("alice", 2);
    eventually(
        || server.spool_queue(),
        |queue| queue.is_empty(),
        |queue| format!("still queued: {queue:?}"),
    );
}

#[test]
fn the_cli_refuses_a_loop_a_user_that_does_not_exist_and_a_vacation_without_text() {
    let server = TestServer::start(USERS);
    let body = server.dir.path().join("away.txt");
    std::fs::write(&body, "Away.\n").unwrap();
    let body = body.to_str().unwrap();
    let refused = |args: &[&str]| {
        let output = postern()
            .arg("user")
            .arg("--config")
            .arg(server.config_path())
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let rows: [(&[&str], &str); 6] = [
        (
            &["forward", "alice@example.test", "--to", "info@example.test"],
            "info@example.test leads back to this mailbox; forwarding there would be a loop",
        ),
        (
            &[
                "forward",
                "alice@example.test",
                "--to",
                "ghost@example.test",
            ],
            "cannot forward to ghost@example.test: no such user",
        ),
        (
            &["forward", "alice@example.test", "--keep"],
            "alice@example.test does not forward; give the addresses with --to ADDRESS",
        ),
        (
            &["forward", "ghost@example.test"],
            "ghost@example.test: no such user",
        ),
        (
            &["vacation", "alice@example.test", "--on"],
            "alice@example.test has no vacation set; give the reply's text with --on --body-file FILE",
        ),
        (
            &[
                "vacation",
                "alice@example.test",
                "--on",
                "--body-file",
                body,
                "--days",
                "0",
            ],
            "days is 0; give 1 to 365",
        ),
    ];
    for (args, says) in rows {
        let error = refused(args);
        assert!(error.contains(says), "{args:?}: {error}");
    }
    // Nothing was written.
    assert!(
        !server
            .data()
            .join("mail/example.test/alice/postern-rules.toml")
            .exists()
    );
}
