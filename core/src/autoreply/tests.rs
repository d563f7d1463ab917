//! Table tests of the delivery-time rules: each row names its rule.

use super::*;
use crate::address::parse_mailbox;
use crate::config::DomainConfig;
use crate::limits::{FORWARD_ADDRESSES_MAX, VACATION_MEMORY_ENTRIES_MAX};
use crate::smtp::server::BodyType;
use std::collections::BTreeMap;

const DAY: i64 = 86_400;
/// 2026-11-30 12:00:00 UTC.
const NOW: UnixTime = UnixTime(1_796_040_000);

fn directory() -> Directory {
    Directory::new(&[DomainConfig {
        name: "example.test".into(),
        users: vec!["alice".into(), "bob".into()],
        aliases: BTreeMap::from([("info".to_owned(), "alice".to_owned())]),
        catch_all: None,
    }])
}

fn alice() -> LocalMailbox {
    LocalMailbox {
        domain: "example.test".into(),
        user: "alice".into(),
    }
}

fn envelope(from: &str, to: &str) -> Envelope {
    let directory = directory();
    let forward_path = ForwardPath::Mailbox(parse_mailbox(to).unwrap());
    let destination = match directory.resolve(&forward_path) {
        RecipientVerdict::Local(mailbox) => Destination::Local(mailbox),
        _ => Destination::Remote,
    };
    Envelope {
        reverse_path: if from.is_empty() {
            ReversePath::Null
        } else {
            ReversePath::Mailbox(parse_mailbox(from).unwrap())
        },
        recipients: vec![Recipient {
            forward_path,
            destination,
        }],
        body: BodyType::SevenBit,
        smtputf8: false,
        client: ClientInfo {
            helo: "client.test".into(),
            address: "192.0.2.1".into(),
        },
    }
}

fn vacation() -> Vacation {
    Vacation {
        enabled: true,
        subject: None,
        body: "I am away until Monday.\nCall Bob.".into(),
        days: 7,
        start: None,
        end: None,
    }
}

fn rules(forward: Option<Forwarding>, vacation: Option<Vacation>) -> MailboxRules {
    MailboxRules { forward, vacation }
}

/// The normal message: from carol, to alice, nothing automatic about it.
const PLAIN: &str = "From: Carol <carol@remote.test>\r\nTo: Alice <alice@example.test>\r\nSubject: Lunch?\r\nMessage-ID: <m1@remote.test>\r\n";

struct Case<'a> {
    from: &'a str,
    to: &'a str,
    headers: String,
    memory: ReplyMemory,
    now: UnixTime,
}

impl Default for Case<'_> {
    fn default() -> Self {
        Case {
            from: "carol@remote.test",
            to: "alice@example.test",
            headers: PLAIN.to_owned(),
            memory: ReplyMemory::default(),
            now: NOW,
        }
    }
}

fn run(rules: &MailboxRules, case: &Case<'_>) -> Decision {
    let directory = directory();
    let envelope = envelope(case.from, case.to);
    let headers = Headers::parse(case.headers.as_bytes());
    let mailbox = alice();
    decide(
        rules,
        &Arrival {
            envelope: &envelope,
            mailbox: &mailbox,
            directory: &directory,
            headers: &headers,
            memory: &case.memory,
            now: case.now,
            hostname: "mx.example.test",
            queue_id: "0000000000ABC",
        },
    )
}

fn with_field(field: &str) -> String {
    format!("{PLAIN}{field}\r\n")
}

