//! The Maildir store against real directories: Dovecot's files, the
//! rules under several handles (processes), and the async API.

use super::*;
use crate::maildir::Maildirs;
use crate::testing::names_in;
use postern_core::envelope::QueueId;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use tokio::io::AsyncReadExt;

fn alice() -> LocalMailbox {
    LocalMailbox::new("alice", "x.test")
}

fn seen() -> Flags {
    Flags::EMPTY.with(Flag::Seen)
}

fn uids(snapshot: &Snapshot) -> Vec<u32> {
    snapshot.messages.iter().map(|m| m.uid.get()).collect()
}

/// Delivers `text` as a message of its own (a new queue ID each time).
fn deliver(maildirs: &Maildirs, text: &str) -> PathBuf {
    static QUEUE_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = QueueId(QUEUE_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    maildirs
        .deliver(
            &alice(),
            (id, 1_795_000_000),
            b"",
            &mut text.as_bytes(),
            false,
        )
        .unwrap()
        .path
}

#[tokio::test]
async fn open_gives_delivered_mail_its_uids_and_moves_it_to_cur() {
    let dir = tempfile::tempdir().unwrap();
    let maildirs = Maildirs::new(dir.path(), "mx.test");
    deliver(&maildirs, "Subject: one\r\n\r\n1\r\n");
    deliver(&maildirs, "Subject: two\r\n\r\n2\r\n");
    let store = MaildirStore::new(dir.path(), "mx.test");
    let snapshot = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&snapshot), [1, 2]);
    assert_eq!(snapshot.uid_next, 3);
    assert_eq!(
        snapshot.messages[0].size,
        "Subject: one\r\n\r\n1\r\n".len() as u64
    );
    let inbox = store.user_dir(&alice());
    assert!(names_in(&inbox.join("new")).is_empty());
    let cur = names_in(&inbox.join("cur"));
    assert!(cur.iter().all(|n| n.ends_with(":2,")), "{cur:?}");
    // Another process (a new store) sees the same UIDs, and so does a
    // restart.
    let again = MaildirStore::new(dir.path(), "mx.test");
    let reopened = again.open(&alice(), "inbox").await.unwrap();
    assert_eq!(uids(&reopened), [1, 2]);
    assert_eq!(reopened.uid_validity, snapshot.uid_validity);
}

#[tokio::test]
async fn read_yields_crlf_bytes_of_exactly_the_recorded_size() {
    let dir = tempfile::tempdir().unwrap();
    let maildirs = Maildirs::new(dir.path(), "mx.test");
    let body = format!("Subject: big\r\n\r\n{}", "line of text\r\n".repeat(5000));
    deliver(&maildirs, &body);
    let store = maildirs.store();
    let snapshot = store.open(&alice(), "INBOX").await.unwrap();
    let mut reader = store
        .read(&alice(), "INBOX", snapshot.messages[0].uid)
        .await
        .unwrap();
    assert_eq!(reader.size(), body.len() as u64);
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).await.unwrap();
    assert_eq!(bytes, body.as_bytes());
    assert!(matches!(
        store.read(&alice(), "INBOX", Uid::new(9).unwrap()).await,
        Err(StoreError::NoSuchMessage(_))
    ));
}

