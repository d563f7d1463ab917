//! Mail is private: whatever the umask, the data directory and every
//! directory Postern makes under it are 0700, every file 0600, and the
//! control socket is out of other users' reach. The queue command does
//! not hang on a server that does not answer.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{TestServer, eventually, free_port, postern, python};

/// The umask most systems give their users: files 0644, directories 0755.
fn permissive_umask() {
    // SAFETY: umask(2) only sets this process's file mode creation mask.
    unsafe { libc::umask(0o022) };
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn send(server: &TestServer, to: &str) {
    let path = server.dir.path().join("m.eml");
    std::fs::write(&path, b"Subject: private\r\n\r\nbody\r\n").unwrap();
    let output = python(
        "send.py",
        server.addr,
        &["sender@remote.test", to, path.to_str().unwrap()],
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
}

#[test]
fn data_spool_maildir_and_socket_are_private_to_the_server_user() {
    permissive_umask();
    let port = free_port();
    // Relayed mail goes to a smarthost nobody listens on, so it stays in
    // the queue with a state file.
    let config = format!(
        r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:{port}"
relay = ["127.0.0.0/8"]

[[domain]]
name = "example.test"
users = ["alice"]

[outbound]
retry_delays = ["1h"]

[outbound.smarthost]
host = "127.0.0.1:{}"
mode = "exclusive"
"#,
        free_port()
    );
    let server = TestServer::start_with(&config, format!("127.0.0.1:{port}").parse().unwrap());
    send(&server, "alice@example.test");
    send(&server, "bob@elsewhere.test");
    server.wait_for_delivery("alice", 1);
    let data = server.data();
    let state_dir = data.join("spool/state");
    let states = eventually(
        || {
            // A state is written to ID.new and renamed: the listing can
            // catch the name the rename is about to take away.
            std::fs::read_dir(&state_dir).map_or(Vec::new(), |d| {
                d.map(|e| e.unwrap().path())
                    .filter(|path| path.extension().is_none_or(|e| e != "new"))
                    .collect::<Vec<_>>()
            })
        },
        |states| states.len() == 1,
        |states| format!("{} state files; log:\n{}", states.len(), server.log()),
    );
    let queued = server.spool_queue();
    assert_eq!(queued.len(), 1);

    let maildir = data.join("mail/example.test/alice");
    // (alice's message left the queue first; its emptied file may have
    // been taken again by bob's, which is checked as queued[0].)
    // A reader's sync numbers the delivered message: dovecot-uidlist.
    server.command(&["mailbox", "list", "alice@example.test"]);
    let delivered = std::fs::read_dir(maildir.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect::<Vec<_>>();
    let mut dirs = vec![
        data.clone(),
        data.join("spool"),
        data.join("spool/incoming"),
        data.join("spool/queue"),
        data.join("spool/state"),
        data.join("spool/damaged"),
        data.join("spool/free"),
        data.join("mail"),
        data.join("mail/example.test"),
        maildir.clone(),
    ];
    dirs.extend(["tmp", "new", "cur"].map(|sub| maildir.join(sub)));
    dirs.extend([".Sent", ".Trash/cur"].map(|sub| maildir.join(sub)));
    for dir in &dirs {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    for file in [
        &queued[0],
        &states[0],
        &delivered[0],
        &data.join("postern.lock"),
        &maildir.join("dovecot-uidlist"),
        &maildir.join("subscriptions"),
    ] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let socket = data.join("postern.sock");
    assert_eq!(mode(&socket) & 0o077, 0, "{}", socket.display());
}

#[test]
fn an_existing_data_directory_open_to_others_is_made_private_at_start() {
    permissive_umask();
    let mut server = TestServer::prepare("");
    std::fs::create_dir(server.data()).unwrap();
    std::fs::set_permissions(server.data(), std::fs::Permissions::from_mode(0o755)).unwrap();
    server.launch();
    assert_eq!(mode(&server.data()), 0o700);
    assert!(
        server
            .log()
            .contains("was mode 0755, open to other users; made it 0700"),
        "{}",
        server.log()
    );
}

#[test]
fn the_queue_command_gives_up_on_a_server_that_never_answers() {
    let server = TestServer::prepare("");
    std::fs::create_dir(server.data()).unwrap();
    // A "server" that accepts on the control socket and never replies.
    let listener =
        std::os::unix::net::UnixListener::bind(server.data().join("postern.sock")).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let mut child = postern()
        .args(["queue", "flush", "--config"])
        .arg(server.config_path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("postern queue flush still waiting after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("did not answer within 10s"), "{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(10));
}