#[test]
fn rfc3834_rules_table() {
    let on = rules(None, Some(vacation()));
    let remembered = |at: i64| {
        let mut memory = ReplyMemory::default();
        memory.remember("carol@remote.test", UnixTime(at), 7);
        memory
    };
    let fields = |f: &str| with_field(f);
    // (rule, case, expected: None = a reply)
    let rows: Vec<(&str, Case, Option<NoReply>)> = vec![
        ("a person's message gets a reply", Case::default(), None),
        (
            "2, 3.1.1: never to a null reverse-path",
            Case {
                from: "",
                ..Case::default()
            },
            Some(NoReply::NullSender),
        ),
        (
            "5: Auto-Submitted: auto-replied is automatic",
            Case {
                headers: fields("Auto-Submitted: auto-replied"),
                ..Case::default()
            },
            Some(NoReply::AutoSubmitted("auto-replied".into())),
        ),
        (
            "5: Auto-Submitted: auto-generated is automatic",
            Case {
                headers: fields("Auto-Submitted: Auto-Generated (vacation)"),
                ..Case::default()
            },
            Some(NoReply::AutoSubmitted("Auto-Generated (vacation)".into())),
        ),
        (
            "5: Auto-Submitted: no is a person's message",
            Case {
                headers: fields("Auto-Submitted: no"),
                ..Case::default()
            },
            None,
        ),
        (
            "2: Precedence: bulk",
            Case {
                headers: fields("Precedence: bulk"),
                ..Case::default()
            },
            Some(NoReply::Precedence("bulk".into())),
        ),
        (
            "2: Precedence: list",
            Case {
                headers: fields("Precedence: List"),
                ..Case::default()
            },
            Some(NoReply::Precedence("list".into())),
        ),
        (
            "2: Precedence: junk",
            Case {
                headers: fields("Precedence: junk"),
                ..Case::default()
            },
            Some(NoReply::Precedence("junk".into())),
        ),
        (
            "2: Precedence: first-class is a person's message",
            Case {
                headers: fields("Precedence: first-class"),
                ..Case::default()
            },
            None,
        ),
        (
            "2 (RFC 2919): List-Id",
            Case {
                headers: fields("List-Id: <talk.lists.test>"),
                ..Case::default()
            },
            Some(NoReply::ListMessage("list-id")),
        ),
        (
            "2 (RFC 2369): List-Unsubscribe",
            Case {
                headers: fields("List-Unsubscribe: <mailto:leave@lists.test>"),
                ..Case::default()
            },
            Some(NoReply::ListMessage("list-unsubscribe")),
        ),
        (
            "2 (RFC 2369): List-Post",
            Case {
                headers: fields("list-post: <mailto:talk@lists.test>"),
                ..Case::default()
            },
            Some(NoReply::ListMessage("list-post")),
        ),
        (
            "2: MAILER-DAEMON is a program",
            Case {
                from: "MAILER-DAEMON@remote.test",
                ..Case::default()
            },
            Some(NoReply::RobotSender("mailer-daemon@remote.test".into())),
        ),
        (
            "2: owner-* is a list's owner",
            Case {
                from: "owner-talk@lists.test",
                ..Case::default()
            },
            Some(NoReply::RobotSender("owner-talk@lists.test".into())),
        ),
        (
            "2: *-request is a list's robot",
            Case {
                from: "talk-request@lists.test",
                ..Case::default()
            },
            Some(NoReply::RobotSender("talk-request@lists.test".into())),
        ),
        (
            "2: noreply asks for none",
            Case {
                from: "noreply@shop.test",
                ..Case::default()
            },
            Some(NoReply::RobotSender("noreply@shop.test".into())),
        ),
        (
            "never to the mailbox itself",
            Case {
                from: "alice@example.test",
                headers: "To: alice@example.test\r\n".to_owned(),
                ..Case::default()
            },
            Some(NoReply::OwnAddress),
        ),
        (
            "2: only when the address is in a recipient field (Bcc'd, or a list)",
            Case {
                headers: "From: carol@remote.test\r\nTo: someone@remote.test\r\nSubject: x\r\n".to_owned(),
                ..Case::default()
            },
            Some(NoReply::NotAddressedToUser),
        ),
        (
            "2: Cc counts as a recipient field",
            Case {
                headers: "From: carol@remote.test\r\nTo: someone@remote.test\r\nCc: \"A. Lice\" <ALICE@example.test>\r\n".to_owned(),
                ..Case::default()
            },
            None,
        ),
        (
            "2: an alias of the mailbox counts",
            Case {
                headers: "From: carol@remote.test\r\nTo: info@example.test\r\n".to_owned(),
                ..Case::default()
            },
            None,
        ),
        (
            "2: Resent-To counts as a recipient field",
            Case {
                headers: "From: carol@remote.test\r\nTo: x@remote.test\r\nResent-To: alice@example.test\r\n".to_owned(),
                ..Case::default()
            },
            None,
        ),
        (
            "2: once per sender per N days: replied an hour ago",
            Case {
                memory: remembered(NOW.0 - 3600),
                ..Case::default()
            },
            Some(NoReply::RepliedRecently(UnixTime(NOW.0 - 3600))),
        ),
        (
            "2: once per sender per N days: replied 6 days 23 hours ago",
            Case {
                memory: remembered(NOW.0 - 7 * DAY + 3600),
                ..Case::default()
            },
            Some(NoReply::RepliedRecently(UnixTime(NOW.0 - 7 * DAY + 3600))),
        ),
        (
            "2: once per sender per N days: replied 7 days ago, so again",
            Case {
                memory: remembered(NOW.0 - 7 * DAY),
                ..Case::default()
            },
            None,
        ),
        (
            "a sender in our domain but no user gets none (it could not arrive)",
            Case {
                from: "ghost@example.test",
                ..Case::default()
            },
            Some(NoReply::UnknownLocalSender),
        ),
    ];
    for (rule, case, expected) in rows {
        let decision = run(&on, &case);
        assert_eq!(decision.reply.as_ref().err(), expected.as_ref(), "{rule}");
        assert!(decision.keep_copy, "{rule}: the copy is kept");
    }
}

