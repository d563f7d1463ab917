use super::super::{Question, blocklist_queries, explain, explain_with};
use super::SpamFacts;
use crate::address::{parse_forward_path, parse_reverse_path};
use crate::bind::{HostAddresses, listeners, plan};
use crate::spam::{Greylist, GreylistPolicy, LookupAnswer, Triplet};
use crate::time::UnixTime;
use std::collections::BTreeMap;

const CONFIG: &str = r#"
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"
relay = ["127.0.0.5"]
greylist = true

[[service.dnsbl]]
zone = "zen.example.test"
weight = 2

[[service.dnsbl]]
zone = "dbl.example.test"
kind = "domain"
weight = 2

[[service]]
name = "plain"
kind = "smtp"
listen = "127.0.0.2:2525"

[[domain]]
name = "example.test"
users = ["alice"]
"#;

fn question(local: &str, remote: &str) -> Question {
    Question {
        local: local.parse().unwrap(),
        remote: remote.parse().unwrap(),
        from: Some(parse_reverse_path("<seller@spam.test>", false).unwrap()),
        to: vec![parse_forward_path("<alice@example.test>", false).unwrap()],
        size: None,
    }
}

fn setup() -> (crate::config::Config, crate::bind::BindPlan) {
    let config = crate::config::parse(CONFIG).unwrap();
    let host = HostAddresses {
        networks: vec!["127.0.0.0/8".parse().unwrap()],
    };
    let plan = plan(listeners(&config.services), &host).unwrap();
    (config, plan)
}

const NOW: UnixTime = UnixTime(1_795_212_959);

#[test]
fn without_dns_it_says_which_queries_it_would_make() {
    let (config, plan) = setup();
    let answer = explain(&config, &plan, &question("127.0.0.1:2525", "192.0.2.7"));
    assert!(answer.admitted);
    insta::assert_snapshot!(answer.text);
    let names: Vec<String> =
        blocklist_queries(&config, &plan, &question("127.0.0.1:2525", "192.0.2.7"))
            .into_iter()
            .map(|q| q.name)
            .collect();
    assert_eq!(
        names,
        ["7.2.0.192.zen.example.test", "spam.test.dbl.example.test"]
    );
}

#[test]
fn with_answers_it_gives_the_verdicts() {
    let (config, plan) = setup();
    let listed = LookupAnswer::Listed(vec!["127.0.0.2".parse().unwrap()]);
    // The client is clean; the sender's domain is listed.
    let facts = SpamFacts {
        dns: Some(BTreeMap::from([
            (
                "7.2.0.192.zen.example.test".to_owned(),
                LookupAnswer::NotListed,
            ),
            ("spam.test.dbl.example.test".to_owned(), listed.clone()),
        ])),
        greylist: Some((Greylist::default(), NOW)),
        spf: None,
        ..SpamFacts::default()
    };
    let q = question("127.0.0.1:2525", "192.0.2.7");
    let answer = explain_with(&config, &plan, &q, &facts);
    assert!(
        answer.text.contains("sender domain spam.test (not asked once the client has logged in): refused, score 2 of 1: 554 5.7.1 Service unavailable; sender domain spam.test listed at dbl.example.test"),
        "{}",
        answer.text
    );
    assert!(!answer.text.contains("recipient"), "{}", answer.text);
    // A listed client is refused before anything else.
    let facts = SpamFacts {
        dns: Some(BTreeMap::from([(
            "7.2.0.192.zen.example.test".to_owned(),
            listed,
        )])),
        greylist: None,
        spf: None,
        ..SpamFacts::default()
    };
    let answer = explain_with(&config, &plan, &q, &facts);
    assert!(!answer.admitted);
    insta::assert_snapshot!(answer.text);
}

#[test]
fn the_greylist_verdict_comes_from_the_stored_table() {
    let (config, plan) = setup();
    let mut q = question("127.0.0.1:2525", "192.0.2.7");
    q.from = Some(parse_reverse_path("<friend@remote.test>", false).unwrap());
    let clean = SpamFacts {
        dns: Some(BTreeMap::new()),
        greylist: Some((Greylist::default(), NOW)),
        spf: None,
        ..SpamFacts::default()
    };
    let text = explain_with(&config, &plan, &q, &clean).text;
    assert!(
        text.contains("greylist   (192.0.2.0/24, friend@remote.test, alice@example.test): 451 4.7.1 Greylisted, try again in 300 seconds (not seen yet)"),
        "{text}"
    );
    let mut greylist = Greylist::default();
    let triplet = Triplet::new(q.remote, q.from.as_ref().unwrap(), &q.to[0]);
    greylist.check(UnixTime(NOW.0 - 600), &triplet, &GreylistPolicy::default());
    greylist.check(NOW, &triplet, &GreylistPolicy::default());
    let known = SpamFacts {
        greylist: Some((greylist, NOW)),
        ..clean
    };
    let text = explain_with(&config, &plan, &q, &known).text;
    assert!(
        text.contains("alice@example.test): passes (remembered)"),
        "{text}"
    );
}

#[test]
fn own_networks_and_instances_without_spam_control_say_so() {
    let (config, plan) = setup();
    let own = explain(&config, &plan, &question("127.0.0.1:2525", "127.0.0.5")).text;
    assert!(
        own.contains("blocklists not checked: 127.0.0.5 is one of the instance's own networks"),
        "{own}"
    );
    assert!(
        own.contains("greylist   <alice@example.test>: not checked"),
        "{own}"
    );
    assert!(blocklist_queries(&config, &plan, &question("127.0.0.1:2525", "127.0.0.5")).is_empty());
    let plain = explain(&config, &plan, &question("127.0.0.2:2525", "192.0.2.7")).text;
    assert!(
        !plain.contains("blocklists") && !plain.contains("greylist"),
        "{plain}"
    );
}
