//! `postern log --remote HOST:PORT`: a small client for a remote-log
//! instance. It logs in, asks for the filter and the number of recent
//! lines given, then prints each log line (without its `* ` marker) and
//! each notice (`! ... N lines dropped`) as it comes, until the server
//! closes or the user interrupts.
//!
//! The password comes from `--password-file`, `$POSTERN_PASSWORD`, or the
//! terminal: never from the command line, where `ps` would show it.

use crate::tls::{ClientTls, Transport};
use postern_core::remote_log::{ServerLine, auth_plain_command, classify, parse_filter};
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long connecting and the TLS handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether and how the connection is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsChoice {
    None,
    Implicit,
    StartTls,
}

/// What `postern log` was asked.
#[derive(Clone, Debug)]
pub struct Options {
    pub remote: String,
    pub tls: TlsChoice,
    pub cafile: Option<PathBuf>,
    pub servername: Option<String>,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    pub filter: Option<String>,
    pub lines: Option<usize>,
}

/// Runs the client until the server closes the connection (an error) or
/// the process is interrupted.
pub fn run(options: &Options) -> Result<(), String> {
    if let Some(filter) = &options.filter {
        parse_filter(filter).map_err(|e| format!("--filter: {e}"))?;
    }
    let user = match &options.user {
        Some(user) => user.clone(),
        None => std::env::var("POSTERN_USER").map_err(|_| {
            "give the admin account with --user ADDRESS (or $POSTERN_USER)".to_owned()
        })?,
    };
    let password = password(options, &user)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(session(options, &user, &password))
}

fn password(options: &Options, user: &str) -> Result<String, String> {
    if let Some(path) = &options.password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--password-file {}: {e}", path.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_owned());
    }
    if let Ok(password) = std::env::var("POSTERN_PASSWORD") {
        return Ok(password);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return rpassword::prompt_password(format!("Password for {user}: "))
            .map_err(|e| format!("cannot read the password: {e}"));
    }
    Err(
        "no password: give --password-file FILE, set $POSTERN_PASSWORD, or run on a terminal"
            .to_owned(),
    )
}

/// `HOST:PORT` split; HOST may be `[v6]`.
fn host_and_port(remote: &str) -> Result<(String, u16), String> {
    let bad = || format!("--remote {remote}: give HOST:PORT, such as mail.example.com:5001");
    let (host, port) = remote.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

struct Connection {
    stream: BufReader<Transport<TcpStream>>,
    line: String,
}

impl Connection {
    /// The next line, without its line end; an error at the end.
    async fn read(&mut self) -> Result<&str, String> {
        self.line.clear();
        let n = self
            .stream
            .read_line(&mut self.line)
            .await
            .map_err(|e| format!("reading from the server: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection".to_owned());
        }
        Ok(self.line.trim_end_matches(['\r', '\n']))
    }

    async fn send(&mut self, command: &str) -> Result<(), String> {
        let stream = self.stream.get_mut();
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .and(stream.flush().await)
            .map_err(|e| format!("writing to the server: {e}"))
    }

    /// Sends `command` and expects `+OK`; `what` names it in the error.
    async fn expect_ok(&mut self, command: &str, what: &str) -> Result<String, String> {
        self.send(command).await?;
        let line = self.read().await?;
        match classify(line) {
            ServerLine::Ok(text) => Ok(text.to_owned()),
            _ => Err(format!("{what}: the server said {line}")),
        }
    }
}

async fn session(options: &Options, user: &str, password: &str) -> Result<(), String> {
    let (host, port) = host_and_port(&options.remote)?;
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| format!("connecting to {}: timed out", options.remote))?
        .map_err(|e| format!("connecting to {}: {e}", options.remote))?;
    let name = options.servername.clone().unwrap_or_else(|| host.clone());
    let tls = match options.tls {
        TlsChoice::None => None,
        _ => Some(ClientTls::verified(options.cafile.as_deref())?),
    };
    let transport = match (&tls, options.tls) {
        (Some(tls), TlsChoice::Implicit) => tls
            .connect(&name, tcp, CONNECT_TIMEOUT)
            .await
            .map_err(|e| format!("TLS with {}: {e}", options.remote))?,
        _ => Transport::Plain(tcp),
    };
    let mut connection = Connection {
        stream: BufReader::new(transport),
        line: String::new(),
    };
    let greeting = connection.read().await?.to_owned();
    if !matches!(classify(&greeting), ServerLine::Ok(_)) {
        return Err(format!("the server refused the connection: {greeting}"));
    }
    if let (Some(tls), TlsChoice::StartTls) = (&tls, options.tls) {
        connection.expect_ok("STARTTLS", "STARTTLS").await?;
        let Transport::Plain(tcp) = connection.stream.into_inner() else {
            unreachable!("STARTTLS on a plain connection");
        };
        let encrypted = tls
            .connect(&name, tcp, CONNECT_TIMEOUT)
            .await
            .map_err(|e| format!("TLS with {}: {e}", options.remote))?;
        connection = Connection {
            stream: BufReader::new(encrypted),
            line: String::new(),
        };
    }
    if let Some(filter) = &options.filter {
        connection
            .expect_ok(&format!("FILTER {filter}"), "--filter")
            .await?;
    }
    if let Some(lines) = options.lines {
        connection
            .expect_ok(&format!("TAIL {lines}"), "--lines")
            .await?;
    }
    connection
        .expect_ok(&auth_plain_command(user, password), "login")
        .await?;
    let mut stdout = std::io::stdout().lock();
    loop {
        let line = connection.read().await?;
        let shown = match classify(line) {
            ServerLine::Log(text) => text,
            ServerLine::Notice(_) => line,
            ServerLine::Err(text) => return Err(format!("the server said -ERR {text}")),
            ServerLine::Ok(_) | ServerLine::Continue | ServerLine::Other(_) => continue,
        };
        writeln!(stdout, "{shown}")
            .and_then(|()| stdout.flush())
            .map_err(|e| format!("writing the log: {e}"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::host_and_port;

    #[test]
    fn remote_is_host_and_port() {
        assert_eq!(
            host_and_port("127.0.0.2:5001").unwrap(),
            ("127.0.0.2".to_owned(), 5001)
        );
        assert_eq!(
            host_and_port("[::1]:5001").unwrap(),
            ("::1".to_owned(), 5001)
        );
        assert!(host_and_port("mail.example.com").is_err());
        assert!(host_and_port(":5001").is_err());
    }
}
