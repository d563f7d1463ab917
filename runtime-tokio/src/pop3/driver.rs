//! The POP3 session driver: runs a [`Pop3Server`] over any byte stream,
//! as [`crate::driver::run_session`] runs the SMTP machine, with the same
//! clock, bounded writes and TLS upgrade.
//!
//! The loop: drain every output; answer a request when there is one; while
//! the machine is retrieving, hand it the next chunk of the message;
//! otherwise flush and wait for bytes, the machine's timer or shutdown.
//! The maildrop's handle, and with it its lock, lives in this function:
//! it is dropped when the session ends, however it ends.

use super::{MaildropHandle, Maildrops};
use crate::driver::{
    Backend, Clock, NextInput, WriteResult, bounded, next_input, note_write, start_tls,
};
use crate::tls::{ServerTls, Transport};
use postern_core::address::{ForwardPath, parse_mailbox};
use postern_core::directory::RecipientVerdict;
use postern_core::limits::{POP3_MESSAGE_CHUNK_BYTES, READ_CHUNK_BYTES};
use postern_core::pop3::{
    Event, Input, Maildrop, MaildropFailure, Output, Pop3Server, Request, UpdateFailure,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::watch;

type Handle<B> = <<B as Backend>::Maildrops as Maildrops>::Handle;
type Reader<B> = <Handle<B> as MaildropHandle>::Reader;

/// An answer to hand in, owning what it carries.
enum Answer {
    Input(Input<'static>),
    /// `n` octets of the message, in the chunk buffer.
    Chunk(usize),
}

/// Runs `machine` over `stream` until the session closes; see
/// [`crate::driver::run_session`] for `tls`, `shutdown` and `on_event`.
pub async fn run_pop3_session<S, B>(
    stream: Transport<S>,
    mut machine: Pop3Server,
    backend: &B,
    tls: Option<&ServerTls>,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
    mut on_event: impl FnMut(&Event),
) where
    S: AsyncRead + AsyncWrite + Unpin,
    B: Backend,
{
    let client = machine.info().remote.ip();
    let mut connection = BufWriter::new(stream);
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    let mut chunk = vec![0u8; POP3_MESSAGE_CHUNK_BYTES];
    let mut handle: Option<Handle<B>> = None;
    let mut reader: Option<Reader<B>> = None;
    let mut write_failed = false;
    let mut stalled = false;
    loop {
        let mut answer: Option<Answer> = None;
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
                            answer = Some(Answer::Input(Input::TlsStarted));
                        }
                        _ => end_session = true,
                    }
                }
                Output::Request(Request::Authenticate(attempt)) => {
                    let verdict = backend.authenticate(attempt, client).await;
                    crate::metrics::global()
                        .login_verdict(crate::metrics::LoginProtocol::Pop3, &verdict);
                    answer = Some(Answer::Input(Input::Authenticated(verdict)));
                }
                Output::Request(Request::OpenMaildrop { login }) => {
                    let opened = match open_maildrop(backend, &login).await {
                        Ok((maildrop, opened)) => {
                            handle = Some(opened);
                            Ok(maildrop)
                        }
                        Err(failure) => Err(failure),
                    };
                    answer = Some(Answer::Input(Input::MaildropOpened(opened)));
                }
                Output::Request(Request::Retrieve { uid }) => {
                    reader = None;
                    match handle.as_ref() {
                        Some(open) => match open.read(uid).await {
                            Ok(opened) => reader = Some(opened),
                            Err(error) => {
                                tracing::warn!(%error, uid, "cannot read a message");
                                answer = Some(Answer::Input(Input::MessageUnavailable));
                            }
                        },
                        None => answer = Some(Answer::Input(Input::MessageUnavailable)),
                    }
                }
                Output::Request(Request::Update { expunge, seen }) => {
                    let updated = match handle.as_mut() {
                        Some(open) => open.update(&expunge, &seen).await.map_err(|error| {
                            tracing::error!(%error, "cannot update a maildrop");
                            UpdateFailure
                        }),
                        None => Err(UpdateFailure),
                    };
                    answer = Some(Answer::Input(Input::Updated(updated)));
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
        if answer.is_none() && machine.is_retrieving() {
            answer = Some(next_chunk(reader.as_mut(), &mut chunk).await);
        }
        match answer {
            Some(Answer::Input(input)) => {
                machine.handle_input(clock.now(), input);
                continue;
            }
            Some(Answer::Chunk(n)) => {
                machine.handle_input(clock.now(), Input::MessageChunk(&chunk[..n]));
                continue;
            }
            None => reader = None,
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
        let input = next_input(&mut connection, &mut buffer, deadline, clock, &mut shutdown).await;
        match input {
            NextInput::Bytes(n) => machine.handle_input(clock.now(), Input::Bytes(&buffer[..n])),
            NextInput::End => machine.handle_input(clock.now(), Input::EndOfInput),
            NextInput::Timer => machine.handle_input(clock.now(), Input::TimerFired),
            NextInput::Shutdown => machine.handle_input(clock.now(), Input::Shutdown),
        }
    }
    // The lock goes before the goodbye is flushed: a client that reconnects
    // at once finds the maildrop free.
    drop(reader);
    drop(handle);
    if !stalled {
        let send_by = clock.to_tokio(machine.send_deadline());
        if let WriteResult::Stalled = bounded(send_by, connection.shutdown()).await {
            report_stall(&mut machine, clock, &mut on_event);
        }
    }
}

/// The next piece of the message being sent, its end, or the news that it
/// cannot be read.
async fn next_chunk<R: AsyncRead + Unpin>(reader: Option<&mut R>, chunk: &mut [u8]) -> Answer {
    let Some(reader) = reader else {
        return Answer::Input(Input::MessageUnavailable);
    };
    match reader.read(chunk).await {
        Ok(0) => Answer::Input(Input::MessageEnd),
        Ok(n) => Answer::Chunk(n),
        Err(error) => {
            tracing::warn!(%error, "reading a message failed");
            Answer::Input(Input::MessageUnavailable)
        }
    }
}

/// The login's mailbox, through the directory (the login is an address
/// that resolves to a local mailbox), locked and opened.
async fn open_maildrop<B: Backend>(
    backend: &B,
    login: &str,
) -> Result<(Maildrop, Handle<B>), MaildropFailure> {
    let mailbox = match parse_mailbox(login).map(ForwardPath::Mailbox) {
        Ok(forward_path) => match backend.resolve(&forward_path) {
            RecipientVerdict::Local(mailbox) => Some(mailbox),
            _ => None,
        },
        Err(_) => None,
    };
    let Some(mailbox) = mailbox else {
        tracing::warn!(
            login = %login.escape_debug(),
            "this account has no local mailbox: no maildrop for POP3"
        );
        return Err(MaildropFailure::Unavailable);
    };
    backend.maildrops().open(&mailbox).await
}

fn report_stall(machine: &mut Pop3Server, clock: Clock, on_event: &mut impl FnMut(&Event)) {
    machine.handle_input(clock.now(), Input::SendTimedOut);
    while let Some(output) = machine.poll_output() {
        if let Output::Event(event) = output {
            on_event(&event);
        }
    }
}
