//! Accounts: argon2id hashes, checked for SMTP AUTH (and every other
//! login) and changed by `postern user`, kept where [`AccountsAt`] says:
//!
//! - on files, `DATA_DIR/accounts.toml`. The server reads the file again
//!   whenever it changes, so `postern user add` takes effect at once,
//!   without a restart. Every write replaces the file atomically
//!   ([`replace_file`]), under a lock, so a reader sees the old file or
//!   the new one, never half of one;
//! - with the postgres backend, the same document in the shared database
//!   ([`PgAccounts`]), with a revision: every node checks the revision at
//!   each login and reads the document again when it moved, so an account
//!   added or changed on any node counts on every node at its next login.

use crate::driver::Clock;
use crate::spool::{create_dir_durably, replace_file};
use crate::storage::postgres::PgAccounts;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use postern_core::accounts::{ACCOUNTS_FILE, Account, Accounts, normalize_login};
use postern_core::auth::{AuthVerdict, Identity, LockoutPolicy, LoginAttempt, LoginGuard, SendAs};
use postern_core::directory::Directory;
use postern_core::limits::{PASSWORD_CHECK_NICENESS, PASSWORD_CHECK_SPARE_CORES};
use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

/// Hashes a password with argon2id and a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| format!("cannot hash the password: {error}"))
}

/// True if `password` matches `hash` (a PHC string): argon2's own
/// verification, the same work (the hash's algorithm, version and
/// parameters), into memory this thread keeps from one check to the next
/// ([`with_blocks`]) instead of a fresh zeroed allocation each time (at
/// the default m=19456, 19 MiB cleared and faulted in per login: a fifth
/// of a login's time).
fn verify_password(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_buffer = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buffer) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let hashed = with_blocks(blocks, |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
    });
    // `Output`'s comparison takes the same time wherever they differ.
    hashed.is_ok() && Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// Runs `work` with `count` argon2 blocks of this thread's, kept for the
/// next check (argon2 writes every block before it reads it, so what an
/// earlier check left there changes nothing).
fn with_blocks<T>(count: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < count {
            blocks.resize(count, Block::default());
        }
        work(&mut blocks[..count])
    })
}

/// A hash nobody's password matches, checked for unknown logins so that
/// they take as long as known ones and the timing does not tell.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("no account has this password").unwrap_or_default())
}

/// What identifies a version of the file: when a write replaces it, one
/// of these changes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    length: u64,
    inode: u64,
}

fn stamp(path: &Path) -> io::Result<Option<Stamp>> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(metadata) => Ok(Some(Stamp {
            modified: metadata.modified().ok(),
            length: metadata.len(),
            inode: metadata.ino(),
        })),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Reads the accounts file; a missing file means no accounts.
pub fn read(path: &Path) -> Result<Accounts, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Accounts::parse(&text).map_err(|error| format!("{}: {error}", path.display())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Accounts::default()),
        Err(error) => Err(format!("{}: {error}", path.display())),
    }
}

/// Where the accounts are kept.
#[derive(Clone)]
pub enum AccountsAt {
    /// `accounts.toml` in this data directory.
    Files(PathBuf),
    /// The shared database: one set for every node.
    Shared(PgAccounts),
}

/// Which version of the accounts a cache holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cached {
    File(Option<Stamp>),
    Revision(i64),
}

impl AccountsAt {
    /// Applies `change` under the lock (the file's, or the database row's)
    /// and writes the result; `change` returns the message to print.
    pub async fn update(
        &self,
        change: impl FnOnce(&mut Accounts) -> Result<String, String> + Send + 'static,
    ) -> Result<String, String> {
        match self {
            AccountsAt::Files(data_dir) => {
                let data_dir = data_dir.clone();
                tokio::task::spawn_blocking(move || update(&data_dir, change))
                    .await
                    .map_err(|e| format!("the change of the accounts stopped: {e}"))?
            }
            AccountsAt::Shared(shared) => shared.update(change).await,
        }
    }

    /// The accounts now.
    pub async fn read(&self) -> Result<Accounts, String> {
        match self {
            AccountsAt::Files(data_dir) => {
                let path = data_dir.join(ACCOUNTS_FILE);
                tokio::task::spawn_blocking(move || read(&path))
                    .await
                    .map_err(|e| format!("reading the accounts stopped: {e}"))?
            }
            AccountsAt::Shared(shared) => shared
                .load()
                .await
                .map(|(_, accounts)| accounts)
                .map_err(|error| format!("the accounts in the database: {error}")),
        }
    }
}

