//! Which local deliveries are first tries.
//!
//! A local copy's name is the same at every try, so a try that may follow
//! an earlier one looks for that name under the mailbox's lock and makes
//! no second copy (exactly-once delivery). The look costs a listing of
//! the folder. A first try has nothing to find and need not look; this
//! decides which tries are first.
//!
//! Only the process that committed a message can tell: a message found
//! in the queue at start-up may have had copies made before a crash cut
//! the attempt short, so it never counts. A copy counts as first for the
//! first try into its mailbox only; any later try, after a failure that
//! may have come after the file was in place, looks.

use crate::envelope::{LocalMailbox, QueueId};
use std::collections::BTreeMap;

/// The messages this process committed, with the mailboxes a delivery of
/// each has been tried for.
#[derive(Clone, Debug, Default)]
pub struct FirstTries {
    tried: BTreeMap<QueueId, Vec<LocalMailbox>>,
}

impl FirstTries {
    /// Message `id` was committed by this process: no copy of it exists.
    pub fn committed(&mut self, id: QueueId) {
        self.tried.insert(id, Vec::new());
    }

    /// Whether a try of `id` into `mailbox` starting now is the first,
    /// noting that it is tried.
    pub fn try_now(&mut self, id: QueueId, mailbox: &LocalMailbox) -> bool {
        match self.tried.get_mut(&id) {
            Some(mailboxes) if !mailboxes.contains(mailbox) => {
                mailboxes.push(mailbox.clone());
                true
            }
            _ => false,
        }
    }

    /// Message `id` left the queue.
    pub fn forget(&mut self, id: QueueId) {
        self.tried.remove(&id);
    }

    /// Messages remembered (bounded by the queue: each is forgotten when
    /// it leaves).
    pub fn len(&self) -> usize {
        self.tried.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tried.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(user: &str) -> LocalMailbox {
        LocalMailbox {
            domain: "example.test".into(),
            user: user.into(),
        }
    }

    #[test]
    fn each_mailbox_gets_one_first_try_of_a_message_committed_here() {
        let mut tries = FirstTries::default();
        tries.committed(QueueId(1));
        let (alice, bob) = (mailbox("alice"), mailbox("bob"));
        let seen: Vec<bool> = [&alice, &bob, &alice, &bob]
            .into_iter()
            .map(|m| tries.try_now(QueueId(1), m))
            .collect();
        assert_eq!(seen, [true, true, false, false]);
    }

    #[test]
    fn a_message_not_committed_here_never_has_a_first_try() {
        // Found in the queue at start-up: a crash may have come after
        // its copies were made.
        let mut tries = FirstTries::default();
        assert!(!tries.try_now(QueueId(7), &mailbox("alice")));
        assert!(!tries.try_now(QueueId(7), &mailbox("alice")));
    }

    #[test]
    fn a_message_forgotten_has_no_first_try_left() {
        let mut tries = FirstTries::default();
        tries.committed(QueueId(1));
        tries.committed(QueueId(2));
        tries.forget(QueueId(1));
        assert_eq!(tries.len(), 1);
        assert!(!tries.try_now(QueueId(1), &mailbox("alice")));
        assert!(tries.try_now(QueueId(2), &mailbox("alice")));
    }
}
