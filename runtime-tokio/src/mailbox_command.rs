//! `postern mailbox list|show USER`: a user's folders and messages, for
//! operators, from the store the server serves (Maildir, or the database). Safe while the server runs: it syncs the mailbox under its
//! lock as any reader does (mail waiting in `new/` gets its UID and moves
//! to `cur/`).

use crate::config_file::Loaded;
use crate::mailstore::{MailboxStore, MaildirStore, StoreError};
use crate::storage::postgres::PgMailboxStore;
use crate::storage::served::ServedMailboxes;
use postern_core::address::parse_forward_path;
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::header;
use postern_core::text::{bounded, counted, escape_controls};
use std::fmt::Write;
use tokio::io::AsyncReadExt;

/// The header section read for a subject, at most.
const HEADER_BYTES_MAX: usize = 64 * 1024;

/// The subject shown, at most (octets).
const SUBJECT_SHOWN_BYTES_MAX: usize = 60;

/// The mailbox an address leads to under the configuration's domains
/// (users, aliases, catch-all), or why there is none.
pub fn resolve_user(loaded: &Loaded, address: &str) -> Result<LocalMailbox, String> {
    let path = parse_forward_path(&format!("<{address}>"), true)
        .map_err(|_| format!("\"{address}\" is not an address such as alice@localhost"))?;
    let directory = Directory::new(&loaded.config.domains);
    match directory.resolve(&path) {
        RecipientVerdict::Local(mailbox) => Ok(mailbox),
        RecipientVerdict::UnknownLocalUser => Err(format!(
            "{address}: no such user in {} (add it to the domain's users)",
            loaded.origin
        )),
        RecipientVerdict::NotLocal => Err(format!(
            "{address}: not one of the domains in {}",
            loaded.origin
        )),
    }
}

/// The mailboxes the server serves: this data directory's Maildirs, or
/// the shared database's tables (`[storage] backend = "postgres"`).
fn store(loaded: &Loaded) -> Result<ServedMailboxes, String> {
    use postern_core::config::StorageConfig;
    match &loaded.config.storage {
        StorageConfig::Files => Ok(ServedMailboxes::Files(MaildirStore::new(
            &loaded.data_dir,
            &loaded.config.server.hostname,
        ))),
        StorageConfig::Postgres(postgres) => {
            let client = crate::storage::postgres::client_config(postgres, &loaded.origin)?;
            let pool = crate::storage::postgres::pool(client, 2)?;
            Ok(ServedMailboxes::Postgres(PgMailboxStore::without_listener(
                pool,
                postgres.node_id,
            )))
        }
    }
}

fn run<T>(work: impl Future<Output = Result<T, StoreError>>) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    runtime.block_on(work).map_err(|error| error.to_string())
}

/// One line per folder: messages, unseen, size, UIDVALIDITY, UIDNEXT.
pub fn list(loaded: &Loaded, address: &str) -> Result<String, String> {
    let mailbox = resolve_user(loaded, address)?;
    let folders = run(store(loaded)?.folders(&mailbox))?;
    let mut out = format!(
        "{:<20} {:>8} {:>8} {:>12} {:>12} {:>8}\n",
        "FOLDER", "MESSAGES", "UNSEEN", "SIZE", "UIDVALIDITY", "UIDNEXT"
    );
    for folder in folders {
        let _ = writeln!(
            out,
            "{:<20} {:>8} {:>8} {:>12} {:>12} {:>8}",
            folder.name,
            folder.messages,
            folder.unseen,
            folder.size,
            folder.uid_validity,
            folder.uid_next
        );
    }
    Ok(out)
}

/// One line per message of a folder: UID, flags, size, date, subject.
pub fn show(loaded: &Loaded, address: &str, folder: &str) -> Result<String, String> {
    let mailbox = resolve_user(loaded, address)?;
    let store = store(loaded)?;
    run(async {
        let snapshot = store.open(&mailbox, folder).await?;
        let mut out = format!(
            "{folder} of {mailbox}: UIDVALIDITY {}, UIDNEXT {}, {}\n",
            snapshot.uid_validity,
            snapshot.uid_next,
            counted(snapshot.messages.len(), "message", "messages")
        );
        let _ = writeln!(
            out,
            "{:>6}  {:<28} {:>10}  {:<31}  SUBJECT",
            "UID", "FLAGS", "SIZE", "DATE"
        );
        for meta in &snapshot.messages {
            let subject = match store.read(&mailbox, folder, meta.uid).await {
                Ok(reader) => {
                    let mut head = Vec::new();
                    reader
                        .take(HEADER_BYTES_MAX as u64)
                        .read_to_end(&mut head)
                        .await?;
                    header::field(&head, "Subject").unwrap_or_default()
                }
                // Expunged by another process since the listing.
                Err(StoreError::NoSuchMessage(_)) => "(expunged)".to_owned(),
                Err(error) => return Err(error),
            };
            let mut flags = meta.flags.to_string();
            for keyword in &meta.keywords {
                if !flags.is_empty() {
                    flags.push(' ');
                }
                flags.push_str(keyword);
            }
            let subject = escape_controls(&subject);
            let _ = writeln!(
                out,
                "{:>6}  {:<28} {:>10}  {:<31}  {}",
                meta.uid,
                flags,
                meta.size,
                meta.internal_date.to_rfc5322(),
                bounded(&subject, SUBJECT_SHOWN_BYTES_MAX)
            );
        }
        Ok(out)
    })
}
