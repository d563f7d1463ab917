//! How many statements the database runs per message: the budget the
//! book's "Statements per message" table states, held by counting what
//! the node sends. The store's connections go through a small proxy
//! that reads the client's side of PostgreSQL's protocol and counts every
//! statement run (an `Execute` of a prepared statement, or a simple
//! `Query` such as `BEGIN` and `COMMIT`), as `pg_stat_statements` does.
//!
//! Accepting a message of one chunk is one statement (its transaction of
//! its own); a local copy is a transaction of seven; the finish is one;
//! a renewal round with the heartbeat is one. The statements' effects are
//! checked as well: the finish takes the message's blob and delivery keys
//! with it and leaves the copy's, and the heartbeat in a renewal round
//! still refuses a node number another live node holds.

mod support;

use postern::storage::postgres::{self, PgMailboxStore, PgQueue, QueuedCopy};
use postern_core::envelope::{Destination, LocalMailbox, QueueId};
use postern_core::queue::DeliveryState;
use postern_core::time::UnixTime;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::postgres::{Database, ROLE, ROLE_PASSWORD, count_in, database, migrate, record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LONG: Duration = Duration::from_secs(60);

/// The code of an `SSLRequest` in place of a startup message.
const SSL_REQUEST: u32 = 80_877_103;

/// A proxy to the test cluster that counts the statements its clients
/// run.
struct Counter {
    port: u16,
    statements: Arc<AtomicU64>,
}

impl Counter {
    async fn start(db: &Database) -> Counter {
        let port = support::free_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let statements = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&statements);
        let upstream = db.port;
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
                let (from_client, to_client) = client.into_split();
                let (from_server, to_server) = server.into_split();
                tokio::spawn(count_and_forward(
                    from_client,
                    to_server,
                    Arc::clone(&counted),
                ));
                tokio::spawn(async move {
                    let (mut from, mut to) = (from_server, to_client);
                    let _ = tokio::io::copy(&mut from, &mut to).await;
                });
            }
        });
        Counter { port, statements }
    }

    /// The settings of a connection through the proxy.
    fn config(&self, db: &Database) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(ROLE)
            .password(ROLE_PASSWORD)
            .dbname(&db.name);
        config
    }

    /// What `work` answers, and the statements it ran.
    async fn count<T>(&self, work: impl Future<Output = T>) -> (T, u64) {
        let before = self.statements.load(Ordering::SeqCst);
        let answer = work.await;
        (answer, self.statements.load(Ordering::SeqCst) - before)
    }
}

/// Forwards the client's messages, counting `Execute` ('E') and `Query`
/// ('Q'). The first message (or two, after an `SSLRequest`) has no type
/// byte.
async fn count_and_forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    statements: Arc<AtomicU64>,
) -> std::io::Result<()> {
    loop {
        let length = from.read_u32().await?;
        let mut body = vec![0; length as usize - 4];
        from.read_exact(&mut body).await?;
        to.write_u32(length).await?;
        to.write_all(&body).await?;
        if body.get(..4) != Some(&SSL_REQUEST.to_be_bytes()[..]) {
            break;
        }
    }
    loop {
        let kind = from.read_u8().await?;
        let length = from.read_u32().await?;
        let mut body = vec![0; length as usize - 4];
        from.read_exact(&mut body).await?;
        if kind == b'E' || kind == b'Q' {
            statements.fetch_add(1, Ordering::SeqCst);
        }
        to.write_u8(kind).await?;
        to.write_u32(length).await?;
        to.write_all(&body).await?;
    }
}

fn alice() -> LocalMailbox {
    LocalMailbox::new("alice", "x.test")
}

/// Queued message `id` for alice alone, `size` octets of data.
async fn commit_to_alice(queue: &PgQueue, id: u64, size: usize) -> postern::spool::SpoolRecord {
    let mut record = record(id, 1);
    record.envelope.recipients[0].destination = Destination::Local(alice());
    let state = DeliveryState::new(&record.envelope, UnixTime(record.received_at));
    let mut data = b"Subject: counted\r\n\r\n".to_vec();
    data.resize(size, b'x');
    queue.commit(&record, &state, &data[..]).await.unwrap();
    record
}

async fn copy_to_alice(
    store: &PgMailboxStore,
    queue: &PgQueue,
    id: u64,
) -> (
    postern::storage::postgres::Lease,
    postern::spool::SpoolRecord,
) {
    let claimed = queue.claim_due(1, 10, LONG).await.unwrap();
    let lease = claimed
        .iter()
        .find(|c| c.queue_id == QueueId(id))
        .unwrap()
        .lease;
    let (record, _) = queue.load(QueueId(id)).await.unwrap();
    let copy = QueuedCopy {
        queue_id: QueueId(id),
        mailbox: &alice(),
        junk: false,
        headers: b"Delivered-To: alice@x.test\r\n",
        recipients: &[0],
        detail: "delivered to the mailbox",
        internal_date: UnixTime(record.received_at),
    };
    store.deliver_queued(&copy, &lease).await.unwrap();
    (lease, record)
}

