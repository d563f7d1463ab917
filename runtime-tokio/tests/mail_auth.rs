//! Mail authentication between two real Posterns through dnsmasq: one
//! signs for origin.test (DKIM, RSA and Ed25519 keys from `postern dkim
//! keygen`), the other checks what it receives (SPF and DKIM, with the
//! records dnsmasq serves) and records the verdicts in an
//! `Authentication-Results:` field on top of the delivered copy.

mod support;

use std::path::Path;
use support::dkim::{field, txt};
use support::outbound::Dns;
use support::{TestServer, free_port, python};

/// A key for origin.test in `dir`: the record's name and text.
fn keygen(dir: &Path, selector: &str, algorithm: &str) -> (String, String) {
    support::dkim::keygen(dir, "origin.test", selector, algorithm)
}

struct World {
    _dns: Dns,
    keys: tempfile::TempDir,
    /// Checks what it receives: delivers for dest.test.
    receiver: TestServer,
    /// Signs what it sends for origin.test; relays to `receiver`.
    sender: TestServer,
}

fn world() -> World {
    world_checking("record")
}

/// [`world`] with the receiver's `mail_auth` set to `mode`.
fn world_checking(mode: &str) -> World {
    world_with(&format!("mail_auth = \"{mode}\""))
}

/// [`world`] with `settings` in the receiver's `[[service]]`.
fn world_with(settings: &str) -> World {
    let keys = tempfile::tempdir().unwrap();
    let rsa = keygen(keys.path(), "rsa2026", "rsa");
    let ed = keygen(keys.path(), "ed2026", "ed25519");
    let dns = Dns::start(&[
        txt(&rsa.0, &rsa.1),
        txt(&ed.0, &ed.1),
        txt("origin.test", "v=spf1 ip4:127.0.0.0/8 -all"),
        txt("forged.test", "v=spf1 ip4:192.0.2.1 -all"),
        txt(
            "_dmarc.origin.test",
            "v=DMARC1; p=reject; rua=mailto:dmarc@origin.test",
        ),
        txt("_dmarc.careful.test", "v=DMARC1; p=quarantine"),
    ]);
    let receiver_listen = format!("127.0.0.1:{}", free_port());
    let receiver = TestServer::start_with(
        &format!(
            r#"
[server]
hostname = "mx.dest.test"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{receiver_listen}"
{settings}

[[domain]]
name = "dest.test"
users = ["bob"]

[outbound]
nameservers = ["127.0.0.1:{port}"]
"#,
            port = dns.port
        ),
        receiver_listen.parse().unwrap(),
    );
    let sender_listen = format!("127.0.0.1:{}", free_port());
    let sender = TestServer::start_with(
        &format!(
            r#"
[server]
hostname = "mx.origin.test"
data_dir = "data"
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "{sender_listen}"
relay = ["127.0.0.0/8"]

[[domain]]
name = "origin.test"
users = ["alice"]

[[dkim]]
domain = "origin.test"
selector = "rsa2026"
key = "{rsa_key}"

[[dkim]]
domain = "origin.test"
selector = "ed2026"
key = "{ed_key}"

[outbound.smarthost]
host = "{receiver_listen}"
mode = "exclusive"
tls = "none"
"#,
            rsa_key = keys.path().join("rsa2026.key").display(),
            ed_key = keys.path().join("ed2026.key").display(),
        ),
        sender_listen.parse().unwrap(),
    );
    World {
        _dns: dns,
        keys,
        receiver,
        sender,
    }
}

/// Sends `message` through `server` from `from` to bob@dest.test.
fn send(server: &TestServer, dir: &Path, from: &str, message: &str) {
    let file = dir.join("message.eml");
    std::fs::write(&file, message).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &[from, "bob@dest.test", file.to_str().unwrap()],
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.starts_with("OK"), "{said}");
}

const MESSAGE: &str = "From: Alice <alice@origin.test>\r\nTo: bob@dest.test\r\nSubject: checked\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <auth-1@origin.test>\r\n\r\nHello from origin.\r\n";

