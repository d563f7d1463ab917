//! The world as the queue runner sees it: a network to connect through,
//! DNS to ask, a wall clock, and the queue's storage.
//!
//! The runner ([`crate::delivery`]) reaches the world only through these
//! traits, so the same runner delivers mail in production ([`System`]:
//! tokio sockets, hickory-resolver, the spool and Maildirs on disk) and in
//! the simulation (turmoil sockets, a scripted DNS zone, an in-memory store
//! that loses what was not synced when its host crashes). Inbound sessions
//! reach the world through [`crate::driver::Backend`] in the same way.
//!
//! Every method is `async` and may take its time; none may block the
//! thread, so disk work in [`System`] runs on tokio's blocking pool.

use crate::mailbox_rules;
use crate::maildir::Maildirs;
use crate::resolver::Resolver;
use crate::spool::{Spool, SpoolRecord, blocking};
use postern_core::autoreply::{MailboxRules, ReplyMemory};
use postern_core::envelope::{Envelope, LocalMailbox, QueueId};
use postern_core::queue::DeliveryState;
use postern_core::route::{HostAnswer, MxAnswer};
use postern_core::time::UnixTime;
use std::future::Future;
use std::io::{self, BufRead, Read, Seek};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::SystemTime;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most header octets quoted in a bounce.
pub const HEADER_SECTION_MAX: usize = 64 * 1024;

/// A committed message's data on a queue that nodes share, which comes
/// to its end only while this node's lease on the message surely holds
/// (`held`, asked at the end). When the lease may have run out by then
/// (the node was paused, or could not renew), the read at the end fails
/// with [`LEASE_MAY_HAVE_RUN_OUT`] instead: the client driver stops short
/// of the final dot, the server discards what it got, and the node that
/// claimed the message meanwhile sends the only copy. A node paused
/// between its last read and the reply to its dot is the one way left to
/// a second copy (at most one a fault). PostgreSQL's store
/// ([`crate::storage::postgres::SharedSystem`]) and the simulation's
/// nodes read their data through it.
pub struct LeasedData<R> {
    data: R,
    held: Box<dyn Fn() -> bool + Send + Sync>,
}

/// Why a message's data failed at its end ([`LeasedData`]).
pub const LEASE_MAY_HAVE_RUN_OUT: &str = "this node's lease on the message may have run out \
     (another node may have claimed it): its data was not sent to the end";

impl<R> LeasedData<R> {
    pub fn new(data: R, held: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        LeasedData {
            data,
            held: Box::new(held),
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for LeasedData<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.data).poll_read(cx, buf))?;
        let at_end = buf.filled().len() == before && buf.remaining() > 0;
        if at_end && !(self.held)() {
            return Poll::Ready(Err(io::Error::other(LEASE_MAY_HAVE_RUN_OUT)));
        }
        Poll::Ready(Ok(()))
    }
}

/// Outbound connections.
pub trait Network: Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Opens a TCP connection. The caller bounds the wait.
    fn connect(&self, address: SocketAddr)
    -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// DNS, answered in the core's terms so the core decides what each answer
/// means.
pub trait Dns: Send + Sync + 'static {
    /// The domain's MX records.
    fn mx(&self, domain: &str) -> impl Future<Output = MxAnswer> + Send;
    /// The host's IPv4 and IPv6 addresses.
    fn host(&self, host: &str) -> impl Future<Output = HostAnswer> + Send;
}

/// The calendar: retry times, expiry, and the dates in bounces. Timers and
/// timeouts use tokio's clock, which the simulation controls anyway.
pub trait WallClock: Send + Sync + 'static {
    fn now(&self) -> UnixTime;
}

