//! The pull client machine: states and transitions. See the module docs
//! of [`super`] for the contract.

use super::codec::{Block, ResponseReader, Status};
use super::{
    Input, Outcome, Outgoing, Output, PostResult, PullConfig, PullEvent, PullFailure, PullState,
    UpstreamTls,
};
use crate::limits::{
    NNTP_PULL_ARTICLES_PER_GROUP_MAX, NNTP_PULL_GROUPS_MAX, NNTP_PULL_LIST_BYTES_MAX,
    NNTP_PULL_NEW_GROUP_ARTICLES, NNTP_PULL_POSTS_PER_SESSION_MAX, REPLY_TEXT_BYTES_MAX,
};
use crate::nntp::GroupName;
use crate::text::{bounded, escape_controls};
use crate::time::Instant;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// What the machine waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// A TLS handshake the driver is running (implicit TLS before the
    /// greeting, or after `382`).
    Handshake,
    Greeting,
    ExpectStartTls,
    ExpectModeReader,
    ExpectAuthUser,
    ExpectAuthPass,
    ExpectListStatus,
    ReceivingList,
    ExpectGroup,
    /// The status line of `ARTICLE number`; the group ends at `last`.
    ExpectArticle {
        number: u32,
        last: u32,
    },
    ReceivingArticle {
        number: u32,
        last: u32,
    },
    AwaitingStore {
        number: u32,
        last: u32,
    },
    ExpectPostGoAhead {
        id: u64,
    },
    /// The driver is streaming the post.
    SendingPost {
        id: u64,
    },
    ExpectPostResult {
        id: u64,
    },
    ExpectQuit,
    Closed,
}

impl State {
    /// The command whose response is awaited, for events and failures.
    fn stage(self) -> &'static str {
        match self {
            State::Handshake => "TLS",
            State::Greeting => "greeting",
            State::ExpectStartTls => "STARTTLS",
            State::ExpectModeReader => "MODE READER",
            State::ExpectAuthUser | State::ExpectAuthPass => "AUTHINFO",
            State::ExpectListStatus | State::ReceivingList => "LIST",
            State::ExpectGroup => "GROUP",
            State::ExpectArticle { .. } | State::ReceivingArticle { .. } => "ARTICLE",
            State::AwaitingStore { .. } => "store",
            State::ExpectPostGoAhead { .. }
            | State::SendingPost { .. }
            | State::ExpectPostResult { .. } => "POST",
            State::ExpectQuit => "QUIT",
            State::Closed => "closed",
        }
    }

    /// True while a response from the server is what is awaited.
    fn reads(self) -> bool {
        !matches!(
            self,
            State::Handshake
                | State::AwaitingStore { .. }
                | State::SendingPost { .. }
                | State::Closed
        )
    }
}

/// One pull session.
#[derive(Debug)]
pub struct PullClient {
    config: Arc<PullConfig>,
    state: State,
    reader: ResponseReader,
    high_water: BTreeMap<GroupName, u32>,
    groups: VecDeque<GroupName>,
    /// The group being pulled, and how many of its articles were stored.
    group: Option<(GroupName, u32)>,
    outgoing: VecDeque<Outgoing>,
    /// The greeting has come (so a finished handshake goes on to MODE
    /// READER, not to the greeting).
    greeted: bool,
    outcome: Outcome,
    output: VecDeque<Output>,
    now: Instant,
    deadline: Option<Instant>,
}

