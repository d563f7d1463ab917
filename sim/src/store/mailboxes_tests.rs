//! The simulation's `MailboxStore` against the expectations the Maildir
//! store's tests set (`runtime-tokio/src/mailstore/maildir/tests*.rs`),
//! and a proptest that random operations keep the model's rules.

use super::MemoryStore;
use super::maildrop;
use postern::mailstore::{
    FlagOp, FolderStatus, MailboxStore, NewMessage, SpecialUse, StoreError, Usage,
};
use postern_core::directory::Directory;
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::mailbox::{Change, Flag, Flags, Keywords, Snapshot, Uid};
use postern_core::time::UnixTime;
use std::time::Duration;
use tokio::io::AsyncReadExt;

pub(super) fn alice() -> LocalMailbox {
    LocalMailbox::new("alice", "x.test")
}

pub(super) fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

fn keywords(words: &[&str]) -> Keywords {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn message(text: &str, flags: Flags, words: &[&str], date: i64) -> NewMessage {
    NewMessage {
        content: text.as_bytes().to_vec(),
        flags,
        keywords: keywords(words),
        internal_date: UnixTime(date),
    }
}

pub(super) fn store() -> MemoryStore {
    MemoryStore::new(Directory::new(&[])).with_mailbox_step(Duration::ZERO)
}

fn uids(snapshot: &Snapshot) -> Vec<u32> {
    snapshot.messages.iter().map(|m| m.uid.get()).collect()
}

/// Three messages in INBOX: 1 \Seen with `Work`, 2 \Flagged with
/// `$Forwarded`, 3 plain.
pub(super) async fn three_in_inbox() -> MemoryStore {
    let store = store();
    let seen = Flags::EMPTY.with(Flag::Seen);
    let flagged = Flags::EMPTY.with(Flag::Flagged);
    let messages = vec![
        message("Subject: 1\r\n\r\none\r\n", seen, &["Work"], 1_700_000_001),
        message(
            "Subject: 2\r\n\r\ntwo\r\n",
            flagged,
            &["$Forwarded"],
            1_700_000_002,
        ),
        message(
            "Subject: 3\r\n\r\nthree\r\n",
            Flags::EMPTY,
            &[],
            1_700_000_003,
        ),
    ];
    let (_, new) = store
        .append_many(&alice(), "INBOX", messages)
        .await
        .unwrap();
    assert_eq!(new, [uid(1), uid(2), uid(3)]);
    store
}

pub(super) async fn read_all(store: &MemoryStore, folder: &str, n: u32) -> Vec<u8> {
    let mut reader = store.read(&alice(), folder, uid(n)).await.unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    assert_eq!(out.len() as u64, reader.size());
    out
}

#[tokio::test]
async fn copy_keeps_flags_keywords_and_date_and_answers_pairs_in_source_order() {
    let store = three_in_inbox().await;
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
    }
    assert_eq!(
        read_all(&store, "Archive", 3).await,
        b"Subject: 2\r\n\r\ntwo\r\n"
    );
    // Into the same folder: new UIDs, the originals stay.
    let again = store
        .copy(&alice(), "INBOX", &[uid(2)], "INBOX")
        .await
        .unwrap();
    assert_eq!(again.pairs, [(uid(2), uid(4))]);
    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(inbox.messages.len(), 4);
    assert_eq!(inbox.messages[3].keywords, keywords(&["$Forwarded"]));
    assert!(matches!(
        store.copy(&alice(), "INBOX", &[uid(1)], "Nope").await,
        Err(StoreError::NoSuchFolder(_))
    ));
}

#[tokio::test]
async fn move_takes_messages_out_of_the_source_which_records_expunges() {
    let store = three_in_inbox().await;
    let before = store.open(&alice(), "INBOX").await.unwrap();
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
    assert_eq!(
        read_all(&store, "Trash", 1).await,
        b"Subject: 2\r\n\r\ntwo\r\n"
    );
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
}

/// A crash in the middle of a move: the host running it is crashed in
/// virtual time between its first and second step (20 ms each). The
/// message moved is in the target only, the rest in the source only;
/// none is in both, none is lost.
#[test]
fn a_move_cut_short_by_a_crash_leaves_each_message_in_one_folder() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let store = runtime
        .block_on(three_in_inbox())
        .with_mailbox_step(super::MAILBOX_STEP);
    let mut sim = turmoil::Builder::new()
        .tick_duration(Duration::from_millis(1))
        .build();
    let moving = store.clone();
    sim.host("mail", move || {
        let store = moving.clone();
        async move {
            let all = [uid(1), uid(2), uid(3)];
            store.move_messages(&alice(), "INBOX", &all, "Junk").await?;
            Ok(())
        }
    });
    let crash_at = super::MAILBOX_STEP.as_millis() * 3 / 2;
    for _ in 0..crash_at {
        sim.step().unwrap();
    }
    sim.crash("mail");
    let (inbox, junk) = runtime.block_on(async {
        (
            store.open(&alice(), "INBOX").await.unwrap(),
            store.open(&alice(), "Junk").await.unwrap(),
        )
    });
    assert_eq!(uids(&inbox), [2, 3]);
    assert_eq!(uids(&junk), [1]);
    assert_eq!(junk.messages[0].internal_date, UnixTime(1_700_000_001));
    assert_eq!(
        runtime.block_on(read_all(&store, "Junk", 1)),
        b"Subject: 1\r\n\r\none\r\n"
    );
}

