use crate::bind::{HostAddresses, listeners, plan};
use crate::explain::{Answer, Question, explain};

/// The remote log beside SMTP, multi-homed on loopback: in clear on
/// 127.0.0.1 for the LAN's console, TLS only on 127.0.0.3.
const INSTANCES: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.3:2525"

[[service]]
name = "log-lan"
kind = "remote-log"
listen = "127.0.0.1:remote-logging"
auth_without_tls = true
allow = ["127.0.0.0/8"]
tail_lines = 50

[[service]]
name = "log-tls"
kind = "remote-log"
listen = "127.0.0.3:5001"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"
deny = ["127.0.0.66"]
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
fn each_remote_log_instance_answers_for_its_address() {
    let lan = ask("127.0.0.1:5001", "127.0.0.1");
    let tls = ask("127.0.0.3:5001", "127.0.0.9");
    assert!(lan.admitted && tls.admitted);
    assert!(lan.text.contains("AUTH PLAIN in clear"), "{}", lan.text);
    assert!(lan.text.contains("the last 50 lines"), "{}", lan.text);
    assert!(tls.text.contains("always over TLS"), "{}", tls.text);
    assert!(tls.text.contains("the last 700 lines"), "{}", tls.text);
    insta::assert_snapshot!("explain_remote_log_lan", lan.text);
    insta::assert_snapshot!("explain_remote_log_tls", tls.text);
}

#[test]
fn a_refused_remote_log_client_is_told_with_an_err_line() {
    let denied = ask("127.0.0.3:5001", "127.0.0.66");
    assert!(!denied.admitted);
    assert!(
        denied.text.contains("refused: -ERR [SYS/PERM]"),
        "{}",
        denied.text
    );
}
