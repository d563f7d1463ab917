//! A scripted IMAP client: a client host that logs in, selects a folder,
//! lists it, appends, reads, flags, expunges, IDLEs and polls as its
//! scenario says, and logs out, recording what it saw for the invariants.
//!
//! It speaks IMAP by hand over turmoil's TCP, as a plain client would,
//! and keeps its own model of the selected folder: message sequence
//! numbers to UIDs and flags, changed only by what the server says
//! (`EXISTS`, `EXPUNGE`, `FETCH`) and by its own `.SILENT` stores once
//! answered `OK`. Every response is checked against that model as it
//! arrives: `EXISTS` never shrinks the view, an `EXPUNGE` or `FETCH` names
//! a message the view has, a message's UID never changes and UIDs rise
//! with sequence numbers, no `EXPUNGE` comes during a non-UID `STORE`
//! (RFC 9051 7.4.1). At its last NOOP the view is compared with the
//! store's folder.

use super::reader::digest;
use super::{SharedState, lock};
use crate::scenario::{DeleteChoice, ImapClient};
use crate::store::MemoryStore;
use postern_core::rng::Rng;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// How long the client waits for any one response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a listing is asked for until it names every message.
const LISTING_TRIES: usize = 3;

/// The largest literal the client takes from the server.
const LITERAL_BYTES_MAX: usize = 1 << 20;

/// What one session of an IMAP client saw and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImapSession {
    pub client: Option<IpAddr>,
    /// Counting from 1 for each client.
    pub number: u32,
    pub login: String,
    pub folder: String,
    /// SELECT was answered `OK`.
    pub selected: bool,
    pub uid_validity: u32,
    /// Each listing of the whole folder (`UID FETCH 1:*`): virtual time
    /// and the UIDs.
    pub listed: Vec<(Duration, Vec<u32>)>,
    /// Digests of every message sent in an APPEND, answered or not.
    pub attempted: Vec<u64>,
    /// APPENDs answered `OK [APPENDUID v u]`: UIDVALIDITY, UID, digest.
    pub appended: Vec<(u32, u32, u64)>,
    /// Bodies fetched: UID and digest.
    pub fetched: Vec<(u32, u64)>,
    /// UIDs this session marked `\Deleted` to expunge them.
    pub expunge_requested: Vec<u32>,
    /// UIDs the server said its EXPUNGE removed, once answered `OK`.
    pub expunged: Vec<u32>,
    pub expunge_ok_at: Option<Duration>,
    /// When IDLE began (the continuation) and DONE was sent.
    pub idle: Option<(Duration, Duration)>,
    /// `EXISTS` heard during IDLE: virtual time and count.
    pub exists_heard: Vec<(Duration, u32)>,
    /// At the last NOOP, with the store unchanged while it ran: whether
    /// the view equalled the store's folder.
    pub converged: Option<bool>,
    /// What the server said that contradicts the session's model.
    pub contradictions: Vec<String>,
}

fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// Runs `client`'s sessions; each session's record goes to `shared`.
pub(super) async fn run(client: &ImapClient, seed: u64, store: &MemoryStore, shared: &SharedState) {
    let host = match client.from {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6) as u64,
    };
    let mut rng = Rng::new(seed ^ host.rotate_left(32));
    tokio::time::sleep(client.start).await;
    for number in 1..=client.sessions {
        if number > 1 {
            tokio::time::sleep(client.interval).await;
        }
        let mut record = ImapSession {
            client: Some(client.from),
            number,
            login: client.login.clone(),
            folder: client.folder.clone(),
            ..ImapSession::default()
        };
        let outcome = session(client, &mut rng, store, &mut record).await;
        let listed = record.listed.last().map_or(0, |(_, uids)| uids.len());
        tracing::info!(
            "IMAP session {number}: {listed} listed, {} appended, {} fetched, {} expunged, {} EXISTS heard in IDLE; {}",
            record.appended.len(),
            record.fetched.len(),
            record.expunged.len(),
            record.exists_heard.len(),
            match &outcome {
                Ok(()) => "LOGOUT OK",
                Err(why) => why,
            }
        );
        lock(shared).imap_sessions.push(record);
    }
    lock(shared).imap_clients_done += 1;
}

/// One message of the selected folder as the session knows it.
#[derive(Clone, Debug, Default)]
struct Slot {
    uid: Option<u32>,
    flags: BTreeSet<String>,
}