#[test]
fn signed_mail_passes_dkim_and_spf_and_a_changed_body_fails_dkim() {
    let world = world();
    send(
        &world.sender,
        world.keys.path(),
        "alice@origin.test",
        MESSAGE,
    );
    let files = world.receiver.wait_for_delivery_to("dest.test", "bob", 1);
    let copy = std::fs::read_to_string(&files[0]).unwrap();
    let results = field(&copy, "Authentication-Results");
    assert!(
        results.starts_with("Authentication-Results: mx.dest.test;"),
        "{copy}"
    );
    assert!(
        results.contains("dkim=pass header.d=origin.test header.s=rsa2026"),
        "{results}"
    );
    assert!(
        results.contains("dkim=pass header.d=origin.test header.s=ed2026"),
        "{results}"
    );
    assert!(
        results.contains("spf=pass (ip4:127.0.0.0/8) smtp.mailfrom=alice@origin.test"),
        "{results}"
    );
    assert!(
        results.contains("dmarc=pass (p=reject dis=none) header.from=origin.test"),
        "{results}"
    );
    // Our field is on top of what came, under the delivery's own fields.
    let at = |name: &str| copy.find(&format!("\n{name}:")).unwrap();
    assert!(at("Authentication-Results") < at("Received"), "{copy}");
    assert!(
        at("Authentication-Results") < at("DKIM-Signature"),
        "{copy}"
    );

    // The same signed message with its body changed on the way, sent
    // straight to the receiver: the signatures no longer hold.
    let (_, signed) = copy.split_once("\nDKIM-Signature:").unwrap();
    let tampered = format!("DKIM-Signature:{signed}")
        .replace("Hello from origin.", "Hello from elsewhere.")
        .replace('\n', "\r\n");
    send(
        &world.receiver,
        world.keys.path(),
        "alice@origin.test",
        &tampered,
    );
    let files = world.receiver.wait_for_delivery_to("dest.test", "bob", 2);
    let copy = std::fs::read_to_string(&files[1]).unwrap();
    let results = field(&copy, "Authentication-Results");
    // A body hash that does not match is a PERMFAIL (RFC 6376 6.3):
    // `fail` (RFC 8601 2.7.1), not OpenDKIM's "neutral".
    assert_eq!(
        results
            .matches("dkim=fail (Calculated body hash does not match signature hash)")
            .count(),
        2,
        "{results}"
    );
    assert!(!results.contains("dkim=pass"), "{results}");
    assert!(results.contains("spf=pass"), "{results}");
}

#[test]
fn a_sender_whose_domain_does_not_list_us_fails_spf_and_unsigned_mail_is_dkim_none() {
    let world = world();
    send(
        &world.receiver,
        world.keys.path(),
        "mallory@forged.test",
        "Authentication-Results: mx.dest.test; dkim=pass header.d=forged.test\r\nFrom: mallory@forged.test\r\nSubject: hi\r\n\r\nHi.\r\n",
    );
    let files = world.receiver.wait_for_delivery_to("dest.test", "bob", 1);
    let copy = std::fs::read_to_string(&files[0]).unwrap();
    let results = field(&copy, "Authentication-Results");
    assert!(results.contains("dkim=none"), "{results}");
    assert!(
        results.contains("spf=fail (-all) smtp.mailfrom=mallory@forged.test"),
        "{results}"
    );
    // The field that came claiming to be the receiver's is renamed; ours
    // is the only one left.
    assert!(
        copy.contains(
            "\nX-Forged-Authentication-Results: mx.dest.test; dkim=pass header.d=forged.test\n"
        ),
        "{copy}"
    );
    assert_eq!(
        copy.matches("\nAuthentication-Results:").count(),
        1,
        "{copy}"
    );
}

/// A message that claims origin.test in `From:` but comes from a sender
/// whose domain is another and with no signature: DMARC fails, and
/// origin.test's `p=reject` has it refused by an enforcing receiver and
/// only recorded by a recording one.
#[test]
fn a_forged_from_under_a_reject_policy_is_refused_when_enforced_and_recorded_otherwise() {
    let forged = "From: Alice <alice@origin.test>\r\nSubject: pay this\r\n\r\nPlease pay.\r\n";
    let enforcing = world_checking("enforce");
    let file = enforcing.keys.path().join("forged.eml");
    std::fs::write(&file, forged).unwrap();
    let output = python(
        "send.py",
        enforcing.receiver.addr,
        &[
            "mallory@forged.test",
            "bob@dest.test",
            file.to_str().unwrap(),
        ],
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        said.trim(),
        "DATA 550 5.7.1 Message refused: origin.test rejects mail from its domain that fails DMARC",
        "log:\n{}",
        enforcing.receiver.log()
    );
    assert!(
        enforcing
            .receiver
            .delivered_to("dest.test", "bob")
            .is_empty()
    );

    let recording = world_checking("record");
    send(
        &recording.receiver,
        recording.keys.path(),
        "mallory@forged.test",
        forged,
    );
    let files = recording
        .receiver
        .wait_for_delivery_to("dest.test", "bob", 1);
    let copy = std::fs::read_to_string(&files[0]).unwrap();
    let results = field(&copy, "Authentication-Results");
    assert!(
        results.contains("dmarc=fail (p=reject dis=reject) header.from=origin.test"),
        "{results}"
    );
}

