//! `postern-modseq`: the codec's round trip and bounds, and a state
//! resumed from it (what a restart sees).

use super::modseq_file::{ModSeqFile, ModSeqRecord};
use super::*;
use proptest::prelude::*;

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

fn seen() -> Flags {
    Flags::EMPTY.with(Flag::Seen)
}

/// A state with messages 1..=3 appended, 2 flagged \Seen, 1 expunged.
fn worked_state() -> MailboxState {
    let mut state = MailboxState::new(UidValidity(9), 1);
    let all = vec![
        found(1, Flags::EMPTY),
        found(2, Flags::EMPTY),
        found(3, Flags::EMPTY),
    ];
    state.reconcile(UidValidity(9), 4, all).unwrap();
    let after = vec![found(2, seen()), found(3, Flags::EMPTY)];
    state.reconcile(UidValidity(9), 4, after).unwrap();
    state
}

#[test]
fn the_file_round_trips_and_reads_as_documented() {
    let text = "postern-modseq 1 V1796016948 N8 H57 C40\n\
                1 44 - FS $Forwarded\n7 57 45 -\nX 3 41\n";
    let file = ModSeqFile::parse(text.as_bytes()).unwrap();
    assert_eq!(file.highest_modseq, ModSeq(57));
    assert_eq!(
        file.messages[0],
        ModSeqRecord {
            uid: uid(1),
            modseq: ModSeq(44),
            appended: None,
            flags: Flags::EMPTY.with(Flag::Flagged).with(Flag::Seen),
            keywords: ["$Forwarded".to_owned()].into(),
        }
    );
    assert_eq!(file.expunged, [(uid(3), ModSeq(41))]);
    assert_eq!(file.render(), text);
    let state = worked_state();
    let durable = state.durable();
    assert_eq!(
        ModSeqFile::parse(durable.render().as_bytes()).unwrap(),
        durable
    );
}

#[test]
fn a_damaged_file_is_an_error_naming_the_line() {
    let rows: &[(&str, usize)] = &[
        ("", 1),
        ("postern-modseq 2 V1 N1 H1 C1\n", 1),
        ("postern-modseq 1 V1 N1 H1\n", 1),
        ("postern-modseq 1 V1 N9 H5 C1\n1 4 - S\n1 4 - S\n", 3),
        ("postern-modseq 1 V1 N9 H5 C1\n1 4 - Q\n", 2),
        ("postern-modseq 1 V1 N9 H5 C1\n1 4 - S a(b\n", 2),
        ("postern-modseq 1 V1 N9 H5 C1\nX 2 4\n1 4 - S\n", 3),
        ("postern-modseq 1 V1 N9 H5 C1\nX 2 4\nX 3 3\n", 3),
        ("postern-modseq 1 V1 N9 H5 C1\n1 x - S\n", 2),
        ("postern-modseq 1 V1 N9 H5 C1\n1 6 - S\n", 1),
        ("postern-modseq 1 V1 N9 H5 C1\n0 4 - S\n", 2),
    ];
    for &(text, line) in rows {
        let error = ModSeqFile::parse(text.as_bytes()).unwrap_err();
        assert_eq!(error.line, line, "{text:?}: {error}");
    }
}

#[test]
fn a_resumed_state_keeps_modseqs_and_answers_changes_since_with_tombstones() {
    let state = worked_state();
    let highest = state.highest_modseq();
    let file = ModSeqFile::parse(state.durable().render().as_bytes()).unwrap();
    let now = vec![found(2, seen()), found(3, Flags::EMPTY)];
    let (resumed, reconciled) = MailboxState::resume(file, UidValidity(9), 4, now).unwrap();
    assert_eq!(reconciled, Reconciled::Changes(Vec::new()));
    assert_eq!(resumed.highest_modseq(), highest);
    assert_eq!(resumed.snapshot(), state.snapshot());
    // The same changes at the same MODSEQs, but: the append of a message
    // expunged since is not kept (its tombstone is what a client needs),
    // and an append carries the message's flags of now.
    let outline = |changes: Vec<Change>| -> Vec<(u8, Uid, ModSeq)> {
        let kind = |c: &Change| match c {
            Change::Appended(_) => 0,
            Change::FlagsChanged { .. } => 1,
            Change::Expunged { .. } => 2,
        };
        changes
            .iter()
            .map(|c| (kind(c), c.uid(), c.modseq()))
            .collect()
    };
    let mut expected = state.changes_since(ModSeq(0)).unwrap();
    expected.retain(|c| !matches!(c, Change::Appended(m) if m.uid == uid(1)));
    let got = resumed.changes_since(ModSeq(0)).unwrap();
    assert_eq!(outline(got), outline(expected));
    let since = resumed.changes_since(ModSeq(4)).unwrap();
    assert!(
        since
            .iter()
            .any(|c| matches!(c, Change::Expunged { uid: u, .. } if *u == uid(1))),
        "{since:?}"
    );
}

