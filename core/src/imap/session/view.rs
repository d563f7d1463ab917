//! The selected folder as this session sees it: message sequence numbers
//! and UIDs, flags and MODSEQs, and the changes not yet told.
//!
//! RFC 9051 7.4.1 and 5.2: a change by another session is told only at
//! the moments the machine allows. Until an expunge is told its message
//! keeps its sequence number (it is marked, not removed), so that
//! numbers never shift under the client mid-command.

use super::response::flags_line;
use crate::imap::command::{SeqNumber, SequenceSet};
use crate::mailbox::{Change, Flags, Keywords, MessageMeta, ModSeq, Snapshot, Uid, UidValidity};
use crate::time::UnixTime;
use std::collections::BTreeSet;
use std::io::Write as _;

/// One message of the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewMessage {
    pub uid: Uid,
    pub flags: Flags,
    pub keywords: Keywords,
    pub modseq: ModSeq,
    pub internal_date: UnixTime,
    pub size: u64,
    /// RFC 3501 2.3.2: this session is the first to see it.
    pub recent: bool,
    /// Expunged in the store, not yet told to the client.
    pub expunged: bool,
}

impl ViewMessage {
    fn new(meta: MessageMeta, recent: bool) -> Self {
        ViewMessage {
            uid: meta.uid,
            flags: meta.flags,
            keywords: meta.keywords,
            modseq: meta.modseq,
            internal_date: meta.internal_date,
            size: meta.size,
            recent,
            expunged: false,
        }
    }
}

/// How updates are told: the extensions the client enabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateStyle {
    /// RFC 7162: FETCH FLAGS carry UID and MODSEQ.
    pub condstore: bool,
    /// RFC 7162 3.2.10: VANISHED in place of EXPUNGE.
    pub qresync: bool,
    /// IMAP4rev1: RECENT counts and the `\Recent` flag.
    pub recent: bool,
    /// Unsolicited FETCH carries UID (RFC 7162 3.2.4 under QRESYNC; the
    /// same under CONDSTORE and for IMAP4rev2 clients, as they resync by
    /// UID).
    pub uid: bool,
}

/// A sequence set named a message that does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoSuchMessage {
    pub number: u32,
}

/// The selected folder.
#[derive(Clone, Debug)]
pub struct View {
    /// UTF-8, `INBOX` canonical.
    pub folder: String,
    pub read_only: bool,
    pub uid_validity: UidValidity,
    pub uid_next: u32,
    pub highest_modseq: ModSeq,
    /// In UID order; message number n is `messages[n - 1]`.
    pub messages: Vec<ViewMessage>,
    /// RFC 5182 SEARCHRES: the UIDs `SEARCH RETURN (SAVE)` saved.
    pub saved: Vec<Uid>,
    /// Messages whose flags changed and are still to be told.
    flag_news: BTreeSet<Uid>,
    /// The number of messages the client was last told of (EXISTS).
    told_exists: usize,
    /// The keywords the last FLAGS response listed (RFC 9051 7.3.5: a
    /// keyword new to the folder is announced before it is used).
    pub told_keywords: Keywords,
}

impl View {
    pub fn new(folder: String, read_only: bool, snapshot: Snapshot, recent_from: u32) -> Self {
        let messages: Vec<ViewMessage> = snapshot
            .messages
            .into_iter()
            .map(|meta| {
                let recent = meta.uid.get() >= recent_from;
                ViewMessage::new(meta, recent)
            })
            .collect();
        let told_keywords = messages
            .iter()
            .flat_map(|m| m.keywords.iter().cloned())
            .collect();
        View {
            told_keywords,
            folder,
            read_only,
            uid_validity: snapshot.uid_validity,
            uid_next: snapshot.uid_next,
            highest_modseq: snapshot.highest_modseq,
            told_exists: messages.len(),
            messages,
            saved: Vec::new(),
            flag_news: BTreeSet::new(),
        }
    }

    pub fn exists(&self) -> usize {
        self.messages.len()
    }

