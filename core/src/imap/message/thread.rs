//! THREAD (RFC 5256 3): ORDEREDSUBJECT and REFERENCES, and the THREAD
//! response's data (RFC 5256 4).
//!
//! Dates are sent dates (the Date: header), the internal date when a
//! message has none; ties go by sequence number.

use super::ParsedMessage;
use super::sort::base_subject_and_reply;
use crate::imap::command::ThreadAlgorithm;
use crate::limits::{IMAP_THREAD_DEPTH_MAX, IMAP_THREAD_REFERENCES_MAX};
use crate::mailbox::Uid;
use crate::time::UnixTime;
use std::collections::BTreeMap;

/// One message to thread.
#[derive(Clone, Copy, Debug)]
pub struct ThreadInput<'m> {
    pub seq: u32,
    pub uid: Uid,
    pub internal_date: UnixTime,
    pub message: &'m ParsedMessage<'m>,
}

/// A thread: a message and its replies, or (REFERENCES only) a dummy
/// standing for a message not in the set, which has two or more
/// children and only ever at the top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thread {
    /// A message number (a UID for UID THREAD) and its children.
    Message(u32, Vec<Thread>),
    Dummy(Vec<Thread>),
}

/// Threads `items` (RFC 5256 3), numbered by UID when `use_uid`.
pub fn thread(algorithm: ThreadAlgorithm, items: &[ThreadInput], use_uid: bool) -> Vec<Thread> {
    let facts: Vec<Facts> = items.iter().map(|item| Facts::of(item, use_uid)).collect();
    match algorithm {
        ThreadAlgorithm::OrderedSubject => ordered_subject(&facts),
        ThreadAlgorithm::References => references(&facts),
    }
}

/// The THREAD response's data: `(1 2)(3 (4)(5))`.
pub fn encode(threads: &[Thread], out: &mut Vec<u8>) {
    for thread in threads {
        out.push(b'(');
        encode_members(thread, out);
        out.push(b')');
    }
}

fn encode_members(thread: &Thread, out: &mut Vec<u8>) {
    match thread {
        Thread::Message(number, children) => {
            out.extend_from_slice(number.to_string().as_bytes());
            match children.as_slice() {
                [] => {}
                [only] => {
                    out.push(b' ');
                    encode_members(only, out);
                }
                many => {
                    out.push(b' ');
                    encode(many, out);
                }
            }
        }
        Thread::Dummy(children) => match children.as_slice() {
            [only] => encode_members(only, out),
            many => encode(many, out),
        },
    }
}

/// What threading needs of one message.
struct Facts {
    number: u32,
    seq: u32,
    date: i64,
    subject: String,
    reply: bool,
    message_id: Option<String>,
    references: Vec<String>,
}

impl Facts {
    fn of(item: &ThreadInput, use_uid: bool) -> Facts {
        let message = item.message;
        let (subject, reply) =
            base_subject_and_reply(&message.header_decoded("Subject").unwrap_or_default());
        let message_id = message
            .header_raw("Message-ID")
            .and_then(|value| message_ids(value).into_iter().next());
        let mut references = message
            .header_raw("References")
            .map(message_ids)
            .unwrap_or_default();
        if references.is_empty() {
            // RFC 5256 3 (1)(A): without References, the first valid
            // id of In-Reply-To.
            references = message
                .header_raw("In-Reply-To")
                .map(message_ids)
                .unwrap_or_default()
                .into_iter()
                .take(1)
                .collect();
        }
        if references.len() > IMAP_THREAD_REFERENCES_MAX {
            references.drain(..references.len() - IMAP_THREAD_REFERENCES_MAX);
        }
        Facts {
            number: if use_uid { item.uid.get() } else { item.seq },
            seq: item.seq,
            date: message.sent_date().unwrap_or(item.internal_date).0,
            subject: subject.to_ascii_uppercase(),
            reply,
            message_id,
            references,
        }
    }
}

/// The `<...>` ids in a field, as sent between the brackets.
fn message_ids(value: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(value);
    let mut ids = Vec::new();
    let mut rest = text.as_ref();
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let id: String = after[..close]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !id.is_empty() {
            ids.push(id);
        }
        rest = &after[close + 1..];
    }
    ids
}

/// RFC 5256 3 ORDEREDSUBJECT: by base subject, then date; each group a
/// thread whose later messages are all children of its first.
fn ordered_subject(facts: &[Facts]) -> Vec<Thread> {
    let mut order: Vec<usize> = (0..facts.len()).collect();
    order.sort_by(|&a, &b| {
        (&facts[a].subject, facts[a].date, facts[a].seq).cmp(&(
            &facts[b].subject,
            facts[b].date,
            facts[b].seq,
        ))
    });
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for index in order {
        match groups.last_mut() {
            Some(group) if facts[group[0]].subject == facts[index].subject => group.push(index),
            _ => groups.push(vec![index]),
        }
    }
    // Threads in the order of their first messages' dates.
    groups.sort_by_key(|group| (facts[group[0]].date, facts[group[0]].seq));
    groups
        .into_iter()
        .map(|group| {
            let children = group[1..]
                .iter()
                .map(|&i| Thread::Message(facts[i].number, Vec::new()))
                .collect();
            Thread::Message(facts[group[0]].number, children)
        })
        .collect()
}

