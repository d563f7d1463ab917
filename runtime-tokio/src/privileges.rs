//! Dropping root: the account `[server] user` and `group` name, looked up
//! in the system's database, and the switch to it once every listener is
//! bound and every certificate loaded, before any client byte is read.
//!
//! The core decides ([`RunAs::decide`]); this module looks names up and
//! makes the system calls. `setgroups`, `setgid` and `setuid` go through
//! glibc, which applies them to every thread of the process (the tokio
//! workers already exist when the server drops root).

use crate::config_file::Loaded;
use nix::unistd::{Gid, Group, Uid, User};
use postern_core::config::{ConfigError, Privileges, RunAs, SystemName};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The account sessions run as, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user: String,
    pub uid: Uid,
    pub group: String,
    pub gid: Gid,
}

/// What the server will do about privileges, resolved against the
/// system's user database: errors name the file, the line and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Switch to this account after binding.
    Drop(Account),
    /// Already running as this account (a unit with `User=`): nothing to do.
    Already(Account),
    /// Stay root; the configuration says `run_as_root = true`.
    KeepRoot,
    /// Not root and no user named: nothing to do.
    Unprivileged,
    /// Started as root with no user and no `run_as_root = true`: the
    /// server refuses with this text (before it touches anything; the
    /// commands that only read or write the data directory go on as the
    /// user who started them).
    Refuse(String),
}

impl Plan {
    /// The account to hand the data directory to, if any.
    pub fn account(&self) -> Option<&Account> {
        match self {
            Plan::Drop(account) | Plan::Already(account) => Some(account),
            Plan::KeepRoot | Plan::Unprivileged | Plan::Refuse(_) => None,
        }
    }
}

/// Looks the configured user and group up. Started as root with neither a
/// user nor `run_as_root = true`, the plan is a refusal.
pub fn plan(loaded: &Loaded) -> Result<Plan, String> {
    let run_as: &RunAs = &loaded.config.server.run_as;
    let render =
        |error: postern_core::config::ConfigError| error.render(&loaded.origin, &loaded.source);
    let root = Uid::effective().is_root();
    let (user, group) = match run_as.decide(root) {
        Err(refusal) => return Ok(Plan::Refuse(render(refusal))),
        Ok(Privileges::KeepRoot) => return Ok(Plan::KeepRoot),
        Ok(Privileges::Unprivileged) => return Ok(Plan::Unprivileged),
        Ok(Privileges::Drop { user, group }) => (user, group),
    };
    let found = User::from_name(&user.name).map_err(|e| {
        format!(
            "cannot read the user database for user \"{}\": {e}",
            user.name
        )
    })?;
    let Some(found) = found else {
        return Err(render(user.error(
            "server.user",
            format!("no system user is named \"{}\"", user.name),
            format!(
                "create it (useradd --system --home-dir /var/lib/postern --shell /usr/sbin/nologin {}), or name an existing user",
                user.name
            ),
        )));
    };
    if found.uid.is_root() {
        return Err(render(user.error(
            "server.user",
            format!(
                "user \"{}\" has uid 0: it is root by another name",
                user.name
            ),
            "name an unprivileged system account such as \"postern\"".to_owned(),
        )));
    }
    let (group_name, gid) = match &group {
        None => (
            Group::from_gid(found.gid)
                .ok()
                .flatten()
                .map_or_else(|| found.gid.to_string(), |g| g.name),
            found.gid,
        ),
        Some(group) => lookup_group(group).map_err(|error| render(*error))?,
    };
    let account = Account {
        user: found.name,
        uid: found.uid,
        group: group_name,
        gid,
    };
    let current = (Uid::effective(), Gid::effective());
    if root {
        Ok(Plan::Drop(account))
    } else if current == (account.uid, account.gid) {
        Ok(Plan::Already(account))
    } else {
        Err(render(user.error(
            "server.user",
            format!(
                "postern runs as uid {} gid {}, not as root, so it cannot switch to {}:{} (uid {} gid {})",
                current.0, current.1, account.user, account.group, account.uid, account.gid
            ),
            "start postern as root (it drops to the user once its ports are bound), start it as that user and group, or remove user".to_owned(),
        )))
    }
}

/// The configured group's name and ID, or an error at its line.
fn lookup_group(group: &SystemName) -> Result<(String, Gid), Box<ConfigError>> {
    let entry = Group::from_name(&group.name).map_err(|e| {
        Box::new(group.error(
            "server.group",
            format!("cannot read the group database: {e}"),
            "check /etc/group and /etc/nsswitch.conf".to_owned(),
        ))
    })?;
    match entry {
        Some(entry) => Ok((entry.name, entry.gid)),
        None => Err(Box::new(group.error(
            "server.group",
            format!("no system group is named \"{}\"", group.name),
            format!(
                "create it (groupadd --system {}), name an existing group, or remove group to use the user's own",
                group.name
            ),
        ))),
    }
}

