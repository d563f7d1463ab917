//! Running as a service: root is dropped to `[server] user` once the
//! privileged ports are bound, and refused without it. These tests run as
//! root (scripts/test does, in CI): they fail, and say why, otherwise.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use support::{TestServer, postern, python};

/// nobody and nogroup on Debian.
const NOBODY: u32 = 65534;

fn require_root() {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "these tests start postern as root to see it drop root; run them as root (scripts/test in CI does)"
    );
}

/// A configuration with SMTP on port 25 and POP3 on port 110 of `ip`,
/// and `server` keys added to `[server]`.
fn privileged_config(ip: &str, server: &str) -> String {
    format!(
        r#"[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"
{server}

[[service]]
name = "mx"
kind = "smtp"
listen = "{ip}:25"

[[service]]
name = "pop3"
kind = "pop3"
listen = "{ip}:110"
auth_without_tls = true

[[domain]]
name = "example.test"
users = ["alice"]
"#
    )
}

/// The test's directory is root's 0700 temporary directory: nobody must
/// be able to reach the data directory inside it.
fn open_to_others(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The Uid:, Gid: and Groups: lines of every thread of `pid`.
fn credentials(pid: u32) -> Vec<String> {
    let mut lines = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        lines.extend(
            status
                .lines()
                .filter(|l| {
                    l.starts_with("Uid:") || l.starts_with("Gid:") || l.starts_with("Groups:")
                })
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
        );
    }
    lines
}

fn add_user(config: &Path, login: &str, password: &str) -> std::process::Output {
    let mut child = postern()
        .args(["user", "add", login, "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn sessions_run_as_the_configured_user_on_privileged_ports() {
    require_root();
    let ip = "127.0.21.1";
    let smtp: SocketAddr = format!("{ip}:25").parse().unwrap();
    let config = privileged_config(ip, "user = \"nobody\"\ngroup = \"nogroup\"");
    let server = TestServer::start_with_files(&config, smtp, open_to_others);

    // Every thread: real, effective, saved and file-system IDs, and no
    // supplementary group but nogroup.
    let ids = credentials(server.pid());
    assert!(ids.len() >= 3, "{ids:?}");
    for line in &ids {
        let expected = match line.split(' ').next().unwrap() {
            "Groups:" => format!("Groups: {NOBODY}"),
            field => format!("{field} {NOBODY} {NOBODY} {NOBODY} {NOBODY}"),
        };
        assert_eq!(line, &expected, "all: {ids:?}");
    }
    assert!(server.log().contains("dropped root"), "{}", server.log());

    // The data directory Postern made is nobody's, 0700.
    let data = std::fs::metadata(server.data()).unwrap();
    assert_eq!(
        (data.uid(), data.gid(), data.mode() & 0o777),
        (NOBODY, NOBODY, 0o700)
    );

    // SMTP takes a message; it is delivered into a Maildir owned by nobody.
    let message = server.dir.path().join("m.eml");
    std::fs::write(&message, b"Subject: from below\r\n\r\nHello.\r\n").unwrap();
    let out = python(
        "send.py",
        smtp,
        &[
            "bob@remote.test",
            "alice@example.test",
            message.to_str().unwrap(),
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("OK"),
        "{out:?}"
    );
    let files = server.wait_for_delivery_to("example.test", "alice", 1);
    assert_eq!(std::fs::metadata(&files[0]).unwrap().uid(), NOBODY);

    // `postern user add`, run as root, switches to nobody too: the server
    // can read the account it writes, and POP3 logs in and reads the mail.
    let added = add_user(&server.config_path(), "alice@example.test", "pw-alice");
    assert!(added.status.success(), "{added:?}");
    let accounts: Vec<u32> = std::fs::read_dir(server.data())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().uid())
        .collect();
    assert!(accounts.iter().all(|&uid| uid == NOBODY), "{accounts:?}");
    let pop3: SocketAddr = format!("{ip}:110").parse().unwrap();
    let out = python(
        "pop3.py",
        pop3,
        &["plain", "/dev/null", "alice@example.test", "pw-alice"],
    );
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("pass: +OK"), "{out}");
    assert!(
        out.contains("retr 1 subject: ['Subject: from below']"),
        "{out}"
    );
}

#[test]
fn started_as_root_without_user_refuses_naming_the_keys() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    std::fs::write(&file, privileged_config("127.0.21.2", "")).unwrap();
    let stderr = support::run_as_is_expecting_failure(&file);
    assert!(stderr.contains("`server.user`"), "{stderr}");
    assert!(
        stderr.contains("client sessions would run as root"),
        "{stderr}"
    );
    assert!(stderr.contains("run_as_root = true"), "{stderr}");
    assert!(stderr.contains("CAP_NET_BIND_SERVICE"), "{stderr}");
    // Refused before anything was touched: no data directory.
    assert!(!dir.path().join("data").exists());

    // Said explicitly, root is kept (and warned about).
    let addr: SocketAddr = "127.0.21.2:25".parse().unwrap();
    let server =
        TestServer::start_with(&privileged_config("127.0.21.2", "run_as_root = true"), addr);
    assert!(
        credentials(server.pid())
            .iter()
            .any(|l| l == "Uid: 0 0 0 0")
    );
    assert!(
        server.log().contains("sessions run as root"),
        "{}",
        server.log()
    );
}

