//! The delivery runner's world on a node of a shared queue: the same
//! network, DNS and clock as [`System`], and the queue and the mailboxes
//! in PostgreSQL ([`PgQueue`], [`PgMailboxStore`]).
//!
//! The runner works only on messages this node holds a lease on: the
//! claimer ([`super::node`]) claims due messages, puts their leases in
//! [`Leases`] and hands their IDs to the runner. Every write here goes
//! with the message's lease and is fenced: when the lease has run out
//! or passed to another node, nothing is written and the error is one
//! [`is_fenced`] recognizes; the lease is then forgotten, and the runner
//! forgets the message (another node has it).
//!
//! Local copies go into the mailbox store in the database
//! ([`PgMailboxStore::deliver_queued`]), so that every node serves them:
//! the copy, its delivery key (queue ID and mailbox) and the recipients'
//! result in one transaction fenced by the lease. A repeated delivery
//! finds the key and makes no second copy; a node whose lease is gone
//! writes nothing.

use super::{
    BlobReader, DeliveredCopy, Lease, PgMailboxStore, PgQueue, PgSettings, QueuedCopy, StoreError,
};
use crate::environment::{
    Dns, HEADER_SECTION_MAX, LeasedData, Network, QueueStore, System, WallClock,
};
use crate::spool::{SpoolRecord, decode_spool_record};
use postern_core::autoreply::{MailboxRules, ReplyMemory};
use postern_core::envelope::{Destination, Envelope, LocalMailbox, QueueId};
use postern_core::queue::{DELIVERED_LOCALLY_DETAIL, DeliveryState};
use postern_core::route::{HostAnswer, MxAnswer};
use postern_core::time::UnixTime;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::time::Instant;

/// The leases this node holds, by message; shared by the claimer (which
/// adds), the renewer, and the store's writes (which remove). Each lease
/// goes with the instant (this node's monotonic clock) until which it
/// surely holds: the lease's length from just *before* the statement that
/// took or renewed it, so never later than the database's expiry.
#[derive(Clone, Debug, Default)]
pub struct Leases {
    held: Arc<Mutex<BTreeMap<QueueId, (Lease, Instant)>>>,
}

impl Leases {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<QueueId, (Lease, Instant)>> {
        // The map stays valid whatever panicked holding it.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a claim (or a renewal) that surely holds until `until`.
    pub fn insert_until(&self, id: QueueId, lease: Lease, until: Instant) {
        self.map().insert(id, (lease, until));
    }

    /// Notes that `id`'s lease, if still `lease`, was renewed until `until`.
    pub fn renewed(&self, id: QueueId, lease: Lease, until: Instant) {
        if let Some(entry) = self.map().get_mut(&id).filter(|(held, _)| *held == lease) {
            entry.1 = entry.1.max(until);
        }
    }

    /// The lease held on `id`, if one is.
    pub fn get(&self, id: QueueId) -> Option<Lease> {
        self.map().get(&id).map(|&(lease, _)| lease)
    }

    /// The lease held on `id` and the instant until which it surely holds.
    pub fn get_until(&self, id: QueueId) -> Option<(Lease, Instant)> {
        self.map().get(&id).copied()
    }

    /// Whether a lease on `id` surely holds at `now`: no other node can
    /// have claimed the message yet. (Past that instant this node may
    /// still hold it, until a renewal says.)
    pub fn surely_held(&self, id: QueueId, now: Instant) -> bool {
        self.get_until(id).is_some_and(|(_, until)| now < until)
    }

    /// Forgets the lease on `id` if it is still `lease` (a newer claim of
    /// the same message stays); answers whether it was.
    pub fn remove_if(&self, id: QueueId, lease: Lease) -> bool {
        let mut map = self.map();
        if map.get(&id).map(|&(held, _)| held) == Some(lease) {
            map.remove(&id);
            true
        } else {
            false
        }
    }

