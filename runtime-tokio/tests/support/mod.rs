//! Runs the real `postern` binary for tests, on a loopback port of its
//! own, with a data directory of its own.

#![allow(dead_code)] // Each test file uses a different part of this.

pub mod dkim;
pub mod dovecot;
pub mod imap;
pub mod mailstore;
pub mod nodes;
pub mod outbound;
pub mod postgres;
pub mod proxy;
pub mod web;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    child: Option<Child>,
}

/// A port nobody is using right now on any address, and one this test
/// process has not handed out before.
///
/// The ports come from below the kernel's ephemeral range (32768 and
/// up), where no outgoing connection's end and no `bind(0)` can land, so
/// a port handed out here stays free until the test binds it. Each test
/// process starts at its own place in the range, and a port is only
/// handed out if it can be bound on every interface (tests bind some
/// ports on all of them).
pub fn free_port() -> u16 {
    free_ports(1)
}

/// A free loopback address for a test listener.
pub fn address() -> SocketAddr {
    format!("127.0.0.1:{}", free_port()).parse().unwrap()
}

/// The start of most test configurations: the `[server]` table and an
/// SMTP instance "mx" on `smtp` with the extra `mx_keys`. Append the rest
/// (more `[[service]]`s, `[auth]`, `[[domain]]`) to it.
pub fn config_head(smtp: impl std::fmt::Display, mx_keys: &str) -> String {
    format!(
        r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{smtp}"
{mx_keys}
"#
    )
}

/// The first of `count` consecutive ports, each as [`free_port`] hands
/// one out (an FTP instance's passive range, say).
pub fn free_ports(count: u16) -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let start = std::process::id().wrapping_mul(7_919) % COUNT;
    let _ = NEXT.compare_exchange(u32::MAX, start, Ordering::SeqCst, Ordering::SeqCst);
    let free = |port: u16| {
        let on = |host: &str| TcpListener::bind((host, port)).is_ok();
        on("0.0.0.0") && (on("::") || !ipv6_available())
    };
    for _ in 0..COUNT {
        let first = FIRST + NEXT.fetch_add(u32::from(count), Ordering::SeqCst) % COUNT;
        if first + u32::from(count) > FIRST + COUNT {
            continue; // The run would leave the range: wrap around.
        }
        let first = first as u16;
        if (first..first + count).all(free) {
            return first;
        }
    }
    panic!(
        "no {count} free ports between {FIRST} and {}",
        FIRST + COUNT
    );
}

fn ipv6_available() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

pub fn postern() -> Command {
    Command::new(env!("CARGO_BIN_EXE_postern"))
}

impl TestServer {
    /// Starts postern with `extra` appended to a configuration that
    /// listens on a free port and delivers for `example.test`.
    pub fn start(extra: &str) -> TestServer {
        let mut server = Self::prepare(extra);
        server.launch();
        server
    }

    /// Writes the configuration without starting the server.
    pub fn prepare(extra: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let config = format!(
            r#"{}
[[domain]]
name = "example.test"
users = ["alice", "bob"]
aliases = {{ info = "alice" }}
{extra}
"#,
            config_head(addr, "max_message_size = 100000")
        );
        std::fs::write(dir.path().join("postern.toml"), config).unwrap();
        TestServer {
            dir,
            addr,
            child: None,
        }
    }

    /// Starts postern with one `[[service]]` listening on `addr` with
    /// the extra `service` keys, delivering for example.test (alice).
    pub fn start_service(addr: SocketAddr, service: &str) -> TestServer {
        let config = format!(
            r#"{}
[[domain]]
name = "example.test"
users = ["alice"]
"#,
            config_head(addr, service)
        );
        Self::start_with(&config, addr)
    }

    /// Starts postern on `config`, a whole configuration file, and waits
    /// until `addr` (one of its listeners) accepts.
    pub fn start_with(config: &str, addr: SocketAddr) -> TestServer {
        Self::start_with_files(config, addr, |_| {})
    }

