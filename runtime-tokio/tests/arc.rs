//! ARC (RFC 8617) between three real Posterns through dnsmasq: origin
//! signs for origin.test (DKIM), the forwarder (mx.fwd.test) checks what
//! it receives and forwards carol@fwd.test's mail (`postern user
//! forward`) to bob@dest.test, sealing it with fwd.test's key; the
//! destination verifies the chain. dkimpy checks our seals from outside.

mod support;

use std::path::Path;
use support::dkim::{field, txt};
use support::outbound::Dns;
use support::{TestServer, free_port, python, python_script};

struct World {
    _dns: Dns,
    keys: tempfile::TempDir,
    /// The records, as `NAME=TXT` for dkimpy.
    records: Vec<String>,
    /// dest.test: checks what it receives, with `settings`.
    destination: TestServer,
    /// fwd.test: checks, forwards carol to bob@dest.test, seals.
    forwarder: TestServer,
    /// origin.test: signs, relays to the forwarder.
    origin: TestServer,
}

fn server(hostname: &str, domain: &str, user: &str, extra: &str) -> TestServer {
    let listen = format!("127.0.0.1:{}", free_port());
    TestServer::start_with(
        &format!(
            r#"
[server]
hostname = "{hostname}"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{listen}"
{extra}

[[domain]]
name = "{domain}"
users = ["{user}"]
"#
        ),
        listen.parse().unwrap(),
    )
}

/// The world, with `settings` in the destination's `[[service]]`.
fn world(settings: &str) -> World {
    world_with(settings, "")
}

/// [`world`], with `forwarder` added to the forwarder's configuration.
fn world_with(settings: &str, forwarder: &str) -> World {
    let keys = tempfile::tempdir().unwrap();
    let origin_key = support::dkim::keygen(keys.path(), "origin.test", "o2026", "rsa");
    let fwd_key = support::dkim::keygen(keys.path(), "fwd.test", "f2026", "rsa");
    let records = [
        (origin_key.0.as_str(), origin_key.1.as_str()),
        (fwd_key.0.as_str(), fwd_key.1.as_str()),
        ("origin.test", "v=spf1 ip4:127.0.0.0/8 -all"),
        ("_dmarc.origin.test", "v=DMARC1; p=reject"),
        // A domain whose mail never passes from here: SPF lists another
        // host, and nothing is signed.
        ("strict.test", "v=spf1 ip4:192.0.2.1 -all"),
        ("_dmarc.strict.test", "v=DMARC1; p=reject"),
    ];
    let dns = Dns::start(
        &records
            .iter()
            .map(|(name, text)| txt(name, text))
            .collect::<Vec<_>>(),
    );
    let nameservers = format!("[outbound]\nnameservers = [\"127.0.0.1:{}\"]\n", dns.port);
    let destination = server(
        "mx.dest.test",
        "dest.test",
        "bob",
        &format!("{settings}\n{nameservers}"),
    );
    let forwarder = server(
        "mx.fwd.test",
        "fwd.test",
        "carol",
        &format!(
            "mail_auth = \"record\"\n\n[[dkim]]\ndomain = \"fwd.test\"\nselector = \"f2026\"\nkey = \"{key}\"\n\n{nameservers}\n[outbound.smarthost]\nhost = \"{to}\"\nmode = \"exclusive\"\ntls = \"none\"\n{forwarder}",
            key = keys.path().join("f2026.key").display(),
            to = destination.addr,
        ),
    );
    forwarder.command(&[
        "user",
        "forward",
        "carol@fwd.test",
        "--to",
        "bob@dest.test",
        "--no-keep",
    ]);
    let origin = server(
        "mx.origin.test",
        "origin.test",
        "alice",
        &format!(
            "relay = [\"127.0.0.0/8\"]\n\n[[dkim]]\ndomain = \"origin.test\"\nselector = \"o2026\"\nkey = \"{key}\"\n\n[outbound.smarthost]\nhost = \"{to}\"\nmode = \"exclusive\"\ntls = \"none\"\n",
            key = keys.path().join("o2026.key").display(),
            to = forwarder.addr,
        ),
    );
    World {
        _dns: dns,
        records: records
            .iter()
            .map(|(name, text)| format!("{name}={text}"))
            .collect(),
        keys,
        destination,
        forwarder,
        origin,
    }
}

