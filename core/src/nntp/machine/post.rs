//! POST (RFC 3977 6.3.1): the article after `340`, its checks (RFC 5536)
//! and the store's answer.

use super::NntpServer;
use crate::limits::NNTP_POST_BYTES_MAX;
use crate::nntp::article::{self, Injection, PostDecoder, Progress};
use crate::nntp::state::State;
use crate::nntp::timers::Timer;
use crate::nntp::{Event, Output, Request};
use crate::text::bounded;

/// The longest reason a `441` carries from the store.
const POST_REASON_BYTES_MAX: usize = 200;

impl NntpServer {
    pub(super) fn handle_post(&mut self) {
        if !self.posting_allowed() {
            return self.send_status(440, "Posting not permitted");
        }
        let max_size = self.config.max_article_size.min(NNTP_POST_BYTES_MAX);
        self.state = State::ReceivingArticle(PostDecoder::new(max_size));
        self.send_status(340, "Input article; end with <CR-LF>.<CR-LF>");
    }

    /// Feeds buffered input to the article being posted; true if the
    /// article ended (and the rest of the input is commands again).
    pub(super) fn receive_article(&mut self) -> bool {
        let State::ReceivingArticle(decoder) = &mut self.state else {
            unreachable!("receive_article outside ReceivingArticle");
        };
        if self.input.is_empty() {
            return false;
        }
        let progress = decoder.feed(&self.input);
        // Article lines are client activity like commands.
        self.timers.stop(Timer::Idle);
        match progress {
            Progress::NeedMore => {
                self.input.clear();
                false
            }
            Progress::End { consumed } => {
                self.input.drain(..consumed);
                self.article_received();
                true
            }
        }
    }

    fn article_received(&mut self) {
        let State::ReceivingArticle(decoder) = std::mem::replace(&mut self.state, State::Command)
        else {
            unreachable!("article_received outside ReceivingArticle");
        };
        let bytes = match decoder.finish() {
            Ok(bytes) => bytes,
            Err(fault) => return self.post_refused(fault.reason()),
        };
        let message_id = self.make_message_id();
        let injection = Injection {
            hostname: &self.config.hostname,
            message_id,
            date: self.wall_clock(),
        };
        let checked = match article::check(&bytes, &injection) {
            Ok(checked) => checked,
            Err(reason) => return self.post_refused(&reason),
        };
        if let Some(group) = checked
            .newsgroups
            .iter()
            .find(|group| !self.access.may_post(group))
        {
            return self.post_refused(&format!("posting to {group} is not permitted"));
        }
        let octets = checked.bytes.len() as u64;
        self.request(
            State::AwaitingPost {
                message_id: checked.message_id.clone(),
                newsgroups: checked.newsgroups.clone(),
                octets,
            },
            Request::Post {
                article: checked.bytes,
                newsgroups: checked.newsgroups,
                message_id: checked.message_id,
            },
        );
    }

    /// `<wall-clock.seed.n@hostname>`: unique per session by the seed,
    /// per post by the count.
    fn make_message_id(&mut self) -> String {
        self.message_ids_made += 1;
        format!(
            "<{}.{:016x}.{}@{}>",
            self.wall_clock().0,
            self.start.message_id_seed,
            self.message_ids_made,
            self.config.hostname
        )
    }

    fn post_refused(&mut self, reason: &str) {
        let text = format!(
            "Posting failed: {}",
            bounded(&printable(reason), POST_REASON_BYTES_MAX)
        );
        self.refused += 1;
        self.output.push_back(Output::Event(Event::PostRefused {
            reply: format!("441 {text}"),
        }));
        self.send_status(441, &text);
    }

    pub(in crate::nntp) fn posted(&mut self, result: Result<(), String>) {
        let Some(state) = self.take_awaited("Posted") else {
            return;
        };
        let State::AwaitingPost {
            message_id,
            newsgroups,
            octets,
        } = state
        else {
            panic!("Posted in state {state:?}");
        };
        match result {
            Ok(()) => {
                self.posted += 1;
                self.output.push_back(Output::Event(Event::PostAccepted {
                    message_id,
                    newsgroups,
                    octets,
                }));
                self.send_status(240, "Article received OK");
            }
            Err(reason) => self.post_refused(&reason),
        }
    }
}

fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
