//! The `MailboxStore` contract for folders, subscriptions, special use,
//! COPY, MOVE and usage, run against both stores (see
//! `mailbox_stores.rs`).

mod support;

use postern::mailstore::{FlagOp, FolderStatus, MailboxStore, SpecialUse, StoreError, Usage};
use postern_core::mailbox::{Change, Flag, Flags, Keywords, Uid};
use postern_core::time::UnixTime;
use support::mailstore::*;
use support::postgres::database;

both!(
    folders_are_created_renamed_with_their_children_and_deleted,
    subscriptions_keep_their_order_and_may_name_missing_folders,
    special_use_is_kept_for_created_folders_and_follows_renames,
    copy_keeps_flags_keywords_and_date_and_answers_pairs_in_source_order,
    move_leaves_each_message_in_one_folder_and_records_expunges,
    folder_figures_and_usage_sum_every_folder,
    opposite_moves_by_two_nodes_at_once_lose_and_double_nothing,
);

async fn folders_are_created_renamed_with_their_children_and_deleted<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    append(&store, "INBOX", "Subject: a\r\n\r\nx\r\n").await;
    store.create_folder(&alice(), "Lists").await.unwrap();
    store.create_folder(&alice(), "Lists.rust").await.unwrap();
    assert!(matches!(
        store.create_folder(&alice(), "Lists").await,
        Err(StoreError::FolderExists(_))
    ));
    assert!(matches!(
        store.create_folder(&alice(), "inbox").await,
        Err(StoreError::FolderExists(_))
    ));
    append(&store, "Lists.rust", "r1\r\n").await;
    append(&store, "Lists.rust", "r2\r\n").await;
    store
        .expunge(&alice(), "Lists.rust", &[uid(1)])
        .await
        .unwrap();
    let rust = store.open(&alice(), "Lists.rust").await.unwrap();
    store.subscribe(&alice(), "Lists.rust", true).await.unwrap();
    store
        .rename_folder(&alice(), "Lists", "Groups")
        .await
        .unwrap();
    let folders = store.folders(&alice()).await.unwrap();
    let names: Vec<&str> = folders.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "INBOX",
            "Archive",
            "Drafts",
            "Groups",
            "Groups.rust",
            "Junk",
            "Sent",
            "Trash"
        ]
    );
    assert_eq!(
        (folders[0].messages, folders[0].unseen, folders[0].size),
        (1, 1, 17)
    );
    assert!(folders[0].subscribed, "INBOX is always subscribed");
    let moved = store.open(&alice(), "Groups.rust").await.unwrap();
    assert_eq!(
        moved, rust,
        "UIDs, UIDVALIDITY and MODSEQs go with the rename"
    );
    assert!(
        store
            .subscriptions(&alice())
            .await
            .unwrap()
            .contains(&"Groups.rust".to_owned())
    );
    assert!(matches!(
        store.rename_folder(&alice(), "Groups", "Sent").await,
        Err(StoreError::FolderExists(_))
    ));
    assert!(matches!(
        store.rename_folder(&alice(), "INBOX", "Old").await,
        Err(StoreError::InboxIsPermanent)
    ));
    assert!(matches!(
        store.rename_folder(&alice(), "Nope", "Other").await,
        Err(StoreError::NoSuchFolder(_))
    ));
    store.delete_folder(&alice(), "Groups").await.unwrap();
    assert!(matches!(
        store.open(&alice(), "Groups.rust").await,
        Err(StoreError::NoSuchFolder(_))
    ));
    // The subscription outlives the folder (RFC 3501 6.3.6).
    assert!(
        store
            .subscriptions(&alice())
            .await
            .unwrap()
            .contains(&"Groups.rust".to_owned())
    );
    assert!(matches!(
        store.delete_folder(&alice(), "INBOX").await,
        Err(StoreError::InboxIsPermanent)
    ));
    assert!(matches!(
        store.delete_folder(&alice(), "Nope").await,
        Err(StoreError::NoSuchFolder(_))
    ));
    // Made again under its old name: a new UIDVALIDITY, UIDs from 1.
    store.create_folder(&alice(), "Groups.rust").await.unwrap();
    let fresh = store.open(&alice(), "Groups.rust").await.unwrap();
    assert_ne!(fresh.uid_validity, rust.uid_validity);
    assert_eq!((fresh.uid_next, fresh.messages.len()), (1, 0));
    // A user deletes a default folder: it is not made again.
    store.delete_folder(&alice(), "Junk").await.unwrap();
    let again = backend.store(2).await.folders(&alice()).await.unwrap();
    assert!(again.iter().all(|f| f.name != "Junk"));
}