#[test]
fn unknown_user_or_group_is_named_at_its_line_with_the_fix() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    let config = privileged_config("127.0.21.3", "user = \"no-such-postern-user\"");
    std::fs::write(&file, config).unwrap();
    let stderr = support::run_expecting_failure(&file);
    assert!(
        stderr.contains(":5:8: `server.user`: no system user is named \"no-such-postern-user\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: create it (useradd --system"),
        "{stderr}"
    );

    let config = privileged_config(
        "127.0.21.3",
        "user = \"nobody\"\ngroup = \"no-such-postern-group\"",
    );
    std::fs::write(&file, config).unwrap();
    let stderr = support::run_expecting_failure(&file);
    assert!(
        stderr.contains(":6:9: `server.group`: no system group is named \"no-such-postern-group\""),
        "{stderr}"
    );
}

#[test]
fn a_data_directory_owned_by_root_is_refused_with_the_chown() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    open_to_others(dir.path());
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let file = dir.path().join("postern.toml");
    std::fs::write(&file, privileged_config("127.0.21.4", "user = \"nobody\"")).unwrap();
    let stderr = support::run_expecting_failure(&file);
    assert!(
        stderr.contains("belongs to uid 0, not to nobody (uid 65534)"),
        "{stderr}"
    );
    assert!(stderr.contains("help: chown -R nobody:nogroup"), "{stderr}");
}

/// Waits until `path` holds `needle`.
fn wait_for_text(path: &Path, needle: &str) -> String {
    support::eventually(
        || std::fs::read_to_string(path).unwrap_or_default(),
        |text| text.contains(needle),
        |text| format!("no {needle:?} in {}:\n{text}", path.display()),
    )
}