#[tokio::test]
async fn flags_are_letters_in_names_and_keywords_go_to_dovecot_keywords() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    let keywords: Keywords = ["$Forwarded".to_owned(), "Work".to_owned()].into();
    let uid = store
        .append(
            &alice(),
            "Sent",
            &b"Subject: s\r\n\r\nx\r\n"[..],
            Flags::EMPTY.with(Flag::Flagged),
            &keywords,
            UnixTime(1_700_000_000),
        )
        .await
        .unwrap();
    let sent = store.user_dir(&alice()).join(".Sent");
    let name = names_in(&sent.join("cur")).remove(0);
    assert!(name.ends_with(":2,Fab"), "{name}");
    assert_eq!(
        fs::read_to_string(sent.join("dovecot-keywords")).unwrap(),
        "0 $Forwarded\n1 Work\n"
    );
    let changes = store
        .store_flags(
            &alice(),
            "Sent",
            &[uid],
            FlagOp::Add,
            seen(),
            &Keywords::new(),
        )
        .await
        .unwrap();
    assert!(matches!(&changes[..], [Change::FlagsChanged { flags, .. }]
        if *flags == Flags::EMPTY.with(Flag::Flagged).with(Flag::Seen)));
    store
        .store_flags(
            &alice(),
            "Sent",
            &[uid],
            FlagOp::Remove,
            Flags::EMPTY,
            &["Work".into()].into(),
        )
        .await
        .unwrap();
    let name = names_in(&sent.join("cur")).remove(0);
    assert!(name.ends_with(":2,FSa"), "{name}");
    let snapshot = store.open(&alice(), "Sent").await.unwrap();
    let meta = &snapshot.messages[0];
    assert_eq!(meta.internal_date, UnixTime(1_700_000_000));
    assert_eq!(meta.keywords, ["$Forwarded".to_owned()].into());
    assert!(matches!(
        store
            .store_flags(
                &alice(),
                "Sent",
                &[uid],
                FlagOp::Add,
                seen(),
                &["a b".into()].into()
            )
            .await,
        Err(StoreError::BadKeyword(_))
    ));
}

#[tokio::test]
async fn expunged_uids_are_never_handed_out_again() {
    let dir = tempfile::tempdir().unwrap();
    let maildirs = Maildirs::new(dir.path(), "mx.test");
    let store = maildirs.store();
    deliver(&maildirs, "a\r\n");
    deliver(&maildirs, "b\r\n");
    let first = store.open(&alice(), "INBOX").await.unwrap();
    let removed = store
        .expunge(&alice(), "INBOX", &[first.messages[1].uid])
        .await
        .unwrap();
    assert_eq!(removed, [first.messages[1].uid]);
    assert_eq!(
        store
            .expunge(&alice(), "INBOX", &[first.messages[1].uid])
            .await
            .unwrap(),
        []
    );
    deliver(&maildirs, "c\r\n");
    let after = MaildirStore::new(dir.path(), "mx.test")
        .open(&alice(), "INBOX")
        .await
        .unwrap();
    assert_eq!(uids(&after), [1, 3]);
}

#[tokio::test]
async fn watch_fires_after_delivery_flags_and_expunge() {
    let dir = tempfile::tempdir().unwrap();
    let maildirs = Maildirs::new(dir.path(), "mx.test");
    let store = maildirs.store().clone();
    let first = store.open(&alice(), "INBOX").await.unwrap();
    let mut watch = store.watch(&alice(), "INBOX");
    watch.borrow_and_update();
    let delivery = tokio::task::spawn_blocking(move || deliver(&maildirs, "x\r\n"));
    tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .unwrap()
        .unwrap();
    delivery.await.unwrap();
    let changes = store
        .changes_since(&alice(), "INBOX", first.highest_modseq)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(&changes[..], [Change::Appended(m)] if m.uid.get() == 1));
    let modseq = *watch.borrow_and_update();
    store
        .store_flags(
            &alice(),
            "INBOX",
            &[Uid::FIRST],
            FlagOp::Add,
            seen(),
            &Keywords::new(),
        )
        .await
        .unwrap();
    assert!(watch.has_changed().unwrap());
    assert!(*watch.borrow_and_update() > modseq);
    store
        .expunge(&alice(), "INBOX", &[Uid::FIRST])
        .await
        .unwrap();
    assert!(watch.has_changed().unwrap());
}

