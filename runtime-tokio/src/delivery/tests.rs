//! The runner's supervision against a scripted store: damaged and
//! unreadable messages, panics, and deletes racing loads and deliveries.
//! Every message here is local, so no network is involved.

use super::{Command, Context, run};
use crate::environment::{Dns, Network, QueueStore, WallClock};
use crate::spool::SpoolRecord;
use postern_core::address::{ForwardPath, Mailbox, ReversePath};
use postern_core::autoreply::{Forwarding, MailboxRules, ReplyMemory};
use postern_core::envelope::{ClientInfo, Destination, Envelope, LocalMailbox, QueueId, Recipient};
use postern_core::queue::DeliveryState;
use postern_core::route::{HostAnswer, MxAnswer};
use postern_core::smtp::server::BodyType;
use postern_core::time::UnixTime;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};

/// What the scripted store does, and what it saw.
#[derive(Default)]
struct Script {
    queue: BTreeMap<QueueId, (SpoolRecord, Option<DeliveryState>)>,
    /// Loads of these fail with an I/O error, this many more times.
    load_errors: BTreeMap<QueueId, u32>,
    /// Loads of these wait for the notification.
    load_gates: BTreeMap<QueueId, Arc<Notify>>,
    /// Deliveries of these never finish.
    stuck: BTreeSet<QueueId>,
    /// Saving the state of these panics, once each.
    panic_on_save: BTreeSet<QueueId>,
    loads: BTreeMap<QueueId, u32>,
    delivered: Vec<(QueueId, String)>,
    set_aside: Vec<(QueueId, String)>,
    /// Stuck deliveries that were dropped (cancelled).
    cancelled: Vec<QueueId>,
    /// The wall clock panics once when this is set: a bug outside any
    /// one message's handling.
    panic_on_now: bool,
    /// Mailboxes' forwarding and vacation settings, by user.
    rules: BTreeMap<String, MailboxRules>,
    /// Forwarded copies queued: the source and the recipients.
    forwards: Vec<(QueueId, Vec<String>)>,
    /// Queuing a forwarded copy fails this many more times.
    forward_errors: u32,
    /// Every removal asked for, in order.
    removals: Vec<QueueId>,
    /// The queue is shared with other nodes (leases, releases).
    shared: bool,
    /// Messages whose lease this node lost: writes are fenced.
    fenced: BTreeSet<QueueId>,
    /// Messages given back to the shared queue, and until when.
    released: Vec<(QueueId, UnixTime)>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Script>>);

impl Fake {
    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }
}

impl Network for Fake {
    type Stream = tokio::io::DuplexStream;

    async fn connect(&self, _: SocketAddr) -> io::Result<Self::Stream> {
        Err(io::ErrorKind::ConnectionRefused.into())
    }
}

impl Dns for Fake {
    async fn mx(&self, _: &str) -> MxAnswer {
        MxAnswer::NoSuchDomain
    }

    async fn host(&self, _: &str) -> HostAnswer {
        HostAnswer::NotFound
    }
}

impl WallClock for Fake {
    fn now(&self) -> UnixTime {
        if std::mem::take(&mut self.script().panic_on_now) {
            panic!("a bug in the runner's loop");
        }
        UnixTime(1_800_000_000)
    }
}

/// Marks a stuck delivery cancelled when its future is dropped.
struct OnDrop(Fake, QueueId);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.script().cancelled.push(self.1);
    }
}

impl QueueStore for Fake {
    type Data = io::Cursor<Vec<u8>>;

    async fn load(&self, id: QueueId) -> io::Result<(SpoolRecord, Option<DeliveryState>)> {
        let gate = self.script().load_gates.get(&id).cloned();
        if let Some(gate) = gate {
            gate.notified().await;
        }
        let mut script = self.script();
        *script.loads.entry(id).or_default() += 1;
        if let Some(left) = script.load_errors.get_mut(&id).filter(|n| **n > 0) {
            *left -= 1;
            return Err(io::Error::other("Too many open files (os error 24)"));
        }
        script
            .queue
            .get(&id)
            .cloned()
            .ok_or(io::ErrorKind::NotFound.into())
    }

