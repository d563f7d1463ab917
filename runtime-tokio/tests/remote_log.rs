//! The remote logging service over real sockets, multi-homed on loopback:
//! three instances on one port of 127.0.0.2 (in clear, with an access
//! list), 127.0.0.3 (STARTTLS) and 127.0.0.4 (implicit TLS). Real SMTP
//! traffic from python's smtplib makes the lines; the clients are a raw
//! socket, OpenBSD `nc`, `openssl s_client` and `postern log --remote`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{TestServer, free_port, postern, python};

const ADMIN: &str = "admin@example.test";
const ALICE: &str = "alice@example.test";
const PASSWORD: &str = "log watcher 7";

struct World {
    server: TestServer,
    smtp: SocketAddr,
    plain: SocketAddr,
    starttls: SocketAddr,
    implicit: SocketAddr,
}

fn plain_auth(login: &str) -> String {
    use base64::Engine as _;
    let response = format!("\0{login}\0{PASSWORD}");
    format!(
        "AUTH PLAIN {}",
        base64::engine::general_purpose::STANDARD.encode(response)
    )
}

impl World {
    fn start() -> World {
        let port = free_port();
        let smtp: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let at = |host: u8| -> SocketAddr { format!("127.0.0.{host}:{port}").parse().unwrap() };
        let (plain, starttls, implicit) = (at(2), at(3), at(4));
        let config = format!(
            r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[auth]
failure_delay = "0s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{smtp}"

[[service]]
name = "log"
kind = "remote-log"
listen = "{plain}"
auth_without_tls = true
allow = ["127.0.0.0/8"]
deny = ["127.0.0.66"]
buffer_lines = 20

[[service]]
name = "log-stls"
kind = "remote-log"
listen = "{starttls}"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[service]]
name = "log-tls"
kind = "remote-log"
listen = "{implicit}"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"
tail_lines = 5

[[domain]]
name = "example.test"
users = ["alice", "admin"]
"#
        );
        let server = TestServer::start_with_files(&config, smtp, make_certificate);
        let world = World {
            server,
            smtp,
            plain,
            starttls,
            implicit,
        };
        world.add_user(ADMIN, &["--admin"]);
        world.add_user(ALICE, &[]);
        world
    }

    fn add_user(&self, login: &str, flags: &[&str]) {
        let mut child = postern()
            .args(["user", "add", login])
            .args(flags)
            .arg("--config")
            .arg(self.server.config_path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
    }

    fn cafile(&self) -> PathBuf {
        self.server.dir.path().join("cert.pem")
    }

    fn password_file(&self) -> PathBuf {
        let path = self.server.dir.path().join("password");
        std::fs::write(&path, format!("{PASSWORD}\n")).unwrap();
        path
    }

    /// Sends `count` messages over one smtplib session; the queue IDs and
    /// the slowest message's seconds.
    fn burst(&self, count: usize) -> (Vec<String>, f64) {
        let out = python("timed_burst.py", self.smtp, &[&count.to_string()]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let ids = text
            .lines()
            .filter_map(|l| l.strip_prefix("ACK "))
            .map(|l| l.split(' ').nth(1).unwrap().to_owned())
            .collect::<Vec<_>>();
        let slowest = text
            .lines()
            .find_map(|l| l.strip_prefix("SLOWEST "))
            .unwrap_or_else(|| panic!("{text}"))
            .parse()
            .unwrap();
        assert_eq!(ids.len(), count, "{text}");
        (ids, slowest)
    }
}

fn make_certificate(dir: &Path) {
    let output = postern()
        .current_dir(dir)
        .args([
            "cert",
            "self-signed",
            "--host",
            "127.0.0.1",
            "--host",
            "localhost",
            "--force",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

/// A remote-log client over a raw socket.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut client = Client {
            reader: BufReader::new(stream),
        };
        let greeting = client.line();
        assert!(greeting.starts_with("+OK mx.example.test"), "{greeting}");
        client
    }

    fn send(&mut self, line: &str) {
        self.reader
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).unwrap();
        assert!(n > 0, "the server closed the connection");
        line.trim_end_matches(['\r', '\n']).to_owned()
    }

    /// Sends `command` and returns the reply line.
    fn command(&mut self, command: &str) -> String {
        self.send(command);
        self.line()
    }

    /// Lines up to and including the first for which `last` is true.
    fn until(&mut self, last: impl Fn(&str) -> bool) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            let done = last(&line);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Logs in as the admin and reads the recent lines up to `+OK
    /// following`.
    fn login(&mut self) -> Vec<String> {
        let reply = self.command(&plain_auth(ADMIN));
        assert_eq!(reply, format!("+OK logged in as {ADMIN}"));
        self.until(|l| l.starts_with("+OK following"))
    }
}

