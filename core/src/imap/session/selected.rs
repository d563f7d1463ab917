//! The selected state's commands that change the folder (RFC 9051 6.4):
//! CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID EXPUNGE (RFC 4315), COPY
//! and MOVE (RFC 6851) with COPYUID, and STORE (with UNCHANGEDSINCE,
//! RFC 7162 3.1.3).

use super::machine::ImapServer;
use super::names::{read_only_refusal, shared_refusal};
use super::response::{Reply, failure_reply, stored_flags};
use super::state::{Mode, Pending};
use super::view::{flag_list, uid_set};
use super::{CopyResult, Event, MoveResult, Request, StoreFailure};
use crate::imap::command::{FlagName, SequenceSet, StoreAction};
use crate::mailbox::{Change, Flag, Uid};
use std::io::Write as _;

/// A STORE waiting for the store's answer.
#[derive(Debug)]
pub struct StoreJob {
    pub tag: String,
    pub uid: bool,
    pub silent: bool,
    /// The messages to tell of, by UID.
    pub targets: Vec<Uid>,
    /// RFC 7162 3.1.3: messages left alone because they changed since
    /// UNCHANGEDSINCE (numbers as the command gave them).
    pub modified: Vec<u32>,
}

impl ImapServer {
    /// CLOSE (RFC 9051 6.4.1): `\Deleted` messages are removed without a
    /// word, unless the folder is read-only.
    pub(super) fn handle_close(&mut self, tag: String) {
        let Some(view) = self.view() else {
            return;
        };
        let deleted: Vec<Uid> = view
            .messages
            .iter()
            .filter(|m| m.flags.contains(Flag::Deleted) && !m.expunged)
            .map(|m| m.uid)
            .collect();
        if view.read_only || deleted.is_empty() {
            self.mode = Mode::Authenticated;
            return self.reply(&tag, Reply::ok("Close completed"));
        }
        let folder = view.folder.clone();
        self.request(
            Pending::Expunge {
                tag,
                close: true,
                uid: false,
            },
            Request::Expunge {
                folder,
                uids: deleted,
            },
        );
    }

    pub(super) fn handle_unselect(&mut self, tag: &str) {
        self.mode = Mode::Authenticated;
        self.reply(tag, Reply::ok("Unselect completed"));
    }

