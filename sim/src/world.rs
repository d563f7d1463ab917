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

use crate::scenario::{FaultKind, Flood, Scenario, Sender};
use crate::store::{MemoryStore, PlantedBug};
use crate::trace::Trace;
use postern::driver::{self, Clock};
use postern::server::{Instance, PermitGuard};
use postern_core::address::{parse_forward_path, parse_reverse_path};
use postern_core::admission::Limits;
use postern_core::bind::{self, BindPlan, HostAddresses};
use postern_core::config::{self, Config};
use postern_core::directory::Directory;
use postern_core::policy::Network;
use postern_core::rng::Rng;
use postern_core::smtp::client::{
    Client, ClientConfig, ClientEvent, ClientTimeouts, Delivery, TlsPolicy, Verdict,
};
use postern_core::smtp::server::BodyType;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use tracing::Instrument;

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
    /// Messages in the store at the end.
    pub stored: u32,
    pub refused_connections: u32,
    pub refused_recipients: u32,
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
    boot: Mutex<Option<Arc<Boot>>>,
}

impl ServerGroup {
    /// The running server, started if it is not.
    fn boot(&self) -> Result<Arc<Boot>, String> {
        let mut boot = lock(&self.boot);
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
            live: Mutex::new(BTreeMap::new()),
            sessions: Mutex::new(0),
        });
        *boot = Some(Arc::clone(&running));
        Ok(running)
    }

    fn crashed(&self) {
        *lock(&self.boot) = None;
    }
}

/// Runs `scenario` once.
pub fn run(scenario: &Scenario, options: &Options) -> Report {
    let trace = Trace::default();
    let shared: SharedState = Arc::default();
    let outcome = tracing::subscriber::with_default(trace.subscriber(), || {
        run_world(scenario, options, &shared)
    });
    let mut shared = lock(&shared);
    let mut report = Report {
        trace: trace.text(),
        violations: std::mem::take(&mut shared.violations),
        stats: shared.stats,
    };
    match outcome {
        Ok(group) => check_outcome(scenario, &group, &shared, &mut report),
        Err(error) => report.violations.push(error),
    }
    report
}

fn run_world(
    scenario: &Scenario,
    options: &Options,
    shared: &SharedState,
) -> Result<Arc<ServerGroup>, String> {
    let group = Arc::new(server_group(scenario, options)?);
    let mut rng = Rng::new(options.seed);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(scenario.duration)
        .tick_duration(Duration::from_millis(10))
        .rng_seed(options.seed)
        .build();
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
                Ok(())
            }
            .instrument(span),
        );
    }
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
    for _ in 0..100 {
        sim.step()
            .map_err(|error| format!("the simulation failed: {error}"))?;
    }
    lock(shared).stats.virtual_millis = sim.elapsed().as_millis() as u64;
    Ok(group)
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
    let mut store = MemoryStore::new(Directory::new(&config.domains));
    if let Some(bug) = options.bug {
        store = store.with_planted_bug(bug);
    }
    Ok(ServerGroup {
        config,
        plan,
        addresses,
        store,
        boot: Mutex::new(None),
    })
}

fn apply_fault(sim: &mut turmoil::Sim<'_>, group: &ServerGroup, scenario: &Scenario, n: usize) {
    let fault = &scenario.faults[n];
    let hosts = |names: &[String]| -> Vec<IpAddr> {
        names
            .iter()
            .flat_map(|name| match name.as_str() {
                "server" => group.addresses.clone(),
                other => other.parse().into_iter().collect(),
            })
            .collect()
    };
    let (a, b) = (hosts(&fault.hosts), hosts(&fault.and));
    let _span = tracing::info_span!(parent: None, "host", ip = "sim").entered();
    let kind = format!("{:?}", fault.kind).to_lowercase();
    match b.is_empty() {
        true => tracing::info!("fault: {kind} {}", fault.hosts.join(" ")),
        false => tracing::info!(
            "fault: {kind} {} / {}",
            fault.hosts.join(" "),
            fault.and.join(" ")
        ),
    }
    for &x in &a {
        match fault.kind {
            FaultKind::Crash => sim.crash(x),
            FaultKind::Restart => sim.bounce(x),
            _ => {
                for &y in &b {
                    match fault.kind {
                        FaultKind::Partition => sim.partition(x, y),
                        FaultKind::Repair => sim.repair(x, y),
                        FaultKind::Hold => sim.hold(x, y),
                        FaultKind::Release => sim.release(x, y),
                        FaultKind::Crash | FaultKind::Restart => unreachable!(),
                    }
                }
            }
        }
    }
    if fault.kind == FaultKind::Crash && a.iter().any(|x| group.addresses.contains(x)) {
        group.crashed();
    }
}

