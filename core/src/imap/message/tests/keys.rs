//! SEARCH keys that read only the session's figures.

use super::*;

#[test]
fn flag_keyword_set_and_number_keys() {
    use crate::imap::command::{SeqNumber, SequenceRange, SequenceSet};
    use crate::mailbox::Flag;
    let raw = fixture("plain").raw;
    let message = ParsedMessage::parse(raw);
    let keywords: Keywords = ["$Junk".to_owned(), "Work".to_owned()].into();
    let candidate = Candidate {
        seq: 3,
        uid: Uid::new(30).expect("not zero"),
        flags: Flags::EMPTY.with(Flag::Seen).with(Flag::Flagged),
        keywords: &keywords,
        recent: true,
        internal_date: UnixTime(1_000_000),
        size: 448,
        modseq: ModSeq(17),
        message: None,
    };
    let saved = [Uid::new(30).expect("not zero")];
    let context = SearchContext {
        now: UnixTime(1_000_100),
        largest_seq: 5,
        largest_uid: 50,
        saved: &saved,
    };
    let n = |v: u32| SeqNumber::Value(NonZeroU32::new(v).expect("not zero"));
    let range = |start, end| SequenceSet::Ranges(vec![SequenceRange { start, end }]);
    let not = |key: SearchKey| SearchKey::Not(Box::new(key));
    let rows: Vec<(SearchKey, bool)> = vec![
        (SearchKey::All, true),
        (SearchKey::Seen, true),
        (SearchKey::Unseen, false),
        (SearchKey::Flagged, true),
        (SearchKey::Unflagged, false),
        (SearchKey::Answered, false),
        (SearchKey::Unanswered, true),
        (SearchKey::Deleted, false),
        (SearchKey::Undeleted, true),
        (SearchKey::Draft, false),
        (SearchKey::Undraft, true),
        (SearchKey::Keyword("work".into()), true),
        (SearchKey::Keyword("$junk".into()), true),
        (SearchKey::Keyword("Home".into()), false),
        (SearchKey::Unkeyword("Home".into()), true),
        (SearchKey::Unkeyword("Work".into()), false),
        (SearchKey::Recent, true),
        (SearchKey::New, false),
        (SearchKey::Old, false),
        (SearchKey::SequenceSet(range(n(2), n(4))), true),
        (
            SearchKey::SequenceSet(range(n(4), SeqNumber::Largest)),
            false,
        ),
        (
            SearchKey::SequenceSet(range(SeqNumber::Largest, n(3))),
            true,
        ),
        (SearchKey::Uid(range(n(30), n(30))), true),
        (
            SearchKey::Uid(range(SeqNumber::Largest, SeqNumber::Largest)),
            false,
        ),
        (SearchKey::Uid(SequenceSet::Saved), true),
        (SearchKey::SequenceSet(SequenceSet::Saved), true),
        (SearchKey::Larger(447), true),
        (SearchKey::Larger(448), false),
        (SearchKey::Smaller(449), true),
        (SearchKey::Smaller(448), false),
        (SearchKey::ModSeq(17), true),
        (SearchKey::ModSeq(18), false),
        // Internal date 1970-01-12 13:46:40 UTC, 100 s before `now`.
        (SearchKey::Younger(100), true),
        (SearchKey::Younger(99), false),
        (SearchKey::Older(99), true),
        (SearchKey::Older(100), false),
        (SearchKey::On(day(1970, 1, 12)), true),
        (SearchKey::Before(day(1970, 1, 12)), false),
        (SearchKey::Before(day(1970, 1, 13)), true),
        (SearchKey::Since(day(1970, 1, 12)), true),
        (SearchKey::Since(day(1970, 1, 13)), false),
        (
            SearchKey::And(vec![SearchKey::Seen, not(SearchKey::Deleted)]),
            true,
        ),
        (
            SearchKey::Or(
                Box::new(SearchKey::Deleted),
                Box::new(not(SearchKey::Or(
                    Box::new(SearchKey::Draft),
                    Box::new(SearchKey::Answered),
                ))),
            ),
            true,
        ),
        (
            not(SearchKey::And(vec![SearchKey::Seen, SearchKey::Flagged])),
            false,
        ),
        // A content key without content matches nothing.
        (SearchKey::Subject("Café".into()), false),
    ];
    for (key, expected) in rows {
        assert!(!search::needs_content(&key) || matches!(key, SearchKey::Subject(_)));
        assert_eq!(
            search::matches(&key, &candidate, &context),
            expected,
            "{key:?}"
        );
    }
    let with_content = Candidate {
        message: Some(&message),
        ..candidate
    };
    assert!(search::matches(
        &SearchKey::Subject("café MEETING".into()),
        &with_content,
        &context
    ));
}

#[test]
fn needs_content_looks_inside_nesting() {
    let body = SearchKey::Body("x".into());
    assert!(search::needs_content(&body));
    assert!(search::needs_content(&SearchKey::Not(Box::new(
        SearchKey::And(vec![
            SearchKey::Seen,
            SearchKey::Or(
                Box::new(SearchKey::All),
                Box::new(SearchKey::SentOn(day(2026, 1, 1)))
            ),
        ])
    ))));
    assert!(!search::needs_content(&SearchKey::And(vec![
        SearchKey::Seen,
        SearchKey::Larger(3),
        SearchKey::Since(day(2026, 1, 1)),
    ])));
}
