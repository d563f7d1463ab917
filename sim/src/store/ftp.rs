//! FTP in the simulation: each login's home is a core
//! [`MemoryHome`], kept in the store's shared state so that it survives a
//! crash and restart of the server as a disk would; data connections go
//! over turmoil's simulated network ([`SimNetwork`]).
//!
//! The home answers the machine's file requests exactly as the core's
//! tests see them; an upload is collected in memory and becomes the file
//! only when the driver keeps it (a failed one leaves the file as it was).

use super::{MemoryStore, PlantedBug, wall_clock};
use postern::ftp::{DataListener, DataNetwork, FtpFiles, FtpHome, Upload, UploadFate};
use postern_core::ftp::memory::MemoryHome;
use postern_core::ftp::{FileFailure, FileRequest, FtpPath, Input, TransferFailure};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;

/// The one home every login gets when [`PlantedBug::SharedFtpHomes`] is
/// planted.
const SHARED_HOME: &str = "everyone";

impl MemoryStore {
    /// The files in each FTP home, by home name: path and bytes.
    pub fn ftp_homes(&self) -> std::collections::BTreeMap<String, Vec<(String, Vec<u8>)>> {
        self.lock()
            .homes
            .iter()
            .map(|(name, home)| (name.clone(), home.files()))
            .collect()
    }
}

impl FtpFiles for MemoryStore {
    type Home = SimHome;

    async fn open_home(&self, home: &str) -> Result<SimHome, FileFailure> {
        let name = match self.bug {
            Some(PlantedBug::SharedFtpHomes) => SHARED_HOME.to_owned(),
            _ => home.to_owned(),
        };
        self.lock().homes.entry(name.clone()).or_default();
        Ok(SimHome {
            store: self.clone(),
            name,
        })
    }
}

/// One login's home: its name in the store's shared state.
#[derive(Clone, Debug)]
pub struct SimHome {
    store: MemoryStore,
    name: String,
}

impl SimHome {
    fn with<T>(&self, work: impl FnOnce(&mut MemoryHome) -> T) -> T {
        let mut shared = self.store.lock();
        work(shared.homes.entry(self.name.clone()).or_default())
    }
}

/// What a [`MemoryHome`] transfer failure means for a file.
fn file_failure(failure: TransferFailure) -> FileFailure {
    match failure {
        TransferFailure::File(failure) => failure,
        _ => FileFailure::Unavailable,
    }
}

impl FtpHome for SimHome {
    type Reader = io::Cursor<Vec<u8>>;
    type Writer = SimUpload;

    async fn answer(&self, request: FileRequest) -> Input<'static> {
        self.with(|home| home.answer(&request, wall_clock()))
    }

    async fn read(&self, path: &FtpPath, offset: u64) -> Result<io::Cursor<Vec<u8>>, FileFailure> {
        self.with(|home| home.retrieve(path, offset))
            .map(io::Cursor::new)
            .map_err(file_failure)
    }

    async fn write(
        &self,
        path: &FtpPath,
        append: bool,
        offset: u64,
    ) -> Result<Upload<SimUpload>, FileFailure> {
        // What the file would be if nothing came: the checks a store
        // makes (the parent a directory, the path not one).
        let length = self.with(|home| {
            let mut trial = home.clone();
            trial
                .store(path, append, offset, 0, &[], wall_clock())
                .map(|_| home.file(path).map_or(0, |data| data.len() as u64))
        });
        let length = length.map_err(file_failure)?;
        let fate = if !append && offset == 0 {
            UploadFate::Replace
        } else {
            UploadFate::CutBackTo(if append { length } else { length.min(offset) })
        };
        let target = PathBuf::from(path.to_string());
        Ok(Upload {
            writer: SimUpload {
                path: path.clone(),
                append,
                offset,
                data: Vec::new(),
            },
            fate,
            written_to: target.clone(),
            target,
        })
    }

    async fn keep(&self, upload: Upload<SimUpload>) -> Result<(), FileFailure> {
        let SimUpload {
            path,
            append,
            offset,
            data,
        } = upload.writer;
        self.with(|home| home.store(&path, append, offset, u64::MAX, &data, wall_clock()))
            .map(|_| ())
            .map_err(file_failure)
    }

    /// Nothing was written to the home yet: the file is as it was.
    async fn discard(&self, _upload: Upload<SimUpload>) {}
}