    /// Forgets every lease held, answering them (in order of queue ID):
    /// from here on no write and no local copy goes with them.
    pub fn take_all(&self) -> Vec<(QueueId, Lease)> {
        std::mem::take(&mut *self.map())
            .into_iter()
            .map(|(id, (lease, _))| (id, lease))
            .collect()
    }

    /// Every lease held, in order of queue ID.
    pub fn snapshot(&self) -> Vec<(QueueId, Lease)> {
        self.map()
            .iter()
            .map(|(&id, &(lease, _))| (id, lease))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }
}

/// `data` of message `id`, which comes to its end only while `leases`
/// surely hold it.
fn leased<R>(data: R, id: QueueId, leases: Leases) -> LeasedData<R> {
    LeasedData::new(data, move || leases.surely_held(id, Instant::now()))
}

/// Whether `error` says the writer's lease is gone ([`StoreError::Fenced`]):
/// nothing was written, and another node has the message.
pub fn is_fenced(error: &io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<StoreError>())
        .is_some_and(|inner| matches!(inner, StoreError::Fenced))
}

fn fenced() -> io::Error {
    StoreError::Fenced.into()
}

/// The world of a node on a shared queue.
#[derive(Clone)]
pub struct SharedSystem {
    /// The network, DNS, clock, Maildirs, and the spool sessions and
    /// bounces commit through (to the database).
    pub system: System,
    pub queue: PgQueue,
    /// Where local copies go: every node reads them.
    pub mailboxes: PgMailboxStore,
    pub leases: Leases,
    /// How long each claim and renewal lasts.
    pub lease: Duration,
}

impl SharedSystem {
    /// Each mailbox's settings, in the database, on the queue's pool.
    fn settings(&self) -> PgSettings {
        PgSettings::new(self.queue.pool().clone())
    }

    /// The lease held on `id`, or the fenced error when none is.
    fn held(&self, id: QueueId) -> io::Result<Lease> {
        self.leases.get(id).ok_or_else(fenced)
    }

    /// `result` of a write made with `lease`; a fenced one forgets it.
    fn fenced<T>(&self, id: QueueId, lease: Lease, result: Result<T, StoreError>) -> io::Result<T> {
        if matches!(result, Err(StoreError::Fenced)) {
            self.leases.remove_if(id, lease);
        }
        result.map_err(io::Error::from)
    }
}

impl Network for SharedSystem {
    type Stream = tokio::net::TcpStream;

    async fn connect(&self, address: SocketAddr) -> io::Result<Self::Stream> {
        self.system.connect(address).await
    }
}

impl Dns for SharedSystem {
    async fn mx(&self, domain: &str) -> MxAnswer {
        self.system.mx(domain).await
    }

    async fn host(&self, host: &str) -> HostAnswer {
        self.system.host(host).await
    }
}

impl WallClock for SharedSystem {
    fn now(&self) -> UnixTime {
        self.system.now()
    }
}

impl QueueStore for SharedSystem {
    /// The trace fields, then the data as the session stored it, ending
    /// only while the lease surely holds ([`LeasedData`]).
    type Data = LeasedData<tokio::io::Chain<io::Cursor<Vec<u8>>, BlobReader>>;

    async fn load(&self, id: QueueId) -> io::Result<(SpoolRecord, Option<DeliveryState>)> {
        let (record, state) = self.queue.load(id).await?;
        Ok((record, Some(state)))
    }

    async fn data(&self, id: QueueId) -> io::Result<(u64, Self::Data)> {
        let (record, size, blob) = self.queue.record_and_data(id).await?;
        let record = decode_spool_record(&record)?;
        let size = size + record.trace.len() as u64;
        let data = leased(
            io::Cursor::new(record.trace).chain(blob),
            id,
            self.leases.clone(),
        );
        Ok((size, data))
    }

