use crate::bind::{HostAddresses, listeners, plan};
use crate::explain::{Answer, Question, explain};

/// Webmail over HTTPS on 127.0.0.3, status and metrics on loopback.
const INSTANCES: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "webmail"
kind = "http"
listen = "127.0.0.3:8443"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"
deny = ["127.0.0.66"]
max_message_size = "10 MiB"

[[service]]
name = "inside"
kind = "http"
listen = "127.0.0.1:8081"
serve = ["status", "metrics"]
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
fn each_http_instance_says_what_it_serves_and_how_logins_travel() {
    let webmail = ask("127.0.0.3:8443", "127.0.0.9");
    let inside = ask("127.0.0.1:8081", "127.0.0.1");
    assert!(webmail.admitted && inside.admitted);
    for expected in [
        "webmail at / (reading, writing, settings)",
        "the login form, over HTTPS only; session cookies are Secure",
        "messages of up to 10.0 MiB (max_message_size)",
        "a shared computer's after 15m idle",
    ] {
        assert!(
            webmail.text.contains(expected),
            "{expected}: {}",
            webmail.text
        );
    }
    assert!(
        inside
            .text
            .contains("the status page at /status; Prometheus metrics at /metrics"),
        "{}",
        inside.text
    );
    assert!(inside.text.contains("none: plain HTTP"), "{}", inside.text);
    assert!(!inside.text.contains("login"), "{}", inside.text);
    insta::assert_snapshot!("explain_https_webmail", webmail.text);
    insta::assert_snapshot!("explain_http_status", inside.text);
}

#[test]
fn a_refused_http_client_gets_403() {
    let denied = ask("127.0.0.3:8443", "127.0.0.66");
    assert!(!denied.admitted);
    assert!(denied.text.contains("403 Forbidden"), "{}", denied.text);
}
