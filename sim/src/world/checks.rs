//! The checks after a run: the invariants every run must keep, the
//! scenario's expectations, and what was delivered where.

use super::rules::forwarded_to;
use super::{Report, ServerGroup, Shared, lock, smarthost_addresses};
use crate::remote::Taken;
use crate::scenario::Scenario;
use crate::store::Committed;
use postern_core::directory::Directory;
use postern_core::envelope::Destination;
use postern_core::route::SmarthostMode;
use std::collections::BTreeSet;

/// The invariants every run must keep: nothing acknowledged is lost from
/// the store, and no session outlives its clients.
pub(super) fn check_outcome(group: &ServerGroup, shared: &Shared, report: &mut Report) {
    let stored: BTreeSet<String> = group
        .store
        .committed()
        .iter()
        .filter(|c| !c.bounce)
        .map(|c| c.queue_id.to_string())
        .collect();
    report.stats.stored = stored.len() as u32;
    for id in &shared.acknowledged {
        if !stored.contains(id) {
            report.violations.push(format!(
                "message {id} was answered 250 but is not in the store: lost"
            ));
        }
    }
    for boot in &group.boots {
        if let Some(boot) = lock(boot).as_ref() {
            let live = lock(&boot.live);
            if !live.is_empty() {
                report.violations.push(format!(
                    "sessions still open after every client left: {live:?}"
                ));
            }
        }
    }
}

/// The scenario's own expectations, once the stats are in.
pub(super) fn check_expectations(scenario: &Scenario, report: &mut Report) {
    let expect = &scenario.expect;
    let checks = [
        ("accepted", expect.accepted, report.stats.accepted),
        ("stored", expect.stored, report.stats.stored),
        (
            "refused_connections",
            expect.refused_connections,
            report.stats.refused_connections,
        ),
        (
            "refused_recipients",
            expect.refused_recipients,
            report.stats.refused_recipients,
        ),
        ("delivered", expect.delivered, report.stats.delivered),
        ("bounces", expect.bounces, report.stats.bounces),
        ("local", expect.local, report.stats.local),
        ("junk", expect.junk, report.stats.junk),
        (
            "read_sessions",
            expect.read_sessions,
            report.stats.read_sessions,
        ),
        ("in_use", expect.in_use, report.stats.in_use),
        (
            "tunnel_complete",
            expect.tunnel_complete,
            report.stats.tunnel_complete,
        ),
        ("tunnel_cut", expect.tunnel_cut, report.stats.tunnel_cut),
        (
            "finger_answered",
            expect.finger_answered,
            report.stats.finger_answered,
        ),
        (
            "finger_declined",
            expect.finger_declined,
            report.stats.finger_declined,
        ),
        (
            "finger_refused",
            expect.finger_refused,
            report.stats.finger_refused,
        ),
        (
            "ftp_sessions",
            expect.ftp_sessions,
            report.stats.ftp_sessions,
        ),
        ("ftp_refused", expect.ftp_refused, report.stats.ftp_refused),
        (
            "ftp_transfers",
            expect.ftp_transfers,
            report.stats.ftp_transfers,
        ),
        (
            "imap_sessions",
            expect.imap_sessions,
            report.stats.imap_sessions,
        ),
        (
            "imap_appended",
            expect.imap_appended,
            report.stats.imap_appended,
        ),
        (
            "imap_expunged",
            expect.imap_expunged,
            report.stats.imap_expunged,
        ),
        (
            "imap_idle_notices",
            expect.imap_idle_notices,
            report.stats.imap_idle_notices,
        ),
        (
            "imap_converged",
            expect.imap_converged,
            report.stats.imap_converged,
        ),
        (
            "nntp_sessions",
            expect.nntp_sessions,
            report.stats.news.sessions,
        ),
        ("nntp_posted", expect.nntp_posted, report.stats.news.posted),
        (
            "nntp_refused_posts",
            expect.nntp_refused_posts,
            report.stats.news.refused_posts,
        ),
        (
            "nntp_refused_groups",
            expect.nntp_refused_groups,
            report.stats.news.refused_groups,
        ),
        (
            "nntp_articles_read",
            expect.nntp_articles_read,
            report.stats.news.articles_read,
        ),
        ("list_posts", expect.list_posts, report.stats.list_posts),
        (
            "list_confirmed",
            expect.list_confirmed,
            report.stats.list_confirmed,
        ),
        (
            "list_suspended",
            expect.list_suspended,
            report.stats.list_suspended,
        ),
    ];
    for (what, expected, actual) in checks {
        if let Some(expected) = expected
            && expected != actual
        {
            report
                .violations
                .push(format!("expected {what} = {expected}, got {actual}"));
        }
    }
}