#[tokio::test]
async fn a_uidlist_dovecot_wrote_keeps_its_uids_and_fields_and_sizes_are_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    store.open(&alice(), "INBOX").await.unwrap();
    let inbox = store.user_dir(&alice());
    // As Dovecot leaves it: a GUID, POP3 fields; one file without sizes in
    // its name, as other delivery agents write them.
    fs::write(inbox.join("cur/1.M1P1.other:2,S"), "a\nb\n").unwrap();
    fs::write(inbox.join("cur/2.M2P2.dove,S=2,W=3:2,"), "c\n").unwrap();
    fs::write(
        inbox.join("dovecot-uidlist"),
        "3 V1234 N20 Gfeedc0ffee\n7 P7uidl O1 :1.M1P1.other\n12 GAB :2.M2P2.dove,S=2,W=3\n",
    )
    .unwrap();
    let fresh = MaildirStore::new(dir.path(), "mx.test");
    let snapshot = fresh.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(snapshot.uid_validity.0, 1234);
    assert_eq!(uids(&snapshot), [7, 12]);
    assert_eq!(snapshot.messages[0].size, 6);
    assert_eq!(snapshot.messages[0].flags, seen());
    let uidlist = fs::read_to_string(inbox.join("dovecot-uidlist")).unwrap();
    assert_eq!(
        uidlist,
        "3 V1234 N20 Gfeedc0ffee\n7 S4 W6 P7uidl O1 :1.M1P1.other\n12 S2 W3 GAB :2.M2P2.dove,S=2,W=3\n"
    );
    fs::write(inbox.join("new/3.M3P3.other"), "d\n").unwrap();
    let snapshot = fresh.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&snapshot), [7, 12, 20]);
}

#[tokio::test]
async fn damaged_uidlist_is_an_error_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    store.open(&alice(), "INBOX").await.unwrap();
    fs::write(
        store.user_dir(&alice()).join("dovecot-uidlist"),
        "3 V1 N2\nx :a\n",
    )
    .unwrap();
    let error = store.open(&alice(), "INBOX").await.unwrap_err().to_string();
    assert!(
        error.contains("dovecot-uidlist") && error.contains("line 2"),
        "{error}"
    );
    assert!(
        !store
            .user_dir(&alice())
            .join("dovecot-uidlist.lock")
            .exists()
    );
}

#[tokio::test]
async fn folders_list_with_their_figures_and_can_be_created_renamed_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let maildirs = Maildirs::new(dir.path(), "mx.test");
    let store = maildirs.store();
    deliver(&maildirs, "Subject: a\r\n\r\nx\r\n");
    store.create_folder(&alice(), "Lists").await.unwrap();
    store
        .rename_folder(&alice(), "Lists", "Groups")
        .await
        .unwrap();
    let folders = store.folders(&alice()).await.unwrap();
    let names: Vec<&str> = folders.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "INBOX", "Archive", "Drafts", "Groups", "Junk", "Sent", "Trash"
        ]
    );
    assert_eq!(
        (folders[0].messages, folders[0].unseen, folders[0].size),
        (1, 1, 17)
    );
    store.delete_folder(&alice(), "Groups").await.unwrap();
    assert!(matches!(
        store.open(&alice(), "Groups").await,
        Err(StoreError::NoSuchFolder(_))
    ));
    assert!(matches!(
        store.open(&alice(), "../x").await,
        Err(StoreError::BadFolderName(_))
    ));
}

