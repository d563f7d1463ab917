//! A driver for tests: answers the NNTP machine's requests from accounts
//! and an in-memory news store, on a virtual clock, and writes a
//! transcript (`C:` client lines, `S:` server lines, indented requests
//! and events, each stamped with virtual time).

use crate::auth::{AuthPolicy, AuthVerdict, Identity, SendAs};
use crate::nntp::{
    Access, ArticleRef, Articles, GroupName, GroupSummary, Input, NntpServer, OpenedArticle,
    Output, OverviewRecord, PostingStatus, Request, SessionConfig, SessionInfo, SessionStart,
    Wildmat,
};
use crate::time::{Instant, UnixTime};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

/// Fri, 20 Nov 2026 22:15:59 UTC.
pub const WALL_CLOCK: i64 = 1_795_212_959;

pub fn config() -> SessionConfig {
    SessionConfig {
        hostname: "news.example.test".into(),
        starttls: true,
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            failure_delay: Duration::from_secs(2),
            ..AuthPolicy::default()
        },
        auth_required: false,
        anonymous: Access {
            read: Wildmat::parse("local.*,lists.*").unwrap(),
            post: Wildmat::parse("local.*,!local.readonly").unwrap(),
        },
        posting: true,
        max_errors: 10,
        idle_timeout: Duration::from_secs(180),
        max_session_time: Duration::from_secs(3600),
        max_article_size: 2000,
    }
}

pub struct StoredGroup {
    pub name: &'static str,
    pub status: PostingStatus,
    pub description: &'static str,
    pub created: i64,
    /// Number, arrival time, content.
    pub articles: Vec<(u32, i64, Vec<u8>)>,
    /// The next number to give.
    pub next: u32,
}

pub fn store() -> Vec<StoredGroup> {
    let one = b"Path: news.example.test!not-for-mail\r\nFrom: alice@example.test\r\n\
Newsgroups: local.general\r\nSubject: first\r\nDate: Mon, 16 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <1@example.test>\r\n\r\nHello\r\n.dotted line\r\n"
        .to_vec();
    let three = b"From: bob@example.test\r\nNewsgroups: local.general\r\nSubject: second\r\n\
Message-ID: <3@example.test>\r\nReferences: <1@example.test>\r\n\r\nreply\r\n"
        .to_vec();
    let staff = b"From: boss@example.test\r\nNewsgroups: private.staff\r\nSubject: raise\r\n\
Message-ID: <s1@example.test>\r\n\r\nno\r\n"
        .to_vec();
    vec![
        StoredGroup {
            name: "local.general",
            status: PostingStatus::Allowed,
            description: "General talk",
            created: WALL_CLOCK - 30 * 86_400,
            articles: vec![
                (1, WALL_CLOCK - 5 * 86_400, one),
                (3, WALL_CLOCK - 86_400, three),
            ],
            next: 4,
        },
        StoredGroup {
            name: "local.empty",
            status: PostingStatus::Allowed,
            description: "Nothing here\tyet",
            created: WALL_CLOCK - 3600,
            articles: vec![],
            next: 1,
        },
        StoredGroup {
            name: "local.readonly",
            status: PostingStatus::Refused,
            description: "Announcements",
            created: WALL_CLOCK - 30 * 86_400,
            articles: vec![],
            next: 1,
        },
        StoredGroup {
            name: "lists.team",
            status: PostingStatus::Moderated,
            description: "The team list's archive",
            created: WALL_CLOCK - 30 * 86_400,
            articles: vec![],
            next: 1,
        },
        StoredGroup {
            name: "private.staff",
            status: PostingStatus::Allowed,
            description: "Staff only",
            created: WALL_CLOCK - 30 * 86_400,
            articles: vec![(1, WALL_CLOCK - 2 * 86_400, staff)],
            next: 2,
        },
    ]
}

