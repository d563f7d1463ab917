//! `[[newsgroup]]` and `[[news_access]]`: the local newsgroups, and who
//! may read and post where, per user.
//!
//! ```toml
//! [[newsgroup]]
//! name = "local.general"
//! description = "Anything for everyone here"
//! expire = "90 days"
//! address = "general-news@example.test"   # mail to it posts to the group
//! send_to = ["team@example.test"]         # each new article is mailed there
//!
//! [[news_access]]
//! users = ["*@partner.test"]
//! read = "local.*,!local.private"
//! post = ""
//! ```

use super::{ConfigError, Seconds, line_column, spanned_error};
use crate::nntp::{GroupName, PostingStatus};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;

/// The newsgroups and the per-user news access rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewsConfig {
    pub groups: Vec<NewsgroupConfig>,
    /// Checked in order; the first entry naming a user decides for them.
    pub access: Vec<NewsAccess>,
}

/// One local newsgroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewsgroupConfig {
    pub name: GroupName,
    pub description: String,
    pub status: PostingStatus,
    /// Articles older than this are expired; `None` keeps them.
    pub expire: Option<Duration>,
    /// Mail to this address (lower-case) is posted to the group.
    pub address: Option<String>,
    /// Every new article that did not come from mail is sent to these
    /// addresses.
    pub send_to: Vec<String>,
}

/// Read and post patterns for the users an entry names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewsAccess {
    /// Addresses, lower-case, each possibly `*@domain` or `*`.
    pub users: Vec<String>,
    pub read: String,
    pub post: String,
}

impl NewsConfig {
    /// The read and post patterns for a logged-in `user`, or `None` when no
    /// entry names them (the instance's `read` and `post` apply).
    pub fn access_for(&self, user: &str) -> Option<&NewsAccess> {
        let user = user.to_ascii_lowercase();
        let domain = user.rsplit_once('@').map(|(_, d)| d);
        self.access.iter().find(|entry| {
            entry.users.iter().any(|pattern| {
                pattern == "*"
                    || *pattern == user
                    || pattern
                        .strip_prefix("*@")
                        .is_some_and(|d| Some(d) == domain)
            })
        })
    }

    pub fn group(&self, name: &GroupName) -> Option<&NewsgroupConfig> {
        self.groups.iter().find(|group| &group.name == name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNewsgroup {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    /// `"open"` (`y`) or `"read-only"` (`n`); moderated groups are the
    /// archives of moderated lists.
    posting: Option<Spanned<String>>,
    expire: Option<Seconds>,
    address: Option<Spanned<String>>,
    #[serde(default)]
    send_to: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNewsAccess {
    users: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    read: Option<Spanned<String>>,
    #[serde(default)]
    post: Option<Spanned<String>>,
}

pub(super) fn validate_news(
    source: &str,
    groups: Vec<RawNewsgroup>,
    access: Vec<RawNewsAccess>,
    errors: &mut Vec<ConfigError>,
) -> NewsConfig {
    let mut first_line: BTreeMap<GroupName, usize> = BTreeMap::new();
    let mut news = NewsConfig::default();
    for raw in groups {
        let span = raw.name.span();
        let name = match GroupName::new(raw.name.get_ref()) {
            Ok(name) => name,
            Err(reason) => {
                errors.push(spanned_error(
                    source,
                    span,
                    "newsgroup.name",
                    format!("{:?} is not a newsgroup name: {reason}", raw.name.get_ref()),
                    "name groups like \"local.general\"",
                ));
                continue;
            }
        };
        if let Some(line) = first_line.get(&name) {
            errors.push(spanned_error(
                source,
                span,
                "newsgroup.name",
                format!("newsgroup {name} is declared twice: here and on line {line}"),
                "merge the two [[newsgroup]] tables into one",
            ));
            continue;
        }
        first_line.insert(name.clone(), line_column(source, span.start).0);
        let status = match raw
            .posting
            .as_ref()
            .map(|p| (p.get_ref().as_str(), p.span()))
        {
            None | Some(("open", _)) => PostingStatus::Allowed,
            Some(("read-only", _)) => PostingStatus::Refused,
            Some(("moderated", at)) => {
                errors.push(spanned_error(
                    source,
                    at,
                    "newsgroup.posting",
                    "a local newsgroup has no moderator to send posts to".to_owned(),
                    "for a moderated group, declare a [[list]] with kind = \"moderated\" and newsgroup = \"...\": its archive is the group, and posts to it go to the list's moderators",
                ));
                PostingStatus::Moderated
            }
            Some((other, at)) => {
                errors.push(spanned_error(
                    source,
                    at,
                    "newsgroup.posting",
                    format!("{other:?} is not a posting rule"),
                    "use \"open\" (the default) or \"read-only\"",
                ));
                PostingStatus::Allowed
            }
        };
        let gateway = raw
            .address
            .map(|a| address(source, "newsgroup.address", &a, errors));
        let send_to = raw
            .send_to
            .iter()
            .map(|a| address(source, "newsgroup.send_to", a, errors))
            .collect();
        news.groups.push(NewsgroupConfig {
            name,
            description: raw.description,
            status,
            expire: raw.expire.map(|e| e.0),
            address: gateway,
            send_to,
        });
    }
    for raw in access {
        if raw.users.get_ref().is_empty() {
            errors.push(spanned_error(
                source,
                raw.users.span(),
                "news_access.users",
                "a [[news_access]] that names nobody".to_owned(),
                "list addresses, \"*@domain\" or \"*\", for example users = [\"alice@example.test\"]",
            ));
        }
        let users = raw
            .users
            .get_ref()
            .iter()
            .map(|u| {
                let user = u.get_ref().to_ascii_lowercase();
                if user != "*" && !user.contains('@') {
                    errors.push(spanned_error(
                        source,
                        u.span(),
                        "news_access.users",
                        format!("{user:?} is not an address, \"*@domain\" or \"*\""),
                        "write the login as it is typed, for example \"alice@example.test\"",
                    ));
                }
                user
            })
            .collect();
        let mut pattern = |key: &str, written: Option<Spanned<String>>| match written {
            None => String::new(),
            Some(written) => {
                if let Err(reason) = check_wildmat(written.get_ref()) {
                    errors.push(spanned_error(
                        source,
                        written.span(),
                        key,
                        format!("{:?} is not a wildmat: {reason}", written.get_ref()),
                        "write group patterns like \"local.*,!local.private\" (RFC 3977 section 4); \"\" grants nothing",
                    ));
                }
                written.into_inner()
            }
        };
        let read = pattern("news_access.read", raw.read);
        let post = pattern("news_access.post", raw.post);
        news.access.push(NewsAccess { users, read, post });
    }
    news
}

/// An address key: `user@domain`, kept lower-case.
fn address(
    source: &str,
    key: &str,
    written: &Spanned<String>,
    errors: &mut Vec<ConfigError>,
) -> String {
    let text = written.get_ref().trim().to_ascii_lowercase();
    if crate::address::parse_mailbox(&text).is_err() {
        errors.push(spanned_error(
            source,
            written.span(),
            key,
            format!("{text:?} is not a mail address"),
            "write it like \"general-news@example.test\"",
        ));
    }
    text
}

/// Whether `pattern` is a wildmat (RFC 3977 4.1); `""` grants nothing.
pub fn check_wildmat(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Ok(());
    }
    crate::nntp::Wildmat::parse(pattern)
        .map(drop)
        .map_err(|error| error.to_string())
}
