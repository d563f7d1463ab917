//! FTP over real sockets with real clients: curl (list, upload, download,
//! `--ssl-reqd`, implicit `ftps://`, active mode), python's ftplib (FTP
//! and FTP_TLS with prot_p, PORT), lftp over TLS; attacks refused (`..`
//! escapes, absolute paths, a symlink planted outside, the bounce attack,
//! a data connection from another address); the quota; a multi-homed
//! pair on 127.0.0.x with access lists; homes owned by the server user.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{TestServer, free_port, free_ports, postern, python};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery";
/// curl's form of the login: `@` and spaces escaped.
const CURL_USER: &str = "alice%40example.test:correct%20horse%20battery";

/// A server with four FTP instances on loopback: `plain` (logins in
/// clear, a 100 KiB quota), `auth_tls` (AUTH TLS, logins only after it,
/// passive ports in a range), `ftps` (implicit TLS) and, multi-homed on
/// one port, `lan` on 127.0.0.2 for 127.0.0.1 only and `other` on
/// 127.0.0.3 for 127.0.0.3 only.
struct FtpWorld {
    server: TestServer,
    plain: SocketAddr,
    auth_tls: SocketAddr,
    ftps: SocketAddr,
    lan: SocketAddr,
    other: SocketAddr,
    passive_first: u16,
}

fn address(ip: &str) -> SocketAddr {
    format!("{ip}:{}", free_port()).parse().unwrap()
}

