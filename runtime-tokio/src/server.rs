//! The server: binds every service, accepts connections, runs sessions,
//! delivers, and stops gracefully.

use crate::accounts::AccountBook;
use crate::config_file::Loaded;
use crate::control;
use crate::delivery;
use crate::driver::{self, Backend, Clock};
use crate::environment::System;
use crate::listen;
use crate::lists::ListBook;
use crate::maildir::Maildirs;
use crate::pop3::StoreMaildrops;
use crate::privileges;
use crate::reload::{self, Reloader};
use crate::resolver::Resolver;
use crate::spool::{CommitTo, DataDirLock, Spool};
use crate::storage::postgres::node::Node;
use crate::storage::postgres::{PgMailboxStore, PgMaildropLocks};
use crate::storage::served::ServedMailboxes;
use crate::tls::{ServerTls, Transport};
use postern_core::admission::{self, HostKey, Limits, Permit, Quota, Refusal};
use postern_core::bind::{BindPlan, HostAddresses, Listener};
use postern_core::config::{ServiceConfig, ServiceKind, TlsMode};
use postern_core::directory::Directory;
use postern_core::finger;
use postern_core::pop3;
use postern_core::remote_log;
use postern_core::route::Ourselves;
use postern_core::smtp::server::{
    Server as SmtpServer, SessionConfig, SessionInfo, SessionSummary, refusal_reply,
};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};

mod local_store;
mod serve_ftp;
mod serve_nntp;
mod sessions;
mod shared_accounts;
mod smtp_events;
pub use local_store::LocalStore;

/// How long sessions still running after the grace period get to say
/// goodbye once told to stop.
const GOODBYE_TIME: Duration = Duration::from_secs(5);

/// How long a refused client gets to read why before it is cut off; on
/// an implicit-TLS instance the handshake comes out of the same time.
const REFUSAL_WRITE_TIME: Duration = Duration::from_secs(10);
/// Refused connections being told why at once; beyond this, a flood's
/// extra connections are closed without a word.
const REFUSALS_IN_FLIGHT_MAX: usize = 256;

mod remote_log_session;

