//! Loading the configuration: the file (or the embedded default), parsed
//! and validated by the core, with paths resolved against the file.

use postern_core::bind::BindPlan;
use postern_core::config::{self, Config, ServiceConfig, ServiceKind, TlsMode};
use postern_core::text::counted;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The environment variable naming the configuration file when `-c` is
/// not given.
pub const CONFIG_VARIABLE: &str = "POSTERN_CONFIG";

/// Where the Debian package installs the configuration; used when neither
/// `-c` nor [`CONFIG_VARIABLE`] names one and this file exists.
pub const INSTALLED_CONFIG: &str = "/etc/postern/postern.toml";

/// Where the configuration comes from, in the order every command looks:
/// `-c`, then [`CONFIG_VARIABLE`], then [`INSTALLED_CONFIG`], then the
/// embedded default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `-c FILE` (or `check-config FILE`).
    Flag(PathBuf),
    /// `POSTERN_CONFIG=FILE`.
    Environment(PathBuf),
    /// [`INSTALLED_CONFIG`], which exists.
    Installed(PathBuf),
    /// [`DEFAULT_CONFIG`].
    Embedded,
}

impl Source {
    /// Looks for the configuration as every command does.
    pub fn locate(flag: Option<PathBuf>) -> Source {
        let installed = Path::new(INSTALLED_CONFIG);
        Self::choose(
            flag,
            std::env::var_os(CONFIG_VARIABLE),
            installed.is_file().then(|| installed.to_path_buf()),
        )
    }

    /// The first of `flag`, `variable` (when not empty) and `installed`
    /// (when the file exists), or the embedded default.
    pub fn choose(
        flag: Option<PathBuf>,
        variable: Option<OsString>,
        installed: Option<PathBuf>,
    ) -> Source {
        if let Some(path) = flag {
            return Source::Flag(path);
        }
        match variable {
            Some(value) if !value.is_empty() => Source::Environment(PathBuf::from(value)),
            _ => installed.map_or(Source::Embedded, Source::Installed),
        }
    }

    /// The file, unless it is the embedded default.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Source::Flag(path) | Source::Environment(path) | Source::Installed(path) => Some(path),
            Source::Embedded => None,
        }
    }

    /// How it was found, for the line every command prints.
    pub fn describe(&self) -> String {
        match self {
            Source::Flag(path) => format!("configuration {} (from -c)", path.display()),
            Source::Environment(path) => {
                format!("configuration {} (from {CONFIG_VARIABLE})", path.display())
            }
            Source::Installed(path) => format!("configuration {} (installed)", path.display()),
            Source::Embedded => format!(
                "configuration: the embedded default (no -c, no {CONFIG_VARIABLE}, no {INSTALLED_CONFIG})"
            ),
        }
    }

    /// Loads the configuration found.
    pub fn load(&self) -> Result<Loaded, String> {
        load(self.path()).map_err(|message| match self {
            Source::Environment(_) => {
                format!("{message}\n(the file is named by {CONFIG_VARIABLE})")
            }
            _ => message,
        })
    }
}

/// Refuses to act on a data directory that does not exist, or (unless
/// `empty_is_fine`) one that is empty: a command run without the server's
/// configuration would otherwise report an empty queue or no accounts
/// beside a running server, or create a data directory of its own.
pub fn require_data_dir(
    loaded: &Loaded,
    source: &Source,
    empty_is_fine: bool,
) -> Result<(), String> {
    // Absolute, so that a relative data_dir says where it was looked for.
    let dir = std::path::absolute(&loaded.data_dir).unwrap_or_else(|_| loaded.data_dir.clone());
    let dir = dir.display();
    let how = match source {
        Source::Flag(_) => "is this the server's configuration?".to_owned(),
        _ => {
            format!("point at the server's configuration with `-c FILE` or {CONFIG_VARIABLE}=FILE")
        }
    };
    let empty = match std::fs::read_dir(&loaded.data_dir) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "the data directory {dir} does not exist, and was not created: no server has run with this configuration; {how}"
            ));
        }
        Err(error) => return Err(format!("cannot read the data directory {dir}: {error}")),
        Ok(mut entries) => entries.next().is_none(),
    };
    if empty && !empty_is_fine {
        return Err(format!(
            "the data directory {dir} is empty: no server has run with this configuration; {how}"
        ));
    }
    Ok(())
}

/// The configuration used when `postern run` is given no file: SMTP on
/// 127.0.0.1:2525 and POP3 on 127.0.0.1:1110 for the domain `localhost`,
/// data under ./postern-data.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// A configuration and where it came from.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// `data_dir`, made absolute or relative to the working directory.
    pub data_dir: PathBuf,
    /// The file name, or "(embedded default)".
    pub origin: String,
    /// The text it was parsed from, to quote lines in later errors.
    pub source: String,
    /// The file, to read again on SIGHUP; `None` for the embedded default.
    pub path: Option<PathBuf>,
}

