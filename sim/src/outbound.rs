//! The delivery runner's world in a simulation: turmoil's TCP, a DNS zone
//! read from the scenario, the virtual wall clock, and the in-memory
//! store. It writes down what the runner did (lookups, connections) and
//! checks the outbound quota at every connection, apart from the runner's
//! own accounting.

use crate::scenario::{DnsFailure, Scenario};
use crate::store::{MemoryStore, wall_clock};
use postern::environment::{Dns, Network, QueueStore, WallClock};
use postern::mail_auth::spf::SpfLookups;
use postern::spool::SpoolRecord;
use postern_core::autoreply::{MailboxRules, ReplyMemory};
use postern_core::envelope::{Envelope, LocalMailbox, QueueId};
use postern_core::mail_auth::spf::{DnsAnswer, DnsQuery, DnsRecord};
use postern_core::queue::DeliveryState;
use postern_core::route::{HostAnswer, MxAnswer};
use postern_core::time::UnixTime;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long a question to a DNS server that never answers takes to fail.
const DNS_TIMEOUT: Duration = Duration::from_secs(10);

/// The simulated DNS: names, their records, and scripted failures.
#[derive(Debug, Default)]
pub struct Zone {
    names: BTreeMap<String, Name>,
}

#[derive(Debug, Default)]
struct Name {
    mx: Vec<(u16, String)>,
    addresses: Vec<IpAddr>,
    txt: Vec<String>,
    failure: Option<(DnsFailure, Option<Duration>)>,
    /// Only the name of a remote server, not a mail domain.
    server_only: bool,
}

impl Zone {
    /// The scenario's zone, with an address record for each remote server.
    pub fn of(scenario: &Scenario) -> Result<Zone, String> {
        let mut zone = Zone::default();
        for remote in &scenario.remotes {
            let name = zone.entry(&remote.name);
            name.addresses.push(remote.address);
            name.server_only = true;
        }
        for spec in &scenario.zones {
            let mx = spec.mx_records()?;
            let name = zone.entry(&spec.name);
            name.server_only = false;
            name.mx.extend(mx);
            name.addresses.extend(&spec.address);
            name.txt.extend(spec.txt.iter().cloned());
            name.failure = spec.answer.map(|failure| (failure, spec.until));
        }
        Ok(zone)
    }

    fn entry(&mut self, name: &str) -> &mut Name {
        self.names.entry(canonical(name)).or_default()
    }

    /// The addresses `name` resolves to, failures aside.
    pub fn addresses(&self, name: &str) -> Vec<IpAddr> {
        match name.parse::<IpAddr>() {
            Ok(address) => vec![address],
            Err(_) => self
                .names
                .get(&canonical(name))
                .map(|n| n.addresses.clone())
                .unwrap_or_default(),
        }
    }

    /// The destinations (domains) whose mail may go to `address`: through
    /// an MX record, or the domain's own address as the implicit MX.
    pub fn destinations_at(&self, address: IpAddr) -> BTreeSet<String> {
        self.names
            .iter()
            .filter(|(_, name)| {
                (name.addresses.contains(&address) && !name.server_only)
                    || name
                        .mx
                        .iter()
                        .any(|(_, host)| self.addresses(host).contains(&address))
            })
            .map(|(domain, _)| domain.clone())
            .collect()
    }

    /// The failure a question about `name` gets now, if any; a timeout
    /// takes its time first.
    async fn failure(&self, name: &str) -> Option<DnsFailure> {
        let (failure, until) = self.names.get(&canonical(name))?.failure?;
        let now = turmoil::sim_elapsed().unwrap_or_default();
        if until.is_some_and(|until| now >= until) {
            return None;
        }
        if failure == DnsFailure::Timeout {
            tokio::time::sleep(DNS_TIMEOUT).await;
        }
        Some(failure)
    }
}

/// An error as the operating system would word it (turmoil's name only
/// the address).
fn describe(kind: io::ErrorKind) -> String {
    match kind {
        io::ErrorKind::ConnectionRefused => "Connection refused".to_owned(),
        io::ErrorKind::ConnectionReset => "Connection reset by peer".to_owned(),
        other => other.to_string(),
    }
}

