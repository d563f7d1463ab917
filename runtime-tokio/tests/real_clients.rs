//! The built binary, driven over real sockets by python3's smtplib.

mod support;

use support::{TestServer, eventually, python};

fn write_message(server: &TestServer, name: &str, text: &[u8]) -> String {
    let path = server.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn send(server: &TestServer, from: &str, to: &str, message: &str) -> String {
    send_with(server, from, to, message, &[])
}

fn send_with(server: &TestServer, from: &str, to: &str, message: &str, options: &[&str]) -> String {
    let args: Vec<&str> = [from, to, message].iter().chain(options).copied().collect();
    let output = python("send.py", server.addr, &args);
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn smtplib_message_lands_in_maildir_byte_for_byte() {
    let server = TestServer::start("");
    let message = "From: sender@remote.test\r\nTo: alice@example.test\r\nSubject: caf\u{e9}\r\n\r\n\
Hello Alice.\r\n.a line that starts with a dot\r\n\r\n8-bit: \u{fc}ber\r\n";
    let file = write_message(&server, "m.eml", message.as_bytes());
    assert_eq!(
        send(&server, "sender@remote.test", "alice@example.test", &file).trim(),
        "OK {}"
    );

    let delivered = server.wait_for_delivery("alice", 1);
    let content = String::from_utf8(std::fs::read(&delivered[0]).unwrap()).unwrap();
    let mut lines = content.lines();
    assert_eq!(lines.next(), Some("Return-Path: <sender@remote.test>"));
    assert_eq!(lines.next(), Some("Delivered-To: alice@example.test"));
    assert_eq!(
        lines.next(),
        Some("Received: from client.test ([127.0.0.1])")
    );
    let by = lines.next().unwrap();
    assert!(
        by.starts_with("\tby mx.example.test (Postern) with ESMTP id "),
        "{by}"
    );
    assert_eq!(lines.next(), Some("\tfor <alice@example.test>;"));
    // The client's bytes follow the trace headers exactly, with LF endings
    // as Maildir wants, and the stuffed dot removed again.
    assert!(
        content.ends_with(&message.replace("\r\n", "\n")),
        "{content}"
    );
    assert!(!content.contains('\r'));
    let name = delivered[0].file_name().unwrap().to_str().unwrap();
    // S= is the file's size, W= the size with CRLF line ends (Dovecot's).
    let crlf_size = content.len() + content.matches('\n').count();
    assert!(
        name.ends_with(&format!(",S={},W={crlf_size}", content.len())),
        "{name}"
    );
    // The queue ID in the Received header is the one in the log.
    let queue_id = by.rsplit(' ').next().unwrap();
    assert!(
        server.log().contains(&format!("{queue_id}: queued")),
        "{}",
        server.log()
    );
    // The file is in new/ a moment before delivery ends (its UID is given
    // under the mailbox lock, then the log line is written).
    eventually(
        || server.log(),
        |log| log.contains(&format!("{queue_id}: delivered to alice@example.test")),
        |log| format!("no delivery line; log:\n{log}"),
    );
    // The spool entry is removed after the delivery is logged, when the
    // queue runner records the result.
    eventually(
        || server.spool_queue(),
        |queue| queue.is_empty(),
        |queue| format!("the spool entry is not removed after delivery: {queue:?}"),
    );
}

#[test]
fn alias_and_user_in_one_message_make_one_copy_per_mailbox() {
    let server = TestServer::start("");
    let file = write_message(&server, "m.eml", b"Subject: team\r\n\r\nhi\r\n");
    let reply = send(
        &server,
        "sender@remote.test",
        "alice@example.test,info@example.test,bob@example.test",
        &file,
    );
    assert_eq!(reply.trim(), "OK {}");
    server.wait_for_delivery("bob", 1);
    server.wait_for_delivery("alice", 1);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        server.delivered("alice").len(),
        1,
        "info is alice: one copy"
    );
}

#[test]
fn unknown_user_and_relaying_are_refused_and_nothing_is_stored() {
    let server = TestServer::start("");
    let file = write_message(&server, "m.eml", b"Subject: x\r\n\r\nx\r\n");
    let reply = send(
        &server,
        "sender@remote.test",
        "nobody@example.test,someone@elsewhere.test",
        &file,
    );
    assert!(
        reply.contains("'nobody@example.test': (550, b'5.1.1"),
        "{reply}"
    );
    assert!(
        reply.contains("'someone@elsewhere.test': (554, b'5.7.1"),
        "{reply}"
    );
    assert!(server.spool_queue().is_empty());
}

#[test]
fn message_over_the_size_limit_gets_552_at_mail_or_at_the_end_of_data() {
    let server = TestServer::start("");
    let big = format!(
        "Subject: big\r\n\r\n{}",
        "0123456789abcdefghijklmnopqrstuvwxyz\r\n".repeat(4000)
    );
    let file = write_message(&server, "big.eml", big.as_bytes());
    // smtplib declares SIZE= when offered, so MAIL is refused (RFC 1870).
    let reply = send(&server, "sender@remote.test", "alice@example.test", &file);
    assert!(reply.starts_with("MAIL 552 5.3.4"), "{reply}");
    // Without SIZE=, the limit is enforced as the data arrives.
    let reply = send_with(
        &server,
        "sender@remote.test",
        "alice@example.test",
        &file,
        &["--no-size"],
    );
    assert!(reply.starts_with("DATA 552 5.3.4"), "{reply}");
    assert!(server.spool_queue().is_empty());
    let small = write_message(&server, "small.eml", b"Subject: small\r\n\r\nok\r\n");
    assert_eq!(
        send(&server, "sender@remote.test", "alice@example.test", &small).trim(),
        "OK {}"
    );
    server.wait_for_delivery("alice", 1);
}
