//! Nothing acknowledged with 250 is lost, even to SIGKILL.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{TestServer, eventually, python};

#[test]
fn message_in_the_spool_at_sigkill_is_delivered_after_restart() {
    let mut server = TestServer::prepare("");
    // Make delivery impossible: where alice's domain directory should be,
    // put a file. (Permissions would not stop root.)
    std::fs::create_dir_all(server.data().join("mail")).unwrap();
    std::fs::write(server.data().join("mail/example.test"), b"in the way").unwrap();
    server.launch();

    send_to_alice(&server, "Subject: survive\r\n\r\nstill here\r\n");
    assert_eq!(
        server.spool_queue().len(),
        1,
        "acknowledged and waiting in the spool"
    );

    server.kill9();
    std::fs::remove_file(server.data().join("mail/example.test")).unwrap();
    server.launch();

    let delivered = server.wait_for_delivery("alice", 1);
    assert!(
        std::fs::read_to_string(&delivered[0])
            .unwrap()
            .ends_with("Subject: survive\n\nstill here\n")
    );
    assert!(
        server
            .log()
            .contains("delivering messages left in the spool"),
        "{}",
        server.log()
    );
    wait_until_spool_empty(&server);
}

/// Sends `text` to alice with python's smtplib; it must be answered 250.
fn send_to_alice(server: &TestServer, text: &str) {
    let message = server.dir.path().join("m.eml");
    std::fs::write(&message, text).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &[
            "sender@remote.test",
            "alice@example.test",
            message.to_str().unwrap(),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
}

/// Sends one message to alice and waits until it is delivered and out
/// of the queue.
fn send_and_deliver(server: &TestServer, subject: &str, delivered: usize) {
    send_to_alice(server, &format!("Subject: {subject}\r\n\r\nbody\r\n"));
    server.wait_for_delivery("alice", delivered);
    wait_until_spool_empty(server);
}

/// The inodes of the files in the spool's `queue/` and `free/`.
fn spool_inodes(server: &TestServer) -> BTreeSet<u64> {
    use std::os::unix::fs::MetadataExt;
    ["spool/queue", "spool/free"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(server.data().join(dir)).unwrap())
        .map(|e| e.unwrap().metadata().unwrap().ino())
        .collect()
}

#[test]
fn a_delivered_message_leaves_its_file_emptied_for_the_next_one() {
    use std::os::unix::fs::MetadataExt;
    let mut server = TestServer::prepare("");
    server.launch();
    let free = server.data().join("spool/free");

    send_and_deliver(&server, "first", 1);
    let files: Vec<_> = std::fs::read_dir(&free)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "the delivered message's file is kept");
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().len(),
        0,
        "and emptied"
    );
    let inode = std::fs::metadata(&files[0]).unwrap().ino();

    // The next message is written into one of the empty files made ready
    // in queue/ (blanks), and that file is free again once the message is
    // delivered: the spool holds the same files as before, none new.
    let before = spool_inodes(&server);
    assert!(before.len() > 1, "no blanks made: {before:?}");
    send_and_deliver(&server, "second", 2);
    assert_eq!(spool_inodes(&server), before, "a file was made or lost");
    assert_eq!(std::fs::read_dir(&free).unwrap().count(), 2);

    // Blanks are made from free files first: after a restart, every empty
    // file in queue/ is free again, and they are the blanks of the next
    // messages. A crash that kept a file's emptying but not its move
    // leaves an empty file in queue/ too, taken back the same way rather
    // than set aside as damaged or delivered.
    server.kill9();
    std::fs::write(server.data().join("spool/queue/0000000000042"), b"").unwrap();
    server.launch();
    send_and_deliver(&server, "third", 3);
    assert!(
        server.log().contains("empty files in")
            && server
                .log()
                .contains("(made ready for messages, or delivered before the last stop) moved to"),
        "{}",
        server.log()
    );
    assert!(
        spool_inodes(&server).contains(&inode),
        "the first message's file is no longer used"
    );
    assert_eq!(
        std::fs::read_dir(server.data().join("spool/damaged"))
            .unwrap()
            .count(),
        0
    );
}

