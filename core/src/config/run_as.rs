//! `[server] user`, `group` and `run_as_root`: whom client sessions run
//! as, and the decision, once the listeners are bound, to drop root.
//!
//! Looking a name up in the system's user database and switching to it is
//! the runtime's job; what the keys mean together, and when the server
//! must refuse to start, is decided here.

use super::{ConfigError, line_column};
use crate::limits::SYSTEM_NAME_BYTES_MAX;
use serde::Deserialize;
use toml::Spanned;

/// A system user or group name as written in the file, with its place, so
/// that a name the system does not know is reported at its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemName {
    pub name: String,
    /// 1-based line and column of the value.
    pub position: (usize, usize),
}

impl SystemName {
    /// An error about this name (unknown to the system, say), at its line.
    pub fn error(&self, key: &str, message: String, help: String) -> ConfigError {
        ConfigError {
            position: Some(self.position),
            key: Some(key.to_owned()),
            message,
            help: Some(help),
        }
    }
}

/// Whom the server runs client sessions as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunAs {
    /// `[server] user`: the account to switch to after binding.
    pub user: Option<SystemName>,
    /// `[server] group`: its group; without it, the user's own group.
    pub group: Option<SystemName>,
    /// `[server] run_as_root = true`: started as root with no `user`, the
    /// server keeps root for its sessions instead of refusing to start.
    pub as_root: bool,
}

/// What to do about privileges once every listener is bound and the
/// certificates are loaded, before any client byte is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Privileges {
    /// Switch to `user` (and `group`, else the user's own group).
    Drop {
        user: SystemName,
        group: Option<SystemName>,
    },
    /// Keep running as root: the configuration says so.
    KeepRoot,
    /// Not root: nothing to drop.
    Unprivileged,
}

impl RunAs {
    /// The step to take, started as root or not. Started as root with no
    /// `user` and no `run_as_root = true`, the answer is a refusal naming
    /// both keys.
    pub fn decide(&self, started_as_root: bool) -> Result<Privileges, ConfigError> {
        match (&self.user, started_as_root) {
            (Some(user), _) => Ok(Privileges::Drop {
                user: user.clone(),
                group: self.group.clone(),
            }),
            (None, true) if self.as_root => Ok(Privileges::KeepRoot),
            (None, true) => Err(ConfigError {
                position: None,
                key: Some("server.user".to_owned()),
                message: "postern was started as root and [server] names no user to switch to: client sessions would run as root".to_owned(),
                help: Some("add user = \"postern\" (a system account) to [server]; or run postern as an unprivileged user (with CAP_NET_BIND_SERVICE for ports below 1024); or, if you really mean it, run_as_root = true".to_owned()),
            }),
            (None, false) => Ok(Privileges::Unprivileged),
        }
    }
}

/// The keys as serde reads them from `[server]`.
#[derive(Default, Deserialize)]
pub(super) struct RawRunAs {
    pub user: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub run_as_root: Option<Spanned<bool>>,
}

/// Checks the three keys together.
pub(super) fn validate_run_as(source: &str, raw: RawRunAs, errors: &mut Vec<ConfigError>) -> RunAs {
    let mut name = |key: &str, value: Option<Spanned<String>>| {
        let value = value?;
        let position = line_column(source, value.span().start);
        let text = value.into_inner();
        if let Err(message) = check_system_name(&text) {
            errors.push(ConfigError {
                position: Some(position),
                key: Some(format!("server.{key}")),
                message,
                help: Some(format!(
                    "write the name of an existing system {key}, such as \"postern\""
                )),
            });
        }
        Some(SystemName {
            name: text,
            position,
        })
    };
    let user = name("user", raw.user);
    let group = name("group", raw.group);
    let as_root = raw.run_as_root.as_ref().is_some_and(|v| *v.get_ref());
    let at = |span: std::ops::Range<usize>| Some(line_column(source, span.start));
    if let (Some(group), None) = (&group, &user) {
        errors.push(ConfigError {
            position: Some(group.position),
            key: Some("server.group".to_owned()),
            message: "group is set without user: the server would switch groups but go on running as root".to_owned(),
            help: Some("set user = \"postern\" as well (group alone is not a drop of privileges)".to_owned()),
        });
    }
    if let Some(user) = &user
        && (user.name == "root" || user.name == "0")
    {
        errors.push(user.error(
            "server.user",
            "user = \"root\" is no drop of privileges".to_owned(),
            "name an unprivileged system account such as \"postern\"; to run sessions as root, remove user and set run_as_root = true".to_owned(),
        ));
    }
    if let (Some(flag), Some(_)) = (&raw.run_as_root, &user)
        && *flag.get_ref()
    {
        errors.push(ConfigError {
            position: at(flag.span()),
            key: Some("server.run_as_root".to_owned()),
            message: "run_as_root = true and user contradict each other".to_owned(),
            help: Some(
                "remove run_as_root to run sessions as the user, or remove user to keep root"
                    .to_owned(),
            ),
        });
    }
    RunAs {
        user,
        group,
        as_root,
    }
}

/// A portable user or group name (POSIX 3.437, as useradd takes it):
/// letters, digits, `.`, `_`, `-`, not starting with `-`, at most
/// [`SYSTEM_NAME_BYTES_MAX`] octets.
fn check_system_name(text: &str) -> Result<(), String> {
    let portable = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if text.is_empty() {
        Err("an empty name".to_owned())
    } else if text.len() > SYSTEM_NAME_BYTES_MAX {
        Err(format!(
            "\"{text}\" is longer than {SYSTEM_NAME_BYTES_MAX} octets, the most useradd allows"
        ))
    } else if text.starts_with('-') || !text.chars().all(portable) {
        Err(format!(
            "\"{text}\" is not a user or group name; use letters, digits, . _ - (not first)"
        ))
    } else {
        Ok(())
    }
}
