//! One pull session carried out: the core's machine over a connection,
//! its requests answered by the store and the marks file.

use super::{PullStore, Upstream, marks};
use crate::driver::Clock;
use crate::tls::Transport;
use postern_core::limits::{NNTP_PULL_SESSION_TIMEOUT, READ_CHUNK_BYTES};
use postern_core::nntp::GroupName;
use postern_core::nntp::client::{
    Input, Outcome, Output, PostResult, PullClient, PullEvent, PullFailure, PullState,
    article_for_post,
};
use postern_core::smtp::client::DotStuffer;
use postern_core::text::escape_controls;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long the close after the outcome may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the session over `stream` to its end, within
/// [`NNTP_PULL_SESSION_TIMEOUT`].
pub(super) async fn run<S, St>(
    upstream: &Upstream,
    store: &St,
    stream: S,
    state: PullState,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
    St: PullStore,
{
    let mut driver = Driver {
        upstream,
        store,
        connection: Transport::Plain(stream),
        marks: state.high_water.clone(),
        clock: Clock::new(),
    };
    let machine = PullClient::new(upstream.config.clone(), state, driver.clock.now());
    match tokio::time::timeout(NNTP_PULL_SESSION_TIMEOUT, driver.drive(machine)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome {
            failure: Some(PullFailure {
                stage: "session",
                detail: format!(
                    "the session ran over {}s",
                    NNTP_PULL_SESSION_TIMEOUT.as_secs()
                ),
            }),
            ..Outcome::default()
        },
    }
}

struct Driver<'a, S, St> {
    upstream: &'a Upstream,
    store: &'a St,
    connection: Transport<S>,
    marks: BTreeMap<GroupName, u32>,
    clock: Clock,
}

