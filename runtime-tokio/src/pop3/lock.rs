//! The maildrop lock (RFC 1939 8: "the POP3 server ... acquires an
//! exclusive-access lock on the maildrop"): in-process, one POP3 session
//! per mailbox at a time.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The mailboxes locked now, by key (a mailbox's path or address).
#[derive(Clone, Debug, Default)]
pub struct MaildropLocks {
    held: Arc<Mutex<BTreeSet<String>>>,
}

impl MaildropLocks {
    /// Takes the lock of `key`; `None` while another holder has it.
    pub fn try_lock(&self, key: &str) -> Option<MaildropLock> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if !held.insert(key.to_owned()) {
            return None;
        }
        Some(MaildropLock {
            held: Arc::clone(&self.held),
            key: key.to_owned(),
        })
    }

    /// Mailboxes locked now: for tests.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A held lock; dropping it releases it, whether the session ended with
/// QUIT, an error, a dropped connection or a panic.
#[derive(Debug)]
pub struct MaildropLock {
    held: Arc<Mutex<BTreeSet<String>>>,
    key: String,
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_until_the_first_lets_go() {
        let locks = MaildropLocks::default();
        let first = locks.try_lock("example.test/alice").unwrap();
        assert!(locks.try_lock("example.test/alice").is_none());
        let other = locks.try_lock("example.test/bob");
        assert!(other.is_some());
        drop(first);
        assert!(locks.try_lock("example.test/alice").is_some());
        drop(other);
        assert_eq!(locks.held(), 0);
    }
}
