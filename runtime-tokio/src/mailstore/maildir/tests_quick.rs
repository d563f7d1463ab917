//! The quick sync ([`super::settled`]): a sync that finds nothing changed
//! takes no lock and lists nothing, and every change, this process's or
//! another's, is still seen at the next sync.

use super::*;
use crate::maildir::Maildirs;
use postern_core::envelope::QueueId;
use postern_core::mailbox::modseq_file::MODSEQ_FILE;
use std::sync::atomic::Ordering;

fn alice() -> LocalMailbox {
    LocalMailbox::new("alice", "x.test")
}

fn uids(snapshot: &Snapshot) -> Vec<u32> {
    snapshot.messages.iter().map(|m| m.uid.get()).collect()
}

/// Syncs under the lock so far (listings of the folder).
fn full_syncs(store: &MaildirStore) -> u64 {
    store
        .handle(&alice(), &inbox())
        .full_syncs
        .load(Ordering::Relaxed)
}

/// Sets back the mtimes of INBOX's directories and files by `secs`, as if
/// nothing had touched them for that long.
fn age(store: &MaildirStore, secs: u64) {
    let then = SystemTime::now() - Duration::from_secs(secs);
    let dir = store.user_dir(&alice());
    for name in ["new", "cur", "dovecot-uidlist", MODSEQ_FILE] {
        let path = dir.join(name);
        if path.exists() {
            fs::File::open(&path).unwrap().set_modified(then).unwrap();
        }
    }
}

async fn two_in_inbox(dir: &Path) -> MaildirStore {
    let store = MaildirStore::new(dir, "mx.test");
    for text in ["Subject: 1\r\n\r\none\r\n", "Subject: 2\r\n\r\ntwo\r\n"] {
        store
            .append(
                &alice(),
                "INBOX",
                text.as_bytes(),
                Flags::EMPTY,
                &Keywords::new(),
                UnixTime(1_700_000_000),
            )
            .await
            .unwrap();
    }
    store
}

/// Ages the folder, syncs once in full (which trusts what it saw), and
/// checks that the next sync is quick.
async fn settle(store: &MaildirStore) {
    age(store, 10);
    store.open(&alice(), "INBOX").await.unwrap();
    let full = full_syncs(store);
    store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(full_syncs(store), full, "the second sync was not quick");
}

#[tokio::test]
async fn nothing_changed_costs_no_lock_and_no_listing_and_a_recent_change_is_listed_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_in_inbox(dir.path()).await;
    settle(&store).await;
    let full = full_syncs(&store);
    let first = store.open(&alice(), "INBOX").await.unwrap();
    for _ in 0..5 {
        let snapshot = store.open(&alice(), "INBOX").await.unwrap();
        assert_eq!(snapshot, first);
        let changes = store
            .changes_since(&alice(), "INBOX", first.highest_modseq)
            .await
            .unwrap();
        assert_eq!(changes, Some(Vec::new()));
    }
    assert_eq!(full_syncs(&store), full);
    // A change of ours: the folder changed just now, and a change by
    // someone else in the same timestamp tick would leave the same
    // mtimes, so the syncs after it list the folder again.
    store
        .store_flags(
            &alice(),
            "INBOX",
            &[Uid::new(1).unwrap()],
            FlagOp::Add,
            Flags::EMPTY.with(Flag::Seen),
            &Keywords::new(),
        )
        .await
        .unwrap();
    let after_change = full_syncs(&store);
    store.open(&alice(), "INBOX").await.unwrap();
    store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(full_syncs(&store), after_change + 2);
    // Once settled, quick again, with the change in the state.
    settle(&store).await;
    let snapshot = store.open(&alice(), "INBOX").await.unwrap();
    assert!(snapshot.messages[0].flags.contains(Flag::Seen));
}

#[tokio::test]
async fn a_flag_dovecot_sets_by_renaming_a_file_in_cur_is_seen_at_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_in_inbox(dir.path()).await;
    settle(&store).await;
    let before = store.open(&alice(), "INBOX").await.unwrap();
    let cur = store.user_dir(&alice()).join("cur");
    let name = fs::read_dir(&cur)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .min()
        .unwrap();
    // Dovecot sets \Flagged without the uidlist's lock: a rename.
    fs::rename(cur.join(&name), cur.join(format!("{name}F"))).unwrap();
    let changes = store
        .changes_since(&alice(), "INBOX", before.highest_modseq)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    let after = store.open(&alice(), "INBOX").await.unwrap();
    assert!(after.messages[0].flags.contains(Flag::Flagged));
    assert!(after.highest_modseq > before.highest_modseq);
}