/// The columns of a log line: `* TIME LEVEL INSTANCE QUEUE TEXT`.
fn columns(line: &str) -> [&str; 5] {
    let mut parts = line.splitn(6, ' ');
    assert_eq!(parts.next(), Some("*"), "{line}");
    [0; 5].map(|_| parts.next().unwrap_or(""))
}

#[test]
fn an_admin_gets_the_recent_lines_then_live_smtp_lines_with_their_queue_ids() {
    let world = World::start();
    let mut alice = Client::connect(world.plain);
    let refused = alice.command(&plain_auth(ALICE));
    assert_eq!(
        refused,
        format!("-ERR [AUTH] {ALICE} may not watch the log: it is not an admin account")
    );
    assert!(
        alice
            .command("FOLLOW")
            .starts_with("-ERR [AUTH] log in first")
    );
    // A wrong password: the shared check (failure_delay = "0s" here).
    let wrong = {
        use base64::Engine as _;
        let response = format!("\0{ADMIN}\0wrong");
        format!(
            "AUTH PLAIN {}",
            base64::engine::general_purpose::STANDARD.encode(response)
        )
    };
    assert_eq!(alice.command(&wrong), "-ERR [AUTH] authentication failed");

    let mut admin = Client::connect(world.plain);
    let recent = admin.login();
    let text = recent.join("\n");
    assert!(text.contains("accepting connections on"), "{text}");
    assert!(
        text.contains(
            "WARN log - remote log login as alice@example.test refused: not an admin account"
        ),
        "the refusal is a warn line of instance log:\n{text}"
    );
    let (ids, _) = world.burst(2);
    let mut lines: Vec<String> = Vec::new();
    let removed = |lines: &[String], id: &str| {
        lines
            .iter()
            .any(|l| l.contains(id) && l.contains("removed from the spool"))
    };
    while !ids.iter().all(|id| removed(&lines, id)) {
        lines.push(admin.line());
    }
    for id in &ids {
        let accepted = lines
            .iter()
            .find(|l| l.contains(id) && l.contains("queued from="))
            .unwrap_or_else(|| panic!("no line of {id} being queued:\n{}", lines.join("\n")));
        let [_, level, instance, queue, _] = columns(accepted);
        assert_eq!(
            (level, instance, queue),
            ("INFO", "mx", id.as_str()),
            "{accepted}"
        );
        let delivered = lines
            .iter()
            .find(|l| l.contains(id) && l.contains("delivered to alice@example.test"))
            .unwrap_or_else(|| panic!("no delivery of {id}:\n{}", lines.join("\n")));
        assert_eq!(columns(delivered)[3], id, "{delivered}");
    }
    admin.send("QUIT");
    assert_eq!(
        admin.until(|l| l.starts_with("+OK")).last().unwrap(),
        "+OK bye"
    );
}

