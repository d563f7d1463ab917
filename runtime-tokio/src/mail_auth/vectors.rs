//! Outside test vectors for the DKIM code we call (mail-auth's): the RFC
//! 6376 3.4.6 canonicalization example and the RFC 8463 Appendix A
//! message, keys and signatures.

use super::dkim::{DkimSigners, Signer};
use super::verify::{TableLookups, check_dkim};
use base64::Engine as _;
use mail_auth::AuthenticatedMessage;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::Writable as _;
use mail_auth::dkim::{Canonicalization, DkimSigner};
use postern_core::mail_auth::results::DkimResult;
use postern_core::mail_auth::spf::{DnsAnswer, DnsRecord};

/// RFC 6376 3.4.6: the example message, and what each canonicalization
/// makes of its header section and body.
#[test]
fn rfc6376_canonicalization_example() {
    let message = b"A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
    let parsed = AuthenticatedMessage::parse(message).unwrap();
    let body = &message[parsed.body_offset as usize..];
    let cases: [(Canonicalization, &[u8], &[u8]); 2] = [
        (
            Canonicalization::Relaxed,
            b"a:X\r\nb:Y Z\r\n",
            b" C\r\nD E\r\n",
        ),
        (
            Canonicalization::Simple,
            b"A: X\r\nB : Y\t\r\n\tZ  \r\n",
            b" C \r\nD \t E\r\n",
        ),
    ];
    for (canonicalization, headers, canonical_body) in cases {
        let mut written = Vec::new();
        canonicalization.canonicalize_headers(parsed.headers.iter().copied(), &mut written);
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(headers),
            "{canonicalization:?} header"
        );
        let mut written = Vec::new();
        canonicalization.canonical_body(body, 0).write(&mut written);
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(canonical_body),
            "{canonicalization:?} body"
        );
    }
}

/// RFC 8463 A.3: the message signed by both keys, as published.
const RFC8463_SIGNED: &str = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n d=football.example.com; i=@football.example.com;\r\n q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n subject : date : message-id : from : subject : date;\r\n bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d=football.example.com; i=@football.example.com;\r\n q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n date : message-id : from : subject : date;\r\n bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n";

/// RFC 8463 A.3: the message before signing.
const RFC8463_MESSAGE: &str = "From: Joe SixPack <joe@football.example.com>\r\nTo: Suzie Q <suzie@shopping.example.net>\r\nSubject: Is dinner ready?\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\nMessage-ID: <20030712040037.46341.5F8J@football.example.com>\r\n\r\nHi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";

/// RFC 8463 A.2: the Ed25519 key's seed and public key.
const ED25519_SEED: &str = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const ED25519_PUBLIC: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

/// RFC 8463 A.2: the two DNS records.
fn rfc8463_zone() -> TableLookups {
    let txt = |text: &str| DnsAnswer::Records(vec![DnsRecord::Txt(text.to_owned())]);
    TableLookups(
        [
            (
                "brisbane._domainkey.football.example.com".to_owned(),
                txt(&format!("v=DKIM1; k=ed25519; p={ED25519_PUBLIC}")),
            ),
            (
                "test._domainkey.football.example.com".to_owned(),
                txt("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"),
            ),
        ]
        .into_iter()
        .collect(),
    )
}

#[tokio::test]
async fn rfc8463_signatures_pass_our_verification_with_the_rfcs_records() {
    let message = format!("{RFC8463_SIGNED}{RFC8463_MESSAGE}");
    let found = check_dkim(&rfc8463_zone(), message.as_bytes()).await;
    let results: Vec<(DkimResult, &str)> = found
        .iter()
        .map(|f| (f.result, f.selector.as_str()))
        .collect();
    assert_eq!(
        results,
        [(DkimResult::Pass, "brisbane"), (DkimResult::Pass, "test")],
        "{found:?}"
    );
    // One octet of the body changed: both fail.
    let changed = message.replace("hungry", "Hungry");
    let found = check_dkim(&rfc8463_zone(), changed.as_bytes()).await;
    assert!(
        found.iter().all(|f| f.result == DkimResult::Fail),
        "{found:?}"
    );
}

/// Our signing of the RFC's message with its Ed25519 key gives its `bh=`
/// and a signature that verifies. The `b=` cannot be compared with the
/// RFC's: mail-auth 0.7.0 sets `t=` to the present (no way to give
/// 1528637909), and writes neither `i=` nor `q=` nor the RFC's `h=`
/// spacing, all of which the signature covers.
#[tokio::test]
async fn rfc8463_message_signed_with_the_rfcs_ed25519_key_gives_its_body_hash_and_verifies() {
    let decode = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    };
    let key = Ed25519Key::from_seed_and_public_key(&decode(ED25519_SEED), &decode(ED25519_PUBLIC))
        .unwrap();
    let signer = DkimSigner::from_key(key)
        .domain("football.example.com")
        .selector("brisbane")
        .headers([
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "From",
            "Subject",
            "Date",
        ]);
    let fields = DkimSigners::from_signer_for_tests(
        "football.example.com",
        "brisbane",
        Signer::Ed25519(signer),
    )
    .sign("football.example.com", RFC8463_MESSAGE.as_bytes())
    .unwrap();
    let fields = String::from_utf8(fields).unwrap();
    assert!(
        fields
            .replace("\r\n\t", "")
            .contains("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="),
        "{fields}"
    );
    let message = format!("{fields}{RFC8463_MESSAGE}");
    let found = check_dkim(&rfc8463_zone(), message.as_bytes()).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].result, DkimResult::Pass, "{found:?}\n{message}");
}
