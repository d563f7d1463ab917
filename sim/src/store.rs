//! An in-memory message store with the spool's durability contract:
//! nothing exists until `commit`, and a committed message is kept until
//! delivery removes it. Every write is synced when it returns, so a crash
//! of the server's hosts loses only what was never written: a message
//! still being received, an attempt's result not yet recorded.
//!
//! It is both sides of the spool: the [`Backend`] sessions write to, and
//! the [`QueueStore`] the delivery runner reads. Delivery puts mail in the
//! users' mailboxes ([`mailboxes`]), which readers reach through
//! `postern::mailstore::MailboxStore` ([`mailbox_store`]) and POP3
//! sessions through [`postern::pop3::Maildrops`] (see [`maildrop`]).
//!
//! Queue IDs count up from one and the wall clock is virtual time from a
//! fixed epoch, so a simulated run is the same byte for byte.

use postern::driver::{Backend, StoredMessage};
use postern::environment::{HEADER_SECTION_MAX, LeasedData, QueueStore};
use postern::spool::SpoolRecord;
use postern_core::address::ForwardPath;
use postern_core::auth::{AuthVerdict, Identity, LoginAttempt, SendAs};
use postern_core::autoreply::{MailboxRules, ReplyMemory};
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::envelope::{Envelope, LocalMailbox, QueueId};
use postern_core::finger;
use postern_core::queue::{DeliveryState, FirstTries, Status};
use postern_core::smtp::server::OpenedMessage;
use postern_core::time::UnixTime;
use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

pub mod ftp;
pub mod lists;
pub mod mailbox_store;
pub mod mailboxes;
pub mod maildrop;
pub mod news;
pub mod shared_queue;

mod planted;
pub use planted::PlantedBug;

#[cfg(test)]
mod mailboxes_model_tests;
#[cfg(test)]
mod mailboxes_tests;

use mailboxes::Mailboxes;
use maildrop::MailState;

/// The wall clock of simulated worlds at virtual time zero:
/// 2026-11-20 00:00:00 UTC.
pub const SIMULATED_EPOCH: UnixTime = UnixTime(1_795_132_800);

/// The simulated wall clock: the epoch plus virtual time.
pub fn wall_clock() -> UnixTime {
    let elapsed = turmoil::sim_elapsed().unwrap_or_default();
    UnixTime(SIMULATED_EPOCH.0 + elapsed.as_secs() as i64)
}

/// A committed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub queue_id: QueueId,
    pub envelope: Envelope,
    pub data: Vec<u8>,
    /// Written by the server itself (a bounce, a forwarded copy or a
    /// vacation reply), not received over SMTP.
    pub bounce: bool,
    /// A forwarded copy (written by the server, and no bounce).
    pub forwarded: bool,
    /// Quarantined by the checks at the end of its data: delivered to
    /// the recipients' Junk folders.
    pub junk: bool,
}

#[derive(Debug, Default)]
struct Shared {
    last_id: u64,
    /// Every message ever committed, in order: the record the invariants
    /// are checked against.
    committed: Vec<Committed>,
    /// Messages waiting for delivery, with their state once recorded.
    queue: BTreeMap<QueueId, (Arc<SpoolRecord>, Option<DeliveryState>)>,
    /// Messages the runner found damaged, with the reason.
    damaged: BTreeMap<QueueId, String>,
    /// Every user's folders and messages: what delivery puts in the
    /// mailboxes and readers read.
    mailboxes: Mailboxes,
    /// POP3's locks and the record of deliveries.
    mail: MailState,
    /// Where commits are announced: the running delivery runner's inbox.
    arrivals: Option<mpsc::UnboundedSender<QueueId>>,
    /// The accounts, by login.
    accounts: BTreeMap<String, SimAccount>,
    /// The FTP homes, by home name: kept like a disk, through crashes.
    homes: BTreeMap<String, postern_core::ftp::memory::MemoryHome>,
    /// Each mailbox's forwarding and vacation settings, by mailbox.
    rules: BTreeMap<LocalMailbox, MailboxRules>,
    /// Each mailbox's vacation memory, by mailbox: kept like a disk.
    replied: BTreeMap<LocalMailbox, ReplyMemory>,
    /// The mailing lists' state, held posts and digests: kept like a disk.
    lists: lists::ListRecords,
    /// Which local deliveries are first tries, which look for no earlier
    /// copy (as the spool's): the running process's memory, lost at a
    /// crash.
    first_tries: FirstTries,
}

