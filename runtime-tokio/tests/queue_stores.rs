//! The `QueueStore` contract the delivery runner relies on, run against
//! both backends: the spool and Maildirs on files (`System`) and the
//! shared queue and mailboxes in PostgreSQL (`SharedSystem`, a throwaway
//! cluster per test process, a database per test). Each behaviour is one
//! generic test function and a `#[tokio::test]` per backend
//! (`NAME::files`, `NAME::postgres`, made by `both_queues!`).
//!
//! A message is committed as the server commits one it writes itself
//! (`QueueStore::inject`, through the spool in both cases); on the
//! shared queue the test then claims it, as a node's claimer would, since
//! every write there is fenced by a lease. What only the shared queue
//! does (leases, fences, wake-ups) is in `postgres_queue.rs` and
//! `postgres_leases.rs`; what only the spool does in the spool's own
//! tests.

mod support;

use postern::environment::{QueueStore, System};
use postern::maildir::Maildirs;
use postern::mailstore::MailboxStore;
use postern::resolver::Resolver;
use postern::spool::{CommitTo, Spool, SpoolRecord, damage};
use postern::storage::postgres::{Leases, PgMailboxStore, PgQueue, SharedSystem};
use postern_core::envelope::{Destination, Envelope, LocalMailbox, QueueId};
use postern_core::queue::{DeliveryState, RecipientState, Status};
use postern_core::time::UnixTime;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use support::mailstore::alice;
use support::postgres::{Database, database, look, mailbox_store, queue, record};
use tokio::io::AsyncReadExt;

/// The message every test commits: a header section and a body.
const MESSAGE: &[u8] = b"Subject: contract\r\nFrom: bob@client.test\r\n\r\nthe body\r\n";

/// A queue store to test, and what a test needs around it.
trait Backend {
    type Store: QueueStore;
    fn store(&self) -> &Self::Store;
    /// The mailboxes its local copies go to.
    async fn copies(&self, mailbox: &LocalMailbox) -> usize;
    /// Commits a message with `envelope`, held by this node.
    async fn commit(&self, envelope: Envelope) -> QueueId {
        let id = self
            .store()
            .inject(envelope, MESSAGE.to_vec())
            .await
            .unwrap();
        self.hold(id).await;
        id
    }
    /// Takes the lease a shared queue's writes need (nothing on files).
    async fn hold(&self, id: QueueId);
    /// Spoils the stored record of message `id`, as a disk or a bad
    /// upgrade might.
    async fn damage(&self, id: QueueId);
}

/// The spool and Maildirs in a data directory.
struct Files {
    _dir: tempfile::TempDir,
    system: System,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let (committed, _) = tokio::sync::mpsc::unbounded_channel();
        let (spool, _) = Spool::open(dir.path(), 1, committed).unwrap();
        let system = System {
            spool,
            maildirs: Arc::new(Maildirs::new(dir.path(), "mx.test")),
            resolver: Resolver::new(&["127.0.0.1:9".parse().unwrap()]).unwrap(),
        };
        Files { _dir: dir, system }
    }
}

impl Backend for Files {
    type Store = System;

    fn store(&self) -> &System {
        &self.system
    }

    async fn copies(&self, mailbox: &LocalMailbox) -> usize {
        inbox_count(self.system.maildirs.store(), mailbox).await
    }

    async fn hold(&self, _id: QueueId) {}

    async fn damage(&self, id: QueueId) {
        // The record kept in memory since the commit is dropped, as a
        // restart drops it: the next load reads the file.
        self.system.spool.load_kept(id);
        std::fs::write(self.system.spool.queue_path(id), b"\x00\xff").unwrap();
    }
}

/// Node 1 of a shared queue in a database of its own.
struct Postgres {
    _dir: tempfile::TempDir,
    db: Database,
    queue: PgQueue,
    mailboxes: PgMailboxStore,
    shared: SharedSystem,
}

