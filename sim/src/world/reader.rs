//! A scripted POP3 reader: a client host that logs in at intervals, lists
//! the maildrop (STAT, UIDL, LIST), retrieves every message, deletes those
//! its script picks and quits (or hangs up), recording what it saw for the
//! invariants.
//!
//! It speaks POP3 by hand, line by line, as a plain client would: nothing
//! of ours is used on this side, so the server is checked from outside.

use super::{SharedState, lock};
use crate::scenario::{DeleteChoice, Reader};
use postern_core::rng::Rng;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// How long the reader waits for any one response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What one session of a reader saw and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadSession {
    pub reader: IpAddr,
    /// Counting from 1 for each reader.
    pub number: u32,
    pub login: String,
    /// Virtual time the PASS command was sent: mail delivered before it
    /// must be listed, unless a session deleted it.
    pub pass_sent_at: Option<Duration>,
    /// The maildrop was locked by another session: `-ERR [IN-USE]`.
    pub in_use: bool,
    /// The UIDLs listed, in message-number order, once UIDL answered.
    pub listing: Option<Vec<String>>,
    /// Virtual time the listing arrived.
    pub listed_at: Duration,
    /// UIDL to the digest of the message RETR sent.
    pub retrieved: BTreeMap<String, u64>,
    /// UIDLs answered `+OK` to DELE.
    pub deleted: Vec<String>,
    /// What the server said that cannot be true: STAT and UIDL counting
    /// differently, a LIST size that is not the octets RETR sent.
    pub contradictions: Vec<String>,
    /// Virtual time QUIT was sent after the login, if it was.
    pub quit_sent_at: Option<Duration>,
    /// QUIT was answered `+OK`: the update is done.
    pub quit_ok: bool,
    /// Virtual time that `+OK` arrived.
    pub quit_ok_at: Option<Duration>,
}

/// FNV-1a of a message as RETR sends it (dot-stuffing undone).
pub fn digest(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// Runs `reader`'s sessions; each session's record goes to `shared`.
pub(super) async fn read_mail(reader: &Reader, seed: u64, shared: &SharedState) {
    let host = match reader.from {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6) as u64,
    };
    let mut rng = Rng::new(seed ^ host.rotate_left(32));
    tokio::time::sleep(reader.start).await;
    for number in 1..=reader.sessions {
        if number > 1 {
            tokio::time::sleep(reader.interval).await;
        }
        let mut record = ReadSession {
            reader: reader.from,
            number,
            login: reader.login.clone(),
            pass_sent_at: None,
            in_use: false,
            listing: None,
            listed_at: Duration::ZERO,
            retrieved: BTreeMap::new(),
            deleted: Vec::new(),
            contradictions: Vec::new(),
            quit_sent_at: None,
            quit_ok: false,
            quit_ok_at: None,
        };
        let outcome = session(reader, &mut rng, &mut record).await;
        let summary = match (&record.listing, &outcome) {
            (None, Err(why)) => why.clone(),
            (Some(listing), outcome) => format!(
                "{} listed, {} retrieved, {} deleted; {}",
                listing.len(),
                record.retrieved.len(),
                record.deleted.len(),
                match outcome {
                    Ok(()) => "QUIT +OK",
                    Err(why) => why,
                }
            ),
            (None, Ok(())) => "no listing".to_owned(),
        };
        tracing::info!("POP3 session {number}: {summary}");
        lock(shared).read_sessions.push(record);
    }
}

/// The connection, read line by line.
type Connection = BufReader<turmoil::net::TcpStream>;

