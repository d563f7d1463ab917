//! The FTP server machine (RFC 959, with RFC 2389 FEAT/OPTS, RFC 2428
//! EPSV/EPRT, RFC 3659 SIZE/MDTM/MLST/MLSD/REST, RFC 4217 AUTH TLS/PBSZ/
//! PROT and RFC 2577's security rules): one control connection, sans I/O.
//!
//! # Contract
//!
//! The same as the POP3 server's (see [`crate::pop3`]):
//!
//! ```text
//! FtpServer::new(config, info, now)    greeting queued
//! handle_input(now, Input)             bytes, end of input, timer, answers
//! poll_output() -> Option<Output>      drain until None after every input
//! poll_timeout() -> Option<Instant>    when to hand in Input::TimerFired
//! send_deadline() -> Instant           when control writes must be done
//! ```
//!
//! The machine never touches a file or a socket. Every path it names is
//! an [`FtpPath`], already confined to the user's home by [`path`]; the
//! driver joins it to the home's directory (refusing symbolic links,
//! which only it can see) and answers:
//!
//! - [`Request::Authenticate`] → [`Input::Authenticated`];
//! - [`Request::OpenHome`] → [`Input::HomeOpened`]: the driver creates
//!   the home if it is missing; later paths are relative to it;
//! - [`Request::File`] → the input [`FileRequest`] names for each;
//! - [`Request::OpenPassive`] → [`Input::PassiveOpened`]: a listener on
//!   the control connection's local address, in the passive port range;
//! - [`Request::Transfer`] → [`Input::TransferDone`]: the driver makes
//!   the data connection (accepting only the control peer, see
//!   [`data::data_peer_allowed`], or connecting to the checked PORT
//!   target), runs TLS on it when `protected`, moves the bytes, and
//!   reports. While a transfer runs the driver keeps handing in control
//!   bytes: the machine acts on ABOR at once (asking for
//!   [`Output::AbortTransfer`]) and keeps any other command until the
//!   transfer is done.
//!
//! A simulated file system answers the same requests, so the machine
//! runs unchanged against one.

mod codec;
pub mod data;
pub mod listing;
mod machine;
pub mod memory;
pub mod path;
mod state;
#[cfg(test)]
mod tests;
mod timers;

pub use codec::{Command, DataType, EpsvArgument, ParseError, parse as parse_command};
pub use listing::{FileInfo, FileKind, Listing, ListingFormat};
pub use machine::FtpServer;
pub use path::{FtpPath, PathError};
pub use timers::Timer;

use crate::admission::Refusal;
use crate::auth::{AuthPolicy, AuthVerdict, LoginAttempt};
use crate::limits::LOGGED_PEER_TEXT_BYTES_MAX;
use crate::text::{bounded, escape_controls};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

pub use crate::smtp::server::{EventLevel, SessionInfo};

/// The per-instance settings an FTP session runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our name, in the greeting.
    pub hostname: String,
    /// AUTH TLS is offered (RFC 4217) on connections not yet encrypted.
    pub auth_tls: bool,
    /// Logins: `without_tls` says whether USER/PASS are taken in clear;
    /// the failure count and delay are the accounts' shared ones. Where
    /// logins need TLS, data connections need PROT P too.
    pub auth: AuthPolicy,
    /// Refused commands before the session is closed.
    pub max_errors: u32,
    /// How long the session may wait for a command.
    pub idle_timeout: Duration,
    /// The longest a session may last, whatever it is doing.
    pub max_session_time: Duration,
    /// Bytes a user's home may hold; STOR and APPE are refused (552)
    /// beyond it.
    pub quota: u64,
}

impl SessionConfig {
    /// Data connections must be protected (PROT P) on this instance:
    /// where a password may not travel in clear, neither may a file.
    pub fn requires_protected_data(&self) -> bool {
        !self.auth.without_tls
    }
}

