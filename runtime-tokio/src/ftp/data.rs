//! Data connections: a passive listener on the control connection's
//! local address, in the instance's port range; the accept that takes
//! only the control peer (the core's rule); the active connection to a
//! target the core has checked; TLS on them for PROT P; and the transfer
//! itself, every step bounded by the instance's `data_timeout`.

use super::{DataListener, DataNetwork, FtpHome, Upload};
use crate::tls::{ServerTls, Transport};
use postern_core::ftp::data::{PortRange, data_peer_allowed};
use postern_core::ftp::{DataChannel, Transfer, TransferAction, TransferFailure};
use postern_core::limits::{FTP_REFUSED_UPLOAD_DRAIN_BYTES_MAX, FTP_TRANSFER_CHUNK_BYTES};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

/// Data connections over the host's real network (tokio's sockets).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioNetwork;

impl DataNetwork for TokioNetwork {
    type Stream = TcpStream;
    type Listener = TcpListener;

    async fn listen(&self, address: SocketAddr) -> io::Result<TcpListener> {
        let socket = match address {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        // A port whose last data connection is in TIME_WAIT can listen
        // again (Linux still refuses a second listener on it).
        socket.set_reuseaddr(true)?;
        socket.bind(address)?;
        // One connection is expected; a short backlog is enough.
        socket.listen(4)
    }

    async fn connect(&self, local: IpAddr, target: SocketAddr) -> io::Result<TcpStream> {
        let socket = match target {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if local.is_ipv4() == target.is_ipv4() {
            socket.bind(SocketAddr::new(local, 0))?;
        }
        let stream = socket.connect(target).await?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

impl DataListener for TcpListener {
    type Stream = TcpStream;

    fn port(&self) -> io::Result<u16> {
        self.local_addr().map(|address| address.port())
    }

    async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, from) = TcpListener::accept(self).await?;
        let _ = stream.set_nodelay(true);
        Ok((stream, from))
    }
}

/// For backends without data connections: every
/// listen and connect fails, so PASV gets 425.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDataNetwork;

/// The listener [`NoDataNetwork`] never hands out.
#[derive(Debug)]
pub enum NoListener {}

impl DataNetwork for NoDataNetwork {
    type Stream = tokio::io::DuplexStream;
    type Listener = NoListener;

    async fn listen(&self, _address: SocketAddr) -> io::Result<NoListener> {
        Err(io::Error::other("no data connections here"))
    }

    async fn connect(&self, _local: IpAddr, _target: SocketAddr) -> io::Result<Self::Stream> {
        Err(io::Error::other("no data connections here"))
    }
}

impl DataListener for NoListener {
    type Stream = tokio::io::DuplexStream;

    fn port(&self) -> io::Result<u16> {
        match *self {}
    }

    async fn accept(&self) -> io::Result<(tokio::io::DuplexStream, SocketAddr)> {
        match *self {}
    }
}

/// Opens a passive listener on `local` (the control connection's own
/// address, so a multi-homed server answers on the address the client
/// used): a port of `range` starting at `start` and wrapping, or any
/// free port without a range.
pub async fn open_passive<N: DataNetwork>(
    network: &N,
    local: IpAddr,
    range: Option<PortRange>,
    start: u64,
) -> io::Result<N::Listener> {
    let Some(range) = range else {
        return network.listen(SocketAddr::new(local, 0)).await;
    };
    let mut last_error = None;
    for port in range.ports_from(start) {
        match network.listen(SocketAddr::new(local, port)).await {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("the passive port range is empty")))
}

/// Takes the one data connection on `listener`, from `peer` only;
/// connections from anywhere else are closed (and logged) and the wait
/// goes on until `timeout`.
async fn accept_from<L: DataListener>(
    listener: &L,
    peer: IpAddr,
    timeout: Duration,
) -> Option<L::Stream> {
    let wait = async {
        loop {
            match listener.accept().await {
                Ok((stream, from)) if data_peer_allowed(peer, from.ip()) => return Some(stream),
                Ok((_, from)) => {
                    tracing::warn!(%from, "FTP data connection from {from} refused: the control connection comes from {peer}");
                }
                Err(error) => {
                    tracing::debug!(%error, "FTP passive accept failed");
                    return None;
                }
            }
        }
    };
    tokio::time::timeout(timeout, wait).await.ok().flatten()
}

/// Connects to an active target from the control connection's local
/// address.
async fn connect_active<N: DataNetwork>(
    network: &N,
    local: IpAddr,
    target: SocketAddr,
    timeout: Duration,
) -> Option<N::Stream> {
    match tokio::time::timeout(timeout, network.connect(local, target)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%error, %target, "FTP active data connection failed");
            None
        }
        Err(_) => None,
    }
}

