//! The authenticated state's folder commands (RFC 9051 6.3): SELECT and
//! EXAMINE (with CONDSTORE and QRESYNC, RFC 7162), CREATE (with USE,
//! RFC 6154), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, APPEND (with
//! MULTIAPPEND, RFC 3502) and the quota commands (RFC 9208). LIST, LSUB,
//! STATUS and NAMESPACE are in [`super::list`].

use super::machine::ImapServer;
use super::names::shared_refusal;
use super::response::{Reply, failure_reply, flags_line, stored_flags, unix_time};
use super::state::{Mode, Pending, RenameInboxStep};
use super::view::{View, flag_list, ranges_contain, ranges_text, set_ranges, uid_set};
use super::{
    ChangeSet, Event, FolderStatus, Input, MoveResult, NewMessage, Opened, Request, SpecialUse,
};
use super::{StoreFailure, Usage};
use crate::imap::command::{AppendMessage, QresyncParams, SelectParams};
use crate::imap::shared::is_shared;
use crate::mailbox::{Change, Uid};
use std::fmt::Write as _;
use std::io::Write as _;

impl ImapServer {
    /// SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3). A SELECT that fails
    /// leaves the session authenticated, with no folder selected.
    pub(super) fn handle_select(
        &mut self,
        tag: String,
        wire: &str,
        params: SelectParams,
        read_only: bool,
    ) {
        if params.qresync.is_some() && !self.enabled.qresync {
            return self.bad(&tag, "QRESYNC is not enabled (ENABLE QRESYNC first)");
        }
        let folder = match self.folder_name(wire) {
            Ok(folder) => folder,
            Err(reply) => return self.reply(&tag, reply),
        };
        // A list archive is only ever read (SELECT is EXAMINE there).
        let read_only = read_only || is_shared(&folder);
        if matches!(self.mode, Mode::Selected(_)) {
            self.mode = Mode::Authenticated;
            if self.enabled.qresync || self.enabled.rev2 {
                // RFC 9051 7.1 and RFC 7162 3.2.11.
                self.untagged("OK [CLOSED] Previous mailbox closed");
            }
        }
        if params.condstore {
            self.enabled.condstore = true;
        }
        let request = Request::Open {
            folder: folder.clone(),
            read_only,
        };
        self.request(
            Pending::Open {
                tag,
                folder,
                read_only,
                condstore: params.condstore,
                qresync: params.qresync,
            },
            request,
        );
    }

