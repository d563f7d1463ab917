//! One run of a scenario: builds the world on turmoil, runs it on virtual
//! time with its faults, and checks the invariants.
//!
//! Our server is a group of simulated hosts, one for each address its
//! instances listen on (turmoil gives a host one address), sharing one
//! store and one set of instances: crashed and restarted together, like
//! one machine. Each connection is admitted and served by
//! `postern::server::Instance`, the production code, over turmoil's TCP;
//! clients send with the core's SMTP client machine and the production
//! client driver.
//!
//! The production delivery runner runs on the server's first host, with a
//! [`SimEnvironment`]: it delivers to local mailboxes in the store and to
//! scripted remote servers ([`crate::remote`]) found through a simulated
//! DNS zone, retrying on virtual time.

use crate::outbound::{OutboundLog, SimEnvironment, Zone};
use crate::remote::{self, Ledger};
use crate::scenario::Scenario;
use crate::store::news::SimNews;
use crate::store::{MemoryStore, PlantedBug};
use crate::trace::Trace;
use postern::delivery;
use postern::server::{Instance, PermitGuard};
use postern_core::accounts::normalize_login;
use postern_core::bind::{self, BindPlan, HostAddresses};
use postern_core::config::{self, Config, ServiceKind};
use postern_core::policy::Network;
use postern_core::rng::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;
use watcher::{WATCHER, settle_steps, watch_until_settled};

mod checks;
mod faults;
mod finger_clients;
mod ftp_clients;
mod imap_checks;
pub mod imap_client;
mod list_checks;
mod list_clients;
mod nntp_checks;
pub mod nntp_client;
mod nodes;
mod pop3_checks;
mod quota;
pub mod reader;
mod rules;
mod runner_setup;
mod senders;
mod tunnel_clients;
mod watcher;

use checks::{check_deliveries, check_expectations, check_outcome};
use faults::apply_fault;
use quota::{LiveSession, check_quota};
use reader::ReadSession;
use rules::mailbox_rules;
use runner_setup::{delivery_context, outbound_limits, smarthost_addresses};
use senders::{open_connections, send_messages};

/// How to run a scenario.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub seed: u64,
    /// Move faults within their jitter, as a swarm does.
    pub randomize: bool,
    /// A known bug to plant, to show that the invariants catch it.
    pub bug: Option<PlantedBug>,
}

