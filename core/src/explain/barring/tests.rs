use super::super::{Question, explain, explain_with};
use super::SpamFacts;
use crate::address::{parse_forward_path, parse_reverse_path};
use crate::bind::{HostAddresses, listeners, plan};
use crate::spam::{AddressPattern, Blocked, SenderLists};
use std::collections::BTreeMap;

const CONFIG: &str = r#"
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"
relay = ["127.0.0.5"]
bar_senders = ["*@spam.example", "*.biz"]
bar_recipients = ["old@example.test", "@retired.example"]
greylist = true

[[domain]]
name = "example.test"
users = ["alice", "bob", "carol", "old"]
"#;

fn ask(remote: &str, from: &str, to: &[&str], facts: &SpamFacts) -> String {
    let config = crate::config::parse(CONFIG).unwrap();
    let host = HostAddresses {
        networks: vec!["127.0.0.0/8".parse().unwrap()],
    };
    let plan = plan(listeners(&config.services), &host).unwrap();
    let question = Question {
        local: "127.0.0.1:2525".parse().unwrap(),
        remote: remote.parse().unwrap(),
        from: Some(parse_reverse_path(from, false).unwrap()),
        to: to
            .iter()
            .map(|t| parse_forward_path(t, false).unwrap())
            .collect(),
        size: None,
    };
    if facts == &SpamFacts::default() {
        explain(&config, &plan, &question).text
    } else {
        explain_with(&config, &plan, &question, facts).text
    }
}

fn lists(allow: &[&str], block: &[&str], blocked: Blocked) -> SenderLists {
    let parse = |list: &[&str]| {
        list.iter()
            .map(|p| AddressPattern::parse(p).unwrap())
            .collect()
    };
    SenderLists {
        allow: parse(allow),
        block: parse(block),
        blocked,
    }
}

#[test]
fn a_barred_sender_ends_the_explanation_at_mail() {
    let text = ask(
        "192.0.2.7",
        "<offers@shop.biz>",
        &["<alice@example.test>"],
        &SpamFacts::default(),
    );
    assert!(
        text.contains("barring    sender <offers@shop.biz>: refused with 550 5.7.1 (bar_senders pattern *.biz; not checked once the client has logged in)"),
        "{text}"
    );
    assert!(!text.contains("recipient"), "{text}");
    // Our own networks are not checked.
    let text = ask(
        "127.0.0.5",
        "<offers@shop.biz>",
        &["<alice@example.test>"],
        &SpamFacts::default(),
    );
    assert!(
        text.contains("sender not checked: 127.0.0.5 is one of the instance's own networks"),
        "{text}"
    );
    assert!(
        text.contains("recipient  <alice@example.test>: accepted"),
        "{text}"
    );
}

#[test]
fn barred_recipients_and_each_recipients_lists_are_explained() {
    let facts = SpamFacts {
        sender_lists: BTreeMap::from([
            (
                "alice@example.test".to_owned(),
                lists(&[], &["@remote.test"], Blocked::Junk),
            ),
            (
                "bob@example.test".to_owned(),
                lists(&["friend@remote.test"], &["*"], Blocked::Refuse),
            ),
            (
                "carol@example.test".to_owned(),
                lists(&[], &["*@remote.test"], Blocked::Refuse),
            ),
        ]),
        ..SpamFacts::default()
    };
    let text = ask(
        "192.0.2.7",
        "<friend@remote.test>",
        &[
            "<old@example.test>",
            "<someone@mail.retired.example>",
            "<alice@example.test>",
            "<bob@example.test>",
            "<carol@example.test>",
        ],
        &facts,
    );
    insta::assert_snapshot!(text);
}
