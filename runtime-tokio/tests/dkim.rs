//! DKIM signing over real sockets: keys made by `postern dkim keygen`, a
//! message relayed through the aiosmtpd sink (tests/clients/sink.py), and
//! its signatures checked by dkimpy (tests/clients/dkim_check.py), a
//! verifier nobody here wrote, with the TXT records keygen printed.

mod support;

use std::path::Path;
use support::outbound::Remote;
use support::{TestServer, free_port};

/// Loopback addresses of this file's own, 127.0.N.2 (outbound.rs uses 10
/// and up, outbound_reuse.rs 200 and up).
fn net() -> u8 {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(180);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A key for origin.test in `dir`; its record as `NAME=RECORD`, the form
/// dkim_check.py takes.
fn keygen(dir: &Path, selector: &str, algorithm: &str) -> String {
    let (name, record) = support::dkim::keygen(dir, "origin.test", selector, algorithm);
    format!("{name}={record}")
}

/// Our server for origin.test relaying through a sink, with an RSA and an
/// Ed25519 key; `relay` is the instance's relay setting. Returns the sink,
/// the server and the two records to publish.
fn signing_server(relay: &str) -> (Remote, TestServer, Vec<String>) {
    signing_server_with(relay, &[], "")
}

/// [`signing_server`] with the sink started with `options` and `extra`
/// added to the configuration.
fn signing_server_with(
    relay: &str,
    options: &[&str],
    extra: &str,
) -> (Remote, TestServer, Vec<String>) {
    let address = format!("127.0.{}.2", net());
    let port = free_port();
    let sink = Remote::sink(&address, port, options);
    let listen = format!("127.0.0.1:{}", free_port());
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
relay = {relay}

[[domain]]
name = "origin.test"
users = ["alice"]

[[dkim]]
domain = "origin.test"
selector = "rsa2026"
key = "rsa2026.key"

[[dkim]]
domain = "origin.test"
selector = "ed2026"
key = "ed2026.key"

[outbound.smarthost]
host = "{address}:{port}"
mode = "exclusive"
tls = "none"
{extra}
"#
    );
    let mut records = Vec::new();
    let server = TestServer::start_with_files(&config, listen.parse().unwrap(), |dir| {
        records.push(keygen(dir, "rsa2026", "rsa"));
        records.push(keygen(dir, "ed2026", "ed25519"));
    });
    (sink, server, records)
}