/// Loads `path`, or the embedded default when `None`. Errors come back as
/// operator-ready text: file, line, key, fix.
pub fn load(path: Option<&Path>) -> Result<Loaded, String> {
    let (source, origin, base) = match path {
        Some(path) => {
            let source = std::fs::read_to_string(path).map_err(|error| {
                format!("{}: cannot read the configuration: {error}", path.display())
            })?;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (source, path.display().to_string(), base)
        }
        None => (
            DEFAULT_CONFIG.to_owned(),
            "(embedded default)".to_owned(),
            PathBuf::new(),
        ),
    };
    let config = config::parse(&source).map_err(|errors| {
        let count = errors.len();
        let mut text: Vec<String> = errors.iter().map(|e| e.render(&origin, &source)).collect();
        text.push(format!(
            "{count} error{} in {origin}",
            if count == 1 { "" } else { "s" }
        ));
        text.join("\n")
    })?;
    // A relative data_dir is relative to the configuration file, so the
    // server finds the same data whatever directory it is started from.
    let data_dir = base.join(&config.server.data_dir);
    // So are certificate, key and CA files.
    let mut config = config;
    for service in &mut config.services {
        if let Some(tls) = &mut service.tls {
            tls.certificate = base.join(&tls.certificate);
            tls.key = base.join(&tls.key);
        }
    }
    if let Some(log_file) = &mut config.server.log_file {
        *log_file = base.join(&*log_file);
    }
    if let Some(smarthost) = &mut config.outbound.smarthost {
        smarthost.ca_file = smarthost.ca_file.as_ref().map(|file| base.join(file));
    }
    for key in &mut config.dkim {
        key.key = base.join(&key.key);
    }
    if let postern_core::config::StorageConfig::Postgres(pg) = &mut config.storage {
        if let Some(postern_core::config::PasswordSource::File(file)) = &mut pg.password {
            *file = base.join(&*file);
        }
        if let postern_core::config::DatabaseTls::Required {
            ca_file: Some(file),
        } = &mut pg.tls
        {
            *file = base.join(&*file);
        }
    }
    for upstream in &mut config.news_upstreams {
        upstream.password_file = upstream.password_file.as_ref().map(|f| base.join(f));
        upstream.ca_file = upstream.ca_file.as_ref().map(|f| base.join(f));
    }
    Ok(Loaded {
        config,
        data_dir,
        origin,
        source,
        path: path.map(Path::to_path_buf),
    })
}

