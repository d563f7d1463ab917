//! SEARCH (RFC 9051 6.4.4) with ESEARCH replies (RFC 4731, and IMAP4rev2's
//! own), SEARCHRES (RFC 5182), CONDSTORE's MODSEQ (RFC 7162 3.1.5), and
//! SORT and THREAD (RFC 5256).
//!
//! Keys on flags, sizes, dates and numbers are decided from the view; a
//! key on headers or text makes the machine read each message, one at a
//! time. SORT and THREAD read every candidate and keep only its header
//! (what they sort and thread on), never whole messages.

use super::machine::ImapServer;
use super::response::{Reply, failure_reply};
use super::state::Pending;
use super::view::uid_set;
use super::{Event, Request, StoreFailure};
use crate::imap::command::{
    SearchKey, SearchProgram, SearchReturn, SortCriterion, ThreadAlgorithm,
};
use crate::imap::message::search::{Candidate, SearchContext, matches, needs_content};
use crate::imap::message::{ParsedMessage, sort, thread};
use crate::imap::value::Value;
use crate::mailbox::{ModSeq, Uid};
use std::io::Write as _;

/// What a search is for.
#[derive(Debug)]
pub enum SearchKind {
    /// `returns`: `None` for a plain SEARCH, as RFC 4731 `RETURN`.
    Search {
        returns: Option<Vec<SearchReturn>>,
    },
    Sort {
        criteria: Vec<SortCriterion>,
    },
    Thread {
        algorithm: ThreadAlgorithm,
    },
}

/// A search in progress.
#[derive(Debug)]
pub struct SearchJob {
    pub tag: String,
    pub uid: bool,
    pub kind: SearchKind,
    pub key: SearchKey,
    /// Every message of the view (not expunged), by UID.
    pub candidates: Vec<Uid>,
    pub next: usize,
    /// The messages found, by UID, ascending.
    pub found: Vec<Uid>,
    /// SORT and THREAD: the header of each message found.
    pub headers: Vec<Vec<u8>>,
    /// The MODSEQ key was used: replies carry the highest MODSEQ found.
    pub modseq: bool,
}

impl ImapServer {
    pub(super) fn handle_search(&mut self, tag: String, uid: bool, search: SearchProgram) {
        let returns = search.returns.clone();
        self.start_search(tag, uid, SearchKind::Search { returns }, search);
    }

    pub(super) fn handle_sort(
        &mut self,
        tag: String,
        uid: bool,
        criteria: Vec<SortCriterion>,
        search: SearchProgram,
    ) {
        self.start_search(tag, uid, SearchKind::Sort { criteria }, search);
    }

    pub(super) fn handle_thread(
        &mut self,
        tag: String,
        uid: bool,
        algorithm: ThreadAlgorithm,
        search: SearchProgram,
    ) {
        self.start_search(tag, uid, SearchKind::Thread { algorithm }, search);
    }

    fn start_search(&mut self, tag: String, uid: bool, kind: SearchKind, search: SearchProgram) {
        if let Some(charset) = &search.charset
            && !charset.eq_ignore_ascii_case("UTF-8")
            && !charset.eq_ignore_ascii_case("US-ASCII")
        {
            return self.reply(
                &tag,
                Reply::no(Some("BADCHARSET (UTF-8 US-ASCII)"), "Unsupported charset"),
            );
        }
        let modseq = uses_modseq(&search.key);
        if modseq {
            self.enable_condstore();
        }
        let Some(view) = self.view() else {
            return;
        };
        let candidates = view
            .messages
            .iter()
            .filter(|m| !m.expunged)
            .map(|m| m.uid)
            .collect();
        let job = SearchJob {
            tag,
            uid,
            kind,
            key: search.key,
            candidates,
            next: 0,
            found: Vec::new(),
            headers: Vec::new(),
            modseq,
        };
        self.search_next(job);
    }

    /// Decides each candidate it can without content, and asks for the
    /// next message when content is needed.
    fn search_next(&mut self, mut job: SearchJob) {
        let content = needs_content(&job.key) || !matches!(job.kind, SearchKind::Search { .. });
        while job.next < job.candidates.len() {
            let uid = job.candidates[job.next];
            job.next += 1;
            if content {
                let Some(view) = self.view() else {
                    return;
                };
                let folder = view.folder.clone();
                return self.request(
                    Pending::Search(Box::new(job)),
                    Request::Read { folder, uid },
                );
            }
            if self.candidate_matches(&job, uid, None) {
                job.found.push(uid);
            }
        }
        self.search_done(job);
    }

