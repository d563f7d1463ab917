//! One good and at least one bad form of every command.

use super::{bad, body};
use crate::imap::command::*;
use std::num::NonZeroU32;

fn n(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).expect("tests use numbers above 0")
}

fn range(start: u32, end: u32) -> SequenceRange {
    SequenceRange {
        start: SeqNumber::Value(n(start)),
        end: SeqNumber::Value(n(end)),
    }
}

fn set(ranges: &[(u32, u32)]) -> SequenceSet {
    SequenceSet::Ranges(ranges.iter().map(|&(a, b)| range(a, b)).collect())
}

fn date(day: u8, month: u8, year: u16) -> Date {
    Date { year, month, day }
}

fn program(key: SearchKey) -> SearchProgram {
    SearchProgram {
        charset: None,
        returns: None,
        key,
    }
}

#[test]
fn commands_without_arguments() {
    let rows = [
        ("a CAPABILITY", CommandBody::Capability),
        ("a noop", CommandBody::Noop),
        ("a Logout", CommandBody::Logout),
        ("a STARTTLS", CommandBody::StartTls),
        ("a NAMESPACE", CommandBody::Namespace),
        ("a IDLE", CommandBody::Idle),
        ("a CHECK", CommandBody::Check),
        ("a CLOSE", CommandBody::Close),
        ("a UNSELECT", CommandBody::Unselect),
        ("a EXPUNGE", CommandBody::Expunge),
    ];
    for (line, expected) in rows {
        assert_eq!(body(line), expected, "{line}");
        bad(&format!("{line} extra"));
    }
}

#[test]
fn tags_and_names() {
    assert_eq!(super::command("A1.b]x NOOP\r\n").tag, "A1.b]x");
    assert!(bad("a FROB").contains("Unknown command"));
    assert!(bad("a UID FROB 1").contains("Unknown UID command"));
    // `+` is not a tag character; nor is `*` or `(`.
    for line in ["+ NOOP", "* NOOP", "a(b NOOP"] {
        let events = super::events(format!("{line}\r\n").as_bytes());
        assert!(
            matches!(
                &events[..],
                [crate::imap::codec::ReadEvent::Bad { tag: None, .. }]
            ),
            "{line}: {events:?}"
        );
    }
    bad("a  NOOP");
}

#[test]
fn login_and_authenticate() {
    assert_eq!(
        body("a LOGIN fred \"pass word\""),
        CommandBody::Login {
            user: "fred".into(),
            password: "pass word".into()
        }
    );
    assert_eq!(
        body("a LOGIN {4+}\r\nfred {3+}\r\nx\"y"),
        CommandBody::Login {
            user: "fred".into(),
            password: "x\"y".into()
        }
    );
    bad("a LOGIN fred");
    bad("a LOGIN \"fred\\x\" pw");
    bad("a LOGIN \"fr\u{0}ed\" pw");
    assert_eq!(
        body("a AUTHENTICATE plain AGZyZWQAc2VjcmV0"),
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some("AGZyZWQAc2VjcmV0".into())
        }
    );
    assert_eq!(
        body("a AUTHENTICATE PLAIN ="),
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some("=".into())
        }
    );
    assert_eq!(
        body("a AUTHENTICATE LOGIN"),
        CommandBody::Authenticate {
            mechanism: "LOGIN".into(),
            initial: None
        }
    );
    bad("a AUTHENTICATE");
    bad("a AUTHENTICATE PLAIN a!b");
}

#[test]
fn id_and_enable() {
    assert_eq!(body("a ID NIL"), CommandBody::Id(vec![]));
    assert_eq!(
        body("a ID (\"name\" \"Thunderbird\" \"os\" NIL)"),
        CommandBody::Id(vec![
            ("name".into(), Some("Thunderbird".into())),
            ("os".into(), None)
        ])
    );
    bad("a ID");
    bad("a ID (\"name\")");
    assert_eq!(
        body("a ENABLE CONDSTORE UTF8=ACCEPT"),
        CommandBody::Enable(vec!["CONDSTORE".into(), "UTF8=ACCEPT".into()])
    );
    bad("a ENABLE");
}

