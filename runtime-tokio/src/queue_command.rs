//! `postern queue list | flush | delete ID`: the operator's view of the
//! queue, safe beside a running server.
//!
//! `list` only reads spool and state files, which are always replaced
//! whole (renamed into place), so it needs no cooperation. `flush` and
//! `delete` change the queue, so they go through the running server's
//! control socket; when no server runs, they take the data directory's
//! lock and change the files themselves.

use crate::control::SOCKET_NAME;
use crate::spool::{DataDirLock, Spool, read_header};
use postern_core::envelope::{Destination, QueueId};
use postern_core::queue::{DeliveryState, Status};
use postern_core::time::UnixTime;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::SystemTime;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// "42s", "5m", "3h", "2d".
fn span(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}

/// The queue as a table, like `mailq`: one line per message, then one per
/// recipient with its state.
pub fn list(data_dir: &Path) -> Result<String, String> {
    let queue = data_dir.join("spool").join("queue");
    let mut ids: Vec<QueueId> = match std::fs::read_dir(&queue) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(format!("cannot read {}: {error}", queue.display())),
    };
    ids.sort();
    let now = now();
    let mut text = String::from("QUEUE ID       AGE    SIZE  SENDER\n");
    let mut count = 0;
    for id in ids {
        let path = queue.join(id.to_string());
        // A message delivered while we looked is simply gone.
        let Ok(mut file) = File::open(&path) else {
            continue;
        };
        let record = match read_header(&mut file) {
            Ok(record) => record,
            Err(error) => {
                text.push_str(&format!("{id}  (unreadable: {error})\n"));
                continue;
            }
        };
        let size = file.metadata().map_or(0, |m| m.len());
        let state = read_state(data_dir, id)
            .unwrap_or_else(|| DeliveryState::new(&record.envelope, UnixTime(record.received_at)));
        count += 1;
        text.push_str(&format!(
            "{id}  {:<5}  {:<4}  {}\n",
            span(now - record.received_at),
            bytesize::ByteSize(size).display().si_short(),
            record.envelope.reverse_path
        ));
        for (recipient, state) in record.envelope.recipients.iter().zip(&state.recipients) {
            let kind = match recipient.destination {
                Destination::Local(_) => "local",
                Destination::Remote => "remote",
            };
            let status = match &state.status {
                Status::Delivered => "delivered".to_owned(),
                Status::Failed => format!("failed: {}", state.last_detail),
                Status::Pending { next_attempt } if state.attempts == 0 => {
                    format!("pending, first attempt in {}", span(next_attempt.0 - now))
                }
                Status::Pending { next_attempt } => format!(
                    "deferred {} times, next attempt in {}: {}",
                    state.attempts,
                    span(next_attempt.0 - now),
                    state.last_detail
                ),
            };
            text.push_str(&format!(
                "    {} ({kind}) {status}\n",
                recipient.forward_path
            ));
        }
    }
    text.push_str(&format!(
        "{count} message{} in the queue\n",
        if count == 1 { "" } else { "s" }
    ));
    Ok(text)
}

/// Reads a state file directly: opening a [`Spool`] would clean up, and
/// `list` changes nothing.
fn read_state(data_dir: &Path, id: QueueId) -> Option<DeliveryState> {
    crate::spool::read_state_file(&data_dir.join("spool").join("state"), id)
        .ok()
        .flatten()
}

/// Retries every deferred message now.
pub fn flush(data_dir: &Path) -> Result<String, String> {
    if let Some(reply) = ask_server(data_dir, "flush")? {
        return Ok(reply);
    }
    offline(data_dir, |spool, ids| {
        let now = UnixTime(now());
        let mut count = 0;
        for id in ids {
            if let Some(mut state) = spool.read_state(id).map_err(|e| e.to_string())? {
                state.flush(now);
                spool.write_state(id, &state).map_err(|e| e.to_string())?;
                count += 1;
            }
        }
        Ok(format!(
            "ok {count} messages due now (no server is running: they go when it starts)"
        ))
    })
}

/// Removes one message from the queue, without a bounce.
pub fn delete(data_dir: &Path, id: QueueId) -> Result<String, String> {
    if let Some(reply) = ask_server(data_dir, &format!("delete {id}"))? {
        return if reply.starts_with("ok") {
            Ok(reply)
        } else {
            Err(reply)
        };
    }
    offline(data_dir, |spool, ids| {
        if !ids.contains(&id) {
            return Err(format!("error no message {id}"));
        }
        spool.remove(id).map_err(|e| e.to_string())?;
        Ok(format!("ok deleted {id}"))
    })
}

/// Sends one command to a running server; `None` when none is running.
fn ask_server(data_dir: &Path, command: &str) -> Result<Option<String>, String> {
    let path = data_dir.join(SOCKET_NAME);
    let mut stream = match UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(error) => {
            return Err(format!(
                "cannot reach the server at {}: {error}",
                path.display()
            ));
        }
    };
    writeln!(stream, "{command}").map_err(|e| e.to_string())?;
    let mut reply = String::new();
    BufReader::new(stream)
        .read_line(&mut reply)
        .map_err(|e| e.to_string())?;
    Ok(Some(reply.trim_end().to_owned()))
}

/// Works on the files with the data directory locked, so that a server
/// starting meanwhile waits for us rather than racing.
fn offline(
    data_dir: &Path,
    work: impl FnOnce(&Spool, Vec<QueueId>) -> Result<String, String>,
) -> Result<String, String> {
    let _lock = DataDirLock::acquire(data_dir)
        .map_err(|e| format!("cannot lock {}: {e}", data_dir.display()))?;
    let (sender, _) = tokio::sync::mpsc::unbounded_channel();
    let (spool, ids) =
        Spool::open(data_dir, sender).map_err(|e| format!("cannot open the spool: {e}"))?;
    work(&spool, ids)
}
