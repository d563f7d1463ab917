//! Mailing lists on disk, and the runtime side of their delivery
//! (`deliver.rs`), CLI (`command.rs`) and one-click unsubscribe.
//!
//! Each list has a directory `DATA/lists/ADDRESS/`:
//! - `list.toml`: the definition of a list made with `postern list
//!   create` (a list from a `[[list]]` table has none);
//! - `state`: members, pending confirmations, held posts and bounces
//!   ([`postern_core::lists::ListState`]'s text);
//! - `held/TOKEN`: the message of each held post;
//! - `lock`: locked (`flock`) while the state is read, changed and
//!   written, so the server and the CLI never lose each other's change.
//!
//! Every write replaces its file atomically ([`replace_file`]: a temporary
//! file, fsync, rename, fsync of the directory). The list's archive is its
//! own mailbox (`DATA/mail/DOMAIN/LOCAL/`), written through the Maildir
//! store delivery already uses.

pub mod command;
pub mod deliver;
pub mod digest;
pub mod store;

use crate::maildir::Maildirs;
use crate::spool::{create_dir_durably, replace_file};
use postern_core::config::{Config, parse_list_file};
use postern_core::envelope::LocalMailbox;
use postern_core::limits::LIST_STATE_BYTES_MAX;
use postern_core::lists::{ListDefinition, ListState, Role};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use store::{FileLists, ListStore};

/// The file of a created list's definition.
pub const DEFINITION_FILE: &str = "list.toml";
/// The file of a list's state.
pub const STATE_FILE: &str = "state";

/// Where every list's directory is.
pub fn lists_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("lists")
}

/// The directory of the list at `address` (lower-case).
pub fn list_dir(data_dir: &Path, address: &str) -> PathBuf {
    lists_dir(data_dir).join(address)
}

/// Every list: those the configuration declares, then those made with
/// `postern list create` (sorted by address), and what is wrong with any
/// created list that cannot be used (it is left out). The lead's NNTP
/// service reads the archives of these.
pub fn all(config: &Config, data_dir: &Path) -> (Vec<ListDefinition>, Vec<String>) {
    let mut lists = config.lists.lists.clone();
    let mut problems = Vec::new();
    let entries = match std::fs::read_dir(lists_dir(data_dir)) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return (lists, problems),
        Err(error) => {
            problems.push(format!("{}: {error}", lists_dir(data_dir).display()));
            return (lists, problems);
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join(DEFINITION_FILE))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    for path in paths {
        match read_definition(&path, config) {
            Ok(definition) if lists.iter().any(|l| l.address() == definition.address()) => {
                problems.push(format!(
                    "{}: {} is also a [[list]] in the configuration; the configuration's is used",
                    path.display(),
                    definition.address()
                ));
            }
            Ok(definition) => lists.push(definition),
            Err(error) => problems.push(error),
        }
    }
    (lists, problems)
}

