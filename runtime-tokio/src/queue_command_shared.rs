//! `postern queue list | flush | delete ID` with the postgres backend:
//! the whole shared queue in the database, from any node, whichever node
//! accepted a message or holds it now (the local control socket knows
//! only what this node holds).
//!
//! - `list` shows every message as on files, with who holds it (a node
//!   whose lease is live, for how long) or when it is due; then the
//!   damaged messages a node set aside, with their reasons.
//! - `flush` makes every message that no node holds due now and wakes
//!   every node (`NOTIFY`); a held message is under delivery already.
//! - `delete` removes a message whoever holds it; the holder's writes for
//!   it are fenced from then on, so it writes nothing more.

use crate::queue_command::{message_lines, now, shown, span};
use crate::storage::postgres::{self, Holder, PgQueue};
use postern_core::config::PostgresConfig;
use postern_core::envelope::QueueId;
use postern_core::text::counted;
use postern_core::time::UnixTime;

/// What the operator asked for.
pub enum Action {
    List,
    Flush,
    Delete(QueueId),
}

/// Carries out `action` on the database `config` names (`origin` names
/// the configuration file in errors).
pub fn run(config: &PostgresConfig, origin: &str, action: Action) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    runtime.block_on(act(config, origin, action))
}

async fn act(config: &PostgresConfig, origin: &str, action: Action) -> Result<String, String> {
    let client = postgres::client_config(config, origin)?;
    // One connection is all a command needs; the first use says whether
    // the database can be reached.
    let queue = PgQueue::new(postgres::pool(client, 1)?);
    let failed = |error: String| format!("{}: {error}", config.url);
    match action {
        Action::List => list(&queue)
            .await
            .map_err(|error| failed(error.to_string())),
        Action::Flush => flush(&queue).await.map_err(failed),
        Action::Delete(id) => delete(&queue, id).await.map_err(|error| {
            if error.starts_with("error ") {
                error
            } else {
                failed(error)
            }
        }),
    }
}

/// Makes every message no node holds due now, and wakes every node;
/// answers what it did, as `postern queue flush` prints it.
pub async fn flush(queue: &PgQueue) -> Result<String, String> {
    let done = queue
        .flush(UnixTime(now()))
        .await
        .map_err(|error| error.to_string())?;
    Ok(format!(
        "ok {} due now in the shared queue, every node woken; {} held by a node (under delivery there)",
        counted(done.flushed, "message", "messages"),
        done.held,
    ))
}

/// Deletes message `id` whoever holds it; answers what it did, as
/// `postern queue delete` prints it (an error starting with `error ` when
/// there is no such message).
pub async fn delete(queue: &PgQueue, id: QueueId) -> Result<String, String> {
    match queue.delete(id).await {
        Ok(None) => Ok(format!("ok deleted {id}")),
        Ok(Some(holder)) => Ok(format!(
            "ok deleted {id}; {} held it: its writes for it are refused from now on",
            node(&holder)
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("error no message {id} in the shared queue"))
        }
        Err(error) => Err(error.to_string()),
    }
}

fn node(holder: &Holder) -> String {
    match &holder.name {
        Some(name) => format!("node {} \"{}\"", holder.node_id, shown(name)),
        None => format!("node {}", holder.node_id),
    }
}

/// The whole shared queue, as `postern queue list` prints it.
pub async fn list(queue: &PgQueue) -> std::io::Result<String> {
    let (listed, total) = queue.listing().await?;
    let now = now();
    let mut text = String::from("QUEUE ID       AGE    SIZE  SENDER\n");
    for message in &listed {
        let id = message.queue_id;
        match &message.message {
            Ok((record, state)) => {
                text.push_str(&message_lines(id, record, message.size, state, now));
            }
            Err(error) => {
                text.push_str(&format!(
                    "{id}  unreadable: {}\n",
                    shown(&error.to_string())
                ));
            }
        }
        let whose = match &message.holder {
            Some(holder) => format!(
                "held by {} (lease for {} more)",
                node(holder),
                span(holder.expires_in)
            ),
            None if message.due_in <= 0 => "held by no node, due now".to_owned(),
            None => format!("held by no node, next attempt in {}", span(message.due_in)),
        };
        text.push_str(&format!("    {whose}\n"));
    }
    let shown_count = listed.len() as i64;
    text.push_str(&format!(
        "{} in the shared queue",
        counted(total, "message", "messages")
    ));
    if total > shown_count {
        text.push_str(&format!(" (the first {shown_count} shown)"));
    }
    text.push('\n');
    text.push_str(&damaged_section(queue).await?);
    Ok(text)
}

/// The damaged messages a node set aside, each with its reason (as
/// files' `spool/damaged/`); empty when there are none.
async fn damaged_section(queue: &PgQueue) -> std::io::Result<String> {
    let (damaged, total) = queue.damaged().await?;
    if total == 0 {
        return Ok(String::new());
    }
    let mut text = String::from("\nDAMAGED (set aside in the database, not delivered)\n");
    for message in &damaged {
        text.push_str(&format!(
            "{}  damaged: {} (set aside {} ago)\n",
            message.queue_id,
            shown(&message.reason),
            span(message.age)
        ));
    }
    text.push_str(&format!(
        "{} set aside; `postern queue delete ID` removes one",
        counted(total, "damaged message", "damaged messages")
    ));
    if total > damaged.len() as i64 {
        text.push_str(&format!(" (the first {} shown)", damaged.len()));
    }
    text.push('\n');
    Ok(text)
}