#[test]
fn vacation_switches_and_dates_table() {
    let dated = |start: Option<&str>, end: Option<&str>| Vacation {
        start: start.map(str::to_owned),
        end: end.map(str::to_owned),
        ..vacation()
    };
    let rows: Vec<(&str, MailboxRules, Option<NoReply>)> = vec![
        (
            "no rules at all",
            MailboxRules::default(),
            Some(NoReply::Off),
        ),
        (
            "a vacation switched off",
            rules(
                None,
                Some(Vacation {
                    enabled: false,
                    ..vacation()
                }),
            ),
            Some(NoReply::Off),
        ),
        (
            "starts tomorrow",
            rules(None, Some(dated(Some("2026-12-01"), None))),
            Some(NoReply::NotStarted),
        ),
        (
            "starts today",
            rules(None, Some(dated(Some("2026-11-30"), None))),
            None,
        ),
        (
            "ends today (inclusive)",
            rules(None, Some(dated(None, Some("2026-11-30")))),
            None,
        ),
        (
            "ended yesterday",
            rules(None, Some(dated(Some("2026-11-01"), Some("2026-11-29")))),
            Some(NoReply::Ended),
        ),
    ];
    for (rule, rules, expected) in rows {
        let decision = run(&rules, &Case::default());
        assert_eq!(decision.reply.as_ref().err(), expected.as_ref(), "{rule}");
    }
}

#[test]
fn the_reply_follows_rfc3834_3() {
    let decision = run(&rules(None, Some(vacation())), &Case::default());
    let reply = decision.reply.unwrap();
    assert_eq!(
        reply.envelope.reverse_path,
        ReversePath::Null,
        "3.3: null reverse-path"
    );
    assert_eq!(
        reply.envelope.recipients[0].forward_path.to_string(),
        "<carol@remote.test>",
        "3.1.1: to the reverse-path"
    );
    assert_eq!(
        reply.envelope.recipients[0].destination,
        Destination::Remote
    );
    assert_eq!(
        (reply.sender.as_str(), reply.days),
        ("carol@remote.test", 7)
    );
    let text = String::from_utf8(reply.message).unwrap();
    for expected in [
        "From: <alice@example.test>\r\n",
        "To: <carol@remote.test>\r\n",
        "Subject: Auto: Lunch?\r\n",
        "In-Reply-To: <m1@remote.test>\r\n",
        "References: <m1@remote.test>\r\n",
        "Auto-Submitted: auto-replied\r\n",
        "Content-Type: text/plain; charset=us-ascii\r\n",
        "\r\n\r\nI am away until Monday.\r\nCall Bob.\r\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    assert!(
        text.contains("Message-ID: <vacation.0000000000ABC."),
        "{text}"
    );
    assert!(
        text.contains(&format!("Date: {}\r\n", NOW.to_rfc5322())),
        "{text}"
    );
    assert!(text.lines().all(|l| l.len() <= 998));
}

#[test]
fn the_reply_comes_from_the_alias_used_and_keeps_the_thread() {
    let headers = "From: carol@remote.test\r\nTo: Info <INFO@example.test>\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\nMessage-ID: <m3@remote.test>\r\nReferences: <m1@remote.test>\r\n <m2@remote.test>\r\n";
    let decision = run(
        &rules(None, Some(vacation())),
        &Case {
            to: "info@example.test",
            headers: headers.to_owned(),
            ..Case::default()
        },
    );
    let text = String::from_utf8(decision.reply.unwrap().message).unwrap();
    assert!(text.contains("From: <info@example.test>\r\n"), "{text}");
    assert!(
        text.contains("References: <m1@remote.test>\r\n <m2@remote.test>\r\n <m3@remote.test>\r\n"),
        "{text}"
    );
    // "Auto: Café", RFC 2047-encoded.
    assert!(
        text.contains("Subject: =?utf-8?b?QXV0bzogQ2Fmw6k=?=\r\n"),
        "{text}"
    );
}

