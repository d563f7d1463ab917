//! IMAP and the rest of the world's view of the same mailbox: after
//! imaplib changes flags, keywords and folders (STORE, CREATE, RENAME,
//! COPY, MOVE, EXPUNGE), Dovecot's `doveadm` reads the same UIDs, flags,
//! keywords and folders from our Maildir; and two IMAP instances on
//! other loopback addresses, with different policies, serve one mailbox.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use support::dovecot::DoveadmCopy;
use support::imap::{ImapWorld, PASSWORD, USER, address};
use support::{TestServer, config_head, free_port, postern, python};

type View = BTreeMap<String, Vec<(u32, Vec<String>)>>;

/// What imap_changes.py saw over IMAP: its folders, and each folder's
/// messages (UID, sorted flags).
fn imap_view(out: &str) -> (Vec<String>, View) {
    let mut folders = Vec::new();
    let mut view = View::new();
    for line in out.lines() {
        let mut words = line.split(' ');
        match words.next() {
            Some("folders") => folders = words.map(str::to_owned).collect(),
            Some("view") => {
                let folder = words.next().unwrap().to_owned();
                let uid = words.next().unwrap().parse().unwrap();
                let flags = words.map(str::to_owned).collect();
                view.entry(folder).or_default().push((uid, flags));
            }
            _ => panic!("unexpected line {line:?} in:\n{out}"),
        }
    }
    (folders, view)
}

fn owned(flags: &[&str]) -> Vec<String> {
    flags.iter().map(|f| (*f).to_owned()).collect()
}

#[test]
fn doveadm_reads_the_uids_flags_keywords_and_folders_imap_left() {
    let world = ImapWorld::start();
    world.deliver(4);
    let out = python("imap_changes.py", world.plain, &[USER, PASSWORD]);
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let (folders, seen_by_imap) = imap_view(&out);
    // What the changes should have left, as IMAP reports it.
    let expected: View = [
        (
            "INBOX",
            vec![
                (1, owned(&["\\Flagged", "\\Seen", "work"])),
                (2, owned(&["$Label1", "\\Answered"])),
            ],
        ),
        (
            "Reports",
            vec![
                (
                    1,
                    owned(&["\\Draft", "\\Flagged", "\\Seen", "copied", "work"]),
                ),
                (2, owned(&["$Label1", "\\Answered"])),
            ],
        ),
        ("Reports.2026", vec![(1, owned(&["\\Seen", "later"]))]),
        ("Work", vec![(1, vec![])]),
    ]
    .into_iter()
    .map(|(folder, messages)| (folder.to_owned(), messages))
    .collect();
    assert_eq!(seen_by_imap, expected, "{out}");
    // Dovecot reads the same from the Maildir.
    let copy = DoveadmCopy::new(&world.maildir(), USER);
    assert_eq!(copy.mailbox_list(), folders, "{out}");
    let mut seen_by_dovecot = View::new();
    for folder in &folders {
        let messages: Vec<(u32, Vec<String>)> = copy
            .fetch(folder)
            .into_iter()
            .map(|message| {
                let mut flags = message.flags;
                flags.sort();
                (message.uid, flags)
            })
            .collect();
        if !messages.is_empty() {
            seen_by_dovecot.insert(folder.clone(), messages);
        }
    }
    assert_eq!(seen_by_dovecot, seen_by_imap, "{out}");
    // UID 4 was expunged and UID 3 moved: INBOX's next UID is still 5.
    assert_eq!(copy.mailbox_status("INBOX").uidnext, 5);
    assert_eq!(copy.mailbox_status("Reports").uidnext, 3);
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
fn two_instances_on_other_loopback_addresses_serve_one_mailbox() {
    let smtp = address();
    let home: SocketAddr = format!("127.0.0.2:{}", free_port()).parse().unwrap();
    let office: SocketAddr = format!("127.0.0.3:{}", free_port()).parse().unwrap();
    let config = format!(
        r#"{}

[[service]]
name = "imap-home"
kind = "imap"
listen = "{home}"
auth_without_tls = true

[[service]]
name = "imap-office"
kind = "imap"
listen = "{office}"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[domain]]
name = "example.test"
users = ["alice"]
"#,
        config_head(smtp, "")
    );
    let server = TestServer::start_with_files(&config, smtp, |dir| {
        let output = postern()
            .current_dir(dir)
            .args(["cert", "self-signed", "--host", "127.0.0.3", "--force"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    });
    let mut add = postern()
        .args(["user", "add", USER, "--config"])
        .arg(server.config_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait_with_output().unwrap().status.success());
    let cafile = server.dir.path().join("cert.pem");
    let cafile = cafile.to_str().unwrap();
    let credentials = format!("{USER}:{PASSWORD}");
    // The policies differ: home takes a login in clear, office only
    // after STARTTLS.
    let login = |addr: SocketAddr, scenario: &str| {
        let out = python("imap.py", addr, &[scenario, cafile, USER, PASSWORD]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(login(home, "login").trim(), "ok");
    assert_eq!(
        login(office, "login").trim(),
        "refused: b'[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections: use STARTTLS first'"
    );
    let out = login(office, "logindisabled");
    assert!(out.contains("'LOGINDISABLED'"), "{out}");
    // A message appended at home is read at the office, over TLS.
    let file = server.dir.path().join("note.eml");
    std::fs::write(&file, "Subject: from home\r\n\r\nSee you.\r\n").unwrap();
    let home_inbox = format!("imap://{home}/INBOX");
    curl(&[
        "-u",
        &credentials,
        "-T",
        file.to_str().unwrap(),
        &home_inbox,
    ]);
    let office_inbox = format!("imap://{office}/INBOX");
    let office_uid = format!("{office_inbox};UID=1");
    let tls = ["--ssl-reqd", "--cacert", cafile, "-u", &credentials];
    let out = curl(&[&tls[..], &[office_uid.as_str()]].concat());
    assert_eq!(out, "Subject: from home\r\n\r\nSee you.\r\n");
    // A flag set at the office is seen at home.
    let store = curl(
        &[
            &tls[..],
            &["-X", "UID STORE 1 +FLAGS (\\Flagged)", &office_inbox],
        ]
        .concat(),
    );
    assert!(store.contains("\\Flagged"), "{store}");
    let flags = curl(&["-u", &credentials, "-X", "UID FETCH 1 FLAGS", &home_inbox]);
    assert!(flags.contains("\\Flagged"), "{flags}");
    let log = server.log();
    assert!(log.contains("imap-home"), "{log}");
    assert!(log.contains("imap-office"), "{log}");
}