/// Makes sure the account can use the data directory: one Postern creates
/// is handed to it; one that exists must already be its own, since
/// everything below it is written after the switch.
pub fn hand_over_data_dir(data_dir: &Path, account: &Account) -> Result<(), String> {
    let fix = format!(
        "chown -R {}:{} {}",
        account.user,
        account.group,
        data_dir.display()
    );
    let metadata = match std::fs::metadata(data_dir) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            crate::spool::create_dir_durably(data_dir).map_err(|e| {
                format!(
                    "cannot create the data directory {}: {e}",
                    data_dir.display()
                )
            })?;
            return hand_over(data_dir, account);
        }
        Err(error) => {
            return Err(format!(
                "cannot use the data directory {}: {error}",
                data_dir.display()
            ));
        }
    };
    if metadata.uid() != account.uid.as_raw() {
        return Err(format!(
            "the data directory {} belongs to uid {}, not to {} (uid {}), who runs the sessions and writes the spool and mailboxes\n  help: {fix}",
            data_dir.display(),
            metadata.uid(),
            account.user,
            account.uid
        ));
    }
    Ok(())
}

/// Gives `path` (made by root before the switch) to the account.
pub fn hand_over(path: &Path, account: &Account) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(account.uid.as_raw()), Some(account.gid.as_raw())).map_err(
        |e| {
            format!(
                "cannot hand {} to {}:{}: {e}",
                path.display(),
                account.user,
                account.group
            )
        },
    )
}

/// Switches the whole process to `account`: supplementary groups cleared
/// to its group, then the group, then the user (in this order: once the
/// user is switched, the group could no longer be). Checks that root
/// cannot be regained.
pub fn drop_to(account: &Account) -> Result<(), String> {
    use nix::unistd::{setgid, setgroups, setuid};
    let context = |step: &str, error: nix::Error| {
        format!(
            "cannot switch to {}:{} ({step}): {error}",
            account.user, account.group
        )
    };
    setgroups(&[account.gid]).map_err(|e| context("setgroups", e))?;
    setgid(account.gid).map_err(|e| context("setgid", e))?;
    setuid(account.uid).map_err(|e| context("setuid", e))?;
    if account.uid.is_root() || setuid(Uid::from_raw(0)).is_ok() {
        return Err(format!(
            "still able to regain root after switching to {}; refusing to serve",
            account.user
        ));
    }
    Ok(())
}

/// Carries the plan out: the switch, or the refusal, or nothing; says in
/// the log whom sessions run as.
pub fn carry_out(plan: &Plan) -> Result<(), String> {
    match plan {
        Plan::Drop(account) => {
            drop_to(account)?;
            tracing::info!(
                user = %account.user,
                group = %account.group,
                "dropped root: sessions run as uid {} gid {}",
                account.uid,
                account.gid
            );
        }
        Plan::Already(account) => {
            tracing::info!(user = %account.user, group = %account.group, "running as the configured user")
        }
        Plan::KeepRoot => {
            tracing::warn!("sessions run as root: [server] run_as_root = true")
        }
        Plan::Unprivileged => {}
        Plan::Refuse(text) => return Err(text.clone()),
    }
    Ok(())
}

/// For the commands that write under the data directory (`user`, `queue`,
/// `mailbox`): run as root with a `[server] user` configured, they switch
/// to that user first, so that every file they make belongs to the
/// account the server runs as (a root-owned accounts file would lock the
/// server out of it). Otherwise they run as whoever started them.
pub fn become_configured_user(loaded: &Loaded) -> Result<(), String> {
    if !Uid::effective().is_root() {
        return Ok(());
    }
    match plan(loaded)? {
        Plan::Drop(account) => drop_to(&account),
        Plan::Already(_) | Plan::KeepRoot | Plan::Unprivileged | Plan::Refuse(_) => Ok(()),
    }
}

/// `check-config`'s line about whom sessions run as, when the file names
/// a user or `run_as_root`. A user or group this
/// host does not know is a warning here (the package's postinst creates
/// `postern`; the file may be checked on another machine), and an error
/// at `postern run`.
pub fn describe(loaded: &Loaded) -> String {
    let run_as = &loaded.config.server.run_as;
    // Without either key, nothing: sessions run as whoever starts postern
    // (as root, `run` refuses and says so).
    let Some(user) = &run_as.user else {
        return if run_as.as_root {
            "  run as    root (run_as_root = true)\n".to_owned()
        } else {
            String::new()
        };
    };
    let group = run_as.group.as_ref();
    let found = User::from_name(&user.name).ok().flatten();
    // Without `group`, the user's own group, named when the user exists.
    let primary = found
        .as_ref()
        .and_then(|user| Group::from_gid(user.gid).ok().flatten())
        .map(|group| group.name);
    let group_name = match (group, primary) {
        (Some(group), _) => group.name.clone(),
        (None, Some(primary)) => primary,
        (None, None) => "(the user's group)".to_owned(),
    };
    let mut text = format!("  run as    {}:{group_name}\n", user.name);
    let known = |found: bool, what: &str, name: &str| {
        (!found).then(|| format!("  warning   no {what} \"{name}\" on this host: `postern run` will refuse until it exists\n"))
    };
    text.extend(known(found.is_some(), "user", &user.name));
    if let Some(group) = group {
        let found = matches!(Group::from_name(&group.name), Ok(Some(_)));
        text.extend(known(found, "group", &group.name));
    }
    text
}