/// What the machine is told next, besides bytes and timers.
enum Reply {
    Input(Input<'static>),
    EndOfInput,
}

impl<S, St> Driver<'_, S, St>
where
    S: AsyncRead + AsyncWrite + Unpin,
    St: PullStore,
{
    /// Every write and handshake within the command timeout; reads within
    /// the machine's timers.
    fn io_timeout(&self) -> Duration {
        self.upstream.config.timeouts.command
    }

    fn driver_timeout(&self) -> Duration {
        self.upstream.config.timeouts.driver
    }

    async fn drive(&mut self, mut machine: PullClient) -> Outcome {
        let mut buffer = vec![0u8; READ_CHUNK_BYTES];
        let mut outcome = None;
        loop {
            let mut reply: Option<Reply> = None;
            let mut write_failed = false;
            while let Some(output) = machine.poll_output() {
                match output {
                    Output::Send(bytes) if !write_failed => {
                        write_failed = !self.write(&bytes).await;
                    }
                    Output::Send(_) => {}
                    Output::StartTls => reply = Some(self.start_tls().await),
                    Output::Article { group, bytes, .. } => {
                        reply = Some(self.store_article(&group, bytes).await);
                    }
                    Output::Pulled { group, number } => self.record_mark(group, number).await,
                    Output::SendPost { id } if !write_failed => {
                        reply = Some(self.send_post(id).await);
                    }
                    Output::SendPost { .. } => {}
                    Output::Posted { id, result } => self.posted(id, &result).await,
                    Output::Finished(result) => outcome = Some(result),
                    Output::Close => {}
                    Output::Event(event) => self.log_event(&event),
                }
            }
            if machine.is_finished() {
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.connection.shutdown()).await;
                return outcome.expect("a finished machine has given its outcome");
            }
            if write_failed || matches!(reply, Some(Reply::EndOfInput)) {
                machine.handle_input(self.clock.now(), Input::EndOfInput);
                continue;
            }
            if let Some(Reply::Input(input)) = reply {
                machine.handle_input(self.clock.now(), input);
                continue;
            }
            let flushed = tokio::time::timeout(self.io_timeout(), self.connection.flush()).await;
            if !matches!(flushed, Ok(Ok(()))) {
                machine.handle_input(self.clock.now(), Input::EndOfInput);
                continue;
            }
            let timer = self.clock.sleep_until(machine.poll_timeout());
            tokio::select! {
                read = self.connection.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => machine.handle_input(self.clock.now(), Input::EndOfInput),
                    Ok(n) => machine.handle_input(self.clock.now(), Input::Bytes(&buffer[..n])),
                },
                () = timer => machine.handle_input(self.clock.now(), Input::TimerFired),
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> bool {
        matches!(
            tokio::time::timeout(self.io_timeout(), self.connection.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }

    async fn start_tls(&mut self) -> Reply {
        let plain = std::mem::replace(&mut self.connection, Transport::Closed);
        let (Transport::Plain(stream), Some(tls)) = (plain, &self.upstream.tls) else {
            return Reply::Input(Input::TlsFailed("TLS is not available here".into()));
        };
        match tls
            .connect(&self.upstream.host, stream, self.io_timeout())
            .await
        {
            Ok(encrypted) => {
                if let Some(description) = encrypted.describe() {
                    tracing::debug!(upstream = %self.upstream.name, "TLS handshake done: {description}");
                }
                self.connection = encrypted;
                Reply::Input(Input::TlsStarted)
            }
            Err(error) => Reply::Input(Input::TlsFailed(error.to_string())),
        }
    }

    async fn store_article(&mut self, group: &GroupName, bytes: Vec<u8>) -> Reply {
        let stored = tokio::time::timeout(
            self.driver_timeout(),
            self.store.store(&self.upstream.name, group, bytes),
        )
        .await;
        Reply::Input(match stored {
            Ok(Ok(())) => Input::Stored,
            Ok(Err(error)) => Input::StoreFailed(error.to_string()),
            Err(_) => Input::StoreFailed("the store did not answer in time".into()),
        })
    }

    /// A mark not written is harmless: the article is pulled again and
    /// the store drops it as a duplicate.
    async fn record_mark(&mut self, group: GroupName, number: u32) {
        self.marks.insert(group, number);
        if let Err(error) = marks::save(&self.upstream.state_file, &self.marks).await {
            tracing::warn!(
                upstream = %self.upstream.name,
                "nntp-pull upstream={} cannot write {}: {error}",
                self.upstream.name,
                self.upstream.state_file.display()
            );
        }
    }

    /// Streams article `id`, without our injection's header fields,
    /// dot-stuffed, and its final `.CRLF`.
    async fn send_post(&mut self, id: u64) -> Reply {
        let article = match tokio::time::timeout(self.driver_timeout(), self.store.article(id))
            .await
        {
            Ok(Ok(article)) => article,
            Ok(Err(error)) => {
                tracing::warn!(upstream = %self.upstream.name, "nntp-pull upstream={} cannot read article {id}: {error}", self.upstream.name);
                return Reply::EndOfInput;
            }
            Err(_) => return Reply::EndOfInput,
        };
        let article = article_for_post(&article);
        let mut stuffer = DotStuffer::default();
        let mut out = Vec::with_capacity(article.len() + 16);
        stuffer.stuff(&article, &mut out);
        stuffer.finish(&mut out);
        if self.write(&out).await {
            Reply::Input(Input::PostSent)
        } else {
            Reply::EndOfInput
        }
    }

    async fn posted(&mut self, id: u64, result: &PostResult) {
        let name = &self.upstream.name;
        match result {
            PostResult::Accepted => {
                tracing::info!(upstream = %name, "nntp-pull upstream={name} posted article {id}")
            }
            PostResult::Refused(reason) => {
                tracing::info!(upstream = %name, "nntp-pull upstream={name} refused article {id}: {reason}")
            }
            PostResult::Deferred(reason) => {
                tracing::info!(upstream = %name, "nntp-pull upstream={name} deferred article {id}: {reason}")
            }
            PostResult::CameFromUpstream => {
                tracing::info!(upstream = %name, "nntp-pull upstream={name} article {id} came from there; not posted back")
            }
        }
        let recorded =
            tokio::time::timeout(self.driver_timeout(), self.store.posted(name, id, result)).await;
        if !matches!(recorded, Ok(Ok(()))) {
            tracing::warn!(upstream = %name, "nntp-pull upstream={name} cannot record what became of article {id}; it may be posted again (the upstream refuses a duplicate Message-ID)");
        }
    }

    fn log_event(&self, event: &PullEvent) {
        let name = &self.upstream.name;
        let text = escape_controls(&event.to_string()).into_owned();
        match event {
            PullEvent::Response { .. } => tracing::trace!(upstream = %name, "{text}"),
            PullEvent::GroupDone { .. } | PullEvent::TlsStarted | PullEvent::Authenticated => {
                tracing::debug!(upstream = %name, "nntp-pull upstream={name} {text}")
            }
            _ => tracing::info!(upstream = %name, "nntp-pull upstream={name} {text}"),
        }
    }
}