    pub fn recent(&self) -> usize {
        self.messages.iter().filter(|m| m.recent).count()
    }

    /// The message sequence number of the first message without `\Seen`.
    pub fn first_unseen(&self) -> Option<usize> {
        self.messages
            .iter()
            .position(|m| !m.flags.contains(crate::mailbox::Flag::Seen))
            .map(|i| i + 1)
    }

    pub fn index_of(&self, uid: Uid) -> Option<usize> {
        self.messages.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// Takes in changes from the store, oldest first: they are told later,
    /// by [`View::tell`].
    pub fn apply(&mut self, changes: Vec<Change>, recent_from: u32) {
        for change in changes {
            self.highest_modseq = self.highest_modseq.max(change.modseq());
            match change {
                Change::Appended(meta) => {
                    // Only a UID above every one seen is new (RFC 9051
                    // 2.3.1.1: UIDs are never reused).
                    if meta.uid.get() >= self.uid_next {
                        self.uid_next = self.uid_next.max(meta.uid.get().saturating_add(1));
                        let recent = meta.uid.get() >= recent_from;
                        self.messages.push(ViewMessage::new(meta, recent));
                    }
                }
                Change::FlagsChanged {
                    uid,
                    flags,
                    keywords,
                    modseq,
                } => {
                    let Some(i) = self.index_of(uid) else {
                        continue;
                    };
                    let message = &mut self.messages[i];
                    if message.expunged || modseq <= message.modseq {
                        continue;
                    }
                    message.flags = flags;
                    message.keywords = keywords;
                    message.modseq = modseq;
                    self.flag_news.insert(uid);
                }
                Change::Expunged { uid, .. } => {
                    if let Some(i) = self.index_of(uid) {
                        self.messages[i].expunged = true;
                        self.flag_news.remove(&uid);
                    }
                }
            }
        }
    }

    /// The changes a fresh snapshot shows against this view, for when the
    /// store no longer keeps changes that old.
    pub fn difference(&self, snapshot: &Snapshot) -> Vec<Change> {
        let mut changes = Vec::new();
        let fresh: std::collections::BTreeMap<Uid, &MessageMeta> =
            snapshot.messages.iter().map(|m| (m.uid, m)).collect();
        for message in &self.messages {
            match fresh.get(&message.uid) {
                None => changes.push(Change::Expunged {
                    uid: message.uid,
                    modseq: snapshot.highest_modseq,
                }),
                Some(meta) if meta.flags != message.flags || meta.keywords != message.keywords => {
                    changes.push(Change::FlagsChanged {
                        uid: meta.uid,
                        flags: meta.flags,
                        keywords: meta.keywords.clone(),
                        modseq: meta.modseq.max(ModSeq(message.modseq.0 + 1)),
                    })
                }
                Some(_) => {}
            }
        }
        for meta in &snapshot.messages {
            if meta.uid.get() >= self.uid_next {
                changes.push(Change::Appended((*meta).clone()));
            }
        }
        changes
    }

    /// Notes a change this session made itself (STORE): told by the
    /// command's own FETCH, not again as news. The view's highest MODSEQ
    /// stays where it is: other sessions' changes may lie between it and
    /// this one (an expunge made while the STORE ran), and the next
    /// request for changes must still bring them; this change comes back
    /// with them, no newer than the message's, and is not told twice.
    pub fn apply_own(&mut self, change: &Change) {
        if let Change::FlagsChanged {
            uid,
            flags,
            keywords,
            modseq,
        } = change
        {
            if let Some(i) = self.index_of(*uid) {
                let message = &mut self.messages[i];
                if !message.expunged && *modseq > message.modseq {
                    message.flags = *flags;
                    message.keywords = keywords.clone();
                    message.modseq = *modseq;
                    self.flag_news.remove(uid);
                }
            }
        }
    }

    /// `* FLAGS` and `* OK [PERMANENTFLAGS]` again when a keyword is in
    /// use that the client has not been told of.
    pub fn announce_keywords(&mut self, out: &mut Vec<u8>) {
        let in_use: Keywords = self
            .messages
            .iter()
            .flat_map(|m| m.keywords.iter())
            .filter(|k| !self.told_keywords.contains(*k))
            .cloned()
            .collect();
        if in_use.is_empty() {
            return;
        }
        self.told_keywords.extend(in_use);
        let _ = write!(
            out,
            "* FLAGS ({})\r\n",
            flags_line(&self.told_keywords, false)
        );
        if !self.read_only {
            let _ = write!(
                out,
                "* OK [PERMANENTFLAGS ({})] Flags permitted\r\n",
                flags_line(&self.told_keywords, true)
            );
        }
    }

    /// Whether an expunge waits to be told.
    pub fn holds_expunges(&self) -> bool {
        self.messages.iter().any(|m| m.expunged)
    }

    /// The untagged responses for what changed, in the order RFC 9051 7.4.1
    /// allows: EXPUNGE (or VANISHED) only when `expunges` says they may be
    /// told now, then EXISTS (and RECENT), then FETCH FLAGS.
    pub fn tell(&mut self, expunges: bool, style: UpdateStyle, out: &mut Vec<u8>) {
        // A message the client was never told of (past the last EXISTS)
        // goes without a word: no number it knows shifts.
        let told = self.told_exists;
        let mut index = 0;
        self.messages.retain(|m| {
            index += 1;
            index <= told || !m.expunged
        });
        if expunges && self.holds_expunges() {
            let gone: Vec<u32> = self
                .messages
                .iter()
                .filter(|m| m.expunged)
                .map(|m| m.uid.get())
                .collect();
            if style.qresync {
                let _ = write!(out, "* VANISHED {}\r\n", uid_set(&gone));
            } else {
                let mut removed = 0;
                for (i, message) in self.messages.iter().enumerate() {
                    if message.expunged {
                        let _ = write!(out, "* {} EXPUNGE\r\n", i + 1 - removed);
                        removed += 1;
                    }
                }
            }
            self.told_exists -= gone.len().min(self.told_exists);
            self.messages.retain(|m| !m.expunged);
        }
        if self.messages.len() != self.told_exists {
            let _ = write!(out, "* {} EXISTS\r\n", self.messages.len());
            if style.recent {
                let _ = write!(out, "* {} RECENT\r\n", self.recent());
            }
            self.told_exists = self.messages.len();
        }
        if !self.flag_news.is_empty() {
            self.announce_keywords(out);
        }
        for uid in std::mem::take(&mut self.flag_news) {
            let Some(i) = self.index_of(uid) else {
                continue;
            };
            let message = &self.messages[i];
            if message.expunged {
                continue;
            }
            let _ = write!(out, "* {} FETCH (", i + 1);
            if style.uid {
                let _ = write!(out, "UID {} ", message.uid);
            }
            out.extend_from_slice(b"FLAGS ");
            flag_list(message, style.recent, out);
            if style.condstore {
                let _ = write!(out, " MODSEQ ({})", message.modseq);
            }
            out.extend_from_slice(b")\r\n");
        }
    }

    /// The indices of the messages a set names, ascending, without
    /// repeats. Message numbers past the end are an error (RFC 9051 9
    /// `seq-number`); UIDs that are not there are left out, and `*` is the
    /// largest UID in use, so that `n:*` always takes in the last message.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, NoSuchMessage> {
        let ranges = match set {
            SequenceSet::Saved => {
                let mut found: Vec<usize> = self
                    .saved
                    .iter()
                    .filter_map(|&u| self.index_of(u))
                    .collect();
                found.sort_unstable();
                found.dedup();
                return Ok(found);
            }
            SequenceSet::Ranges(ranges) => ranges,
        };
        let count = self.messages.len();
        if !uid {
            // RFC 9051 9: a message number past the end is an error; `*`
            // in an empty folder names nothing (as Dovecot).
            for range in ranges {
                let star = matches!(range.start, SeqNumber::Largest)
                    || matches!(range.end, SeqNumber::Largest);
                let number = |n: SeqNumber| match n {
                    SeqNumber::Value(v) => v.get(),
                    SeqNumber::Largest => 0,
                };
                let high = number(range.start).max(number(range.end));
                if high as usize > count && !(star && count == 0) {
                    return Err(NoSuchMessage { number: high });
                }
            }
        }
        let largest = if uid {
            self.messages.last().map_or(0, |m| m.uid.get())
        } else {
            count as u32
        };
        // Merged ranges first, so each message is looked at once however
        // many ranges name it.
        let mut found = Vec::new();
        for (low, high) in set_ranges(set, largest) {
            if uid {
                let start = self.messages.partition_point(|m| m.uid.get() < low);
                let end = self.messages.partition_point(|m| m.uid.get() <= high);
                found.extend(start..end);
            } else if low >= 1 && count > 0 {
                found.extend(low as usize - 1..(high as usize).min(count));
            }
        }
        Ok(found)
    }
}

