//! What the outbound tests share: a DNS server with MX records
//! (dnsmasq), scripted remote servers (Python, in tests/clients/), and our
//! own relaying server for origin.test.

use super::{TestServer, eventually, free_port, postern};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// dnsmasq serving the `test` zone from the given options.
pub struct Dns {
    child: Child,
    pub port: u16,
}

impl Dns {
    /// Starts dnsmasq on a free port and waits until it answers; a port
    /// taken meanwhile by another test means another try.
    pub fn start(records: &[impl AsRef<str>]) -> Dns {
        for _ in 0..5 {
            let port = UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new("dnsmasq")
                .args(["--keep-in-foreground", "--listen-address=127.0.0.1"])
                .args(["--bind-interfaces", "--no-resolv", "--no-hosts"])
                .args(["--user=nobody", "--group=nogroup", "--local=/test/"])
                .arg(format!("--port={port}"))
                .args(records.iter().map(AsRef::as_ref))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("dnsmasq (Debian package dnsmasq-base) is needed for the outbound tests");
            if answers(port) {
                return Dns { child, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start");
    }
}

/// Does a DNS server answer on 127.0.0.1:`port` within a few seconds?
fn answers(port: u16) -> bool {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // A query for the SOA of "test": id, flags (recursion desired), one
    // question, then the name, type 6 and class IN.
    let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x06\x00\x01";
    let mut reply = [0u8; 512];
    for _ in 0..30 {
        let _ = socket.send_to(query, ("127.0.0.1", port));
        if let Ok((n, _)) = socket.recv_from(&mut reply)
            && n >= 2
            && reply[..2] == [0x12, 0x34]
        {
            return true;
        }
    }
    false
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Python server (tests/clients/`script`) that logs JSON events, one a
/// line, to a file it is given.
pub struct Remote {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Remote {
    /// Runs `script ARGS LOG EXTRA`, where `prepare` makes `EXTRA` in the
    /// server's own directory, and waits for it to say `ready`.
    pub fn start(
        script: &str,
        args: &[&str],
        prepare: impl FnOnce(&Path) -> Vec<String>,
    ) -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.log");
        let extra = prepare(dir.path());
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/clients")
            .join(script);
        let mut child = Command::new("python3")
            .arg(path)
            .args(args)
            .arg(&log)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(
            ready.trim(),
            "ready",
            "{script} did not start (sink.py needs python3's aiosmtpd)"
        );
        Remote {
            child,
            log,
            _dir: dir,
        }
    }

    /// The aiosmtpd sink (sink.py), with its `options`.
    pub fn sink(address: &str, port: u16, options: &[&str]) -> Remote {
        let options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        Remote::start("sink.py", &[address, &port.to_string()], |_| options)
    }

    /// fake_mx.py in `mode`, with a fresh self-signed certificate.
    pub fn fake_mx(address: &str, port: u16, mode: &str) -> Remote {
        Remote::start("fake_mx.py", &[address, &port.to_string()], |dir| {
            let made = postern()
                .current_dir(dir)
                .args(["cert", "self-signed", "--host", "fake.mx.test"])
                .output()
                .unwrap();
            assert!(made.status.success(), "{made:?}");
            vec![
                dir.join("cert.pem").display().to_string(),
                dir.join("key.pem").display().to_string(),
                mode.to_owned(),
            ]
        })
    }

    /// The events of `kind` logged so far.
    pub fn events(&self, kind: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["event"] == kind)
            .collect()
    }

    /// Waits for the first event of `kind`; `server`'s log if it never
    /// comes.
    pub fn wait_for(&self, kind: &str, server: &TestServer) -> Vec<serde_json::Value> {
        eventually(
            || self.events(kind),
            |events| !events.is_empty(),
            |_| format!("no {kind:?} event; log:\n{}", server.log()),
        )
    }

    /// Waits until `count` messages have arrived.
    pub fn wait_for_messages(&self, count: usize, server: &TestServer) -> Vec<serde_json::Value> {
        eventually(
            || self.events("message"),
            |messages| messages.len() >= count,
            |messages| {
                format!(
                    "{} of {count} messages reached the sink; log:\n{}",
                    messages.len(),
                    server.log()
                )
            },
        )
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our server at `listen` (reached at `addr`): mail for origin.test (user
/// alice) kept here, relaying for loopback clients, and `outbound` as the
/// body of its `[outbound]` table (which may go on with
/// `[outbound.smarthost]`).
pub fn origin_at(listen: &str, addr: SocketAddr, outbound: &str) -> TestServer {
    let config = format!(
        r#"
[server]
hostname = "mx.origin.test"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{listen}"
relay = ["127.0.0.0/8"]

[[domain]]
name = "origin.test"
users = ["alice"]

[outbound]
{outbound}
"#
    );
    TestServer::start_with(&config, addr)
}

/// [`origin_at`] on a free port of 127.0.0.1.
pub fn origin(outbound: &str) -> TestServer {
    let listen = format!("127.0.0.1:{}", free_port());
    origin_at(&listen, listen.parse().unwrap(), outbound)
}
