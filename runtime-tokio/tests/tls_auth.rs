//! TLS and AUTH over real sockets, with real clients: python's smtplib
//! and ssl, and swaks. Each server gets a fresh self-signed certificate
//! made by `postern cert self-signed`, which the clients trust.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{TestServer, eventually, free_port, postern, python};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery";

/// The worked setup of the book's chapter: an MX instance with STARTTLS
/// and no AUTH, a submission instance with STARTTLS and AUTH, an smtps
/// instance with implicit TLS. `auth` goes in the `[auth]` table; `more`
/// is added to the smtps instance.
struct Secure {
    server: TestServer,
    mx: SocketAddr,
    submission: SocketAddr,
    smtps: SocketAddr,
}

impl Secure {
    fn start(auth: &str, smtps_more: &str) -> Secure {
        let [mx, submission, smtps] =
            [0; 3].map(|_| -> SocketAddr { format!("127.0.0.1:{}", free_port()).parse().unwrap() });
        let config = format!(
            r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[auth]
{auth}

[[service]]
name = "mx"
kind = "smtp"
listen = "{mx}"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[service]]
name = "submission"
kind = "submission"
listen = "{submission}"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[service]]
name = "smtps"
kind = "submission"
listen = "{smtps}"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"
{smtps_more}

[[domain]]
name = "example.test"
users = ["alice", "bob"]
aliases = {{ info = "alice" }}
"#
        );
        // The certificate sits beside the configuration, named relatively.
        let server = TestServer::start_with_files(&config, mx, |dir| {
            make_certificate(dir);
        });
        let secure = Secure {
            server,
            mx,
            submission,
            smtps,
        };
        secure.add_user(USER, PASSWORD, &[]);
        secure
    }

    fn cafile(&self) -> PathBuf {
        self.server.dir.path().join("cert.pem")
    }

    /// Runs a `secure.py` scenario against `addr`; returns its lines.
    fn client(&self, addr: SocketAddr, scenario: &str, args: &[&str]) -> String {
        let cafile = self.cafile();
        let mut all = vec![scenario, cafile.to_str().unwrap()];
        all.extend_from_slice(args);
        let output = python("secure.py", addr, &all);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn user(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let mut child = postern()
            .arg("user")
            .args(args)
            .arg("--config")
            .arg(self.server.config_path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn add_user(&self, login: &str, password: &str, flags: &[&str]) {
        let mut args = vec!["add", login];
        args.extend_from_slice(flags);
        let output = self.user(&args, &format!("{password}\n"));
        assert!(output.status.success(), "{output:?}");
    }
}

fn make_certificate(dir: &std::path::Path) {
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

#[test]
fn submission_with_starttls_and_login_from_smtplib() {
    let secure = Secure::start("failure_delay = \"0s\"", "");
    let out = secure.client(secure.submission, "submission", &[USER, PASSWORD]);
    for expected in [
        "auth offered in clear: False",
        "starttls offered: True",
        "auth before tls: (538, b'5.7.11 Encryption required for requested authentication mechanism: use STARTTLS first')",
        "mail before auth: (530, b'5.7.0 Authentication required')",
        "auth offered after tls: PLAIN LOGIN",
        "wrong password: (535, '5.7.8 Authentication credentials invalid')",
        "login: (235, b'2.7.0 Authentication successful')",
        "relay for the user: (250, b'2.1.5 Ok')",
        "sendmail: {}",
    ] {
        assert!(out.contains(expected), "no {expected:?} in:\n{out}");
    }
    let delivered = secure.server.wait_for_delivery("alice", 1);
    let message = std::fs::read_to_string(&delivered[0]).unwrap();
    assert!(message.contains("with ESMTPSA id"), "{message}");
    let log = secure.server.log();
    assert!(
        !log.contains(PASSWORD),
        "the password never reaches the log"
    );
    assert!(log.contains("auth PLAIN login=alice@example.test succeeded"));
}

#[test]
fn smtps_with_implicit_tls_from_smtp_ssl() {
    let secure = Secure::start("failure_delay = \"0s\"", "");
    let out = secure.client(secure.smtps, "smtps", &[USER, PASSWORD]);
    assert!(out.contains("starttls offered: False"), "{out}");
    assert!(out.contains("login: (235,"), "{out}");
    assert!(out.contains("sendmail: {}"), "{out}");
    secure.server.wait_for_delivery("alice", 1);
}

#[test]
fn swaks_with_tls_and_auth() {
    let secure = Secure::start("failure_delay = \"0s\"", "");
    let swaks = |password: &str| {
        Command::new("swaks")
            .args(["--server", "127.0.0.1", "--port"])
            .arg(secure.submission.port().to_string())
            .args([
                "--tls",
                "--auth",
                "LOGIN",
                "--auth-user",
                USER,
                "--auth-password",
                password,
            ])
            .args(["--from", "info@example.test", "--to", "bob@example.test"])
            .args(["--ehlo", "client.test", "--timeout", "20"])
            .output()
            .expect("swaks is needed for this test")
    };
    let good = swaks(PASSWORD);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    secure.server.wait_for_delivery("bob", 1);
    let bad = swaks("guess");
    let transcript = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success());
    assert!(transcript.contains("535 5.7.8"), "{transcript}");
}

#[test]
fn commands_pipelined_behind_starttls_are_discarded() {
    let secure = Secure::start("", "");
    let out = secure.client(secure.mx, "inject", &[]);
    assert!(
        out.contains("starttls: 220 2.0.0 Ready to start TLS\n"),
        "{out}"
    );
    assert!(
        out.contains("rcpt after tls: 503 5.5.1 Need MAIL command first"),
        "the injected MAIL must not have run:\n{out}"
    );
    let log = eventually(
        || secure.server.log(),
        |log| log.contains("disconnect from"),
        |log| format!("no disconnect:\n{log}"),
    );
    assert!(!log.contains("injected@evil.test"), "{log}");
    assert!(
        log.contains("bytes sent in clear after STARTTLS were discarded"),
        "{log}"
    );
}

#[test]
fn silent_tls_clients_are_dropped_at_the_timeout_and_their_permits_freed() {
    let secure = Secure::start(
        "",
        "tls_handshake_timeout = \"1s\"\ncommand_timeout = \"1s\"\nmax_connections_per_host = 1",
    );
    // A client that never starts the handshake holds the only permit...
    let mut silent = TcpStream::connect(secure.smtps).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // (A client refused on an implicit-TLS instance hears nothing in
    // clear: this one never starts a handshake, so it is closed without a
    // word.)
    let mut refused = TcpStream::connect(secure.smtps).unwrap();
    let mut text = String::new();
    refused.read_to_string(&mut text).unwrap();
    assert!(text.is_empty(), "{text:?}");
    // ...until the handshake timeout closes it.
    let started = Instant::now();
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(silent.read(&mut byte).unwrap(), 0, "closed by the server");
    let waited = started.elapsed();
    eprintln!("the silent handshake was dropped after {waited:?}");
    // A client that completes the handshake and says nothing gets the
    // command timeout's 421, and its permit back too.
    let out = secure.client(secure.smtps, "silent", &[]);
    assert!(
        out.contains("421 4.4.2 mx.example.test Error: timeout exceeded"),
        "{out}"
    );
    let out = secure.client(secure.smtps, "smtps", &[USER, PASSWORD]);
    assert!(out.contains("login: (235,"), "{out}");
    let log = secure.server.log();
    assert!(
        log.contains("TLS handshake failed: the TLS handshake did not finish within 1s"),
        "{log}"
    );
}

#[test]
fn accounts_are_managed_while_the_server_runs() {
    let secure = Secure::start("failure_delay = \"0s\"", "");
    let logins = |password: &str| {
        secure.client(secure.submission, "logins", &["bob@example.test", password])
    };
    assert!(logins("first").contains("auth: (535,"), "no account yet");
    secure.add_user("Bob@Example.test", "first", &["--send-as-anyone"]);
    assert!(logins("first").contains("auth: (235,"));
    let again = secure.user(&["add", "bob@example.test"], "other\n");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has an account"));
    let list = secure.user(&["list"], "");
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "alice@example.test\nbob@example.test send-as-anyone\n"
    );
    assert!(
        secure
            .user(&["passwd", "bob@example.test"], "second\n")
            .status
            .success()
    );
    assert!(logins("first").contains("auth: (535,"));
    assert!(logins("second").contains("auth: (235,"));
    assert!(
        secure
            .user(&["del", "bob@example.test"], "")
            .status
            .success()
    );
    assert!(logins("second").contains("auth: (535,"));
    let file = std::fs::read_to_string(secure.server.data().join("accounts.toml")).unwrap();
    assert!(
        file.contains("$argon2id$") && !file.contains(PASSWORD),
        "{file}"
    );
    let empty = secure.user(&["add", "carol@example.test"], "\n");
    assert!(String::from_utf8_lossy(&empty.stderr).contains("the password is empty"));
}

#[test]
fn failed_logins_lock_the_host_out_and_end_the_session() {
    let secure = Secure::start(
        "failure_delay = \"0s\"\nmax_failures_per_session = 3\nlockout_failures = 4\nlockout_window = \"10m\"",
        "",
    );
    let out = secure.client(secure.submission, "logins", &[USER, "a", "b", "c"]);
    assert_eq!(out.matches("auth: (535,").count(), 3, "{out}");
    assert!(
        out.contains("quit: (421, b'4.7.0 mx.example.test Error: too many failed logins, closing connection')"),
        "{out}"
    );
    // The fourth failure from this host locks it out: even the right
    // password is then refused, with a temporary error.
    let out = secure.client(secure.submission, "logins", &[USER, "d", PASSWORD]);
    assert!(out.contains("auth: (535,"), "{out}");
    assert!(
        out.contains(
            "auth: (454, b'4.7.0 Too many failed logins from your address, try again later')"
        ),
        "{out}"
    );
}

#[test]
fn sighup_reloads_the_certificate_without_dropping_sessions() {
    let secure = Secure::start("", "");
    let fingerprint = || secure.client(secure.mx, "fingerprint", &[]);
    let before = fingerprint();
    // A session opened with the old certificate...
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/secure.py");
    let mut held = Command::new("python3")
        .arg(script)
        .args(["127.0.0.1", &secure.mx.port().to_string(), "hold"])
        .arg(secure.cafile())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(held.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready: True");
    make_certificate(secure.server.dir.path());
    // SAFETY: kill(2) on our own child process.
    assert_eq!(
        unsafe { libc::kill(secure.server.pid() as i32, libc::SIGHUP) },
        0
    );
    eventually(
        || secure.server.log(),
        |log| log.contains("reloaded the certificate"),
        |log| format!("no reload:\n{log}"),
    );
    // ...goes on after the reload, and new sessions get the new one.
    writeln!(held.stdin.take().unwrap()).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "noop: (250, b'2.0.0 Ok')");
    assert!(held.wait().unwrap().success());
    let after = fingerprint();
    assert_ne!(before, after, "the new certificate is served");
}

#[test]
fn bad_certificates_are_reported_before_anything_listens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate\n").unwrap();
    std::fs::write(dir.path().join("key.pem"), "not a key\n").unwrap();
    let port = free_port();
    let config = dir.path().join("postern.toml");
    std::fs::write(
        &config,
        format!(
            "[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:{port}\"\ntls = \"starttls\"\ntls_certificate = \"cert.pem\"\ntls_key = \"key.pem\"\n\n[[domain]]\nname = \"example.test\"\n"
        ),
    )
    .unwrap();
    let check = postern().arg("check-config").arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success());
    assert!(
        stderr.contains("instance mx:") && stderr.contains("cert.pem: cannot read certificates"),
        "{stderr}"
    );
    let run = support::run_expecting_failure(&config);
    assert!(run.contains("cert.pem: cannot read certificates"), "{run}");
}

#[test]
fn a_refusal_on_an_implicit_tls_instance_goes_out_over_tls_never_in_clear() {
    let secure = Secure::start("", "max_connections = 1\ntls_handshake_timeout = \"5s\"");
    // A client that never starts its handshake holds the only slot.
    let _holder = TcpStream::connect(secure.smtps).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // A TLS client is refused over TLS (RFC 8314 3.3)...
    let output = python(
        "tls_refusal.py",
        secure.smtps,
        &[secure.cafile().to_str().unwrap()],
    );
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        out.contains("over tls: 421 4.7.0 mx.example.test Too many connections, try again later"),
        "{out}"
    );
    // ...and a client that speaks in clear hears no cleartext reply.
    let mut plain = TcpStream::connect(secure.smtps).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut heard = [0u8; 64];
    match plain.read(&mut heard) {
        Ok(n) => assert!(
            !String::from_utf8_lossy(&heard[..n]).contains("421"),
            "cleartext: {:?}",
            String::from_utf8_lossy(&heard[..n])
        ),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
    }
}
