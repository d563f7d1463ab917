//! The bad-input matrix, over real sockets: each kind of malformed or
//! abusive input gets its reply (RFC 5321, with RFC 3463 enhanced
//! codes), and while the bad client runs a well-behaved smtplib client
//! still delivers its message. Slow clients (slowloris) are in
//! `stalls.rs`.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use support::{TestServer, python};

/// One bad client: what it sends after the greeting, and what it must
/// hear, in order.
struct Row {
    name: &'static str,
    input: fn() -> Vec<u8>,
    replies: &'static [&'static str],
    /// A reply that must come exactly this many times.
    counted: Option<(&'static str, usize)>,
    /// The server closes the connection at the end.
    closes: bool,
}

const ENVELOPE: &[u8] =
    b"EHLO bad.test\r\nMAIL FROM:<bad@bad.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n";

fn with_envelope(data: &[u8]) -> Vec<u8> {
    [ENVELOPE, data].concat()
}

const ROWS: &[Row] = &[
    Row {
        name: "command line over 512 octets",
        input: || [b"NOOP ".repeat(120), b"\r\nNOOP\r\nQUIT\r\n".to_vec()].concat(),
        replies: &["500 5.5.2 Line too long", "250 2.0.0 Ok", "221 2.0.0"],
        counted: Some(("500 5.5.2 Line too long", 1)),
        closes: true,
    },
    Row {
        name: "100 kB without a line end, refused once",
        input: || [b"x".repeat(100_000), b"\r\nQUIT\r\n".to_vec()].concat(),
        replies: &["500 5.5.2 Line too long", "221 2.0.0"],
        counted: Some(("500 5.5.2 Line too long", 1)),
        closes: true,
    },
    Row {
        name: "bare LF ending a command",
        input: || b"EHLO bad.test\nQUIT\r\n".to_vec(),
        replies: &["500 5.5.2 Bare LF in a command line", "221 2.0.0"],
        counted: None,
        closes: true,
    },
    Row {
        name: "bare CR inside a command",
        input: || b"NOOP\rQUIT\r\nQUIT\r\n".to_vec(),
        replies: &["500 5.5.2 Bare CR in a command line", "221 2.0.0"],
        counted: None,
        closes: true,
    },
    Row {
        name: "NUL in a command",
        input: || b"NO\0OP\r\nQUIT\r\n".to_vec(),
        replies: &["500 5.5.2 NUL character in command", "221 2.0.0"],
        counted: None,
        closes: true,
    },
    Row {
        name: "8-bit bytes in commands",
        input: || {
            b"NOOP \xff\xfe\r\nEHLO bad.test\r\nMAIL FROM:<j\xc3\xb6rg@bad.test>\r\nQUIT\r\n"
                .to_vec()
        },
        replies: &[
            "500 5.5.2 Command is not valid UTF-8",
            "553 5.6.7 Non-ASCII sender address requires SMTPUTF8",
            "221 2.0.0",
        ],
        counted: None,
        closes: true,
    },
    Row {
        name: "20,000 pipelined NOOPs, each answered in order",
        input: || [b"NOOP\r\n".repeat(20_000), b"QUIT\r\n".to_vec()].concat(),
        replies: &["250 2.0.0 Ok", "221 2.0.0"],
        counted: Some(("250 2.0.0 Ok", 20_000)),
        closes: true,
    },
    Row {
        name: "a flood of unknown commands ends at max_errors",
        input: || b"FROB\r\n".repeat(1_000),
        replies: &[
            "500 5.5.1 Command unrecognized",
            "421 4.7.0 mx.example.test Error: too many errors, closing connection",
        ],
        counted: Some(("500 5.5.1 Command unrecognized", 10)),
        closes: true,
    },
    Row {
        name: "a flood of recipients past max_recipients",
        input: || {
            let rcpt = b"RCPT TO:<alice@example.test>\r\n".repeat(200);
            [b"EHLO bad.test\r\nMAIL FROM:<>\r\n".to_vec(), rcpt].concat()
        },
        replies: &[
            "250 2.1.5 Ok",
            "452 4.5.3 Too many recipients",
            "421 4.7.0 mx.example.test Error: too many errors",
        ],
        counted: Some(("250 2.1.5 Ok", 100)),
        closes: true,
    },
    Row {
        name: "SIZE over the limit",
        input: || b"EHLO bad.test\r\nMAIL FROM:<bad@bad.test> SIZE=999999999\r\nQUIT\r\n".to_vec(),
        replies: &[
            "552 5.3.4 Message size exceeds fixed maximum message size",
            "221 2.0.0",
        ],
        counted: None,
        closes: true,
    },
    Row {
        name: "message over the limit",
        input: || {
            let line = [b"y".repeat(98), b"\r\n".to_vec()].concat();
            with_envelope(&[line.repeat(2_000), b".\r\nQUIT\r\n".to_vec()].concat())
        },
        replies: &[
            "354 ",
            "552 5.3.4 Message size exceeds fixed maximum message size",
            "221 2.0.0",
        ],
        counted: None,
        closes: true,
    },
    Row {
        name: "message line over 1000 octets",
        input: || with_envelope(&[b"z".repeat(2_000), b"\r\n.\r\nQUIT\r\n".to_vec()].concat()),
        replies: &["354 ", "500 5.5.2 Message line too long", "221 2.0.0"],
        counted: None,
        closes: true,
    },
    Row {
        name: "NUL in message data",
        input: || with_envelope(b"a\0b\r\n.\r\nQUIT\r\n"),
        replies: &["354 ", "554 5.6.0 NUL byte in message data", "221 2.0.0"],
        counted: None,
        closes: true,
    },
    Row {
        name: "bare LF in message data (SMTP smuggling)",
        input: || {
            with_envelope(
                b"hi\n.\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\n",
            )
        },
        replies: &["354 ", "554 5.5.2 Bare CR or LF in message data"],
        counted: None,
        closes: true,
    },
];