/// What came of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Virtual time, host and event, one line each.
    pub trace: String,
    /// Broken invariants and unmet expectations; empty when the run passed.
    pub violations: Vec<String>,
    pub stats: Stats,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// SMTP sessions that reached our server.
    pub sessions: u32,
    /// Messages answered 250 after their data.
    pub accepted: u32,
    /// Messages received over SMTP and committed to the store.
    pub stored: u32,
    pub refused_connections: u32,
    pub refused_recipients: u32,
    /// Messages remote servers took from ours.
    pub delivered: u32,
    /// Bounces our server queued.
    pub bounces: u32,
    /// Copies in local mailboxes.
    pub local: u32,
    /// Of those, copies quarantined to a Junk folder.
    pub junk: u32,
    /// Messages still queued at the end.
    pub queued: u32,
    /// The most outbound connections open at once.
    pub outbound_peak: u32,
    /// POP3 reader sessions that listed a maildrop.
    pub read_sessions: u32,
    /// POP3 reader sessions turned away with `[IN-USE]`.
    pub in_use: u32,
    /// Messages POP3 readers deleted, their QUIT answered `+OK`.
    pub expunged: u32,
    /// POP3 updates a crash cut part way: the next session listed some,
    /// not all, of the messages deleted before the QUIT.
    pub partial_updates: u32,
    /// Tunnel client sessions that got back every byte they sent.
    pub tunnel_complete: u32,
    /// Tunnel client sessions closed cleanly after a prefix.
    pub tunnel_cut: u32,
    /// Finger queries answered with a user or a list.
    pub finger_answered: u32,
    /// Finger queries the instance declined (forwarding, listing off, no
    /// such user).
    pub finger_declined: u32,
    /// Finger connections turned away before the query was read.
    pub finger_refused: u32,
    /// FTP sessions that logged in and ran their whole script.
    pub ftp_sessions: u32,
    /// FTP connections turned away (421) before the login.
    pub ftp_refused: u32,
    /// Files FTP clients uploaded and downloaded back unchanged.
    pub ftp_transfers: u32,
    /// IMAP sessions that logged in and selected their folder.
    pub imap_sessions: u32,
    /// IMAP APPENDs answered `OK`.
    pub imap_appended: u32,
    /// Messages IMAP sessions' EXPUNGEs removed, answered `OK`.
    pub imap_expunged: u32,
    /// Deliveries a session in IDLE heard of within a second.
    pub imap_idle_notices: u32,
    /// IMAP sessions whose view equalled the store's after the last NOOP.
    pub imap_converged: u32,
    /// IMAP EXPUNGEs a crash cut part way: some, not all, of the messages
    /// marked were removed.
    pub imap_partial_expunges: u32,
    pub news: nntp_client::NewsStats,
    /// Posts the mailing lists distributed (each counted once).
    pub list_posts: u32,
    /// Copies of posts the lists committed for their members.
    pub list_copies: u32,
    /// Copies a member got twice, in the crash window.
    pub list_duplicates: u32,
    /// Expansions of a post a crash cut, done again after the restart.
    pub list_cut_expansions: u32,
    /// Members the lists suspended for bouncing.
    pub list_suspended: u32,
    /// Subscriptions list clients confirmed by mail.
    pub list_confirmed: u32,
    /// Leases nodes took on messages of the shared queue.
    pub lease_claims: u32,
    /// Of those, claims of a message whose lease ran out on another node.
    pub lease_takeovers: u32,
    /// Writes the shared queue refused: the writer's lease was gone.
    pub fenced_writes: u32,
    /// Calls a node made to the shared store while cut off from it.
    pub store_unreachable: u32,
    /// Virtual time the run took, in milliseconds.
    pub virtual_millis: u64,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// What every part of the world writes to, shared.
#[derive(Default)]
struct Shared {
    /// Queue IDs the clients were told were queued (the 250 after data).
    acknowledged: Vec<String>,
    /// Senders that have sent all they had to.
    senders_done: usize,
    /// What POP3 readers saw, one record per session.
    read_sessions: Vec<ReadSession>,
    /// Readers that have run all their sessions.
    readers_done: usize,
    /// Tunnel clients that have run all their sessions.
    tunnel_clients_done: usize,
    /// Finger clients that have run all their sessions.
    finger_clients_done: usize,
    /// FTP clients that have run all their sessions.
    ftp_clients_done: usize,
    /// What each FTP login uploaded.
    ftp_uploads: ftp_clients::Uploads,
    /// What IMAP clients saw, one record per session.
    imap_sessions: Vec<imap_client::ImapSession>,
    /// IMAP clients that have run all their sessions.
    imap_clients_done: usize,
    /// What NNTP clients posted and saw.
    news: nntp_client::NewsRecord,
    /// List subscribers that have subscribed all their addresses.
    list_clients_done: usize,
    stats: Stats,
    violations: Vec<String>,
}

type SharedState = Arc<Mutex<Shared>>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Our server as it is while it runs: rebuilt at each restart, as a new
/// process would be, while the store lives on.
struct Boot {
    instances: Vec<Arc<Instance>>,
    /// The store as this life's sessions see it: with its own news store.
    store: MemoryStore,
    /// Sessions being served per instance and remote address, counted here
    /// apart from the instance's own quota, to check it.
    live: Mutex<BTreeMap<(String, IpAddr), u32>>,
    sessions: Mutex<u64>,
}

/// Our server's configuration and the group of hosts it runs on.
struct ServerGroup {
    config: Config,
    plan: BindPlan,
    addresses: Vec<IpAddr>,
    store: MemoryStore,
    /// The newsgroups, kept through crashes like `store`.
    news: SimNews,
    /// The delivery runner's world; its store is `store`.
    outbound: SimEnvironment,
    /// The running server: one for the group, or one per node when nodes
    /// share the store (`[server] nodes`), each rebuilt at its restart.
    boots: Vec<Mutex<Option<Arc<Boot>>>>,
    /// The nodes' addresses, node 1 first; empty for one server.
    nodes: Vec<IpAddr>,
    /// What each node's runner did on the network: the outbound quotas
    /// are per node, as in production.
    node_logs: Vec<Arc<Mutex<OutboundLog>>>,
}

