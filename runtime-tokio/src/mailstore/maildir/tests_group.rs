//! Group commit ([`super::group`]): concurrent sessions' work on one
//! folder shares a round under the lock, no change is lost, and nobody is
//! answered before the commit holding their change is on disk.

use super::*;
use postern_core::mailbox::uidlist::Uidlist;
use std::collections::BTreeSet;

fn alice() -> LocalMailbox {
    LocalMailbox::new("alice", "x.test")
}

fn message(n: usize) -> NewMessage {
    NewMessage {
        content: format!("Subject: {n}\r\n\r\nbody {n}\r\n").into_bytes(),
        flags: Flags::EMPTY,
        keywords: Keywords::new(),
        internal_date: UnixTime(1_795_000_000),
    }
}

/// The UIDs `dovecot-uidlist` on disk holds now.
fn uids_on_disk(store: &MaildirStore) -> Vec<Uid> {
    let bytes = fs::read(store.user_dir(&alice()).join(locked::UIDLIST)).unwrap();
    Uidlist::parse(&bytes)
        .unwrap()
        .records
        .iter()
        .map(|r| r.uid)
        .collect()
}

fn rounds(store: &MaildirStore) -> u64 {
    store
        .handle(&alice(), &inbox())
        .rounds
        .load(std::sync::atomic::Ordering::Relaxed)
}

fn queued(store: &MaildirStore) -> usize {
    lock(&store.handle(&alice(), &inbox()).queue).len()
}

/// Runs `work` on `count` threads while this thread holds the folder's
/// mutex, until all of them are queued; then lets go, so that one round
/// takes them all. Returns their results in thread order.
fn queued_together<T: Send + 'static>(
    store: &MaildirStore,
    count: usize,
    work: impl Fn(MaildirStore, usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let handle = store.handle(&alice(), &inbox());
    let held = lock(&handle.cache);
    let work = Arc::new(work);
    let threads: Vec<_> = (0..count)
        .map(|n| {
            let (store, work) = (store.clone(), Arc::clone(&work));
            std::thread::spawn(move || work(store, n))
        })
        .collect();
    while queued(store) < count {
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(held);
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn appends_queued_together_share_one_round_and_each_is_on_disk_when_answered() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    store.sync_blocking(&alice(), &inbox()).unwrap();
    let before = rounds(&store);
    let answers = queued_together(&store, 6, |store, n| {
        let (_, uids) = store
            .append_many_blocking(&alice(), &inbox(), vec![message(n)])
            .unwrap();
        // Answered: the uidlist on disk already holds this UID.
        let on_disk = uids_on_disk(&store);
        assert!(on_disk.contains(&uids[0]), "{uids:?} not in {on_disk:?}");
        uids[0]
    });
    assert_eq!(rounds(&store) - before, 1, "one round for all six");
    let mut uids: Vec<u32> = answers.iter().map(|u| u.get()).collect();
    uids.sort_unstable();
    assert_eq!(uids, [1, 2, 3, 4, 5, 6]);
    // Another process sees every one, with the same UIDs.
    let other = MaildirStore::new(dir.path(), "mx.test");
    let snapshot = other.sync_blocking(&alice(), &inbox()).unwrap().snapshot;
    assert_eq!(snapshot.messages.len(), 6);
    assert_eq!(cur_files(&store), 6);
}

fn cur_files(store: &MaildirStore) -> usize {
    fs::read_dir(store.user_dir(&alice()).join("cur"))
        .unwrap()
        .count()
}

#[test]
fn a_store_in_a_shared_round_answers_only_its_own_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    let messages = (0..4).map(message).collect();
    store
        .append_many_blocking(&alice(), &inbox(), messages)
        .unwrap();
    let before = rounds(&store);
    let answers = queued_together(&store, 4, |store, n| {
        let uid = Uid::new(n as u32 + 1).unwrap();
        let flag = if n % 2 == 0 {
            Flag::Seen
        } else {
            Flag::Flagged
        };
        let changes = store
            .store_flags_blocking(
                &alice(),
                &inbox(),
                &[uid],
                FlagOp::Add,
                Flags::EMPTY.with(flag),
                &Keywords::new(),
            )
            .unwrap();
        (uid, flag, changes)
    });
    assert_eq!(rounds(&store) - before, 1);
    let mut modseqs = BTreeSet::new();
    for (uid, flag, changes) in answers {
        assert_eq!(changes.len(), 1, "{uid}: {changes:?}");
        let Change::FlagsChanged {
            uid: changed,
            flags,
            modseq,
            ..
        } = &changes[0]
        else {
            panic!("{changes:?}");
        };
        assert_eq!(*changed, uid);
        assert!(flags.contains(flag));
        modseqs.insert(*modseq);
    }
    assert_eq!(modseqs.len(), 4, "each change its own MODSEQ");
    // Durable: another process resumes the same MODSEQs.
    let other = MaildirStore::new(dir.path(), "mx.test");
    let snapshot = other.sync_blocking(&alice(), &inbox()).unwrap().snapshot;
    let resumed: BTreeSet<ModSeq> = snapshot.messages.iter().map(|m| m.modseq).collect();
    assert_eq!(resumed, modseqs);
}

#[test]
fn a_failing_job_answers_its_error_and_the_rest_of_its_round_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    store.sync_blocking(&alice(), &inbox()).unwrap();
    let before = rounds(&store);
    let answers = queued_together(&store, 3, |store, n| {
        if n == 1 {
            store
                .locked(&alice(), &inbox(), true, |_| {
                    Err::<(), _>(StoreError::BadKeyword("refused".into()))
                })
                .map(|_| Vec::new())
        } else {
            store
                .append_many_blocking(&alice(), &inbox(), vec![message(n)])
                .map(|(_, uids)| uids)
        }
    });
    assert_eq!(rounds(&store) - before, 1);
    assert!(matches!(answers[1], Err(StoreError::BadKeyword(_))));
    let appended: Vec<Uid> = answers
        .into_iter()
        .filter_map(Result::ok)
        .flatten()
        .collect();
    assert_eq!(appended.len(), 2);
    let mut on_disk = uids_on_disk(&store);
    on_disk.sort_unstable();
    let mut appended = appended;
    appended.sort_unstable();
    assert_eq!(on_disk, appended);
}

/// Many sessions at once, not lined up by the test: whatever rounds form,
/// nothing is lost or doubled and the folder's MODSEQ only goes up.
#[test]
fn sessions_hammering_one_folder_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    store.sync_blocking(&alice(), &inbox()).unwrap();
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                let mut last = ModSeq(0);
                for n in 0..10 {
                    let (_, uids) = store
                        .append_many_blocking(&alice(), &inbox(), vec![message(t * 100 + n)])
                        .unwrap();
                    mine.push(uids[0]);
                    store
                        .store_flags_blocking(
                            &alice(),
                            &inbox(),
                            &uids,
                            FlagOp::Add,
                            Flags::EMPTY.with(Flag::Seen),
                            &Keywords::new(),
                        )
                        .unwrap();
                    let synced = store.sync_blocking(&alice(), &inbox()).unwrap();
                    assert!(synced.snapshot.highest_modseq >= last);
                    last = synced.snapshot.highest_modseq;
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<u32> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .map(|u| u.get())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (1..=60).collect::<Vec<u32>>());
    let other = MaildirStore::new(dir.path(), "mx.test");
    let snapshot = other.sync_blocking(&alice(), &inbox()).unwrap().snapshot;
    assert_eq!(snapshot.messages.len(), 60);
    assert!(
        snapshot
            .messages
            .iter()
            .all(|m| m.flags.contains(Flag::Seen))
    );
}
