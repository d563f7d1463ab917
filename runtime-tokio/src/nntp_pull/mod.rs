//! Pulling newsgroups from upstream news servers (`[[news_upstream]]`),
//! and posting local articles to them, on a schedule.
//!
//! One task per upstream ([`run_upstream`]) runs a round every
//! `interval`: it dials the server, drives the core's
//! [`PullClient`](postern_core::nntp::client::PullClient) over TCP (and
//! TLS), and sleeps; a failed round is retried sooner, backing off
//! ([`next_round_in`]). Every wait is bounded: the dial by
//! [`NNTP_PULL_CONNECT_TIMEOUT`], each read by the machine's timers, each
//! write and handshake by the machine's command timeout, and the whole
//! round by [`NNTP_PULL_SESSION_TIMEOUT`].
//!
//! Storage is reached only through [`PullStore`], which the news store
//! implements. The high-water marks (the last article number pulled from
//! each group) are this module's own: a small state file per upstream,
//! `DATA/news-upstream/NAME`, one `group number` line each, replaced
//! atomically after every stored article ([`marks`]). A crash between
//! storing an article and writing its mark re-pulls the article next
//! round; the store drops a Message-ID it already holds.

pub mod marks;
mod session;
#[cfg(test)]
mod tests;

use crate::tls::ClientTls;
use postern_core::config::NewsUpstreamConfig;
use postern_core::limits::{
    NNTP_PULL_CONNECT_TIMEOUT, NNTP_PULL_PASSWORD_FILE_BYTES_MAX, NNTP_PULL_POSTS_PER_SESSION_MAX,
};
use postern_core::nntp::GroupName;
use postern_core::nntp::client::{
    Outcome, Outgoing, PostResult, PullConfig, PullFailure, PullState, PullTimeouts, UpstreamTls,
    next_round_in,
};
use postern_core::smtp::client::Credentials;
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

/// Where pulled articles go and local posts come from: the news store.
///
/// Every method may take its time but must not block the thread; the
/// driver bounds each call ([`NNTP_PULL_DRIVER_TIMEOUT`]).
///
/// [`NNTP_PULL_DRIVER_TIMEOUT`]: postern_core::limits::NNTP_PULL_DRIVER_TIMEOUT
pub trait PullStore: Send + Sync + 'static {
    /// Stores `article` (CRLF lines, as the upstream sent it), pulled
    /// from `group` on `upstream`, durably before returning `Ok`. An
    /// article whose Message-ID the group already holds is dropped, and
    /// that is `Ok` too: a round cut short pulls it again.
    fn store(
        &self,
        upstream: &str,
        group: &GroupName,
        article: Vec<u8>,
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// The ids of local articles waiting to go to `upstream`, oldest
    /// first, at most `max`.
    fn outgoing(
        &self,
        upstream: &str,
        max: usize,
    ) -> impl Future<Output = io::Result<Vec<u64>>> + Send;

    /// The whole article `id` (CRLF lines), to post.
    fn article(&self, id: u64) -> impl Future<Output = io::Result<Vec<u8>>> + Send;

    /// What became of `id` at `upstream`: [`PostResult::Accepted`],
    /// [`PostResult::Refused`] (tell the poster) and
    /// [`PostResult::CameFromUpstream`] take it off the queue;
    /// [`PostResult::Deferred`] leaves it for the next round.
    fn posted(
        &self,
        upstream: &str,
        id: u64,
        result: &PostResult,
    ) -> impl Future<Output = io::Result<()>> + Send;
}

/// How an upstream is reached: TCP in production, something else in a
/// simulation.
pub trait Dialer: Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Connects to `host:port`. The caller bounds the wait.
    fn dial(&self, host: &str, port: u16) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// Dials with tokio's TCP (names resolved by the system).
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpDialer;

impl Dialer for TcpDialer {
    type Stream = tokio::net::TcpStream;