/// A container of the REFERENCES algorithm: a message of the set or a
/// dummy for an id only referenced.
#[derive(Default)]
struct Container {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Table {
    containers: Vec<Container>,
}

impl Table {
    fn is_ancestor(&self, ancestor: usize, mut node: usize) -> bool {
        let mut steps = 0;
        loop {
            if node == ancestor {
                return true;
            }
            match self.containers[node].parent {
                // The links never form a loop (each is checked before it
                // is made); the step bound makes that a non-issue anyway.
                Some(parent) if steps <= self.containers.len() => {
                    node = parent;
                    steps += 1;
                }
                _ => return false,
            }
        }
    }

    fn unlink(&mut self, child: usize) {
        if let Some(parent) = self.containers[child].parent.take() {
            self.containers[parent].children.retain(|&c| c != child);
        }
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.unlink(child);
        self.containers[child].parent = Some(parent);
        self.containers[parent].children.push(child);
    }
}

/// RFC 5256 3 REFERENCES.
fn references(facts: &[Facts]) -> Vec<Thread> {
    let mut table = Table {
        containers: Vec::new(),
    };
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut container_for = |table: &mut Table, id: &str| -> usize {
        *by_id.entry(id.to_owned()).or_insert_with(|| {
            table.containers.push(Container::default());
            table.containers.len() - 1
        })
    };
    // (1) Link messages along their references.
    for (index, fact) in facts.iter().enumerate() {
        // (1)(A) A message without a Message-ID, or with one already
        // taken, gets a container of its own.
        let own = match &fact.message_id {
            Some(id) => {
                let c = container_for(&mut table, id);
                if table.containers[c].message.is_none() {
                    c
                } else {
                    table.containers.push(Container::default());
                    table.containers.len() - 1
                }
            }
            None => {
                table.containers.push(Container::default());
                table.containers.len() - 1
            }
        };
        table.containers[own].message = Some(index);
        // (1)(B) Each reference the parent of the next, unless already
        // linked or a loop would form.
        let chain: Vec<usize> = fact
            .references
            .iter()
            .map(|id| container_for(&mut table, id))
            .collect();
        for pair in chain.windows(2) {
            let (parent, child) = (pair[0], pair[1]);
            if table.containers[child].parent.is_none()
                && !table.is_ancestor(child, parent)
                && parent != child
            {
                table.link(parent, child);
            }
        }
        // (1)(C) The last reference is the message's parent.
        table.unlink(own);
        if let Some(&last) = chain.last() {
            if !table.is_ancestor(own, last) {
                table.link(last, own);
            }
        }
    }
    // (2) The root set.
    let roots: Vec<usize> = (0..table.containers.len())
        .filter(|&c| table.containers[c].parent.is_none())
        .collect();
    // (4) Prune dummies.
    let mut trees: Vec<Node> = roots
        .into_iter()
        .flat_map(|root| prune(&table, root, 0))
        .collect();
    // (5) The root set by date.
    for tree in &mut trees {
        sort_children(tree, facts);
    }
    trees.sort_by_key(|tree| tree_date(tree, facts));
    // (6) Group by base subject.
    let trees = group_by_subject(trees, facts);
    trees
        .into_iter()
        .map(|tree| tree.into_thread(facts))
        .collect()
}

/// A pruned tree: a message (its index in `facts`) or a dummy.
#[derive(Clone, Debug)]
struct Node {
    message: Option<usize>,
    children: Vec<Node>,
}

impl Node {
    fn into_thread(self, facts: &[Facts]) -> Thread {
        let children = self
            .children
            .into_iter()
            .map(|child| child.into_thread(facts))
            .collect();
        match self.message {
            Some(index) => Thread::Message(facts[index].number, children),
            None => Thread::Dummy(children),
        }
    }
}

/// RFC 5256 3 (4): a dummy without children goes; a dummy's children
/// take its place, unless it is a root with more than one child.
///
/// Below [`IMAP_THREAD_DEPTH_MAX`] levels the rest of a chain is flattened
/// into children of the last level, so that no step here or after
/// recurses deeper than that.
fn prune(table: &Table, container: usize, depth: usize) -> Vec<Node> {
    let node = &table.containers[container];
    let children: Vec<Node> = if depth + 1 >= IMAP_THREAD_DEPTH_MAX {
        descendants(table, container)
            .into_iter()
            .map(|message| Node {
                message: Some(message),
                children: Vec::new(),
            })
            .collect()
    } else {
        node.children
            .iter()
            .flat_map(|&child| prune(table, child, depth + 1))
            .collect()
    };
    let is_root = depth == 0;
    match node.message {
        Some(message) => vec![Node {
            message: Some(message),
            children,
        }],
        None if is_root && children.len() > 1 => vec![Node {
            message: None,
            children,
        }],
        None => children,
    }
}

/// Every message below `container`, found without recursion.
fn descendants(table: &Table, container: usize) -> Vec<usize> {
    let mut found = Vec::new();
    let mut stack: Vec<usize> = table.containers[container].children.clone();
    while let Some(next) = stack.pop() {
        let node = &table.containers[next];
        found.extend(node.message);
        stack.extend(node.children.iter().copied());
    }
    found
}

/// RFC 5256 3 (7): siblings by date; a dummy dates as its first child.
fn sort_children(node: &mut Node, facts: &[Facts]) {
    for child in &mut node.children {
        sort_children(child, facts);
    }
    node.children.sort_by_key(|child| tree_date(child, facts));
}

/// A tree's date and sequence number (children already sorted).
fn tree_date(node: &Node, facts: &[Facts]) -> (i64, u32) {
    match node.message {
        Some(index) => (facts[index].date, facts[index].seq),
        None => node
            .children
            .first()
            .map_or((i64::MAX, u32::MAX), |child| tree_date(child, facts)),
    }
}

/// The base subject a tree is filed under, and whether it is a reply.
fn tree_subject<'f>(node: &Node, facts: &'f [Facts]) -> Option<(&'f str, bool)> {
    let index = match node.message {
        Some(index) => index,
        None => node.children.first()?.message?,
    };
    Some((facts[index].subject.as_str(), facts[index].reply))
}

