//! Barring and the users' allow and block lists over real sockets:
//! python3's smtplib as the client, `postern user senders` to set the
//! lists, the results read from the Maildirs and the log.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use support::{TestServer, add_user, address, config_head, eventually, postern, python};

const PASSWORD: &str = "correct horse battery";

/// An MX that bars some senders and recipients, and a submission
/// instance that bars alice's address, which she may still use once
/// logged in.
fn start() -> (TestServer, SocketAddr) {
    let [mx, submission] = [0; 2].map(|_| address());
    let config = format!(
        r#"{}

[[service]]
name = "submission"
kind = "submission"
listen = "{submission}"
auth_without_tls = true
bar_senders = ["alice@*"]

[[domain]]
name = "example.test"
users = ["alice", "bob", "old"]
aliases = {{ info = "alice" }}
"#,
        config_head(
            mx,
            r#"bar_senders = ["*@spam.example", "*.biz", "bulk-*@*"]
bar_recipients = ["old@example.test", "@retired.example"]"#
        )
    );
    let server = TestServer::start_with(&config, mx);
    add_user(&server.config_path(), "alice@example.test", PASSWORD);
    (server, submission)
}

/// What the server said at each step (see clients/envelope.py).
fn envelope(addr: SocketAddr, args: &[&str]) -> String {
    let output = python("envelope.py", addr, args);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn senders(server: &TestServer, args: &[&str]) -> std::process::Output {
    postern()
        .args(["user", "--config"])
        .arg(server.config_path())
        .arg("senders")
        .args(args)
        .output()
        .unwrap()
}

fn senders_ok(server: &TestServer, args: &[&str]) -> String {
    let output = senders(server, args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "postern user senders {args:?}:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn junk(server: &TestServer, user: &str) -> Vec<PathBuf> {
    server.delivered_to("example.test", &format!("{user}/.Junk"))
}

fn wait_for_log(server: &TestServer, text: &str) {
    eventually(
        || server.log(),
        |log| log.contains(text),
        |log| format!("no {text:?} in the log:\n{log}"),
    );
}

#[test]
fn barred_senders_get_550_at_mail_and_barred_recipients_550_at_rcpt() {
    let (server, submission) = start();
    let said = envelope(server.addr, &["Seller@SPAM.example", "alice@example.test"]);
    assert!(
        said.starts_with("mail 550 5.7.1 <Seller@SPAM.example>: Sender address rejected: barred by this server's policy"),
        "{said}"
    );
    let said = envelope(server.addr, &["offers@shop.biz", "alice@example.test"]);
    assert!(said.starts_with("mail 550 5.7.1"), "{said}");
    wait_for_log(
        &server,
        "mail from=<offers@shop.biz> barred by bar_senders pattern *.biz: refused",
    );

    // A barred recipient is refused; the other of the transaction gets
    // its copy.
    let said = envelope(
        server.addr,
        &[
            "friend@remote.test",
            "old@example.test",
            "someone@mail.retired.example",
            "bob@example.test",
        ],
    );
    assert!(said.starts_with("mail 250"), "{said}");
    assert!(
        said.contains("rcpt old@example.test 550 5.7.1 <old@example.test>: Recipient address rejected: barred by this server's policy"),
        "{said}"
    );
    assert!(
        said.contains("rcpt someone@mail.retired.example 550 5.7.1"),
        "{said}"
    );
    assert!(said.contains("rcpt bob@example.test 250"), "{said}");
    assert!(said.contains("data 250"), "{said}");
    server.wait_for_delivery("bob", 1);
    assert!(server.delivered("old").is_empty());
    let log = server.log();
    let barred = log
        .lines()
        .find(|l| {
            l.contains(
                "rcpt to=<old@example.test> barred by bar_recipients pattern old@example.test",
            )
        })
        .unwrap_or_else(|| panic!("no barring line in the log:\n{log}"));
    assert!(barred.contains("session="), "{barred}");

    // On submission, alice's own address is barred for a client that
    // has not logged in, and not once she has.
    let said = envelope(submission, &["alice@example.test", "bob@example.test"]);
    assert!(
        said.starts_with("mail 530") || said.starts_with("mail 550"),
        "{said}"
    );
    let said = envelope(
        submission,
        &[
            "--login",
            "alice@example.test",
            PASSWORD,
            "alice@example.test",
            "bob@example.test",
        ],
    );
    assert!(said.starts_with("mail 250"), "{said}");
    assert!(said.contains("data 250"), "{said}");
    server.wait_for_delivery("bob", 2);
}

#[test]
fn a_users_block_list_sends_to_junk_or_refuses_and_the_allow_list_wins() {
    let (server, _) = start();
    let shown = senders_ok(
        &server,
        &[
            "info@example.test",
            "--block",
            "@remote.test",
            "--allow",
            "Boss@Remote.test",
        ],
    );
    assert_eq!(
        shown,
        "alice@example.test: senders allowed: boss@remote.test\n\
         alice@example.test: senders blocked: @remote.test\n\
         mail from a blocked sender is delivered to the Junk folder (blocked = junk); an allowed sender is never blocked\n"
    );
    // The file is there, as the book shows it.
    let file = server
        .data()
        .join("mail/example.test/alice/postern-rules.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("[senders]\nallow = [\"boss@remote.test\"]\nblock = [\"@remote.test\"]\nblocked = \"junk\"\n"),
        "{text}"
    );

    // Blocked, junk: accepted, delivered to alice's Junk folder.
    let said = envelope(
        server.addr,
        &["pitch@mail.remote.test", "alice@example.test"],
    );
    assert!(
        said.contains("rcpt alice@example.test 250") && said.contains("data 250"),
        "{said}"
    );
    eventually(
        || junk(&server, "alice"),
        |files| files.len() == 1,
        |files| format!("{files:?} in alice's Junk; log:\n{}", server.log()),
    );
    assert!(server.delivered("alice").is_empty());
    wait_for_log(
        &server,
        "<pitch@mail.remote.test> is on the block list of alice@example.test (@remote.test, blocked = junk): delivered to its Junk folder",
    );
    // Allowed: the INBOX, though the block list names the domain too.
    let said = envelope(server.addr, &["boss@remote.test", "alice@example.test"]);
    assert!(said.contains("data 250"), "{said}");
    server.wait_for_delivery("alice", 1);
    assert_eq!(junk(&server, "alice").len(), 1);

    // Refuse: 550 at RCPT for alice only; bob still gets his copy.
    senders_ok(&server, &["alice@example.test", "--blocked", "refuse"]);
    let said = envelope(
        server.addr,
        &[
            "pitch@remote.test",
            "alice@example.test",
            "bob@example.test",
        ],
    );
    assert!(
        said.contains("rcpt alice@example.test 550 5.7.1 <alice@example.test>: Recipient address rejected: the recipient does not accept mail from this sender"),
        "{said}"
    );
    assert!(
        said.contains("rcpt bob@example.test 250") && said.contains("data 250"),
        "{said}"
    );
    server.wait_for_delivery("bob", 1);
    wait_for_log(
        &server,
        "rcpt to=<alice@example.test> refused: the sender is on the recipient's block list (@remote.test, blocked = refuse)",
    );
    // The allowed sender still gets through.
    let said = envelope(server.addr, &["boss@remote.test", "alice@example.test"]);
    assert!(said.contains("rcpt alice@example.test 250"), "{said}");
    server.wait_for_delivery("alice", 2);

    // `postern explain` says what the lists would do.
    let addr = server.addr.to_string();
    let explained = server.command(&[
        "explain",
        "--local",
        &addr,
        "--remote",
        "192.0.2.7",
        "--from",
        "pitch@remote.test",
        "--to",
        "alice@example.test",
        "--to",
        "old@example.test",
    ]);
    let explained = String::from_utf8_lossy(&explained.stdout);
    for expected in [
        "barring    sender <pitch@remote.test>: matches none of the 3 bar_senders patterns",
        "recipient  <alice@example.test>: refused: local mailbox alice@example.test, whose user refuses this sender",
        "lists      <pitch@remote.test> is blocked by alice@example.test (@remote.test, blocked = refuse): refused for this recipient with 550 5.7.1",
        "recipient  <old@example.test>: refused: 550 5.7.1 barred (bar_recipients pattern old@example.test; for every client)",
    ] {
        assert!(
            explained.contains(expected),
            "{expected:?} in:\n{explained}"
        );
    }

    // Removed from the block list: the INBOX again.
    let shown = senders_ok(&server, &["alice@example.test", "--remove", "@REMOTE.test"]);
    assert!(shown.contains("senders blocked: (none)"), "{shown}");
    let said = envelope(server.addr, &["pitch@remote.test", "alice@example.test"]);
    assert!(said.contains("data 250"), "{said}");
    server.wait_for_delivery("alice", 3);
}

#[test]
fn the_cli_shows_refuses_bad_patterns_and_leaves_the_file_alone() {
    let (server, _) = start();
    let shown = senders_ok(&server, &["bob@example.test"]);
    assert!(shown.contains("senders allowed: (none)"), "{shown}");
    let file = server
        .data()
        .join("mail/example.test/bob/postern-rules.toml");
    assert!(!file.exists());
    senders_ok(&server, &["bob@example.test", "--block", "*.biz"]);
    let before = std::fs::read_to_string(&file).unwrap();
    for (args, says) in [
        (
            &["bob@example.test", "--block", "spammer"][..],
            "has no @ and is no domain",
        ),
        (
            &["bob@example.test", "--blocked", "bounce"][..],
            "write junk",
        ),
        (
            &["bob@example.test", "--remove", "x@y.example"][..],
            "in neither list",
        ),
    ] {
        let output = senders(&server, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    // Emptied, the file goes.
    senders_ok(&server, &["bob@example.test", "--remove", "*.biz"]);
    assert!(!file.exists());
}

/// A line of `out` for each of `expected`, in any order: one that starts
/// with it, or is it exactly when it ends with a line end.
fn assert_lines(out: &str, expected: &[&str]) {
    for line in expected {
        let found = match line.strip_suffix('\n') {
            Some(whole) => out.lines().any(|l| l == whole),
            None => out.lines().any(|l| l.starts_with(line)),
        };
        assert!(found, "no line {line:?} in:\n{out}");
    }
}

#[test]
fn lists_set_in_the_webmail_take_effect_at_the_next_delivery() {
    use support::web::{ALICE, ALICE_PASSWORD, WebWorld};
    let world = WebWorld::start();
    // A bad pattern is refused with the reason, and nothing is kept.
    // The refused form comes back as typed.
    let out = world.web(
        "senders",
        &[ALICE, ALICE_PASSWORD, "pal@remote.test", "spammer", "junk"],
    );
    assert_lines(
        &out,
        &[
            "senders without token: 403",
            "senders: 422",
            "senders notice: Not saved: &quot;spammer&quot; has no @ and is no domain",
            "refused allow: pal@remote.test\n",
            "refused block: spammer\n",
            "page block: \n",
        ],
    );
    let file = world
        .server
        .data()
        .join("mail/example.test/alice/postern-rules.toml");
    assert!(!file.exists());
    let out = world.web(
        "senders",
        &[
            ALICE,
            ALICE_PASSWORD,
            "friend@remote.test",
            "@remote.test|*.biz",
            "refuse",
        ],
    );
    assert_lines(
        &out,
        &[
            "senders without token: 403",
            "senders: 303",
            "senders location: /settings?done=senders",
            "page allow: friend@remote.test\n",
            "page block: @remote.test|*.biz\n",
            "page blocked: refuse",
        ],
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("[senders]\nallow = [\"friend@remote.test\"]\nblock = [\"@remote.test\", \"*.biz\"]\nblocked = \"refuse\"\n"),
        "{text}"
    );
    // The next message from a blocked sender is refused for alice.
    let said = envelope(
        world.smtp,
        &["pitch@remote.test", ALICE, "bob@example.test"],
    );
    assert!(said.contains("rcpt alice@example.test 550 5.7.1"), "{said}");
    assert!(said.contains("rcpt bob@example.test 250"), "{said}");
    // Switched to junk in the webmail: the next one goes to her Junk.
    let out = world.web(
        "senders",
        &[
            ALICE,
            ALICE_PASSWORD,
            "friend@remote.test",
            "@remote.test",
            "junk",
        ],
    );
    assert_lines(&out, &["senders: 303", "page blocked: junk"]);
    let said = envelope(world.smtp, &["pitch@remote.test", ALICE]);
    assert!(said.contains("data 250"), "{said}");
    eventually(
        || junk(&world.server, "alice"),
        |files| files.len() == 1,
        |files| format!("{files:?} in alice's Junk; log:\n{}", world.server.log()),
    );
    // The allowed sender reaches her INBOX.
    world.deliver_from("friend@remote.test", ALICE, "Subject: hi\r\n\r\nHi.\r\n");
}

#[test]
fn an_allowed_sender_is_not_greylisted_and_an_unlisted_one_is() {
    let server = TestServer::start_service(address(), "greylist = true");
    senders_ok(&server, &["alice@example.test", "--allow", "@remote.test"]);

    let allowed = envelope(server.addr, &["boss@remote.test", "alice@example.test"]);
    assert!(
        allowed.contains("rcpt alice@example.test 250") && allowed.contains("data 250"),
        "{allowed}"
    );
    let unlisted = envelope(server.addr, &["pitch@other.test", "alice@example.test"]);
    assert!(
        unlisted.contains("rcpt alice@example.test 451"),
        "{unlisted}"
    );
    eventually(
        || server.delivered_to("example.test", "alice"),
        |files| files.len() == 1,
        |files| format!("alice holds {files:?}"),
    );
}
