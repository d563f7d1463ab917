//! Articles: ARTICLE, HEAD, BODY, STAT (RFC 3977 6.2), NEXT and LAST
//! (6.1.3, 6.1.4), OVER (8.3) and HDR (8.5).

use super::NntpServer;
use super::groups::OVERVIEW_FORMAT;
use crate::nntp::codec::{self, Part, Span, Target};
use crate::nntp::state::{ArticleFor, PartFilter, Sending, State};
use crate::nntp::store_types::{ArticleRange, GroupName, OverviewRecord};
use crate::nntp::{ArticleRef, Articles, Event, OpenedArticle, Output, Request};
use crate::smtp::client::DotStuffer;

/// What a command that works on the selected group found: its name and
/// the article (or range) to use, or the reason it cannot go on (already
/// told to the client).
type InGroup<T> = Option<(GroupName, T)>;

impl NntpServer {
    /// The selected group's name, or `412`.
    fn selected_group(&mut self) -> Option<GroupName> {
        match &self.selected {
            Some(selected) => Some(selected.summary.name.clone()),
            None => {
                self.send_status(412, "No newsgroup selected");
                None
            }
        }
    }

    /// The current article, or `412` / `420`.
    fn current_article(&mut self) -> InGroup<u32> {
        let group = self.selected_group()?;
        match self.selected.as_ref().and_then(|s| s.current) {
            Some(number) => Some((group, number)),
            None => {
                self.send_status(420, "No current article selected");
                None
            }
        }
    }

    pub(super) fn handle_article(&mut self, part: Part, target: Target) {
        let want_bytes = part != Part::Status;
        let (article, by_id) = match target {
            Target::MessageId(id) => (ArticleRef::MessageId(id), true),
            Target::Current => {
                let Some((group, number)) = self.current_article() else {
                    return;
                };
                (ArticleRef::Number { group, number }, false)
            }
            Target::Number(number) => {
                let Some(group) = self.selected_group() else {
                    return;
                };
                let exists = self
                    .selected
                    .as_ref()
                    .is_some_and(|s| s.numbers.binary_search(&number).is_ok());
                if !exists {
                    return self.send_status(423, "No article with that number");
                }
                (ArticleRef::Number { group, number }, false)
            }
        };
        self.request(
            State::AwaitingArticle(ArticleFor::Fetch { part, by_id }),
            Request::Article {
                article,
                want_bytes,
            },
        );
    }

    pub(super) fn handle_next_or_last(&mut self, next: bool) {
        let Some((group, current)) = self.current_article() else {
            return;
        };
        let numbers = self.selected.as_ref().map_or(&[][..], |s| &s.numbers[..]);
        let found = if next {
            numbers.iter().find(|&&n| n > current).copied()
        } else {
            numbers.iter().rev().find(|&&n| n < current).copied()
        };
        let Some(number) = found else {
            return if next {
                self.send_status(421, "No next article in this group")
            } else {
                self.send_status(422, "No previous article in this group")
            };
        };
        let purpose = if next {
            ArticleFor::Next
        } else {
            ArticleFor::Last
        };
        self.request(
            State::AwaitingArticle(purpose),
            Request::Article {
                article: ArticleRef::Number { group, number },
                want_bytes: false,
            },
        );
    }

    pub(in crate::nntp) fn article_opened(&mut self, article: Option<OpenedArticle>) {
        let Some(state) = self.take_awaited("ArticleOpened") else {
            return;
        };
        let State::AwaitingArticle(purpose) = state else {
            panic!("ArticleOpened in state {state:?}");
        };
        // An article only a group this session may not read holds does not
        // exist for it.
        let article = article.filter(|a| self.access.may_read(&a.group));
        let Some(article) = article else {
            return match purpose {
                ArticleFor::Fetch { by_id: true, .. } => {
                    self.send_status(430, "No article with that message-id")
                }
                ArticleFor::Fetch { .. } => self.send_status(423, "No article with that number"),
                ArticleFor::Next => self.send_status(421, "No next article in this group"),
                ArticleFor::Last => self.send_status(422, "No previous article in this group"),
            };
        };
        let in_selected = self
            .selected
            .as_ref()
            .is_some_and(|s| s.summary.name == article.group);
        let by_id = matches!(purpose, ArticleFor::Fetch { by_id: true, .. });
        // RFC 3977 6.2.1.2: by message-id, the number is 0 unless the
        // article is in the selected group; the current article stays.
        let number = if by_id && !in_selected {
            0
        } else {
            article.number
        };
        if !by_id && let Some(selected) = self.selected.as_mut() {
            selected.current = Some(article.number);
        }
        let message_id = printable(&article.message_id);
        let (code, part) = match purpose {
            ArticleFor::Fetch { part, .. } => (
                match part {
                    Part::Whole => 220,
                    Part::Head => 221,
                    Part::Body => 222,
                    Part::Status => 223,
                },
                part,
            ),
            ArticleFor::Next | ArticleFor::Last => (223, Part::Status),
        };
        let mut status_line = Vec::new();
        codec::status(&mut status_line, code, &format!("{number} {message_id}"));
        if part == Part::Status {
            return self.send(status_line);
        }
        self.state = State::SendingArticle(Sending {
            message_id,
            status_line: Some(status_line),
            filter: PartFilter::new(part),
            stuffer: DotStuffer::default(),
            octets: 0,
        });
    }