/// Why a file operation failed, as the driver found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFailure {
    NotFound,
    NotADirectory,
    IsADirectory,
    AlreadyExists,
    NotEmpty,
    /// A symbolic link, a special file, or a permission the server
    /// itself lacks: never followed, never said which.
    Refused,
    /// The disk failed: a temporary error.
    Unavailable,
}

impl FileFailure {
    /// The reply before any data connection (RFC 959 4.2: 550 permanent,
    /// 450/451 temporary).
    pub fn reply(self) -> (u16, &'static str) {
        match self {
            FileFailure::NotFound => (550, "No such file or directory"),
            FileFailure::NotADirectory => (550, "Not a directory"),
            FileFailure::IsADirectory => (550, "Is a directory"),
            FileFailure::AlreadyExists => (550, "File exists"),
            FileFailure::NotEmpty => (550, "Directory not empty"),
            FileFailure::Refused => (550, "Permission denied"),
            FileFailure::Unavailable => (451, "Local error in processing, try again later"),
        }
    }
}

/// Why a transfer did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferFailure {
    /// No data connection was made in time, or it was refused.
    NoConnection,
    /// The TLS handshake on the data connection failed (RFC 4217 8).
    TlsFailed,
    /// The data connection broke or stalled mid-transfer.
    ConnectionLost,
    /// ABOR (or shutdown) stopped it.
    Aborted,
    /// The upload would pass the user's quota; what was written is gone.
    QuotaExceeded,
    /// The file could not be read or written.
    File(FileFailure),
}

impl TransferFailure {
    fn reply(self) -> (u16, &'static str) {
        match self {
            TransferFailure::NoConnection => (425, "Cannot open data connection"),
            TransferFailure::TlsFailed => (425, "TLS negotiation on the data connection failed"),
            TransferFailure::ConnectionLost => (426, "Connection closed; transfer aborted"),
            TransferFailure::Aborted => (426, "Connection closed; transfer aborted"),
            TransferFailure::QuotaExceeded => (
                552,
                "Exceeded storage allocation (your quota): the upload was not kept",
            ),
            TransferFailure::File(FileFailure::Unavailable) => {
                (451, "Local error in processing, transfer aborted")
            }
            TransferFailure::File(_) => (451, "The file cannot be used, transfer aborted"),
        }
    }
}

/// Why no passive port could be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassiveFailure;

/// What the driver hands in.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the control connection.
    Bytes(&'a [u8]),
    EndOfInput,
    TimerFired,
    /// The server is stopping.
    Shutdown,
    /// The driver could not write the output by
    /// [`FtpServer::send_deadline`].
    SendTimedOut,
    /// The handshake [`Output::StartTls`] asked for succeeded.
    TlsStarted,
    Authenticated(AuthVerdict),
    HomeOpened(Result<(), FileFailure>),
    /// The answer to [`FileRequest::Stat`].
    Stat(Result<FileInfo, FileFailure>),
    /// The answer to [`FileRequest::List`].
    Listed(Result<Listing, FileFailure>),
    /// The answer to [`FileRequest::MakeDir`], `RemoveDir`, `Delete` and
    /// `Rename`.
    FileDone(Result<(), FileFailure>),
    /// The answer to [`FileRequest::Usage`]: bytes the home holds.
    Usage(Result<u64, FileFailure>),
    /// The answer to [`Request::OpenPassive`]: the port listening.
    PassiveOpened(Result<u16, PassiveFailure>),
    /// The answer to [`Request::Transfer`]: bytes moved.
    TransferDone(Result<u64, TransferFailure>),
}

/// A file operation inside the home.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileRequest {
    Stat(FtpPath),
    /// A directory's entries, or a file's own.
    List(FtpPath),
    MakeDir(FtpPath),
    RemoveDir(FtpPath),
    Delete(FtpPath),
    Rename {
        from: FtpPath,
        to: FtpPath,
    },
    Usage,
}

