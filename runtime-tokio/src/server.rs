//! The server: binds every service, accepts connections, runs sessions,
//! delivers, and stops gracefully.

use crate::config_file::Loaded;
use crate::delivery;
use crate::driver::{self, Clock, MessageStore};
use crate::maildir::Maildirs;
use crate::spool::{DataDirLock, Spool, SpoolFile};
use postern_core::address::ForwardPath;
use postern_core::config::ServiceConfig;
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::envelope::Envelope;
use postern_core::smtp::server::{OpenedMessage, Server as SmtpServer, SessionInfo};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// How long sessions still running after the grace period get to say
/// goodbye once told to stop.
const GOODBYE_TIME: Duration = Duration::from_secs(5);

/// The production [`MessageStore`]: the spool and the directory.
#[derive(Clone)]
pub struct LocalStore {
    spool: Arc<Spool>,
    directory: Arc<Directory>,
}

impl MessageStore for LocalStore {
    type Message = SpoolFile;

    fn resolve(&self, forward_path: &ForwardPath) -> RecipientVerdict {
        self.directory.resolve(forward_path)
    }

    async fn open(&self, envelope: Envelope) -> io::Result<(OpenedMessage, SpoolFile)> {
        let (queue_id, received_at, file) = self.spool.create(envelope).await?;
        Ok((
            OpenedMessage {
                queue_id,
                received_at,
            },
            file,
        ))
    }
}

/// Runs the server until `stop` completes, then shuts down gracefully.
pub async fn run(loaded: Loaded, stop: impl Future<Output = ()>) -> Result<(), String> {
    let config = &loaded.config;
    let _lock = DataDirLock::acquire(&loaded.data_dir).map_err(|e| {
        format!(
            "cannot use the data directory {}: {e}",
            loaded.data_dir.display()
        )
    })?;
    let (committed, arrivals) = mpsc::unbounded_channel();
    let (spool, backlog) = Spool::open(&loaded.data_dir, committed).map_err(|e| {
        format!(
            "cannot open the spool under {}: {e}",
            loaded.data_dir.display()
        )
    })?;
    let listeners = bind_all(&config.services).await?;
    let maildirs = Arc::new(Maildirs::new(&loaded.data_dir, &config.server.hostname));
    tokio::spawn(delivery::run(
        Arc::clone(&spool),
        maildirs,
        backlog,
        arrivals,
    ));

    let store = LocalStore {
        spool,
        directory: Arc::new(Directory::new(&config.domains)),
    };
    let (stop_accepting, accepting) = watch::channel(false);
    let (end_sessions, ending) = watch::channel(false);
    // Every session holds a clone of this sender; when all are dropped,
    // `sessions_done` yields None (the mini-redis shutdown pattern).
    let (session_guard, mut sessions_done) = mpsc::channel::<()>(1);
    let sessions = Arc::new(AtomicU64::new(0));
    for (service, listener) in config.services.iter().zip(listeners) {
        let context = AcceptContext {
            service: service.clone(),
            hostname: config.server.hostname.clone(),
            store: store.clone(),
            ending: ending.clone(),
            guard: session_guard.clone(),
            sessions: Arc::clone(&sessions),
        };
        tokio::spawn(accept_loop(listener, context, accepting.clone()));
    }
    drop(session_guard);

    stop.await;
    let grace = config.server.shutdown_grace;
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
    tracing::info!("stopped");
    Ok(())
}

/// Binds every service before any accepts, so that a failure leaves
/// nothing listening.
async fn bind_all(services: &[ServiceConfig]) -> Result<Vec<TcpListener>, String> {
    let mut listeners = Vec::with_capacity(services.len());
    for service in services {
        let listener = TcpListener::bind(service.listen).await.map_err(|error| {
            let hint = match error.kind() {
                io::ErrorKind::AddrInUse => {
                    "; another program (or another Postern) is listening there"
                }
                io::ErrorKind::PermissionDenied => {
                    "; ports below 1024 need root or CAP_NET_BIND_SERVICE"
                }
                io::ErrorKind::AddrNotAvailable => "; that address is not one of this host's",
                _ => "",
            };
            format!(
                "cannot listen on {} for service \"{}\": {error}{hint}; nothing was started",
                service.listen, service.name
            )
        })?;
        listeners.push(listener);
    }
    for service in services {
        tracing::info!(service = %service.name, "accepting connections on {}", service.listen);
    }
    Ok(listeners)
}

struct AcceptContext {
    service: ServiceConfig,
    hostname: String,
    store: LocalStore,
    ending: watch::Receiver<bool>,
    guard: mpsc::Sender<()>,
    sessions: Arc<AtomicU64>,
}

async fn accept_loop(
    listener: TcpListener,
    context: AcceptContext,
    mut stopping: watch::Receiver<bool>,
) {
    let session_config = Arc::new(context.service.session_config(&context.hostname));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|stop| *stop) => return,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Usually EMFILE: back off rather than spin.
                tracing::warn!(service = %context.service.name, %error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let session = context.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        let local = stream.local_addr().unwrap_or(context.service.listen);
        let (store, ending, guard) = (
            context.store.clone(),
            context.ending.clone(),
            context.guard.clone(),
        );
        let (config, service) = (Arc::clone(&session_config), context.service.name.clone());
        tokio::spawn(async move {
            run_one(
                stream,
                SessionInfo { local, remote },
                config,
                &store,
                ending,
                session,
                &service,
            )
            .await;
            drop(guard);
        });
    }
}

async fn run_one(
    stream: TcpStream,
    info: SessionInfo,
    config: Arc<postern_core::smtp::server::SessionConfig>,
    store: &LocalStore,
    ending: watch::Receiver<bool>,
    session: u64,
    service: &str,
) {
    let _ = stream.set_nodelay(true);
    let peer: SocketAddr = info.remote;
    tracing::info!(session, %peer, service, "connect from {peer}");
    let clock = Clock::new();
    let machine = SmtpServer::new(config, info, clock.now());
    driver::run_session(stream, machine, store, clock, ending, |event| {
        match event.queue_id() {
            Some(queue_id) => tracing::info!(session, %peer, %queue_id, "{event}"),
            None => tracing::info!(session, %peer, "{event}"),
        }
    })
    .await;
    tracing::info!(session, %peer, "disconnect from {peer}");
}