/// One host of our server: listens on every port the plan gives its
/// address, and serves each connection with the production instance.
async fn serve_host(group: Arc<ServerGroup>, address: IpAddr, shared: SharedState) {
    let boot = match group.boot() {
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
        tasks.spawn(
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
            tokio::spawn(async move { instance.refuse(stream, refusal).await }.in_current_span());
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
    let (instance, store, boot) = (Arc::clone(instance), group.store.clone(), Arc::clone(boot));
    tokio::spawn(
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

/// The invariant: no instance ever serves more sessions than its limits,
/// in total or from one host.
fn check_quota(group: &ServerGroup, boot: &Boot, name: &str, remote: IpAddr, shared: &SharedState) {
    let Some(service) = group.config.services.iter().find(|s| s.name == name) else {
        return;
    };
    let limits = Limits {
        total: service.max_connections,
        per_key: service.max_connections_per_host,
    };
    let live = lock(&boot.live);
    let total: u32 = live
        .iter()
        .filter(|((n, _), _)| n == name)
        .map(|(_, c)| c)
        .sum();
    let from_host = live.get(&(name.to_owned(), remote)).copied().unwrap_or(0);
    if total > limits.total || from_host > limits.per_key {
        lock(shared).violations.push(format!(
            "quota exceeded on instance {name}: {total} sessions (limit {}), {from_host} from {remote} (limit {})",
            limits.total, limits.per_key
        ));
    }
}

/// A session counted while it lives.
struct LiveSession {
    boot: Arc<Boot>,
    key: (String, IpAddr),
}

impl LiveSession {
    fn start(boot: &Arc<Boot>, instance: &str, remote: IpAddr) -> Self {
        let key = (instance.to_owned(), remote);
        *lock(&boot.live).entry(key.clone()).or_default() += 1;
        LiveSession {
            boot: Arc::clone(boot),
            key,
        }
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        let mut live = lock(&self.boot.live);
        if let Some(count) = live.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                live.remove(&self.key);
            }
        }
    }
}

/// A client host sending its messages, one session each.
async fn send_messages(sender: &Sender, shared: &SharedState) {
    tokio::time::sleep(sender.start).await;
    let reverse_path = parse_reverse_path(&format!("<{}>", sender.sender), false)
        .expect("the scenario's sender is an address");
    let recipients: Vec<_> = sender
        .recipients
        .iter()
        .map(|r| parse_forward_path(&format!("<{r}>"), false).expect("recipient addresses"))
        .collect();
    let config = Arc::new(ClientConfig {
        hostname: "client.test".to_owned(),
        timeouts: ClientTimeouts::default(),
        credentials: None,
        tls: TlsPolicy::Never,
    });
    for n in 0..sender.messages {
        if n > 0 {
            tokio::time::sleep(sender.interval).await;
        }
        let message = message(n, sender.size);
        let delivery = Delivery {
            reverse_path: reverse_path.clone(),
            recipients: recipients.clone(),
            size: message.len() as u64,
            body: BodyType::SevenBit,
            smtputf8: false,
        };
        let stream = match tokio::time::timeout(
            Duration::from_secs(30),
            turmoil::net::TcpStream::connect(sender.to),
        )
        .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::info!("message {n}: cannot connect to {}: {error}", sender.to);
                continue;
            }
            Err(_) => {
                tracing::info!("message {n}: connecting to {} timed out", sender.to);
                continue;
            }
        };
        let clock = Clock::new();
        let machine = Client::new(Arc::clone(&config), delivery, clock.now());
        let mut queued = None;
        let outcome = driver::run_client(
            stream,
            machine,
            None,
            clock,
            &message[..],
            config.timeouts.data_block,
            |event| {
                if let ClientEvent::Reply {
                    command: "end of data",
                    reply,
                } = event
                    && let Some(id) = reply.split("queued as ").nth(1)
                {
                    queued = Some(id.trim().to_owned());
                }
            },
        )
        .await;
        let mut shared = lock(shared);
        shared.stats.refused_recipients += outcome
            .recipients
            .iter()
            .filter(|r| r.verdict == Verdict::Failed)
            .count() as u32;
        match (queued, &outcome.session_failure) {
            (Some(id), _) => {
                tracing::info!("message {n}: queued as {id}");
                shared.stats.accepted += 1;
                shared.acknowledged.push(id);
            }
            (None, Some(failure)) => tracing::info!("message {n}: not sent: {failure}"),
            (None, None) => {
                let details: Vec<&str> = outcome
                    .recipients
                    .iter()
                    .map(|r| r.detail.as_str())
                    .collect();
                tracing::info!("message {n}: not accepted: {}", details.join("; "));
            }
        }
    }
}

