//! A scripted client of a tunnel instance whose target echoes: each
//! session connects through the tunnel, sends its bytes, closes its
//! sending half and reads to the end of file. Every byte back must be
//! the byte sent at that place: a session gets all of them (complete) or
//! a clean close after a prefix (cut, when the target cannot be
//! reached), never other bytes.

use super::{SharedState, lock};
use crate::scenario::TunnelClient;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest a session waits for the end of file: beyond the tunnel's
/// connect and idle timeouts in every scenario.
const SESSION_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Runs `client`'s sessions, counting each outcome in `shared`.
pub(super) async fn run(client: &TunnelClient, shared: &SharedState) {
    tokio::time::sleep(client.start).await;
    for number in 1..=client.sessions {
        if number > 1 {
            tokio::time::sleep(client.interval).await;
        }
        let sent: Vec<u8> = (0..client.bytes)
            .map(|i| (i as u32).wrapping_mul(31).wrapping_add(number) as u8)
            .collect();
        let outcome = tokio::time::timeout(SESSION_TIMEOUT, session(client, &sent)).await;
        let mut shared = lock(shared);
        match outcome {
            Ok(Ok(received)) if received == sent => {
                tracing::info!(
                    "tunnel session {number}: {} bytes sent and echoed",
                    sent.len()
                );
                shared.stats.tunnel_complete += 1;
            }
            Ok(Ok(received)) if sent.starts_with(&received) => {
                tracing::info!(
                    "tunnel session {number}: closed after {} of {} bytes",
                    received.len(),
                    sent.len()
                );
                shared.stats.tunnel_cut += 1;
            }
            Ok(Ok(received)) => shared.violations.push(format!(
                "tunnel session {number} from {}: {} bytes came back that are not what was sent",
                client.from,
                received.len()
            )),
            Ok(Err(error)) => {
                tracing::info!("tunnel session {number}: {error}");
                shared.stats.tunnel_cut += 1;
            }
            Err(_) => shared.violations.push(format!(
                "tunnel session {number} from {}: no end of file within {SESSION_TIMEOUT:?}",
                client.from
            )),
        }
    }
    lock(shared).tunnel_clients_done += 1;
}

async fn session(client: &TunnelClient, sent: &[u8]) -> std::io::Result<Vec<u8>> {
    let stream = turmoil::net::TcpStream::connect(client.to).await?;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let reading = async {
        let mut received = Vec::new();
        reader.read_to_end(&mut received).await.map(|_| received)
    };
    let writing = async {
        // A write into a tunnel that has already closed is a cut, not a
        // failure: what came back says what happened.
        let _ = writer.write_all(sent).await;
        let _ = writer.shutdown().await;
    };
    let (received, ()) = tokio::join!(reading, writing);
    received
}