/// The queue's storage: committed messages, their delivery state, the
/// local mailboxes, and new messages the server writes itself (bounces).
pub trait QueueStore: Send + Sync + 'static {
    /// A committed message's data, from its first octet.
    type Data: AsyncRead + Unpin + Send + 'static;

    /// A committed message's record, and its delivery state if an attempt
    /// left one. A record or state that cannot be used is an error that
    /// [`crate::spool::damage`] recognizes; the runner then calls
    /// [`QueueStore::set_aside`]. Any other error is retried later.
    fn load(
        &self,
        id: QueueId,
    ) -> impl Future<Output = io::Result<(SpoolRecord, Option<DeliveryState>)>> + Send;

    /// The message data to send, and its size in octets.
    fn data(&self, id: QueueId) -> impl Future<Output = io::Result<(u64, Self::Data)>> + Send;

    /// The message's header section (at most [`HEADER_SECTION_MAX`]
    /// octets), to quote in a bounce.
    fn header_section(&self, id: QueueId) -> impl Future<Output = io::Result<Vec<u8>>> + Send;

    /// Puts a copy of the message in `mailbox`, durably; answers where.
    fn deliver(
        &self,
        record: Arc<SpoolRecord>,
        mailbox: LocalMailbox,
    ) -> impl Future<Output = io::Result<String>> + Send;

    /// Records the delivery state durably: after a crash the message is
    /// found with this state or the one before.
    fn save_state(
        &self,
        id: QueueId,
        state: DeliveryState,
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// Removes a message that needs nothing more, with its state.
    fn remove(&self, id: QueueId) -> impl Future<Output = io::Result<()>> + Send;

    /// Puts a copy of the message, durably, in each of `mailboxes` in
    /// order, as long as their settings, read here, ask for only a copy
    /// ([`MailboxRules::only_a_copy`]). It stops at the first error, and
    /// at the first mailbox with more to do, which gets no copy: its
    /// settings as read come back for delivery to carry out, and the
    /// mailboxes after it are not tried. With `remove`, once every
    /// mailbox has its copy, durably, the message is removed as by
    /// [`QueueStore::remove`]: the caller says so only when these copies
    /// are all the message still needs.
    ///
    /// This default composes the methods above; the spool on disk does
    /// it all in one trip to the blocking threads.
    fn deliver_plain(
        &self,
        record: Arc<SpoolRecord>,
        mailboxes: Vec<LocalMailbox>,
        remove: bool,
    ) -> impl Future<Output = PlainDelivery> + Send {
        async move {
            let mut done = PlainDelivery::default();
            for mailbox in mailboxes {
                let rules = self.mailbox_rules(mailbox.clone()).await;
                if !only_a_copy(&rules, &record) {
                    done.copies.push((mailbox, PlainCopy::Ruled(rules)));
                    return done;
                }
                match self.deliver(Arc::clone(&record), mailbox.clone()).await {
                    Ok(path) => done.copies.push((mailbox, PlainCopy::Made(path))),
                    Err(error) => {
                        done.error = Some(error);
                        return done;
                    }
                }
            }
            if remove && done.all_made() {
                done.removed = removed(self.remove(record.queue_id).await, record.queue_id);
            }
            done
        }
    }

    /// Moves a damaged message (and its state) out of the queue, keeping
    /// it for an operator with `reason`; answers where it went.
    fn set_aside(
        &self,
        id: QueueId,
        reason: String,
    ) -> impl Future<Output = io::Result<String>> + Send;

    /// Queues a message the server writes itself, committed like one
    /// received over SMTP and announced for delivery.
    fn inject(
        &self,
        envelope: Envelope,
        data: Vec<u8>,
    ) -> impl Future<Output = io::Result<QueueId>> + Send;

    /// Queues a forwarded copy of message `source`: `trace` on top of its
    /// data, unchanged, with `envelope`; committed like [`QueueStore::inject`].
    fn forward(
        &self,
        envelope: Envelope,
        trace: Vec<u8>,
        source: QueueId,
    ) -> impl Future<Output = io::Result<QueueId>> + Send;

    /// Whether other nodes share this queue (the postgres backend): the
    /// runner then works on a message only while this node holds its
    /// lease, and gives a message that only waits for a retry back
    /// ([`QueueStore::release`]) rather than holding it meanwhile.
    fn shared(&self) -> bool {
        false
    }

    /// Gives message `id` (its state saved) back to the shared queue, to
    /// be claimed by any node from `next_attempt`. Only called when
    /// [`QueueStore::shared`].
    fn release(
        &self,
        id: QueueId,
        next_attempt: UnixTime,
    ) -> impl Future<Output = io::Result<()>> + Send {
        let _ = (id, next_attempt);
        async { Ok(()) }
    }

    /// Whether this node holds a lease on message `id` (always, for a
    /// queue no other node shares).
    fn holds(&self, id: QueueId) -> bool {
        let _ = id;
        true
    }

    /// The forwarding and vacation settings of `mailbox`, if it has any.
    /// Settings that cannot be used are an `InvalidData` error saying why.
    fn mailbox_rules(
        &self,
        mailbox: LocalMailbox,
    ) -> impl Future<Output = io::Result<Option<MailboxRules>>> + Send;

    /// When `mailbox`'s vacation last replied to each sender.
    fn reply_memory(
        &self,
        mailbox: LocalMailbox,
    ) -> impl Future<Output = io::Result<ReplyMemory>> + Send;

    /// Records durably that `mailbox` replied to `sender` at `now`; the
    /// memory keeps `days` days.
    fn remember_reply(
        &self,
        mailbox: LocalMailbox,
        sender: String,
        now: UnixTime,
        days: u32,
    ) -> impl Future<Output = io::Result<()>> + Send;
}

