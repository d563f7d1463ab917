//! The postgres storage backend against a real PostgreSQL (a throwaway
//! cluster per test process, a database per test): the schema's
//! migrations and `postern storage`, and the queue's contract (commit,
//! claims with leases on the database's clock, fenced writes, chunked
//! data, wake-ups across connections).

mod support;

use postern::storage::postgres::{self, Lease, PgQueue, QueueListener, StoreError};
use postern_core::envelope::QueueId;
use postern_core::queue::{DeliveryState, RecipientState, Status};
use postern_core::time::UnixTime;
use std::collections::BTreeSet;
use std::io;
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use support::postgres::{ROLE_PASSWORD, commit, database, look, queue, record};
use tokio::io::AsyncReadExt;

const LONG: Duration = Duration::from_secs(60);

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

fn delivered() -> RecipientState {
    RecipientState {
        status: Status::Delivered,
        attempts: 1,
        last_detail: "250 2.0.0 ok".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_then_claim_has_counter_one_and_a_second_claim_finds_nothing() {
    let db = database();
    let queue = queue(&db).await;
    let committed = commit(&queue, 101, 2, b"Subject: hi\r\n\r\nbody\r\n").await;
    let claimed = queue.claim_due(1, 10, LONG).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].queue_id, QueueId(101));
    assert_eq!(
        claimed[0].lease,
        Lease {
            node_id: 1,
            counter: 1
        }
    );
    assert!(queue.claim_due(2, 10, LONG).await.unwrap().is_empty());
    assert!(queue.claim_due(1, 10, LONG).await.unwrap().is_empty());
    let (loaded, state) = queue.load(QueueId(101)).await.unwrap();
    assert_eq!(loaded, committed);
    assert_eq!(
        state,
        DeliveryState::new(&committed.envelope, UnixTime(committed.received_at))
    );
    assert_eq!(queue.count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_claiming_at_once_get_disjoint_sets_covering_all() {
    let db = database();
    let queue = queue(&db).await;
    for id in 1..=200 {
        commit(&queue, id, 1, b"x\r\n").await;
    }
    let node = |node_id: u16| {
        let queue = queue.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            // Bounded, so that claims that never run dry fail the test
            // rather than hang it.
            for _ in 0..100 {
                let claimed = queue.claim_due(node_id, 7, LONG).await.unwrap();
                if claimed.is_empty() {
                    break;
                }
                mine.extend(claimed.iter().map(|c| c.queue_id.0));
                tokio::task::yield_now().await;
            }
            mine
        })
    };
    let (a, b) = tokio::join!(node(1), node(2));
    let (a, b) = (a.unwrap(), b.unwrap());
    let a_set: BTreeSet<u64> = a.iter().copied().collect();
    let b_set: BTreeSet<u64> = b.iter().copied().collect();
    assert_eq!(a_set.len(), a.len(), "node 1 claimed a message twice");
    assert_eq!(b_set.len(), b.len(), "node 2 claimed a message twice");
    assert!(
        a_set.is_disjoint(&b_set),
        "both nodes claimed {:?}",
        a_set.intersection(&b_set).collect::<Vec<_>>()
    );
    let all: BTreeSet<u64> = a_set.union(&b_set).copied().collect();
    assert_eq!(all, (1..=200).collect());
    println!("node 1 claimed {}, node 2 claimed {}", a.len(), b.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_passes_to_another_node_and_fences_the_first() {
    let db = database();
    let queue = queue(&db).await;
    commit(&queue, 7, 2, b"data\r\n").await;
    let id = QueueId(7);
    let a = queue
        .claim_due(1, 10, Duration::from_secs(1))
        .await
        .unwrap();
    let a = a[0].lease;
    assert_eq!(a.counter, 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let b = queue.claim_due(2, 10, LONG).await.unwrap();
    assert_eq!(
        b.len(),
        1,
        "node 2 should claim the message whose lease expired"
    );
    let b = b[0].lease;
    assert_eq!(
        b,
        Lease {
            node_id: 2,
            counter: 2
        }
    );

    // Node 1's late writes are refused, and change nothing.
    let before = queue.load(id).await.unwrap();
    assert!(matches!(
        queue.record(id, &a, 0, &delivered()).await,
        Err(StoreError::Fenced)
    ));
    assert!(matches!(
        queue.record_bounced(id, &a, 1).await,
        Err(StoreError::Fenced)
    ));
    assert!(matches!(
        queue.renew(id, &a, LONG).await,
        Err(StoreError::Fenced)
    ));
    assert!(matches!(
        queue.release(id, &a, UnixTime(0)).await,
        Err(StoreError::Fenced)
    ));
    assert!(matches!(
        queue.finish(id, &a).await,
        Err(StoreError::Fenced)
    ));
    assert_eq!(queue.load(id).await.unwrap(), before);
    assert!(
        queue.claim_due(3, 10, LONG).await.unwrap().is_empty(),
        "node 2 still holds it"
    );

    // Node 2's succeed.
    queue.record(id, &b, 0, &delivered()).await.unwrap();
    let (_, state) = queue.load(id).await.unwrap();
    assert_eq!(state.recipients[0], delivered());
    assert!(matches!(state.recipients[1].status, Status::Pending { .. }));
    queue.finish(id, &b).await.unwrap();
    let gone = queue.load(id).await.unwrap_err();
    assert_eq!(gone.kind(), io::ErrorKind::NotFound);
    let client = look(&db).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM queue_recipients").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewing_keeps_the_lease_past_its_first_expiry() {
    let db = database();
    let queue = queue(&db).await;
    commit(&queue, 9, 1, b"data\r\n").await;
    let id = QueueId(9);
    let claimed = queue
        .claim_due(1, 10, Duration::from_secs(2))
        .await
        .unwrap();
    let (a, first_expiry) = (claimed[0].lease, claimed[0].expires);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let renewed = queue.renew(id, &a, Duration::from_secs(4)).await.unwrap();
    assert!(
        renewed > first_expiry,
        "{renewed:?} is not after {first_expiry:?}"
    );
    // Past the first expiry: still node 1's.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert!(queue.claim_due(2, 10, LONG).await.unwrap().is_empty());
    queue.record(id, &a, 0, &delivered()).await.unwrap();
    // Released to be tried later: nobody claims it before then.
    let later = UnixTime(postern::environment::system_now().0 + 3600);
    queue.release(id, &a, later).await.unwrap();
    assert!(queue.claim_due(2, 10, LONG).await.unwrap().is_empty());
    assert!(matches!(
        queue.renew(id, &a, LONG).await,
        Err(StoreError::Fenced)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_mib_round_trip_in_chunks_and_finish_removes_the_blob() {
    let db = database();
    let queue = queue(&db).await;
    let size = 5 * 1024 * 1024 + 123;
    let mut seed: u32 = 12345;
    let data: Vec<u8> = (0..size)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) as u8
        })
        .collect();
    // Read by the store in small pieces, as a socket would hand them.
    let (mut writer, reader) = tokio::io::duplex(8 * 1024);
    let feed = {
        let data = data.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            writer.write_all(&data).await.unwrap();
        })
    };
    let record = record(55, 1);
    let state = DeliveryState::new(&record.envelope, UnixTime(record.received_at));
    queue.commit(&record, &state, reader).await.unwrap();
    feed.await.unwrap();

    let client = look(&db).await;
    let chunks = count(&client, "SELECT count(*) FROM blob_chunks").await;
    assert_eq!(chunks, 21, "5 MiB and a bit in chunks of 256 KiB");
    let largest = count(&client, "SELECT max(length(data))::BIGINT FROM blob_chunks").await;
    assert_eq!(largest, 256 * 1024);

    let (stored, mut reader) = queue.data(QueueId(55)).await.unwrap();
    assert_eq!(stored, size as u64);
    let mut back = Vec::new();
    reader.read_to_end(&mut back).await.unwrap();
    assert!(
        back == data,
        "the data read back differs ({} octets)",
        back.len()
    );

    let lease = queue.claim_due(1, 1, LONG).await.unwrap()[0].lease;
    queue.finish(QueueId(55), &lease).await.unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM blob_chunks").await, 0);
    assert_eq!(count(&client, "SELECT count(*) FROM blobs").await, 0);
    assert_eq!(
        count(&client, "SELECT count(*) FROM queue_messages").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_wakes_a_listener_on_another_connection() {
    let db = database();
    let queue = queue(&db).await;
    let listener = QueueListener::start(db.client_config()).await.unwrap();
    // Nothing committed yet: no wake-up.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), listener.notified())
            .await
            .is_err()
    );
    commit(&queue, 3, 1, b"x\r\n").await;
    tokio::time::timeout(Duration::from_secs(1), listener.notified())
        .await
        .expect("no wake-up within a second of the commit");
}

/// A listener whose connection goes quiet (a black hole between it and
/// the database: nothing answered, nothing closed) asks the database
/// something after `PROBE_INTERVAL`, gives the connection up when no
/// answer comes within `STORAGE_ANSWER_TIMEOUT`, and connects again; once
/// the way is open the new connection listens. Without the question it
/// would wait on the dead connection for as long as TCP takes to give up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_whose_connection_goes_quiet_connects_again() {
    use postern::storage::postgres::{PROBE_INTERVAL, RECONNECT_DELAY};
    use postern_core::limits::STORAGE_ANSWER_TIMEOUT;
    use support::proxy::{Mode, Proxy};
    let db = database();
    let queue = queue(&db).await;
    let proxy = Proxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], db.port)));
    let via_proxy: tokio_postgres::Config = db
        .url()
        .replace(
            &format!(":{}/", db.port),
            &format!(":{}/", proxy.addr.port()),
        )
        .parse()
        .unwrap();
    let mut via_proxy = via_proxy;
    via_proxy.password(support::postgres::ROLE_PASSWORD);
    let listener = QueueListener::start(via_proxy).await.unwrap();
    assert_eq!(proxy.connections(), 1);

    proxy.set(Mode::BlackHole);
    let cut_at = tokio::time::Instant::now();
    let limit = PROBE_INTERVAL + STORAGE_ANSWER_TIMEOUT + RECONNECT_DELAY + Duration::from_secs(5);
    while proxy.connections() < 2 {
        assert!(
            cut_at.elapsed() < limit,
            "no new connection {limit:?} after the connection went quiet"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    proxy.set(Mode::Open);
    // Connected again: one wake-up for what was committed meanwhile.
    tokio::time::timeout(STORAGE_ANSWER_TIMEOUT, listener.notified())
        .await
        .expect("no wake-up once connected again");
    commit(&queue, 4, 1, b"x\r\n").await;
    tokio::time::timeout(Duration::from_secs(1), listener.notified())
        .await
        .expect("the new connection does not listen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_id_in_use_by_another_live_node_is_refused() {
    let db = database();
    let queue = queue(&db).await;
    queue.heartbeat(4, "mx-a", LONG).await.unwrap();
    queue.heartbeat(4, "mx-a", LONG).await.unwrap();
    let error = queue.heartbeat(4, "mx-b", LONG).await.unwrap_err();
    assert!(error.to_string().contains("node id 4 is in use"), "{error}");
    queue.heartbeat(5, "mx-b", LONG).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_state_writes_every_recipient_for_the_holder_only() {
    let db = database();
    let queue = queue(&db).await;
    let committed = commit(&queue, 21, 3, b"x\r\n").await;
    let id = QueueId(21);
    let lease = queue.claim_due(1, 1, LONG).await.unwrap()[0].lease;
    let mut state = DeliveryState::new(&committed.envelope, UnixTime(committed.received_at));
    state.recipients[0] = delivered();
    state.recipients[1] = RecipientState {
        status: Status::Failed,
        attempts: 2,
        last_detail: "550 5.1.1 no such user".into(),
    };
    state.recipients[2] = RecipientState {
        status: Status::Pending {
            next_attempt: UnixTime(committed.received_at + 600),
        },
        attempts: 1,
        last_detail: "451 4.7.1 later".into(),
    };
    state.bounced[1] = true;
    let stranger = Lease {
        node_id: 2,
        counter: lease.counter,
    };
    assert!(matches!(
        queue.save_state(id, &stranger, &state).await,
        Err(StoreError::Fenced)
    ));
    queue.save_state(id, &lease, &state).await.unwrap();
    assert_eq!(queue.load(id).await.unwrap().1, state);
    // The bounce flag alone, too.
    let mut bounced = state.clone();
    bounced.bounced[0] = true;
    queue.record_bounced(id, &lease, 0).await.unwrap();
    assert_eq!(queue.load(id).await.unwrap().1, bounced);
    // The message is next due when its pending recipient is.
    let client = look(&db).await;
    let next = count(
        &client,
        "SELECT EXTRACT(EPOCH FROM next_attempt)::BIGINT FROM queue_messages",
    )
    .await;
    assert_eq!(next, committed.received_at + 600);
}

/// Data that fails after `good` octets, as a connection that drops.
struct FailingAfter {
    good: usize,
}

impl tokio::io::AsyncRead for FailingAfter {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        if self.good == 0 {
            return std::task::Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "client went away",
            )));
        }
        let n = self.good.min(buf.remaining()).min(4096);
        buf.put_slice(&vec![b'a'; n]);
        self.good -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_fails_midway_stores_nothing() {
    let db = database();
    let queue = queue(&db).await;
    let record = record(31, 1);
    let state = DeliveryState::new(&record.envelope, UnixTime(record.received_at));
    let error = queue
        .commit(&record, &state, FailingAfter { good: 600 * 1024 })
        .await
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    let client = look(&db).await;
    for table in ["blob_chunks", "blobs", "queue_messages", "queue_recipients"] {
        let rows = count(&client, &format!("SELECT count(*) FROM {table}")).await;
        assert_eq!(rows, 0, "{table} keeps rows of a commit that failed");
    }
    // And the same message commits once its data arrives whole.
    commit(&queue, 31, 1, b"x\r\n").await;
    assert_eq!(queue.count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_an_io_error_to_retry() {
    let closed = support::free_port();
    let mut config: tokio_postgres::Config = format!("postgres://postern@127.0.0.1:{closed}/none")
        .parse()
        .unwrap();
    config.password(ROLE_PASSWORD);
    let queue = PgQueue::new(postgres::pool(config, 2).unwrap());
    let error = queue.claim_due(1, 10, LONG).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("Connection refused"), "{text}");
    assert!(!text.contains(ROLE_PASSWORD), "{text}");
    let fenced_or_not = queue
        .record(
            QueueId(1),
            &Lease {
                node_id: 1,
                counter: 1,
            },
            0,
            &delivered(),
        )
        .await;
    assert!(
        matches!(fenced_or_not, Err(StoreError::Io(_))),
        "{fenced_or_not:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_waits_on_a_lock_past_the_lock_timeout_is_an_error_to_retry_soon() {
    let db = database();
    let queue = queue(&db).await;
    let committed = commit(&queue, 41, 1, b"x\r\n").await;
    let id = QueueId(41);
    let lease = queue.claim_due(1, 1, LONG).await.unwrap()[0].lease;
    // Another session (an operator's psql) holds the message's row.
    let holder = look(&db).await;
    holder
        .batch_execute("BEGIN; SELECT 1 FROM queue_messages WHERE queue_id = 41 FOR UPDATE")
        .await
        .unwrap();
    // A node's connections set the lock timeout (8 s); a short one here.
    let mut config = db.client_config();
    config.options("-c lock_timeout=300");
    let node = PgQueue::new(postgres::pool(config, 2).unwrap());
    let mut state = DeliveryState::new(&committed.envelope, UnixTime(committed.received_at));
    state.recipients[0] = delivered();
    let error = match node.save_state(id, &lease, &state).await {
        Err(StoreError::Io(error)) => error,
        other => panic!("a write waiting on a held lock: {other:?}"),
    };
    assert!(error.to_string().contains("lock timeout"), "{error}");
    assert!(
        postgres::unreachable(&error),
        "retried soon, as when the database cannot be reached: {error:?}"
    );
    // The holder lets go: the same write goes through.
    holder.batch_execute("COMMIT").await.unwrap();
    node.save_state(id, &lease, &state).await.unwrap();
    assert_eq!(queue.load(id).await.unwrap().1, state);
}

// ---- `postern storage` and the configuration, through the binary. ----

/// A configuration with `storage` as its [storage] table, in `dir`.
fn config_file(dir: &Path, storage: &str) -> std::path::PathBuf {
    let path = dir.join("postern.toml");
    let port = support::free_port();
    std::fs::write(
        &path,
        format!(
            "[server]\nhostname = \"mx1.example.test\"\ndata_dir = \"data\"\n\n[[domain]]\nname = \"example.test\"\nusers = [\"alice\"]\n\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:{port}\"\n\n[storage]\n{storage}"
        ),
    )
    .unwrap();
    path
}

fn postgres_storage(dir: &Path, url: &str, password: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("db-password"), format!("{password}\n")).unwrap();
    config_file(
        dir,
        &format!(
            "backend = \"postgres\"\nurl = \"{url}\"\npassword_file = \"db-password\"\nnode_id = 3\n"
        ),
    )
}

fn storage(config: &Path, action: &str) -> Output {
    support::postern()
        .args(["storage", "-c"])
        .arg(config)
        .arg(action)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Requires the command to have exited with `code`.
fn exits(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
}

/// Requires the command's output to hold `words`.
fn says(output: &Output, words: &str) {
    assert!(text(output).contains(words), "{}", text(output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_migrate_from_empty_then_again_is_a_no_op_and_check_prints_the_version() {
    let db = database();
    // The tests name the version this binary knows, whatever it is.
    let latest = postgres::schema::latest();
    let applied = (1..=latest)
        .map(|version| format!("migration {version}"))
        .collect::<Vec<_>>()
        .join(", ");
    let dir = tempfile::tempdir().unwrap();
    let config = postgres_storage(dir.path(), &db.url(), ROLE_PASSWORD);

    let check = storage(&config, "check");
    exits(&check, 1);
    says(&check, "run `postern storage init`");

    let migrate = storage(&config, "migrate");
    exits(&migrate, 0);
    says(
        &migrate,
        &format!("applied {applied} (now version {latest})"),
    );
    let again = storage(&config, "migrate");
    exits(&again, 0);
    says(
        &again,
        &format!("the schema is current (version {latest}); nothing to do"),
    );
    let init = storage(&config, "init");
    exits(&init, 1);
    says(
        &init,
        &format!("already holds Postern's schema (version {latest})"),
    );

    let client = look(&db).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM schema_migrations").await,
        i64::from(latest)
    );
    let queue = PgQueue::new(postgres::pool(db.client_config(), 2).unwrap());
    queue.heartbeat(3, "mx1.example.test", LONG).await.unwrap();
    commit(&queue, 77, 1, b"x\r\n").await;

    let check = storage(&config, "check");
    let shown = text(&check);
    assert!(check.status.success(), "{shown}");
    assert!(
        shown.contains(&format!(
            "{}: schema version {latest} (this binary's latest: {latest})",
            db.url()
        )),
        "{shown}"
    );
    assert!(
        shown.contains("node 3 \"mx1.example.test\" last seen 20"),
        "{shown}"
    );
    assert!(shown.contains("queue: 1 message"), "{shown}");
    assert!(!shown.contains(ROLE_PASSWORD), "{shown}");

    // A schema newer than the binary is refused.
    client
        .execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')",
            &[&(latest + 1)],
        )
        .await
        .unwrap();
    for action in ["check", "migrate"] {
        let newer = storage(&config, action);
        exits(&newer, 1);
        says(
            &newer,
            &format!("version {}, newer than this binary's {latest}", latest + 1),
        );
    }
    // And one older than the binary is named, with the fix.
    client
        .execute("DELETE FROM schema_migrations", &[])
        .await
        .unwrap();
    let older = storage(&config, "check");
    exits(&older, 1);
    says(
        &older,
        &format!("the schema is at version 0, older than this binary's {latest}"),
    );
    says(&older, "run `postern storage migrate`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_init_refuses_a_database_that_is_not_ours() {
    let db = database();
    let client = look(&db).await;
    client
        .batch_execute("CREATE TABLE invoices (id INT)")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = postgres_storage(dir.path(), &db.url(), ROLE_PASSWORD);
    for action in ["init", "migrate"] {
        let refused = storage(&config, action);
        exits(&refused, 1);
        says(&refused, "tables that are not Postern's (invoices)");
    }
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        .await,
        1
    );
}

#[test]
fn a_wrong_password_or_an_unreachable_database_fails_check_naming_the_problem() {
    let db = database();
    let dir = tempfile::tempdir().unwrap();
    let wrong = "wrong-pw-Qv81";
    let config = postgres_storage(dir.path(), &db.url(), wrong);
    let check = storage(&config, "check");
    let shown = text(&check);
    assert_eq!(check.status.code(), Some(1), "{shown}");
    assert!(shown.contains("refused the login"), "{shown}");
    assert!(shown.contains("password authentication failed"), "{shown}");
    assert!(shown.contains("check the password in"), "{shown}");
    assert!(
        !shown.contains(wrong) && !shown.contains(ROLE_PASSWORD),
        "{shown}"
    );

    let closed = support::free_port();
    let config = postgres_storage(
        dir.path(),
        &format!("postgres://postern@127.0.0.1:{closed}/nothing"),
        ROLE_PASSWORD,
    );
    let check = storage(&config, "check");
    let shown = text(&check);
    assert_eq!(check.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(&format!(
            "cannot reach the database at postgres://postern@127.0.0.1:{closed}/nothing"
        )),
        "{shown}"
    );
    assert!(shown.contains("Connection refused"), "{shown}");
    assert!(!shown.contains(ROLE_PASSWORD), "{shown}");
}

#[test]
fn a_password_in_the_url_is_refused_by_check_config_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        "backend = \"postgres\"\nurl = \"postgres://postern:hunter2@127.0.0.1:5432/mail\"\n",
    );
    let output = support::postern()
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("`url`: the URL carries a password"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "help: remove the password from the URL and put it in a file named by `password_file`"
        ),
        "{shown}"
    );
    // The quoted line masks it: the terminal and a CI log never see it.
    assert!(shown.contains("postern:****@127.0.0.1"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn check_config_shows_the_storage_and_run_refuses_a_database_it_cannot_reach() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        "backend = \"postgres\"\nurl = \"postgres://postern@127.0.0.1:5432/mail\"\npassword_env = \"PG_PASS\"\n",
    );
    let output = support::postern()
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap();
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains("storage   postgres postgres://postern@127.0.0.1:5432/mail (node 0 \"mx1.example.test\", pool 8, lease 60s, password from $PG_PASS, tls none)"),
        "{shown}"
    );
    // Nobody listens on the URL's port: the node does not start, and says
    // why and what to check.
    let port = support::free_port();
    let unreachable = config_file(
        dir.path(),
        &format!(
            "backend = \"postgres\"\nurl = \"postgres://postern@127.0.0.1:{port}/mail\"\npassword_env = \"PG_PASS\"\n"
        ),
    );
    support::allow_root(&unreachable);
    let output = support::postern()
        .args(["run", "-c"])
        .arg(&unreachable)
        .env("PG_PASS", "not-shown-anywhere")
        .output()
        .unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(&format!(
            "cannot reach the database at postgres://postern@127.0.0.1:{port}/mail"
        )),
        "{shown}"
    );
    assert!(shown.contains("is PostgreSQL running"), "{shown}");
    assert!(!shown.contains("not-shown-anywhere"), "{shown}");

    let files = config_file(dir.path(), "backend = \"files\"\n");
    let output = storage(&files, "check");
    exits(&output, 2);
    says(&output, "nothing to do");
}
