//! Damaged and unreadable spool entries, and deletes, against the real
//! binary: a damaged record is moved aside and everything else is
//! delivered; an entry that cannot be read is read again until it can;
//! `queue delete` stops a delivery under way; `queue list` survives all of
//! it and shows no raw control characters.

mod support;

use postern::spool::{HEADER_BYTES, decode_state, encode_state};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{TestServer, eventually, postern, python};

/// A server whose local deliveries fail (a file where example.test's
/// mailboxes go), holding `count` messages to alice, each with a state
/// file, then stopped. Answers the server and the queue files, oldest
/// first.
fn server_with_queued_messages(count: usize) -> (TestServer, Vec<PathBuf>) {
    let mut server = TestServer::prepare("");
    std::fs::create_dir_all(server.data().join("mail")).unwrap();
    std::fs::write(server.data().join("mail/example.test"), b"in the way").unwrap();
    server.launch();
    for k in 0..count {
        send(&server, "alice@example.test", &format!("message {k}"));
    }
    // A state file counts once renamed into place: `ID.new` is one being
    // written.
    let states = || {
        std::fs::read_dir(server.data().join("spool/state")).map_or(0, |dir| {
            dir.filter_map(Result::ok)
                .filter(|entry| !entry.file_name().to_string_lossy().ends_with(".new"))
                .count()
        })
    };
    eventually(
        states,
        |states| *states == count,
        |states| format!("{states} of {count} state files; log:\n{}", server.log()),
    );
    server.kill9();
    std::fs::remove_file(server.data().join("mail/example.test")).unwrap();
    let mut queued = server.spool_queue();
    queued.sort();
    assert_eq!(queued.len(), count);
    (server, queued)
}

fn send(server: &TestServer, to: &str, subject: &str) {
    let path = server.dir.path().join(format!("{subject}.eml"));
    std::fs::write(&path, format!("Subject: {subject}\r\n\r\nbody\r\n")).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &["sender@remote.test", to, path.to_str().unwrap()],
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

fn state_path(server: &TestServer, id: &str) -> PathBuf {
    server.data().join("spool/state").join(id)
}

/// `postern queue ARGS`: success, and stdout then stderr.
fn queue(server: &TestServer, args: &[&str]) -> (bool, String) {
    let output = postern()
        .arg("queue")
        .args(args)
        .arg("--config")
        .arg(server.config_path())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

fn wait_for_queue_list(server: &TestServer, text: &str) -> String {
    eventually(
        || queue(server, &["list"]).1,
        |list| list.contains(text),
        |list| format!("no {text:?} in:\n{list}\nlog:\n{}", server.log()),
    )
}

/// Gives the sender's local part in a spool record a length prefix of a
/// terabyte (a bincode varint: 0xFD and eight octets), as a damaged disk
/// might; the header's record length is kept consistent.
fn plant_huge_length(queue_file: &Path) {
    let mut bytes = std::fs::read(queue_file).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"\x06sender")
        .expect("the sender's local part in the record");
    let mut huge = vec![0xfd];
    huge.extend_from_slice(&(1u64 << 40).to_le_bytes());
    bytes.splice(at..at + 1, huge);
    let length = u32::from_le_bytes(bytes[10..14].try_into().unwrap()) + 8;
    bytes[10..14].copy_from_slice(&length.to_le_bytes());
    assert!(bytes.len() > HEADER_BYTES + length as usize);
    std::fs::write(queue_file, bytes).unwrap();
}

#[test]
fn a_damaged_spool_record_is_moved_aside_and_everything_else_is_delivered() {
    let (mut server, queued) = server_with_queued_messages(3);
    let (huge, mismatched, good) = (name(&queued[0]), name(&queued[1]), name(&queued[2]));
    plant_huge_length(&queued[0]);
    // A state with one recipient more than the envelope has: the runner
    // indexed the envelope by it and panicked.
    let path = state_path(&server, &mismatched);
    let mut state = decode_state(&std::fs::read(&path).unwrap()).unwrap();
    state.recipients.push(state.recipients[0].clone());
    state.bounced.push(false);
    std::fs::write(&path, encode_state(&state).unwrap()).unwrap();

    // With no server running, `queue list` reads the damage and says so.
    let (ok, list) = queue(&server, &["list"]);
    assert!(ok, "{list}");
    assert!(
        list.contains(&format!("{huge}  damaged: spool record does not decode")),
        "{list}"
    );
    assert!(
        list.contains(&format!("{mismatched}  ")) && list.contains("3 messages in the queue"),
        "{list}"
    );

    server.launch();
    let delivered = server.wait_for_delivery("alice", 1);
    assert!(
        std::fs::read_to_string(&delivered[0])
            .unwrap()
            .contains("Subject: message 2")
    );
    eventually(
        || server.spool_queue().len(),
        |n| *n == 0,
        |n| format!("{n} still queued; log:\n{}", server.log()),
    );
    let damaged = server.data().join("spool/damaged");
    for file in [
        format!("{huge}.queue"),
        format!("{huge}.reason"),
        format!("{mismatched}.queue"),
        format!("{mismatched}.state"),
        format!("{mismatched}.reason"),
    ] {
        assert!(damaged.join(&file).is_file(), "{file} in spool/damaged");
    }
    let log = server.log();
    for (id, reason) in [
        (&huge, "spool record does not decode"),
        (&mismatched, "state has 2 recipients"),
    ] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(&format!("{id}: damaged spool entry moved aside to")))
            .collect();
        assert_eq!(lines.len(), 1, "one line for {id}:\n{log}");
        assert!(
            lines[0].contains(reason) && lines[0].contains(&format!("{id}.queue")),
            "{}",
            lines[0]
        );
    }
    let list = wait_for_queue_list(&server, "2 damaged messages");
    assert!(list.contains("0 messages in the queue"), "{list}");
    assert!(
        list.contains(&format!("{mismatched}  damaged: state has 2 recipients")),
        "{list}"
    );
    assert!(!list.contains(&good), "{list}");

    // The server still delivers.
    send(&server, "bob@example.test", "later");
    server.wait_for_delivery("bob", 1);
}

