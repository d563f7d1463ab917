//! The invariants of the maildrops, checked after a run against what the
//! store delivered and what the POP3 readers saw: nothing not marked
//! deleted is ever lost; a message delivered is listed by the next
//! session; a deletion answered `+OK` at QUIT is done; UIDs never repeat
//! within a UIDVALIDITY and a UIDL always names the same content; two
//! sessions never held one maildrop at once. A message an IMAP session
//! expunged is gone by EXPUNGE, not lost (see `imap_checks`).

use super::reader::{ReadSession, digest};
use super::{Report, ServerGroup, Shared};
use crate::store::maildrop::Delivered;
use std::collections::{BTreeMap, BTreeSet};

/// A message's place: mailbox, UIDVALIDITY, UID.
type Key = (String, u32, u32);

pub(super) fn check_maildrops(group: &ServerGroup, shared: &Shared, report: &mut Report) {
    let store = &group.store;
    report.violations.extend(store.mail_violations());
    let sessions = &shared.read_sessions;
    let stats = &mut report.stats;
    stats.read_sessions = sessions.iter().filter(|s| s.listing.is_some()).count() as u32;
    stats.in_use = sessions.iter().filter(|s| s.in_use).count() as u32;
    stats.expunged = sessions
        .iter()
        .filter(|s| s.quit_ok)
        .map(|s| s.deleted.len() as u32)
        .sum();
    stats.partial_updates = sessions
        .iter()
        .filter(|s| s.quit_sent_at.is_some() && !s.quit_ok && !s.deleted.is_empty())
        .filter(|cut| {
            let next = sessions
                .iter()
                .filter(|t| t.login == cut.login && t.listed_at > cut.listed_at)
                .filter_map(|t| t.listing.as_ref().map(|listing| (t.listed_at, listing)))
                .min_by_key(|(at, _)| *at);
            next.is_some_and(|(_, listing)| {
                let kept = cut.deleted.iter().filter(|u| listing.contains(u)).count();
                kept > 0 && kept < cut.deleted.len()
            })
        })
        .count() as u32;
    let violations = &mut report.violations;
    // Every copy ever delivered, by its place: a place given twice is a
    // UID handed out twice.
    // Quarantined copies are in Junk folders, which POP3 does not read.
    let all: Vec<Delivered> = store
        .delivered()
        .into_iter()
        .filter(|copy| copy.folder == postern::mailstore::INBOX)
        .collect();
    let mut delivered: BTreeMap<Key, &Delivered> = BTreeMap::new();
    for copy in &all {
        let key = (copy.mailbox.clone(), copy.uid_validity, copy.uid);
        if delivered.contains_key(&key) {
            violations.push(format!(
                "UID {} of {} (UIDVALIDITY {}) was given to two messages",
                copy.uid, copy.mailbox, copy.uid_validity
            ));
        }
        delivered.entry(key).or_insert(copy);
    }
    let contents = store.mailbox_contents();
    // Messages IMAP sessions marked \Deleted and expunged: gone by
    // EXPUNGE, not lost (the IMAP checks hold those sessions to account).
    let imap_expunged: BTreeSet<Key> = shared
        .imap_sessions
        .iter()
        .filter_map(|s| Some((store.mailbox_of(&s.login)?, s)))
        .flat_map(|(mailbox, s)| {
            s.expunge_requested
                .iter()
                .map(move |&uid| (mailbox.clone(), s.uid_validity, uid))
        })
        .collect();
    // Each session with the mailbox its login reads.
    let sessions: Vec<(&ReadSession, String)> = sessions
        .iter()
        .filter_map(|s| Some((s, store.mailbox_of(&s.login)?)))
        .collect();
    // The UIDL a session deleting it, its QUIT sent, would name it by.
    let deleted_by = |key: &Key| -> Vec<&ReadSession> {
        let uidl = postern_core::pop3::uidl(key.2, key.1);
        sessions
            .iter()
            .filter(|(s, mailbox)| {
                *mailbox == key.0
                    && s.quit_sent_at.is_some()
                    && s.retrieved.contains_key(&uidl)
                    && s.deleted.contains(&uidl)
            })
            .map(|(s, _)| *s)
            .collect()
    };
    // What the mailboxes hold: unchanged, and gone only when deleted.
    for (key, copy) in &delivered {
        let now = contents.get(&key.0).and_then(|held| {
            (held.uid_validity == key.1)
                .then(|| held.messages.iter().find(|m| m.uid == key.2))
                .flatten()
        });
        match now {
            Some(message) if message.data != copy.data => violations.push(format!(
                "message UID {} of {} changed in the mailbox",
                key.2, key.0
            )),
            Some(_) => {}
            None if deleted_by(key).is_empty() && !imap_expunged.contains(key) => violations.push(format!(
                "message UID {} of {} (delivered at {:.3}s) is gone, yet no session deleted it and quit: lost",
                key.2,
                key.0,
                copy.at.as_secs_f64()
            )),
            None => {}
        }
    }
    for (session, mailbox) in &sessions {
        let name = format!("POP3 session {} of {}", session.number, session.reader);
        for contradiction in &session.contradictions {
            violations.push(format!("{name}: {contradiction}"));
        }
        let Some(held) = contents.get(mailbox) else {
            continue;
        };
        let place = |uidl: &str| -> Option<Key> {
            let uid = u32::from_str_radix(uidl.get(..8)?, 16).ok()?;
            let validity = u32::from_str_radix(uidl.get(8..)?, 16).ok()?;
            Some((mailbox.clone(), validity, uid))
        };
        // A UIDL always names the content delivered under it.
        for (uidl, seen) in &session.retrieved {
            match place(uidl).and_then(|key| delivered.get(&key)) {
                Some(copy) if digest(&copy.data) == *seen => {}
                Some(_) => violations.push(format!(
                    "{name}: UIDL {uidl} sent other content than was delivered under it"
                )),
                None => violations.push(format!(
                    "{name}: UIDL {uidl} names no message delivered to {mailbox}"
                )),
            }
        }
        // A deletion answered +OK at QUIT is done; a message retrieved and
        // kept is \Seen.
        if session.quit_ok {
            for uidl in &session.deleted {
                if let Some((_, _, uid)) = place(uidl)
                    && held.messages.iter().any(|m| m.uid == uid)
                {
                    violations.push(format!(
                        "{name}: QUIT answered +OK, yet {uidl}, deleted, is still in {mailbox}"
                    ));
                }
            }
            for uidl in session.retrieved.keys() {
                if let Some((_, _, uid)) = place(uidl)
                    && held.messages.iter().any(|m| m.uid == uid && !m.seen)
                {
                    violations.push(format!(
                        "{name}: QUIT answered +OK, yet {uidl}, retrieved, is not \\Seen"
                    ));
                }
            }
        }
        // Mail delivered before the login is listed, unless another
        // session deleted it first.
        let (Some(listing), Some(pass_sent_at)) = (&session.listing, session.pass_sent_at) else {
            continue;
        };
        // Nor is mail whose deletion was answered +OK before the login.
        for (other, other_mailbox) in &sessions {
            let done_before = other.quit_ok_at.is_some_and(|at| at < pass_sent_at);
            if other_mailbox != mailbox || !done_before {
                continue;
            }
            for uidl in other.deleted.iter().filter(|u| listing.contains(u)) {
                violations.push(format!(
                    "{name}: {uidl} is listed, yet POP3 session {} of {} deleted it and its QUIT was answered +OK before this login",
                    other.number, other.reader
                ));
            }
        }
        for (key, copy) in delivered.range((mailbox.clone(), 0, 0)..) {
            if key.0 != *mailbox {
                break;
            }
            let uidl = postern_core::pop3::uidl(key.2, key.1);
            let deleted_before = deleted_by(key).iter().any(|other| {
                !std::ptr::eq(*other, *session)
                    && other.quit_sent_at.is_some_and(|at| at < session.listed_at)
            });
            if copy.at < pass_sent_at
                && !listing.contains(&uidl)
                && !deleted_before
                && !imap_expunged.contains(key)
            {
                violations.push(format!(
                    "{name}: message UID {} of {mailbox}, delivered at {:.3}s before the login, is not listed",
                    key.2,
                    copy.at.as_secs_f64()
                ));
            }
        }
    }
}