    async fn data(&self, _: QueueId) -> io::Result<(u64, Self::Data)> {
        Ok((0, io::Cursor::new(Vec::new())))
    }

    async fn header_section(&self, _: QueueId) -> io::Result<Vec<u8>> {
        Ok(Vec::new())
    }

    async fn deliver(&self, record: Arc<SpoolRecord>, mailbox: LocalMailbox) -> io::Result<String> {
        let id = record.queue_id;
        if self.script().stuck.contains(&id) {
            let _guard = OnDrop(self.clone(), id);
            std::future::pending::<()>().await;
        }
        self.script().delivered.push((id, mailbox.user.clone()));
        if mailbox.user == "broken" {
            return Err(io::Error::other("the disk is full"));
        }
        if mailbox.user == "unreachable" {
            let closed = "database: connection closed";
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, closed));
        }
        Ok(format!("{}", mailbox))
    }

    async fn save_state(&self, id: QueueId, state: DeliveryState) -> io::Result<()> {
        let mut script = self.script();
        if script.fenced.contains(&id) {
            return Err(crate::storage::postgres::StoreError::Fenced.into());
        }
        if script.panic_on_save.remove(&id) {
            drop(script);
            panic!("a bug while saving the state of {id}");
        }
        if let Some((_, saved)) = script.queue.get_mut(&id) {
            *saved = Some(state);
        }
        Ok(())
    }

    async fn remove(&self, id: QueueId) -> io::Result<()> {
        let mut script = self.script();
        script.removals.push(id);
        match script.queue.remove(&id) {
            Some(_) => Ok(()),
            None => Err(io::ErrorKind::NotFound.into()),
        }
    }

    async fn set_aside(&self, id: QueueId, reason: String) -> io::Result<String> {
        let mut script = self.script();
        script.queue.remove(&id);
        script.set_aside.push((id, reason));
        Ok(format!("damaged/{id}"))
    }

    async fn inject(&self, _: Envelope, _: Vec<u8>) -> io::Result<QueueId> {
        Err(io::Error::other("no bounces here"))
    }

    async fn forward(
        &self,
        envelope: Envelope,
        _: Vec<u8>,
        source: QueueId,
    ) -> io::Result<QueueId> {
        let mut script = self.script();
        if script.forward_errors > 0 {
            script.forward_errors -= 1;
            return Err(io::Error::other("the disk is full"));
        }
        let to = envelope
            .recipients
            .iter()
            .map(|r| r.forward_path.to_string())
            .collect();
        script.forwards.push((source, to));
        Ok(QueueId(1000 + script.forwards.len() as u64))
    }

    async fn mailbox_rules(&self, mailbox: LocalMailbox) -> io::Result<Option<MailboxRules>> {
        Ok(self.script().rules.get(&mailbox.user).cloned())
    }

    fn shared(&self) -> bool {
        self.script().shared
    }

    async fn release(&self, id: QueueId, next_attempt: UnixTime) -> io::Result<()> {
        let mut script = self.script();
        if script.fenced.contains(&id) {
            return Err(crate::storage::postgres::StoreError::Fenced.into());
        }
        script.released.push((id, next_attempt));
        Ok(())
    }

    fn holds(&self, id: QueueId) -> bool {
        !self.script().fenced.contains(&id)
    }

    async fn reply_memory(&self, _: LocalMailbox) -> io::Result<ReplyMemory> {
        Ok(ReplyMemory::default())
    }

    async fn remember_reply(
        &self,
        _: LocalMailbox,
        _: String,
        _: UnixTime,
        _: u32,
    ) -> io::Result<()> {
        Err(io::Error::other("no vacations here"))
    }
}

