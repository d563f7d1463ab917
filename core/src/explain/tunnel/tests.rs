use crate::bind::{HostAddresses, listeners, plan};
use crate::explain::{Answer, Question, explain};

/// A tunnel on 127.0.0.3 with the default access, another with an
/// explicit allow.
const INSTANCES: &str = r#"domain = [{ name = "example.test" }]

[[service]]
name = "news"
kind = "tunnel"
listen = "127.0.0.3:5119"
target = "news.example.net:119"
idle_timeout = "5m"

[[service]]
name = "irc"
kind = "tunnel"
listen = "127.0.0.3:6667"
target = "[::1]:6667"
allow = ["0.0.0.0/0"]
deny = ["203.0.113.0/24"]
"#;

fn ask(local: &str, remote: &str) -> Answer {
    let config = crate::config::parse(INSTANCES).unwrap();
    let host = HostAddresses {
        networks: vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
    };
    let plan = plan(listeners(&config.services), &host).unwrap();
    explain(
        &config,
        &plan,
        &Question {
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            from: None,
            to: Vec::new(),
            size: None,
        },
    )
}

#[test]
fn a_lan_client_is_connected_through_to_the_named_target() {
    let answer = ask("127.0.0.3:5119", "192.168.1.20");
    assert!(answer.admitted, "{}", answer.text);
    insta::assert_snapshot!(answer.text);
}

#[test]
fn a_world_client_is_refused_by_the_default_access() {
    let answer = ask("127.0.0.3:5119", "198.51.100.7");
    assert!(!answer.admitted, "{}", answer.text);
    insta::assert_snapshot!(answer.text);
}

#[test]
fn an_explicit_allow_admits_the_world_but_its_deny() {
    assert!(ask("127.0.0.3:6667", "198.51.100.7").admitted);
    assert!(!ask("127.0.0.3:6667", "203.0.113.5").admitted);
}