pub struct Harness {
    pub server: NntpServer,
    start: Instant,
    now: Instant,
    pub transcript: String,
    /// Everything the server sent.
    pub server_bytes: Vec<u8>,
    pub closed: bool,
    pub groups: Vec<StoredGroup>,
    /// Message-ids whose file "went away" (reading fails at once).
    pub vanished: Vec<String>,
    /// Chunk size for article data.
    pub chunk: usize,
    /// Articles posted: the bytes and the groups.
    pub posts: Vec<(Vec<u8>, Vec<GroupName>)>,
    /// Article octets handed in as chunks.
    pub octets_read: usize,
    /// The article being handed in, and how far.
    reading: Option<(Vec<u8>, usize)>,
    /// Server output not yet ending in a line end.
    partial_line: Vec<u8>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(config(), false)
    }

    pub fn with_config(config: SessionConfig, tls: bool) -> Self {
        let info = SessionInfo {
            local: "127.0.0.1:119".parse().unwrap(),
            remote: "192.0.2.7:40000".parse().unwrap(),
            tls,
        };
        let start = Instant::from_nanos(1_000_000_000);
        let session_start = SessionStart {
            wall_clock: UnixTime(WALL_CLOCK),
            message_id_seed: 0x5eed,
        };
        let mut harness = Harness {
            server: NntpServer::new(Arc::new(config), info, session_start, start),
            start,
            now: start,
            transcript: String::new(),
            server_bytes: Vec::new(),
            closed: false,
            groups: store(),
            vanished: Vec::new(),
            chunk: 16,
            posts: Vec::new(),
            octets_read: 0,
            reading: None,
            partial_line: Vec::new(),
        };
        harness.drain();
        harness
    }

    pub fn send(&mut self, bytes: &[u8]) {
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let shown = line.strip_suffix(b"\r\n").unwrap_or(line);
            let shown = String::from_utf8_lossy(shown).escape_debug().to_string();
            if shown.to_ascii_uppercase().starts_with("AUTHINFO PASS ") {
                self.note(&format!("C: AUTHINFO PASS <{} octets>", shown.len() - 14));
            } else {
                self.note(&format!("C: {shown}"));
            }
        }
        self.feed(bytes);
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.server.handle_input(self.now, Input::Bytes(bytes));
        self.drain();
    }

    pub fn send_line(&mut self, line: &str) {
        self.send(format!("{line}\r\n").as_bytes());
    }

    pub fn hang_up(&mut self) {
        self.note("C: <hangs up>");
        self.server.handle_input(self.now, Input::EndOfInput);
        self.drain();
    }

    pub fn shut_down(&mut self) {
        self.note("   <server shutting down>");
        self.server.handle_input(self.now, Input::Shutdown);
        self.drain();
    }

    pub fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        if self
            .server
            .poll_timeout()
            .is_some_and(|deadline| deadline <= self.now)
        {
            self.server.handle_input(self.now, Input::TimerFired);
            self.drain();
        }
    }

    /// Logs alice in with AUTHINFO USER/PASS.
    pub fn login(&mut self) {
        self.send_line("AUTHINFO USER alice@example.test");
        self.send_line("AUTHINFO PASS correct horse");
    }

    /// The server's output since `from`, as text.
    pub fn sent_since(&self, from: usize) -> String {
        String::from_utf8_lossy(&self.server_bytes[from..]).into_owned()
    }

    fn server_sent(&mut self, bytes: &[u8]) {
        self.server_bytes.extend_from_slice(bytes);
        self.partial_line.extend_from_slice(bytes);
        while let Some(end) = self.partial_line.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial_line.drain(..=end).collect();
            let line = line.strip_suffix(b"\r\n").unwrap_or(&line);
            let line = String::from_utf8_lossy(line).escape_debug().to_string();
            self.note(&format!("S: {line}"));
        }
    }

    fn note(&mut self, text: &str) {
        let elapsed = self.now.saturating_duration_since(self.start).as_secs();
        writeln!(self.transcript, "[{elapsed:>4}s] {text}").unwrap();
    }

    /// Drains outputs, answering requests, until the machine is quiet. An
    /// article being read is handed in chunk by chunk while the machine
    /// takes them, as the runtime's driver does.
    pub fn drain(&mut self) {
        loop {
            let mut answers: Vec<Answer> = Vec::new();
            while let Some(output) = self.server.poll_output() {
                match output {
                    Output::Send(bytes) => self.server_sent(&bytes),
                    Output::Request(request) => {
                        self.note(&format!("   request: {}", describe(&request)));
                        answers.push(self.answer(request));
                    }
                    Output::StartTls => {
                        self.note("   <TLS handshake>");
                        answers.push(Answer::Tls);
                    }
                    Output::Close => {
                        assert!(!self.closed, "Close twice");
                        self.closed = true;
                        self.note("   <close>");
                    }
                    Output::Event(event) => self.note(&format!("   event: {event}")),
                }
            }
            assert!(answers.len() <= 1, "two requests at once");
            if let Some(answer) = answers.pop() {
                self.give(answer);
            } else if self.server.is_reading_article() {
                self.next_chunk();
            } else {
                self.reading = None;
                return;
            }
        }
    }

    fn next_chunk(&mut self) {
        let Some((content, offset)) = self.reading.as_mut() else {
            self.server
                .handle_input(self.now, Input::ArticleUnavailable);
            return;
        };
        if *offset < content.len() {
            let end = (*offset + self.chunk).min(content.len());
            let chunk = content[*offset..end].to_vec();
            *offset = end;
            self.octets_read += chunk.len();
            self.server
                .handle_input(self.now, Input::ArticleChunk(&chunk));
        } else {
            self.reading = None;
            self.server.handle_input(self.now, Input::ArticleEnd);
        }
    }

    fn give(&mut self, answer: Answer) {
        let input = match answer {
            Answer::Tls => Input::TlsStarted,
            Answer::Auth(verdict, access) => Input::Authenticated(verdict, access),
            Answer::Groups(groups) => Input::Groups(groups),
            Answer::Group(group) => Input::GroupSelected(group),
            Answer::Article(article) => Input::ArticleOpened(article),
            Answer::Overview(records) => Input::Overview(records),
            Answer::Header(values) => Input::Header(values),
            Answer::NewNews(articles) => Input::NewNews(articles),
            Answer::Posted(result) => Input::Posted(result),
        };
        self.server.handle_input(self.now, input);
    }

    fn summary(group: &StoredGroup) -> GroupSummary {
        let numbers: Vec<u32> = group.articles.iter().map(|a| a.0).collect();
        GroupSummary {
            name: GroupName::new(group.name).unwrap(),
            count: numbers.len() as u32,
            low: numbers.first().copied().unwrap_or(group.next),
            high: numbers.last().copied().unwrap_or(group.next - 1),
            status: group.status,
            description: group.description.into(),
            created: UnixTime(group.created),
        }
    }

    /// Every (group, number, content) the articles cover: by message-id,
    /// every group that holds it.
    fn covered(&self, articles: &Articles) -> Vec<(&'static str, u32, &[u8])> {
        let mut found = Vec::new();
        for group in &self.groups {
            for (number, _, content) in &group.articles {
                let hit = match articles {
                    Articles::Range { group: g, range } => {
                        g.as_str() == group.name && range.contains(*number)
                    }
                    Articles::MessageId(id) => field(content, "Message-ID") == *id,
                };
                if hit {
                    found.push((group.name, *number, &content[..]));
                }
            }
        }
        found
    }

    fn answer(&mut self, request: Request) -> Answer {
        match request {
            Request::Authenticate(attempt) => {
                let ok = attempt.login == "alice@example.test"
                    && attempt.password.expose() == "correct horse";
                if ok {
                    Answer::Auth(
                        AuthVerdict::Accepted(Identity {
                            login: attempt.login,
                            send_as: SendAs::Addresses(vec![]),
                        }),
                        Some(Access::everything()),
                    )
                } else if attempt.login == "locked@example.test" {
                    Answer::Auth(AuthVerdict::LockedOut, None)
                } else {
                    Answer::Auth(AuthVerdict::Rejected, None)
                }
            }
            Request::Groups { since } => Answer::Groups(
                self.groups
                    .iter()
                    .filter(|g| since.is_none_or(|s| g.created >= s.0))
                    .map(Self::summary)
                    .collect(),
            ),
            Request::SelectGroup(name) => Answer::Group(
                self.groups
                    .iter()
                    .find(|g| g.name == name.as_str())
                    .map(|g| (Self::summary(g), g.articles.iter().map(|a| a.0).collect())),
            ),
            Request::Article {
                article,
                want_bytes,
            } => {
                let articles = match article {
                    ArticleRef::Number { group, number } => Articles::Range {
                        group,
                        range: crate::nntp::ArticleRange {
                            first: number,
                            last: Some(number),
                        },
                    },
                    ArticleRef::MessageId(id) => Articles::MessageId(id),
                };
                let found = self.covered(&articles).first().map(|&(g, n, content)| {
                    (
                        OpenedArticle {
                            group: GroupName::new(g).unwrap(),
                            number: n,
                            message_id: field(content, "Message-ID"),
                        },
                        content.to_vec(),
                    )
                });
                match found {
                    Some((opened, content)) => {
                        if want_bytes && !self.vanished.contains(&opened.message_id) {
                            self.reading = Some((content, 0));
                        }
                        Answer::Article(Some(opened))
                    }
                    None => Answer::Article(None),
                }
            }
            Request::Overview(articles) => Answer::Overview(
                self.covered(&articles)
                    .into_iter()
                    .map(|(g, number, content)| {
                        (GroupName::new(g).unwrap(), overview(number, content))
                    })
                    .collect(),
            ),
            Request::Header {
                articles,
                field: name,
            } => Answer::Header(
                self.covered(&articles)
                    .into_iter()
                    .map(|(g, number, content)| {
                        (GroupName::new(g).unwrap(), number, field(content, &name))
                    })
                    .collect(),
            ),
            Request::NewNews { since } => {
                let mut found = Vec::new();
                for group in &self.groups {
                    for (_, arrived, content) in &group.articles {
                        if *arrived >= since.0 {
                            found.push((
                                GroupName::new(group.name).unwrap(),
                                field(content, "Message-ID"),
                            ));
                        }
                    }
                }
                Answer::NewNews(found)
            }
            Request::Post {
                article,
                newsgroups,
                ..
            } => {
                for name in &newsgroups {
                    match self.groups.iter().find(|g| g.name == name.as_str()) {
                        None => return Answer::Posted(Err(format!("no such newsgroup {name}"))),
                        Some(g) if g.status == PostingStatus::Refused => {
                            return Answer::Posted(Err(format!("{name} is read-only")));
                        }
                        Some(_) => {}
                    }
                }
                for name in &newsgroups {
                    let group = self
                        .groups
                        .iter_mut()
                        .find(|g| g.name == name.as_str())
                        .unwrap();
                    group
                        .articles
                        .push((group.next, WALL_CLOCK, article.clone()));
                    group.next += 1;
                }
                self.posts.push((article, newsgroups));
                Answer::Posted(Ok(()))
            }
        }
    }
}