#[test]
fn sigusr1_reopens_the_log_file_after_logrotate_moves_it() {
    let addr: SocketAddr = format!("127.0.0.1:{}", support::free_port())
        .parse()
        .unwrap();
    let config = format!(
        r#"[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"
log_file = "logs/postern.log"

[[service]]
name = "mx"
kind = "smtp"
listen = "{addr}"

[[domain]]
name = "example.test"
users = ["alice"]
"#
    );
    let server = TestServer::start_with_files(&config, addr, |dir| {
        std::fs::create_dir(dir.join("logs")).unwrap();
    });
    let logs = server.dir.path().join("logs");
    let current = logs.join("postern.log");
    let rotated = logs.join("postern.log.1");
    wait_for_text(&current, &format!("accepting connections on {addr}"));
    // Nothing goes to standard error once the file is open.
    assert_eq!(server.log(), "");

    // logrotate: rename, then signal.
    std::fs::rename(&current, &rotated).unwrap();
    let pid = libc::pid_t::try_from(server.pid()).unwrap();
    // SAFETY: kill(2) with a signal number; it touches no memory.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
    wait_for_text(&current, "SIGUSR1: reopened the log file");

    // A session's lines go to the new file only; the server lives on.
    let message = server.dir.path().join("m.eml");
    std::fs::write(&message, b"Subject: after rotation\r\n\r\nHello.\r\n").unwrap();
    let out = python(
        "send.py",
        addr,
        &[
            "bob@remote.test",
            "alice@example.test",
            message.to_str().unwrap(),
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("OK"),
        "{out:?}"
    );
    let fresh = wait_for_text(&current, "delivered");
    assert!(fresh.contains("queued from=<bob@remote.test>"), "{fresh}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("accepting connections"), "{old}");
    assert!(
        !old.contains("queued from") && !old.contains("reopened"),
        "{old}"
    );
    let mode = std::fs::metadata(&current).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn a_log_file_that_cannot_be_opened_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    let config = format!(
        "[server]\nlog_file = \"no-such-dir/postern.log\"\nrun_as_root = true\n\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:{}\"\n\n[[domain]]\nname = \"example.test\"\n",
        support::free_port()
    );
    std::fs::write(&file, config).unwrap();
    let stderr = support::run_expecting_failure(&file);
    assert!(
        stderr.contains("`server.log_file`: cannot open the log file:"),
        "{stderr}"
    );
    assert!(stderr.contains("no-such-dir/postern.log"), "{stderr}");
}

#[test]
fn check_config_says_whom_sessions_run_as_and_warns_of_an_unknown_user() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    let check = |server: &str| {
        std::fs::write(&file, privileged_config("127.0.21.5", server)).unwrap();
        let output = postern().arg("check-config").arg(&file).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let out = check("user = \"nobody\"\ngroup = \"nogroup\"");
    assert!(out.contains("\n  run as    nobody:nogroup\n"), "{out}");
    assert!(!out.contains("warning"), "{out}");
    let out = check("user = \"nobody\"");
    assert!(out.contains("\n  run as    nobody:nogroup\n"), "{out}");
    let out = check("user = \"no-such-postern-user\"");
    assert!(
        out.contains("run as    no-such-postern-user:(the user's group)"),
        "{out}"
    );
    assert!(
        out.contains(
            "warning   no user \"no-such-postern-user\" on this host: `postern run` will refuse"
        ),
        "{out}"
    );
    assert!(check("run_as_root = true").contains("run as    root (run_as_root = true)"));
    assert!(!check("").contains("run as"));
}

/// The line of `/proc/PID/status` that starts with `field`.
fn status_line(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Starts `postern run --config FILE` through util-linux's setpriv with
/// `args`, its log in DIR/postern.log, and waits until `smtp` accepts.
fn start_under_setpriv(dir: &Path, args: &[String], smtp: SocketAddr) -> KillOnDrop {
    let log = std::fs::File::create(dir.join("postern.log")).unwrap();
    let child = std::process::Command::new("setpriv")
        .args(args)
        .arg(env!("CARGO_BIN_EXE_postern"))
        .arg("run")
        .arg("--config")
        .arg(dir.join("postern.toml"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("setpriv (util-linux) is needed");
    let mut child = KillOnDrop(child);
    let read_log = || std::fs::read_to_string(dir.join("postern.log")).unwrap();
    let (exited, up) = support::eventually(
        || {
            let exited = child.0.try_wait().unwrap();
            (exited, std::net::TcpStream::connect(smtp).is_ok())
        },
        |(exited, up)| *up || exited.is_some(),
        |_| format!("postern did not start; log:\n{}", read_log()),
    );
    assert!(up, "postern exited: {exited:?}\n{}", read_log());
    child
}

/// Sends a message to alice through `smtp` and waits for it in her
/// Maildir under `dir`/data.
fn send_and_wait_for_delivery(dir: &Path, smtp: SocketAddr) {
    let message = dir.join("m.eml");
    std::fs::write(&message, b"Subject: hello\r\n\r\nHello.\r\n").unwrap();
    let out = python(
        "send.py",
        smtp,
        &[
            "bob@remote.test",
            "alice@example.test",
            message.to_str().unwrap(),
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("OK"),
        "{out:?}"
    );
    let maildir = dir.join("data/mail/example.test/alice/new");
    support::eventually(
        || std::fs::read_dir(&maildir).map_or(0, |d| d.count()),
        |&n| n == 1,
        |n| format!("{n} messages in {}", maildir.display()),
    );
}

/// A directory with postern.toml for SMTP on port 25 of `ip` as nobody,
/// and a data directory nobody owns (as the package's postinst makes it).
fn nobody_world(ip: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    open_to_others(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::chown(&data, Some(NOBODY), Some(NOBODY)).unwrap();
    let config = privileged_config(ip, "user = \"nobody\"\ngroup = \"nogroup\"");
    std::fs::write(dir.path().join("postern.toml"), config).unwrap();
    dir
}

/// The book's alternative to starting as root: an ordinary user with only
/// CAP_NET_BIND_SERVICE (what `AmbientCapabilities=` in a unit gives).
#[test]
fn an_unprivileged_user_with_cap_net_bind_service_serves_port_25() {
    require_root();
    let dir = nobody_world("127.0.21.6");
    let smtp: SocketAddr = "127.0.21.6:25".parse().unwrap();
    let args = [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--inh-caps=+net_bind_service",
        "--ambient-caps=+net_bind_service",
    ]
    .map(String::from);
    let server = start_under_setpriv(dir.path(), &args, smtp);
    let pid = server.0.id();
    assert_eq!(status_line(pid, "Uid:"), "Uid: 65534 65534 65534 65534");
    // CAP_NET_BIND_SERVICE is capability 10: bit 0x400, and nothing else.
    assert_eq!(status_line(pid, "CapEff:"), "CapEff: 0000000000000400");
    let log = std::fs::read_to_string(dir.path().join("postern.log")).unwrap();
    assert!(log.contains("running as the configured user"), "{log}");
    send_and_wait_for_delivery(dir.path(), smtp);
}

/// The packaged unit's `CapabilityBoundingSet=` and `NoNewPrivileges=`,
/// read from packaging/postern.service, are enough for the root phase
/// (bind port 25, lock the user's data directory, switch user), and
/// nothing is left after the switch.
#[test]
fn the_units_capability_bounding_set_suffices_to_start_as_root_and_drop() {
    require_root();
    let unit_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/postern.service");
    let unit = std::fs::read_to_string(unit_path).unwrap();
    assert!(unit.lines().any(|l| l == "NoNewPrivileges=yes"));
    let bounding = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit sets CapabilityBoundingSet=");
    let caps: Vec<String> = bounding
        .split_whitespace()
        .map(|cap| format!("+{}", cap.to_lowercase().trim_start_matches("cap_")))
        .collect();
    assert!(caps.contains(&"+net_bind_service".to_owned()), "{caps:?}");
    let args = [
        format!("--bounding-set=-all,{}", caps.join(",")),
        "--no-new-privs".to_owned(),
    ];
    let dir = nobody_world("127.0.21.8");
    let smtp: SocketAddr = "127.0.21.8:25".parse().unwrap();
    let server = start_under_setpriv(dir.path(), &args, smtp);
    let pid = server.0.id();
    assert_eq!(status_line(pid, "Uid:"), "Uid: 65534 65534 65534 65534");
    assert_eq!(status_line(pid, "CapEff:"), "CapEff: 0000000000000000");
    assert_eq!(status_line(pid, "CapPrm:"), "CapPrm: 0000000000000000");
    assert_eq!(status_line(pid, "NoNewPrivs:"), "NoNewPrivs: 1");
    send_and_wait_for_delivery(dir.path(), smtp);
}

/// Kills the server when the test ends, passed or failed.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigusr1_without_a_log_file_is_logged_and_harmless() {
    let server = TestServer::start("");
    let pid = libc::pid_t::try_from(server.pid()).unwrap();
    // SAFETY: kill(2) with a signal number; it touches no memory.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
    support::eventually(
        || server.log(),
        |log| log.contains("SIGUSR1: no [server] log_file to reopen"),
        |log| format!("no SIGUSR1 line in:\n{log}"),
    );
    // Still serving.
    assert!(std::net::TcpStream::connect(server.addr).is_ok());
}