impl FtpWorld {
    fn start() -> FtpWorld {
        let [plain, auth_tls, ftps] = [0; 3].map(|_| address("127.0.0.1"));
        let shared = free_port();
        let lan: SocketAddr = format!("127.0.0.2:{shared}").parse().unwrap();
        let other: SocketAddr = format!("127.0.0.3:{shared}").parse().unwrap();
        let passive_first = free_ports(5);
        let passive_last = passive_first + 4;
        let config = format!(
            r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[auth]
failure_delay = "0s"

[[service]]
name = "plain"
kind = "ftp"
listen = "{plain}"
auth_without_tls = true
ftp_quota = "100 KiB"
max_errors = 50

[[service]]
name = "auth-tls"
kind = "ftp"
listen = "{auth_tls}"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"
passive_ports = "{passive_first}-{passive_last}"

[[service]]
name = "ftps"
kind = "ftp"
listen = "{ftps}"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[service]]
name = "lan"
kind = "ftp"
listen = "{lan}"
auth_without_tls = true
allow = ["127.0.0.1"]

[[service]]
name = "other"
kind = "ftp"
listen = "{other}"
auth_without_tls = true
allow = ["127.0.0.3"]

[[domain]]
name = "example.test"
users = ["alice", "bob"]
"#
        );
        let server = TestServer::start_with_files(&config, plain, make_certificate);
        let world = FtpWorld {
            server,
            plain,
            auth_tls,
            ftps,
            lan,
            other,
            passive_first,
        };
        support::add_user(&world.server.config_path(), USER, PASSWORD);
        world
    }

    fn cafile(&self) -> PathBuf {
        self.server.dir.path().join("cert.pem")
    }

    fn home(&self) -> PathBuf {
        self.server.data().join("ftp").join(USER)
    }

    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.server.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn curl(&self, args: &[&str]) -> Output {
        Command::new("curl")
            .args(["-sS", "--max-time", "20", "--cacert"])
            .arg(self.cafile())
            .args(args)
            .output()
            .expect("curl is needed for the FTP tests")
    }

    fn ftplib(&self, addr: SocketAddr, scenario: &str, extra: &[&str]) -> String {
        let cafile = self.cafile();
        let mut args = vec![scenario, cafile.to_str().unwrap(), USER, PASSWORD];
        args.extend_from_slice(extra);
        let out = python("ftp.py", addr, &args);
        String::from_utf8_lossy(&out.stdout).into_owned()
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

/// The server's log once it holds every one of `lines`: a session's
/// closing line is written after the client has gone, so a test that
/// reads the log as soon as its client exits waits for it.
fn log_with(server: &TestServer, lines: &[&str]) -> String {
    support::eventually(
        || server.log(),
        |log| lines.iter().all(|line| log.contains(line)),
        |log| format!("not all of {lines:?} in:\n{log}"),
    )
}

fn assert_lines(out: &str, expected: &[&str]) {
    for line in expected {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "curl failed: {output:?}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn curl_uploads_lists_and_downloads_in_clear_and_over_tls() {
    let world = FtpWorld::start();
    let report = world.file("report.txt", b"quarterly numbers\r\n");
    let report = report.to_str().unwrap();
    let plain = format!("ftp://{CURL_USER}@{}", world.plain);
    // Upload into a new directory (curl makes it with MKD), list, download.
    stdout(&world.curl(&[
        "--ftp-create-dirs",
        "-T",
        report,
        &format!("{plain}/docs/report.txt"),
    ]));
    let listing = stdout(&world.curl(&[&format!("{plain}/docs/")]));
    assert!(listing.contains(" report.txt"), "{listing}");
    assert!(listing.starts_with("-rw-r--r--"), "{listing}");
    let names = stdout(&world.curl(&["--list-only", &format!("{plain}/")]));
    assert_eq!(names.lines().collect::<Vec<_>>(), ["docs"]);
    let got = stdout(&world.curl(&[&format!("{plain}/docs/report.txt")]));
    assert_eq!(got, "quarterly numbers\r\n");
    assert_eq!(
        std::fs::read(world.home().join("docs/report.txt")).unwrap(),
        b"quarterly numbers\r\n"
    );
    // A download resumed with REST (curl -C -) and an upload resumed with
    // SIZE and APPE (curl -C - -T).
    let partial = world.file("partial.txt", b"quarterly");
    stdout(&world.curl(&[
        "-C",
        "-",
        "-o",
        partial.to_str().unwrap(),
        &format!("{plain}/docs/report.txt"),
    ]));
    assert_eq!(std::fs::read(&partial).unwrap(), b"quarterly numbers\r\n");
    let longer = world.file("longer.txt", b"quarterly numbers\r\nand more\r\n");
    stdout(&world.curl(&[
        "-C",
        "-",
        "-T",
        longer.to_str().unwrap(),
        &format!("{plain}/docs/report.txt"),
    ]));
    assert_eq!(
        std::fs::read(world.home().join("docs/report.txt")).unwrap(),
        b"quarterly numbers\r\nand more\r\n"
    );
    log_with(
        &world.server,
        &[
            "RETR /docs/report.txt: 10 bytes",
            "APPE /docs/report.txt: 10 bytes",
        ],
    );
    // Active mode: curl's PORT names its own address, which is allowed.
    let active = stdout(&world.curl(&["-P", "-", &format!("{plain}/docs/report.txt")]));
    assert_eq!(active, "quarterly numbers\r\nand more\r\n");

    // AUTH TLS with --ssl-reqd: the same files, protected (PROT P).
    let tls = format!("ftp://{CURL_USER}@{}", world.auth_tls);
    let secret = world.file("secret.txt", b"over TLS only\r\n");
    stdout(&world.curl(&[
        "--ssl-reqd",
        "-T",
        secret.to_str().unwrap(),
        &format!("{tls}/secret.txt"),
    ]));
    let got = stdout(&world.curl(&["--ssl-reqd", &format!("{tls}/secret.txt")]));
    assert_eq!(got, "over TLS only\r\n");
    let listing = stdout(&world.curl(&["--ssl-reqd", "--list-only", &format!("{tls}/")]));
    assert_eq!(listing.lines().collect::<Vec<_>>(), ["docs", "secret.txt"]);
    // Implicit FTPS.
    let got = stdout(&world.curl(&[&format!("ftps://{CURL_USER}@{}/secret.txt", world.ftps)]));
    assert_eq!(got, "over TLS only\r\n");
    // Without TLS the AUTH TLS instance refuses the login (530): curl 67.
    let refused = world.curl(&[&format!("{tls}/secret.txt")]);
    assert_eq!(refused.status.code(), Some(67), "{refused:?}");
    log_with(
        &world.server,
        &[
            "STOR /docs/report.txt: 19 bytes",
            "tls=yes login=alice@example.test downloads=1",
        ],
    );
}

#[test]
fn ftplib_in_clear_over_tls_with_prot_p_and_in_active_mode() {
    let world = FtpWorld::start();
    let plain = world.ftplib(world.plain, "plain", &[]);
    let session = [
        "login: 230 Login successful",
        "mkd: /docs",
        "stor: 226 Transfer complete",
        "nlst: ['report.txt']",
        "size: 19",
        "retr: 226 Transfer complete b'quarterly numbers\\r\\n'",
        "mlsd: ['report.txt']",
        "rename: 250 Rename successful",
        "list: ['final.txt']",
        "dele: 250 Delete operation successful",
        "rmd: 250 Remove directory operation successful",
        "quit: 221 Goodbye",
    ];
    assert_lines(&plain, &session);
    let tls = world.ftplib(world.auth_tls, "tls", &[]);
    assert_lines(&tls, &session);
    assert_lines(
        &tls,
        &[
            "auth: 234",
            "retr-before-prot: error: 521 Data connections must be protected",
            "prot_p: 200 Protection level set to P",
        ],
    );
    let refused = world.ftplib(world.auth_tls, "cleartext_refused", &[]);
    assert_lines(
        &refused,
        &["login: error: 530 Log in over TLS: send AUTH TLS first"],
    );
    let active = world.ftplib(world.plain, "active", &[]);
    assert_lines(
        &active,
        &[
            "stor: 226 Transfer complete",
            "retr: 226 Transfer complete b'sent the old way\\r\\n'",
            "list: ['active.txt']",
        ],
    );
    // The passive port of the AUTH TLS instance comes from its range.
    let pasv = tls
        .lines()
        .find_map(|line| line.strip_prefix("pasv: 227 Entering Passive Mode ("))
        .unwrap_or_else(|| panic!("no 227 in:\n{tls}"));
    let numbers: Vec<u16> = pasv
        .trim_end_matches(')')
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    let port = numbers[4] * 256 + numbers[5];
    assert!(
        (world.passive_first..=world.passive_first + 4).contains(&port),
        "{port} is outside the passive range"
    );
}

#[test]
fn lftp_mirrors_over_tls() {
    let world = FtpWorld::start();
    let dir = world.server.dir.path();
    std::fs::create_dir(dir.join("local")).unwrap();
    std::fs::write(dir.join("local/one.txt"), b"first\n").unwrap();
    std::fs::write(dir.join("local/two.bin"), vec![7u8; 200_000]).unwrap();
    let script = "set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; \
         set net:max-retries 1; set net:timeout 20; \
         mirror -R local remote; cls -1 remote; mirror remote back; rm remote/one.txt; cls -1 remote; bye";
    let output = Command::new("lftp")
        .current_dir(dir)
        .args(["-u", &format!("{USER},{PASSWORD}")])
        .args(["-p", &world.auth_tls.port().to_string()])
        .args(["-e", script, "127.0.0.1"])
        .output()
        .expect("lftp is needed for the FTP tests (scripts/test installs it)");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(out.contains("remote/one.txt\nremote/two.bin\n"), "{out}");
    assert!(out.ends_with("remote/two.bin\n"), "{out}");
    assert_eq!(std::fs::read(dir.join("back/one.txt")).unwrap(), b"first\n");
    assert_eq!(
        std::fs::read(dir.join("back/two.bin")).unwrap(),
        vec![7u8; 200_000]
    );
    assert!(!world.home().join("remote/one.txt").exists());
    log_with(&world.server, &["tls=yes login=alice@example.test"]);
}

#[test]
fn escapes_a_planted_symlink_and_the_bounce_attack_are_refused() {
    let world = FtpWorld::start();
    // The first login makes the home; then a link to outside is planted.
    let first = world.ftplib(world.plain, "pasv", &[]);
    assert!(first.contains("login: 230"), "{first}");
    let outside = world.server.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("hostname"), b"not for ftp users\n").unwrap();
    std::os::unix::fs::symlink(&outside, world.home().join("link")).unwrap();
    std::os::unix::fs::symlink(outside.join("hostname"), world.home().join("secret")).unwrap();

    let out = world.ftplib(world.plain, "attacks", &[]);
    assert_lines(
        &out,
        &[
            "retr-dotdot: error: 550 Permission denied: the path leads outside your home",
            "retr-absolute: error: 550 No such file or directory",
            "cwd-link: error: 550 Permission denied",
            "retr-through-link: error: 550 Permission denied",
            "retr-file-link: error: 550 Permission denied",
            "stor-file-link: error: 550 Permission denied",
            "size-file-link: error: 550 Permission denied",
            // Links are not listed: nothing can use them.
            "list: []",
            "bounce: error: 500 Illegal PORT command: data connections go only to your own address",
            "bounce-low-port: error: 500 Illegal PORT command: ports below 1024 are refused",
            "bounce-eprt: error: 500 Illegal PORT command: data connections go only to your own address",
            "pwd: /",
        ],
    );
    assert_eq!(
        std::fs::read(outside.join("hostname")).unwrap(),
        b"not for ftp users\n"
    );
    // curl through the link and with .. gets nothing either.
    let plain = format!("ftp://{CURL_USER}@{}", world.plain);
    let through = world.curl(&[&format!("{plain}/link/hostname")]);
    assert!(!through.status.success(), "{through:?}");
    let up = world.curl(&["--path-as-is", &format!("{plain}/../../outside/hostname")]);
    assert!(!up.status.success(), "{up:?}");
    log_with(
        &world.server,
        &["active data connection to 127.0.0.2:8080 refused"],
    );
}

#[test]
fn a_data_connection_from_another_address_is_refused() {
    let world = FtpWorld::start();
    let out = world.ftplib(world.plain, "thief", &[]);
    assert_lines(
        &out,
        &[
            "thief: b''",
            "150: 150 Opening BINARY mode data connection for private.txt (16 bytes)",
            "owner: b'for alice only\\r\\n'",
            "226: 226 Transfer complete",
        ],
    );
    log_with(
        &world.server,
        &["FTP data connection from 127.0.0.2", "refused"],
    );
}

#[test]
fn an_upload_past_the_quota_gets_552_and_is_not_kept() {
    let world = FtpWorld::start();
    // 20 MB, far more than the sockets buffer: the client is still sending
    // when the quota is passed, and must read the 552, not a reset.
    let out = world.ftplib(world.plain, "quota", &["20000000"]);
    assert_lines(
        &out,
        &[
            "stor-big: error: 552 Exceeded storage allocation",
            "list: []",
            "stor-small: 226 Transfer complete",
            "list: ['small.bin']",
        ],
    );
    let names: Vec<String> = std::fs::read_dir(world.home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["small.bin"], "no partial upload is left behind");
}

#[test]
fn multi_homed_instances_answer_on_their_own_address_with_their_access_lists() {
    let world = FtpWorld::start();
    // 127.0.0.2 admits 127.0.0.1; PASV names the address the client used.
    let lan = world.ftplib(world.lan, "pasv", &[]);
    assert!(
        lan.contains("pasv: 227 Entering Passive Mode (127,0,0,2,"),
        "{lan}"
    );
    assert!(lan.contains("list: []"), "{lan}");
    // 127.0.0.3 on the same port admits only itself.
    let refused = world.ftplib(world.other, "refused", &["127.0.0.1"]);
    assert!(
        refused.contains("connect: error: 421 mx.example.test Access denied"),
        "{refused}"
    );
    let admitted = world.ftplib(world.other, "refused", &["127.0.0.3"]);
    assert!(admitted.contains("connect: 220"), "{admitted}");
    let curl = world.curl(&[&format!("ftp://{CURL_USER}@{}/", world.lan)]);
    stdout(&curl);
}

/// Homes are made by the server's own user, after it has dropped root.
#[test]
fn homes_belong_to_the_server_user_on_a_privileged_port() {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "run as root (scripts/test does)"
    );
    let ip = "127.0.21.21";
    let ftp: SocketAddr = format!("{ip}:21").parse().unwrap();
    let config = format!(
        r#"[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"
user = "nobody"
group = "nogroup"

[[service]]
name = "ftp"
kind = "ftp"
listen = "{ip}:ftp"
auth_without_tls = true

[[domain]]
name = "example.test"
users = ["alice"]
"#
    );
    let server = TestServer::start_with_files(&config, ftp, |dir| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    support::add_user(&server.config_path(), USER, PASSWORD);
    let file = server.dir.path().join("up.txt");
    std::fs::write(&file, b"mine\n").unwrap();
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-T"])
        .arg(&file)
        .arg(format!("ftp://{CURL_USER}@{ftp}/up.txt"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    const NOBODY: u32 = 65534;
    let home = server.data().join("ftp").join(USER);
    for path in [server.data().join("ftp"), home.clone(), home.join("up.txt")] {
        assert_eq!(std::fs::metadata(&path).unwrap().uid(), NOBODY, "{path:?}");
    }
}

#[test]
fn check_config_shows_the_ftp_rows_and_refuses_keys_that_do_not_apply() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[server]\ndata_dir = \"data\"\n[[service]]\nname = \"files\"\nkind = \"ftp\"\nlisten = \"127.0.0.1:ftp\"\nauth_without_tls = true\npassive_ports = \"50000-50100\"\nallow = [\"127.0.0.0/8\"]\n[[domain]]\nname = \"example.test\"\n",
    )
    .unwrap();
    let output = postern().arg("check-config").arg(&good).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let row = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("files "))
        .unwrap_or_else(|| panic!("no ftp row in:\n{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "files",
            "ftp",
            "127.0.0.1:21",
            "none",
            "login",
            "(also",
            "in",
            "clear)",
            "-",
            "-",
            "20",
            "(5/host)",
            "only",
            "127.0.0.0/8"
        ],
        "{row}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[service]]\nname = \"files\"\nkind = \"ftp\"\nlisten = \"127.0.0.1:ftp\"\nrelay = \"none\"\npassive_ports = \"80-90\"\n[[domain]]\nname = \"example.test\"\n",
    )
    .unwrap();
    let output = postern().arg("check-config").arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_lines(
        &stderr,
        &[
            "bad.toml:5:9: `relay`: does not apply to an FTP instance: an FTP instance takes no mail",
            "bad.toml:6:17: `passive_ports`: \"80-90\" is not a range of ports from 1024 to 65535",
            "bad.toml:3:8: `kind`: an FTP instance takes logins only over TLS",
            "3 errors in",
        ],
    );
}