#[test]
fn select_and_examine() {
    assert_eq!(
        body("a SELECT inbox"),
        CommandBody::Select {
            mailbox: "INBOX".into(),
            params: SelectParams::default()
        }
    );
    assert_eq!(
        body("a EXAMINE \"Sent Items\" (CONDSTORE)"),
        CommandBody::Examine {
            mailbox: "Sent Items".into(),
            params: SelectParams {
                condstore: true,
                qresync: None
            }
        }
    );
    // RFC 7162 3.2.5.2's example.
    assert_eq!(
        body("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))"),
        CommandBody::Select {
            mailbox: "INBOX".into(),
            params: SelectParams {
                condstore: false,
                qresync: Some(QresyncParams {
                    uid_validity: 67890007,
                    modseq: 20050715194045000,
                    known_uids: Some(set(&[(41, 41), (43, 211), (214, 541)])),
                    seq_match: None,
                })
            }
        }
    );
    let CommandBody::Select { params, .. } = body(
        "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
    ) else {
        panic!("not a SELECT");
    };
    let qresync = params.qresync.expect("QRESYNC");
    assert_eq!(qresync.known_uids, Some(set(&[(1, 29997)])));
    assert!(qresync.seq_match.is_some());
    let CommandBody::Select { params, .. } = body("a SELECT x (QRESYNC (1 2 (1:2 3:4)))") else {
        panic!("not a SELECT");
    };
    assert_eq!(
        params.qresync.expect("QRESYNC").seq_match,
        Some((set(&[(1, 2)]), set(&[(3, 4)])))
    );
    bad("a SELECT");
    bad("a SELECT x (FOO)");
    bad("a SELECT x ()");
    bad("a SELECT x (QRESYNC (0 1))");
    bad("a SELECT x (QRESYNC (1 0))");
    bad("a EXAMINE x (QRESYNC 1 2)");
}

#[test]
fn create_delete_rename_subscribe() {
    assert_eq!(
        body("a CREATE Drafts (USE (\\Drafts))"),
        CommandBody::Create {
            mailbox: "Drafts".into(),
            special_use: vec!["\\Drafts".into()]
        }
    );
    assert_eq!(
        body("a CREATE owatagusiam/"),
        CommandBody::Create {
            mailbox: "owatagusiam/".into(),
            special_use: vec![]
        }
    );
    bad("a CREATE x (FOO (\\Drafts))");
    bad("a CREATE x (USE (Drafts))");
    bad("a CREATE");
    assert_eq!(body("a DELETE foo"), CommandBody::Delete("foo".into()));
    bad("a DELETE foo bar");
    assert_eq!(
        body("a RENAME foo \"bar baz\""),
        CommandBody::Rename {
            from: "foo".into(),
            to: "bar baz".into()
        }
    );
    bad("a RENAME foo");
    assert_eq!(body("a SUBSCRIBE x"), CommandBody::Subscribe("x".into()));
    assert_eq!(
        body("a UNSUBSCRIBE x"),
        CommandBody::Unsubscribe("x".into())
    );
    bad("a SUBSCRIBE");
    bad("a UNSUBSCRIBE (x)");
    // UTF-8 in a quoted mailbox name (IMAP4rev2); invalid UTF-8 is BAD.
    assert_eq!(
        body("a DELETE \"Entw\u{fc}rfe\""),
        CommandBody::Delete("Entw\u{fc}rfe".into())
    );
    let events = super::events(b"a DELETE \"x\xffy\"\r\n");
    assert!(matches!(
        &events[..],
        [crate::imap::codec::ReadEvent::Bad { .. }]
    ));
}

