//! What the store adds for IMAP: copy, move, MULTIAPPEND, subscriptions,
//! special use, usage, and MODSEQs that survive a restart.

use super::*;
use crate::maildir::Maildirs;
use crate::testing::names_in;
use postern_core::envelope::QueueId;
use postern_core::mailbox::modseq_file::MODSEQ_FILE;
use std::os::unix::fs::MetadataExt;

fn alice() -> LocalMailbox {
    LocalMailbox::new("alice", "x.test")
}

fn uid(n: u32) -> Uid {
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

/// Appends three messages to INBOX: 1 \Seen with `Work`, 2 \Flagged with
/// `$Forwarded`, 3 plain; returns the store.
async fn three_in_inbox(dir: &Path) -> MaildirStore {
    let store = MaildirStore::new(dir, "mx.test");
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
    let (_, uids) = store
        .append_many(&alice(), "INBOX", messages)
        .await
        .unwrap();
    assert_eq!(uids, [uid(1), uid(2), uid(3)]);
    store
}

#[tokio::test]
async fn copy_keeps_flags_keywords_and_date_and_answers_pairs_in_source_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
    // The target numbers its keywords otherwise: `$Forwarded` is not
    // letter `b` there.
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
        fs::read_to_string(store.user_dir(&alice()).join(".Archive/dovecot-keywords")).unwrap(),
        "0 Other\n1 Work\n2 $Forwarded\n"
    );
    // A hard link, as Dovecot copies: no second copy of the bytes.
    let inode = |folder: &str| {
        let dir = store.user_dir(&alice()).join(folder).join("cur");
        let mut inodes: Vec<u64> = names_in(&dir)
            .iter()
            .map(|n| fs::metadata(dir.join(n)).unwrap().ino())
            .collect();
        inodes.sort();
        inodes
    };
    assert!(
        inode(".Archive")
            .iter()
            .filter(|i| inode("").contains(i))
            .count()
            == 3
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
    assert!(names_in(&store.user_dir(&alice()).join(".Archive/tmp")).is_empty());
    assert!(matches!(
        store.copy(&alice(), "INBOX", &[uid(1)], "Nope").await,
        Err(StoreError::NoSuchFolder(_))
    ));
}

#[tokio::test]
async fn move_renames_into_the_target_and_the_source_records_expunges() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
    let before = store.open(&alice(), "INBOX").await.unwrap();
    let inbox_cur = store.user_dir(&alice()).join("cur");
    let inode_of_2 = names_in(&inbox_cur)
        .iter()
        .map(|n| fs::metadata(inbox_cur.join(n)).unwrap().ino())
        .nth(1)
        .unwrap();
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
    // Renamed, not copied: the same file, now only in Trash.
    let trash_cur = store.user_dir(&alice()).join(".Trash/cur");
    let inodes: Vec<u64> = names_in(&trash_cur)
        .iter()
        .map(|n| fs::metadata(trash_cur.join(n)).unwrap().ino())
        .collect();
    assert!(inodes.contains(&inode_of_2));
    assert_eq!(names_in(&inbox_cur).len(), 1);
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
    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(
        inbox
            .messages
            .iter()
            .map(|m| m.uid.get())
            .collect::<Vec<_>>(),
        [4, 5]
    );
}

#[tokio::test]
async fn a_move_cut_short_by_a_crash_leaves_the_message_in_one_folder() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
    let root = store.user_dir(&alice());
    let highest = store.open(&alice(), "INBOX").await.unwrap().highest_modseq;
    drop(store);
    // The move's rename happened; neither uidlist was written. (Message
    // 3, the one without flags or keywords.)
    let name = names_in(&root.join("cur"))
        .into_iter()
        .find(|n| n.ends_with(":2,"))
        .unwrap();
    fs::rename(
        root.join("cur").join(&name),
        root.join(".Junk/cur").join(&name),
    )
    .unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    let junk = store.open(&alice(), "Junk").await.unwrap();
    assert_eq!(junk.messages.len(), 1);
    assert_eq!(junk.messages[0].internal_date, UnixTime(1_700_000_003));
    let changes = store
        .changes_since(&alice(), "INBOX", highest)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&changes[..], [Change::Expunged { uid: u, modseq }]
        if *u == uid(3) && *modseq > highest),
        "{changes:?}"
    );
    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(inbox.messages.len(), 2);
}