/// An account: its password in clear (a simulated world has no secrets)
/// and what finger shows of it.
#[derive(Clone, Debug, Default)]
struct SimAccount {
    password: String,
    real_name: Option<String>,
    plan: Option<String>,
}

/// How long the planted bug leaves a message unsynced after its `250`.
const PLANTED_SYNC_DELAY: std::time::Duration = std::time::Duration::from_millis(300);

/// How long a change made message by message (flags, expunge, move) takes
/// for each message: the window a crash can cut it in (the POP3 update's
/// step, [`maildrop::UPDATE_STEP`]).
pub const MAILBOX_STEP: std::time::Duration = std::time::Duration::from_millis(20);

/// A directory and the messages committed so far. Clones share state.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    directory: Arc<Directory>,
    shared: Arc<Mutex<Shared>>,
    bug: Option<PlantedBug>,
    /// One step of a change made message by message ([`MAILBOX_STEP`]).
    mailbox_step: std::time::Duration,
    /// Which messages are `\Recent` to which IMAP session.
    recent: Arc<postern::imap::RecentClaims>,
    /// The newsgroups NNTP sessions read, in a backend a running server
    /// hands its sessions ([`news::SimNews::boot`]).
    news: news::NewsSlot,
    /// How long committing a message the server writes itself takes
    /// ([`MemoryStore::with_inject_step`]).
    inject_step: std::time::Duration,
    /// The zone the checks of mail from outside ask, when the world has
    /// one ([`MemoryStore::with_zone`]); without, nothing is checked.
    zone: Option<Arc<crate::outbound::Zone>>,
    /// The queue's leases when nodes share the store
    /// ([`MemoryStore::with_shared_queue`]).
    queue_share: Option<Arc<shared_queue::SharedQueue>>,
    /// The node this view of the store is ([`MemoryStore::node_view`]).
    node: Option<postern_core::queue::lease::NodeId>,
}

impl MemoryStore {
    pub fn new(directory: Directory) -> Self {
        MemoryStore {
            directory: Arc::new(directory),
            shared: Arc::default(),
            bug: None,
            mailbox_step: MAILBOX_STEP,
            recent: Arc::default(),
            news: news::NewsSlot::default(),
            inject_step: std::time::Duration::ZERO,
            zone: None,
            queue_share: None,
            node: None,
        }
    }

    /// The same store with each message the server writes itself (a
    /// bounce, a list's copy) taking `step` to commit, as a spool file's
    /// write and sync do: a crash can then cut a list's expansion part
    /// way. The message is stored as the step begins, so that a list's
    /// first copy is committed in the same instant its state was read
    /// (the invariants order members' changes and copies by that). Zero (the default) keeps the runs of scenarios without lists
    /// as they were.
    pub fn with_inject_step(self, step: std::time::Duration) -> Self {
        MemoryStore {
            inject_step: step,
            ..self
        }
    }

    /// The same store checking mail from outside (SPF, DKIM, DMARC)
    /// against `zone`, as the runtime does against its resolver.
    pub fn with_zone(self, zone: Arc<crate::outbound::Zone>) -> Self {
        MemoryStore {
            zone: Some(zone),
            ..self
        }
    }

    /// The same store with changes made message by message taking `step`
    /// a message (zero: at once).
    pub fn with_mailbox_step(self, step: std::time::Duration) -> Self {
        MemoryStore {
            mailbox_step: step,
            ..self
        }
    }

    /// The same store with `bug` planted in it.
    pub fn with_planted_bug(self, bug: PlantedBug) -> Self {
        MemoryStore {
            bug: Some(bug),
            ..self
        }
    }

    /// Adds an account that may log in with `password`, with the name
    /// and plan finger shows.
    pub fn add_account(
        &self,
        login: &str,
        password: &str,
        real_name: Option<String>,
        plan: Option<String>,
    ) {
        let account = SimAccount {
            password: password.to_owned(),
            real_name,
            plan,
        };
        self.lock().accounts.insert(login.to_lowercase(), account);
    }

    /// Every message committed so far, in commit order.
    pub fn committed(&self) -> Vec<Committed> {
        self.lock().committed.clone()
    }

