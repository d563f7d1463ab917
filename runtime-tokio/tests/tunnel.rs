//! The tunnel (`kind = "tunnel"`) over real sockets: an echo server
//! behind it (both directions, half-close each way), a real SMTP peer
//! (python's smtplib) through it to Postern's own SMTP instance, a
//! refused target, the idle timeout, an explicit allow, and two tunnels
//! on one port of a multi-homed host.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};
use support::{TestServer, eventually, free_port, python};

fn loopback(host: u8) -> SocketAddr {
    format!("127.0.0.{host}:{}", free_port()).parse().unwrap()
}

/// An echo server on loopback: each connection gets back what it sends;
/// when the client half-closes, it sends `farewell` and closes too.
fn echo_server(farewell: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                loop {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buffer[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = stream.write_all(farewell);
                let _ = stream.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

/// A server that greets each connection with `greeting` and closes.
fn greeter(greeting: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.write_all(greeting);
        }
    });
    addr
}

/// A server whose instances are `services` ([[service]] tables), waiting
/// until `ready` accepts.
fn server(services: &str, ready: SocketAddr) -> TestServer {
    let config = format!(
        r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

{services}

[[domain]]
name = "example.test"
users = ["alice"]
"#
    );
    TestServer::start_with(&config, ready)
}

fn tunnel(name: &str, listen: SocketAddr, target: SocketAddr, extra: &str) -> String {
    format!(
        "[[service]]\nname = \"{name}\"\nkind = \"tunnel\"\nlisten = \"{listen}\"\ntarget = \"{target}\"\n{extra}\n"
    )
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buffer = vec![0u8; n];
    stream.read_exact(&mut buffer).unwrap();
    buffer
}

fn log_has(server: &TestServer, text: &str) -> String {
    eventually(
        || server.log(),
        |log| log.contains(text),
        |log| format!("no {text:?} in the log:\n{log}"),
    )
}

#[test]
fn an_echo_server_behind_a_tunnel_answers_both_ways_and_half_close_is_honoured() {
    let echo = echo_server(b"bye\n");
    let listen = loopback(1);
    let server = server(&tunnel("echo", listen, echo, ""), listen);
    let mut client = connect(listen);
    client.write_all(b"hello\n").unwrap();
    assert_eq!(read_exactly(&mut client, 6), b"hello\n");
    // A block larger than the tunnel's buffer goes through whole.
    let block: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let writer = {
        let mut client = client.try_clone().unwrap();
        let block = block.clone();
        thread::spawn(move || client.write_all(&block).unwrap())
    };
    assert_eq!(read_exactly(&mut client, block.len()), block);
    writer.join().unwrap();
    // The client has no more to send: the target hears the end of file
    // and still sends its farewell, which the client receives.
    client.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"bye\n");
    // (The server's start-up probe is a session of its own, with
    // nothing sent: this is the test's.)
    let log = log_has(
        &server,
        "100006 bytes client to target, 100010 bytes target to client",
    );
    assert!(log.contains("both sides closed"), "{log}");
    assert!(
        log.contains(&format!("tunnel to {echo} connected")),
        "{log}"
    );
}

#[test]
fn the_target_closing_first_reaches_the_client_which_may_still_send() {
    // The greeter says its line and closes its side; the client sees the
    // end of file, and its own later bytes still go to the target (the
    // greeter's socket is gone, so only the log counts them).
    let greeter = greeter(b"200 news ready\r\n");
    let listen = loopback(1);
    let server = server(&tunnel("news", listen, greeter, ""), listen);
    let mut client = connect(listen);
    let mut all = Vec::new();
    client.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"200 news ready\r\n");
    drop(client);
    log_has(&server, "16 bytes target to client");
}

