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
/// finished by then (the connection is dropped).
///
/// Nothing waits unbounded: every write, the flush after it and the TLS
/// handshake within `block_timeout` (RFC 5321 4.5.3.2.5), reads within the
/// machine's timer, all of it within `deadline`; and the close once the
/// outcome is known within [`CLIENT_CLOSE_TIMEOUT`], so a server that
/// stopped reading cannot keep the outcome, or the connection slot.
#[allow(clippy::too_many_arguments)]
pub async fn run_client_until<S, R>(
    stream: S,
    mut machine: client::Client,
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
    let mut connection = Transport::Plain(stream);
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    let mut outcome = None;
    // A write or handshake may take `block_timeout`, never past `deadline`.
    let block = || within(block_timeout, deadline);
    loop {
        let mut write_failed = false;
        let mut message_sent = false;
        let mut close = false;
        let mut tls_result = None;
        while let Some(output) = machine.poll_output() {
            match output {
                client::Output::Send(bytes) => {
                    if !write_failed
                        && !matches!(
                            tokio::time::timeout_at(block(), connection.write_all(&bytes)).await,
                            Ok(Ok(()))
                        )
                    {
                        write_failed = true;
                    }
                }
                client::Output::SendMessage if !write_failed => {
                    match send_message(&mut message, &mut connection, block_timeout, deadline).await
                    {
                        Ok(()) => message_sent = true,
                        Err(error) => {
                            tracing::debug!(%error, "sending the message failed");
                            write_failed = true;
                        }
                    }
                }
                client::Output::SendMessage => {}
                client::Output::StartTls if !write_failed => {
                    let plain = std::mem::replace(&mut connection, Transport::Closed);
                    tls_result = Some(match (plain, tls) {
                        (Transport::Plain(stream), Some((tls, host))) => {
                            let limit =
                                block().saturating_duration_since(tokio::time::Instant::now());
                            match tls.connect(host, stream, limit).await {
                                Ok(encrypted) => {
                                    if let Some(description) = encrypted.describe() {
                                        tracing::debug!("TLS handshake done: {description}");
                                    }
                                    connection = encrypted;
                                    client::Input::TlsStarted
                                }
                                // The connection is unusable now.
                                Err(error) => client::Input::TlsFailed(error.to_string()),
                            }
                        }
                        (other, _) => {
                            connection = other;
                            client::Input::TlsFailed("TLS is not available here".into())
                        }
                    });
                }
                client::Output::StartTls => {}
                client::Output::Finished(result) => outcome = Some(result),
                client::Output::Close => close = true,
                client::Output::Event(event) => on_event(&event),
            }
        }
        if close || machine.is_finished() {
            // The outcome is known: the close is bounded on its own, and
            // does not hold the result back.
            let _ = tokio::time::timeout(CLIENT_CLOSE_TIMEOUT, async {
                let _ = connection.flush().await;
                let _ = connection.shutdown().await;
            })
            .await;
            return Some(outcome.expect("a finished client has given its outcome"));
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        if let Some(input) = tls_result {
            machine.handle_input(clock.now(), input);
            continue;
        }
        // What was written may still sit in the TLS layer's buffer.
        if !write_failed
            && !matches!(
                tokio::time::timeout_at(block(), connection.flush()).await,
                Ok(Ok(()))
            )
        {
            write_failed = true;
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        if write_failed {
            machine.handle_input(clock.now(), client::Input::EndOfInput);
            continue;
        }
        if message_sent {
            machine.handle_input(clock.now(), client::Input::MessageSent);
            continue;
        }
        let timer = clock.sleep_until(machine.poll_timeout());
        tokio::select! {
            read = connection.read(&mut buffer) => match read {
                Ok(0) | Err(_) => machine.handle_input(clock.now(), client::Input::EndOfInput),
                Ok(n) => machine.handle_input(clock.now(), client::Input::Bytes(&buffer[..n])),
            },
            () = timer => machine.handle_input(clock.now(), client::Input::TimerFired),
            () = tokio::time::sleep_until(deadline) => return None,
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
    let mut chunk = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(chunk.len() + 1024);
    let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "the server stopped taking data");
    loop {
        let n = message.read(&mut chunk).await?;
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