fn canonical(name: &str) -> String {
    name.trim_end_matches('.').to_lowercase()
}

/// What the runner did on the network, in order, with virtual times.
#[derive(Debug, Default)]
pub struct OutboundLog {
    /// MX questions, by domain.
    pub mx_lookups: Vec<(Duration, String)>,
    /// Connections opened (or tried), by address.
    pub connects: Vec<(Duration, SocketAddr)>,
    /// Connections open now, by remote address.
    live: BTreeMap<IpAddr, u32>,
    /// The most connections ever open at once.
    pub peak: u32,
    /// Quota breaches seen.
    pub violations: Vec<String>,
}

/// The outbound connection limits, as the world checks them: in total, and
/// per remote address (the per-destination limit times the destinations
/// that address serves, since one server may be the MX of several).
#[derive(Debug, Default)]
pub struct OutboundLimits {
    pub total: u32,
    pub per_address: BTreeMap<IpAddr, u32>,
}

/// The delivery runner's environment in a simulated world.
#[derive(Clone)]
pub struct SimEnvironment {
    pub store: MemoryStore,
    pub zone: Arc<Zone>,
    pub log: Arc<Mutex<OutboundLog>>,
    pub limits: Arc<OutboundLimits>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn elapsed() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

impl Network for SimEnvironment {
    type Stream = Counted;

    async fn connect(&self, address: SocketAddr) -> io::Result<Counted> {
        lock(&self.log).connects.push((elapsed(), address));
        let stream = turmoil::net::TcpStream::connect(address)
            .await
            .map_err(|error| io::Error::new(error.kind(), describe(error.kind())))?;
        let ip = address.ip();
        let mut log = lock(&self.log);
        *log.live.entry(ip).or_default() += 1;
        let total: u32 = log.live.values().sum();
        log.peak = log.peak.max(total);
        let here = log.live[&ip];
        let limit = self
            .limits
            .per_address
            .get(&ip)
            .copied()
            .unwrap_or(u32::MAX);
        if total > self.limits.total || here > limit {
            let breach = format!(
                "outbound quota exceeded: {total} connections open (limit {}), {here} to {ip} (limit {limit})",
                self.limits.total
            );
            log.violations.push(breach);
        }
        Ok(Counted {
            stream,
            ip,
            log: Arc::clone(&self.log),
        })
    }
}

/// An outbound connection, counted while it is open.
pub struct Counted {
    stream: turmoil::net::TcpStream,
    ip: IpAddr,
    log: Arc<Mutex<OutboundLog>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut log = lock(&self.log);
        if let Some(count) = log.live.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                log.live.remove(&self.ip);
            }
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// What a resolver says of a failure that may pass.
fn describe_failure(failure: DnsFailure) -> String {
    match failure {
        DnsFailure::Servfail => "SERVFAIL from the name server".to_owned(),
        DnsFailure::Timeout => "the DNS question timed out".to_owned(),
        DnsFailure::Nxdomain => "no such domain".to_owned(),
    }
}

impl Dns for SimEnvironment {
    async fn mx(&self, domain: &str) -> MxAnswer {
        lock(&self.log)
            .mx_lookups
            .push((elapsed(), canonical(domain)));
        match self.zone.failure(domain).await {
            Some(DnsFailure::Nxdomain) => return MxAnswer::NoSuchDomain,
            Some(temporary) => return MxAnswer::TemporaryFailure(describe_failure(temporary)),
            None => {}
        }
        match self.zone.names.get(&canonical(domain)) {
            None => MxAnswer::NoSuchDomain,
            Some(name) if name.mx.is_empty() => MxAnswer::NoRecords,
            Some(name) => MxAnswer::Records(name.mx.clone()),
        }
    }

