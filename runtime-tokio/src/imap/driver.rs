//! The IMAP session driver: runs an [`ImapServer`] over any byte stream,
//! as [`crate::driver::run_session`] runs the SMTP machine, with the same
//! clock, bounded writes and TLS upgrade.
//!
//! The loop: drain every output; carry out a request when there is one
//! and hand in its answer; otherwise flush and wait for bytes (only while
//! the machine wants them: a pipelining client waits in its socket
//! buffer), the machine's timer, shutdown, or a change to the selected
//! folder (the store's watch, which IDLE reports at once).

use super::RecentClaims;
use super::requests::UserStore;
use crate::driver::{Backend, Clock, WriteResult, bounded, note_write, start_tls};
use crate::mailstore::MailboxStore;
use crate::tls::{ServerTls, Transport};
use postern_core::address::{ForwardPath, parse_mailbox};
use postern_core::auth::AuthVerdict;
use postern_core::directory::RecipientVerdict;
use postern_core::envelope::LocalMailbox;
use postern_core::imap::session::{Event, ImapServer, Input, Output, Request, StoreFailure};
use postern_core::limits::READ_CHUNK_BYTES;
use postern_core::mailbox::ModSeq;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::watch;

/// What woke the driver while it waited.
enum Woken {
    Bytes(usize),
    End,
    Timer,
    Shutdown,
    FolderChanged,
}

/// Runs `machine` over `stream` until the session closes; see
/// [`crate::driver::run_session`] for `tls`, `shutdown` and `on_event`.
/// `store` holds the mailboxes; `read_limit` bounds a message read whole.
#[allow(clippy::too_many_arguments)]
pub async fn run_imap_session<S, B, M>(
    stream: Transport<S>,
    mut machine: ImapServer,
    backend: &B,
    store: &M,
    recent: &RecentClaims,
    read_limit: u64,
    tls: Option<&ServerTls>,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
    mut on_event: impl FnMut(&Event),
) where
    S: AsyncRead + AsyncWrite + Unpin,
    B: Backend,
    M: MailboxStore,
{
    let client = machine.info().remote.ip();
    let mut connection = BufWriter::new(stream);
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    let mut mailbox: Option<LocalMailbox> = None;
    let mut login = String::new();
    // The list archives the user may read, looked up again before each
    // LIST and SELECT (a subscription may have changed meanwhile).
    let mut archives: Vec<crate::lists::SharedArchive> = Vec::new();
    let mut selected: Option<watch::Receiver<ModSeq>> = None;
    let mut write_failed = false;
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
                    if !write_failed {
                        let flushed = bounded(send_by, connection.flush()).await;
                        note_write(flushed, &mut write_failed, &mut stalled);
                    }
                    match tls {
                        Some(tls)
                            if !write_failed && start_tls(connection.get_mut(), tls).await =>
                        {
                            answer = Some(Input::TlsStarted);
                        }
                        _ => end_session = true,
                    }
                }
                Output::Request(Request::Authenticate(attempt)) => {
                    let verdict = backend.authenticate(attempt, client).await;
                    crate::metrics::global()
                        .login_verdict(crate::metrics::LoginProtocol::Imap, &verdict);
                    if let AuthVerdict::Accepted(identity) = &verdict {
                        mailbox = local_mailbox(backend, &identity.login);
                        login.clone_from(&identity.login);
                    }
                    answer = Some(Input::Authenticated(verdict));
                }
                Output::Request(request) => {
                    if let Some(mailbox) = &mailbox
                        && matches!(request, Request::Open { .. } | Request::Folders)
                    {
                        archives = backend.readable_archives(&login, mailbox).await;
                    }
                    if let Request::Open { folder, .. } = &request
                        && let Some(mailbox) = &mailbox
                        && let Ok((owner, folder)) =
                            super::requests::place(mailbox, &archives, folder)
                    {
                        let mut watch = store.watch(owner, folder);
                        watch.borrow_and_update();
                        selected = Some(watch);
                    }
                    answer = Some(match &mailbox {
                        Some(mailbox) => {
                            let user = UserStore {
                                store,
                                mailbox,
                                recent,
                                archives: &archives,
                                read_limit,
                            };
                            user.carry_out(request).await
                        }
                        None => no_mailbox(request),
                    });
                }
                Output::Close => close = true,
                Output::Event(event) => on_event(&event),
            }
        }
        if stalled {
            report_stall(&mut machine, clock, &mut on_event);
            break;
        }
        if end_session || write_failed {
            break;
        }
        if let Some(input) = answer {
            machine.handle_input(clock.now(), input);
            continue;
        }
        if close {
            break;
        }
        let flushed = bounded(send_by, connection.flush()).await;
        note_write(flushed, &mut write_failed, &mut stalled);
        if stalled {
            report_stall(&mut machine, clock, &mut on_event);
            break;
        }
        if write_failed {
            break;
        }
        let deadline = machine.poll_timeout();
        let woken = wait(
            &mut connection,
            &mut buffer,
            machine.wants_input(),
            selected.as_mut(),
            deadline,
            clock,
            &mut shutdown,
        )
        .await;
        let input = match woken {
            Woken::Bytes(n) => Input::Bytes(&buffer[..n]),
            Woken::End => Input::EndOfInput,
            Woken::Timer => Input::TimerFired,
            Woken::Shutdown => Input::Shutdown,
            Woken::FolderChanged => Input::FolderChanged,
        };
        machine.handle_input(clock.now(), input);
    }
    if !stalled {
        let send_by = clock.to_tokio(machine.send_deadline());
        if let WriteResult::Stalled = bounded(send_by, connection.shutdown()).await {
            report_stall(&mut machine, clock, &mut on_event);
        }
    }
}

