//! The tunnel's runtime (`kind = "tunnel"`): connect to the target, then
//! copy bytes both ways in bounded buffers, as [`Relay`] in the core
//! decides: a side that closes its sending half is passed on as a
//! half-close, silence past the idle timeout ends the relay, and the last
//! log line gives the bytes each way and the duration.

use crate::driver::Clock;
use crate::resolver::Resolver;
use postern_core::limits::TUNNEL_BUFFER_BYTES;
use postern_core::route::HostAnswer;
use postern_core::tunnel::{Next, Relay, RelaySummary, Side, Target, TargetHost};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// How long the last shutdowns of a finished relay may take.
const CLOSE_TIME: Duration = Duration::from_secs(5);

/// Connects to `target` within `timeout`: a name is resolved through the
/// server's resolver, and each of its addresses is tried in turn. The
/// error says what failed, for the log.
pub async fn connect(
    resolver: &Resolver,
    target: &Target,
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), String> {
    let attempt = async {
        let addresses = match &target.host {
            TargetHost::Address(address) => vec![*address],
            TargetHost::Name(name) => match resolver.host(name).await {
                HostAnswer::Addresses(addresses) if !addresses.is_empty() => addresses,
                HostAnswer::Addresses(_) | HostAnswer::NotFound => {
                    return Err(format!("{name} has no address in DNS"));
                }
                HostAnswer::TemporaryFailure(error) => {
                    return Err(format!("cannot resolve {name}: {error}"));
                }
            },
        };
        let mut failures = Vec::new();
        for address in addresses {
            let address = SocketAddr::new(address, target.port);
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok((stream, address));
                }
                Err(error) => failures.push(format!("{address}: {error}")),
            }
        }
        Err(failures.join("; "))
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no connection within {} (connect_timeout)",
                humantime::format_duration(timeout)
            ))
        })
}

/// Relays between `client` and `target` until both have closed, the
/// relay idles out, a side fails, or `ending` says the server is
/// stopping. Each direction has one buffer of [`TUNNEL_BUFFER_BYTES`];
/// a read is written whole before the next, so a slow reader slows its
/// writer rather than growing a queue, and the two directions never wait
/// on each other.
pub async fn relay<C, T>(
    client: C,
    target: T,
    idle_timeout: Duration,
    clock: Clock,
    mut ending: watch::Receiver<bool>,
) -> RelaySummary
where
    C: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let (client_read, mut client_write) = tokio::io::split(client);
    let (target_read, mut target_write) = tokio::io::split(target);
    let state = Mutex::new(Relay::new(clock.now(), idle_timeout));
    {
        let mut up = pin!(direction(
            Side::Client,
            client_read,
            &mut target_write,
            clock,
            &state
        ));
        let mut down = pin!(direction(
            Side::Target,
            target_read,
            &mut client_write,
            clock,
            &state
        ));
        let mut idle = pin!(async {
            loop {
                let at = with(&state, |r| r.poll_timeout());
                tokio::time::sleep_until(clock.to_tokio(at)).await;
                if with(&state, |r| r.timeout(clock.now())) == Next::Finish {
                    return;
                }
            }
        });
        let (mut up_done, mut down_done) = (false, false);
        loop {
            let next = tokio::select! {
                next = &mut up, if !up_done => { up_done = true; next }
                next = &mut down, if !down_done => { down_done = true; next }
                () = &mut idle => Next::Finish,
                _ = ending.wait_for(|stop| *stop) => with(&state, Relay::stop),
            };
            if next == Next::Finish || (up_done && down_done) {
                break;
            }
        }
    }
    // Whatever ended the relay, both sides are told: a clean FIN where
    // the connection still stands.
    let _ = tokio::time::timeout(CLOSE_TIME, async {
        let _ = client_write.shutdown().await;
        let _ = target_write.shutdown().await;
    })
    .await;
    with(&state, |r| r.summary(clock.now()))
}

/// Runs `f` on the relay's state. The lock is never held across an
/// await; a poisoned one means a panic already reported, and the state
/// is still the counters.
fn with<O>(state: &Mutex<Relay>, f: impl FnOnce(&mut Relay) -> O) -> O {
    f(&mut state.lock().unwrap_or_else(|e| e.into_inner()))
}

/// One direction: reads from `from`, writes whole to the other side,
/// until `from` closes (then a half-close toward the other side) or
/// either fails.
fn direction<'a, R, W>(
    from: Side,
    mut reader: R,
    writer: &'a mut W,
    clock: Clock,
    state: &'a Mutex<Relay>,
) -> impl Future<Output = Next> + 'a
where
    R: AsyncRead + Unpin + 'a,
    W: AsyncWrite + Unpin,
{
    let to = match from {
        Side::Client => Side::Target,
        Side::Target => Side::Client,
    };
    async move {
        let mut buffer = vec![0u8; TUNNEL_BUFFER_BYTES];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) => {
                    let next = with(state, |r| r.closed(clock.now(), from));
                    if let Next::ShutdownToward(_) = next {
                        let _ = writer.shutdown().await;
                    }
                    return next;
                }
                Ok(read) => {
                    if let Err(error) = writer.write_all(&buffer[..read]).await {
                        return with(state, |r| r.failed(to, error.to_string()));
                    }
                    with(state, |r| r.relayed(clock.now(), from, read));
                }
                Err(error) => return with(state, |r| r.failed(from, error.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_core::tunnel::Ending;

    #[tokio::test]
    async fn a_relay_counts_both_ways_and_passes_half_close_on() {
        let (client, mut client_far) = tokio::io::duplex(64);
        let (target, mut target_far) = tokio::io::duplex(64);
        let (_stop, ending) = watch::channel(false);
        let relay = crate::task::spawn(relay(
            client,
            target,
            Duration::from_secs(60),
            Clock::new(),
            ending,
        ));
        client_far.write_all(b"hello").await.unwrap();
        let mut buffer = [0u8; 5];
        target_far.read_exact(&mut buffer).await.unwrap();
        target_far.write_all(b"world!").await.unwrap();
        let mut six = [0u8; 6];
        client_far.read_exact(&mut six).await.unwrap();
        client_far.shutdown().await.unwrap();
        let mut rest = Vec::new();
        target_far.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        target_far.write_all(b"bye").await.unwrap();
        target_far.shutdown().await.unwrap();
        let mut rest = Vec::new();
        client_far.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"bye");
        let summary = relay.await.unwrap();
        assert_eq!((summary.to_target, summary.to_client), (5, 9));
        assert_eq!(summary.ending, Ending::Closed);
    }
}
