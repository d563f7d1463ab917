//! `postern queue list | flush | delete ID`: the operator's view of the
//! queue, safe beside a running server.
//!
//! `list` only reads spool and state files, which are always replaced
//! whole (renamed into place), so it needs no cooperation; it asks a
//! running server only which messages it cannot read just now. `flush` and
//! `delete` change the queue, so they go through the running server's
//! control socket; when no server runs, they take the data directory's
//! lock and change the files themselves.
//!
//! Every wait on the server is bounded by [`CONTROL_REPLY_TIMEOUT`]: a
//! server that accepts and never answers gets a clear error, not a hang.
//! Text that came from a peer (addresses, remote replies) is shown with
//! its control characters escaped.

use crate::control::SOCKET_NAME;
use crate::spool::{DataDirLock, Seal, Spool, damage, damaged, read_start};
use postern_core::envelope::{Destination, QueueId};
use postern_core::limits::CONTROL_REPLY_TIMEOUT;
use postern_core::queue::{DeliveryState, Status};
use postern_core::text::{bounded, counted, escape_controls};
use postern_core::time::UnixTime;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::SystemTime;

/// The longest peer text (an address, a remote reply) shown on one line.
const SHOWN_TEXT_BYTES_MAX: usize = 300;

/// Peer-supplied `text`, safe for a terminal and bounded.
pub(crate) fn shown(text: &str) -> String {
    bounded(&escape_controls(text), SHOWN_TEXT_BYTES_MAX).into_owned()
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// "42s", "5m", "3h", "2d".
pub(crate) fn span(seconds: i64) -> String {
    // Rounded to the nearest unit, the unit chosen after rounding: an
    // attempt due in 3599 s is "in 1h", not "in 59m".
    let seconds = seconds.max(0);
    let nearest = |unit: i64| (seconds + unit / 2) / unit;
    if seconds < 60 {
        format!("{seconds}s")
    } else if nearest(60) < 60 {
        format!("{}m", nearest(60))
    } else if nearest(3600) < 24 {
        format!("{}h", nearest(3600))
    } else {
        format!("{}d", nearest(86400))
    }
}

/// The queue as a table, like `mailq`: one line per message, then one per
/// recipient with its state; then the damaged messages set aside.
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
    let mut text = String::new();
    // A server that does not answer does not keep the files from being
    // listed.
    let unreadable = unreadable_in_server(data_dir).unwrap_or_else(|error| {
        text.push_str(&format!("note: {error}\n"));
        BTreeMap::new()
    });
    text.push_str("QUEUE ID       AGE    SIZE  SENDER\n");
    let mut count = 0;
    for id in ids {
        if let Some(problem) = unreadable.get(&id) {
            count += 1;
            text.push_str(&format!("{id}  {problem}\n"));
            continue;
        }
        let path = queue.join(id.to_string());
        // A message delivered while we looked is simply gone.
        let Ok(mut file) = File::open(&path) else {
            continue;
        };
        // Not messages (see spool.rs): an empty file, a blank made ready
        // for a message to come or a delivered message's file on its way
        // out; and a message still being received, its seal open.
        if file.metadata().is_ok_and(|m| m.len() == 0) {
            continue;
        }
        let start = read_start(&mut file);
        if start
            .as_ref()
            .is_ok_and(|(fixed, _)| fixed.seal == Seal::Open)
        {
            continue;
        }
        count += 1;
        let record = match start.map(|(_, record)| record) {
            Ok(record) if record.queue_id != id => {
                let error = damaged(format!(
                    "the record in queue/{id} is for message {}",
                    record.queue_id
                ));
                text.push_str(&format!("{id}  {}\n", problem(&error)));
                continue;
            }
            Ok(record) => record,
            Err(error) => {
                text.push_str(&format!("{id}  {}\n", problem(&error)));
                continue;
            }
        };
        let size = file.metadata().map_or(0, |m| m.len());
        let state = match read_state(data_dir, id) {
            Ok(Some(state)) => state,
            Ok(None) => DeliveryState::new(&record.envelope, UnixTime(record.received_at)),
            Err(error) => {
                text.push_str(&format!("{id}  {}\n", problem(&error)));
                continue;
            }
        };
        text.push_str(&message_lines(id, &record, size, &state, now));
    }
    text.push_str(&format!(
        "{} in the queue\n",
        counted(count, "message", "messages")
    ));
    text.push_str(&damaged_section(data_dir));
    Ok(text)
}

