//! NNTP over real sockets with real clients: python's nntplib (reading
//! anonymously, AUTHINFO, POST, STARTTLS, NNTP_SSL) and suck, a news
//! puller nobody here wrote, fetching a group in batch mode.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{TestServer, address, free_port, postern, python};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery";

/// A server with four NNTP instances: `open` (anonymous reading of
/// `local.*`, logins in clear as on loopback), `locked` (nothing without
/// a login), `starttls` and `nntps`; and three groups.
struct NewsWorld {
    server: TestServer,
    smtp: SocketAddr,
    open: SocketAddr,
    locked: SocketAddr,
    starttls: SocketAddr,
    nntps: SocketAddr,
}

impl NewsWorld {
    fn start() -> NewsWorld {
        let [smtp, open, locked, starttls, nntps] = [0; 5].map(|_| address());
        let smtp_port = smtp;
        let config = format!(
            r#"
[server]
hostname = "news.example.test"
data_dir = "data"
shutdown_grace = "1s"

[auth]
failure_delay = "0s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{smtp}"

[[service]]
name = "news"
kind = "nntp"
listen = "{open}"
anonymous_read = "local.*"
auth_without_tls = true

[[service]]
name = "news-locked"
kind = "nntp"
listen = "{locked}"
auth_without_tls = true

[[service]]
name = "news-tls"
kind = "nntp"
listen = "{starttls}"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[service]]
name = "newss"
kind = "nntp"
listen = "{nntps}"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[domain]]
name = "example.test"
users = ["alice", "bob"]

[[newsgroup]]
name = "local.general"
description = "Anything for everyone here"
address = "general-news@example.test"
send_to = ["bob@example.test"]

[[newsgroup]]
name = "local.announce"
description = "Announcements"
posting = "read-only"

[[newsgroup]]
name = "private.staff"

[[news_access]]
users = ["bob@example.test"]
read = "local.*"
post = ""

[[list]]
address = "team@example.test"
description = "The team"
newsgroup = "lists.team"
"#
        );
        let server = TestServer::start_with_files(&config, smtp, make_certificate);
        support::add_user(&server.config_path(), USER, PASSWORD);
        support::add_user(&server.config_path(), "bob@example.test", PASSWORD);
        NewsWorld {
            server,
            smtp: smtp_port,
            open,
            locked,
            starttls,
            nntps,
        }
    }

    fn cafile(&self) -> PathBuf {
        self.server.dir.path().join("cert.pem")
    }

    fn nntplib(&self, addr: SocketAddr, scenario: &str, user: &str, extra: &str) -> String {
        let cafile = self.cafile();
        let out = python(
            "nntp.py",
            addr,
            &[scenario, cafile.to_str().unwrap(), user, PASSWORD, extra],
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "nntp.py {scenario} failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }
}

impl NewsWorld {
    /// Sends `message` through SMTP.
    fn mail(&self, from: &str, to: &str, message: &str) {
        let path = self
            .server
            .dir
            .path()
            .join(format!("mail-{}.eml", free_port()));
        std::fs::write(&path, message).unwrap();
        let out = python("send.py", self.smtp, &[from, to, path.to_str().unwrap()]);
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("OK"),
            "{out:?}"
        );
    }

    /// The messages in a local user's INBOX, as text.
    fn inbox(&self, user: &str) -> Vec<String> {
        let dir = self.server.data().join("mail/example.test").join(user);
        ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(dir.join(sub)).ok())
            .flatten()
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect()
    }

    fn list_cli(&self, args: &[&str]) {
        let output = postern()
            .arg("list")
            .arg("--config")
            .arg(self.server.config_path())
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
}