/// A failure under `p=quarantine`, at an enforcing receiver: kept, and
/// delivered into bob's Junk folder (made, subscribed and marked \\Junk),
/// not his INBOX; mail that passes still goes to the INBOX.
#[test]
fn a_quarantined_message_goes_to_the_junk_folder() {
    let world = world_checking("enforce");
    send(
        &world.receiver,
        world.keys.path(),
        "mallory@forged.test",
        "From: boss@careful.test\r\nSubject: urgent\r\n\r\nPay now.\r\n",
    );
    send(
        &world.sender,
        world.keys.path(),
        "alice@origin.test",
        MESSAGE,
    );
    let bob = world.receiver.data().join("mail/dest.test/bob");
    let junk = support::eventually(
        || std::fs::read_dir(bob.join(".Junk/new")).map_or(0, |d| d.count()),
        |count| *count == 1,
        |count| format!("{count} in Junk; log:\n{}", world.receiver.log()),
    );
    assert_eq!(junk, 1);
    let inbox = world.receiver.wait_for_delivery_to("dest.test", "bob", 1);
    let copy = std::fs::read_to_string(&inbox[0]).unwrap();
    assert!(
        copy.contains("Hello from origin."),
        "the genuine one:\n{copy}"
    );
    let quarantined = std::fs::read_dir(bob.join(".Junk/new"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .next()
        .unwrap();
    assert!(
        quarantined.contains("dmarc=fail (p=quarantine dis=quarantine) header.from=careful.test"),
        "{quarantined}"
    );
    let subscriptions = std::fs::read_to_string(bob.join("subscriptions")).unwrap();
    assert!(
        subscriptions.lines().any(|l| l == "Junk"),
        "{subscriptions}"
    );
    let uses = std::fs::read_to_string(bob.join("postern-special-use")).unwrap();
    assert!(uses.contains("Junk"), "{uses}");
}

/// With `spf_fail = "refuse"`, a sender whose domain's SPF ends in `-all`
/// and does not list the client is refused at MAIL, before any data; the
/// genuine sender is accepted and its one SPF check is the one recorded.
#[test]
fn an_spf_fail_is_refused_at_mail_when_the_instance_refuses() {
    let world = world_with("mail_auth = \"record\"\nspf_fail = \"refuse\"");
    let file = world.keys.path().join("forged.eml");
    std::fs::write(&file, "From: mallory@forged.test\r\n\r\nHi.\r\n").unwrap();
    let output = python(
        "send.py",
        world.receiver.addr,
        &[
            "mallory@forged.test",
            "bob@dest.test",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "MAIL 550 5.7.23 SPF check failed: forged.test does not let 127.0.0.1 send its mail"
    );
    send(
        &world.receiver,
        world.keys.path(),
        "alice@origin.test",
        MESSAGE,
    );
    let files = world.receiver.wait_for_delivery_to("dest.test", "bob", 1);
    let copy = std::fs::read_to_string(&files[0]).unwrap();
    let results = field(&copy, "Authentication-Results");
    assert!(
        results.contains("spf=pass (ip4:127.0.0.0/8) smtp.mailfrom=alice@origin.test"),
        "{results}"
    );
}

/// `postern explain --dns` says what SPF finds for a sender and a client,
/// and that this instance refuses the fail at MAIL.
#[test]
fn explain_with_dns_gives_the_spf_verdict_and_what_the_instance_does() {
    let world = world_with("mail_auth = \"record\"\nspf_fail = \"refuse\"");
    let addr = world.receiver.addr.to_string();
    let explain = |from: &str, dns: bool| {
        let mut args = vec!["explain", "--local", &addr, "--remote", "127.0.0.1"];
        args.extend(["--from", from, "--to", "bob@dest.test"]);
        if dns {
            args.push("--dns");
        }
        let output = world.receiver.command(&args);
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let forged = explain("mallory@forged.test", true);
    assert!(
        forged.contains("fail for forged.test from 127.0.0.1 (-all): refused at MAIL with 550 5.7.23 SPF check failed: forged.test does not let 127.0.0.1 send its mail"),
        "{forged}"
    );
    assert!(
        !forged.contains("recipient"),
        "nothing after MAIL:\n{forged}"
    );
    let genuine = explain("alice@origin.test", true);
    assert!(
        genuine.contains("pass for origin.test from 127.0.0.1 (ip4:127.0.0.0/8): checked at MAIL"),
        "{genuine}"
    );
    let without_dns = explain("mallory@forged.test", false);
    assert!(
        without_dns
            .contains("checked at MAIL (spf_fail = \"refuse\"); with --dns it is looked up now"),
        "{without_dns}"
    );
}