/// What one transfer works with.
pub struct TransferContext<'a, H, N: DataNetwork> {
    pub home: H,
    pub network: &'a N,
    pub passive: Option<N::Listener>,
    pub local: IpAddr,
    pub peer: IpAddr,
    pub timeout: Duration,
    pub tls: Option<&'a ServerTls>,
    /// Turns true when the client sent ABOR (or the session ends).
    pub abort: watch::Receiver<bool>,
}

/// Carries out one transfer: the file side first (so a file that cannot
/// be used fails before any connection), then the data connection, TLS
/// when protected, the bytes, and the close. ABOR stops it at any point;
/// an upload that did not complete is thrown away.
pub async fn run_transfer<H: FtpHome, N: DataNetwork>(
    mut context: TransferContext<'_, H, N>,
    transfer: Transfer,
) -> Result<u64, TransferFailure> {
    let mut file = match transfer.action {
        TransferAction::Send(bytes) => FileSide::Send(bytes),
        TransferAction::Retrieve { path, offset } => FileSide::Read(
            context
                .home
                .read(&path, offset)
                .await
                .map_err(TransferFailure::File)?,
        ),
        TransferAction::Store {
            path,
            append,
            offset,
            limit,
        } => FileSide::Write(
            context
                .home
                .write(&path, append, offset)
                .await
                .map_err(TransferFailure::File)?,
            limit,
        ),
    };
    let mut abort = context.abort.clone();
    let result = tokio::select! {
        result = exchange(&mut context, transfer.channel, transfer.protected, &mut file) => result,
        _ = abort.wait_for(|stop| *stop) => Err(TransferFailure::Aborted),
    };
    match (file, result) {
        (FileSide::Write(upload, _), Ok(bytes)) => match context.home.keep(upload).await {
            Ok(()) => Ok(bytes),
            Err(failure) => Err(TransferFailure::File(failure)),
        },
        (FileSide::Write(upload, _), Err(failure)) => {
            context.home.discard(upload).await;
            Err(failure)
        }
        (_, result) => result,
    }
}

/// The file side of a transfer, opened before the data connection.
enum FileSide<H: FtpHome> {
    Send(Vec<u8>),
    Read(H::Reader),
    Write(Upload<H::Writer>, u64),
}

