use super::*;
use crate::mail_auth::dkim::{Algorithm, DkimSigners, keygen};
use crate::mail_auth::verify::TableLookups;
use postern_core::address::{Mailbox, ReversePath};
use postern_core::config::DkimKeyConfig;
use postern_core::mail_auth::arc::seal_plan;
use postern_core::mail_auth::spf::{DnsAnswer, DnsRecord};
use std::path::Path;

/// A key for `domain` in `dir`: the signers and the TXT record's name
/// and text.
fn key(dir: &Path, domain: &str, algorithm: Algorithm) -> (DkimSigners, (String, DnsAnswer)) {
    let path = dir.join(format!("{domain}.key"));
    let told = keygen(domain, "arc", algorithm, &path).unwrap();
    let record = told
        .lines()
        .skip_while(|l| !l.starts_with("Publish"))
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let signers = DkimSigners::load(&[DkimKeyConfig {
        domain: domain.into(),
        selector: "arc".into(),
        key: path,
        headers: postern_core::mail_auth::dkim::DEFAULT_SIGNED_HEADERS
            .iter()
            .map(|h| h.to_string())
            .collect(),
        line: 0,
    }])
    .unwrap();
    let answer = DnsAnswer::Records(vec![DnsRecord::Txt(record)]);
    (signers, (format!("arc._domainkey.{domain}"), answer))
}

fn outside() -> ReversePath {
    ReversePath::Mailbox(Mailbox {
        local_part: "alice".into(),
        domain: "origin.test".into(),
    })
}

/// Forwards `message` through a host `mx.DOMAIN` that verified it with
/// `arc` as its result: our trace on top, then the seal in front.
fn forward(signers: &DkimSigners, domain: &str, arc: &str, message: &str) -> String {
    let copy = format!(
        "Delivered-To: bob@{domain}\r\nAuthentication-Results: mx.{domain};\r\n\tarc={arc};\r\n\tspf=pass smtp.mailfrom=alice@origin.test\r\n{message}"
    );
    let plan = seal_plan(
        copy.as_bytes(),
        &format!("mx.{domain}"),
        &outside(),
        false,
        &signers.sealing_keys(),
    )
    .expect("sealed");
    let set = signers.seal(&plan, copy.as_bytes(), 1_767_225_600).unwrap();
    format!("{}{copy}", String::from_utf8(set).unwrap())
}

const MESSAGE: &str = "From: Alice <alice@origin.test>\r\nTo: bob@one.test\r\nSubject: forwarded\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\nHello  there.\r\n";

#[tokio::test]
async fn our_seals_verify_across_two_forwards_and_a_change_breaks_them() {
    let dir = tempfile::tempdir().unwrap();
    let (one, one_key) = key(dir.path(), "one.test", Algorithm::Rsa { bits: 2048 });
    let (two, two_key) = key(dir.path(), "two.test", Algorithm::Rsa { bits: 2048 });
    let keys = TableLookups([one_key, two_key].into_iter().collect());

    let once = forward(&one, "one.test", "none", MESSAGE);
    assert!(
        once.starts_with(
            "ARC-Seal: i=1; a=rsa-sha256; cv=none;\r\n\td=one.test; s=arc; t=1767225600;\r\n\tb="
        ),
        "{once}"
    );
    assert!(
        once.contains("ARC-Authentication-Results: i=1; mx.one.test;\r\n\tarc=none;"),
        "{once}"
    );
    let found = check_arc(&keys, once.as_bytes()).await;
    assert_eq!(found.result, ArcResult::Pass, "{found:?}\n{once}");
    assert_eq!(
        (found.instances, found.sealer.as_deref()),
        (1, Some("one.test"))
    );

    let twice = forward(&two, "two.test", "pass", &once);
    assert!(
        twice.starts_with("ARC-Seal: i=2; a=rsa-sha256; cv=pass;"),
        "{twice}"
    );
    let found = check_arc(&keys, twice.as_bytes()).await;
    assert_eq!(found.result, ArcResult::Pass, "{found:?}\n{twice}");
    assert_eq!(
        (found.instances, found.sealer.as_deref()),
        (2, Some("two.test"))
    );

    // The body changed after the newest seal: its message signature fails.
    let changed = twice.replace("Hello  there.", "Hello there!");
    assert_eq!(
        check_arc(&keys, changed.as_bytes()).await.result,
        ArcResult::Fail
    );
    // An earlier seal changed: the chain fails.
    let tampered = twice.replacen("cv=none", "cv=none ", 1).replacen(
        "d=one.test; s=arc; t=1767225600",
        "d=one.test; s=arc; t=1767225601",
        1,
    );
    let found = check_arc(&keys, tampered.as_bytes()).await;
    assert_eq!(found.result, ArcResult::Fail, "{found:?}");
    // No key published: fail, not pass.
    let found = check_arc(&TableLookups::default(), once.as_bytes()).await;
    assert_eq!(found.result, ArcResult::Fail, "{found:?}");
    // No ARC at all.
    assert_eq!(
        check_arc(&keys, MESSAGE.as_bytes()).await.result,
        ArcResult::None
    );
}

#[tokio::test]
async fn an_ed25519_key_does_not_seal() {
    let dir = tempfile::tempdir().unwrap();
    let (ed, _) = key(dir.path(), "one.test", Algorithm::Ed25519);
    assert!(ed.sealing_keys().is_empty());
}