/// A message as `list` shows it: its line (ID, age, size, sender), then a
/// line per recipient with its state.
pub(crate) fn message_lines(
    id: QueueId,
    record: &crate::spool::SpoolRecord,
    size: u64,
    state: &DeliveryState,
    now: i64,
) -> String {
    let mut text = format!(
        "{id}  {:<5}  {:<4}  {}\n",
        span(now - record.received_at),
        bytesize::ByteSize(size).display().si_short(),
        shown(&record.envelope.reverse_path.to_string())
    );
    for (recipient, state) in record.envelope.recipients.iter().zip(&state.recipients) {
        let kind = match recipient.destination {
            Destination::Local(_) => "local",
            Destination::Remote => "remote",
        };
        let detail = shown(&state.last_detail);
        let status = match &state.status {
            Status::Delivered => "delivered".to_owned(),
            Status::Failed => format!("failed: {detail}"),
            Status::Pending { next_attempt } if state.attempts == 0 => {
                format!("pending, first attempt in {}", span(next_attempt.0 - now))
            }
            Status::Pending { next_attempt } => format!(
                "deferred {}, next attempt in {}: {detail}",
                counted(state.attempts, "time", "times"),
                span(next_attempt.0 - now),
            ),
        };
        text.push_str(&format!(
            "    {} ({kind}) {status}\n",
            shown(&recipient.forward_path.to_string())
        ));
    }
    text
}

/// How `list` shows a message it cannot read itself.
fn problem(error: &io::Error) -> String {
    match damage(error) {
        Some(reason) => format!(
            "damaged: {} (a running server moves it to spool/damaged/)",
            shown(reason)
        ),
        None => format!("unreadable: {}", shown(&error.to_string())),
    }
}

/// The messages a running server cannot read just now, each with its
/// status line; empty when no server runs.
fn unreadable_in_server(data_dir: &Path) -> Result<BTreeMap<QueueId, String>, String> {
    let Some(lines) = ask_server(data_dir, "unreadable")? else {
        return Ok(BTreeMap::new());
    };
    let mut unreadable = BTreeMap::new();
    for line in &lines[..lines.len().saturating_sub(1)] {
        let mut words = line.splitn(5, ' ');
        if let (Some("unreadable"), Some(id), Some(retry_in), Some(attempts), error) = (
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
        ) && let (Ok(id), Ok(retry_in), Ok(attempts)) = (
            id.parse::<QueueId>(),
            retry_in.parse::<i64>(),
            attempts.parse::<u32>(),
        ) {
            unreadable.insert(
                id,
                format!(
                    "unreadable ({}), retry in {}: {}",
                    counted(attempts, "try", "tries"),
                    span(retry_in),
                    shown(error.unwrap_or(""))
                ),
            );
        }
    }
    Ok(unreadable)
}

/// The messages moved to `spool/damaged/`, each with its reason.
fn damaged_section(data_dir: &Path) -> String {
    let dir = data_dir.join("spool").join("damaged");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return String::new();
    };
    let mut ids: Vec<QueueId> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name();
            name.to_str()?.strip_suffix(".queue")?.parse().ok()
        })
        .collect();
    if ids.is_empty() {
        return String::new();
    }
    ids.sort();
    let mut text = format!(
        "\nDAMAGED (set aside in {}, not delivered)\n",
        dir.display()
    );
    for id in &ids {
        let reason = std::fs::read_to_string(dir.join(format!("{id}.reason")))
            .unwrap_or_else(|error| format!("(no reason recorded: {error})"));
        text.push_str(&format!(
            "{id}  damaged: {} ({id}.queue, {id}.state)\n",
            shown(reason.trim_end())
        ));
    }
    text.push_str(&format!(
        "{} damaged message{}\n",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" }
    ));
    text
}

/// Reads a state file directly: opening a [`Spool`] would clean up, and
/// `list` changes nothing.
fn read_state(data_dir: &Path, id: QueueId) -> io::Result<Option<DeliveryState>> {
    crate::spool::read_state_file(&data_dir.join("spool").join("state"), id)
}