fn record(id: u64, users: &[&str]) -> SpoolRecord {
    SpoolRecord {
        queue_id: QueueId(id),
        received_at: 1_800_000_000,
        envelope: Envelope {
            reverse_path: ReversePath::Null,
            recipients: users
                .iter()
                .map(|user| Recipient {
                    forward_path: ForwardPath::Mailbox(Mailbox {
                        local_part: (*user).into(),
                        domain: "localhost".into(),
                    }),
                    destination: Destination::Local(LocalMailbox {
                        domain: "localhost".into(),
                        user: (*user).into(),
                    }),
                })
                .collect(),
            body: BodyType::SevenBit,
            smtputf8: false,
            client: ClientInfo {
                helo: "client.test".into(),
                address: "127.0.0.1".into(),
                submitted: false,
            },
        },
        trace: Vec::new(),
        junk: false,
    }
}

/// A running runner over `fake`, with `backlog`.
struct Running {
    fake: Fake,
    arrivals: mpsc::UnboundedSender<QueueId>,
    commands: mpsc::UnboundedSender<Command>,
    runner: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(fake: &Fake, backlog: Vec<QueueId>) -> Running {
        let config = postern_core::config::parse(crate::config_file::DEFAULT_CONFIG).unwrap();
        let directory = Arc::new(postern_core::directory::Directory::new(&config.domains));
        let context = Context::new(&config, fake.clone(), directory).unwrap();
        let (arrivals, arrived) = mpsc::unbounded_channel();
        let (commands, commanded) = mpsc::unbounded_channel();
        let runner = tokio::spawn(run(context, backlog, arrived, commanded));
        Running {
            fake: fake.clone(),
            arrivals,
            commands,
            runner,
        }
    }

    /// Waits (up to 10 s) until `done` holds of the script.
    async fn until(&self, what: &str, done: impl Fn(&Script) -> bool) {
        for _ in 0..1000 {
            if done(&self.fake.script()) {
                return;
            }
            assert!(!self.runner.is_finished(), "the runner stopped");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting until {what}");
    }

    fn delivered(&self, id: u64) -> Vec<String> {
        let script = self.fake.script();
        script
            .delivered
            .iter()
            .filter(|(d, _)| d.0 == id)
            .map(|(_, user)| user.clone())
            .collect()
    }

    async fn delete(&self, id: u64) -> bool {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Delete(QueueId(id), reply))
            .unwrap();
        answer.await.unwrap()
    }
}

#[tokio::test]
async fn a_state_of_the_wrong_recipient_count_is_set_aside_and_the_others_are_delivered() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        let bad = record(1, &["alice"]);
        // The state of a two-recipient message beside a one-recipient
        // envelope: the runner would index recipient 1 of the envelope.
        let state = DeliveryState::new(&record(1, &["alice", "bob"]).envelope, UnixTime(0));
        script.queue.insert(QueueId(1), (bad, Some(state)));
        script.queue.insert(QueueId(2), (record(2, &["bob"]), None));
    }
    let running = Running::start(&fake, vec![QueueId(1), QueueId(2)]);
    running
        .until("the good message is delivered", |s| s.queue.is_empty())
        .await;
    assert_eq!(running.delivered(2), ["bob"]);
    assert!(running.delivered(1).is_empty());
    let set_aside = fake.script().set_aside.clone();
    assert_eq!(set_aside.len(), 1, "{set_aside:?}");
    assert_eq!(set_aside[0].0, QueueId(1));
    assert!(
        set_aside[0].1.contains("state has 2 recipients"),
        "{set_aside:?}"
    );
    // Still running: a message arriving now is delivered.
    fake.script()
        .queue
        .insert(QueueId(3), (record(3, &["alice"]), None));
    running.arrivals.send(QueueId(3)).unwrap();
    running
        .until("the later message is delivered", |s| s.queue.is_empty())
        .await;
    assert_eq!(running.delivered(3), ["alice"]);
}

