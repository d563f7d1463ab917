//! The command line: check-config, default-config, start-up failures,
//! how every command finds the configuration and the data directory.

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::process::{Output, Stdio};
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
    // News on loopback: anonymous reading, logins in clear for posting.
    let news = summary
        .lines()
        .find(|row| row.contains("127.0.0.1:1119"))
        .unwrap_or_else(|| panic!("no NNTP row in\n{summary}"));
    assert!(news.trim_start().starts_with("news "), "{news}");
    assert!(news.contains("offered (also in clear)"), "{news}");
    assert!(
        summary.contains("newsgroup local.general open"),
        "{summary}"
    );
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
        format!(
            "postern: configuration {} (from -c)\nno folder \"Nope\"",
            server.config_path().display()
        )
    );
}

/// Runs `postern ARGS` in `cwd` with `POSTERN_CONFIG` as given (unset when
/// `None`), the password `stdin` on standard input.
fn admin(cwd: &std::path::Path, variable: Option<&std::path::Path>, args: &[&str]) -> Output {
    let mut command = postern();
    command
        .current_dir(cwd)
        .args(args)
        .env_remove("POSTERN_CONFIG");
    if let Some(path) = variable {
        command.env("POSTERN_CONFIG", path);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A password for `user add`; the other commands do not read it.
    let _ = child.stdin.take().unwrap().write_all(b"secret\n");
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn admin_commands_find_the_server_through_postern_config_and_say_so() {
    let server = support::TestServer::start("");
    let config = server.config_path();
    let elsewhere = tempfile::tempdir().unwrap();
    let add = admin(
        elsewhere.path(),
        Some(&config),
        &["user", "add", "alice@example.test"],
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    assert_eq!(
        text(&add.stderr).trim(),
        format!(
            "postern: configuration {} (from POSTERN_CONFIG)",
            config.display()
        )
    );
    let list = admin(elsewhere.path(), Some(&config), &["user", "list"]);
    assert_eq!(text(&list.stdout).trim(), "alice@example.test");
    let queue = admin(elsewhere.path(), Some(&config), &["queue", "list"]);
    assert!(queue.status.success(), "{}", text(&queue.stderr));
    // -c comes first: a POSTERN_CONFIG naming no file is not even read.
    let missing = elsewhere.path().join("missing.toml");
    let flag = config.to_str().unwrap();
    let list = admin(
        elsewhere.path(),
        Some(&missing),
        &["user", "list", "-c", flag],
    );
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert_eq!(text(&list.stdout).trim(), "alice@example.test");
    assert!(
        text(&list.stderr).contains("(from -c)"),
        "{}",
        text(&list.stderr)
    );
    // And a POSTERN_CONFIG naming no file is an error that says where the
    // name came from.
    let broken = admin(elsewhere.path(), Some(&missing), &["user", "list"]);
    assert!(!broken.status.success());
    let stderr = text(&broken.stderr);
    assert!(
        stderr.contains("missing.toml: cannot read the configuration"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(the file is named by POSTERN_CONFIG)"),
        "{stderr}"
    );
    // check-config takes -c, POSTERN_CONFIG, or the file as before.
    for (variable, args) in [
        (None, vec!["check-config", "-c", flag]),
        (Some(config.as_path()), vec!["check-config"]),
        (None, vec!["check-config", flag]),
    ] {
        let check = admin(elsewhere.path(), variable, &args);
        assert!(check.status.success(), "{args:?}: {}", text(&check.stderr));
        assert!(text(&check.stdout).contains("configuration is valid"));
    }
    // `run` logs which configuration it uses.
    assert!(
        server
            .log()
            .contains(&format!("configuration {} (from -c)", config.display())),
        "{}",
        server.log()
    );
    assert!(elsewhere.path().read_dir().unwrap().next().is_none());
}

#[test]
fn without_a_configuration_commands_say_so_and_create_no_data_directory() {
    if std::path::Path::new("/etc/postern/postern.toml").exists() {
        eprintln!("skipped: /etc/postern/postern.toml is installed on this host");
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    for args in [
        &["queue", "list"][..],
        &["queue", "flush"],
        &["queue", "delete", "0000000000001"],
        &["user", "list"],
        &["user", "add", "carol@localhost"],
        &["user", "del", "carol@localhost"],
        &["mailbox", "list", "carol@localhost"],
    ] {
        let output = admin(cwd.path(), None, args);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "{args:?}: {}",
            text(&output.stdout)
        );
        assert!(
            stderr.starts_with(
                "postern: configuration: the embedded default (no -c, no POSTERN_CONFIG, no /etc/postern/postern.toml)\n"
            ),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "the data directory {} does not exist, and was not created: no server has run with this configuration; point at the server's configuration with `-c FILE` or POSTERN_CONFIG=FILE\n",
                cwd.path().join("postern-data").display()
            )),
            "{args:?}: {stderr}"
        );
        let left: Vec<_> = cwd.path().read_dir().unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

#[test]
fn an_empty_data_directory_is_named_and_takes_only_a_first_account() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    std::fs::write(
        &file,
        "[server]\ndata_dir = \"data\"\n\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n\n[[domain]]\nname = \"example.test\"\nusers = [\"alice\"]\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let flag = file.to_str().unwrap();
    for args in [
        &["queue", "list", "-c", flag][..],
        &["queue", "flush", "-c", flag],
        &["user", "list", "-c", flag],
        &["mailbox", "list", "alice@example.test", "-c", flag],
    ] {
        let output = admin(dir.path(), None, args);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "the data directory {} is empty: no server has run with this configuration; is this the server's configuration?\n",
                data.display()
            )),
            "{args:?}: {stderr}"
        );
        assert!(data.read_dir().unwrap().next().is_none(), "{args:?}");
    }
    // The package makes the data directory empty; accounts may be added
    // before the first start.
    let add = admin(
        dir.path(),
        None,
        &["user", "add", "alice@example.test", "-c", flag],
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    let list = admin(dir.path(), None, &["user", "list", "-c", flag]);
    assert_eq!(text(&list.stdout).trim(), "alice@example.test");
}

#[test]
fn run_takes_postern_config_and_logs_it() {
    let server = support::TestServer::prepare("");
    let config = server.config_path();
    // Started by hand, not by the harness: as root it must say so.
    support::allow_root(&config);
    let elsewhere = tempfile::tempdir().unwrap();
    let mut child = postern()
        .current_dir(elsewhere.path())
        .arg("run")
        .env("POSTERN_CONFIG", &config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.contains(&format!(
            "starting; configuration {} (from POSTERN_CONFIG)",
            config.display()
        )),
        "{first}"
    );
    support::eventually(
        || std::net::TcpStream::connect(server.addr).is_ok(),
        |up| *up,
        |_| "the server does not listen".to_owned(),
    );
    // Its data directory is the one the file names, not one of the
    // working directory.
    assert!(server.data().is_dir());
    assert!(elsewhere.path().read_dir().unwrap().next().is_none());
    let _ = child.kill();
    let _ = child.wait();
}
