//! The `MailboxStore` contract for messages, run against both stores:
//! the Maildir store (files) and the postgres store (a throwaway cluster
//! per test process, a database per test). Each behaviour is one generic
//! test function and a `#[tokio::test]` per store (`NAME::maildir`,
//! `NAME::postgres`, made by `both!`); a second store on the same
//! directory or database is a second process or node. Folders, copy and
//! move are in `mailbox_folders.rs`; what only the postgres store does in
//! `postgres_mailbox.rs`.

mod support;

use postern::mailstore::{FlagOp, MailboxStore, StoreError};
use postern_core::mailbox::{Change, Flag, Flags, Keywords, ModSeq, Uid};
use postern_core::time::UnixTime;
use std::collections::BTreeSet;
use std::time::Duration;
use support::mailstore::*;
use support::postgres::database;

both!(
    append_then_read_gives_crlf_bytes_of_the_recorded_size,
    uids_increase_and_are_never_reused_after_expunge,
    flags_and_keywords_change_with_new_modseqs,
    changes_since_names_appends_flag_changes_and_expunges,
    multiappend_stores_all_or_none,
    two_nodes_appending_at_once_get_distinct_increasing_uids,
    watch_fires_after_this_stores_append_flags_and_expunge,
);

async fn append_then_read_gives_crlf_bytes_of_the_recorded_size<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    let first = append(&store, "INBOX", "Subject: lf\n\nbody\n").await;
    // Larger than a chunk of the postgres store's blobs (256 KiB), with
    // bare LFs across the chunks' edges.
    let big = format!("Subject: big\n\n{}", "line of text\n".repeat(60_000));
    let second = append(&store, "INBOX", &big).await;
    let snapshot = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&snapshot), [first.get(), second.get()]);
    let (size, bytes) = read(&store, "INBOX", first).await;
    assert_eq!(bytes, b"Subject: lf\r\n\r\nbody\r\n");
    assert_eq!((size, snapshot.messages[0].size), (21, 21));
    let (size, bytes) = read(&store, "INBOX", second).await;
    let crlf = big.replace('\n', "\r\n");
    assert!(bytes == crlf.as_bytes(), "the large message differs");
    assert_eq!(
        (size, snapshot.messages[1].size),
        (crlf.len() as u64, crlf.len() as u64)
    );
    assert!(matches!(
        store.read(&alice(), "INBOX", uid(9)).await,
        Err(StoreError::NoSuchMessage(_))
    ));
    assert!(matches!(
        store.open(&alice(), "Nope").await,
        Err(StoreError::NoSuchFolder(_))
    ));
    assert!(matches!(
        store.open(&alice(), "../x").await,
        Err(StoreError::BadFolderName(_))
    ));
    // Another node (or process) sees the same, INBOX in any case.
    let other = backend.store(2).await;
    let again = other.open(&alice(), "inbox").await.unwrap();
    assert_eq!(again, snapshot);
    assert_eq!(
        read(&other, "INBOX", first).await.1,
        b"Subject: lf\r\n\r\nbody\r\n"
    );
}

async fn uids_increase_and_are_never_reused_after_expunge<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    for text in ["a\r\n", "b\r\n", "c\r\n"] {
        append(&store, "INBOX", text).await;
    }
    let before = store.open(&alice(), "INBOX").await.unwrap();
    let mut removed = store
        .expunge(&alice(), "INBOX", &[uid(3), uid(2), uid(7)])
        .await
        .unwrap();
    removed.sort();
    assert_eq!(removed, [uid(2), uid(3)]);
    assert!(
        store
            .expunge(&alice(), "INBOX", &[uid(2)])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(append(&store, "INBOX", "d\r\n").await, uid(4));
    let after = backend
        .store(2)
        .await
        .open(&alice(), "INBOX")
        .await
        .unwrap();
    assert_eq!(uids(&after), [1, 4]);
    assert_eq!(after.uid_next, 5);
    assert_eq!(after.uid_validity, before.uid_validity);
    assert!(after.highest_modseq > before.highest_modseq);
}