#[tokio::test]
async fn a_panic_while_handling_one_message_is_caught_and_it_is_read_again() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        // alice's copy lands, broken's fails: the state must be saved, and
        // saving it panics once.
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice", "broken"]), None));
        script.panic_on_save.insert(QueueId(1));
    }
    let running = Running::start(&fake, vec![QueueId(1)]);
    running
        .until("message 1 is read again after the panic", |s| {
            s.loads.get(&QueueId(1)) == Some(&2)
        })
        .await;
    // The runner goes on: another message is delivered.
    fake.script()
        .queue
        .insert(QueueId(2), (record(2, &["bob"]), None));
    running.arrivals.send(QueueId(2)).unwrap();
    running
        .until("message 2 is delivered", |s| {
            !s.queue.contains_key(&QueueId(2))
        })
        .await;
    assert_eq!(running.delivered(2), ["bob"]);
    // Read again, message 1's due recipients went once more and its state
    // was saved this time.
    running
        .until("message 1's state is saved", |s| {
            s.queue
                .get(&QueueId(1))
                .is_some_and(|(_, state)| state.is_some())
        })
        .await;
}

#[tokio::test]
async fn an_unreadable_message_is_read_again_with_backoff_and_listed_meanwhile() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice"]), None));
        script.load_errors.insert(QueueId(1), 2);
    }
    let running = Running::start(&fake, vec![QueueId(1)]);
    running
        .until("the first read failed", |s| {
            s.loads.get(&QueueId(1)) == Some(&1)
        })
        .await;
    let (reply, answer) = oneshot::channel();
    running.commands.send(Command::Unreadable(reply)).unwrap();
    let unreadable = answer.await.unwrap();
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert_eq!(unreadable[0].id, QueueId(1));
    assert!(unreadable[0].error.contains("Too many open files"));
    assert!(unreadable[0].retry_in <= Duration::from_secs(1));
    // Two failures (1 s, then 2 s of backoff), then the read works.
    running
        .until("message 1 is delivered", |s| s.queue.is_empty())
        .await;
    assert_eq!(running.delivered(1), ["alice"]);
    assert_eq!(fake.script().loads[&QueueId(1)], 3);
}

#[tokio::test]
async fn a_delete_during_a_load_does_not_bring_the_message_back() {
    let fake = Fake::default();
    let gate = Arc::new(Notify::new());
    {
        let mut script = fake.script();
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice"]), None));
        script.load_gates.insert(QueueId(1), Arc::clone(&gate));
    }
    let running = Running::start(&fake, vec![QueueId(1)]);
    assert!(running.delete(1).await, "known: its load is under way");
    // The load completes after the delete, with the record it read before.
    fake.script()
        .queue
        .insert(QueueId(1), (record(1, &["alice"]), None));
    gate.notify_one();
    running
        .until("the load completed", |s| s.loads.contains_key(&QueueId(1)))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        running.delivered(1).is_empty(),
        "delivered after its delete"
    );
}

