//! The invariants of mailing lists, checked after a run:
//!
//! - every post the server took for a list is in the list's archive,
//!   once: no post is lost across crashes;
//! - every member receiving mail when a post was distributed has a copy
//!   of it, which a remote server took or which bounced back to the
//!   member's VERP address;
//! - no member has two copies of a post, except when a crash came
//!   between the first copy and the second (the crash window the book
//!   documents: the expansion is done again), and no remote server took
//!   a copy twice unless a crash came after it was first committed;
//! - a member suspended gets no post distributed after, and a member
//!   whose copies bounced as often as the list's threshold is suspended.
//!
//! Every message the server took for a list's own address counts as a
//! post the list distributes: the checks are for open lists (or posts
//! from members), not for posts a closed or moderated list refuses or
//! holds.
//!
//! Order is the order of the store's committed messages: a list's first
//! copy of a post is committed in the instant its state was read (see
//! [`crate::store::MemoryStore::with_inject_step`]), and each change of a
//! member's setting records how many messages were committed before it.

use super::checks::{contains, message_id};
use super::{Report, ServerGroup};
use crate::remote::Taken;
use crate::store::Committed;
use crate::store::lists::MemberChange;
use postern_core::address::ReversePath;
use postern_core::lists::{Delivery, ListDefinition};
use std::collections::BTreeMap;

pub(super) fn check_lists(group: &ServerGroup, taken: &[Taken], report: &mut Report) {
    let committed = group.store.committed();
    let changes = group.store.member_changes();
    let crashes = group.store.crash_marks();
    let mailboxes = group.store.mailboxes();
    for definition in &group.config.lists.lists {
        let list = ListCheck {
            definition,
            committed: &committed,
            changes: changes
                .iter()
                .filter(|c| c.list == definition.address())
                .collect(),
            end: group
                .store
                .list_state(&definition.address())
                .unwrap_or_default()
                .members
                .into_iter()
                .map(|(m, member)| (m, member.delivery))
                .collect(),
            crashes: &crashes,
            taken,
        };
        let archive = mailboxes
            .get(&definition.address())
            .cloned()
            .unwrap_or_default();
        list.check(&archive, report);
    }
}

struct ListCheck<'a> {
    definition: &'a ListDefinition,
    committed: &'a [Committed],
    changes: Vec<&'a MemberChange>,
    /// Each member's setting at the end.
    end: BTreeMap<String, Delivery>,
    crashes: &'a [usize],
    taken: &'a [Taken],
}

/// The lower-case address in an envelope's path, without brackets.
fn bare(path: impl ToString) -> String {
    path.to_string().trim_matches(['<', '>']).to_lowercase()
}

