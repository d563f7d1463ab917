//! A list archive read three ways over real sockets: as an IMAP shared
//! folder with python's imaplib (read-only, invisible to a non-member of
//! a closed list), as a newsgroup with nntplib, and as the archive
//! mailbox's own files.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use support::{TestServer, address, free_port, postern, python};

const PASSWORD: &str = "correct horse battery";
const TEAM: &str = "#lists/team@example.test";
const TOWN: &str = "#lists/town@example.test";
const POST_ID: &str = "<plans-1@example.test>";

struct World {
    server: TestServer,
    smtp: SocketAddr,
    imap: SocketAddr,
    nntp: SocketAddr,
}

impl World {
    /// An SMTP, an IMAP and an NNTP instance; a closed list `team` read
    /// as `lists.team` over NNTP, and an open list `town`.
    fn start() -> World {
        let [smtp, imap, nntp] = [0; 3].map(|_| address());
        let config = format!(
            r#"
[server]
hostname = "mail.example.test"
data_dir = "data"
shutdown_grace = "1s"

[auth]
failure_delay = "0s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{smtp}"

[[service]]
name = "imap"
kind = "imap"
listen = "{imap}"
auth_without_tls = true

[[service]]
name = "news"
kind = "nntp"
listen = "{nntp}"
auth_without_tls = true

[[domain]]
name = "example.test"
users = ["alice", "bob"]

[[list]]
address = "team@example.test"
kind = "closed"
owners = ["boss@remote.test"]
description = "The team"
newsgroup = "lists.team"

[[list]]
address = "town@example.test"
description = "Anyone in town"
"#
        );
        let server = TestServer::start_with(&config, smtp);
        for user in ["alice@example.test", "bob@example.test"] {
            support::add_user(&server.config_path(), user, PASSWORD);
        }
        World {
            server,
            smtp,
            imap,
            nntp,
        }
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

    fn mailbox_dir(&self, user: &str) -> PathBuf {
        self.server.data().join("mail/example.test").join(user)
    }

    /// The message files of a mailbox's INBOX: (file name, content).
    fn files(&self, user: &str) -> Vec<(String, String)> {
        let dir = self.mailbox_dir(user);
        let mut files: Vec<(String, String)> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(dir.join(sub)).ok())
            .flatten()
            .map(|entry| {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(entry.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    fn imaplib(&self, scenario: &str, user: &str, folder: &str) -> String {
        let out = python(
            "lists_imap.py",
            self.imap,
            &[scenario, user, PASSWORD, folder],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The Maildir flags of a file name (`...:2,FS` gives `FS`).
fn maildir_flags(name: &str) -> &str {
    name.rsplit_once(":2,").map_or("", |(_, flags)| flags)
}

fn line<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no {label} line in:\n{out}"))
}

#[test]
fn the_same_post_is_seen_over_imap_nntp_and_in_the_list_archive() {
    let world = World::start();
    world.list_cli(&["members", "team@example.test", "add", "alice@example.test"]);
    world.mail(
        "alice@example.test",
        "team@example.test",
        &format!(
            "From: Alice <alice@example.test>\r\nTo: team@example.test\r\nSubject: The plans\r\nMessage-ID: {POST_ID}\r\n\r\nThe plans for the team.\r\n"
        ),
    );
    world.mail(
        "carol@remote.test",
        "town@example.test",
        "From: carol@remote.test\r\nTo: town@example.test\r\nSubject: Fair\r\nMessage-ID: <fair@remote.test>\r\n\r\nA fair on Sunday.\r\n",
    );
    // Alice's copy and the archives'.
    support::eventually(
        || {
            (
                world.files("alice"),
                world.files("team"),
                world.files("town"),
            )
        },
        |(inbox, archive, town)| {
            inbox.iter().any(|(_, m)| m.contains(POST_ID))
                && archive.iter().any(|(_, m)| m.contains(POST_ID))
                && !town.is_empty()
        },
        |(inbox, archive, town)| {
            format!(
                "alice has {} messages, the archive {}, town's {}; not every post",
                inbox.len(),
                archive.len(),
                town.len()
            )
        },
    );

    // IMAP: the member sees the archive as a read-only shared folder.
    let out = world.imaplib("member", "alice@example.test", TEAM);
    assert!(
        line(&out, "namespace").contains(r##"NIL (("#lists/" "/"))"##),
        "{out}"
    );
    let list = line(&out, "list");
    // One level below `#lists`, whose separator is `/`.
    assert!(list.contains(&format!("\"/\" \"{TEAM}\"")), "{out}");
    assert!(list.contains(&format!("\"{TOWN}\"")), "{out}");
    assert!(line(&out, "status").contains("MESSAGES 1"), "{out}");
    assert!(line(&out, "select").contains("is not writable"), "{out}");
    assert!(line(&out, "examine").contains("'1'"), "{out}");
    assert!(line(&out, "fetch").contains(POST_ID), "{out}");
    assert!(!line(&out, "flags after").contains("\\\\Seen"), "{out}");
    assert!(line(&out, "search").contains("['1']"), "{out}");
    assert!(line(&out, "store").contains("NOPERM"), "{out}");
    assert!(line(&out, "append").contains("NOPERM"), "{out}");
    assert!(line(&out, "copy out").contains("OK"), "{out}");
    assert!(line(&out, "subscribe").contains("OK"), "{out}");
    assert!(line(&out, "lsub").contains(&format!("\"{TEAM}\"")), "{out}");
    for label in ["archive ids", "inbox ids", "saved ids"] {
        assert!(line(&out, label).contains(POST_ID), "{label}: {out}");
    }
    // The archive's files are as the list left them: one post, no flag
    // set by the reading or the refused STORE.
    let archive = world.files("team");
    assert_eq!(archive.len(), 1, "{archive:?}");
    for (name, _) in &archive {
        assert!(
            !maildir_flags(name).contains(['S', 'T']),
            "the archive's file was flagged: {name}"
        );
    }

    // NNTP: the same post in the list's newsgroup.
    let out = python(
        "nntp.py",
        world.nntp,
        &["read", "none", "alice@example.test", PASSWORD, "lists.team"],
    );
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("group: 211 1"), "{out}");
    assert!(out.contains(&format!("id={POST_ID}")), "{out}");

    // A non-member sees the open list's archive but not the closed one's,
    // and cannot open it by name.
    let out = world.imaplib("stranger", "bob@example.test", TEAM);
    let list = line(&out, "list");
    assert!(!list.contains("team@example"), "{out}");
    assert!(list.contains(&format!("\"{TOWN}\"")), "{out}");
    assert!(line(&out, "select").contains("NONEXISTENT"), "{out}");
    assert!(line(&out, "status").contains("NONEXISTENT"), "{out}");
}
