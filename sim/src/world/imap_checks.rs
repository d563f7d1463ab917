//! The invariants of IMAP, checked after a run against the store's
//! history (every message placed and removed, with its UIDVALIDITY, UID,
//! bytes and virtual time) and what the IMAP clients saw:
//!
//! - UIDs strictly increase and are never reused, in every folder;
//! - no message is lost except by an EXPUNGE a session asked for (or a
//!   POP3 deletion);
//! - an APPEND answered `OK [APPENDUID v u]` is durable: the message is
//!   stored under that UID, whole; every appended message stored is one a
//!   client sent, whole (a crash stores it all or not at all);
//! - what FETCH sent is what was stored under the UID;
//! - a message expunged with an `OK` never comes back;
//! - every session's view converged to the store's after its last NOOP;
//! - a session in IDLE hears `EXISTS` within a second of a delivery.

use super::imap_client::ImapSession;
use super::reader::digest;
use super::{Report, ServerGroup, Shared};
use crate::store::mailboxes::MailEvent;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How soon a session in IDLE must hear of a new message.
pub const IDLE_NOTICE: Duration = Duration::from_secs(1);

/// A message's place: mailbox, UIDVALIDITY, UID (a UIDVALIDITY is unique
/// within a user, so it names the folder across renames).
type Key = (String, u32, u32);

