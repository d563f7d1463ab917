//! A server with IMAP instances for the real-client tests (tests/imap*.rs):
//! an SMTP instance to deliver through, `plain` (logins in clear, as on
//! loopback), `starttls` (logins only after STARTTLS) and `imaps`
//! (implicit TLS), all on one data directory, with alice's password set.

pub use super::address;
use super::{TestServer, config_head, postern, python};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const USER: &str = "alice@example.test";
pub const PASSWORD: &str = "correct horse battery";

pub struct ImapWorld {
    pub server: TestServer,
    pub smtp: SocketAddr,
    pub plain: SocketAddr,
    pub starttls: SocketAddr,
    pub imaps: SocketAddr,
}

impl ImapWorld {
    pub fn start() -> ImapWorld {
        Self::start_with("")
    }

    /// As [`ImapWorld::start`], with `extra` appended to the configuration
    /// (more `[[service]]`s, an `[auth]` table).
    pub fn start_with(extra: &str) -> ImapWorld {
        let [smtp, plain, starttls, imaps] = [0; 4].map(|_| address());
        let config = format!(
            r#"{}

[[service]]
name = "imap"
kind = "imap"
listen = "{plain}"
auth_without_tls = true

[[service]]
name = "imap-starttls"
kind = "imap"
listen = "{starttls}"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[service]]
name = "imaps"
kind = "imap"
listen = "{imaps}"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[domain]]
name = "example.test"
users = ["alice", "bob"]
{extra}
"#,
            config_head(smtp, "")
        );
        let server = TestServer::start_with_files(&config, smtp, make_certificate);
        let world = ImapWorld {
            server,
            smtp,
            plain,
            starttls,
            imaps,
        };
        world.add_user(USER, PASSWORD);
        world
    }

    pub fn add_user(&self, login: &str, password: &str) {
        super::add_user(&self.server.config_path(), login, password);
    }

    pub fn cafile(&self) -> PathBuf {
        self.server.dir.path().join("cert.pem")
    }

    /// Alice's Maildir root.
    pub fn maildir(&self) -> PathBuf {
        self.server.data().join("mail/example.test/alice")
    }

    /// Delivers `count` messages ("message 0", ...) to alice through SMTP
    /// and waits until they are in her INBOX.
    pub fn deliver(&self, count: usize) {
        let before = self.inbox_count();
        for i in 0..count {
            let file = self.server.dir.path().join(format!("message-{i}.eml"));
            std::fs::write(
                &file,
                format!(
                    "From: bob@remote.test\r\nTo: {USER}\r\nSubject: message {i}\r\n\r\nHello {i}.\r\n.a line with a dot\r\n"
                ),
            )
            .unwrap();
            let out = python(
                "send.py",
                self.smtp,
                &["bob@remote.test", USER, file.to_str().unwrap()],
            );
            assert!(String::from_utf8_lossy(&out.stdout).starts_with("OK"));
        }
        super::eventually(
            || self.inbox_count(),
            |&n| n >= before + count,
            |n| format!("{n} of {} messages delivered", before + count),
        );
    }

    fn files(&self, sub: &str) -> Vec<PathBuf> {
        match std::fs::read_dir(self.maildir().join(sub)) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Messages in alice's INBOX, new and current.
    pub fn inbox_count(&self) -> usize {
        self.files("new").len() + self.files("cur").len()
    }

    /// Runs a scenario of `clients/imap.py` against `addr`; its output.
    pub fn imaplib(&self, addr: SocketAddr, scenario: &str, password: &str) -> String {
        let cafile = self.cafile();
        let out = python(
            "imap.py",
            addr,
            &[scenario, cafile.to_str().unwrap(), USER, password],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

pub fn make_certificate(dir: &Path) {
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

/// Fails unless every one of `expected` is a substring of `out`.
pub fn assert_lines(out: &str, expected: &[&str]) {
    for line in expected {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
}
