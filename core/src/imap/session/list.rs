//! LIST (RFC 9051 6.3.9 with LIST-EXTENDED, LIST-STATUS, SPECIAL-USE and
//! CHILDREN), LSUB (RFC 3501 6.3.9), STATUS (RFC 9051 6.3.11 with SIZE
//! and HIGHESTMODSEQ) and NAMESPACE (RFC 2342).
//!
//! The hierarchy separator is `.` (Maildir++), and `/` in the shared
//! namespace of list archives ([`crate::imap::shared`]). A name that does not exist
//! but has folders below it (a store's folder made without its parent)
//! is shown with `\NonExistent` (`\Noselect` to a plain IMAP4rev1 LIST).

use super::machine::ImapServer;
use super::response::{Reply, failure_reply};
use super::state::Pending;
use super::{FolderStatus, Request, StoreFailure};
use crate::imap::command::{ListCommand, ListReturn, ListSelection, StatusItem};
use crate::imap::shared::separator;
use std::collections::{BTreeMap, BTreeSet};

/// What LIST knows of one name.
#[derive(Default)]
struct Entry<'a> {
    folder: Option<&'a FolderStatus>,
    subscribed: bool,
    has_children: bool,
    /// RFC 5258 3.5 CHILDINFO: a folder below is subscribed.
    subscribed_child: bool,
}

impl ImapServer {
    pub(super) fn handle_list(&mut self, tag: String, list: ListCommand, lsub: bool) {
        if !lsub && list.patterns.len() == 1 && list.patterns[0].is_empty() {
            // RFC 9051 6.3.9: the separator and the root of the name.
            self.untagged("LIST (\\Noselect) \".\" \"\"");
            return self.finish(tag, Reply::ok("List completed"), true);
        }
        if list.returns.status.contains(&StatusItem::HighestModSeq) {
            self.enabled.condstore = true;
        }
        self.request(Pending::List { tag, list, lsub }, Request::Folders);
    }

    pub(super) fn handle_lsub(&mut self, tag: String, reference: String, pattern: String) {
        let list = ListCommand {
            reference,
            patterns: vec![pattern],
            selection: ListSelection {
                subscribed: true,
                ..ListSelection::default()
            },
            returns: ListReturn::default(),
        };
        self.handle_list(tag, list, true);
    }

    pub(super) fn folders_listed(
        &mut self,
        tag: String,
        list: ListCommand,
        lsub: bool,
        result: Result<Vec<FolderStatus>, StoreFailure>,
    ) {
        let folders = match result {
            Ok(folders) => folders,
            Err(failure) => return self.finish(tag, failure_reply(&failure, "LIST"), true),
        };
        if list.selection.subscribed || list.returns.subscribed {
            return self.request(
                Pending::ListSubscriptions {
                    tag,
                    list,
                    lsub,
                    folders,
                },
                Request::Subscriptions,
            );
        }
        self.list_reply(tag, &list, lsub, &folders, &[]);
    }

    pub(super) fn subscriptions_listed(
        &mut self,
        tag: String,
        list: ListCommand,
        lsub: bool,
        folders: Vec<FolderStatus>,
        result: Result<Vec<String>, StoreFailure>,
    ) {
        match result {
            Ok(subscriptions) => self.list_reply(tag, &list, lsub, &folders, &subscriptions),
            Err(failure) => self.finish(tag, failure_reply(&failure, "LIST"), true),
        }
    }