/// Runs the server until `stop` completes, then shuts down gracefully.
pub async fn run(loaded: Loaded, stop: impl Future<Output = ()>) -> Result<(), String> {
    let config = &loaded.config;
    let hangups = reload::hangups();
    // The plan is checked before the data directory is touched.
    let plan = listen::plan(&loaded)?;
    let privileges = privileges::plan(&loaded)?;
    // A refusal to run sessions as root comes before anything is touched.
    if let privileges::Plan::Refuse(text) = &privileges {
        return Err(text.clone());
    }
    // The database before any port or file: a node that cannot join it does not start.
    let node = match &config.storage {
        postern_core::config::StorageConfig::Postgres(postgres) => {
            let node = Node::join(postgres, &loaded.origin).await?;
            let mailboxes = served_from_database(&node, postgres, &loaded).await?;
            Some((node, mailboxes))
        }
        postern_core::config::StorageConfig::Files => None,
    };
    let accounts_at = match &node {
        Some((node, _)) => {
            let pool = node.queue.pool().clone();
            shared_accounts::join(pool, &loaded.data_dir, &node_url(config)).await?
        }
        None => crate::accounts::AccountsAt::Files(loaded.data_dir.clone()),
    };
    let settings = match &node {
        Some((node, _)) => crate::mailbox_rules::SettingsAt::Shared(
            crate::storage::postgres::PgSettings::new(node.queue.pool().clone()),
        ),
        None => crate::mailbox_rules::SettingsAt::Files(loaded.data_dir.clone()),
    };
    if let Some(account) = privileges.account() {
        privileges::hand_over_data_dir(&loaded.data_dir, account)?;
        // The log file (opened by root) is the account's too.
        if let Some(log_file) = &config.server.log_file {
            privileges::hand_over(log_file, account)?;
        }
    }
    let _lock = DataDirLock::acquire(&loaded.data_dir).map_err(|e| {
        format!(
            "cannot use the data directory {}: {e}",
            loaded.data_dir.display()
        )
    })?;
    if let Some(account) = privileges.account() {
        privileges::hand_over(&loaded.data_dir.join(DataDirLock::FILE_NAME), account)?;
    }
    // One instance per [[service]]: its listeners share its quota and its
    // certificate, which must load before anything listens (and before
    // root is dropped: keys are often readable by root only).
    let instances: Vec<Arc<Instance>> = config
        .services
        .iter()
        .map(|service| Instance::new(service, &config.server.hostname).map(Arc::new))
        .collect::<Result<_, _>>()?;
    let metrics = crate::metrics::global();
    for service in &config.services {
        metrics.instance_started(&service.name, &service.kind.to_string());
    }
    let listeners = listen::bind_all(&plan)?;
    // Every port is bound: root is dropped before anything else is
    // written under the data directory and before any client byte is read.
    privileges::carry_out(&privileges)?;
    let (committed, arrivals) = mpsc::unbounded_channel();
    let commit_to = match &node {
        Some((node, _)) => CommitTo::Postgres(node.queue.clone()),
        None => CommitTo::Files,
    };
    let (spool, backlog) = Spool::open_committing_to(
        &loaded.data_dir,
        config.storage.node_id(),
        committed,
        commit_to,
    )
    .map_err(|e| {
        format!(
            "cannot open the spool under {}: {e}",
            loaded.data_dir.display()
        )
    })?;
    let maildirs = Arc::new(Maildirs::new(&loaded.data_dir, &config.server.hostname));
    // Readers share delivery's store: one lock and one MODSEQ per mailbox
    // on files; on the database, one listener for every node's changes.
    let served = match &node {
        Some((_, mailboxes)) => ServedMailboxes::Postgres(mailboxes.clone()),
        None => ServedMailboxes::Files(maildirs.store().clone()),
    };
    let maildrops = StoreMaildrops::new(Arc::new(served));
    // On the database, a POP3 session locks its maildrop for every node.
    let maildrops = Arc::new(match &node {
        Some((node, _)) => maildrops.with_shared_locks(PgMaildropLocks::new(
            node.queue.pool().clone(),
            node.node_id,
            node.lease,
        )),
        None => maildrops,
    });
    let lists = Arc::new(ListBook::new(
        &loaded.data_dir,
        &config.server.hostname,
        Arc::clone(&maildirs),
    ));
    let list_definitions = lists.reconfigure(config);
    let directory = Arc::new(directory(config, &list_definitions));
    let news = crate::news::NewsStore::new(
        &loaded.data_dir,
        &config.server.hostname,
        maildirs.store().clone(),
    );
    news.set_groups(crate::news::all_groups(&config.news, &list_definitions));
    news.set_access(&config.news);
    let resolver = Resolver::new(&config.outbound.nameservers)?;
    let system = System {
        spool: Arc::clone(&spool),
        maildirs,
        resolver: resolver.clone(),
    };
    let (commands, queue_commands) = mpsc::unbounded_channel();
    let ours = ourselves(&plan);
    // Held for the life of the server: it listens for commits, and gives
    // back its leases at a clean stop.
    let running = match node {
        None => {
            let context = delivery::Context::new(config, system, Arc::clone(&directory))?
                .listening_at(ours)
                .with_lists(Arc::clone(&lists))
                .with_news(news.clone());
            tokio::spawn(delivery::run(context, backlog, arrivals, queue_commands));
            None
        }
        Some((node, mailboxes)) => {
            let world = node.world(system, mailboxes);
            let context = delivery::Context::new(config, world, Arc::clone(&directory))?
                .listening_at(ours)
                .with_lists(Arc::clone(&lists))
                .with_news(news.clone());
            Some(node.deliver(context, arrivals, queue_commands, commands.clone()))
        }
    };
    let reload_commands = commands.clone();
    let accounts = Arc::new(AccountBook::new(
        accounts_at,
        Arc::clone(&directory),
        config.lockout,
    ));
    let _control =
        control::serve(&loaded.data_dir, commands, Arc::clone(&accounts)).map_err(|e| {
            format!(
                "cannot open the control socket in {}: {e}",
                loaded.data_dir.display()
            )
        })?;
    let greylist = crate::greylist::GreylistBook::open(&loaded.data_dir);
    let store = LocalStore {
        greylist: Arc::clone(&greylist),
        settings,
        news: news.clone(),
        spool,
        directory,
        accounts: Arc::clone(&accounts),
        maildrops,
        recent: Arc::default(),
        ftp_files: crate::ftp::DiskFiles::new(&loaded.data_dir),
        resolver,
        data_dir: loaded.data_dir.clone(),
        lists: Arc::clone(&lists),
        instances: Arc::new(
            config
                .services
                .iter()
                .map(|service| driver::InstanceListing {
                    name: service.name.clone(),
                    listen: std::iter::once(service.listen.to_string())
                        .chain(service.secondary_listen.map(|spec| spec.to_string()))
                        .collect(),
                    max_connections: service.max_connections,
                })
                .collect(),
        ),
    };
    let (generation, current) = watch::channel(Arc::new(Generation {
        config: config.clone(),
        instances: instances.clone(),
        store,
    }));
    let reloader = Reloader {
        path: loaded.path.clone(),
        origin: loaded.origin.clone(),
        generation,
        delivery: reload_commands,
        accounts,
        lists,
    };
    let (stop_accepting, accepting) = watch::channel(false);
    let (end_sessions, ending) = watch::channel(false);
    for upstream in &config.news_upstreams {
        // Paths are resolved by now (config_file::load).
        let loaded_upstream =
            crate::nntp_pull::Upstream::load(upstream, std::path::Path::new(""), &loaded.data_dir)
                .map_err(|error| format!("[[news_upstream]] {}: {error}", upstream.name))?;
        let pull = crate::news::NewsPull::new(
            news.clone(),
            &config.server.hostname,
            upstream.groups.clone(),
            &loaded_upstream.state_file,
        );
        tokio::spawn(pull_from(
            loaded_upstream,
            pull,
            news.clone(),
            ending.clone(),
        ));
    }
    tokio::spawn(crate::news::run_expiry(news, ending.clone()));
    let greylist_kept = tokio::spawn(greylist.keep(ending.clone()));
    // Every session holds a clone of this sender; when all are dropped,
    // `sessions_done` yields None (the mini-redis shutdown pattern).
    let (session_guard, mut sessions_done) = mpsc::channel::<()>(1);
    let sessions = Arc::new(AtomicU64::new(0));
    if let Some(hangups) = hangups {
        tokio::spawn(reload::on_hangup(hangups, reloader));
    }
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT_MAX));
    for (listener, socket) in listeners {
        let socket = TcpListener::from_std(socket)
            .map_err(|e| format!("cannot listen on {}: {e}", listener.spec))?;
        tracing::info!(instance = %listener.instance, "accepting connections on {}", listener.spec);
        let context = AcceptContext {
            current: current.clone(),
            listener,
            ending: ending.clone(),
            guard: session_guard.clone(),
            sessions: Arc::clone(&sessions),
            refusals: Arc::clone(&refusals),
        };
        tokio::spawn(accept_loop(socket, context, accepting.clone()));
    }
    drop(session_guard);

    stop.await;
    if let Some(running) = running {
        // First: the other nodes take over this node's messages at once.
        running.leave().await;
    }
    let grace = current.borrow().config.server.shutdown_grace;
    tracing::info!(
        grace_seconds = grace.as_secs(),
        "stopping: no longer accepting connections"
    );
    let _ = stop_accepting.send(true);
    if tokio::time::timeout(grace, sessions_done.recv())
        .await
        .is_err()
    {
        tracing::warn!("sessions still running after the grace period; closing them with 421");
        let _ = end_sessions.send(true);
        let _ = tokio::time::timeout(GOODBYE_TIME, sessions_done.recv()).await;
    }
    // The greylist's last write.
    let _ = end_sessions.send(true);
    let _ = greylist_kept.await;
    tracing::info!("stopped");
    Ok(())
}