#[test]
fn smtplib_sends_mail_through_a_tunnel_to_an_smtp_instance() {
    let mx = loopback(1);
    let listen = loopback(1);
    let services = format!(
        "[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"{mx}\"\n\n{}",
        tunnel("smtp-tunnel", listen, mx, "")
    );
    let server = server(&services, listen);
    let message = server.dir.path().join("message.eml");
    std::fs::write(
        &message,
        "From: bob@client.test\r\nTo: alice@example.test\r\nSubject: through the tunnel\r\n\r\nHello from the far side.\r\n",
    )
    .unwrap();
    let output = python(
        "send.py",
        listen,
        &[
            "bob@client.test",
            "alice@example.test",
            message.to_str().unwrap(),
        ],
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.starts_with("OK"), "{said}");
    let delivered = server.wait_for_delivery("alice", 1);
    let text = std::fs::read_to_string(&delivered[0]).unwrap();
    assert!(text.contains("Subject: through the tunnel"), "{text}");
    // The relay's last line counts the SMTP dialogue both ways.
    let log = log_has(&server, "instance=mx");
    assert!(log.contains("tunnel to"), "{log}");
}

#[test]
fn a_refused_target_closes_the_client_cleanly_with_a_log_line() {
    let nobody = loopback(1);
    let listen = loopback(1);
    let server = server(&tunnel("dead", listen, nobody, ""), listen);
    let mut client = connect(listen);
    let mut all = Vec::new();
    // A clean close: end of file, not a reset, and no byte.
    client.read_to_end(&mut all).unwrap();
    assert!(all.is_empty(), "{all:?}");
    let log = log_has(&server, &format!("tunnel to {nobody} failed"));
    assert!(log.contains("refused"), "{log}");
}

#[test]
fn a_silent_relay_is_closed_at_the_idle_timeout() {
    let echo = echo_server(b"");
    let listen = loopback(1);
    let server = server(
        &tunnel("idle", listen, echo, "idle_timeout = \"1s\""),
        listen,
    );
    let mut client = connect(listen);
    client.write_all(b"ping\n").unwrap();
    assert_eq!(read_exactly(&mut client, 5), b"ping\n");
    let started = Instant::now();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    let waited = started.elapsed();
    assert!(rest.is_empty());
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
    log_has(&server, "closed after 1s idle (idle_timeout)");
}

#[test]
fn an_explicit_allow_admits_only_the_addresses_it_names() {
    let echo = echo_server(b"");
    let listen = loopback(1);
    let server = server(
        &tunnel("lan", listen, echo, "allow = [\"127.0.0.5\"]"),
        listen,
    );
    // 127.0.0.1 is loopback, which the default would admit; the explicit
    // allow replaces the default.
    let mut refused = connect(listen);
    let mut all = Vec::new();
    let _ = refused.read_to_end(&mut all);
    assert!(all.is_empty());
    log_has(&server, "refused");
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: SocketAddr = "127.0.0.5:0".parse().unwrap();
    socket.bind(&from.into()).unwrap();
    socket.connect(&listen.into()).unwrap();
    let mut admitted: TcpStream = socket.into();
    admitted
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    admitted.write_all(b"from .5\n").unwrap();
    assert_eq!(read_exactly(&mut admitted, 8), b"from .5\n");
}

#[test]
fn two_tunnels_share_a_port_on_a_multi_homed_host() {
    let (news, irc) = (greeter(b"news\n"), greeter(b"irc\n"));
    let port = free_port();
    let on = |host: u8| -> SocketAddr { format!("127.0.0.{host}:{port}").parse().unwrap() };
    let services = format!(
        "{}{}",
        tunnel("news", on(2), news, ""),
        tunnel("irc", on(3), irc, "")
    );
    let _server = server(&services, on(2));
    for (addr, expected) in [(on(2), &b"news\n"[..]), (on(3), &b"irc\n"[..])] {
        let mut client = connect(addr);
        let mut all = Vec::new();
        client.read_to_end(&mut all).unwrap();
        assert_eq!(all, expected, "{addr}");
    }
}

