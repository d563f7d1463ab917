//! The command line: check-config, default-config, start-up failures.

mod support;

use std::net::TcpListener;
use support::{free_port, postern};

#[test]
fn the_embedded_default_configuration_checks_out() {
    let dir = tempfile::tempdir().unwrap();
    let output = postern().arg("default-config").output().unwrap();
    assert!(output.status.success());
    let file = dir.path().join("postern.toml");
    std::fs::write(&file, &output.stdout).unwrap();
    let check = postern().arg("check-config").arg(&file).output().unwrap();
    let summary = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(summary.contains("configuration is valid"), "{summary}");
    assert!(summary.contains("127.0.0.1:2525"), "{summary}");
    // POP3 on loopback, logins in clear allowed there.
    let pop3 = summary
        .lines()
        .find(|row| row.contains("127.0.0.1:1110"))
        .unwrap_or_else(|| panic!("no POP3 row in\n{summary}"));
    assert!(pop3.trim_start().starts_with("pop3 "), "{pop3}");
    assert!(pop3.contains("login (also in clear)"), "{pop3}");
    // And it is the text `postern run` uses without --config.
    let explain = postern()
        .args([
            "explain",
            "--local",
            "127.0.0.1:1110",
            "--remote",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(explain.status.success(), "{explain:?}");
    assert!(
        text.contains("instance   \"pop3\" (pop3, listening on 127.0.0.1:1110)"),
        "{text}"
    );
    assert!(
        text.contains("in clear: passwords travel unencrypted"),
        "{text}"
    );
}

#[test]
fn check_config_names_file_line_key_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:99999\"\n\n[[domain]]\nname = \"example.test\"\n",
    )
    .unwrap();
    let check = postern().arg("check-config").arg(&file).output().unwrap();
    assert!(!check.status.success());
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("bad.toml:4:10: `listen`"), "{stderr}");
    assert!(stderr.contains("99999 is over 65535"), "{stderr}");
    assert!(stderr.contains("1 error in"), "{stderr}");
}

#[test]
fn a_port_in_use_stops_start_up_and_nothing_is_left_listening() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let free = free_port();
    let config = format!(
        "[server]\ndata_dir = \"data\"\n\n[[service]]\nname = \"first\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:{free}\"\n\n\
[[service]]\nname = \"second\"\nkind = \"smtp\"\nlisten = \"{taken_addr}\"\n\n[[domain]]\nname = \"example.test\"\n"
    );
    let file = dir.path().join("postern.toml");
    std::fs::write(&file, config).unwrap();
    let stderr = support::run_expecting_failure(&file);
    assert!(
        stderr.contains(&format!(
            "cannot listen on {taken_addr} for instance \"second\""
        )),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was started"), "{stderr}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", free)).is_err());
}

fn mailbox_command(server: &support::TestServer, args: &[&str]) -> std::process::Output {
    postern()
        .current_dir(server.dir.path())
        .arg("mailbox")
        .args(args)
        .arg("--config")
        .arg(server.config_path())
        .output()
        .unwrap()
}

fn deliver_to(server: &support::TestServer, to: &str, subject: &str) {
    let path = server.dir.path().join("m.eml");
    std::fs::write(&path, format!("Subject: {subject}\r\n\r\nbody\r\n")).unwrap();
    let output = support::python(
        "send.py",
        server.addr,
        &["sender@remote.test", to, path.to_str().unwrap()],
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
}

#[test]
fn mailbox_list_and_show_report_folders_and_messages_of_a_user() {
    let server = support::TestServer::start("");
    deliver_to(&server, "alice@example.test", "first");
    // An alias leads to the same mailbox; a control character in a
    // subject is escaped, not printed raw.
    deliver_to(&server, "info@example.test", "second \x1b[2J");
    server.wait_for_delivery("alice", 2);

    let list = mailbox_command(&server, &["list", "Alice@Example.test"]);
    let stdout = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        [
            "FOLDER",
            "MESSAGES",
            "UNSEEN",
            "SIZE",
            "UIDVALIDITY",
            "UIDNEXT"
        ]
    );
    let folders: Vec<&str> = lines[1..].iter().map(|l| l[0]).collect();
    assert_eq!(
        folders,
        ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"]
    );
    let inbox = &lines[1];
    assert_eq!(&inbox[1..3], ["2", "2"], "{stdout}");
    assert_eq!(inbox[5], "3", "{stdout}");

    let show = mailbox_command(&server, &["show", "alice@example.test"]);
    let stdout = String::from_utf8_lossy(&show.stdout);
    assert!(
        show.status.success(),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    assert!(
        stdout.starts_with("INBOX of alice@example.test: UIDVALIDITY "),
        "{stdout}"
    );
    let rows: Vec<&str> = stdout.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(
        rows[0].trim_start().starts_with("1 ") && rows[0].ends_with("  first"),
        "{stdout}"
    );
    assert!(rows[1].ends_with("second \\x1b[2J"), "{stdout}");
    assert!(!stdout.contains('\x1b'));

    let unknown = mailbox_command(&server, &["show", "carol@example.test"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("carol@example.test: no such user"));
    let folder = mailbox_command(&server, &["show", "alice@example.test", "Nope"]);
    assert!(!folder.status.success());
    assert_eq!(
        String::from_utf8_lossy(&folder.stderr).trim(),
        "no folder \"Nope\""
    );
}
