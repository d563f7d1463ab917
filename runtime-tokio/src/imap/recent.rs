//! `\Recent` (RFC 3501 2.3.2): a message is recent to the first session
//! that sees it, and to no other. IMAP4rev2 dropped the flag; IMAP4rev1
//! clients still ask for it.
//!
//! The claims are this process's, in memory: after a restart every
//! message a session finds is new to this process, and the first session
//! to open a folder is told they are all recent. Dovecot keeps the claim
//! in its index; ours is the only process serving the folder's IMAP
//! sessions, which is what the flag describes.

use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::UidValidity;
use std::collections::HashMap;
use std::sync::Mutex;

/// The first UID not yet claimed as recent, per folder.
#[derive(Debug, Default)]
pub struct RecentClaims {
    claimed: Mutex<HashMap<(LocalMailbox, String), (UidValidity, u32)>>,
}

impl RecentClaims {
    /// Messages from the returned UID up to `uid_next` are recent to the
    /// caller; unless `read_only` (EXAMINE), they are claimed: no later
    /// caller is told they are recent.
    pub fn claim(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uid_validity: UidValidity,
        uid_next: u32,
        read_only: bool,
    ) -> u32 {
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        let key = (mailbox.clone(), folder.to_owned());
        let from = match claimed.get(&key) {
            Some(&(validity, from)) if validity == uid_validity => from,
            // First seen by this process, or a new UIDVALIDITY: every
            // message is new to it.
            _ => 1,
        };
        if !read_only {
            claimed.insert(key, (uid_validity, uid_next.max(from)));
        }
        from
    }

    /// As [`RecentClaims::claim`], for new messages found in a folder
    /// already open (its UIDVALIDITY unchanged, so the one claimed at
    /// open holds).
    pub fn claim_new(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uid_next: u32,
        read_only: bool,
    ) -> u32 {
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        let key = (mailbox.clone(), folder.to_owned());
        match claimed.get_mut(&key) {
            Some((_, from)) => {
                let recent_from = *from;
                if !read_only {
                    *from = uid_next.max(recent_from);
                }
                recent_from
            }
            // Forgotten since the open (the folder was renamed or
            // deleted by another session): nothing is claimed.
            None => uid_next,
        }
    }

    /// The first UID no session has claimed (1 for a folder this process
    /// has not opened, or opened under another UIDVALIDITY); claims
    /// nothing.
    pub fn unclaimed_from(
        &self,
        mailbox: &LocalMailbox,
        folder: &str,
        uid_validity: UidValidity,
    ) -> u32 {
        let claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        match claimed.get(&(mailbox.clone(), folder.to_owned())) {
            Some(&(validity, from)) if validity == uid_validity => from,
            _ => 1,
        }
    }

    /// Forgets a folder's claims (it was deleted or renamed).
    pub fn forget(&self, mailbox: &LocalMailbox, folder: &str) {
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        claimed.retain(|(m, f), _| !(m == mailbox && f == folder));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> LocalMailbox {
        LocalMailbox::new("alice", "example.test")
    }

    #[test]
    fn a_message_is_recent_to_the_first_session_only() {
        let claims = RecentClaims::default();
        let v = UidValidity(7);
        assert_eq!(claims.claim(&alice(), "INBOX", v, 4, false), 1);
        assert_eq!(claims.claim(&alice(), "INBOX", v, 4, false), 4);
        assert_eq!(claims.claim(&alice(), "INBOX", v, 6, false), 4);
        assert_eq!(claims.claim(&alice(), "INBOX", v, 6, false), 6);
    }

    #[test]
    fn examine_claims_nothing_and_a_new_uidvalidity_starts_over() {
        let claims = RecentClaims::default();
        assert_eq!(claims.claim(&alice(), "INBOX", UidValidity(7), 4, true), 1);
        assert_eq!(claims.claim(&alice(), "INBOX", UidValidity(7), 4, false), 1);
        assert_eq!(claims.claim(&alice(), "INBOX", UidValidity(8), 2, false), 1);
        assert_eq!(claims.claim_new(&alice(), "INBOX", 5, false), 2);
        assert_eq!(claims.claim_new(&alice(), "INBOX", 5, false), 5);
        claims.forget(&alice(), "INBOX");
        assert_eq!(claims.claim_new(&alice(), "INBOX", 9, false), 9);
        assert_eq!(claims.claim(&alice(), "INBOX", UidValidity(8), 2, false), 1);
    }

    #[test]
    fn status_sees_the_unclaimed_uids_without_claiming() {
        let claims = RecentClaims::default();
        let v = UidValidity(7);
        assert_eq!(claims.unclaimed_from(&alice(), "INBOX", v), 1);
        assert_eq!(claims.claim(&alice(), "INBOX", v, 3, true), 1);
        assert_eq!(claims.unclaimed_from(&alice(), "INBOX", v), 1);
        assert_eq!(claims.claim(&alice(), "INBOX", v, 3, false), 1);
        assert_eq!(claims.unclaimed_from(&alice(), "INBOX", v), 3);
        assert_eq!(claims.unclaimed_from(&alice(), "INBOX", v), 3);
        assert_eq!(claims.unclaimed_from(&alice(), "INBOX", UidValidity(8)), 1);
    }
}