#[tokio::test]
async fn multiappend_stores_all_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
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
    // The 27th keyword has no letter left: refused while placing, after
    // the first message was already renamed into cur/.
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
    let after = MaildirStore::new(dir.path(), "mx.test")
        .open(&alice(), "INBOX")
        .await
        .unwrap();
    assert_eq!(after.messages, inbox.messages);
    assert_eq!(after.uid_next, 4);
    let root = store.user_dir(&alice());
    assert!(names_in(&root.join("tmp")).is_empty());
    assert_eq!(names_in(&root.join("cur")).len(), 3);
    let too_many = (0..=postern_core::limits::MULTIAPPEND_MESSAGES_MAX)
        .map(|_| message("x\r\n", Flags::EMPTY, &[], 1))
        .collect();
    assert!(matches!(
        store.append_many(&alice(), "INBOX", too_many).await,
        Err(StoreError::TooManyMessages { .. })
    ));
}

#[tokio::test]
async fn subscriptions_may_name_folders_that_do_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    store.subscribe(&alice(), "Lists.rust", true).await.unwrap();
    store.subscribe(&alice(), "Junk", false).await.unwrap();
    store.subscribe(&alice(), "Sent", true).await.unwrap();
    assert_eq!(
        store.subscriptions(&alice()).await.unwrap(),
        ["Sent", "Drafts", "Trash", "Archive", "Lists.rust"]
    );
    assert_eq!(
        fs::read_to_string(store.user_dir(&alice()).join("subscriptions")).unwrap(),
        "Sent\nDrafts\nTrash\nArchive\nLists.rust\n"
    );
    let folders = store.folders(&alice()).await.unwrap();
    let junk = folders.iter().find(|f| f.name == "Junk").unwrap();
    assert!(!junk.subscribed);
    assert!(matches!(
        store.subscribe(&alice(), "a..b", true).await,
        Err(StoreError::BadFolderName(_))
    ));
}

#[tokio::test]
async fn special_use_is_kept_for_created_folders_and_follows_renames() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
    store
        .create_folder_with_use(&alice(), "Important", Some(SpecialUse::Flagged))
        .await
        .unwrap();
    store
        .create_folder_with_use(&alice(), "Plain", None)
        .await
        .unwrap();
    let root = store.user_dir(&alice());
    assert_eq!(
        fs::read_to_string(root.join("postern-special-use")).unwrap(),
        "Important\t\\Flagged\n"
    );
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
    assert_eq!(
        fs::read_to_string(root.join("postern-special-use")).unwrap(),
        ""
    );
    // Damage names the file and the fix.
    fs::write(root.join("postern-special-use"), "Sent\n").unwrap();
    let error = store.folders(&alice()).await.unwrap_err().to_string();
    assert!(
        error.contains("postern-special-use") && error.contains("line 1"),
        "{error}"
    );
}

#[tokio::test]
async fn folder_figures_count_deleted_and_usage_sums_every_folder() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
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

