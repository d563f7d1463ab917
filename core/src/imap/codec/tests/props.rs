//! Properties: any command encodes and parses back; any split of a
//! stream of commands gives the same events; a literal split at every
//! boundary; arbitrary octets never panic nor make the reader hold more
//! than its bounds.

use super::encode::encode;
use super::{drain, events, events_with};
use crate::imap::codec::{CommandReader, ReadEvent, ReaderLimits};
use crate::imap::command::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::num::NonZeroU32;

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.]{1,8}"
}

/// Text of every kind: atoms, spaces and quotes, UTF-8, line ends (which
/// go as literals).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{1,10}",
        "[ -~]{0,12}",
        "[^\u{0}]{0,8}",
        "[a-z]{0,4}\r\n[a-z]{0,4}",
    ]
}

fn mailbox() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("INBOX".to_owned()),
        text().prop_filter("INBOX is normalized", |t| !t.eq_ignore_ascii_case("INBOX")),
    ]
}

fn atom() -> impl Strategy<Value = String> {
    "[A-Za-z$][A-Za-z0-9_$-]{0,8}"
}

fn nz() -> impl Strategy<Value = NonZeroU32> {
    prop_oneof![1u32..100, 1u32..=u32::MAX].prop_map(|n| NonZeroU32::new(n).expect("above 0"))
}

fn modseq() -> impl Strategy<Value = u64> {
    1u64..=i64::MAX as u64
}

fn seq_number() -> impl Strategy<Value = SeqNumber> {
    prop_oneof![4 => nz().prop_map(SeqNumber::Value), 1 => Just(SeqNumber::Largest)]
}

fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![
        8 => vec((seq_number(), seq_number()), 1..4).prop_map(|ranges| {
            SequenceSet::Ranges(
                ranges
                    .into_iter()
                    .map(|(start, end)| SequenceRange { start, end })
                    .collect(),
            )
        }),
        1 => Just(SequenceSet::Saved),
    ]
}

fn flag() -> impl Strategy<Value = FlagName> {
    prop_oneof![
        Just(FlagName::Seen),
        Just(FlagName::Answered),
        Just(FlagName::Flagged),
        Just(FlagName::Deleted),
        Just(FlagName::Draft),
        Just(FlagName::Recent),
        "[A-Za-z][A-Za-z0-9-]{0,8}"
            .prop_filter("a system flag's name", |n| {
                !["SEEN", "ANSWERED", "FLAGGED", "DELETED", "DRAFT", "RECENT"]
                    .contains(&n.to_ascii_uppercase().as_str())
            })
            .prop_map(FlagName::Extension),
        atom().prop_map(FlagName::Keyword),
    ]
}

fn date() -> impl Strategy<Value = Date> {
    (1900u16..2100, 1u8..=12, 1u8..=28).prop_map(|(year, month, day)| Date { year, month, day })
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60, -1439i16..=1439).prop_map(
        |(date, hour, minute, second, zone_minutes)| DateTime {
            date,
            hour,
            minute,
            second,
            zone_minutes,
        },
    )
}

fn status_items() -> impl Strategy<Value = Vec<StatusItem>> {
    vec(
        prop_oneof![
            Just(StatusItem::Messages),
            Just(StatusItem::UidNext),
            Just(StatusItem::UidValidity),
            Just(StatusItem::Unseen),
            Just(StatusItem::Deleted),
            Just(StatusItem::Size),
            Just(StatusItem::Recent),
            Just(StatusItem::HighestModSeq),
            Just(StatusItem::AppendLimit),
        ],
        1..4,
    )
}