/// Sends `input` from one thread while reading everything the server
/// says until it closes (or 20 s pass); returns what was heard and
/// whether the server closed.
fn run_bad_client(addr: SocketAddr, input: Vec<u8>) -> (String, bool) {
    let mut reader = TcpStream::connect(addr).unwrap();
    let mut writer = reader.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        // The server may close before it has read everything.
        let _ = writer.write_all(&input);
    });
    reader
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let started = Instant::now();
    let mut heard = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let closed = loop {
        match reader.read(&mut buffer) {
            Ok(0) => break true,
            Ok(n) => heard.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) if started.elapsed() > Duration::from_secs(20) => break false,
            Err(_) => {}
        }
    };
    sending.join().unwrap();
    (String::from_utf8_lossy(&heard).into_owned(), closed)
}

/// Delivers one message to alice with smtplib.
fn good_client(server: &TestServer, n: usize) {
    let path = server.dir.path().join(format!("good-{n}.eml"));
    std::fs::write(&path, format!("Subject: good {n}\r\n\r\nstill served\r\n")).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &[
            "good@client.test",
            "alice@example.test",
            path.to_str().unwrap(),
        ],
    );
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.starts_with("OK"), "good client {n}: {out}");
}

#[test]
fn every_bad_input_gets_its_reply_and_the_server_keeps_serving_others() {
    let server = TestServer::start("");
    for (n, row) in ROWS.iter().enumerate() {
        let input = (row.input)();
        let addr = server.addr;
        let bad = std::thread::spawn(move || run_bad_client(addr, input));
        good_client(&server, n);
        let (heard, closed) = bad.join().unwrap();
        let mut at = 0;
        for reply in row.replies {
            match heard[at..].find(reply) {
                Some(i) => at += i + reply.len(),
                None => panic!(
                    "{}: no {reply:?} (in order) in:\n{}",
                    row.name,
                    tail(&heard)
                ),
            }
        }
        if let Some((reply, count)) = row.counted {
            assert_eq!(
                heard.matches(reply).count(),
                count,
                "{}: {reply:?}",
                row.name
            );
        }
        assert_eq!(closed, row.closes, "{}: closed", row.name);
        eprintln!("ok: {} ({} octets of replies)", row.name, heard.len());
    }
    server.wait_for_delivery("alice", ROWS.len());
    // Nothing a bad client sent was stored: only the good messages.
    let log = server.log();
    assert_eq!(log.matches(": queued from=").count(), ROWS.len(), "{log}");
    assert!(!log.contains("from=<admin@example.test>"), "{log}");
}

/// The end of a long transcript, for a failure message.
fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(2_000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}