/// Joins the database's mailboxes: a store that listens for every node's
/// changes (IMAP IDLE), sharing the node's pool. What stays in this
/// node's data directory is said once, at start.
async fn served_from_database(
    node: &Node,
    postgres: &postern_core::config::PostgresConfig,
    loaded: &Loaded,
) -> Result<PgMailboxStore, String> {
    let client = crate::storage::postgres::client_config(postgres, &loaded.origin)?;
    let mailboxes = PgMailboxStore::start(node.queue.pool().clone(), client, node.node_id)
        .await
        .map_err(|error| {
            format!(
                "{}: cannot listen for mailbox changes: {error}",
                postgres.url
            )
        })?;
    tracing::info!(
        node_id = node.node_id,
        "node {} \"{}\" joined the shared queue and mailboxes at {}",
        node.node_id,
        node.name,
        postgres.url
    );
    tracing::info!(
        "mailboxes, accounts, each mailbox's settings (vacation, forwarding, blocked senders) and the POP3 lock are shared in the database; this node's own, not shared with other nodes: its outbound quotas (connections and rates per destination), login lockout counts, greylist, and in its data directory {} newsgroups, list archives and FTP homes",
        loaded.data_dir.display()
    );
    Ok(mailboxes)
}

/// The database's URL, for log lines and errors.
fn node_url(config: &postern_core::config::Config) -> String {
    match &config.storage {
        postern_core::config::StorageConfig::Postgres(postgres) => postgres.url.to_string(),
        postern_core::config::StorageConfig::Files => String::new(),
    }
}