#[test]
fn a_configured_subject_and_a_non_ascii_text_are_encoded() {
    let decision = run(
        &rules(
            None,
            Some(Vacation {
                subject: Some("Abwesend bis März".into()),
                body: "Grüße\n".into(),
                ..vacation()
            }),
        ),
        &Case::default(),
    );
    let reply = decision.reply.unwrap();
    assert_eq!(reply.envelope.body, BodyType::EightBitMime);
    let text = String::from_utf8(reply.message).unwrap();
    assert!(text.contains("Subject: =?utf-8?b?"), "{text}");
    assert!(
        text.contains("charset=utf-8\r\nContent-Transfer-Encoding: 8bit"),
        "{text}"
    );
    let subject = Headers::parse(text.as_bytes()).subject;
    assert_eq!(subject.as_deref(), Some("Abwesend bis März"));
}

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

#[test]
fn the_memory_remembers_prunes_and_is_bounded() {
    let mut memory = ReplyMemory::default();
    memory.remember("Carol@Remote.test", UnixTime(1000), 7);
    memory.remember("dave@remote.test", UnixTime(1000 + 3 * DAY), 7);
    assert_eq!(memory.last_reply("carol@remote.test"), Some(UnixTime(1000)));
    // Eight days on, carol's entry holds nobody back and goes.
    memory.remember("erin@remote.test", UnixTime(1000 + 8 * DAY), 7);
    assert_eq!(memory.last_reply("carol@remote.test"), None);
    assert_eq!(memory.len(), 2);
    let text = memory.render();
    assert_eq!(ReplyMemory::parse(&text), memory);
    // Damaged lines are skipped; the rest still counts.
    let damaged = format!("garbage\n12 \nx y z\n{text}");
    assert_eq!(ReplyMemory::parse(&damaged), memory);
    // Past the limit the oldest go, both when remembering and reading.
    let mut big = ReplyMemory::default();
    for i in 0..VACATION_MEMORY_ENTRIES_MAX as i64 + 5 {
        big.remember(&format!("s{i}@remote.test"), UnixTime(i), 365);
    }
    assert_eq!(big.len(), VACATION_MEMORY_ENTRIES_MAX);
    assert_eq!(big.last_reply("s0@remote.test"), None);
    assert!(big.last_reply("s5@remote.test").is_some());
    let mut lines = big.render();
    lines.push_str("999999 late@remote.test\n");
    let reread = ReplyMemory::parse(&lines);
    assert_eq!(reread.len(), VACATION_MEMORY_ENTRIES_MAX);
    assert!(reread.last_reply("late@remote.test").is_some());
    assert_eq!(reread.last_reply("s5@remote.test"), None);
}

#[test]
fn settings_are_checked_and_round_trip() {
    let own = vec![
        "alice@example.test".to_owned(),
        "info@example.test".to_owned(),
    ];
    let good = MailboxRules {
        forward: Some(Forwarding {
            to: vec![" Bob@Example.test".into(), "bob@example.test".into()],
            keep: false,
        }),
        vacation: Some(Vacation {
            subject: Some("  Away ".into()),
            body: "Back soon.\r\n\r\n".into(),
            start: Some("2026-12-01".into()),
            end: Some("2026-12-24".into()),
            ..vacation()
        }),
    };
    let checked = good.check(&own).unwrap();
    assert_eq!(checked.forward.as_ref().unwrap().to, ["bob@example.test"]);
    let v = checked.vacation.as_ref().unwrap();
    assert_eq!(
        (v.subject.as_deref(), v.body.as_str()),
        (Some("Away"), "Back soon.")
    );
    let text = checked.render();
    assert_eq!(MailboxRules::parse(&text).unwrap(), checked);
    assert!(!checked.is_inert());
    assert!(MailboxRules::default().is_inert());
    // Days default to 7 and keep to true when a file leaves them out.
    let short = MailboxRules::parse(
        "[forward]\nto = [\"b@x.test\"]\n[vacation]\nenabled = true\nbody = \"x\"\n",
    )
    .unwrap();
    assert!(short.forward.unwrap().keep);
    assert_eq!(short.vacation.unwrap().days, 7);

    let refused = |rules: MailboxRules, says: &str| {
        let error = rules.check(&own).unwrap_err();
        assert!(error.contains(says), "{error:?} should say {says:?}");
    };
    let fwd = |to: Vec<String>| MailboxRules {
        forward: Some(Forwarding { to, keep: true }),
        vacation: None,
    };
    let vac = |v: Vacation| MailboxRules {
        forward: None,
        vacation: Some(v),
    };
    refused(fwd(vec!["not an address".into()]), "is not an address");
    refused(fwd(vec!["INFO@example.test".into()]), "would be a loop");
    refused(fwd(vec![]), "at least one address");
    refused(
        fwd((0..=FORWARD_ADDRESSES_MAX)
            .map(|i| format!("u{i}@x.test"))
            .collect()),
        "at most 10",
    );
    refused(
        vac(Vacation {
            body: " \n".into(),
            ..vacation()
        }),
        "text is empty",
    );
    refused(
        vac(Vacation {
            body: "bell\x07".into(),
            ..vacation()
        }),
        "control character",
    );
    refused(
        vac(Vacation {
            body: "x".repeat(9000),
            ..vacation()
        }),
        "at most 8192",
    );
    refused(
        vac(Vacation {
            subject: Some("a\nb".into()),
            ..vacation()
        }),
        "one line",
    );
    refused(
        vac(Vacation {
            days: 0,
            ..vacation()
        }),
        "give 1 to 365",
    );
    refused(
        vac(Vacation {
            start: Some("2026-02-30".into()),
            ..vacation()
        }),
        "is not a date",
    );
    refused(
        vac(Vacation {
            start: Some("2026-12-24".into()),
            end: Some("2026-12-01".into()),
            ..vacation()
        }),
        "ends (2026-12-01) before it starts (2026-12-24)",
    );
    assert!(MailboxRules::parse("[vacation]\nenabled = true\n").is_err());
    assert!(MailboxRules::parse("[forward]\nto = []\n").is_err());
    assert!(MailboxRules::parse("[forward]\nto = [\"b@x.test\"]\nkeeps = 1\n").is_err());
}