#[test]
fn sighup_changes_the_quota_for_new_sessions() {
    let ftp = address("127.0.0.1");
    let config = format!(
        "[server]\nhostname = \"mx.example.test\"\ndata_dir = \"data\"\nshutdown_grace = \"1s\"\n\n[[service]]\nname = \"files\"\nkind = \"ftp\"\nlisten = \"{ftp}\"\nauth_without_tls = true\nftp_quota = \"100 KiB\"\n\n[[domain]]\nname = \"example.test\"\nusers = [\"alice\"]\n"
    );
    let server = TestServer::start_with(&config, ftp);
    support::add_user(&server.config_path(), USER, PASSWORD);
    let upload = |name: &str| {
        let file = server.dir.path().join("upload.bin");
        std::fs::write(&file, vec![b'q'; 30_000]).unwrap();
        Command::new("curl")
            .args(["-sS", "--max-time", "20", "-T"])
            .arg(&file)
            .arg(format!("ftp://{CURL_USER}@{ftp}/{name}"))
            .output()
            .unwrap()
    };
    assert!(upload("one.bin").status.success());
    let path = server.config_path();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("ftp_quota = \"100 KiB\"", "ftp_quota = \"40 KiB\"");
    std::fs::write(&path, text).unwrap();
    // SAFETY: kill(2) on our own child process.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGHUP) }, 0);
    support::eventually(
        || server.log(),
        |log| log.contains("new sessions use it"),
        |log| format!("no reload in:\n{log}"),
    );
    // 30,000 bytes are stored; 40 KiB leaves room for 10,960 more.
    // curl's exit code 70 is CURLE_REMOTE_DISK_FULL, its name for 552.
    let refused = upload("two.bin");
    assert_eq!(refused.status.code(), Some(70), "{refused:?}");
    let home = server.data().join("ftp").join(USER);
    assert!(home.join("one.bin").exists() && !home.join("two.bin").exists());
}