#[tokio::test]
async fn a_delete_cancels_a_delivery_under_way() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice"]), None));
        script.stuck.insert(QueueId(1));
    }
    let running = Running::start(&fake, vec![QueueId(1)]);
    running
        .until("the delivery is under way", |s| {
            s.loads.contains_key(&QueueId(1))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(running.delete(1).await);
    running
        .until("the stuck delivery is cancelled", |s| {
            s.cancelled.contains(&QueueId(1))
        })
        .await;
    assert!(fake.script().queue.is_empty());
}

#[tokio::test]
async fn a_panic_in_the_runners_loop_restarts_it_with_every_message() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice"]), None));
        script.stuck.insert(QueueId(1));
    }
    let running = Running::start(&fake, vec![QueueId(1)]);
    running
        .until("message 1's delivery is under way", |s| {
            s.loads.contains_key(&QueueId(1))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The next turn of the loop reads the clock, which panics.
    fake.script().panic_on_now = true;
    fake.script()
        .queue
        .insert(QueueId(2), (record(2, &["bob"]), None));
    running.arrivals.send(QueueId(2)).unwrap();
    running
        .until("message 2 is delivered after the restart", |s| {
            !s.queue.contains_key(&QueueId(2))
        })
        .await;
    let script = fake.script();
    assert!(!script.panic_on_now, "the panic happened");
    assert_eq!(script.cancelled, [QueueId(1)], "its delivery was cancelled");
    assert_eq!(script.loads[&QueueId(1)], 2, "message 1 was read again");
}

#[tokio::test]
async fn a_forward_that_cannot_be_queued_leaves_the_recipient_pending_until_it_is() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        script.rules.insert(
            "alice".into(),
            MailboxRules {
                forward: Some(Forwarding {
                    to: vec!["bob@elsewhere.test".into()],
                    keep: true,
                }),
                vacation: None,
                senders: None,
            },
        );
        script.forward_errors = 1;
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice"]), None));
    }
    let running = Running::start(&fake, vec![QueueId(1)]);
    // The copy lands, the forward fails: alice is not recorded delivered,
    // so the forward is not lost.
    running
        .until("the failed try is saved", |s| {
            s.queue
                .get(&QueueId(1))
                .is_some_and(|(_, state)| state.is_some())
        })
        .await;
    assert!(fake.script().forwards.is_empty());
    let (reply, flushed) = oneshot::channel();
    running.commands.send(Command::Flush(reply)).unwrap();
    assert_eq!(flushed.await.unwrap(), 1);
    running
        .until("the message is done", |s| s.queue.is_empty())
        .await;
    let forwards = fake.script().forwards.clone();
    assert_eq!(
        forwards,
        [(QueueId(1), vec!["<bob@elsewhere.test>".to_owned()])]
    );
    // The Maildir copy was tried twice (the Maildir keeps one: see
    // maildir.rs), and the message was forwarded once.
    assert_eq!(running.delivered(1), ["alice", "alice"]);
}

#[tokio::test]
async fn the_delivery_that_settles_a_message_removes_it_once_and_only_after_every_copy() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice", "bob"]), None));
        // broken's copy fails: the message must stay, alice's copy saved.
        script
            .queue
            .insert(QueueId(2), (record(2, &["alice", "broken"]), None));
    }
    let running = Running::start(&fake, vec![QueueId(1), QueueId(2)]);
    running
        .until("message 1 is gone and message 2's try is saved", |s| {
            !s.queue.contains_key(&QueueId(1))
                && s.queue
                    .get(&QueueId(2))
                    .is_some_and(|(_, state)| state.is_some())
        })
        .await;
    assert_eq!(running.delivered(1), ["alice", "bob"]);
    let script = fake.script();
    assert_eq!(
        script.removals,
        [QueueId(1)],
        "removed once, by its delivery"
    );
    let (_, state) = &script.queue[&QueueId(2)];
    let statuses: Vec<_> = state
        .as_ref()
        .unwrap()
        .recipients
        .iter()
        .map(|r| r.status.clone())
        .collect();
    assert_eq!(statuses[0], postern_core::queue::Status::Delivered);
    assert!(
        matches!(statuses[1], postern_core::queue::Status::Pending { .. }),
        "{statuses:?}"
    );
}

impl Running {
    /// `postern queue flush`: how many messages the runner holds with a
    /// recipient pending.
    async fn flush(&self) -> usize {
        let (reply, flushed) = oneshot::channel();
        self.commands.send(Command::Flush(reply)).unwrap();
        flushed.await.unwrap()
    }
}