/// Pulls from one upstream until the server stops; the groups it has
/// pulled before are served from the start.
async fn pull_from(
    upstream: crate::nntp_pull::Upstream,
    pull: crate::news::NewsPull,
    news: crate::news::NewsStore,
    ending: watch::Receiver<bool>,
) {
    match crate::nntp_pull::marks::load(&upstream.state_file).await {
        Ok(marks) => {
            for group in marks.keys() {
                news.add_source(crate::news::carried_group(group, &upstream.name));
            }
        }
        Err(error) => {
            tracing::error!(upstream = %upstream.name, %error, "cannot read {}; pulling as if new", upstream.state_file.display());
        }
    }
    crate::nntp_pull::run_upstream(upstream, crate::nntp_pull::TcpDialer, pull, ending).await;
}

/// The local directory: the domains' users and aliases, the mailing
/// lists' addresses and the newsgroups' mail-to-news addresses.
pub(crate) fn directory(
    config: &postern_core::config::Config,
    lists: &[postern_core::lists::ListDefinition],
) -> Directory {
    Directory::new(&config.domains)
        .with_lists(lists)
        .with_news_gateways(
            config
                .news
                .groups
                .iter()
                .filter_map(|g| g.address.as_deref()),
        )
}

/// Where this server listens, for loop detection: the plan's listeners,
/// and for one on every interface the host's addresses (loopback always).
fn ourselves(plan: &BindPlan) -> Ourselves {
    let host = listen::host_addresses().unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot list this host's addresses; only loopback and named listen addresses count as this server");
        HostAddresses::default()
    });
    Ourselves::new(
        plan.listeners
            .iter()
            .map(|listener| (listener.spec.address, listener.spec.port)),
        host,
    )
}

