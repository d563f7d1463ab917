//! The IMAP server machine: input, the command-by-state table, the end of
//! every command (where updates are told), timers and the session's end.
//! Commands are in [`super::any`] (any state, login), [`super::folders`]
//! (the authenticated state), [`super::selected`], [`super::fetch`] and
//! [`super::search`]. See the module docs of [`super`] for the contract.

use super::events::shown;
use super::response::{Reply, Status};
use super::state::{Mode, Pending, State};
use super::timers::{Timer, TimerTable};
use super::{Event, Input, Output, Request, SessionConfig, SessionInfo};
use crate::auth::TriedLogins;
use crate::imap::codec::{CommandReader, ReadEvent, ReaderLimits};
use crate::imap::command::{Command, CommandBody};
use crate::limits::{IMAP_INPUT_BUFFER_BYTES_MAX, IMAP_LOGIN_TIMEOUT, READ_CHUNK_BYTES};
use crate::time::{Instant, UnixTime};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// What the client switched on with ENABLE (RFC 5161), or by using it
/// (RFC 7162 3.1: CONDSTORE by its first use).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enabled {
    pub rev2: bool,
    pub condstore: bool,
    pub qresync: bool,
    pub utf8: bool,
}

/// One IMAP server session.
#[derive(Debug)]
pub struct ImapServer {
    pub(super) config: Arc<SessionConfig>,
    info: SessionInfo,
    pub(super) mode: Mode,
    pub(super) state: State,
    /// The login the session runs as, once authenticated.
    pub(super) login: Option<String>,
    pub(super) enabled: Enabled,
    /// `BAD` replies counted toward `max_errors`.
    errors: u32,
    pub(super) reader: CommandReader,
    /// The client has gone; finish what is buffered, then close.
    input_ended: bool,
    output: VecDeque<Output>,
    pub(super) now: Instant,
    start: Instant,
    wall: UnixTime,
    pub(super) timers: TimerTable,
    /// The connection is encrypted.
    pub(super) tls: bool,
    /// Failed logins in this session.
    pub(super) auth_failures: u32,
    pub(super) tried_logins: TriedLogins,
    /// Bytes thrown away at STARTTLS, for the log line after it.
    pub(super) discarded_after_starttls: usize,
    /// The store said the selected folder changed while the machine could
    /// not ask (mid-request): IDLE asks once it can.
    pub(super) folder_dirty: bool,
}

impl ImapServer {
    /// A new session; the greeting is already queued. `wall` is the
    /// wall-clock time at `now`.
    pub fn new(
        config: Arc<SessionConfig>,
        info: SessionInfo,
        now: Instant,
        wall: UnixTime,
    ) -> Self {
        let mut timers = TimerTable::default();
        timers.set(
            Timer::Autologout,
            now + config.autologout.min(IMAP_LOGIN_TIMEOUT),
        );
        timers.set(Timer::Send, now + config.autologout);
        timers.set(Timer::SessionEnd, now + config.max_session_time);
        let reader = CommandReader::new(reader_limits(&config));
        let mut server = ImapServer {
            config,
            info,
            mode: Mode::NotAuthenticated,
            state: State::Command,
            login: None,
            enabled: Enabled::default(),
            errors: 0,
            reader,
            input_ended: false,
            output: VecDeque::new(),
            now,
            start: now,
            wall,
            timers,
            tls: info.tls,
            auth_failures: 0,
            tried_logins: TriedLogins::default(),
            discarded_after_starttls: 0,
            folder_dirty: false,
        };
        let greeting = format!(
            "* OK [CAPABILITY {}] {} IMAP4rev2 ready\r\n",
            server.capabilities(),
            server.config.hostname
        );
        server.send(greeting.into_bytes());
        server
    }

