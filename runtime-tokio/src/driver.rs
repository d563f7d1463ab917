//! The session driver: runs one core machine over any byte stream.
//!
//! It carries out the machine's outputs and feeds it inputs, nothing more:
//! no protocol decisions are made here. It is generic over the stream (a
//! TCP socket in production, a turmoil socket in simulation) and over the
//! [`Backend`], so the simulation drives this very code. When a machine
//! asks for TLS, the driver runs the handshake on the same stream and goes
//! on over the encrypted [`Transport`].
//!
//! The loop: drain every output; if one was a request, carry it out and
//! hand in the answer; otherwise flush what is written and wait for bytes,
//! the machine's timer or shutdown.
//!
//! Every write, flush and the final shutdown is bounded by the machine's
//! [`Server::send_deadline`]: a client that stops reading cannot hold its
//! connection past it. When a write stalls the driver writes nothing
//! more, hands in [`Input::SendTimedOut`] and closes.

use crate::tls::{ServerTls, Transport};
use postern_core::address::ForwardPath;
use postern_core::auth::{AuthVerdict, LoginAttempt};
use postern_core::directory::RecipientVerdict;
use postern_core::envelope::Envelope;
use postern_core::limits::{READ_BUFFER_BYTES_INITIAL, READ_CHUNK_BYTES, WRITE_BUFFER_BYTES};
use postern_core::mail_auth::results::Findings;
use postern_core::mail_auth::spf::SpfVerdict;
use postern_core::smtp::server::{
    CheckRequest, Event, Input, OpenedMessage, Output, Request, Server, StoreFailure,
};
use postern_core::time::Instant;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

mod client;

pub use client::{ClientConnection, run_client, run_client_until, within};

/// What sessions need of the world: where messages go, who is local, and
/// who may log in.
/// An instance as the status page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceListing {
    pub name: String,
    /// Its listen specs, as written in the bind plan (`127.0.0.1:25`).
    pub listen: Vec<String>,
    pub max_connections: u32,
}

