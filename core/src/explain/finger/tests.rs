use crate::bind::{HostAddresses, listeners, plan};
use crate::explain::{Answer, Question, explain};

/// Finger beside SMTP, multi-homed on loopback: a listing instance on
/// 127.0.0.1 for the LAN and a closed-mouthed one on 127.0.0.3.
const INSTANCES: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.3:2525"

[[service]]
name = "finger-lan"
kind = "finger"
listen = "127.0.0.1:7979"
list_users = true
hidden = ["postmaster@example.test"]

[[service]]
name = "finger-public"
kind = "finger"
listen = "127.0.0.3:7979"
deny = ["127.0.0.66"]
command_timeout = "5s"
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
fn each_finger_instance_answers_for_its_address() {
    let lan = ask("127.0.0.1:7979", "127.0.0.1");
    let public = ask("127.0.0.3:7979", "127.0.0.9");
    assert!(lan.admitted && public.admitted);
    assert!(lan.text.contains("(list_users = true)"), "{}", lan.text);
    assert!(public.text.contains("list_users is off"), "{}", public.text);
    insta::assert_snapshot!("explain_finger_lan", lan.text);
    insta::assert_snapshot!("explain_finger_public", public.text);
}

#[test]
fn a_refused_finger_client_is_told_with_a_plain_line() {
    let denied = ask("127.0.0.3:7979", "127.0.0.66");
    assert!(!denied.admitted);
    assert!(
        denied
            .text
            .contains("refused: \"finger: no finger service for your address here.\", then closed"),
        "{}",
        denied.text
    );
}