impl ListCheck<'_> {
    fn check(&self, archive: &[Vec<u8>], report: &mut Report) {
        let address = self.definition.address();
        let verp_prefix = format!("{}-bounces+", self.definition.local);
        let domain = format!("@{}", self.definition.domain);
        // The posts: messages received over SMTP for the list.
        let posts: Vec<String> = self
            .committed
            .iter()
            .filter(|c| !c.bounce)
            .filter(|c| {
                c.envelope
                    .recipients
                    .iter()
                    .any(|r| bare(&r.forward_path) == address)
            })
            .map(|c| message_id(&c.data))
            .collect();
        // Each member's copies of each post, by their index in the record.
        let mut copies: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for (index, c) in self.committed.iter().enumerate() {
            let sender = bare(&c.envelope.reverse_path);
            if !(c.bounce && sender.starts_with(&verp_prefix) && sender.ends_with(&domain)) {
                continue;
            }
            let id = message_id(&c.data);
            for recipient in &c.envelope.recipients {
                copies
                    .entry((id.clone(), bare(&recipient.forward_path)))
                    .or_default()
                    .push(index);
            }
        }
        report.stats.list_copies += copies.values().map(|c| c.len() as u32).sum::<u32>();
        let members = self.members();
        for post in &posts {
            let in_archive = archive.iter().filter(|m| contains(m, post)).count();
            match in_archive {
                1 => report.stats.list_posts += 1,
                0 => report.violations.push(format!(
                    "{address}: post {post} was taken for the list but is not in its archive: lost"
                )),
                n => report.violations.push(format!(
                    "{address}: the archive holds post {post} {n} times"
                )),
            }
            let mut all: Vec<usize> = copies
                .iter()
                .filter(|((id, _), _)| id == post)
                .flat_map(|(_, at)| at.iter().copied())
                .collect();
            all.sort_unstable();
            // Each expansion of the post begins with its first copy, or
            // with the first copy after a crash cut the one before.
            let starts: Vec<usize> = all
                .iter()
                .enumerate()
                .filter(|&(n, &at)| n == 0 || self.crashed_between(all[n - 1], at))
                .map(|(_, &at)| at)
                .collect();
            if starts.len() > 1 {
                report.stats.list_cut_expansions += starts.len() as u32 - 1;
            }
            if starts.is_empty() {
                if in_archive > 0 && members.keys().any(|m| self.receiving(m, usize::MAX)) {
                    report.violations.push(format!(
                        "{address}: post {post} is in the archive, yet no member got a copy"
                    ));
                }
                continue;
            };
            for member in members.keys() {
                let at = copies
                    .get(&(post.clone(), member.clone()))
                    .cloned()
                    .unwrap_or_default();
                self.check_member(post, member, &starts, &at, report);
            }
        }
        for (member, (state, bounced)) in &members {
            if *state == Some(Delivery::Suspended) {
                report.stats.list_suspended += 1;
            } else if *bounced >= self.definition.bounce_threshold {
                report.violations.push(format!(
                    "{address}: {member}'s copies bounced {bounced} times (threshold {}), yet the member is {}",
                    self.definition.bounce_threshold,
                    state.map_or("gone".to_owned(), |d| format!("{d:?}").to_lowercase())
                ));
            }
        }
    }

    /// One member and one post, whose expansions began at `starts` (the
    /// last one completed): `at` are the indices of the member's copies.
    fn check_member(
        &self,
        post: &str,
        member: &str,
        starts: &[usize],
        at: &[usize],
        report: &mut Report,
    ) {
        let address = self.definition.address();
        let Some(&last) = starts.last() else {
            return;
        };
        if self.receiving(member, last) && !at.iter().any(|&i| i >= last) {
            report.violations.push(format!(
                "{address}: {member} was receiving when post {post} was distributed, yet got no copy"
            ));
        }
        for &copy in at {
            let start = starts
                .iter()
                .rev()
                .find(|&&s| s <= copy)
                .copied()
                .unwrap_or(copy);
            if !self.receiving(member, start) {
                report.violations.push(format!(
                    "{address}: {member} got post {post} from an expansion begun when the member was not receiving ({})",
                    self.setting(member, start)
                        .map_or("not a member".to_owned(), |d| format!("{d:?}").to_lowercase())
                ));
            }
        }
        for pair in at.windows(2) {
            if self.crashed_between(pair[0], pair[1]) {
                report.stats.list_duplicates += 1;
            } else {
                report.violations.push(format!(
                    "{address}: {member} got post {post} twice with no crash in between (copies #{} and #{})",
                    pair[0], pair[1]
                ));
            }
        }
        let Some(&first_copy) = at.first() else {
            return;
        };
        let took = self
            .taken
            .iter()
            .filter(|t| t.recipients.iter().any(|r| r == member))
            .filter(|t| contains(&t.data, post))
            .count();
        let bounced = self.bounces_to(member).any(|b| contains(&b.data, post));
        if took == 0 && !bounced {
            report.violations.push(format!(
                "{address}: {member}'s copy of post {post} was neither taken by a remote server nor bounced: lost"
            ));
        }
        if took > at.len() && !self.crashes.iter().any(|&c| c > first_copy) {
            report.violations.push(format!(
                "{address}: a remote server took {member}'s copy of post {post} {took} times, with no crash to explain it"
            ));
        }
    }

    /// The members ever known, with their setting at the end and how many
    /// bounces came back to their VERP address.
    fn members(&self) -> BTreeMap<String, (Option<Delivery>, u32)> {
        let mut members: BTreeMap<String, (Option<Delivery>, u32)> = self
            .end
            .iter()
            .map(|(m, &delivery)| (m.clone(), (Some(delivery), 0)))
            .collect();
        for change in &self.changes {
            members.entry(change.member.clone()).or_insert((None, 0));
        }
        for (member, (_, bounced)) in members.iter_mut() {
            *bounced = self.bounces_to(member).count() as u32;
        }
        members
    }

    /// Bounces that came back for `member`'s copies.
    fn bounces_to<'s>(&'s self, member: &str) -> impl Iterator<Item = &'s Committed> + 's {
        let verp = self.definition.verp_address(member);
        self.committed.iter().filter(move |c| {
            c.bounce
                && c.envelope.reverse_path == ReversePath::Null
                && c.envelope
                    .recipients
                    .iter()
                    .any(|r| bare(&r.forward_path) == verp)
        })
    }

    /// `member`'s setting in effect for a copy committed at `index`: the
    /// last change made with no more than `index` messages committed, or
    /// the setting before the first change (the end's, if none changed).
    fn setting(&self, member: &str, index: usize) -> Option<Delivery> {
        let mine: Vec<&&MemberChange> =
            self.changes.iter().filter(|c| c.member == member).collect();
        match mine.iter().rev().find(|c| c.committed <= index) {
            Some(change) => change.to,
            None => match mine.first() {
                Some(change) => change.from,
                None => self.end.get(member).copied(),
            },
        }
    }

    fn receiving(&self, member: &str, index: usize) -> bool {
        self.setting(member, index) == Some(Delivery::Mail)
    }

    /// Whether the server crashed after copy `a` was committed and before
    /// copy `b` was.
    fn crashed_between(&self, a: usize, b: usize) -> bool {
        self.crashes.iter().any(|&c| c > a && c <= b)
    }
}
