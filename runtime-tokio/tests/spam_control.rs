//! Spam control over real sockets: DNS blocklists served by dnsmasq and
//! greylisting, with Python's smtplib as the client, bound to chosen
//! loopback addresses (Linux routes all of 127.0.0.0/8 to loopback).

mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::outbound::Dns;
use support::{TestServer, address, free_port, python};

fn send(server: &TestServer, source: &str, sender: &str, recipient: &str) -> String {
    let output = python("spam.py", server.addr, &[source, sender, recipient]);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// dnsmasq lists 127.0.0.2 in the IP zone and spam.test in the domain
/// zone; everything else in `test` is NXDOMAIN, not listed.
fn blocklists() -> Dns {
    Dns::start(&[
        "--host-record=2.0.0.127.zen.example.test,127.0.0.2",
        "--host-record=spam.test.dbl.example.test,127.0.0.2",
    ])
}

fn blocklisting_server(dns: &Dns, relay: &str) -> TestServer {
    TestServer::start_service(
        address(),
        &format!(
            "{relay}\n[[service.dnsbl]]\nzone = \"zen.example.test\"\n\
             [[service.dnsbl]]\nzone = \"dbl.example.test\"\nkind = \"domain\"\n\
             [outbound]\nnameservers = [\"127.0.0.1:{}\"]\n",
            dns.port
        ),
    )
}

#[test]
fn a_listed_client_gets_554_at_connect_and_an_unlisted_one_is_served() {
    let dns = blocklists();
    let server = blocklisting_server(&dns, "");
    let listed = send(&server, "127.0.0.2", "a@remote.test", "alice@example.test");
    assert_eq!(
        listed.trim(),
        "refused 554 5.7.1 Service unavailable; client [127.0.0.2] listed at zen.example.test",
        "log:\n{}",
        server.log()
    );
    let served = send(&server, "127.0.0.3", "a@remote.test", "alice@example.test");
    assert!(
        served.contains("rcpt 250"),
        "{served}\nlog:\n{}",
        server.log()
    );
    assert!(served.contains("data 250"), "{served}");
    assert_eq!(server.wait_for_delivery("alice", 1).len(), 1);
    assert!(
        server
            .log()
            .contains("client [127.0.0.2] listed at zen.example.test (score 1): refused"),
        "{}",
        server.log()
    );
}

#[test]
fn a_listed_sender_domain_is_refused_at_mail() {
    let dns = blocklists();
    let server = blocklisting_server(&dns, "");
    let refused = send(
        &server,
        "127.0.0.3",
        "seller@spam.test",
        "alice@example.test",
    );
    assert_eq!(
        refused.trim(),
        "mail 554 5.7.1 Service unavailable; sender domain spam.test listed at dbl.example.test",
        "log:\n{}",
        server.log()
    );
}

#[test]
fn own_networks_are_never_looked_up() {
    let dns = blocklists();
    let server = blocklisting_server(&dns, "relay = [\"127.0.0.2/32\"]");
    let served = send(
        &server,
        "127.0.0.2",
        "seller@spam.test",
        "alice@example.test",
    );
    assert!(
        served.contains("data 250"),
        "{served}\nlog:\n{}",
        server.log()
    );
}

#[test]
fn a_blocklist_that_does_not_answer_blocks_nobody() {
    // Nothing listens at this port: every lookup fails.
    let dead = free_port();
    let server = TestServer::start_service(
        address(),
        &format!(
            "[[service.dnsbl]]\nzone = \"zen.example.test\"\n\
             [outbound]\nnameservers = [\"127.0.0.1:{dead}\"]\n"
        ),
    );
    let served = send(&server, "127.0.0.2", "a@remote.test", "alice@example.test");
    assert!(
        served.contains("data 250"),
        "{served}\nlog:\n{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains("blocklist zen.example.test lookup failed"),
        "{}",
        server.log()
    );
}

#[test]
fn greylisting_defers_then_accepts_and_remembers_across_a_restart() {
    let mut server =
        TestServer::start_service(address(), "greylist = true\ngreylist_delay = \"1s\"\n");
    let first = send(
        &server,
        "127.0.0.2",
        "friend@remote.test",
        "alice@example.test",
    );
    assert!(
        first.contains("rcpt 451 4.7.1 Greylisted, try again in 1 seconds"),
        "{first}\nlog:\n{}",
        server.log()
    );
    std::thread::sleep(Duration::from_millis(1100));
    // The same /24, another address: the same triplet.
    let retry = send(
        &server,
        "127.0.0.3",
        "friend@remote.test",
        "alice@example.test",
    );
    assert!(
        retry.contains("data 250"),
        "{retry}\nlog:\n{}",
        server.log()
    );
    assert!(server.stop().success());
    let file = std::fs::read_to_string(server.data().join("greylist")).unwrap();
    assert!(
        file.contains("passed\t127.0.0.0/24\tfriend@remote.test\talice@example.test"),
        "{file}"
    );
    server.launch();
    let after = send(
        &server,
        "127.0.0.4",
        "friend@remote.test",
        "alice@example.test",
    );
    assert!(
        after.contains("data 250"),
        "{after}\nlog:\n{}",
        server.log()
    );
    // `postern explain` reads the stored greylist.
    let addr = server.addr.to_string();
    let explained = server.command(&[
        "explain",
        "--local",
        &addr,
        "--remote",
        "127.0.0.9",
        "--from",
        "friend@remote.test",
        "--to",
        "alice@example.test",
    ]);
    let explained = String::from_utf8_lossy(&explained.stdout);
    assert!(
        explained.contains(
            "greylist   (127.0.0.0/24, friend@remote.test, alice@example.test): passes (remembered)"
        ),
        "{explained}"
    );
    // Another sender is a new triplet.
    let other = send(
        &server,
        "127.0.0.4",
        "stranger@remote.test",
        "alice@example.test",
    );
    assert!(other.contains("rcpt 451 4.7.1"), "{other}");
}

#[test]
fn a_damaged_greylist_is_moved_aside_and_the_server_starts_fresh() {
    let mut server = TestServer::prepare("");
    let config = std::fs::read_to_string(server.config_path())
        .unwrap()
        .replace("max_message_size = 100000", "greylist = true");
    std::fs::write(server.config_path(), config).unwrap();
    std::fs::create_dir_all(server.data()).unwrap();
    std::fs::write(server.data().join("greylist"), "garbage\n").unwrap();
    server.launch();
    let first = send(
        &server,
        "127.0.0.2",
        "friend@remote.test",
        "alice@example.test",
    );
    assert!(
        first.contains("rcpt 451 4.7.1"),
        "{first}\nlog:\n{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains("is damaged (line 1 is not \"postern-greylist 1\"); moved aside to"),
        "{}",
        server.log()
    );
    let aside = std::fs::read_dir(server.data())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("greylist.damaged-")
        })
        .count();
    assert_eq!(aside, 1);
}