    /// The status line before the first octet of the article.
    fn start_article(&mut self) {
        if let State::SendingArticle(sending) = &mut self.state
            && let Some(status_line) = sending.status_line.take()
        {
            self.send(status_line);
        }
    }

    pub(in crate::nntp) fn article_chunk(&mut self, chunk: &[u8]) {
        match &self.state {
            State::SendingArticle(_) => {}
            State::Closed => return,
            other => panic!("ArticleChunk in state {other:?}"),
        }
        self.start_article();
        let State::SendingArticle(sending) = &mut self.state else {
            unreachable!("checked above");
        };
        let mut kept = Vec::new();
        let (kept, done) = match sending.filter.as_mut() {
            Some(filter) => {
                let done = filter.take(chunk, &mut kept);
                (&kept[..], done)
            }
            None => (chunk, false),
        };
        let mut out = Vec::with_capacity(kept.len() + kept.len() / 32 + 8);
        sending.stuffer.stuff(kept, &mut out);
        sending.octets += kept.len() as u64;
        if !out.is_empty() {
            self.send(out);
        }
        if done {
            self.finish_article();
        }
    }

    pub(in crate::nntp) fn article_end(&mut self) {
        match &self.state {
            State::SendingArticle(_) => {}
            State::Closed => return,
            other => panic!("ArticleEnd in state {other:?}"),
        }
        self.start_article();
        self.finish_article();
    }

    /// The terminating `.` (a CRLF first if the article lacked one).
    fn finish_article(&mut self) {
        let State::SendingArticle(sending) = std::mem::replace(&mut self.state, State::Command)
        else {
            unreachable!("finish_article outside SendingArticle");
        };
        let mut out = Vec::new();
        sending.stuffer.finish(&mut out);
        self.send(out);
        self.articles_sent += 1;
        self.output.push_back(Output::Event(Event::ArticleSent {
            message_id: sending.message_id,
            octets: sending.octets,
        }));
    }

    /// The article could not be read: `403` if nothing was sent yet;
    /// otherwise the response cannot be finished and the session ends.
    pub(in crate::nntp) fn article_unavailable(&mut self) {
        let sending = match std::mem::replace(&mut self.state, State::Command) {
            State::SendingArticle(sending) => sending,
            State::AwaitingArticle(_) => {
                return self.send_status(403, "The article cannot be read right now");
            }
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("ArticleUnavailable in state {other:?}"),
        };
        self.output.push_back(Output::Event(Event::ArticleFailed {
            message_id: sending.message_id,
        }));
        if sending.status_line.is_none() {
            self.close();
        } else {
            self.send_status(403, "The article cannot be read right now");
        }
    }

    /// The articles OVER and HDR cover, or the reason not (told).
    fn span_articles(&mut self, span: Span) -> Option<(Articles, bool)> {
        let (group, range) = match span {
            Span::MessageId(id) => return Some((Articles::MessageId(id), true)),
            Span::Current => {
                let (group, number) = self.current_article()?;
                let range = ArticleRange {
                    first: number,
                    last: Some(number),
                };
                (group, range)
            }
            Span::Range(range) => {
                let group = self.selected_group()?;
                let any = self
                    .selected
                    .as_ref()
                    .is_some_and(|s| s.numbers.iter().any(|&n| range.contains(n)));
                if !any {
                    self.send_status(423, "No articles in that range");
                    return None;
                }
                (group, range)
            }
        };
        Some((Articles::Range { group, range }, false))
    }

