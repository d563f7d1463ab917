//! The FTP machine's states, each holding only what is valid in it, and
//! what a logged-in session carries between commands.

use super::codec::DataType;
use super::{DataChannel, FtpPath, ListingFormat, TransferKind};

/// A logged-in user's session: set at login, kept until the end.
#[derive(Debug)]
pub struct UserSession {
    pub login: String,
    pub cwd: FtpPath,
    /// RFC 3659 5: the REST offset for the next RETR or STOR.
    pub rest: u64,
    /// RFC 959 4.1.3: RNFR's path, for the RNTO that must follow.
    pub rename_from: Option<FtpPath>,
    /// Set by PASV/EPSV or PORT/EPRT; one transfer uses it up.
    pub data: Option<DataChannel>,
    pub data_type: DataType,
}

impl UserSession {
    pub fn new(login: String) -> Self {
        UserSession {
            login,
            cwd: FtpPath::root(),
            rest: 0,
            rename_from: None,
            data: None,
            data_type: DataType::Ascii,
        }
    }
}

/// What a file request's answer is for.
#[derive(Debug)]
pub enum Pending {
    Cwd(FtpPath),
    Size,
    Mdtm,
    Mlst(FtpPath),
    Rnfr(FtpPath),
    Retr {
        path: FtpPath,
        offset: u64,
        channel: DataChannel,
    },
    Listing {
        path: FtpPath,
        format: ListingFormat,
        channel: DataChannel,
    },
    /// STOR or APPE: first the target is looked at (it must be a file,
    /// or not exist yet in a directory that does), then the home's usage
    /// is asked for.
    StoreTarget {
        path: FtpPath,
        append: bool,
        offset: u64,
        channel: DataChannel,
        /// The answer is about the target's directory, not the target.
        parent: bool,
    },
    /// STOR or APPE waiting for the home's usage.
    Store {
        path: FtpPath,
        append: bool,
        offset: u64,
        channel: DataChannel,
    },
    /// MKD, RMD, DELE or RNTO: the reply on success.
    Change {
        what: &'static str,
        path: FtpPath,
        code: u16,
        text: String,
    },
}

/// A transfer under way.
#[derive(Debug)]
pub struct Transferring {
    pub kind: TransferKind,
    pub path: FtpPath,
    /// ABOR came: the transfer's reply is followed by ABOR's own.
    pub aborting: bool,
}

#[derive(Debug)]
pub enum State {
    /// Not logged in: USER next (or AUTH TLS, FEAT, ...).
    ExpectUser,
    /// USER given: PASS next.
    ExpectPass {
        user: String,
    },
    /// Waiting for the driver to check a login.
    AwaitingAuth {
        login: String,
    },
    /// A failed login's reply is held back; input waits.
    AuthDelay,
    /// Waiting for the driver to open the home.
    AwaitingHome {
        login: String,
    },
    /// AUTH TLS accepted: waiting for the handshake.
    AwaitingTls,
    /// Logged in, waiting for a command.
    ExpectCommand,
    /// Waiting for a file request's answer.
    AwaitingFile(Pending),
    /// Waiting for a passive port; `extended` for EPSV.
    AwaitingPassive {
        extended: bool,
    },
    /// A data transfer runs; only ABOR is acted on meanwhile.
    Transferring(Transferring),
    Closed,
}

impl State {
    /// True while the machine waits for the client's next command: the
    /// idle timer runs.
    pub fn awaits_command(&self) -> bool {
        matches!(
            self,
            State::ExpectUser | State::ExpectPass { .. } | State::ExpectCommand
        )
    }

    /// True while the machine waits for the driver.
    pub fn is_awaiting_driver(&self) -> bool {
        matches!(
            self,
            State::AwaitingAuth { .. }
                | State::AwaitingHome { .. }
                | State::AwaitingTls
                | State::AwaitingFile(_)
                | State::AwaitingPassive { .. }
                | State::Transferring(_)
        )
    }

    /// Logged in (whatever it is doing now).
    pub fn is_logged_in(&self) -> bool {
        matches!(
            self,
            State::ExpectCommand
                | State::AwaitingFile(_)
                | State::AwaitingPassive { .. }
                | State::Transferring(_)
        )
    }
}

/// The transfer kinds of the listing formats.
pub fn listing_kind(format: ListingFormat) -> TransferKind {
    match format {
        ListingFormat::List => TransferKind::List,
        ListingFormat::Nlst => TransferKind::Nlst,
        ListingFormat::Mlsd => TransferKind::Mlsd,
    }
}