#[test]
fn explain_names_the_queries_and_with_dns_gives_the_verdict() {
    let dns = blocklists();
    let server = blocklisting_server(&dns, "");
    let addr = server.addr.to_string();
    let args = [
        "explain",
        "--local",
        &addr,
        "--remote",
        "127.0.0.2",
        "--from",
        "a@spam.test",
        "--to",
        "alice@example.test",
    ];
    let named = server.command(&args);
    let named = String::from_utf8_lossy(&named.stdout);
    assert!(
        named.contains("client 127.0.0.2: would query 2.0.0.127.zen.example.test (A records"),
        "{named}"
    );
    let mut with_dns = args.to_vec();
    with_dns.push("--dns");
    let looked_up = server.command(&with_dns);
    let looked_up = String::from_utf8_lossy(&looked_up.stdout);
    assert!(
        looked_up.contains("blocklists 2.0.0.127.zen.example.test: answered 127.0.0.2"),
        "{looked_up}"
    );
    assert!(
        looked_up.contains(
            "client 127.0.0.2: refused, score 1 of 1: 554 5.7.1 Service unavailable; client [127.0.0.2] listed at zen.example.test"
        ),
        "{looked_up}"
    );
    // A clean client, a listed sender domain.
    let mut clean = with_dns.clone();
    clean[4] = "127.0.0.3";
    let clean = server.command(&clean);
    let clean = String::from_utf8_lossy(&clean.stdout);
    assert!(
        clean.contains("3.0.0.127.zen.example.test: not listed"),
        "{clean}"
    );
    assert!(
        clean.contains("sender domain spam.test listed at dbl.example.test"),
        "{clean}"
    );
}

#[test]
fn check_config_names_a_bad_spam_control_value_at_its_line_with_the_fix() {
    let server = TestServer::prepare(
        "[[service.dnsbl]]\nzone = \"zen.example.test\"\ncodes = [\"10.0.0.2\"]\n",
    );
    // After the [[domain]], the table still belongs to the last
    // [[service]] (TOML nests it in the latest element of `service`).
    let output = support::postern()
        .arg("check-config")
        .arg(server.config_path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("`codes`: \"10.0.0.2\" is not a blocklist answer"),
        "{stderr}"
    );
    assert!(stderr.contains("postern.toml:"), "{stderr}");
    assert!(
        stderr.contains("help: answers are addresses in 127.0.0.0/8 (RFC 5782 2.1)"),
        "{stderr}"
    );
}

#[test]
fn an_ipv6_client_is_looked_up_by_its_reversed_nibbles() {
    // ::1, nibble by nibble backwards (RFC 5782 2.4).
    let name = format!("1.{}zen.example.test", "0.".repeat(31));
    let dns = Dns::start(&[format!("--host-record={name},127.0.0.2")]);
    let addr: SocketAddr = format!("[::1]:{}", free_port()).parse().unwrap();
    let server = TestServer::start_service(
        addr,
        &format!(
            "[[service.dnsbl]]\nzone = \"zen.example.test\"\n\
             [outbound]\nnameservers = [\"127.0.0.1:{}\"]\n",
            dns.port
        ),
    );
    let listed = send(&server, "::1", "a@remote.test", "alice@example.test");
    assert_eq!(
        listed.trim(),
        "refused 554 5.7.1 Service unavailable; client [::1] listed at zen.example.test",
        "log:\n{}",
        server.log()
    );
}
