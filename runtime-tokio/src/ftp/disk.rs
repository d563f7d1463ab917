//! Homes on disk: `DATA_DIR/ftp/<login>/`, created at the first login by
//! the server's own user (root has been dropped by then).
//!
//! Every path comes from the core already confined (no `..`, no absolute
//! path, no NUL). What only the disk can show is checked here: no
//! component of a path may be a symbolic link (each is looked at with
//! `lstat`, and files are opened with `O_NOFOLLOW`), and only regular
//! files and directories are served. A link planted in a home by someone
//! with shell access therefore leads nowhere.

use super::{FtpFiles, FtpHome, Upload, UploadFate};
use postern_core::ftp::{FileFailure, FileInfo, FileKind, FileRequest, FtpPath, Input, Listing};
use postern_core::limits::{FTP_LISTING_ENTRIES_MAX, FTP_USAGE_ENTRIES_MAX};
use postern_core::time::UnixTime;
use std::fs;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Uploads in progress are written under names with this prefix, beside
/// their target, and renamed over it when complete; listings skip them.
pub const UPLOAD_PREFIX: &str = ".postern-upload-";

/// The FTP root, `DATA_DIR/ftp`.
#[derive(Clone, Debug)]
pub struct DiskFiles {
    root: PathBuf,
}

impl DiskFiles {
    pub fn new(data_dir: &Path) -> Self {
        DiskFiles {
            root: data_dir.join("ftp"),
        }
    }
}

impl FtpFiles for DiskFiles {
    type Home = DiskHome;

    async fn open_home(&self, home: &str) -> Result<DiskHome, FileFailure> {
        let root = self.root.clone();
        let home = home.to_owned();
        blocking(move || {
            for directory in [root.clone(), root.join(&home)] {
                match fs::symlink_metadata(&directory) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => return Err(FileFailure::Refused),
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {
                        fs::create_dir(&directory).or_else(|error| match error.kind() {
                            io::ErrorKind::AlreadyExists => Ok(()),
                            _ => Err(failure(&error)),
                        })?;
                    }
                    Err(error) => return Err(failure(&error)),
                }
            }
            Ok(DiskHome {
                root: Arc::new(root.join(&home)),
            })
        })
        .await
    }
}

/// One user's home directory.
#[derive(Clone, Debug)]
pub struct DiskHome {
    root: Arc<PathBuf>,
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FileFailure> + Send + 'static,
) -> Result<T, FileFailure> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or(Err(FileFailure::Unavailable))
}

/// What an I/O error means to the client.
pub fn failure(error: &io::Error) -> FileFailure {
    match error.kind() {
        io::ErrorKind::NotFound => return FileFailure::NotFound,
        io::ErrorKind::AlreadyExists => return FileFailure::AlreadyExists,
        io::ErrorKind::PermissionDenied => return FileFailure::Refused,
        _ => {}
    }
    match error.raw_os_error() {
        Some(libc::ENOTDIR) => FileFailure::NotADirectory,
        Some(libc::EISDIR) => FileFailure::IsADirectory,
        Some(libc::ENOTEMPTY) => FileFailure::NotEmpty,
        // O_NOFOLLOW met a symbolic link.
        Some(libc::ELOOP) => FileFailure::Refused,
        _ => {
            tracing::warn!(%error, "an FTP file operation failed");
            FileFailure::Unavailable
        }
    }
}

