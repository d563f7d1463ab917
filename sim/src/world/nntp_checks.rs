//! The invariants of news, checked once the run is over against the
//! groups' store and what the NNTP clients were told:
//! - every POST answered `240` is in its group, under its Message-ID
//!   (a crash loses only what was never acknowledged), unless expiry
//!   removed it once its group's `expire` had passed;
//! - in each group, article numbers were handed out strictly increasing,
//!   across crashes: none given twice, none going back;
//! - a read-only group never gained an article;
//! - every article in a group is one a client sent;
//! - a client without a login read and posted only where the instance's
//!   `anonymous_read` and `anonymous_post` grant it.
//!
//! What a client could see as it went (OVER against ARTICLE, a number
//! seen with two Message-IDs, a high mark going back, an anonymous reader
//! let into a group) is checked by [`super::nntp_client`] at once.

use super::nntp_client::{Posted, header};
use super::{Report, ServerGroup, Shared};
use crate::store::mailboxes::MailEvent;
use postern_core::config::ServiceKind;
use postern_core::nntp::{PostingStatus, Wildmat};
use std::collections::{BTreeMap, BTreeSet};

/// The mailbox of local group `name` in the groups' store.
fn group_mailbox(name: &str) -> String {
    format!("{name}@groups")
}

pub(super) fn check_news(group: &ServerGroup, shared: &Shared, report: &mut Report) {
    let record = &shared.news;
    let configured = &group.config.news.groups;
    // Acknowledged posts are in their group.
    let mut contents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for newsgroup in configured {
        let ids = group
            .news
            .articles(&newsgroup.name)
            .iter()
            .filter_map(|(_, article)| header(article, "Message-ID"))
            .collect();
        contents.insert(newsgroup.name.as_str().to_owned(), ids);
    }
    let history = group.news.history();
    for posted in &record.posted {
        let found = contents
            .get(&posted.group)
            .is_some_and(|ids| ids.contains(&posted.message_id));
        if !found && let Some(why) = gone(group, &history, posted) {
            report.violations.push(why);
        }
    }
    check_anonymous(group, shared, report);
    // Only what clients sent is in a group.
    let sent: BTreeSet<&String> = record.sent.iter().collect();
    for (name, ids) in &contents {
        for id in ids.iter().filter(|id| !sent.contains(id)) {
            report.violations.push(format!(
                "{name} holds an article {id} that no client posted"
            ));
        }
    }
    // Numbers strictly increase per group over the whole run.
    let mut last: BTreeMap<&str, u32> = BTreeMap::new();
    for event in &history {
        let MailEvent::Appended { place, .. } = event else {
            continue;
        };
        let previous = last.insert(place.mailbox.as_str(), place.uid);
        if let Some(previous) = previous
            && place.uid <= previous
        {
            report.violations.push(format!(
                "article number {} of {} was handed out after {previous}: a number given twice or going back",
                place.uid, place.mailbox
            ));
        }
    }
    // Read-only groups gain nothing.
    for newsgroup in configured
        .iter()
        .filter(|g| g.status == PostingStatus::Refused)
    {
        let mailbox = group_mailbox(newsgroup.name.as_str());
        let gained = history
            .iter()
            .filter(|event| {
                matches!(event, MailEvent::Appended { place, .. } if place.mailbox == mailbox)
            })
            .count();
        if gained > 0 {
            report.violations.push(format!(
                "the read-only group {} gained {gained} articles",
                newsgroup.name
            ));
        }
    }
}

/// Why an acknowledged post no longer in its group is a violation; `None`
/// when expiry removed it, its group's `expire` after it was stored.
fn gone(group: &ServerGroup, history: &[MailEvent], posted: &Posted) -> Option<String> {
    let mailbox = group_mailbox(&posted.group);
    let stored = history.iter().find_map(|event| match event {
        MailEvent::Appended { place, data }
            if place.mailbox == mailbox
                && header(data, "Message-ID").as_deref() == Some(posted.message_id.as_str()) =>
        {
            Some(place)
        }
        _ => None,
    });
    let lost = format!(
        "the article {} that {} posted to {} (answered 240 at {:?}) is not in the group: \
         an acknowledged post is lost",
        posted.message_id, posted.client, posted.group, posted.at
    );
    let Some(stored) = stored else {
        return Some(lost);
    };
    let removed = history.iter().find_map(|event| match event {
        MailEvent::Expunged { place } if place.mailbox == mailbox && place.uid == stored.uid => {
            Some(place.at)
        }
        _ => None,
    });
    match (removed, group.news.expire_of(&posted.group)) {
        (Some(at), Some(keep)) if at >= stored.at + keep => None,
        (Some(at), keep) => Some(format!(
            "the article {} (number {} of {}, stored at {:?}) was removed at {at:?}, \
             yet its group {}",
            posted.message_id,
            stored.uid,
            posted.group,
            stored.at,
            match keep {
                Some(keep) => format!("keeps articles for {keep:?}"),
                None => "never expires articles".to_owned(),
            }
        )),
        (None, _) => Some(lost),
    }
}

/// What clients without a login were let do, against the `anonymous_read`
/// and `anonymous_post` of the instance they used.
fn check_anonymous(group: &ServerGroup, shared: &Shared, report: &mut Report) {
    for (to, name, what) in &shared.news.anonymous {
        let instance = group.config.services.iter().find(|service| {
            service.kind == ServiceKind::Nntp
                && service.listen.port == to.port()
                && service
                    .listen
                    .address
                    .is_none_or(|address| address == to.ip())
        });
        let pattern = instance
            .and_then(|service| service.nntp.as_ref())
            .map(|nntp| match *what {
                "post" => nntp.anonymous_post.as_str(),
                _ => nntp.anonymous_read.as_str(),
            });
        let granted = pattern
            .filter(|pattern| !pattern.is_empty())
            .and_then(|pattern| Wildmat::parse(pattern).ok())
            .is_some_and(|wildmat| wildmat.matches(name));
        if !granted {
            report.violations.push(format!(
                "a client without a login was let {what} {name} on {to}, which the instance's \
                 anonymous_{what} ({:?}) does not grant",
                pattern.unwrap_or_default()
            ));
        }
    }
}