/// Runs the burst client (subjects from `first` on) until `before_kill`
/// messages are acknowledged, kills the server with SIGKILL, and returns
/// every message the client saw acknowledged.
fn burst_then_sigkill(server: &mut TestServer, first: u32, before_kill: usize) -> BTreeSet<u32> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/burst.py");
    let mut client = Command::new("python3")
        .arg(script)
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string())
        .arg("100000")
        .arg(first.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acknowledged = BTreeSet::new();
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    // Kill the server mid-stream, once some messages are acknowledged.
    while acknowledged.len() < before_kill {
        let line = lines.next().expect("burst client stopped early").unwrap();
        if let Some(rest) = line.strip_prefix("ACK ") {
            acknowledged.insert(rest.split(' ').next().unwrap().parse::<u32>().unwrap());
        }
    }
    server.kill9();
    for line in lines {
        if let Some(rest) = line.unwrap().strip_prefix("ACK ") {
            acknowledged.insert(rest.split(' ').next().unwrap().parse::<u32>().unwrap());
        }
    }
    client.wait().unwrap();
    acknowledged
}

/// The burst number of every copy in alice's INBOX, in `new/` or `cur/`.
fn burst_copies(server: &TestServer) -> Vec<u32> {
    let inbox = server.data().join("mail/example.test/alice");
    let mut copies = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(inbox.join(sub)) else {
            continue;
        };
        for entry in entries {
            let content = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let subject = content
                .lines()
                .find_map(|l| l.strip_prefix("Subject: burst "))
                .unwrap();
            copies.push(subject.parse::<u32>().unwrap());
        }
    }
    copies.sort_unstable();
    copies
}

#[test]
fn sigkill_during_a_burst_loses_no_acknowledged_message() {
    let mut server = TestServer::start("");
    let acknowledged = burst_then_sigkill(&mut server, 0, 40);
    server.launch();
    wait_until_spool_empty(&server);
    let delivered: BTreeSet<u32> = burst_copies(&server).into_iter().collect();
    let lost: Vec<_> = acknowledged.difference(&delivered).collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost: {lost:?} (of {} acknowledged)",
        acknowledged.len()
    );
    assert!(
        server
            .data()
            .join("spool/incoming")
            .read_dir()
            .unwrap()
            .next()
            .is_none()
    );
}

/// Local delivery is exactly once: SIGKILLs while mail is being
/// received and delivered (some of them between a copy and the record of
/// it, when the delivery is repeated after the restart) leave each
/// message in the mailbox once, and every acknowledged one there.
#[test]
fn repeated_sigkills_during_delivery_leave_exactly_one_copy_of_each_message() {
    let mut server = TestServer::start("");
    let mut acknowledged = BTreeSet::new();
    for round in 0..10 {
        acknowledged.extend(burst_then_sigkill(&mut server, round * 100_000, 25));
        server.launch();
    }
    wait_until_spool_empty(&server);
    let copies = burst_copies(&server);
    let mut twice: Vec<u32> = copies
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    twice.dedup();
    assert!(
        twice.is_empty(),
        "{} messages delivered twice: {twice:?} (of {} copies); log:\n{}",
        twice.len(),
        copies.len(),
        server.log()
    );
    let delivered: BTreeSet<u32> = copies.into_iter().collect();
    let lost: Vec<_> = acknowledged.difference(&delivered).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut server = TestServer::start("");
    let status = server.stop();
    assert!(status.success(), "{status}; log:\n{}", server.log());
    assert!(
        server
            .log()
            .contains("stopping: no longer accepting connections")
    );
    assert!(std::net::TcpStream::connect(server.addr).is_err());
}

fn wait_until_spool_empty(server: &TestServer) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !server.spool_queue().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "spool never drained; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_lets_the_grace_period_run_then_closes_idle_sessions_with_421() {
    use std::io::{BufRead, Write};
    let mut server = TestServer::start("");
    let (stream, mut reader) = greeted(&server);
    let mut line = String::new();
    (&stream).write_all(b"NOOP\r\n").unwrap();
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "250 2.0.0 Ok\r\n");

    let started = std::time::Instant::now();
    let status = server.stop();
    assert!(status.success(), "{status}");
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert_eq!(
        line,
        "421 4.3.2 mx.example.test Service shutting down, closing connection\r\n"
    );
    // The configured grace is one second: the session was not cut short.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert!(
        server
            .log()
            .contains("sessions still running after the grace period")
    );
}

