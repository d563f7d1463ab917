//! The `postern` command.

use clap::{Parser, Subcommand, ValueEnum};
use postern::config_file::{self, Loaded, Source};
use postern::listen;
use postern::user_command::UserAction;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

/// Postern: an all-in-one mail server.
#[derive(Parser)]
#[command(version, about, propagate_version = true)]
struct Cli {
    /// How log lines are written (RUST_LOG sets which are written).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server until SIGTERM or SIGINT.
    Run {
        /// The configuration file; without it, $POSTERN_CONFIG, then
        /// /etc/postern/postern.toml if it exists, then the embedded
        /// default (SMTP on 127.0.0.1:2525, POP3 on 127.0.0.1:1110, mail
        /// for @localhost in ./postern-data).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Checks a configuration file and its bind plan on this host, and
    /// prints the plan, or every conflict (exit status 1).
    CheckConfig {
        /// The configuration file; without it, found as for `run`.
        #[arg(long, short, conflicts_with = "file")]
        config: Option<PathBuf>,
        /// The configuration file (the older form of `-c FILE`).
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Says what the server would do with a connection and an envelope:
    /// which instance takes it, whether it is admitted, whether each
    /// recipient is accepted or relayed, the size limit. Sends no mail.
    Explain {
        /// The configuration file; without it, found as for `run`.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The address and port the client connects to.
        #[arg(long, value_name = "ADDR:PORT")]
        local: SocketAddr,
        /// The client's address.
        #[arg(long, value_name = "IP")]
        remote: IpAddr,
        /// The envelope sender, as in MAIL FROM (`<>` for a bounce).
        #[arg(long, value_name = "ADDRESS")]
        from: Option<String>,
        /// A recipient, as in RCPT TO; may be repeated.
        #[arg(long, value_name = "ADDRESS")]
        to: Vec<String>,
        /// The message size in octets, to check against the limit.
        #[arg(long, value_name = "OCTETS")]
        size: Option<u64>,
        /// Look the DNS blocklist queries up (through `[outbound]
        /// nameservers`) rather than only naming them.
        #[arg(long)]
        dns: bool,
    },
    /// Prints the embedded default configuration, a starting point for
    /// your own file.
    DefaultConfig,
    /// Shows or changes the queue of messages waiting for delivery; safe
    /// while the server runs.
    Queue {
        /// The configuration file (for the data directory); without it,
        /// found as for `run`.
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Manages the accounts that may log in (SMTP AUTH, POP3, IMAP, FTP and remote logging), kept in the data
    /// directory; changes take effect at once, also on a running server.
    User {
        /// The configuration file (for the data directory and the
        /// domains); without it, found as for `run`.
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manages mailing lists kept in the data directory (`[[list]]`s of
    /// the configuration are changed there) and the members of any list.
    List {
        /// The configuration file (for the data directory and the
        /// domains); without it, found as for `run`.
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: postern::lists::command::ListAction,
    },
    /// Shows a user's mailboxes: folders with their figures, or the
    /// messages of one folder. Safe while the server runs.
    Mailbox {
        /// The configuration file (for the data directory and the
        /// domains); without it, found as for `run`.
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: MailboxAction,
    },
    /// Clears the login lockout of a client address at once, on the
    /// running server (through its control socket).
    Unlock {
        /// The configuration file (for the data directory); without it,
        /// the embedded default.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The client's IP address, as in the log line "logins from
        /// ADDRESS locked out"; an IPv6 address clears its whole network.
        address: String,
    },
    /// Prints the running server's metrics (connections, messages,
    /// deliveries, the queue, logins, TLS) in the Prometheus text format
    /// (OpenMetrics), through its control socket.
    Metrics {
        /// The configuration file (for the data directory); without it,
        /// found as for `run`.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Watches a server's log through its remote-log instance: logs in
    /// (as an admin account), prints the recent lines, then each new line
    /// as it comes, until interrupted.
    Log {
        /// The remote-log instance, as HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        remote: String,
        /// TLS from the first byte (an instance with tls = "implicit").
        #[arg(long, conflicts_with = "starttls")]
        tls: bool,
        /// STARTTLS before logging in (an instance with tls = "starttls").
        #[arg(long)]
        starttls: bool,
        /// The CA certificates (PEM) the server's must chain to, for a
        /// self-signed one; without it, the public roots.
        #[arg(long, value_name = "FILE")]
        cafile: Option<PathBuf>,
        /// The name the server's certificate must carry; without it, HOST.
        #[arg(long, value_name = "NAME")]
        servername: Option<String>,
        /// The admin account to log in as; without it, $POSTERN_USER.
        #[arg(long, value_name = "ADDRESS")]
        user: Option<String>,
        /// A file whose first line is the password; without it,
        /// $POSTERN_PASSWORD, or asked on the terminal. Never on the
        /// command line, where other users could see it.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Which lines: level=warn instance=NAME queue=ID text=WORDS (the
        /// remote-log FILTER syntax).
        #[arg(long, value_name = "FILTER")]
        filter: Option<String>,
        /// How many recent lines to print first (0 to 10000); without it,
        /// the instance's tail_lines.
        #[arg(long, value_name = "N")]
        lines: Option<usize>,
    },
    /// Creates, upgrades and checks the database of the postgres storage
    /// backend ([storage] backend = "postgres"), and exports its
    /// mailboxes as Maildir.
    Storage {
        /// The configuration file; without it, found as for `run`.
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: postern::storage_command::StorageAction,
    },
    /// Makes TLS certificates.
    Cert {
        #[command(subcommand)]
        action: CertAction,
    },
    /// DKIM keys for signing outgoing mail.
    Dkim {
        #[command(subcommand)]
        action: DkimAction,
    },
}

#[derive(Subcommand)]
enum DkimAction {
    /// Makes a signing key for DOMAIN: writes the private key (PEM,
    /// readable by its owner only; never over an existing file) and prints
    /// the DNS TXT record to publish and the [[dkim]] table to add.
    Keygen {
        /// The domain mail is signed for (the From: domain).
        domain: String,
        /// The selector, a DNS label naming this key; a new key for
        /// rotation gets a new selector. By default `s` and this year and
        /// month (s202612).
        #[arg(long)]
        selector: Option<String>,
        /// rsa (every verifier checks it) or ed25519 (RFC 8463; best
        /// published beside an RSA key).
        #[arg(long, value_enum, default_value_t = DkimAlgorithm::Rsa)]
        algorithm: DkimAlgorithm,
        /// RSA key size.
        #[arg(long, default_value_t = 2048)]
        bits: usize,
        /// Where the private key goes; by default DOMAIN.SELECTOR.key in
        /// the current directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DkimAlgorithm {
    Rsa,
    Ed25519,
}

#[derive(Subcommand)]
enum MailboxAction {
    /// Lists the user's folders: messages, unseen, size (octets as
    /// clients see them), UIDVALIDITY, UIDNEXT.
    List {
        /// The user's address, such as alice@localhost.
        user: String,
    },
    /// Lists the messages of a folder: UID, flags, size, date, subject.
    Show {
        /// The user's address, such as alice@localhost.
        user: String,
        /// The folder.
        #[arg(default_value = "INBOX")]
        folder: String,
    },
}

#[derive(Subcommand)]
enum CertAction {
    /// Writes a self-signed certificate and its key (PEM) for a first run;
    /// clients will warn about it. Replace it with one from a CA, then
    /// send SIGHUP to the server to load it without a restart.
    SelfSigned {
        /// A name or an IP address the certificate is for; may be repeated.
        /// Clients check the address they connect to, so give that too
        /// (`--host mail.example.com --host 192.0.2.25`). The first is the
        /// certificate's subject.
        #[arg(long, required = true)]
        host: Vec<String>,
        /// Where the certificate goes.
        #[arg(long, default_value = "cert.pem")]
        cert: PathBuf,
        /// Where the private key goes (readable by its owner only).
        #[arg(long, default_value = "key.pem")]
        key: PathBuf,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum QueueAction {
    /// Lists every queued message and the state of each recipient.
    List,
    /// Retries every deferred recipient now.
    Flush,
    /// Removes a message from the queue without sending a bounce.
    Delete {
        /// The queue ID, as in the logs and `queue list`.
        id: postern_core::envelope::QueueId,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` starts logging once it knows its configuration's log_file;
    // `log` prints the server's lines and nothing of its own.
    if !matches!(cli.command, Command::Run { .. } | Command::Log { .. }) {
        init_logging(cli.log_format, None, false);
    }
    match cli.command {
        Command::Run { config } => run(config, cli.log_format),
        Command::CheckConfig { config, file } => {
            match configuration(config.or(file)).and_then(|(_, loaded)| {
                let plan = listen::plan(&loaded)?;
                // The files it names are read too: a key that does not
                // match, or a CA file that is not PEM, is better found now
                // than at the first connection or delivery.
                postern::config_check::check_files(&loaded)?;
                Ok(config_file::summary(&loaded, &plan) + &postern::privileges::describe(&loaded))
            }) {
                Ok(summary) => {
                    print!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("{message}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Explain {
            config,
            local,
            remote,
            from,
            to,
            size,
            dns,
        } => explain(config, local, remote, from, to, size, dns),
        Command::Queue { config, action } => queue(config, action),
        Command::Storage { config, action } => postern::storage_command::run(config, action),
        Command::User { config, action } => report(user(config, action)),
        Command::Mailbox { config, action } => report(mailbox(config, action)),
        Command::List { config, action } => report(
            // A list may be the first thing in a new data directory.
            configuration_with_data(
                config,
                matches!(action, postern::lists::command::ListAction::Create { .. }),
            )
            .and_then(|loaded| {
                postern::privileges::become_configured_user(&loaded)?;
                postern::lists::command::run(&loaded, action)
            }),
        ),
        Command::Unlock { config, address } => report(
            config_file::load(config.as_deref())
                .and_then(|loaded| postern::accounts::unlock(&loaded.data_dir, &address)),
        ),
        Command::Metrics { config } => report(
            config_file::load(config.as_deref())
                .and_then(|loaded| postern::metrics::from_server(&loaded.data_dir)),
        ),
        Command::Log {
            remote,
            tls,
            starttls,
            cafile,
            servername,
            user,
            password_file,
            filter,
            lines,
        } => {
            let options = postern::remote_log::client::Options {
                remote,
                tls: if tls {
                    postern::remote_log::client::TlsChoice::Implicit
                } else if starttls {
                    postern::remote_log::client::TlsChoice::StartTls
                } else {
                    postern::remote_log::client::TlsChoice::None
                },
                cafile,
                servername,
                user,
                password_file,
                filter,
                lines,
            };
            match postern::remote_log::client::run(&options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("postern log: {message}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Cert {
            action:
                CertAction::SelfSigned {
                    host,
                    cert,
                    key,
                    force,
                },
        } => report(
            postern::tls::write_self_signed(&host, &cert, &key, force).map(|()| {
                format!(
                    "wrote {} and {} for {}",
                    cert.display(),
                    key.display(),
                    host.join(", ")
                )
            }),
        ),
        Command::Dkim {
            action:
                DkimAction::Keygen {
                    domain,
                    selector,
                    algorithm,
                    bits,
                    out,
                },
        } => report(dkim_keygen(domain, selector, algorithm, bits, out)),
        Command::DefaultConfig => {
            print!("{}", config_file::DEFAULT_CONFIG);
            ExitCode::SUCCESS
        }
    }
}

fn dkim_keygen(
    domain: String,
    selector: Option<String>,
    algorithm: DkimAlgorithm,
    bits: usize,
    out: Option<PathBuf>,
) -> Result<String, String> {
    use postern::mail_auth::dkim::{Algorithm, keygen};
    use postern_core::mail_auth::dkim::selector_problem;
    let domain = postern_core::address::domain_key(&domain)
        .map_err(|_| format!("\"{domain}\" is not a domain name"))?;
    let selector = selector
        .unwrap_or_else(|| {
            let now = postern::environment::system_now();
            format!("s{}", now.year_month())
        })
        .to_ascii_lowercase();
    if let Some(problem) = selector_problem(&selector) {
        return Err(format!(
            "{problem}: a selector is DNS labels (letters, digits, hyphens) separated by dots"
        ));
    }
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{domain}.{selector}.key")));
    let out = std::path::absolute(&out).map_err(|error| format!("{}: {error}", out.display()))?;
    let algorithm = match algorithm {
        DkimAlgorithm::Rsa => Algorithm::Rsa { bits },
        DkimAlgorithm::Ed25519 => Algorithm::Ed25519,
    };
    keygen(&domain, &selector, algorithm, &out)
}

/// Finds and loads the configuration as every command does, saying on
/// standard error which file it is.
fn configuration(flag: Option<PathBuf>) -> Result<(Source, Loaded), String> {
    let source = Source::locate(flag);
    eprintln!("postern: {}", source.describe());
    let loaded = source.load()?;
    Ok((source, loaded))
}

/// As [`configuration`], for a command that acts on the data directory:
/// refused when it is missing, or empty unless `empty_is_fine`.
fn configuration_with_data(flag: Option<PathBuf>, empty_is_fine: bool) -> Result<Loaded, String> {
    let (source, loaded) = configuration(flag)?;
    config_file::require_data_dir(&loaded, &source, empty_is_fine)?;
    Ok(loaded)
}

fn queue(config: Option<PathBuf>, action: QueueAction) -> ExitCode {
    use postern::queue_command;
    report(configuration_with_data(config, false).and_then(|loaded| {
        postern::privileges::become_configured_user(&loaded)?;
        // On a shared queue: the whole queue in the database, from any node.
        if let postern_core::config::StorageConfig::Postgres(postgres) = &loaded.config.storage {
            use postern::queue_command_shared::{Action, run};
            let action = match action {
                QueueAction::List => Action::List,
                QueueAction::Flush => Action::Flush,
                QueueAction::Delete { id } => Action::Delete(id),
            };
            return run(postgres, &loaded.origin, action);
        }
        let data_dir = &loaded.data_dir;
        match action {
            QueueAction::List => queue_command::list(data_dir),
            QueueAction::Flush => queue_command::flush(data_dir),
            QueueAction::Delete { id } => queue_command::delete(data_dir, id),
        }
    }))
}

/// Prints a command's result, or its error, and exits accordingly.
fn report(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn user(config: Option<PathBuf>, action: UserAction) -> Result<String, String> {
    // An account may be the first thing in a new (empty) data directory,
    // as the package creates it; never in one that does not exist.
    let loaded = configuration_with_data(config, matches!(action, UserAction::Add { .. }))?;
    postern::privileges::become_configured_user(&loaded)?;
    postern::user_command::run(&loaded, action)
}

fn mailbox(config: Option<PathBuf>, action: MailboxAction) -> Result<String, String> {
    use postern::mailbox_command;
    let loaded = configuration_with_data(config, false)?;
    postern::privileges::become_configured_user(&loaded)?;
    match action {
        MailboxAction::List { user } => mailbox_command::list(&loaded, &user),
        MailboxAction::Show { user, folder } => mailbox_command::show(&loaded, &user, &folder),
    }
}

fn explain(
    config: Option<PathBuf>,
    local: SocketAddr,
    remote: IpAddr,
    from: Option<String>,
    to: Vec<String>,
    size: Option<u64>,
    dns: bool,
) -> ExitCode {
    use postern_core::address::{parse_forward_path, parse_reverse_path};
    // Addresses are taken with or without their angle brackets.
    let bracketed = |a: &str| {
        if a.starts_with('<') {
            a.to_owned()
        } else {
            format!("<{a}>")
        }
    };
    let question = (|| {
        let from = from
            .as_deref()
            .map(|a| {
                parse_reverse_path(&bracketed(a), true)
                    .map_err(|e| format!("--from {a}: not a sender address ({e:?})"))
            })
            .transpose()?;
        let to = to
            .iter()
            .map(|a| {
                parse_forward_path(&bracketed(a), true)
                    .map_err(|e| format!("--to {a}: not a recipient address ({e:?})"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let (_, loaded) = configuration(config)?;
        let plan = listen::plan(&loaded)?;
        let question = postern_core::explain::Question {
            local,
            remote,
            from,
            to,
            size,
        };
        let facts = postern::explain_command::spam_facts(&loaded, &plan, &question, dns)?;
        Ok::<_, String>(postern_core::explain::explain_with(
            &loaded.config,
            &plan,
            &question,
            &facts,
        ))
    })();
    match question {
        Ok(answer) => {
            print!("{}", answer.text);
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: Option<PathBuf>, format: LogFormat) -> ExitCode {
    let source = Source::locate(config);
    let loaded = match source.load() {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("postern: {}\n{message}", source.describe());
            return ExitCode::FAILURE;
        }
    };
    // Certificates, keys and the CA file, each error at its line.
    if let Err(message) = postern::config_check::check_files(&loaded) {
        eprintln!("{message}");
        return ExitCode::FAILURE;
    }
    // Opened before root is dropped, so it may live where only root
    // creates files; SIGUSR1 opens it again (as the dropped user).
    let log_file = match &loaded.config.server.log_file {
        Some(path) => match postern::log_file::LogFile::open(path) {
            Ok(file) => Some(file),
            Err(error) => {
                eprintln!(
                    "{}: `server.log_file`: cannot open the log file: {error}\n  help: create its directory, or point log_file at a writable place (or remove it to log to standard error)",
                    loaded.origin
                );
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let remote_log = loaded
        .config
        .services
        .iter()
        .any(|service| service.kind == postern_core::config::ServiceKind::RemoteLog);
    init_logging(format, log_file.clone(), remote_log);
    tracing::info!(config = %loaded.origin, data_dir = %loaded.data_dir.display(), "postern {} starting; {}", env!("CARGO_PKG_VERSION"), source.describe());
    for warning in postern::config_check::warning_lines(&loaded) {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The handlers are installed before anything listens: a SIGTERM that
    // comes as soon as the port accepts must stop the server gracefully,
    // not kill it (signal(2)'s default action).
    let stop = {
        let _context = runtime.enter();
        tokio::spawn(postern::log_file::reopen_on_usr1(log_file));
        stop_signal()
    };
    match runtime.block_on(postern::server::run(loaded, stop)) {
        Ok(()) => ExitCode::SUCCESS,
        // Once: log lines and this go to the same standard error (the
        // journal, under systemd).
        Err(message) => {
            eprintln!("postern: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the SIGTERM and SIGINT handlers now (inside the runtime), and
/// returns what completes on either.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            tracing::error!("cannot install signal handlers; stop with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    }
}

/// Log lines go to standard error (the journal, under systemd), or to
/// `log_file`, each one line whatever a peer put in its fields:
/// [`logging::Escaping`] escapes every control character but the final
/// newline (keeping the formatter's colours on a terminal). With
/// `remote_log`, every line also feeds the remote logging service
/// ([`postern::remote_log::FeedLayer`]); the span that names a session's
/// instance is for that feed and stays out of the text. Warnings and
/// errors are also kept for the status page
/// ([`postern::metrics::ProblemLayer`]).
fn init_logging(
    format: LogFormat,
    file: Option<std::sync::Arc<postern::log_file::LogFile>>,
    remote_log: bool,
) {
    use postern::log_file::LogFileWriter;
    use postern::logging::{Escaping, Format};
    use postern::metrics::ProblemLayer;
    use postern::remote_log::{FeedLayer, INSTANCE_SPAN};
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let colours = file.is_none() && std::io::stderr().is_terminal();
    let layer = tracing_subscriber::fmt::layer().with_ansi(colours);
    let text = match (format, file) {
        (LogFormat::Text, None) => layer
            .with_writer(Escaping::new(std::io::stderr, Format::Text { colours }))
            .boxed(),
        (LogFormat::Json, None) => layer
            .json()
            .with_writer(Escaping::new(std::io::stderr, Format::Json))
            .boxed(),
        (LogFormat::Text, Some(file)) => layer
            .with_writer(Escaping::new(LogFileWriter(file), Format::Text { colours }))
            .boxed(),
        (LogFormat::Json, Some(file)) => layer
            .json()
            .with_writer(Escaping::new(LogFileWriter(file), Format::Json))
            .boxed(),
    };
    if remote_log {
        postern::remote_log::mark_installed();
    }
    tracing_subscriber::registry()
        .with(filter)
        .with(text.with_filter(filter_fn(|metadata| metadata.target() != INSTANCE_SPAN)))
        .with(remote_log.then_some(FeedLayer))
        .with(ProblemLayer::new(postern::metrics::global()))
        .init();
}