async fn subscriptions_keep_their_order_and_may_name_missing_folders<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    store.subscribe(&alice(), "Lists.rust", true).await.unwrap();
    store.subscribe(&alice(), "Junk", false).await.unwrap();
    store.subscribe(&alice(), "Sent", true).await.unwrap();
    assert_eq!(
        store.subscriptions(&alice()).await.unwrap(),
        ["Sent", "Drafts", "Trash", "Archive", "Lists.rust"]
    );
    let folders = store.folders(&alice()).await.unwrap();
    assert!(
        !folders
            .iter()
            .find(|f| f.name == "Junk")
            .unwrap()
            .subscribed
    );
    assert!(
        folders
            .iter()
            .find(|f| f.name == "Sent")
            .unwrap()
            .subscribed
    );
    assert!(matches!(
        store.subscribe(&alice(), "a..b", true).await,
        Err(StoreError::BadFolderName(_))
    ));
}

async fn special_use_is_kept_for_created_folders_and_follows_renames<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    store
        .create_folder_with_use(&alice(), "Important", Some(SpecialUse::Flagged))
        .await
        .unwrap();
    store
        .create_folder_with_use(&alice(), "Plain", None)
        .await
        .unwrap();
    let uses = |folders: &[FolderStatus]| -> Vec<(String, Option<SpecialUse>)> {
        folders
            .iter()
            .map(|f| (f.name.clone(), f.special_use))
            .collect()
    };
    assert_eq!(
        uses(&store.folders(&alice()).await.unwrap()),
        [
            ("INBOX".into(), None),
            ("Archive".into(), Some(SpecialUse::Archive)),
            ("Drafts".into(), Some(SpecialUse::Drafts)),
            ("Important".into(), Some(SpecialUse::Flagged)),
            ("Junk".into(), Some(SpecialUse::Junk)),
            ("Plain".into(), None),
            ("Sent".into(), Some(SpecialUse::Sent)),
            ("Trash".into(), Some(SpecialUse::Trash)),
        ]
    );
    store.subscribe(&alice(), "Important", true).await.unwrap();
    store
        .rename_folder(&alice(), "Important", "Starred")
        .await
        .unwrap();
    let folders = store.folders(&alice()).await.unwrap();
    let starred = folders.iter().find(|f| f.name == "Starred").unwrap();
    assert_eq!(starred.special_use, Some(SpecialUse::Flagged));
    assert!(starred.subscribed);
}

async fn copy_keeps_flags_keywords_and_date_and_answers_pairs_in_source_order<B: Backend>(
    backend: &B,
) {
    let store = backend.store(1).await;
    three_in_inbox(&store).await;
    store
        .append(
            &alice(),
            "Archive",
            &b"x\r\n"[..],
            Flags::EMPTY,
            &keywords(&["Other"]),
            UnixTime(5),
        )
        .await
        .unwrap();
    let result = store
        .copy(
            &alice(),
            "INBOX",
            &[uid(3), uid(9), uid(1), uid(2)],
            "Archive",
        )
        .await
        .unwrap();
    let archive = store.open(&alice(), "Archive").await.unwrap();
    assert_eq!(result.uid_validity, archive.uid_validity);
    assert_eq!(
        result.pairs,
        [(uid(1), uid(2)), (uid(2), uid(3)), (uid(3), uid(4))]
    );
    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    for (source, copy) in inbox.messages.iter().zip(&archive.messages[1..]) {
        assert_eq!(
            (
                source.flags,
                &source.keywords,
                source.internal_date,
                source.size
            ),
            (copy.flags, &copy.keywords, copy.internal_date, copy.size)
        );
        let (_, original) = read(&store, "INBOX", source.uid).await;
        assert_eq!(read(&store, "Archive", copy.uid).await.1, original);
    }
    // Into the same folder: new UIDs, the originals stay.
    let again = store
        .copy(&alice(), "INBOX", &[uid(2)], "INBOX")
        .await
        .unwrap();
    assert_eq!(again.pairs, [(uid(2), uid(4))]);
    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&inbox), [1, 2, 3, 4]);
    assert_eq!(inbox.messages[3].keywords, keywords(&["$Forwarded"]));
    assert!(matches!(
        store.copy(&alice(), "INBOX", &[uid(1)], "Nope").await,
        Err(StoreError::NoSuchFolder(_))
    ));
    let none = store
        .copy(&alice(), "INBOX", &[uid(99)], "Trash")
        .await
        .unwrap();
    assert!(none.pairs.is_empty());
}

