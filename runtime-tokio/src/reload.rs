//! SIGHUP: the configuration file is read again and applied where that is
//! safe. New sessions take the new [`Generation`]; sessions under way keep
//! the one they started with; delivery takes the new outbound settings for
//! attempts and bounces from now on. What needs a restart (see
//! [`postern_core::config::reload`]) is named in one warning and keeps its
//! running value; a file that does not load, or whose listeners do not
//! plan, leaves everything as it was, with one error line saying why.

use crate::accounts::AccountBook;
use crate::config_file;
use crate::delivery;
use crate::listen;
use crate::server::Generation;
use postern_core::config::reload::{applicable, needs_restart};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};

/// What a reload reads and where it puts the result.
pub(crate) struct Reloader {
    /// The file the server started with; `None` for the embedded default.
    pub(crate) path: Option<PathBuf>,
    pub(crate) origin: String,
    pub(crate) generation: watch::Sender<Arc<Generation>>,
    pub(crate) delivery: mpsc::UnboundedSender<delivery::Command>,
    pub(crate) accounts: Arc<AccountBook>,
    /// Reconfigured in place: delivery and the web share it.
    pub(crate) lists: Arc<crate::lists::ListBook>,
}

/// Installs the SIGHUP handler now, before anything listens: a SIGHUP
/// that comes early (a `systemctl reload` at start-up) must not kill the
/// server, as signal(2)'s default action would.
pub(crate) fn hangups() -> Option<Signal> {
    match signal(SignalKind::hangup()) {
        Ok(hangups) => Some(hangups),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP; the configuration will not be reloaded");
            None
        }
    }
}

/// Reloads on every SIGHUP until the server stops.
pub(crate) async fn on_hangup(mut hangups: Signal, reloader: Reloader) {
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP received: reloading {}", reloader.origin);
        if let Err(message) = reloader.reload() {
            tracing::error!(
                "configuration not reloaded; the one in use is kept: {}",
                message.trim_end()
            );
            // Renewed certificates are still taken, as the configuration
            // in use names them (a certbot hook should not wait on a typo).
            reloader.reload_certificates();
        }
    }
}

impl Reloader {
    /// Reads the certificate of every running instance again.
    fn reload_certificates(&self) {
        let running = Arc::clone(&self.generation.borrow());
        for instance in &running.instances {
            instance.reload_certificate();
        }
    }

    fn reload(&self) -> Result<(), String> {
        let loaded = config_file::load(self.path.as_deref())?;
        // Listeners are not changed, but a file whose listeners would not
        // start is no file to run: it would fail at the next restart.
        listen::plan(&loaded)?;
        let running = Arc::clone(&self.generation.borrow());
        let restart = needs_restart(&running.config, &loaded.config);
        let config = applicable(&running.config, &loaded.config);
        let list_definitions = self.lists.reconfigure(&config);
        let directory = Arc::new(crate::server::directory(&config, &list_definitions));
        // The last step that may fail, before anything is changed.
        let settings = delivery::Settings::new(&config, Arc::clone(&directory))
            .map_err(|error| format!("{}: {error}", self.origin))?;
        if !restart.is_empty() {
            let changes: Vec<String> = restart.iter().map(ToString::to_string).collect();
            tracing::warn!(
                "not applied until a restart: {}; the rest of the configuration is applied",
                changes.join("; ")
            );
        }
        let instances = config
            .services
            .iter()
            .map(|service| {
                let old = running
                    .instances
                    .iter()
                    .find(|i| i.name() == service.name)
                    .expect("applicable keeps exactly the running instances");
                old.reconfigured(service, &config.server.hostname)
            })
            .collect();
        if self
            .delivery
            .send(delivery::Command::Reload(Box::new(settings)))
            .is_err()
        {
            tracing::error!("the delivery runner has stopped; outbound settings not reloaded");
        }
        self.accounts
            .reconfigure(Arc::clone(&directory), config.lockout);
        let store = running.store.with_directory(directory);
        store
            .news
            .set_groups(crate::news::all_groups(&config.news, &list_definitions));
        store.news.set_access(&config.news);
        tracing::info!(
            instances = config.services.len(),
            domains = config.domains.len(),
            "reloaded {}: new sessions use it, sessions under way keep theirs",
            self.origin
        );
        self.generation.send_replace(Arc::new(Generation {
            config,
            instances,
            store,
        }));
        Ok(())
    }
}