#[test]
fn a_second_server_on_the_same_data_directory_refuses_to_start() {
    let server = TestServer::start("");
    let other = server.dir.path().join("other.toml");
    let config = format!(
        "[server]\ndata_dir = \"{}\"\n\n[[service]]\nname = \"mx2\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:{}\"\n\n[[domain]]\nname = \"example.test\"\n",
        server.data().display(),
        support::free_port()
    );
    std::fs::write(&other, config).unwrap();
    let stderr = support::run_expecting_failure(&other);
    assert!(
        stderr.contains("is in use by another postern (pid"),
        "{stderr}"
    );

    // The first server is untouched and still delivers.
    let message = server.dir.path().join("m.eml");
    std::fs::write(&message, b"Subject: still mine\r\n\r\nok\r\n").unwrap();
    python(
        "send.py",
        server.addr,
        &[
            "sender@remote.test",
            "alice@example.test",
            message.to_str().unwrap(),
        ],
    );
    server.wait_for_delivery("alice", 1);
}

/// A connection to the server's SMTP listener, its `220` read.
fn greeted(server: &TestServer) -> (std::net::TcpStream, BufReader<std::net::TcpStream>) {
    let stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut greeting = String::new();
    reader.read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting}");
    (stream, reader)
}

/// Sends `command` and reads the reply's last line, which must start
/// with `code`.
fn command(stream: &std::net::TcpStream, reader: &mut impl BufRead, line: &str, code: &str) {
    use std::io::Write;
    (&*stream).write_all(line.as_bytes()).unwrap();
    let mut reply = String::new();
    loop {
        reply.clear();
        reader.read_line(&mut reply).unwrap();
        if reply.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    }
    assert!(reply.starts_with(code), "{line:?} answered {reply:?}");
}

#[test]
fn sigkill_while_a_large_message_arrives_leaves_nothing_to_deliver() {
    use std::io::Write;
    let addr = support::address();
    let mut server = TestServer::start_service(addr, "max_message_size = \"4 MiB\"");
    let (stream, mut reader) = greeted(&server);
    command(&stream, &mut reader, "EHLO client.test\r\n", "250");
    command(&stream, &mut reader, "MAIL FROM:<a@remote.test>\r\n", "250");
    command(
        &stream,
        &mut reader,
        "RCPT TO:<alice@example.test>\r\n",
        "250",
    );
    command(&stream, &mut reader, "DATA\r\n", "354");
    // Over the spool's write buffer: the file in queue/ is started, its
    // seal open, and the final dot never comes.
    (&stream)
        .write_all(b"Subject: never finished\r\n\r\n")
        .unwrap();
    let line = [b'x'; 998];
    for _ in 0..1000 {
        (&stream).write_all(&line).unwrap();
        (&stream).write_all(b"\r\n").unwrap();
    }
    let started = eventually(
        || server.spool_queue(),
        |files| !files.is_empty(),
        |_| format!("no file started in spool/queue; log:\n{}", server.log()),
    );
    assert_eq!(started.len(), 1);
    let id = started[0].file_name().unwrap().to_str().unwrap().to_owned();
    server.kill9();
    drop(stream);

    // The next start takes the file back as never acknowledged: nothing
    // is delivered, nothing set aside.
    server.launch();
    eventually(
        || server.log(),
        |log| {
            log.contains(&format!(
                "{id}: removing a message that was never acknowledged (its seal is open"
            ))
        },
        |log| format!("no word of {id} at start-up:\n{log}"),
    );
    assert!(
        server.spool_queue().is_empty(),
        "{:?}",
        server.spool_queue()
    );
    assert!(server.data().join("spool/free").join(&id).exists());
    assert_eq!(
        std::fs::read_dir(server.data().join("spool/damaged"))
            .unwrap()
            .count(),
        0
    );
    send_and_deliver(&server, "after", 1);
    assert_eq!(server.delivered("alice").len(), 1);
}
