//! The login lockout with stock clients: python's smtplib, which falls
//! back from PLAIN to LOGIN with the same password, and poplib. SMTP and
//! POP3 logins share one lockout, logged at warning level, and `postern
//! unlock` clears it at once.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::process::Stdio;
use support::{TestServer, eventually, free_port, postern, python};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery";

struct Server {
    server: TestServer,
    submission: SocketAddr,
    pop3: SocketAddr,
}

/// Submission and POP3 on loopback, logins in clear (loopback only), a
/// lockout after three failures within ten minutes.
fn start() -> Server {
    let [submission, pop3] =
        [0; 2].map(|_| -> SocketAddr { format!("127.0.0.1:{}", free_port()).parse().unwrap() });
    let config = format!(
        r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[auth]
failure_delay = "0s"
max_failures_per_session = 10
lockout_failures = 3
lockout_window = "10m"

[[service]]
name = "submission"
kind = "submission"
listen = "{submission}"
auth_without_tls = true

[[service]]
name = "pop3"
kind = "pop3"
listen = "{pop3}"
auth_without_tls = true

[[domain]]
name = "example.test"
users = ["alice"]
"#
    );
    let server = TestServer::start_with(&config, submission);
    let mut add = postern()
        .args(["user", "add", USER, "--config"])
        .arg(server.config_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait_with_output().unwrap().status.success());
    Server {
        server,
        submission,
        pop3,
    }
}

fn login(addr: SocketAddr, protocol: &str, password: &str) -> String {
    let output = python("login.py", addr, &[protocol, USER, password]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn unlock(server: &TestServer, address: &str) -> std::process::Output {
    postern()
        .args(["unlock", address, "--config"])
        .arg(server.config_path())
        .output()
        .unwrap()
}

#[test]
fn a_typo_through_smtplib_counts_once_and_pop3_shares_the_lockout_until_unlock() {
    let Server {
        server,
        submission,
        pop3,
    } = start();
    // Two typos by smtplib: each is tried with PLAIN, then LOGIN, so four
    // 535s, but two guesses: under the limit of three.
    for typo in ["correct horse batery", "Correct horse battery"] {
        assert_eq!(
            login(submission, "smtp", typo),
            "refused: 535 5.7.8 Authentication credentials invalid"
        );
    }
    assert_eq!(
        login(submission, "smtp", PASSWORD),
        "ok",
        "{}",
        server.log()
    );
    // A third typo, by POP3: the lockout is the server's, not SMTP's.
    assert!(login(pop3, "pop3", "typo").starts_with("refused: -ERR [AUTH]"));
    let log = eventually(
        || server.log(),
        |log| log.contains("locked out"),
        |log| format!("no lockout logged:\n{log}"),
    );
    let line = log.lines().find(|l| l.contains("locked out")).unwrap();
    assert!(line.contains("WARN"), "at warning level: {line}");
    assert!(line.contains("127.0.0.1"), "names the address: {line}");
    assert!(line.contains("within 10m"), "names the window: {line}");
    // Locked out everywhere, even with the right password.
    assert!(login(submission, "smtp", PASSWORD).starts_with("refused: 454 4.7.0"));
    assert!(login(pop3, "pop3", PASSWORD).starts_with("refused: -ERR"));
    // The operator clears it at once.
    let cleared = unlock(&server, "127.0.0.1");
    assert!(cleared.status.success(), "{cleared:?}");
    assert_eq!(
        String::from_utf8_lossy(&cleared.stdout).trim(),
        "unlocked 127.0.0.1"
    );
    assert_eq!(login(pop3, "pop3", PASSWORD), "ok");
    assert_eq!(login(submission, "smtp", PASSWORD), "ok");
    let again = unlock(&server, "127.0.0.1");
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "127.0.0.1 was not locked out"
    );
    assert!(server.log().contains("unlocked by the operator"));
}

#[test]
fn unlock_refuses_a_non_address_and_needs_a_running_server() {
    let Server { mut server, .. } = start();
    let bad = unlock(&server, "alice@example.test");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("is not an IP address"),
        "{bad:?}"
    );
    server.stop();
    let stopped = unlock(&server, "127.0.0.1");
    assert!(!stopped.status.success());
    assert!(
        String::from_utf8_lossy(&stopped.stderr).contains("no server is running"),
        "{stopped:?}"
    );
}