#[test]
fn check_config_warns_of_a_tunnel_on_a_well_known_port_and_explain_shows_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    let config = "[server]\ndata_dir = \"data\"\n\n[[service]]\nname = \"news\"\nkind = \"tunnel\"\nlisten = \"127.0.0.1:119\"\ntarget = \"news.example.net:119\"\n\n[[domain]]\nname = \"example.test\"\n";
    std::fs::write(&file, config).unwrap();
    let output = support::postern()
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "a warning is not an error: {output:?}"
    );
    for expected in [
        "news      tunnel",
        "-> news.example.net:119",
        "only 127.0.0.0/8 ::1 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7",
        &format!(
            "warning: {}:7:10: `listen`: the tunnel \"news\" listens on port 119, a well-known port",
            file.display()
        ),
        "help: put tunnels on ports 5000 and above",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
    let explain = |remote: &str| {
        let output = support::postern()
            .args(["explain", "--config"])
            .arg(&file)
            .args(["--local", "127.0.0.1:119", "--remote", remote])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let lan = explain("192.168.1.7");
    assert!(
        lan.contains("connected through to news.example.net:119 (the name is resolved"),
        "{lan}"
    );
    let world = explain("198.51.100.7");
    assert!(world.contains("access     refused"), "{world}");
    // A TLS key on a tunnel is an error at its line.
    std::fs::write(
        &file,
        config.replace("target =", "tls = \"implicit\"\ntarget ="),
    )
    .unwrap();
    let output = support::postern()
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`tls`: does not apply to a tunnel: a tunnel does not terminate TLS"),
        "{stderr}"
    );
}

#[test]
fn a_reload_points_new_connections_at_a_new_target() {
    let (old, new) = (greeter(b"old\n"), greeter(b"new\n"));
    let listen = loopback(1);
    let server = server(&tunnel("moving", listen, old, ""), listen);
    let first_line = |addr: SocketAddr| {
        let mut all = Vec::new();
        connect(addr).read_to_end(&mut all).unwrap();
        all
    };
    assert_eq!(first_line(listen), b"old\n");
    let path = server.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(&old.to_string(), &new.to_string())).unwrap();
    // SAFETY: kill(2) on our own child process.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGHUP) }, 0);
    log_has(&server, "reloaded");
    assert_eq!(first_line(listen), b"new\n");
}

#[test]
fn a_target_name_is_resolved_through_the_servers_resolver() {
    let echo = echo_server(b"");
    let dns = support::outbound::Dns::start(&["--host-record=echo.tunnel.test,127.0.0.1"]);
    let listen = loopback(1);
    let target = format!("echo.tunnel.test:{}", echo.port());
    let services = format!(
        "[[service]]\nname = \"named\"\nkind = \"tunnel\"\nlisten = \"{listen}\"\ntarget = \"{target}\"\n\n[outbound]\nnameservers = [\"127.0.0.1:{}\"]\n",
        dns.port
    );
    let named = server(&services, listen);
    let mut client = connect(listen);
    client.write_all(b"by name\n").unwrap();
    assert_eq!(read_exactly(&mut client, 8), b"by name\n");
    log_has(&named, &format!("tunnel to {target} connected (127.0.0.1:"));
    // A name with no address closes the client cleanly, with a log line.
    drop(client);
    let missing = loopback(1);
    let services = format!(
        "[[service]]\nname = \"missing\"\nkind = \"tunnel\"\nlisten = \"{missing}\"\ntarget = \"nowhere.tunnel.test:7\"\n\n[outbound]\nnameservers = [\"127.0.0.1:{}\"]\n",
        dns.port
    );
    let unresolved = server(&services, missing);
    let mut all = Vec::new();
    connect(missing).read_to_end(&mut all).unwrap();
    assert!(all.is_empty());
    log_has(&unresolved, "tunnel to nowhere.tunnel.test:7 failed");
    drop(named);
}