/// Where the configuration keeps the accounts: the data directory's file,
/// or with `[storage] backend = "postgres"` the shared database (one
/// connection, made at its first use; a command needs no more).
pub fn accounts_at(loaded: &crate::config_file::Loaded) -> Result<AccountsAt, String> {
    match &loaded.config.storage {
        postern_core::config::StorageConfig::Files => {
            Ok(AccountsAt::Files(loaded.data_dir.clone()))
        }
        postern_core::config::StorageConfig::Postgres(postgres) => {
            let client = crate::storage::postgres::client_config(postgres, &loaded.origin)?;
            let pool = crate::storage::postgres::pool(client, 1)?;
            Ok(AccountsAt::Shared(PgAccounts::new(pool)))
        }
    }
}

/// The accounts as the server sees them: the file or the database's
/// document, cached until it changes, the directory for the aliases an
/// account owns, and the lockout of hosts that guess.
pub struct AccountBook {
    at: AccountsAt,
    /// Replaced by a configuration reload.
    directory: Mutex<Arc<Directory>>,
    cache: Mutex<Option<(Cached, Arc<Accounts>)>>,
    guard: Mutex<LoginGuard>,
    /// One clock for every session, so the lockout's instants compare.
    clock: Clock,
    /// The threads that check passwords, started at the first check.
    checker: OnceLock<Checker>,
}

/// A password check waiting for a checking thread.
type Check = Box<dyn FnOnce() + Send>;

/// The password-checking threads ([`check_threads`] of them, at
/// [`PASSWORD_CHECK_NICENESS`]), fed from one queue.
struct Checker {
    queue: Mutex<std::sync::mpsc::Sender<Check>>,
}

/// How many threads check passwords: the cores less
/// [`PASSWORD_CHECK_SPARE_CORES`], at least one.
fn check_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    cores.saturating_sub(PASSWORD_CHECK_SPARE_CORES).max(1)
}

impl Checker {
    fn start() -> Checker {
        let (sender, receiver) = std::sync::mpsc::channel::<Check>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..check_threads() {
            let receiver = Arc::clone(&receiver);
            let started = std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || {
                    // SAFETY: setpriority only changes this thread's
                    // niceness (on Linux PRIO_PROCESS with 0 is the
                    // calling thread); failing leaves it as it was.
                    unsafe {
                        libc::setpriority(libc::PRIO_PROCESS, 0, PASSWORD_CHECK_NICENESS);
                    }
                    loop {
                        let next = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(check) = next else {
                            return; // the book is gone
                        };
                        // A panic answers that check (its sender drops)
                        // and keeps the thread for the next.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
                    }
                });
            if let Err(error) = started {
                tracing::error!(%error, "cannot start a password-checking thread");
            }
        }
        Checker {
            queue: Mutex::new(sender),
        }
    }

    /// Runs `work` on a checking thread; `None` if none is running.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let check: Check = Box::new(move || {
            let _ = answer.send(work());
        });
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(check);
        sent.ok()?;
        answered.await.ok()
    }
}

impl AccountBook {
    pub fn new(at: AccountsAt, directory: Arc<Directory>, lockout: LockoutPolicy) -> Self {
        AccountBook {
            at,
            directory: Mutex::new(directory),
            cache: Mutex::new(None),
            guard: Mutex::new(LoginGuard::new(lockout)),
            clock: Clock::new(),
            checker: OnceLock::new(),
        }
    }

    /// The directory and lockout policy of a reloaded configuration; the
    /// failures counted so far stay.
    pub fn reconfigure(&self, directory: Arc<Directory>, lockout: LockoutPolicy) {
        *self.directory.lock().unwrap_or_else(|e| e.into_inner()) = directory;
        self.guard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_policy(lockout);
    }

    /// Where the accounts are kept, for the commands that change them.
    pub fn at(&self) -> &AccountsAt {
        &self.at
    }

