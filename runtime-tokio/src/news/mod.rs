//! The news store: every newsgroup is a mailbox, its article numbers the
//! mailbox's UIDs (which strictly increase and are never reused, as RFC
//! 3977 6.1.1.2 asks of article numbers).
//!
//! Two kinds of group:
//! - local groups (`[[newsgroup]]`), each the INBOX of its own Maildir in
//!   `DATA/news/groups/NAME/`, with no other folders;
//! - mailing-list archives, the INBOX of the list address's own mailbox
//!   in `DATA/mail/`, read through the users' store.
//!
//! Articles never change once stored, so their overview records are kept
//! in memory per group after the first read, and a message-ID index is
//! built from them.

use crate::mailstore::{MailboxStore, MaildirStore, StoreError};
use postern_core::config::{NewsAccess, NewsConfig};
use postern_core::envelope::LocalMailbox;
use postern_core::lists::ListDefinition;
use postern_core::mailbox::{Flags, Keywords, Snapshot, Uid};
use postern_core::nntp::{ArticleRange, GroupName, GroupSummary, OverviewRecord, PostingStatus};
use postern_core::time::UnixTime;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tokio::io::AsyncReadExt;

pub mod deliver;
mod expire;
pub mod gateway;
mod pull;
#[cfg(test)]
mod tests;

pub use expire::run_expiry;
pub use pull::{NewsPull, carried_group};

/// The one folder of a group's mailbox.
const INBOX: &str = "INBOX";

/// Where a group's articles are, and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSource {
    pub name: GroupName,
    pub description: String,
    pub status: PostingStatus,
    /// Articles older than this are expired.
    pub expire: Option<Duration>,
    pub location: Location,
    /// Mail to this address is posted to the group.
    pub gateway: Option<String>,
    /// New articles that did not come from mail are mailed here.
    pub send_to: Vec<String>,
}

/// Which store holds a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// `DATA/news/groups/NAME/`.
    Local,
    /// A mailing list's archive: the list address's own INBOX. Articles
    /// come only from the list; a post to the group is mailed to the list,
    /// whose rules decide (so the group is `m`, RFC 3977 7.6.3).
    Archive(LocalMailbox),
}

/// The groups `[[newsgroup]]` declares, as sources.
pub fn local_groups(news: &NewsConfig) -> Vec<GroupSource> {
    news.groups
        .iter()
        .map(|group| GroupSource {
            name: group.name.clone(),
            description: group.description.clone(),
            status: group.status,
            expire: group.expire,
            location: Location::Local,
            gateway: group.address.clone(),
            send_to: group.send_to.clone(),
        })
        .collect()
}

/// Every group served: the local ones, and the archives of the mailing
/// lists that name a newsgroup (a local group of the same name wins, and
/// the clash is logged).
pub fn all_groups(news: &NewsConfig, lists: &[ListDefinition]) -> Vec<GroupSource> {
    let mut groups = local_groups(news);
    for list in lists {
        let Some(name) = &list.newsgroup else {
            continue;
        };
        if groups.iter().any(|group| &group.name == name) {
            tracing::error!(group = %name, list = %list.address(), "newsgroup {name} is both a [[newsgroup]] and the archive of {}; the [[newsgroup]] is served", list.address());
            continue;
        }
        let description = if list.description.is_empty() {
            format!("The archive of the mailing list {}", list.address())
        } else {
            list.description.clone()
        };
        groups.push(GroupSource {
            name: name.clone(),
            description,
            status: PostingStatus::Moderated,
            expire: None,
            location: Location::Archive(LocalMailbox {
                domain: list.domain.clone(),
                user: list.local.clone(),
            }),
            gateway: None,
            send_to: Vec::new(),
        });
    }
    groups
}

/// Where a post went: the groups that stored it, and the mailing lists
/// (by address) it is to be mailed to, for the archive groups it named.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Posted {
    pub stored: Vec<(GroupName, u32)>,
    pub to_lists: Vec<String>,
    /// Addresses the news-to-mail gateway sends the article to.
    pub send_to: Vec<(GroupName, String)>,
}

/// Why a post was not stored.
#[derive(Debug)]
pub enum PostError {
    /// An article with this Message-ID is already here (RFC 3977 6.3.1.3:
    /// 441, "duplicate").
    Duplicate(String),
    /// None of the groups exists.
    NoSuchGroup(String),
    /// A group takes no posts.
    ReadOnly(GroupName),
    Store(StoreError),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Duplicate(id) => {
                write!(f, "an article with Message-ID {id} is already here")
            }
            PostError::NoSuchGroup(name) => write!(f, "no such newsgroup: {name}"),
            PostError::ReadOnly(name) => write!(f, "{name} takes no posts"),
            PostError::Store(error) => write!(f, "the article could not be stored: {error}"),
        }
    }
}