#[tokio::test]
async fn multiappend_stores_all_or_none() {
    let store = three_in_inbox().await;
    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(inbox.messages[0].internal_date, UnixTime(1_700_000_001));
    assert_eq!(inbox.messages[1].keywords, keywords(&["$Forwarded"]));
    assert_eq!(
        inbox.messages[2].size,
        "Subject: 3\r\n\r\nthree\r\n".len() as u64
    );
    // The second message's keyword is refused: nothing is stored.
    let bad = vec![
        message("a\r\n", Flags::EMPTY, &[], 1),
        message("b\r\n", Flags::EMPTY, &["not an atom"], 1),
    ];
    assert!(matches!(
        store.append_many(&alice(), "INBOX", bad).await,
        Err(StoreError::BadKeyword(_))
    ));
    let too_many = (0..=postern_core::limits::MULTIAPPEND_MESSAGES_MAX)
        .map(|_| message("x\r\n", Flags::EMPTY, &[], 1))
        .collect();
    assert!(matches!(
        store.append_many(&alice(), "INBOX", too_many).await,
        Err(StoreError::TooManyMessages { .. })
    ));
    assert!(matches!(
        store
            .append_many(
                &alice(),
                "Nope",
                vec![message("x\r\n", Flags::EMPTY, &[], 1)]
            )
            .await,
        Err(StoreError::NoSuchFolder(_))
    ));
    assert_eq!(store.open(&alice(), "INBOX").await.unwrap(), inbox);
    // LF text is kept with CRLF line ends, and its size counts them.
    let lf = vec![message("a\nb\n", Flags::EMPTY, &[], 1)];
    let (validity, new) = store.append_many(&alice(), "INBOX", lf).await.unwrap();
    assert_eq!((validity, new), (inbox.uid_validity, vec![uid(4)]));
    assert_eq!(read_all(&store, "INBOX", 4).await, b"a\r\nb\r\n");
}