    /// The current accounts: on files, read again if the file changed;
    /// on the database, as of the last [`AccountBook::refresh`].
    pub(crate) fn accounts(&self) -> Result<Arc<Accounts>, String> {
        let path = match &self.at {
            AccountsAt::Files(data_dir) => data_dir.join(ACCOUNTS_FILE),
            AccountsAt::Shared(_) => {
                return self
                    .cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                    .map(|(_, accounts)| Arc::clone(accounts))
                    .ok_or_else(|| {
                        "the accounts have not been read from the database yet".to_owned()
                    });
            }
        };
        let current = Cached::File(stamp(&path).map_err(|e| format!("{}: {e}", path.display()))?);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, accounts)) = cache.as_ref()
            && *cached == current
        {
            return Ok(Arc::clone(accounts));
        }
        let accounts = Arc::new(read(&path)?);
        *cache = Some((current, Arc::clone(&accounts)));
        Ok(accounts)
    }

    /// On the database, checks the accounts' revision (one lookup) and
    /// reads them again when another change has been written since, on
    /// any node; on files, nothing (the file's stamp is checked at each
    /// read).
    pub async fn refresh(&self) -> Result<(), String> {
        let AccountsAt::Shared(shared) = &self.at else {
            return Ok(());
        };
        let failed = |error: io::Error| format!("the accounts in the database: {error}");
        let revision = shared.revision().await.map_err(failed)?;
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(version, _)| *version);
        if cached == Some(Cached::Revision(revision)) {
            return Ok(());
        }
        let (revision, accounts) = shared.load().await.map_err(failed)?;
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Cached::Revision(revision), Arc::new(accounts)));
        Ok(())
    }

    /// Checks a login: the lockout first, then the password, on the
    /// password-checking threads ([`Checker`]; argon2 is slow on purpose).
    pub async fn authenticate(
        self: &Arc<Self>,
        attempt: LoginAttempt,
        client: IpAddr,
    ) -> AuthVerdict {
        let now = self.clock.now();
        if self
            .guard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .locked_until(client, now)
            .is_some()
        {
            return AuthVerdict::LockedOut;
        }
        // Every node sees a change made on any other at its next login.
        if let Err(error) = self.refresh().await {
            tracing::error!("cannot read the accounts: {error}");
            return AuthVerdict::Unavailable;
        }
        let repeated = attempt.repeated;
        let book = Arc::clone(self);
        let checker = self.checker.get_or_init(Checker::start);
        let checked = checker.run(move || book.check(&attempt)).await;
        let verdict = match checked {
            Some(Ok(verdict)) => verdict,
            Some(Err(error)) => {
                tracing::error!("cannot read the accounts: {error}");
                AuthVerdict::Unavailable
            }
            None => {
                tracing::error!("the password check failed (no checking thread answered)");
                AuthVerdict::Unavailable
            }
        };
        // A session's repeat of a login and password that failed already
        // (smtplib: PLAIN, then LOGIN) is one guess: it counts once.
        if verdict == AuthVerdict::Rejected && !repeated {
            let now = self.clock.now();
            let mut guard = self.guard.lock().unwrap_or_else(|e| e.into_inner());
            guard.record_failure(client, now);
            // Logged once: later attempts are refused before they count.
            if let Some(until) = guard.locked_until(client, now) {
                let host = guard.host(client);
                let policy = guard.policy();
                let window = humantime::format_duration(policy.window);
                // Whole seconds, rounded up: "10m", not "9m 59s".
                let left = until.saturating_duration_since(now);
                let left = humantime::format_duration(Duration::from_secs(
                    left.as_secs() + u64::from(left.subsec_nanos() > 0),
                ));
                tracing::warn!(
                    %host,
                    %client,
                    failures = policy.failures,
                    window = %window,
                    "logins from {host} locked out for {left}: {} failed logins within {window}; `postern unlock {client}` clears it",
                    policy.failures
                );
            }
        }
        verdict
    }

    /// True if `login` is an account marked admin (read from the current
    /// file; false when it cannot be read).
    pub fn is_admin(&self, login: &str) -> bool {
        self.accounts()
            .is_ok_and(|accounts| accounts.get(login).is_some_and(|account| account.admin))
    }

    /// Which host `client` counts as for the lockout.
    pub fn host(&self, client: IpAddr) -> postern_core::admission::HostKey {
        self.guard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .host(client)
    }

    /// Clears the lockout of `client`'s host at once (`postern unlock`):
    /// true if it had failures on record.
    pub fn unlock(&self, client: IpAddr) -> bool {
        let mut guard = self.guard.lock().unwrap_or_else(|e| e.into_inner());
        let host = guard.host(client);
        let cleared = guard.unlock(client);
        if cleared {
            tracing::warn!(%host, "logins from {host} unlocked by the operator");
        }
        cleared
    }

    fn check(&self, attempt: &LoginAttempt) -> Result<AuthVerdict, String> {
        let accounts = self.accounts()?;
        let account = normalize_login(&attempt.login)
            .ok()
            .and_then(|login| accounts.get(&login));
        let hash = account.map_or(decoy_hash(), |a| a.password_hash.as_str());
        let matches = verify_password(hash, attempt.password.expose());
        Ok(match account {
            // A disabled account is refused like a wrong password, after
            // the same work, so a guesser cannot tell.
            Some(account) if matches && !account.disabled => AuthVerdict::Accepted(Identity {
                login: account.login.clone(),
                send_as: if account.send_as_anyone {
                    SendAs::Anyone
                } else {
                    let directory =
                        Arc::clone(&self.directory.lock().unwrap_or_else(|e| e.into_inner()));
                    SendAs::Addresses(directory.owned_addresses(&account.login))
                },
            }),
            _ => AuthVerdict::Rejected,
        })
    }
}

