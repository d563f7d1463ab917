//! A scripted NNTP client: a client host that, each session, logs in if
//! it has a login (AUTHINFO USER/PASS), POSTs articles with Message-IDs of
//! its own, reads every group of its list back (GROUP, OVER, ARTICLE of
//! each number, checking the article against its overview line), reads
//! its own posts by Message-ID, asks for the groups it must be refused,
//! and quits.
//!
//! It speaks NNTP by hand, line by line, as a plain newsreader would:
//! nothing of ours is used on this side, so the server is checked from
//! outside. What it was told is recorded for [`super::nntp_checks`]; what
//! cannot be true is a violation at once.

use super::{SharedState, lock};
use crate::scenario::NewsClient;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// How long the client waits for any one response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most lines one multi-line response may have before the client
/// gives up on it (a server that never ends one).
const RESPONSE_LINES_MAX: usize = 10_000;

/// An article a POST of ours put in a group: answered `240`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    pub client: IpAddr,
    pub group: String,
    pub message_id: String,
    pub subject: String,
    /// Virtual time the `240` arrived.
    pub at: Duration,
}

/// What the NNTP clients saw, together.
#[derive(Debug, Default)]
pub struct NewsRecord {
    /// Clients that have run all their sessions.
    pub clients_done: usize,
    /// Every POST answered `240`.
    pub posted: Vec<Posted>,
    /// Every Message-ID a client sent in a POST, answered or not.
    pub sent: Vec<String>,
    /// The Message-ID each (group, number) was seen with in `OVER`.
    pub numbers: BTreeMap<(String, u32), String>,
    /// What clients without a login were let do: (instance address,
    /// group, "read" for a `211` to `GROUP` or "post" for a `240`).
    pub anonymous: BTreeSet<(SocketAddr, String, &'static str)>,
}

/// What the NNTP clients did, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NewsStats {
    /// Sessions greeted that ran their whole script.
    pub sessions: u32,
    /// POSTs answered `240`.
    pub posted: u32,
    /// POSTs answered `441`.
    pub refused_posts: u32,
    /// POSTs whose article was sent whole and never answered (a crash):
    /// stored or not, either is right.
    pub posts_cut: u32,
    /// `GROUP`s of a `refused` group answered `411`.
    pub refused_groups: u32,
    /// Articles read that agreed with their overview.
    pub articles_read: u32,
}

fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// Runs `client`'s sessions.
pub(super) async fn run(client: &NewsClient, shared: &SharedState) {
    tokio::time::sleep(client.start).await;
    // The highest number each group showed this client: it never goes
    // back (RFC 3977 6.1.1.2).
    let mut highs: BTreeMap<String, u32> = BTreeMap::new();
    for number in 1..=client.sessions {
        if number > 1 {
            tokio::time::sleep(client.interval).await;
        }
        let mut session = Session {
            client,
            number,
            shared,
            highs: &mut highs,
            posted: Vec::new(),
        };
        match session.run().await {
            Ok(summary) => {
                lock(shared).stats.news.sessions += 1;
                tracing::info!("NNTP session {number}: {summary}");
            }
            Err(why) => tracing::info!("NNTP session {number}: {why}"),
        }
    }
    lock(shared).news.clients_done += 1;
}

/// The connection, read line by line.
type Connection = BufReader<turmoil::net::TcpStream>;

struct Session<'a> {
    client: &'a NewsClient,
    number: u32,
    shared: &'a SharedState,
    highs: &'a mut BTreeMap<String, u32>,
    /// This session's posts answered `240`: (Message-ID, subject).
    posted: Vec<(String, String)>,
}

