use crate::bind::{HostAddresses, listeners, plan};
use crate::explain::{Answer, Question, explain};

/// Anonymous reading on loopback in clear, and a TLS instance where
/// everyone must log in.
const INSTANCES: &str = r#"domain = [{ name = "example.test" }]

[[service]]
name = "news-local"
kind = "nntp"
listen = "127.0.0.1:1119"
anonymous_read = "local.*"

[[service]]
name = "news"
kind = "nntp"
listen = "127.0.0.3:1119"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"
post = "local.*"
command_timeout = "5m"

[[newsgroup]]
name = "local.general"

[[news_access]]
users = ["*@partner.test"]
read = "local.general"
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
fn anonymous_reading_in_clear() {
    let answer = ask("127.0.0.1:1119", "127.0.0.1");
    assert!(answer.admitted);
    insta::assert_snapshot!(answer.text);
}

#[test]
fn logins_after_starttls_with_per_user_rules() {
    let answer = ask("127.0.0.3:1119", "127.0.0.9");
    assert!(answer.admitted);
    insta::assert_snapshot!(answer.text);
}