#[test]
fn days_read_and_write() {
    assert_eq!(parse_day("1970-01-01"), Ok(0));
    assert_eq!(parse_day("2026-11-30"), Ok(day_of(NOW)));
    assert_eq!(format_day(day_of(NOW)), "2026-11-30");
    assert_eq!(day_of(UnixTime(-1)), -1);
    for bad in [
        "2026-13-01",
        "26-01-01",
        "2026-1-1",
        "yesterday",
        "2026-02-29",
    ] {
        assert!(parse_day(bad).is_err(), "{bad}");
    }
    assert_eq!(
        parse_day("2028-02-29").map(format_day).as_deref(),
        Ok("2028-02-29")
    );
}

#[test]
fn a_long_line_travels_in_base64() {
    let decision = run(
        &rules(
            None,
            Some(Vacation {
                body: "word ".repeat(300),
                ..vacation()
            }),
        ),
        &Case::default(),
    );
    let text = String::from_utf8(decision.reply.unwrap().message).unwrap();
    assert!(text.contains("Content-Transfer-Encoding: base64"), "{text}");
    assert!(text.split("\r\n").all(|l| l.len() <= 998), "{text}");
}

proptest::proptest! {
    /// Whatever a sender puts in the header section, the rules never
    /// panic, and a reply is well-formed: every line within RFC 5322's
    /// 998 octets, every header line a field or a fold (no field forged
    /// by a CR or LF in the original's subject or IDs).
    #[test]
    fn any_header_section_gives_a_well_formed_reply_or_none(
        lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::string::string_regex("(To|Cc|Subject|Message-ID|References|In-Reply-To|Delivered-To|Precedence|Auto-Submitted): [ -~\u{e9}\r\n\t<>@=?]{0,300}").unwrap(),
                proptest::string::string_regex("[ \t][ -~]{0,80}").unwrap(),
                proptest::string::string_regex("To: alice@example.test").unwrap(),
            ],
            0..12,
        )
    ) {
        let headers = lines.join("\r\n");
        let forwarding = Forwarding { to: vec!["bob@example.test".into()], keep: false };
        let decision = run(
            &rules(Some(forwarding), Some(vacation())),
            &Case { headers: headers.clone(), ..Case::default() },
        );
        proptest::prop_assert!(decision.keep_copy || decision.forward.is_some());
        if let Ok(reply) = decision.reply {
            let text = String::from_utf8(reply.message).unwrap();
            let (head, _) = text.split_once("\r\n\r\n").unwrap();
            for line in head.split("\r\n") {
                proptest::prop_assert!(line.len() <= 998, "{line:?}");
                proptest::prop_assert!(!line.contains('\r') && !line.contains('\n'));
                let folded = line.starts_with(' ');
                let field = line.split_once(": ").map(|(name, _)| name);
                proptest::prop_assert!(
                    folded || matches!(
                        field,
                        Some("From" | "To" | "Subject" | "Date" | "Message-ID" | "In-Reply-To"
                            | "References" | "Auto-Submitted" | "MIME-Version" | "Content-Type"
                            | "Content-Transfer-Encoding")
                    ),
                    "{line:?} in\n{text}"
                );
            }
        }
    }
}
