//! The simulation's `MailboxStore` under random operations on two folders,
//! against a reference model, and its mail history against what the
//! folders hold.

use super::MemoryStore;
use super::mailboxes::{MailEvent, Place};
use super::mailboxes_tests::{alice, read_all, store, three_in_inbox, uid};
use super::maildrop;
use postern::mailstore::{FlagOp, MailboxStore, NewMessage};
use postern_core::envelope::QueueId;
use postern_core::mailbox::{Change, Flag, Flags, Keywords, ModSeq, Snapshot, Uid};
use postern_core::time::UnixTime;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
enum Op {
    Append {
        folder: usize,
        flags: u8,
    },
    AppendMany {
        folder: usize,
        count: usize,
    },
    Deliver,
    SetFlags {
        folder: usize,
        pick: usize,
        flags: u8,
        op: u8,
    },
    Expunge {
        folder: usize,
        pick: usize,
    },
    Copy {
        from: usize,
        pick: usize,
        to: usize,
    },
    Move {
        from: usize,
        pick: usize,
        to: usize,
    },
}

const FOLDERS: [&str; 2] = ["INBOX", "Trash"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 0u8..32).prop_map(|(folder, flags)| Op::Append { folder, flags }),
        (0..2usize, 0..4usize).prop_map(|(folder, count)| Op::AppendMany { folder, count }),
        Just(Op::Deliver),
        (0..2usize, any::<usize>(), 0u8..32, 0u8..3).prop_map(|(folder, pick, flags, op)| {
            Op::SetFlags {
                folder,
                pick,
                flags,
                op,
            }
        }),
        (0..2usize, any::<usize>()).prop_map(|(folder, pick)| Op::Expunge { folder, pick }),
        (0..2usize, any::<usize>(), 0..2usize).prop_map(|(from, pick, to)| Op::Copy {
            from,
            pick,
            to
        }),
        (0..2usize, any::<usize>(), 0..2usize).prop_map(|(from, pick, to)| Op::Move {
            from,
            pick,
            to
        }),
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

/// A folder as the model sees it: UID to flags and content.
type Model = BTreeMap<u32, (Flags, Vec<u8>)>;

fn pick(model: &Model, pick: usize) -> Option<u32> {
    (!model.is_empty()).then(|| *model.keys().nth(pick % model.len()).unwrap_or(&0))
}

