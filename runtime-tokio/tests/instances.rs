//! Service instances over real sockets: multi-homing on loopback
//! addresses, per-instance policy, access lists, connection quotas, the
//! bind plan, and `postern explain`.

mod support;

use std::net::SocketAddr;
use std::process::Output;
use support::{TestServer, free_port, postern, python};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The Mailtraq document's example, on loopback: three SMTP instances on
/// one port, bound to 127.0.0.1, .2 and .3. The first two relay and have
/// no size limit; the third refuses relaying and takes small messages.
fn mailtraq_config(port: u16) -> String {
    format!(
        r#"
[server]
hostname = "mx.example.test"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "local"
kind = "smtp"
listen = "127.0.0.1:{port}"
relay = "any"
max_message_size = "unlimited"

[[service]]
name = "lan"
kind = "smtp"
listen = "127.0.0.2:{port}"
relay = "any"
max_message_size = "unlimited"

[[service]]
name = "internet"
kind = "smtp"
listen = "127.0.0.3:{port}"
relay = "none"
max_message_size = "10 KiB"
max_connections = 3
max_connections_per_host = 2
deny = ["127.0.0.66"]

[[domain]]
name = "example.test"
users = ["alice"]
"#
    )
}

fn at(address: &str, port: u16) -> SocketAddr {
    SocketAddr::new(address.parse().unwrap(), port)
}

#[test]
fn the_mailtraq_example_gives_each_address_its_instance() {
    let port = free_port();
    let server = TestServer::start_with(&mailtraq_config(port), at("127.0.0.3", port));
    let probe = |address: &str| {
        let output = python(
            "probe.py",
            at(address, port),
            &["carol@elsewhere.test", "alice@example.test", "50000"],
        );
        stdout(&output)
    };
    for address in ["127.0.0.1", "127.0.0.2"] {
        let answer = probe(address);
        assert!(
            answer.starts_with("size=1073741824 relay=250 local=250 big_mail=250\n"),
            "{address}: {answer}"
        );
    }
    let internet = probe("127.0.0.3");
    assert!(
        internet.starts_with("size=10240 relay=554 local=250 big_mail=552\n"),
        "{internet}"
    );
    assert!(
        internet.contains("relay_text=5.7.1 <carol@elsewhere.test>: Relaying denied"),
        "{internet}"
    );
    assert!(internet.contains("big_mail_text=5.3.4 "), "{internet}");
    let log = server.log();
    for (instance, address) in [
        ("local", "127.0.0.1"),
        ("lan", "127.0.0.2"),
        ("internet", "127.0.0.3"),
    ] {
        assert!(
            log.contains(&format!(
                "accepting connections on {address}:{port} instance={instance}"
            )),
            "{log}"
        );
    }
}

