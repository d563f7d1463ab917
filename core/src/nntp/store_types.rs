//! What the NNTP session machine and the news store share.
//!
//! Article numbers are the UIDs of the group's mailbox: they strictly
//! increase and are never reused (RFC 3977 6.1.1.2 asks the same of
//! article numbers), so a group and a mailbox are one thing seen twice.

use crate::time::UnixTime;
use std::fmt;

/// A newsgroup's name (RFC 3977 4.1 `newsgroup-name`, kept to what is
/// safe everywhere: dot-separated components of lowercase letters,
/// digits, `+`, `-` and `_`), at most
/// [`NEWSGROUP_NAME_BYTES_MAX`](crate::limits::NEWSGROUP_NAME_BYTES_MAX)
/// octets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupName(String);

/// Why a string is not a [`GroupName`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupNameError {
    Empty,
    TooLong,
    /// A component is empty: a leading, trailing or doubled dot.
    EmptyComponent,
    /// A character outside `a-z 0-9 + - _ .`.
    BadCharacter(char),
}

impl fmt::Display for GroupNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupNameError::Empty => write!(f, "a newsgroup name cannot be empty"),
            GroupNameError::TooLong => write!(
                f,
                "a newsgroup name is at most {} characters",
                crate::limits::NEWSGROUP_NAME_BYTES_MAX
            ),
            GroupNameError::EmptyComponent => write!(
                f,
                "a newsgroup name is dot-separated words, with no empty word (like `local.general`)"
            ),
            GroupNameError::BadCharacter(c) => write!(
                f,
                "{c:?} is not allowed in a newsgroup name: use lowercase letters, digits, `+`, `-`, `_` and dots"
            ),
        }
    }
}

impl std::error::Error for GroupNameError {}

impl GroupName {
    pub fn new(name: &str) -> Result<GroupName, GroupNameError> {
        if name.is_empty() {
            return Err(GroupNameError::Empty);
        }
        if name.len() > crate::limits::NEWSGROUP_NAME_BYTES_MAX {
            return Err(GroupNameError::TooLong);
        }
        if let Some(c) = name
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '+' | '-' | '_' | '.'))
        {
            return Err(GroupNameError::BadCharacter(c));
        }
        if name.split('.').any(str::is_empty) {
            return Err(GroupNameError::EmptyComponent);
        }
        Ok(GroupName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 3977 7.6.3: whether posting to a group is allowed (`y`), refused
/// (`n`) or goes to a moderator (`m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostingStatus {
    Allowed,
    Refused,
    Moderated,
}

impl PostingStatus {
    /// The letter in `LIST ACTIVE`.
    pub fn letter(self) -> char {
        match self {
            PostingStatus::Allowed => 'y',
            PostingStatus::Refused => 'n',
            PostingStatus::Moderated => 'm',
        }
    }
}

/// A group as `GROUP` and `LIST ACTIVE` report it (RFC 3977 6.1.1, 7.6.3).
/// An empty group has `count` 0 and `high` = `low` - 1 (RFC 3977 6.1.1.2),
/// `low` being the next number to be given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    pub name: GroupName,
    /// The estimated number of articles (exact here).
    pub count: u32,
    pub low: u32,
    pub high: u32,
    pub status: PostingStatus,
    /// One line for `LIST NEWSGROUPS`; may be empty.
    pub description: String,
    /// When the group was created, for `NEWGROUPS`.
    pub created: UnixTime,
}

/// One article's overview (RFC 3977 8.3, the `OVERVIEW.FMT` of 8.4:
/// Subject, From, Date, Message-ID, References, `:bytes`, `:lines`).
/// Field values are unfolded, with tabs, CR and LF replaced by spaces
/// (RFC 3977 8.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverviewRecord {
    pub number: u32,
    pub subject: String,
    pub from: String,
    pub date: String,
    pub message_id: String,
    pub references: String,
    /// The article's size in octets, CRLF line ends, before dot-stuffing.
    pub bytes: u64,
    /// The body's line count.
    pub lines: u32,
}

/// An article range (RFC 3977 1.7: `n`, `n-` or `n-m`). `last` `None` is
/// open-ended; a range whose `last` is below `first` is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArticleRange {
    pub first: u32,
    pub last: Option<u32>,
}

impl ArticleRange {
    pub fn contains(self, number: u32) -> bool {
        number >= self.first && self.last.is_none_or(|last| number <= last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_checked_with_the_reason() {
        assert!(GroupName::new("local.general").is_ok());
        assert!(GroupName::new("comp.lang.c++").is_ok());
        assert_eq!(GroupName::new(""), Err(GroupNameError::Empty));
        assert_eq!(
            GroupName::new("local..general"),
            Err(GroupNameError::EmptyComponent)
        );
        assert_eq!(GroupName::new(".x"), Err(GroupNameError::EmptyComponent));
        assert_eq!(
            GroupName::new("Local.General"),
            Err(GroupNameError::BadCharacter('L'))
        );
        assert_eq!(
            GroupName::new("a/b"),
            Err(GroupNameError::BadCharacter('/'))
        );
        assert_eq!(
            GroupName::new(&"a".repeat(crate::limits::NEWSGROUP_NAME_BYTES_MAX + 1)),
            Err(GroupNameError::TooLong)
        );
    }

    #[test]
    fn ranges_contain_what_they_name() {
        let open = ArticleRange {
            first: 3,
            last: None,
        };
        assert!(!open.contains(2) && open.contains(3) && open.contains(u32::MAX));
        let closed = ArticleRange {
            first: 3,
            last: Some(5),
        };
        assert!(closed.contains(5) && !closed.contains(6));
        let empty = ArticleRange {
            first: 5,
            last: Some(3),
        };
        assert!(!empty.contains(4) && !empty.contains(5));
    }
}