/// A header field's unfolded value ("" if absent).
pub fn field(content: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(content);
    let header = text.split("\r\n\r\n").next().unwrap_or_default();
    header
        .split("\r\n")
        .find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
        .unwrap_or_default()
}

fn overview(number: u32, content: &[u8]) -> OverviewRecord {
    let text = String::from_utf8_lossy(content);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    OverviewRecord {
        number,
        subject: field(content, "Subject"),
        from: field(content, "From"),
        date: field(content, "Date"),
        message_id: field(content, "Message-ID"),
        references: field(content, "References"),
        bytes: content.len() as u64,
        lines: body.matches("\r\n").count() as u32,
    }
}

enum Answer {
    Tls,
    Auth(AuthVerdict, Option<Access>),
    Groups(Vec<GroupSummary>),
    Group(Option<(GroupSummary, Vec<u32>)>),
    Article(Option<OpenedArticle>),
    Overview(Vec<(GroupName, OverviewRecord)>),
    Header(Vec<(GroupName, u32, String)>),
    NewNews(Vec<(GroupName, String)>),
    Posted(Result<(), String>),
}

fn describe(request: &Request) -> String {
    match request {
        Request::Authenticate(attempt) => format!("authenticate {}", attempt.login),
        Request::Groups { since: None } => "groups".into(),
        Request::Groups { since: Some(s) } => format!("groups since {}", s.0),
        Request::SelectGroup(group) => format!("select group {group}"),
        Request::Article {
            article,
            want_bytes,
        } => {
            let which = match article {
                ArticleRef::Number { group, number } => format!("{group} {number}"),
                ArticleRef::MessageId(id) => id.clone(),
            };
            let bytes = if *want_bytes { "" } else { " (no bytes)" };
            format!("article {which}{bytes}")
        }
        Request::Overview(articles) => format!("overview {}", describe_articles(articles)),
        Request::Header { articles, field } => {
            format!("header {field} of {}", describe_articles(articles))
        }
        Request::NewNews { since } => format!("new news since {}", since.0),
        Request::Post {
            article,
            newsgroups,
            message_id,
        } => format!(
            "post {message_id} to {newsgroups:?}: {} octets",
            article.len()
        ),
    }
}

fn describe_articles(articles: &Articles) -> String {
    match articles {
        Articles::Range { group, range } => match range.last {
            Some(last) => format!("{group} {}-{last}", range.first),
            None => format!("{group} {}-", range.first),
        },
        Articles::MessageId(id) => id.clone(),
    }
}