/// A store opened, changed, dropped and opened again from disk (a
/// restart): HIGHESTMODSEQ never goes back, each message keeps its
/// MODSEQ, and the tombstones still answer `changes_since`.
#[tokio::test]
async fn modseqs_and_tombstones_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
    let start = store.open(&alice(), "INBOX").await.unwrap().highest_modseq;
    store
        .store_flags(
            &alice(),
            "INBOX",
            &[uid(3)],
            FlagOp::Add,
            Flags::EMPTY.with(Flag::Answered),
            &Keywords::new(),
        )
        .await
        .unwrap();
    store.expunge(&alice(), "INBOX", &[uid(2)]).await.unwrap();
    let before = store.open(&alice(), "INBOX").await.unwrap();
    assert!(before.highest_modseq > start);
    drop(store);

    let restarted = MaildirStore::new(dir.path(), "mx.test");
    let after = restarted.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(after, before, "the same MODSEQs after a restart");
    let changes = restarted
        .changes_since(&alice(), "INBOX", start)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&changes[..], [
        Change::FlagsChanged { uid: a, .. },
        Change::Expunged { uid: b, .. },
    ] if *a == uid(3) && *b == uid(2)),
        "{changes:?}"
    );
    // A new change after the restart goes above every earlier one.
    restarted
        .store_flags(
            &alice(),
            "INBOX",
            &[uid(1)],
            FlagOp::Remove,
            Flags::EMPTY.with(Flag::Seen),
            &Keywords::new(),
        )
        .await
        .unwrap();
    let later = restarted.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(later.highest_modseq, ModSeq(before.highest_modseq.0 + 1));
    assert_eq!(later.messages[0].modseq, later.highest_modseq);
    let text = fs::read_to_string(restarted.user_dir(&alice()).join(MODSEQ_FILE)).unwrap();
    assert!(
        text.starts_with(&format!(
            "postern-modseq 1 V{} N4 H{}",
            later.uid_validity, later.highest_modseq
        )),
        "{text}"
    );
    assert!(text.contains("\nX 2 "), "{text}");
}

/// Dovecot (or any reader) renames a file to change its flags while no
/// Postern runs: the next sync gives the change a MODSEQ above the kept
/// highest.
#[tokio::test]
async fn a_flag_changed_while_postern_was_down_gets_a_new_modseq() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
    let before = store.open(&alice(), "INBOX").await.unwrap();
    drop(store);
    let cur = dir.path().join("mail/x.test/alice/cur");
    let name = names_in(&cur).into_iter().nth(2).unwrap();
    assert!(name.ends_with(":2,"), "{name}");
    fs::rename(cur.join(&name), cur.join(format!("{name}T"))).unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    let after = store.open(&alice(), "INBOX").await.unwrap();
    let third = &after.messages[2];
    assert_eq!(third.flags, Flags::EMPTY.with(Flag::Deleted));
    assert_eq!(third.modseq, ModSeq(before.highest_modseq.0 + 1));
    assert_eq!(after.highest_modseq, third.modseq);
    assert_eq!(after.messages[..2], before.messages[..2]);
}

#[tokio::test]
async fn a_damaged_modseq_file_is_rebuilt_above_the_old_highest_and_mail_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
    let before = store.open(&alice(), "INBOX").await.unwrap();
    drop(store);
    let path = dir.path().join("mail/x.test/alice").join(MODSEQ_FILE);
    let text = fs::read_to_string(&path).unwrap();
    // A damaged line: the header still names the highest.
    fs::write(&path, text.replacen("\n1 ", "\n1 x", 1)).unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    let after = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(after.messages.len(), 3);
    assert!(
        after
            .messages
            .iter()
            .all(|m| m.modseq > before.highest_modseq)
    );
    assert_eq!(
        store
            .changes_since(&alice(), "INBOX", before.highest_modseq.min(ModSeq(1)))
            .await
            .unwrap(),
        None,
        "what happened before the rebuild is unknown: resync"
    );
    drop(store);
    // A damaged header: above the clock's microseconds.
    fs::write(&path, "garbage\n").unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    let rebuilt = store.open(&alice(), "INBOX").await.unwrap();
    assert!(rebuilt.highest_modseq > after.highest_modseq);
    assert!(rebuilt.highest_modseq.0 > 1_700_000_000_000_000);
    let again = MaildirStore::new(dir.path(), "mx.test")
        .open(&alice(), "INBOX")
        .await
        .unwrap();
    assert_eq!(again, rebuilt, "the rewritten file is read back");
}