pub(super) fn check_imap(group: &ServerGroup, shared: &Shared, report: &mut Report) {
    let sessions = &shared.imap_sessions;
    let stats = &mut report.stats;
    stats.imap_sessions = sessions.iter().filter(|s| s.selected).count() as u32;
    stats.imap_appended = sessions.iter().map(|s| s.appended.len() as u32).sum();
    stats.imap_expunged = sessions.iter().map(|s| s.expunged.len() as u32).sum();
    stats.imap_converged = sessions
        .iter()
        .filter(|s| s.converged == Some(true))
        .count() as u32;
    if sessions.is_empty() {
        return;
    }
    let store = &group.store;
    let history = store.mail_history();
    let name = |s: &ImapSession| {
        let client = s.client.map_or_else(String::new, |c| c.to_string());
        format!("IMAP session {} of {client}", s.number)
    };
    let mailbox_of = |s: &ImapSession| store.mailbox_of(&s.login).unwrap_or_default();
    let mailboxes: BTreeSet<String> = sessions.iter().map(mailbox_of).collect();
    let violations = &mut report.violations;
    // UIDs strictly increase within each folder; what was placed, by place.
    let mut placed: BTreeMap<Key, (Duration, u64)> = BTreeMap::new();
    let mut last: BTreeMap<(String, u32), u32> = BTreeMap::new();
    for event in &history {
        let MailEvent::Appended { place, data } = event else {
            continue;
        };
        let folder = (place.mailbox.clone(), place.uid_validity);
        if let Some(&before) = last.get(&folder)
            && place.uid <= before
        {
            violations.push(format!(
                "UID {} of {} in {} (UIDVALIDITY {}) was handed out after UID {before}: UIDs must strictly increase and never be reused",
                place.uid, place.folder, place.mailbox, place.uid_validity
            ));
        }
        last.insert(folder, place.uid);
        let key = (place.mailbox.clone(), place.uid_validity, place.uid);
        placed.entry(key).or_insert((place.at, digest(data)));
    }
    // Every appended message stored is one a client sent, or a delivery's.
    let mut known: BTreeSet<u64> = sessions
        .iter()
        .flat_map(|s| s.attempted.iter().copied())
        .collect();
    known.extend(store.delivered().iter().map(|d| digest(&d.data)));
    for ((mailbox, validity, uid), (at, content)) in &placed {
        if mailboxes.contains(mailbox) && !known.contains(content) {
            violations.push(format!(
                "message UID {uid} of {mailbox} (UIDVALIDITY {validity}), stored at {:.3}s, is no message a client sent whole nor a delivery's: a partial APPEND",
                at.as_secs_f64()
            ));
        }
    }
    // Nothing lost but by an expunge some session asked for.
    let mut asked: BTreeSet<Key> = BTreeSet::new();
    for s in sessions {
        for &uid in &s.expunge_requested {
            asked.insert((mailbox_of(s), s.uid_validity, uid));
        }
    }
    for read in &shared.read_sessions {
        let Some(mailbox) = store.mailbox_of(&read.login) else {
            continue;
        };
        for uidl in &read.deleted {
            let uid = uidl.get(..8).and_then(|h| u32::from_str_radix(h, 16).ok());
            let validity = uidl.get(8..).and_then(|h| u32::from_str_radix(h, 16).ok());
            if let (Some(uid), Some(validity)) = (uid, validity) {
                asked.insert((mailbox.clone(), validity, uid));
            }
        }
    }
    let removed: BTreeSet<Key> = history
        .iter()
        .filter_map(|event| match event {
            MailEvent::Expunged { place } => {
                Some((place.mailbox.clone(), place.uid_validity, place.uid))
            }
            _ => None,
        })
        .collect();
    report.stats.imap_partial_expunges = sessions
        .iter()
        .filter(|s| s.expunge_ok_at.is_none() && !s.expunge_requested.is_empty())
        .filter(|s| {
            let mailbox = mailbox_of(s);
            let gone = s
                .expunge_requested
                .iter()
                .filter(|&&uid| removed.contains(&(mailbox.clone(), s.uid_validity, uid)))
                .count();
            gone > 0 && gone < s.expunge_requested.len()
        })
        .count() as u32;
    let violations = &mut report.violations;
    for event in &history {
        let MailEvent::Expunged { place } = event else {
            continue;
        };
        let key = (place.mailbox.clone(), place.uid_validity, place.uid);
        if mailboxes.contains(&place.mailbox) && !asked.contains(&key) {
            violations.push(format!(
                "message UID {} of {} in {} (UIDVALIDITY {}) was removed at {:.3}s, yet no session asked to expunge it: lost",
                place.uid,
                place.folder,
                place.mailbox,
                place.uid_validity,
                place.at.as_secs_f64()
            ));
        }
    }
    for s in sessions {
        let who = name(s);
        let mailbox = mailbox_of(s);
        for contradiction in &s.contradictions {
            violations.push(format!("{who}: {contradiction}"));
        }
        // An OK'd APPEND is durable, under its UID, whole.
        for &(validity, uid, content) in &s.appended {
            match placed.get(&(mailbox.clone(), validity, uid)) {
                Some((_, stored)) if *stored == content => {}
                Some(_) => violations.push(format!(
                    "{who}: APPEND answered OK [APPENDUID {validity} {uid}], yet UID {uid} holds another message: the acknowledged APPEND is lost"
                )),
                None => violations.push(format!(
                    "{who}: APPEND answered OK [APPENDUID {validity} {uid}], yet the message was never stored: an acknowledged APPEND lost"
                )),
            }
        }
        for &(uid, content) in &s.fetched {
            if placed
                .get(&(mailbox.clone(), s.uid_validity, uid))
                .map(|p| p.1)
                != Some(content)
            {
                violations.push(format!(
                    "{who}: FETCH sent other content for UID {uid} than was stored under it"
                ));
            }
        }
        // Expunged with an OK: never back, in the store or any later view.
        if let Some(ok_at) = s.expunge_ok_at {
            let now = store.folder_view(&s.login, &s.folder);
            let held: BTreeSet<u32> = now
                .filter(|v| v.uid_validity == s.uid_validity)
                .map(|v| v.messages.iter().map(|(uid, _)| *uid).collect())
                .unwrap_or_default();
            for uid in s.expunged.iter().filter(|u| held.contains(u)) {
                violations.push(format!(
                    "{who}: UID {uid} was expunged (answered OK at {:.3}s), yet the folder holds it again",
                    ok_at.as_secs_f64()
                ));
            }
            for later in sessions.iter().filter(|t| {
                mailbox_of(t) == mailbox && t.folder == s.folder && t.uid_validity == s.uid_validity
            }) {
                for (at, uids) in later.listed.iter().filter(|(at, _)| *at > ok_at) {
                    for uid in s.expunged.iter().filter(|u| uids.contains(u)) {
                        violations.push(format!(
                            "{who}: UID {uid} was expunged (answered OK at {:.3}s), yet {} listed it at {:.3}s",
                            ok_at.as_secs_f64(),
                            name(later),
                            at.as_secs_f64()
                        ));
                    }
                }
            }
        }
        // IDLE hears of each new message within a second.
        if let Some((from, to)) = s.idle {
            let arrivals = history.iter().filter_map(|event| match event {
                MailEvent::Appended { place, .. }
                    if place.mailbox == mailbox
                        && place.uid_validity == s.uid_validity
                        && place.at >= from
                        && place.at + IDLE_NOTICE <= to =>
                {
                    Some(place.at)
                }
                _ => None,
            });
            for at in arrivals.collect::<Vec<_>>() {
                let held = held_at(&history, &mailbox, s.uid_validity, at);
                let heard = s
                    .exists_heard
                    .iter()
                    .any(|&(when, n)| when >= at && when <= at + IDLE_NOTICE && n as usize >= held);
                if heard {
                    report.stats.imap_idle_notices += 1;
                } else {
                    violations.push(format!(
                        "{who}: a message stored at {:.3}s, while the session was in IDLE, was not told (EXISTS {held}) within a second",
                        at.as_secs_f64()
                    ));
                }
            }
        }
    }
}

/// How many messages the folder held once every change up to `at` was
/// made.
fn held_at(history: &[MailEvent], mailbox: &str, validity: u32, at: Duration) -> usize {
    let mut held = BTreeSet::new();
    for event in history {
        match event {
            MailEvent::Appended { place, .. }
                if place.mailbox == mailbox && place.uid_validity == validity && place.at <= at =>
            {
                held.insert(place.uid);
            }
            MailEvent::Expunged { place }
                if place.mailbox == mailbox && place.uid_validity == validity && place.at <= at =>
            {
                held.remove(&place.uid);
            }
            _ => {}
        }
    }
    held.len()
}