#[tokio::test]
async fn a_delivery_or_an_expunge_by_another_process_is_seen_at_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_in_inbox(dir.path()).await;
    settle(&store).await;
    // Another process: a delivery through a store of its own.
    let maildirs = Maildirs::new(dir.path(), "mx.test");
    maildirs
        .deliver(
            &alice(),
            (QueueId(77), 1_795_000_000_000_000),
            b"",
            &mut &b"Subject: 3\r\n\r\nthree\r\n"[..],
            true,
        )
        .unwrap();
    let snapshot = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&snapshot), [1, 2, 3]);
    // And an expunge by yet another store.
    settle(&store).await;
    let other = MaildirStore::new(dir.path(), "mx.test");
    let gone = other
        .expunge(&alice(), "INBOX", &[Uid::new(2).unwrap()])
        .await
        .unwrap();
    assert_eq!(gone, [Uid::new(2).unwrap()]);
    let snapshot = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(uids(&snapshot), [1, 3]);
}

#[tokio::test]
async fn a_uidlist_replaced_with_its_old_mtime_is_still_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_in_inbox(dir.path()).await;
    settle(&store).await;
    let uidlist = store.user_dir(&alice()).join("dovecot-uidlist");
    let old_mtime = fs::metadata(&uidlist).unwrap().modified().unwrap();
    let text = fs::read_to_string(&uidlist).unwrap();
    let before = store.open(&alice(), "INBOX").await.unwrap();
    // A new UIDVALIDITY, written the way Dovecot writes (a new file
    // renamed over the old), then given the old mtime: only the inode
    // and ctime tell.
    let validity = format!("V{}", before.uid_validity.0);
    let replaced = text.replacen(&validity, &format!("V{}", before.uid_validity.0 + 1), 1);
    assert_ne!(replaced, text);
    let scratch = uidlist.with_file_name("uidlist.new");
    fs::write(&scratch, replaced).unwrap();
    fs::rename(&scratch, &uidlist).unwrap();
    fs::File::open(&uidlist)
        .unwrap()
        .set_modified(old_mtime)
        .unwrap();
    let changes = store
        .changes_since(&alice(), "INBOX", before.highest_modseq)
        .await
        .unwrap();
    assert_eq!(changes, None, "a new UIDVALIDITY means a resync");
    let after = store.open(&alice(), "INBOX").await.unwrap();
    assert_eq!(after.uid_validity.0, before.uid_validity.0 + 1);
}

/// `changes_since` answered on the calling thread: only when the folder's
/// mutex is free and nothing changed; never waiting, never stale.
#[tokio::test]
async fn quick_changes_answer_at_once_or_send_the_caller_the_usual_way() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_in_inbox(dir.path()).await;
    settle(&store).await;
    let first = store.open(&alice(), "INBOX").await.unwrap();
    let since = first.highest_modseq;
    assert_eq!(
        store.quick_changes(&alice(), &inbox(), since),
        Some(Some(Vec::new()))
    );
    // The mutex taken (a round under way): no waiting for it here.
    let handle = store.handle(&alice(), &inbox());
    let held = lock(&handle.cache);
    assert_eq!(store.quick_changes(&alice(), &inbox(), since), None);
    drop(held);
    // Another process changes a flag: the stamps moved, so the usual way,
    // which finds the change.
    let other = MaildirStore::new(dir.path(), "mx.test");
    other
        .store_flags(
            &alice(),
            "INBOX",
            &[Uid::new(2).unwrap()],
            FlagOp::Add,
            Flags::EMPTY.with(Flag::Flagged),
            &Keywords::new(),
        )
        .await
        .unwrap();
    assert_eq!(store.quick_changes(&alice(), &inbox(), since), None);
    let changes = store
        .changes_since(&alice(), "INBOX", since)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
}