    /// Messages still waiting for delivery.
    pub fn queued(&self) -> Vec<QueueId> {
        self.lock().queue.keys().copied().collect()
    }

    /// Every copy ever put in each local mailbox, by address, whether a
    /// reader has deleted it since or not.
    pub fn mailboxes(&self) -> BTreeMap<String, Vec<Vec<u8>>> {
        let mut copies: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for delivered in self.delivered() {
            copies
                .entry(delivered.mailbox)
                .or_default()
                .push(delivered.data);
        }
        copies
    }

    /// The mailbox `login` reads over POP3, `user@domain`, if it has one.
    pub fn mailbox_of(&self, login: &str) -> Option<String> {
        self.local_mailbox_of(login)
            .map(|mailbox| mailbox.to_string())
    }

    /// The mailbox `login`'s address resolves to, if it is local.
    pub fn local_mailbox_of(&self, login: &str) -> Option<LocalMailbox> {
        let forward_path = postern_core::address::parse_mailbox(login)
            .map(ForwardPath::Mailbox)
            .ok()?;
        match self.directory.resolve(&forward_path) {
            RecipientVerdict::Local(mailbox) => Some(mailbox),
            _ => None,
        }
    }

    /// Announces commits on `arrivals` from now on (a delivery runner has
    /// started); answers the messages already waiting.
    pub fn attach(&self, arrivals: mpsc::UnboundedSender<QueueId>) -> Vec<QueueId> {
        let mut shared = self.lock();
        shared.arrivals = Some(arrivals);
        shared.queue.keys().copied().collect()
    }

    fn next_id(&self) -> QueueId {
        let mut shared = self.lock();
        shared.last_id += 1;
        QueueId(shared.last_id)
    }

    /// Makes a message durable and announces it.
    fn store(&self, committed: Committed, received_at: UnixTime) {
        let mut shared = self.lock();
        let record = SpoolRecord {
            queue_id: committed.queue_id,
            received_at: received_at.0,
            envelope: committed.envelope.clone(),
            // The trace is in the data already (see MemoryMessage).
            trace: Vec::new(),
            junk: committed.junk,
        };
        shared
            .queue
            .insert(committed.queue_id, (Arc::new(record), None));
        if let Some(queue) = &self.queue_share {
            // Nodes share the queue: whichever claims it delivers, and
            // no try is a first one (another node may have made a copy).
            queue.committed(committed.queue_id, self.node);
        } else {
            shared.first_tries.committed(committed.queue_id);
        }
        if let Some(arrivals) = &shared.arrivals {
            let _ = arrivals.send(committed.queue_id);
        }
        shared.committed.push(committed);
    }

    /// Sets (or with the default, clears) a mailbox's forwarding,
    /// vacation and sender lists, as `postern user
    /// forward|vacation|senders` would.
    pub fn set_rules(&self, mailbox: LocalMailbox, rules: MailboxRules) {
        let mut shared = self.lock();
        if rules == MailboxRules::default() {
            shared.rules.remove(&mailbox);
        } else {
            shared.rules.insert(mailbox, rules);
        }
    }

    /// A mailbox's forwarding and vacation settings, if it has any.
    pub fn rules(&self, mailbox: &LocalMailbox) -> Option<MailboxRules> {
        self.lock().rules.get(mailbox).cloned()
    }