    pub(super) fn opened(
        &mut self,
        tag: String,
        folder: String,
        read_only: bool,
        condstore: bool,
        qresync: Option<QresyncParams>,
        result: Result<Opened, StoreFailure>,
    ) {
        let opened = match result {
            Ok(opened) => opened,
            Err(failure) => return self.reply(&tag, failure_reply(&failure, "SELECT")),
        };
        let view = View::new(folder, read_only, opened.snapshot, opened.recent_from);
        self.event(Event::Selected {
            folder: view.folder.clone(),
            read_only,
            messages: view.exists(),
        });
        let mut out = String::new();
        let keywords = view.told_keywords.clone();
        let _ = write!(out, "* FLAGS ({})\r\n", flags_line(&keywords, false));
        if read_only {
            out.push_str("* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
        } else {
            let _ = write!(
                out,
                "* OK [PERMANENTFLAGS ({})] Flags permitted\r\n",
                flags_line(&keywords, true)
            );
        }
        let _ = write!(out, "* {} EXISTS\r\n", view.exists());
        if !self.enabled.rev2 {
            let _ = write!(out, "* {} RECENT\r\n", view.recent());
            if let Some(first) = view.first_unseen() {
                let _ = write!(out, "* OK [UNSEEN {first}] First unseen\r\n");
            }
        }
        let _ = write!(
            out,
            "* OK [UIDVALIDITY {}] UIDs valid\r\n",
            view.uid_validity
        );
        let _ = write!(
            out,
            "* OK [UIDNEXT {}] Predicted next UID\r\n",
            view.uid_next
        );
        if self.enabled.condstore || condstore {
            let _ = write!(
                out,
                "* OK [HIGHESTMODSEQ {}] Highest\r\n",
                view.highest_modseq
            );
        }
        self.send(out.into_bytes());
        if self.enabled.rev2 {
            // RFC 9051 6.3.2: the mailbox's name as LIST would give it.
            let mut line = format!(
                "* LIST () \"{}\" ",
                crate::imap::shared::separator(&view.folder)
            )
            .into_bytes();
            self.wire_name(&view.folder).encode(&mut line, true);
            line.extend_from_slice(b"\r\n");
            self.send(line);
        }
        let code = if read_only { "READ-ONLY" } else { "READ-WRITE" };
        let reply = Reply::ok_code(
            code,
            format!("{} completed", if read_only { "Examine" } else { "Select" }),
        );
        let request = qresync.as_ref().and_then(|params| {
            (params.uid_validity == view.uid_validity.0).then(|| Request::Changes {
                folder: view.folder.clone(),
                since: crate::mailbox::ModSeq(params.modseq),
                read_only,
            })
        });
        self.mode = Mode::Selected(Box::new(view));
        match (qresync, request) {
            (Some(params), Some(request)) => {
                self.request(Pending::Qresync { tag, params, reply }, request)
            }
            _ => self.reply(&tag, reply),
        }
    }

    /// RFC 7162 3.2.5.2: what the client missed since its MODSEQ: the UIDs
    /// expunged (`VANISHED (EARLIER)`) and the messages changed.
    pub(super) fn qresync_changes(
        &mut self,
        tag: String,
        params: QresyncParams,
        reply: Reply,
        result: Result<ChangeSet, StoreFailure>,
    ) {
        let style = self.update_style();
        let Some(view) = self.view() else {
            return self.reply(&tag, reply);
        };
        let known: Vec<(u32, u32)> = match &params.known_uids {
            Some(set) => set_ranges(set, u32::MAX),
            None => vec![(1, u32::MAX)],
        };
        let vanished: Vec<(u32, u32)> = match result {
            Ok(ChangeSet {
                changes: Some(changes),
                ..
            }) => {
                let mut gone: Vec<u32> = changes
                    .iter()
                    .filter_map(|change| match change {
                        Change::Expunged { uid, .. } if view.index_of(*uid).is_none() => {
                            Some(uid.get())
                        }
                        _ => None,
                    })
                    .filter(|&uid| ranges_contain(&known, uid))
                    .collect();
                gone.sort_unstable();
                gone.dedup();
                gone.into_iter().map(|uid| (uid, uid)).collect()
            }
            // The store no longer knows: every UID the client may know of
            // that is not here (RFC 7162 3.2.5.2 allows this).
            _ => view.missing_ranges(&known),
        };
        let mut out = Vec::new();
        if !vanished.is_empty() {
            let text = ranges_text(&set_ranges_of(&vanished));
            let _ = write!(out, "* VANISHED (EARLIER) {text}\r\n");
        }
        for (i, message) in view.messages.iter().enumerate() {
            if message.modseq.0 > params.modseq {
                let _ = write!(out, "* {} FETCH (UID {} FLAGS ", i + 1, message.uid);
                flag_list(message, style.recent, &mut out);
                let _ = write!(out, " MODSEQ ({}))\r\n", message.modseq);
            }
        }
        self.send(out);
        self.reply(&tag, reply);
    }

    /// CREATE (RFC 9051 6.3.4) with RFC 6154 USE. A trailing `.` only
    /// says the client means to put folders below it.
    pub(super) fn handle_create(&mut self, tag: String, wire: &str, uses: &[String]) {
        let folder = match self.folder_name(wire) {
            Ok(folder) => folder.trim_end_matches('.').to_owned(),
            Err(reply) => return self.reply(&tag, reply),
        };
        if is_shared(&folder) {
            return self.reply(&tag, shared_refusal());
        }
        if folder.is_empty() || folder.contains(['*', '%']) {
            return self.reply(&tag, Reply::no(Some("CANNOT"), "Invalid mailbox name"));
        }
        if folder == "INBOX" {
            return self.reply(
                &tag,
                Reply::no(Some("ALREADYEXISTS"), "Mailbox already exists"),
            );
        }
        let mut special_use = None;
        for attribute in uses {
            match SpecialUse::from_attribute(attribute) {
                Some(use_) if special_use.is_none() => special_use = Some(use_),
                Some(_) => {
                    return self.reply(
                        &tag,
                        Reply::no(Some("USEATTR"), "One special use per mailbox"),
                    );
                }
                None => {
                    return self.reply(
                        &tag,
                        Reply::no(Some("USEATTR"), format!("Unknown special use {attribute}")),
                    );
                }
            }
        }
        // RFC 9051 6.3.4: superior names are made as needed; that they
        // exist already is no error.
        let mut levels: Vec<String> = folder
            .match_indices('.')
            .map(|(at, _)| folder[..at].to_owned())
            .filter(|parent| parent != "INBOX")
            .collect();
        levels.reverse();
        self.create_next(tag, folder, special_use, levels);
    }

    /// Makes the next missing level of a CREATE, the folder itself last.
    fn create_next(
        &mut self,
        tag: String,
        folder: String,
        special_use: Option<SpecialUse>,
        mut parents: Vec<String>,
    ) {
        let (request, last) = match parents.pop() {
            Some(parent) => (
                Request::CreateFolder {
                    name: parent,
                    special_use: None,
                },
                false,
            ),
            None => (
                Request::CreateFolder {
                    name: folder.clone(),
                    special_use,
                },
                true,
            ),
        };
        self.request(
            Pending::Create {
                tag,
                folder,
                special_use,
                parents,
                last,
            },
            request,
        );
    }

    pub(super) fn created(
        &mut self,
        tag: String,
        folder: String,
        special_use: Option<SpecialUse>,
        parents: Vec<String>,
        last: bool,
        result: Result<(), StoreFailure>,
    ) {
        match result {
            Err(StoreFailure::AlreadyExists) if !last => {}
            Err(failure) => return self.done(tag, "CREATE", folder, Err(failure)),
            Ok(()) if last => return self.done(tag, "CREATE", folder, Ok(())),
            Ok(()) => {}
        }
        self.create_next(tag, folder, special_use, parents)
    }

    /// DELETE (RFC 9051 6.3.5). A folder with folders below it is
    /// refused: the RFC forbids removing the inferior names with it, and
    /// a Maildir++ store cannot keep them without it as Dovecot would
    /// (the store's `delete_folder` removes subfolders too), so the
    /// client deletes the children first, as RFC 9051 6.3.5 allows a
    /// server to ask. The folders are listed first to see.
    pub(super) fn handle_delete(&mut self, tag: String, wire: &str) {
        let folder = match self.folder_name(wire) {
            Ok(folder) => folder,
            Err(reply) => return self.reply(&tag, reply),
        };
        if is_shared(&folder) {
            return self.reply(&tag, shared_refusal());
        }
        if folder == "INBOX" {
            return self.reply(&tag, Reply::no(Some("CANNOT"), "INBOX cannot be deleted"));
        }
        if self.view().is_some_and(|view| view.folder == folder) {
            return self.reply(
                &tag,
                Reply::no(
                    Some("INUSE"),
                    "Cannot delete the selected mailbox: CLOSE it first",
                ),
            );
        }
        self.request(Pending::Delete { tag, folder }, Request::Folders);
    }

    pub(super) fn delete_listed(
        &mut self,
        tag: String,
        folder: String,
        result: Result<Vec<FolderStatus>, StoreFailure>,
    ) {
        let folders = match result {
            Ok(folders) => folders,
            Err(failure) => return self.done(tag, "DELETE", folder, Err(failure)),
        };
        let below = format!("{folder}.");
        if folders.iter().any(|f| f.name.starts_with(&below)) {
            return self.finish(
                tag,
                Reply::no(Some("INUSE"), "Mailbox has children, delete them first"),
                true,
            );
        }
        let request = Request::DeleteFolder {
            name: folder.clone(),
        };
        self.request(
            Pending::Done {
                tag,
                command: "DELETE",
                folder,
            },
            request,
        );
    }

    /// RENAME (RFC 9051 6.3.6): folders below go with it. Renaming INBOX
    /// moves its messages into a new folder and leaves INBOX empty.
    pub(super) fn handle_rename(&mut self, tag: String, from: &str, to: &str) {
        let (from, to) = match (self.folder_name(from), self.folder_name(to)) {
            (Ok(from), Ok(to)) => (from, to.trim_end_matches('.').to_owned()),
            (Err(reply), _) | (_, Err(reply)) => return self.reply(&tag, reply),
        };
        if is_shared(&from) || is_shared(&to) {
            return self.reply(&tag, shared_refusal());
        }
        if to == "INBOX" {
            return self.reply(
                &tag,
                Reply::no(Some("ALREADYEXISTS"), "INBOX already exists"),
            );
        }
        if to.is_empty() || to.contains(['*', '%']) {
            return self.reply(&tag, Reply::no(Some("CANNOT"), "Invalid mailbox name"));
        }
        if from == to {
            return self.reply(
                &tag,
                Reply::no(Some("ALREADYEXISTS"), "Mailbox already exists"),
            );
        }
        if from == "INBOX" {
            let request = Request::CreateFolder {
                name: to.clone(),
                special_use: None,
            };
            return self.request(
                Pending::RenameInbox {
                    tag,
                    to,
                    step: RenameInboxStep::Created,
                },
                request,
            );
        }
        if self.view().is_some_and(|view| view.folder == from) {
            return self.reply(
                &tag,
                Reply::no(
                    Some("INUSE"),
                    "Cannot rename the selected mailbox: CLOSE it first",
                ),
            );
        }
        let request = Request::RenameFolder {
            from: from.clone(),
            to,
        };
        self.request(
            Pending::Done {
                tag,
                command: "RENAME",
                folder: from,
            },
            request,
        );
    }

    /// The steps of RENAME INBOX: the new folder is made, INBOX is read,
    /// its messages move.
    pub(super) fn rename_inbox_step(
        &mut self,
        tag: String,
        to: String,
        step: RenameInboxStep,
        input: Input<'_>,
    ) {
        match (step, input) {
            (RenameInboxStep::Created, Input::Done(Ok(()))) => {
                let request = Request::Open {
                    folder: "INBOX".into(),
                    read_only: true,
                };
                self.request(
                    Pending::RenameInbox {
                        tag,
                        to,
                        step: RenameInboxStep::Opened,
                    },
                    request,
                );
            }
            (RenameInboxStep::Opened, Input::Opened(Ok(opened))) => {
                let uids: Vec<Uid> = opened.snapshot.messages.iter().map(|m| m.uid).collect();
                if uids.is_empty() {
                    return self.finish(tag, Reply::ok("RENAME completed"), true);
                }
                let request = Request::Move {
                    from: "INBOX".into(),
                    uids,
                    to: to.clone(),
                };
                self.request(
                    Pending::RenameInbox {
                        tag,
                        to,
                        step: RenameInboxStep::Moved,
                    },
                    request,
                );
            }
            (RenameInboxStep::Moved, Input::Moved(Ok(MoveResult { copied, .. }))) => {
                self.event(Event::Copied {
                    to,
                    messages: copied.pairs.len(),
                    moved: true,
                });
                self.finish(tag, Reply::ok("RENAME completed"), true);
            }
            (
                _,
                Input::Done(Err(failure))
                | Input::Opened(Err(failure))
                | Input::Moved(Err(failure)),
            ) => {
                let reply = failure_reply(&failure, "RENAME");
                self.finish(tag, reply, true);
            }
            (step, input) => panic!("RENAME INBOX at {step:?} got {input:?}"),
        }
    }

    pub(super) fn handle_subscribe(&mut self, tag: String, wire: &str, subscribed: bool) {
        let folder = match self.folder_name(wire) {
            Ok(folder) => folder,
            Err(reply) => return self.reply(&tag, reply),
        };
        let request = Request::Subscribe {
            name: folder.clone(),
            subscribed,
        };
        let command = if subscribed {
            "SUBSCRIBE"
        } else {
            "UNSUBSCRIBE"
        };
        self.request(
            Pending::Done {
                tag,
                command,
                folder,
            },
            request,
        );
    }

    /// The answer to CREATE, DELETE, RENAME, SUBSCRIBE or UNSUBSCRIBE.
    pub(super) fn done(
        &mut self,
        tag: String,
        command: &'static str,
        _folder: String,
        result: Result<(), StoreFailure>,
    ) {
        let reply = match result {
            Ok(()) => Reply::ok(format!("{command} completed")),
            Err(failure) => {
                if failure == StoreFailure::Failed {
                    self.event(Event::StoreFailed { command });
                }
                failure_reply(&failure, command)
            }
        };
        self.finish(tag, reply, true);
    }

    /// APPEND (RFC 9051 6.3.12) of one or more messages (RFC 3502).
    pub(super) fn handle_append(&mut self, tag: String, wire: &str, messages: Vec<AppendMessage>) {
        let folder = match self.folder_name(wire) {
            Ok(folder) => folder,
            Err(reply) => return self.reply(&tag, reply),
        };
        if is_shared(&folder) {
            return self.reply(&tag, shared_refusal());
        }
        let mut new = Vec::with_capacity(messages.len());
        for message in messages {
            let (flags, keywords) = match stored_flags(&message.flags) {
                Ok(split) => split,
                Err(text) => return self.bad(&tag, &text),
            };
            let internal_date = match &message.date {
                Some(date) => match unix_time(date) {
                    Some(at) => Some(at),
                    None => return self.bad(&tag, "Invalid date-time"),
                },
                None => None,
            };
            if message.content.is_empty() {
                return self.reply(&tag, Reply::no(None, "Cannot append an empty message"));
            }
            if message.content.len() as u64 > self.config.append_limit {
                return self.reply(
                    &tag,
                    Reply::no(
                        Some("TOOBIG"),
                        format!(
                            "Message larger than APPENDLIMIT={}",
                            self.config.append_limit
                        ),
                    ),
                );
            }
            // RFC 3516 4.4: binary parts are stored in base64, so that
            // BODY[] never sends a NUL.
            let content = match message.binary {
                true => crate::imap::message::convert::binary_parts_to_base64(&message.content)
                    .unwrap_or(message.content),
                false => message.content,
            };
            if content.len() as u64 > self.config.append_limit {
                return self.reply(
                    &tag,
                    Reply::no(Some("TOOBIG"), "Message larger than APPENDLIMIT in base64"),
                );
            }
            new.push(NewMessage {
                content,
                flags,
                keywords,
                // RFC 9051 6.3.12: without a date, the time it is stored.
                internal_date: internal_date.unwrap_or_else(|| self.wall_now()),
            });
        }
        let quota = self.config.quota;
        if quota.storage_bytes.is_some() || quota.messages.is_some() {
            return self.request(
                Pending::AppendUsage {
                    tag,
                    folder,
                    messages: new,
                },
                Request::Usage,
            );
        }
        self.append_now(tag, folder, new);
    }

    /// RFC 9208 5: an APPEND over the quota is refused whole.
    pub(super) fn append_usage(
        &mut self,
        tag: String,
        folder: String,
        messages: Vec<NewMessage>,
        result: Result<Usage, StoreFailure>,
    ) {
        let usage = match result {
            Ok(usage) => usage,
            Err(failure) => return self.finish(tag, failure_reply(&failure, "APPEND"), true),
        };
        let octets: u64 = messages.iter().map(|m| m.content.len() as u64).sum();
        if self.over_quota(&usage, octets, messages.len() as u64) {
            return self.finish(tag, Reply::no(Some("OVERQUOTA"), "Quota exceeded"), true);
        }
        self.append_now(tag, folder, messages);
    }

    fn append_now(&mut self, tag: String, folder: String, messages: Vec<NewMessage>) {
        let count = messages.len();
        let octets = messages.iter().map(|m| m.content.len() as u64).sum();
        let request = Request::Append {
            folder: folder.clone(),
            messages,
        };
        self.request(
            Pending::Append {
                tag,
                folder,
                count,
                octets,
            },
            request,
        );
    }

    pub(super) fn appended(
        &mut self,
        tag: String,
        folder: String,
        count: usize,
        octets: u64,
        result: Result<(crate::mailbox::UidValidity, Vec<Uid>), StoreFailure>,
    ) {
        match result {
            Ok((uid_validity, uids)) => {
                self.event(Event::Appended {
                    folder,
                    messages: count,
                    octets,
                });
                let uids: Vec<u32> = uids.iter().map(|u| u.get()).collect();
                let code = format!("APPENDUID {uid_validity} {}", uid_set(&uids));
                self.finish(tag, Reply::ok_code(code, "Append completed"), true);
            }
            Err(failure) => {
                if failure == StoreFailure::Failed {
                    self.event(Event::StoreFailed { command: "APPEND" });
                }
                self.finish(tag, failure_reply(&failure, "APPEND"), true);
            }
        }
    }

    /// GETQUOTAROOT (RFC 9208 4.3): every folder is under the one root
    /// `""`, the user's.
    pub(super) fn handle_getquotaroot(&mut self, tag: String, wire: &str) {
        let folder = match self.folder_name(wire) {
            Ok(folder) => folder,
            Err(reply) => return self.reply(&tag, reply),
        };
        let mut line = b"* QUOTAROOT ".to_vec();
        self.wire_name(&folder).encode(&mut line, self.utf8_names());
        if self.has_quota() {
            line.extend_from_slice(b" \"\"");
        }
        line.extend_from_slice(b"\r\n");
        self.send(line);
        if self.has_quota() {
            self.request(
                Pending::Quota {
                    tag,
                    root_of: Some(folder),
                },
                Request::Usage,
            );
        } else {
            self.finish(tag, Reply::ok("Getquotaroot completed"), true);
        }
    }

    pub(super) fn handle_getquota(&mut self, tag: String, root: &str) {
        if !root.is_empty() || !self.has_quota() {
            return self.reply(&tag, Reply::no(Some("NONEXISTENT"), "No such quota root"));
        }
        self.request(Pending::Quota { tag, root_of: None }, Request::Usage);
    }

    /// Whether adding `messages` messages of `octets` octets in all to
    /// `usage` passes a limit of the quota.
    pub(super) fn over_quota(&self, usage: &Usage, octets: u64, messages: u64) -> bool {
        let quota = self.config.quota;
        let over_storage = quota
            .storage_bytes
            .is_some_and(|limit| usage.bytes.saturating_add(octets) > limit);
        let over_count = quota
            .messages
            .is_some_and(|limit| usage.messages.saturating_add(messages) > limit);
        over_storage || over_count
    }

    pub(super) fn has_quota(&self) -> bool {
        let quota = self.config.quota;
        quota.storage_bytes.is_some() || quota.messages.is_some()
    }

    /// `* QUOTA "" (STORAGE used limit MESSAGE used limit)`: STORAGE in
    /// units of 1024 octets (RFC 9208 5.1).
    pub(super) fn quota_usage(
        &mut self,
        tag: String,
        root_of: Option<String>,
        result: Result<Usage, StoreFailure>,
    ) {
        let usage = match result {
            Ok(usage) => usage,
            Err(failure) => return self.finish(tag, failure_reply(&failure, "GETQUOTA"), true),
        };
        let quota = self.config.quota;
        let mut resources = Vec::new();
        if let Some(limit) = quota.storage_bytes {
            resources.push(format!(
                "STORAGE {} {}",
                usage.bytes.div_ceil(1024),
                limit / 1024
            ));
        }
        if let Some(limit) = quota.messages {
            resources.push(format!("MESSAGE {} {limit}", usage.messages));
        }
        self.untagged(&format!("QUOTA \"\" ({})", resources.join(" ")));
        let text = if root_of.is_some() {
            "Getquotaroot completed"
        } else {
            "Getquota completed"
        };
        self.finish(tag, Reply::ok(text), true);
    }
}

/// Single UIDs and ranges merged where they touch.
fn set_ranges_of(ranges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for &(low, high) in ranges {
        match merged.last_mut() {
            Some(last) if low <= last.1.saturating_add(1) => last.1 = last.1.max(high),
            _ => merged.push((low, high)),
        }
    }
    merged
}
