//! The tunnel, POP3, IMAP and finger sessions on an admitted connection,
//! for [`Instance::serve`].

use super::{Instance, REFUSAL_WRITE_TIME};
use crate::driver::{Backend, Clock};
use crate::tls::Transport;
use postern_core::finger::FingerServer;
use postern_core::imap::session::{ImapServer, SessionSummary as ImapSummary};
use postern_core::pop3::{self, Pop3Server};
use postern_core::smtp::server::{EventLevel, SessionInfo};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

impl Instance {
    /// Runs one tunnel connection: connects to the target (a refused or
    /// unreachable target closes the client cleanly, with a log line),
    /// then relays until both sides close, and logs the bytes each way
    /// and the duration.
    pub(super) async fn serve_tunnel<S, M>(
        &self,
        mut stream: S,
        peer: SocketAddr,
        store: &M,
        ending: watch::Receiver<bool>,
        session: u64,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
        M: Backend,
    {
        // Configuration checks give every tunnel a target.
        let Some(tunnel) = &self.service.tunnel else {
            tracing::error!(session, %peer, "tunnel without a target; disconnect from {peer}");
            return;
        };
        let target = &tunnel.target;
        let started = tokio::time::Instant::now();
        let connected = store.connect_tunnel(target, tunnel.connect_timeout).await;
        let (upstream, address) = match connected {
            Ok(pair) => pair,
            Err(error) => {
                let _ = tokio::time::timeout(REFUSAL_WRITE_TIME, stream.shutdown()).await;
                tracing::warn!(
                    session,
                    %peer,
                    "tunnel to {target} failed after {}ms: {}; disconnect from {peer}",
                    started.elapsed().as_millis(),
                    postern_core::text::escape_controls(&error)
                );
                return;
            }
        };
        tracing::info!(session, %peer, "tunnel to {target} connected ({address})");
        let summary =
            crate::tunnel::relay(stream, upstream, tunnel.idle_timeout, Clock::new(), ending).await;
        tracing::info!(session, %peer, "disconnect from {peer}: {summary}");
    }

    /// Runs one POP3 session on an admitted connection.
    pub(super) async fn serve_pop3<S, M>(
        &self,
        transport: Transport<S>,
        info: SessionInfo,
        store: &M,
        ending: watch::Receiver<bool>,
        session: u64,
        clock: Clock,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
        M: Backend,
    {
        let peer = info.remote;
        let machine = Pop3Server::new(Arc::clone(&self.pop3_config), info, clock.now());
        let mut summary = pop3::SessionSummary::new(info);
        crate::pop3::run_pop3_session(
            transport,
            machine,
            store,
            self.tls.as_deref(),
            clock,
            ending,
            |event| {
                summary.record(event);
                match event.level() {
                    EventLevel::Info => tracing::info!(session, %peer, "{event}"),
                    EventLevel::Debug => tracing::debug!(session, %peer, "{event}"),
                }
            },
        )
        .await;
        tracing::info!(session, %peer, "disconnect from {peer}: {summary}");
    }
}

impl Instance {
    /// Runs one finger session on an admitted connection: each event is
    /// an info line (a finger session is one query).
    pub(super) async fn serve_finger<S, M>(
        &self,
        transport: Transport<S>,
        info: SessionInfo,
        store: &M,
        ending: watch::Receiver<bool>,
        session: u64,
        clock: Clock,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
        M: Backend,
    {
        let peer = info.remote;
        let machine = FingerServer::new(Arc::clone(&self.finger_config), info, clock.now());
        crate::finger::run_finger_session(
            transport,
            machine,
            store,
            clock,
            ending,
            |event| tracing::info!(session, %peer, "{event}"),
        )
        .await;
        tracing::info!(session, %peer, "disconnect from {peer}");
    }

    /// Runs one IMAP session on an admitted connection.
    pub(super) async fn serve_imap<S, M>(
        &self,
        transport: Transport<S>,
        info: SessionInfo,
        store: &M,
        ending: watch::Receiver<bool>,
        session: u64,
        clock: Clock,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
        M: Backend,
    {
        let peer = info.remote;
        let machine = ImapServer::new(
            Arc::clone(&self.imap_config),
            info,
            clock.now(),
            store.wall_now(),
        );
        let mut summary = ImapSummary::new(info);
        crate::imap::run_imap_session(
            transport,
            machine,
            store,
            store.mailboxes(),
            store.recent_claims(),
            self.imap_config.append_limit,
            self.tls.as_deref(),
            clock,
            ending,
            |event| {
                summary.record(event);
                match event.level() {
                    EventLevel::Info => tracing::info!(session, %peer, "{event}"),
                    EventLevel::Debug => tracing::debug!(session, %peer, "{event}"),
                }
            },
        )
        .await;
        tracing::info!(session, %peer, "disconnect from {peer}: {summary}");
    }
}