/// Sends `message` through `server` from `from` to `to`; what the
/// client was told.
fn send(server: &TestServer, dir: &Path, from: &str, to: &str, message: &str) -> String {
    let file = dir.join("message.eml");
    std::fs::write(&file, message).unwrap();
    let output = python("send.py", server.addr, &[from, to, file.to_str().unwrap()]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// dkimpy's verdict on the ARC chain of the message in `file`.
fn dkimpy_arc(world: &World, file: &Path) -> String {
    let mut args = vec![file.to_str().unwrap()];
    args.extend(world.records.iter().map(String::as_str));
    let output = python_script("arc_check.py", &args);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

const MESSAGE: &str = "From: Alice <alice@origin.test>\r\nTo: carol@fwd.test\r\nSubject: passed on\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <arc-1@origin.test>\r\n\r\nHello from origin, by way of fwd.\r\n";

#[test]
fn a_forwarded_message_is_sealed_and_its_chain_passes_here_and_in_dkimpy_and_a_tampered_seal_fails()
{
    let world = world("mail_auth = \"record\"");
    let said = send(
        &world.origin,
        world.keys.path(),
        "alice@origin.test",
        "carol@fwd.test",
        MESSAGE,
    );
    assert!(said.starts_with("OK"), "{said}");
    let files = world
        .destination
        .wait_for_delivery_to("dest.test", "bob", 1);
    let copy = std::fs::read_to_string(&files[0]).unwrap();
    let results = field(&copy, "Authentication-Results");
    assert!(
        results.starts_with(
            "Authentication-Results: mx.dest.test; arc=pass (i=1 sealed by fwd.test);"
        ),
        "{copy}\nforwarder:\n{}",
        world.forwarder.log()
    );
    assert!(
        results.contains("dkim=pass header.d=origin.test header.s=o2026"),
        "{results}"
    );
    // What the forwarder put on: its verdict copied, cv=none at i=1.
    let aar = field(&copy, "ARC-Authentication-Results");
    assert!(
        aar.starts_with(
            "ARC-Authentication-Results: i=1; mx.fwd.test; arc=none; dkim=pass header.d=origin.test"
        ),
        "{aar}"
    );
    let seal = field(&copy, "ARC-Seal");
    assert!(
        seal.starts_with("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=fwd.test; s=f2026; t="),
        "{seal}"
    );
    // A verifier nobody here wrote agrees.
    let file = world.keys.path().join("delivered.eml");
    std::fs::write(&file, &copy).unwrap();
    assert_eq!(dkimpy_arc(&world, &file), "pass success", "{copy}");

    // The message as the forwarder sent it (from its ARC-Seal on), with
    // the seal's time changed, sent straight to the destination: the seal
    // no longer verifies, here or in dkimpy.
    let sent = &copy[copy.find("ARC-Seal:").unwrap()..];
    let t = seal.split("t=").nth(1).unwrap().split(';').next().unwrap();
    let tampered = sent
        .replacen(&format!("t={t};"), "t=1000000000;", 1)
        .replace('\n', "\r\n");
    assert_ne!(tampered.replace("\r\n", "\n"), sent);
    let file = world.keys.path().join("tampered.eml");
    std::fs::write(&file, &tampered).unwrap();
    assert!(dkimpy_arc(&world, &file).starts_with("fail"));
    let said = send(
        &world.destination,
        world.keys.path(),
        "alice@origin.test",
        "bob@dest.test",
        &tampered,
    );
    assert!(said.starts_with("OK"), "{said}");
    let files = world
        .destination
        .wait_for_delivery_to("dest.test", "bob", 2);
    let copy = std::fs::read_to_string(&files[1]).unwrap();
    let results = field(&copy, "Authentication-Results");
    assert!(
        results.starts_with("Authentication-Results: mx.dest.test; arc=fail ("),
        "{results}"
    );
}

/// RFC 8617 7.2: mail from a `p=reject` domain that fails DMARC, passed
/// on by a forwarder whose chain passes and whom the destination trusts,
/// is delivered with the reason in its field; the forwarder's own verdict
/// travels in the ARC-Authentication-Results.
#[test]
fn a_dmarc_reject_forwarded_through_a_trusted_sealer_is_delivered_and_says_why() {
    let world = world("mail_auth = \"enforce\"\narc_trusted_sealers = [\"fwd.test\"]");
    let said = send(
        &world.forwarder,
        world.keys.path(),
        "news@strict.test",
        "carol@fwd.test",
        "From: News <news@strict.test>\r\nTo: carol@fwd.test\r\nSubject: weekly\r\n\r\nThe news.\r\n",
    );
    assert!(said.starts_with("OK"), "{said}");
    let files = world
        .destination
        .wait_for_delivery_to("dest.test", "bob", 1);
    let copy = std::fs::read_to_string(&files[0]).unwrap();
    let results = field(&copy, "Authentication-Results");
    assert!(
        results.contains("arc=pass (i=1 sealed by fwd.test);"),
        "{results}"
    );
    assert!(
        results.contains(
            "dmarc=fail (p=reject dis=none, overridden by ARC: trusted sealer fwd.test) header.from=strict.test"
        ),
        "{results}"
    );
    let aar = field(&copy, "ARC-Authentication-Results");
    assert!(
        aar.contains("dmarc=fail (p=reject dis=reject) header.from=strict.test"),
        "{aar}"
    );
}

/// A list post is sealed too: alice@origin.test (signed for origin.test)
/// posts to the list news@fwd.test; its copy for bob@dest.test carries
/// fwd.test's ARC set over the forwarder's verdict, which the destination
/// and dkimpy verify.
#[test]
fn a_list_post_is_sealed_by_the_lists_domain_and_its_chain_passes() {
    let list = "\n[[list]]\naddress = \"news@fwd.test\"\nowners = [\"carol@fwd.test\"]\n";
    let world = world_with("mail_auth = \"record\"", list);
    world
        .forwarder
        .command(&["list", "members", "news@fwd.test", "add", "bob@dest.test"]);
    let said = send(
        &world.origin,
        world.keys.path(),
        "alice@origin.test",
        "news@fwd.test",
        &MESSAGE.replace("To: carol@fwd.test", "To: news@fwd.test"),
    );
    assert!(said.starts_with("OK"), "{said}");
    let files = world
        .destination
        .wait_for_delivery_to("dest.test", "bob", 1);
    let copy = std::fs::read_to_string(&files[0]).unwrap();
    assert!(copy.contains("List-Id:"), "not the list's copy:\n{copy}");
    let results = field(&copy, "Authentication-Results");
    assert!(
        results.starts_with(
            "Authentication-Results: mx.dest.test; arc=pass (i=1 sealed by fwd.test);"
        ),
        "{copy}\nforwarder:\n{}",
        world.forwarder.log()
    );
    let aar = field(&copy, "ARC-Authentication-Results");
    assert!(
        aar.starts_with("ARC-Authentication-Results: i=1; mx.fwd.test; arc=none; dkim=pass"),
        "{aar}"
    );
    let file = world.keys.path().join("post.eml");
    std::fs::write(&file, &copy).unwrap();
    assert_eq!(dkimpy_arc(&world, &file), "pass success", "{copy}");
}