/// What [`QueueStore::deliver_plain`] did for one mailbox.
#[derive(Debug)]
pub enum PlainCopy {
    /// The copy is durable; where it is, for the log.
    Made(String),
    /// No copy made: the mailbox's settings, as read, ask for more than a
    /// copy, or could not be read. Delivery carries them out, then goes
    /// on with the mailboxes after it.
    Ruled(io::Result<Option<MailboxRules>>),
}

/// What [`QueueStore::deliver_plain`] did.
#[derive(Debug, Default)]
pub struct PlainDelivery {
    /// Each mailbox tried, in order, and what was done for it.
    pub copies: Vec<(LocalMailbox, PlainCopy)>,
    /// The error that stopped the copies, if one did: the mailboxes after
    /// those in `copies` were not tried.
    pub error: Option<io::Error>,
    /// The message is removed from the queue.
    pub removed: bool,
}

impl PlainDelivery {
    /// Every mailbox tried got its copy, and nothing failed.
    pub fn all_made(&self) -> bool {
        self.error.is_none()
            && self
                .copies
                .iter()
                .all(|(_, copy)| matches!(copy, PlainCopy::Made(_)))
    }
}

/// Whether settings read as `rules` ask for only a copy of `record` (the
/// core decides; settings that could not be read are for delivery to
/// report).
fn only_a_copy(rules: &io::Result<Option<MailboxRules>>, record: &SpoolRecord) -> bool {
    matches!(rules, Ok(rules) if MailboxRules::only_a_copy(rules.as_ref(), &record.envelope.reverse_path))
}

/// Whether a removal succeeded; a failure is logged, and the runner
/// removes the message later as it always has.
fn removed(result: io::Result<()>, id: QueueId) -> bool {
    match result {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(queue_id = %id, %error, "{id}: cannot remove from the spool after its delivery");
            false
        }
    }
}

/// Everything the queue runner needs. Clones share one world.
pub trait Environment: Network + Dns + WallClock + QueueStore + Clone {}

impl<T: Network + Dns + WallClock + QueueStore + Clone> Environment for T {}

/// The real world: tokio's TCP, hickory-resolver, the system clock, the
/// spool and Maildirs on disk.
#[derive(Clone)]
pub struct System {
    pub spool: Arc<Spool>,
    pub maildirs: Arc<Maildirs>,
    pub resolver: Resolver,
}

impl Network for System {
    type Stream = tokio::net::TcpStream;

    async fn connect(&self, address: SocketAddr) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

impl Dns for System {
    async fn mx(&self, domain: &str) -> MxAnswer {
        self.resolver.mx(domain).await
    }

    async fn host(&self, host: &str) -> HostAnswer {
        self.resolver.host(host).await
    }
}

impl WallClock for System {
    fn now(&self) -> UnixTime {
        system_now()
    }
}

/// The system's calendar time, in whole seconds.
pub fn system_now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    )
}

impl QueueStore for System {
    /// The trace fields, then the spooled data.
    type Data = tokio::io::Chain<io::Cursor<Vec<u8>>, tokio::fs::File>;

    async fn load(&self, id: QueueId) -> io::Result<(SpoolRecord, Option<DeliveryState>)> {
        // Committed a moment ago: the record is still in memory.
        if let Some(loaded) = self.spool.load_kept(id) {
            return Ok(loaded);
        }
        let spool = Arc::clone(&self.spool);
        blocking(move || spool.load(id)).await
    }

    async fn data(&self, id: QueueId) -> io::Result<(u64, Self::Data)> {
        let spool = Arc::clone(&self.spool);
        blocking(move || {
            let (record, mut file) = spool.read(id)?;
            let data_start = file.stream_position()?;
            let size = file.metadata()?.len().saturating_sub(data_start);
            let size = size + record.trace.len() as u64;
            let trace = io::Cursor::new(record.trace);
            let file = tokio::fs::File::from_std(file);
            Ok((size, tokio::io::AsyncReadExt::chain(trace, file)))
        })
        .await
    }