fn search_key() -> impl Strategy<Value = SearchKey> {
    let leaf = prop_oneof![
        Just(SearchKey::All),
        Just(SearchKey::Answered),
        Just(SearchKey::Deleted),
        Just(SearchKey::Draft),
        Just(SearchKey::Flagged),
        Just(SearchKey::Seen),
        Just(SearchKey::Unanswered),
        Just(SearchKey::Undeleted),
        Just(SearchKey::Undraft),
        Just(SearchKey::Unflagged),
        Just(SearchKey::Unseen),
        Just(SearchKey::Recent),
        Just(SearchKey::New),
        Just(SearchKey::Old),
        sequence_set().prop_map(SearchKey::SequenceSet),
        sequence_set().prop_map(SearchKey::Uid),
        atom().prop_map(SearchKey::Keyword),
        atom().prop_map(SearchKey::Unkeyword),
        date().prop_map(SearchKey::Before),
        date().prop_map(SearchKey::On),
        date().prop_map(SearchKey::Since),
        date().prop_map(SearchKey::SentBefore),
        date().prop_map(SearchKey::SentOn),
        date().prop_map(SearchKey::SentSince),
        nz().prop_map(|n| SearchKey::Younger(n.get())),
        nz().prop_map(|n| SearchKey::Older(n.get())),
        any::<u32>().prop_map(SearchKey::Larger),
        any::<u32>().prop_map(SearchKey::Smaller),
        text().prop_map(SearchKey::Bcc),
        text().prop_map(SearchKey::Cc),
        text().prop_map(SearchKey::From),
        text().prop_map(SearchKey::Subject),
        text().prop_map(SearchKey::To),
        text().prop_map(SearchKey::Body),
        text().prop_map(SearchKey::Text),
        (text(), text()).prop_map(|(f, v)| SearchKey::Header(f, v)),
        (0u64..=i64::MAX as u64).prop_map(SearchKey::ModSeq),
    ];
    leaf.prop_recursive(4, 16, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 2..4).prop_map(SearchKey::And),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|k| SearchKey::Not(Box::new(k))),
        ]
    })
}

fn search_program(returns: bool) -> impl Strategy<Value = SearchProgram> {
    let returns = if returns {
        option::of(vec(
            prop_oneof![
                Just(SearchReturn::Min),
                Just(SearchReturn::Max),
                Just(SearchReturn::All),
                Just(SearchReturn::Count),
                Just(SearchReturn::Save),
            ],
            0..3,
        ))
        .boxed()
    } else {
        Just(None).boxed()
    };
    (option::of("[A-Z0-9-]{1,10}"), returns, search_key()).prop_map(|(charset, returns, key)| {
        SearchProgram {
            charset,
            returns,
            key,
        }
    })
}

fn part() -> impl Strategy<Value = Vec<u32>> {
    vec(1u32..20, 0..3)
}

fn partial() -> impl Strategy<Value = Option<Partial>> {
    option::of((any::<u32>(), nz()).prop_map(|(offset, length)| Partial { offset, length }))
}