/// One `[[service]]` at run time: its settings, its TLS and its connection
/// quota, shared by its listeners. What happens to one connection, from
/// admission to the end of its session, is here and generic over the
/// stream, so the simulation serves its connections with this very code.
pub struct Instance {
    service: ServiceConfig,
    session_config: Arc<SessionConfig>,
    pop3_config: Arc<pop3::SessionConfig>,
    nntp_config: Arc<postern_core::nntp::SessionConfig>,
    finger_config: Arc<finger::SessionConfig>,
    remote_log_config: Arc<remote_log::SessionConfig>,
    ftp_config: Arc<postern_core::ftp::SessionConfig>,
    imap_config: Arc<postern_core::imap::session::SessionConfig>,
    hostname: String,
    quota: Arc<Mutex<Quota<HostKey>>>,
    tls: Option<Arc<ServerTls>>,
    /// An HTTP instance's webmail sessions, kept across reloads.
    web: Arc<crate::http::WebState>,
}

impl Instance {
    /// Loads the instance's certificate, if it has TLS.
    pub fn new(service: &ServiceConfig, hostname: &str) -> Result<Self, String> {
        let tls = match &service.tls {
            Some(config) => Some(Arc::new(
                ServerTls::load(config, &service.name)
                    .map_err(|error| format!("instance {}: {error}", service.name))?,
            )),
            None => None,
        };
        Ok(Instance {
            tls,
            service: service.clone(),
            session_config: Arc::new(service.session_config(hostname)),
            pop3_config: Arc::new(service.pop3_session_config(hostname)),
            nntp_config: Arc::new(service.nntp_session_config(hostname)),
            finger_config: Arc::new(service.finger_session_config()),
            remote_log_config: Arc::new(service.remote_log_session_config(hostname)),
            ftp_config: Arc::new(service.ftp_session_config(hostname)),
            imap_config: Arc::new(service.imap_session_config(hostname)),
            hostname: hostname.to_owned(),
            quota: Arc::new(Mutex::new(Quota::new(Limits {
                total: service.max_connections,
                per_key: service.max_connections_per_host,
            }))),
            web: Arc::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.service.name
    }

    /// Reads the certificate again, if the instance has TLS; one that
    /// does not load leaves the old one in use. Sessions already running
    /// keep the certificate they started with.
    pub fn reload_certificate(&self) {
        let Some(tls) = &self.tls else { return };
        let name = &self.service.name;
        match tls.reload() {
            Ok(()) => {
                tracing::info!(instance = %name, "reloaded the certificate {}", tls.certificate().display())
            }
            Err(error) => {
                tracing::error!(instance = %name, "kept the old certificate: {error}")
            }
        }
    }

    /// This instance with `service`'s settings (a configuration reload),
    /// sharing its connection quota (with the new limits) so that
    /// connections under way still count. Its certificate is read again;
    /// one that does not load leaves the old one in use, and new
    /// certificate files that do not load leave the whole instance as it
    /// was. Sessions under way keep the instance they started with.
    pub fn reconfigured(self: &Arc<Self>, service: &ServiceConfig, hostname: &str) -> Arc<Self> {
        let name = &service.name;
        let same_files = |old: &ServerTls, new: &postern_core::config::TlsConfig| {
            old.certificate() == new.certificate
                && old.key() == new.key
                && old.handshake_timeout == new.handshake_timeout
        };
        let tls = match (&self.tls, &service.tls) {
            (_, None) => None,
            (Some(old), Some(new)) if same_files(old, new) => {
                self.reload_certificate();
                Some(Arc::clone(old))
            }
            (_, Some(new)) => match ServerTls::load(new, name) {
                Ok(tls) => {
                    tracing::info!(instance = %name, "loaded the certificate {}", tls.certificate().display());
                    Some(Arc::new(tls))
                }
                Err(error) => {
                    tracing::error!(instance = %name, "kept the instance's settings in use: {error}");
                    return Arc::clone(self);
                }
            },
        };
        self.quota
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_limits(Limits {
                total: service.max_connections,
                per_key: service.max_connections_per_host,
            });
        Arc::new(Instance {
            tls,
            service: service.clone(),
            session_config: Arc::new(service.session_config(hostname)),
            pop3_config: Arc::new(service.pop3_session_config(hostname)),
            nntp_config: Arc::new(service.nntp_session_config(hostname)),
            finger_config: Arc::new(service.finger_session_config()),
            remote_log_config: Arc::new(service.remote_log_session_config(hostname)),
            ftp_config: Arc::new(service.ftp_session_config(hostname)),
            imap_config: Arc::new(service.imap_session_config(hostname)),
            hostname: hostname.to_owned(),
            quota: Arc::clone(&self.quota),
            web: Arc::clone(&self.web),
        })
    }

    /// The host `client` is counted as: its IPv6 network, or its IPv4
    /// address.
    pub fn host(&self, client: IpAddr) -> HostKey {
        HostKey::new(client, self.service.ipv6_prefix)
    }

    /// Connections admitted and not yet finished, in total and from
    /// `client`'s host: never more than the limits.
    pub fn connections(&self, client: IpAddr) -> (u32, u32) {
        let quota = self.quota.lock().unwrap_or_else(|e| e.into_inner());
        (quota.in_use(), quota.in_use_by(&self.host(client)))
    }

    /// Admits a client or says why not; see [`admission::admit`]. Either
    /// way it is counted in the [`metrics`](crate::metrics), and an
    /// admitted connection counts as open until its guard is dropped.
    pub fn admit(&self, client: IpAddr) -> Result<PermitGuard, Refusal> {
        let metrics = crate::metrics::global();
        let name = &self.service.name;
        let mut quota = self.quota.lock().unwrap_or_else(|e| e.into_inner());
        let permit = admission::admit(
            &self.service.access,
            &mut quota,
            client,
            self.service.ipv6_prefix,
        )
        .inspect_err(|refusal| metrics.connection_refused(name, refusal))?;
        Ok(PermitGuard {
            quota: Arc::clone(&self.quota),
            permit: Some(permit),
            _open: metrics.connection_admitted(name, &self.service.kind.to_string()),
        })
    }
}

/// Gives its permit back when dropped: when the connection's task ends,
/// whether the session finished, failed or panicked.
pub struct PermitGuard {
    quota: Arc<Mutex<Quota<HostKey>>>,
    permit: Option<Permit<HostKey>>,
    _open: crate::metrics::OpenConnection,
}

impl Drop for PermitGuard {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.quota
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .release(permit);
        }
    }
}