async fn flags_and_keywords_change_with_new_modseqs<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    let forwarded = keywords(&["$Forwarded", "Work"]);
    let new = store
        .append(
            &alice(),
            "Sent",
            &b"Subject: s\r\n\r\nx\r\n"[..],
            Flags::EMPTY.with(Flag::Flagged),
            &forwarded,
            UnixTime(1_700_000_000),
        )
        .await
        .unwrap();
    let before = store.open(&alice(), "Sent").await.unwrap();
    assert_eq!(before.messages[0].keywords, forwarded);
    let changes = store
        .store_flags(
            &alice(),
            "Sent",
            &[new],
            FlagOp::Add,
            seen(),
            &Keywords::new(),
        )
        .await
        .unwrap();
    let both = Flags::EMPTY.with(Flag::Flagged).with(Flag::Seen);
    assert!(
        matches!(&changes[..], [Change::FlagsChanged { flags, modseq, .. }]
            if *flags == both && *modseq > before.highest_modseq),
        "{changes:?}"
    );
    // Nothing changes: no change, no MODSEQ.
    let again = store
        .store_flags(
            &alice(),
            "Sent",
            &[new],
            FlagOp::Add,
            seen(),
            &Keywords::new(),
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    store
        .store_flags(
            &alice(),
            "Sent",
            &[new],
            FlagOp::Remove,
            Flags::EMPTY,
            &keywords(&["Work"]),
        )
        .await
        .unwrap();
    let after = store.open(&alice(), "Sent").await.unwrap();
    let meta = &after.messages[0];
    assert_eq!(meta.flags, both);
    assert_eq!(meta.keywords, keywords(&["$Forwarded"]));
    assert_eq!(meta.internal_date, UnixTime(1_700_000_000));
    assert_eq!(meta.modseq, after.highest_modseq);
    assert!(after.highest_modseq > changes[0].modseq());
    store
        .store_flags(
            &alice(),
            "Sent",
            &[new],
            FlagOp::Set,
            Flags::EMPTY,
            &keywords(&["Later"]),
        )
        .await
        .unwrap();
    let set = store.open(&alice(), "Sent").await.unwrap();
    assert_eq!(
        (set.messages[0].flags, &set.messages[0].keywords),
        (Flags::EMPTY, &keywords(&["Later"]))
    );
    assert!(matches!(
        store
            .store_flags(
                &alice(),
                "Sent",
                &[new],
                FlagOp::Add,
                seen(),
                &keywords(&["a b"])
            )
            .await,
        Err(StoreError::BadKeyword(_))
    ));
    // A folder holds at most 26 keywords (Maildir's letters a to z).
    let many: Vec<String> = (0..26).map(|i| format!("k{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(matches!(
        store
            .store_flags(
                &alice(),
                "Sent",
                &[new],
                FlagOp::Add,
                Flags::EMPTY,
                &keywords(&many)
            )
            .await,
        Err(StoreError::BadKeyword(_))
    ));
    assert_eq!(store.open(&alice(), "Sent").await.unwrap(), set);
}

async fn changes_since_names_appends_flag_changes_and_expunges<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    append(&store, "INBOX", "old\r\n").await;
    let start = store.open(&alice(), "INBOX").await.unwrap();
    let one = append(&store, "INBOX", "one\r\n").await;
    let two = append(&store, "INBOX", "two\r\n").await;
    store
        .store_flags(
            &alice(),
            "INBOX",
            &[one, uid(1)],
            FlagOp::Add,
            seen(),
            &Keywords::new(),
        )
        .await
        .unwrap();
    store.expunge(&alice(), "INBOX", &[two]).await.unwrap();
    let now = store.open(&alice(), "INBOX").await.unwrap();
    // From this store and from another node (or a restart).
    for reader in [store.clone(), backend.store(2).await] {
        let changes = reader
            .changes_since(&alice(), "INBOX", start.highest_modseq)
            .await
            .unwrap()
            .unwrap();
        let modseqs: Vec<ModSeq> = changes.iter().map(Change::modseq).collect();
        assert!(
            modseqs.windows(2).all(|w| w[0] < w[1]),
            "oldest first: {changes:?}"
        );
        assert!(
            modseqs
                .iter()
                .all(|m| *m > start.highest_modseq && *m <= now.highest_modseq)
        );
        assert!(
            changes
                .iter()
                .any(|c| matches!(c, Change::Appended(m) if m.uid == one))
        );
        let flagged: BTreeSet<Uid> = changes
            .iter()
            .filter_map(|c| match c {
                Change::FlagsChanged { uid, flags, .. } if *flags == seen() => Some(*uid),
                _ => None,
            })
            .collect();
        assert!(flagged.contains(&uid(1)), "{changes:?}");
        let gone: Vec<Uid> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Expunged { uid, .. } => Some(*uid),
                _ => None,
            })
            .collect();
        assert_eq!(gone, [two]);
        assert_eq!(
            reader
                .changes_since(&alice(), "INBOX", now.highest_modseq)
                .await
                .unwrap(),
            Some(Vec::new())
        );
    }
}