/// The snapshot `before` with `changes` applied, as a session would.
fn apply(before: &Snapshot, changes: &[Change]) -> BTreeMap<u32, (Flags, ModSeq)> {
    let mut seen: BTreeMap<u32, (Flags, ModSeq)> = before
        .messages
        .iter()
        .map(|m| (m.uid.get(), (m.flags, m.modseq)))
        .collect();
    for change in changes {
        match change {
            Change::Appended(meta) => {
                seen.insert(meta.uid.get(), (meta.flags, meta.modseq));
            }
            Change::FlagsChanged {
                uid, flags, modseq, ..
            } => {
                seen.insert(uid.get(), (*flags, *modseq));
            }
            Change::Expunged { uid, .. } => {
                seen.remove(&uid.get());
            }
        }
    }
    seen
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let store = store();
    let mut models: [Model; 2] = [Model::new(), Model::new()];
    let mut ever: [BTreeSet<u32>; 2] = [BTreeSet::new(), BTreeSet::new()];
    let mut before = Vec::new();
    for name in FOLDERS {
        before.push(store.open(&alice(), name).await.unwrap());
    }
    let mut counter = 0u32;
    let mut text = || {
        counter += 1;
        format!("Subject: {counter}\r\n\r\n").into_bytes()
    };
    let mut next_queue_id = 0;
    for op in ops {
        // What each folder gained: (folder, new UID, flags, content).
        let mut added: Vec<(usize, Uid, Flags, Vec<u8>)> = Vec::new();
        match op {
            Op::Append { folder, flags } => {
                let content = text();
                let new = store
                    .append(
                        &alice(),
                        FOLDERS[folder],
                        &content[..],
                        flags_of(flags),
                        &Keywords::new(),
                        UnixTime(1),
                    )
                    .await
                    .unwrap();
                added.push((folder, new, flags_of(flags), content));
            }
            Op::AppendMany { folder, count } => {
                let contents: Vec<Vec<u8>> = (0..count).map(|_| text()).collect();
                let messages = contents
                    .iter()
                    .map(|c| NewMessage {
                        content: c.clone(),
                        flags: Flags::EMPTY,
                        keywords: Keywords::new(),
                        internal_date: UnixTime(2),
                    })
                    .collect();
                let (_, new) = store
                    .append_many(&alice(), FOLDERS[folder], messages)
                    .await
                    .unwrap();
                prop_assert_eq!(new.len(), count);
                for (uid, content) in new.into_iter().zip(contents) {
                    added.push((folder, uid, Flags::EMPTY, content));
                }
            }
            Op::Deliver => {
                next_queue_id += 1;
                let content = text();
                maildrop::deliver(
                    &store,
                    &alice(),
                    false,
                    content.clone(),
                    QueueId(next_queue_id),
                )
                .unwrap();
                let last = store
                    .open(&alice(), "INBOX")
                    .await
                    .unwrap()
                    .messages
                    .last()
                    .unwrap()
                    .uid;
                added.push((0, last, Flags::EMPTY, content));
            }
            Op::SetFlags {
                folder,
                pick: p,
                flags,
                op,
            } => {
                let Some(target) = pick(&models[folder], p) else {
                    continue;
                };
                let (op, flags) = (
                    [FlagOp::Set, FlagOp::Add, FlagOp::Remove][op as usize],
                    flags_of(flags),
                );
                store
                    .store_flags(
                        &alice(),
                        FOLDERS[folder],
                        &[uid(target)],
                        op,
                        flags,
                        &Keywords::new(),
                    )
                    .await
                    .unwrap();
                let entry = models[folder].get_mut(&target).unwrap();
                entry.0 = match op {
                    FlagOp::Set => flags,
                    FlagOp::Add => entry.0.union(flags),
                    FlagOp::Remove => entry.0.difference(flags),
                };
            }
            Op::Expunge { folder, pick: p } => {
                let Some(target) = pick(&models[folder], p) else {
                    continue;
                };
                let removed = store
                    .expunge(&alice(), FOLDERS[folder], &[uid(target)])
                    .await
                    .unwrap();
                prop_assert_eq!(removed, vec![uid(target)]);
                models[folder].remove(&target);
            }
            Op::Copy { from, pick: p, to } | Op::Move { from, pick: p, to } => {
                let Some(source) = pick(&models[from], p) else {
                    continue;
                };
                let (flags, content) = models[from][&source].clone();
                let pairs = if matches!(op, Op::Move { .. }) {
                    let moved = store
                        .move_messages(&alice(), FOLDERS[from], &[uid(source)], FOLDERS[to])
                        .await
                        .unwrap();
                    prop_assert_eq!(&moved.expunged, &vec![uid(source)]);
                    models[from].remove(&source);
                    moved.copied.pairs
                } else {
                    store
                        .copy(&alice(), FOLDERS[from], &[uid(source)], FOLDERS[to])
                        .await
                        .unwrap()
                        .pairs
                };
                prop_assert_eq!(pairs.len(), 1);
                prop_assert_eq!(pairs[0].0, uid(source));
                added.push((to, pairs[0].1, flags, content));
            }
        }
        for (folder, new, flags, content) in added {
            // UIDs strictly increase and are never reused.
            prop_assert!(
                ever[folder].iter().all(|&u| u < new.get()),
                "UID {} reused or not above the rest",
                new
            );
            ever[folder].insert(new.get());
            models[folder].insert(new.get(), (flags, content));
        }
        for (i, name) in FOLDERS.into_iter().enumerate() {
            let now = store.open(&alice(), name).await.unwrap();
            // Nothing is lost but by EXPUNGE (or MOVE), flags as set.
            let seen: BTreeMap<u32, Flags> = now
                .messages
                .iter()
                .map(|m| (m.uid.get(), m.flags))
                .collect();
            let want: BTreeMap<u32, Flags> = models[i].iter().map(|(&u, (f, _))| (u, *f)).collect();
            prop_assert_eq!(&seen, &want);
            for (&u, (_, content)) in &models[i] {
                prop_assert_eq!(&read_all(&store, name, u).await, content);
            }
            prop_assert!(ever[i].iter().all(|&u| u < now.uid_next));
            // MODSEQ only goes up, and a session that applies the
            // changes since its snapshot sees what a new one sees.
            prop_assert!(now.highest_modseq >= before[i].highest_modseq);
            for meta in &now.messages {
                prop_assert!(meta.modseq <= now.highest_modseq);
            }
            let changes = store
                .changes_since(&alice(), name, before[i].highest_modseq)
                .await
                .unwrap()
                .unwrap();
            let mut last = before[i].highest_modseq;
            for change in &changes {
                prop_assert!(
                    change.modseq() > last,
                    "changes out of order: {:?}",
                    changes
                );
                last = change.modseq();
            }
            let fresh: BTreeMap<u32, (Flags, ModSeq)> = now
                .messages
                .iter()
                .map(|m| (m.uid.get(), (m.flags, m.modseq)))
                .collect();
            prop_assert_eq!(apply(&before[i], &changes), fresh);
            before[i] = now;
        }
    }
    // The history tells the same: every placement and removal, in order.
    let history = store.mail_history();
    prop_assert_eq!(
        replay(&history).map_err(TestCaseError::fail)?,
        holdings(&store).await
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random appends, MULTIAPPENDs, deliveries, flag changes,
    /// expunges, copies and moves on two folders keep the model's
    /// rules: UIDs strictly increase and are never reused, nothing is
    /// lost but by expunge or move, MODSEQs only go up, the changes
    /// since a snapshot bring it to the next, and the mail history
    /// replays to what the folders hold.
    #[test]
    fn random_operations_keep_the_rules_of_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(run(ops))?;
    }
}