impl Session<'_> {
    fn violation(&self, what: String) {
        tracing::info!("NNTP violation: {what}");
        lock(self.shared).violations.push(format!(
            "NNTP client {} session {}: {what}",
            self.client.from, self.number
        ));
    }

    async fn run(&mut self) -> Result<String, String> {
        let to = self.client.to;
        let stream = tokio::time::timeout(RESPONSE_TIMEOUT, turmoil::net::TcpStream::connect(to))
            .await
            .map_err(|_| format!("connecting to {to} timed out"))?
            .map_err(|error| format!("cannot connect to {to}: {error}"))?;
        let mut connection = BufReader::new(stream);
        let greeting = line(&mut connection).await?;
        if !greeting.starts_with("200") && !greeting.starts_with("201") {
            return Err(format!("greeting: {greeting}"));
        }
        if let (Some(login), Some(password)) = (&self.client.login, &self.client.password) {
            expect(&mut connection, &format!("AUTHINFO USER {login}"), "381").await?;
            expect(&mut connection, &format!("AUTHINFO PASS {password}"), "281").await?;
        }
        let groups = &self.client.groups;
        for n in 0..self.client.posts {
            let group = &groups[n as usize % groups.len()];
            self.post(&mut connection, group, n).await?;
        }
        let mut read = 0;
        for group in groups {
            read += self.read_group(&mut connection, group).await?;
        }
        for (message_id, subject) in self.posted.clone() {
            self.read_by_id(&mut connection, &message_id, &subject)
                .await?;
        }
        for group in &self.client.refused {
            command(&mut connection, &format!("GROUP {group}")).await?;
            let answer = line(&mut connection).await?;
            if answer.starts_with("411") {
                lock(self.shared).stats.news.refused_groups += 1;
            } else {
                self.violation(format!(
                    "GROUP {group} must be refused with 411 here, yet it answered {answer:?}"
                ));
            }
        }
        expect(&mut connection, "QUIT", "205").await?;
        Ok(format!(
            "{} posted, {read} articles read, QUIT 205",
            self.posted.len()
        ))
    }

    /// POSTs the `n`-th article of this session to `group`.
    async fn post(
        &mut self,
        connection: &mut Connection,
        group: &str,
        n: u32,
    ) -> Result<(), String> {
        let from = self.client.from.to_string().replace(['.', ':'], "-");
        let message_id = format!("<p{n}.s{}.{from}@clients.sim.test>", self.number);
        let subject = format!("post {n} of session {} from {from}", self.number);
        let author = self.client.login.as_deref().unwrap_or("anonymous@sim.test");
        lock(self.shared).news.sent.push(message_id.clone());
        expect(connection, "POST", "340").await?;
        // The body's second line starts with a dot: sent stuffed, stored
        // with one, sent back stuffed (RFC 3977 3.1.1).
        let article = format!(
            "From: {author}\r\nNewsgroups: {group}\r\nSubject: {subject}\r\n\
             Message-ID: {message_id}\r\n\r\nline one of {message_id}\r\n\
             ..a line that starts with a dot\r\nthe end\r\n.\r\n"
        );
        write(connection, article.as_bytes()).await?;
        let answer = match line(connection).await {
            Ok(answer) => answer,
            Err(why) => {
                lock(self.shared).stats.news.posts_cut += 1;
                return Err(format!("POST {message_id}, sent whole: {why}"));
            }
        };
        match &answer[..answer.len().min(3)] {
            "240" => {
                let mut shared = lock(self.shared);
                shared.stats.news.posted += 1;
                if self.client.login.is_none() {
                    let granted = (self.client.to, group.to_owned(), "post");
                    shared.news.anonymous.insert(granted);
                }
                shared.news.posted.push(Posted {
                    client: self.client.from,
                    group: group.to_owned(),
                    message_id: message_id.clone(),
                    subject: subject.clone(),
                    at: now(),
                });
                drop(shared);
                self.posted.push((message_id, subject));
                Ok(())
            }
            "441" => {
                lock(self.shared).stats.news.refused_posts += 1;
                tracing::info!("POST {message_id} to {group}: {answer}");
                Ok(())
            }
            _ => Err(format!("POST {message_id}: {answer}")),
        }
    }

    /// GROUP, OVER and ARTICLE of every number; answers how many articles
    /// were read.
    async fn read_group(
        &mut self,
        connection: &mut Connection,
        group: &str,
    ) -> Result<u32, String> {
        command(connection, &format!("GROUP {group}")).await?;
        let answer = line(connection).await?;
        if !answer.starts_with("211") {
            return Err(format!("GROUP {group}: {answer}"));
        }
        if self.client.login.is_none() {
            let granted = (self.client.to, group.to_owned(), "read");
            lock(self.shared).news.anonymous.insert(granted);
        }
        let figures: Vec<u32> = answer
            .split_whitespace()
            .skip(1)
            .take(3)
            .filter_map(|n| n.parse().ok())
            .collect();
        let &[count, low, high] = figures.as_slice() else {
            return Err(format!(
                "GROUP {group}: no count, low and high in {answer:?}"
            ));
        };
        let before = self.highs.insert(group.to_owned(), high).unwrap_or(0);
        if high < before {
            self.violation(format!(
                "{group}'s high mark went back from {before} to {high}"
            ));
        }
        if count == 0 {
            return Ok(0);
        }
        command(connection, &format!("OVER {low}-{high}")).await?;
        let answer = line(connection).await?;
        if !answer.starts_with("224") {
            return Err(format!("OVER {low}-{high} in {group}: {answer}"));
        }
        let mut overview = Vec::new();
        for record in multiline(connection).await? {
            let record = String::from_utf8_lossy(&record).into_owned();
            let fields: Vec<&str> = record.split('\t').collect();
            let (Some(number), Some(bytes)) = (
                fields.first().and_then(|n| n.parse::<u32>().ok()),
                fields.get(6).and_then(|n| n.parse::<u64>().ok()),
            ) else {
                return Err(format!(
                    "OVER in {group}: a record without a number and bytes: {record:?}"
                ));
            };
            let subject = fields.get(1).copied().unwrap_or_default().to_owned();
            let message_id = fields.get(4).copied().unwrap_or_default().to_owned();
            overview.push((number, subject, message_id, bytes));
        }
        if overview.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            self.violation(format!("OVER in {group} lists numbers out of order"));
        }
        for (number, _, message_id, _) in &overview {
            let seen = lock(self.shared)
                .news
                .numbers
                .entry((group.to_owned(), *number))
                .or_insert_with(|| message_id.clone())
                .clone();
            if &seen != message_id {
                self.violation(format!(
                    "article {number} of {group} was {seen} and is now {message_id}: a number given twice"
                ));
            }
        }
        let mut read = 0;
        for (number, subject, message_id, bytes) in overview {
            command(connection, &format!("ARTICLE {number}")).await?;
            let answer = line(connection).await?;
            if answer.starts_with("423") {
                // Gone since OVER: only expiry removes articles.
                continue;
            }
            if !answer.starts_with("220") {
                return Err(format!("ARTICLE {number} in {group}: {answer}"));
            }
            let article = joined(multiline(connection).await?);
            let field = |name| header(&article, name).unwrap_or_default();
            if field("Subject") != subject
                || field("Message-ID") != message_id
                || article.len() as u64 != bytes
            {
                self.violation(format!(
                    "article {number} of {group} disagrees with its overview: OVER said \
                     {subject:?} {message_id} {bytes} octets, ARTICLE gave {:?} {} {} octets",
                    field("Subject"),
                    field("Message-ID"),
                    article.len()
                ));
            }
            read += 1;
        }
        lock(self.shared).stats.news.articles_read += read;
        Ok(read)
    }

    /// ARTICLE <id> of a post of ours: it must be there, with its subject.
    async fn read_by_id(
        &mut self,
        connection: &mut Connection,
        message_id: &str,
        subject: &str,
    ) -> Result<(), String> {
        command(connection, &format!("ARTICLE {message_id}")).await?;
        let answer = line(connection).await?;
        if !answer.starts_with("220") {
            self.violation(format!(
                "ARTICLE {message_id}, posted and answered 240, gave {answer:?}"
            ));
            return Ok(());
        }
        let article = joined(multiline(connection).await?);
        if header(&article, "Subject").as_deref() != Some(subject) {
            self.violation(format!(
                "ARTICLE {message_id} is not the article posted (subject {:?})",
                header(&article, "Subject")
            ));
        }
        Ok(())
    }
}

