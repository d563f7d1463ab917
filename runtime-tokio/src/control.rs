//! The control socket: how `postern queue flush`, `postern queue delete`,
//! `postern queue list`, `postern unlock` and `postern metrics` reach a
//! running server. A Unix socket at
//! `DATA_DIR/postern.sock`, taking one command per line and answering with
//! one line that starts `ok` or `error`, after any lines of data:
//!
//! ```text
//! flush          ->  ok 3 messages due now ("1 message" for one)
//! delete ID      ->  ok deleted ID   |  error no message ID
//! unreadable     ->  unreadable ID RETRY_IN_SECONDS ATTEMPTS ERROR  (one per message)
//!                    ok 1 unreadable
//! unlock IP      ->  ok unlocked HOST  |  ok HOST was not locked out
//! metrics        ->  the metrics in the OpenMetrics text format, to `# EOF`
//!                    ok metrics
//! ```
//!
//! (No line of data starts with `ok` or `error`: every metric is named
//! `postern_...`.)
//!
//! The server does the work itself, so the spool is never changed behind
//! its back.
//!
//! Only the server's user may connect: the socket is created in the data
//! directory, which is 0700 before the socket exists (see
//! [`crate::spool::DataDirLock::acquire`]), so there is no moment between
//! `bind` and `chmod` when another user could connect; the socket itself is
//! then made 0600 as well. A connection idle for
//! [`CONTROL_IDLE_TIMEOUT`] is closed.

use crate::accounts::AccountBook;
use crate::delivery::Command;
use postern_core::envelope::QueueId;
use postern_core::limits::CONTROL_IDLE_TIMEOUT;
use postern_core::text::{counted, escape_controls};
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// The socket's file name in the data directory.
pub const SOCKET_NAME: &str = "postern.sock";

/// Removes the socket file when the server stops.
pub struct ControlSocket {
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens on the control socket and passes commands to the queue runner.
/// The caller holds the data directory's lock, so a socket file left by a
/// crashed server is stale and can be replaced.
pub fn serve(
    data_dir: &Path,
    commands: mpsc::UnboundedSender<Command>,
    accounts: Arc<AccountBook>,
) -> io::Result<ControlSocket> {
    let path = data_dir.join(SOCKET_NAME);
    match std::fs::remove_file(&path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, commands.clone(), Arc::clone(&accounts)));
        }
    });
    Ok(ControlSocket { path })
}

async fn answer(
    stream: UnixStream,
    commands: mpsc::UnboundedSender<Command>,
    accounts: Arc<AccountBook>,
) {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(CONTROL_IDLE_TIMEOUT, lines.next_line()).await
    {
        let reply = execute(line.trim(), &commands, &accounts).await;
        // A client that does not read its reply is not waited for.
        let reply = format!("{reply}\n");
        let write = writer.write_all(reply.as_bytes());
        if !matches!(
            tokio::time::timeout(CONTROL_IDLE_TIMEOUT, write).await,
            Ok(Ok(()))
        ) {
            return;
        }
    }
}

async fn execute(
    line: &str,
    commands: &mpsc::UnboundedSender<Command>,
    accounts: &AccountBook,
) -> String {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("unlock"), Some(address), None) => match address.parse::<IpAddr>() {
            Ok(client) => unlock(accounts, client),
            Err(_) => format!(
                "error {} is not an IP address; the lockout is kept per client address, as in the log line",
                escape_controls(address)
            ),
        },
        (Some("metrics"), None, _) => crate::metrics::global().encode() + "ok metrics",
        (Some("flush"), None, _) => {
            let (reply, answer) = oneshot::channel();
            if commands.send(Command::Flush(reply)).is_err() {
                return "error the server is stopping".to_owned();
            }
            match answer.await {
                Ok(count) => format!("ok {} due now", counted(count, "message", "messages")),
                Err(_) => "error the server is stopping".to_owned(),
            }
        }
        (Some("delete"), Some(id), None) => {
            let Ok(id) = id.parse::<QueueId>() else {
                return format!("error {id} is not a queue ID");
            };
            let (reply, answer) = oneshot::channel();
            if commands.send(Command::Delete(id, reply)).is_err() {
                return "error the server is stopping".to_owned();
            }
            match answer.await {
                Ok(true) => format!("ok deleted {id}"),
                Ok(false) => format!("error no message {id}"),
                Err(_) => "error the server is stopping".to_owned(),
            }
        }
        (Some("unreadable"), None, _) => {
            let (reply, answer) = oneshot::channel();
            if commands.send(Command::Unreadable(reply)).is_err() {
                return "error the server is stopping".to_owned();
            }
            match answer.await {
                Ok(unreadable) => {
                    let mut text = String::new();
                    for entry in &unreadable {
                        text.push_str(&format!(
                            "unreadable {} {} {} {}\n",
                            entry.id,
                            entry.retry_in.as_secs(),
                            entry.attempts,
                            escape_controls(&entry.error)
                        ));
                    }
                    text + &format!("ok {} unreadable", unreadable.len())
                }
                Err(_) => "error the server is stopping".to_owned(),
            }
        }
        _ => format!(
            "error unknown command {:?}; the commands are: flush, delete ID, unreadable, unlock IP, metrics",
            escape_controls(line)
        ),
    }
}

/// Clears the lockout of `client`'s host (its /64 or other configured
/// network, for IPv6).
fn unlock(accounts: &AccountBook, client: IpAddr) -> String {
    let host = accounts.host(client);
    if accounts.unlock(client) {
        format!("ok unlocked {host}")
    } else {
        format!("ok {host} was not locked out")
    }
}