    fn list_reply(
        &mut self,
        tag: String,
        list: &ListCommand,
        lsub: bool,
        folders: &[FolderStatus],
        subscriptions: &[String],
    ) {
        let patterns: Vec<String> = match list
            .patterns
            .iter()
            .map(|p| self.folder_pattern(&list.reference, p))
            .collect::<Result<_, _>>()
        {
            Ok(patterns) => patterns,
            Err(reply) => return self.finish(tag, reply, true),
        };
        let entries = entries(folders, subscriptions);
        let extended = self.enabled.rev2
            || list.patterns.len() > 1
            || list.selection != ListSelection::default()
            || list.returns != ListReturn::default();
        let selection = &list.selection;
        let mut lines = Vec::new();
        let mut statuses = Vec::new();
        for (name, entry) in &entries {
            let matched = patterns.iter().any(|p| matches(p, name, separator(name)));
            if !matched {
                continue;
            }
            if selection.special_use && entry.folder.and_then(|f| f.special_use).is_none() {
                continue;
            }
            let mut attributes: Vec<&str> = Vec::new();
            let mut child_info = false;
            if selection.subscribed && !entry.subscribed {
                // RFC 5258 3.5: a parent of a subscribed folder is shown
                // with CHILDINFO when RECURSIVEMATCH asks for it; LSUB
                // shows it `\Noselect` (RFC 3501 6.3.9).
                if lsub && entry.subscribed_child && !name.is_empty() {
                    attributes.push("\\Noselect");
                } else if selection.recursive_match
                    && entry.subscribed_child
                    && subscribed_child_unlisted(&entries, name, &patterns)
                {
                    // RFC 5258 3.5: only for a subscribed child that is
                    // not listed itself (no pattern matches it).
                    child_info = true;
                } else {
                    continue;
                }
            }
            if entry.folder.is_none() && !lsub {
                attributes.push(if extended {
                    "\\NonExistent"
                } else {
                    "\\Noselect"
                });
            }
            if !lsub {
                attributes.push(if entry.has_children {
                    "\\HasChildren"
                } else {
                    "\\HasNoChildren"
                });
                if entry.subscribed && (selection.subscribed || list.returns.subscribed) {
                    attributes.push("\\Subscribed");
                }
                if let Some(use_) = entry.folder.and_then(|f| f.special_use) {
                    attributes.push(use_.attribute());
                }
            }
            let mut line = format!(
                "* {} ({}) \"{}\" ",
                if lsub { "LSUB" } else { "LIST" },
                attributes.join(" "),
                separator(name)
            )
            .into_bytes();
            self.wire_name(name).encode(&mut line, self.utf8_names());
            if child_info {
                line.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            line.extend_from_slice(b"\r\n");
            lines.push(line);
            if let Some(folder) = entry.folder
                && !list.returns.status.is_empty()
            {
                statuses.push((lines.len() - 1, folder.clone()));
            }
        }
        let items = list.returns.status.clone();
        let mut status_at = statuses.into_iter().peekable();
        for (i, line) in lines.into_iter().enumerate() {
            self.send(line);
            while let Some((_, folder)) = status_at.next_if(|(at, _)| *at == i) {
                let status = self.status_line(&folder, &items);
                self.send(status);
            }
        }
        let text = if lsub {
            "Lsub completed"
        } else {
            "List completed"
        };
        self.finish(tag, Reply::ok(text), true);
    }

    /// The reference and a pattern joined, decoded as a mailbox name is.
    fn folder_pattern(&self, reference: &str, pattern: &str) -> Result<String, Reply> {
        let joined = format!("{reference}{pattern}");
        if joined.is_empty() {
            return Ok(joined);
        }
        let mut name = if self.utf8_names() {
            joined
        } else {
            // A pattern that is not valid modified UTF-7 (`&'`) is
            // matched as written, as Dovecot does: it names no folder
            // the store could hold, so the answer is an empty OK.
            crate::imap::codec::mutf7::decode(&joined).unwrap_or(joined)
        };
        // INBOX matches without case (RFC 9051 5.1).
        if name.len() >= 5 && name.is_char_boundary(5) && name[..5].eq_ignore_ascii_case("INBOX") {
            let next = name.as_bytes().get(5).copied();
            if matches!(next, None | Some(b'.') | Some(b'*') | Some(b'%')) {
                name.replace_range(..5, "INBOX");
            }
        }
        Ok(name)
    }

    pub(super) fn handle_namespace(&mut self, tag: String) {
        self.untagged(crate::imap::shared::NAMESPACE_LINE);
        self.finish(tag, Reply::ok("Namespace completed"), true);
    }

    pub(super) fn handle_status(&mut self, tag: String, wire: &str, items: Vec<StatusItem>) {
        let folder = match self.folder_name(wire) {
            Ok(folder) => folder,
            Err(reply) => return self.reply(&tag, reply),
        };
        if items.contains(&StatusItem::HighestModSeq) {
            self.enabled.condstore = true;
        }
        self.request(Pending::Status { tag, folder, items }, Request::Folders);
    }

    pub(super) fn status_answer(
        &mut self,
        tag: String,
        folder: String,
        items: Vec<StatusItem>,
        result: Result<Vec<FolderStatus>, StoreFailure>,
    ) {
        let folders = match result {
            Ok(folders) => folders,
            Err(failure) => return self.finish(tag, failure_reply(&failure, "STATUS"), true),
        };
        let Some(status) = folders.iter().find(|f| f.name == folder) else {
            return self.finish(
                tag,
                failure_reply(&StoreFailure::NoSuchFolder, "STATUS"),
                true,
            );
        };
        let line = self.status_line(status, &items);
        self.send(line);
        self.finish(tag, Reply::ok("Status completed"), true);
    }

    /// `* STATUS name (MESSAGES 3 UIDNEXT 9 ...)`.
    fn status_line(&self, folder: &FolderStatus, items: &[StatusItem]) -> Vec<u8> {
        let mut line = b"* STATUS ".to_vec();
        self.wire_name(&folder.name)
            .encode(&mut line, self.utf8_names());
        let values: Vec<String> = items
            .iter()
            .map(|item| match item {
                StatusItem::Messages => format!("MESSAGES {}", folder.messages),
                StatusItem::UidNext => format!("UIDNEXT {}", folder.uid_next),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", folder.uid_validity),
                StatusItem::Unseen => format!("UNSEEN {}", folder.unseen),
                StatusItem::Deleted => format!("DELETED {}", folder.deleted),
                StatusItem::Size => format!("SIZE {}", folder.size),
                // The messages the next SELECT will call \Recent; STATUS
                // claims none of them.
                StatusItem::Recent => format!("RECENT {}", folder.recent),
                StatusItem::HighestModSeq => format!("HIGHESTMODSEQ {}", folder.highest_modseq),
                StatusItem::AppendLimit => format!("APPENDLIMIT {}", self.config.append_limit),
            })
            .collect();
        line.extend_from_slice(format!(" ({})\r\n", values.join(" ")).as_bytes());
        line
    }
}

/// Every name LIST may show: the folders, their parents (which may not
/// exist), and subscribed names that do not exist. INBOX first, then by
/// name.
fn entries<'a>(folders: &'a [FolderStatus], subscriptions: &[String]) -> Vec<(String, Entry<'a>)> {
    let subscribed: BTreeSet<&str> = subscriptions.iter().map(String::as_str).collect();
    let mut map: BTreeMap<String, Entry<'a>> = BTreeMap::new();
    for folder in folders {
        let entry = map.entry(folder.name.clone()).or_default();
        entry.folder = Some(folder);
        entry.subscribed = folder.subscribed || subscribed.contains(folder.name.as_str());
    }
    for name in &subscribed {
        map.entry((*name).to_owned()).or_default().subscribed = true;
    }
    let names: Vec<String> = map.keys().cloned().collect();
    for name in names {
        let subscribed = map.get(&name).is_some_and(|e| e.subscribed);
        let mut parent = name.as_str();
        while let Some(dot) = parent.rfind(separator(parent)) {
            parent = &parent[..dot];
            let entry = map.entry(parent.to_owned()).or_default();
            entry.has_children = true;
            entry.subscribed_child |= subscribed;
        }
    }
    let mut entries: Vec<(String, Entry<'a>)> = map.into_iter().collect();
    entries.sort_by_key(|(name, _)| (name != "INBOX", name.clone()));
    entries
}

/// Whether a subscribed folder below `name` matches none of `patterns`.
fn subscribed_child_unlisted(
    entries: &[(String, Entry<'_>)],
    name: &str,
    patterns: &[String],
) -> bool {
    entries.iter().any(|(child, entry)| {
        entry.subscribed
            && child.len() > name.len() + 1
            && child.starts_with(name)
            && child[name.len()..].starts_with(separator(child))
            && !patterns.iter().any(|p| matches(p, child, separator(child)))
    })
}

/// RFC 9051 6.3.9: `*` matches anything, `%` anything but the separator
/// of the name's namespace (`.`, or the shared namespace's `/`, one
/// octet). Worked out level by level over the pattern (time `pattern ×
/// name`, whatever the wildcards).
pub fn matches(pattern: &str, name: &str, separator: char) -> bool {
    let separator = u8::try_from(separator).unwrap_or(b'.');
    let name = name.as_bytes();
    // reach[j]: the pattern so far matches exactly name[..j].
    let mut reach = vec![false; name.len() + 1];
    reach[0] = true;
    for &c in pattern.as_bytes() {
        let mut next = vec![false; name.len() + 1];
        match c {
            b'*' | b'%' => {
                let mut on = false;
                for j in 0..=name.len() {
                    on |= reach[j];
                    next[j] = on;
                    if c == b'%' && name.get(j) == Some(&separator) {
                        on = false;
                    }
                }
            }
            c => {
                for j in 0..name.len() {
                    if reach[j] && name[j] == c {
                        next[j + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[name.len()]
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards_match_as_rfc_9051_says() {
        assert!(matches("*", "Archive.2026", '.'));
        assert!(matches("%", "Archive", '.'));
        assert!(!matches("%", "Archive.2026", '.'));
        assert!(matches("Archive.%", "Archive.2026", '.'));
        assert!(matches("A*6", "Archive.2026", '.'));
        assert!(!matches("INBOX", "INBOX.x", '.'));
        assert!(matches("INBOX*", "INBOX.x", '.'));
        assert!(matches("%.%", "a.b", '.'));
        assert!(!matches("%.%", "a.b.c", '.'));
        assert!(matches(&"*".repeat(500), "", '.'));
        assert!(!matches(
            &format!("{}b", "*".repeat(500)),
            &"a".repeat(200),
            '.'
        ));
        // The shared namespace's separator is `/`.
        assert!(matches("#lists/%", "#lists/team@example.test", '/'));
        assert!(!matches("%", "#lists/team@example.test", '/'));
        assert!(matches("%", "#lists", '/'));
    }
}