/// Retries every deferred message now.
pub fn flush(data_dir: &Path) -> Result<String, String> {
    if let Some(reply) = ask_server(data_dir, "flush")? {
        return Ok(reply.join("\n"));
    }
    offline(data_dir, |spool, ids| {
        let now = UnixTime(now());
        let mut count = 0;
        let mut skipped = String::new();
        for id in ids {
            let state = match spool.read_state(id) {
                Ok(state) => state,
                // A damaged state is left for the server to set aside.
                Err(error) => {
                    skipped.push_str(&format!("\nskipped {id}: {}", shown(&error.to_string())));
                    continue;
                }
            };
            if let Some(mut state) = state {
                state.flush(now);
                spool.write_state(id, &state).map_err(|e| e.to_string())?;
                count += 1;
            }
        }
        Ok(format!(
            "ok {} due now (no server is running: they go when it starts){skipped}",
            counted(count, "message", "messages")
        ))
    })
}

/// Removes one message from the queue, without a bounce.
pub fn delete(data_dir: &Path, id: QueueId) -> Result<String, String> {
    if let Some(reply) = ask_server(data_dir, &format!("delete {id}"))? {
        let reply = reply.join("\n");
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

/// Sends one command to a running server and answers its reply lines,
/// the last starting `ok` or `error`; `None` when no server is running.
/// Connecting and each reply line are bounded by [`CONTROL_REPLY_TIMEOUT`].
pub(crate) fn ask_server(data_dir: &Path, command: &str) -> Result<Option<Vec<String>>, String> {
    ask_server_within(data_dir, command, CONTROL_REPLY_TIMEOUT)
}

fn ask_server_within(
    data_dir: &Path,
    command: &str,
    timeout: std::time::Duration,
) -> Result<Option<Vec<String>>, String> {
    let path = data_dir.join(SOCKET_NAME);
    let silent = || {
        format!(
            "the server at {} did not answer within {}s: it may be overloaded or stuck \
             (a command sent may still be carried out); try again, or restart it",
            path.display(),
            timeout.as_secs()
        )
    };
    let stream = match connect_within(&path, timeout) {
        Some(Ok(stream)) => stream,
        Some(Err(error))
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Some(Err(error)) => {
            return Err(format!(
                "cannot reach the server at {}: {error}",
                path.display()
            ));
        }
        None => return Err(silent()),
    };
    let unreachable = |error: io::Error| {
        if matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            silent()
        } else {
            format!("lost the server at {}: {error}", path.display())
        }
    };
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(unreachable)?;
    writeln!(&stream, "{command}").map_err(unreachable)?;
    let mut reader = BufReader::new(stream);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(unreachable)? == 0 {
            return Err(format!(
                "the server at {} closed the connection without an answer",
                path.display()
            ));
        }
        let line = line.trim_end().to_owned();
        let last = line.starts_with("ok") || line.starts_with("error");
        lines.push(line);
        if last {
            return Ok(Some(lines));
        }
    }
}

/// Connects to the control socket, giving up after `timeout` (a server
/// whose accept backlog is full makes `connect` wait); `None` on timeout.
fn connect_within(path: &Path, timeout: std::time::Duration) -> Option<io::Result<UnixStream>> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let path = path.to_owned();
    // A thread left waiting on connect ends with the process.
    std::thread::spawn(move || {
        let _ = sender.send(UnixStream::connect(&path));
    });
    receiver.recv_timeout(timeout).ok()
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
    // Flush and delete make no new queue IDs, so the node's number does
    // not matter here.
    let (spool, ids) =
        Spool::open(data_dir, 0, sender).map_err(|e| format!("cannot open the spool: {e}"))?;
    work(&spool, ids)
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_round_to_the_nearest_unit() {
        let cases = [
            (-5, "0s"),
            (59, "59s"),
            (60, "1m"),
            (89, "1m"),
            (90, "2m"),
            (3569, "59m"),
            (3570, "1h"),
            (3599, "1h"),
            (5399, "1h"),
            (86_399, "1d"),
            (3 * 86_400 + 100, "3d"),
        ];
        for (seconds, shown) in cases {
            assert_eq!(span(seconds), shown, "{seconds} s");
        }
    }
}