    /// EXPUNGE, and UID EXPUNGE limited to a set (RFC 4315 2.1).
    pub(super) fn handle_expunge(&mut self, tag: String, set: Option<SequenceSet>) {
        let Some(view) = self.view() else {
            return;
        };
        if view.read_only {
            return self.reply(&tag, read_only_refusal(&view.folder));
        }
        let within = match &set {
            Some(set) => match view.resolve(set, true) {
                Ok(found) => Some(found),
                Err(_) => return self.bad(&tag, "Invalid UID set"),
            },
            None => None,
        };
        let deleted: Vec<Uid> = view
            .messages
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                m.flags.contains(Flag::Deleted)
                    && !m.expunged
                    && within.as_ref().is_none_or(|w| w.binary_search(i).is_ok())
            })
            .map(|(_, m)| m.uid)
            .collect();
        if deleted.is_empty() {
            return self.finish(tag, Reply::ok("Expunge completed"), true);
        }
        let folder = view.folder.clone();
        self.request(
            Pending::Expunge {
                tag,
                close: false,
                uid: set.is_some(),
            },
            Request::Expunge {
                folder,
                uids: deleted,
            },
        );
    }

    pub(super) fn expunged(
        &mut self,
        tag: String,
        close: bool,
        _uid: bool,
        result: Result<Vec<Uid>, StoreFailure>,
    ) {
        let removed = match result {
            Ok(removed) => removed,
            Err(failure) => {
                self.event(Event::StoreFailed { command: "EXPUNGE" });
                return self.finish(tag, failure_reply(&failure, "EXPUNGE"), true);
            }
        };
        let Some(view) = self.view_mut() else {
            return;
        };
        let folder = view.folder.clone();
        let modseq = view.highest_modseq;
        view.apply(
            removed
                .iter()
                .map(|&uid| Change::Expunged { uid, modseq })
                .collect(),
            u32::MAX,
        );
        self.event(Event::Expunged {
            folder,
            messages: removed.len(),
        });
        if close {
            self.mode = Mode::Authenticated;
            return self.reply(&tag, Reply::ok("Close completed"));
        }
        self.finish(tag, Reply::ok("Expunge completed"), true);
    }

    /// COPY and MOVE (RFC 9051 6.4.7, RFC 6851).
    pub(super) fn handle_copy(
        &mut self,
        tag: String,
        uid: bool,
        set: &SequenceSet,
        wire: &str,
        moved: bool,
    ) {
        let to = match self.folder_name(wire) {
            Ok(to) => to,
            Err(reply) => return self.reply(&tag, reply),
        };
        if crate::imap::shared::is_shared(&to) {
            return self.reply(&tag, shared_refusal());
        }
        let Some(view) = self.view() else {
            return;
        };
        if moved && view.read_only {
            return self.reply(&tag, read_only_refusal(&view.folder));
        }
        let found = match view.resolve(set, uid) {
            Ok(found) => found,
            Err(_) => return self.bad(&tag, "Invalid message sequence set"),
        };
        let uids: Vec<Uid> = found
            .iter()
            .map(|&i| &view.messages[i])
            .filter(|m| !m.expunged)
            .map(|m| m.uid)
            .collect();
        let command = if moved { "Move" } else { "Copy" };
        if uids.is_empty() {
            let reply = if found.is_empty() {
                Reply::ok(format!("{command} completed: no messages"))
            } else {
                Reply::no(
                    Some("EXPUNGEISSUED"),
                    "Some of the requested messages no longer exist",
                )
            };
            return self.finish(tag, reply, true);
        }
        let from = view.folder.clone();
        // RFC 9208 5: a COPY may not pass the quota; a MOVE between the
        // user's own folders adds nothing to the usage.
        if !moved && self.has_quota() {
            let octets = uids
                .iter()
                .filter_map(|&u| view.index_of(u))
                .map(|i| view.messages[i].size)
                .sum();
            return self.request(
                Pending::CopyUsage {
                    tag,
                    from,
                    uids,
                    to,
                    uid,
                    octets,
                },
                Request::Usage,
            );
        }
        let request = if moved {
            Request::Move {
                from,
                uids,
                to: to.clone(),
            }
        } else {
            Request::Copy {
                from,
                uids,
                to: to.clone(),
            }
        };
        self.request(
            Pending::Copy {
                tag,
                to,
                moved,
                uid,
            },
            request,
        );
    }

    /// The usage is in: the COPY goes ahead, or is refused whole with
    /// `NO [OVERQUOTA]` if it would pass a limit.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn copy_usage(
        &mut self,
        tag: String,
        from: String,
        uids: Vec<Uid>,
        to: String,
        uid: bool,
        octets: u64,
        result: Result<super::Usage, StoreFailure>,
    ) {
        let usage = match result {
            Ok(usage) => usage,
            Err(failure) => return self.finish(tag, failure_reply(&failure, "COPY"), true),
        };
        if self.over_quota(&usage, octets, uids.len() as u64) {
            return self.finish(tag, Reply::no(Some("OVERQUOTA"), "Quota exceeded"), true);
        }
        self.request(
            Pending::Copy {
                tag,
                to: to.clone(),
                moved: false,
                uid,
            },
            Request::Copy { from, uids, to },
        );
    }

    pub(super) fn copied(
        &mut self,
        tag: String,
        to: &str,
        _uid: bool,
        result: Result<CopyResult, StoreFailure>,
    ) {
        match result {
            Ok(copied) => {
                self.event(Event::Copied {
                    to: to.to_owned(),
                    messages: copied.pairs.len(),
                    moved: false,
                });
                let reply = match copyuid(&copied) {
                    Some(code) => Reply::ok_code(code, "Copy completed"),
                    None => Reply::ok("Copy completed"),
                };
                self.finish(tag, reply, true);
            }
            Err(failure) => self.copy_failed(tag, failure, "COPY"),
        }
    }

    /// RFC 6851 4.3: COPYUID in an untagged OK, then the expunges, then
    /// the tagged OK.
    pub(super) fn moved(
        &mut self,
        tag: String,
        to: &str,
        _uid: bool,
        result: Result<MoveResult, StoreFailure>,
    ) {
        let MoveResult { copied, expunged } = match result {
            Ok(moved) => moved,
            Err(failure) => return self.copy_failed(tag, failure, "MOVE"),
        };
        self.event(Event::Copied {
            to: to.to_owned(),
            messages: copied.pairs.len(),
            moved: true,
        });
        if let Some(code) = copyuid(&copied) {
            self.untagged(&format!("OK [{code}] Moved"));
        }
        if let Some(view) = self.view_mut() {
            let modseq = view.highest_modseq;
            view.apply(
                expunged
                    .iter()
                    .map(|&uid| Change::Expunged { uid, modseq })
                    .collect(),
                u32::MAX,
            );
        }
        self.finish(tag, Reply::ok("Move completed"), true);
    }

    fn copy_failed(&mut self, tag: String, failure: StoreFailure, command: &'static str) {
        if failure == StoreFailure::Failed {
            self.event(Event::StoreFailed { command });
        }
        self.finish(tag, failure_reply(&failure, command), true);
    }

    /// STORE (RFC 9051 6.4.6): the new flags of each message are told
    /// unless `.SILENT`; under CONDSTORE with their MODSEQ, and messages
    /// changed since UNCHANGEDSINCE are left alone and named in MODIFIED.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_store(
        &mut self,
        tag: String,
        uid: bool,
        set: &SequenceSet,
        unchanged_since: Option<u64>,
        action: StoreAction,
        silent: bool,
        names: &[FlagName],
    ) {
        if unchanged_since.is_some() {
            self.enable_condstore();
        }
        let Some(view) = self.view() else {
            return;
        };
        if view.read_only {
            return self.reply(&tag, read_only_refusal(&view.folder));
        }
        let (flags, keywords) = match stored_flags(names) {
            Ok(split) => split,
            Err(text) => return self.bad(&tag, &text),
        };
        let found = match view.resolve(set, uid) {
            Ok(found) => found,
            Err(_) => return self.bad(&tag, "Invalid message sequence set"),
        };
        let mut targets = Vec::new();
        let mut modified = Vec::new();
        for &i in &found {
            let message = &view.messages[i];
            if message.expunged {
                continue;
            }
            if unchanged_since.is_some_and(|since| message.modseq.0 > since) {
                modified.push(if uid { message.uid.get() } else { i as u32 + 1 });
                continue;
            }
            targets.push(message.uid);
        }
        let job = StoreJob {
            tag,
            uid,
            silent,
            targets: targets.clone(),
            modified,
        };
        if targets.is_empty() {
            return self.store_done(job, &[]);
        }
        let request = Request::StoreFlags {
            folder: view.folder.clone(),
            uids: targets,
            action,
            flags,
            keywords,
        };
        self.request(Pending::Store(Box::new(job)), request);
    }

    pub(super) fn flags_stored(
        &mut self,
        job: StoreJob,
        result: Result<Vec<Change>, StoreFailure>,
    ) {
        match result {
            Ok(changes) => self.store_done(job, &changes),
            Err(failure) => {
                if failure == StoreFailure::Failed {
                    self.event(Event::StoreFailed { command: "STORE" });
                }
                let expunges = job.uid;
                self.finish(job.tag, failure_reply(&failure, "STORE"), expunges);
            }
        }
    }

    /// Tells the new flags and ends the STORE. EXPUNGE is not told at its
    /// end (RFC 9051 7.4.1), VANISHED and EXPUNGE may be after UID STORE.
    fn store_done(&mut self, job: StoreJob, changes: &[Change]) {
        let style = self.update_style();
        let Some(view) = self.view_mut() else {
            return;
        };
        for change in changes {
            view.apply_own(change);
        }
        let changed: Vec<Uid> = changes.iter().map(Change::uid).collect();
        let mut out = Vec::new();
        view.announce_keywords(&mut out);
        for uid in &job.targets {
            let Some(i) = view.index_of(*uid) else {
                continue;
            };
            let message = &view.messages[i];
            let was_changed = changed.contains(uid);
            if job.silent && !(style.condstore && was_changed) {
                continue;
            }
            let mut items: Vec<Vec<u8>> = Vec::new();
            if !job.silent {
                let mut flags = b"FLAGS ".to_vec();
                flag_list(message, style.recent, &mut flags);
                items.push(flags);
            }
            if job.uid || style.qresync {
                items.push(format!("UID {}", message.uid).into_bytes());
            }
            if style.condstore {
                items.push(format!("MODSEQ ({})", message.modseq).into_bytes());
            }
            let _ = write!(out, "* {} FETCH (", i + 1);
            out.extend_from_slice(&items.join(&b' '));
            out.extend_from_slice(b")\r\n");
        }
        if !out.is_empty() {
            self.send(out);
        }
        let reply = if job.modified.is_empty() {
            Reply::ok("Store completed")
        } else {
            let mut modified = job.modified.clone();
            modified.sort_unstable();
            Reply::ok_code(
                format!("MODIFIED {}", uid_set(&modified)),
                "Conditional STORE failed",
            )
        };
        self.finish(job.tag, reply, job.uid);
    }
}

/// RFC 4315 3: `COPYUID uidvalidity source-uids new-uids`, or none when
/// nothing was copied.
fn copyuid(copied: &CopyResult) -> Option<String> {
    if copied.pairs.is_empty() {
        return None;
    }
    let from: Vec<u32> = copied.pairs.iter().map(|(from, _)| from.get()).collect();
    let to: Vec<u32> = copied.pairs.iter().map(|(_, to)| to.get()).collect();
    Some(format!(
        "COPYUID {} {} {}",
        copied.uid_validity,
        uid_set(&from),
        uid_set(&to)
    ))
}
