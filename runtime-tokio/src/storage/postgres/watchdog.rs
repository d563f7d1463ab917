//! A deadline on every answer the database owes: the pool's connections
//! go through [`Watched`], which fails a connection whose server has not
//! answered a request within [`STORAGE_ANSWER_TIMEOUT`].
//!
//! Why: a node cut off from the database by a network that drops packets
//! (or by anything that holds the bytes without answering) would wait on
//! a query for as long as TCP takes to give up (a quarter of an hour on
//! Linux's defaults); a session waiting on its commit would never get its
//! `451`, and the pool would hand the dead connection to the next caller.
//! With the deadline, the connection fails: every query on it gets an
//! error (the session answers `451 4.3.0`, the claimer and renewer back
//! off), and the pool, finding it closed, makes a new one.
//!
//! The stream counts requests and answers in PostgreSQL's framing
//! (protocol 3.0, section 55.7 of its manual): every message the client
//! sends is one type octet and a length, except the first (the startup
//! message, length only). The startup message, a simple `Query` (`Q`) and
//! a `Sync` (`S`) are each answered by one `ReadyForQuery` (`Z`). While
//! more are owed than have come, the connection must make progress: any
//! octet read restarts the clock (a long answer that keeps coming is
//! fine); none for the whole deadline fails it. A connection owed
//! nothing (idle in the pool) has no deadline.
//!
//! The count needs the protocol's octets in clear: on a connection in
//! clear the socket is watched; over TLS ([`WatchedTls`]) the stream TLS
//! makes is, and the socket's opening and the TLS negotiation before it
//! are bounded by the pool's creation deadline.

use postern_core::limits::STORAGE_ANSWER_TIMEOUT;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Where a message's frame stands in a byte stream of one direction.
#[derive(Debug)]
struct Frames {
    /// Whether messages carry a type octet (all but the client's first).
    typed: bool,
    header: [u8; 5],
    have: usize,
    /// Octets of the current message's body still to pass.
    skip: usize,
}

impl Frames {
    fn new(typed: bool) -> Self {
        Frames {
            typed,
            header: [0; 5],
            have: 0,
            skip: 0,
        }
    }

    /// Passes `bytes`; calls `each` with the type of every message whose
    /// header is complete (`None` for the untyped startup message).
    fn feed(&mut self, mut bytes: &[u8], mut each: impl FnMut(Option<u8>)) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let size = if self.typed { 5 } else { 4 };
            let n = (size - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have < size {
                return;
            }
            let length = &self.header[size - 4..size];
            let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]);
            // The length counts itself; a shorter one is the server's or
            // our own bug, and passing nothing more keeps the count sane.
            self.skip = (length as usize).saturating_sub(4);
            self.have = 0;
            each(self.typed.then_some(self.header[0]));
            self.typed = true;
        }
    }
}

/// The answers owed on one connection.
#[derive(Debug)]
pub(super) struct Owed {
    sent: Frames,
    received: Frames,
    owed: u32,
}

impl Owed {
    pub(super) fn new() -> Self {
        Owed {
            sent: Frames::new(false),
            received: Frames::new(true),
            owed: 0,
        }
    }

    /// Notes octets written; answers whether a request is now owed an
    /// answer where none was.
    pub(super) fn wrote(&mut self, bytes: &[u8]) -> bool {
        let before = self.owed;
        let owed = &mut self.owed;
        self.sent.feed(bytes, |kind| {
            if matches!(kind, None | Some(b'Q') | Some(b'S')) {
                *owed = owed.saturating_add(1);
            }
        });
        before == 0 && self.owed > 0
    }

    /// Notes octets read.
    pub(super) fn read(&mut self, bytes: &[u8]) {
        let owed = &mut self.owed;
        self.received.feed(bytes, |kind| {
            if kind == Some(b'Z') {
                *owed = owed.saturating_sub(1);
            }
        });
    }

    pub(super) fn waiting(&self) -> bool {
        self.owed > 0
    }
}