impl ServerGroup {
    /// Which running server `address` is part of: its node's, or the
    /// group's one.
    fn slot(&self, address: IpAddr) -> usize {
        self.nodes.iter().position(|&a| a == address).unwrap_or(0)
    }

    /// The store as the server at `slot` reaches it: the node's view when
    /// nodes share it.
    fn store_of(&self, slot: usize) -> MemoryStore {
        match self.nodes.is_empty() {
            true => self.store.clone(),
            false => self.store.node_view(nodes::node_id(slot)),
        }
    }

    /// The running server at `slot`, started if it is not.
    fn boot(&self, slot: usize) -> Result<Arc<Boot>, String> {
        let mut boot = lock(&self.boots[slot]);
        if let Some(running) = boot.as_ref() {
            return Ok(Arc::clone(running));
        }
        let instances = self
            .config
            .services
            .iter()
            .map(|service| Instance::new(service, &self.config.server.hostname).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let running = Arc::new(Boot {
            instances,
            store: self.news.boot(&self.store_of(slot)),
            live: Mutex::new(BTreeMap::new()),
            sessions: Mutex::new(0),
        });
        *boot = Some(Arc::clone(&running));
        Ok(running)
    }

    fn crashed(&self) {
        *lock(&self.boots[0]) = None;
        self.store.crashed();
        self.news.crashed();
        self.store.mark_crash();
    }
}

/// Runs `scenario` once.
pub fn run(scenario: &Scenario, options: &Options) -> Report {
    let trace = Trace::default();
    let shared: SharedState = Arc::default();
    let ledger = Ledger::default();
    // Every task of a host on its LocalSet, so that a crash drops them in
    // the order they were spawned (see `postern::task`).
    let _local = postern::task::LocalTasks::enter();
    let outcome = tracing::subscriber::with_default(trace.subscriber(), || {
        run_world(scenario, options, &shared, &ledger)
    });
    let mut shared = lock(&shared);
    let mut report = Report {
        trace: trace.text(),
        violations: std::mem::take(&mut shared.violations),
        stats: shared.stats,
    };
    match outcome {
        Ok(group) => {
            let taken = lock(&ledger).clone();
            check_outcome(&group, &shared, &mut report);
            check_deliveries(scenario, &group, &shared, &taken, &mut report);
            pop3_checks::check_maildrops(&group, &shared, &mut report);
            ftp_clients::check_homes(&group.store, &shared, &mut report);
            imap_checks::check_imap(&group, &shared, &mut report);
            nntp_checks::check_news(&group, &shared, &mut report);
            list_checks::check_lists(&group, &taken, &mut report);
            nodes::check_leases(&group, &taken, &mut report);
            check_expectations(scenario, &mut report);
        }
        Err(error) => report.violations.push(error),
    }
    report
}

fn run_world(
    scenario: &Scenario,
    options: &Options,
    shared: &SharedState,
    ledger: &Ledger,
) -> Result<Arc<ServerGroup>, String> {
    let group = Arc::new(server_group(scenario, options)?);
    let mut rng = Rng::new(options.seed);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(scenario.duration)
        .tick_duration(scenario.tick)
        .rng_seed(options.seed)
        .build();
    for remote in &scenario.remotes {
        let (remote, ledger) = (Arc::new(remote.clone()), Arc::clone(ledger));
        let address = remote.address;
        sim.host(address, move || {
            remote::serve(Arc::clone(&remote), Arc::clone(&ledger))
                .instrument(tracing::info_span!(parent: None, "host", ip = %address))
        });
    }
    for &address in &group.addresses {
        let group = Arc::clone(&group);
        let shared = Arc::clone(shared);
        sim.host(address, move || {
            let group = Arc::clone(&group);
            let shared = Arc::clone(&shared);
            async move {
                serve_host(group, address, shared).await;
                Ok(())
            }
            .instrument(tracing::info_span!(parent: None, "host", ip = %address))
        });
    }
    for sender in &scenario.senders {
        let (sender, shared) = (sender.clone(), Arc::clone(shared));
        let span = tracing::info_span!(parent: None, "host", ip = %sender.from);
        sim.client(
            sender.from,
            async move {
                send_messages(&sender, &shared).await;
                lock(&shared).senders_done += 1;
                Ok(())
            }
            .instrument(span),
        );
    }
    for reader in &scenario.readers {
        let (reader, shared, seed) = (reader.clone(), Arc::clone(shared), options.seed);
        let span = tracing::info_span!(parent: None, "host", ip = %reader.from);
        sim.client(
            reader.from,
            async move {
                reader::read_mail(&reader, seed, &shared).await;
                lock(&shared).readers_done += 1;
                Ok(())
            }
            .instrument(span),
        );
    }
    for client in &scenario.tunnel_clients {
        let (client, shared) = (client.clone(), Arc::clone(shared));
        let span = tracing::info_span!(parent: None, "host", ip = %client.from);
        sim.client(
            client.from,
            async move {
                tunnel_clients::run(&client, &shared).await;
                Ok(())
            }
            .instrument(span),
        );
    }
    for client in &scenario.finger_clients {
        let (client, shared) = (client.clone(), Arc::clone(shared));
        let hidden = hidden_by(&group.config, client.to);
        let store = group.store.clone();
        let span = tracing::info_span!(parent: None, "host", ip = %client.from);
        sim.client(
            client.from,
            async move {
                finger_clients::run(&client, &hidden, &store, &shared).await;
                Ok(())
            }
            .instrument(span),
        );
    }
    for client in &scenario.ftp_clients {
        let (client, shared, seed) = (client.clone(), Arc::clone(shared), options.seed);
        let span = tracing::info_span!(parent: None, "host", ip = %client.from);
        sim.client(
            client.from,
            async move {
                ftp_clients::run(&client, seed, &shared).await;
                Ok(())
            }
            .instrument(span),
        );
    }
    for client in &scenario.imap_clients {
        let (client, shared, seed) = (client.clone(), Arc::clone(shared), options.seed);
        let store = group.store.clone();
        let span = tracing::info_span!(parent: None, "host", ip = %client.from);
        sim.client(
            client.from,
            async move {
                imap_client::run(&client, seed, &store, &shared).await;
                Ok(())
            }
            .instrument(span),
        );
    }
    for client in &scenario.news_clients {
        let (client, shared, from) = (client.clone(), Arc::clone(shared), client.from);
        let span = tracing::info_span!(parent: None, "host", ip = %from);
        let run = async move {
            nntp_client::run(&client, &shared).await;
            Ok(())
        };
        sim.client(from, run.instrument(span));
    }
    list_clients::spawn(&mut sim, scenario, ledger, shared);
    let watcher = watch_until_settled(scenario.clone(), Arc::clone(&group), Arc::clone(shared));
    sim.client(WATCHER, watcher);
    for flood in &scenario.floods {
        let flood = flood.clone();
        let span = tracing::info_span!(parent: None, "host", ip = %flood.from);
        sim.client(
            flood.from,
            async move {
                open_connections(&flood).await;
                Ok(())
            }
            .instrument(span),
        );
    }
    // Faults, in time order, each moved within its jitter when randomized.
    let mut faults: Vec<(Duration, usize)> = scenario
        .faults
        .iter()
        .enumerate()
        .map(|(n, fault)| {
            let jitter = fault.jitter.as_millis() as usize;
            let at = if options.randomize && jitter > 0 {
                let shift = rng.below(2 * jitter + 1);
                (fault.at + Duration::from_millis(shift as u64)).saturating_sub(fault.jitter)
            } else {
                fault.at
            };
            (at, n)
        })
        .collect();
    faults.sort();
    let mut next_fault = 0;
    loop {
        Trace::set_now(sim.elapsed());
        while let Some(&(at, n)) = faults.get(next_fault) {
            if sim.elapsed() < at {
                break;
            }
            apply_fault(&mut sim, &group, scenario, n);
            next_fault += 1;
        }
        match sim.step() {
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => return Err(format!("the simulation failed: {error}")),
        }
    }
    // The clients are done: give the server a moment to see them go.
    for _ in 0..settle_steps(scenario.tick) {
        sim.step()
            .map_err(|error| format!("the simulation failed: {error}"))?;
    }
    lock(shared).stats.virtual_millis = sim.elapsed().as_millis() as u64;
    Ok(group)
}

/// The users the finger instance listening on `to` hides; none when no
/// finger instance listens there.
fn hidden_by(config: &Config, to: SocketAddr) -> Vec<String> {
    config
        .services
        .iter()
        .filter(|service| service.kind == ServiceKind::Finger)
        .find(|service| {
            service.listen.port == to.port()
                && service
                    .listen
                    .address
                    .is_none_or(|address| address == to.ip())
        })
        .map(|service| service.hidden.clone())
        .unwrap_or_default()
}

fn server_group(scenario: &Scenario, options: &Options) -> Result<ServerGroup, String> {
    let config = config::parse(&scenario.server.config).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.render("[server] config", &scenario.server.config))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let mut addresses: BTreeSet<IpAddr> = config
        .services
        .iter()
        .flat_map(|s| [Some(s.listen), s.secondary_listen])
        .flatten()
        .filter_map(|spec| spec.address)
        .collect();
    if !scenario.server.nodes.is_empty() {
        if !addresses.is_empty() {
            return Err("[server] nodes: each node is a host of its own, so the instances listen without an address (`listen = \"smtp\"`)".to_owned());
        }
        addresses.extend(&scenario.server.nodes);
    }
    if addresses.is_empty() {
        addresses.insert(IpAddr::from([10, 0, 0, 1]));
    }
    let addresses: Vec<IpAddr> = addresses.into_iter().collect();
    let host = HostAddresses {
        networks: addresses.iter().map(|&a| Network::host(a)).collect(),
    };
    let plan = bind::plan(bind::listeners(&config.services), &host).map_err(|conflicts| {
        let text: Vec<String> = conflicts.iter().map(ToString::to_string).collect();
        format!("the bind plan is refused: {}", text.join("; "))
    })?;
    let mut store = list_clients::store_with_lists(scenario, &config, options.seed)?;
    for account in &scenario.server.accounts {
        let login =
            normalize_login(&account.login).map_err(|e| format!("[server] accounts: {e}"))?;
        store.add_account(
            &login,
            &account.password,
            account.real_name.clone(),
            account.plan.clone(),
        );
    }
    for spec in &scenario.server.rules {
        let (mailbox, rules) = mailbox_rules(&config, spec)?;
        store.set_rules(mailbox, rules);
    }
    let mut news = SimNews::new(&config.news);
    if let Some(bug) = options.bug {
        store = store.with_planted_bug(bug);
        news = news.with_planted_bug(bug);
    }
    let zone = Arc::new(Zone::of(scenario)?);
    store = store.with_zone(Arc::clone(&zone));
    if !scenario.server.nodes.is_empty() {
        let lease = scenario.server.lease.unwrap_or(nodes::LEASE_DEFAULT);
        store = store.with_shared_queue(crate::store::shared_queue::SharedQueue::new(lease));
    }
    let limits = outbound_limits(scenario, &config, &zone);
    let outbound = SimEnvironment {
        store: store.clone(),
        zone,
        log: Arc::new(Mutex::new(OutboundLog::default())),
        limits: Arc::new(limits),
    };
    Ok(ServerGroup {
        config,
        plan,
        addresses,
        store,
        news,
        outbound,
        boots: (0..scenario.server.nodes.len().max(1))
            .map(|_| Mutex::new(None))
            .collect(),
        nodes: scenario.server.nodes.clone(),
        node_logs: scenario
            .server
            .nodes
            .iter()
            .map(|_| Arc::default())
            .collect(),
    })
}