pub trait Backend: Clone + Send + Sync + 'static {
    type Message: StoredMessage;
    /// Where POP3 sessions read mail.
    type Maildrops: crate::pop3::Maildrops;

    /// The mailboxes POP3 sessions read.
    fn maildrops(&self) -> &Self::Maildrops;

    /// Where IMAP sessions read and file mail (POP3's maildrops are in
    /// the same store).
    type Mailboxes: crate::mailstore::MailboxStore + Clone;

    fn mailboxes(&self) -> &Self::Mailboxes;

    /// Which messages are `\Recent` to which IMAP session: one set of
    /// claims per store.
    fn recent_claims(&self) -> &crate::imap::RecentClaims;

    /// The calendar time now (IMAP's internal dates and WITHIN): the
    /// system's, or the simulation's.
    fn wall_now(&self) -> postern_core::time::UnixTime;

    /// Where the newsgroups and list archives NNTP serves are kept: a
    /// store of their own, which stays Maildir when the users' mailboxes
    /// are in the database.
    type NewsMailboxes: crate::mailstore::MailboxStore + Clone;

    /// The newsgroups NNTP sessions read and post to; `None` where there
    /// are none to serve (the simulation), and NNTP instances are refused.
    fn news(&self) -> Option<&crate::news::NewsStore<Self::NewsMailboxes>> {
        None
    }

    /// Where FTP sessions find their users' homes.
    type FtpFiles: crate::ftp::FtpFiles;

    /// The homes FTP sessions work in.
    fn ftp_files(&self) -> &Self::FtpFiles;

    /// How FTP data connections are made.
    type FtpNetwork: crate::ftp::DataNetwork;

    fn ftp_network(&self) -> &Self::FtpNetwork;

    /// Resolves a recipient against the local directory.
    fn resolve(&self, forward_path: &ForwardPath) -> RecipientVerdict;

    /// Checks a message from outside once its data has all arrived (SPF
    /// for its sender and HELO, its DKIM signatures): what was found.
    /// A backend that checks nothing finds nothing, and the message gets
    /// no `Authentication-Results:`.
    fn check_message(
        &self,
        request: CheckRequest,
        client: IpAddr,
        message: &mut Self::Message,
    ) -> impl Future<Output = Findings> + Send {
        let _ = (request, client, message);
        async { Findings::default() }
    }

    /// Checks SPF for a sender at MAIL (`spf_fail = "refuse"`): the
    /// verdict, or `None` from a backend that checks nothing.
    fn check_sender(
        &self,
        request: CheckRequest,
        client: IpAddr,
    ) -> impl Future<Output = Option<SpfVerdict>> + Send {
        let _ = (request, client);
        async { None }
    }

    /// Checks a login from `client`, and the lockout of that host.
    fn authenticate(
        &self,
        attempt: LoginAttempt,
        client: IpAddr,
    ) -> impl Future<Output = AuthVerdict> + Send;

    /// True if `login` is an account marked admin, who may watch the log
    /// through a remote-log instance. Backends without accounts have
    /// none.
    fn is_admin(&self, _login: &str) -> bool {
        false
    }

    /// The account's real name (`postern user name`), for the From of
    /// mail written in the webmail.
    fn real_name(&self, _login: &str) -> Option<String> {
        None
    }

    /// Every instance the server runs, with its listen specs, for the
    /// status page.
    fn instances(&self) -> std::sync::Arc<Vec<InstanceListing>> {
        std::sync::Arc::default()
    }

    /// The files backend's data directory, for the admin area (the queue
    /// and the accounts); `None` where there is none.
    fn data_dir(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// Where the accounts are kept, for the admin area: the data
    /// directory's file, or the shared database.
    fn accounts_at(&self) -> Option<crate::accounts::AccountsAt> {
        self.data_dir().map(crate::accounts::AccountsAt::Files)
    }

    /// The queue every node shares, for the admin area's list, flush and
    /// delete; `None` where the queue is the data directory's spool.
    fn database_queue(&self) -> Option<crate::storage::postgres::PgQueue> {
        None
    }

    /// The figures of the queue every node shares, for the status page;
    /// `None` where the queue is this process's own.
    fn shared_queue(
        &self,
    ) -> impl Future<Output = Option<std::io::Result<crate::storage::postgres::Census>>> + Send
    {
        async { None }
    }

    /// The one-click unsubscribe (RFC 8058) of the list member whose
    /// token this is: answers (list, member) when one was removed.
    /// Backends that keep no lists find nobody.
    fn unsubscribe_list_member(
        &self,
        _token: &str,
    ) -> impl Future<Output = std::io::Result<Option<(String, String)>>> + Send {
        async { Ok(None) }
    }

    /// The posts held by the lists `login` moderates (the webmail's
    /// settings page). Backends that keep no lists hold none.
    fn held_posts(
        &self,
        _login: &str,
    ) -> impl Future<Output = Vec<postern_core::lists::HeldPost>> + Send {
        async { Vec::new() }
    }

    /// The list archives the IMAP user `login` (whose mailbox is
    /// `mailbox`) may read as shared folders. Backends that keep no lists
    /// have none.
    fn readable_archives(
        &self,
        _login: &str,
        _mailbox: &postern_core::envelope::LocalMailbox,
    ) -> impl Future<Output = Vec<crate::lists::SharedArchive>> + Send {
        async { Vec::new() }
    }

    /// A mailbox's forwarding, vacation and sender lists (the webmail's
    /// settings page, and the lists at RCPT). Backends that keep none
    /// answer the empty settings.
    fn mailbox_rules(
        &self,
        _mailbox: &postern_core::envelope::LocalMailbox,
    ) -> impl Future<Output = Result<postern_core::autoreply::MailboxRules, String>> + Send {
        async { Ok(postern_core::autoreply::MailboxRules::default()) }
    }

    /// Checks and keeps a mailbox's forwarding and vacation settings;
    /// answers them as kept.
    fn save_mailbox_rules(
        &self,
        _mailbox: &postern_core::envelope::LocalMailbox,
        _rules: postern_core::autoreply::MailboxRules,
    ) -> impl Future<Output = Result<postern_core::autoreply::MailboxRules, String>> + Send {
        async { Err("this server keeps no delivery rules".to_owned()) }
    }

    /// Sets a new password for an account (the webmail's settings).
    /// Backends without accounts refuse.
    fn change_password(
        &self,
        _login: &str,
        _password: &str,
    ) -> impl Future<Output = Result<(), String>> + Send {
        async { Err("this server keeps no accounts".to_owned()) }
    }

    /// Answers a finger request: every account it names, hidden ones
    /// included (the machine leaves those out). Backends without
    /// accounts know no one.
    fn finger(
        &self,
        _request: &postern_core::finger::Request,
    ) -> impl Future<Output = Vec<postern_core::finger::UserInfo>> + Send {
        async { Vec::new() }
    }

    /// Looks up DNS blocklist names (A records), all at once, each within
    /// [`DNSBL_LOOKUP_TIMEOUT`](postern_core::limits::DNSBL_LOOKUP_TIMEOUT);
    /// the answers in the names' order. Backends without DNS answer that
    /// every lookup failed, which lists nobody.
    fn look_up_blocklists(
        &self,
        names: Vec<String>,
    ) -> impl Future<Output = Vec<postern_core::spam::LookupAnswer>> + Send {
        async move {
            names
                .iter()
                .map(|_| postern_core::spam::LookupAnswer::Failed("no DNS here".to_owned()))
                .collect()
        }
    }

    /// Checks a triplet against the server's greylist now, and remembers
    /// the try. Backends that keep no greylist let everything pass.
    fn check_greylist(
        &self,
        _triplet: &postern_core::spam::Triplet,
        _policy: &postern_core::spam::GreylistPolicy,
    ) -> postern_core::spam::GreylistVerdict {
        postern_core::spam::GreylistVerdict::Pass
    }

    /// Starts a spool entry for a message with this envelope.
    fn open(
        &self,
        envelope: Envelope,
    ) -> impl Future<Output = io::Result<(OpenedMessage, Self::Message)>> + Send;

    /// A tunnel's connection to its target.
    type Tunnel: AsyncRead + AsyncWrite + Unpin + Send;

    /// Connects a tunnel to its target within `timeout` (a name through
    /// the server's resolver); the error says what failed, for the log.
    fn connect_tunnel(
        &self,
        target: &postern_core::tunnel::Target,
        timeout: Duration,
    ) -> impl Future<Output = Result<(Self::Tunnel, std::net::SocketAddr), String>> + Send;
}