#[test]
fn list_and_lsub() {
    assert_eq!(
        body("a LIST \"\" *"),
        CommandBody::List(ListCommand {
            reference: "".into(),
            patterns: vec!["*".into()],
            selection: ListSelection::default(),
            returns: ListReturn::default(),
        })
    );
    assert_eq!(
        body(
            "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX% \"Sent\") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))"
        ),
        CommandBody::List(ListCommand {
            reference: "".into(),
            patterns: vec!["INBOX%".into(), "Sent".into()],
            selection: ListSelection {
                subscribed: true,
                recursive_match: true,
                ..ListSelection::default()
            },
            returns: ListReturn {
                children: true,
                special_use: true,
                status: vec![StatusItem::Messages, StatusItem::Unseen],
                ..ListReturn::default()
            },
        })
    );
    bad("a LIST \"\"");
    bad("a LIST (FOO) \"\" *");
    bad("a LIST (RECURSIVEMATCH) \"\" *");
    bad("a LIST \"\" * RETURN (FOO)");
    bad("a LIST \"\" * (CHILDREN)");
    assert_eq!(
        body("a LSUB \"\" news.%"),
        CommandBody::Lsub {
            reference: "".into(),
            pattern: "news.%".into()
        }
    );
    bad("a LSUB \"\"");
}

#[test]
fn status() {
    assert_eq!(
        body("a STATUS blurdybloop (UIDNEXT MESSAGES size highestmodseq APPENDLIMIT)"),
        CommandBody::Status {
            mailbox: "blurdybloop".into(),
            items: vec![
                StatusItem::UidNext,
                StatusItem::Messages,
                StatusItem::Size,
                StatusItem::HighestModSeq,
                StatusItem::AppendLimit
            ]
        }
    );
    bad("a STATUS x ()");
    bad("a STATUS x (BOGUS)");
    bad("a STATUS x");
}

#[test]
fn append_and_multiappend() {
    let CommandBody::Append { mailbox, messages } = body(
        "a APPEND inbox (\\Seen $Junk) \" 7-Feb-1994 21:52:25 -0800\" {5+}\r\nhello ~{2+}\r\n\u{0}\u{1} UTF8 (~{3+}\r\nabc)",
    ) else {
        panic!("not an APPEND");
    };
    assert_eq!(mailbox, "INBOX");
    assert_eq!(messages.len(), 3);
    assert_eq!(
        messages[0],
        AppendMessage {
            flags: vec![FlagName::Seen, FlagName::Keyword("$Junk".into())],
            date: Some(DateTime {
                date: date(7, 2, 1994),
                hour: 21,
                minute: 52,
                second: 25,
                zone_minutes: -480
            }),
            content: b"hello".to_vec(),
            binary: false,
            utf8: false,
        }
    );
    assert_eq!(messages[1].content, vec![0, 1]);
    assert!(messages[1].binary);
    assert!(messages[2].utf8 && messages[2].binary);
    bad("a APPEND x");
    bad("a APPEND x (\\Seen)");
    bad("a APPEND x \"31-Feb-2026 00:00:00 +0000\" {1+}\r\nx");
    bad("a APPEND x \"1-Feb-2026 24:00:00 +0000\" {1+}\r\nx");
    bad("a APPEND x hello");
}

#[test]
fn quota_commands() {
    assert_eq!(body("a GETQUOTA \"\""), CommandBody::GetQuota("".into()));
    assert_eq!(
        body("a GETQUOTAROOT inbox"),
        CommandBody::GetQuotaRoot("INBOX".into())
    );
    assert_eq!(
        body("a SETQUOTA \"\" (STORAGE 512)"),
        CommandBody::SetQuota {
            root: "".into(),
            limits: vec![("STORAGE".into(), 512)]
        }
    );
    bad("a GETQUOTA");
    bad("a GETQUOTAROOT");
    bad("a SETQUOTA \"\" (STORAGE)");
}