    async fn header_section(&self, id: QueueId) -> io::Result<Vec<u8>> {
        let (_, data) = self.data(id).await?;
        let mut reader = tokio::io::BufReader::new(data.take(HEADER_SECTION_MAX as u64));
        let mut headers = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).await? == 0 || line == b"\r\n" || line == b"\n" {
                return Ok(headers);
            }
            headers.extend_from_slice(&line);
        }
    }

    /// Into the mailbox store, exactly once and fenced by the lease
    /// ([`PgMailboxStore::deliver_queued`]).
    async fn deliver(&self, record: Arc<SpoolRecord>, mailbox: LocalMailbox) -> io::Result<String> {
        let id = record.queue_id;
        let lease = self.held(id)?;
        let copied = deliver_copy(&self.mailboxes, &record, &mailbox, &lease).await;
        self.fenced(id, lease, copied.map(|copy| copy.to_string()))
    }

    async fn save_state(&self, id: QueueId, state: DeliveryState) -> io::Result<()> {
        let lease = self.held(id)?;
        let saved = self.queue.save_state(id, &lease, &state).await;
        self.fenced(id, lease, saved)
    }

    async fn remove(&self, id: QueueId) -> io::Result<()> {
        let lease = self.held(id)?;
        let finished = self.queue.finish(id, &lease).await;
        // Whatever the answer, the runner is done with the message: a
        // removal that failed lets the lease run out, and the message is
        // claimed and delivered again (a duplicate, never a loss).
        self.leases.remove_if(id, lease);
        finished.map_err(io::Error::from)
    }

    /// Into `queue_damaged`, released for good, fenced by the lease
    /// ([`PgQueue::set_aside`]).
    async fn set_aside(&self, id: QueueId, reason: String) -> io::Result<String> {
        let lease = self.held(id)?;
        let set_aside = self.queue.set_aside(id, &lease, &reason).await;
        self.fenced(id, lease, set_aside)?;
        self.leases.remove_if(id, lease);
        Ok("the shared queue's damaged messages (`postern queue list` shows it)".to_owned())
    }

    async fn inject(&self, envelope: Envelope, data: Vec<u8>) -> io::Result<QueueId> {
        self.system.inject(envelope, data).await
    }

    async fn forward(
        &self,
        envelope: Envelope,
        trace: Vec<u8>,
        source: QueueId,
    ) -> io::Result<QueueId> {
        let (_, data) = self.data(source).await?;
        self.system
            .spool
            .inject_stream(envelope, &trace, data)
            .await
    }

    /// The database's, which any node's webmail or CLI wrote.
    async fn mailbox_rules(&self, mailbox: LocalMailbox) -> io::Result<Option<MailboxRules>> {
        self.settings().rules(&mailbox).await
    }

    async fn reply_memory(&self, mailbox: LocalMailbox) -> io::Result<ReplyMemory> {
        self.settings().memory(&mailbox).await
    }

    async fn remember_reply(
        &self,
        mailbox: LocalMailbox,
        sender: String,
        now: UnixTime,
        days: u32,
    ) -> io::Result<()> {
        self.settings()
            .remember_reply(&mailbox, &sender, now, days)
            .await
    }

    fn shared(&self) -> bool {
        true
    }

    async fn release(&self, id: QueueId, next_attempt: UnixTime) -> io::Result<()> {
        let lease = self.held(id)?;
        let released = self.queue.release(id, &lease, next_attempt).await;
        if released.is_ok() {
            self.leases.remove_if(id, lease);
        }
        self.fenced(id, lease, released)
    }

    fn holds(&self, id: QueueId) -> bool {
        self.leases.get(id).is_some()
    }
}

/// One copy of `record` into `mailbox` while `lease` holds the message.
async fn deliver_copy(
    mailboxes: &PgMailboxStore,
    record: &SpoolRecord,
    mailbox: &LocalMailbox,
    lease: &Lease,
) -> Result<DeliveredCopy, StoreError> {
    let mut headers = record
        .envelope
        .delivery_headers(mailbox, "\r\n")
        .into_bytes();
    headers.extend_from_slice(&record.trace);
    let recipients: Vec<usize> = record
        .envelope
        .recipients
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(&r.destination, Destination::Local(m) if m == mailbox))
        .map(|(i, _)| i)
        .collect();
    let copy = QueuedCopy {
        queue_id: record.queue_id,
        mailbox,
        junk: record.junk,
        headers: &headers,
        recipients: &recipients,
        detail: DELIVERED_LOCALLY_DETAIL,
        internal_date: UnixTime(record.received_at),
    };
    mailboxes.deliver_queued(&copy, lease).await
}

