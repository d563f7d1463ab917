//! The `postern` command.

use clap::{Parser, Subcommand, ValueEnum};
use postern::config_file;
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
        /// The configuration file; without it, the embedded default
        /// (SMTP on 127.0.0.1:2525, mail for @localhost in ./postern-data).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Checks a configuration file and prints what it sets up.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Prints the embedded default configuration, a starting point for
    /// your own file.
    DefaultConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Run { config } => run(config),
        Command::CheckConfig { file } => match config_file::load(Some(&file)) {
            Ok(loaded) => {
                print!("{}", config_file::summary(&loaded));
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        },
        Command::DefaultConfig => {
            print!("{}", config_file::DEFAULT_CONFIG);
            ExitCode::SUCCESS
        }
    }
}

fn run(config: Option<PathBuf>) -> ExitCode {
    let loaded = match config_file::load(config.as_deref()) {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(config = %loaded.origin, data_dir = %loaded.data_dir.display(), "postern {} starting", env!("CARGO_PKG_VERSION"));
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
    match runtime.block_on(postern::server::run(loaded, stop_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("postern: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
