//! The SMTP clients of a world: senders that send their messages one
//! session each, and floods of idle connections.

use super::{SharedState, lock};
use crate::scenario::{Flood, Sender};
use postern::driver::{self, Clock};
use postern_core::address::{parse_forward_path, parse_reverse_path};
use postern_core::smtp::client::{
    Client, ClientConfig, ClientEvent, ClientTimeouts, Content, Credentials, Delivery, TlsPolicy,
    Verdict,
};
use postern_core::smtp::server::BodyType;
use postern_core::text::counted;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// A client host sending its messages, one session each.
pub(super) async fn send_messages(sender: &Sender, shared: &SharedState) {
    tokio::time::sleep(sender.start).await;
    let reverse_path = parse_reverse_path(&format!("<{}>", sender.sender), false)
        .expect("the scenario's sender is an address");
    let recipients: Vec<_> = sender
        .recipients
        .iter()
        .map(|r| parse_forward_path(&format!("<{r}>"), false).expect("recipient addresses"))
        .collect();
    let config = Arc::new(ClientConfig {
        hostname: "client.test".to_owned(),
        timeouts: ClientTimeouts::default(),
        credentials: sender.auth.as_ref().map(|account| Credentials {
            user: account.login.clone(),
            password: account.password.clone(),
        }),
        tls: TlsPolicy::Never,
    });
    for n in 0..sender.messages {
        if n > 0 {
            tokio::time::sleep(sender.interval).await;
        }
        let message = message(n, sender.from, sender.size, sender.from_header.as_deref());
        let delivery = Delivery {
            reverse_path: reverse_path.clone(),
            recipients: recipients.clone(),
            size: message.len() as u64,
            body: BodyType::SevenBit,
            smtputf8: false,
            content: Content::declared(BodyType::SevenBit, false),
        };
        let Some((queued, outcome)) = send_one(sender.to, &config, delivery, &message, n).await
        else {
            continue;
        };
        let mut shared = lock(shared);
        shared.stats.refused_recipients += outcome
            .recipients
            .iter()
            .filter(|r| r.verdict == Verdict::Failed)
            .count() as u32;
        match (queued, &outcome.session_failure) {
            (Some(id), _) => {
                tracing::info!("message {n}: queued as {id}");
                shared.stats.accepted += 1;
                shared.acknowledged.push(id);
            }
            (None, Some(failure)) => tracing::info!("message {n}: not sent: {failure}"),
            (None, None) => {
                let details: Vec<&str> = outcome
                    .recipients
                    .iter()
                    .map(|r| r.detail.as_str())
                    .collect();
                tracing::info!("message {n}: not accepted: {}", details.join("; "));
            }
        }
    }
}

/// One session to `to` sending `message` as message `n`: the queue ID
/// the server answered after the data, if it did, and the client's
/// outcome; none when no connection was made.
pub(super) async fn send_one(
    to: std::net::SocketAddr,
    config: &Arc<ClientConfig>,
    delivery: Delivery,
    message: &[u8],
    n: u32,
) -> Option<(Option<String>, postern_core::smtp::client::Outcome)> {
    let stream = match tokio::time::timeout(
        Duration::from_secs(30),
        turmoil::net::TcpStream::connect(to),
    )
    .await
    {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::info!("message {n}: cannot connect to {}: {error}", to);
            return None;
        }
        Err(_) => {
            tracing::info!("message {n}: connecting to {} timed out", to);
            return None;
        }
    };
    let clock = Clock::new();
    let machine = Client::new(Arc::clone(config), delivery, clock.now());
    let mut queued = None;
    let outcome = driver::run_client(
        stream,
        machine,
        None,
        clock,
        message,
        config.timeouts.data_block,
        |event| {
            if let ClientEvent::Reply {
                command: "end of data",
                reply,
            } = event
                && let Some(id) = reply.split("queued as ").nth(1)
            {
                queued = Some(id.trim().to_owned());
            }
        },
    )
    .await;
    Some((queued, outcome))
}

/// Message `n` from host `from`: about `size` octets, CRLF lines, with a
/// Message-ID the invariants follow it by, and `author` in `From:` when
/// given.
fn message(n: u32, from: IpAddr, size: usize, author: Option<&str>) -> Vec<u8> {
    let mut text = author.map_or(String::new(), |a| format!("From: <{a}>\r\n"));
    text.push_str(&format!(
        "Message-ID: <{n}.{from}@sim.test>\r\nSubject: simulated message {n}\r\n\r\n"
    ));
    while text.len() < size {
        text.push_str("The quick brown fox jumps over the lazy dog.\r\n");
    }
    text.into_bytes()
}

/// A client host opening idle connections, reading only the first reply;
/// it holds those it got a greeting on for a second, then closes them.
pub(super) async fn open_connections(flood: &Flood) {
    tokio::time::sleep(flood.start).await;
    let mut open = Vec::new();
    for n in 0..flood.connections {
        let Ok(mut stream) = turmoil::net::TcpStream::connect(flood.to).await else {
            tracing::info!("connection {n}: refused");
            continue;
        };
        let mut first = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut first)).await;
        let line = match read {
            Ok(Ok(len)) => String::from_utf8_lossy(&first[..len]).trim_end().to_owned(),
            _ => String::new(),
        };
        if line.starts_with("220") {
            open.push(stream);
        } else {
            tracing::info!("connection {n}: {line}");
        }
    }
    tracing::info!(
        "holding {}",
        counted(open.len(), "connection", "connections")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(open);
}
