//! What a configuration reload (SIGHUP) may apply to a running server, and
//! what only a restart can: the listeners (an instance added or removed, or
//! its `listen`, `secondary_listen` or `kind` changed), the data directory,
//! the hostname (in Maildir file names and every greeting), the DNS
//! servers, and `[storage]`. Everything else is applied to new sessions and new delivery
//! attempts; a session or attempt under way keeps what it started with.

use super::Config;
use std::fmt;

/// One change a reload leaves for a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NeedsRestart {
    /// A `[[service]]` the running server does not have: not listening.
    InstanceAdded(String),
    /// A `[[service]]` the new file no longer has: still listening.
    InstanceRemoved(String),
    /// Keys of an instance whose listeners would change; the instance
    /// keeps its old settings entirely until the restart.
    InstanceKeys(String, Vec<&'static str>),
    /// A `[section] key` every part of the server shares.
    Key(&'static str),
}

impl fmt::Display for NeedsRestart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NeedsRestart::InstanceAdded(name) => write!(f, "instance \"{name}\" added"),
            NeedsRestart::InstanceRemoved(name) => write!(f, "instance \"{name}\" removed"),
            NeedsRestart::InstanceKeys(name, keys) => {
                write!(f, "instance \"{name}\": {}", keys.join(", "))
            }
            NeedsRestart::Key(key) => f.write_str(key),
        }
    }
}

/// The changes from `running` to `new` that a reload cannot apply, in
/// the order of the files (instances of `new` first, then those removed,
/// then the shared keys). Empty when everything can be applied.
pub fn needs_restart(running: &Config, new: &Config) -> Vec<NeedsRestart> {
    let mut changes = Vec::new();
    for service in &new.services {
        let Some(old) = running.services.iter().find(|s| s.name == service.name) else {
            changes.push(NeedsRestart::InstanceAdded(service.name.clone()));
            continue;
        };
        let keys: Vec<&'static str> = [
            ("kind", old.kind != service.kind),
            ("listen", old.listen != service.listen),
            (
                "secondary_listen",
                old.secondary_listen != service.secondary_listen,
            ),
        ]
        .into_iter()
        .filter_map(|(key, changed)| changed.then_some(key))
        .collect();
        if !keys.is_empty() {
            changes.push(NeedsRestart::InstanceKeys(service.name.clone(), keys));
        }
    }
    for service in &running.services {
        if !new.services.iter().any(|s| s.name == service.name) {
            changes.push(NeedsRestart::InstanceRemoved(service.name.clone()));
        }
    }
    let shared = [
        (
            "[server] data_dir",
            running.server.data_dir != new.server.data_dir,
        ),
        (
            "[server] hostname",
            running.server.hostname != new.server.hostname,
        ),
        // Root was dropped at start-up; it cannot be taken back.
        (
            "[server] user, group, run_as_root",
            running.server.run_as != new.server.run_as,
        ),
        (
            "[server] log_file",
            running.server.log_file != new.server.log_file,
        ),
        (
            "[outbound] nameservers",
            running.outbound.nameservers != new.outbound.nameservers,
        ),
        // The queue's store is opened once, at start-up.
        ("[storage]", running.storage != new.storage),
    ];
    for (key, changed) in shared {
        if changed {
            changes.push(NeedsRestart::Key(key));
        }
    }
    changes
}