fn modified(meta: &fs::Metadata) -> UnixTime {
    let seconds = meta
        .modified()
        .ok()
        .and_then(|at| at.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    UnixTime(i64::try_from(seconds).unwrap_or(i64::MAX))
}

fn now() -> UnixTime {
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime(i64::try_from(seconds).unwrap_or(i64::MAX))
}

/// A regular file or a directory; anything else is refused.
fn info(name: String, meta: &fs::Metadata) -> Result<FileInfo, FileFailure> {
    let kind = if meta.file_type().is_file() {
        FileKind::File
    } else if meta.file_type().is_dir() {
        FileKind::Directory
    } else {
        return Err(FileFailure::Refused);
    };
    Ok(FileInfo {
        name,
        kind,
        size: meta.len(),
        modified: modified(meta),
    })
}

impl DiskHome {
    /// The path on disk of `path`, checking that no component of it is a
    /// symbolic link and that every one but the last is a directory. The
    /// last may be missing (a file about to be made).
    fn locate(&self, path: &FtpPath) -> Result<PathBuf, FileFailure> {
        let mut at = PathBuf::from(self.root.as_ref());
        let components = path.components();
        for (i, name) in components.iter().enumerate() {
            at.push(name);
            let last = i + 1 == components.len();
            match fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(FileFailure::Refused),
                Ok(meta) if !last && !meta.is_dir() => return Err(FileFailure::NotADirectory),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound && last => return Ok(at),
                Err(error) => return Err(failure(&error)),
            }
        }
        Ok(at)
    }

    fn stat(&self, path: &FtpPath) -> Result<FileInfo, FileFailure> {
        let at = self.locate(path)?;
        let meta = fs::symlink_metadata(&at).map_err(|e| failure(&e))?;
        info(path.name().unwrap_or("/").to_owned(), &meta)
    }

    fn list(&self, path: &FtpPath) -> Result<Listing, FileFailure> {
        let found = self.stat(path)?;
        if found.kind == FileKind::File {
            return Ok(Listing {
                entries: vec![found],
                now: now(),
                left_out: 0,
            });
        }
        let at = self.locate(path)?;
        let mut entries = Vec::new();
        let mut left_out = 0;
        for entry in fs::read_dir(&at).map_err(|e| failure(&e))? {
            let entry = entry.map_err(|e| failure(&e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(UPLOAD_PREFIX) {
                continue;
            }
            // Links and special files are not shown: nothing can use them.
            let Ok(meta) = fs::symlink_metadata(entry.path()) else {
                continue;
            };
            let Ok(found) = info(name, &meta) else {
                continue;
            };
            if entries.len() < FTP_LISTING_ENTRIES_MAX {
                entries.push(found);
            } else {
                left_out += 1;
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Listing {
            entries,
            now: now(),
            left_out,
        })
    }

    fn usage(&self) -> Result<u64, FileFailure> {
        let mut total: u64 = 0;
        let mut seen = 0usize;
        let mut pending = vec![PathBuf::from(self.root.as_ref())];
        while let Some(directory) = pending.pop() {
            for entry in fs::read_dir(&directory).map_err(|e| failure(&e))? {
                seen += 1;
                if seen > FTP_USAGE_ENTRIES_MAX {
                    // Too many to count: treated as full.
                    return Ok(u64::MAX);
                }
                let entry = entry.map_err(|e| failure(&e))?;
                let meta = fs::symlink_metadata(entry.path()).map_err(|e| failure(&e))?;
                if meta.is_dir() {
                    pending.push(entry.path());
                } else if meta.is_file() {
                    total = total.saturating_add(meta.len());
                }
            }
        }
        Ok(total)
    }

    fn change(&self, request: &FileRequest) -> Result<(), FileFailure> {
        match request {
            FileRequest::MakeDir(path) => {
                fs::create_dir(self.locate(path)?).map_err(|e| failure(&e))
            }
            FileRequest::RemoveDir(path) => {
                let at = self.locate(path)?;
                if !fs::symlink_metadata(&at).map_err(|e| failure(&e))?.is_dir() {
                    return Err(FileFailure::NotADirectory);
                }
                fs::remove_dir(at).map_err(|e| failure(&e))
            }
            FileRequest::Delete(path) => {
                let at = self.locate(path)?;
                let meta = fs::symlink_metadata(&at).map_err(|e| failure(&e))?;
                if meta.is_dir() {
                    return Err(FileFailure::IsADirectory);
                }
                if !meta.is_file() {
                    return Err(FileFailure::Refused);
                }
                fs::remove_file(at).map_err(|e| failure(&e))
            }
            FileRequest::Rename { from, to } => {
                let source = self.locate(from)?;
                fs::symlink_metadata(&source).map_err(|e| failure(&e))?;
                let target = self.locate(to)?;
                fs::rename(source, target).map_err(|e| failure(&e))
            }
            other => unreachable!("{other:?} is not a change"),
        }
    }

    fn open_read(&self, path: &FtpPath, offset: u64) -> Result<fs::File, FileFailure> {
        let at = self.locate(path)?;
        let mut file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(at)
            .map_err(|e| failure(&e))?;
        let meta = file.metadata().map_err(|e| failure(&e))?;
        if meta.is_dir() {
            return Err(FileFailure::IsADirectory);
        }
        if !meta.is_file() {
            return Err(FileFailure::Refused);
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| failure(&e))?;
        Ok(file)
    }

    fn open_write(
        &self,
        path: &FtpPath,
        append: bool,
        offset: u64,
    ) -> Result<Upload<fs::File>, FileFailure> {
        static UPLOADS: AtomicU64 = AtomicU64::new(0);
        let target = self.locate(path)?;
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.is_dir() => return Err(FileFailure::IsADirectory),
            Ok(meta) if !meta.is_file() => return Err(FileFailure::Refused),
            _ => {}
        }
        if !append && offset == 0 {
            let temporary = target.with_file_name(format!(
                "{UPLOAD_PREFIX}{}-{}",
                std::process::id(),
                UPLOADS.fetch_add(1, Ordering::Relaxed)
            ));
            let writer = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&temporary)
                .map_err(|e| failure(&e))?;
            return Ok(Upload {
                writer,
                fate: UploadFate::Replace,
                written_to: temporary,
                target,
            });
        }
        let mut writer = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&target)
            .map_err(|e| failure(&e))?;
        let length = writer.metadata().map_err(|e| failure(&e))?.len();
        if append {
            writer.seek(SeekFrom::End(0)).map_err(|e| failure(&e))?;
        } else {
            writer.set_len(offset).map_err(|e| failure(&e))?;
            writer
                .seek(SeekFrom::Start(offset))
                .map_err(|e| failure(&e))?;
        }
        Ok(Upload {
            writer,
            fate: UploadFate::CutBackTo(length.min(if append { length } else { offset })),
            written_to: target.clone(),
            target,
        })
    }
}