/// Where the data connection comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataChannel {
    /// The client connects to the port [`Request::OpenPassive`] opened.
    Passive,
    /// We connect to this address, checked by
    /// [`data::check_active_target`].
    Active(SocketAddr),
}

/// What a data connection carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferAction {
    /// These bytes (a listing the machine rendered).
    Send(Vec<u8>),
    /// A file, from `offset` (REST).
    Retrieve { path: FtpPath, offset: u64 },
    /// Into a file: appended to, or written from `offset` (REST; 0
    /// replaces it). At most `limit` bytes may arrive: one more and the
    /// upload fails with [`TransferFailure::QuotaExceeded`], and the
    /// driver removes what it wrote (for APPE, cuts the file back).
    Store {
        path: FtpPath,
        append: bool,
        offset: u64,
        limit: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub channel: DataChannel,
    /// PROT P: TLS on the data connection, as the server (RFC 4217 9).
    pub protected: bool,
    pub action: TransferAction,
}

/// What the machine asks of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Authenticate(LoginAttempt),
    /// Open (create if missing) `home`, a directory name from
    /// [`path::home_name`], for the account `login`.
    OpenHome {
        login: String,
        home: String,
    },
    File(FileRequest),
    OpenPassive,
    Transfer(Transfer),
}

/// What the machine emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Bytes for the control connection.
    Send(Vec<u8>),
    Request(Request),
    /// Send everything before this, then start TLS as the server; answer
    /// with [`Input::TlsStarted`].
    StartTls,
    /// Close the passive listener, if one is open (PORT replaced it, or
    /// ABOR dropped it).
    ClosePassive,
    /// Stop the transfer under way; its [`Input::TransferDone`] still
    /// comes, with whatever result it reached.
    AbortTransfer,
    /// Close the control connection once everything before it is sent.
    Close,
    Event(Event),
}

/// What a transfer was, for events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferKind {
    List,
    Nlst,
    Mlsd,
    Retr,
    Stor,
    Appe,
}

impl fmt::Display for TransferKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransferKind::List => "LIST",
            TransferKind::Nlst => "NLST",
            TransferKind::Mlsd => "MLSD",
            TransferKind::Retr => "RETR",
            TransferKind::Stor => "STOR",
            TransferKind::Appe => "APPE",
        })
    }
}

/// Session events for logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    LoginSucceeded {
        login: String,
    },
    /// `login` is what the client offered (never the password).
    LoginFailed {
        login: String,
        reply: String,
    },
    Transferred {
        kind: TransferKind,
        path: FtpPath,
        bytes: u64,
    },
    TransferFailed {
        kind: TransferKind,
        path: FtpPath,
        reply: String,
    },
    /// MKD, RMD, DELE or RNTO done.
    Changed {
        what: &'static str,
        path: FtpPath,
    },
    /// A PORT or EPRT target refused: the bounce attack, or a mistake.
    ActiveRefused {
        target: SocketAddr,
        reply: String,
    },
    /// A path that would leave the home.
    PathRefused {
        reply: String,
    },
    CommandRefused {
        reply: String,
    },
    /// `discarded` counts the bytes sent in clear after AUTH TLS, thrown
    /// away unread.
    TlsStarted {
        discarded: usize,
    },
    Idle,
    SessionTooLong {
        lasted: Duration,
    },
    SendStalled {
        waited: Duration,
    },
    TooManyErrors,
    ShutDown,
}

impl Event {
    /// The level its log line gets.
    pub fn level(&self) -> EventLevel {
        match self {
            Event::CommandRefused { .. } | Event::TlsStarted { discarded: 0 } => EventLevel::Debug,
            _ => EventLevel::Info,
        }
    }
}