    async fn header_section(&self, id: QueueId) -> io::Result<Vec<u8>> {
        let spool = Arc::clone(&self.spool);
        blocking(move || {
            let (record, file) = spool.read(id)?;
            let trace = io::Cursor::new(record.trace);
            let mut reader = io::BufReader::new(trace.chain(file)).take(HEADER_SECTION_MAX as u64);
            let mut headers = Vec::new();
            let mut line = Vec::new();
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line)? == 0 || line == b"\r\n" || line == b"\n" {
                    return Ok(headers);
                }
                headers.extend_from_slice(&line);
            }
        })
        .await
    }

    async fn deliver(&self, record: Arc<SpoolRecord>, mailbox: LocalMailbox) -> io::Result<String> {
        let (spool, maildirs) = (Arc::clone(&self.spool), Arc::clone(&self.maildirs));
        blocking(move || copy_blocking(&spool, &maildirs, &record, &mailbox)).await
    }

    /// The settings, the copies and the removal in one trip to the
    /// blocking threads.
    async fn deliver_plain(
        &self,
        record: Arc<SpoolRecord>,
        mailboxes: Vec<LocalMailbox>,
        remove: bool,
    ) -> PlainDelivery {
        let (spool, maildirs) = (Arc::clone(&self.spool), Arc::clone(&self.maildirs));
        blocking(move || {
            Ok(deliver_plain_blocking(
                &spool, &maildirs, &record, mailboxes, remove,
            ))
        })
        .await
        .unwrap_or_else(|error| PlainDelivery {
            error: Some(error),
            ..PlainDelivery::default()
        })
    }

    async fn save_state(&self, id: QueueId, state: DeliveryState) -> io::Result<()> {
        let spool = Arc::clone(&self.spool);
        blocking(move || spool.write_state(id, &state)).await
    }

    async fn remove(&self, id: QueueId) -> io::Result<()> {
        let spool = Arc::clone(&self.spool);
        blocking(move || spool.remove(id)).await
    }

    async fn set_aside(&self, id: QueueId, reason: String) -> io::Result<String> {
        let spool = Arc::clone(&self.spool);
        blocking(move || spool.set_aside(id, &reason))
            .await
            .map(|place| place.display().to_string())
    }

    async fn inject(&self, envelope: Envelope, data: Vec<u8>) -> io::Result<QueueId> {
        self.spool.inject(envelope, &data).await
    }

    async fn forward(
        &self,
        envelope: Envelope,
        trace: Vec<u8>,
        source: QueueId,
    ) -> io::Result<QueueId> {
        self.spool.inject_copy(envelope, &trace, source).await
    }

    async fn mailbox_rules(&self, mailbox: LocalMailbox) -> io::Result<Option<MailboxRules>> {
        let dir = self.maildirs.path(&mailbox);
        blocking(move || mailbox_rules::read_rules(&dir)).await
    }

    async fn reply_memory(&self, mailbox: LocalMailbox) -> io::Result<ReplyMemory> {
        let dir = self.maildirs.path(&mailbox);
        blocking(move || mailbox_rules::read_memory(&dir)).await
    }

    async fn remember_reply(
        &self,
        mailbox: LocalMailbox,
        sender: String,
        now: UnixTime,
        days: u32,
    ) -> io::Result<()> {
        let dir = self.maildirs.path(&mailbox);
        blocking(move || mailbox_rules::remember_reply(&dir, &sender, now, days)).await
    }
}

/// One copy of `record` into `mailbox`, durable when it returns: where it
/// is, for the log. Blocks.
fn copy_blocking(
    spool: &Spool,
    maildirs: &Maildirs,
    record: &SpoolRecord,
    mailbox: &LocalMailbox,
) -> io::Result<String> {
    // `read` leaves the file at the first octet of the data.
    let (_, mut file) = spool.read(record.queue_id)?;
    let mut headers = record.envelope.delivery_headers(mailbox, "\n").into_bytes();
    // The copy's line endings are made as it is written.
    headers.extend_from_slice(&record.trace);
    let first_try = spool.first_try(record.queue_id, mailbox);
    let copy = maildirs.deliver_into(
        mailbox,
        record.junk,
        // The time in the queue ID, so that one node's copies are named
        // in the order they arrived.
        (record.queue_id, record.queue_id.micros()),
        &headers,
        &mut io::BufReader::new(&mut file),
        first_try,
    )?;
    Ok(if copy.earlier {
        format!("{} (made by an earlier try)", copy.path.display())
    } else {
        copy.path.display().to_string()
    })
}

/// [`QueueStore::deliver_plain`] on disk: for each mailbox its settings
/// are read and, while they ask for only a copy, the copy is made and
/// synced ([`copy_blocking`]); the message is removed only after the last
/// copy is durable. Blocks.
fn deliver_plain_blocking(
    spool: &Spool,
    maildirs: &Maildirs,
    record: &SpoolRecord,
    mailboxes: Vec<LocalMailbox>,
    remove: bool,
) -> PlainDelivery {
    let mut done = PlainDelivery::default();
    for mailbox in mailboxes {
        let rules = mailbox_rules::read_rules(&maildirs.path(&mailbox));
        if !only_a_copy(&rules, record) {
            done.copies.push((mailbox, PlainCopy::Ruled(rules)));
            return done;
        }
        match copy_blocking(spool, maildirs, record, &mailbox) {
            Ok(path) => done.copies.push((mailbox, PlainCopy::Made(path))),
            Err(error) => {
                done.error = Some(error);
                return done;
            }
        }
    }
    if remove && done.all_made() {
        done.removed = removed(spool.remove(record.queue_id), record.queue_id);
    }
    done
}

#[cfg(test)]
mod tests;