    fn queued_data(&self, id: QueueId) -> io::Result<(Arc<SpoolRecord>, Vec<u8>)> {
        let shared = self.lock();
        let record = shared
            .queue
            .get(&id)
            .map(|(record, _)| Arc::clone(record))
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{id}: not queued")))?;
        let data = shared
            .committed
            .iter()
            .rev()
            .find(|c| c.queue_id == id)
            .map(|c| c.data.clone())
            .unwrap_or_default();
        Ok((record, data))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // The simulation is single-threaded; a poisoned lock means a
        // panic that the simulation reports anyway.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Backend for MemoryStore {
    /// The scenario's settings of a mailbox: the session machine asks for
    /// its sender lists at RCPT, as the runtime reads them from the file.
    async fn mailbox_rules(
        &self,
        mailbox: &LocalMailbox,
    ) -> Result<postern_core::autoreply::MailboxRules, String> {
        Ok(self.lock().rules.get(mailbox).cloned().unwrap_or_default())
    }

    async fn check_sender(
        &self,
        request: postern_core::smtp::server::CheckRequest,
        client: std::net::IpAddr,
    ) -> Option<postern_core::mail_auth::spf::SpfVerdict> {
        let zone = self.zone.as_ref()?;
        Some(
            postern::mail_auth::verify::check_sender(&**zone, &request, client, wall_clock()).await,
        )
    }

    async fn check_message(
        &self,
        request: postern_core::smtp::server::CheckRequest,
        client: std::net::IpAddr,
        message: &mut MemoryMessage,
    ) -> postern_core::mail_auth::results::Findings {
        let Some(zone) = &self.zone else {
            return Default::default();
        };
        let data = message.data.clone();
        postern::mail_auth::verify::check_message(&**zone, &request, client, &data, wall_clock())
            .await
    }

    type Message = MemoryMessage;
    type Maildrops = MemoryStore;
    type Tunnel = turmoil::net::TcpStream;

    /// Connects over the simulated network: a name is a simulated host's.
    async fn connect_tunnel(
        &self,
        target: &postern_core::tunnel::Target,
        timeout: std::time::Duration,
    ) -> Result<(turmoil::net::TcpStream, std::net::SocketAddr), String> {
        use postern_core::tunnel::TargetHost;
        let host = match &target.host {
            TargetHost::Address(address) => address.to_string(),
            TargetHost::Name(name) => name.clone(),
        };
        let connect = async {
            let stream = turmoil::net::TcpStream::connect((host.as_str(), target.port))
                .await
                .map_err(|e| format!("{target}: {e}"))?;
            let address = stream.peer_addr().map_err(|e| e.to_string())?;
            Ok((stream, address))
        };
        tokio::time::timeout(timeout, connect)
            .await
            .unwrap_or_else(|_| Err(format!("no connection to {target} within {timeout:?}")))
    }

    fn maildrops(&self) -> &MemoryStore {
        self
    }

    type Mailboxes = MemoryStore;

    fn mailboxes(&self) -> &MemoryStore {
        self
    }

    fn recent_claims(&self) -> &postern::imap::RecentClaims {
        &self.recent
    }

    type NewsMailboxes = MemoryStore;

    fn news(&self) -> Option<&postern::news::NewsStore<MemoryStore>> {
        self.news.0.as_ref()
    }

    /// The simulated calendar.
    fn wall_now(&self) -> UnixTime {
        wall_clock()
    }

    /// The accounts the request names, as the runtime's finger answers:
    /// the INBOX is the mailbox the account's address resolves to.
    async fn finger(&self, request: &finger::Request) -> Vec<finger::UserInfo> {
        let shared = self.lock();
        shared
            .accounts
            .iter()
            .filter(|(login, _)| match request {
                finger::Request::List => true,
                finger::Request::Lookup { user } => login
                    .rsplit_once('@')
                    .is_some_and(|(local, _)| local.eq_ignore_ascii_case(user)),
            })
            .map(|(login, account)| finger::UserInfo {
                address: login.clone(),
                real_name: account.real_name.clone(),
                mail: self.local_mailbox_of(login).map(|mailbox| match self.bug {
                    Some(PlantedBug::FingerCountsEveryMailbox) => {
                        maildrop::status_of_all(&shared.mailboxes)
                    }
                    _ => maildrop::status(&shared.mailboxes, &mailbox),
                }),
                plan: account.plan.clone(),
            })
            .collect()
    }

    /// FTP homes in the store: the core's `MemoryHome`, one per login.
    type FtpFiles = MemoryStore;

    fn ftp_files(&self) -> &MemoryStore {
        self
    }

    /// FTP data connections over the simulated network.
    type FtpNetwork = ftp::SimNetwork;

    fn ftp_network(&self) -> &ftp::SimNetwork {
        &ftp::SimNetwork
    }

    fn resolve(&self, forward_path: &ForwardPath) -> RecipientVerdict {
        self.directory.resolve(forward_path)
    }

    async fn authenticate(&self, attempt: LoginAttempt, _client: IpAddr) -> AuthVerdict {
        let login = attempt.login.to_lowercase();
        match self.lock().accounts.get(&login) {
            Some(account) if account.password == attempt.password.expose() => {
                AuthVerdict::Accepted(Identity {
                    send_as: SendAs::Addresses(self.directory.owned_addresses(&login)),
                    login,
                })
            }
            _ => AuthVerdict::Rejected,
        }
    }

    async fn open(&self, envelope: Envelope) -> io::Result<(OpenedMessage, MemoryMessage)> {
        if self.bug != Some(PlantedBug::AckWhileCutOff) {
            self.reach().await?;
        }
        let queue_id = self.next_id();
        let opened = OpenedMessage {
            queue_id,
            received_at: wall_clock(),
        };
        Ok((
            opened,
            MemoryMessage {
                store: self.clone(),
                queue_id,
                envelope,
                data: Vec::new(),
                trace: Vec::new(),
                junk: false,
            },
        ))
    }
}

/// A message being received: lost unless committed.
#[derive(Debug)]
pub struct MemoryMessage {
    store: MemoryStore,
    queue_id: QueueId,
    envelope: Envelope,
    data: Vec<u8>,
    /// Fields put on top at commit.
    trace: Vec<u8>,
    /// Quarantined: delivered to the Junk folders.
    junk: bool,
}

impl StoredMessage for MemoryMessage {
    async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(data);
        Ok(())
    }