/// The configuration to run after a reload: `new`, except where it needs
/// a restart, where the running one stays: instances with changed
/// listeners keep their old settings, added ones are left out, removed
/// ones stay, and the shared keys of [`needs_restart`] keep their values.
pub fn applicable(running: &Config, new: &Config) -> Config {
    let mut applied = new.clone();
    applied.services = running
        .services
        .iter()
        .map(
            |old| match new.services.iter().find(|s| s.name == old.name) {
                Some(service)
                    if service.kind == old.kind
                        && service.listen == old.listen
                        && service.secondary_listen == old.secondary_listen =>
                {
                    service.clone()
                }
                _ => old.clone(),
            },
        )
        .collect();
    applied.server.data_dir = running.server.data_dir.clone();
    applied.server.hostname = running.server.hostname.clone();
    applied.server.run_as = running.server.run_as.clone();
    applied.server.log_file = running.server.log_file.clone();
    applied.outbound.nameservers = running.outbound.nameservers.clone();
    applied.storage = running.storage.clone();
    applied
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    const BASE: &str = r#"
[server]
hostname = "mx.example.test"
data_dir = "data"

[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"

[[service]]
name = "submission"
kind = "submission"
listen = "127.0.0.1:2587"
auth_without_tls = true

[[domain]]
name = "example.test"
users = ["alice"]
"#;

    fn config(text: &str) -> Config {
        parse(text).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// Rows: (edit of BASE, what needs a restart, as displayed).
    #[test]
    fn changes_a_reload_leaves_for_a_restart() {
        let rows: [(&str, &str, &[&str]); 10] = [
            ("users = [\"alice\"]", "users = [\"alice\", \"bob\"]", &[]),
            (
                "listen = \"127.0.0.1:2525\"",
                "listen = \"127.0.0.1:2526\"\nmax_connections = 3",
                &["instance \"mx\": listen"],
            ),
            (
                "kind = \"submission\"",
                "kind = \"smtp\"",
                &["instance \"submission\": kind"],
            ),
            (
                "name = \"submission\"",
                "name = \"sub\"",
                &["instance \"sub\" added", "instance \"submission\" removed"],
            ),
            (
                "data_dir = \"data\"",
                "data_dir = \"other\"",
                &["[server] data_dir"],
            ),
            (
                "hostname = \"mx.example.test\"",
                "hostname = \"mail.example.test\"",
                &["[server] hostname"],
            ),
            (
                "data_dir = \"data\"",
                "data_dir = \"data\"\nuser = \"nobody\"",
                &["[server] user, group, run_as_root"],
            ),
            (
                "data_dir = \"data\"",
                "data_dir = \"data\"\nlog_file = \"postern.log\"",
                &["[server] log_file"],
            ),
            (
                "[[domain]]",
                "[outbound]\nnameservers = [\"127.0.0.1:53\"]\n\n[[domain]]",
                &["[outbound] nameservers"],
            ),
            (
                "listen = \"127.0.0.1:2525\"",
                "listen = \"127.0.0.1:2525\"\nallow = [\"127.0.0.1\"]",
                &[],
            ),
        ];
        let running = config(BASE);
        for (from, to, expected) in rows {
            let new = config(&BASE.replacen(from, to, 1));
            let found: Vec<String> = needs_restart(&running, &new)
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(found, expected, "{from} -> {to}");
        }
    }

    #[test]
    fn what_needs_a_restart_keeps_its_running_value_and_the_rest_applies() {
        let running = config(BASE);
        let edited = BASE
            .replacen(
                "listen = \"127.0.0.1:2525\"",
                "listen = \"127.0.0.1:2526\"\nmax_connections = 3",
                1,
            )
            .replacen(
                "listen = \"127.0.0.1:2587\"",
                "listen = \"127.0.0.1:2587\"\nmax_connections = 4",
                1,
            )
            .replacen(
                "hostname = \"mx.example.test\"",
                "hostname = \"other.test\"",
                1,
            )
            .replacen("users = [\"alice\"]", "users = [\"alice\", \"bob\"]", 1);
        let new = config(&edited);
        let applied = applicable(&running, &new);
        assert_eq!(applied.services[0], running.services[0]);
        assert_eq!(applied.services[1], new.services[1]);
        assert_eq!(applied.services[1].max_connections, 4);
        assert_eq!(applied.server.hostname, "mx.example.test");
        assert_eq!(applied.domains, new.domains);
        assert!(needs_restart(&running, &applied).is_empty());
    }
}
