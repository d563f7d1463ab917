//! A server with HTTP instances for the webmail tests (tests/webmail*.rs):
//! an SMTP instance to deliver through and to relay from, `web` (plain
//! HTTP on loopback, logins in clear: webmail, status, metrics, admin)
//! and `webs` (HTTPS, webmail), on one data directory, with alice's and
//! bob's passwords set.

use super::imap::make_certificate;
use super::{TestServer, address, config_head, free_port, python};
use std::net::SocketAddr;
use std::path::PathBuf;

pub const ALICE: &str = "alice@example.test";
pub const BOB: &str = "bob@example.test";
pub const ALICE_PASSWORD: &str = "alice correct horse";
pub const BOB_PASSWORD: &str = "bob battery staple";

pub struct WebWorld {
    pub server: TestServer,
    pub smtp: SocketAddr,
    pub http: SocketAddr,
    pub https: SocketAddr,
}

impl WebWorld {
    pub fn start() -> WebWorld {
        Self::start_with("")
    }

    /// As [`WebWorld::start`], with `extra` appended to the configuration.
    pub fn start_with(extra: &str) -> WebWorld {
        let [smtp, http, https] = [0; 3].map(|_| address());
        let config = format!(
            r#"{}

[[service]]
name = "web"
kind = "http"
listen = "{http}"
serve = ["webmail", "status", "metrics", "admin"]
auth_without_tls = true
max_message_size = "1 MiB"

[[service]]
name = "webs"
kind = "http"
listen = "{https}"
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
        let world = WebWorld {
            server,
            smtp,
            http,
            https,
        };
        world.add_user(ALICE, ALICE_PASSWORD);
        world.add_user(BOB, BOB_PASSWORD);
        world
    }

    pub fn add_user(&self, login: &str, password: &str) {
        super::add_user(&self.server.config_path(), login, password);
    }

    pub fn cafile(&self) -> PathBuf {
        self.server.dir.path().join("cert.pem")
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Delivers `message` (a whole RFC 5322 text) to `to` through SMTP and
    /// waits until it is in their INBOX.
    pub fn deliver(&self, to: &str, message: &str) {
        self.deliver_from("carol@remote.test", to, message);
    }

    /// As [`WebWorld::deliver`], with `from` as the envelope's sender.
    pub fn deliver_from(&self, from: &str, to: &str, message: &str) {
        let user = to.split('@').next().unwrap();
        let before = self.server.delivered(user).len();
        let file = self
            .server
            .dir
            .path()
            .join(format!("message-{}.eml", free_port()));
        std::fs::write(&file, message).unwrap();
        let out = python("send.py", self.smtp, &[from, to, file.to_str().unwrap()]);
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("OK"));
        self.server.wait_for_delivery(user, before + 1);
    }

    /// Runs a scenario of `clients/web.py` against the plain HTTP
    /// instance; its output.
    pub fn web(&self, scenario: &str, args: &[&str]) -> String {
        let mut all = vec![scenario];
        all.extend_from_slice(args);
        let out = python("web.py", self.http, &all);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