/// Each folder's messages: (mailbox, folder, UIDVALIDITY) to UID to bytes.
type Holdings = BTreeMap<(String, String, u32), BTreeMap<u32, Vec<u8>>>;

/// What the history says each folder holds: (mailbox, folder,
/// UIDVALIDITY) to UID to bytes. A UID placed twice is an error.
fn replay(history: &[MailEvent]) -> Result<Holdings, String> {
    let mut held = Holdings::new();
    let key = |p: &Place| (p.mailbox.clone(), p.folder.clone(), p.uid_validity);
    for event in history {
        match event {
            MailEvent::Appended { place, data } => {
                let folder = held.entry(key(place)).or_default();
                if folder
                    .keys()
                    .next_back()
                    .is_some_and(|&last| last >= place.uid)
                {
                    return Err(format!(
                        "UID {} placed below another in {place:?}",
                        place.uid
                    ));
                }
                folder.insert(place.uid, data.to_vec());
            }
            MailEvent::Expunged { place } => {
                let gone = held.entry(key(place)).or_default().remove(&place.uid);
                if gone.is_none() {
                    return Err(format!("{place:?} expunged what it did not hold"));
                }
            }
            MailEvent::FolderDeleted { place, uids } => {
                let gone = held.remove(&key(place)).unwrap_or_default();
                if gone.keys().copied().collect::<Vec<u32>>() != *uids {
                    return Err(format!("{place:?} deleted other messages than it held"));
                }
            }
            MailEvent::FolderRenamed { place, to } => {
                let moved = held.remove(&key(place)).unwrap_or_default();
                let new = (place.mailbox.clone(), to.clone(), place.uid_validity);
                held.insert(new, moved);
            }
        }
    }
    held.retain(|_, messages| !messages.is_empty());
    Ok(held)
}

/// What the store holds now, as [`replay`] gives it.
async fn holdings(store: &MemoryStore) -> Holdings {
    let mut now = BTreeMap::new();
    for folder in store.folders(&alice()).await.unwrap() {
        let snapshot = MailboxStore::open(store, &alice(), &folder.name)
            .await
            .unwrap();
        let mut messages = BTreeMap::new();
        for meta in &snapshot.messages {
            messages.insert(
                meta.uid.get(),
                read_all(store, &folder.name, meta.uid.get()).await,
            );
        }
        if !messages.is_empty() {
            let key = (alice().to_string(), folder.name, snapshot.uid_validity.0);
            now.insert(key, messages);
        }
    }
    now
}

#[tokio::test]
async fn the_history_replays_to_what_the_folders_hold() {
    let store = three_in_inbox().await;
    maildrop::deliver(&store, &alice(), false, b"d\r\n".to_vec(), QueueId(1)).unwrap();
    store.create_folder(&alice(), "Lists").await.unwrap();
    store.create_folder(&alice(), "Lists.rust").await.unwrap();
    store
        .copy(&alice(), "INBOX", &[uid(1), uid(4)], "Lists.rust")
        .await
        .unwrap();
    store
        .move_messages(&alice(), "INBOX", &[uid(2)], "Lists")
        .await
        .unwrap();
    store.expunge(&alice(), "INBOX", &[uid(3)]).await.unwrap();
    store
        .rename_folder(&alice(), "Lists", "Groups")
        .await
        .unwrap();
    store
        .append(
            &alice(),
            "Archive",
            &b"x\r\n"[..],
            Flags::EMPTY,
            &Keywords::new(),
            UnixTime(1),
        )
        .await
        .unwrap();
    store.delete_folder(&alice(), "Archive").await.unwrap();
    let history = store.mail_history();
    let kinds: Vec<&str> = history
        .iter()
        .map(|event| match event {
            MailEvent::Appended { .. } => "appended",
            MailEvent::Expunged { .. } => "expunged",
            MailEvent::FolderDeleted { .. } => "deleted",
            MailEvent::FolderRenamed { .. } => "renamed",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "appended", "appended", "appended", "appended", "appended", "appended", "appended",
            "expunged", "expunged", "renamed", "renamed", "appended", "deleted",
        ]
    );
    assert!(matches!(&history[3], MailEvent::Appended { place, .. }
        if place.folder == "INBOX" && place.uid == 4 && place.mailbox == "alice@x.test"));
    assert_eq!(replay(&history).unwrap(), holdings(&store).await);
}
