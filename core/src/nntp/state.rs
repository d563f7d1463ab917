//! The NNTP machine's states, each holding only what is valid in it, and
//! the selected group, which outlives them.

use super::LoginVia;
use super::article::PostDecoder;
use super::codec::Part;
use super::store_types::{ArticleRange, GroupName, GroupSummary};
use super::wildmat::Wildmat;
use crate::smtp::client::DotStuffer;

/// The group GROUP or LISTGROUP selected (RFC 3977 6.1.1) and the
/// current article number in it.
#[derive(Debug)]
pub struct Selected {
    pub summary: GroupSummary,
    /// Ascending.
    pub numbers: Vec<u32>,
    /// RFC 3977 6.1.1.2: the first article when selected; `None` when the
    /// group is empty.
    pub current: Option<u32>,
}

/// What the groups listed are for.
#[derive(Debug)]
pub enum GroupsFor {
    /// LIST ACTIVE [wildmat].
    Active(Option<Wildmat>),
    /// LIST ACTIVE.TIMES [wildmat].
    ActiveTimes(Option<Wildmat>),
    /// LIST NEWSGROUPS [wildmat].
    Newsgroups(Option<Wildmat>),
    /// NEWGROUPS.
    NewGroups,
}

/// Why a group is being looked up.
#[derive(Debug)]
pub enum GroupFor {
    Group,
    ListGroup(Option<ArticleRange>),
}

/// What the article asked for serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArticleFor {
    /// ARTICLE, HEAD, BODY or STAT; `by_id` if named by message-id (which
    /// leaves the current article alone, RFC 3977 6.2.1.2).
    Fetch {
        part: Part,
        by_id: bool,
    },
    Next,
    Last,
}

/// What HEAD and BODY keep of an article as it streams by: the header
/// lines (without the empty line after them), or what follows that line.
#[derive(Debug)]
pub struct PartFilter {
    head: bool,
    in_header: bool,
    at_line_start: bool,
    /// A CR at the start of a header line, held until the next octet says
    /// whether the line is empty.
    held_cr: bool,
}

impl PartFilter {
    pub fn new(part: Part) -> Option<PartFilter> {
        match part {
            Part::Whole | Part::Status => None,
            Part::Head | Part::Body => Some(PartFilter {
                head: part == Part::Head,
                in_header: true,
                at_line_start: true,
                held_cr: false,
            }),
        }
    }

    /// Appends what is kept of `chunk` to `out`; true when nothing more
    /// will be kept (HEAD has its header).
    pub fn take(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> bool {
        for (i, &byte) in chunk.iter().enumerate() {
            if !self.in_header {
                // BODY: all the rest.
                out.extend_from_slice(&chunk[i..]);
                return false;
            }
            if self.at_line_start && byte == b'\r' && !self.held_cr {
                self.held_cr = true;
                continue;
            }
            if self.at_line_start && byte == b'\n' {
                self.in_header = false;
                self.held_cr = false;
                if self.head {
                    return true;
                }
                continue;
            }
            if self.head {
                if std::mem::take(&mut self.held_cr) {
                    out.push(b'\r');
                }
                out.push(byte);
            }
            self.held_cr = false;
            self.at_line_start = byte == b'\n';
        }
        false
    }
}

/// An article being sent for ARTICLE, HEAD or BODY.
#[derive(Debug)]
pub struct Sending {
    pub message_id: String,
    /// The status line, sent with the first octets: until then a read
    /// failure can still be a `403`.
    pub status_line: Option<Vec<u8>>,
    pub filter: Option<PartFilter>,
    pub stuffer: DotStuffer,
    /// Article octets sent, before stuffing.
    pub octets: u64,
}

#[derive(Debug)]
pub enum State {
    /// Waiting for a command.
    Command,
    /// AUTHINFO SASL PLAIN sent `383`: the next line is the response.
    SaslResponse,
    /// Waiting for the driver to check a login.
    AwaitingAuth {
        via: LoginVia,
        login: String,
    },
    /// A failed login's reply is held back; input waits.
    AuthDelay,
    /// STARTTLS accepted: waiting for the handshake.
    AwaitingTls,
    AwaitingGroups(GroupsFor),
    AwaitingGroup(GroupFor),
    AwaitingArticle(ArticleFor),
    /// The driver hands in the article's chunks.
    SendingArticle(Sending),
    /// OVER, or HDR of an overview field (`field` its index in the
    /// overview format).
    AwaitingOverview {
        hdr: Option<(usize, bool)>,
        by_id: bool,
    },
    /// HDR of another field; `legacy` for XHDR.
    AwaitingHeader {
        by_id: bool,
        legacy: bool,
    },
    AwaitingNewNews(Wildmat),
    /// After `340`: the article's lines.
    ReceivingArticle(PostDecoder),
    AwaitingPost {
        message_id: String,
        newsgroups: Vec<GroupName>,
        octets: u64,
    },
    Closed,
}

impl State {
    /// True while the machine waits for the client's next line: the idle
    /// timer runs.
    pub fn awaits_client(&self) -> bool {
        matches!(
            self,
            State::Command | State::SaslResponse | State::ReceivingArticle(_)
        )
    }

    /// True while the machine waits for the driver.
    pub fn is_awaiting_driver(&self) -> bool {
        !matches!(
            self,
            State::Command
                | State::SaslResponse
                | State::ReceivingArticle(_)
                | State::AuthDelay
                | State::Closed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtered(part: Part, chunks: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut filter = PartFilter::new(part).unwrap();
        let mut out = Vec::new();
        for chunk in chunks {
            if filter.take(chunk, &mut out) {
                return (out, true);
            }
        }
        (out, false)
    }

    #[test]
    fn head_and_body_split_at_the_empty_line_across_pieces() {
        let article: &[u8] = b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore\r\n";
        for cut in 0..article.len() {
            let (first, second) = article.split_at(cut);
            assert_eq!(
                filtered(Part::Head, &[first, second]),
                (b"A: 1\r\nB: 2\r\n".to_vec(), true),
                "cut at {cut}"
            );
            assert_eq!(
                filtered(Part::Body, &[first, second]),
                (b"body\r\n\r\nmore\r\n".to_vec(), false),
                "cut at {cut}"
            );
        }
        assert_eq!(
            filtered(Part::Head, &[b"A: 1\r\n"]),
            (b"A: 1\r\n".to_vec(), false)
        );
        assert_eq!(filtered(Part::Body, &[b"A: 1\r\n"]), (Vec::new(), false));
    }
}