    fn set_trace(&mut self, fields: Vec<u8>) {
        self.trace = fields;
    }

    fn set_junk(&mut self) {
        self.junk = true;
    }

    async fn contents(&mut self) -> io::Result<Vec<u8>> {
        Ok(self.data.clone())
    }

    async fn commit(self) -> io::Result<()> {
        // On a node, the commit is the shared store's: it fails, and the
        // client hears 451, when the node cannot reach it.
        match self.store.reach().await {
            // The bug: the failure is not passed on, so the client hears
            // 250 for a message stored nowhere.
            Err(_) if self.store.bug == Some(PlantedBug::AckWhileCutOff) => return Ok(()),
            reached => reached?,
        }
        let committed = Committed {
            queue_id: self.queue_id,
            envelope: self.envelope,
            data: [self.trace, self.data].concat(),
            bounce: false,
            forwarded: false,
            junk: self.junk,
        };
        match self.store.bug {
            Some(PlantedBug::AckBeforeSync) => {
                // The bug: the sync happens later, on a task that a crash
                // of the host kills.
                let store = self.store.clone();
                tokio::task::spawn_local(async move {
                    tokio::time::sleep(PLANTED_SYNC_DELAY).await;
                    store.store(committed, wall_clock());
                });
            }
            _ => self.store.store(committed, wall_clock()),
        }
        Ok(())
    }

    async fn abort(self) {}
}

impl QueueStore for MemoryStore {
    /// On a node, the data comes to its end only while the node's lease
    /// surely holds, as on PostgreSQL.
    type Data = LeasedData<io::Cursor<Vec<u8>>>;