#[test]
fn parallel_deliveries_from_several_processes_never_share_a_uid() {
    let dir = tempfile::tempdir().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let path = dir.path().to_owned();
            std::thread::spawn(move || {
                let maildirs = Maildirs::new(&path, "mx.test");
                for i in 0..15 {
                    deliver(&maildirs, &format!("Subject: {t}-{i}\r\n\r\n"));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let store = MaildirStore::new(dir.path(), "mx.test");
    let synced = store.sync_blocking(&alice(), &inbox()).unwrap();
    assert_eq!(uids(&synced.snapshot), (1..=60).collect::<Vec<_>>());
}

/// One step of the model test.
#[derive(Clone, Debug)]
enum Op {
    Deliver {
        handle: usize,
    },
    Append {
        handle: usize,
        flags: u8,
    },
    SetFlags {
        handle: usize,
        pick: usize,
        flags: u8,
    },
    Expunge {
        handle: usize,
        pick: usize,
    },
    /// The process restarts: a new store on the same directory.
    Restart {
        handle: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize).prop_map(|handle| Op::Deliver { handle }),
        (0..3usize, 0u8..32).prop_map(|(handle, flags)| Op::Append { handle, flags }),
        (0..3usize, any::<usize>(), 0u8..32).prop_map(|(handle, pick, flags)| Op::SetFlags {
            handle,
            pick,
            flags
        }),
        (0..3usize, any::<usize>()).prop_map(|(handle, pick)| Op::Expunge { handle, pick }),
        (0..3usize).prop_map(|handle| Op::Restart { handle }),
    ]
}

fn flags_of(bits: u8) -> Flags {
    Flag::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, f)| f)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Three handles on one Maildir (three processes) append, deliver,
    /// change flags and expunge; after every step each handle's view
    /// matches a reference model: UIDs strictly increase and are never
    /// reused, flags are as last set, expunged messages are gone. A
    /// handle may restart (a new store on the directory); every handle
    /// sees the same MODSEQs, and HIGHESTMODSEQ never goes back.
    #[test]
    fn several_handles_keep_the_rules_of_the_model(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let mut handles: Vec<Maildirs> = (0..3).map(|_| Maildirs::new(dir.path(), "mx.test")).collect();
        let mut highest = ModSeq(0);
        let inbox = inbox();
        let mut model: BTreeMap<u32, Flags> = BTreeMap::new();
        let mut ever: BTreeSet<u32> = BTreeSet::new();
        for op in ops {
            match op {
                Op::Deliver { handle } => {
                    deliver(&handles[handle], "Subject: d\r\n\r\n");
                    let uid = handles[handle].store().sync_blocking(&alice(), &inbox).unwrap()
                        .snapshot.messages.last().unwrap().uid.get();
                    prop_assert!(ever.iter().all(|&u| u < uid), "UID {} not above all before", uid);
                    model.insert(uid, Flags::EMPTY);
                    ever.insert(uid);
                }
                Op::Append { handle, flags } => {
                    let store = handles[handle].store();
                    let root = store.folder_dir(&alice(), &inbox).unwrap();
                    let unique = unique_name(store.host());
                    let tmp = root.join("tmp").join(&unique);
                    let (size, vsize) = write_blocking(&tmp, b"", &mut &b"Subject: a\r\n\r\n"[..]).unwrap();
                    let message = TmpMessage {
                        tmp,
                        name: MaildirName::new(&unique, size, vsize),
                        flags: flags_of(flags),
                        keywords: Keywords::new(),
                        internal_date: UnixTime(1_000),
                    };
                    let uid = store.append_blocking(&alice(), &inbox, message).unwrap().get();
                    prop_assert!(ever.iter().all(|&u| u < uid), "UID {} not above all before", uid);
                    model.insert(uid, flags_of(flags));
                    ever.insert(uid);
                }
                Op::SetFlags { handle, pick, flags } => {
                    if model.is_empty() { continue; }
                    let uid = *model.keys().nth(pick % model.len()).unwrap();
                    handles[handle].store().store_flags_blocking(
                        &alice(), &inbox, &[Uid::new(uid).unwrap()], FlagOp::Set,
                        flags_of(flags), &Keywords::new(),
                    ).unwrap();
                    model.insert(uid, flags_of(flags));
                }
                Op::Expunge { handle, pick } => {
                    if model.is_empty() { continue; }
                    let uid = *model.keys().nth(pick % model.len()).unwrap();
                    let removed = handles[handle].store().expunge_blocking(
                        &alice(), &inbox, &[Uid::new(uid).unwrap()],
                    ).unwrap();
                    prop_assert_eq!(removed.len(), 1);
                    model.remove(&uid);
                }
                Op::Restart { handle } => {
                    handles[handle] = Maildirs::new(dir.path(), "mx.test");
                }
            }
            let first = handles[0].store().sync_blocking(&alice(), &inbox).unwrap().snapshot;
            prop_assert!(first.highest_modseq >= highest, "HIGHESTMODSEQ went back");
            highest = first.highest_modseq;
            for handle in &handles {
                let snapshot = handle.store().sync_blocking(&alice(), &inbox).unwrap().snapshot;
                let seen: BTreeMap<u32, Flags> =
                    snapshot.messages.iter().map(|m| (m.uid.get(), m.flags)).collect();
                prop_assert_eq!(&seen, &model);
                prop_assert!(ever.iter().all(|&u| u < snapshot.uid_next));
                prop_assert_eq!(&snapshot, &first, "every handle sees the same MODSEQs");
            }
        }
    }
}

