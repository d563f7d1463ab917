//! The book's worked example, every service on one multi-homed host
//! (`book/src/examples/every-service.toml`, shown in the chapter "Service
//! instances and multi-homing"), run as it is printed: `check-config`
//! accepts it, and python's own clients use each of its instances.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use support::{TestServer, postern, python};

const EXAMPLE: &str = include_str!("../../book/src/examples/every-service.toml");
const LOGIN: &str = "alice@example.test";
const PASSWORD: &str = "wonderland";

/// An echo server on loopback, standing in for the example's news server.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buffer = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn certificate(dir: &Path) {
    let output = postern()
        .current_dir(dir)
        .args(["cert", "self-signed", "--host", "mail.example.test"])
        .args(["--host", "127.0.0.1", "--host", "127.0.0.3"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

fn add_user(config: &Path, login: &str, extra: &[&str]) {
    let mut child = postern()
        .args(["user", "add", login])
        .args(extra)
        .arg("--config")
        .arg(config)
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

#[test]
fn the_every_service_example_serves_every_service_on_its_own_address() {
    let echo = echo_server();
    // The only change to the example: its news server is our echo.
    let config = EXAMPLE.replace("news.example.net:119", &echo.to_string());
    let mx: SocketAddr = "127.0.0.3:25".parse().unwrap();
    let server = TestServer::start_with_files(&config, mx, certificate);
    add_user(&server.config_path(), LOGIN, &["--admin"]);
    add_user(&server.config_path(), "postmaster@example.test", &[]);

    let check = postern()
        .args(["check-config", "--config"])
        .arg(server.config_path())
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{check:?}");
    for row in [
        "mx ",
        "lan-smtp ",
        "submission ",
        "lan-pop3 ",
        "pop3s ",
        "lan-imap ",
        "imaps ",
        "lan-finger ",
        "finger ",
        "lan-ftp ",
        "ftp ",
        "console ",
        "news ",
    ] {
        assert!(summary.contains(row), "no row {row:?} in:\n{summary}");
    }

    let cafile = server.dir.path().join("cert.pem");
    let output = python(
        "every_service.py",
        mx,
        &[
            cafile.to_str().unwrap(),
            LOGIN,
            PASSWORD,
            "news over the tunnel",
        ],
    );
    let report = String::from_utf8_lossy(&output.stdout);
    let checks = [
        "mx",
        "mx refuses relay",
        "lan-smtp",
        "submission",
        "lan-pop3",
        "pop3s",
        "lan-imap",
        "imaps",
        "lan-finger",
        "finger",
        "lan-ftp",
        "ftp",
        "console",
        "news",
    ];
    for name in checks {
        assert!(
            report.lines().any(|line| line == format!("ok {name}")),
            "{name} failed:\n{report}\n{}\nlog:\n{}",
            String::from_utf8_lossy(&output.stderr),
            server.log()
        );
    }
}
