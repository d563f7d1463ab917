//! An in-memory message store with the spool's durability contract:
//! nothing exists until `commit`, and a committed message is kept.
//!
//! Queue IDs count up from one and every message arrives at the same
//! wall-clock second, so a simulated run is the same byte for byte.

use postern::driver::{Backend, StoredMessage};
use postern_core::address::ForwardPath;
use postern_core::auth::{AuthVerdict, Identity, LoginAttempt, SendAs};
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::envelope::{Envelope, QueueId};
use postern_core::smtp::server::OpenedMessage;
use postern_core::time::UnixTime;
use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The wall clock of simulated worlds: 2026-11-20 00:00:00 UTC.
pub const SIMULATED_EPOCH: UnixTime = UnixTime(1_795_132_800);

/// A committed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub queue_id: QueueId,
    pub envelope: Envelope,
    pub data: Vec<u8>,
}

#[derive(Debug, Default)]
struct Shared {
    last_id: u64,
    committed: Vec<Committed>,
    /// Login to password, in clear: a simulated world has no secrets.
    accounts: BTreeMap<String, String>,
}

/// A known bug, planted on purpose to show that the simulation finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedBug {
    /// `commit` says the message is durable at once and stores it a
    /// moment later, so the client hears `250` before the sync: a crash
    /// in between loses an acknowledged message.
    AckBeforeSync,
}

/// How long the planted bug leaves a message unsynced after its `250`.
const PLANTED_SYNC_DELAY: std::time::Duration = std::time::Duration::from_millis(300);

/// A directory and the messages committed so far. Clones share state.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    directory: Arc<Directory>,
    shared: Arc<Mutex<Shared>>,
    bug: Option<PlantedBug>,
}

impl MemoryStore {
    pub fn new(directory: Directory) -> Self {
        MemoryStore {
            directory: Arc::new(directory),
            shared: Arc::default(),
            bug: None,
        }
    }

    /// The same store with `bug` planted in it.
    pub fn with_planted_bug(self, bug: PlantedBug) -> Self {
        MemoryStore {
            bug: Some(bug),
            ..self
        }
    }

    /// Adds an account that may log in with `password`.
    pub fn add_account(&self, login: &str, password: &str) {
        self.lock()
            .accounts
            .insert(login.to_lowercase(), password.to_owned());
    }

    /// Every message committed so far, in commit order.
    pub fn committed(&self) -> Vec<Committed> {
        self.lock().committed.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // The simulation is single-threaded; a poisoned lock means a
        // panic that the simulation reports anyway.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Backend for MemoryStore {
    type Message = MemoryMessage;

    fn resolve(&self, forward_path: &ForwardPath) -> RecipientVerdict {
        self.directory.resolve(forward_path)
    }

    async fn authenticate(&self, attempt: LoginAttempt, _client: IpAddr) -> AuthVerdict {
        let login = attempt.login.to_lowercase();
        match self.lock().accounts.get(&login) {
            Some(password) if password == attempt.password.expose() => {
                AuthVerdict::Accepted(Identity {
                    send_as: SendAs::Addresses(self.directory.owned_addresses(&login)),
                    login,
                })
            }
            _ => AuthVerdict::Rejected,
        }
    }

    async fn open(&self, envelope: Envelope) -> io::Result<(OpenedMessage, MemoryMessage)> {
        let queue_id = {
            let mut shared = self.lock();
            shared.last_id += 1;
            QueueId(shared.last_id)
        };
        let opened = OpenedMessage {
            queue_id,
            received_at: SIMULATED_EPOCH,
        };
        Ok((
            opened,
            MemoryMessage {
                store: self.clone(),
                queue_id,
                envelope,
                data: Vec::new(),
            },
        ))
    }
}

/// A message being received: lost unless committed.
#[derive(Debug)]
pub struct MemoryMessage {
    store: MemoryStore,
    queue_id: QueueId,
    envelope: Envelope,
    data: Vec<u8>,
}

impl StoredMessage for MemoryMessage {
    async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(data);
        Ok(())
    }

    async fn commit(self) -> io::Result<()> {
        let committed = Committed {
            queue_id: self.queue_id,
            envelope: self.envelope,
            data: self.data,
        };
        match self.store.bug {
            Some(PlantedBug::AckBeforeSync) => {
                // The bug: the sync happens later, on a task that a crash
                // of the host kills.
                let store = self.store.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(PLANTED_SYNC_DELAY).await;
                    store.lock().committed.push(committed);
                });
            }
            None => self.store.lock().committed.push(committed),
        }
        Ok(())
    }

    async fn abort(self) {}
}