#[test]
fn fetch() {
    assert_eq!(
        body("a FETCH 1:* ALL"),
        CommandBody::Fetch {
            uid: false,
            set: SequenceSet::Ranges(vec![SequenceRange {
                start: SeqNumber::Value(n(1)),
                end: SeqNumber::Largest
            }]),
            items: vec![
                FetchItem::Flags,
                FetchItem::InternalDate,
                FetchItem::Rfc822Size,
                FetchItem::Envelope
            ],
            modifiers: FetchModifiers::default(),
        }
    );
    let CommandBody::Fetch { items, .. } = body("a FETCH 1 FULL") else {
        panic!("not a FETCH");
    };
    assert_eq!(items.len(), 5);
    let CommandBody::Fetch { items, .. } = body("a FETCH 1 fast") else {
        panic!("not a FETCH");
    };
    assert_eq!(items.len(), 3);
    let CommandBody::Fetch {
        uid,
        items,
        modifiers,
        ..
    } = body(
        "a UID FETCH 1:10 (UID FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)] BODY[1.2.MIME] BODY[]<0.100> BINARY.PEEK[1]<5.10> BINARY.SIZE[2] RFC822.HEADER MODSEQ) (CHANGEDSINCE 12345 VANISHED)",
    )
    else {
        panic!("not a FETCH");
    };
    assert!(uid);
    assert_eq!(
        modifiers,
        FetchModifiers {
            changed_since: Some(12345),
            vanished: true
        }
    );
    assert_eq!(
        items,
        vec![
            FetchItem::Uid,
            FetchItem::Flags,
            FetchItem::BodySection {
                peek: true,
                section: Section {
                    part: vec![],
                    text: Some(SectionText::HeaderFields(vec![
                        "From".into(),
                        "Subject".into()
                    ]))
                },
                partial: None
            },
            FetchItem::BodySection {
                peek: false,
                section: Section {
                    part: vec![1, 2],
                    text: Some(SectionText::Mime)
                },
                partial: None
            },
            FetchItem::BodySection {
                peek: false,
                section: Section::default(),
                partial: Some(Partial {
                    offset: 0,
                    length: n(100)
                })
            },
            FetchItem::Binary {
                peek: true,
                part: vec![1],
                partial: Some(Partial {
                    offset: 5,
                    length: n(10)
                })
            },
            FetchItem::BinarySize { part: vec![2] },
            FetchItem::Rfc822Header,
            FetchItem::ModSeq,
        ]
    );
    let CommandBody::Fetch { items, .. } = body("a FETCH 2 BODY[3.HEADER.FIELDS.NOT (X-A)]") else {
        panic!("not a FETCH");
    };
    assert_eq!(
        items,
        vec![FetchItem::BodySection {
            peek: false,
            section: Section {
                part: vec![3],
                text: Some(SectionText::HeaderFieldsNot(vec!["X-A".into()]))
            },
            partial: None
        }]
    );
    for line in [
        "a FETCH 1",
        "a FETCH 0 FLAGS",
        "a FETCH 1 (FLAGS ALL)",
        "a FETCH 1 ()",
        "a FETCH 1 BODY[MIME]",
        "a FETCH 1 BODY[1.FOO]",
        "a FETCH 1 BODY[]<0>",
        "a FETCH 1 BODY[]<0.0>",
        "a FETCH 1 BODY.PEEK",
        "a FETCH 1 BINARY[TEXT]",
        "a FETCH 1 FLAGS (CHANGEDSINCE 0)",
        "a FETCH 1 FLAGS (FOO)",
        "a FETCH 1,$ FLAGS",
        "a FETCH 1: FLAGS",
        "a FETCH 4294967296 FLAGS",
    ] {
        bad(line);
    }
}

#[test]
fn store() {
    assert_eq!(
        body("a STORE 2:4 +FLAGS (\\Deleted)"),
        CommandBody::Store {
            uid: false,
            set: set(&[(2, 4)]),
            unchanged_since: None,
            action: StoreAction::Add,
            silent: false,
            flags: vec![FlagName::Deleted]
        }
    );
    assert_eq!(
        body("a UID STORE $ (UNCHANGEDSINCE 0) -FLAGS.SILENT \\Seen \\X-Custom foo"),
        CommandBody::Store {
            uid: true,
            set: SequenceSet::Saved,
            unchanged_since: Some(0),
            action: StoreAction::Remove,
            silent: true,
            flags: vec![
                FlagName::Seen,
                FlagName::Extension("X-Custom".into()),
                FlagName::Keyword("foo".into())
            ]
        }
    );
    let CommandBody::Store { action, flags, .. } = body("a STORE 1 FLAGS ()") else {
        panic!("not a STORE");
    };
    assert_eq!((action, flags), (StoreAction::Replace, vec![]));
    bad("a STORE 1 +FLAGS");
    bad("a STORE 1 FLAG (\\Seen)");
    bad("a STORE 1 (FOO 1) FLAGS (\\Seen)");
    bad("a STORE 1 *FLAGS (\\Seen)");
}

