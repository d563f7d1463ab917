//! Table tests of the delivery-time rules: each row names its rule. The
//! vacation's here; forwarding's and the settings' and memory's beside.

mod forwarding;
mod settings;

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
    LocalMailbox::new("alice", "example.test")
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
            submitted: false,
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
    MailboxRules {
        forward,
        vacation,
        senders: None,
    }
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