fn fetch_item() -> impl Strategy<Value = FetchItem> {
    let fields = || vec(atom(), 1..3);
    let section = (
        part(),
        option::of(prop_oneof![
            Just(SectionText::Header),
            Just(SectionText::Text),
            Just(SectionText::Mime),
            fields().prop_map(SectionText::HeaderFields),
            fields().prop_map(SectionText::HeaderFieldsNot),
        ]),
    )
        .prop_map(|(part, text)| {
            // MIME only follows a part number.
            let text = match text {
                Some(SectionText::Mime) if part.is_empty() => Some(SectionText::Header),
                text => text,
            };
            Section { part, text }
        });
    prop_oneof![
        Just(FetchItem::Envelope),
        Just(FetchItem::Flags),
        Just(FetchItem::InternalDate),
        Just(FetchItem::Rfc822Size),
        Just(FetchItem::Rfc822),
        Just(FetchItem::Rfc822Header),
        Just(FetchItem::Rfc822Text),
        Just(FetchItem::Body),
        Just(FetchItem::BodyStructure),
        Just(FetchItem::Uid),
        Just(FetchItem::ModSeq),
        (any::<bool>(), section, partial()).prop_map(|(peek, section, partial)| {
            FetchItem::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (any::<bool>(), part(), partial()).prop_map(|(peek, part, partial)| FetchItem::Binary {
            peek,
            part,
            partial
        }),
        part().prop_map(|part| FetchItem::BinarySize { part }),
    ]
}

fn append_message() -> impl Strategy<Value = AppendMessage> {
    (
        vec(flag(), 0..3),
        option::of(date_time()),
        vec(any::<u8>(), 0..40),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(flags, date, content, binary, utf8)| AppendMessage {
            flags,
            date,
            content,
            // UTF8 (...) takes a literal8.
            binary: binary || utf8,
            utf8,
        })
}

fn list_command() -> impl Strategy<Value = ListCommand> {
    (
        text(),
        vec(text(), 1..3),
        any::<[bool; 4]>(),
        any::<[bool; 3]>(),
        prop_oneof![Just(Vec::new()), status_items()],
    )
        .prop_map(|(reference, patterns, s, r, status)| ListCommand {
            reference,
            patterns,
            selection: ListSelection {
                subscribed: s[0],
                remote: s[1],
                // RFC 5258: RECURSIVEMATCH needs another option.
                recursive_match: s[2] && (s[0] || s[3]),
                special_use: s[3],
            },
            returns: ListReturn {
                subscribed: r[0],
                children: r[1],
                special_use: r[2],
                status,
            },
        })
}

fn select_params() -> impl Strategy<Value = SelectParams> {
    let qresync = (
        nz(),
        modseq(),
        option::of(sequence_set()),
        option::of((sequence_set(), sequence_set())),
    )
        .prop_map(
            |(uid_validity, modseq, known_uids, seq_match)| QresyncParams {
                uid_validity: uid_validity.get(),
                modseq,
                known_uids,
                seq_match,
            },
        );
    (any::<bool>(), option::of(qresync))
        .prop_map(|(condstore, qresync)| SelectParams { condstore, qresync })
}

fn command_body() -> impl Strategy<Value = CommandBody> {
    let simple = prop_oneof![
        Just(CommandBody::Capability),
        Just(CommandBody::Noop),
        Just(CommandBody::Logout),
        Just(CommandBody::StartTls),
        Just(CommandBody::Namespace),
        Just(CommandBody::Idle),
        Just(CommandBody::Check),
        Just(CommandBody::Close),
        Just(CommandBody::Unselect),
        Just(CommandBody::Expunge),
        vec((text(), option::of(text())), 0..3).prop_map(CommandBody::Id),
        ("[A-Z0-9-]{1,12}", option::of("[A-Za-z0-9+/]{1,20}={0,2}|="))
            .prop_map(|(mechanism, initial)| CommandBody::Authenticate { mechanism, initial }),
        (text(), text()).prop_map(|(user, password)| CommandBody::Login { user, password }),
        vec(atom(), 1..3).prop_map(CommandBody::Enable),
        (mailbox(), select_params())
            .prop_map(|(mailbox, params)| CommandBody::Select { mailbox, params }),
        (mailbox(), select_params())
            .prop_map(|(mailbox, params)| CommandBody::Examine { mailbox, params }),
        (mailbox(), vec("\\\\[A-Za-z]{1,8}", 0..3)).prop_map(|(mailbox, special_use)| {
            CommandBody::Create {
                mailbox,
                special_use,
            }
        }),
    ];
    let mailboxes = prop_oneof![
        mailbox().prop_map(CommandBody::Delete),
        (mailbox(), mailbox()).prop_map(|(from, to)| CommandBody::Rename { from, to }),
        mailbox().prop_map(CommandBody::Subscribe),
        mailbox().prop_map(CommandBody::Unsubscribe),
        list_command().prop_map(CommandBody::List),
        (text(), text()).prop_map(|(reference, pattern)| CommandBody::Lsub { reference, pattern }),
        (mailbox(), status_items())
            .prop_map(|(mailbox, items)| CommandBody::Status { mailbox, items }),
        (mailbox(), vec(append_message(), 1..3))
            .prop_map(|(mailbox, messages)| CommandBody::Append { mailbox, messages }),
        text().prop_map(CommandBody::GetQuota),
        mailbox().prop_map(CommandBody::GetQuotaRoot),
        (text(), vec(("[A-Z]{1,8}", 0u64..=i64::MAX as u64), 0..3))
            .prop_map(|(root, limits)| CommandBody::SetQuota { root, limits }),
        sequence_set().prop_map(CommandBody::UidExpunge),
    ];
    let selected = prop_oneof![
        (any::<bool>(), search_program(true))
            .prop_map(|(uid, search)| CommandBody::Search { uid, search }),
        (
            any::<bool>(),
            sequence_set(),
            vec(fetch_item(), 1..4),
            option::of(modseq()),
            any::<bool>()
        )
            .prop_map(|(uid, set, items, changed_since, vanished)| {
                CommandBody::Fetch {
                    uid,
                    set,
                    items,
                    modifiers: FetchModifiers {
                        changed_since,
                        vanished,
                    },
                }
            }),
        (
            any::<bool>(),
            sequence_set(),
            option::of(0u64..=i64::MAX as u64),
            prop_oneof![
                Just(StoreAction::Replace),
                Just(StoreAction::Add),
                Just(StoreAction::Remove)
            ],
            any::<bool>(),
            vec(flag(), 0..3),
        )
            .prop_map(|(uid, set, unchanged_since, action, silent, flags)| {
                CommandBody::Store {
                    uid,
                    set,
                    unchanged_since,
                    action,
                    silent,
                    flags,
                }
            }),
        (any::<bool>(), sequence_set(), mailbox())
            .prop_map(|(uid, set, mailbox)| CommandBody::Copy { uid, set, mailbox }),
        (any::<bool>(), sequence_set(), mailbox())
            .prop_map(|(uid, set, mailbox)| CommandBody::Move { uid, set, mailbox }),
        (
            any::<bool>(),
            vec(
                (
                    any::<bool>(),
                    prop_oneof![
                        Just(SortKey::Arrival),
                        Just(SortKey::Cc),
                        Just(SortKey::Date),
                        Just(SortKey::From),
                        Just(SortKey::Size),
                        Just(SortKey::Subject),
                        Just(SortKey::To),
                        Just(SortKey::DisplayFrom),
                        Just(SortKey::DisplayTo),
                    ]
                ),
                1..3
            ),
            search_program(false),
        )
            .prop_map(|(uid, criteria, mut search)| {
                search.charset.get_or_insert_with(|| "UTF-8".to_owned());
                CommandBody::Sort {
                    uid,
                    criteria: criteria
                        .into_iter()
                        .map(|(reverse, key)| SortCriterion { reverse, key })
                        .collect(),
                    search,
                }
            }),
        (any::<bool>(), any::<bool>(), search_program(false)).prop_map(
            |(uid, references, mut search)| {
                search.charset.get_or_insert_with(|| "UTF-8".to_owned());
                CommandBody::Thread {
                    uid,
                    algorithm: if references {
                        ThreadAlgorithm::References
                    } else {
                        ThreadAlgorithm::OrderedSubject
                    },
                    search,
                }
            }
        ),
    ];
    prop_oneof![simple, mailboxes, selected]
}

fn command() -> impl Strategy<Value = Command> {
    (tag(), command_body()).prop_map(|(tag, body)| Command { tag, body })
}

/// The events for `input` pushed in pieces cut at `cuts`.
fn events_split(input: &[u8], cuts: &[usize]) -> Vec<ReadEvent> {
    let mut reader = CommandReader::new(ReaderLimits::default());
    let mut got = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        reader.push(&input[start..cut]);
        got.extend(drain(&mut reader));
        start = cut;
    }
    got
}

fn commands_of(events: Vec<ReadEvent>) -> Vec<ReadEvent> {
    events
        .into_iter()
        .filter(|e| *e != ReadEvent::ContinuationNeeded)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_command_encodes_and_parses_back(command in command()) {
        let wire = encode(&command);
        prop_assert_eq!(
            commands_of(events(&wire)),
            vec![ReadEvent::Command(command)],
            "{}", String::from_utf8_lossy(&wire)
        );
    }

    #[test]
    fn any_split_of_a_command_stream_parses_the_same(
        commands in vec(command(), 1..5),
        mut cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let wire: Vec<u8> = commands.iter().flat_map(encode).collect();
        let whole = events(&wire);
        let mut cuts: Vec<usize> = cuts.drain(..).map(|i| i.index(wire.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(events_split(&wire, &cuts), whole.clone());
        let expected: Vec<ReadEvent> = commands.into_iter().map(ReadEvent::Command).collect();
        prop_assert_eq!(commands_of(whole), expected);
    }

    #[test]
    fn arbitrary_octets_never_panic_nor_exceed_the_bounds(
        pieces in vec(prop_oneof![
            vec(any::<u8>(), 0..20),
            "[a-z0-9 ()\\[\\]{}+~\"\\\\*%$<>.:,-]{0,20}".prop_map(String::into_bytes),
            prop::sample::select(vec![
                "a ", "\r\n", "\n", "{5}\r\n", "{3+}\r\n", "~{2+}\r\n", "{99999}\r\n",
                "LOGIN ", "APPEND x ", "SEARCH ", "FETCH 1 ", "UID ", "NOT ", "(", ")",
                "BODY[", "\"", "\\",
            ]).prop_map(|s| s.as_bytes().to_vec()),
        ], 0..40),
    ) {
        let limits = ReaderLimits {
            line_bytes_max: 64,
            literal_bytes_max: 32,
            nonsync_literal_bytes_max: 16,
            command_bytes_max: 128,
            items_max: 8,
            depth_max: 3,
        };
        let mut reader = CommandReader::new(limits);
        for piece in &pieces {
            reader.push(piece);
            for event in drain(&mut reader) {
                match event {
                    ReadEvent::Bad { tag, text } | ReadEvent::TooBig { tag, text, .. } => {
                        prop_assert!(!text.chars().any(char::is_control));
                        if let Some(tag) = tag {
                            prop_assert!(!tag.is_empty() && !tag.contains([' ', '+', '\r']));
                        }
                    }
                    ReadEvent::Command(_) | ReadEvent::ContinuationNeeded => {}
                }
            }
            // Everything pushed is consumed; what is held is one
            // command's text and literals within their bounds.
            prop_assert!(reader.buffered() <= 64 + 1 + 128, "held {}", reader.buffered());
        }
        // The whole input at once gives no other events than in pieces.
        let whole: Vec<u8> = pieces.concat();
        let at_once = events_with(limits, &whole);
        let mut reader = CommandReader::new(limits);
        let mut one_by_one = Vec::new();
        for byte in &whole {
            reader.push(std::slice::from_ref(byte));
            one_by_one.extend(drain(&mut reader));
        }
        prop_assert_eq!(at_once, one_by_one);
    }
}

#[test]
fn a_literal_split_at_every_boundary_parses_the_same() {
    let wire: &[u8] = b"a1 APPEND INBOX (\\Seen) {11}\r\nhello\r\nworld ~{3+}\r\nx\x00y\r\n\
a2 LOGIN {4+}\r\nfred \"se\\\"cret\"\r\na3 SEARCH CHARSET UTF-8 SUBJECT {2}\r\n\xc3\xa9\r\n";
    let whole = events(wire);
    assert_eq!(commands_of(whole.clone()).len(), 3, "{whole:?}");
    for cut in 0..=wire.len() {
        assert_eq!(events_split(wire, &[cut]), whole, "cut at {cut}");
    }
    for first in 0..=wire.len() {
        for second in (first..=wire.len()).step_by(7) {
            assert_eq!(events_split(wire, &[first, second]), whole);
        }
    }
}
