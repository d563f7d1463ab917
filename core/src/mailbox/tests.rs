//! The model's rules and the codecs' round trips.

use super::keywords::KeywordTable;
use super::maildir_name::{Info, MaildirName};
use super::uidlist::{Record, Uidlist};
use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

fn found(n: u32, flags: Flags) -> Found {
    Found {
        uid: uid(n),
        flags,
        keywords: Keywords::new(),
        internal_date: UnixTime(1_700_000_000),
        size: 10,
    }
}

#[test]
fn reconcile_reports_appends_flag_changes_and_expunges_each_with_a_new_modseq() {
    let mut state = MailboxState::new(UidValidity(9), 1);
    let seen = Flags::EMPTY.with(Flag::Seen);
    let first = state
        .reconcile(
            UidValidity(9),
            3,
            vec![found(1, Flags::EMPTY), found(2, Flags::EMPTY)],
        )
        .unwrap();
    let Reconciled::Changes(first) = first else {
        panic!("same UIDVALIDITY")
    };
    assert_eq!(first.len(), 2);
    let after_first = state.highest_modseq();
    let second = state
        .reconcile(
            UidValidity(9),
            4,
            vec![found(2, seen), found(3, Flags::EMPTY)],
        )
        .unwrap();
    let Reconciled::Changes(second) = second else {
        panic!("same UIDVALIDITY")
    };
    assert!(matches!(second[0], Change::Expunged { uid: u, .. } if u == uid(1)));
    assert!(
        matches!(&second[1], Change::FlagsChanged { uid: u, flags, .. } if *u == uid(2) && *flags == seen)
    );
    assert!(matches!(&second[2], Change::Appended(m) if m.uid == uid(3)));
    let modseqs: Vec<ModSeq> = second.iter().map(Change::modseq).collect();
    assert!(modseqs.windows(2).all(|w| w[0] < w[1]));
    assert!(modseqs[0] > after_first);
    assert_eq!(state.changes_since(after_first), Some(second));
    assert_eq!(state.uid_next(), 4);
    assert_eq!(
        state
            .reconcile(
                UidValidity(9),
                4,
                vec![found(2, seen), found(3, Flags::EMPTY)]
            )
            .unwrap(),
        Reconciled::Changes(vec![])
    );
}

#[test]
fn an_expunged_uid_never_comes_back() {
    let mut state = MailboxState::new(UidValidity(1), 1);
    state
        .reconcile(UidValidity(1), 2, vec![found(1, Flags::EMPTY)])
        .unwrap();
    state.reconcile(UidValidity(1), 2, vec![]).unwrap();
    let before = state.highest_modseq();
    assert_eq!(
        state.reconcile(UidValidity(1), 2, vec![found(1, Flags::EMPTY)]),
        Err(StateError::UidNotIncreasing {
            uid: uid(1),
            uid_next: 2
        })
    );
    assert_eq!(state.highest_modseq(), before, "nothing changed");
    assert!(matches!(
        state.reconcile(UidValidity(1), 1, vec![]),
        Err(StateError::UidNextWentBack { .. })
    ));
    assert!(matches!(
        state.reconcile(
            UidValidity(1),
            5,
            vec![found(4, Flags::EMPTY), found(3, Flags::EMPTY)]
        ),
        Err(StateError::UidsNotAscending { .. })
    ));
}

#[test]
fn a_new_uidvalidity_rebuilds_the_state() {
    let mut state = MailboxState::new(UidValidity(1), 1);
    state
        .reconcile(UidValidity(1), 6, vec![found(5, Flags::EMPTY)])
        .unwrap();
    let before = state.highest_modseq();
    assert_eq!(
        state.reconcile(UidValidity(2), 2, vec![found(1, Flags::EMPTY)]),
        Ok(Reconciled::UidValidityChanged)
    );
    assert_eq!(state.uid_validity(), UidValidity(2));
    assert_eq!(
        state.messages().map(|m| m.uid).collect::<Vec<_>>(),
        [uid(1)]
    );
    // Nobody is told the new messages as changes of the old mailbox.
    assert_eq!(state.changes_since(before), None);
    assert!(state.highest_modseq() > before);
    assert_eq!(state.changes_since(state.highest_modseq()), Some(vec![]));
}

#[test]
fn keywords_must_be_atoms() {
    assert_eq!(keyword("$Junk"), Ok("$Junk"));
    assert_eq!(keyword(""), Err(KeywordError::Empty));
    assert_eq!(keyword("a b"), Err(KeywordError::NotAnAtom { byte: b' ' }));
    assert_eq!(keyword("a]"), Err(KeywordError::NotAnAtom { byte: b']' }));
    assert_eq!(
        keyword("\\Seen"),
        Err(KeywordError::NotAnAtom { byte: b'\\' })
    );
    assert!(matches!(
        keyword(&"k".repeat(51)),
        Err(KeywordError::TooLong { len: 51 })
    ));
}

