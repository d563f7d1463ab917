//! Peers that hold a connection without doing its work, over real
//! sockets: a client that never reads what it asked for, and slow
//! clients that drip bytes. Each is let go at its limit, its connection
//! slot is given back, and the next client is greeted.

mod support;

use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use support::{TestServer, free_port};

/// A server with one `[[service]]` that takes `service` keys, and room
/// for one connection at a time.
fn one_slot_server(service: &str) -> TestServer {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    TestServer::start_service(
        addr,
        &format!("max_connections = 1\nmax_connections_per_host = 1\n{service}"),
    )
}

/// The first line a new connection hears, within two seconds.
fn greeting(addr: SocketAddr) -> String {
    first_line(&mut TcpStream::connect(addr).unwrap())
}

fn first_line(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut text = Vec::new();
    let mut byte = [0u8; 1];
    while !text.ends_with(b"\n") {
        match stream.read(&mut byte) {
            Ok(1) => text.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&text).trim_end().to_owned()
}

/// A connection that has been greeted with 220, made by `connect`: the
/// server's own start-up probe may hold the only slot for a moment.
fn greeted(server: &TestServer, connect: impl Fn() -> TcpStream) -> TcpStream {
    let started = Instant::now();
    loop {
        let mut stream = connect();
        let heard = first_line(&mut stream);
        if heard.starts_with("220 ") {
            return stream;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never greeted: {heard:?}; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until a new client is greeted with 220; returns how long that
/// took, or fails after `limit`.
fn wait_for_greeting(server: &TestServer, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let heard = greeting(server.addr);
        if heard.starts_with("220 ") {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "no 220 within {limit:?}; last heard {heard:?}; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_client_that_never_reads_is_dropped_at_the_timeout_and_the_next_is_greeted() {
    let server = one_slot_server("command_timeout = \"3s\"");
    // A tiny receive window, set before connecting so that the handshake
    // announces it: the server's replies pile up in its own send buffer.
    let mut flood = greeted(&server, || {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(1024).unwrap();
        socket.connect(&server.addr.into()).unwrap();
        socket.into()
    });
    // Only so that the flood ends, on a server that never lets go.
    flood
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // HELP is never an error, and each one asks for a reply of about 110
    // octets for 6 sent: megabytes of replies that are never read. The
    // flood goes on until the server stops reading or closes.
    let started = Instant::now();
    let flooding = std::thread::spawn(move || {
        let chunk = b"HELP\r\n".repeat(10_000);
        let mut sent = 0usize;
        while sent < 200 << 20 {
            match flood.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        (sent, flood)
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        greeting(server.addr).starts_with("421 4.7.0"),
        "the flood holds the only slot"
    );
    // The slot is given back once the server's write has stalled for
    // command_timeout.
    wait_for_greeting(&server, Duration::from_secs(15));
    let waited = started.elapsed();
    let (sent, _flood) = flooding.join().unwrap();
    eprintln!(
        "{sent} octets of HELP sent; a new client was greeted {waited:?} after the flood began"
    );
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    let log = server.log();
    assert_eq!(
        log.matches("write stalled for 3s: the client is not reading")
            .count(),
        1,
        "{log}"
    );
    assert!(
        !log.contains(" timeout "),
        "a stall is not a timeout:\n{log}"
    );
}

/// A slow client: `prelude` at once, then one byte of `drip` a second.
struct Drip {
    service: &'static str,
    prelude: &'static [u8],
    drip: &'static [u8],
    /// What the server says when it lets the client go.
    reply: &'static str,
}

const DRIPS: &[Drip] = &[
    // A command line that never ends.
    Drip {
        service: "command_timeout = \"3s\"",
        prelude: b"",
        drip: b"NOOP and this goes on and on and on and on",
        reply: "421 4.4.2 mx.example.test Error: timeout exceeded",
    },
    // Message data at a byte a second, under the 500 octets/s minimum.
    Drip {
        service: "data_timeout = \"3s\"",
        prelude:
            b"EHLO slow.test\r\nMAIL FROM:<s@slow.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n",
        drip: b"Subject: slow\r\n\r\nThis arrives very slowly indeed.\r\n",
        reply: "421 4.4.2 mx.example.test Error: message data too slow (under 500 octets/s), closing connection",
    },
    // Complete commands, each in time, for longer than a session may last.
    Drip {
        service: "max_session_time = \"4s\"",
        prelude: b"EHLO slow.test\r\n",
        drip: b"NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n",
        reply: "421 4.4.2 mx.example.test Error: session too long (4s), closing connection",
    },
];

#[test]
fn slow_clients_dripping_a_byte_a_second_keep_no_slot_past_their_limit() {
    for drip in DRIPS {
        let server = one_slot_server(drip.service);
        let mut client = greeted(&server, || TcpStream::connect(server.addr).unwrap());
        client
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        client.write_all(drip.prelude).unwrap();
        let started = Instant::now();
        let mut heard = Vec::new();
        let mut closed = false;
        for (i, byte) in drip.drip.iter().enumerate() {
            if client.write_all(&[*byte]).is_err() {
                break;
            }
            let mut buffer = [0u8; 4096];
            match client.read(&mut buffer) {
                Ok(0) => closed = true,
                Ok(n) => heard.extend_from_slice(&buffer[..n]),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
            if i == 1 {
                assert!(
                    greeting(server.addr).starts_with("421 4.7.0"),
                    "{}: the slow client holds the only slot",
                    drip.service
                );
            }
            if closed || String::from_utf8_lossy(&heard).contains(drip.reply) {
                break;
            }
        }
        let heard = String::from_utf8_lossy(&heard);
        let lasted = started.elapsed();
        assert!(
            heard.contains(drip.reply),
            "{}: heard {heard:?} in {lasted:?}; log:\n{}",
            drip.service,
            server.log()
        );
        assert!(
            lasted < Duration::from_secs(9),
            "{}: {lasted:?}",
            drip.service
        );
        eprintln!("{}: let go after {lasted:?}", drip.service);
        // The slot is free again at once.
        wait_for_greeting(&server, Duration::from_secs(3));
        assert!(server.spool_queue().is_empty(), "nothing was stored");
    }
}