/// Changes the accounts file under its lock: reads it, applies `change`,
/// and replaces it atomically. `change` returns the message to print.
pub fn update(
    data_dir: &Path,
    change: impl FnOnce(&mut Accounts) -> Result<String, String>,
) -> Result<String, String> {
    create_dir_durably(data_dir)
        .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))?;
    let path = data_dir.join(ACCOUNTS_FILE);
    let _lock = FileLock::acquire(&data_dir.join("accounts.lock"))?;
    let mut accounts = read(&path)?;
    let message = change(&mut accounts)?;
    replace_file(&path, accounts.render().as_bytes())
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(message)
}

/// Hashes `password` off the async threads (argon2 is slow on purpose).
async fn hashed(password: &str) -> Result<String, String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| format!("hashing the password stopped: {e}"))?
}

/// Adds an account; refuses to replace one.
pub async fn add(
    at: &AccountsAt,
    login: &str,
    password: &str,
    send_as_anyone: bool,
    admin: bool,
) -> Result<String, String> {
    let login = normalize_login(login)?;
    let password_hash = hashed(password).await?;
    at.update(move |accounts| {
        if accounts.get(&login).is_some() {
            return Err(format!(
                "{login} already has an account; use `postern user passwd {login}` to change its password"
            ));
        }
        accounts.insert(Account {
            login: login.clone(),
            password_hash,
            send_as_anyone,
            real_name: None,
            plan: None,
            admin,
            disabled: false,
        });
        Ok(if admin {
            format!("added {login} (admin)")
        } else {
            format!("added {login}")
        })
    })
    .await
}

/// Sets a new password for an existing account.
pub async fn set_password(at: &AccountsAt, login: &str, password: &str) -> Result<String, String> {
    let login = normalize_login(login)?;
    let password_hash = hashed(password).await?;
    at.update(move |accounts| {
        let Some(account) = accounts.get(&login).cloned() else {
            return Err(format!(
                "{login} has no account; add it with `postern user add {login}`"
            ));
        };
        accounts.insert(Account {
            password_hash,
            ..account
        });
        Ok(format!("changed the password of {login}"))
    })
    .await
}

/// Sets (or with `None` removes) an account's real name, shown by finger.
pub async fn set_real_name(
    at: &AccountsAt,
    login: &str,
    name: Option<&str>,
) -> Result<String, String> {
    let login = normalize_login(login)?;
    let name = name
        .map(postern_core::accounts::check_real_name)
        .transpose()?;
    change_account(at, login.clone(), move |account| {
        let message = match &name {
            Some(name) => format!("the name of {login} is now {name}"),
            None => format!("removed the name of {login}"),
        };
        account.real_name = name;
        message
    })
    .await
}

/// Sets (or with `None` removes) an account's plan, shown by finger.
pub async fn set_plan(at: &AccountsAt, login: &str, plan: Option<&[u8]>) -> Result<String, String> {
    let login = normalize_login(login)?;
    let plan = plan.map(postern_core::accounts::check_plan).transpose()?;
    change_account(at, login.clone(), move |account| {
        let message = match &plan {
            Some(plan) => format!("set the plan of {login} ({} octets)", plan.len()),
            None => format!("removed the plan of {login}"),
        };
        account.plan = plan;
        message
    })
    .await
}

/// Marks an account admin or not: an admin may watch the server's log
/// through a remote-log instance.
pub async fn set_admin(at: &AccountsAt, login: &str, admin: bool) -> Result<String, String> {
    let login = normalize_login(login)?;
    change_account(at, login.clone(), move |account| {
        account.admin = admin;
        if admin {
            format!("{login} is now an admin: it may watch the log through a remote-log instance")
        } else {
            format!("{login} is no longer an admin")
        }
    })
    .await
}

