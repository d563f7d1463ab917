//! The mailing lists' storage in the simulated store
//! ([`postern::lists::store::ListStore`]): each list's state, held posts
//! and digest batches kept like the files on a disk (every write durable
//! when it returns, so a crash keeps them), the archive in the store's
//! mailboxes. It also keeps, for the invariants, the history of every
//! member's delivery setting and where in the record of committed
//! messages each change and each crash fell.

use super::{MemoryStore, PlantedBug, maildrop};
use postern::lists::digest::Batch;
use postern::lists::store::{ListStore, StateChange};
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::lists::{Delivery, ListState, Member, digest_due};
use postern_core::rng::Rng;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// One list's files, kept in memory.
#[derive(Clone, Debug, Default)]
pub(super) struct SimList {
    state: ListState,
    held: BTreeMap<String, Vec<u8>>,
    /// Posts kept for the next digest, by name.
    gathering: BTreeMap<String, Vec<u8>>,
    /// Digests being sent, by batch name.
    sending: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

/// A member's delivery setting changed (`None`: not a member).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberChange {
    pub list: String,
    pub member: String,
    pub from: Option<Delivery>,
    pub to: Option<Delivery>,
    /// How many messages had been committed when it changed: the copies
    /// committed before it were made under the old setting.
    pub committed: usize,
}

/// What the lists' storage keeps besides the lists.
#[derive(Debug, Default)]
pub(super) struct ListRecords {
    pub(super) lists: BTreeMap<String, SimList>,
    /// The run's seed, and how many seeds the lists drew from it.
    pub(super) seed: u64,
    draws: u64,
    pub(super) changes: Vec<MemberChange>,
    /// How many messages had been committed at each crash.
    pub(super) crashes: Vec<usize>,
}

fn not_found(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, what)
}

impl MemoryStore {
    /// The lists draw their tokens from `seed` (the run's).
    pub fn seed_lists(&self, seed: u64) {
        self.lock().lists.seed = seed;
    }

    /// Makes `members` members of `list` receiving every post, with
    /// tokens drawn from the run's seed.
    pub fn add_list_members(&self, list: &str, members: &[String]) {
        let mut rng = Rng::new(self.seed());
        let mut shared = self.lock();
        let state = &mut shared
            .lists
            .lists
            .entry(list.to_lowercase())
            .or_default()
            .state;
        for member in members {
            state.members.insert(
                member.to_lowercase(),
                Member {
                    delivery: Delivery::Mail,
                    moderated: false,
                    barred: false,
                    token: format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()),
                },
            );
        }
    }

    /// A list's state as it is now.
    pub fn list_state(&self, list: &str) -> Option<ListState> {
        self.lock()
            .lists
            .lists
            .get(list)
            .map(|list| list.state.clone())
    }

    /// Every change of a member's delivery setting, in order.
    pub fn member_changes(&self) -> Vec<MemberChange> {
        self.lock().lists.changes.clone()
    }

    /// How many messages had been committed at each crash of the server.
    pub fn crash_marks(&self) -> Vec<usize> {
        self.lock().lists.crashes.clone()
    }

    /// Marks a crash in the record of committed messages.
    pub fn mark_crash(&self) {
        let mut shared = self.lock();
        let committed = shared.committed.len();
        shared.lists.crashes.push(committed);
    }

    fn list_mut<T>(&self, list: &str, work: impl FnOnce(&mut SimList) -> T) -> T {
        work(self.lock().lists.lists.entry(list.to_owned()).or_default())
    }
}

impl ListStore for MemoryStore {
    fn blocks(&self) -> bool {
        false
    }

    fn update_state(&self, list: &str, change: &mut StateChange<'_>) -> io::Result<()> {
        // The change may call the store's other methods: the lock is not
        // held while it runs. Nothing else runs meanwhile (no await).
        let before = self.list_mut(list, |l| l.state.clone());
        let mut state = before.clone();
        if !change(&mut state)? {
            return Ok(());
        }
        let mut shared = self.lock();
        let committed = shared.committed.len();
        let mut members: Vec<&String> = before.members.keys().collect();
        members.extend(state.members.keys());
        members.sort();
        members.dedup();
        let changes: Vec<MemberChange> = members
            .into_iter()
            .filter_map(|member| {
                let from = before.members.get(member).map(|m| m.delivery);
                let to = state.members.get(member).map(|m| m.delivery);
                (from != to).then(|| MemberChange {
                    list: list.to_owned(),
                    member: member.clone(),
                    from,
                    to,
                    committed,
                })
            })
            .collect();
        shared.lists.changes.extend(changes);
        if self.bug == Some(PlantedBug::ListLosesSuspension) {
            for (address, member) in state.members.iter_mut() {
                let before = before.members.get(address).map(|m| m.delivery);
                if member.delivery == Delivery::Suspended && before == Some(Delivery::Mail) {
                    member.delivery = Delivery::Mail;
                }
            }
        }
        shared.lists.lists.entry(list.to_owned()).or_default().state = state;
        Ok(())
    }

    fn write_held(&self, list: &str, token: &str, message: &[u8]) -> io::Result<()> {
        self.list_mut(list, |l| l.held.insert(token.to_owned(), message.to_vec()));
        Ok(())
    }

    fn read_held(&self, list: &str, token: &str) -> io::Result<Vec<u8>> {
        self.list_mut(list, |l| l.held.get(token).cloned())
            .ok_or_else(|| not_found(format!("{list}: no held post {token}")))
    }

    fn remove_held(&self, list: &str, token: &str) -> io::Result<()> {
        self.list_mut(list, |l| l.held.remove(token));
        Ok(())
    }

    fn gather_digest(&self, list: &str, posts: &[(String, Vec<u8>)]) -> io::Result<Vec<Batch>> {
        Ok(self.list_mut(list, |l| {
            for (name, post) in posts {
                l.gathering.insert(name.clone(), post.clone());
            }
            let bytes = l.gathering.values().map(Vec::len).sum();
            if digest_due(l.gathering.len(), bytes)
                && let Some(first) = l.gathering.keys().next().cloned()
            {
                l.sending.insert(first, std::mem::take(&mut l.gathering));
            }
            l.sending
                .iter()
                .map(|(name, posts)| Batch {
                    dir: PathBuf::from(name),
                    posts: posts.values().cloned().collect(),
                })
                .collect()
        }))
    }

    fn digest_sent(&self, list: &str, batch: &Path) -> io::Result<()> {
        let name = batch.to_string_lossy().into_owned();
        self.list_mut(list, |l| l.sending.remove(&name));
        Ok(())
    }

    fn archive(
        &self,
        mailbox: &LocalMailbox,
        key: (QueueId, i64),
        fields: &[u8],
        message: &[u8],
    ) -> io::Result<String> {
        let mut copy = fields.to_vec();
        copy.extend_from_slice(message);
        maildrop::deliver(self, mailbox, false, copy, key.0)
    }

    fn seed(&self) -> u64 {
        let mut shared = self.lock();
        shared.lists.draws += 1;
        let mut rng = Rng::new(shared.lists.seed ^ shared.lists.draws.wrapping_mul(0x9e37_79b9));
        rng.next_u64()
    }
}