/// An upload under way: its bytes, kept apart until the driver keeps it.
#[derive(Debug)]
pub struct SimUpload {
    path: FtpPath,
    append: bool,
    offset: u64,
    data: Vec<u8>,
}

impl AsyncWrite for SimUpload {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().data.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Data connections over turmoil's network. Each of the server's
/// addresses is a host of its own, and a session runs on the host of the
/// address its client reached, so a listener there and a connection from
/// there use that address.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimNetwork;

impl DataNetwork for SimNetwork {
    type Stream = turmoil::net::TcpStream;
    type Listener = SimListener;

    async fn listen(&self, address: SocketAddr) -> io::Result<SimListener> {
        // turmoil binds only the unspecified address (the host's own).
        let any = match address {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let listener =
            turmoil::net::TcpListener::bind(SocketAddr::new(any, address.port())).await?;
        Ok(SimListener(listener))
    }

    async fn connect(&self, _local: IpAddr, target: SocketAddr) -> io::Result<Self::Stream> {
        turmoil::net::TcpStream::connect(target).await
    }
}

/// A passive listener on the simulated network.
pub struct SimListener(turmoil::net::TcpListener);

impl DataListener for SimListener {
    type Stream = turmoil::net::TcpStream;

    fn port(&self) -> io::Result<u16> {
        self.0.local_addr().map(|address| address.port())
    }

    async fn accept(&self) -> io::Result<(turmoil::net::TcpStream, SocketAddr)> {
        self.0.accept().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_core::directory::Directory;

    fn store(bug: Option<PlantedBug>) -> MemoryStore {
        let store = MemoryStore::new(Directory::new(&[]));
        match bug {
            Some(bug) => store.with_planted_bug(bug),
            None => store,
        }
    }

    /// Uploads `data` as `name` into `home` and keeps it.
    async fn upload(home: &SimHome, name: &str, data: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let path = FtpPath::root().join(name).unwrap();
        let mut upload = home.write(&path, false, 0).await.unwrap();
        upload.writer.write_all(data).await.unwrap();
        home.keep(upload).await.unwrap();
    }

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn each_home_keeps_its_own_files_and_a_discarded_upload_leaves_none() {
        block_on(async {
            let store = store(None);
            let alice = store.open_home("alice@example.test").await.unwrap();
            let bob = store.open_home("bob@example.test").await.unwrap();
            upload(&alice, "a.bin", b"alice's").await;
            let path = FtpPath::root().join("b.bin").unwrap();
            let mut failed = bob.write(&path, false, 0).await.unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut failed.writer, b"cut")
                .await
                .unwrap();
            bob.discard(failed).await;
            let homes = store.ftp_homes();
            assert_eq!(
                homes["alice@example.test"],
                vec![("/a.bin".to_owned(), b"alice's".to_vec())]
            );
            assert!(homes["bob@example.test"].is_empty());
            // Opened again (a new session, or after a crash): the same files.
            store.crashed();
            let again = store.open_home("alice@example.test").await.unwrap();
            let read = again.read(&path.parent().join("a.bin").unwrap(), 2).await;
            assert_eq!(read.unwrap().into_inner(), b"ice's".to_vec());
        });
    }

    #[test]
    fn the_planted_bug_shares_one_home() {
        block_on(async {
            let store = store(Some(PlantedBug::SharedFtpHomes));
            let alice = store.open_home("alice@example.test").await.unwrap();
            let _bob = store.open_home("bob@example.test").await.unwrap();
            upload(&alice, "a.bin", b"x").await;
            assert_eq!(store.ftp_homes().len(), 1);
        });
    }
}