/// A response: its lines joined, each literal left out, and the literals.
struct Response {
    text: String,
    literals: Vec<Vec<u8>>,
}

/// The connection and the session's model of the selected folder.
struct Client<'a> {
    connection: BufReader<turmoil::net::TcpStream>,
    tag: u32,
    view: Vec<Slot>,
    /// A non-UID command running, during which no EXPUNGE may come.
    no_expunge_during: Option<&'static str>,
    /// UIDs the server expunged during the command running.
    expunged_now: Vec<u32>,
    idling: bool,
    record: &'a mut ImapSession,
}

async fn session(
    script: &ImapClient,
    rng: &mut Rng,
    store: &MemoryStore,
    record: &mut ImapSession,
) -> Result<(), String> {
    let stream = tokio::time::timeout(
        RESPONSE_TIMEOUT,
        turmoil::net::TcpStream::connect(script.to),
    )
    .await
    .map_err(|_| format!("connecting to {} timed out", script.to))?
    .map_err(|error| format!("cannot connect to {}: {error}", script.to))?;
    let mut client = Client {
        connection: BufReader::new(stream),
        tag: 0,
        view: Vec::new(),
        no_expunge_during: None,
        expunged_now: Vec::new(),
        idling: false,
        record,
    };
    let greeting = client
        .response()
        .await
        .map_err(|e| format!("greeting: {e}"))?;
    if !greeting.text.starts_with("* OK") {
        return Err(format!("greeting: {}", greeting.text));
    }
    let login = format!(
        "LOGIN {} {}",
        quoted(&script.login),
        quoted(&script.password)
    );
    client.expect_ok(&login, "LOGIN").await?;
    client
        .expect_ok(&format!("SELECT {}", quoted(&script.folder)), "SELECT")
        .await?;
    client.record.selected = true;
    client.list().await?;
    for n in 0..script.append {
        let message = message(script, client.record.number, n, rng);
        client.append(&script.folder, &message).await?;
    }
    if script.append > 0 {
        client.list().await?;
    }
    if script.fetch {
        let uids: Vec<u32> = client.view.iter().filter_map(|slot| slot.uid).collect();
        for uid in uids {
            let command = format!("UID FETCH {uid} (UID BODY.PEEK[])");
            let answer = client.command(&command, "UID FETCH").await?;
            // RFC 9051 7.1: another session expunged it; the client goes on.
            if !answer.starts_with("OK") && !answer.starts_with("NO [EXPUNGEISSUED]") {
                return Err(format!("UID FETCH: {answer}"));
            }
        }
    }
    if script.flag && !client.view.is_empty() {
        let command = format!("STORE 1:{} +FLAGS (\\Seen)", client.view.len());
        client.no_expunge_during = Some("STORE");
        let stored = client.expect_ok(&command, "STORE").await;
        client.no_expunge_during = None;
        stored?;
    }
    client.expunge(script.expunge, rng).await?;
    if !script.idle.is_zero() {
        client.idle(script.idle).await?;
        client.list().await?;
    }
    for _ in 0..script.polls {
        tokio::time::sleep(script.poll).await;
        client.expect_ok("NOOP", "NOOP").await?;
    }
    client.last_noop(store, script).await?;
    client.expect_ok("LOGOUT", "LOGOUT").await?;
    Ok(())
}