/// A created list's definition, checked like a `[[list]]` table.
pub fn read_definition(path: &Path, config: &Config) -> Result<ListDefinition, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_list_file(&text, &config.domains).map_err(|errors| {
        errors
            .iter()
            .map(|error| error.render(&path.display().to_string(), &text))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Reads a list's state (none yet: empty). A damaged file is an
/// `InvalidData` error naming the file and line.
pub fn read_state(dir: &Path) -> io::Result<ListState> {
    let path = dir.join(STATE_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(ListState::default()),
        Err(error) => return Err(error),
    };
    let damaged = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    };
    let mut bytes = Vec::new();
    file.take(LIST_STATE_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > LIST_STATE_BYTES_MAX {
        return Err(damaged(format!(
            "longer than {LIST_STATE_BYTES_MAX} octets"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| damaged("not UTF-8 text".into()))?;
    ListState::parse(&text).map_err(|error| damaged(error.to_string()))
}

/// Reads the state of the list in `dir` under its lock, lets `change`
/// change it, and writes it back (atomically) if `change` says it
/// changed. The lock is an `flock` on `dir/lock`, held until the write
/// is durable: the server's deliveries and the CLI take turns.
pub fn update_state<T>(
    dir: &Path,
    change: impl FnOnce(&mut ListState) -> io::Result<(T, bool)>,
) -> io::Result<T> {
    create_dir_durably(dir)?;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join("lock"))?;
    // SAFETY: flock(2) on a descriptor this function owns; closing it
    // (when `lock` drops) releases the lock.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut state = read_state(dir)?;
    let (answer, changed) = change(&mut state)?;
    if changed {
        replace_file(&dir.join(STATE_FILE), state.render().as_bytes())?;
    }
    // The lock is released when `lock` is closed, here.
    Ok(answer)
}

/// Keeps a held post's message.
pub fn write_held(dir: &Path, token: &str, message: &[u8]) -> io::Result<()> {
    let held = dir.join("held");
    create_dir_durably(&held)?;
    replace_file(&held.join(token), message)
}

pub fn read_held(dir: &Path, token: &str) -> io::Result<Vec<u8>> {
    std::fs::read(dir.join("held").join(token))
}

pub fn remove_held(dir: &Path, token: &str) -> io::Result<()> {
    match std::fs::remove_file(dir.join("held").join(token)) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// What delivery needs of the lists: their definitions (replaced on a
/// reload), where their state and archives are kept ([`ListStore`]), and
/// the web URL.
pub struct ListBook {
    /// The data directory lists made with `postern list create` are
    /// found in; none in the simulation (its lists are the config's).
    data_dir: Option<PathBuf>,
    hostname: String,
    store: Arc<dyn ListStore>,
    current: RwLock<Current>,
}

#[derive(Default)]
struct Current {
    /// By address.
    lists: BTreeMap<String, ListDefinition>,
    web_url: Option<String>,
}

/// A list archive an IMAP user may read: its shared folder's name and
/// the mailbox whose INBOX it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedArchive {
    pub folder: String,
    pub mailbox: LocalMailbox,
}

/// A list address and the role a local mailbox plays for it.
pub struct Target {
    pub definition: ListDefinition,
    pub role: Role,
}

impl ListBook {
    /// The lists of the data directory, kept in its files.
    pub fn new(data_dir: &Path, hostname: &str, maildirs: Arc<Maildirs>) -> Self {
        ListBook {
            data_dir: Some(data_dir.to_owned()),
            hostname: hostname.to_owned(),
            store: Arc::new(FileLists {
                data_dir: data_dir.to_owned(),
                maildirs,
            }),
            current: RwLock::default(),
        }
    }

    /// Lists declared in the configuration only, kept in `store` (the
    /// simulation's).
    pub fn with_store(hostname: &str, store: Arc<dyn ListStore>) -> Self {
        ListBook {
            data_dir: None,
            hostname: hostname.to_owned(),
            store,
            current: RwLock::default(),
        }
    }

    /// Takes the lists of `config` and the data directory; answers them
    /// (for the directory) and logs any that cannot be used.
    pub fn reconfigure(&self, config: &Config) -> Vec<ListDefinition> {
        let (lists, problems) = match &self.data_dir {
            Some(data_dir) => all(config, data_dir),
            None => (config.lists.lists.clone(), Vec::new()),
        };
        for problem in problems {
            tracing::error!("mailing list left out: {problem}");
        }
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        current.lists = lists.iter().map(|l| (l.address(), l.clone())).collect();
        current.web_url = config.lists.web_url.clone();
        lists
    }

    /// The posts held by the lists `login` moderates (or owns), for the
    /// webmail; a list whose state cannot be read is logged and left out.
    pub fn held_for(&self, login: &str) -> Vec<postern_core::lists::HeldPost> {
        let lists: Vec<ListDefinition> = {
            let current = self.current.read().unwrap_or_else(|e| e.into_inner());
            current
                .lists
                .values()
                .filter(|list| list.is_moderator(login))
                .cloned()
                .collect()
        };
        let mut held = Vec::new();
        for list in lists {
            let address = list.address();
            let mut tokens = Vec::new();
            let read = self.store.update_state(&address, &mut |state| {
                tokens = state
                    .held
                    .iter()
                    .map(|(token, post)| (token.clone(), post.sender.clone()))
                    .collect();
                Ok(false)
            });
            if let Err(error) = read {
                tracing::error!(list = %address, %error, "cannot read the list's held posts");
                continue;
            }
            for (token, sender) in tokens {
                let subject = self
                    .store
                    .read_held(&address, &token)
                    .ok()
                    .and_then(|message| postern_core::mailbox::header::field(&message, "Subject"))
                    .unwrap_or_else(|| "(no subject)".to_owned());
                held.push(postern_core::lists::HeldPost {
                    list: address.clone(),
                    request_address: list.request_address(),
                    token,
                    sender,
                    subject,
                });
            }
        }
        held
    }

    /// The list `mailbox` belongs to, and its role there.
    pub fn target(&self, mailbox: &LocalMailbox) -> Option<Target> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .lists
            .values()
            .filter(|l| l.domain == mailbox.domain)
            .find_map(|l| {
                Role::of(&l.local, &mailbox.user).map(|role| Target {
                    definition: l.clone(),
                    role,
                })
            })
    }

    pub fn web_url(&self) -> Option<String> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.web_url.clone()
    }

    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// Where the lists' state and archives are kept.
    pub fn store(&self) -> &Arc<dyn ListStore> {
        &self.store
    }

    /// Runs `work` on the store: on a blocking thread when it blocks on a
    /// disk, at once when it does not (the simulation's, which must not
    /// leave its virtual time).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        if self.store.blocks() {
            crate::spool::blocking(work).await
        } else {
            work()
        }
    }

    /// The archives the account with `addresses` (its login and its
    /// mailbox's address) may read over IMAP, by folder name (see
    /// [`postern_core::imap::shared`]). A list whose state cannot be read
    /// is shown only if it is open (and logged).
    pub fn readable_archives(&self, addresses: &[&str]) -> Vec<SharedArchive> {
        use postern_core::imap::shared::{Reader, archive_folder, archive_readable};
        let lists: Vec<ListDefinition> = {
            let current = self.current.read().unwrap_or_else(|e| e.into_inner());
            current.lists.values().cloned().collect()
        };
        lists
            .into_iter()
            .filter(|list| {
                let mut state = ListState::default();
                let read = self.store.update_state(&list.address(), &mut |current| {
                    state = current.clone();
                    Ok(false)
                });
                if let Err(error) = read {
                    tracing::warn!(list = %list.address(), %error, "list state unreadable: its archive is shown only if the list is open");
                }
                archive_readable(list.kind, Reader::of(list, &state, addresses))
            })
            .map(|list| SharedArchive {
                folder: archive_folder(&list.address()),
                mailbox: LocalMailbox {
                    domain: list.domain.clone(),
                    user: list.local.clone(),
                },
            })
            .collect()
    }

    /// Every list's directory, for the one-click unsubscribe (none when
    /// the lists are not kept in files).
    pub fn dirs(&self) -> Vec<(String, PathBuf)> {
        let Some(data_dir) = &self.data_dir else {
            return Vec::new();
        };
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .lists
            .keys()
            .map(|address| (address.clone(), list_dir(data_dir, address)))
            .collect()
    }
}

