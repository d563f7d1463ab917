//! `postern cert self-signed`, read back by openssl, a tool nobody here
//! wrote.

mod support;

use std::process::Command;
use support::postern;

/// Names become DNS names and IP addresses IP addresses in the subject
/// alternative names; the first host is the subject's common name, so no
/// two such certificates share a subject.
#[test]
fn a_self_signed_certificate_names_its_host_and_takes_ip_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let made = postern()
        .current_dir(dir.path())
        .args(["cert", "self-signed", "--host", "mail.example.test"])
        .args(["--host", "127.0.0.2", "--host", "[::1]"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let shown = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-subject",
            "-issuer",
            "-ext",
            "subjectAltName",
            "-in",
        ])
        .arg(dir.path().join("cert.pem"))
        .output()
        .expect("openssl (Debian package openssl) is needed");
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("subject=CN = mail.example.test\n"), "{text}");
    assert!(text.contains("issuer=CN = mail.example.test\n"), "{text}");
    assert!(
        text.contains("DNS:mail.example.test, IP Address:127.0.0.2, IP Address:0:0:0:0:0:0:0:1"),
        "{text}"
    );
}

#[test]
fn a_host_that_is_neither_a_name_nor_an_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let made = postern()
        .current_dir(dir.path())
        .args(["cert", "self-signed", "--host", "mail example"])
        .output()
        .unwrap();
    assert!(!made.status.success());
    let stderr = String::from_utf8_lossy(&made.stderr);
    assert!(
        stderr.contains("\"mail example\" is neither a host name nor an IP address"),
        "{stderr}"
    );
    assert!(!dir.path().join("cert.pem").exists());
    assert!(!dir.path().join("key.pem").exists());
}