#[test]
fn filters_choose_the_lines_before_login_and_while_following() {
    let world = World::start();
    let mut client = Client::connect(world.plain);
    assert_eq!(
        client.command("FILTER instance=mx"),
        "+OK filter instance=mx"
    );
    assert_eq!(
        client.command("TAIL 0"),
        "+OK the login will send the last 0 lines"
    );
    let recent = client.login();
    assert_eq!(recent, ["+OK following (0 recent lines above)"]);
    let (ids, _) = world.burst(3);
    let lines = client.until(|l| l.contains(&ids[2]) && l.contains("queued from="));
    for line in &lines {
        assert_eq!(columns(line)[2], "mx", "{line}");
    }
    world
        .server
        .wait_for_delivery_to("example.test", "alice", 3);
    // The second message's lines only, from the ring.
    client.send("STOP");
    let stopped = client.until(|l| l.starts_with("+OK"));
    assert_eq!(stopped.last().unwrap(), "+OK stopped; FOLLOW to go on");
    assert_eq!(
        client.command(&format!("FILTER queue={}", ids[1].to_lowercase())),
        format!("+OK filter queue={}", ids[1].to_lowercase())
    );
    // Queued, delivered, removed from the spool: the last comes just
    // after the delivery.
    let deadline = Instant::now() + Duration::from_secs(10);
    let tail = loop {
        client.send("TAIL 100");
        let tail = client.until(|l| l.starts_with("+OK"));
        if tail.len() > 3 || Instant::now() > deadline {
            break tail;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (status, lines) = tail.split_last().unwrap();
    assert_eq!(lines.len(), 3, "{tail:?}");
    assert_eq!(status, &format!("+OK {} lines", lines.len()));
    assert!(lines.iter().all(|l| columns(l)[3] == ids[1]), "{tail:?}");
    assert_eq!(
        client.command("FILTER level=loud"),
        "-ERR level=\"loud\" is not a level: use error, warn, info, debug or trace"
    );
}

#[test]
fn a_login_in_clear_is_refused_where_not_allowed_and_works_after_starttls() {
    let world = World::start();
    let mut client = Client::connect(world.starttls);
    assert_eq!(
        client.command(&plain_auth(ADMIN)),
        "-ERR [AUTH] login in clear is not allowed here: STARTTLS first"
    );
    assert!(client.command("CAPA").contains(" STARTTLS "));
    // postern log --remote with STARTTLS, the certificate checked against
    // its CA file and the name it carries.
    let mut child = postern()
        .args(["log", "--remote"])
        .arg(world.starttls.to_string())
        .args(["--starttls", "--servername", "localhost", "--user", ADMIN])
        .arg("--cafile")
        .arg(world.cafile())
        .arg("--password-file")
        .arg(world.password_file())
        .args(["--lines", "3", "--filter", "level=info"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let (ids, _) = world.burst(1);
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(seen.contains(&ids[0]) && seen.contains("removed from the spool")) {
        assert!(
            Instant::now() < deadline,
            "not seen in time:\n{first}{seen}"
        );
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{first}{seen}");
        seen.push_str(&line);
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let all = format!("{first}{seen}");
    assert!(
        all.lines().all(|l| l.split(' ').nth(1) == Some("INFO")
            || l.split(' ').nth(1) == Some("WARN")
            || l.split(' ').nth(1) == Some("ERROR")),
        "printed without the marker, level second:\n{all}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        all.contains("INFO log-stls - remote log login as admin@example.test"),
        "{all}"
    );
}

#[test]
fn nc_and_openssl_s_client_are_clients() {
    let world = World::start();
    // A non-admin's refusal makes a warn line to filter on.
    let mut alice = Client::connect(world.plain);
    assert!(alice.command(&plain_auth(ALICE)).starts_with("-ERR [AUTH]"));
    let script = format!(
        "FILTER level=warn\r\nTAIL 5\r\n{}\r\nQUIT\r\n",
        plain_auth(ADMIN)
    );
    let nc = run_with_input(
        Command::new("nc")
            .arg("-N")
            .arg(world.plain.ip().to_string())
            .arg(world.plain.port().to_string()),
        &script,
    );
    assert!(nc.contains("+OK logged in as admin@example.test"), "{nc}");
    assert!(nc.contains("+OK bye"), "{nc}");
    let logged: Vec<&str> = nc.lines().filter(|l| l.starts_with("* ")).collect();
    assert!(!logged.is_empty(), "{nc}");
    assert!(
        logged
            .iter()
            .all(|l| columns(l)[1] == "WARN" || columns(l)[1] == "ERROR"),
        "{nc}"
    );

    let s_client = run_with_input(
        Command::new("openssl")
            .args([
                "s_client",
                "-quiet",
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
            ])
            .arg("-CAfile")
            .arg(world.cafile())
            .arg("-connect")
            .arg(world.implicit.to_string()),
        &format!("{}\r\nQUIT\r\n", plain_auth(ADMIN)),
    );
    assert!(
        s_client.contains("+OK logged in as admin@example.test"),
        "{s_client}"
    );
    // tail_lines = 5 on this instance.
    assert!(
        s_client.contains("+OK following (5 recent lines above)"),
        "{s_client}"
    );
    assert!(s_client.contains("+OK bye"), "{s_client}");

    // postern log --tls checks the certificate: without --cafile the
    // self-signed one is refused.
    let refused = postern()
        .args(["log", "--remote"])
        .arg(world.implicit.to_string())
        .args(["--tls", "--servername", "localhost", "--user", ADMIN])
        .arg("--password-file")
        .arg(world.password_file())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("postern log: TLS with"), "{stderr}");
}

/// Runs `command` with `input` on its standard input (kept open until
/// the server closes) and returns its standard output.
fn run_with_input(command: &mut Command, input: &str) -> String {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nc (netcat-openbsd) and openssl are needed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        if output.stdout.is_empty() {
            String::from_utf8_lossy(&output.stderr).into_owned()
        } else {
            String::new()
        }
    )
}

#[test]
fn a_reader_that_stops_reading_never_slows_the_server_and_later_sees_the_drop_marker() {
    let world = World::start();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&world.plain.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut client = Client {
        reader: BufReader::new(stream),
    };
    assert!(client.line().starts_with("+OK"));
    client.login();
    // Stop reading; the server keeps taking mail, each message promptly.
    let started = Instant::now();
    let (ids, slowest) = world.burst(150);
    let took = started.elapsed();
    println!("150 messages with a stalled reader: {took:?}, slowest {slowest:.3}s");
    assert!(
        slowest < 2.0,
        "a message took {slowest}s with a stalled log reader"
    );
    // Now read: what was queued, then the drop marker; then a new
    // message's lines arrive after it.
    let mut text = String::new();
    let mut read_more = |text: &mut String| {
        let mut chunk = [0u8; 65536];
        let n = client.reader.read(&mut chunk).unwrap();
        assert!(n > 0, "closed:\n{text}");
        text.push_str(&String::from_utf8_lossy(&chunk[..n]));
    };
    while !text.contains("! ... ") {
        read_more(&mut text);
    }
    assert!(text.contains(&ids[0]), "the first lines were kept:\n{text}");
    let (after, _) = world.burst(1);
    while !text.contains(&format!("{}: removed from the spool", after[0])) {
        read_more(&mut text);
    }
    let marker = text
        .lines()
        .find(|l| l.starts_with("! ... "))
        .unwrap_or_else(|| panic!("no drop marker in:\n{text}"));
    assert!(
        marker.ends_with("lines dropped (the connection did not keep up)"),
        "{marker}"
    );
    let dropped: usize = marker.split(' ').nth(2).unwrap().parse().unwrap();
    println!("{dropped} lines dropped for the stalled reader");
    assert!(dropped > 100, "{marker}");
    let at = text.find(marker).unwrap();
    assert!(
        text[at..]
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("* ")),
        "lines go on after the marker"
    );
}

#[test]
fn a_denied_address_is_told_before_anything_else() {
    let world = World::start();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: SocketAddr = "127.0.0.66:0".parse().unwrap();
    socket.bind(&from.into()).unwrap();
    socket.connect(&world.plain.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert_eq!(
        reply,
        "-ERR [SYS/PERM] mx.example.test no remote log service for your address here\r\n"
    );
    // check-config shows the three instances with their logins.
    let output = postern()
        .args(["check-config", "--config"])
        .arg(world.server.config_path())
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&output.stdout);
    for (name, auth) in [
        ("log ", "admins (also in clear)"),
        ("log-stls", "admins, over TLS"),
        ("log-tls", "admins, over TLS"),
    ] {
        assert!(
            summary.lines().any(|l| l.trim_start().starts_with(name)
                && l.contains("remote-log")
                && l.contains(auth)),
            "{name}: {summary}"
        );
    }
}

/// Started as root with `user = "nobody"`: the remote log works after
/// root is dropped (the accounts read as nobody), and SIGHUP changes
/// `tail_lines` for new sessions.
#[test]
fn after_root_is_dropped_and_a_sighup_new_sessions_get_the_new_tail_lines() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "run as root (scripts/test does)"
    );
    let ip = "127.0.21.16";
    let smtp: SocketAddr = format!("{ip}:25").parse().unwrap();
    let log: SocketAddr = format!("{ip}:5001").parse().unwrap();
    let config = format!(
        r#"[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "30s"
user = "nobody"
group = "nogroup"

[[service]]
name = "mx"
kind = "smtp"
listen = "{ip}:smtp"

[[service]]
name = "log"
kind = "remote-log"
listen = "{ip}:remote-logging"
auth_without_tls = true
tail_lines = 4

[[domain]]
name = "example.test"
users = ["admin"]
"#
    );
    let server = TestServer::start_with_files(&config, smtp, |dir| {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    support::eventually(
        || server.log(),
        |log| log.contains("dropped root"),
        |log| format!("root not dropped:\n{log}"),
    );
    let world = World {
        server,
        smtp,
        plain: log,
        starttls: log,
        implicit: log,
    };
    world.add_user(ADMIN, &["--admin"]);
    let listed = postern()
        .args(["user", "list", "--config"])
        .arg(world.server.config_path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        format!("{ADMIN} admin\n")
    );
    let mut client = Client::connect(log);
    assert_eq!(
        client.login().last().unwrap(),
        "+OK following (4 recent lines above)"
    );

    let path = world.server.config_path();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("tail_lines = 4", "tail_lines = 1");
    std::fs::write(&path, text).unwrap();
    // SAFETY: kill(2) on our own child process.
    assert_eq!(
        unsafe { libc::kill(world.server.pid() as i32, libc::SIGHUP) },
        0
    );
    support::eventually(
        || world.server.log(),
        |log| log.contains("new sessions use it"),
        |log| format!("no reload in:\n{log}"),
    );
    // The first session goes on following and sees the reload's line.
    client.until(|l| l.contains("new sessions use it"));
    let mut again = Client::connect(log);
    let lines = again.login();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("* "), "{lines:?}");
    assert_eq!(lines[1], "+OK following (1 recent line above)");
    // On SIGTERM a following console is told at once, not after the 30 s
    // of grace that sessions doing work get.
    let started = Instant::now();
    // SAFETY: kill(2) on our own child process.
    assert_eq!(
        unsafe { libc::kill(world.server.pid() as i32, libc::SIGTERM) },
        0
    );
    again.until(|l| l == "-ERR [SYS/TEMP] server shutting down");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