#[test]
fn changes_made_while_no_one_watched_get_modseqs_above_the_kept_highest() {
    let state = worked_state();
    let highest = state.highest_modseq();
    // Meanwhile Dovecot flagged 3, expunged 2 and took in 4.
    let now = vec![found(3, Flags::EMPTY.with(Flag::Flagged)), found(4, seen())];
    let (resumed, reconciled) =
        MailboxState::resume(state.durable(), UidValidity(9), 5, now).unwrap();
    let Reconciled::Changes(changes) = reconciled else {
        panic!("same UIDVALIDITY")
    };
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(changes.iter().all(|c| c.modseq() > highest));
    assert_eq!(resumed.message(uid(3)).unwrap().modseq.0, highest.0 + 2);
    let since = resumed.changes_since(highest).unwrap();
    assert_eq!(since, changes);
}

#[test]
fn a_new_uidvalidity_or_a_rebuild_never_takes_modseq_back() {
    let state = worked_state();
    let highest = state.highest_modseq();
    let (resumed, reconciled) =
        MailboxState::resume(state.durable(), UidValidity(10), 2, vec![found(1, seen())]).unwrap();
    assert_eq!(reconciled, Reconciled::UidValidityChanged);
    assert!(resumed.highest_modseq() > highest);
    assert!(resumed.message(uid(1)).unwrap().modseq > highest);
    assert_eq!(resumed.changes_since(ModSeq(1)), None);
    let mut rebuilt = MailboxState::rebuilt(UidValidity(9), ModSeq(1000));
    rebuilt
        .reconcile(UidValidity(9), 4, vec![found(2, seen())])
        .unwrap();
    assert_eq!(rebuilt.message(uid(2)).unwrap().modseq, ModSeq(1001));
    assert_eq!(rebuilt.changes_since(ModSeq(999)), None);
    assert!(rebuilt.changes_since(ModSeq(1000)).is_some());
}

#[test]
fn tombstones_are_bounded_and_older_asks_are_told_to_resync() {
    let mut state = MailboxState::new(UidValidity(1), 1);
    let total = crate::limits::MAILBOX_CHANGES_KEPT_MAX as u32 + 10;
    // Append and expunge one message at a time: two changes each.
    for n in 1..=total / 2 + 1 {
        state
            .reconcile(UidValidity(1), n + 1, vec![found(n, Flags::EMPTY)])
            .unwrap();
        state.reconcile(UidValidity(1), n + 1, Vec::new()).unwrap();
    }
    let durable = state.durable();
    assert!(durable.expunged.len() <= crate::limits::MAILBOX_CHANGES_KEPT_MAX);
    let file = ModSeqFile::parse(durable.render().as_bytes()).unwrap();
    let (resumed, _) = MailboxState::resume(file, UidValidity(1), total / 2 + 2, vec![]).unwrap();
    assert_eq!(resumed.changes_since(ModSeq(1)), None);
    // The last four changes: two appends (of messages gone since, so not
    // kept) and their two expunges.
    let recent = resumed
        .changes_since(ModSeq(resumed.highest_modseq().0 - 4))
        .unwrap();
    assert_eq!(recent.len(), 2, "{recent:?}");
    assert!(recent.iter().all(|c| matches!(c, Change::Expunged { .. })));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = ModSeqFile::parse(&bytes);
        let mut text = b"postern-modseq 1 V1 N9 H9 C1\n".to_vec();
        text.extend_from_slice(&bytes);
        let _ = ModSeqFile::parse(&text);
    }
}
