//! The SMTP client's driver: runs the client machine over a connection to
//! another server, streaming the message when the machine asks for it.

use super::Clock;
use crate::tls::{ClientTls, Transport};
use postern_core::limits::{ATTEMPT_TIMEOUT_MAX, CLIENT_CLOSE_TIMEOUT, READ_CHUNK_BYTES};
use postern_core::smtp::client;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Runs the SMTP client `machine` over `stream` until it finishes, and
/// returns its outcome. `message` is the message data (CRLF lines), read
/// from its start and dot-stuffed on the way out when the machine asks.
///
/// `tls` names the server (as its certificate should) and says how to
/// treat its certificate, for when the machine starts TLS.
pub async fn run_client<S, R>(
    stream: S,
    machine: client::Client,
    tls: Option<(&ClientTls, &str)>,
    clock: Clock,
    message: R,
    block_timeout: Duration,
    on_event: impl FnMut(&client::ClientEvent),
) -> client::Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let far = tokio::time::Instant::now() + ATTEMPT_TIMEOUT_MAX;
    let outcome = run_client_until(
        stream,
        machine,
        tls,
        clock,
        message,
        block_timeout,
        far,
        on_event,
    );
    outcome
        .await
        .expect("no session outlasts the longest attempt deadline")
}

/// As [`run_client`], until `deadline`: `None` when the session had not
/// finished by then (the connection is dropped). One message: should the
/// machine offer the connection for another, it is told there is none.
#[allow(clippy::too_many_arguments)]
pub async fn run_client_until<S, R>(
    stream: S,
    machine: client::Client,
    tls: Option<(&ClientTls, &str)>,
    clock: Clock,
    mut message: R,
    block_timeout: Duration,
    deadline: tokio::time::Instant,
    mut on_event: impl FnMut(&client::ClientEvent),
) -> Option<client::Outcome>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let tls = tls.map(|(tls, host)| (tls.clone(), host.to_owned()));
    let mut connection = ClientConnection::new(stream, machine, tls, clock, block_timeout);
    let (outcome, ready) = connection
        .transaction(&mut message, deadline, &mut on_event)
        .await?;
    if ready {
        connection.quit(&mut on_event).await;
    }
    Some(outcome)
}

