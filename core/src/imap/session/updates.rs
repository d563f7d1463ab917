//! Where a command ends in the selected state: the folder's changes are
//! asked for and told as RFC 9051 7.4.1 allows; and IDLE (RFC 2177),
//! which tells them as they come.

use super::machine::ImapServer;
use super::response::Reply;
use super::state::{Mode, Pending, State, Then};
use super::timers::Timer;
use super::view::{UpdateStyle, View};
use super::{ChangeSet, Event, Opened, Request, StoreFailure};

impl ImapServer {
    /// Ends a command: in the selected state the folder's changes are
    /// asked for and told first (RFC 9051 7.4.1); `expunges` says whether
    /// EXPUNGE may be among them.
    pub(super) fn finish(&mut self, tag: String, reply: Reply, expunges: bool) {
        match &self.mode {
            Mode::Selected(view) => {
                let request = Request::Changes {
                    folder: view.folder.clone(),
                    since: view.highest_modseq,
                    read_only: view.read_only,
                };
                self.request(
                    Pending::Changes(Then::Reply {
                        tag,
                        reply,
                        expunges,
                    }),
                    request,
                );
            }
            _ => self.reply(&tag, reply),
        }
    }

    /// The selected folder's changes are in: tell them as `then` allows.
    pub(super) fn changes_in(&mut self, then: Then, result: Result<ChangeSet, StoreFailure>) {
        let Mode::Selected(view) = &mut self.mode else {
            return self.then(then);
        };
        match result {
            Ok(ChangeSet {
                changes: Some(changes),
                recent_from,
            }) => {
                view.apply(changes, recent_from);
                self.then(then)
            }
            Ok(ChangeSet {
                changes: None,
                recent_from,
            }) => {
                let request = Request::Open {
                    folder: view.folder.clone(),
                    read_only: view.read_only,
                };
                self.request(Pending::Reopen(then, recent_from), request)
            }
            Err(_) => {
                self.event(Event::StoreFailed { command: "changes" });
                self.then(then)
            }
        }
    }

    /// A fresh snapshot of the selected folder, when the store no longer
    /// had the changes: the difference is told as changes would be.
    pub(super) fn reopened(
        &mut self,
        then: Then,
        recent_from: u32,
        result: Result<Opened, StoreFailure>,
    ) {
        let Mode::Selected(view) = &mut self.mode else {
            return self.then(then);
        };
        match result {
            Ok(opened) if opened.snapshot.uid_validity != view.uid_validity => {
                // RFC 9051 2.3.1.1: the client must start over.
                self.bye("Mailbox UIDVALIDITY changed, reconnect", Event::ShutDown);
            }
            Ok(opened) => {
                let changes = view.difference(&opened.snapshot);
                view.apply(changes, opened.recent_from.min(recent_from));
                view.highest_modseq = view.highest_modseq.max(opened.snapshot.highest_modseq);
                self.then(then)
            }
            Err(_) => self.then(then),
        }
    }

    pub(super) fn then(&mut self, then: Then) {
        match then {
            Then::Reply {
                tag,
                reply,
                expunges,
            } => {
                self.tell_updates(expunges);
                self.reply(&tag, reply);
            }
            Then::Idle { tag } => {
                self.tell_updates(true);
                self.state = State::Idle { tag };
                if self.folder_dirty {
                    self.folder_changed();
                }
            }
        }
    }

    /// Tells the selected folder's news.
    pub(super) fn tell_updates(&mut self, expunges: bool) {
        let style = self.update_style();
        if let Mode::Selected(view) = &mut self.mode {
            let mut out = Vec::new();
            view.tell(expunges, style, &mut out);
            if !out.is_empty() {
                self.send(out);
            }
        }
    }

    /// A CONDSTORE enabling command (RFC 7162 3.1): from now on MODSEQ
    /// goes with every FETCH; used first in the selected state, the
    /// folder's HIGHESTMODSEQ is told at once (RFC 7162 3.1.2.1), as
    /// SELECT would have told it.
    pub(super) fn enable_condstore(&mut self) {
        if self.enabled.condstore {
            return;
        }
        self.enabled.condstore = true;
        if let Mode::Selected(view) = &self.mode {
            let line = format!("* OK [HIGHESTMODSEQ {}] Highest\r\n", view.highest_modseq);
            self.send(line.into_bytes());
        }
    }

    pub(super) fn update_style(&self) -> UpdateStyle {
        UpdateStyle {
            condstore: self.enabled.condstore,
            qresync: self.enabled.qresync,
            recent: !self.enabled.rev2,
            uid: self.enabled.condstore || self.enabled.qresync || self.enabled.rev2,
        }
    }

    pub(super) fn view(&self) -> Option<&View> {
        match &self.mode {
            Mode::Selected(view) => Some(view),
            _ => None,
        }
    }

    pub(super) fn view_mut(&mut self) -> Option<&mut View> {
        match &mut self.mode {
            Mode::Selected(view) => Some(view),
            _ => None,
        }
    }

    /// The store's watch: during IDLE the changes are asked for and told
    /// at once; otherwise the next command's end tells them.
    /// A change that comes while IDLE's own request is out is asked for
    /// again once that answer is told.
    pub(super) fn folder_changed(&mut self) {
        if let (State::Idle { tag }, Mode::Selected(view)) = (&self.state, &self.mode) {
            let request = Request::Changes {
                folder: view.folder.clone(),
                since: view.highest_modseq,
                read_only: view.read_only,
            };
            let tag = tag.clone();
            self.folder_dirty = false;
            self.request(Pending::Changes(Then::Idle { tag }), request);
        } else {
            self.folder_dirty = true;
        }
    }

    /// IDLE (RFC 2177): `+ idling`, the folder's news now and as they
    /// come, until `DONE`.
    pub(super) fn handle_idle(&mut self, tag: String) {
        self.send(b"+ idling\r\n".to_vec());
        self.folder_dirty = false;
        self.timers
            .set(Timer::Idle, self.now + self.config.idle_max);
        match &self.mode {
            Mode::Selected(view) => {
                let request = Request::Changes {
                    folder: view.folder.clone(),
                    since: view.highest_modseq,
                    read_only: view.read_only,
                };
                self.request(Pending::Changes(Then::Idle { tag }), request);
            }
            _ => self.state = State::Idle { tag },
        }
    }

    pub(super) fn idle_line(&mut self, line: &[u8]) {
        let State::Idle { tag } = std::mem::replace(&mut self.state, State::Command) else {
            unreachable!("idle_line outside IDLE");
        };
        self.timers.stop(Timer::Idle);
        if line.eq_ignore_ascii_case(b"DONE") {
            self.finish(tag, Reply::ok("Idle completed"), true);
        } else {
            self.bad(&tag, "Expected DONE to end IDLE");
        }
    }
}
