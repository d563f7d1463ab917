use crate::bind::{HostAddresses, listeners, plan};
use crate::explain::{Answer, Question, explain};

/// FTP on loopback in clear, and AUTH TLS plus ftps on 127.0.0.3 with an
/// access list.
const INSTANCES: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "files-local"
kind = "ftp"
listen = "127.0.0.1:2121"
auth_without_tls = true

[[service]]
name = "files"
kind = "ftp"
listen = "127.0.0.3:2121"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"
passive_ports = "50000-50100"
ftp_quota = "1 GiB"
deny = ["127.0.0.66"]

[[service]]
name = "ftps"
kind = "ftp"
listen = "127.0.0.3:1990"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"
"#;

fn ask(local: &str, remote: &str) -> Answer {
    let config = crate::config::parse(INSTANCES).unwrap();
    let host = HostAddresses {
        networks: vec!["127.0.0.0/8".parse().unwrap()],
    };
    let plan = plan(listeners(&config.services), &host).unwrap();
    let question = Question {
        local: local.parse().unwrap(),
        remote: remote.parse().unwrap(),
        from: None,
        to: Vec::new(),
        size: None,
    };
    explain(&config, &plan, &question)
}

#[test]
fn each_ftp_instance_answers_for_its_address() {
    let local = ask("127.0.0.1:2121", "127.0.0.1");
    let auth_tls = ask("127.0.0.3:2121", "127.0.0.9");
    let ftps = ask("127.0.0.3:1990", "127.0.0.9");
    assert!(local.admitted && auth_tls.admitted && ftps.admitted);
    assert!(
        auth_tls.text.contains("only after AUTH TLS"),
        "{}",
        auth_tls.text
    );
    assert!(
        auth_tls.text.contains("ports 50000-50100"),
        "{}",
        auth_tls.text
    );
    insta::assert_snapshot!("explain_ftp_loopback_in_clear", local.text);
    insta::assert_snapshot!("explain_ftp_auth_tls", auth_tls.text);
    insta::assert_snapshot!("explain_ftps", ftps.text);
}

#[test]
fn a_refused_ftp_client_is_told_with_421() {
    let denied = ask("127.0.0.3:2121", "127.0.0.66");
    assert!(!denied.admitted);
    assert!(denied.text.contains("refused: 421"), "{}", denied.text);
}
