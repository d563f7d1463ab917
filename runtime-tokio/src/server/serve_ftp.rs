//! An FTP session on an admitted connection, for [`Instance::serve`].

use super::Instance;
use crate::driver::{Backend, Clock};
use crate::tls::Transport;
use postern_core::smtp::server::{EventLevel, SessionInfo};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

impl Instance {
    /// Runs one FTP session on an admitted connection, with the
    /// instance's passive ports and data timeout.
    pub(super) async fn serve_ftp<S, M>(
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
        let machine =
            postern_core::ftp::FtpServer::new(Arc::clone(&self.ftp_config), info, clock.now());
        let ftp = self.service.ftp.as_ref();
        let settings = crate::ftp::FtpRuntime {
            passive_ports: ftp.and_then(|ftp| ftp.passive_ports),
            data_timeout: ftp.map_or(postern_core::limits::FTP_DATA_TIMEOUT_DEFAULT, |ftp| {
                ftp.data_timeout
            }),
        };
        let mut summary = postern_core::ftp::SessionSummary::new(info);
        crate::ftp::run_ftp_session(
            transport,
            machine,
            store,
            self.tls.as_deref(),
            settings,
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