/// The invariants of delivery: every message answered `250` reached each
/// recipient (its mailbox, or a remote server that took it) or was
/// bounced to its sender; the queue drained; the smarthost was used as
/// configured; no outbound quota was exceeded.
pub(super) fn check_deliveries(
    scenario: &Scenario,
    group: &ServerGroup,
    shared: &Shared,
    taken: &[Taken],
    report: &mut Report,
) {
    let committed = group.store.committed();
    let queued = group.store.queued();
    let mailboxes = group.store.mailboxes();
    let bounces: Vec<&Committed> = committed
        .iter()
        .filter(|c| c.bounce && !c.forwarded)
        .collect();
    let directory = Directory::new(&group.config.domains);
    let stats = &mut report.stats;
    stats.delivered = taken.len() as u32;
    stats.bounces = bounces.len() as u32;
    stats.local = mailboxes.values().map(|copies| copies.len() as u32).sum();
    stats.junk = group
        .store
        .delivered()
        .iter()
        .filter(|copy| copy.folder != postern::mailstore::INBOX)
        .count() as u32;
    stats.queued = queued.len() as u32;
    for id in &shared.acknowledged {
        let Some(message) = committed.iter().find(|c| &c.queue_id.to_string() == id) else {
            continue; // lost: reported by check_outcome
        };
        if queued.contains(&message.queue_id) {
            continue; // still waiting: see the drain check
        }
        let message_id = message_id(&message.data);
        for recipient in &message.envelope.recipients {
            let address = recipient
                .forward_path
                .to_string()
                .trim_matches(['<', '>'])
                .to_lowercase();
            let holds = |mailbox: &str| {
                mailboxes
                    .get(mailbox)
                    .is_some_and(|copies| copies.iter().any(|c| contains(c, &message_id)))
            };
            let arrived = match &recipient.destination {
                // A mailbox that forwards and keeps no copy: the message
                // is to be found where it was forwarded.
                Destination::Local(mailbox) => {
                    holds(&mailbox.to_string())
                        || forwarded_to(&group.store, &directory, mailbox)
                            .iter()
                            .any(|target| holds(target))
                }
                Destination::Remote => taken
                    .iter()
                    .any(|t| t.recipients.contains(&address) && contains(&t.data, &message_id)),
            };
            let bounced = bounces
                .iter()
                .any(|b| contains(&b.data, &message_id) && contains(&b.data, &address));
            if !arrived && !bounced {
                report.violations.push(format!(
                    "message {id} {message_id} was answered 250, then neither delivered to {address} nor bounced: lost"
                ));
            }
        }
    }
    if scenario.expect.queue_drains != Some(false) && !queued.is_empty() {
        let ids: Vec<String> = queued.iter().map(ToString::to_string).collect();
        report.violations.push(format!(
            "the queue did not drain: {} still queued at the end",
            ids.join(", ")
        ));
    }
    // Quarantine: a copy of a message the checks quarantined, or from a
    // sender on the recipient's block list, is in a Junk folder, and only
    // such a copy is.
    for copy in group.store.delivered() {
        let blocked = |c: &Committed| {
            let rules = group
                .store
                .local_mailbox_of(&copy.mailbox)
                .and_then(|mailbox| group.store.rules(&mailbox));
            rules.is_some_and(|rules| {
                matches!(
                    rules.sender_lists().verdict(&c.envelope.reverse_path),
                    postern_core::spam::ListVerdict::Blocked(..)
                )
            })
        };
        let junk = committed
            .iter()
            .any(|c| c.queue_id == copy.origin && (c.junk || blocked(c)));
        let in_junk = copy.folder != postern::mailstore::INBOX;
        if junk != in_junk {
            report.violations.push(format!(
                "{} of {} went to {} of {}, {}",
                if in_junk {
                    "a copy"
                } else {
                    "a quarantined copy"
                },
                copy.origin,
                copy.folder,
                copy.mailbox,
                if in_junk {
                    "yet it was not quarantined"
                } else {
                    "not to its Junk folder"
                },
            ));
        }
    }
    if scenario.expect.local_copies_once != Some(false) {
        for (mailbox, copies) in &mailboxes {
            let mut seen = BTreeSet::new();
            for copy in copies {
                // A forwarded copy is at least once: a crash after it was
                // queued and before the recipient was recorded queues it
                // again (see the book's chapter on forwarding).
                if is_forwarded(copy) {
                    continue;
                }
                let id = message_id(copy);
                if !seen.insert(id.clone()) {
                    report
                        .violations
                        .push(format!("{mailbox} holds message {id} twice"));
                }
            }
        }
    }
    let log = lock(&group.outbound.log);
    report.stats.outbound_peak = log.peak;
    report.violations.extend(log.violations.iter().cloned());
    if let Some(smarthost) = &group.config.outbound.smarthost {
        let relay = smarthost_addresses(&group.config, &group.outbound.zone);
        match smarthost.mode {
            SmarthostMode::Exclusive => {
                for (at, address) in &log.connects {
                    if !relay.contains(&address.ip()) {
                        report.violations.push(format!(
                            "the smarthost is exclusive, yet at {:.3}s the server connected to {address}",
                            at.as_secs_f64()
                        ));
                    }
                }
                for (at, domain) in &log.mx_lookups {
                    report.violations.push(format!(
                        "the smarthost is exclusive, yet at {:.3}s the server looked up the MX of {domain}",
                        at.as_secs_f64()
                    ));
                }
            }
            SmarthostMode::Fallback => {
                let relayed = taken.iter().filter(|t| {
                    scenario
                        .remotes
                        .iter()
                        .any(|r| r.name == t.server && relay.contains(&r.address))
                });
                for t in relayed {
                    for recipient in &t.recipients {
                        let domain = recipient.rsplit('@').next().unwrap_or_default();
                        let tried_direct = log
                            .mx_lookups
                            .iter()
                            .any(|(at, looked_up)| *at <= t.at && looked_up == domain);
                        if !tried_direct {
                            report.violations.push(format!(
                                "the smarthost took mail for {recipient} at {:.3}s before any direct attempt",
                                t.at.as_secs_f64()
                            ));
                        }
                    }
                }
            }
        }
    }
}

