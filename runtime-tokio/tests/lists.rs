//! Mailing lists end to end: commands and posts sent with python3's
//! smtplib, the list's mail read from the subscribers' Maildirs, members
//! managed with `postern list members`, and the one-click unsubscribe
//! (RFC 8058) posted with curl.

mod support;

use std::path::PathBuf;
use std::process::Command;
use support::outbound::Remote;
use support::{TestServer, eventually, free_port, postern, python};

fn lists_config(web_port: u16) -> String {
    format!(
        r#"
[[domain]]
name = "other.test"
users = ["carol", "dave"]

[[service]]
name = "web"
kind = "http"
listen = "127.0.0.1:{web_port}"
serve = ["lists"]

[[list]]
address = "team@example.test"
owners = ["alice@example.test"]
subject_tag = "[team]"
description = "The team"

[[list]]
address = "news@example.test"
kind = "moderated"
moderators = ["alice@example.test"]

[[list]]
address = "ops@example.test"
owners = ["alice@example.test"]
bounce_threshold = 2

[lists]
web_url = "http://127.0.0.1:{web_port}"
"#
    )
}

fn start() -> (TestServer, u16) {
    let web_port = free_port();
    (TestServer::start(&lists_config(web_port)), web_port)
}

fn list_cli(server: &TestServer, args: &[&str]) -> String {
    let output = postern()
        .arg("list")
        .arg("--config")
        .arg(server.config_path())
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "postern list {args:?}:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn send(server: &TestServer, from: &str, to: &str, message: &str) {
    let path = server.dir.path().join(format!("{}.eml", rand_name()));
    std::fs::write(&path, message).unwrap();
    let output = python("send.py", server.addr, &[from, to, path.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
}

fn rand_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("m{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn read(path: &PathBuf) -> String {
    String::from_utf8(std::fs::read(path).unwrap()).unwrap()
}

/// The messages of `user@domain` once there are `count`, as text.
fn mail(server: &TestServer, domain: &str, user: &str, count: usize) -> Vec<String> {
    server
        .wait_for_delivery_to(domain, user, count)
        .iter()
        .map(read)
        .collect()
}

/// The one message among `messages` that contains `text`.
fn the_one<'a>(messages: &'a [String], text: &str) -> &'a str {
    let found: Vec<&String> = messages.iter().filter(|m| m.contains(text)).collect();
    assert_eq!(found.len(), 1, "one message with {text:?} in {messages:#?}");
    found[0]
}

/// The token in a `Subject: WORD TOKEN` line.
fn token_after(message: &str, word: &str) -> String {
    let line = message
        .lines()
        .find(|l| l.starts_with(&format!("Subject: {word} ")))
        .unwrap_or_else(|| panic!("no Subject: {word} in {message}"));
    line.rsplit(' ').next().unwrap().trim().to_owned()
}

fn wait_for_log(server: &TestServer, text: &str) {
    eventually(
        || server.log(),
        |log| log.contains(text),
        |log| format!("no {text:?} in the log:\n{log}"),
    );
}

fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is needed for the one-click unsubscribe test");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn subscribe_by_mail_confirm_post_and_unsubscribe_with_one_click() {
    let (server, web_port) = start();
    send(
        &server,
        "carol@other.test",
        "team-request@example.test",
        "From: carol@other.test\r\nTo: team-request@example.test\r\nSubject: hello\r\n\r\nsubscribe\r\n",
    );
    let carol = mail(&server, "other.test", "carol", 2);
    let confirmation = the_one(&carol, "Subject: confirm ");
    assert!(
        confirmation.contains("Return-Path: <team-bounces@example.test>"),
        "{confirmation}"
    );
    let token = token_after(confirmation, "confirm");
    let results = the_one(&carol, "Subject: Results of your commands");
    assert!(
        results.contains("A confirmation was sent to carol@other.test."),
        "{results}"
    );
    // Not a member before confirming.
    assert!(list_cli(&server, &["members", "team@example.test"]).contains("no members"));

    // Carol replies to the confirmation, quoting it.
    send(
        &server,
        "carol@other.test",
        "team-request@example.test",
        &format!(
            "From: carol@other.test\r\nSubject: Re: confirm {token}\r\n\r\n> Someone (perhaps you) asked\r\n"
        ),
    );
    let carol = mail(&server, "other.test", "carol", 3);
    assert!(
        carol
            .iter()
            .any(|m| m.contains("carol@other.test is now subscribed to team@example.test.")),
        "{carol:#?}"
    );
    assert_eq!(
        list_cli(&server, &["members", "team@example.test"]).trim(),
        "carol@other.test: mail"
    );

    // Bob (no member: the list is open) posts; carol gets the copy.
    send(
        &server,
        "bob@example.test",
        "team@example.test",
        "From: bob@example.test\r\nTo: team@example.test\r\nSubject: Lunch\r\nMessage-ID: <lunch@example.test>\r\n\r\nLunch at noon?\r\n",
    );
    let carol = mail(&server, "other.test", "carol", 4);
    let post = the_one(&carol, "Lunch at noon?");
    // (The Maildir keeps lines ending in LF alone.)
    for expected in [
        "Return-Path: <team-bounces+carol=other.test@example.test>\n",
        "List-Id: \"The team\" <team.example.test>\n",
        "List-Post: <mailto:team@example.test>\n",
        "List-Help: <mailto:team-request@example.test?subject=help>\n",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n",
        "Subject: [team] Lunch\n",
        "Precedence: list\n",
        "X-BeenThere: team@example.test\n",
        "Message-ID: <lunch@example.test>\n",
    ] {
        assert!(post.contains(expected), "{expected:?} in the copy:\n{post}");
    }
    // The archive is the list's own mailbox.
    let archive = mail(&server, "example.test", "team", 1);
    assert!(
        archive[0].contains("Lunch at noon?") && archive[0].contains("Subject: [team] Lunch"),
        "{}",
        archive[0]
    );

    // One click: the URL of carol's copy.
    let prefix = format!("List-Unsubscribe: <http://127.0.0.1:{web_port}/lists/unsubscribe/");
    let start = post.find(&prefix).expect("an https unsubscribe URL") + "List-Unsubscribe: <".len();
    let url = &post[start..start + post[start..].find('>').unwrap()];
    let page = curl(&[url]);
    assert!(
        page.contains("<form method=\"post\"") && page.ends_with("\n200"),
        "{page}"
    );
    assert!(
        list_cli(&server, &["members", "team@example.test"]).contains("carol"),
        "a GET unsubscribes nobody"
    );
    let done = curl(&["-X", "POST", "-d", "List-Unsubscribe=One-Click", url]);
    assert!(
        done.contains("carol@other.test is unsubscribed from team@example.test.")
            && done.ends_with("\n200"),
        "{done}"
    );
    assert!(list_cli(&server, &["members", "team@example.test"]).contains("no members"));
    let again = curl(&["-X", "POST", "-d", "List-Unsubscribe=One-Click", url]);
    assert!(again.ends_with("\n404"), "{again}");

    // The next post reaches nobody, but the archive.
    send(
        &server,
        "bob@example.test",
        "team@example.test",
        "From: bob@example.test\r\nSubject: Again\r\n\r\nAnyone?\r\n",
    );
    mail(&server, "example.test", "team", 2);
    wait_for_log(
        &server,
        "distributed by team@example.test to 0 subscriber(s)",
    );
    assert_eq!(server.delivered_to("other.test", "carol").len(), 4);
}