async fn move_leaves_each_message_in_one_folder_and_records_expunges<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    three_in_inbox(&store).await;
    let before = store.open(&alice(), "INBOX").await.unwrap();
    let (_, two) = read(&store, "INBOX", uid(2)).await;
    let result = store
        .move_messages(&alice(), "INBOX", &[uid(2), uid(3), uid(7)], "Trash")
        .await
        .unwrap();
    assert_eq!(result.expunged, [uid(2), uid(3)]);
    assert_eq!(result.copied.pairs, [(uid(2), uid(1)), (uid(3), uid(2))]);
    let trash = store.open(&alice(), "Trash").await.unwrap();
    assert_eq!(result.copied.uid_validity, trash.uid_validity);
    assert_eq!(trash.messages[0].flags, Flags::EMPTY.with(Flag::Flagged));
    assert_eq!(trash.messages[0].keywords, keywords(&["$Forwarded"]));
    assert_eq!(trash.messages[0].internal_date, UnixTime(1_700_000_002));
    assert_eq!(read(&store, "Trash", uid(1)).await.1, two);
    assert_eq!(uids(&store.open(&alice(), "INBOX").await.unwrap()), [1]);
    let changes = store
        .changes_since(&alice(), "INBOX", before.highest_modseq)
        .await
        .unwrap()
        .unwrap();
    let gone: Vec<Uid> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Expunged { uid, .. } => Some(*uid),
            _ => None,
        })
        .collect();
    assert_eq!(gone, [uid(2), uid(3)]);
    // Back again, and within one folder.
    let back = store
        .move_messages(&alice(), "Trash", &[uid(1)], "INBOX")
        .await
        .unwrap();
    assert_eq!(back.copied.pairs, [(uid(1), uid(4))]);
    let within = store
        .move_messages(&alice(), "INBOX", &[uid(1)], "INBOX")
        .await
        .unwrap();
    assert_eq!(
        (within.copied.pairs, within.expunged),
        (vec![(uid(1), uid(5))], vec![uid(1)])
    );
    assert_eq!(uids(&store.open(&alice(), "INBOX").await.unwrap()), [4, 5]);
    assert_eq!(read(&store, "INBOX", uid(4)).await.1, two);
}

async fn folder_figures_and_usage_sum_every_folder<B: Backend>(backend: &B) {
    let store = backend.store(1).await;
    three_in_inbox(&store).await;
    let deleted = Flags::EMPTY.with(Flag::Deleted);
    store
        .store_flags(
            &alice(),
            "INBOX",
            &[uid(1), uid(3)],
            FlagOp::Add,
            deleted,
            &Keywords::new(),
        )
        .await
        .unwrap();
    store
        .copy(&alice(), "INBOX", &[uid(2)], "Archive")
        .await
        .unwrap();
    let folders = store.folders(&alice()).await.unwrap();
    let inbox = &folders[0];
    assert_eq!((inbox.messages, inbox.deleted, inbox.unseen), (3, 2, 2));
    let snapshot = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(inbox.highest_modseq, snapshot.highest_modseq);
    assert_eq!(
        (inbox.uid_next, inbox.uid_validity),
        (4, snapshot.uid_validity)
    );
    let usage = store.usage(&alice()).await.unwrap();
    let sizes: u64 =
        snapshot.messages.iter().map(|m| m.size).sum::<u64>() + snapshot.messages[1].size;
    assert_eq!(
        usage,
        Usage {
            bytes: sizes,
            messages: 4
        }
    );
}

async fn opposite_moves_by_two_nodes_at_once_lose_and_double_nothing<B: Backend>(backend: &B) {
    let (a, b) = (backend.store(1).await, backend.store(2).await);
    for i in 0..10 {
        append(&a, "INBOX", &format!("inbox {i}\r\n")).await;
        append(&a, "Archive", &format!("archive {i}\r\n")).await;
    }
    let mover = |store: B::Store, from: &'static str, to: &'static str| async move {
        for n in 1..=10 {
            store
                .move_messages(&alice(), from, &[uid(n)], to)
                .await
                .unwrap();
        }
    };
    tokio::join!(
        mover(a.clone(), "INBOX", "Archive"),
        mover(b, "Archive", "INBOX")
    );
    let mut texts = Vec::new();
    for folder in ["INBOX", "Archive"] {
        let snapshot = a.open(&alice(), folder).await.unwrap();
        for meta in &snapshot.messages {
            let (_, bytes) = read(&a, folder, meta.uid).await;
            texts.push(String::from_utf8(bytes).unwrap());
        }
    }
    texts.sort();
    let mut expected: Vec<String> = (0..10)
        .flat_map(|i| [format!("archive {i}\r\n"), format!("inbox {i}\r\n")])
        .collect();
    expected.sort();
    assert_eq!(texts, expected);
}