/// A message of seeded text, the same for the same seed: CRLF lines.
fn message(script: &ImapClient, session: u32, n: u32, rng: &mut Rng) -> Vec<u8> {
    let mut text = format!(
        "From: <imap@{}>\r\nTo: <{}>\r\nSubject: appended {session}.{n}\r\nMessage-ID: <{session}.{n}.{}@sim.test>\r\n\r\n",
        script.from,
        script.login,
        rng.below(1 << 30)
    );
    while text.len() < script.append_size {
        let line: String = (0..60)
            .map(|_| char::from(b'a' + rng.below(26) as u8))
            .collect();
        text.push_str(&line);
        text.push_str("\r\n");
    }
    text.into_bytes()
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The length of the literal a line ends with (`{n}`).
fn literal_length(line: &str) -> Option<usize> {
    let body = line.strip_suffix('}')?;
    let open = body.rfind('{')?;
    body[open + 1..].parse().ok()
}

/// The number after `name ` among a FETCH's items, as in `UID 5`.
fn item_number(items: &str, name: &str) -> Option<u32> {
    let upper = items.to_ascii_uppercase();
    let pattern = format!("{name} ");
    let at = upper
        .match_indices(&pattern)
        .map(|(at, _)| at)
        .find(|&at| at == 0 || matches!(upper.as_bytes()[at - 1], b'(' | b' '))?;
    let rest = &items[at + pattern.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The flags of `FLAGS (...)` among a FETCH's items, `\Recent` left out.
fn item_flags(items: &str) -> Option<BTreeSet<String>> {
    let at = items.to_ascii_uppercase().find("FLAGS (")?;
    let rest = &items[at + "FLAGS (".len()..];
    let end = rest.find(')')?;
    Some(
        rest[..end]
            .split_whitespace()
            .filter(|flag| !flag.eq_ignore_ascii_case("\\Recent"))
            .map(str::to_owned)
            .collect(),
    )
}

impl Client<'_> {
    fn contradiction(&mut self, what: String) {
        self.record
            .contradictions
            .push(format!("at {:.3}s {what}", now().as_secs_f64()));
    }

    async fn send(&mut self, bytes: &[u8], what: &str) -> Result<(), String> {
        let written = async {
            self.connection.write_all(bytes).await?;
            self.connection.flush().await
        };
        tokio::time::timeout(RESPONSE_TIMEOUT, written)
            .await
            .map_err(|_| format!("{what}: the write timed out"))?
            .map_err(|error| format!("{what}: cannot send: {error}"))
    }

    /// One response, with its literals.
    async fn response(&mut self) -> Result<Response, String> {
        let mut text = String::new();
        let mut literals = Vec::new();
        loop {
            let mut bytes = Vec::new();
            let read = tokio::time::timeout(
                RESPONSE_TIMEOUT,
                self.connection.read_until(b'\n', &mut bytes),
            )
            .await
            .map_err(|_| "no response in time".to_owned())?
            .map_err(|error| format!("the connection failed: {error}"))?;
            if read == 0 || !bytes.ends_with(b"\r\n") {
                return Err("the connection closed".to_owned());
            }
            let line = String::from_utf8_lossy(&bytes[..bytes.len() - 2]).into_owned();
            text.push_str(&line);
            let Some(length) = literal_length(&line) else {
                return Ok(Response { text, literals });
            };
            if length > LITERAL_BYTES_MAX {
                return Err(format!("a literal of {length} octets"));
            }
            let mut literal = vec![0; length];
            tokio::time::timeout(RESPONSE_TIMEOUT, self.connection.read_exact(&mut literal))
                .await
                .map_err(|_| "no literal in time".to_owned())?
                .map_err(|error| format!("the connection failed: {error}"))?;
            literals.push(literal);
        }
    }

    /// Sends a command; takes the untagged responses into the model until
    /// its tagged one, which it answers (without the tag).
    async fn command(&mut self, text: &str, what: &str) -> Result<String, String> {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        self.send(format!("{tag} {text}\r\n").as_bytes(), what)
            .await?;
        self.until_tagged(&tag, what).await
    }

    async fn expect_ok(&mut self, text: &str, what: &str) -> Result<String, String> {
        let answer = self.command(text, what).await?;
        match answer.starts_with("OK") {
            true => Ok(answer),
            false => Err(format!("{what}: {answer}")),
        }
    }

    async fn until_tagged(&mut self, tag: &str, what: &str) -> Result<String, String> {
        loop {
            let response = self.response().await.map_err(|e| format!("{what}: {e}"))?;
            if let Some(rest) = response
                .text
                .strip_prefix(tag)
                .and_then(|r| r.strip_prefix(' '))
            {
                return Ok(rest.to_owned());
            }
            self.untagged(&response);
        }
    }

    /// An untagged response, taken into the model.
    fn untagged(&mut self, response: &Response) {
        let Some(rest) = response.text.strip_prefix("* ") else {
            let text = response.text.clone();
            self.contradiction(format!("an unexpected response: {text}"));
            return;
        };
        let mut words = rest.splitn(3, ' ');
        let (first, second) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let Ok(n) = first.parse::<usize>() else {
            if let Some(validity) = rest.strip_prefix("OK [UIDVALIDITY ") {
                let digits: String = validity.chars().take_while(char::is_ascii_digit).collect();
                self.record.uid_validity = digits.parse().unwrap_or(0);
            }
            return;
        };
        match second.to_ascii_uppercase().as_str() {
            "EXISTS" => self.exists(n),
            "EXPUNGE" => self.expunge_one(n),
            "FETCH" => self.fetch(n, words.next().unwrap_or(""), &response.literals),
            _ => {}
        }
    }

    fn exists(&mut self, n: usize) {
        if n < self.view.len() {
            let had = self.view.len();
            self.contradiction(format!(
                "EXISTS {n} after {had} messages: EXISTS never shrinks the view"
            ));
            return;
        }
        self.view.resize(n, Slot::default());
        if self.idling {
            self.record.exists_heard.push((now(), n as u32));
        }
    }

    fn expunge_one(&mut self, n: usize) {
        if let Some(command) = self.no_expunge_during {
            self.contradiction(format!("EXPUNGE {n} during {command} (RFC 9051 7.4.1)"));
        }
        if n == 0 || n > self.view.len() {
            let had = self.view.len();
            self.contradiction(format!("EXPUNGE {n} with {had} messages in the view"));
            return;
        }
        if let Some(uid) = self.view.remove(n - 1).uid {
            self.expunged_now.push(uid);
        }
    }

    fn fetch(&mut self, n: usize, items: &str, literals: &[Vec<u8>]) {
        if n == 0 || n > self.view.len() {
            let had = self.view.len();
            self.contradiction(format!("FETCH for message {n} with {had} in the view"));
            return;
        }
        if let Some(uid) = item_number(items, "UID") {
            match self.view[n - 1].uid {
                Some(known) if known != uid => self.contradiction(format!(
                    "message {n}, UID {known}, is now said to be UID {uid}"
                )),
                _ => self.view[n - 1].uid = Some(uid),
            }
            let below = self.view[..n - 1].iter().rev().find_map(|s| s.uid);
            let above = self.view[n..].iter().find_map(|s| s.uid);
            if below.is_some_and(|b| b >= uid) || above.is_some_and(|a| a <= uid) {
                self.contradiction(format!(
                    "message {n} is UID {uid}, out of order among its neighbours ({below:?}, {above:?})"
                ));
            }
        }
        if let Some(flags) = item_flags(items) {
            self.view[n - 1].flags = flags;
        }
        if let (Some(uid), Some(body)) = (self.view[n - 1].uid, literals.first())
            && items.to_ascii_uppercase().contains("BODY[]")
        {
            self.record.fetched.push((uid, digest(body)));
        }
    }

    /// Lists the whole folder: every message's UID and flags. A message
    /// announced while the listing ran (another session's append) may
    /// come without its UID; the listing is asked again, a few times.
    async fn list(&mut self) -> Result<(), String> {
        for _ in 0..LISTING_TRIES {
            self.expect_ok("UID FETCH 1:* (UID FLAGS)", "UID FETCH")
                .await?;
            if self.view.iter().all(|slot| slot.uid.is_some()) {
                break;
            }
        }
        let uids: Vec<u32> = self.view.iter().filter_map(|slot| slot.uid).collect();
        self.record.listed.push((now(), uids));
        Ok(())
    }

    /// APPEND with a synchronizing literal.
    async fn append(&mut self, folder: &str, message: &[u8]) -> Result<(), String> {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        let line = format!("{tag} APPEND {} {{{}}}\r\n", quoted(folder), message.len());
        self.send(line.as_bytes(), "APPEND").await?;
        loop {
            let response = self.response().await.map_err(|e| format!("APPEND: {e}"))?;
            if response.text.starts_with('+') {
                break;
            }
            if let Some(rest) = response.text.strip_prefix(&tag) {
                return Err(format!("APPEND: {}", rest.trim_start()));
            }
            self.untagged(&response);
        }
        self.record.attempted.push(digest(message));
        let mut data = message.to_vec();
        data.extend_from_slice(b"\r\n");
        self.send(&data, "APPEND").await?;
        let answer = self.until_tagged(&tag, "APPEND").await?;
        if !answer.starts_with("OK") {
            return Err(format!("APPEND: {answer}"));
        }
        let code = answer
            .split_once("[APPENDUID ")
            .and_then(|(_, code)| code.split_once(']'))
            .map(|(code, _)| code.split(' ').map(str::parse::<u32>).collect::<Vec<_>>());
        match code.as_deref() {
            Some([Ok(validity), Ok(uid)]) => {
                self.record
                    .appended
                    .push((*validity, *uid, digest(message)));
                Ok(())
            }
            _ => {
                self.contradiction(format!("APPEND answered without APPENDUID: {answer}"));
                Ok(())
            }
        }
    }

    /// Marks the messages `choice` picks `\Deleted` and expunges them.
    async fn expunge(&mut self, choice: DeleteChoice, rng: &mut Rng) -> Result<(), String> {
        let uids: Vec<u32> = self
            .view
            .iter()
            .filter_map(|slot| slot.uid)
            .filter(|_| match choice {
                DeleteChoice::All => true,
                DeleteChoice::Some => rng.below(2) == 0,
                DeleteChoice::None => false,
            })
            .collect();
        if uids.is_empty() {
            return Ok(());
        }
        self.record.expunge_requested.extend(&uids);
        let set: Vec<String> = uids.iter().map(u32::to_string).collect();
        let command = format!("UID STORE {} +FLAGS.SILENT (\\Deleted)", set.join(","));
        self.expect_ok(&command, "UID STORE").await?;
        for slot in self
            .view
            .iter_mut()
            .filter(|s| s.uid.is_some_and(|u| uids.contains(&u)))
        {
            slot.flags.insert("\\Deleted".to_owned());
        }
        self.expunged_now.clear();
        self.expect_ok("EXPUNGE", "EXPUNGE").await?;
        self.record.expunged = std::mem::take(&mut self.expunged_now);
        self.record.expunge_ok_at = Some(now());
        Ok(())
    }

    /// IDLE for `length`, hearing what comes, then DONE.
    async fn idle(&mut self, length: Duration) -> Result<(), String> {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        self.send(format!("{tag} IDLE\r\n").as_bytes(), "IDLE")
            .await?;
        loop {
            let response = self.response().await.map_err(|e| format!("IDLE: {e}"))?;
            if response.text.starts_with('+') {
                break;
            }
            if let Some(rest) = response.text.strip_prefix(&tag) {
                return Err(format!("IDLE: {}", rest.trim_start()));
            }
            self.untagged(&response);
        }
        let started = now();
        self.idling = true;
        let until = started + length;
        loop {
            let left = until.saturating_sub(now());
            if left.is_zero() {
                break;
            }
            // Waits for bytes without taking any, so the deadline never
            // cuts a response in two.
            let ready = tokio::time::timeout(left, self.connection.fill_buf()).await;
            let closed = match ready {
                Err(_) => break,
                Ok(Err(error)) => return Err(format!("IDLE: the connection failed: {error}")),
                Ok(Ok(buffered)) => buffered.is_empty(),
            };
            if closed {
                return Err("IDLE: the connection closed".to_owned());
            }
            let response = self.response().await.map_err(|e| format!("IDLE: {e}"))?;
            self.untagged(&response);
        }
        self.idling = false;
        self.record.idle = Some((started, now()));
        self.send(b"DONE\r\n", "DONE").await?;
        let answer = self.until_tagged(&tag, "IDLE").await?;
        match answer.starts_with("OK") {
            true => Ok(()),
            false => Err(format!("IDLE: {answer}")),
        }
    }

    /// The last NOOP: when the store's folder did not change while it ran,
    /// the view must be the folder.
    async fn last_noop(&mut self, store: &MemoryStore, script: &ImapClient) -> Result<(), String> {
        let before = store.folder_view(&script.login, &script.folder);
        self.expect_ok("NOOP", "NOOP").await?;
        let Some(after) = store.folder_view(&script.login, &script.folder) else {
            return Ok(());
        };
        if before.is_none_or(|b| b.highest_modseq != after.highest_modseq) {
            return Ok(());
        }
        // Every message is counted; each one whose UID the session knows
        // (a message announced by EXISTS alone is known by number only)
        // is in its place, with its flags.
        let converged = self.record.uid_validity == after.uid_validity
            && self.view.len() == after.messages.len()
            && self
                .view
                .iter()
                .zip(&after.messages)
                .all(|(slot, (uid, flags))| {
                    slot.uid
                        .is_none_or(|known| known == *uid && slot.flags == *flags)
                });
        let view: Vec<(Option<u32>, &BTreeSet<String>)> = self
            .view
            .iter()
            .map(|slot| (slot.uid, &slot.flags))
            .collect();
        self.record.converged = Some(converged);
        if !converged {
            self.contradiction(format!(
                "after the last NOOP the view is {view:?}, the store's folder {:?}",
                after.messages
            ));
        }
        Ok(())
    }
}