/// Three processes at once on one folder, each appending its own messages,
/// flagging them and expunging every other one, while they all sync: no
/// update is lost and no UID is handed out twice.
#[test]
fn concurrent_appends_flag_changes_and_expunges_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    MaildirStore::new(dir.path(), "mx.test")
        .sync_blocking(&alice(), &inbox())
        .unwrap();
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let path = dir.path().to_owned();
            std::thread::spawn(move || {
                let store = MaildirStore::new(&path, "mx.test");
                let inbox = inbox();
                let root = store.folder_dir(&alice(), &inbox).unwrap();
                let mut mine = Vec::new();
                for i in 0..12 {
                    let unique = unique_name(store.host());
                    let tmp = root.join("tmp").join(&unique);
                    let text = format!("Subject: {t}-{i}\r\n\r\n");
                    let (size, vsize) = write_blocking(&tmp, b"", &mut text.as_bytes()).unwrap();
                    let message = TmpMessage {
                        tmp,
                        name: MaildirName::new(&unique, size, vsize),
                        flags: Flags::EMPTY,
                        keywords: Keywords::new(),
                        internal_date: UnixTime(1_000),
                    };
                    mine.push(store.append_blocking(&alice(), &inbox, message).unwrap());
                }
                let flag = [Flag::Flagged, Flag::Answered, Flag::Draft][t];
                store
                    .store_flags_blocking(
                        &alice(),
                        &inbox,
                        &mine,
                        FlagOp::Add,
                        Flags::EMPTY.with(flag),
                        &Keywords::new(),
                    )
                    .unwrap();
                let gone: Vec<Uid> = mine.iter().step_by(2).copied().collect();
                let removed = store.expunge_blocking(&alice(), &inbox, &gone).unwrap();
                assert_eq!(removed, gone);
                (flag, mine, gone)
            })
        })
        .collect();
    let results: Vec<(Flag, Vec<Uid>, Vec<Uid>)> =
        threads.into_iter().map(|t| t.join().unwrap()).collect();
    let all: BTreeSet<Uid> = results
        .iter()
        .flat_map(|(_, mine, _)| mine.clone())
        .collect();
    assert_eq!(all.len(), 36, "a UID was handed out twice");
    let snapshot = MaildirStore::new(dir.path(), "mx.test")
        .sync_blocking(&alice(), &inbox())
        .unwrap()
        .snapshot;
    let found: BTreeMap<Uid, Flags> = snapshot.messages.iter().map(|m| (m.uid, m.flags)).collect();
    let mut expected = BTreeMap::new();
    for (flag, mine, gone) in &results {
        for uid in mine.iter().filter(|u| !gone.contains(u)) {
            expected.insert(*uid, Flags::EMPTY.with(*flag));
        }
    }
    assert_eq!(found, expected);
}