    async fn dial(&self, host: &str, port: u16) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

/// An upstream ready to pull from: its configuration with the password
/// read and the paths resolved.
#[derive(Clone)]
pub struct Upstream {
    pub name: String,
    pub host: String,
    pub port: u16,
    /// The machine's configuration.
    pub config: Arc<PullConfig>,
    /// How the certificate is checked, when TLS is used.
    pub tls: Option<ClientTls>,
    /// `DATA/news-upstream/NAME`: the high-water marks.
    pub state_file: PathBuf,
    pub interval: std::time::Duration,
}

impl Upstream {
    /// Reads the password file and the CA file; relative paths are
    /// relative to `config_dir`. The error names the file.
    pub fn load(
        config: &NewsUpstreamConfig,
        config_dir: &Path,
        data_dir: &Path,
    ) -> Result<Upstream, String> {
        let resolve = |path: &Path| config_dir.join(path);
        let credentials = match (&config.username, &config.password_file) {
            (Some(user), Some(file)) => Some(Credentials {
                user: user.clone(),
                password: read_password(&resolve(file))?,
            }),
            _ => None,
        };
        let tls = match config.tls {
            UpstreamTls::None => None,
            UpstreamTls::StartTls | UpstreamTls::Implicit => Some(ClientTls::verified(
                config.ca_file.as_deref().map(resolve).as_deref(),
            )?),
        };
        let mut pull = PullConfig::new(config.groups.clone(), &config.path_identity);
        pull.tls = config.tls;
        pull.credentials = credentials;
        pull.post_local = config.post_local;
        pull.article_bytes_max = config.max_article_size;
        pull.timeouts = PullTimeouts::default();
        Ok(Upstream {
            name: config.name.clone(),
            host: config.host.clone(),
            port: config.port,
            config: Arc::new(pull),
            tls,
            state_file: data_dir.join("news-upstream").join(&config.name),
            interval: config.interval,
        })
    }
}

/// The first line of `path`, at most [`NNTP_PULL_PASSWORD_FILE_BYTES_MAX`]
/// octets read.
fn read_password(path: &Path) -> Result<String, String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(NNTP_PULL_PASSWORD_FILE_BYTES_MAX as u64)
                .read_to_string(&mut text)
        })
        .map_err(|error| format!("{}: cannot read the password: {error}", path.display()))?;
    let password = text.lines().next().unwrap_or("").to_owned();
    if password.is_empty() {
        return Err(format!("{}: the password file is empty", path.display()));
    }
    Ok(password)
}

/// Runs rounds for `upstream` until `shutdown` turns true.
pub async fn run_upstream<D: Dialer, S: PullStore>(
    upstream: Upstream,
    dialer: D,
    store: S,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let outcome = tokio::select! {
            outcome = pull_once(&upstream, &dialer, &store) => outcome,
            _ = shutdown.changed() => return,
        };
        failures = match outcome.failure {
            Some(_) => failures.saturating_add(1),
            None => 0,
        };
        let wait = next_round_in(upstream.interval, failures);
        tracing::debug!(upstream = %upstream.name, "nntp-pull upstream={} next round in {}s", upstream.name, wait.as_secs());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One round: dial, pull, post, quit. Logs one line with the result.
pub async fn pull_once<D: Dialer, S: PullStore>(
    upstream: &Upstream,
    dialer: &D,
    store: &S,
) -> Outcome {
    let outcome = match prepare(upstream, store).await {
        Ok(state) => dial_and_run(upstream, dialer, store, state).await,
        Err(error) => failed("store", format!("cannot read the local state: {error}")),
    };
    let name = &upstream.name;
    match &outcome.failure {
        None => tracing::info!(
            upstream = %name,
            "nntp-pull upstream={name} pulled={} posted={} refused={}",
            outcome.pulled,
            outcome.posted,
            outcome.refused
        ),
        Some(failure) => tracing::warn!(
            upstream = %name,
            "nntp-pull upstream={name} pulled={} posted={} refused={} failed: {failure}",
            outcome.pulled,
            outcome.posted,
            outcome.refused
        ),
    }
    outcome
}

async fn dial_and_run<D: Dialer, S: PullStore>(
    upstream: &Upstream,
    dialer: &D,
    store: &S,
    state: PullState,
) -> Outcome {
    let dialled = tokio::time::timeout(
        NNTP_PULL_CONNECT_TIMEOUT,
        dialer.dial(&upstream.host, upstream.port),
    )
    .await;
    let stream = match dialled {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            let (host, port) = (&upstream.host, upstream.port);
            return failed(
                "connection",
                format!("cannot connect to {host}:{port}: {error}"),
            );
        }
        Err(_) => return failed("connection", "the connection timed out".to_owned()),
    };
    session::run(upstream, store, stream, state).await
}

/// The marks, and what waits to be posted.
async fn prepare<S: PullStore>(upstream: &Upstream, store: &S) -> io::Result<PullState> {
    let high_water = marks::load(&upstream.state_file).await?;
    let mut outgoing = Vec::new();
    if upstream.config.post_local {
        for id in store
            .outgoing(&upstream.name, NNTP_PULL_POSTS_PER_SESSION_MAX)
            .await?
        {
            // Read once here for its Path; again when it is sent, so that
            // no more than one article is held at a time.
            let article = store.article(id).await?;
            outgoing.push(Outgoing::new(id, &article));
        }
    }
    Ok(PullState {
        high_water,
        outgoing,
    })
}

fn failed(stage: &'static str, detail: String) -> Outcome {
    Outcome {
        failure: Some(PullFailure { stage, detail }),
        ..Outcome::default()
    }
}