/// Peer text as a log line may show it: escaped and bounded.
fn shown(text: &str) -> String {
    bounded(&escape_controls(text), LOGGED_PEER_TEXT_BYTES_MAX).into_owned()
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::LoginSucceeded { login } => write!(f, "ftp login {} succeeded", shown(login)),
            Event::LoginFailed { login, reply } => {
                write!(f, "ftp login {} failed: {}", shown(login), shown(reply))
            }
            Event::Transferred { kind, path, bytes } => write!(
                f,
                "{kind} {}: {}",
                shown(&path.to_string()),
                crate::text::counted(bytes, "byte", "bytes")
            ),
            Event::TransferFailed { kind, path, reply } => write!(
                f,
                "{kind} {} failed: {}",
                shown(&path.to_string()),
                shown(reply)
            ),
            Event::Changed { what, path } => write!(f, "{what} {}", shown(&path.to_string())),
            Event::ActiveRefused { target, reply } => {
                write!(
                    f,
                    "active data connection to {target} refused: {}",
                    shown(reply)
                )
            }
            Event::PathRefused { reply } => write!(f, "path refused: {}", shown(reply)),
            Event::CommandRefused { reply } => write!(f, "command refused: {}", shown(reply)),
            Event::TlsStarted { discarded: 0 } => f.write_str("TLS started"),
            Event::TlsStarted { discarded } => write!(
                f,
                "TLS started; {} sent in clear after AUTH TLS discarded",
                crate::text::counted(discarded, "byte", "bytes")
            ),
            Event::Idle => f.write_str("idle too long"),
            Event::SessionTooLong { lasted } => {
                write!(f, "session too long: {}s", lasted.as_secs())
            }
            Event::SendStalled { waited } => write!(
                f,
                "write stalled for {}s: the client is not reading",
                waited.as_secs()
            ),
            Event::TooManyErrors => f.write_str("too many errors"),
            Event::ShutDown => f.write_str("shut down"),
        }
    }
}

/// What a session did, for the one line logged when it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSummary {
    pub tls: bool,
    pub login: Option<String>,
    pub downloads: usize,
    pub uploads: usize,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub refused: usize,
}

impl SessionSummary {
    pub fn new(info: SessionInfo) -> Self {
        SessionSummary {
            tls: info.tls,
            ..SessionSummary::default()
        }
    }

    pub fn record(&mut self, event: &Event) {
        match event {
            Event::TlsStarted { .. } => self.tls = true,
            Event::LoginSucceeded { login } => self.login = Some(login.clone()),
            Event::Transferred { kind, bytes, .. } => match kind {
                TransferKind::Stor | TransferKind::Appe => {
                    self.uploads += 1;
                    self.bytes_in += bytes;
                }
                TransferKind::Retr => {
                    self.downloads += 1;
                    self.bytes_out += bytes;
                }
                _ => self.bytes_out += bytes,
            },
            Event::CommandRefused { .. }
            | Event::LoginFailed { .. }
            | Event::ActiveRefused { .. }
            | Event::PathRefused { .. }
            | Event::TransferFailed { .. } => self.refused += 1,
            _ => {}
        }
    }
}

impl fmt::Display for SessionSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let login = self.login.as_deref().map_or_else(|| "-".to_owned(), shown);
        write!(
            f,
            "ftp tls={} login={login} downloads={} uploads={} bytes_out={} bytes_in={} refused={}",
            if self.tls { "yes" } else { "no" },
            self.downloads,
            self.uploads,
            self.bytes_out,
            self.bytes_in,
            self.refused,
        )
    }
}

/// What a client turned away before its session starts is told, in place
/// of the greeting (RFC 959 5.4: 421 closes the connection).
pub fn refusal_response(hostname: &str, refusal: Refusal) -> Vec<u8> {
    let text = match refusal {
        Refusal::AccessDenied => {
            format!("{hostname} Access denied: no FTP service for your address here")
        }
        Refusal::TooManyConnections { .. } => {
            format!("{hostname} Too many connections, try again later")
        }
        Refusal::TooManyFromHost { .. } => {
            format!("{hostname} Too many connections from your host, try again later")
        }
    };
    let mut bytes = Vec::new();
    codec::reply(&mut bytes, 421, &text);
    bytes
}
