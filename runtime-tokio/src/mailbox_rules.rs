//! A mailbox's forwarding and vacation settings on disk, and the memory of
//! whom its vacation replied to; the small API the CLI (`postern user
//! forward|vacation`) and the webmail use. With the postgres backend they
//! are in the shared database instead ([`SettingsAt::Shared`],
//! [`PgSettings`]), in the same formats, so every node's delivery reads
//! what any node's webmail or CLI wrote.
//!
//! Both files live in the mailbox's directory, beside its Maildir
//! (`DATA_DIR/mail/DOMAIN/USER/`): [`RULES_FILE`] (TOML, written by the
//! CLI and the webmail, read at every delivery) and [`REPLIED_FILE`]
//! (written by delivery). Every write replaces its file atomically
//! ([`replace_file`]): a reader sees the old file or the new one. The
//! settings are checked by the core ([`MailboxRules::check`]) before they
//! are written, and again when read.

use crate::spool::{create_dir_durably, replace_file};
use crate::storage::postgres::PgSettings;
use postern_core::address::parse_forward_path;
use postern_core::autoreply::{MailboxRules, REPLIED_FILE, RULES_FILE, ReplyMemory};
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::envelope::LocalMailbox;
use postern_core::limits::{MAILBOX_RULES_BYTES_MAX, VACATION_MEMORY_BYTES_MAX};
use postern_core::time::UnixTime;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The directory of `mailbox` under `data_dir` (as
/// [`crate::mailstore::MaildirStore::user_dir`] names it).
pub fn mailbox_dir(data_dir: &Path, mailbox: &LocalMailbox) -> PathBuf {
    data_dir
        .join("mail")
        .join(&mailbox.domain)
        .join(&mailbox.user)
}

/// The settings in the mailbox directory `dir`: `None` when it has none;
/// a file that does not read or check is `InvalidData`, saying why.
pub fn read_rules(dir: &Path) -> io::Result<Option<MailboxRules>> {
    let path = dir.join(RULES_FILE);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let damaged = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    };
    let mut bytes = Vec::new();
    file.take(MAILBOX_RULES_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAILBOX_RULES_BYTES_MAX {
        return Err(damaged(format!(
            "longer than {MAILBOX_RULES_BYTES_MAX} octets"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| damaged("not UTF-8 text".to_owned()))?;
    MailboxRules::parse(&text).map(Some).map_err(damaged)
}

/// Writes the settings (checked already) to the mailbox directory `dir`;
/// with nothing set, removes the file.
pub fn write_rules(dir: &Path, rules: &MailboxRules) -> io::Result<()> {
    let path = dir.join(RULES_FILE);
    if rules.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        };
    }
    create_dir_durably(dir)?;
    replace_file(&path, rules.render().as_bytes())
}

/// The vacation memory of the mailbox directory `dir` (empty if none).
pub fn read_memory(dir: &Path) -> io::Result<ReplyMemory> {
    let file = match std::fs::File::open(dir.join(REPLIED_FILE)) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(ReplyMemory::default());
        }
        Err(error) => return Err(error),
    };
    let mut bytes = Vec::new();
    file.take(VACATION_MEMORY_BYTES_MAX as u64)
        .read_to_end(&mut bytes)?;
    Ok(ReplyMemory::parse(&String::from_utf8_lossy(&bytes)))
}

/// Records durably that the mailbox in `dir` replied to `sender` at
/// `now`, pruning the memory to `days` days. Delivery is the only writer;
/// one lock for the process keeps two deliveries from losing each
/// other's entry.
pub fn remember_reply(dir: &Path, sender: &str, now: UnixTime, days: u32) -> io::Result<()> {
    static WRITING: Mutex<()> = Mutex::new(());
    let _writing = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let mut memory = read_memory(dir)?;
    memory.remember(sender, now, days);
    create_dir_durably(dir)?;
    replace_file(&dir.join(REPLIED_FILE), memory.render().as_bytes())
}

/// The mailbox an address leads to, or why there is none.
pub fn resolve(directory: &Directory, address: &str) -> Result<LocalMailbox, String> {
    let path = parse_forward_path(&format!("<{address}>"), true)
        .map_err(|_| format!("\"{address}\" is not an address such as alice@example.com"))?;
    match directory.resolve(&path) {
        RecipientVerdict::Local(mailbox) => Ok(mailbox),
        RecipientVerdict::UnknownLocalUser => Err(format!(
            "{address}: no such user (add it to the domain's users)"
        )),
        RecipientVerdict::NotLocal => Err(format!("{address}: not one of this server's domains")),
    }
}

/// The settings of `mailbox` (none set: the default, inert).
pub fn load(data_dir: &Path, mailbox: &LocalMailbox) -> Result<MailboxRules, String> {
    read_rules(&mailbox_dir(data_dir, mailbox))
        .map(Option::unwrap_or_default)
        .map_err(|error| error.to_string())
}

/// Where the mailboxes' settings are kept.
#[derive(Clone)]
pub enum SettingsAt {
    /// Files under this data directory's `mail/DOMAIN/USER/`.
    Files(PathBuf),
    /// The shared database: one set for every node.
    Shared(PgSettings),
}

/// Where the configuration keeps the settings: the data directory, or
/// with `[storage] backend = "postgres"` the shared database (one
/// connection, made at its first use).
pub fn settings_at(loaded: &crate::config_file::Loaded) -> Result<SettingsAt, String> {
    match &loaded.config.storage {
        postern_core::config::StorageConfig::Files => {
            Ok(SettingsAt::Files(loaded.data_dir.clone()))
        }
        postern_core::config::StorageConfig::Postgres(postgres) => {
            let client = crate::storage::postgres::client_config(postgres, &loaded.origin)?;
            let pool = crate::storage::postgres::pool(client, 1)?;
            Ok(SettingsAt::Shared(PgSettings::new(pool)))
        }
    }
}