#[test]
fn a_moderated_post_waits_for_approval_by_reply() {
    let (server, _) = start();
    list_cli(
        &server,
        &["members", "news@example.test", "add", "dave@other.test"],
    );
    send(
        &server,
        "bob@example.test",
        "news@example.test",
        "From: bob@example.test\r\nSubject: Big news\r\n\r\nWe moved.\r\n",
    );
    let alice = mail(&server, "example.test", "alice", 1);
    let token = token_after(&alice[0], "approve");
    assert!(
        alice[0].contains("A post from bob@example.test to news@example.test waits for approval."),
        "{}",
        alice[0]
    );
    assert!(
        server.delivered_to("other.test", "dave").is_empty(),
        "held, not distributed"
    );
    assert!(list_cli(&server, &["show"]).contains(
        "news@example.test (moderated list, configuration): 1 member(s), 0 pending, 1 held"
    ));

    // Bob cannot approve his own post.
    send(
        &server,
        "bob@example.test",
        "news-request@example.test",
        &format!("Subject: approve {token}\r\n\r\n"),
    );
    let bob = mail(&server, "example.test", "bob", 1);
    assert!(
        bob[0].contains("Only the list's moderators approve posts."),
        "{}",
        bob[0]
    );

    send(
        &server,
        "alice@example.test",
        "news-request@example.test",
        &format!("From: alice@example.test\r\nSubject: Re: approve {token}\r\n\r\n"),
    );
    let dave = mail(&server, "other.test", "dave", 1);
    assert!(
        dave[0].contains("We moved.") && dave[0].contains("List-Id: <news.example.test>"),
        "{}",
        dave[0]
    );
    assert!(
        dave[0].contains("Return-Path: <news-bounces+dave=other.test@example.test>"),
        "{}",
        dave[0]
    );
    mail(&server, "example.test", "news", 1);
    assert!(list_cli(&server, &["show"]).contains("1 member(s), 0 pending, 0 held"));
}

#[test]
fn bounces_suspend_a_subscriber_and_loops_are_dropped() {
    let (server, _) = start();
    list_cli(
        &server,
        &[
            "members",
            "ops@example.test",
            "add",
            "ghost@remote.invalid",
            "dave@other.test",
        ],
    );
    // What a remote server sends back to a copy's VERP return path.
    let dsn = "From: MAILER-DAEMON@remote.invalid\r\nSubject: Undelivered Mail\r\nContent-Type: text/plain\r\n\r\nghost: no such user\r\n";
    send(
        &server,
        "",
        "ops-bounces+ghost=remote.invalid@example.test",
        dsn,
    );
    wait_for_log(
        &server,
        "bounce 1 of 2 for ghost@remote.invalid on ops@example.test",
    );
    send(
        &server,
        "",
        "ops-bounces+ghost=remote.invalid@example.test",
        dsn,
    );
    let alice = mail(&server, "example.test", "alice", 1);
    assert!(
        alice[0].contains("Subject: ghost@remote.invalid suspended on ops@example.test"),
        "{}",
        alice[0]
    );
    let members = list_cli(&server, &["members", "ops@example.test"]);
    assert!(
        members.contains("ghost@remote.invalid: suspended (bounces)"),
        "{members}"
    );

    send(
        &server,
        "bob@example.test",
        "ops@example.test",
        "From: bob@example.test\r\nSubject: Disk full\r\n\r\nOn mx1.\r\n",
    );
    let dave = mail(&server, "other.test", "dave", 1);
    assert!(dave[0].contains("On mx1."));
    wait_for_log(
        &server,
        "distributed by ops@example.test to 1 subscriber(s)",
    );

    // A post that already went through the list comes back: dropped.
    send(
        &server,
        "dave@other.test",
        "ops@example.test",
        &dave[0].replace("\r\n", "\n").replace('\n', "\r\n"),
    );
    wait_for_log(&server, "dropped by ops@example.test, a loop");
    mail(&server, "example.test", "ops", 1);
    assert_eq!(server.delivered_to("other.test", "dave").len(), 1);

    // The operator restores delivery.
    let restored = list_cli(
        &server,
        &[
            "members",
            "ops@example.test",
            "set",
            "ghost@remote.invalid",
            "delivery",
            "mail",
        ],
    );
    assert_eq!(restored.trim(), "ghost@remote.invalid: mail");
}

