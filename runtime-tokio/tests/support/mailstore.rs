//! The `MailboxStore` contract tests' backends and helpers: a test is a
//! generic function run once per store by [`both!`](crate::both).

use super::postgres::{Database, mailbox_store};
use postern::mailstore::{MailboxStore, MaildirStore, NewMessage};
use postern::storage::postgres::PgMailboxStore;
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::{Flag, Flags, Keywords, Snapshot, Uid};
use postern_core::time::UnixTime;
use tokio::io::AsyncReadExt;

/// Where a test's stores keep their mail; `store(n)` is node (or
/// process) `n`'s store on it.
pub trait Backend {
    type Store: MailboxStore + Clone;
    async fn store(&self, node: u16) -> Self::Store;
}

pub struct Files(pub tempfile::TempDir);

impl Backend for Files {
    type Store = MaildirStore;
    async fn store(&self, _node: u16) -> MaildirStore {
        MaildirStore::new(self.0.path(), "mx.test")
    }
}

pub struct Postgres(pub Database);

impl Backend for Postgres {
    type Store = PgMailboxStore;
    async fn store(&self, node: u16) -> PgMailboxStore {
        mailbox_store(&self.0, node).await
    }
}

/// A `#[tokio::test]` per store for the generic test `$name`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn maildir() {
                super::$name(&Files(tempfile::tempdir().unwrap())).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(&Postgres(database())).await;
            }
        }
    )*};
}

pub fn alice() -> LocalMailbox {
    LocalMailbox::new("alice", "x.test")
}

pub fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

pub fn uids(snapshot: &Snapshot) -> Vec<u32> {
    snapshot.messages.iter().map(|m| m.uid.get()).collect()
}

pub fn keywords(words: &[&str]) -> Keywords {
    words.iter().map(|w| (*w).to_owned()).collect()
}

pub fn seen() -> Flags {
    Flags::EMPTY.with(Flag::Seen)
}

pub fn message(text: &str, flags: Flags, words: &[&str], date: i64) -> NewMessage {
    NewMessage {
        content: text.as_bytes().to_vec(),
        flags,
        keywords: keywords(words),
        internal_date: UnixTime(date),
    }
}

pub async fn append<S: MailboxStore>(store: &S, folder: &str, text: &str) -> Uid {
    store
        .append(
            &alice(),
            folder,
            text.as_bytes(),
            Flags::EMPTY,
            &Keywords::new(),
            UnixTime(1_700_000_000),
        )
        .await
        .unwrap()
}

pub async fn read<S: MailboxStore>(store: &S, folder: &str, uid: Uid) -> (u64, Vec<u8>) {
    let mut reader = store.read(&alice(), folder, uid).await.unwrap();
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).await.unwrap();
    (reader.size(), bytes)
}

/// Appends three messages to INBOX in one MULTIAPPEND: 1 \Seen with
/// `Work`, 2 \Flagged with `$Forwarded`, 3 plain.
pub async fn three_in_inbox<S: MailboxStore>(store: &S) {
    let messages = vec![
        message(
            "Subject: 1\r\n\r\none\r\n",
            seen(),
            &["Work"],
            1_700_000_001,
        ),
        message(
            "Subject: 2\r\n\r\ntwo\r\n",
            Flags::EMPTY.with(Flag::Flagged),
            &["$Forwarded"],
            1_700_000_002,
        ),
        message(
            "Subject: 3\r\n\r\nthree\r\n",
            Flags::EMPTY,
            &[],
            1_700_000_003,
        ),
    ];
    let (_, new) = store
        .append_many(&alice(), "INBOX", messages)
        .await
        .unwrap();
    assert_eq!(new, [uid(1), uid(2), uid(3)]);
}
