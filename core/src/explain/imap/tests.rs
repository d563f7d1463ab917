use crate::bind::{HostAddresses, listeners, plan};
use crate::explain::{Answer, Question, explain};

/// IMAP in clear on loopback, STARTTLS and IMAPS on 127.0.0.3.
const INSTANCES: &str = r#"domain = [{ name = "example.test" }]
[auth]
failure_delay = "3s"
lockout_failures = 5
lockout_window = "30m"

[[service]]
name = "imap-local"
kind = "imap"
listen = "127.0.0.1:1143"
auth_without_tls = true

[[service]]
name = "imap-internet"
kind = "imap"
listen = "127.0.0.3:1143"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"
deny = ["127.0.0.66"]
max_message_size = "50 MiB"

[[service]]
name = "imaps"
kind = "imap"
listen = "127.0.0.3:1993"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"
"#;

fn ask(local: &str, remote: &str) -> Answer {
    let config = crate::config::parse(INSTANCES).unwrap();
    let host = HostAddresses {
        networks: vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
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
fn each_imap_instance_answers_for_its_address() {
    let local = ask("127.0.0.1:1143", "127.0.0.1");
    let internet = ask("127.0.0.3:1143", "127.0.0.9");
    let imaps = ask("127.0.0.3:1993", "2001:db8::7");
    assert!(local.admitted && internet.admitted && imaps.admitted);
    assert!(
        local
            .text
            .contains("in clear: passwords travel unencrypted")
    );
    assert!(
        internet
            .text
            .contains("only after STARTTLS (LOGINDISABLED before)")
    );
    assert!(
        internet
            .text
            .contains("messages of up to 50.0 MiB (APPENDLIMIT"),
        "{}",
        internet.text
    );
    insta::assert_snapshot!("explain_imap_loopback_in_clear", local.text);
    insta::assert_snapshot!("explain_imap_starttls", internet.text);
    insta::assert_snapshot!("explain_imaps", imaps.text);
}

#[test]
fn a_refused_imap_client_is_told_with_bye() {
    let denied = ask("127.0.0.3:1143", "127.0.0.66");
    assert!(!denied.admitted);
    assert!(
        denied.text.contains("refused: * BYE, then closed"),
        "{}",
        denied.text
    );
}