/// Disables an account (no login by any protocol) or enables it again.
pub async fn set_disabled(at: &AccountsAt, login: &str, disabled: bool) -> Result<String, String> {
    let login = normalize_login(login)?;
    change_account(at, login.clone(), move |account| {
        account.disabled = disabled;
        if disabled {
            format!("{login} is disabled: it cannot log in; its mail is still delivered")
        } else {
            format!("{login} is enabled again")
        }
    })
    .await
}

async fn change_account(
    at: &AccountsAt,
    login: String,
    change: impl FnOnce(&mut Account) -> String + Send + 'static,
) -> Result<String, String> {
    at.update(move |accounts| {
        let Some(mut account) = accounts.get(&login).cloned() else {
            return Err(format!(
                "{login} has no account; add it with `postern user add {login}`"
            ));
        };
        let message = change(&mut account);
        accounts.insert(account);
        Ok(message)
    })
    .await
}

pub async fn delete(at: &AccountsAt, login: &str) -> Result<String, String> {
    let login = normalize_login(login)?;
    at.update(move |accounts| match accounts.remove(&login) {
        Some(_) => Ok(format!("deleted {login}")),
        None => Err(format!("{login} has no account")),
    })
    .await
}

/// One line per account: the login, `send-as-anyone` when it may, and
/// `admin` for an admin.
pub async fn list(at: &AccountsAt) -> Result<String, String> {
    let accounts = at.read().await?;
    if accounts.is_empty() {
        return Ok("no accounts".to_owned());
    }
    Ok(accounts
        .iter()
        .map(|account| {
            let mut line = account.login.clone();
            if account.send_as_anyone {
                line.push_str(" send-as-anyone");
            }
            if account.admin {
                line.push_str(" admin");
            }
            if account.disabled {
                line.push_str(" disabled");
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// An exclusive `flock` held while it lives.
struct FileLock(File);

impl FileLock {
    fn acquire(path: &Path) -> Result<Self, String> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(format!(
                "cannot lock {}: {}",
                path.display(),
                io::Error::last_os_error()
            ));
        }
        Ok(FileLock(file))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: unlocking the descriptor this lock owns.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// `postern unlock ADDRESS`: asks the running server to clear the lockout
/// of a client address. A lockout lives only in the server's memory, so
/// with no server running there is nothing to clear.
pub fn unlock(data_dir: &Path, address: &str) -> Result<String, String> {
    let client: IpAddr = address.trim().parse().map_err(|_| {
        format!(
            "{address} is not an IP address; give the client address from the log line \"logins from ADDRESS locked out\""
        )
    })?;
    match crate::queue_command::ask_server(data_dir, &format!("unlock {client}"))? {
        Some(reply) => {
            let reply = reply.join("\n");
            match reply.strip_prefix("ok ") {
                Some(text) => Ok(text.to_owned()),
                None => Err(reply),
            }
        }
        None => Err(format!(
            "no server is running on {}; a lockout lasts only while the server runs, so there is nothing to clear",
            data_dir.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash with other parameters than ours, made by argon2's own
    /// hasher (as Dovecot's or an older Postern's would be).
    fn hash_with(m: u32, t: u32, algorithm: Algorithm, password: &str) -> String {
        let params = Params::new(m, t, 1, Some(24)).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        Argon2::new(algorithm, Version::V0x13, params)
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_kept_memory_gives_argon2s_own_verdicts_whatever_the_order() {
        let ours = hash_password("right").unwrap();
        let small = hash_with(64, 3, Algorithm::Argon2id, "small");
        let argon2i = hash_with(128, 2, Algorithm::Argon2i, "other");
        // Largest first, then smaller, then larger again: the thread's
        // blocks are reused, shortened and grown.
        for _ in 0..2 {
            assert!(verify_password(&ours, "right"));
            assert!(!verify_password(&ours, "wrong"));
            assert!(verify_password(&small, "small"));
            assert!(!verify_password(&small, "right"));
            assert!(verify_password(&argon2i, "other"));
            assert!(!verify_password(&argon2i, "small"));
        }
        // Each verdict is the one argon2's own verifier gives.
        use argon2::password_hash::PasswordVerifier;
        for (hash, password) in [(&small, "small"), (&small, "x"), (&argon2i, "other")] {
            let parsed = PasswordHash::new(hash).unwrap();
            let theirs = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            assert_eq!(verify_password(hash, password), theirs, "{hash} {password}");
        }
        assert!(!verify_password("not a hash", "right"));
        assert!(!verify_password(
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
            "right"
        ));
    }
}