#[test]
fn flags_display_as_imap_writes_them() {
    let flags: Flags = [Flag::Deleted, Flag::Seen].into_iter().collect();
    assert_eq!(flags.to_string(), "\\Seen \\Deleted");
}

fn flags() -> impl Strategy<Value = Flags> {
    (0u8..32).prop_map(|bits| {
        Flag::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, f)| f)
            .collect()
    })
}

fn info() -> impl Strategy<Value = Info> {
    (
        flags(),
        any::<bool>(),
        proptest::collection::btree_set(0u8..26, 0..5),
        proptest::collection::btree_set(prop::sample::select(vec!['A', 'Z', '1']), 0..2),
    )
        .prop_map(|(flags, passed, keywords, other)| Info {
            flags,
            passed,
            keywords,
            other,
        })
}

fn unique() -> impl Strategy<Value = String> {
    "[0-9]{1,10}\\.[A-Za-z0-9_]{1,20}\\.[a-z.]{1,20}"
}

fn record() -> impl Strategy<Value = (u32, Option<u64>, Option<u64>, String)> {
    (
        1u32..1000,
        any::<Option<u64>>(),
        any::<Option<u64>>(),
        unique(),
    )
}

proptest! {
    #[test]
    fn maildir_names_round_trip(
        unique in unique(),
        size in any::<u64>(),
        vsize in any::<u64>(),
        info in proptest::option::of(info()),
    ) {
        let mut name = MaildirName::new(&unique, size, vsize);
        if let Some(info) = info {
            name = name.with_info(info);
        }
        prop_assert_eq!(MaildirName::parse(&name.to_string()), Ok(name));
    }

    #[test]
    fn uidlists_round_trip(
        validity in 1u32..,
        guid in proptest::option::of("[0-9a-f]{32}"),
        records in proptest::collection::vec(record(), 0..20),
        extra in proptest::collection::vec(("[A-Z]", "[0-9a-z]{1,8}"), 0..3),
    ) {
        let mut list = Uidlist::new(UidValidity(validity), guid);
        let mut uid_now = 0u32;
        for (step, size, vsize, stem) in records {
            uid_now += step;
            list.records.push(Record {
                uid: uid(uid_now),
                size,
                vsize,
                extra: extra
                    .iter()
                    .filter(|(k, _)| k != "S" && k != "W")
                    .map(|(k, v)| (k.chars().next().unwrap(), v.clone()))
                    .collect(),
                stem,
            });
        }
        list.next_uid = uid_now + 1;
        prop_assert_eq!(Uidlist::parse(list.render().as_bytes()), Ok(list));
    }

    #[test]
    fn keyword_tables_round_trip(words in proptest::collection::btree_set("[A-Za-z$][a-z0-9]{0,10}", 0..26)) {
        let mut table = KeywordTable::default();
        let mut lower = BTreeSet::new();
        for word in &words {
            if lower.insert(word.to_ascii_lowercase()) {
                table.index_or_add(word).unwrap();
            }
        }
        prop_assert_eq!(KeywordTable::parse(table.render().as_bytes()), Ok(table));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Uidlist::parse(&input);
        let _ = KeywordTable::parse(&input);
        let _ = MaildirName::parse(&String::from_utf8_lossy(&input));
    }

    #[test]
    fn uids_strictly_increase_whatever_the_store_reports(
        steps in proptest::collection::vec(proptest::collection::btree_set(1u32..40, 0..8), 1..12)
    ) {
        let mut state = MailboxState::new(UidValidity(1), 1);
        let mut ever = BTreeSet::new();
        let mut expunged = BTreeSet::new();
        for set in steps {
            let next = set.iter().max().map_or(1, |m| m + 1).max(state.uid_next());
            let before = state.snapshot();
            let result = state.reconcile(
                UidValidity(1),
                next,
                set.iter().map(|&n| found(n, Flags::EMPTY)).collect(),
            );
            match result {
                Ok(_) => {
                    for &n in &set {
                        prop_assert!(!expunged.contains(&n), "UID {} came back", n);
                        ever.insert(n);
                    }
                    for &n in &ever {
                        if !set.contains(&n) {
                            expunged.insert(n);
                        }
                    }
                    prop_assert!(state.highest_modseq() >= before.highest_modseq);
                }
                Err(_) => prop_assert_eq!(state.snapshot(), before),
            }
        }
    }
}
