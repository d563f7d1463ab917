//! The news store as the pull client's [`PullStore`]: pulled articles go
//! into their group (made on first use when no `[[newsgroup]]` declares
//! it), and articles posted here go to the upstreams that carry their
//! groups.
//!
//! An article was posted here when its `Path` is only ours
//! (`HOST!not-for-mail`); pulled ones carry the upstream's path behind
//! ours. Which of ours each upstream has taken is remembered by
//! Message-ID in `DATA/news-upstream/NAME.posted`, one per line, synced
//! before the next is posted: a crash in between posts one again, and
//! the upstream refuses the duplicate.

use super::{GroupSource, Location, NewsStore};
use crate::mailstore::MailboxStore;
use crate::nntp_pull::PullStore;
use postern_core::mailbox::header::field;
use postern_core::mailbox::{Flags, Keywords};
use postern_core::nntp::client::{PostResult, Wildmat};
use postern_core::nntp::{ArticleRange, GroupName, PostingStatus};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// One upstream's view of the news store.
#[derive(Clone)]
pub struct NewsPull {
    news: NewsStore,
    hostname: String,
    /// The groups this upstream carries.
    groups: Wildmat,
    /// `DATA/news-upstream/NAME.posted`.
    posted_file: PathBuf,
    inner: Arc<Mutex<Posting>>,
}

/// Local articles offered to the upstream in this round, by id, and
/// those it already has.
#[derive(Default)]
struct Posting {
    offered: BTreeMap<u64, (GroupName, u32, String)>,
    done: Option<BTreeSet<String>>,
}

impl NewsPull {
    /// `state_file` is the upstream's high-water marks file; the posted
    /// list goes beside it.
    pub fn new(
        news: NewsStore,
        hostname: &str,
        groups: Wildmat,
        state_file: &std::path::Path,
    ) -> Self {
        let mut posted_file = state_file.as_os_str().to_owned();
        posted_file.push(".posted");
        NewsPull {
            news,
            hostname: hostname.to_owned(),
            groups,
            posted_file: PathBuf::from(posted_file),
            inner: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Posting> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The Message-IDs the upstream has taken (read once).
    async fn done(&self) -> io::Result<BTreeSet<String>> {
        if let Some(done) = &self.lock().done {
            return Ok(done.clone());
        }
        let text = match tokio::fs::read_to_string(&self.posted_file).await {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => String::new(),
            Err(error) => return Err(error),
        };
        let done: BTreeSet<String> = text.lines().map(str::to_owned).collect();
        self.lock().done = Some(done.clone());
        Ok(done)
    }
}

impl PullStore for NewsPull {
    async fn store(&self, upstream: &str, group: &GroupName, article: Vec<u8>) -> io::Result<()> {
        let news = &self.news;
        if news.source(group).is_none() {
            tracing::info!(%group, upstream, "newsgroup {group} is carried from {upstream} from now on");
            news.add_source(carried_group(group, upstream));
        }
        let Some(source) = news.source(group) else {
            return Ok(());
        };
        if let Location::Archive(_) = source.location {
            tracing::warn!(%group, upstream, "{group} is a mailing list's archive here; articles from {upstream} are not added to it");
            return Ok(());
        }
        let message_id = field(&article, "Message-ID").unwrap_or_default();
        if !message_id.is_empty()
            && news
                .find(&message_id)
                .await
                .map_err(io::Error::other)?
                .is_some()
        {
            return Ok(());
        }
        // RFC 5537 3.2: a relaying server puts its own name in front.
        let article = postern_core::nntp::gateway::relayed(&article, &self.hostname);
        let (store, mailbox) = news.place(&source);
        store
            .append(
                &mailbox,
                super::INBOX,
                article.as_slice(),
                Flags::EMPTY,
                &Keywords::default(),
                crate::environment::system_now(),
            )
            .await
            .map_err(io::Error::other)?;
        Ok(())
    }

    async fn outgoing(&self, _upstream: &str, max: usize) -> io::Result<Vec<u64>> {
        let done = self.done().await?;
        let ours = format!("{}!not-for-mail", self.hostname);
        let mut offered = BTreeMap::new();
        let sources = self.news.sources();
        for source in sources.values() {
            if source.location != Location::Local || !self.groups.matches(source.name.as_str()) {
                continue;
            }
            let all = ArticleRange {
                first: 1,
                last: None,
            };
            let paths = self
                .news
                .header(&source.name, all, "Path")
                .await
                .map_err(io::Error::other)?;
            for (number, path) in paths {
                if path.trim() != ours {
                    continue;
                }
                let Some(record) = self
                    .news
                    .record(&source.name, number)
                    .await
                    .map_err(io::Error::other)?
                else {
                    continue;
                };
                if done.contains(&record.message_id)
                    || offered
                        .values()
                        .any(|(_, _, id): &(GroupName, u32, String)| *id == record.message_id)
                {
                    continue;
                }
                let id = offered.len() as u64 + 1;
                offered.insert(id, (source.name.clone(), number, record.message_id));
                if offered.len() == max {
                    break;
                }
            }
        }
        let ids = offered.keys().copied().collect();
        self.lock().offered = offered;
        Ok(ids)
    }

    async fn article(&self, id: u64) -> io::Result<Vec<u8>> {
        let Some((group, number, _)) = self.lock().offered.get(&id).cloned() else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no local article {id} offered"),
            ));
        };
        self.news
            .article(&group, number)
            .await
            .map_err(io::Error::other)?
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("{group} {number} is gone"))
            })
    }

    async fn posted(&self, upstream: &str, id: u64, result: &PostResult) -> io::Result<()> {
        let Some((group, number, message_id)) = self.lock().offered.get(&id).cloned() else {
            return Ok(());
        };
        match result {
            PostResult::Deferred(reason) => {
                tracing::info!(%group, number, upstream, "{message_id} deferred by {upstream}: {reason}");
                return Ok(());
            }
            PostResult::Refused(reason) => {
                tracing::warn!(%group, number, upstream, "{message_id} refused by {upstream}: {reason}");
            }
            PostResult::Accepted => {
                tracing::info!(%group, number, upstream, "{message_id} posted to {upstream}");
            }
            PostResult::CameFromUpstream => {}
        }
        let file = self.posted_file.clone();
        let line = format!("{message_id}\n");
        tokio::task::spawn_blocking(move || {
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)?;
            out.write_all(line.as_bytes())?;
            out.sync_data()
        })
        .await
        .map_err(io::Error::other)??;
        if let Some(done) = &mut self.lock().done {
            done.insert(message_id);
        }
        Ok(())
    }
}

/// A group first seen on an upstream: open, kept until expired by hand.
pub fn carried_group(name: &GroupName, upstream: &str) -> GroupSource {
    GroupSource {
        name: name.clone(),
        description: format!("Carried from {upstream}"),
        status: PostingStatus::Allowed,
        expire: None,
        location: Location::Local,
        gateway: None,
        send_to: Vec::new(),
    }
}
