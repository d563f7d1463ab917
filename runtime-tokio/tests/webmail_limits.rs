//! The HTTP instance's bounds over raw sockets: a client that does not
//! finish its request's headers is cut off at `command_timeout`, headers
//! past the limit get `431`, the access list answers `403` and the quota
//! `503`, before any request is read; and an HTTPS instance takes a
//! renewed certificate on SIGHUP.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use support::{TestServer, config_head, eventually, free_port};

fn address(host: &str) -> SocketAddr {
    format!("{host}:{}", free_port()).parse().unwrap()
}

/// Everything the server sends until it closes (or 20 s pass).
fn read_all(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut text = Vec::new();
    let _ = stream.read_to_end(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

fn world() -> (TestServer, SocketAddr, SocketAddr, SocketAddr) {
    let (smtp, web, denied) = (
        address("127.0.0.1"),
        address("127.0.0.1"),
        address("127.0.0.1"),
    );
    let config = format!(
        r#"{}

[[service]]
name = "web"
kind = "http"
listen = "{web}"
serve = ["status"]
command_timeout = "2s"
max_connections = 2

[[service]]
name = "closed"
kind = "http"
listen = "{denied}"
serve = ["status"]
deny = ["127.0.0.0/8"]

[[domain]]
name = "example.test"
users = ["alice"]
"#,
        config_head(smtp, "")
    );
    (TestServer::start_with(&config, smtp), web, denied, smtp)
}

#[test]
fn a_request_that_never_ends_its_headers_is_cut_off() {
    let (_server, web, _, _) = world();
    let mut stream = TcpStream::connect(web).unwrap();
    stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let answer = read_all(&mut stream);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "still open after {:?}",
        started.elapsed()
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer:?}"
    );
}

#[test]
fn headers_past_the_limit_get_431() {
    let (_server, web, _, _) = world();
    let mut stream = TcpStream::connect(web).unwrap();
    let mut request = b"GET /status HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..2000 {
        request.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "a".repeat(60)).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    // The server may answer and close before all of it is written.
    let _ = stream.write_all(&request);
    let answer = read_all(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
}

#[test]
fn the_access_list_answers_403_and_the_quota_503_before_a_request() {
    let (_server, web, denied, _) = world();
    let mut refused = TcpStream::connect(denied).unwrap();
    let answer = read_all(&mut refused);
    assert!(
        answer.starts_with("HTTP/1.1 403 Forbidden\r\n"),
        "{answer:?}"
    );
    assert!(
        answer.ends_with("No HTTP service for your address here.\n"),
        "{answer:?}"
    );
    // max_connections = 2: the third waits for nothing and hears 503.
    let _first = TcpStream::connect(web).unwrap();
    let _second = TcpStream::connect(web).unwrap();
    let answer = eventually(
        || {
            let mut third = TcpStream::connect(web).unwrap();
            third
                .set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut text = Vec::new();
            let _ = third.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        },
        |answer| answer.starts_with("HTTP/1.1 503"),
        |answer| format!("third connection heard {answer:?}"),
    );
    assert!(answer.contains("Retry-After: 30\r\n"), "{answer:?}");
}

/// The SHA-256 of the certificate an HTTPS instance serves.
fn served_certificate(addr: SocketAddr) -> String {
    let script = "import hashlib, socket, ssl, sys\n\
        context = ssl.create_default_context()\n\
        context.check_hostname = False\n\
        context.verify_mode = ssl.CERT_NONE\n\
        with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30) as raw:\n\
        \x20   with context.wrap_socket(raw) as tls:\n\
        \x20       print(hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest())\n";
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &addr.ip().to_string(),
            &addr.port().to_string(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn an_https_instance_takes_a_renewed_certificate_on_sighup() {
    let world = support::web::WebWorld::start();
    let before = served_certificate(world.https);
    support::imap::make_certificate(world.server.dir.path());
    // SAFETY: kill(2) with a valid PID of our own child.
    unsafe { libc::kill(world.server.pid() as i32, libc::SIGHUP) };
    eventually(
        || world.server.log(),
        |log| log.contains("reloaded the certificate"),
        |log| format!("no reload in:\n{log}"),
    );
    assert_ne!(served_certificate(world.https), before);
}
