//! An NNTP session on an admitted connection, for [`Instance::serve`].

use super::Instance;
use crate::driver::{Backend, Clock};
use crate::nntp::{NntpContext, run_nntp_session};
use crate::tls::Transport;
use postern_core::nntp::{NntpServer, SessionStart};
use postern_core::smtp::server::{EventLevel, SessionInfo};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

impl Instance {
    /// Runs one NNTP session: every event is a log line at the level the
    /// core gives it; the last says what the session did. A backend with
    /// no news store (none here; the simulation) gets `400` and a close.
    pub(super) async fn serve_nntp<S, M>(
        &self,
        mut transport: Transport<S>,
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
        let Some(news) = store.news() else {
            let line = format!("400 {} news service unavailable\r\n", self.hostname);
            let _ = tokio::time::timeout(super::REFUSAL_WRITE_TIME, async {
                transport.write_all(line.as_bytes()).await?;
                transport.shutdown().await
            })
            .await;
            tracing::warn!(session, %peer, "no news store here; disconnect from {peer}");
            return;
        };
        let start = SessionStart {
            wall_clock: store.wall_now(),
            message_id_seed: random_seed(),
        };
        let machine = NntpServer::new(Arc::clone(&self.nntp_config), info, start, clock.now());
        let (read, post) = self
            .service
            .nntp
            .as_ref()
            .map_or(("", ""), |nntp| (nntp.read.as_str(), nntp.post.as_str()));
        let context = NntpContext {
            backend: store,
            news,
            tls: self.tls.as_deref(),
            logged_in: (read, post),
            hostname: &self.hostname,
        };
        run_nntp_session(
            transport,
            machine,
            context,
            clock,
            ending,
            |event| match event.level() {
                EventLevel::Info => tracing::info!(session, %peer, "{event}"),
                EventLevel::Debug => tracing::debug!(session, %peer, "{event}"),
            },
        )
        .await;
        tracing::info!(session, %peer, "disconnect from {peer}");
    }
}

/// What makes this session's Message-IDs its own: from the operating
/// system's random source.
fn random_seed() -> u64 {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    OsRng.next_u64()
}