    async fn host(&self, host: &str) -> HostAnswer {
        match self.zone.failure(host).await {
            Some(DnsFailure::Nxdomain) => return HostAnswer::NotFound,
            Some(temporary) => return HostAnswer::TemporaryFailure(describe_failure(temporary)),
            None => {}
        }
        match self.zone.addresses(host) {
            addresses if addresses.is_empty() => HostAnswer::NotFound,
            addresses => HostAnswer::Addresses(addresses),
        }
    }
}

/// The checks of mail from outside ask the zone, as the runtime asks its
/// resolver: TXT, A and AAAA, MX names; no PTR records here.
impl SpfLookups for Zone {
    async fn lookup(&self, query: &DnsQuery) -> DnsAnswer {
        let name = match query {
            DnsQuery::Txt(name) | DnsQuery::A(name) | DnsQuery::Aaaa(name) | DnsQuery::Mx(name) => {
                name
            }
            DnsQuery::Ptr(_) => return DnsAnswer::NotFound,
        };
        match self.failure(name).await {
            Some(DnsFailure::Nxdomain) => return DnsAnswer::NotFound,
            Some(temporary) => return DnsAnswer::Failed(describe_failure(temporary)),
            None => {}
        }
        let Some(entry) = self.names.get(&canonical(name)) else {
            return DnsAnswer::NotFound;
        };
        let records: Vec<DnsRecord> = match query {
            DnsQuery::Txt(_) => entry.txt.iter().cloned().map(DnsRecord::Txt).collect(),
            DnsQuery::A(_) => entry
                .addresses
                .iter()
                .filter(|a| a.is_ipv4())
                .map(|a| DnsRecord::Address(*a))
                .collect(),
            DnsQuery::Aaaa(_) => entry
                .addresses
                .iter()
                .filter(|a| a.is_ipv6())
                .map(|a| DnsRecord::Address(*a))
                .collect(),
            DnsQuery::Mx(_) => entry
                .mx
                .iter()
                .map(|(_, host)| DnsRecord::Name(host.clone()))
                .collect(),
            DnsQuery::Ptr(_) => Vec::new(),
        };
        if records.is_empty() {
            DnsAnswer::NotFound
        } else {
            DnsAnswer::Records(records)
        }
    }
}

impl WallClock for SimEnvironment {
    fn now(&self) -> UnixTime {
        wall_clock()
    }
}

impl QueueStore for SimEnvironment {
    type Data = <MemoryStore as QueueStore>::Data;

    async fn load(&self, id: QueueId) -> io::Result<(SpoolRecord, Option<DeliveryState>)> {
        self.store.load(id).await
    }

    async fn data(&self, id: QueueId) -> io::Result<(u64, Self::Data)> {
        self.store.data(id).await
    }

    async fn header_section(&self, id: QueueId) -> io::Result<Vec<u8>> {
        self.store.header_section(id).await
    }

    async fn deliver(&self, record: Arc<SpoolRecord>, mailbox: LocalMailbox) -> io::Result<String> {
        self.store.deliver(record, mailbox).await
    }

    async fn save_state(&self, id: QueueId, state: DeliveryState) -> io::Result<()> {
        self.store.save_state(id, state).await
    }

    async fn remove(&self, id: QueueId) -> io::Result<()> {
        self.store.remove(id).await
    }

    fn shared(&self) -> bool {
        self.store.shared()
    }

    async fn release(&self, id: QueueId, next_attempt: UnixTime) -> io::Result<()> {
        self.store.release(id, next_attempt).await
    }

    fn holds(&self, id: QueueId) -> bool {
        self.store.holds(id)
    }

    async fn set_aside(&self, id: QueueId, reason: String) -> io::Result<String> {
        self.store.set_aside(id, reason).await
    }

    async fn inject(&self, envelope: Envelope, data: Vec<u8>) -> io::Result<QueueId> {
        self.store.inject(envelope, data).await
    }

    async fn forward(
        &self,
        envelope: Envelope,
        trace: Vec<u8>,
        source: QueueId,
    ) -> io::Result<QueueId> {
        self.store.forward(envelope, trace, source).await
    }

    async fn mailbox_rules(&self, mailbox: LocalMailbox) -> io::Result<Option<MailboxRules>> {
        self.store.mailbox_rules(mailbox).await
    }

    async fn reply_memory(&self, mailbox: LocalMailbox) -> io::Result<ReplyMemory> {
        self.store.reply_memory(mailbox).await
    }

    async fn remember_reply(
        &self,
        mailbox: LocalMailbox,
        sender: String,
        now: UnixTime,
        days: u32,
    ) -> io::Result<()> {
        self.store.remember_reply(mailbox, sender, now, days).await
    }
}