/// A header field's value, unfolded (the first of that name).
pub fn header(article: &[u8], name: &str) -> Option<String> {
    let end = article
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(article.len());
    let text = String::from_utf8_lossy(&article[..end]);
    let mut value: Option<String> = None;
    for line in text.split("\r\n") {
        if let Some(found) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                found.push(' ');
                found.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((field, rest)) = line.split_once(':')
            && field.eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim().to_owned());
        }
    }
    value
}

/// Lines with their CRLFs back: the article as the server keeps it.
fn joined(lines: Vec<Vec<u8>>) -> Vec<u8> {
    let mut article = Vec::new();
    for line in lines {
        article.extend_from_slice(&line);
        article.extend_from_slice(b"\r\n");
    }
    article
}

async fn write(connection: &mut Connection, bytes: &[u8]) -> Result<(), String> {
    connection
        .get_mut()
        .write_all(bytes)
        .await
        .map_err(|error| format!("write: {error}"))
}

async fn command(connection: &mut Connection, text: &str) -> Result<(), String> {
    write(connection, format!("{text}\r\n").as_bytes()).await
}

/// Sends `text` and wants an answer starting `code`.
async fn expect(connection: &mut Connection, text: &str, code: &str) -> Result<String, String> {
    command(connection, text).await?;
    let answer = line(connection).await?;
    if answer.starts_with(code) {
        Ok(answer)
    } else {
        let shown = text
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Err(format!("{shown}: {answer}"))
    }
}

/// One line, without its CRLF.
async fn line(connection: &mut Connection) -> Result<String, String> {
    let bytes = raw_line(connection).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

async fn raw_line(connection: &mut Connection) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    match tokio::time::timeout(RESPONSE_TIMEOUT, connection.read_until(b'\n', &mut bytes)).await {
        Err(_) => Err("no answer in time".to_owned()),
        Ok(Err(error)) => Err(format!("read: {error}")),
        Ok(Ok(0)) => Err("the server closed the connection".to_owned()),
        Ok(Ok(_)) => {
            if bytes.ends_with(b"\r\n") {
                bytes.truncate(bytes.len() - 2);
            } else if bytes.ends_with(b"\n") {
                bytes.truncate(bytes.len() - 1);
            }
            Ok(bytes)
        }
    }
}

/// The lines of a multi-line response up to its ".", dot-stuffing undone.
async fn multiline(connection: &mut Connection) -> Result<Vec<Vec<u8>>, String> {
    let mut lines = Vec::new();
    loop {
        let mut line = raw_line(connection).await?;
        if line == b"." {
            return Ok(lines);
        }
        if line.starts_with(b".") {
            line.remove(0);
        }
        lines.push(line);
        if lines.len() > RESPONSE_LINES_MAX {
            return Err(format!(
                "a multi-line response longer than {RESPONSE_LINES_MAX} lines"
            ));
        }
    }
}