async fn session(reader: &Reader, rng: &mut Rng, record: &mut ReadSession) -> Result<(), String> {
    let stream = tokio::time::timeout(
        RESPONSE_TIMEOUT,
        turmoil::net::TcpStream::connect(reader.to),
    )
    .await
    .map_err(|_| format!("connecting to {} timed out", reader.to))?
    .map_err(|error| format!("cannot connect to {}: {error}", reader.to))?;
    let mut connection = BufReader::new(stream);
    expect_ok(&mut connection, "greeting").await?;
    command(&mut connection, &format!("USER {}", reader.login)).await?;
    expect_ok(&mut connection, "USER").await?;
    command(&mut connection, &format!("PASS {}", reader.password)).await?;
    record.pass_sent_at = Some(now());
    let pass = line(&mut connection)
        .await
        .map_err(|e| format!("PASS: {e}"))?;
    if !pass.starts_with("+OK") {
        record.in_use = pass.contains("[IN-USE]");
        let _ = command(&mut connection, "QUIT").await;
        return Err(format!("PASS: {pass}"));
    }
    command(&mut connection, "STAT").await?;
    let stat = expect_ok(&mut connection, "STAT").await?;
    command(&mut connection, "UIDL").await?;
    expect_ok(&mut connection, "UIDL").await?;
    let mut listing = Vec::new();
    for entry in multiline(&mut connection)
        .await
        .map_err(|e| format!("UIDL: {e}"))?
    {
        let entry = String::from_utf8_lossy(&entry).into_owned();
        let uidl = entry.split_whitespace().nth(1).unwrap_or_default();
        listing.push(uidl.to_owned());
    }
    record.listed_at = now();
    record.listing = Some(listing.clone());
    let count: usize = stat
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    if count != listing.len() {
        record.contradictions.push(format!(
            "STAT says {count} messages, UIDL lists {}",
            listing.len()
        ));
    }
    command(&mut connection, "LIST").await?;
    expect_ok(&mut connection, "LIST").await?;
    let sizes: Vec<u64> = multiline(&mut connection)
        .await
        .map_err(|e| format!("LIST: {e}"))?
        .iter()
        .map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            entry
                .split_whitespace()
                .nth(1)
                .and_then(|size| size.parse().ok())
                .unwrap_or(u64::MAX)
        })
        .collect();
    let octets: u64 = stat
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    if octets != sizes.iter().sum::<u64>() {
        record.contradictions.push(format!(
            "STAT says {octets} octets, LIST sizes add up to {}",
            sizes.iter().sum::<u64>()
        ));
    }
    for (n, uidl) in listing.iter().enumerate() {
        command(&mut connection, &format!("RETR {}", n + 1)).await?;
        expect_ok(&mut connection, "RETR").await?;
        let mut data = Vec::new();
        for text in multiline(&mut connection)
            .await
            .map_err(|e| format!("RETR: {e}"))?
        {
            data.extend_from_slice(&text);
            data.extend_from_slice(b"\r\n");
        }
        record.retrieved.insert(uidl.clone(), digest(&data));
        if sizes.get(n) != Some(&(data.len() as u64)) {
            record.contradictions.push(format!(
                "LIST gives message {} (UIDL {uidl}) {} octets, RETR sent {}",
                n + 1,
                sizes.get(n).map_or("no".to_owned(), u64::to_string),
                data.len()
            ));
        }
    }
    for (n, uidl) in listing.iter().enumerate() {
        let delete = match reader.delete {
            DeleteChoice::All => true,
            DeleteChoice::Some => rng.below(2) == 0,
            DeleteChoice::None => false,
        };
        if delete {
            command(&mut connection, &format!("DELE {}", n + 1)).await?;
            expect_ok(&mut connection, "DELE").await?;
            record.deleted.push(uidl.clone());
        }
    }
    if reader.hang_up {
        return Err("hung up without QUIT".to_owned());
    }
    command(&mut connection, "QUIT").await?;
    record.quit_sent_at = Some(now());
    expect_ok(&mut connection, "QUIT").await?;
    record.quit_ok = true;
    record.quit_ok_at = Some(now());
    Ok(())
}

async fn command(connection: &mut Connection, text: &str) -> Result<(), String> {
    let verb = text.split(' ').next().unwrap_or_default();
    let written = async {
        connection
            .write_all(format!("{text}\r\n").as_bytes())
            .await?;
        connection.flush().await
    };
    tokio::time::timeout(RESPONSE_TIMEOUT, written)
        .await
        .map_err(|_| format!("{verb}: the write timed out"))?
        .map_err(|error| format!("{verb}: cannot send: {error}"))
}

/// One line, its CRLF taken off.
async fn line(connection: &mut Connection) -> Result<String, String> {
    let bytes = raw_line(connection).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

async fn raw_line(connection: &mut Connection) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(RESPONSE_TIMEOUT, connection.read_until(b'\n', &mut bytes))
        .await
        .map_err(|_| "no response in time".to_owned())?
        .map_err(|error| format!("the connection failed: {error}"))?;
    if read == 0 || !bytes.ends_with(b"\r\n") {
        return Err("the connection closed".to_owned());
    }
    bytes.truncate(bytes.len() - 2);
    Ok(bytes)
}

async fn expect_ok(connection: &mut Connection, what: &str) -> Result<String, String> {
    let response = line(connection)
        .await
        .map_err(|error| format!("{what}: {error}"))?;
    match response.starts_with("+OK") {
        true => Ok(response),
        false => Err(format!("{what}: {response}")),
    }
}

/// The lines of a multi-line response up to its ".", dot-stuffing undone.
async fn multiline(connection: &mut Connection) -> Result<Vec<Vec<u8>>, String> {
    let mut lines = Vec::new();
    loop {
        let mut text = raw_line(connection).await?;
        if text == b"." {
            return Ok(lines);
        }
        if text.starts_with(b".") {
            text.remove(0);
        }
        lines.push(text);
    }
}