#[test]
fn a_digest_member_gets_the_posts_as_one_multipart_digest() {
    let (server, _) = start();
    list_cli(
        &server,
        &[
            "members",
            "team@example.test",
            "add",
            "carol@other.test",
            "dave@other.test",
        ],
    );
    let shown = list_cli(
        &server,
        &[
            "members",
            "team@example.test",
            "set",
            "dave@other.test",
            "delivery",
            "digest",
        ],
    );
    assert_eq!(shown.trim(), "dave@other.test: digest");
    let posts = postern_core::limits::LIST_DIGEST_POSTS_MAX;
    for n in 1..=posts {
        send(
            &server,
            "bob@example.test",
            "team@example.test",
            &format!("From: bob@example.test\r\nSubject: Note {n}\r\n\r\nPost number {n}.\r\n"),
        );
        if n < posts {
            // One at a time, so the digest holds them in order.
            mail(&server, "other.test", "carol", n);
        }
    }
    mail(&server, "other.test", "carol", posts);
    let dave = mail(&server, "other.test", "dave", 1);
    let digest = &dave[0];
    assert!(
        digest.contains("Content-Type: multipart/digest; boundary="),
        "{digest}"
    );
    assert!(
        digest.contains(&format!("Subject: [team] digest, {posts} post(s)")),
        "{digest}"
    );
    assert!(
        digest.contains("Return-Path: <team-bounces+dave=other.test@example.test>"),
        "{digest}"
    );
    for n in 1..=posts {
        assert!(
            digest.contains(&format!("Post number {n}.")),
            "post {n} in {digest}"
        );
    }
    let first = digest.find("Post number 1.").unwrap();
    let last = digest.find(&format!("Post number {posts}.")).unwrap();
    assert!(first < last, "in order");
    // The batch is gone once sent: nothing waits for the next digest.
    let list_dir = server.data().join("lists/team@example.test");
    eventually(
        || std::fs::read_dir(list_dir.join("digest-sending")).map_or(0, |d| d.count()),
        |n| *n == 0,
        |n| format!("{n} batches left"),
    );
    assert_eq!(
        std::fs::read_dir(list_dir.join("digest")).unwrap().count(),
        0
    );
    assert_eq!(server.delivered_to("other.test", "dave").len(), 1);
}

