//! Remote mail servers that follow a script: they take mail, defer it,
//! refuse it, answer slowly, say nothing, or hang up in the middle of the
//! data. A smarthost among them may ask for AUTH PLAIN first.
//!
//! They speak just enough SMTP for a client that plays by RFC 5321
//! (EHLO, AUTH, MAIL, RCPT, DATA, RSET, NOOP, QUIT, with pipelining) and
//! write down every message they take, for the invariants.

use crate::scenario::{Behaviour, Remote};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tracing::Instrument;

/// A message a remote server took.
#[derive(Clone, Debug)]
pub struct Taken {
    /// The remote server's name.
    pub server: String,
    pub at: Duration,
    /// The reverse path, without angle brackets; empty for a bounce.
    pub sender: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
}

/// What every remote server has taken, in order.
pub type Ledger = Arc<Mutex<Vec<Taken>>>;

/// The longest command line read before the server gives up on a client.
const LINE_MAX: u64 = 4096;

/// Serves SMTP on the remote's port until its host crashes.
pub async fn serve(remote: Arc<Remote>, ledger: Ledger) -> Result<(), Box<dyn std::error::Error>> {
    let listener = turmoil::net::TcpListener::bind(("0.0.0.0", remote.port)).await?;
    loop {
        let (stream, peer) = listener.accept().await?;
        let (remote, ledger) = (Arc::clone(&remote), Arc::clone(&ledger));
        tokio::task::spawn_local(
            async move {
                if let Err(error) = session(stream, &remote, &ledger).await {
                    tracing::info!("{}: session with {peer} ended: {error}", remote.name);
                }
            }
            .in_current_span(),
        );
    }
}

fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// The address inside `<...>` after a `MAIL FROM:` or `RCPT TO:`.
fn path(argument: &str) -> String {
    let inner = argument
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or(argument, |(inner, _)| inner);
    inner.to_lowercase()
}

async fn session(
    stream: turmoil::net::TcpStream,
    remote: &Remote,
    ledger: &Ledger,
) -> std::io::Result<()> {
    let behaviour = remote.behaviour_at(now());
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::new(reader);
    let name = remote.name.as_str();
    if behaviour == Behaviour::Echo {
        let mut buffer = [0u8; 4096];
        loop {
            let read = reader.read(&mut buffer).await?;
            if read == 0 {
                tracing::info!("{name}: echo session with the client closed");
                return writer.shutdown().await;
            }
            writer.write_all(&buffer[..read]).await?;
        }
    }
    if behaviour == Behaviour::Silent {
        // Reads and drops whatever comes, until the client gives up.
        let mut sink = [0u8; 1024];
        while reader.read(&mut sink).await? > 0 {}
        return Ok(());
    }
    let delay = match behaviour {
        Behaviour::Slow => remote.delay,
        _ => Duration::ZERO,
    };
    let expected_auth = remote
        .auth
        .as_ref()
        .map(|auth| BASE64.encode(format!("\0{}\0{}", auth.login, auth.password)));
    let mut authenticated = expected_auth.is_none();
    let mut sender: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    let mut line = String::new();
    say(&mut writer, delay, format!("220 {name} ESMTP scripted")).await?;
    loop {
        line.clear();
        if (&mut reader).take(LINE_MAX).read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
        let answer = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                let auth = if expected_auth.is_some() {
                    "250-AUTH PLAIN\r\n"
                } else {
                    ""
                };
                format!("250-{name}\r\n250-PIPELINING\r\n250-8BITMIME\r\n{auth}250 SIZE 10485760")
            }
            "HELO" => format!("250 {name}"),
            "AUTH" => match (argument.split_once(' '), &expected_auth) {
                (Some((mechanism, token)), Some(expected))
                    if mechanism.eq_ignore_ascii_case("PLAIN") && token == expected =>
                {
                    authenticated = true;
                    "235 2.7.0 Authentication successful".to_owned()
                }
                (_, Some(_)) => {
                    tracing::info!("{name}: AUTH refused");
                    "535 5.7.8 Authentication credentials invalid".to_owned()
                }
                (_, None) => "502 5.5.1 AUTH not offered".to_owned(),
            },
            "MAIL" if !authenticated => "530 5.7.0 Authentication required".to_owned(),
            "MAIL" => {
                sender = Some(path(argument));
                recipients.clear();
                "250 2.1.0 Ok".to_owned()
            }
            "RCPT" if sender.is_none() => "503 5.5.1 Need MAIL first".to_owned(),
            "RCPT" => match behaviour {
                Behaviour::Tempfail => "451 4.3.0 Try again later".to_owned(),
                Behaviour::Reject => "550 5.1.1 No such user here".to_owned(),
                _ => {
                    recipients.push(path(argument));
                    "250 2.1.5 Ok".to_owned()
                }
            },
            "DATA" if recipients.is_empty() => "554 5.5.1 No valid recipients".to_owned(),
            "DATA" => {
                say(
                    &mut writer,
                    delay,
                    "354 End data with <CR><LF>.<CR><LF>".to_owned(),
                )
                .await?;
                if behaviour == Behaviour::StallDuringData {
                    tracing::info!("{name}: stops reading in the middle of the data");
                    std::future::pending::<()>().await;
                }
                let mut data = Vec::new();
                let mut data_line = Vec::new();
                loop {
                    data_line.clear();
                    if reader.read_until(b'\n', &mut data_line).await? == 0 {
                        return Ok(());
                    }
                    if behaviour == Behaviour::DropDuringData {
                        tracing::info!("{name}: hanging up in the middle of the data");
                        return Ok(());
                    }
                    if data_line == b".\r\n" {
                        break;
                    }
                    let unstuffed = data_line.strip_prefix(b".").unwrap_or(&data_line);
                    data.extend_from_slice(unstuffed);
                }
                let sender = sender.take().unwrap_or_default();
                tracing::info!(
                    "{name}: took a message from <{sender}> for {}",
                    recipients.join(", ")
                );
                lock(ledger).push(Taken {
                    server: name.to_owned(),
                    at: now(),
                    sender,
                    recipients: std::mem::take(&mut recipients),
                    data,
                });
                "250 2.0.0 Ok: queued".to_owned()
            }
            "RSET" => {
                sender = None;
                recipients.clear();
                "250 2.0.0 Ok".to_owned()
            }
            "NOOP" => "250 2.0.0 Ok".to_owned(),
            "QUIT" => {
                say(&mut writer, delay, "221 2.0.0 Bye".to_owned()).await?;
                return Ok(());
            }
            _ => "500 5.5.2 Command not recognized".to_owned(),
        };
        say(&mut writer, delay, answer).await?;
    }
}

/// Writes one reply, after the server's delay.
async fn say(
    writer: &mut (impl AsyncWriteExt + Unpin),
    delay: Duration,
    text: String,
) -> std::io::Result<()> {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    writer.write_all(format!("{text}\r\n").as_bytes()).await
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
