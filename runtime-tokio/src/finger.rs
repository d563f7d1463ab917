//! Finger at run time: the session driver ([`run_finger_session`]) and
//! what a finger query reads ([`user_info`]): the accounts file for the
//! real name and plan, and the user's INBOX in the mailbox store for the
//! mail waiting.
//!
//! The protocol, who is hidden and what is shown are decided in
//! `postern_core::finger`; this module carries out its requests.

use crate::driver::{Backend, Clock, NextInput, WriteResult, bounded, next_input, note_write};
use crate::mailstore::{INBOX, MailboxStore};
use crate::tls::Transport;
use postern_core::accounts::{Account, Accounts};
use postern_core::address::{ForwardPath, parse_mailbox};
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::finger::{Event, FingerServer, Input, MailStatus, Output, Request, UserInfo};
use postern_core::limits::READ_CHUNK_BYTES;
use postern_core::mailbox::Flag;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::watch;

/// Runs `machine` over `stream` until the session closes, as
/// [`crate::driver::run_session`] runs the SMTP machine: bounded writes,
/// the machine's timer, shutdown.
pub async fn run_finger_session<S, B>(
    stream: Transport<S>,
    mut machine: FingerServer,
    backend: &B,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
    mut on_event: impl FnMut(&Event),
) where
    S: AsyncRead + AsyncWrite + Unpin,
    B: Backend,
{
    let mut connection = BufWriter::new(stream);
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    let mut write_failed = false;
    let mut stalled = false;
    loop {
        let mut answer: Option<Vec<UserInfo>> = None;
        let mut close = false;
        let send_by = clock.to_tokio(machine.send_deadline());
        while let Some(output) = machine.poll_output() {
            match output {
                Output::Send(bytes) => {
                    if !write_failed {
                        let written = bounded(send_by, connection.write_all(&bytes)).await;
                        note_write(written, &mut write_failed, &mut stalled);
                    }
                }
                Output::Request(request) => answer = Some(backend.finger(&request).await),
                Output::Close => close = true,
                Output::Event(event) => on_event(&event),
            }
        }
        if stalled {
            report_stall(&mut machine, clock, &mut on_event);
            break;
        }
        if write_failed {
            break;
        }
        if let Some(users) = answer {
            machine.handle_input(clock.now(), Input::Users(users));
            continue;
        }
        if close {
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
    if !stalled {
        let send_by = clock.to_tokio(machine.send_deadline());
        if let WriteResult::Stalled = bounded(send_by, connection.shutdown()).await {
            report_stall(&mut machine, clock, &mut on_event);
        }
    }
}

fn report_stall(machine: &mut FingerServer, clock: Clock, on_event: &mut impl FnMut(&Event)) {
    machine.handle_input(clock.now(), Input::SendTimedOut);
    while let Some(output) = machine.poll_output() {
        if let Output::Event(event) = output {
            on_event(&event);
        }
    }
}

/// The accounts a finger request names: those whose local part is the
/// user asked for (without regard to case), or all of them.
pub fn matching<'a>(accounts: &'a Accounts, request: &Request) -> Vec<&'a Account> {
    accounts
        .iter()
        .filter(|account| match request {
            Request::List => true,
            Request::Lookup { user } => account
                .login
                .rsplit_once('@')
                .is_some_and(|(local, _)| local.eq_ignore_ascii_case(user)),
        })
        .collect()
}

/// What finger shows of `account`: its name and plan, and its INBOX's
/// unseen mail (`None` when the account has no local mailbox or the
/// INBOX cannot be read).
pub async fn user_info<S: MailboxStore>(
    account: &Account,
    directory: &Directory,
    store: &S,
) -> UserInfo {
    UserInfo {
        address: account.login.clone(),
        real_name: account.real_name.clone(),
        mail: mail_status(&account.login, directory, store).await,
        plan: account.plan.clone(),
    }
}

async fn mail_status<S: MailboxStore>(
    login: &str,
    directory: &Directory,
    store: &S,
) -> Option<MailStatus> {
    let forward_path = ForwardPath::Mailbox(parse_mailbox(login).ok()?);
    let RecipientVerdict::Local(mailbox) = directory.resolve(&forward_path) else {
        return None;
    };
    let snapshot = match store.open(&mailbox, INBOX).await {
        Ok(snapshot) => snapshot,
        Err(error) => {
            tracing::warn!(mailbox = %mailbox, "finger cannot read the INBOX: {error}");
            return None;
        }
    };
    let unseen: Vec<_> = snapshot
        .messages
        .iter()
        .filter(|message| !message.flags.contains(Flag::Seen))
        .map(|message| message.internal_date)
        .collect();
    Some(MailStatus {
        messages: snapshot.messages.len(),
        unseen: unseen.len(),
        oldest_unseen: unseen.iter().min().copied(),
        newest_unseen: unseen.iter().max().copied(),
    })
}