/// `postern list` as it fails: the exit code and standard error.
fn list_cli_failing(server: &TestServer, args: &[&str]) -> String {
    let output = postern()
        .arg("list")
        .arg("--config")
        .arg(server.config_path())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "postern list {args:?} should fail"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_created_list_is_taken_up_at_reload_and_declared_lists_are_changed_in_the_file() {
    let (server, _) = start();
    let created = list_cli(
        &server,
        &[
            "create",
            "dev@example.test",
            "--kind",
            "closed",
            "--owner",
            "alice@example.test",
            "--subject-tag",
            "[dev]",
        ],
    );
    assert!(
        created.contains("created the closed list dev@example.test"),
        "{created}"
    );
    // Not a recipient until the server reloads.
    let path = server.dir.path().join("early.eml");
    std::fs::write(&path, "Subject: early\r\n\r\nToo early.\r\n").unwrap();
    let early = python(
        "send.py",
        server.addr,
        &[
            "alice@example.test",
            "dev@example.test",
            path.to_str().unwrap(),
        ],
    );
    assert!(
        String::from_utf8_lossy(&early.stdout).starts_with("REFUSED"),
        "{early:?}"
    );

    // SAFETY: kill(2) on our own child process.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGHUP) }, 0);
    wait_for_log(&server, "reloaded");
    list_cli(
        &server,
        &["members", "dev@example.test", "add", "carol@other.test"],
    );
    send(
        &server,
        "alice@example.test",
        "dev@example.test",
        "From: alice@example.test\r\nSubject: Welcome\r\n\r\nHello, developers.\r\n",
    );
    let carol = mail(&server, "other.test", "carol", 1);
    assert!(
        carol[0].contains("Subject: [dev] Welcome")
            && carol[0].contains("List-Id: <dev.example.test>"),
        "{}",
        carol[0]
    );
    // A closed list refuses a stranger, who is told why.
    send(
        &server,
        "bob@example.test",
        "dev@example.test",
        "Subject: Me too\r\n\r\nHi.\r\n",
    );
    let bob = mail(&server, "example.test", "bob", 1);
    assert!(
        bob[0].contains("only subscribers may post, and bob@example.test is not one"),
        "{}",
        bob[0]
    );

    list_cli(&server, &["set", "dev@example.test", "kind", "open"]);
    assert!(
        list_cli(&server, &["show", "dev@example.test"])
            .contains("dev@example.test (open list, created): 1 member(s)")
    );
    let refused = list_cli_failing(&server, &["set", "team@example.test", "kind", "closed"]);
    assert!(
        refused.contains("team@example.test is a [[list]] of"),
        "{refused}"
    );
    let refused = list_cli_failing(&server, &["create", "alice@example.test"]);
    assert!(
        refused.contains("clashes with the user or alias \"alice\""),
        "{refused}"
    );
    let deleted = list_cli(&server, &["delete", "dev@example.test"]);
    assert!(deleted.contains("deleted dev@example.test"), "{deleted}");
    assert!(
        list_cli_failing(&server, &["members", "dev@example.test"])
            .contains("dev@example.test is no list")
    );
}

#[test]
fn copies_refused_by_a_remote_server_bounce_to_verp_and_suspend_the_subscriber() {
    // Every remote copy goes to a smarthost that refuses each recipient
    // with 550: our queue bounces the copy to its VERP return path.
    let (smarthost_port, web_port) = (free_port(), free_port());
    let refusing = Remote::sink("127.0.0.1", smarthost_port, &["--reject"]);
    let config = format!(
        "{}\n[outbound.smarthost]\nhost = \"127.0.0.1:{smarthost_port}\"\nmode = \"exclusive\"\n",
        lists_config(web_port)
    );
    let server = TestServer::start(&config);
    list_cli(
        &server,
        &[
            "members",
            "ops@example.test",
            "add",
            "ghost@remote.test",
            "dave@other.test",
        ],
    );
    for n in 1..=2 {
        send(
            &server,
            "bob@example.test",
            "ops@example.test",
            &format!("From: bob@example.test\r\nSubject: Alert {n}\r\n\r\nDisk {n} full.\r\n"),
        );
        mail(&server, "other.test", "dave", n);
        wait_for_log(
            &server,
            &format!("bounce {n} of 2 for ghost@remote.test on ops@example.test"),
        );
    }
    let alice = mail(&server, "example.test", "alice", 1);
    assert!(
        alice[0].contains("Subject: ghost@remote.test suspended on ops@example.test"),
        "{}",
        alice[0]
    );
    assert!(
        list_cli(&server, &["members", "ops@example.test"])
            .contains("ghost@remote.test: suspended (bounces)")
    );
    // Nobody but our queue's bounce of the refused copy wrote to the VERP
    // address, and the smarthost accepted no copy for ghost.
    assert!(refusing.events("message").is_empty());
    // The third post reaches dave only.
    send(
        &server,
        "bob@example.test",
        "ops@example.test",
        "From: bob@example.test\r\nSubject: Alert 3\r\n\r\nDisk 3 full.\r\n",
    );
    mail(&server, "other.test", "dave", 3);
    wait_for_log(
        &server,
        "distributed by ops@example.test to 1 subscriber(s)",
    );
}

#[test]
fn a_crash_mid_expansion_loses_no_copy() {
    const USERS: usize = 60;
    let users: Vec<String> = (1..=USERS).map(|n| format!("u{n}")).collect();
    let web_port = free_port();
    let quoted: Vec<String> = users.iter().map(|u| format!("\"{u}\"")).collect();
    let config = format!(
        "{}\n[[domain]]\nname = \"crowd.test\"\nusers = [{}]\n",
        lists_config(web_port),
        quoted.join(", ")
    );
    let mut server = TestServer::start(&config);
    let members: Vec<String> = users.iter().map(|u| format!("{u}@crowd.test")).collect();
    let mut args = vec!["members", "team@example.test", "add"];
    args.extend(members.iter().map(String::as_str));
    list_cli(&server, &args);
    send(
        &server,
        "bob@example.test",
        "team@example.test",
        "From: bob@example.test\r\nSubject: Everyone\r\n\r\nAll hands.\r\n",
    );
    // Killed as soon as the post is accepted: somewhere in the expansion,
    // or before or after it.
    server.kill9();
    server.launch();
    for user in &users {
        mail(&server, "crowd.test", user, 1);
    }
    mail(&server, "example.test", "team", 1);
    eventually(
        || server.spool_queue().len(),
        |queued| *queued == 0,
        |queued| format!("{queued} still queued; log:\n{}", server.log()),
    );
    let mut copies = Vec::new();
    for user in &users {
        let delivered: Vec<String> = server
            .delivered_to("crowd.test", user)
            .iter()
            .map(read)
            .collect();
        assert!(delivered.iter().all(|m| m.contains("All hands.")));
        copies.push(delivered.len());
    }
    let twice = copies.iter().filter(|&&n| n > 1).count();
    println!(
        "{USERS} subscribers: every one has the post; {twice} got it twice (the crash window)"
    );
    assert!(copies.iter().all(|&n| (1..=2).contains(&n)), "{copies:?}");
    // The archive keeps it once, whatever was retried.
    assert_eq!(server.delivered_to("example.test", "team").len(), 1);
}

/// A moderator answers from the webmail: the held post is listed on the
/// settings page, and Approve mails `approve TOKEN` from them to the
/// list's request address, which distributes the post.
#[test]
fn a_moderator_approves_a_held_post_in_the_webmail() {
    let web_port = free_port();
    let webmail_port = free_port();
    let server = TestServer::start(&format!(
        "{}\n[[service]]\nname = \"webmail\"\nkind = \"http\"\nlisten = \"127.0.0.1:{webmail_port}\"\nauth_without_tls = true\n",
        lists_config(web_port)
    ));
    support::add_user(
        &server.config_path(),
        "alice@example.test",
        "correct horse battery",
    );
    list_cli(
        &server,
        &["members", "news@example.test", "add", "dave@other.test"],
    );
    send(
        &server,
        "bob@example.test",
        "news@example.test",
        "From: bob@example.test\r\nSubject: Big news\r\n\r\nWe moved.\r\n",
    );
    mail(&server, "example.test", "alice", 1);
    let webmail: std::net::SocketAddr = format!("127.0.0.1:{webmail_port}").parse().unwrap();
    let out = python(
        "web.py",
        webmail,
        &[
            "moderate",
            "alice@example.test",
            "correct horse battery",
            "approve",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "settings: 200",
        "held: 1",
        "big news shown: True",
        "moderate: 303",
        "location: /settings?done=moderated",
    ] {
        assert!(
            text.contains(line),
            "no {line:?} in:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dave = mail(&server, "other.test", "dave", 1);
    assert!(dave[0].contains("We moved."), "{}", dave[0]);
    eventually(
        || list_cli(&server, &["show"]),
        |shown| shown.contains("1 member(s), 0 pending, 0 held"),
        |shown| format!("still held:\n{shown}"),
    );
    // Bob, no moderator, has nothing to moderate.
    support::add_user(
        &server.config_path(),
        "bob@example.test",
        "correct horse battery",
    );
    let out = python(
        "web.py",
        webmail,
        &[
            "moderate",
            "bob@example.test",
            "correct horse battery",
            "approve",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("held: 0"));
}