/// A connection's stream with the deadline.
pub(super) struct Watched<S> {
    inner: S,
    owed: Owed,
    timeout: Duration,
    /// When the connection fails unless an octet comes first.
    deadline: Pin<Box<Sleep>>,
}

impl<S> Watched<S> {
    pub(super) fn new(inner: S) -> Self {
        Self::with_timeout(inner, STORAGE_ANSWER_TIMEOUT)
    }

    pub(super) fn with_timeout(inner: S, timeout: Duration) -> Self {
        Watched {
            inner,
            owed: Owed::new(),
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn restart(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.timeout);
    }

    /// Fails when an answer is owed and the deadline has passed; else
    /// makes sure the task is woken when it passes.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.owed.waiting() && self.deadline.as_mut().poll(cx).is_ready() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the database did not answer within {}s",
                    self.timeout.as_secs()
                ),
            ));
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = &buf.filled()[before..];
                if !fresh.is_empty() {
                    this.owed.read(fresh);
                    this.restart();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match this.check(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written
            && this.owed.wrote(&buf[..n])
        {
            // The clock starts with the first request owed an answer.
            this.restart();
            this.check(cx)?;
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for Watched<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// A TLS connector whose streams are [`Watched`]: the deadline counts
/// the protocol above TLS.
pub(super) struct WatchedTls<T>(T);

impl<S, T> MakeTlsConnect<S> for WatchedTls<T>
where
    T: MakeTlsConnect<S>,
    <T::TlsConnect as TlsConnect<S>>::Future: Send + 'static,
{
    type Stream = Watched<T::Stream>;
    type TlsConnect = WatchedTls<T::TlsConnect>;
    type Error = T::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, T::Error> {
        self.0.make_tls_connect(domain).map(WatchedTls)
    }
}

impl<S, T> TlsConnect<S> for WatchedTls<T>
where
    T: TlsConnect<S>,
    T::Future: Send + 'static,
{
    type Stream = Watched<T::Stream>;
    type Error = T::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Stream, T::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let handshake = self.0.connect(stream);
        Box::pin(async move { handshake.await.map(Watched::new) })
    }
}

/// Makes the pool's connections: each over a [`Watched`] stream, in
/// clear or over TLS with `tls` as the client's settings say.
pub(super) struct WatchedConnect {
    pub(super) tls: MakeRustlsConnect,
}

type Connected =
    Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>;

/// What the connections run over: TCP, or a Unix socket.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

impl deadpool_postgres::Connect for WatchedConnect {
    fn connect(
        &self,
        config: &tokio_postgres::Config,
    ) -> Pin<Box<dyn Future<Output = Connected> + Send + '_>> {
        let config = config.clone();
        let tls = self.tls.clone();
        Box::pin(async move {
            if config.get_ssl_mode() != SslMode::Disable {
                // The client opens the socket and negotiates TLS; the
                // stream above TLS is watched.
                let (client, connection) = config.connect(WatchedTls(tls)).await?;
                return Ok((client, tokio::spawn(run(connection))));
            }
            let Some(stream) = open(&config).await else {
                // No host took the connection: the client's own attempt
                // says why, in its words ("Connection refused"). Should it
                // succeed after all, its connection is used, unwatched.
                let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
                return Ok((client, tokio::spawn(run(connection))));
            };
            let watched = Watched::new(stream);
            let (client, connection) = config.connect_raw(watched, tokio_postgres::NoTls).await?;
            Ok((client, tokio::spawn(run(connection))))
        })
    }
}

async fn run<F: Future<Output = Result<(), tokio_postgres::Error>>>(connection: F) {
    if let Err(error) = connection.await {
        tracing::debug!("database connection closed: {}", super::describe(&error));
    }
}

/// A stream to the first of `config`'s hosts that takes one, in order
/// (a port each, or one for all; PostgreSQL's 5432 when none is named).
async fn open(config: &tokio_postgres::Config) -> Option<Box<dyn Transport>> {
    let ports = config.get_ports();
    for (index, host) in config.get_hosts().iter().enumerate() {
        let port = ports
            .get(index)
            .or_else(|| ports.first())
            .copied()
            .unwrap_or(5432);
        match host {
            tokio_postgres::config::Host::Tcp(name) => {
                if let Ok(stream) = tokio::net::TcpStream::connect((name.as_str(), port)).await {
                    let _ = stream.set_nodelay(true);
                    return Some(Box::new(stream));
                }
            }
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(dir) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                if let Ok(stream) = tokio::net::UnixStream::connect(path).await {
                    return Some(Box::new(stream));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut bytes = vec![kind];
        bytes.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        bytes.extend_from_slice(body);
        bytes
    }

    fn startup() -> Vec<u8> {
        let body = b"\x00\x03\x00\x00user\x00postern\x00\x00";
        let mut bytes = (body.len() as u32 + 4).to_be_bytes().to_vec();
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn the_startup_a_query_and_a_sync_are_each_owed_one_ready_for_query() {
        let mut owed = Owed::new();
        assert!(owed.wrote(&startup()), "the startup is owed an answer");
        owed.read(&message(b'R', &[0, 0, 0, 0]));
        assert!(owed.waiting(), "authentication is not the end of it");
        owed.read(&message(b'Z', b"I"));
        assert!(!owed.waiting());

        // The extended protocol: Parse, Bind, Execute, Sync; then a query.
        let mut sent = message(b'P', b"\0SELECT 1\0\0\0");
        sent.extend(message(b'B', &[0; 8]));
        sent.extend(message(b'E', &[0; 5]));
        sent.extend(message(b'S', b""));
        sent.extend(message(b'Q', b"NOTIFY x\0"));
        assert!(owed.wrote(&sent));
        owed.read(&message(b'1', b""));
        owed.read(&message(b'Z', b"T"));
        assert!(owed.waiting(), "the query's answer is still owed");
        owed.read(&message(b'Z', b"I"));
        assert!(!owed.waiting());
    }

    #[test]
    fn any_split_of_the_bytes_counts_the_same() {
        let mut sent = startup();
        sent.extend(message(b'p', b"secret\0"));
        sent.extend(message(b'Q', b"SELECT 1\0"));
        sent.extend(message(b'X', b""));
        let mut answer = message(b'R', &[0, 0, 0, 0]);
        answer.extend(message(b'D', &[7; 300]));
        answer.extend(message(b'Z', b"I"));
        for split in 1..sent.len() {
            let mut owed = Owed::new();
            owed.wrote(&sent[..split]);
            owed.wrote(&sent[split..]);
            assert_eq!(owed.owed, 2, "split at {split}");
            for chunk in answer.chunks(split.min(answer.len())) {
                owed.read(chunk);
            }
            assert_eq!(owed.owed, 1, "split at {split}");
        }
    }

    #[tokio::test]
    async fn a_request_unanswered_past_the_deadline_fails_the_connection_and_an_idle_one_never() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        const DEADLINE: Duration = Duration::from_millis(200);
        let (client, mut server) = tokio::io::duplex(4096);
        let mut watched = Watched::with_timeout(client, DEADLINE);
        // Idle: no deadline, however long.
        let mut byte = [0u8; 1];
        let idle = tokio::time::timeout(DEADLINE * 3, watched.read(&mut byte)).await;
        assert!(idle.is_err(), "an idle connection stays open");

        watched.write_all(&startup()).await.unwrap();
        let mut heard = vec![0; startup().len()];
        server.read_exact(&mut heard).await.unwrap();
        server.write_all(&message(b'Z', b"I")).await.unwrap();
        let mut answer = [0u8; 6];
        watched.read_exact(&mut answer).await.unwrap();

        watched
            .write_all(&message(b'Q', b"SELECT 1\0"))
            .await
            .unwrap();
        let started = Instant::now();
        let error = watched.read(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= DEADLINE, "{:?}", started.elapsed());
    }
}