impl FtpHome for DiskHome {
    type Reader = tokio::fs::File;
    type Writer = tokio::fs::File;

    async fn answer(&self, request: FileRequest) -> Input<'static> {
        let home = self.clone();
        match request {
            FileRequest::Stat(path) => Input::Stat(blocking(move || home.stat(&path)).await),
            FileRequest::List(path) => Input::Listed(blocking(move || home.list(&path)).await),
            FileRequest::Usage => Input::Usage(blocking(move || home.usage()).await),
            change => Input::FileDone(blocking(move || home.change(&change)).await),
        }
    }

    async fn read(&self, path: &FtpPath, offset: u64) -> Result<tokio::fs::File, FileFailure> {
        let (home, path) = (self.clone(), path.clone());
        blocking(move || home.open_read(&path, offset))
            .await
            .map(tokio::fs::File::from_std)
    }

    async fn write(
        &self,
        path: &FtpPath,
        append: bool,
        offset: u64,
    ) -> Result<Upload<tokio::fs::File>, FileFailure> {
        let (home, path) = (self.clone(), path.clone());
        let upload = blocking(move || home.open_write(&path, append, offset)).await?;
        Ok(Upload {
            writer: tokio::fs::File::from_std(upload.writer),
            fate: upload.fate,
            written_to: upload.written_to,
            target: upload.target,
        })
    }

    async fn keep(&self, mut upload: Upload<tokio::fs::File>) -> Result<(), FileFailure> {
        use tokio::io::AsyncWriteExt;
        upload.writer.flush().await.map_err(|e| failure(&e))?;
        upload.writer.sync_data().await.map_err(|e| failure(&e))?;
        drop(upload.writer);
        if let UploadFate::Replace = upload.fate {
            let (from, to) = (upload.written_to, upload.target);
            blocking(move || fs::rename(&from, &to).map_err(|e| failure(&e))).await?;
        }
        Ok(())
    }

    async fn discard(&self, upload: Upload<tokio::fs::File>) {
        drop(upload.writer);
        let written_to = upload.written_to;
        let result = match upload.fate {
            UploadFate::Replace => {
                blocking(move || fs::remove_file(&written_to).map_err(|e| failure(&e))).await
            }
            UploadFate::CutBackTo(length) => {
                blocking(move || {
                    let file = fs::OpenOptions::new()
                        .write(true)
                        .custom_flags(libc::O_NOFOLLOW)
                        .open(&written_to)
                        .map_err(|e| failure(&e))?;
                    file.set_len(length).map_err(|e| failure(&e))
                })
                .await
            }
        };
        if let Err(failure) = result {
            tracing::warn!(?failure, "a failed FTP upload could not be thrown away");
        }
    }
}