fn make_certificate(dir: &Path) {
    let output = postern()
        .current_dir(dir)
        .args(["cert", "self-signed", "--host", "127.0.0.1", "--force"])
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
fn nntplib_posts_and_reads_back_by_number_and_message_id() {
    let world = NewsWorld::start();
    let out = world.nntplib(world.open, "post", USER, "Hello news");
    assert_lines(
        &out,
        &[
            "login: ok",
            "post: 240",
            "local.general count=1 first=1 last=1",
            "over 1: subject='Hello news' from='Alice <alice@example.test>'",
            "lines=2",
            "body 1: 222 1 ",
            "['First line.', '.dot line']",
            "stat 1: 223 1 <",
            "hdr subject: 221",
            "('1', 'Hello news')",
            "article by id: 220 ",
            "date: True",
            "newnews: True",
            "post again: error: 441",
            "post read-only: error: 441",
            "post no subject: error: 441",
            "quit: 205",
        ],
    );
    // The article is a message in the group's own Maildir, with our Path.
    let group = world.server.data().join("news/groups/local.general");
    let files: Vec<PathBuf> = ["new", "cur"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(group.join(sub)).unwrap())
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let stored = std::fs::read_to_string(&files[0]).unwrap();
    assert!(stored.starts_with("Path: news.example.test!"), "{stored}");
    assert!(stored.contains("Message-ID: <"), "{stored}");
    assert!(stored.contains("Date: "), "{stored}");
}

#[test]
fn anonymous_readers_see_only_what_anonymous_read_grants_and_cannot_post() {
    let world = NewsWorld::start();
    world.nntplib(world.open, "post", USER, "For everyone");
    let out = world.nntplib(world.open, "anonymous", "", "");
    assert_lines(
        &out,
        &[
            "welcome: 201 ",
            "posting prohibited",
            "list: [('local.announce', 'n'), ('local.general', 'y')]",
            "descriptions: [('local.announce', 'Announcements'), ('local.general', 'Anything for everyone here')]",
            "local.general count=1 first=1 last=1",
            "subject='For everyone'",
            "group private: error: 411",
            "article none: error: 430",
            "post: error: 440",
            "quit: 205",
        ],
    );
    assert!(!out.contains("private.staff"), "{out}");
}

#[test]
fn a_locked_instance_asks_for_a_login_and_news_access_narrows_a_user() {
    let world = NewsWorld::start();
    let out = world.nntplib(world.locked, "login_required", USER, "");
    assert_lines(
        &out,
        &[
            "list: error: 480",
            "login: ok",
            "list after: ['lists.team', 'local.announce', 'local.general', 'private.staff']",
            "group private: 211 ",
        ],
    );
    let bob = world.nntplib(world.locked, "login_required", "bob@example.test", "");
    assert_lines(
        &bob,
        &[
            "list after: ['local.announce', 'local.general']",
            "group private: error: 411",
        ],
    );
    let bad = world.nntplib(world.locked, "bad_login", USER, "");
    assert_lines(&bad, &["login: error: 481"]);
}

#[test]
fn starttls_and_nntps_carry_the_login() {
    let world = NewsWorld::start();
    let out = world.nntplib(world.starttls, "starttls", USER, "");
    assert_lines(
        &out,
        &[
            "STARTTLS",
            "starttls: ok",
            "tls: TLSv1.3",
            "login: ok",
            "list: ['lists.team', 'local.announce', 'local.general', 'private.staff']",
            "quit: 205",
        ],
    );
    let out = world.nntplib(world.nntps, "nntps", USER, "");
    assert_lines(
        &out,
        &[
            "welcome: 20",
            "login: ok",
            "list: ['lists.team', 'local.announce'",
        ],
    );
}

#[test]
fn suck_pulls_a_group_in_batch_mode() {
    let world = NewsWorld::start();
    world.nntplib(world.open, "post", USER, "First for suck");
    world.nntplib(world.open, "post", USER, "Second for suck");
    let dir = tempfile::tempdir().unwrap();
    // suck's state: the groups to pull and the last article it has.
    std::fs::write(dir.path().join("sucknewsrc"), "local.general 0\n").unwrap();
    let out = Command::new("suck")
        .current_dir(dir.path())
        .args([
            "127.0.0.1",
            "-N",
            &world.open.port().to_string(),
            "-dt",
            ".",
            "-dm",
            "articles",
            "-dd",
            ".",
            "-m",
            "-c",
        ])
        .output()
        .expect("suck is installed by scripts/test");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    let articles: Vec<String> = std::fs::read_dir(dir.path().join("articles"))
        .map(|entries| {
            entries
                .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    let all = articles.join("\n");
    assert!(
        all.contains("Subject: First for suck") && all.contains("Subject: Second for suck"),
        "suck fetched {} articles:\n{all}\n{log}",
        articles.len()
    );
    let newsrc = std::fs::read_to_string(dir.path().join("sucknewsrc")).unwrap();
    assert_eq!(newsrc.trim(), "local.general 2", "{log}");
}

#[test]
fn mail_to_a_group_address_is_posted_and_news_is_mailed_on_but_not_back() {
    let world = NewsWorld::start();
    world.mail(
        "carol@remote.test",
        "general-news@example.test",
        "From: Carol <carol@remote.test>\r\nTo: general-news@example.test\r\nSubject: By mail\r\nMessage-ID: <by-mail@remote.test>\r\n\r\nHello from mail.\r\n",
    );
    let out = support::eventually(
        || world.nntplib(world.open, "read", "", "local.general"),
        |out| out.contains("subject='By mail'"),
        |out| format!("the mailed article is not in the group:\n{out}"),
    );
    assert_lines(&out, &["id=<by-mail@remote.test>"]);
    // Posted over NNTP: mailed to send_to. From mail: not mailed back.
    world.nntplib(world.open, "post", USER, "By news");
    let copies = support::eventually(
        || world.inbox("bob"),
        |mails| mails.iter().any(|m| m.contains("Subject: By news")),
        |mails| {
            format!(
                "bob has {} messages, none the news-to-mail copy",
                mails.len()
            )
        },
    );
    let copy = copies
        .iter()
        .find(|m| m.contains("Subject: By news"))
        .unwrap();
    assert!(
        copy.contains("X-Postern-Gateway: news-to-mail local.general"),
        "{copy}"
    );
    assert!(!copy.contains("\nPath:"), "{copy}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !world
            .inbox("bob")
            .iter()
            .any(|m| m.contains("Subject: By mail")),
        "an article that came from mail went back out as mail"
    );
    // The same mail delivered twice is one article.
    world.mail(
        "carol@remote.test",
        "general-news@example.test",
        "From: Carol <carol@remote.test>\r\nSubject: By mail\r\nMessage-ID: <by-mail@remote.test>\r\n\r\nAgain.\r\n",
    );
    let log = support::eventually(
        || world.server.log(),
        |log| log.contains("already in local.general"),
        |_| "the second copy was not recognised".to_owned(),
    );
    assert!(
        log.contains("posted to local.general as article 1"),
        "{log}"
    );
}

#[test]
fn a_list_archive_is_a_newsgroup_and_a_post_to_it_goes_to_the_list() {
    let world = NewsWorld::start();
    world.list_cli(&["members", "team@example.test", "add", USER]);
    world.mail(
        "carol@remote.test",
        "team@example.test",
        "From: Carol <carol@remote.test>\r\nTo: team@example.test\r\nSubject: Team news\r\nMessage-ID: <team-1@remote.test>\r\n\r\nFor the team.\r\n",
    );
    // Alice gets her copy, and the archive is the newsgroup.
    support::eventually(
        || world.inbox("alice"),
        |mails| mails.iter().any(|m| m.contains("Team news")),
        |mails| format!("alice has {} messages, none the post", mails.len()),
    );
    let out = support::eventually(
        || world.nntplib(world.locked, "read", USER, "lists.team"),
        |out| out.contains("Team news"),
        |out| format!("the post is not in lists.team:\n{out}"),
    );
    assert_lines(
        &out,
        &["group: 211 1 1 1 lists.team", "id=<team-1@remote.test>"],
    );
    // Anonymous readers of the open instance are granted local.* only.
    let anonymous = world.nntplib(world.open, "anonymous", "", "");
    assert!(!anonymous.contains("lists.team"), "{anonymous}");
    // A post to the group is mailed to the list, which distributes and
    // archives it.
    let out = world.nntplib(world.locked, "post_to", USER, "lists.team:Reply over news");
    assert_lines(&out, &["login: ok", "post: 240"]);
    support::eventually(
        || world.inbox("alice"),
        |mails| {
            mails
                .iter()
                .any(|m| m.contains("Reply over news") && m.contains("List-Id:"))
        },
        |mails| {
            format!(
                "alice has {} messages, none the list copy of the NNTP post",
                mails.len()
            )
        },
    );
    support::eventually(
        || world.nntplib(world.locked, "read", USER, "lists.team"),
        |out| out.contains("Reply over news"),
        |out| format!("the NNTP post is not in the archive:\n{out}"),
    );
}

/// A server with an SMTP instance (the harness waits for it) and one
/// NNTP instance anyone may read and post to, plus `extra` config.
fn news_server(host: &str, nntp: SocketAddr, extra: &str) -> TestServer {
    let smtp = address();
    let config = format!(
        r#"
[server]
hostname = "{host}"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{smtp}"

[[service]]
name = "news"
kind = "nntp"
listen = "{nntp}"
anonymous_read = "*"
anonymous_post = "*"

[[domain]]
name = "example.test"
users = ["alice"]
{extra}
"#
    );
    TestServer::start_with_files(&config, smtp, |_| {})
}

fn anonymous(addr: SocketAddr, scenario: &str, arg: &str) -> String {
    let out = python("nntp.py", addr, &[scenario, "-", "", "", arg]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "nntp.py {scenario} {arg}:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn a_second_postern_is_pulled_from_and_local_posts_go_up_to_it() {
    let up = address();
    // The upstream's group, with one article before the downstream starts.
    let _upstream = news_server("upstream.test", up, "[[newsgroup]]\nname = \"comp.test\"\n");
    support::eventually(
        || anonymous(up, "post_anonymous", "comp.test:From upstream"),
        |out| out.contains("post: 240"),
        |out| format!("the upstream does not take the post yet:\n{out}"),
    );

    let down = address();
    let downstream = news_server(
        "downstream.test",
        down,
        &format!(
            "[[news_upstream]]\nname = \"up\"\nserver = \"{up}\"\ngroups = \"comp.*\"\ninterval = \"10s\"\npath_identity = \"upstream.test\"\n"
        ),
    );
    // The first round pulls the group, which the downstream then serves.
    support::eventually(
        || anonymous(down, "read", "comp.test"),
        |out| out.contains("From upstream"),
        |out| format!("the downstream has not pulled the article:\n{out}"),
    );
    // A post on the downstream goes up at the next round, and is not
    // pulled back as a second copy.
    let out = anonymous(down, "post_anonymous", "comp.test:From downstream");
    assert!(out.contains("post: 240"), "{out}");
    support::eventually(
        || anonymous(up, "read", "comp.test"),
        |out| out.contains("From downstream"),
        |out| format!("the upstream has not got the downstream's post:\n{out}"),
    );
    std::thread::sleep(std::time::Duration::from_secs(11));
    let out = anonymous(down, "read", "comp.test");
    assert_eq!(out.matches("subject=").count(), 2, "{out}");
    let log = downstream.log();
    assert!(log.contains("nntp-pull upstream=up"), "{log}");
    let stored = std::fs::read_dir(downstream.data().join("news/groups/comp.test/new"))
        .map(|entries| entries.count())
        .unwrap_or(0)
        + std::fs::read_dir(downstream.data().join("news/groups/comp.test/cur"))
            .map(|entries| entries.count())
            .unwrap_or(0);
    assert_eq!(stored, 2, "{log}");
}