/// What new sessions use: every instance and the store, as of the start
/// or the last reload. Each session takes the current one when it is
/// accepted and keeps it to its end.
pub(crate) struct Generation {
    /// The configuration applied (see [`postern_core::config::reload`]).
    pub(crate) config: postern_core::config::Config,
    pub(crate) instances: Vec<Arc<Instance>>,
    pub(crate) store: LocalStore,
}

impl Generation {
    fn instance(&self, name: &str) -> Option<&Arc<Instance>> {
        self.instances.iter().find(|i| i.service.name == name)
    }
}

struct AcceptContext {
    current: watch::Receiver<Arc<Generation>>,
    listener: Listener,
    ending: watch::Receiver<bool>,
    guard: mpsc::Sender<()>,
    sessions: Arc<AtomicU64>,
    refusals: Arc<Semaphore>,
}

async fn accept_loop(
    socket: TcpListener,
    context: AcceptContext,
    mut stopping: watch::Receiver<bool>,
) {
    let name = &context.listener.instance;
    loop {
        let accepted = tokio::select! {
            accepted = socket.accept() => accepted,
            _ = stopping.wait_for(|stop| *stop) => return,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Usually EMFILE: back off rather than spin.
                tracing::warn!(instance = %name, %error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
        let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
        let remote = canonical(remote);
        let local = stream.local_addr().map_or(remote, canonical);
        let session = context.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        let peer = remote;
        let generation = Arc::clone(&context.current.borrow());
        let Some(instance) = generation.instance(name).cloned() else {
            // A reload never drops a listening instance (see
            // `config::reload::applicable`); this is a bug, not a client's fault.
            tracing::error!(session, %peer, instance = %name, "no settings for this instance; connection closed");
            continue;
        };
        let permit = match instance.admit(remote.ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                tracing::info!(session, %peer, instance = %name, "connect from {peer} refused: {refusal}");
                if let Ok(slot) = Arc::clone(&context.refusals).try_acquire_owned() {
                    tokio::spawn(async move {
                        instance.refuse(stream, refusal).await;
                        drop(slot);
                    });
                }
                continue;
            }
        };
        // A console following the log is no work in progress: it is told
        // at once that the server stops, not after the grace period.
        let ending = if instance.service.kind == ServiceKind::RemoteLog {
            stopping.clone()
        } else {
            context.ending.clone()
        };
        let (store, guard) = (generation.store.clone(), context.guard.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            if instance.service.kind == ServiceKind::RemoteLog {
                remote_log_session::bound_send_buffer(&stream);
            }
            instance
                .serve(stream, local, remote, &store, ending, session)
                .await;
            drop(permit);
            drop(guard);
        });
    }
}

