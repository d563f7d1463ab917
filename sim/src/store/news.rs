//! News in the simulation: the production `postern::news::NewsStore` over
//! two in-memory mailbox stores, as production runs it over two Maildir
//! stores. The groups' store is a [`MemoryStore`] of its own (each local
//! group the INBOX of mailbox `NAME@groups`); list archives are read
//! from the users' store.
//!
//! Durability is the mailbox store's: an article is placed at one instant
//! when the append returns, before the `240`, so what a client was told
//! is stored survives a crash. The `NewsStore` itself (its overview cache
//! and message-ID index) is process memory: a restart builds a new one
//! over the same stores ([`SimNews::boot`]).

use super::MemoryStore;
use postern::news::{NewsStore, local_groups};
use postern_core::config::NewsConfig;
use postern_core::directory::Directory;
use postern_core::envelope::LocalMailbox;
use postern_core::nntp::GroupName;
use std::time::Duration;

/// How often the simulated server expires articles: production's
/// `NEWS_EXPIRY_INTERVAL` (an hour) compressed, so that a scenario of a
/// few minutes sees expiry run among posts, reads and crashes.
pub const SIMULATED_EXPIRY_INTERVAL: Duration = Duration::from_secs(2);

/// Production's expiry (`postern::news::run_expiry`) on the simulated
/// calendar: `NewsStore::expire` at start and then every
/// [`SIMULATED_EXPIRY_INTERVAL`], until the host crashes.
pub async fn run_expiry(news: NewsStore<MemoryStore>) {
    loop {
        match news.expire(super::wall_clock()).await {
            Ok(expired) => {
                for (group, count) in expired {
                    tracing::info!("news expiry: {count} articles of {group} removed");
                }
            }
            Err(error) => tracing::warn!("news expiry failed: {error}"),
        }
        tokio::time::sleep(SIMULATED_EXPIRY_INTERVAL).await;
    }
}

/// A news store as a backend holds it: absent (news refused with `400`),
/// or the one this life of the server built.
#[derive(Clone, Default)]
pub struct NewsSlot(pub(super) Option<NewsStore<MemoryStore>>);

impl std::fmt::Debug for NewsSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(_) => f.write_str("NewsSlot(serving)"),
            None => f.write_str("NewsSlot(none)"),
        }
    }
}

/// The newsgroups' "disk": kept through crashes, like the users' store.
#[derive(Clone, Debug)]
pub struct SimNews {
    groups: MemoryStore,
    config: NewsConfig,
}

impl SimNews {
    pub fn new(config: &NewsConfig) -> Self {
        SimNews {
            groups: MemoryStore::new(Directory::default()),
            config: config.clone(),
        }
    }

    /// The groups' store with `bug` planted in it.
    pub fn with_planted_bug(self, bug: super::PlantedBug) -> Self {
        SimNews {
            groups: self.groups.with_planted_bug(bug),
            ..self
        }
    }

    /// What a starting server does: a new `NewsStore` over the groups'
    /// store and `mail` (the users' store), serving the configured groups
    /// and access rules; `mail` with it is the backend sessions get.
    pub fn boot(&self, mail: &MemoryStore) -> MemoryStore {
        let news = NewsStore::with_stores(self.groups.clone(), mail.clone());
        news.set_groups(local_groups(&self.config));
        news.set_access(&self.config);
        MemoryStore {
            news: NewsSlot(Some(news)),
            ..mail.clone()
        }
    }

    /// Whether any group expires its articles.
    pub fn expires(&self) -> bool {
        self.config
            .groups
            .iter()
            .any(|group| group.expire.is_some())
    }

    /// How long group `name` keeps its articles, if it expires them.
    pub fn expire_of(&self, name: &str) -> Option<Duration> {
        self.config
            .groups
            .iter()
            .find(|group| group.name.as_str() == name)
            .and_then(|group| group.expire)
    }

    /// A crash: the groups' store loses what a process held (its locks).
    pub fn crashed(&self) {
        self.groups.crashed();
    }

    /// A local group's articles as the store holds them now: `(number,
    /// bytes)` by number; empty when the group has none (yet).
    pub fn articles(&self, group: &GroupName) -> Vec<(u32, Vec<u8>)> {
        let mailbox = LocalMailbox {
            domain: "groups".to_owned(),
            user: group.as_str().to_owned(),
        };
        let shared = self.groups.lock();
        shared
            .mailboxes
            .inbox(&mailbox)
            .map(|inbox| {
                inbox
                    .state()
                    .messages()
                    .filter_map(|meta| {
                        let body = inbox.body(meta.uid)?;
                        Some((meta.uid.get(), body.data.as_ref().clone()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every article placed in or removed from a local group so far, in
    /// order (the groups' mailboxes are `NAME@groups`).
    pub fn history(&self) -> Vec<super::mailboxes::MailEvent> {
        self.groups.mail_history()
    }
}