#[test]
fn check_config_and_explain_describe_the_mailtraq_example() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    std::fs::write(&file, mailtraq_config(port)).unwrap();

    let check = postern().arg("check-config").arg(&file).output().unwrap();
    assert!(check.status.success(), "{check:?}");
    let table = stdout(&check);
    assert!(
        table.contains("INSTANCE  SERVICE  ADDRESS"),
        "the plan is a table: {table}"
    );
    for row in [
        format!("local     smtp     127.0.0.1:{port}  none  no    any    1.0 GiB"),
        format!("internet  smtp     127.0.0.3:{port}  none  no    none   10.0 KiB  3 (2/host)"),
    ] {
        assert!(table.contains(&row), "{row} in\n{table}");
    }

    let explain = |local: &str, remote: &str| {
        let output = postern()
            .args(["explain", "--config"])
            .arg(&file)
            .args(["--local", &format!("{local}:{port}"), "--remote", remote])
            .args([
                "--from",
                "bob@elsewhere.test",
                "--to",
                "carol@elsewhere.test",
            ])
            .args(["--to", "alice@example.test", "--size", "50000"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        stdout(&output)
    };
    let lan = explain("127.0.0.2", "127.0.0.9");
    assert!(lan.contains("instance   \"lan\""), "{lan}");
    assert!(
        lan.contains("<carol@elsewhere.test>: accepted for relaying"),
        "{lan}"
    );
    let internet = explain("127.0.0.3", "127.0.0.9");
    assert!(internet.contains("instance   \"internet\""), "{internet}");
    assert!(
        internet.contains("50000 octets: refused: 552 5.3.4"),
        "{internet}"
    );
    assert!(
        internet.contains("<carol@elsewhere.test>: refused: 554 5.7.1 Relaying denied"),
        "{internet}"
    );
    assert!(
        internet.contains("<alice@example.test>: accepted: local mailbox alice@example.test"),
        "{internet}"
    );
    let denied = explain("127.0.0.3", "127.0.0.66");
    assert!(denied.contains("access     refused: 554 5.7.1"), "{denied}");
}

#[test]
fn the_per_host_quota_refuses_extras_while_other_hosts_get_in() {
    let port = free_port();
    let _server = TestServer::start_with(&mailtraq_config(port), at("127.0.0.3", port));
    // "internet" takes 2 connections per host and 3 in all.
    let output = python(
        "connections.py",
        at("127.0.0.3", port),
        &[
            "127.0.0.1,127.0.0.1,127.0.0.1,127.0.0.2,127.0.0.4",
            "--release-and-retry",
            "127.0.0.1",
        ],
    );
    let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    let expected = [
        "127.0.0.1 220 mx.example.test ESMTP Postern",
        "127.0.0.1 220 mx.example.test ESMTP Postern",
        "127.0.0.1 421 4.7.0 mx.example.test Too many connections from your host, try again later",
        "127.0.0.2 220 mx.example.test ESMTP Postern",
        "127.0.0.4 421 4.7.0 mx.example.test Too many connections, try again later",
        "retry 127.0.0.1 220 mx.example.test ESMTP Postern",
    ];
    assert_eq!(lines, expected);
}

#[test]
fn a_denied_client_gets_554_and_the_others_are_served() {
    let port = free_port();
    let server = TestServer::start_with(&mailtraq_config(port), at("127.0.0.3", port));
    let output = python(
        "connections.py",
        at("127.0.0.3", port),
        &["127.0.0.66,127.0.0.1"],
    );
    assert_eq!(
        stdout(&output),
        "127.0.0.66 554 5.7.1 mx.example.test Access denied: no SMTP service for your address here\n\
         127.0.0.1 220 mx.example.test ESMTP Postern\n"
    );
    assert!(
        server
            .log()
            .contains("refused: access denied by the instance's access list"),
        "{}",
        server.log()
    );
}

#[test]
fn a_port_without_an_address_takes_every_interface_and_both_families() {
    let (primary, secondary) = (free_port(), free_port());
    let config = format!(
        r#"
[server]
data_dir = "data"

[[service]]
name = "mx"
kind = "smtp"
listen = "{primary}"
secondary_listen = "127.0.0.1:{secondary}"

[[service]]
name = "same"
kind = "smtp"
listen = "{secondary_plus}"
secondary_listen = {secondary_plus}

[[domain]]
name = "localhost"
"#,
        secondary_plus = free_port(),
    );
    let server = TestServer::start_with(&config, at("127.0.0.1", secondary));
    // The primary is on every interface: any loopback address, and ::1.
    let output = python("connections.py", at("127.0.0.7", primary), &["127.0.0.1"]);
    assert!(stdout(&output).starts_with("127.0.0.1 220 "), "{output:?}");
    let output = python("connections.py", at("::1", primary), &["::1"]);
    assert!(stdout(&output).starts_with("::1 220 "), "{output:?}");
    // ISMail: the secondary serves too.
    let output = python("connections.py", at("127.0.0.1", secondary), &["127.0.0.1"]);
    assert!(stdout(&output).starts_with("127.0.0.1 220 "), "{output:?}");
    let log = server.log();
    // IPv4 clients of the dual-stack socket are logged as IPv4.
    assert!(log.contains(&format!("to 127.0.0.7:{primary}")), "{log}");
    assert!(!log.contains("::ffff:"), "{log}");
    assert!(
        log.contains(&format!("accepting connections on *:{primary} instance=mx")),
        "{log}"
    );
    // The same port twice without addresses is the primary only.
    assert_eq!(log.matches("instance=same").count(), 1, "{log}");
}

#[test]
fn every_bind_conflict_is_reported_with_its_line_and_nothing_starts() {
    let (a, b) = (free_port(), free_port());
    let config = format!(
        r#"[server]
data_dir = "data"

[[service]]
name = "everywhere"
kind = "smtp"
listen = {a}

[[service]]
name = "local"
kind = "smtp"
listen = "127.0.0.1:{a}"

[[service]]
name = "twin-1"
kind = "smtp"
listen = "127.0.0.2:{b}"

[[service]]
name = "twin-2"
kind = "smtp"
listen = "127.0.0.2:{b}"

[[service]]
name = "absent"
kind = "smtp"
listen = "192.0.2.1:{b}"

[[domain]]
name = "example.test"
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    std::fs::write(&file, config).unwrap();
    let check = postern().arg("check-config").arg(&file).output().unwrap();
    assert!(!check.status.success());
    let stderr = String::from_utf8_lossy(&check.stderr);
    let name = file.display();
    for expected in [
        format!(
            "{name}:12: instance \"local\" listens on 127.0.0.1:{a} but instance \"everywhere\" holds port {a} on every interface"
        ),
        format!("{name}:22: instances \"twin-1\" and \"twin-2\" both listen on 127.0.0.2:{b}"),
        format!(
            "{name}:27: instance \"absent\" listens on 192.0.2.1:{b}, but 192.0.2.1 is not an address of this host"
        ),
        "3 listen conflicts in".to_owned(),
    ] {
        assert!(stderr.contains(&expected), "{expected}\nin:\n{stderr}");
    }
    let run = support::run_expecting_failure(&file);
    assert!(run.contains("3 listen conflicts"), "{run}");
    assert!(std::net::TcpStream::connect(("127.0.0.2", b)).is_err());
}

/// POP3 beside SMTP, multi-homed on loopback: clear logins on 127.0.0.1,
/// STLS and POP3S (implicit TLS) on 127.0.0.2 with a self-signed
/// certificate, and an SMTP instance on every interface of its own port.
fn pop3_config(smtp: u16, pop3: u16, pop3s: u16) -> String {
    format!(
        r#"
[server]
data_dir = "data"

[[service]]
name = "mx"
kind = "smtp"
listen = "{smtp}"

[[service]]
name = "pop-local"
kind = "pop3"
listen = "127.0.0.1:{pop3}"
auth_without_tls = true

[[service]]
name = "pop-lan"
kind = "pop3"
listen = "127.0.0.2:{pop3}"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"
deny = ["127.0.0.66"]
command_timeout = "15m"

[[service]]
name = "pops"
kind = "pop3"
listen = "127.0.0.2:{pop3s}"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"
max_connections = 8
max_connections_per_host = 2

[[domain]]
name = "example.test"
"#
    )
}

#[test]
fn check_config_and_explain_describe_pop3_and_pop3s_instances() {
    let (smtp, pop3, pop3s) = (free_port(), free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let certificate = postern()
        .current_dir(dir.path())
        .args(["cert", "self-signed", "--host", "127.0.0.2"])
        .output()
        .unwrap();
    assert!(certificate.status.success(), "{certificate:?}");
    let file = dir.path().join("postern.toml");
    std::fs::write(&file, pop3_config(smtp, pop3, pop3s)).unwrap();

    let check = postern().arg("check-config").arg(&file).output().unwrap();
    assert!(check.status.success(), "{check:?}");
    let table = stdout(&check);
    let rows: Vec<&str> = table.lines().map(str::trim_end).collect();
    // Columns are padded to the widest cell; compare cells, not spaces.
    let cells = |instance: &str| -> Vec<String> {
        let row = rows
            .iter()
            .find(|r| r.trim_start().starts_with(&format!("{instance} ")))
            .unwrap_or_else(|| panic!("no row for {instance} in\n{table}"));
        row.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let expected = |row: &[&str]| row.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    let mx = cells("mx");
    assert_eq!(mx[1], "smtp", "{table}");
    assert_eq!(
        cells("pop-local"),
        expected(&[
            "pop-local",
            "pop3",
            &format!("127.0.0.1:{pop3}"),
            "none",
            "login (also in clear)",
            "-",
            "-",
            "20 (5/host)",
            "everyone",
        ]),
        "{table}"
    );
    assert_eq!(
        cells("pop-lan"),
        expected(&[
            "pop-lan",
            "pop3",
            &format!("127.0.0.2:{pop3}"),
            "starttls",
            "login over TLS",
            "-",
            "-",
            "20 (5/host)",
            "all but 127.0.0.66",
        ]),
        "{table}"
    );
    assert_eq!(
        cells("pops"),
        expected(&[
            "pops",
            "pop3",
            &format!("127.0.0.2:{pop3s}"),
            "implicit",
            "login over TLS",
            "-",
            "-",
            "8 (2/host)",
            "everyone",
        ]),
        "{table}"
    );

    let explain = |local: String, remote: &str| {
        let output = postern()
            .args(["explain", "--config"])
            .arg(&file)
            .args(["--local", &local, "--remote", remote])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        stdout(&output)
    };
    let local = explain(format!("127.0.0.1:{pop3}"), "127.0.0.1");
    assert!(local.contains("instance   \"pop-local\" (pop3"), "{local}");
    assert!(
        local.contains("login      USER/PASS and AUTH PLAIN/LOGIN in clear"),
        "{local}"
    );
    let lan = explain(format!("127.0.0.2:{pop3}"), "127.0.0.9");
    assert!(lan.contains("instance   \"pop-lan\" (pop3"), "{lan}");
    assert!(lan.contains("only after STLS"), "{lan}");
    assert!(lan.contains("closed after 15m without a command"), "{lan}");
    let pops = explain(format!("127.0.0.2:{pop3s}"), "127.0.0.9");
    assert!(pops.contains("tls        implicit (pop3s)"), "{pops}");
    assert!(
        pops.contains("fewer than 2 from 127.0.0.9; beyond that -ERR [SYS/TEMP]"),
        "{pops}"
    );
    let denied = explain(format!("127.0.0.2:{pop3}"), "127.0.0.66");
    assert!(
        denied.contains("access     refused: -ERR [SYS/PERM]"),
        "{denied}"
    );
    // The SMTP instance on every interface answers for the other port.
    let mx = explain(format!("127.0.0.2:{smtp}"), "127.0.0.9");
    assert!(mx.contains("instance   \"mx\" (smtp"), "{mx}");
}

#[test]
fn a_pop3_instance_on_an_smtp_port_is_a_listen_conflict_and_smtp_keys_are_refused() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    std::fs::write(
        &file,
        format!(
            "[server]\ndata_dir = \"data\"\n\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"{port}\"\n\n\
[[service]]\nname = \"pop\"\nkind = \"pop3\"\nlisten = \"127.0.0.1:{port}\"\nauth_without_tls = true\n\n[[domain]]\nname = \"example.test\"\n"
        ),
    )
    .unwrap();
    let check = postern().arg("check-config").arg(&file).output().unwrap();
    assert!(!check.status.success());
    let stderr = String::from_utf8_lossy(&check.stderr);
    let name = file.display();
    let expected = format!(
        "{name}:12: instance \"pop\" listens on 127.0.0.1:{port} but instance \"mx\" holds port {port} on every interface"
    );
    assert!(stderr.contains(&expected), "{expected}\nin:\n{stderr}");
    assert!(support::run_expecting_failure(&file).contains("1 listen conflict"));

    let keys = file.with_file_name("keys.toml");
    std::fs::write(
        &keys,
        "[[service]]\nname = \"pop\"\nkind = \"pop3\"\nlisten = \"127.0.0.1:1110\"\nauth_without_tls = true\nmax_message_size = \"10 MiB\"\ncommand_timeout = \"5m\"\n\n[[domain]]\nname = \"example.test\"\n",
    )
    .unwrap();
    let check = postern().arg("check-config").arg(&keys).output().unwrap();
    assert!(!check.status.success());
    let stderr = String::from_utf8_lossy(&check.stderr);
    for expected in [
        "keys.toml:6:20: `max_message_size`: does not apply to a POP3 instance",
        "help: remove `max_message_size` from the [[service]] \"pop\" (kind = \"pop3\")",
        "keys.toml:7:19: `command_timeout`: 5m is under 10 minutes: RFC 1939 section 3",
        "2 errors in",
    ] {
        assert!(stderr.contains(expected), "{expected}\nin:\n{stderr}");
    }
}