#[test]
fn copy_move_uid_expunge() {
    assert_eq!(
        body("a COPY 2:4 MEETING"),
        CommandBody::Copy {
            uid: false,
            set: set(&[(2, 4)]),
            mailbox: "MEETING".into()
        }
    );
    assert_eq!(
        body("a UID MOVE 42:69 inbox"),
        CommandBody::Move {
            uid: true,
            set: set(&[(42, 69)]),
            mailbox: "INBOX".into()
        }
    );
    assert_eq!(
        body("a UID EXPUNGE 3000:3002"),
        CommandBody::UidExpunge(set(&[(3000, 3002)]))
    );
    bad("a COPY 1");
    bad("a MOVE x y");
    bad("a UID EXPUNGE");
}

#[test]
fn search() {
    assert_eq!(
        body("a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
        CommandBody::Search {
            uid: false,
            search: program(SearchKey::And(vec![
                SearchKey::Flagged,
                SearchKey::Since(date(1, 2, 1994)),
                SearchKey::Not(Box::new(SearchKey::From("Smith".into())))
            ]))
        }
    );
    assert_eq!(
        body("a UID SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 OR (SEEN UNDELETED) $ "),
        CommandBody::Search {
            uid: true,
            search: SearchProgram {
                charset: Some("UTF-8".into()),
                returns: Some(vec![
                    SearchReturn::Min,
                    SearchReturn::Count,
                    SearchReturn::Save
                ]),
                key: SearchKey::Or(
                    Box::new(SearchKey::And(vec![SearchKey::Seen, SearchKey::Undeleted])),
                    Box::new(SearchKey::SequenceSet(SequenceSet::Saved))
                ),
            }
        }
    );
    let rows: Vec<(&str, SearchKey)> = vec![
        ("ALL", SearchKey::All),
        ("answered", SearchKey::Answered),
        ("DELETED", SearchKey::Deleted),
        ("DRAFT", SearchKey::Draft),
        ("SEEN", SearchKey::Seen),
        ("UNANSWERED", SearchKey::Unanswered),
        ("UNDRAFT", SearchKey::Undraft),
        ("UNFLAGGED", SearchKey::Unflagged),
        ("UNSEEN", SearchKey::Unseen),
        ("RECENT", SearchKey::Recent),
        ("NEW", SearchKey::New),
        ("OLD", SearchKey::Old),
        (
            "KEYWORD $Forwarded",
            SearchKey::Keyword("$Forwarded".into()),
        ),
        ("UNKEYWORD x", SearchKey::Unkeyword("x".into())),
        ("BEFORE \"1-jan-2000\"", SearchKey::Before(date(1, 1, 2000))),
        ("ON 29-Feb-2024", SearchKey::On(date(29, 2, 2024))),
        (
            "SENTBEFORE 1-Mar-2026",
            SearchKey::SentBefore(date(1, 3, 2026)),
        ),
        ("SENTON 01-MAR-2026", SearchKey::SentOn(date(1, 3, 2026))),
        (
            "SENTSINCE 31-Dec-1999",
            SearchKey::SentSince(date(31, 12, 1999)),
        ),
        ("YOUNGER 3600", SearchKey::Younger(3600)),
        ("OLDER 60", SearchKey::Older(60)),
        ("LARGER 1024", SearchKey::Larger(1024)),
        ("SMALLER 99999999999", SearchKey::Smaller(u32::MAX)),
        ("BCC a", SearchKey::Bcc("a".into())),
        ("CC b", SearchKey::Cc("b".into())),
        ("TO \"c d\"", SearchKey::To("c d".into())),
        (
            "SUBJECT {3}\r\nf\u{f6}",
            SearchKey::Subject("f\u{f6}".into()),
        ),
        ("BODY x", SearchKey::Body("x".into())),
        ("TEXT y", SearchKey::Text("y".into())),
        (
            "HEADER Message-ID \"\"",
            SearchKey::Header("Message-ID".into(), "".into()),
        ),
        ("UID 1:5,7", SearchKey::Uid(set(&[(1, 5), (7, 7)]))),
        ("2,4:3", SearchKey::SequenceSet(set(&[(2, 2), (4, 3)]))),
        ("MODSEQ 620162338", SearchKey::ModSeq(620162338)),
        (
            "MODSEQ \"/flags/\\\\draft\" all 620162338",
            SearchKey::ModSeq(620162338),
        ),
        ("(SEEN)", SearchKey::Seen),
        (
            "NOT NOT (ALL)",
            SearchKey::Not(Box::new(SearchKey::Not(Box::new(SearchKey::All)))),
        ),
    ];
    for (text, key) in rows {
        assert_eq!(
            body(&format!("a SEARCH {text}")),
            CommandBody::Search {
                uid: false,
                search: program(key)
            },
            "{text}"
        );
    }
    for line in [
        "a SEARCH",
        "a SEARCH BOGUS",
        "a SEARCH SINCE 30-Feb-2026",
        "a SEARCH SINCE 1-Foo-2026",
        "a SEARCH SINCE 1-Feb-26",
        "a SEARCH OR SEEN",
        "a SEARCH (SEEN",
        "a SEARCH ()",
        "a SEARCH YOUNGER 0",
        "a SEARCH RETURN (BOGUS) ALL",
        "a SEARCH CHARSET",
        "a SEARCH MODSEQ \"/flags/\\\\draft\" sometimes 1",
        "a SEARCH FROM",
    ] {
        bad(line);
    }
}

#[test]
fn sort_and_thread() {
    assert_eq!(
        body("a UID SORT (REVERSE DATE subject) UTF-8 UNDELETED SINCE 1-Feb-2026"),
        CommandBody::Sort {
            uid: true,
            criteria: vec![
                SortCriterion {
                    reverse: true,
                    key: SortKey::Date
                },
                SortCriterion {
                    reverse: false,
                    key: SortKey::Subject
                }
            ],
            search: SearchProgram {
                charset: Some("UTF-8".into()),
                returns: None,
                key: SearchKey::And(vec![
                    SearchKey::Undeleted,
                    SearchKey::Since(date(1, 2, 2026))
                ])
            }
        }
    );
    assert_eq!(
        body("a THREAD REFERENCES US-ASCII ALL"),
        CommandBody::Thread {
            uid: false,
            algorithm: ThreadAlgorithm::References,
            search: SearchProgram {
                charset: Some("US-ASCII".into()),
                returns: None,
                key: SearchKey::All
            }
        }
    );
    let CommandBody::Thread { algorithm, .. } = body("a UID THREAD orderedsubject UTF-8 ALL")
    else {
        panic!("not a THREAD");
    };
    assert_eq!(algorithm, ThreadAlgorithm::OrderedSubject);
    bad("a SORT (DATE) ALL");
    bad("a SORT () UTF-8 ALL");
    bad("a SORT (BOGUS) UTF-8 ALL");
    bad("a THREAD UTF-8 ALL");
    bad("a THREAD FOO UTF-8 ALL");
}

#[test]
fn leniency_real_clients_need() {
    // A trailing space, lowercase names, LF alone.
    assert_eq!(
        super::command("a select INBOX \r\n").body,
        body("a SELECT INBOX")
    );
    assert_eq!(super::command("a noop\n").body, CommandBody::Noop);
    assert_eq!(
        super::command("a login {3}\nabc x\n").body,
        CommandBody::Login {
            user: "abc".into(),
            password: "x".into()
        }
    );
}