/// The one-click unsubscribe (RFC 8058) of the member whose token this
/// is, in whichever list: answers (list, address) when one was removed.
pub fn unsubscribe_by_token(book: &ListBook, token: &str) -> io::Result<Option<(String, String)>> {
    for (address, dir) in book.dirs() {
        if !dir.join(STATE_FILE).is_file() {
            continue;
        }
        let removed = update_state(&dir, |state| {
            let removed = postern_core::lists::handle_unsubscribe_token(state, token);
            let changed = removed.is_some();
            Ok((removed, changed))
        })?;
        if let Some(member) = removed {
            return Ok(Some((address, member)));
        }
    }
    Ok(None)
}

/// A seed from the operating system for the tokens a list draws (64 bits
/// of OS randomness stretched by the core's SplitMix64: tokens are
/// unguessable to a sender, if not fit for cryptography).
pub fn fresh_seed() -> u64 {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    OsRng.next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_state_file_is_named_with_its_line_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("team@example.test");
        update_state(&list, |state| {
            state.members.insert(
                "bob@example.test".into(),
                postern_core::lists::Member {
                    delivery: postern_core::lists::Delivery::Mail,
                    moderated: false,
                    barred: false,
                    token: "0".repeat(32),
                },
            );
            Ok(((), true))
        })
        .unwrap();
        assert_eq!(read_state(&list).unwrap().members.len(), 1);
        let path = list.join(STATE_FILE);
        let damaged = std::fs::read_to_string(&path)
            .unwrap()
            .replace(" mail", " sometimes");
        std::fs::write(&path, &damaged).unwrap();
        let error = read_state(&list).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let text = error.to_string();
        assert!(
            text.starts_with(&path.display().to_string()) && text.contains("line 2:"),
            "{text}"
        );
        // A change that needs the state fails, and the file stays as it was.
        assert!(update_state(&list, |_| Ok(((), true))).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), damaged);
    }
}