/// Waits for the next thing the machine must hear of: bytes (only when it
/// wants them), its timer, shutdown, or a change to the selected folder.
async fn wait<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut [u8],
    wants_input: bool,
    selected: Option<&mut watch::Receiver<ModSeq>>,
    deadline: Option<postern_core::time::Instant>,
    clock: Clock,
    shutdown: &mut watch::Receiver<bool>,
) -> Woken {
    if *shutdown.borrow() {
        return Woken::Shutdown;
    }
    let timer = clock.sleep_until(deadline);
    let changed = async {
        match selected {
            // A store that went away changes nothing more.
            Some(watch) => match watch.changed().await {
                Ok(()) => {}
                Err(_) => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    };
    let read = async {
        if wants_input {
            reader.read(buffer).await
        } else {
            std::future::pending().await
        }
    };
    tokio::select! {
        read = read => match read {
            Ok(0) | Err(_) => Woken::End,
            Ok(n) => Woken::Bytes(n),
        },
        () = timer => Woken::Timer,
        _ = shutdown.wait_for(|stop| *stop) => Woken::Shutdown,
        () = changed => Woken::FolderChanged,
    }
}

/// The mailbox a login reads: the account's address resolved through the
/// directory to a local mailbox.
fn local_mailbox<B: Backend>(backend: &B, login: &str) -> Option<LocalMailbox> {
    let forward_path = parse_mailbox(login).map(ForwardPath::Mailbox).ok()?;
    match backend.resolve(&forward_path) {
        RecipientVerdict::Local(mailbox) => Some(mailbox),
        _ => {
            tracing::warn!(
                login = %login.escape_debug(),
                "this account has no local mailbox: its IMAP requests fail"
            );
            None
        }
    }
}

/// The answer to a request from a login without a local mailbox.
fn no_mailbox(request: Request) -> Input<'static> {
    let failed = StoreFailure::Failed;
    match request {
        Request::Authenticate(_) => unreachable!("answered before"),
        Request::Open { .. } => Input::Opened(Err(failed)),
        Request::Changes { .. } => Input::Changes(Err(failed)),
        Request::Read { .. } => Input::Message(Err(failed)),
        Request::Append { .. } => Input::Appended(Err(failed)),
        Request::StoreFlags { .. } => Input::FlagsStored(Err(failed)),
        Request::Expunge { .. } => Input::Expunged(Err(failed)),
        Request::Copy { .. } => Input::Copied(Err(failed)),
        Request::Move { .. } => Input::Moved(Err(failed)),
        Request::Folders => Input::Folders(Err(failed)),
        Request::Subscriptions => Input::Subscriptions(Err(failed)),
        Request::Usage => Input::Usage(Err(failed)),
        Request::CreateFolder { .. }
        | Request::DeleteFolder { .. }
        | Request::RenameFolder { .. }
        | Request::Subscribe { .. } => Input::Done(Err(failed)),
    }
}

fn report_stall(machine: &mut ImapServer, clock: Clock, on_event: &mut impl FnMut(&Event)) {
    machine.handle_input(clock.now(), Input::SendTimedOut);
    while let Some(output) = machine.poll_output() {
        if let Output::Event(event) = output {
            on_event(&event);
        }
    }
}