/// A message being written to the store.
pub trait StoredMessage: Send {
    /// Appends message data.
    fn write(&mut self, data: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    /// Header fields to put on top of the message, decided once all of it
    /// has arrived (`Authentication-Results:`); at most
    /// [`postern_core::limits::TRACE_BYTES_MAX`]. Whoever reads the
    /// committed message reads them before its data.
    fn set_trace(&mut self, fields: Vec<u8>);
    /// The message is quarantined: its local copies go to each
    /// recipient's Junk folder.
    fn set_junk(&mut self);
    /// The message data written so far (all of it, once the data has
    /// ended), for the checks of mail from outside.
    fn contents(&mut self) -> impl Future<Output = io::Result<Vec<u8>>> + Send;
    /// Makes the message durable; only then may the client hear `250`.
    fn commit(self) -> impl Future<Output = io::Result<()>> + Send;
    /// Throws the message away.
    fn abort(self) -> impl Future<Output = ()> + Send;
}

/// The monotonic clock the machines see: nanoseconds since the driver's
/// origin, read from tokio's clock (which turmoil controls in simulation).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Self {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Instant {
        let nanos = self.origin.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    pub(crate) fn to_tokio(self, instant: Instant) -> tokio::time::Instant {
        self.origin + std::time::Duration::from_nanos(instant.as_nanos())
    }

