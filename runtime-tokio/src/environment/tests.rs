//! The spool's single-trip local delivery on disk: a record kept from the
//! commit, the copies, and the removal only after they are durable.

use super::*;
use postern_core::address::{ForwardPath, Mailbox, ReversePath};
use postern_core::envelope::{ClientInfo, Destination, Recipient};
use postern_core::smtp::server::BodyType;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The `fsync` of `new/` fails while this is set: a disk that loses what
/// it was asked to keep.
static SYNC_FAILS: AtomicBool = AtomicBool::new(false);

fn flaky_sync(dir: &Path) -> io::Result<()> {
    if SYNC_FAILS.load(Ordering::SeqCst) {
        return Err(io::Error::other("fsync: input/output error"));
    }
    crate::spool::sync_dir(dir)
}

fn mailbox(user: &str) -> LocalMailbox {
    LocalMailbox {
        domain: "here.test".into(),
        user: user.into(),
    }
}

fn envelope(users: &[&str]) -> Envelope {
    Envelope {
        reverse_path: ReversePath::Mailbox(Mailbox {
            local_part: "ann".into(),
            domain: "friend.test".into(),
        }),
        recipients: users
            .iter()
            .map(|user| Recipient {
                forward_path: ForwardPath::Mailbox(Mailbox {
                    local_part: (*user).into(),
                    domain: "here.test".into(),
                }),
                destination: Destination::Local(mailbox(user)),
            })
            .collect(),
        body: BodyType::SevenBit,
        smtputf8: false,
        client: ClientInfo {
            helo: "client.test".into(),
            address: "127.0.0.1".into(),
            submitted: false,
        },
    }
}

/// A spool and Maildirs under `dir`, with message `users` committed.
async fn committed(dir: &Path, users: &[&str]) -> (Arc<Spool>, Arc<Maildirs>, QueueId) {
    use crate::driver::StoredMessage as _;
    let (announce, _announced) = tokio::sync::mpsc::unbounded_channel();
    let (spool, _) = Spool::open(dir, 0, announce).unwrap();
    let maildirs = Arc::new(Maildirs::new(dir, "mx.here.test"));
    let (id, _, mut file) = spool.create(envelope(users)).await.unwrap();
    file.write(b"Subject: hello\r\n\r\nHi.\r\n").await.unwrap();
    file.set_trace(b"Authentication-Results: mx.here.test; none\r\n".to_vec());
    file.commit().await.unwrap();
    (spool, maildirs, id)
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn a_committed_record_is_loaded_once_from_memory_as_it_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, _, id) = committed(dir.path(), &["alice"]).await;
    let (kept, state) = spool.load_kept(id).expect("kept at commit");
    assert_eq!(state, None, "no attempt yet, so no state");
    let (on_disk, _) = spool.read(id).unwrap();
    assert_eq!(kept, on_disk, "memory holds what the file holds");
    assert!(
        spool.load_kept(id).is_none(),
        "taken: a later load reads the file"
    );
}

#[tokio::test]
async fn a_copy_whose_sync_fails_keeps_the_message_queued_and_the_next_try_delivers_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, maildirs, id) = committed(dir.path(), &["alice"]).await;
    let alice = mailbox("alice");
    maildirs.store().sync_new_with(&alice, flaky_sync);
    let (record, _) = spool.load_kept(id).unwrap();
    let record = Arc::new(record);
    let queued = spool.queue_path(id);

    SYNC_FAILS.store(true, Ordering::SeqCst);
    let failed = deliver_plain_blocking(&spool, &maildirs, &record, vec![alice.clone()], true);
    SYNC_FAILS.store(false, Ordering::SeqCst);
    assert!(failed.error.is_some(), "the failed sync is reported");
    assert!(failed.copies.is_empty(), "no copy is counted made");
    assert!(!failed.removed);
    assert!(queued.exists(), "the message stays queued");

    let next = deliver_plain_blocking(&spool, &maildirs, &record, vec![alice.clone()], true);
    assert!(next.error.is_none(), "{:?}", next.error);
    assert!(next.removed, "delivered, so removed");
    assert!(!queued.exists());
    let new = files(&maildirs.path(&alice).join("new"));
    let cur = files(&maildirs.path(&alice).join("cur"));
    assert_eq!(new.len() + cur.len(), 1, "one copy: {new:?} {cur:?}");
    match &next.copies[..] {
        [(to, PlainCopy::Made(path))] => {
            assert_eq!(to, &alice);
            assert!(path.ends_with("(made by an earlier try)"), "{path}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_message_is_removed_only_when_asked_and_every_copy_was_made() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, maildirs, id) = committed(dir.path(), &["alice", "bob"]).await;
    let (alice, bob) = (mailbox("alice"), mailbox("bob"));
    // Bob forwards: his copy is for delivery to make, with his settings.
    let rules = MailboxRules::parse("[forward]\nto = [\"bob@elsewhere.test\"]\n").unwrap();
    mailbox_rules::write_rules(&maildirs.path(&bob), &rules).unwrap();
    let record = Arc::new(spool.read(id).unwrap().0);

    let kept = deliver_plain_blocking(&spool, &maildirs, &record, vec![alice.clone()], false);
    assert!(kept.all_made() && !kept.removed, "not asked to remove");
    assert!(spool.queue_path(id).exists());

    let both = vec![alice.clone(), bob.clone()];
    let ruled = deliver_plain_blocking(&spool, &maildirs, &record, both, true);
    assert!(!ruled.removed, "bob's forward is still to do");
    assert!(spool.queue_path(id).exists());
    match &ruled.copies[..] {
        [
            (_, PlainCopy::Made(_)),
            (to, PlainCopy::Ruled(Ok(Some(read)))),
        ] => {
            assert_eq!((to, read), (&bob, &rules));
        }
        other => panic!("{other:?}"),
    }
    assert!(files(&maildirs.path(&bob).join("new")).is_empty());
    // Bob first: the copies stop at him, so that delivery keeps the order.
    let bob_first = vec![bob.clone(), alice.clone()];
    let stopped = deliver_plain_blocking(&spool, &maildirs, &record, bob_first, true);
    assert!(matches!(&stopped.copies[..], [(to, PlainCopy::Ruled(_))] if to == &bob));
    assert!(!stopped.removed && spool.queue_path(id).exists());
    assert_eq!(
        files(&maildirs.path(&alice).join("new")).len(),
        1,
        "alice's second try found her copy"
    );
}