#[tokio::test]
async fn on_a_shared_queue_a_message_waiting_for_a_retry_is_saved_then_released_and_forgotten() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        script.shared = true;
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice", "broken"]), None));
    }
    let running = Running::start(&fake, vec![QueueId(1)]);
    running
        .until("the message is released", |s| !s.released.is_empty())
        .await;
    assert_eq!(running.flush().await, 0, "the runner no longer holds it");
    let script = fake.script();
    let (_, state) = &script.queue[&QueueId(1)];
    let saved = state
        .as_ref()
        .expect("the state is saved before the release");
    assert_eq!(
        saved.recipients[0].status,
        postern_core::queue::Status::Delivered
    );
    let next = saved.next_attempt().expect("broken is pending");
    assert_eq!(
        script.released,
        [(QueueId(1), next)],
        "released until broken's retry"
    );
    assert!(next > UnixTime(1_800_000_000));
    assert!(script.removals.is_empty());
}

/// A copy that failed because the database could not be reached is tried
/// again within seconds; one that failed for a reason of its mailbox's
/// waits for the retry schedule.
#[tokio::test]
async fn a_copy_failed_by_an_unreachable_database_is_retried_soon_not_on_the_schedule() {
    use postern_core::limits::STORAGE_UNREACHABLE_RETRY;
    let schedule = postern_core::queue::RetrySchedule::default();
    for (user, delay) in [
        ("unreachable", STORAGE_UNREACHABLE_RETRY),
        ("broken", schedule.delays[0]),
    ] {
        let fake = Fake::default();
        {
            let mut script = fake.script();
            script.shared = true;
            script.queue.insert(QueueId(1), (record(1, &[user]), None));
        }
        let running = Running::start(&fake, vec![QueueId(1)]);
        running
            .until("the message is released", |s| !s.released.is_empty())
            .await;
        let retry = UnixTime(1_800_000_000 + delay.as_secs() as i64);
        assert_eq!(fake.script().released, [(QueueId(1), retry)], "{user}");
    }
}

#[tokio::test]
async fn on_a_queue_of_its_own_a_message_waiting_for_a_retry_stays_with_the_runner() {
    let fake = Fake::default();
    fake.script()
        .queue
        .insert(QueueId(1), (record(1, &["alice", "broken"]), None));
    let running = Running::start(&fake, vec![QueueId(1)]);
    running
        .until("the try is saved", |s| s.queue[&QueueId(1)].1.is_some())
        .await;
    assert_eq!(running.flush().await, 1);
    assert!(fake.script().released.is_empty());
}

#[tokio::test]
async fn a_fenced_save_forgets_the_message_and_writes_nothing_more() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        script.shared = true;
        script.fenced.insert(QueueId(1));
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice", "broken"]), None));
    }
    let running = Running::start(&fake, vec![QueueId(1)]);
    running
        .until("both copies were tried", |s| s.delivered.len() == 2)
        .await;
    assert_eq!(running.flush().await, 0, "forgotten");
    let script = fake.script();
    assert!(script.released.is_empty());
    assert!(script.removals.is_empty());
    assert!(script.queue[&QueueId(1)].1.is_none(), "nothing saved");
}

#[tokio::test]
async fn a_lost_lease_stops_the_deliveries_under_way_and_forgets_the_message() {
    let fake = Fake::default();
    {
        let mut script = fake.script();
        script.shared = true;
        script
            .queue
            .insert(QueueId(1), (record(1, &["alice"]), None));
        script.stuck.insert(QueueId(1));
    }
    let running = Running::start(&fake, vec![QueueId(1)]);
    running
        .until("the delivery is under way", |s| {
            s.loads.contains_key(&QueueId(1))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    fake.script().fenced.insert(QueueId(1));
    running
        .commands
        .send(Command::LeaseLost(QueueId(1)))
        .unwrap();
    running
        .until("the stuck delivery is cancelled", |s| {
            s.cancelled.contains(&QueueId(1))
        })
        .await;
    assert_eq!(running.flush().await, 0);
    let script = fake.script();
    assert!(
        script.queue.contains_key(&QueueId(1)),
        "not removed: another node has it"
    );
    assert!(script.removals.is_empty());
}