    /// Completes at a machine's deadline; never, when it has none.
    pub(crate) async fn sleep_until(self, deadline: Option<Instant>) {
        match deadline {
            Some(at) => tokio::time::sleep_until(self.to_tokio(at)).await,
            None => std::future::pending().await,
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `machine` over `stream` until the session closes. `shutdown`
/// turning true ends the session with the machine's shutdown reply;
/// `on_event` receives the machine's events, for logging.
///
/// `tls` serves STARTTLS; without it the machine must not be configured to
/// offer STARTTLS. A failed handshake ends the session.
pub async fn run_session<S, M>(
    stream: Transport<S>,
    mut machine: Server,
    store: &M,
    tls: Option<&ServerTls>,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
    mut on_event: impl FnMut(&Event),
) where
    S: AsyncRead + AsyncWrite + Unpin,
    M: Backend,
{
    let client = machine.info().remote.ip();
    // Reads and writes never overlap (the machine speaks only after it has
    // been handed input), so one buffered stream serves both.
    // What an idle session holds is most of what 10,000 of them cost (see
    // the book's "Memory per session"): small buffers that grow when used,
    // and the rare awaits below (AUTH, the spool, STARTTLS) boxed, so that
    // their futures do not widen this one for its whole life.
    let mut connection = Replies::new(stream);
    let mut buffer = ReadBuffer::new();
    let mut message: Option<M::Message> = None;
    // A write to the open message failed: its commit must fail too.
    let mut message_failed = false;
    let mut write_failed = false;
    // A write did not finish by the machine's send deadline.
    let mut stalled = false;
    loop {
        let mut answer: Option<Input<'static>> = None;
        let mut close = false;
        let mut end_session = false;
        let send_by = clock.to_tokio(machine.send_deadline());
        while let Some(output) = machine.poll_output() {
            match output {
                Output::Send(bytes) => {
                    if !write_failed {
                        let written = bounded(send_by, connection.write_all(&bytes)).await;
                        note_write(written, &mut write_failed, &mut stalled);
                    }
                }
                Output::StartTls => {
                    // The 220 goes out in clear first; then the handshake,
                    // bounded by its own timeout.
                    if !write_failed {
                        let flushed = bounded(send_by, connection.flush()).await;
                        note_write(flushed, &mut write_failed, &mut stalled);
                    }
                    match tls {
                        Some(tls)
                            if !write_failed
                                && Box::pin(start_tls(&mut connection.stream, tls)).await =>
                        {
                            answer = Some(Input::TlsStarted);
                        }
                        _ => end_session = true,
                    }
                }
                Output::Request(Request::Authenticate(attempt)) => {
                    answer = Some(Input::Authenticated(
                        Box::pin(store.authenticate(attempt, client)).await,
                    ));
                }
                Output::Request(Request::LookUpBlocklists(queries)) => {
                    let names = queries.into_iter().map(|q| q.name).collect();
                    answer = Some(Input::BlocklistsLookedUp(
                        Box::pin(store.look_up_blocklists(names)).await,
                    ));
                }
                Output::Request(Request::CheckGreylist(triplet, policy)) => {
                    answer = Some(Input::GreylistChecked(
                        store.check_greylist(&triplet, &policy),
                    ));
                }
                Output::Request(Request::LookUpSenderLists(mailbox)) => {
                    // Lists that cannot be read refuse nobody: delivery
                    // meets the same file, logs it and keeps the mail.
                    let lists = match Box::pin(store.mailbox_rules(&mailbox)).await {
                        Ok(rules) => rules.sender_lists(),
                        Err(error) => {
                            tracing::warn!(to = %mailbox, "the sender lists of {mailbox} cannot be read ({error}); nobody is refused for it");
                            Default::default()
                        }
                    };
                    answer = Some(Input::SenderListsLookedUp(lists));
                }
                Output::Request(Request::CheckRecipient(forward_path)) => {
                    answer = Some(Input::RecipientChecked(store.resolve(&forward_path)));
                }
                Output::Request(Request::OpenMessage(envelope)) => {
                    answer = Some(Input::MessageOpened(
                        match Box::pin(store.open(envelope)).await {
                            Ok((opened, opened_message)) => {
                                message = Some(opened_message);
                                message_failed = false;
                                Ok(opened)
                            }
                            Err(error) => {
                                tracing::error!(%error, "cannot open a spool file");
                                Err(StoreFailure)
                            }
                        },
                    ));
                }
                Output::MessageData(data) => {
                    if let Some(open) = message.as_mut()
                        && !message_failed
                        && let Err(error) = Box::pin(open.write(&data)).await
                    {
                        tracing::error!(%error, "cannot write to a spool file");
                        message_failed = true;
                    }
                }
                Output::Request(Request::CheckSender(request)) => {
                    answer = Some(Input::SenderChecked(
                        Box::pin(store.check_sender(request, client)).await,
                    ));
                }
                Output::Request(Request::CheckMessage(request)) => {
                    let findings = match message.as_mut() {
                        Some(open) if !message_failed => {
                            Box::pin(store.check_message(request, client, open)).await
                        }
                        // The commit will fail; nothing to check.
                        _ => Findings::default(),
                    };
                    answer = Some(Input::MessageChecked(findings));
                }
                Output::Trace(fields) => {
                    if let Some(open) = message.as_mut() {
                        open.set_trace(fields);
                    }
                }
                Output::Quarantine => {
                    if let Some(open) = message.as_mut() {
                        open.set_junk();
                    }
                }
                Output::Request(Request::CommitMessage) => {
                    answer = Some(Input::MessageCommitted(
                        Box::pin(commit(message.take(), message_failed)).await,
                    ));
                }
                Output::AbortMessage => {
                    if let Some(open) = message.take() {
                        Box::pin(open.abort()).await;
                    }
                }
                Output::Close => close = true,
                Output::Event(event) => on_event(&event),
            }
        }
        // A request's answer goes in even after a stall, so that what was
        // committed is logged; nothing more is written.
        if let Some(input) = answer {
            machine.handle_input(clock.now(), input);
            continue;
        }
        if !write_failed && !close {
            let flushed = bounded(send_by, connection.flush()).await;
            note_write(flushed, &mut write_failed, &mut stalled);
        }
        if stalled {
            report_stall(&mut machine, clock, &mut on_event);
            break;
        }
        if end_session || close || write_failed {
            break;
        }
        let deadline = machine.poll_timeout();
        let space = buffer.space();
        let input = next_input(
            &mut connection.stream,
            space,
            deadline,
            clock,
            &mut shutdown,
        )
        .await;
        match input {
            NextInput::Bytes(n) => machine.handle_input(clock.now(), Input::Bytes(buffer.read(n))),
            NextInput::End => machine.handle_input(clock.now(), Input::EndOfInput),
            NextInput::Timer => machine.handle_input(clock.now(), Input::TimerFired),
            NextInput::Shutdown => machine.handle_input(clock.now(), Input::Shutdown),
        }
    }
    if let Some(open) = message.take() {
        open.abort().await;
    }
    if !stalled {
        // The last reply is flushed here, and TLS sends its close_notify.
        let send_by = clock.to_tokio(machine.send_deadline());
        if let WriteResult::Stalled = bounded(send_by, connection.shutdown()).await {
            report_stall(&mut machine, clock, &mut on_event);
        }
    }
}

/// A session's replies: gathered while the machine speaks, written when
/// it has said all it has to say (or [`WRITE_BUFFER_BYTES`] are waiting),
/// then let go. An idle session holds no write buffer at all: a reply is
/// one small allocation, 10,000 idle sessions are 10 MB less.
struct Replies<S> {
    stream: S,
    pending: Vec<u8>,
}

impl<S: AsyncWrite + Unpin> Replies<S> {
    fn new(stream: S) -> Self {
        Replies {
            stream,
            pending: Vec::new(),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= WRITE_BUFFER_BYTES {
            self.stream.write_all(&self.pending).await?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Writes what is waiting and lets the buffer go.
    async fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.stream.write_all(&self.pending).await?;
        }
        self.pending = Vec::new();
        self.stream.flush().await
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        self.flush().await?;
        self.stream.shutdown().await
    }
}

pub(crate) enum WriteResult {
    Done,
    Failed,
    Stalled,
}

/// Runs a write, flush or shutdown, giving up at `deadline`.
pub(crate) async fn bounded(
    deadline: tokio::time::Instant,
    io: impl Future<Output = io::Result<()>>,
) -> WriteResult {
    match tokio::time::timeout_at(deadline, io).await {
        Ok(Ok(())) => WriteResult::Done,
        Ok(Err(_)) => WriteResult::Failed,
        Err(_) => WriteResult::Stalled,
    }
}

pub(crate) fn note_write(result: WriteResult, write_failed: &mut bool, stalled: &mut bool) {
    match result {
        WriteResult::Done => {}
        WriteResult::Failed => *write_failed = true,
        WriteResult::Stalled => {
            *write_failed = true;
            *stalled = true;
        }
    }
}

/// Tells the machine that its output could not be written in time, and
/// passes on the event it reports; the session is over.
fn report_stall(machine: &mut Server, clock: Clock, on_event: &mut impl FnMut(&Event)) {
    machine.handle_input(clock.now(), Input::SendTimedOut);
    while let Some(output) = machine.poll_output() {
        // The open message, if any, is aborted by the caller; nothing is
        // written any more.
        if let Output::Event(event) = output {
            on_event(&event);
        }
    }
}

/// Runs the server side of a TLS handshake on `connection`, in place;
/// false if it failed, and the connection is then unusable.
pub(crate) async fn start_tls<S>(connection: &mut Transport<S>, tls: &ServerTls) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Transport::Plain(stream) = std::mem::replace(connection, Transport::Closed) else {
        unreachable!("the machine starts TLS once, on a plain connection");
    };
    match tls.accept(stream).await {
        Ok(encrypted) => {
            if let Some(description) = encrypted.describe() {
                tracing::debug!("TLS handshake done: {description}");
            }
            *connection = encrypted;
            true
        }
        Err(error) => {
            tracing::info!(%error, "TLS handshake failed");
            false
        }
    }
}

async fn commit<T: StoredMessage>(message: Option<T>, failed: bool) -> Result<(), StoreFailure> {
    let Some(message) = message else {
        return Err(StoreFailure);
    };
    if failed {
        message.abort().await;
        return Err(StoreFailure);
    }
    message.commit().await.map_err(|error| {
        tracing::error!(%error, "cannot commit a spool file");
        StoreFailure
    })
}

pub(crate) enum NextInput {
    Bytes(usize),
    End,
    Timer,
    Shutdown,
}

/// Waits for whichever comes first: bytes, the machine's deadline, or
/// shutdown.
/// A session's read buffer: small while the client sends commands, grown
/// to [`READ_CHUNK_BYTES`] the first time a read fills it, so that idle
/// sessions (the many) hold little and a message's data (the few) is
/// read in large chunks.
pub(crate) struct ReadBuffer {
    bytes: Vec<u8>,
}

impl ReadBuffer {
    pub(crate) fn new() -> Self {
        ReadBuffer {
            bytes: vec![0; READ_BUFFER_BYTES_INITIAL],
        }
    }

    /// Where the next read goes.
    pub(crate) fn space(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The `n` bytes the last read put in [`ReadBuffer::space`]. A read
    /// that filled the space makes it grow for the next one.
    pub(crate) fn read(&mut self, n: usize) -> &[u8] {
        if n == self.bytes.len() && n < READ_CHUNK_BYTES {
            let grown = (n * 4).min(READ_CHUNK_BYTES);
            let mut bytes = vec![0; grown];
            bytes[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = bytes;
        }
        &self.bytes[..n]
    }
}

pub(crate) async fn next_input<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut [u8],
    deadline: Option<Instant>,
    clock: Clock,
    shutdown: &mut watch::Receiver<bool>,
) -> NextInput {
    if *shutdown.borrow() {
        return NextInput::Shutdown;
    }
    let timer = clock.sleep_until(deadline);
    tokio::select! {
        read = reader.read(buffer) => match read {
            Ok(0) | Err(_) => NextInput::End,
            Ok(n) => NextInput::Bytes(n),
        },
        () = timer => NextInput::Timer,
        _ = shutdown.wait_for(|stop| *stop) => NextInput::Shutdown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_buffer_grows_only_when_a_read_fills_it() {
        let mut buffer = ReadBuffer::new();
        assert_eq!(buffer.space().len(), READ_BUFFER_BYTES_INITIAL);
        buffer.space()[..5].copy_from_slice(b"EHLO ");
        assert_eq!(buffer.read(5), b"EHLO ");
        assert_eq!(buffer.space().len(), READ_BUFFER_BYTES_INITIAL);
        let mut sizes = Vec::new();
        loop {
            let space = buffer.space();
            let n = space.len();
            space.fill(b'x');
            space[n - 1] = b'!';
            let read = buffer.read(n);
            assert_eq!(read.len(), n);
            assert_eq!(read[n - 1], b'!', "what was read survives the growth");
            sizes.push(n);
            if n == READ_CHUNK_BYTES {
                break;
            }
        }
        assert_eq!(sizes, [512, 2048, 8192, READ_CHUNK_BYTES]);
        assert_eq!(
            buffer.space().len(),
            READ_CHUNK_BYTES,
            "no growth past the chunk"
        );
    }
}
