//! Local delivery from the shared queue into the mailboxes in the
//! database, at the store's level: exactly once (a repeated delivery of
//! one queue ID to one mailbox finds the first copy), fenced (a node whose
//! lease is gone writes no mailbox row), the recipient's result in the
//! copy's transaction, quarantined copies in Junk, and the delivery keys
//! gone with the queued message.

mod support;

use postern::mailstore::MailboxStore;
use postern::spool::SpoolRecord;
use postern::storage::postgres::{Lease, PgMailboxStore, PgQueue, QueuedCopy, StoreError};
use postern_core::envelope::{Destination, LocalMailbox, QueueId};
use postern_core::queue::DeliveryState;
use postern_core::time::UnixTime;
use std::time::Duration;
use support::postgres::{self, Database, database, mailbox_store, queue, record};

const LONG: Duration = Duration::from_secs(60);

fn alice() -> LocalMailbox {
    LocalMailbox::new("alice", "x.test")
}

/// Queued message `id` to alice (twice: as herself and through an alias)
/// and one remote recipient.
async fn commit_to_alice(queue: &PgQueue, id: u64, junk: bool) -> SpoolRecord {
    let mut record = record(id, 3);
    for i in [0, 2] {
        record.envelope.recipients[i].destination = Destination::Local(alice());
    }
    record.junk = junk;
    let state = DeliveryState::new(&record.envelope, UnixTime(record.received_at));
    queue
        .commit(&record, &state, &b"Subject: hello\r\n\r\nbody\r\n"[..])
        .await
        .unwrap();
    record
}

fn headers(record: &SpoolRecord) -> Vec<u8> {
    let mut headers = record
        .envelope
        .delivery_headers(&alice(), "\r\n")
        .into_bytes();
    headers.extend_from_slice(&record.trace);
    headers
}

async fn deliver(
    store: &PgMailboxStore,
    record: &SpoolRecord,
    lease: &Lease,
) -> Result<postern::storage::postgres::DeliveredCopy, StoreError> {
    let headers = headers(record);
    let copy = QueuedCopy {
        queue_id: record.queue_id,
        mailbox: &alice(),
        junk: record.junk,
        headers: &headers,
        recipients: &[0, 2],
        detail: "delivered to the mailbox",
        internal_date: UnixTime(record.received_at),
    };
    store.deliver_queued(&copy, lease).await
}

fn count(db: &Database, sql: &str) -> i64 {
    tokio::task::block_in_place(|| postgres::count_in(db, sql))
}

