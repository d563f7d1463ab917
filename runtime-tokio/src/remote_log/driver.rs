//! The remote-log session driver: runs a [`RemoteLogServer`] over any byte
//! stream, as [`crate::driver::run_session`] runs the SMTP machine (the
//! same clock, bounded writes and TLS upgrade), and carries out its
//! requests against the [`feed`](super::feed).
//!
//! The loop: drain every output; answer a request when there is one;
//! otherwise flush and wait for whichever comes first: bytes, the
//! machine's timer, shutdown, or (while following) new lines in the
//! session's buffer. A client that reads slowly holds up only its own
//! writes; lines that arrive meanwhile wait in its bounded buffer or are
//! counted dropped.

use super::feed::{LogFeed, Subscription};
use crate::driver::{Backend, Clock, WriteResult, bounded, note_write, start_tls};
use crate::tls::{ServerTls, Transport};
use postern_core::auth::AuthVerdict;
use postern_core::limits::{READ_CHUNK_BYTES, REMOTE_LOG_BATCH_LINES_MAX};
use postern_core::remote_log::{Event, Input, Output, RemoteLogServer, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::watch;

/// What the session waits for.
enum Next {
    Bytes(usize),
    End,
    Timer,
    Shutdown,
    Live,
}

/// Runs `machine` over `stream` until the session closes; see
/// [`crate::driver::run_session`] for `tls`, `shutdown` and `on_event`.
/// `buffer_lines` bounds the lines waiting for this client.
#[allow(clippy::too_many_arguments)]
pub async fn run_remote_log_session<S, B>(
    stream: Transport<S>,
    mut machine: RemoteLogServer,
    backend: &B,
    feed: &LogFeed,
    buffer_lines: usize,
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
    let mut subscription: Option<Subscription> = None;
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
                    let login = attempt.login.clone();
                    let verdict = backend.authenticate(attempt, client).await;
                    crate::metrics::global()
                        .login_verdict(crate::metrics::LoginProtocol::RemoteLog, &verdict);
                    // Asked only once the password is right, so that the
                    // answer tells a guesser nothing.
                    let admin =
                        matches!(verdict, AuthVerdict::Accepted(_)) && backend.is_admin(&login);
                    answer = Some(Input::Authenticated { verdict, admin });
                }
                Output::Request(Request::Recent { lines, filter }) => {
                    answer = Some(Input::Recent(feed.recent(lines, &filter)));
                }
                Output::Request(Request::Follow { backlog, filter }) => {
                    let (lines, subscribed) = feed.subscribe(backlog, filter, buffer_lines);
                    subscription = Some(subscribed);
                    answer = Some(Input::Recent(lines));
                }
                Output::SetFilter(filter) => {
                    if let Some(subscription) = &subscription {
                        subscription.set_filter(filter);
                    }
                }
                Output::Unfollow => subscription = None,
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
        // Lines that came while the last ones were written go out before
        // the session waits.
        if let Some(subscription) = &subscription {
            let entries = subscription.take(REMOTE_LOG_BATCH_LINES_MAX);
            if !entries.is_empty() {
                machine.handle_input(clock.now(), Input::Live(entries));
                continue;
            }
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
        let next = {
            let live = async {
                match &subscription {
                    Some(subscription) => subscription.ready().await,
                    None => std::future::pending().await,
                }
            };
            if *shutdown.borrow() {
                Next::Shutdown
            } else {
                tokio::select! {
                    read = connection.read(&mut buffer) => match read {
                        Ok(0) | Err(_) => Next::End,
                        Ok(n) => Next::Bytes(n),
                    },
                    () = clock.sleep_until(machine.poll_timeout()) => Next::Timer,
                    _ = shutdown.wait_for(|stop| *stop) => Next::Shutdown,
                    () = live => Next::Live,
                }
            }
        };
        match next {
            Next::Bytes(n) => machine.handle_input(clock.now(), Input::Bytes(&buffer[..n])),
            Next::End => machine.handle_input(clock.now(), Input::EndOfInput),
            Next::Timer => machine.handle_input(clock.now(), Input::TimerFired),
            Next::Shutdown => machine.handle_input(clock.now(), Input::Shutdown),
            // Taken at the top of the loop.
            Next::Live => {}
        }
    }
    drop(subscription);
    if !stalled {
        let send_by = clock.to_tokio(machine.send_deadline());
        if let WriteResult::Stalled = bounded(send_by, connection.shutdown()).await {
            report_stall(&mut machine, clock, &mut on_event);
        }
    }
}

fn report_stall(machine: &mut RemoteLogServer, clock: Clock, on_event: &mut impl FnMut(&Event)) {
    machine.handle_input(clock.now(), Input::SendTimedOut);
    while let Some(output) = machine.poll_output() {
        if let Output::Event(event) = output {
            on_event(&event);
        }
    }
}