    async fn load(&self, id: QueueId) -> io::Result<(SpoolRecord, Option<DeliveryState>)> {
        self.reach().await?;
        let shared = self.lock();
        match shared.queue.get(&id) {
            Some((record, state)) => Ok((SpoolRecord::clone(record), state.clone())),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{id}: not queued"),
            )),
        }
    }

    async fn data(&self, id: QueueId) -> io::Result<(u64, Self::Data)> {
        self.reach().await?;
        let (_, data) = self.queued_data(id)?;
        let size = data.len() as u64;
        let data = io::Cursor::new(data);
        let data = if self.node.is_some() {
            let store = self.clone();
            LeasedData::new(data, move || store.surely_held(id))
        } else {
            LeasedData::new(data, || true)
        };
        Ok((size, data))
    }

    async fn header_section(&self, id: QueueId) -> io::Result<Vec<u8>> {
        self.reach().await?;
        let (_, data) = self.queued_data(id)?;
        let end = data
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(data.len(), |at| at + 2);
        Ok(data[..end.min(HEADER_SECTION_MAX)].to_vec())
    }

    async fn deliver(&self, record: Arc<SpoolRecord>, mailbox: LocalMailbox) -> io::Result<String> {
        self.reach().await?;
        if self.node.is_some() {
            // A node whose lease is gone makes no copy.
            self.still_held(record.queue_id)?;
        }
        let (_, data) = self.queued_data(record.queue_id)?;
        let mut copy = record
            .envelope
            .delivery_headers(&mailbox, "\r\n")
            .into_bytes();
        copy.extend_from_slice(&data);
        maildrop::deliver(self, &mailbox, record.junk, copy, record.queue_id)
    }

    async fn save_state(&self, id: QueueId, state: DeliveryState) -> io::Result<()> {
        self.reach().await?;
        self.fence_state(id)?;
        let mut shared = self.lock();
        if self.bug == Some(PlantedBug::DropAfterPartialDelivery)
            && state
                .recipients
                .iter()
                .any(|r| r.status == Status::Delivered)
        {
            shared.queue.remove(&id);
        } else if let Some((_, saved)) = shared.queue.get_mut(&id) {
            *saved = Some(state);
        }
        Ok(())
    }

    async fn remove(&self, id: QueueId) -> io::Result<()> {
        self.reach().await?;
        self.fence_finish(id)?;
        let mut shared = self.lock();
        shared.queue.remove(&id);
        shared.first_tries.forget(id);
        Ok(())
    }

    fn shared(&self) -> bool {
        self.node.is_some()
    }

    async fn release(&self, id: QueueId, next_attempt: UnixTime) -> io::Result<()> {
        self.reach().await?;
        self.fence_release(id, next_attempt)
    }

    fn holds(&self, id: QueueId) -> bool {
        self.holds_lease(id)
    }

    async fn set_aside(&self, id: QueueId, reason: String) -> io::Result<String> {
        if self.node.is_some() {
            // As on PostgreSQL: it stays for an operator, leased as any.
            return Err(io::Error::other(format!(
                "a damaged message stays in the shared queue for an operator to look at ({reason})"
            )));
        }
        let mut shared = self.lock();
        shared.queue.remove(&id);
        shared.first_tries.forget(id);
        shared.damaged.insert(id, reason);
        Ok(format!("damaged/{id}"))
    }

    async fn inject(&self, envelope: Envelope, data: Vec<u8>) -> io::Result<QueueId> {
        self.reach().await?;
        let queue_id = self.next_id();
        let committed = Committed {
            queue_id,
            envelope,
            data,
            bounce: true,
            forwarded: false,
            junk: false,
        };
        if self.bug == Some(PlantedBug::InjectBeforeSync) {
            // The bug: the sync happens later, on a task that a crash of
            // the host kills.
            let store = self.clone();
            tokio::task::spawn_local(async move {
                tokio::time::sleep(PLANTED_SYNC_DELAY).await;
                store.store(committed, wall_clock());
            });
            return Ok(queue_id);
        }
        self.store(committed, wall_clock());
        // The write is durable at once; the caller hears of it a step
        // later (the sync), in which a crash can come.
        if !self.inject_step.is_zero() {
            tokio::time::sleep(self.inject_step).await;
        }
        Ok(queue_id)
    }

    async fn forward(
        &self,
        envelope: Envelope,
        trace: Vec<u8>,
        source: QueueId,
    ) -> io::Result<QueueId> {
        self.reach().await?;
        let (_, data) = self.queued_data(source)?;
        // Writing the copy takes a step, as on a disk: a crash may come
        // between the mailbox's copy and the forwarded one.
        if !self.mailbox_step.is_zero() {
            tokio::time::sleep(self.mailbox_step).await;
        }
        let mut copy = trace;
        copy.extend_from_slice(&data);
        let queue_id = self.next_id();
        let committed = Committed {
            queue_id,
            envelope,
            data: copy,
            bounce: true,
            forwarded: true,
            junk: false,
        };
        self.store(committed, wall_clock());
        Ok(queue_id)
    }

    async fn mailbox_rules(&self, mailbox: LocalMailbox) -> io::Result<Option<MailboxRules>> {
        Ok(self.lock().rules.get(&mailbox).cloned())
    }

    async fn reply_memory(&self, mailbox: LocalMailbox) -> io::Result<ReplyMemory> {
        Ok(self
            .lock()
            .replied
            .get(&mailbox)
            .cloned()
            .unwrap_or_default())
    }

    async fn remember_reply(
        &self,
        mailbox: LocalMailbox,
        sender: String,
        now: UnixTime,
        days: u32,
    ) -> io::Result<()> {
        self.lock()
            .replied
            .entry(mailbox)
            .or_default()
            .remember(&sender, now, days);
        Ok(())
    }
}
