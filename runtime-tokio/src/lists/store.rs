//! Where list delivery keeps what it keeps: each list's state, its held
//! posts, its digest batches and its archive copies, behind a small trait
//! ([`ListStore`]). The server keeps them in files ([`FileLists`], the
//! layout of `lists/mod.rs`); the simulation keeps them in its in-memory
//! store, with the same contract: every write is durable when it returns,
//! so a crash loses only what was never written.

use super::digest::{self, Batch};
use super::{list_dir, read_held, remove_held, update_state, write_held};
use crate::maildir::Maildirs;
use postern_core::envelope::{LocalMailbox, QueueId};
use postern_core::lists::ListState;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// A change to a list's state: answers whether it changed anything (then
/// the state is written back).
pub type StateChange<'a> = dyn FnMut(&mut ListState) -> io::Result<bool> + 'a;

/// The storage of every list, by list address (lower case).
pub trait ListStore: Send + Sync + 'static {
    /// True when these calls block on a disk (then delivery makes them on
    /// a blocking thread); false when they return at once.
    fn blocks(&self) -> bool;

    /// Reads the list's state (none yet: empty), lets `change` change it
    /// and writes it back if it says so, with no other change to the same
    /// list in between. `change` may call the other methods.
    fn update_state(&self, list: &str, change: &mut StateChange<'_>) -> io::Result<()>;

    /// Keeps a held post's message, durably.
    fn write_held(&self, list: &str, token: &str, message: &[u8]) -> io::Result<()>;

    fn read_held(&self, list: &str, token: &str) -> io::Result<Vec<u8>>;

    /// Forgets a held post (none by that token: done).
    fn remove_held(&self, list: &str, token: &str) -> io::Result<()>;

    /// Keeps `posts` (name, rewritten post) for the list's digest and
    /// answers every batch ready to send (see `lists/digest.rs`). Called
    /// while the list's state is being changed.
    fn gather_digest(&self, list: &str, posts: &[(String, Vec<u8>)]) -> io::Result<Vec<Batch>>;

    /// Forgets a batch whose digest copies are all committed.
    fn digest_sent(&self, list: &str, batch: &std::path::Path) -> io::Result<()>;

    /// Puts `fields` and `message` in the archive `mailbox`, once for
    /// `key` (a second call with the same key makes no second copy);
    /// answers where, for the log.
    fn archive(
        &self,
        mailbox: &LocalMailbox,
        key: (QueueId, i64),
        fields: &[u8],
        message: &[u8],
    ) -> io::Result<String>;

    /// A seed for the tokens a list draws.
    fn seed(&self) -> u64;
}

impl dyn ListStore {
    /// [`ListStore::update_state`] with a change that answers a value.
    pub fn update<T>(
        &self,
        list: &str,
        change: impl FnOnce(&mut ListState) -> io::Result<(T, bool)>,
    ) -> io::Result<T> {
        let mut change = Some(change);
        let mut answer = None;
        self.update_state(list, &mut |state| match change.take() {
            Some(change) => {
                let (value, changed) = change(state)?;
                answer = Some(value);
                Ok(changed)
            }
            None => Err(io::Error::other("a list's state change was run twice")),
        })?;
        answer.ok_or_else(|| io::Error::other("a list's state change was not run"))
    }
}

/// The lists' files under the data directory, and the archives in the
/// Maildir store delivery already uses.
pub struct FileLists {
    pub data_dir: PathBuf,
    pub maildirs: Arc<Maildirs>,
}

impl ListStore for FileLists {
    fn blocks(&self) -> bool {
        true
    }

    fn update_state(&self, list: &str, change: &mut StateChange<'_>) -> io::Result<()> {
        update_state(&list_dir(&self.data_dir, list), |state| {
            Ok(((), change(state)?))
        })
    }

    fn write_held(&self, list: &str, token: &str, message: &[u8]) -> io::Result<()> {
        write_held(&list_dir(&self.data_dir, list), token, message)
    }

    fn read_held(&self, list: &str, token: &str) -> io::Result<Vec<u8>> {
        read_held(&list_dir(&self.data_dir, list), token)
    }

    fn remove_held(&self, list: &str, token: &str) -> io::Result<()> {
        remove_held(&list_dir(&self.data_dir, list), token)
    }

    fn gather_digest(&self, list: &str, posts: &[(String, Vec<u8>)]) -> io::Result<Vec<Batch>> {
        digest::gather(&list_dir(&self.data_dir, list), posts)
    }

    fn digest_sent(&self, _list: &str, batch: &std::path::Path) -> io::Result<()> {
        digest::sent(batch)
    }

    fn archive(
        &self,
        mailbox: &LocalMailbox,
        (id, arrived_secs): (QueueId, i64),
        fields: &[u8],
        message: &[u8],
    ) -> io::Result<String> {
        let mut message = message;
        let arrived = u64::try_from(arrived_secs)
            .unwrap_or(0)
            .saturating_mul(1_000_000);
        // Not a first try: the archive's copy is looked for under the lock.
        let place = self
            .maildirs
            .deliver(mailbox, (id, arrived), fields, &mut message, false)?;
        Ok(place.path.display().to_string())
    }

    fn seed(&self) -> u64 {
        super::fresh_seed()
    }
}