#[tokio::test]
async fn modseqs_only_go_up_and_changes_since_tells_of_expunges() {
    let store = three_in_inbox().await;
    let start = store.open(&alice(), "INBOX").await.unwrap();
    let mut highest = start.highest_modseq;
    let seen = Flags::EMPTY.with(Flag::Seen);
    let changes = store
        .store_flags(
            &alice(),
            "INBOX",
            &[uid(3), uid(8)],
            FlagOp::Add,
            seen,
            &keywords(&["Later"]),
        )
        .await
        .unwrap();
    assert!(
        matches!(&changes[..], [Change::FlagsChanged { uid: u, flags, keywords: k, modseq }]
            if *u == uid(3) && *flags == seen && *k == keywords(&["Later"]) && *modseq > highest),
        "{changes:?}"
    );
    highest = changes[0].modseq();
    // A change to what is already so changes nothing.
    let none = store
        .store_flags(
            &alice(),
            "INBOX",
            &[uid(3)],
            FlagOp::Add,
            seen,
            &Keywords::new(),
        )
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(
        store.open(&alice(), "INBOX").await.unwrap().highest_modseq,
        highest
    );
    let removed = store
        .expunge(&alice(), "INBOX", &[uid(2), uid(2), uid(9)])
        .await
        .unwrap();
    assert_eq!(removed, [uid(2)]);
    let after = store.open(&alice(), "INBOX").await.unwrap();
    assert!(after.highest_modseq > highest);
    let changes = store
        .changes_since(&alice(), "INBOX", start.highest_modseq)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&changes[..], [Change::FlagsChanged { .. }, Change::Expunged { uid: u, modseq }]
            if *u == uid(2) && *modseq == after.highest_modseq),
        "{changes:?}"
    );
    assert!(matches!(
        store
            .store_flags(
                &alice(),
                "INBOX",
                &[uid(1)],
                FlagOp::Add,
                seen,
                &keywords(&["a b"])
            )
            .await,
        Err(StoreError::BadKeyword(_))
    ));
    // Changes beyond what the model keeps: a session must re-open.
    let flagged = Flags::EMPTY.with(Flag::Flagged);
    for n in 0..=postern_core::limits::MAILBOX_CHANGES_KEPT_MAX {
        let op = if n % 2 == 0 {
            FlagOp::Add
        } else {
            FlagOp::Remove
        };
        store
            .store_flags(&alice(), "INBOX", &[uid(1)], op, flagged, &Keywords::new())
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .changes_since(&alice(), "INBOX", start.highest_modseq)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn expunged_uids_are_never_handed_out_again_nor_after_a_folder_is_made_again() {
    let store = store();
    for text in ["a\r\n", "b\r\n"] {
        store
            .append(
                &alice(),
                "Sent",
                text.as_bytes(),
                Flags::EMPTY,
                &Keywords::new(),
                UnixTime(1),
            )
            .await
            .unwrap();
    }
    store.expunge(&alice(), "Sent", &[uid(2)]).await.unwrap();
    let next = store
        .append(
            &alice(),
            "Sent",
            &b"c\r\n"[..],
            Flags::EMPTY,
            &Keywords::new(),
            UnixTime(1),
        )
        .await
        .unwrap();
    assert_eq!(next, uid(3));
    let old = store.open(&alice(), "Sent").await.unwrap().uid_validity;
    store.delete_folder(&alice(), "Sent").await.unwrap();
    store.create_folder(&alice(), "Sent").await.unwrap();
    let new = store.open(&alice(), "Sent").await.unwrap();
    assert!(new.uid_validity > old, "{} then {}", old, new.uid_validity);
    assert_eq!((new.uid_next, new.messages.len()), (1, 0));
}

#[tokio::test]
async fn subscriptions_may_name_folders_that_do_not_exist() {
    let store = store();
    store.subscribe(&alice(), "Lists.rust", true).await.unwrap();
    store.subscribe(&alice(), "Junk", false).await.unwrap();
    store.subscribe(&alice(), "Sent", true).await.unwrap();
    assert_eq!(
        store.subscriptions(&alice()).await.unwrap(),
        ["Sent", "Drafts", "Trash", "Archive", "Lists.rust"]
    );
    let folders = store.folders(&alice()).await.unwrap();
    let junk = folders.iter().find(|f| f.name == "Junk").unwrap();
    assert!(!junk.subscribed);
    assert!(folders[0].subscribed, "INBOX is always subscribed");
    assert!(matches!(
        store.subscribe(&alice(), "a..b", true).await,
        Err(StoreError::BadFolderName(_))
    ));
}

#[tokio::test]
async fn special_use_is_kept_for_created_folders_and_follows_renames() {
    let store = three_in_inbox().await;
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
    let folders = store.folders(&alice()).await.unwrap();
    assert_eq!(
        uses(&folders),
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
    store.delete_folder(&alice(), "Starred").await.unwrap();
    store.create_folder(&alice(), "Starred").await.unwrap();
    let folders = store.folders(&alice()).await.unwrap();
    let starred = folders.iter().find(|f| f.name == "Starred").unwrap();
    assert_eq!(starred.special_use, None, "a delete drops the use");
}

#[tokio::test]
async fn folders_are_created_renamed_with_their_subfolders_and_deleted() {
    let store = three_in_inbox().await;
    store.create_folder(&alice(), "Lists").await.unwrap();
    store.create_folder(&alice(), "Lists.rust").await.unwrap();
    // CREATE does not subscribe (RFC 9051 6.3.4).
    assert_eq!(
        store.subscriptions(&alice()).await.unwrap(),
        ["Sent", "Drafts", "Trash", "Junk", "Archive"]
    );
    store.subscribe(&alice(), "Lists", true).await.unwrap();
    store.subscribe(&alice(), "Lists.rust", true).await.unwrap();
    store
        .append(
            &alice(),
            "Lists.rust",
            &b"r\r\n"[..],
            Flags::EMPTY,
            &Keywords::new(),
            UnixTime(1),
        )
        .await
        .unwrap();
    let rust = store.open(&alice(), "Lists.rust").await.unwrap();
    store
        .rename_folder(&alice(), "Lists", "Groups")
        .await
        .unwrap();
    let names = |folders: Vec<FolderStatus>| -> Vec<String> {
        folders.into_iter().map(|f| f.name).collect()
    };
    assert_eq!(
        names(store.folders(&alice()).await.unwrap()),
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
    // UIDs and UIDVALIDITY go with the folder.
    assert_eq!(store.open(&alice(), "Groups.rust").await.unwrap(), rust);
    assert_eq!(
        store.subscriptions(&alice()).await.unwrap(),
        [
            "Sent",
            "Drafts",
            "Trash",
            "Junk",
            "Archive",
            "Groups",
            "Groups.rust"
        ]
    );
    let errors = [
        store.create_folder(&alice(), "Groups").await,
        store.create_folder(&alice(), "inbox").await,
        store.rename_folder(&alice(), "INBOX", "Old").await,
        store.rename_folder(&alice(), "Nope", "Other").await,
        store.delete_folder(&alice(), "INBOX").await,
    ];
    assert!(
        matches!(
            &errors,
            [
                Err(StoreError::FolderExists(_)),
                Err(StoreError::FolderExists(_)),
                Err(StoreError::InboxIsPermanent),
                Err(StoreError::NoSuchFolder(_)),
                Err(StoreError::InboxIsPermanent),
            ]
        ),
        "{errors:?}"
    );
    store.delete_folder(&alice(), "Groups").await.unwrap();
    assert!(matches!(
        store.open(&alice(), "Groups.rust").await,
        Err(StoreError::NoSuchFolder(_))
    ));
    assert!(matches!(
        store.open(&alice(), "../x").await,
        Err(StoreError::BadFolderName(_))
    ));
    // Subscriptions outlive their folders (RFC 3501 6.3.6).
    assert_eq!(
        store.subscriptions(&alice()).await.unwrap(),
        [
            "Sent",
            "Drafts",
            "Trash",
            "Junk",
            "Archive",
            "Groups",
            "Groups.rust"
        ]
    );
}

#[tokio::test]
async fn folder_figures_count_deleted_and_usage_sums_every_folder() {
    let store = three_in_inbox().await;
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
        inbox.size,
        snapshot.messages.iter().map(|m| m.size).sum::<u64>()
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

#[tokio::test]
async fn watch_fires_after_delivery_append_flags_expunge_and_move() {
    let store = store();
    let mut inbox = store.watch(&alice(), "INBOX");
    let mut trash = store.watch(&alice(), "Trash");
    inbox.borrow_and_update();
    trash.borrow_and_update();
    maildrop::deliver(
        &store,
        &alice(),
        false,
        b"Subject: d\r\n\r\n".to_vec(),
        QueueId(1),
    )
    .unwrap();
    assert!(inbox.has_changed().unwrap());
    let mut last = *inbox.borrow_and_update();
    assert_eq!(
        last,
        store.open(&alice(), "INBOX").await.unwrap().highest_modseq
    );
    store
        .append(
            &alice(),
            "INBOX",
            &b"a\r\n"[..],
            Flags::EMPTY,
            &Keywords::new(),
            UnixTime(1),
        )
        .await
        .unwrap();
    let seen = Flags::EMPTY.with(Flag::Seen);
    store
        .store_flags(
            &alice(),
            "INBOX",
            &[uid(1)],
            FlagOp::Add,
            seen,
            &Keywords::new(),
        )
        .await
        .unwrap();
    store.expunge(&alice(), "INBOX", &[uid(1)]).await.unwrap();
    assert!(inbox.has_changed().unwrap());
    let now = *inbox.borrow_and_update();
    assert_eq!(
        now,
        store.open(&alice(), "INBOX").await.unwrap().highest_modseq
    );
    assert!(now > last);
    last = now;
    assert!(!trash.has_changed().unwrap());
    store
        .move_messages(&alice(), "INBOX", &[uid(2)], "Trash")
        .await
        .unwrap();
    assert!(inbox.has_changed().unwrap() && trash.has_changed().unwrap());
    assert!(*inbox.borrow_and_update() > last);
    trash.borrow_and_update();
    // A deleted folder's channel closes.
    store.delete_folder(&alice(), "Trash").await.unwrap();
    assert!(trash.changed().await.is_err());
}

#[tokio::test]
async fn delivered_mail_is_read_through_the_store_and_a_second_try_makes_no_copy() {
    let store = store();
    let text = b"Subject: hi\r\n\r\nbody\r\n";
    let first = maildrop::deliver(&store, &alice(), false, text.to_vec(), QueueId(7)).unwrap();
    let again = maildrop::deliver(&store, &alice(), false, text.to_vec(), QueueId(7)).unwrap();
    assert_eq!(first, "message 1 in the mailbox");
    assert!(again.contains("earlier try"), "{again}");
    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&inbox), [1]);
    assert_eq!(inbox.messages[0].size, text.len() as u64);
    assert_eq!(read_all(&store, "INBOX", 1).await, text);
    // POP3 through the runtime's own adapter reads the same mail.
    {
        use postern::pop3::{MaildropHandle, Maildrops, StoreMaildrops};
        let pop3 = StoreMaildrops::new(std::sync::Arc::new(store.clone()));
        let (maildrop, mut handle) = pop3.open(&alice()).await.unwrap();
        assert_eq!(maildrop.uid_validity, inbox.uid_validity.0);
        assert_eq!(maildrop.messages[0].size, text.len() as u64);
        handle.update(&[1], &[]).await.unwrap();
    }
    let after = MailboxStore::open(&store, &alice(), "INBOX").await.unwrap();
    assert!(after.messages.is_empty());
}