async fn multiappend_stores_all_or_none<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    three_in_inbox(&store).await;
    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(inbox.messages[0].internal_date, UnixTime(1_700_000_001));
    assert_eq!(inbox.messages[1].keywords, keywords(&["$Forwarded"]));
    assert_eq!(
        inbox.messages[2].size,
        "Subject: 3\r\n\r\nthree\r\n".len() as u64
    );
    let bad = vec![
        message("a\r\n", Flags::EMPTY, &[], 1),
        message("b\r\n", Flags::EMPTY, &["not an atom"], 1),
    ];
    assert!(matches!(
        store.append_many(&alice(), "INBOX", bad).await,
        Err(StoreError::BadKeyword(_))
    ));
    // The 27th keyword has no letter left: refused after the first
    // message was already placed.
    let many: Vec<String> = (0..27).map(|i| format!("k{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let full = vec![
        message("c\r\n", Flags::EMPTY, &many[..20], 1),
        message("d\r\n", Flags::EMPTY, &many[20..], 1),
    ];
    assert!(matches!(
        store.append_many(&alice(), "INBOX", full).await,
        Err(StoreError::BadKeyword(_))
    ));
    let after = backend
        .store(2)
        .await
        .open(&alice(), "INBOX")
        .await
        .unwrap();
    assert_eq!(after.messages, inbox.messages);
    assert_eq!(after.uid_next, 4);
    let too_many = (0..=postern_core::limits::MULTIAPPEND_MESSAGES_MAX)
        .map(|_| message("x\r\n", Flags::EMPTY, &[], 1))
        .collect();
    assert!(matches!(
        store.append_many(&alice(), "INBOX", too_many).await,
        Err(StoreError::TooManyMessages { .. })
    ));
}

async fn two_nodes_appending_at_once_get_distinct_increasing_uids<B: Backend>(backend: &B) {
    let (a, b) = (backend.store(1).await, backend.store(2).await);
    // Both users exist before the race, as a delivery would find them.
    a.open(&alice(), "INBOX").await.unwrap();
    let node = |store: B::Store, name: &'static str| async move {
        let mut mine = Vec::new();
        for i in 0..15 {
            mine.push(append(&store, "INBOX", &format!("{name} {i}\r\n")).await);
        }
        mine
    };
    let (from_a, from_b) = tokio::join!(node(a.clone(), "a"), node(b, "b"));
    for mine in [&from_a, &from_b] {
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
    }
    let all: BTreeSet<u32> = from_a.iter().chain(&from_b).map(|u| u.get()).collect();
    assert_eq!(all, (1..=30).collect::<BTreeSet<u32>>());
    let snapshot = a.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&snapshot), (1..=30).collect::<Vec<u32>>());
    for meta in &snapshot.messages {
        let (_, bytes) = read(&a, "INBOX", meta.uid).await;
        let text = String::from_utf8(bytes).unwrap();
        let (node, _) = text.split_once(' ').unwrap();
        let expected = if node == "a" { &from_a } else { &from_b };
        assert!(
            expected.contains(&meta.uid),
            "UID {} holds {text:?}",
            meta.uid
        );
    }
}

async fn watch_fires_after_this_stores_append_flags_and_expunge<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    store.open(&alice(), "INBOX").await.unwrap();
    let mut watch = store.watch(&alice(), "INBOX");
    watch.borrow_and_update();
    let new = append(&store, "INBOX", "x\r\n").await;
    tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .unwrap()
        .unwrap();
    let modseq = *watch.borrow_and_update();
    store
        .store_flags(
            &alice(),
            "INBOX",
            &[new],
            FlagOp::Add,
            seen(),
            &Keywords::new(),
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .unwrap()
        .unwrap();
    assert!(*watch.borrow_and_update() > modseq);
    store.expunge(&alice(), "INBOX", &[new]).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .unwrap()
        .unwrap();
}
