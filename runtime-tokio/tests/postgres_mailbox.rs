//! What only the postgres mailbox store does: change notifications
//! across nodes (and after its listening connection is cut), blobs shared
//! by copies, and an unreachable database as an I/O error. The contract
//! both stores keep is in `mailbox_stores.rs` and `mailbox_folders.rs`.

mod support;

use postern::mailstore::{MailboxStore, StoreError};
use postern_core::mailbox::{Change, ModSeq};
use std::time::Duration;
use support::mailstore::*;
use support::postgres::{database, look, mailbox_store};

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

/// The export walks the users a page at a time, after the last one seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_users_are_listed_in_order_after_the_one_given() {
    let db = database();
    let store = mailbox_store(&db, 1).await;
    let named = |domain: &str, user: &str| postern_core::envelope::LocalMailbox {
        domain: domain.into(),
        user: user.into(),
    };
    for (domain, user) in [("b.test", "zed"), ("a.test", "bob"), ("b.test", "amy")] {
        store.open(&named(domain, user), "INBOX").await.unwrap();
    }
    let all = store.users(None).await.unwrap();
    assert_eq!(
        all,
        [
            named("a.test", "bob"),
            named("b.test", "amy"),
            named("b.test", "zed")
        ]
    );
    assert_eq!(
        store.users(Some(&all[1])).await.unwrap(),
        [named("b.test", "zed")]
    );
    assert!(store.users(Some(&all[2])).await.unwrap().is_empty());
}

/// A folder keeps at most MAILBOX_CHANGES_KEPT_MAX tombstones: the
/// oldest go, and a session asking for changes from before them is told
/// to re-open (`None`), as the Maildir store tells it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_old_tombstones_are_dropped_and_changes_from_before_them_say_reopen() {
    use postern_core::limits::MAILBOX_CHANGES_KEPT_MAX;
    let db = database();
    let store = mailbox_store(&db, 1).await;
    store.open(&alice(), "INBOX").await.unwrap();
    let client = look(&db).await;
    // As if 10,000 messages had come and gone: tombstones at MODSEQs 2
    // and up, the folder's figures above them.
    let kept = MAILBOX_CHANGES_KEPT_MAX as i64;
    client
        .execute(
            "INSERT INTO mail_expunged (folder_id, uid, modseq) \
             SELECT folder_id, g, g + 1 FROM mail_folders, generate_series(1, $1::BIGINT) g \
             WHERE name = 'INBOX'",
            &[&kept],
        )
        .await
        .unwrap();
    client
        .execute(
            "UPDATE mail_folders SET uid_next = $1::BIGINT + 1, highest_modseq = $1::BIGINT + 1 \
             WHERE name = 'INBOX'",
            &[&kept],
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .changes_since(&alice(), "INBOX", ModSeq(1))
            .await
            .unwrap()
            .map(|c| c.len()),
        Some(MAILBOX_CHANGES_KEPT_MAX)
    );
    let new = append(&store, "INBOX", "x\r\n").await;
    store.expunge(&alice(), "INBOX", &[new]).await.unwrap();
    assert_eq!(
        count(&client, "SELECT count(*) FROM mail_expunged").await,
        kept
    );
    assert_eq!(
        store
            .changes_since(&alice(), "INBOX", ModSeq(1))
            .await
            .unwrap(),
        None
    );
    // Since the figures set above: the message came and went, and only
    // its expunge is told (a session that never saw it ignores it).
    let recent = store
        .changes_since(&alice(), "INBOX", ModSeq(kept as u64 + 1))
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&recent[..], [Change::Expunged { uid, .. }] if *uid == new),
        "{recent:?}"
    );
}