/// Two processes (two stores) take turns on one folder: each sees the
/// other's MODSEQs, and HIGHESTMODSEQ only goes up.
#[tokio::test]
async fn two_processes_share_one_modseq_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let maildirs = Maildirs::new(dir.path(), "mx.test");
    let (a, b) = (
        maildirs.store().clone(),
        MaildirStore::new(dir.path(), "mx.test"),
    );
    let mut highest = ModSeq(0);
    for round in 0..6u64 {
        maildirs
            .deliver(
                &alice(),
                (QueueId(900 + round), 1_795_000_000),
                b"",
                &mut &b"m\r\n"[..],
                true,
            )
            .unwrap();
        let (one, other) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let uids: Vec<Uid> = one
            .open(&alice(), "INBOX")
            .await
            .unwrap()
            .messages
            .iter()
            .map(|m| m.uid)
            .collect();
        one.store_flags(
            &alice(),
            "INBOX",
            &uids,
            FlagOp::Set,
            Flags::EMPTY.with(Flag::Seen),
            &Keywords::new(),
        )
        .await
        .unwrap();
        one.store_flags(
            &alice(),
            "INBOX",
            &uids,
            FlagOp::Set,
            Flags::EMPTY,
            &Keywords::new(),
        )
        .await
        .unwrap();
        let seen_by_one = one.open(&alice(), "INBOX").await.unwrap();
        let seen_by_other = other.open(&alice(), "INBOX").await.unwrap();
        assert_eq!(seen_by_one, seen_by_other, "round {round}");
        assert!(seen_by_one.highest_modseq > highest, "round {round}");
        highest = seen_by_one.highest_modseq;
    }
}

/// A placing that fails half way (the second file is gone) puts the
/// first back in `tmp/`: nothing is visible, and no journal is left.
#[tokio::test]
async fn a_placing_that_fails_half_way_undoes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
    let root = store.user_dir(&alice());
    let staged: Vec<transfer::Staged> = ["a", "b"]
        .iter()
        .map(|text| {
            let unique = unique_name(store.host());
            let tmp = root.join("tmp").join(&unique);
            let (size, vsize) = write_blocking(&tmp, b"", &mut text.as_bytes()).unwrap();
            transfer::Staged {
                source: None,
                tmp,
                name: MaildirName::new(&unique, size, vsize),
                flags: Flags::EMPTY,
                keywords: keywords(&["Fresh"]),
            }
        })
        .collect();
    fs::remove_file(&staged[1].tmp).unwrap();
    let staged = std::sync::Arc::new(staged);
    let to_place = std::sync::Arc::clone(&staged);
    let result = store.locked(&alice(), &inbox(), true, move |locked| {
        transfer::place(locked, &to_place)
    });
    assert!(matches!(result, Err(StoreError::Io(_))));
    assert!(staged[0].tmp.is_file(), "the first file is back in tmp/");
    assert_eq!(names_in(&root.join("cur")).len(), 3);
    assert!(!root.join(locked::PLACING).exists());
    let after = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(after.messages.len(), 3);
}

/// A crash after some of a MULTIAPPEND's renames, before the uidlist was
/// written: the next holder of the lock removes the files the journal
/// names that have no UID, and keeps those that have one.
#[tokio::test]
async fn a_multiappend_cut_short_by_a_crash_is_undone_at_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_in_inbox(dir.path()).await;
    let root = store.user_dir(&alice());
    let kept = names_in(&root.join("cur")).remove(0);
    let half = format!("{}:2,S", unique_name(store.host()));
    fs::write(root.join("cur").join(&half), "half placed\n").unwrap();
    fs::write(
        root.join(locked::PLACING),
        format!("{kept}\n{half}\nnot/a name\n"),
    )
    .unwrap();
    drop(store);
    let store = MaildirStore::new(dir.path(), "mx.test");
    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(inbox.messages.len(), 3);
    assert_eq!(
        inbox.uid_next, 4,
        "no UID was given to the half-placed file"
    );
    assert!(!root.join("cur").join(&half).exists());
    assert!(root.join("cur").join(&kept).exists());
    assert!(!root.join(locked::PLACING).exists());
}

