//! The `MailboxStore` contract, run against both stores: the Maildir
//! store (files) and the postgres store (a throwaway cluster per test
//! process, a database per test). Each behaviour is one generic test
//! function and a `#[tokio::test]` per store (`NAME::maildir`,
//! `NAME::postgres`); a second store on the same directory or database
//! is a second process or node. What only one store does (Dovecot's
//! files; notifications across nodes, shared blobs) is tested beside it.

mod support;

use postern::mailstore::{
    FlagOp, FolderStatus, MailboxStore, MaildirStore, NewMessage, SpecialUse, StoreError, Usage,
};
use postern::storage::postgres::PgMailboxStore;
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::{Change, Flag, Flags, Keywords, ModSeq, Snapshot, Uid};
use postern_core::time::UnixTime;
use std::collections::BTreeSet;
use std::time::Duration;
use support::postgres::{Database, database, look, mailbox_store};
use tokio::io::AsyncReadExt;

/// Where a test's stores keep their mail; `store(n)` is node (or
/// process) `n`'s store on it.
trait Backend {
    type Store: MailboxStore + Clone;
    async fn store(&self, node: u16) -> Self::Store;
}

struct Files(tempfile::TempDir);

impl Backend for Files {
    type Store = MaildirStore;
    async fn store(&self, _node: u16) -> MaildirStore {
        MaildirStore::new(self.0.path(), "mx.test")
    }
}

struct Postgres(Database);

impl Backend for Postgres {
    type Store = PgMailboxStore;
    async fn store(&self, node: u16) -> PgMailboxStore {
        mailbox_store(&self.0, node).await
    }
}

/// A `#[tokio::test]` per store for the generic test `$name`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn maildir() {
                super::$name(&Files(tempfile::tempdir().unwrap())).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(&Postgres(database())).await;
            }
        }
    )*};
}

both!(
    append_then_read_gives_crlf_bytes_of_the_recorded_size,
    uids_increase_and_are_never_reused_after_expunge,
    flags_and_keywords_change_with_new_modseqs,
    changes_since_names_appends_flag_changes_and_expunges,
    folders_are_created_renamed_with_their_children_and_deleted,
    subscriptions_keep_their_order_and_may_name_missing_folders,
    special_use_is_kept_for_created_folders_and_follows_renames,
    copy_keeps_flags_keywords_and_date_and_answers_pairs_in_source_order,
    move_leaves_each_message_in_one_folder_and_records_expunges,
    multiappend_stores_all_or_none,
    folder_figures_and_usage_sum_every_folder,
    two_nodes_appending_at_once_get_distinct_increasing_uids,
    watch_fires_after_this_stores_append_flags_and_expunge,
);

fn alice() -> LocalMailbox {
    LocalMailbox {
        domain: "x.test".into(),
        user: "alice".into(),
    }
}

fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

fn uids(snapshot: &Snapshot) -> Vec<u32> {
    snapshot.messages.iter().map(|m| m.uid.get()).collect()
}

fn keywords(words: &[&str]) -> Keywords {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn seen() -> Flags {
    Flags::EMPTY.with(Flag::Seen)
}

fn message(text: &str, flags: Flags, words: &[&str], date: i64) -> NewMessage {
    NewMessage {
        content: text.as_bytes().to_vec(),
        flags,
        keywords: keywords(words),
        internal_date: UnixTime(date),
    }
}

async fn append<S: MailboxStore>(store: &S, folder: &str, text: &str) -> Uid {
    store
        .append(
            &alice(),
            folder,
            text.as_bytes(),
            Flags::EMPTY,
            &Keywords::new(),
            UnixTime(1_700_000_000),
        )
        .await
        .unwrap()
}

async fn read<S: MailboxStore>(store: &S, folder: &str, uid: Uid) -> (u64, Vec<u8>) {
    let mut reader = store.read(&alice(), folder, uid).await.unwrap();
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).await.unwrap();
    (reader.size(), bytes)
}