/// The postgres store tells a fenced write from a failure, and forgets
/// only the lease it wrote with.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fenced_write_is_recognized_and_a_failure_is_not() {
        assert!(is_fenced(&fenced()));
        assert!(!is_fenced(&io::Error::other(
            "database: connection refused"
        )));
        assert!(!is_fenced(&io::Error::from(StoreError::Io(
            io::Error::other("x")
        ))));
    }

    /// What a send reads of message 7's data (`Ok`: all of it and its
    /// end) with `leases` as they are.
    async fn read_all(leases: &Leases) -> (Vec<u8>, io::Result<usize>) {
        let mut data = leased(
            io::Cursor::new(b"Subject: x\r\n\r\nbody\r\n".to_vec()),
            QueueId(7),
            leases.clone(),
        );
        let mut read = Vec::new();
        let done = data.read_to_end(&mut read).await;
        (read, done)
    }

    #[tokio::test]
    async fn the_data_comes_to_its_end_only_while_the_lease_surely_holds() {
        let leases = Leases::default();
        let lease = Lease {
            node_id: 1,
            counter: 3,
        };
        let later = Instant::now() + Duration::from_secs(60);
        leases.insert_until(QueueId(7), lease, later);
        let (read, done) = read_all(&leases).await;
        assert_eq!(done.unwrap(), 20);
        assert_eq!(read, b"Subject: x\r\n\r\nbody\r\n");

        // Held, but maybe no longer by the time the end comes: every
        // octet is read, and the end is an error.
        leases.insert_until(QueueId(7), lease, Instant::now());
        let (read, done) = read_all(&leases).await;
        assert_eq!(read, b"Subject: x\r\n\r\nbody\r\n");
        let error = done.unwrap_err();
        assert_eq!(
            error.to_string(),
            crate::environment::LEASE_MAY_HAVE_RUN_OUT
        );
        // Renewed: the end comes again.
        leases.renewed(QueueId(7), lease, later);
        assert_eq!(read_all(&leases).await.1.unwrap(), 20);
        // Lost: never.
        assert!(leases.remove_if(QueueId(7), lease));
        assert!(read_all(&leases).await.1.is_err());
    }

    #[test]
    fn only_the_lease_written_with_is_forgotten() {
        let leases = Leases::default();
        let old = Lease {
            node_id: 1,
            counter: 3,
        };
        let new = Lease {
            node_id: 1,
            counter: 4,
        };
        leases.insert_until(QueueId(7), new, Instant::now());
        assert!(!leases.remove_if(QueueId(7), old), "a newer claim stays");
        assert_eq!(leases.get(QueueId(7)), Some(new));
        assert!(leases.remove_if(QueueId(7), new));
        assert!(leases.is_empty());
    }

    #[test]
    fn a_renewal_extends_only_the_lease_it_renewed_and_a_stop_takes_them_all() {
        let leases = Leases::default();
        let old = Lease {
            node_id: 1,
            counter: 3,
        };
        let new = Lease {
            node_id: 1,
            counter: 4,
        };
        let start = Instant::now();
        leases.insert_until(QueueId(7), new, start);
        leases.renewed(QueueId(7), old, start + Duration::from_secs(60));
        assert_eq!(leases.get_until(QueueId(7)), Some((new, start)));
        leases.renewed(QueueId(7), new, start + Duration::from_secs(60));
        assert_eq!(
            leases.get_until(QueueId(7)),
            Some((new, start + Duration::from_secs(60)))
        );
        leases.insert_until(QueueId(9), old, start);
        assert_eq!(
            leases.take_all(),
            vec![(QueueId(7), new), (QueueId(9), old)]
        );
        assert!(leases.is_empty());
    }
}