/// The data connection's part: made, protected, used and closed.
async fn exchange<H: FtpHome, N: DataNetwork>(
    context: &mut TransferContext<'_, H, N>,
    channel: DataChannel,
    protected: bool,
    file: &mut FileSide<H>,
) -> Result<u64, TransferFailure> {
    let timeout = context.timeout;
    let stream = match channel {
        DataChannel::Passive => match context.passive.take() {
            Some(listener) => accept_from(&listener, context.peer, timeout).await,
            None => None,
        },
        DataChannel::Active(target) => {
            connect_active(context.network, context.local, target, timeout).await
        }
    };
    let stream = stream.ok_or(TransferFailure::NoConnection)?;
    let mut connection = match (protected, context.tls) {
        (true, Some(tls)) => tls.accept(stream).await.map_err(|error| {
            tracing::debug!(%error, "TLS on an FTP data connection failed");
            TransferFailure::TlsFailed
        })?,
        (true, None) => return Err(TransferFailure::TlsFailed),
        (false, _) => Transport::Plain(stream),
    };
    let moved = match file {
        FileSide::Send(bytes) => within(timeout, connection.write_all(bytes))
            .await
            .map(|()| bytes.len() as u64),
        FileSide::Read(reader) => copy_out(reader, &mut connection, timeout).await,
        FileSide::Write(upload, limit) => {
            let received = copy_in(&mut connection, &mut upload.writer, *limit, timeout).await?;
            // The client has sent all and closed; some (lftp) close without
            // waiting for our close_notify, so a failed close here loses
            // nothing.
            let _ = within(timeout, connection.shutdown()).await;
            return Ok(received);
        }
    }?;
    // The close: TLS sends its close_notify, which FTPS clients wait for
    // as the end of a download.
    within(timeout, connection.shutdown()).await?;
    Ok(moved)
}

/// An I/O step of a data connection, bounded by the data timeout; a
/// stall or an error loses the connection.
async fn within<T>(
    timeout: Duration,
    io: impl std::future::Future<Output = io::Result<T>>,
) -> Result<T, TransferFailure> {
    match tokio::time::timeout(timeout, io).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) | Err(_) => Err(TransferFailure::ConnectionLost),
    }
}

async fn copy_out<R, W>(
    reader: &mut R,
    writer: &mut W,
    timeout: Duration,
) -> Result<u64, TransferFailure>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut chunk = vec![0u8; FTP_TRANSFER_CHUNK_BYTES];
    let mut total = 0u64;
    loop {
        let n = reader
            .read(&mut chunk)
            .await
            .map_err(|e| TransferFailure::File(super::disk::failure(&e)))?;
        if n == 0 {
            return Ok(total);
        }
        within(timeout, writer.write_all(&chunk[..n])).await?;
        total += n as u64;
    }
}

/// Reads an upload to its end (the client closes the data connection),
/// refusing the byte past `limit`.
async fn copy_in<R, W>(
    reader: &mut R,
    writer: &mut W,
    limit: u64,
    timeout: Duration,
) -> Result<u64, TransferFailure>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut chunk = vec![0u8; FTP_TRANSFER_CHUNK_BYTES];
    let mut total = 0u64;
    loop {
        let n = match tokio::time::timeout(timeout, reader.read(&mut chunk)).await {
            Ok(Ok(n)) => n,
            Ok(Err(error)) if error.kind() == io::ErrorKind::UnexpectedEof => 0,
            Ok(Err(_)) | Err(_) => return Err(TransferFailure::ConnectionLost),
        };
        if n == 0 {
            writer
                .flush()
                .await
                .map_err(|e| TransferFailure::File(super::disk::failure(&e)))?;
            return Ok(total);
        }
        total += n as u64;
        if total > limit {
            drain(reader, &mut chunk, timeout).await;
            return Err(TransferFailure::QuotaExceeded);
        }
        writer
            .write_all(&chunk[..n])
            .await
            .map_err(|e| TransferFailure::File(super::disk::failure(&e)))?;
    }
}

/// Reads and discards the rest of a refused upload, so that the client
/// finishes sending and reads the reply rather than a reset, up to
/// [`FTP_REFUSED_UPLOAD_DRAIN_BYTES_MAX`] and within the data timeout per
/// read; past either the connection is simply closed.
async fn drain<R>(reader: &mut R, chunk: &mut [u8], timeout: Duration)
where
    R: AsyncRead + Unpin,
{
    let mut discarded = 0u64;
    while discarded < FTP_REFUSED_UPLOAD_DRAIN_BYTES_MAX {
        match tokio::time::timeout(timeout, reader.read(chunk)).await {
            Ok(Ok(n)) if n > 0 => discarded += n as u64,
            _ => return,
        }
    }
}