/// Appends three messages to INBOX in one MULTIAPPEND: 1 \Seen with
/// `Work`, 2 \Flagged with `$Forwarded`, 3 plain.
async fn three_in_inbox<S: MailboxStore>(store: &S) {
    let messages = vec![
        message(
            "Subject: 1\r\n\r\none\r\n",
            seen(),
            &["Work"],
            1_700_000_001,
        ),
        message(
            "Subject: 2\r\n\r\ntwo\r\n",
            Flags::EMPTY.with(Flag::Flagged),
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
}

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

// What only the postgres store does.

/// IDLE across nodes: node A's channel fires when node B appends, with
/// B's MODSEQ; and again after A's listening connection was cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_watch_on_one_node_fires_when_another_node_appends() {
    let db = database();
    let (a, b) = (mailbox_store(&db, 1).await, mailbox_store(&db, 2).await);
    a.open(&alice(), "INBOX").await.unwrap();
    let mut watch = a.watch(&alice(), "INBOX");
    watch.borrow_and_update();
    let new = append(&b, "INBOX", "from b\r\n").await;
    tokio::time::timeout(Duration::from_secs(5), watch.changed())
        .await
        .expect("node A heard of node B's append")
        .unwrap();
    let highest = b.open(&alice(), "INBOX").await.unwrap().highest_modseq;
    assert_eq!(*watch.borrow_and_update(), highest);
    let changes = a
        .changes_since(&alice(), "INBOX", ModSeq(1))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(&changes[..], [Change::Appended(m)] if m.uid == new));
    // Another folder's change does not fire this one.
    append(&b, "Sent", "elsewhere\r\n").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!watch.has_changed().unwrap());

    // The listener's connection is cut: it connects again and carries on.
    let admin = look(&db).await;
    let cut = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN postern_mailbox%'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(cut, 2, "one listener a node");
    tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .expect("a reconnect fires the channels")
        .unwrap();
    watch.borrow_and_update();
    tokio::time::sleep(Duration::from_millis(200)).await;
    append(&b, "INBOX", "after the cut\r\n").await;
    tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .expect("node A hears node B again")
        .unwrap();
    assert!(*watch.borrow_and_update() > highest);
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// A COPY shares the blob; the blob goes with its last reference, and a
/// deleted folder takes its blobs with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_copies_share_one_blob_deleted_with_the_last_reference() {
    let db = database();
    let store = mailbox_store(&db, 1).await;
    let client = look(&db).await;
    let original = append(&store, "INBOX", "Subject: shared\r\n\r\nx\r\n").await;
    let copied = store
        .copy(&alice(), "INBOX", &[original], "Archive")
        .await
        .unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM blobs").await, 1);
    store.expunge(&alice(), "INBOX", &[original]).await.unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM blobs").await, 1);
    let (_, copy) = copied.pairs[0];
    assert_eq!(
        read(&store, "Archive", copy).await.1,
        b"Subject: shared\r\n\r\nx\r\n"
    );
    store.expunge(&alice(), "Archive", &[copy]).await.unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM blobs").await, 0);
    assert_eq!(count(&client, "SELECT count(*) FROM blob_chunks").await, 0);
    append(&store, "Trash", "t\r\n").await;
    store.delete_folder(&alice(), "Trash").await.unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM blobs").await, 0);
}

/// A database that cannot be reached is an I/O error (the sessions'
/// temporary failure), not a panic or a damaged mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_database_is_an_io_error() {
    let db = database();
    let store = mailbox_store(&db, 1).await;
    store.open(&alice(), "INBOX").await.unwrap();
    support::postgres::cluster().psql(&format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
        db.name, db.name
    ));
    let error = store.open(&alice(), "INBOX").await.unwrap_err();
    assert!(matches!(error, StoreError::Io(_)), "{error:?}");
}
