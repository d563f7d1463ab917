//! A remote-log connection on an [`Instance`]: its session, logged as
//! the others are (but never a line per log line sent: those would feed
//! the session's own stream).

use super::Instance;
use crate::driver::{Backend, Clock};
use crate::remote_log::{feed, run_remote_log_session};
use crate::tls::Transport;
use postern_core::limits::REMOTE_LOG_SOCKET_SEND_BYTES;
use postern_core::remote_log::{Event, RemoteLogServer, SessionInfo};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

/// Keeps the kernel's send buffer of a remote-log connection small, so a
/// client that stops reading fills it soon and the lines it misses are
/// counted in its buffer (see [`REMOTE_LOG_SOCKET_SEND_BYTES`]).
pub(super) fn bound_send_buffer(stream: &tokio::net::TcpStream) {
    if let Err(error) =
        socket2::SockRef::from(stream).set_send_buffer_size(REMOTE_LOG_SOCKET_SEND_BYTES)
    {
        tracing::debug!(%error, "cannot set the send buffer of a remote-log connection");
    }
}

impl Instance {
    /// Runs one remote-log session on an admitted connection.
    pub(super) async fn serve_remote_log<S, M>(
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
        let machine = RemoteLogServer::new(Arc::clone(&self.remote_log_config), info, clock.now());
        run_remote_log_session(
            transport,
            machine,
            store,
            feed(),
            self.service.buffer_lines,
            self.tls.as_deref(),
            clock,
            ending,
            |event| match event {
                Event::LoginFailed { .. } | Event::NotAdmin { .. } => {
                    tracing::warn!(session, %peer, "{event}")
                }
                _ => tracing::info!(session, %peer, "{event}"),
            },
        )
        .await;
        tracing::info!(session, %peer, "disconnect from {peer}");
    }
}
