//! RFC 1939's exclusive access to a maildrop across nodes: while a POP3
//! session (python's poplib) holds alice's maildrop on node A, a login on
//! node B is refused with `-ERR [IN-USE]`; a QUIT frees it at once; and
//! the lock of a node killed with a session open expires (the database's
//! clock, the node's lease of 5 s), after which node B opens the maildrop.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use support::nodes::NodeConfig;
use support::postgres::{self, Database};
use support::{TestServer, add_user, python};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery";
const LEASE: Duration = Duration::from_secs(5);

struct Node {
    server: TestServer,
    pop3: SocketAddr,
}

fn start_node(db: &Database, node_id: u16, host: u8) -> Node {
    let mut config = NodeConfig::new(db, node_id)
        .host(host)
        .lease(&format!("{}s", LEASE.as_secs()))
        .with("[auth]\nfailure_delay = \"0s\"\n");
    let pop3 = config.service("pop3", "auth_without_tls = true");
    Node {
        server: config.start(),
        pop3,
    }
}

/// A POP3 session held open by `pop3_hold.py`.
struct Held {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Held {
    fn start(node: &Node) -> (Held, String) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/pop3_hold.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(node.pop3.ip().to_string())
            .arg(node.pop3.port().to_string())
            .args([USER, PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        (
            Held {
                child,
                stdin,
                stdout,
            },
            first.trim().to_owned(),
        )
    }

    fn quit(mut self) -> String {
        writeln!(self.stdin).unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        self.child.wait().unwrap();
        line.trim().to_owned()
    }
}

fn login(node: &Node) -> String {
    let output = python("login.py", node.pop3, &["pop3", USER, PASSWORD]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn a_maildrop_held_on_one_node_is_in_use_on_another_until_quit_or_the_holder_dies() {
    let db = postgres::database();
    postgres::migrate_blocking(&db);
    let mut a = start_node(&db, 1, 2);
    let b = start_node(&db, 2, 3);
    add_user(&a.server.config_path(), USER, PASSWORD);
    let logs = |a: &Node, b: &Node| format!("{}\n----\n{}", a.server.log(), b.server.log());

    // Held on A: B refuses, with RFC 2449's IN-USE code.
    let (held, first) = Held::start(&a);
    assert_eq!(first, "held 0", "{}", logs(&a, &b));
    let refused = login(&b);
    assert!(
        refused.starts_with("refused: -ERR [IN-USE]"),
        "{refused}\n{}",
        logs(&a, &b)
    );
    // Held past its lease: the session renews its lock.
    std::thread::sleep(LEASE + Duration::from_secs(2));
    assert!(
        login(&b).starts_with("refused: -ERR [IN-USE]"),
        "{}",
        logs(&a, &b)
    );
    // QUIT frees it at once.
    assert_eq!(held.quit(), "quit");
    support::eventually(
        || login(&b),
        |answer| answer == "ok",
        |answer| format!("B still refuses after A's QUIT: {answer}\n{}", logs(&a, &b)),
    );

    // Held on A again, and A killed: B opens it once the lease has run out.
    let (held, first) = Held::start(&a);
    assert_eq!(first, "held 0", "{}", logs(&a, &b));
    assert!(
        login(&b).starts_with("refused: -ERR [IN-USE]"),
        "{}",
        logs(&a, &b)
    );
    a.server.kill9();
    let killed = Instant::now();
    drop(held);
    support::eventually(
        || login(&b),
        |answer| answer == "ok",
        |answer| format!("B still refuses after A died: {answer}\n{}", logs(&a, &b)),
    );
    let waited = killed.elapsed();
    println!("node B opened the maildrop {waited:?} after node A was killed (lease {LEASE:?})");
    assert!(waited <= LEASE + Duration::from_secs(3), "{waited:?}");
}