impl Instance {
    /// Tells a refused client why, then closes, without waiting long for a
    /// client that does not read. On an implicit-TLS instance not a word
    /// goes out in clear (RFC 8314 3.3): the reply follows a TLS
    /// handshake, and a client that does not finish one within
    /// [`REFUSAL_WRITE_TIME`] is closed without a reply.
    pub async fn refuse<S>(&self, stream: S, refusal: Refusal)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let reply = match self.service.kind {
            ServiceKind::Pop3 => pop3::refusal_response(&self.hostname, refusal),
            ServiceKind::Imap => {
                postern_core::imap::refusal::refusal_response(&self.hostname, refusal)
            }
            ServiceKind::Finger => finger::refusal_response(refusal),
            ServiceKind::RemoteLog => remote_log::refusal_response(&self.hostname, refusal),
            ServiceKind::Ftp => postern_core::ftp::refusal_response(&self.hostname, refusal),
            ServiceKind::Smtp | ServiceKind::Submission => refusal_reply(&self.hostname, refusal),
            ServiceKind::Http => postern_core::http::refusal_response(refusal),
            ServiceKind::Nntp => postern_core::nntp::refusal_response(&self.hostname, refusal),
            // A tunnel speaks no protocol of its own: any word would reach
            // the client as if the target had said it. A clean close.
            ServiceKind::Tunnel => Vec::new(),
        };
        let _ = tokio::time::timeout(REFUSAL_WRITE_TIME, async {
            let mut transport = match (&self.tls, self.service.tls_mode()) {
                (Some(tls), TlsMode::Implicit) => tls.accept(stream).await?,
                _ => Transport::Plain(stream),
            };
            transport.write_all(&reply).await?;
            transport.shutdown().await?;
            if self.service.kind == ServiceKind::Finger {
                // A finger client sends its query at once, often after
                // the refusal went out; were the socket closed with the
                // query unread, the kernel would answer it with a reset
                // and the client could lose the refusal. Read what it
                // sends until it closes (within the same time bound).
                let mut sink = [0u8; 512];
                while transport.read(&mut sink).await? > 0 {}
            }
            Ok::<(), io::Error>(())
        })
        .await;
    }

    /// Runs one admitted connection: the TLS handshake first on an
    /// implicit-TLS instance, then the session, logged with the session
    /// number, inside a span that names the instance (the remote log's
    /// instance filter reads it; the text log leaves the span out).
    pub async fn serve<S, M>(
        &self,
        stream: S,
        local: SocketAddr,
        remote: SocketAddr,
        store: &M,
        ending: watch::Receiver<bool>,
        session: u64,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
        M: Backend,
    {
        use tracing::Instrument as _;
        // The span costs memory in every session: only when the remote
        // log service is there to read it.
        if !crate::remote_log::installed() {
            return self
                .serve_in_span(stream, local, remote, store, ending, session)
                .await;
        }
        let span = tracing::info_span!(
            target: crate::remote_log::INSTANCE_SPAN,
            "instance",
            instance = %self.service.name
        );
        self.serve_in_span(stream, local, remote, store, ending, session)
            .instrument(span)
            .await;
    }

    async fn serve_in_span<S, M>(
        &self,
        stream: S,
        local: SocketAddr,
        remote: SocketAddr,
        store: &M,
        ending: watch::Receiver<bool>,
        session: u64,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
        M: Backend,
    {
        let peer = remote;
        let name = &self.service.name;
        let host = self.host(remote.ip());
        tracing::info!(session, %peer, %host, instance = %name, "connect from {peer} to {local}");
        // The other kinds' sessions and the TLS handshake are boxed, so
        // that an SMTP session's future is no larger than its own needs.
        if self.service.kind == ServiceKind::Tunnel {
            return Box::pin(self.serve_tunnel(stream, remote, store, ending, session)).await;
        }
        let mut info = SessionInfo {
            local,
            remote,
            tls: false,
        };
        // Implicit TLS (RFC 8314): the handshake comes first, bounded by its
        // timeout, while the connection holds its quota permit like any other.
        let transport = match (&self.tls, self.service.tls_mode()) {
            (Some(tls), TlsMode::Implicit) => match Box::pin(tls.accept(stream)).await {
                Ok(encrypted) => {
                    info.tls = true;
                    let description = encrypted.describe().unwrap_or_default();
                    tracing::info!(session, %peer, "TLS handshake done: {description}");
                    encrypted
                }
                Err(error) => {
                    tracing::info!(session, %peer, "TLS handshake failed: {error}; disconnect from {peer}");
                    return;
                }
            },
            _ => Transport::Plain(stream),
        };
        let clock = Clock::new();
        if self.service.kind == ServiceKind::Pop3 {
            return Box::pin(self.serve_pop3(transport, info, store, ending, session, clock)).await;
        }
        if self.service.kind == ServiceKind::Nntp {
            return Box::pin(self.serve_nntp(transport, info, store, ending, session, clock)).await;
        }
        if self.service.kind == ServiceKind::Imap {
            return Box::pin(self.serve_imap(transport, info, store, ending, session, clock)).await;
        }
        if self.service.kind == ServiceKind::RemoteLog {
            return Box::pin(self.serve_remote_log(transport, info, store, ending, session, clock))
                .await;
        }
        if self.service.kind == ServiceKind::Finger {
            return Box::pin(self.serve_finger(transport, info, store, ending, session, clock))
                .await;
        }
        if self.service.kind == ServiceKind::Ftp {
            return Box::pin(self.serve_ftp(transport, info, store, ending, session, clock)).await;
        }
        if self.service.kind == ServiceKind::Http {
            Box::pin(crate::http::serve_connection(
                transport,
                remote,
                info.tls,
                &self.service,
                &self.hostname,
                Arc::clone(&self.web),
                store,
                ending,
                session,
            ))
            .await;
            tracing::info!(session, %peer, "disconnect from {peer}");
            return;
        }
        let mut summary = SessionSummary::default();
        let machine = SmtpServer::new(Arc::clone(&self.session_config), info, clock.now());
        let starttls = self.tls.as_deref();
        driver::run_session(
            transport,
            machine,
            store,
            starttls,
            clock,
            ending,
            |event| {
                summary.record(event);
                self.count_event(event);
                smtp_events::log_event(session, peer, event);
            },
        )
        .await;
        tracing::info!(session, %peer, "disconnect from {peer}: {summary}");
    }
}