/// The newsgroups of one data directory (production: two
/// [`MaildirStore`]s; the simulation: two in-memory stores). Cloning is
/// cheap; clones share their caches.
pub struct NewsStore<S: MailboxStore + Clone = MaildirStore> {
    inner: Arc<Inner<S>>,
}

impl<S: MailboxStore + Clone> Clone for NewsStore<S> {
    fn clone(&self) -> Self {
        NewsStore {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<S> {
    /// `DATA/news`: local groups.
    groups_store: S,
    /// `DATA/mail`: list archives.
    mail_store: S,
    groups: RwLock<Arc<BTreeMap<GroupName, GroupSource>>>,
    /// `[[news_access]]`.
    access: RwLock<Arc<NewsConfig>>,
    /// Overview records by group and article number, filled on demand.
    overviews: Mutex<BTreeMap<GroupName, BTreeMap<u32, OverviewRecord>>>,
}

/// The local mailbox that holds local group `name`.
fn group_mailbox(name: &GroupName) -> LocalMailbox {
    LocalMailbox {
        domain: "groups".to_owned(),
        user: name.as_str().to_owned(),
    }
}

impl NewsStore<MaildirStore> {
    /// Production's: local groups in `DATA/news`, list archives in
    /// `mail_store`.
    pub fn new(data_dir: &Path, hostname: &str, mail_store: MaildirStore) -> Self {
        NewsStore::with_stores(MaildirStore::for_newsgroups(data_dir, hostname), mail_store)
    }
}

impl<S: MailboxStore + Clone> NewsStore<S> {
    /// Local groups in `groups_store` (each the INBOX of mailbox
    /// `NAME@groups`), list archives in `mail_store`.
    pub fn with_stores(groups_store: S, mail_store: S) -> Self {
        NewsStore {
            inner: Arc::new(Inner {
                groups_store,
                mail_store,
                groups: RwLock::new(Arc::new(BTreeMap::new())),
                access: RwLock::new(Arc::new(NewsConfig::default())),
                overviews: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Replaces the groups served (at start and on a reload). A group
    /// dropped from the configuration keeps its articles on disk.
    pub fn set_groups(&self, sources: Vec<GroupSource>) {
        let map = sources
            .into_iter()
            .map(|source| (source.name.clone(), source))
            .collect();
        *self
            .inner
            .groups
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(map);
    }

    /// Replaces the per-user access rules (at start and on a reload).
    pub fn set_access(&self, news: &NewsConfig) {
        *self
            .inner
            .access
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(news.clone());
    }

    /// The `[[news_access]]` entry that names `login`, if any.
    pub fn access_for(&self, login: &str) -> Option<NewsAccess> {
        self.inner
            .access
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .access_for(login)
            .cloned()
    }

    /// Adds a group if none of that name is served (a group first pulled
    /// from an upstream).
    pub(crate) fn add_source(&self, source: GroupSource) {
        let mut groups = self
            .inner
            .groups
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if !groups.contains_key(&source.name) {
            let mut map = BTreeMap::clone(&groups);
            map.insert(source.name.clone(), source);
            *groups = Arc::new(map);
        }
    }

    fn sources(&self) -> Arc<BTreeMap<GroupName, GroupSource>> {
        Arc::clone(
            &self
                .inner
                .groups
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn source(&self, name: &GroupName) -> Option<GroupSource> {
        self.sources().get(name).cloned()
    }

    /// The store and mailbox that hold a group.
    fn place(&self, source: &GroupSource) -> (&S, LocalMailbox) {
        match &source.location {
            Location::Local => (&self.inner.groups_store, group_mailbox(&source.name)),
            Location::Archive(mailbox) => (&self.inner.mail_store, mailbox.clone()),
        }
    }

    async fn snapshot(&self, source: &GroupSource) -> Result<Snapshot, StoreError> {
        let (store, mailbox) = self.place(source);
        store.open(&mailbox, INBOX).await
    }

    /// Every group with its figures, by name.
    pub async fn groups(&self) -> Result<Vec<GroupSummary>, StoreError> {
        let mut summaries = Vec::new();
        for source in self.sources().values() {
            let snapshot = self.snapshot(source).await?;
            summaries.push(summary(source, &snapshot));
        }
        Ok(summaries)
    }

    /// A group's figures and its article numbers, ascending; `None` when
    /// there is no such group.
    pub async fn select(
        &self,
        name: &GroupName,
    ) -> Result<Option<(GroupSummary, Vec<u32>)>, StoreError> {
        let Some(source) = self.source(name) else {
            return Ok(None);
        };
        let snapshot = self.snapshot(&source).await?;
        let numbers = snapshot.messages.iter().map(|m| m.uid.get()).collect();
        Ok(Some((summary(&source, &snapshot), numbers)))
    }

    /// An article's bytes as clients see them (CRLF line ends); `None`
    /// when the group or the article is not there (any longer).
    pub async fn article(
        &self,
        name: &GroupName,
        number: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(source) = self.source(name) else {
            return Ok(None);
        };
        let (store, mailbox) = self.place(&source);
        let Some(uid) = Uid::new(number) else {
            return Ok(None);
        };
        let mut reader = match store.read(&mailbox, INBOX, uid).await {
            Ok(reader) => reader,
            Err(StoreError::NoSuchMessage(_)) => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut bytes = Vec::with_capacity(usize::try_from(reader.size()).unwrap_or(0));
        reader.read_to_end(&mut bytes).await?;
        Ok(Some(bytes))
    }

    /// The overview records of a group's articles in `range`, by number.
    pub async fn overview(
        &self,
        name: &GroupName,
        range: ArticleRange,
    ) -> Result<Vec<OverviewRecord>, StoreError> {
        let Some((_, numbers)) = self.select(name).await? else {
            return Ok(Vec::new());
        };
        let wanted: Vec<u32> = numbers.into_iter().filter(|n| range.contains(*n)).collect();
        let mut records = Vec::with_capacity(wanted.len());
        for number in wanted {
            if let Some(record) = self.record(name, number).await? {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// One article's overview, from the cache or read once.
    async fn record(
        &self,
        name: &GroupName,
        number: u32,
    ) -> Result<Option<OverviewRecord>, StoreError> {
        if let Some(record) = self.cached(name, number) {
            return Ok(Some(record));
        }
        let Some(bytes) = self.article(name, number).await? else {
            return Ok(None);
        };
        let record = postern_core::nntp::overview(number, &bytes);
        self.lock_overviews()
            .entry(name.clone())
            .or_default()
            .insert(number, record.clone());
        Ok(Some(record))
    }

    fn cached(&self, name: &GroupName, number: u32) -> Option<OverviewRecord> {
        self.lock_overviews()
            .get(name)
            .and_then(|records| records.get(&number))
            .cloned()
    }

    fn lock_overviews(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<GroupName, BTreeMap<u32, OverviewRecord>>> {
        self.inner
            .overviews
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Header `field` of a group's articles in `range`: `(number, value)`,
    /// the value unfolded and empty where the article has no such field.
    pub async fn header(
        &self,
        name: &GroupName,
        range: ArticleRange,
        field: &str,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        let Some((_, numbers)) = self.select(name).await? else {
            return Ok(Vec::new());
        };
        let mut values = Vec::new();
        for number in numbers.into_iter().filter(|n| range.contains(*n)) {
            if let Some(bytes) = self.article(name, number).await? {
                let value = postern_core::mailbox::header::field(&bytes, field)
                    .unwrap_or_default()
                    .replace(['\t', '\r', '\n'], " ");
                values.push((number, value));
            }
        }
        Ok(values)
    }

    /// Where the article with this Message-ID is: the first group (by
    /// name) that has it.
    pub async fn find(&self, message_id: &str) -> Result<Option<(GroupName, u32)>, StoreError> {
        for name in self.sources().keys() {
            for record in self
                .overview(
                    name,
                    ArticleRange {
                        first: 1,
                        last: None,
                    },
                )
                .await?
            {
                if record.message_id == message_id {
                    return Ok(Some((name.clone(), record.number)));
                }
            }
        }
        Ok(None)
    }

    /// The Message-IDs of articles that arrived at or after `since`, with
    /// their group, by group then number.
    pub async fn new_news(&self, since: UnixTime) -> Result<Vec<(GroupName, String)>, StoreError> {
        let mut found = Vec::new();
        for source in self.sources().values() {
            let snapshot = self.snapshot(source).await?;
            for message in snapshot
                .messages
                .iter()
                .filter(|m| m.internal_date >= since)
            {
                if let Some(record) = self.record(&source.name, message.uid.get()).await? {
                    found.push((source.name.clone(), record.message_id));
                }
            }
        }
        Ok(found)
    }

    /// Stores a checked article (CRLF line ends, with its Message-ID) in
    /// each of `groups` that exists here, except list archives, whose
    /// lists it names instead; returns where it went. Refused whole when
    /// its Message-ID is here already, when no group exists, or when one
    /// of them takes no posts.
    pub async fn post(
        &self,
        article: &[u8],
        groups: &[GroupName],
        now: UnixTime,
    ) -> Result<Posted, PostError> {
        let sources: Vec<GroupSource> = groups.iter().filter_map(|g| self.source(g)).collect();
        if sources.is_empty() {
            let names: Vec<&str> = groups.iter().map(GroupName::as_str).collect();
            return Err(PostError::NoSuchGroup(names.join(",")));
        }
        if let Some(closed) = sources.iter().find(|s| s.status == PostingStatus::Refused) {
            return Err(PostError::ReadOnly(closed.name.clone()));
        }
        let message_id =
            postern_core::mailbox::header::field(article, "Message-ID").unwrap_or_default();
        if !message_id.is_empty()
            && self
                .find(&message_id)
                .await
                .map_err(PostError::Store)?
                .is_some()
        {
            return Err(PostError::Duplicate(message_id));
        }
        let mut posted = Posted::default();
        let from_mail = postern_core::nntp::gateway::came_from_mail(article);
        for source in &sources {
            if let Location::Archive(list) = &source.location {
                posted.to_lists.push(list.to_string());
                continue;
            }
            if !from_mail {
                posted.send_to.extend(
                    source
                        .send_to
                        .iter()
                        .map(|address| (source.name.clone(), address.clone())),
                );
            }
            let (store, mailbox) = self.place(source);
            let uid = store
                .append(
                    &mailbox,
                    INBOX,
                    article,
                    Flags::EMPTY,
                    &Keywords::default(),
                    now,
                )
                .await
                .map_err(PostError::Store)?;
            posted.stored.push((source.name.clone(), uid.get()));
        }
        Ok(posted)
    }

    /// The group whose mail-to-news address is `address` (lower-case).
    pub fn gateway_group(&self, address: &str) -> Option<GroupName> {
        self.sources()
            .values()
            .find(|source| source.gateway.as_deref() == Some(address))
            .map(|source| source.name.clone())
    }

    /// Removes the articles of groups with an `expire` that arrived before
    /// `now` less it; returns how many went, by group.
    pub async fn expire(&self, now: UnixTime) -> Result<Vec<(GroupName, usize)>, StoreError> {
        let mut expired = Vec::new();
        for source in self.sources().values() {
            let Some(keep) = source.expire else {
                continue;
            };
            let cutoff = UnixTime(
                now.0
                    .saturating_sub(i64::try_from(keep.as_secs()).unwrap_or(i64::MAX)),
            );
            let snapshot = self.snapshot(source).await?;
            let old: Vec<Uid> = snapshot
                .messages
                .iter()
                .filter(|m| m.internal_date < cutoff)
                .map(|m| m.uid)
                .collect();
            if old.is_empty() {
                continue;
            }
            let (store, mailbox) = self.place(source);
            let gone = store.expunge(&mailbox, INBOX, &old).await?;
            if let Some(records) = self.lock_overviews().get_mut(&source.name) {
                for uid in &gone {
                    records.remove(&uid.get());
                }
            }
            expired.push((source.name.clone(), gone.len()));
        }
        Ok(expired)
    }
}

/// RFC 3977 6.1.1.2: an empty group reports `high` = `low` - 1, `low`
/// being the number the next article will get.
fn summary(source: &GroupSource, snapshot: &Snapshot) -> GroupSummary {
    let (low, high) = match (snapshot.messages.first(), snapshot.messages.last()) {
        (Some(first), Some(last)) => (first.uid.get(), last.uid.get()),
        _ => (snapshot.uid_next, snapshot.uid_next.saturating_sub(1)),
    };
    GroupSummary {
        name: source.name.clone(),
        count: u32::try_from(snapshot.messages.len()).unwrap_or(u32::MAX),
        low,
        high,
        status: source.status,
        description: source.description.clone(),
        // A mailbox's UIDVALIDITY is the time it was made (Dovecot's rule,
        // which our Maildir store keeps).
        created: UnixTime(i64::from(snapshot.uid_validity.0)),
    }
}