    /// Hands one input to the machine. Drain [`ImapServer::poll_output`]
    /// before the next call.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        assert!(
            now >= self.now,
            "time went backwards: {now:?} < {:?}",
            self.now
        );
        assert!(
            self.output.is_empty(),
            "input handed in while output was pending"
        );
        self.now = now;
        if !matches!(input, Input::SendTimedOut) {
            self.fire_due_timers();
        }
        match input {
            Input::Bytes(bytes) => self.receive(bytes),
            Input::EndOfInput => self.input_ended = true,
            Input::TimerFired => {}
            Input::SendTimedOut => self.send_timed_out(),
            Input::Shutdown => self.bye(
                &format!("{} Server shutting down", self.config.hostname),
                Event::ShutDown,
            ),
            Input::TlsStarted => self.tls_started(),
            Input::FolderChanged => self.folder_changed(),
            answer => self.answer(answer),
        }
        self.process();
        self.rearm();
    }

    /// The next thing for the driver to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    /// When to hand in [`Input::TimerFired`]: only while the machine waits
    /// for the client (or for a failed login's delay).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() || self.state.is_awaiting_driver() {
            return None;
        }
        self.timers.next_expiry()
    }

    /// The instant by which the driver must have written everything
    /// emitted so far; past it, hand in [`Input::SendTimedOut`].
    pub fn send_deadline(&self) -> Instant {
        self.timers
            .get(Timer::Send)
            .expect("the send timer is set at the greeting and never stopped")
    }

    pub fn info(&self) -> SessionInfo {
        self.info
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Whether the driver should read more from the client now: always
    /// while the machine waits for the client, and while a request is out
    /// only until [`IMAP_INPUT_BUFFER_BYTES_MAX`] octets are held.
    pub fn wants_input(&self) -> bool {
        match self.state {
            State::Closed => false,
            State::Command | State::AuthResponse { .. } | State::Idle { .. } => true,
            _ => self.reader.buffered() < IMAP_INPUT_BUFFER_BYTES_MAX,
        }
    }

    /// Octets held unprocessed.
    pub fn buffered_input_len(&self) -> usize {
        self.reader.buffered()
    }

    /// The wall-clock time now.
    pub(super) fn wall_now(&self) -> UnixTime {
        let elapsed = self.now.saturating_duration_since(self.start).as_secs();
        UnixTime(self.wall.0.saturating_add(elapsed as i64))
    }

    fn receive(&mut self, bytes: &[u8]) {
        if self.is_closed() {
            return;
        }
        let reading = matches!(
            self.state,
            State::Command | State::AuthResponse { .. } | State::Idle { .. }
        );
        let held = self.reader.buffered() + bytes.len();
        if !reading && held > IMAP_INPUT_BUFFER_BYTES_MAX + READ_CHUNK_BYTES {
            // Only a driver that ignores wants_input gets here: replying
            // now would put replies out of order.
            self.event(Event::InputOverflow);
            self.close();
            return;
        }
        self.reader.push(bytes);
    }

    /// Runs buffered input until it runs out or the machine must wait.
    fn process(&mut self) {
        while self.step() {}
        let waits_on_client = matches!(
            self.state,
            State::Command | State::AuthResponse { .. } | State::Idle { .. }
        );
        if self.input_ended && waits_on_client {
            self.close();
        }
    }

    /// One unit of work; false when no more can be done now.
    fn step(&mut self) -> bool {
        match &self.state {
            State::Command => match self.reader.next_command() {
                Some(event) => {
                    self.timers.stop(Timer::Autologout);
                    self.read_event(event);
                    true
                }
                None => false,
            },
            State::AuthResponse { .. } | State::Idle { .. } => match self.reader.next_line() {
                Some(line) => {
                    self.timers.stop(Timer::Autologout);
                    let line = line.unwrap_or_default();
                    if matches!(self.state, State::Idle { .. }) {
                        self.idle_line(&line);
                    } else {
                        self.sasl_response(&line);
                    }
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    fn read_event(&mut self, event: ReadEvent) {
        match event {
            ReadEvent::Command(command) => self.handle_command(command),
            ReadEvent::ContinuationNeeded => {
                self.send(b"+ Ready for literal data\r\n".to_vec());
            }
            ReadEvent::Bad { tag, text } => {
                self.bad(tag.as_deref().unwrap_or("*"), &text);
            }
            ReadEvent::TooBig { tag, command, text } => {
                let tag = tag.as_deref().unwrap_or("*");
                if command
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case("APPEND"))
                {
                    self.reply(tag, Reply::no(Some("TOOBIG"), text));
                } else {
                    self.bad_with(tag, Some("TOOBIG"), &text);
                }
            }
        }
    }

    /// The command-by-state table (RFC 9051 6.1 to 6.4): any state, not
    /// authenticated, authenticated or selected, selected only.
    pub(super) fn handle_command(&mut self, command: Command) {
        let Command { tag, body } = command;
        let authenticated = matches!(self.mode, Mode::Authenticated | Mode::Selected(_));
        let selected = matches!(self.mode, Mode::Selected(_));
        match body {
            CommandBody::Capability => self.handle_capability(&tag),
            CommandBody::Noop => self.finish(tag, Reply::ok("NOOP completed"), true),
            CommandBody::Logout => self.handle_logout(&tag),
            CommandBody::Id(fields) => self.handle_id(tag, &fields),
            CommandBody::StartTls
            | CommandBody::Authenticate { .. }
            | CommandBody::Login { .. }
                if authenticated =>
            {
                self.bad(&tag, "Already logged in")
            }
            CommandBody::StartTls => self.handle_starttls(&tag),
            CommandBody::Authenticate { mechanism, initial } => {
                self.handle_authenticate(tag, &mechanism, initial)
            }
            CommandBody::Login { user, password } => self.handle_login(tag, user, password),
            _ if !authenticated => self.bad(&tag, "Log in first"),
            CommandBody::Enable(names) => self.handle_enable(tag, &names),
            CommandBody::Select { mailbox, params } => {
                self.handle_select(tag, &mailbox, params, false)
            }
            CommandBody::Examine { mailbox, params } => {
                self.handle_select(tag, &mailbox, params, true)
            }
            CommandBody::Create {
                mailbox,
                special_use,
            } => self.handle_create(tag, &mailbox, &special_use),
            CommandBody::Delete(mailbox) => self.handle_delete(tag, &mailbox),
            CommandBody::Rename { from, to } => self.handle_rename(tag, &from, &to),
            CommandBody::Subscribe(mailbox) => self.handle_subscribe(tag, &mailbox, true),
            CommandBody::Unsubscribe(mailbox) => self.handle_subscribe(tag, &mailbox, false),
            CommandBody::List(list) => self.handle_list(tag, list, false),
            CommandBody::Lsub { reference, pattern } => self.handle_lsub(tag, reference, pattern),
            CommandBody::Namespace => self.handle_namespace(tag),
            CommandBody::Status { mailbox, items } => self.handle_status(tag, &mailbox, items),
            CommandBody::Append { mailbox, messages } => {
                self.handle_append(tag, &mailbox, messages)
            }
            CommandBody::Idle => self.handle_idle(tag),
            CommandBody::GetQuota(root) => self.handle_getquota(tag, &root),
            CommandBody::GetQuotaRoot(mailbox) => self.handle_getquotaroot(tag, &mailbox),
            CommandBody::SetQuota { .. } => self.reply(
                &tag,
                Reply::no(Some("CANNOT"), "Quotas are set by the administrator"),
            ),
            _ if !selected => self.bad(&tag, "No mailbox selected"),
            CommandBody::Check => self.finish(tag, Reply::ok("CHECK completed"), true),
            CommandBody::Close => self.handle_close(tag),
            CommandBody::Unselect => self.handle_unselect(&tag),
            CommandBody::Expunge => self.handle_expunge(tag, None),
            CommandBody::UidExpunge(set) => self.handle_expunge(tag, Some(set)),
            CommandBody::Search { uid, search } => self.handle_search(tag, uid, search),
            CommandBody::Fetch {
                uid,
                set,
                items,
                modifiers,
            } => self.handle_fetch(tag, uid, &set, items, modifiers),
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                action,
                silent,
                flags,
            } => self.handle_store(tag, uid, &set, unchanged_since, action, silent, &flags),
            CommandBody::Copy { uid, set, mailbox } => {
                self.handle_copy(tag, uid, &set, &mailbox, false)
            }
            CommandBody::Move { uid, set, mailbox } => {
                self.handle_copy(tag, uid, &set, &mailbox, true)
            }
            CommandBody::Sort {
                uid,
                criteria,
                search,
            } => self.handle_sort(tag, uid, criteria, search),
            CommandBody::Thread {
                uid,
                algorithm,
                search,
            } => self.handle_thread(tag, uid, algorithm, search),
        }
    }

    /// Sends a request and waits for its answer.
    pub(super) fn request(&mut self, pending: Pending, request: Request) {
        self.state = State::Store(pending);
        self.output.push_back(Output::Request(request));
    }

    /// The answer to the request that is out.
    fn answer(&mut self, input: Input<'_>) {
        let pending = match std::mem::replace(&mut self.state, State::Command) {
            State::Store(pending) => pending,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("an answer came while the machine waited for {other:?}"),
        };
        match (pending, input) {
            (Pending::Auth { tag, via, login }, Input::Authenticated(verdict)) => {
                self.authenticated(tag, via, login, verdict)
            }
            (
                Pending::Open {
                    tag,
                    folder,
                    read_only,
                    condstore,
                    qresync,
                },
                Input::Opened(result),
            ) => self.opened(tag, folder, read_only, condstore, qresync, result),
            (Pending::Changes(then), Input::Changes(result)) => self.changes_in(then, result),
            (Pending::Reopen(then, recent_from), Input::Opened(result)) => {
                self.reopened(then, recent_from, result)
            }
            (Pending::Fetch(job), input) => self.fetch_answer(*job, input),
            (Pending::Search(job), Input::Message(result)) => self.search_message(*job, result),
            (Pending::Store(job), Input::FlagsStored(result)) => self.flags_stored(*job, result),
            (
                Pending::AppendUsage {
                    tag,
                    folder,
                    messages,
                },
                Input::Usage(result),
            ) => self.append_usage(tag, folder, messages, result),
            (
                Pending::Append {
                    tag,
                    folder,
                    count,
                    octets,
                },
                Input::Appended(result),
            ) => self.appended(tag, folder, count, octets, result),
            (Pending::Expunge { tag, close, uid }, Input::Expunged(result)) => {
                self.expunged(tag, close, uid, result)
            }
            (
                Pending::Copy {
                    tag,
                    to,
                    moved: false,
                    uid,
                },
                Input::Copied(result),
            ) => self.copied(tag, &to, uid, result),
            (
                Pending::Copy {
                    tag,
                    to,
                    moved: true,
                    uid,
                },
                Input::Moved(result),
            ) => self.moved(tag, &to, uid, result),
            (
                Pending::CopyUsage {
                    tag,
                    from,
                    uids,
                    to,
                    uid,
                    octets,
                },
                Input::Usage(result),
            ) => self.copy_usage(tag, from, uids, to, uid, octets, result),
            (Pending::List { tag, list, lsub }, Input::Folders(result)) => {
                self.folders_listed(tag, list, lsub, result)
            }
            (
                Pending::ListSubscriptions {
                    tag,
                    list,
                    lsub,
                    folders,
                },
                Input::Subscriptions(result),
            ) => self.subscriptions_listed(tag, list, lsub, folders, result),
            (Pending::Delete { tag, folder }, Input::Folders(result)) => {
                self.delete_listed(tag, folder, result)
            }
            (Pending::Status { tag, folder, items }, Input::Folders(result)) => {
                self.status_answer(tag, folder, items, result)
            }
            (Pending::Qresync { tag, params, reply }, Input::Changes(result)) => {
                self.qresync_changes(tag, params, reply, result)
            }
            (Pending::Quota { tag, root_of }, Input::Usage(result)) => {
                self.quota_usage(tag, root_of, result)
            }
            (
                Pending::Create {
                    tag,
                    folder,
                    special_use,
                    parents,
                    last,
                },
                Input::Done(result),
            ) => self.created(tag, folder, special_use, parents, last, result),
            (
                Pending::Done {
                    tag,
                    command,
                    folder,
                },
                Input::Done(result),
            ) => self.done(tag, command, folder, result),
            (Pending::RenameInbox { tag, to, step }, input) => {
                self.rename_inbox_step(tag, to, step, input)
            }
            (pending, input) => {
                panic!("answer {input:?} does not match the request for {pending:?}")
            }
        }
    }

    /// Restarts the timers for what the machine waits for now.
    fn rearm(&mut self) {
        let writes =
            |output: &Output| matches!(output, Output::Send(_) | Output::StartTls | Output::Close);
        if self.output.iter().any(writes) {
            self.timers
                .set(Timer::Send, self.now + self.config.autologout);
        }
        let awaits_command = matches!(self.state, State::Command | State::AuthResponse { .. });
        if !awaits_command {
            self.timers.stop(Timer::Autologout);
        } else if self.timers.get(Timer::Autologout).is_none() {
            self.timers
                .set(Timer::Autologout, self.now + self.autologout());
        }
    }

    /// The inactivity timer: the instance's once logged in, at most
    /// [`IMAP_LOGIN_TIMEOUT`] before.
    fn autologout(&self) -> Duration {
        match self.mode {
            Mode::NotAuthenticated => self.config.autologout.min(IMAP_LOGIN_TIMEOUT),
            _ => self.config.autologout,
        }
    }

    /// Acts on every timer that waits on the client and has expired.
    fn fire_due_timers(&mut self) {
        while self.poll_timeout().is_some() {
            let Some(timer) = self.timers.expired(self.now) else {
                return;
            };
            self.timers.stop(timer);
            match timer {
                Timer::AuthDelay => self.auth_delay_over(),
                Timer::Autologout => self.bye("Autologout; idle for too long", Event::Autologout),
                Timer::Idle => self.bye("IDLE lasted too long, reconnect", Event::IdleTooLong),
                Timer::SessionEnd => {
                    self.bye("Session lasted too long, reconnect", Event::SessionTooLong)
                }
                Timer::Send => unreachable!("the send timer does not wait on the client"),
            }
        }
    }

    fn send_timed_out(&mut self) {
        self.output.push_back(Output::Event(Event::SendStalled {
            waited: self.config.autologout,
        }));
        if !self.is_closed() {
            self.close();
        }
    }

    /// `* BYE` and close, whatever the session was doing.
    pub(super) fn bye(&mut self, text: &str, event: Event) {
        if self.is_closed() {
            return;
        }
        self.output.push_back(Output::Event(event));
        self.send(format!("* BYE {text}\r\n").into_bytes());
        self.close();
    }

    /// A tagged reply.
    pub(super) fn reply(&mut self, tag: &str, reply: Reply) {
        let mut bytes = Vec::new();
        reply.encode(tag, &mut bytes);
        if reply.status != Status::Ok {
            self.output.push_back(Output::Event(Event::CommandRefused {
                reply: shown(String::from_utf8_lossy(&bytes).trim_end()),
            }));
        }
        self.send(bytes);
    }

    /// A `BAD` reply, counted toward `max_errors`; the session ends with
    /// `* BYE` once there have been too many.
    pub(super) fn bad(&mut self, tag: &str, text: &str) {
        self.bad_with(tag, None, text);
    }

    /// A `BAD` reply with a response code, counted as [`Self::bad`] is.
    pub(super) fn bad_with(&mut self, tag: &str, code: Option<&str>, text: &str) {
        let mut reply = Reply::bad(text);
        reply.code = code.map(str::to_owned);
        self.reply(tag, reply);
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            self.bye("Too many invalid commands", Event::TooManyErrors);
        }
    }

    /// An untagged line: `* ` then `text` and CRLF.
    pub(super) fn untagged(&mut self, text: &str) {
        self.send(format!("* {text}\r\n").into_bytes());
    }

    /// Queues bytes, joining them to a write already waiting so that a
    /// pipelined group goes out in one write.
    pub(super) fn send(&mut self, bytes: Vec<u8>) {
        if let Some(Output::Send(pending)) = self.output.back_mut() {
            pending.extend_from_slice(&bytes);
        } else {
            self.output.push_back(Output::Send(bytes));
        }
    }

    pub(super) fn event(&mut self, event: Event) {
        self.output.push_back(Output::Event(event));
    }

    pub(super) fn push_output(&mut self, output: Output) {
        self.output.push_back(output);
    }

    pub(super) fn close(&mut self) {
        self.state = State::Closed;
        self.mode = Mode::Logout;
        self.output.push_back(Output::Close);
    }

    /// Drops what the client sent in clear after STARTTLS (RFC 9051
    /// 6.2.1, the command injection bug): a fresh reader.
    pub(super) fn reset_reader(&mut self) -> usize {
        let held = self.reader.buffered();
        self.reader = CommandReader::new(reader_limits(&self.config));
        held
    }
}

/// The reader's bounds for this instance: literals up to APPENDLIMIT.
fn reader_limits(config: &SessionConfig) -> ReaderLimits {
    ReaderLimits {
        literal_bytes_max: config.append_limit,
        nonsync_literal_bytes_max: config.append_limit,
        ..ReaderLimits::default()
    }
}
