//! One remote-log client's bounded buffer, and the drop-marker
//! accounting.
//!
//! The logging side pushes every matching line; it never waits. When the
//! buffer holds its capacity of lines, a new line is dropped and counted
//! instead, at its place in the stream: the client, once it catches up,
//! gets the lines queued before the drops, then one `Dropped(n)` entry,
//! then the lines that found room later. Consecutive drops make one entry.
//! Markers take no line's place, and there is at most one between two
//! lines, so the buffer never holds more than `capacity` lines and
//! `capacity + 1` markers.

use super::FeedEntry;
use std::collections::VecDeque;

/// A bounded queue of lines with drop counts in their places.
#[derive(Clone, Debug)]
pub struct ClientBuffer<T> {
    entries: VecDeque<FeedEntry<T>>,
    /// Lines (not markers) in `entries`.
    lines: usize,
    capacity: usize,
}

impl<T> ClientBuffer<T> {
    /// A buffer of `capacity` lines (at least one).
    pub fn new(capacity: usize) -> Self {
        ClientBuffer {
            entries: VecDeque::new(),
            lines: 0,
            capacity: capacity.max(1),
        }
    }

    /// Queues `line`, or counts it dropped when the buffer is full; true
    /// if it was queued.
    pub fn push(&mut self, line: T) -> bool {
        if self.lines < self.capacity {
            self.entries.push_back(FeedEntry::Line(line));
            self.lines += 1;
            return true;
        }
        match self.entries.back_mut() {
            Some(FeedEntry::Dropped(count)) => *count = count.saturating_add(1),
            _ => self.entries.push_back(FeedEntry::Dropped(1)),
        }
        false
    }

    /// Takes up to `max` entries, oldest first.
    pub fn take(&mut self, max: usize) -> Vec<FeedEntry<T>> {
        let count = max.min(self.entries.len());
        let taken: Vec<_> = self.entries.drain(..count).collect();
        self.lines -= taken
            .iter()
            .filter(|entry| matches!(entry, FeedEntry::Line(_)))
            .count();
        taken
    }

    /// Lines queued (markers not counted).
    pub fn lines(&self) -> usize {
        self.lines
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries queued, markers included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}