#[test]
fn a_queue_entry_that_cannot_be_read_is_retried_and_delivered_once_fixed() {
    let (mut server, queued) = server_with_queued_messages(1);
    let id = name(&queued[0]);
    // A directory where the message should be: opening works, reading
    // fails with EISDIR, as an I/O error would (permissions do not stop
    // root, who runs these tests).
    let kept = server.dir.path().join("kept");
    std::fs::rename(&queued[0], &kept).unwrap();
    std::fs::create_dir(&queued[0]).unwrap();
    server.launch();

    let list = wait_for_queue_list(&server, &format!("{id}  unreadable ("));
    assert!(
        list.contains("retry in") && list.contains("Is a directory"),
        "{list}"
    );
    assert!(list.contains("1 message in the queue"), "{list}");
    assert!(
        server
            .log()
            .contains(&format!("{id}: cannot read the spool entry")),
        "{}",
        server.log()
    );

    std::fs::remove_dir(&queued[0]).unwrap();
    std::fs::rename(&kept, &queued[0]).unwrap();
    server.wait_for_delivery("alice", 1);
    eventually(
        || server.spool_queue().len(),
        |n| *n == 0,
        |n| format!("{n} still queued; log:\n{}", server.log()),
    );
}

#[test]
fn queue_list_escapes_control_characters_from_peers() {
    let (server, queued) = server_with_queued_messages(1);
    let id = name(&queued[0]);
    let path = state_path(&server, &id);
    let mut state = decode_state(&std::fs::read(&path).unwrap()).unwrap();
    state.recipients[0].attempts = 1;
    state.recipients[0].last_detail = "451 busy\r\nFAKE 250 delivered\x1b[2J".to_owned();
    std::fs::write(&path, encode_state(&state).unwrap()).unwrap();
    let (ok, list) = queue(&server, &["list"]);
    assert!(ok, "{list}");
    assert!(
        list.contains("451 busy\\r\\nFAKE 250 delivered\\x1b[2J"),
        "{list}"
    );
    assert!(!list.contains('\x1b') && !list.contains('\r'), "{list:?}");
}

/// An SMTP server that accepts connections and never says a word; each
/// connection is handed over on the channel.
fn silent_server(listener: TcpListener) -> std::sync::mpsc::Receiver<std::net::TcpStream> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if sender.send(stream.unwrap()).is_err() {
                return;
            }
        }
    });
    receiver
}

#[test]
fn queue_delete_stops_a_delivery_under_way_and_frees_its_slot() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let connections = silent_server(silent);
    let server = support::outbound::origin(&format!(
        "max_connections = 1\n[outbound.smarthost]\nhost = \"{silent_addr}\"\nmode = \"exclusive\""
    ));
    send(&server, "bob@dest.test", "first");
    let mut first = connections
        .recv_timeout(Duration::from_secs(20))
        .expect("the first attempt connects");
    let id = name(&server.spool_queue()[0]);
    let (ok, deleted) = queue(&server, &["delete", &id]);
    // stdout, then the stderr line saying which configuration was used.
    assert!(
        ok && deleted.trim()
            == format!(
                "ok deleted {id}\npostern: configuration {} (from -c)",
                server.config_path().display()
            ),
        "{deleted}"
    );

    // The attempt is stopped: its connection is closed at once, not when
    // the greeting times out minutes later.
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut byte = [0u8; 1];
    let read = first.read(&mut byte);
    assert!(
        matches!(read, Ok(0)),
        "the connection was not closed after the delete ({read:?} after {:?}); log:\n{}",
        started.elapsed(),
        server.log()
    );
    // Its slot (max_connections = 1) is free for the next message.
    send(&server, "carol@dest.test", "second");
    connections
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("no slot for the next message; log:\n{}", server.log()));
    let (_, list) = queue(&server, &["list"]);
    assert!(!list.contains(&id), "{list}");
    assert!(list.contains("1 message in the queue"), "{list}");
}