/// A set's ranges with `*` as `largest`, each low to high, sorted and
/// merged; `$` gives none.
pub fn set_ranges(set: &SequenceSet, largest: u32) -> Vec<(u32, u32)> {
    let SequenceSet::Ranges(ranges) = set else {
        return Vec::new();
    };
    let value = |n: SeqNumber| match n {
        SeqNumber::Value(v) => v.get(),
        SeqNumber::Largest => largest,
    };
    let mut out: Vec<(u32, u32)> = ranges
        .iter()
        .map(|r| {
            let (a, b) = (value(r.start), value(r.end));
            (a.min(b), a.max(b))
        })
        .collect();
    out.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(out.len());
    for (low, high) in out {
        match merged.last_mut() {
            Some(last) if low <= last.1.saturating_add(1) => last.1 = last.1.max(high),
            _ => merged.push((low, high)),
        }
    }
    merged
}

/// Whether sorted, merged ranges hold `value`.
pub fn ranges_contain(ranges: &[(u32, u32)], value: u32) -> bool {
    let at = ranges.partition_point(|&(low, _)| low <= value);
    at > 0 && ranges[at - 1].1 >= value
}

/// Ranges as a sequence set: `1:3,7`.
pub fn ranges_text(ranges: &[(u32, u32)]) -> String {
    ranges
        .iter()
        .map(|&(low, high)| {
            if low == high {
                low.to_string()
            } else {
                format!("{low}:{high}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl View {
    /// The UIDs below UIDNEXT, within `within` (sorted, merged ranges),
    /// that no message of the view has, as ranges: work in proportion to
    /// the ranges and messages, never to the UIDs they span.
    pub fn missing_ranges(&self, within: &[(u32, u32)]) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let top = self.uid_next.saturating_sub(1);
        for &(low, high) in within {
            let high = high.min(top);
            if low > high {
                continue;
            }
            // Counted in 64 bits: a UID of u32::MAX has no successor.
            let mut start = u64::from(low);
            let first = self.messages.partition_point(|m| m.uid.get() < low);
            for message in &self.messages[first..] {
                let uid = u64::from(message.uid.get());
                if uid > u64::from(high) {
                    break;
                }
                if uid > start {
                    out.push((start as u32, (uid - 1) as u32));
                }
                start = uid + 1;
            }
            if start <= u64::from(high) {
                out.push((start as u32, high));
            }
        }
        out
    }
}

/// `(\Seen $Junk)`, with `\Recent` for IMAP4rev1 sessions.
pub fn flag_list(message: &ViewMessage, recent: bool, out: &mut Vec<u8>) {
    out.push(b'(');
    let mut first = true;
    let mut item = |out: &mut Vec<u8>, text: &str| {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(text.as_bytes());
    };
    for flag in message.flags.iter() {
        item(out, flag.imap_name());
    }
    if recent && message.recent {
        item(out, "\\Recent");
    }
    for keyword in &message.keywords {
        item(out, keyword);
    }
    out.push(b')');
}

pub use crate::imap::codec::response::sequence_set_text as uid_set;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::command::SequenceRange;
    use crate::mailbox::Flag;
    use std::num::NonZeroU32;

    fn meta(uid: u32, modseq: u64) -> MessageMeta {
        MessageMeta {
            uid: Uid::new(uid).unwrap(),
            flags: Flags::EMPTY,
            keywords: Keywords::new(),
            internal_date: UnixTime(0),
            size: 10,
            modseq: ModSeq(modseq),
        }
    }

    fn view(uids: &[u32]) -> View {
        let snapshot = Snapshot {
            uid_validity: UidValidity(7),
            uid_next: uids.last().map_or(1, |u| u + 1),
            highest_modseq: ModSeq(10),
            messages: uids.iter().map(|&u| meta(u, 5)).collect(),
        };
        View::new("INBOX".into(), false, snapshot, u32::MAX)
    }

    fn range(a: u32, b: Option<u32>) -> SequenceSet {
        let n = |v: u32| SeqNumber::Value(NonZeroU32::new(v).unwrap());
        SequenceSet::Ranges(vec![SequenceRange {
            start: n(a),
            end: b.map_or(SeqNumber::Largest, n),
        }])
    }

    fn told(view: &mut View, expunges: bool, style: UpdateStyle) -> String {
        let mut out = Vec::new();
        view.tell(expunges, style, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn missing_uids_are_worked_out_as_ranges() {
        let view = view(&[3, 5, 8]);
        assert_eq!(view.missing_ranges(&[(1, 8)]), vec![(1, 2), (4, 4), (6, 7)]);
        assert_eq!(
            view.missing_ranges(&[(4, 4), (6, u32::MAX)]),
            vec![(4, 4), (6, 7)]
        );
        let set = range(9, Some(2));
        let ranges = set_ranges(&set, 8);
        assert_eq!(ranges, vec![(2, 9)]);
        assert!(ranges_contain(&ranges, 2) && ranges_contain(&ranges, 9));
        assert!(!ranges_contain(&ranges, 1) && !ranges_contain(&ranges, 10));
        assert_eq!(ranges_text(&[(1, 2), (4, 4)]), "1:2,4");
    }

    #[test]
    fn sequence_numbers_past_the_end_are_refused_and_uids_skipped() {
        let view = view(&[3, 5, 8]);
        assert_eq!(view.resolve(&range(2, None), false), Ok(vec![1, 2]));
        assert_eq!(
            view.resolve(&range(2, Some(4)), false),
            Err(NoSuchMessage { number: 4 })
        );
        assert_eq!(view.resolve(&range(4, Some(6)), true), Ok(vec![1]));
        // RFC 9051 6.4.8: `559:*` takes in the last message.
        assert_eq!(view.resolve(&range(559, None), true), Ok(vec![2]));
    }

    #[test]
    fn held_expunges_keep_their_numbers_until_told() {
        let mut view = view(&[3, 5, 8]);
        view.apply(
            vec![
                Change::Expunged {
                    uid: Uid::new(5).unwrap(),
                    modseq: ModSeq(11),
                },
                Change::Appended(meta(9, 12)),
            ],
            u32::MAX,
        );
        let style = UpdateStyle::default();
        assert_eq!(told(&mut view, false, style), "* 4 EXISTS\r\n");
        assert_eq!(view.index_of(Uid::new(8).unwrap()), Some(2));
        assert_eq!(told(&mut view, true, style), "* 2 EXPUNGE\r\n");
        assert_eq!(view.exists(), 3);
        assert_eq!(told(&mut view, true, style), "");
    }

    /// Found by the simulation (imap-two-sessions): another session's
    /// expunge lands while this session's STORE runs, at a MODSEQ below
    /// the STORE's own; the changes asked for after the STORE must still
    /// bring it, and the STORE's own change must not be told again.
    #[test]
    fn an_own_store_does_not_skip_changes_made_before_it() {
        let mut view = view(&[3, 5, 8]);
        let own = Change::FlagsChanged {
            uid: Uid::new(8).unwrap(),
            flags: Flags::EMPTY.with(Flag::Seen),
            keywords: Keywords::new(),
            modseq: ModSeq(12),
        };
        view.apply_own(&own);
        assert_eq!(view.highest_modseq, ModSeq(10));
        // What the store answers for "changes since 10".
        view.apply(
            vec![
                Change::Expunged {
                    uid: Uid::new(5).unwrap(),
                    modseq: ModSeq(11),
                },
                own,
            ],
            u32::MAX,
        );
        assert_eq!(view.highest_modseq, ModSeq(12));
        let style = UpdateStyle::default();
        assert_eq!(told(&mut view, true, style), "* 2 EXPUNGE\r\n");
    }

    #[test]
    fn a_message_never_told_of_goes_without_a_word() {
        let mut view = view(&[1, 2]);
        view.apply(
            vec![
                Change::Appended(meta(3, 11)),
                Change::Expunged {
                    uid: Uid::new(3).unwrap(),
                    modseq: ModSeq(12),
                },
                Change::Expunged {
                    uid: Uid::new(2).unwrap(),
                    modseq: ModSeq(13),
                },
            ],
            u32::MAX,
        );
        assert_eq!(told(&mut view, false, UpdateStyle::default()), "");
        assert_eq!(
            told(&mut view, true, UpdateStyle::default()),
            "* 2 EXPUNGE\r\n"
        );
        assert_eq!(view.exists(), 1);
    }

    #[test]
    fn expunges_are_numbered_as_the_client_counts() {
        let mut view = view(&[1, 2, 3, 4, 5]);
        let gone = |uid| Change::Expunged {
            uid: Uid::new(uid).unwrap(),
            modseq: ModSeq(11),
        };
        view.apply(vec![gone(2), gone(3), gone(5)], u32::MAX);
        let text = told(&mut view, true, UpdateStyle::default());
        assert_eq!(text, "* 2 EXPUNGE\r\n* 2 EXPUNGE\r\n* 3 EXPUNGE\r\n");
        view.apply(vec![gone(4)], u32::MAX);
        let qresync = UpdateStyle {
            qresync: true,
            ..UpdateStyle::default()
        };
        assert_eq!(told(&mut view, true, qresync), "* VANISHED 4\r\n");
    }

    #[test]
    fn flag_changes_are_told_once_with_modseq_under_condstore() {
        let mut view = view(&[3, 5]);
        let change = Change::FlagsChanged {
            uid: Uid::new(5).unwrap(),
            flags: Flags::EMPTY.with(Flag::Seen),
            keywords: Keywords::from(["$Junk".to_owned()]),
            modseq: ModSeq(12),
        };
        view.apply(vec![change.clone()], u32::MAX);
        let style = UpdateStyle {
            condstore: true,
            uid: true,
            ..UpdateStyle::default()
        };
        assert_eq!(
            told(&mut view, false, style),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n\
             * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk \\*)] Flags permitted\r\n\
             * 2 FETCH (UID 5 FLAGS (\\Seen $Junk) MODSEQ (12))\r\n"
        );
        // The same change again (an older MODSEQ is never told twice).
        view.apply(vec![change], u32::MAX);
        assert_eq!(told(&mut view, false, style), "");
    }

    #[test]
    fn a_fresh_snapshot_gives_the_difference() {
        let view = view(&[3, 5]);
        let mut changed = meta(3, 20);
        changed.flags = Flags::EMPTY.with(Flag::Flagged);
        let snapshot = Snapshot {
            uid_validity: UidValidity(7),
            uid_next: 10,
            highest_modseq: ModSeq(21),
            messages: vec![changed, meta(9, 21)],
        };
        let changes = view.difference(&snapshot);
        assert_eq!(changes.len(), 3);
        assert!(matches!(changes[0], Change::FlagsChanged { .. }));
        assert!(matches!(changes[1], Change::Expunged { .. }));
        assert!(matches!(changes[2], Change::Appended(_)));
    }
}