impl PullClient {
    /// A session starting from `state`; it waits for the greeting (or,
    /// with implicit TLS, first asks for the handshake).
    pub fn new(config: Arc<PullConfig>, state: PullState, now: Instant) -> Self {
        let mut outgoing = VecDeque::new();
        if config.post_local {
            outgoing.extend(
                state
                    .outgoing
                    .into_iter()
                    .take(NNTP_PULL_POSTS_PER_SESSION_MAX),
            );
        }
        let mut client = PullClient {
            state: State::Greeting,
            reader: ResponseReader::default(),
            high_water: state.high_water,
            groups: VecDeque::new(),
            group: None,
            outgoing,
            greeted: false,
            outcome: Outcome::default(),
            output: VecDeque::new(),
            now,
            deadline: Some(now + config.timeouts.greeting),
            config,
        };
        if client.config.tls == UpstreamTls::Implicit {
            // The driver bounds the handshake; the greeting timer starts
            // when it is done.
            client.state = State::Handshake;
            client.deadline = None;
            client.output.push_back(Output::StartTls);
        }
        client
    }

    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        assert!(now >= self.now, "time went backwards");
        assert!(
            self.output.is_empty(),
            "input handed in while output was pending"
        );
        self.now = now;
        if self.state == State::Closed {
            return;
        }
        match input {
            // RFC 4642 2.2.2: nothing sent between 382 and the handshake
            // is a response.
            Input::Bytes(bytes) if self.state == State::Handshake => {
                self.event(PullEvent::PlaintextDiscarded {
                    octets: bytes.len(),
                });
            }
            Input::Bytes(bytes) => {
                self.reader.push(bytes);
                if matches!(
                    self.state,
                    State::ReceivingArticle { .. } | State::ReceivingList
                ) {
                    self.deadline = Some(now + self.config.timeouts.block_idle);
                }
            }
            Input::EndOfInput if self.state == State::ExpectQuit => self.finish(None),
            Input::EndOfInput => self.fail("the server closed the connection"),
            Input::TimerFired => {
                if self.deadline.is_some_and(|d| now >= d) {
                    let what = match self.state {
                        State::AwaitingStore { .. } => "timed out storing the article".to_owned(),
                        State::SendingPost { .. } => "timed out sending the post".to_owned(),
                        state => format!("timed out waiting for the {} response", state.stage()),
                    };
                    self.fail(&what);
                }
            }
            Input::TlsStarted => self.tls_started(),
            Input::TlsFailed(detail) => {
                let detail = escape_controls(&detail);
                self.fail_at(
                    "TLS",
                    format!(
                        "the TLS handshake failed: {}",
                        bounded(&detail, REPLY_TEXT_BYTES_MAX)
                    ),
                );
            }
            Input::Stored => self.stored(),
            Input::StoreFailed(detail) => self.fail_at("store", escape_controls(&detail).into()),
            Input::PostSent => {
                let State::SendingPost { id } = self.state else {
                    panic!("PostSent without SendPost");
                };
                self.expect(State::ExpectPostResult { id }, self.config.timeouts.command);
            }
        }
        self.read_responses();
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            None
        } else {
            self.deadline
        }
    }

    pub fn is_finished(&self) -> bool {
        self.state == State::Closed
    }

    /// Reads every whole response buffered, while one is awaited.
    fn read_responses(&mut self) {
        while self.state.reads() {
            let step = match self.state {
                State::ReceivingList | State::ReceivingArticle { .. } => {
                    self.reader.block().map(|b| b.map(Response::Block))
                }
                _ => self.reader.status().map(|s| s.map(Response::Status)),
            };
            match step {
                Ok(Some(Response::Status(status))) => {
                    self.event(PullEvent::Response {
                        command: self.state.stage(),
                        status: bounded(&status.one_line(), REPLY_TEXT_BYTES_MAX).into_owned(),
                    });
                    self.on_status(status);
                }
                Ok(Some(Response::Block(block))) => self.on_block(block),
                Ok(None) => return,
                Err(malformed) => return self.fail(&malformed.to_string()),
            }
        }
    }

    fn on_status(&mut self, status: Status) {
        let timeouts = self.config.timeouts;
        match (self.state, status.code) {
            (State::Greeting, 200 | 201) => {
                self.greeted = true;
                if self.config.tls == UpstreamTls::StartTls {
                    self.command("STARTTLS", State::ExpectStartTls);
                } else {
                    self.command("MODE READER", State::ExpectModeReader);
                }
            }
            (State::ExpectStartTls, 382) => {
                // RFC 4642 2.2.2: what came after the go-ahead and before
                // the handshake is not trusted (command injection).
                let octets = self.reader.discard();
                if octets > 0 {
                    self.event(PullEvent::PlaintextDiscarded { octets });
                }
                self.state = State::Handshake;
                self.deadline = None;
                self.output.push_back(Output::StartTls);
            }
            // 500/501: an old server with no MODE READER, already a reader.
            (State::ExpectModeReader, 200 | 201 | 500 | 501) => self.after_mode_reader(),
            (State::ExpectAuthUser | State::ExpectAuthPass, 281) => {
                self.event(PullEvent::Authenticated);
                self.start_groups();
            }
            (State::ExpectAuthUser, 381) => {
                let password = self
                    .config
                    .credentials
                    .as_ref()
                    .map_or(String::new(), |c| c.password.clone());
                self.send(format!("AUTHINFO PASS {password}\r\n"));
                self.expect(State::ExpectAuthPass, timeouts.command);
            }
            (State::ExpectListStatus, 215) => {
                self.reader.begin_block(NNTP_PULL_LIST_BYTES_MAX, true);
                self.expect(State::ReceivingList, timeouts.block_idle);
            }
            (State::ExpectGroup, 211) => self.group_selected(&status),
            (State::ExpectGroup, 411) => {
                if let Some((group, _)) = self.group.take() {
                    self.event(PullEvent::NoSuchGroup { group });
                }
                self.next_group();
            }
            (State::ExpectArticle { number, last }, 220) => {
                self.reader
                    .begin_block(self.config.article_bytes_max, false);
                self.expect(
                    State::ReceivingArticle { number, last },
                    timeouts.block_idle,
                );
            }
            (State::ExpectArticle { number, last }, 423 | 430) => {
                self.skip(number, status.one_line());
                self.next_article(number, last);
            }
            (State::ExpectPostGoAhead { id }, 340) => {
                self.state = State::SendingPost { id };
                self.deadline = Some(self.now + timeouts.driver);
                self.output.push_back(Output::SendPost { id });
            }
            (State::ExpectPostGoAhead { id }, _) => {
                // Posting is not possible now (440, or POST refused): this
                // one and the rest wait for the next round.
                self.posted(id, PostResult::Deferred(status.one_line()));
                self.quit();
            }
            (State::ExpectPostResult { id }, 240) => {
                self.outcome.posted += 1;
                self.posted(id, PostResult::Accepted);
                self.next_post();
            }
            (State::ExpectPostResult { id }, code) => {
                let result = if code >= 500 || code == 441 {
                    self.outcome.refused += 1;
                    PostResult::Refused(status.one_line())
                } else {
                    PostResult::Deferred(status.one_line())
                };
                self.posted(id, result);
                self.next_post();
            }
            (State::ExpectQuit, _) => self.finish(None),
            (state, _) => self.fail_at(state.stage(), status.one_line()),
        }
    }

    fn on_block(&mut self, block: Block) {
        match (self.state, block) {
            (State::ReceivingList, Block::Complete(lines)) => self.list_received(&lines),
            (State::ReceivingList, Block::TooLarge { octets }) => self.fail_at(
                "LIST",
                format!("the group list is over {NNTP_PULL_LIST_BYTES_MAX} octets ({octets})"),
            ),
            (State::ReceivingArticle { number, last }, Block::Complete(bytes)) => {
                let Some((group, _)) = &self.group else {
                    unreachable!("an article is read only inside a group");
                };
                self.output.push_back(Output::Article {
                    group: group.clone(),
                    number,
                    bytes,
                });
                self.state = State::AwaitingStore { number, last };
                self.deadline = Some(self.now + self.config.timeouts.driver);
            }
            (State::ReceivingArticle { number, last }, Block::TooLarge { octets }) => {
                self.skip(
                    number,
                    format!(
                        "{octets} octets, over the limit of {}",
                        self.config.article_bytes_max
                    ),
                );
                self.next_article(number, last);
            }
            (state, _) => unreachable!("a block read in state {state:?}"),
        }
    }

    fn tls_started(&mut self) {
        assert_eq!(self.state, State::Handshake, "TlsStarted without StartTls");
        self.event(PullEvent::TlsStarted);
        if self.greeted {
            // RFC 4642: no new greeting; the session goes on.
            self.command("MODE READER", State::ExpectModeReader);
        } else {
            self.state = State::Greeting;
            self.deadline = Some(self.now + self.config.timeouts.greeting);
        }
    }

    fn after_mode_reader(&mut self) {
        match &self.config.credentials {
            // RFC 4643 2.2: after MODE READER, never before it.
            // A line break would end the command early and start another.
            Some(credentials)
                if [&credentials.user, &credentials.password]
                    .iter()
                    .any(|text| text.is_empty() || text.contains(['\r', '\n'])) =>
            {
                self.fail_at(
                    "AUTHINFO",
                    "the user name or password is empty or holds a line break".to_owned(),
                )
            }
            Some(credentials) => {
                let user = credentials.user.clone();
                self.send(format!("AUTHINFO USER {user}\r\n"));
                self.expect(State::ExpectAuthUser, self.config.timeouts.command);
            }
            None => self.start_groups(),
        }
    }

    fn start_groups(&mut self) {
        let groups = &self.config.groups;
        if groups.is_plain_list() {
            let names: BTreeSet<GroupName> = groups
                .names()
                .filter_map(|name| GroupName::new(name).ok())
                .collect();
            self.groups = names.into_iter().take(NNTP_PULL_GROUPS_MAX).collect();
            self.next_group();
        } else {
            // RFC 3977 7.6.3: the server filters by the wildmat.
            let command = format!("LIST ACTIVE {}", groups.as_str());
            self.command(&command, State::ExpectListStatus);
        }
    }

    /// `LIST ACTIVE` lines: `group high low status` (RFC 3977 7.6.3).
    fn list_received(&mut self, lines: &[u8]) {
        let text = String::from_utf8_lossy(lines);
        let names: BTreeSet<GroupName> = text
            .lines()
            .filter_map(|line| line.split_ascii_whitespace().next())
            // Checked again: the server may have ignored the wildmat.
            .filter(|name| self.config.groups.matches(name))
            .filter_map(|name| GroupName::new(name).ok())
            .collect();
        self.groups = names.into_iter().take(NNTP_PULL_GROUPS_MAX).collect();
        self.next_group();
    }

    fn next_group(&mut self) {
        if let Some((group, pulled)) = self.group.take() {
            self.event(PullEvent::GroupDone { group, pulled });
        }
        match self.groups.pop_front() {
            Some(group) => {
                let command = format!("GROUP {group}");
                self.group = Some((group, 0));
                self.command(&command, State::ExpectGroup);
            }
            None => self.next_post(),
        }
    }

    /// `211 count low high group`: which numbers to fetch.
    fn group_selected(&mut self, status: &Status) {
        let numbers: Vec<u32> = status
            .words()
            .take(3)
            .filter_map(|w| w.parse().ok())
            .collect();
        let &[count, low, high] = numbers.as_slice() else {
            return self.fail_at("GROUP", format!("not a 211 response: {status}"));
        };
        let Some((group, _)) = &self.group else {
            unreachable!("GROUP is sent only with a group chosen");
        };
        let mark = self.high_water.get(group).copied();
        let first = match mark {
            Some(mark) if high < mark => {
                let group = group.clone();
                self.event(PullEvent::Renumbered { group, high, mark });
                return self.next_group();
            }
            Some(mark) => mark.saturating_add(1).max(low),
            None => high
                .saturating_sub(NNTP_PULL_NEW_GROUP_ARTICLES - 1)
                .max(low)
                .max(1),
        };
        if count == 0 || high < first || high < low {
            return self.next_group();
        }
        let last = high.min(first.saturating_add(NNTP_PULL_ARTICLES_PER_GROUP_MAX - 1));
        self.command(
            &format!("ARTICLE {first}"),
            State::ExpectArticle {
                number: first,
                last,
            },
        );
    }

    fn next_article(&mut self, number: u32, last: u32) {
        if number < last {
            let next = number + 1;
            self.command(
                &format!("ARTICLE {next}"),
                State::ExpectArticle { number: next, last },
            );
        } else {
            self.next_group();
        }
    }

    fn stored(&mut self) {
        let State::AwaitingStore { number, last } = self.state else {
            panic!("Stored without Article");
        };
        self.outcome.pulled += 1;
        if let Some((_, pulled)) = self.group.as_mut() {
            *pulled += 1;
        }
        self.pulled(number);
        self.next_article(number, last);
    }

    /// Moves the group's mark past `number`, with no article stored.
    fn skip(&mut self, number: u32, reason: String) {
        if let Some((group, _)) = &self.group {
            let group = group.clone();
            self.event(PullEvent::Skipped {
                group,
                number,
                reason,
            });
        }
        self.pulled(number);
    }

    fn pulled(&mut self, number: u32) {
        let Some((group, _)) = &self.group else {
            unreachable!("articles are pulled only inside a group");
        };
        self.high_water.insert(group.clone(), number);
        self.output.push_back(Output::Pulled {
            group: group.clone(),
            number,
        });
    }

    fn next_post(&mut self) {
        while let Some(post) = self.outgoing.pop_front() {
            if post.has_been_at(&self.config.path_identity) {
                self.posted(post.id, PostResult::CameFromUpstream);
                continue;
            }
            return self.command("POST", State::ExpectPostGoAhead { id: post.id });
        }
        self.quit();
    }

    fn posted(&mut self, id: u64, result: PostResult) {
        self.output.push_back(Output::Posted { id, result });
    }

    fn quit(&mut self) {
        self.command("QUIT", State::ExpectQuit);
    }

    fn command(&mut self, command: &str, then: State) {
        self.send(format!("{command}\r\n"));
        self.expect(then, self.config.timeouts.command);
    }

    fn send(&mut self, text: String) {
        self.output.push_back(Output::Send(text.into_bytes()));
    }

    fn expect(&mut self, state: State, timeout: Duration) {
        self.state = state;
        self.deadline = Some(self.now + timeout);
    }

    fn event(&mut self, event: PullEvent) {
        self.output.push_back(Output::Event(event));
    }

    /// Ends the session at the current stage.
    fn fail(&mut self, detail: &str) {
        let stage = match self.state {
            State::Handshake | State::AwaitingStore { .. } | State::SendingPost { .. } => {
                self.state.stage()
            }
            _ => "connection",
        };
        let detail = format!("{detail} (waiting for {})", self.state.stage());
        self.fail_at(stage, detail);
    }

    fn fail_at(&mut self, stage: &'static str, detail: String) {
        self.finish(Some(PullFailure { stage, detail }));
    }

    fn finish(&mut self, failure: Option<PullFailure>) {
        if let Some((group, pulled)) = self.group.take() {
            self.event(PullEvent::GroupDone { group, pulled });
        }
        self.outcome.failure = failure;
        self.output
            .push_back(Output::Finished(std::mem::take(&mut self.outcome)));
        self.output.push_back(Output::Close);
        self.state = State::Closed;
        self.deadline = None;
    }
}

enum Response {
    Status(Status),
    Block(Block),
}
