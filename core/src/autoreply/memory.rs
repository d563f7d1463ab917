//! The vacation memory: when each sender was last sent a reply, so that
//! a sender hears from the autoresponder at most once per N days (RFC
//! 3834 2, "once per sender per period").
//!
//! One text file per mailbox, one line per sender: `SECONDS ADDRESS`.
//! Bounded: entries older than N days are dropped at every write, and
//! past [`VACATION_MEMORY_ENTRIES_MAX`] the oldest go. A line that does
//! not read is skipped (the worst it costs is one more reply), so a
//! damaged file never stops delivery.

use crate::limits::{VACATION_MEMORY_BYTES_MAX, VACATION_MEMORY_ENTRIES_MAX};
use crate::time::UnixTime;
use std::collections::BTreeMap;

/// Senders replied to, by address (lower-case).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyMemory {
    replied: BTreeMap<String, UnixTime>,
}

impl ReplyMemory {
    /// Reads the file's text (at most [`VACATION_MEMORY_BYTES_MAX`]
    /// octets of it; lines that do not read are skipped).
    pub fn parse(text: &str) -> Self {
        let mut end = text.len().min(VACATION_MEMORY_BYTES_MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut memory = ReplyMemory::default();
        for line in text[..end].lines() {
            let Some((seconds, address)) = line.split_once(' ') else {
                continue;
            };
            let (Ok(seconds), address) = (seconds.parse::<i64>(), address.trim()) else {
                continue;
            };
            if address.is_empty() || address.contains(char::is_whitespace) {
                continue;
            }
            let at = UnixTime(seconds);
            let entry = memory.replied.entry(address.to_lowercase()).or_insert(at);
            *entry = (*entry).max(at);
        }
        if memory.replied.len() > VACATION_MEMORY_ENTRIES_MAX {
            let mut times: Vec<UnixTime> = memory.replied.values().copied().collect();
            times.sort_unstable_by(|a, b| b.cmp(a));
            let newest_kept = times[VACATION_MEMORY_ENTRIES_MAX - 1];
            memory.replied.retain(|_, at| *at >= newest_kept);
            while memory.replied.len() > VACATION_MEMORY_ENTRIES_MAX {
                memory.drop_oldest();
            }
        }
        memory
    }

    /// The file's text, one line per sender, in order of address.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (address, at) in &self.replied {
            text.push_str(&format!("{} {address}\n", at.0));
        }
        text
    }

    /// When `sender` (lower-case) was last replied to.
    pub fn last_reply(&self, sender: &str) -> Option<UnixTime> {
        self.replied.get(sender).copied()
    }

    /// Records a reply to `sender` at `now`, dropping entries older than
    /// `days` days (they no longer hold anyone back) and then, past
    /// [`VACATION_MEMORY_ENTRIES_MAX`], the oldest.
    pub fn remember(&mut self, sender: &str, now: UnixTime, days: u32) {
        let horizon = now.0 - i64::from(days) * 86_400;
        self.replied.retain(|_, at| at.0 > horizon);
        self.replied.insert(sender.to_lowercase(), now);
        while self.replied.len() > VACATION_MEMORY_ENTRIES_MAX {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        let oldest = self
            .replied
            .iter()
            .min_by_key(|(address, at)| (**at, (*address).clone()))
            .map(|(address, _)| address.clone());
        if let Some(address) = oldest {
            self.replied.remove(&address);
        }
    }

    pub fn len(&self) -> usize {
        self.replied.len()
    }

    pub fn is_empty(&self) -> bool {
        self.replied.is_empty()
    }
}