/// A delivery tried again after a crash (the same queue ID, for the same
/// mailbox) finds the copy the first try
/// made, whether still in new/ or moved to cur/ by a reader, and makes no
/// second one.
#[tokio::test]
async fn a_repeated_delivery_finds_the_earlier_copy_and_makes_none() {
    let dir = tempfile::tempdir().unwrap();
    let maildirs = Maildirs::new(dir.path(), "mx.test");
    let store = maildirs.store().clone();
    let message = (QueueId(77), 1_795_000_000_000_000);
    let text = "Subject: once\r\n\r\nonly once\r\n";
    // The first try only puts its file in new/; the next sync numbers it.
    let first = maildirs
        .deliver(&alice(), message, b"", &mut text.as_bytes(), true)
        .unwrap();
    assert!(!first.earlier);
    assert_eq!(first.uid, None);
    let again = maildirs
        .deliver(&alice(), message, b"", &mut text.as_bytes(), false)
        .unwrap();
    assert!(again.earlier);
    assert!(again.uid.is_some());
    assert_eq!(again.path, first.path);
    let inbox = dir.path().join("mail/x.test/alice");
    assert_eq!(names_in(&inbox.join("new")).len(), 1);
    assert!(
        names_in(&inbox.join("tmp")).is_empty(),
        "the second try's file is removed"
    );

    // A reader moves it to cur/; a third try still finds it.
    let snapshot = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&snapshot), [again.uid.unwrap().get()]);
    assert!(names_in(&inbox.join("new")).is_empty());
    let third = maildirs
        .deliver(&alice(), message, b"", &mut text.as_bytes(), false)
        .unwrap();
    assert_eq!((third.uid, third.earlier), (again.uid, true));
    assert!(
        third.path.starts_with(inbox.join("cur")),
        "{:?}",
        third.path
    );
    assert_eq!(names_in(&inbox.join("cur")).len(), 1);
    assert!(names_in(&inbox.join("new")).is_empty());

    // A copy renamed into new/ by a try that crashed before its UID was
    // written is found too (the uidlist here is lost altogether).
    let crashed = (QueueId(79), 1_795_000_000_000_000);
    let first = maildirs
        .deliver(&alice(), crashed, b"", &mut text.as_bytes(), false)
        .unwrap();
    fs::remove_file(inbox.join("dovecot-uidlist")).unwrap();
    let again = maildirs
        .deliver(&alice(), crashed, b"", &mut text.as_bytes(), false)
        .unwrap();
    assert!(again.earlier);
    assert_eq!(again.path, first.path);
    assert_eq!(names_in(&inbox.join("new")).len(), 1);

    // Another message, or the same one for another mailbox, is a copy of
    // its own.
    let other = maildirs
        .deliver(
            &alice(),
            (QueueId(78), 1_795_000_000_000_000),
            b"",
            &mut text.as_bytes(),
            false,
        )
        .unwrap();
    assert!(!other.earlier);
    assert_ne!(other.uid, first.uid);
}

/// First tries take no lock and list nothing: their files wait in new/,
/// watchers are woken, and the next sync numbers them in name order.
#[tokio::test]
async fn first_tries_leave_numbering_to_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let maildirs = Maildirs::new(dir.path(), "mx.test");
    let store = maildirs.store().clone();
    let before = store.open(&alice(), "INBOX").await.unwrap();
    assert!(before.messages.is_empty());
    let mut watch = store.watch(&alice(), "INBOX");
    watch.borrow_and_update();
    let inbox = dir.path().join("mail/x.test/alice");
    let uidlist = fs::read(inbox.join("dovecot-uidlist")).unwrap();
    let mut paths = Vec::new();
    for n in 1..=3u64 {
        let text = format!("Subject: {n}\r\n\r\nbody\r\n");
        let copy = maildirs
            .deliver(
                &alice(),
                (QueueId(100 + n), 1_795_000_000),
                b"",
                &mut text.as_bytes(),
                true,
            )
            .unwrap();
        assert_eq!((copy.uid, copy.earlier), (None, false));
        assert!(copy.path.starts_with(inbox.join("new")));
        paths.push(copy.path);
    }
    assert!(watch.has_changed().unwrap(), "a watcher is woken");
    assert_eq!(
        fs::read(inbox.join("dovecot-uidlist")).unwrap(),
        uidlist,
        "no lock was taken, nothing numbered"
    );
    let full_syncs = store
        .handle(&alice(), &super::inbox())
        .full_syncs
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(full_syncs, 1, "only the open's");

    let snapshot = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&snapshot), [1, 2, 3]);
    for (n, path) in paths.iter().enumerate() {
        let name = path.file_name().unwrap().to_str().unwrap();
        let stem = name.split(',').next().unwrap();
        let listed = fs::read_to_string(inbox.join("dovecot-uidlist")).unwrap();
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(&format!("{} ", n + 1)) && l.contains(stem)),
            "{listed}"
        );
    }
}