fn count(db: &Database, sql: &str) -> i64 {
    tokio::task::block_in_place(|| count_in(db, sql))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_accepted_and_copied_locally_takes_ten_statements() {
    let db = database();
    migrate(&db).await;
    let counter = Counter::start(&db).await;
    let pool = postgres::pool(counter.config(&db), 2).unwrap();
    let queue = PgQueue::new(pool.clone());
    // The listener's connection is not counted.
    let store = PgMailboxStore::start(pool, db.client_config(), 1)
        .await
        .unwrap();

    // A first message makes alice's mailbox (once per user) and prepares
    // the statements (once per connection).
    commit_to_alice(&queue, 1, 4096).await;
    let (lease, _) = copy_to_alice(&store, &queue, 1).await;
    queue.finish(QueueId(1), &lease).await.unwrap();

    let (_, accept) = counter.count(commit_to_alice(&queue, 2, 4096)).await;
    let (claimed, claim) = counter.count(queue.claim_due(1, 10, LONG)).await;
    let lease = claimed.unwrap()[0].lease;
    let (_, load) = counter.count(queue.load(QueueId(2))).await;
    let copy = QueuedCopy {
        queue_id: QueueId(2),
        mailbox: &alice(),
        junk: false,
        headers: b"Delivered-To: alice@x.test\r\n",
        recipients: &[0],
        detail: "delivered to the mailbox",
        internal_date: UnixTime(0),
    };
    let (copied, deliver) = counter.count(store.deliver_queued(&copy, &lease)).await;
    assert!(!copied.unwrap().earlier);
    assert_eq!(count(&db, "SELECT count(*) FROM mail_deliveries"), 1);
    let (finished, finish) = counter.count(queue.finish(QueueId(2), &lease)).await;
    finished.unwrap();

    let counts = [accept, claim, load, deliver, finish];
    assert_eq!(
        counts,
        [1, 1, 1, 7, 1],
        "statements of accept, claim, load, copy, finish"
    );
    assert_eq!(counts.iter().sum::<u64>(), 11);

    // The finish took the queued message's blob and its delivery key,
    // and left the two copies with theirs.
    assert_eq!(count(&db, "SELECT count(*) FROM queue_messages"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM queue_recipients"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM mail_deliveries"), 0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM blobs WHERE blob_id > 0"),
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM blob_chunks WHERE blob_id > 0"),
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM mail_messages"), 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM blobs b JOIN mail_messages m ON m.blob_id = b.blob_id"
        ),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finish_whose_lease_is_gone_removes_nothing_in_its_one_statement() {
    let db = database();
    migrate(&db).await;
    let counter = Counter::start(&db).await;
    let queue = PgQueue::new(postgres::pool(counter.config(&db), 2).unwrap());
    commit_to_alice(&queue, 5, 100).await;
    let claimed = queue
        .claim_due(1, 10, Duration::from_millis(300))
        .await
        .unwrap();
    let stale = claimed[0].lease;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let taken = queue.claim_due(2, 10, LONG).await.unwrap();
    assert_eq!(taken[0].lease.counter, 2);

    let (finished, statements) = counter.count(queue.finish(QueueId(5), &stale)).await;
    assert!(
        matches!(finished, Err(postgres::StoreError::Fenced)),
        "{finished:?}"
    );
    assert_eq!(statements, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM queue_messages"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM queue_recipients"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM blob_chunks"), 1);
    // The holder's finish still works, and takes it all.
    queue.finish(QueueId(5), &taken[0].lease).await.unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM blobs"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_message_is_accepted_in_one_transaction_and_read_back_whole() {
    let db = database();
    migrate(&db).await;
    let counter = Counter::start(&db).await;
    let queue = PgQueue::new(postgres::pool(counter.config(&db), 2).unwrap());
    // Three chunks: BEGIN, the blob's row, three chunks, its size, the
    // message with its recipient and wake-up, COMMIT.
    let size = 2 * postern_core::limits::STORAGE_CHUNK_BYTES_MAX + 10;
    let (_, statements) = counter.count(commit_to_alice(&queue, 6, size)).await;
    assert_eq!(statements, 8);
    assert_eq!(count(&db, "SELECT count(*) FROM blob_chunks"), 3);
    let (stored, mut reader) = queue.data(QueueId(6)).await.unwrap();
    assert_eq!(stored, size as u64);
    let mut data = Vec::new();
    reader.read_to_end(&mut data).await.unwrap();
    assert_eq!(data.len(), size);
    assert!(data.starts_with(b"Subject: counted\r\n\r\nxxx"));
    // An empty message is one statement too, with no chunk.
    let (_, statements) = counter.count(commit_to_alice(&queue, 7, 0)).await;
    assert_eq!(statements, 1);
    let (stored, _) = queue.data(QueueId(7)).await.unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_round_with_its_heartbeat_is_one_statement_and_still_refuses_a_taken_number() {
    let db = database();
    migrate(&db).await;
    let counter = Counter::start(&db).await;
    let queue = PgQueue::new(postgres::pool(counter.config(&db), 2).unwrap());
    for id in [11, 12] {
        commit_to_alice(&queue, id, 100).await;
    }
    let claimed = queue.claim_due(3, 10, LONG).await.unwrap();
    let held: Vec<_> = claimed.iter().map(|c| (c.queue_id, c.lease)).collect();
    queue.heartbeat(3, "mx-a", LONG).await.unwrap();

    let (round, statements) = counter
        .count(queue.renew_with_heartbeat((3, "mx-a"), &held, LONG))
        .await;
    let round = round.unwrap();
    assert_eq!(statements, 1);
    assert_eq!(round.renewed, [QueueId(11), QueueId(12)]);
    round.alive.unwrap();

    // Another process with number 3 under another name is refused.
    let round = queue
        .renew_with_heartbeat((3, "mx-b"), &held[..1], LONG)
        .await
        .unwrap();
    let refused = round.alive.unwrap_err();
    assert!(
        refused.to_string().contains("node id 3 is in use"),
        "{refused}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM nodes WHERE name = 'mx-a'"),
        1
    );
    // With no lease held the round is the heartbeat alone.
    let (round, statements) = counter
        .count(queue.renew_with_heartbeat((4, "mx-c"), &[], LONG))
        .await;
    assert_eq!(statements, 1);
    assert!(round.unwrap().renewed.is_empty());
    assert_eq!(count(&db, "SELECT count(*) FROM nodes"), 2);
}