/// True for a copy that came through a forwarding mailbox: besides its
/// own `Delivered-To:` it has the forwarder's.
fn is_forwarded(data: &[u8]) -> bool {
    header_lines(data)
        .filter(|line| line.to_ascii_lowercase().starts_with("delivered-to:"))
        .count()
        > 1
}

/// The lines of a message's header section, without their line ends; the
/// body is never read.
fn header_lines(data: &[u8]) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
    data.split(|&octet| octet == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
        .map(String::from_utf8_lossy)
}

/// The value of the Message-ID header, angle brackets included.
pub(super) fn message_id(data: &[u8]) -> String {
    header_lines(data)
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("message-id")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default()
}

/// True if `text` is somewhere in `data`, ASCII case ignored. Only where
/// the first octet matches, in either case, is the rest compared: the
/// checks look for message IDs in every copy, some of them large.
pub(super) fn contains(data: &[u8], text: &str) -> bool {
    let text = text.as_bytes();
    let Some(&first) = text.first() else {
        return false;
    };
    memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), data).any(|at| {
        data.get(at..at + text.len())
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_ignores_case_and_finds_text_anywhere() {
        let data = b"Message-ID: <A1@Example.Test>\r\n\r\nbody <<a1@example.test";
        assert!(contains(data, "<a1@example.test>"));
        assert!(contains(data, "MESSAGE-id"));
        // At the very end, after a false start on the same first octet.
        assert!(contains(data, "<a1@example.test"));
        assert!(!contains(data, "<a1@example.test>>"));
        assert!(!contains(data, "<a2@example.test>"));
        assert!(!contains(data, ""));
        assert!(!contains(b"", "x"));
    }

    #[test]
    fn header_fields_are_read_from_the_header_section_only() {
        let data = b"Delivered-To: a@x.test\r\nMessage-ID: <1@x>\r\n\r\nDelivered-To: b@x.test\r\n";
        assert_eq!(message_id(data), "<1@x>");
        assert!(!is_forwarded(data));
        assert!(is_forwarded(
            b"Delivered-To: a@x.test\nDelivered-To: b@x.test\n\nbody"
        ));
        assert_eq!(
            message_id(b"Subject: none\r\n\r\nMessage-ID: <2@x>\r\n"),
            ""
        );
    }
}