    pub(super) fn search_message(
        &mut self,
        mut job: SearchJob,
        result: Result<Vec<u8>, StoreFailure>,
    ) {
        let uid = job.candidates[job.next - 1];
        match result {
            Ok(bytes) => {
                let parsed = ParsedMessage::parse(&bytes);
                if self.candidate_matches(&job, uid, Some(&parsed)) {
                    job.found.push(uid);
                    if !matches!(job.kind, SearchKind::Search { .. }) {
                        job.headers.push(header_of(&bytes).to_vec());
                    }
                }
            }
            // Gone since the search began: it is not found.
            Err(StoreFailure::MessageGone) => {}
            Err(failure) => {
                self.event(Event::StoreFailed { command: "SEARCH" });
                let expunges = job.uid;
                return self.finish(job.tag, failure_reply(&failure, "SEARCH"), expunges);
            }
        }
        self.search_next(job);
    }

    fn candidate_matches(
        &self,
        job: &SearchJob,
        uid: Uid,
        parsed: Option<&ParsedMessage<'_>>,
    ) -> bool {
        let Some(view) = self.view() else {
            return false;
        };
        let Some(index) = view.index_of(uid) else {
            return false;
        };
        let message = &view.messages[index];
        let candidate = Candidate {
            seq: index as u32 + 1,
            uid,
            flags: message.flags,
            keywords: &message.keywords,
            recent: message.recent,
            internal_date: message.internal_date,
            size: message.size,
            modseq: message.modseq,
            message: parsed,
        };
        let context = SearchContext {
            now: self.wall_now(),
            largest_seq: view.exists() as u32,
            largest_uid: view.messages.last().map_or(0, |m| m.uid.get()),
            saved: &view.saved,
        };
        matches(&job.key, &candidate, &context)
    }

    fn search_done(&mut self, job: SearchJob) {
        let Some(view) = self.view() else {
            return;
        };
        let number = |uid: Uid| -> u32 {
            if job.uid {
                uid.get()
            } else {
                view.index_of(uid).map_or(0, |i| i as u32 + 1)
            }
        };
        // In UID order, as `job.found`.
        let modseqs: Vec<ModSeq> = job
            .found
            .iter()
            .map(|&u| {
                view.index_of(u)
                    .map_or(ModSeq(0), |i| view.messages[i].modseq)
            })
            .collect();
        let highest = modseqs.iter().copied().max().unwrap_or(ModSeq(0));
        let mut out = Vec::new();
        let mut saved = None;
        match &job.kind {
            SearchKind::Search { returns } => {
                let numbers: Vec<u32> = job.found.iter().map(|&u| number(u)).collect();
                let esearch = returns.is_some() || self.enabled.rev2;
                if !esearch {
                    out.extend_from_slice(b"* SEARCH");
                    for n in &numbers {
                        let _ = write!(out, " {n}");
                    }
                    if job.modseq && !numbers.is_empty() {
                        let _ = write!(out, " (MODSEQ {highest})");
                    }
                    out.extend_from_slice(b"\r\n");
                } else {
                    let options = returns.clone().unwrap_or_default();
                    saved = esearch_reply(&job, &options, &numbers, &modseqs, &mut out);
                }
            }
            SearchKind::Sort { criteria } => {
                let parsed: Vec<ParsedMessage<'_>> = job
                    .headers
                    .iter()
                    .map(|h| ParsedMessage::parse(h))
                    .collect();
                let inputs: Vec<sort::SortInput<'_>> = job
                    .found
                    .iter()
                    .zip(&parsed)
                    .map(|(&uid, message)| {
                        let meta = view.index_of(uid).map(|i| &view.messages[i]);
                        sort::SortInput {
                            seq: view.index_of(uid).map_or(0, |i| i as u32 + 1),
                            uid,
                            internal_date: meta
                                .map_or(crate::time::UnixTime(0), |m| m.internal_date),
                            size: meta.map_or(0, |m| m.size),
                            message,
                        }
                    })
                    .collect();
                out.extend_from_slice(b"* SORT");
                for i in sort::sort(criteria, &inputs) {
                    let _ = write!(out, " {}", number(job.found[i]));
                }
                out.extend_from_slice(b"\r\n");
            }
            SearchKind::Thread { algorithm } => {
                let parsed: Vec<ParsedMessage<'_>> = job
                    .headers
                    .iter()
                    .map(|h| ParsedMessage::parse(h))
                    .collect();
                let inputs: Vec<thread::ThreadInput<'_>> = job
                    .found
                    .iter()
                    .zip(&parsed)
                    .map(|(&uid, message)| {
                        let index = view.index_of(uid);
                        thread::ThreadInput {
                            seq: index.map_or(0, |i| i as u32 + 1),
                            uid,
                            internal_date: index.map_or(crate::time::UnixTime(0), |i| {
                                view.messages[i].internal_date
                            }),
                            message,
                        }
                    })
                    .collect();
                let threads = thread::thread(*algorithm, &inputs, job.uid);
                out.extend_from_slice(b"* THREAD ");
                thread::encode(&threads, &mut out);
                out.extend_from_slice(b"\r\n");
            }
        }
        if let Some(saved) = saved
            && let Some(view) = self.view_mut()
        {
            view.saved = saved;
        }
        if !out.is_empty() {
            self.send(out);
        }
        let text = match job.kind {
            SearchKind::Search { .. } => "Search completed",
            SearchKind::Sort { .. } => "Sort completed",
            SearchKind::Thread { .. } => "Thread completed",
        };
        // RFC 9051 7.4.1: no EXPUNGE at the end of SEARCH; UID SEARCH may.
        self.finish(job.tag, Reply::ok(text), job.uid);
    }
}

