//! The FTP session driver: runs an [`FtpServer`] over the control
//! connection, as [`crate::pop3::run_pop3_session`] runs POP3, with the
//! same clock, bounded writes and TLS upgrade, and carries out its file
//! requests and transfers.
//!
//! The loop: drain every output; answer a request when there is one;
//! otherwise flush and wait for control bytes, the machine's timer,
//! shutdown, or (while a transfer runs) the transfer's end. A transfer
//! runs beside the control connection so that ABOR is read and acted on
//! while it goes; the machine's [`Output::AbortTransfer`] stops it, and
//! its result still comes back as [`Input::TransferDone`].

use super::data::{TransferContext, open_passive, run_transfer};
use super::{DataListener, DataNetwork, FtpFiles, FtpHome};
use crate::driver::{
    Backend, Clock, NextInput, WriteResult, bounded, next_input, note_write, start_tls,
};
use crate::tls::{ServerTls, Transport};
use postern_core::ftp::data::PortRange;
use postern_core::ftp::{
    Event, FileFailure, FileRequest, FtpServer, Input, Output, PassiveFailure, Request,
    TransferFailure,
};
use postern_core::limits::READ_CHUNK_BYTES;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::watch;

/// How long a session's last transfer gets to stop and clean up after
/// the session has ended.
const TRANSFER_STOP_TIME: Duration = Duration::from_secs(5);

/// What the driver needs beyond the machine: the instance's data
/// connection settings.
#[derive(Clone, Copy, Debug)]
pub struct FtpRuntime {
    pub passive_ports: Option<PortRange>,
    pub data_timeout: Duration,
}

type Home<B> = <<B as Backend>::FtpFiles as FtpFiles>::Home;
type Listener<B> = <<B as Backend>::FtpNetwork as DataNetwork>::Listener;
type TransferFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, TransferFailure>> + Send + 'a>>;

/// Runs `machine` over `stream` until the session closes; see
/// [`crate::driver::run_session`] for `tls`, `shutdown` and `on_event`.
#[allow(clippy::too_many_arguments)]
pub async fn run_ftp_session<S, B>(
    stream: Transport<S>,
    mut machine: FtpServer,
    backend: &B,
    tls: Option<&ServerTls>,
    settings: FtpRuntime,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
    mut on_event: impl FnMut(&Event),
) where
    S: AsyncRead + AsyncWrite + Unpin,
    B: Backend,
{
    let info = machine.info();
    let (local, peer) = (info.local.ip(), info.remote.ip());
    let mut connection = BufWriter::new(stream);
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    let mut home: Option<Home<B>> = None;
    let mut passive: Option<Listener<B>> = None;
    let network = backend.ftp_network();
    let mut transfer: Option<TransferFuture<'_>> = None;
    let (abort, aborting) = watch::channel(false);
    let mut control_ended = false;
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
                    let verdict = backend.authenticate(attempt, peer).await;
                    crate::metrics::global()
                        .login_verdict(crate::metrics::LoginProtocol::Ftp, &verdict);
                    answer = Some(Input::Authenticated(verdict));
                }
                Output::Request(Request::OpenHome { home: name, .. }) => {
                    let opened = backend.ftp_files().open_home(&name).await;
                    answer = Some(Input::HomeOpened(opened.map(|opened| {
                        home = Some(opened);
                    })));
                }
                Output::Request(Request::File(request)) => {
                    answer = Some(match &home {
                        Some(home) => home.answer(request).await,
                        None => unavailable(&request),
                    });
                }
                Output::Request(Request::OpenPassive) => {
                    passive = None;
                    let start = clock.now().as_nanos();
                    let opened = open_passive(network, local, settings.passive_ports, start).await;
                    let opened = match opened {
                        Ok(listener) => match listener.port() {
                            Ok(port) => {
                                passive = Some(listener);
                                Ok(port)
                            }
                            Err(_) => Err(PassiveFailure),
                        },
                        Err(error) => {
                            tracing::warn!(%error, "no FTP passive port could be opened");
                            Err(PassiveFailure)
                        }
                    };
                    answer = Some(Input::PassiveOpened(opened));
                }
                Output::Request(Request::Transfer(request)) => match home.clone() {
                    Some(home) => {
                        let _ = abort.send(false);
                        let context = TransferContext {
                            home,
                            network,
                            passive: passive.take(),
                            local,
                            peer,
                            timeout: settings.data_timeout,
                            tls,
                            abort: aborting.clone(),
                        };
                        transfer = Some(Box::pin(run_transfer(context, request)));
                    }
                    None => {
                        answer = Some(Input::TransferDone(Err(TransferFailure::File(
                            FileFailure::Unavailable,
                        ))))
                    }
                },
                Output::ClosePassive => passive = None,
                Output::AbortTransfer => {
                    let _ = abort.send(true);
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
        // The 150 before a transfer reaches the client before it starts.
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
        let input = match transfer.as_mut() {
            Some(running) => {
                tokio::select! {
                    result = running => {
                        transfer = None;
                        machine.handle_input(clock.now(), Input::TransferDone(result));
                        continue;
                    }
                    read = connection.read(&mut buffer), if !control_ended => match read {
                        Ok(0) | Err(_) => {
                            control_ended = true;
                            NextInput::End
                        }
                        Ok(n) => NextInput::Bytes(n),
                    },
                    () = clock.sleep_until(deadline) => NextInput::Timer,
                    _ = shutdown.wait_for(|stop| *stop) => NextInput::Shutdown,
                }
            }
            None => next_input(&mut connection, &mut buffer, deadline, clock, &mut shutdown).await,
        };
        match input {
            NextInput::Bytes(n) => machine.handle_input(clock.now(), Input::Bytes(&buffer[..n])),
            NextInput::End => machine.handle_input(clock.now(), Input::EndOfInput),
            NextInput::Timer => machine.handle_input(clock.now(), Input::TimerFired),
            NextInput::Shutdown => machine.handle_input(clock.now(), Input::Shutdown),
        }
    }
    // A transfer still running is stopped, so that a partial upload is
    // thrown away rather than left behind.
    if let Some(running) = transfer.take() {
        let _ = abort.send(true);
        let _ = tokio::time::timeout(TRANSFER_STOP_TIME, running).await;
    }
    drop(passive);
    if !stalled {
        let send_by = clock.to_tokio(machine.send_deadline());
        if let WriteResult::Stalled = bounded(send_by, connection.shutdown()).await {
            report_stall(&mut machine, clock, &mut on_event);
        }
    }
}

/// The answer to a file request made without a home (a bug in the
/// machine, which asks only after login): a temporary failure.
fn unavailable(request: &FileRequest) -> Input<'static> {
    let failure = FileFailure::Unavailable;
    match request {
        FileRequest::Stat(_) => Input::Stat(Err(failure)),
        FileRequest::List(_) => Input::Listed(Err(failure)),
        FileRequest::Usage => Input::Usage(Err(failure)),
        _ => Input::FileDone(Err(failure)),
    }
}

fn report_stall(machine: &mut FtpServer, clock: Clock, on_event: &mut impl FnMut(&Event)) {
    machine.handle_input(clock.now(), Input::SendTimedOut);
    while let Some(output) = machine.poll_output() {
        if let Output::Event(event) = output {
            on_event(&event);
        }
    }
}