impl Postgres {
    async fn new() -> Postgres {
        let db = database();
        let queue = queue(&db).await;
        let mailboxes = mailbox_store(&db, 1).await;
        let dir = tempfile::tempdir().unwrap();
        let (committed, _) = tokio::sync::mpsc::unbounded_channel();
        let (spool, _) =
            Spool::open_committing_to(dir.path(), 1, committed, CommitTo::Postgres(queue.clone()))
                .unwrap();
        let shared = SharedSystem {
            system: System {
                spool,
                maildirs: Arc::new(Maildirs::new(dir.path(), "mx.test")),
                resolver: Resolver::new(&["127.0.0.1:9".parse().unwrap()]).unwrap(),
            },
            queue: queue.clone(),
            mailboxes: mailboxes.clone(),
            leases: Leases::default(),
            lease: Duration::from_secs(60),
        };
        Postgres {
            _dir: dir,
            db,
            queue,
            mailboxes,
            shared,
        }
    }
}

impl Backend for Postgres {
    type Store = SharedSystem;

    fn store(&self) -> &SharedSystem {
        &self.shared
    }

    async fn copies(&self, mailbox: &LocalMailbox) -> usize {
        inbox_count(&self.mailboxes, mailbox).await
    }

    async fn hold(&self, id: QueueId) {
        let lease = Duration::from_secs(60);
        let asked = tokio::time::Instant::now();
        let claimed = self.queue.claim_due(1, 10, lease).await.unwrap();
        let ours = claimed
            .iter()
            .find(|claim| claim.queue_id == id)
            .unwrap_or_else(|| panic!("{id} was not claimed: {claimed:?}"));
        // As the claimer notes it: surely held for a lease from the ask.
        self.shared
            .leases
            .insert_until(id, ours.lease, asked + lease);
    }

    async fn damage(&self, id: QueueId) {
        let client = look(&self.db).await;
        let changed = client
            .execute(
                "UPDATE queue_messages SET record = '\\x00ff'::bytea WHERE queue_id = $1",
                &[&(id.0 as i64)],
            )
            .await
            .unwrap();
        assert_eq!(changed, 1);
    }
}

/// A `#[tokio::test]` per backend for the generic test `$name`.
macro_rules! both_queues {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn files() {
                super::$name(&Files::new()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(&Postgres::new().await).await;
            }
        }
    )*};
}

both_queues!(
    a_committed_message_loads_with_its_envelope_and_every_recipient_pending,
    its_data_is_what_was_committed_and_its_header_section_the_headers,
    a_saved_state_is_what_the_next_load_answers,
    a_local_copy_lands_in_the_mailbox_once_per_delivery,
    a_removed_message_is_gone,
    a_damaged_message_is_recognized_and_set_aside,
    a_forwarded_copy_carries_the_trace_on_top_of_the_data,
);

/// Two recipients: alice, local, and one elsewhere.
fn envelope() -> Envelope {
    let mut envelope = record(1, 2).envelope;
    envelope.recipients[0].destination = Destination::Local(alice());
    envelope
}

async fn inbox_count<S: MailboxStore>(store: &S, mailbox: &LocalMailbox) -> usize {
    match store.open(mailbox, "INBOX").await {
        Ok(snapshot) => snapshot.messages.len(),
        Err(postern::mailstore::StoreError::NoSuchFolder(_)) => 0,
        Err(error) => panic!("cannot open {mailbox:?}'s INBOX: {error}"),
    }
}

/// The state `load` answers, a fresh one when none was saved (the spool
/// keeps none until an attempt leaves one).
async fn loaded<S: QueueStore>(store: &S, id: QueueId) -> (SpoolRecord, DeliveryState) {
    let (record, state) = store.load(id).await.unwrap();
    let state =
        state.unwrap_or_else(|| DeliveryState::new(&record.envelope, UnixTime(record.received_at)));
    (record, state)
}

async fn a_committed_message_loads_with_its_envelope_and_every_recipient_pending<B: Backend>(
    backend: &B,
) {
    let id = backend.commit(envelope()).await;
    let (record, state) = loaded(backend.store(), id).await;
    assert_eq!(record.queue_id, id);
    assert_eq!(record.envelope, envelope());
    assert_eq!(state.recipients.len(), 2);
    for recipient in &state.recipients {
        assert!(
            matches!(recipient.status, Status::Pending { .. }),
            "{recipient:?}"
        );
        assert_eq!(recipient.attempts, 0);
    }
}

