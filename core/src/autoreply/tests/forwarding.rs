//! Forwarding: with and without a copy, loop protection, the envelope.

use super::*;

#[test]
fn forwarding_table() {
    let to = |addresses: &[&str], keep: bool| {
        Some(Forwarding {
            to: addresses.iter().map(|a| (*a).to_owned()).collect(),
            keep,
        })
    };
    let trace = |n: usize| {
        let mut headers = String::new();
        for i in 0..n {
            headers.push_str(&format!("Delivered-To: hop{i}@elsewhere.test\r\n"));
        }
        headers.push_str(PLAIN);
        headers
    };
    let looped = format!("Delivered-To: ALICE@example.test\r\n{PLAIN}");
    let looped_alias = format!("Delivered-To: info@example.test\r\n{PLAIN}");
    let nine = trace(FORWARD_DELIVERED_TO_MAX - 1);
    let ten = trace(FORWARD_DELIVERED_TO_MAX);
    // (rule, forwarding, headers, keep a copy, forwarded to, dropped)
    type Row<'a> = (
        &'a str,
        Option<Forwarding>,
        &'a str,
        bool,
        Vec<&'a str>,
        Vec<(&'a str, NotForwarded)>,
    );
    let rows: Vec<Row> = vec![
        ("no forwarding: a copy", None, PLAIN, true, vec![], vec![]),
        (
            "forward and keep a copy",
            to(&["bob@example.test"], true),
            PLAIN,
            true,
            vec!["<bob@example.test>"],
            vec![],
        ),
        (
            "forward without a copy",
            to(&["bob@example.test", "dave@remote.test"], false),
            PLAIN,
            false,
            vec!["<bob@example.test>", "<dave@remote.test>"],
            vec![],
        ),
        (
            "loop: the message passed through this mailbox: kept, not forwarded",
            to(&["bob@example.test"], false),
            &looped,
            true,
            vec![],
            vec![("bob@example.test", NotForwarded::Loop)],
        ),
        (
            "loop: through an alias of this mailbox",
            to(&["bob@example.test"], false),
            &looped_alias,
            true,
            vec![],
            vec![("bob@example.test", NotForwarded::Loop)],
        ),
        (
            "hops: one short of the limit is forwarded",
            to(&["bob@example.test"], false),
            &nine,
            false,
            vec!["<bob@example.test>"],
            vec![],
        ),
        (
            "hops: at the limit: kept, not forwarded",
            to(&["bob@example.test"], false),
            &ten,
            true,
            vec![],
            vec![("bob@example.test", NotForwarded::TooManyHops)],
        ),
        (
            "never to the mailbox itself (an alias that leads back)",
            to(&["info@example.test", "bob@example.test"], false),
            PLAIN,
            false,
            vec!["<bob@example.test>"],
            vec![("info@example.test", NotForwarded::OwnMailbox)],
        ),
        (
            "no address left: the copy stays, mail is never dropped",
            to(&["info@example.test", "ghost@example.test"], false),
            PLAIN,
            true,
            vec![],
            vec![
                ("info@example.test", NotForwarded::OwnMailbox),
                ("ghost@example.test", NotForwarded::UnknownLocalUser),
            ],
        ),
    ];
    for (rule, forwarding, headers, keep, forwarded, dropped) in rows {
        let decision = run(
            &rules(forwarding, None),
            &Case {
                headers: headers.to_owned(),
                ..Case::default()
            },
        );
        assert_eq!(decision.keep_copy, keep, "{rule}");
        let got: Vec<String> = decision
            .forward
            .iter()
            .flat_map(|f| f.envelope.recipients.iter())
            .map(|r| r.forward_path.to_string())
            .collect();
        assert_eq!(got, forwarded, "{rule}");
        let got_dropped: Vec<(&str, NotForwarded)> = decision
            .not_forwarded
            .iter()
            .map(|(a, r)| (a.as_str(), *r))
            .collect();
        assert_eq!(got_dropped, dropped, "{rule}");
    }
}

#[test]
fn a_forwarded_copy_keeps_the_sender_and_carries_the_trace() {
    let forwarding = Forwarding {
        to: vec!["bob@example.test".into(), "dave@remote.test".into()],
        keep: false,
    };
    let decision = run(&rules(Some(forwarding), Some(vacation())), &Case::default());
    let forward = decision.forward.unwrap();
    assert_eq!(forward.trace, "Delivered-To: alice@example.test\r\n");
    assert_eq!(
        forward.envelope.reverse_path.to_string(),
        "<carol@remote.test>",
        "failures go back to the original sender"
    );
    let destinations: Vec<&Destination> = forward
        .envelope
        .recipients
        .iter()
        .map(|r| &r.destination)
        .collect();
    assert_eq!(
        destinations,
        [
            &Destination::Local(LocalMailbox {
                domain: "example.test".into(),
                user: "bob".into()
            }),
            &Destination::Remote
        ]
    );
    // The vacation is independent of forwarding.
    assert!(decision.reply.is_ok());
    // The copy forwarded to bob names alice: if bob forwards it back,
    // alice keeps it.
    let back = Headers::parse(format!("{}{PLAIN}", forward.trace).as_bytes());
    assert_eq!(back.first("delivered-to"), Some("alice@example.test"));
}