/// One lockout for every protocol: wrong FTP passwords lock the host
/// out, and then even the right one is refused, over FTP and POP3.
#[test]
fn failed_ftp_logins_lock_the_host_out_of_every_protocol() {
    let ftp = address("127.0.0.1");
    let pop3 = address("127.0.0.1");
    let config = format!(
        "[server]\nhostname = \"mx.example.test\"\ndata_dir = \"data\"\nshutdown_grace = \"1s\"\n\n[auth]\nfailure_delay = \"0s\"\nlockout_failures = 2\n\n[[service]]\nname = \"files\"\nkind = \"ftp\"\nlisten = \"{ftp}\"\nauth_without_tls = true\n\n[[service]]\nname = \"pop3\"\nkind = \"pop3\"\nlisten = \"{pop3}\"\nauth_without_tls = true\n\n[[domain]]\nname = \"example.test\"\nusers = [\"alice\"]\n"
    );
    let server = TestServer::start_with(&config, ftp);
    support::add_user(&server.config_path(), USER, PASSWORD);
    let login = |password: &str| {
        let out = python(
            "ftp.py",
            ftp,
            &["cleartext_refused", "/dev/null", USER, password],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(login(PASSWORD).contains("login: 230"));
    for wrong in ["wrong one", "wrong two"] {
        assert!(login(wrong).contains("login: error: 530 Login incorrect"));
    }
    let locked = login(PASSWORD);
    assert!(
        locked.contains("login: error: 530 Too many failed logins from your address"),
        "{locked}"
    );
    // POP3 from the same host, raw: the right password, refused too.
    use std::io::{BufRead, BufReader};
    let stream = std::net::TcpStream::connect(pop3).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    (&stream)
        .write_all(format!("USER {USER}\r\nPASS {PASSWORD}\r\n").as_bytes())
        .unwrap();
    let mut replies = String::new();
    for _ in 0..2 {
        reader.read_line(&mut replies).unwrap();
    }
    assert!(
        replies.contains("-ERR [SYS/TEMP] Too many failed logins"),
        "{replies}"
    );
}