/// `* ESEARCH (TAG "a1") UID MIN 1 MAX 9 ALL 1:3,9 COUNT 4` (RFC 4731 3.1);
/// the UIDs SAVE keeps, if asked (RFC 5182 2.4: with MIN or MAX only
/// those).
fn esearch_reply(
    job: &SearchJob,
    options: &[SearchReturn],
    numbers: &[u32],
    modseqs: &[ModSeq],
    out: &mut Vec<u8>,
) -> Option<Vec<Uid>> {
    let has = |option: SearchReturn| options.contains(&option);
    let only_save = options.iter().all(|&o| o == SearchReturn::Save) && !options.is_empty();
    let all = options.is_empty() || has(SearchReturn::All);
    let saved = has(SearchReturn::Save).then(|| {
        if has(SearchReturn::Min) || has(SearchReturn::Max) {
            let mut kept = Vec::new();
            if has(SearchReturn::Min) {
                kept.extend(job.found.first().copied());
            }
            if has(SearchReturn::Max) {
                kept.extend(job.found.last().copied());
            }
            kept.dedup();
            kept
        } else {
            job.found.clone()
        }
    });
    if only_save {
        return saved;
    }
    out.extend_from_slice(b"* ESEARCH (TAG ");
    Value::string(job.tag.as_str()).encode(out, false);
    out.push(b')');
    if job.uid {
        out.extend_from_slice(b" UID");
    }
    if has(SearchReturn::Min)
        && let Some(min) = numbers.iter().min()
    {
        let _ = write!(out, " MIN {min}");
    }
    if has(SearchReturn::Max)
        && let Some(max) = numbers.iter().max()
    {
        let _ = write!(out, " MAX {max}");
    }
    if all && !numbers.is_empty() {
        let mut sorted = numbers.to_vec();
        sorted.sort_unstable();
        let _ = write!(out, " ALL {}", uid_set(&sorted));
    }
    if has(SearchReturn::Count) {
        let _ = write!(out, " COUNT {}", numbers.len());
    }
    if job.modseq && !numbers.is_empty() {
        // RFC 7162 3.1.5: the highest MODSEQ of the messages the answer
        // reports: with MIN and/or MAX alone, those messages only.
        let highest = if all || has(SearchReturn::Count) {
            modseqs.iter().copied().max()
        } else {
            let mut reported = Vec::new();
            if has(SearchReturn::Min) {
                reported.extend(modseqs.first().copied());
            }
            if has(SearchReturn::Max) {
                reported.extend(modseqs.last().copied());
            }
            reported.into_iter().max()
        };
        if let Some(highest) = highest {
            let _ = write!(out, " MODSEQ {highest}");
        }
    }
    out.extend_from_slice(b"\r\n");
    saved
}

/// The header of a message, with the blank line after it.
fn header_of(bytes: &[u8]) -> &[u8] {
    match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => &bytes[..end + 4],
        None => bytes,
    }
}

/// RFC 7162 3.1.5: whether the MODSEQ key is used anywhere.
fn uses_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq(_) => true,
        SearchKey::And(keys) => keys.iter().any(uses_modseq),
        SearchKey::Or(a, b) => uses_modseq(a) || uses_modseq(b),
        SearchKey::Not(key) => uses_modseq(key),
        _ => false,
    }
}
