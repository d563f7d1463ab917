//! Loading the configuration: the file (or the embedded default), parsed
//! and validated by the core, with paths resolved against the file.

use postern_core::config::{self, Config};
use std::path::{Path, PathBuf};

/// The configuration used when `postern run` is given no file: SMTP on
/// 127.0.0.1:2525 for the domain `localhost`, data under ./postern-data.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// A configuration and where it came from.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// `data_dir`, made absolute or relative to the working directory.
    pub data_dir: PathBuf,
    /// The file name, or "(embedded default)".
    pub origin: String,
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
    Ok(Loaded {
        config,
        data_dir,
        origin,
    })
}

/// A readable summary of a valid configuration, for `check-config`.
pub fn summary(loaded: &Loaded) -> String {
    let config = &loaded.config;
    let mut text = format!(
        "{}: configuration is valid\n  hostname  {}\n  data_dir  {}\n",
        loaded.origin,
        config.server.hostname,
        loaded.data_dir.display()
    );
    for service in &config.services {
        text.push_str(&format!(
            "  service   {:<12} {} on {} (max message {} octets, {} recipients)\n",
            service.name,
            service.kind,
            service.listen,
            service.max_message_size,
            service.max_recipients
        ));
    }
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
                format!(", {} aliases", domain.aliases.len())
            },
        ));
    }
    text
}