/// One host of our server: listens on every port the plan gives its
/// address, and serves each connection with the production instance.
async fn serve_host(group: Arc<ServerGroup>, address: IpAddr, shared: SharedState) {
    let slot = group.slot(address);
    let boot = match group.boot(slot) {
        Ok(boot) => boot,
        Err(error) => {
            lock(&shared)
                .violations
                .push(format!("the server cannot start: {error}"));
            return;
        }
    };
    let (_never, ending) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    // The delivery runner runs on the first host; its sender of operator
    // commands lives as long as the host.
    let (commander, commands) = mpsc::unbounded_channel();
    if !group.nodes.is_empty() {
        // Each node runs its own delivery runner on the shared queue.
        if let Err(error) = nodes::start(&group, slot, &boot, commands, commander, &mut tasks) {
            lock(&shared)
                .violations
                .push(format!("delivery cannot start: {error}"));
            return;
        }
    } else if address == group.addresses[0] {
        let context = delivery_context(&group, group.outbound.clone());
        match context {
            Ok(context) => {
                let (arrivals, arrived) = mpsc::unbounded_channel();
                let backlog = group.store.attach(arrivals);
                tasks.spawn_local(
                    delivery::run(context, backlog, arrived, commands).in_current_span(),
                );
                if let Some(news) =
                    postern::driver::Backend::news(&boot.store).filter(|_| group.news.expires())
                {
                    let expiry = crate::store::news::run_expiry(news.clone());
                    tasks.spawn_local(expiry.in_current_span());
                }
            }
            Err(error) => {
                lock(&shared)
                    .violations
                    .push(format!("delivery cannot start: {error}"));
                return;
            }
        }
    }
    for listener in &group.plan.listeners {
        if listener.spec.address.is_some_and(|a| a != address) {
            continue;
        }
        let instance = boot
            .instances
            .iter()
            .find(|i| i.name() == listener.instance)
            .map(Arc::clone)
            .expect("every listener has its instance");
        let port = listener.spec.port;
        let socket = match turmoil::net::TcpListener::bind(("0.0.0.0", port)).await {
            Ok(socket) => socket,
            Err(error) => {
                lock(&shared)
                    .violations
                    .push(format!("cannot listen on {address}:{port}: {error}"));
                return;
            }
        };
        tracing::info!(instance = %listener.instance, "accepting connections on {address}:{port}");
        let (group, boot, shared, ending) = (
            Arc::clone(&group),
            Arc::clone(&boot),
            Arc::clone(&shared),
            ending.clone(),
        );
        tasks.spawn_local(
            async move {
                loop {
                    let Ok((stream, remote)) = socket.accept().await else {
                        return;
                    };
                    let local = SocketAddr::new(address, port);
                    admit_and_serve(
                        &group,
                        &boot,
                        &instance,
                        &shared,
                        stream,
                        local,
                        remote,
                        ending.clone(),
                    );
                }
            }
            .in_current_span(),
        );
    }
    while tasks.join_next().await.is_some() {}
}