/// A message of about `size` octets, CRLF lines.
fn message(n: u32, size: usize) -> Vec<u8> {
    let mut text = format!("Subject: simulated message {n}\r\n\r\n");
    while text.len() < size {
        text.push_str("The quick brown fox jumps over the lazy dog.\r\n");
    }
    text.into_bytes()
}

/// A client host opening idle connections, reading only the first reply;
/// it holds those it got a greeting on for a second, then closes them.
async fn open_connections(flood: &Flood) {
    tokio::time::sleep(flood.start).await;
    let mut open = Vec::new();
    for n in 0..flood.connections {
        let Ok(mut stream) = turmoil::net::TcpStream::connect(flood.to).await else {
            tracing::info!("connection {n}: refused");
            continue;
        };
        let mut first = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut first)).await;
        let line = match read {
            Ok(Ok(len)) => String::from_utf8_lossy(&first[..len]).trim_end().to_owned(),
            _ => String::new(),
        };
        if line.starts_with("220") {
            open.push(stream);
        } else {
            tracing::info!("connection {n}: {line}");
        }
    }
    tracing::info!("holding {} connections", open.len());
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(open);
}

/// The invariants every run must keep, then the scenario's expectations.
fn check_outcome(scenario: &Scenario, group: &ServerGroup, shared: &Shared, report: &mut Report) {
    let stored: BTreeSet<String> = group
        .store
        .committed()
        .iter()
        .map(|c| c.queue_id.to_string())
        .collect();
    report.stats.stored = stored.len() as u32;
    for id in &shared.acknowledged {
        if !stored.contains(id) {
            report.violations.push(format!(
                "message {id} was answered 250 but is not in the store: lost"
            ));
        }
    }
    if let Some(boot) = lock(&group.boot).as_ref() {
        let live = lock(&boot.live);
        if !live.is_empty() {
            report.violations.push(format!(
                "sessions still open after every client left: {live:?}"
            ));
        }
    }
    let expect = &scenario.expect;
    let checks = [
        ("accepted", expect.accepted, report.stats.accepted),
        ("stored", expect.stored, report.stats.stored),
        (
            "refused_connections",
            expect.refused_connections,
            report.stats.refused_connections,
        ),
        (
            "refused_recipients",
            expect.refused_recipients,
            report.stats.refused_recipients,
        ),
    ];
    for (what, expected, actual) in checks {
        if let Some(expected) = expected
            && expected != actual
        {
            report
                .violations
                .push(format!("expected {what} = {expected}, got {actual}"));
        }
    }
}