/// RFC 5256 3 (6): roots with the same base subject are merged.
fn group_by_subject(trees: Vec<Node>, facts: &[Facts]) -> Vec<Node> {
    // (6)(B) The subject table: a dummy wins over a message, a message
    // that is not a reply over one that is.
    let mut table: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, tree) in trees.iter().enumerate() {
        let Some((subject, reply)) = tree_subject(tree, facts) else {
            continue;
        };
        if subject.is_empty() {
            continue;
        }
        match table.get(subject) {
            None => {
                table.insert(subject, i);
            }
            Some(&held) => {
                let held_tree = &trees[held];
                let held_reply = tree_subject(held_tree, facts).is_some_and(|(_, r)| r);
                let better = (tree.message.is_none() && held_tree.message.is_some())
                    || (held_tree.message.is_some() && held_reply && !reply);
                if better {
                    table.insert(subject, i);
                }
            }
        }
    }
    // (6)(C) Merge each other root into the one the table holds.
    let mut slots: Vec<Option<Node>> = trees.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        let Some((subject, reply)) = slots[i].as_ref().and_then(|t| tree_subject(t, facts)) else {
            continue;
        };
        if subject.is_empty() {
            continue;
        }
        let Some(&held) = table.get(subject) else {
            continue;
        };
        if held == i {
            continue;
        }
        let (Some(current), Some(held_tree)) = (slots[i].take(), slots[held].take()) else {
            continue;
        };
        let held_reply = tree_subject(&held_tree, facts).is_some_and(|(_, r)| r);
        let merged = merge(held_tree, current, held_reply, reply);
        slots[held] = Some(merged);
    }
    let mut trees: Vec<Node> = slots.into_iter().flatten().collect();
    for tree in &mut trees {
        sort_children(tree, facts);
    }
    trees
}

fn merge(mut held: Node, mut current: Node, held_reply: bool, current_reply: bool) -> Node {
    match (held.message.is_none(), current.message.is_none()) {
        (true, true) => {
            held.children.append(&mut current.children);
            held
        }
        (true, false) => {
            held.children.push(current);
            held
        }
        (false, true) => {
            current.children.push(held);
            current
        }
        (false, false) if current_reply && !held_reply => {
            held.children.push(current);
            held
        }
        (false, false) if !current_reply && held_reply => {
            current.children.push(held);
            current
        }
        (false, false) => Node {
            message: None,
            children: vec![held, current],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_deeper_than_the_bound_is_flattened_not_lost() {
        let count = IMAP_THREAD_DEPTH_MAX * 3;
        let raws: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                let references = if i == 0 {
                    String::new()
                } else {
                    format!("In-Reply-To: <m{}@x>\r\n", i - 1)
                };
                format!(
                    "Message-ID: <m{i}@x>\r\n{references}Subject: chain\r\nDate: Tue, 3 Nov 2026 09:15:00 +0000\r\n\r\n"
                )
                .into_bytes()
            })
            .collect();
        let messages: Vec<ParsedMessage> =
            raws.iter().map(|raw| ParsedMessage::parse(raw)).collect();
        let items: Vec<ThreadInput> = messages
            .iter()
            .enumerate()
            .map(|(i, message)| ThreadInput {
                seq: i as u32 + 1,
                uid: Uid::FIRST,
                internal_date: UnixTime(0),
                message,
            })
            .collect();
        let threads = thread(ThreadAlgorithm::References, &items, false);
        assert_eq!(threads.len(), 1);
        let mut out = Vec::new();
        encode(&threads, &mut out);
        let text = String::from_utf8(out).expect("ASCII");
        let numbers = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .count();
        assert_eq!(numbers, count);
        let depth = text.chars().filter(|&c| c == '(').count();
        assert!(depth <= count, "{depth}");
    }
}