async fn its_data_is_what_was_committed_and_its_header_section_the_headers<B: Backend>(
    backend: &B,
) {
    let id = backend.commit(envelope()).await;
    let (size, mut data) = backend.store().data(id).await.unwrap();
    let mut bytes = Vec::new();
    data.read_to_end(&mut bytes).await.unwrap();
    assert_eq!(bytes, MESSAGE);
    assert_eq!(size, MESSAGE.len() as u64);
    assert_eq!(
        backend.store().header_section(id).await.unwrap(),
        b"Subject: contract\r\nFrom: bob@client.test\r\n"
    );
}

async fn a_saved_state_is_what_the_next_load_answers<B: Backend>(backend: &B) {
    let id = backend.commit(envelope()).await;
    let (_, mut state) = loaded(backend.store(), id).await;
    state.recipients[1] = RecipientState {
        status: Status::Pending {
            next_attempt: UnixTime(1_800_000_000),
        },
        attempts: 2,
        last_detail: "451 4.3.0 try again later".into(),
    };
    backend.store().save_state(id, state.clone()).await.unwrap();
    assert_eq!(loaded(backend.store(), id).await.1, state);
}

async fn a_local_copy_lands_in_the_mailbox_once_per_delivery<B: Backend>(backend: &B) {
    let id = backend.commit(envelope()).await;
    let (record, _) = loaded(backend.store(), id).await;
    assert_eq!(backend.copies(&alice()).await, 0);
    backend
        .store()
        .deliver(Arc::new(record.clone()), alice())
        .await
        .unwrap();
    assert_eq!(backend.copies(&alice()).await, 1);
    // Delivered again, as after a crash before the result was saved: the
    // earlier copy is found, no second one made.
    backend
        .store()
        .deliver(Arc::new(record), alice())
        .await
        .unwrap();
    assert_eq!(backend.copies(&alice()).await, 1);
}

async fn a_removed_message_is_gone<B: Backend>(backend: &B) {
    let id = backend.commit(envelope()).await;
    backend.store().remove(id).await.unwrap();
    let error = backend.store().load(id).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound, "{error}");
    // Another message goes on as before.
    let next = backend.commit(envelope()).await;
    assert_ne!(next, id);
    loaded(backend.store(), next).await;
}

async fn a_damaged_message_is_recognized_and_set_aside<B: Backend>(backend: &B) {
    let id = backend.commit(envelope()).await;
    backend.damage(id).await;
    let error = backend.store().load(id).await.unwrap_err();
    let reason = damage(&error)
        .unwrap_or_else(|| panic!("not recognized as damage: {error}"))
        .to_owned();
    assert!(reason.starts_with("spool file cut short"), "{reason}");
    let place = backend.store().set_aside(id, reason).await.unwrap();
    assert!(!place.is_empty());
    // Never answered as a message to deliver again.
    assert!(backend.store().load(id).await.is_err());
}

async fn a_forwarded_copy_carries_the_trace_on_top_of_the_data<B: Backend>(backend: &B) {
    let id = backend.commit(envelope()).await;
    let trace = b"Received: from forwarder\r\n".to_vec();
    let copy = backend
        .store()
        .forward(record(2, 1).envelope, trace.clone(), id)
        .await
        .unwrap();
    assert_ne!(copy, id);
    backend.hold(copy).await;
    let (size, mut data) = backend.store().data(copy).await.unwrap();
    let mut bytes = Vec::new();
    data.read_to_end(&mut bytes).await.unwrap();
    assert_eq!(bytes, [trace.as_slice(), MESSAGE].concat());
    assert_eq!(size, bytes.len() as u64);
    assert_eq!(
        loaded(backend.store(), copy).await.0.envelope,
        record(2, 1).envelope
    );
}