/// A readable summary of a valid configuration and its bind plan, for
/// `check-config`: one row per listener, then the domains.
pub fn summary(loaded: &Loaded, plan: &BindPlan) -> String {
    let config = &loaded.config;
    let mut text = format!(
        "{}: configuration is valid\n  hostname  {}\n  data_dir  {}\n  storage   {}\n\n",
        loaded.origin,
        config.server.hostname,
        loaded.data_dir.display(),
        config.storage.summary()
    );
    let mut rows: Vec<[String; 9]> = vec![[
        "INSTANCE".to_owned(),
        "SERVICE".to_owned(),
        "ADDRESS".to_owned(),
        "TLS".to_owned(),
        "AUTH".to_owned(),
        "RELAY".to_owned(),
        "MAX SIZE".to_owned(),
        "CONNECTIONS".to_owned(),
        "ACCESS".to_owned(),
    ]];
    for listener in &plan.listeners {
        let Some(service) = config.services.iter().find(|s| s.name == listener.instance) else {
            continue;
        };
        let instance = match listener.role {
            postern_core::bind::Role::Primary => service.name.clone(),
            postern_core::bind::Role::Secondary => format!("{} (2nd)", service.name),
        };
        let address = match listener.spec.address {
            Some(_) => listener.spec.to_string(),
            None => format!("{} (all interfaces)", listener.spec),
        };
        // Only SMTP and submission relay; of the others only IMAP takes
        // messages (APPEND) and NNTP articles (POST, bounded by the
        // session's own limit too), so MAX SIZE applies to them alone.
        let relays = matches!(service.kind, ServiceKind::Smtp | ServiceKind::Submission);
        let takes_messages = relays || service.kind == ServiceKind::Imap;
        let largest = if service.kind == ServiceKind::Nntp {
            Some(
                service
                    .max_message_size
                    .min(postern_core::limits::NNTP_POST_BYTES_MAX),
            )
        } else {
            takes_messages.then_some(service.max_message_size)
        };
        rows.push([
            instance,
            service.kind.to_string(),
            address,
            service.tls_mode().to_string(),
            auth_cell(service),
            if relays {
                service.relay.to_string()
            } else {
                "-".to_owned()
            },
            largest.map_or_else(
                || "-".to_owned(),
                |size| bytesize::ByteSize(size).display().iec().to_string(),
            ),
            format!(
                "{} ({}/host)",
                service.max_connections, service.max_connections_per_host
            ),
            service.access.summary(),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
    }
    text.push('\n');
    for domain in &config.domains {
        let catch_all = domain
            .catch_all
            .as_deref()
            .map(|c| format!(", catch-all -> {c}"))
            .unwrap_or_default();
        text.push_str(&format!(
            "  domain    {:<12} users: {}{}{catch_all}\n",
            domain.name,
            domain.users.join(", "),
            if domain.aliases.is_empty() {
                String::new()
            } else {
                format!(", {}", counted(domain.aliases.len(), "alias", "aliases"))
            },
        ));
    }
    for group in &config.news.groups {
        let posting = match group.status {
            postern_core::nntp::PostingStatus::Allowed => "open",
            postern_core::nntp::PostingStatus::Refused => "read-only",
            postern_core::nntp::PostingStatus::Moderated => "moderated",
        };
        let expire = group.expire.map_or_else(
            || "kept".to_owned(),
            |keep| format!("expire after {}", humantime::format_duration(keep)),
        );
        text.push_str(&format!(
            "  newsgroup {:<12} {posting}, {expire}\n",
            group.name
        ));
    }
    let (lists, problems) = crate::lists::all(config, &loaded.data_dir);
    for list in &lists {
        text.push_str(&format!(
            "  list      {} {}, owners: {}, commands to {}{}\n",
            list.address(),
            list.kind,
            if list.owners.is_empty() {
                "none".to_owned()
            } else {
                list.owners.join(", ")
            },
            list.request_address(),
            list.newsgroup
                .as_ref()
                .map(|group| format!(", archive as newsgroup {group}"))
                .unwrap_or_default(),
        ));
    }
    for problem in problems {
        text.push_str(&format!("  list      left out: {problem}\n"));
    }
    text.push('\n');
    text.push_str(&crate::config_check::outbound_summary(loaded));
    for warning in crate::config_check::warnings(loaded) {
        text.push_str(&format!("\n{warning}\n"));
    }
    text
}

/// The AUTH column: whether logins are taken, and whether in clear. A POP3
/// instance always takes logins; they travel in clear only where
/// `auth_without_tls` allows it and the session is not TLS from the start.
fn auth_cell(service: &ServiceConfig) -> String {
    let auth = &service.auth;
    if let Some(tunnel) = &service.tunnel {
        return format!("-> {}", tunnel.target);
    }
    if service.kind == ServiceKind::Finger {
        return "-".to_owned();
    }
    if service.kind == ServiceKind::RemoteLog {
        return match (service.tls_mode(), auth.without_tls) {
            (TlsMode::Implicit, _) | (_, false) => "admins, over TLS",
            (_, true) => "admins (also in clear)",
        }
        .to_owned();
    }
    if matches!(
        service.kind,
        ServiceKind::Pop3 | ServiceKind::Imap | ServiceKind::Ftp
    ) {
        return match (service.tls_mode(), auth.without_tls) {
            (TlsMode::Implicit, _) | (_, false) => "login over TLS",
            (_, true) => "login (also in clear)",
        }
        .to_owned();
    }
    match (auth.offered, auth.required, auth.without_tls) {
        (false, _, _) => "no",
        (true, true, false) => "required",
        (true, true, true) => "required (also in clear)",
        (true, false, false) => "offered",
        (true, false, true) => "offered (also in clear)",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::Source;
    use std::path::PathBuf;

    #[test]
    fn the_configuration_is_looked_for_in_order() {
        let path = |p: &str| Some(PathBuf::from(p));
        let installed = path("/etc/postern/postern.toml");
        // (-c, POSTERN_CONFIG, installed file, expected)
        let rows = [
            (
                path("a.toml"),
                Some("b.toml"),
                installed.clone(),
                Source::Flag("a.toml".into()),
            ),
            (
                None,
                Some("b.toml"),
                installed.clone(),
                Source::Environment("b.toml".into()),
            ),
            (
                None,
                Some(""),
                installed.clone(),
                Source::Installed("/etc/postern/postern.toml".into()),
            ),
            (
                None,
                None,
                installed.clone(),
                Source::Installed("/etc/postern/postern.toml".into()),
            ),
            (None, None, None, Source::Embedded),
            (None, Some(""), None, Source::Embedded),
        ];
        for (flag, variable, installed, expected) in rows {
            let chosen = Source::choose(flag, variable.map(Into::into), installed);
            assert_eq!(chosen, expected);
        }
    }

    #[test]
    fn each_source_says_how_it_was_found() {
        assert_eq!(
            Source::Environment("/srv/p.toml".into()).describe(),
            "configuration /srv/p.toml (from POSTERN_CONFIG)"
        );
        assert!(
            Source::Embedded
                .describe()
                .contains("/etc/postern/postern.toml")
        );
    }
}