    pub(super) fn handle_over(&mut self, span: Span) {
        if let Some((articles, by_id)) = self.span_articles(span) {
            self.request(
                State::AwaitingOverview { hdr: None, by_id },
                Request::Overview(articles),
            );
        }
    }

    pub(super) fn handle_hdr(&mut self, field: String, span: Span, legacy: bool) {
        let overview_field = OVERVIEW_FORMAT.iter().position(|name| {
            let name = name.strip_suffix(':').unwrap_or(name);
            name.eq_ignore_ascii_case(&field)
        });
        if overview_field.is_none() {
            if field.starts_with(':') {
                return self.refuse(503, "Metadata item not supported: use :bytes or :lines");
            }
            if field.contains(':') {
                return self.refuse(501, "Syntax error: a header name has no colon");
            }
        }
        let Some((articles, by_id)) = self.span_articles(span) else {
            return;
        };
        match overview_field {
            Some(index) => self.request(
                State::AwaitingOverview {
                    hdr: Some((index, legacy)),
                    by_id,
                },
                Request::Overview(articles),
            ),
            None => self.request(
                State::AwaitingHeader { by_id, legacy },
                Request::Header { articles, field },
            ),
        }
    }

    /// Nothing found: `430` by message-id, `423` for a range.
    fn nothing_found(&mut self, by_id: bool) {
        if by_id {
            self.send_status(430, "No article with that message-id");
        } else {
            self.send_status(423, "No articles in that range");
        }
    }

    pub(in crate::nntp) fn overview_answered(&mut self, records: Vec<(GroupName, OverviewRecord)>) {
        let Some(state) = self.take_awaited("Overview") else {
            return;
        };
        let State::AwaitingOverview { hdr, by_id } = state else {
            panic!("Overview in state {state:?}");
        };
        // By message-id, one line however many groups hold the article.
        let records: Vec<OverviewRecord> = records
            .into_iter()
            .filter(|(group, _)| self.access.may_read(group))
            .map(|(_, record)| record)
            .take(if by_id { 1 } else { usize::MAX })
            .collect();
        if records.is_empty() {
            return self.nothing_found(by_id);
        }
        // RFC 3977 8.3.2, 8.5.2: by message-id the number is 0.
        let number = |record: &OverviewRecord| if by_id { 0 } else { record.number };
        match hdr {
            None => {
                let lines: Vec<String> = records
                    .iter()
                    .map(|r| {
                        let fields = overview_fields(r);
                        format!("{}\t{}", number(r), fields.join("\t"))
                    })
                    .collect();
                self.send_multi_line(224, "Overview information follows", &lines);
            }
            Some((index, legacy)) => {
                let lines: Vec<String> = records
                    .iter()
                    .map(|r| format!("{} {}", number(r), overview_fields(r)[index]))
                    .collect();
                self.send_headers(legacy, &lines);
            }
        }
    }

    pub(in crate::nntp) fn header_answered(&mut self, values: Vec<(GroupName, u32, String)>) {
        let Some(state) = self.take_awaited("Header") else {
            return;
        };
        let State::AwaitingHeader { by_id, legacy } = state else {
            panic!("Header in state {state:?}");
        };
        let values: Vec<(u32, String)> = values
            .into_iter()
            .filter(|(group, _, _)| self.access.may_read(group))
            .map(|(_, number, value)| (number, value))
            .take(if by_id { 1 } else { usize::MAX })
            .collect();
        if values.is_empty() {
            return self.nothing_found(by_id);
        }
        let lines: Vec<String> = values
            .iter()
            .map(|(n, value)| format!("{} {}", if by_id { 0 } else { *n }, printable(value)))
            .collect();
        self.send_headers(legacy, &lines);
    }

    /// HDR answers 225 (RFC 3977 8.5); XHDR the 221 of RFC 2980 2.6.
    fn send_headers(&mut self, legacy: bool, lines: &[String]) {
        if legacy {
            self.send_multi_line(221, "Header follows", lines);
        } else {
            self.send_multi_line(225, "Headers follow", lines);
        }
    }
}

/// The overview fields of a record, in [`OVERVIEW_FORMAT`] order, each
/// on one line without tabs (RFC 3977 8.3.2).
fn overview_fields(record: &OverviewRecord) -> [String; 7] {
    [
        printable(&record.subject),
        printable(&record.from),
        printable(&record.date),
        printable(&record.message_id),
        printable(&record.references),
        record.bytes.to_string(),
        record.lines.to_string(),
    ]
}

/// Store text as a response may carry it: controls (tabs, CR, LF) become
/// spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