/// What production's accept loop does with one connection, with the
/// quota checked from the outside as it goes.
#[allow(clippy::too_many_arguments)]
fn admit_and_serve(
    group: &Arc<ServerGroup>,
    boot: &Arc<Boot>,
    instance: &Arc<Instance>,
    shared: &SharedState,
    stream: turmoil::net::TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
    ending: watch::Receiver<bool>,
) {
    let name = instance.name().to_owned();
    let permit: PermitGuard = match instance.admit(remote.ip()) {
        Ok(permit) => permit,
        Err(refusal) => {
            tracing::info!(instance = %name, "connect from {remote} refused: {refusal}");
            lock(shared).stats.refused_connections += 1;
            let instance = Arc::clone(instance);
            tokio::task::spawn_local(
                async move { instance.refuse(stream, refusal).await }.in_current_span(),
            );
            return;
        }
    };
    let session = {
        let mut sessions = lock(&boot.sessions);
        *sessions += 1;
        *sessions
    };
    lock(shared).stats.sessions += 1;
    let live = LiveSession::start(boot, &name, remote.ip());
    check_quota(group, boot, &name, remote.ip(), shared);
    let (instance, store, boot) = (Arc::clone(instance), boot.store.clone(), Arc::clone(boot));
    tokio::task::spawn_local(
        async move {
            instance
                .serve(stream, local, remote, &store, ending, session)
                .await;
            drop(live);
            drop(permit);
            drop(boot);
        }
        .in_current_span(),
    );
}