/// Two processes move messages between INBOX and Trash in opposite
/// directions at once while a third copies: no deadlock, no message lost
/// or doubled by a move, and each folder's HIGHESTMODSEQ only goes up.
#[test]
fn opposite_moves_from_several_processes_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let setup = MaildirStore::new(dir.path(), "mx.test");
    let inbox = inbox();
    let trash = FolderName::parse("Trash").unwrap();
    let texts: Vec<NewMessage> = (0..20)
        .map(|i| message(&format!("Subject: {i}\r\n\r\n"), Flags::EMPTY, &[], 1))
        .collect();
    setup.append_many_blocking(&alice(), &inbox, texts).unwrap();
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let path = dir.path().to_owned();
            let (inbox, trash) = (inbox.clone(), trash.clone());
            std::thread::spawn(move || {
                let store = MaildirStore::new(&path, "mx.test");
                let (from, to) = if t == 1 {
                    (&trash, &inbox)
                } else {
                    (&inbox, &trash)
                };
                let mut highest = (ModSeq(0), ModSeq(0));
                for round in 0..15 {
                    let uids: Vec<Uid> = store
                        .sync_blocking(&alice(), from)
                        .unwrap()
                        .snapshot
                        .messages
                        .iter()
                        .map(|m| m.uid)
                        .take(3)
                        .collect();
                    if t == 2 && round % 5 == 0 {
                        store
                            .copy_blocking(&alice(), from, &uids[..1.min(uids.len())], from)
                            .unwrap();
                    } else {
                        store.move_blocking(&alice(), from, &uids, to).unwrap();
                    }
                    let now = (
                        store
                            .sync_blocking(&alice(), &inbox)
                            .unwrap()
                            .snapshot
                            .highest_modseq,
                        store
                            .sync_blocking(&alice(), &trash)
                            .unwrap()
                            .snapshot
                            .highest_modseq,
                    );
                    assert!(
                        now.0 >= highest.0 && now.1 >= highest.1,
                        "{now:?} after {highest:?}"
                    );
                    highest = now;
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let store = MaildirStore::new(dir.path(), "mx.test");
    let subjects = |folder: &FolderName| -> Vec<String> {
        let snapshot = store.sync_blocking(&alice(), folder).unwrap().snapshot;
        snapshot
            .messages
            .iter()
            .map(|m| {
                let mut text = String::new();
                let (mut file, _) = store.read_blocking(&alice(), folder, m.uid).unwrap();
                io::Read::read_to_string(&mut file, &mut text).unwrap();
                text
            })
            .collect()
    };
    let mut all = subjects(&inbox);
    all.extend(subjects(&trash));
    let copies = all.len() - 20;
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 20, "every message is somewhere");
    assert!(copies <= 3, "only the copies add messages: {copies}");
}

/// Another process's change, found at this process's next sync, fires
/// this process's watch channel and shows in `changes_since`.
#[tokio::test]
async fn another_processs_change_fires_the_watch_at_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let here = three_in_inbox(dir.path()).await;
    let before = here.open(&alice(), "INBOX").await.unwrap();
    let mut watch = here.watch(&alice(), "INBOX");
    watch.borrow_and_update();
    let there = MaildirStore::new(dir.path(), "mx.test");
    there.expunge(&alice(), "INBOX", &[uid(2)]).await.unwrap();
    assert!(!watch.has_changed().unwrap());
    let changes = here
        .changes_since(&alice(), "INBOX", before.highest_modseq)
        .await
        .unwrap()
        .unwrap();
    assert!(watch.has_changed().unwrap());
    assert!(matches!(&changes[..], [Change::Expunged { uid: u, .. }] if *u == uid(2)));
}