/// Sends a message from alice@origin.test to bob@dest.test and returns
/// what the sink received.
fn relay_one(sink: &Remote, server: &TestServer) -> String {
    let message = server.dir.path().join("message.eml");
    std::fs::write(
        &message,
        "From: Alice <alice@origin.test>\r\nTo: bob@dest.test\r\nSubject: signed\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <dkim-1@origin.test>\r\n\r\nHello from origin.\r\n",
    )
    .unwrap();
    let output = support::python(
        "send.py",
        server.addr,
        &[
            "alice@origin.test",
            "bob@dest.test",
            message.to_str().unwrap(),
        ],
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.starts_with("OK"),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let messages = sink.wait_for_messages(1, server);
    messages[0]["data"].as_str().unwrap().to_owned()
}

/// dkimpy's verdicts on `data`: the lines of dkim_check.py.
fn dkimpy(server: &TestServer, data: &str, records: &[String]) -> String {
    let file = server.dir.path().join("received.eml");
    std::fs::write(&file, data).unwrap();
    let mut args = vec![file.to_str().unwrap()];
    args.extend(records.iter().map(String::as_str));
    let output = support::python_script("dkim_check.py", &args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn relayed_mail_is_signed_with_each_key_and_dkimpy_verifies_both() {
    let (sink, server, records) = signing_server(r#"["127.0.0.0/8"]"#);
    let data = relay_one(&sink, &server);
    assert!(
        data.starts_with("DKIM-Signature: "),
        "the signatures go first:\n{data}"
    );
    let verdicts = dkimpy(&server, &data, &records);
    assert_eq!(
        verdicts.trim(),
        "pass rsa-sha256 origin.test rsa2026\n\
         pass ed25519-sha256 origin.test ed2026\n\
         tampered:\n\
         fail rsa-sha256 origin.test rsa2026\n\
         fail ed25519-sha256 origin.test ed2026",
        "message:\n{data}"
    );
}

#[test]
fn mail_from_a_client_we_do_not_vouch_for_is_relayed_unsigned() {
    // relay = "any" lets everyone relay, and vouches for no one: a
    // stranger's From: alice@origin.test is not ours to sign.
    let (sink, server, _) = signing_server(r#""any""#);
    let data = relay_one(&sink, &server);
    assert!(!data.contains("DKIM-Signature"), "signed:\n{data}");
    assert!(data.contains("Hello from origin."));
}

#[test]
fn a_bounce_from_our_host_name_is_signed_with_the_parent_domains_key() {
    // carol@far.test sends through us (a relay network vouches for her) to
    // a recipient the sink refuses: the bounce, From: MAILER-DAEMON@
    // mx.origin.test, goes back to far.test through the same sink, signed
    // for origin.test (relaxed DMARC alignment accepts the parent).
    let (sink, server, records) = signing_server_with(
        r#"["127.0.0.0/8"]"#,
        &["--reject-to", "nobody@dest.test"],
        "",
    );
    let message = server.dir.path().join("message.eml");
    std::fs::write(
        &message,
        "From: carol@far.test\r\nTo: nobody@dest.test\r\nSubject: lost\r\n\r\nHello.\r\n",
    )
    .unwrap();
    let output = support::python(
        "send.py",
        server.addr,
        &[
            "carol@far.test",
            "nobody@dest.test",
            message.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("OK"));
    let messages = sink.wait_for_messages(1, &server);
    let bounce = messages[0]["data"].as_str().unwrap().to_owned();
    assert_eq!(messages[0]["to"][0], "carol@far.test", "{bounce}");
    assert!(bounce.contains("MAILER-DAEMON@mx.origin.test"), "{bounce}");
    let verdicts = dkimpy(&server, &bounce, &records);
    let signed: Vec<&str> = verdicts.lines().take_while(|l| *l != "tampered:").collect();
    assert_eq!(
        signed,
        [
            "pass rsa-sha256 origin.test rsa2026",
            "pass ed25519-sha256 origin.test ed2026"
        ],
        "bounce:\n{bounce}"
    );
}

#[test]
fn a_list_post_is_signed_for_the_lists_domain() {
    // carol@far.test, whom we vouch for in nothing (relay = "none"),
    // posts to the open list team@origin.test: the list's copy for
    // bob@dest.test is made here, so it goes out through the sink signed
    // for origin.test (the list's domain: the From: stays carol's, the
    // envelope sender is the list's), and dkimpy verifies it.
    let list = "\n[[list]]\naddress = \"team@origin.test\"\nowners = [\"alice@origin.test\"]\n";
    let (sink, server, records) = signing_server_with(r#""none""#, &[], list);
    let output = support::postern()
        .args(["list", "--config"])
        .arg(server.config_path())
        .args(["members", "team@origin.test", "add", "bob@dest.test"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let message = server.dir.path().join("post.eml");
    std::fs::write(
        &message,
        "From: carol@far.test\r\nTo: team@origin.test\r\nSubject: news\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <post-1@far.test>\r\n\r\nA post.\r\n",
    )
    .unwrap();
    let output = support::python(
        "send.py",
        server.addr,
        &[
            "carol@far.test",
            "team@origin.test",
            message.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("OK"));
    let messages = sink.wait_for_messages(1, &server);
    let data = messages[0]["data"].as_str().unwrap();
    assert!(data.contains("List-Id:"), "not the list's copy:\n{data}");
    assert!(data.contains("d=origin.test"), "{data}");
    let verdicts = dkimpy(&server, data, &records);
    assert!(
        verdicts.starts_with(
            "pass rsa-sha256 origin.test rsa2026\npass ed25519-sha256 origin.test ed2026\n"
        ),
        "{verdicts}\nmessage:\n{data}"
    );
}
