//! FTP at run time: the narrow file interface a session works through
//! ([`FtpFiles`], [`FtpHome`]), the homes on disk ([`disk::DiskFiles`]),
//! data connections through [`DataNetwork`] ([`data`]: tokio's sockets in
//! production) and the session driver ([`driver::run_ftp_session`]).
//!
//! The protocol, and every path's confinement to the home, is decided in
//! `postern_core::ftp`; this module carries out its requests. A
//! simulation implements the same traits: homes (the core's `MemoryHome`
//! answers the same requests) and a network of simulated sockets.

pub mod data;
pub mod disk;
pub mod driver;

pub use data::{NoDataNetwork, TokioNetwork};
pub use disk::DiskFiles;
pub use driver::{FtpRuntime, run_ftp_session};

use postern_core::ftp::{FileFailure, FileRequest, FtpPath, Input};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncRead, AsyncWrite};

/// How data connections are made: real sockets in production
/// ([`TokioNetwork`]), simulated ones in a simulation. Which peer may
/// connect, and where active mode may go, is decided in the core; this
/// only listens, accepts and connects.
pub trait DataNetwork: Send + Sync {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    type Listener: DataListener<Stream = Self::Stream>;

    /// Listens on `address`; port 0 lets the system pick.
    fn listen(
        &self,
        address: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// Connects to `target` from the address `local`.
    fn connect(
        &self,
        local: IpAddr,
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// A passive listener.
pub trait DataListener: Send + Sync + 'static {
    type Stream;

    /// The port it listens on, for the 227 or 229 reply.
    fn port(&self) -> io::Result<u16>;

    /// The next connection and where it comes from.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;
}

/// Where FTP sessions find their users' homes.
pub trait FtpFiles: Send + Sync {
    type Home: FtpHome + Clone + Send + Sync + 'static;

    /// Opens the home named `home` (a directory name from
    /// `postern_core::ftp::path::home_name`), creating it on first use.
    fn open_home(&self, home: &str)
    -> impl Future<Output = Result<Self::Home, FileFailure>> + Send;
}

/// What a file being uploaded becomes if the upload fails.
#[derive(Debug)]
pub enum UploadFate {
    /// A new file written beside its name, renamed over it at the end.
    Replace,
    /// Written in place (APPE, or STOR after REST): cut back to this
    /// length on failure.
    CutBackTo(u64),
}

/// One user's home: every path handed in is already confined to it by
/// the core; the home refuses symbolic links and special files itself.
pub trait FtpHome {
    type Reader: AsyncRead + Unpin + Send + 'static;
    type Writer: AsyncWrite + Unpin + Send + 'static;

    /// Answers a file request with the input the machine expects.
    fn answer(&self, request: FileRequest) -> impl Future<Output = Input<'static>> + Send;

    /// Opens a regular file for RETR, positioned at `offset`.
    fn read(
        &self,
        path: &FtpPath,
        offset: u64,
    ) -> impl Future<Output = Result<Self::Reader, FileFailure>> + Send;

    /// Opens a file for STOR (`offset`, 0 replaces it) or APPE.
    fn write(
        &self,
        path: &FtpPath,
        append: bool,
        offset: u64,
    ) -> impl Future<Output = Result<Upload<Self::Writer>, FileFailure>> + Send;

    /// Makes a finished upload the file at its path.
    fn keep(
        &self,
        upload: Upload<Self::Writer>,
    ) -> impl Future<Output = Result<(), FileFailure>> + Send;

    /// Throws a failed upload away, leaving the file as it was.
    fn discard(&self, upload: Upload<Self::Writer>) -> impl Future<Output = ()> + Send;
}

/// An upload under way.
#[derive(Debug)]
pub struct Upload<W> {
    pub writer: W,
    pub fate: UploadFate,
    /// Where the bytes go (a temporary name for [`UploadFate::Replace`]).
    pub written_to: std::path::PathBuf,
    /// The file's own name in the home.
    pub target: std::path::PathBuf,
}

/// For backends with no homes: every home is
/// unavailable, so an FTP login gets 530.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFtpFiles;

/// The home [`NoFtpFiles`] never hands out.
#[derive(Clone, Copy, Debug)]
pub enum NoHome {}

impl FtpFiles for NoFtpFiles {
    type Home = NoHome;

    async fn open_home(&self, _home: &str) -> Result<NoHome, FileFailure> {
        Err(FileFailure::Unavailable)
    }
}

impl FtpHome for NoHome {
    type Reader = tokio::io::Empty;
    type Writer = tokio::io::Sink;

    async fn answer(&self, _request: FileRequest) -> Input<'static> {
        match *self {}
    }

    async fn read(&self, _path: &FtpPath, _offset: u64) -> Result<tokio::io::Empty, FileFailure> {
        match *self {}
    }

    async fn write(
        &self,
        _path: &FtpPath,
        _append: bool,
        _offset: u64,
    ) -> Result<Upload<tokio::io::Sink>, FileFailure> {
        match *self {}
    }

    async fn keep(&self, _upload: Upload<tokio::io::Sink>) -> Result<(), FileFailure> {
        match *self {}
    }

    async fn discard(&self, _upload: Upload<tokio::io::Sink>) {
        match *self {}
    }
}