impl SettingsAt {
    /// The settings of `mailbox` (none set: the default, inert).
    pub async fn load(&self, mailbox: &LocalMailbox) -> Result<MailboxRules, String> {
        match self {
            SettingsAt::Files(data_dir) => {
                // Most mailboxes have no settings, and the SMTP session
                // asks at every RCPT. One stat of a path whose directory
                // entry is cached says so on this thread, without a trip
                // to the blocking threads and its two wake-ups (as the
                // IMAP store's `quick_changes` does). A file that appears
                // a moment later is read at the next lookup.
                if let Ok(false) = mailbox_dir(data_dir, mailbox).join(RULES_FILE).try_exists() {
                    return Ok(MailboxRules::default());
                }
                let (data_dir, mailbox) = (data_dir.clone(), mailbox.clone());
                tokio::task::spawn_blocking(move || load(&data_dir, &mailbox))
                    .await
                    .map_err(|e| format!("reading the settings stopped: {e}"))?
            }
            SettingsAt::Shared(shared) => shared
                .rules(mailbox)
                .await
                .map(Option::unwrap_or_default)
                .map_err(|error| error.to_string()),
        }
    }

    /// Checks `rules` for `mailbox` ([`checked`]) and writes them; answers
    /// them as written.
    pub async fn save(
        &self,
        directory: &Directory,
        mailbox: &LocalMailbox,
        rules: MailboxRules,
    ) -> Result<MailboxRules, String> {
        match self {
            SettingsAt::Files(data_dir) => {
                let (data_dir, directory, mailbox) =
                    (data_dir.clone(), directory.clone(), mailbox.clone());
                tokio::task::spawn_blocking(move || save(&data_dir, &directory, &mailbox, rules))
                    .await
                    .map_err(|e| format!("saving the settings stopped: {e}"))?
            }
            SettingsAt::Shared(shared) => {
                let rules = checked(directory, mailbox, rules)?;
                shared
                    .write_rules(mailbox, &rules)
                    .await
                    .map_err(|error| format!("cannot write the settings of {mailbox}: {error}"))?;
                Ok(rules)
            }
        }
    }
}

/// Checks `rules` for `mailbox` and writes them; answers them as written
/// (normalized), or why they were refused ([`checked`]).
pub fn save(
    data_dir: &Path,
    directory: &Directory,
    mailbox: &LocalMailbox,
    rules: MailboxRules,
) -> Result<MailboxRules, String> {
    let rules = checked(directory, mailbox, rules)?;
    let dir = mailbox_dir(data_dir, mailbox);
    write_rules(&dir, &rules)
        .map_err(|error| format!("cannot write {}: {error}", dir.join(RULES_FILE).display()))?;
    Ok(rules)
}

/// `rules` for `mailbox` as they would be written (normalized). Refused:
/// anything the core's check refuses, a forward address that leads back
/// to the mailbox (through an alias too), and one in our domains that is
/// no user.
pub fn checked(
    directory: &Directory,
    mailbox: &LocalMailbox,
    rules: MailboxRules,
) -> Result<MailboxRules, String> {
    let own = directory.owned_addresses(&mailbox.to_string());
    let rules = rules.check(&own)?;
    if let Some(forward) = &rules.forward {
        for address in &forward.to {
            match resolve(directory, address) {
                Ok(target) if &target == mailbox => {
                    return Err(format!(
                        "{address} leads back to {mailbox}; forwarding there would be a loop"
                    ));
                }
                Err(error) if !error.ends_with("not one of this server's domains") => {
                    return Err(format!("cannot forward to {error}"));
                }
                _ => {}
            }
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn alice() -> LocalMailbox {
        LocalMailbox::new("alice", "example.test")
    }

    /// A runtime whose only blocking thread is busy until the returned
    /// sender is dropped: any trip to the blocking threads waits for it.
    fn runtime_with_its_blocking_thread_busy() -> (tokio::runtime::Runtime, mpsc::Sender<()>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(1)
            .enable_time()
            .build()
            .unwrap();
        let (release, held) = mpsc::channel::<()>();
        let (started, running) = mpsc::channel();
        runtime.spawn_blocking(move || {
            started.send(()).unwrap();
            let _ = held.recv();
        });
        running.recv().unwrap();
        (runtime, release)
    }

    #[test]
    fn a_mailbox_without_settings_is_answered_without_a_trip_to_the_blocking_threads() {
        let data = tempfile::tempdir().unwrap();
        let settings = SettingsAt::Files(data.path().to_owned());
        let (runtime, release) = runtime_with_its_blocking_thread_busy();

        let answered = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), settings.load(&alice())).await
        });
        assert_eq!(
            answered.expect("the lookup waited for a blocking thread"),
            Ok(MailboxRules::default())
        );
        drop(release);
    }

    #[test]
    fn a_mailbox_with_settings_has_them_read() {
        let data = tempfile::tempdir().unwrap();
        let dir = mailbox_dir(data.path(), &alice());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(RULES_FILE),
            "[senders]\nblock = [\"@spam.test\"]\nblocked = \"refuse\"\n",
        )
        .unwrap();
        let settings = SettingsAt::Files(data.path().to_owned());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();

        let lists = runtime
            .block_on(settings.load(&alice()))
            .unwrap()
            .sender_lists();
        assert_eq!(lists.block.len(), 1, "{lists:?}");
        assert_eq!(lists.blocked, postern_core::spam::Blocked::Refuse);
    }
}