    /// As [`TestServer::start_with`], with `prepare` run first on the
    /// directory that holds the configuration (to put files beside it).
    pub fn start_with_files(
        config: &str,
        addr: SocketAddr,
        prepare: impl FnOnce(&Path),
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("postern.toml"), config).unwrap();
        prepare(dir.path());
        let mut server = TestServer {
            dir,
            addr,
            child: None,
        };
        server.launch();
        server
    }

    /// The server's process ID, for signals.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("postern.toml")
    }

    /// Runs `postern ARGS --config CONFIG` beside this server (such as
    /// `mailbox list USER`, whose sync numbers what waits in `new/`), and
    /// requires it to succeed.
    pub fn command(&self, args: &[&str]) -> Output {
        let output = postern()
            .current_dir(self.dir.path())
            .args(args)
            .arg("--config")
            .arg(self.config_path())
            .output()
            .unwrap();
        assert!(output.status.success(), "postern {args:?}: {output:?}");
        output
    }

    /// Starts (or restarts) the process and waits until it accepts.
    pub fn launch(&mut self) {
        allow_root(&self.config_path());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = postern()
            .arg("run")
            .arg("--config")
            .arg(self.dir.path().join("postern.toml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(self.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "postern did not start; log:\n{}",
                self.log()
            );
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("postern exited with {status}; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("postern.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn maildir_new(&self, user: &str) -> PathBuf {
        self.data().join("mail/example.test").join(user).join("new")
    }

    /// The files delivered to `user` of `domain` so far, sorted.
    pub fn delivered_to(&self, domain: &str, user: &str) -> Vec<PathBuf> {
        let maildir = self.data().join("mail").join(domain).join(user).join("new");
        let mut files: Vec<PathBuf> = match std::fs::read_dir(maildir) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        files
    }

    /// The files delivered to a user of example.test so far.
    pub fn delivered(&self, user: &str) -> Vec<PathBuf> {
        self.delivered_to("example.test", user)
    }

    /// Waits until `user` of `domain` has `count` messages.
    pub fn wait_for_delivery_to(&self, domain: &str, user: &str, count: usize) -> Vec<PathBuf> {
        eventually(
            || self.delivered_to(domain, user),
            |files| files.len() >= count,
            |files| {
                format!(
                    "{} of {count} delivered to {user}@{domain}; log:\n{}",
                    files.len(),
                    self.log()
                )
            },
        )
    }

    /// Waits until `user` of example.test has `count` messages.
    pub fn wait_for_delivery(&self, user: &str, count: usize) -> Vec<PathBuf> {
        self.wait_for_delivery_to("example.test", user, count)
    }

    /// The files of the messages in `spool/queue/`: not the empty ones,
    /// blanks made ready for messages to come (see the spool's docs).
    pub fn spool_queue(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.data().join("spool/queue")) {
            Ok(entries) => entries
                .map(|e| e.unwrap().path())
                .filter(|path| std::fs::metadata(path).is_ok_and(|m| m.len() > 0))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server not running");
        // SAFETY: kill(2) with a valid PID of our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "postern did not stop on SIGTERM; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Looks with `probe` until `done` holds of what it sees, for up to 30
/// seconds; then fails with `why` of the last look.
pub fn eventually<T>(
    mut probe: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
    why: impl Fn(&T) -> String,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = probe();
        if done(&seen) {
            return seen;
        }
        assert!(Instant::now() < deadline, "{}", why(&seen));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Adds an account with `postern user add`, the password given on
/// standard input; fails the test if the command does.
pub fn add_user(config: &Path, login: &str, password: &str) {
    use std::io::Write as _;
    let mut child = postern()
        .args(["user", "add", login, "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{password}").unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
}

/// Runs a Python client from `tests/clients/`, with the server address
/// and `args`; returns its output, panicking with it on failure.
pub fn python(script: &str, addr: SocketAddr, args: &[&str]) -> Output {
    let (host, port) = (addr.ip().to_string(), addr.port().to_string());
    let mut all = vec![host.as_str(), port.as_str()];
    all.extend_from_slice(args);
    python_script(script, &all)
}

/// Runs tests/clients/`script` with `args`; the test fails if it does.
pub fn python_script(script: &str, args: &[&str]) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let output = Command::new("python3")
        .arg(path)
        .args(args)
        .output()
        .expect("python3 is needed for the real-client tests");
    assert!(
        output.status.success(),
        "{script} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The tests run as root here, and postern refuses to run client
/// sessions as root unless told to: a configuration that names neither
/// `user` nor `run_as_root` gets `run_as_root = true` in its `[server]`
/// table (added on the line after `[server]`, or as a `[server]` table of
/// its own at the top). As another user, the file is left alone.
pub fn allow_root(config: &Path) {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let text = std::fs::read_to_string(config).unwrap();
    // A file that is not TOML fails before the question of root arises.
    let Ok(table) = text.parse::<toml::Table>() else {
        return;
    };
    let server = table.get("server").and_then(|server| server.as_table());
    if server.is_some_and(|s| s.contains_key("user") || s.contains_key("run_as_root")) {
        return;
    }
    let text = match text.split_once("[server]\n") {
        Some((before, after)) => format!("{before}[server]\nrun_as_root = true\n{after}"),
        None => format!("[server]\nrun_as_root = true\n{text}"),
    };
    std::fs::write(config, text).unwrap();
}

/// Runs `postern run --config FILE`, expecting it to refuse to start;
/// returns what it printed on stderr.
pub fn run_expecting_failure(config: &Path) -> String {
    allow_root(config);
    run_as_is_expecting_failure(config)
}

/// As [`run_expecting_failure`], with the file as it is, even as root.
pub fn run_as_is_expecting_failure(config: &Path) -> String {
    let run = postern()
        .arg("run")
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        !run.status.success(),
        "postern started with {}",
        config.display()
    );
    String::from_utf8_lossy(&run.stderr).into_owned()
}