/// The client machine over one connection, which may carry several
/// messages (see `postern_core::smtp::client`, "Connection reuse").
///
/// Nothing waits unbounded: every write, the flush after it and the TLS
/// handshake within `block_timeout` (RFC 5321 4.5.3.2.5), reads within the
/// machine's timer, a transaction within its `deadline`; and the close
/// once the outcome is known within [`CLIENT_CLOSE_TIMEOUT`], so a server
/// that stopped reading cannot keep the outcome, or the connection slot.
pub struct ClientConnection<S> {
    connection: Transport<S>,
    machine: client::Client,
    /// How to treat the server's certificate, and its name, for STARTTLS.
    tls: Option<(ClientTls, String)>,
    clock: Clock,
    buffer: Vec<u8>,
    block_timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ClientConnection<S> {
    /// `machine` over `stream`, which has just been connected.
    pub fn new(
        stream: S,
        machine: client::Client,
        tls: Option<(ClientTls, String)>,
        clock: Clock,
        block_timeout: Duration,
    ) -> Self {
        ClientConnection {
            connection: Transport::Plain(stream),
            machine,
            tls,
            clock,
            buffer: vec![0u8; READ_CHUNK_BYTES],
            block_timeout,
        }
    }

    /// When the machine, waiting between transactions, gives up on the
    /// next message (the idle limit).
    pub fn idle_until(&self) -> tokio::time::Instant {
        let at = self
            .machine
            .poll_timeout()
            .unwrap_or_else(|| self.clock.now());
        self.clock.to_tokio(at)
    }

    /// Hands the machine its next message and runs that transaction, as
    /// [`ClientConnection::transaction`].
    pub async fn next<R: AsyncRead + Unpin>(
        &mut self,
        delivery: client::Delivery,
        message: &mut R,
        deadline: tokio::time::Instant,
        on_event: &mut impl FnMut(&client::ClientEvent),
    ) -> Option<(client::Outcome, bool)> {
        self.machine
            .handle_input(self.clock.now(), client::Input::NextMessage(delivery));
        self.transaction(message, deadline, on_event).await
    }

    /// Tells the machine there is no other message, sends its QUIT and
    /// closes, within [`CLIENT_CLOSE_TIMEOUT`].
    pub async fn quit(mut self, on_event: &mut impl FnMut(&client::ClientEvent)) {
        self.machine
            .handle_input(self.clock.now(), client::Input::NoMoreMessages);
        let _ = tokio::time::timeout(CLIENT_CLOSE_TIMEOUT, async {
            while let Some(output) = self.machine.poll_output() {
                match output {
                    client::Output::Send(bytes) => {
                        let _ = self.connection.write_all(&bytes).await;
                    }
                    client::Output::Event(event) => on_event(&event),
                    _ => {}
                }
            }
            let _ = self.connection.flush().await;
            let _ = self.connection.shutdown().await;
        })
        .await;
    }

    /// Runs the machine until the message in hand has its outcome, and
    /// says whether the connection is then free for another (`true`: the
    /// machine is waiting for [`ClientConnection::next`] or
    /// [`ClientConnection::quit`]; `false`: it is closed). `None` when
    /// `deadline` passed first (the connection is then useless: drop it).
    /// `message` is the message data (CRLF lines), read from its start and
    /// dot-stuffed on the way out when the machine asks.
    pub async fn transaction<R: AsyncRead + Unpin>(
        &mut self,
        message: &mut R,
        deadline: tokio::time::Instant,
        on_event: &mut impl FnMut(&client::ClientEvent),
    ) -> Option<(client::Outcome, bool)> {
        let block_timeout = self.block_timeout;
        // A write or handshake may take `block_timeout`, never past `deadline`.
        let block = || within(block_timeout, deadline);
        let mut outcome = None;
        loop {
            let mut write_failed = false;
            let mut message_unsent = None;
            let mut message_sent = false;
            let mut close = false;
            let mut ready = false;
            let mut tls_result = None;
            while let Some(output) = self.machine.poll_output() {
                match output {
                    client::Output::Send(bytes) => {
                        if !write_failed
                            && !matches!(
                                tokio::time::timeout_at(block(), self.connection.write_all(&bytes))
                                    .await,
                                Ok(Ok(()))
                            )
                        {
                            write_failed = true;
                        }
                    }
                    client::Output::SendMessage if !write_failed => {
                        match send_message(message, &mut self.connection, block_timeout, deadline)
                            .await
                        {
                            Ok(()) => message_sent = true,
                            Err(error) => {
                                tracing::debug!(%error, "sending the message failed");
                                message_unsent = Some(error.to_string());
                                write_failed = true;
                            }
                        }
                    }
                    client::Output::SendMessage => {}
                    client::Output::StartTls if !write_failed => {
                        tls_result = Some(self.start_tls(block()).await);
                    }
                    client::Output::StartTls => {}
                    client::Output::Finished(result) => outcome = Some(result),
                    client::Output::Ready => ready = true,
                    client::Output::Close => close = true,
                    client::Output::Event(event) => on_event(&event),
                }
            }
            if ready && !write_failed {
                // What was written may still sit in the TLS layer's buffer.
                let _ = tokio::time::timeout_at(block(), self.connection.flush()).await;
            }
            if ready || close || self.machine.is_finished() {
                if !ready {
                    // The outcome is known: the close is bounded on its
                    // own, and does not hold the result back.
                    let _ = tokio::time::timeout(CLIENT_CLOSE_TIMEOUT, async {
                        let _ = self.connection.flush().await;
                        let _ = self.connection.shutdown().await;
                    })
                    .await;
                }
                let outcome = outcome.expect("a transaction ends with its outcome");
                return Some((outcome, ready));
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            if let Some(input) = tls_result {
                self.machine.handle_input(self.clock.now(), input);
                continue;
            }
            if !write_failed
                && !matches!(
                    tokio::time::timeout_at(block(), self.connection.flush()).await,
                    Ok(Ok(()))
                )
            {
                write_failed = true;
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            let clock = self.clock;
            if let Some(why) = message_unsent {
                self.machine
                    .handle_input(clock.now(), client::Input::SendFailed(why));
                continue;
            }
            if write_failed {
                self.machine
                    .handle_input(clock.now(), client::Input::EndOfInput);
                continue;
            }
            if message_sent {
                self.machine
                    .handle_input(clock.now(), client::Input::MessageSent);
                continue;
            }
            let timer = clock.sleep_until(self.machine.poll_timeout());
            tokio::select! {
                read = self.connection.read(&mut self.buffer) => match read {
                    Ok(0) | Err(_) => self.machine.handle_input(clock.now(), client::Input::EndOfInput),
                    Ok(n) => self.machine.handle_input(clock.now(), client::Input::Bytes(&self.buffer[..n])),
                },
                () = timer => self.machine.handle_input(clock.now(), client::Input::TimerFired),
                () = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    /// The TLS handshake the machine asked for, bounded by `by`; the input
    /// that says how it went.
    async fn start_tls(&mut self, by: tokio::time::Instant) -> client::Input<'static> {
        let plain = std::mem::replace(&mut self.connection, Transport::Closed);
        match (plain, &self.tls) {
            (Transport::Plain(stream), Some((tls, host))) => {
                let limit = by.saturating_duration_since(tokio::time::Instant::now());
                match tls.connect(host, stream, limit).await {
                    Ok(encrypted) => {
                        if let Some(description) = encrypted.describe() {
                            tracing::debug!("TLS handshake done: {description}");
                        }
                        self.connection = encrypted;
                        client::Input::TlsStarted
                    }
                    // The connection is unusable now.
                    Err(error) => client::Input::TlsFailed(error.to_string()),
                }
            }
            (other, _) => {
                self.connection = other;
                client::Input::TlsFailed("TLS is not available here".into())
            }
        }
    }
}

/// `limit` from now, but never past `deadline`.
pub fn within(limit: Duration, deadline: tokio::time::Instant) -> tokio::time::Instant {
    tokio::time::Instant::now()
        .checked_add(limit)
        .map_or(deadline, |at| at.min(deadline))
}

/// Streams the message, dot-stuffed, and the final `.CRLF`; each write
/// must finish within `block_timeout`, and all of them by `deadline`.
/// The final `.CRLF` goes only once `message` has reached its end: a
/// reader that fails there instead (a node whose lease on the message
/// may have run out) leaves the server without a complete message.
async fn send_message<R, W>(
    message: &mut R,
    writer: &mut W,
    block_timeout: Duration,
    deadline: tokio::time::Instant,
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut stuffer = client::DotStuffer::default();
    // Read into spare capacity, not zeroed first: a message of a few KiB
    // touches a few KiB.
    let mut chunk = Vec::with_capacity(64 * 1024);
    let mut out = Vec::new();
    let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "the server stopped taking data");
    loop {
        chunk.clear();
        let n = message.read_buf(&mut chunk).await?;
        out.clear();
        if n == 0 {
            std::mem::take(&mut stuffer).finish(&mut out);
        } else {
            stuffer.stuff(&chunk[..n], &mut out);
        }
        tokio::time::timeout_at(within(block_timeout, deadline), async {
            writer.write_all(&out).await?;
            writer.flush().await
        })
        .await
        .map_err(|_| timed_out())??;
        if n == 0 {
            return Ok(());
        }
    }
}

/// The driver never ends a message its reader could not read to the end.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::{LEASE_MAY_HAVE_RUN_OUT, LeasedData};
    use postern_core::address::{parse_forward_path, parse_reverse_path};
    use postern_core::smtp::client::{ClientConfig, ClientTimeouts, Content, Delivery, Verdict};
    use postern_core::smtp::server::BodyType;
    use std::sync::Arc;
    use tokio::io::{AsyncBufReadExt, BufReader, DuplexStream};

    const MESSAGE: &[u8] = b"Subject: x\r\n\r\nbody\r\n";

    /// A server that takes every command, then reads what follows its 354
    /// until the client closes: answers those octets.
    async fn server(stream: DuplexStream) -> Vec<u8> {
        let mut stream = BufReader::new(stream);
        stream.write_all(b"220 mx.dest.test\r\n").await.unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            stream.read_line(&mut line).await.unwrap();
            let reply: &[u8] = if line.starts_with("EHLO") {
                b"250 mx.dest.test\r\n"
            } else if line.starts_with("DATA") {
                b"354 go ahead\r\n"
            } else {
                b"250 ok\r\n"
            };
            stream.write_all(reply).await.unwrap();
            if line.starts_with("DATA") {
                break;
            }
        }
        let mut data = Vec::new();
        stream.read_to_end(&mut data).await.unwrap();
        data
    }

    #[tokio::test]
    async fn a_message_whose_end_cannot_be_read_never_gets_its_final_dot() {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(server(theirs));
        let config = ClientConfig {
            hostname: "out.origin.test".into(),
            timeouts: ClientTimeouts::default(),
            credentials: None,
            tls: client::TlsPolicy::Never,
        };
        let delivery = Delivery {
            reverse_path: parse_reverse_path("<sender@origin.test>", false).unwrap(),
            recipients: vec![parse_forward_path("<a@dest.test>", false).unwrap()],
            size: MESSAGE.len() as u64,
            body: BodyType::SevenBit,
            smtputf8: false,
            content: Content::declared(BodyType::SevenBit, false),
        };
        let clock = Clock::new();
        let machine = client::Client::new(Arc::new(config), delivery, clock.now());
        // As a node's whose lease on the message may have run out.
        let message = LeasedData::new(io::Cursor::new(MESSAGE), || false);
        let outcome = run_client(
            ours,
            machine,
            None,
            clock,
            message,
            Duration::from_secs(5),
            |_| {},
        )
        .await;
        assert_eq!(
            server.await.unwrap(),
            MESSAGE,
            "the server got the message without its final dot, then the close"
        );
        let recipient = &outcome.recipients[0];
        assert_eq!(recipient.verdict, Verdict::Deferred);
        assert_eq!(recipient.detail, LEASE_MAY_HAVE_RUN_OUT);
    }
}