fn statuses(db: &Database, id: u64) -> Vec<(String, i64)> {
    let rows = tokio::task::block_in_place(|| {
        postgres::rows_in(
            db,
            "SELECT status, attempts FROM queue_recipients WHERE queue_id = $1 ORDER BY idx",
            &[&(id as i64)],
        )
    });
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_delivery_of_one_queue_id_to_one_mailbox_leaves_one_copy() {
    let db = database();
    let queue = queue(&db).await;
    let store = mailbox_store(&db, 1).await;
    let record = commit_to_alice(&queue, 301, false).await;
    let claimed = queue.claim_due(1, 10, LONG).await.unwrap();
    let lease = claimed[0].lease;

    let first = deliver(&store, &record, &lease).await.unwrap();
    assert!(!first.earlier);
    assert_eq!((first.folder.as_str(), first.uid.get()), ("INBOX", 1));
    // The copy and both of alice's recipients, in one transaction; the
    // remote recipient is left alone.
    assert_eq!(
        statuses(&db, 301),
        [
            ("delivered".to_owned(), 1),
            ("pending".to_owned(), 0),
            ("delivered".to_owned(), 1)
        ]
    );

    // Again, as a try after a crash would: the copy is found.
    let again = deliver(&store, &record, &lease).await.unwrap();
    assert!(again.earlier, "{again}");
    assert_eq!(again.uid, first.uid);
    assert_eq!(again.to_string(), "INBOX UID 1 (made by an earlier try)");

    // And by another node, after the lease passed to it, even though
    // alice moved the copy to another folder meanwhile.
    store
        .move_messages(&alice(), "INBOX", &[first.uid], "Archive")
        .await
        .unwrap();
    let other = mailbox_store(&db, 2).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    queue
        .release(QueueId(301), &lease, UnixTime(0))
        .await
        .unwrap();
    let reclaimed = queue.claim_due(2, 10, LONG).await.unwrap();
    assert_eq!(reclaimed[0].lease.counter, 2);
    let third = deliver(&other, &record, &reclaimed[0].lease).await.unwrap();
    assert!(third.earlier, "{third}");
    // Where the copy was put, whatever became of it since.
    assert_eq!(third.to_string(), "INBOX UID 1 (made by an earlier try)");

    let inbox = store.open(&alice(), "INBOX").await.unwrap();
    let archive = store.open(&alice(), "Archive").await.unwrap();
    assert_eq!(
        inbox.messages.len() + archive.messages.len(),
        1,
        "one copy in all"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM mail_messages"), 1);
    // The attempts were counted once.
    assert_eq!(statuses(&db, 301)[0], ("delivered".to_owned(), 1));

    // The copy is the delivery headers, the trace and the data, CRLF.
    let texts =
        tokio::task::block_in_place(|| postgres::mailbox_texts(&db, "x.test", "alice", "Archive"));
    assert_eq!(
        texts,
        ["Return-Path: <>\r\nDelivered-To: alice@x.test\r\n\
          Authentication-Results: mx; none\r\nSubject: hello\r\n\r\nbody\r\n"]
    );
    assert_eq!(archive.messages[0].size as usize, texts[0].len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_lease_is_gone_writes_no_mailbox_row() {
    let db = database();
    let queue = queue(&db).await;
    let store = mailbox_store(&db, 1).await;
    let record = commit_to_alice(&queue, 302, false).await;
    let old = queue
        .claim_due(1, 10, Duration::from_millis(300))
        .await
        .unwrap()[0]
        .lease;
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Expired: fenced, even before another node claims it.
    let expired = deliver(&store, &record, &old).await;
    assert!(matches!(expired, Err(StoreError::Fenced)), "{expired:?}");
    let new = queue.claim_due(2, 10, LONG).await.unwrap()[0].lease;
    assert_ne!(new, old);
    let late = deliver(&store, &record, &old).await;
    assert!(matches!(late, Err(StoreError::Fenced)), "{late:?}");

    assert_eq!(count(&db, "SELECT count(*) FROM mail_messages"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM mail_deliveries"), 0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM blobs WHERE blob_id < 0"),
        0,
        "no mailbox blob either"
    );
    assert_eq!(
        statuses(&db, 302),
        [
            ("pending".to_owned(), 0),
            ("pending".to_owned(), 0),
            ("pending".to_owned(), 0)
        ]
    );
    // The holder of the new lease delivers.
    let copy = deliver(&store, &record, &new).await.unwrap();
    assert!(!copy.earlier);
    assert_eq!(count(&db, "SELECT count(*) FROM mail_messages"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantined_copy_goes_to_junk_and_the_keys_go_with_the_queued_message() {
    let db = database();
    let queue = queue(&db).await;
    let store = mailbox_store(&db, 1).await;
    let record = commit_to_alice(&queue, 303, true).await;
    let lease = queue.claim_due(1, 10, LONG).await.unwrap()[0].lease;
    let copy = deliver(&store, &record, &lease).await.unwrap();
    assert_eq!(copy.folder, "Junk");
    assert_eq!(
        store.open(&alice(), "Junk").await.unwrap().messages.len(),
        1
    );
    assert!(
        store
            .open(&alice(), "INBOX")
            .await
            .unwrap()
            .messages
            .is_empty()
    );
    assert_eq!(count(&db, "SELECT count(*) FROM mail_deliveries"), 1);

    queue.finish(QueueId(303), &lease).await.unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM queue_messages"), 0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM mail_deliveries"),
        0,
        "the keys went with the queued message"
    );
    // The copy keeps its own bytes.
    let texts =
        tokio::task::block_in_place(|| postgres::mailbox_texts(&db, "x.test", "alice", "Junk"));
    assert!(
        texts[0].ends_with("Subject: hello\r\n\r\nbody\r\n"),
        "{texts:?}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM blobs"), 1);
}
