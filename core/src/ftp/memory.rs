//! An in-memory home for one user: answers the machine's file requests
//! and carries out transfers on bytes, with no disk. The machine's tests
//! run against it, and a simulation can give each simulated user one.

use super::listing::{FileInfo, FileKind, Listing};
use super::{FileFailure, FileRequest, FtpPath, Input, TransferFailure};
use crate::time::UnixTime;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Directory,
    File { data: Vec<u8>, modified: UnixTime },
}

/// One home: every path in it, the home itself (the root) included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryHome {
    nodes: BTreeMap<FtpPath, Node>,
}

impl Default for MemoryHome {
    fn default() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(FtpPath::root(), Node::Directory);
        MemoryHome { nodes }
    }
}

impl MemoryHome {
    /// Puts a file (its directories must exist).
    pub fn put(&mut self, path: &FtpPath, data: &[u8], modified: UnixTime) {
        self.nodes.insert(
            path.clone(),
            Node::File {
                data: data.to_vec(),
                modified,
            },
        );
    }

    pub fn make_dir(&mut self, path: &FtpPath) {
        self.nodes.insert(path.clone(), Node::Directory);
    }

    /// A file's bytes, if it is one.
    pub fn file(&self, path: &FtpPath) -> Option<&[u8]> {
        match self.nodes.get(path) {
            Some(Node::File { data, .. }) => Some(data),
            _ => None,
        }
    }

    /// Every file, in path order: its path and bytes.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        self.nodes
            .iter()
            .filter_map(|(path, node)| match node {
                Node::File { data, .. } => Some((path.to_string(), data.clone())),
                Node::Directory => None,
            })
            .collect()
    }

    /// Bytes all files hold.
    pub fn usage(&self) -> u64 {
        self.nodes
            .values()
            .map(|node| match node {
                Node::File { data, .. } => data.len() as u64,
                Node::Directory => 0,
            })
            .sum()
    }

    fn info(&self, path: &FtpPath) -> Result<FileInfo, FileFailure> {
        let name = path.name().unwrap_or("/").to_owned();
        match self.nodes.get(path) {
            None => Err(FileFailure::NotFound),
            Some(Node::Directory) => Ok(FileInfo {
                name,
                kind: FileKind::Directory,
                size: 0,
                modified: UnixTime(0),
            }),
            Some(Node::File { data, modified }) => Ok(FileInfo {
                name,
                kind: FileKind::File,
                size: data.len() as u64,
                modified: *modified,
            }),
        }
    }

    fn children(&self, directory: &FtpPath) -> impl Iterator<Item = &FtpPath> {
        self.nodes
            .keys()
            .filter(move |p| !p.is_root() && p.parent() == *directory)
    }

    fn parent_is_directory(&self, path: &FtpPath) -> Result<(), FileFailure> {
        match self.nodes.get(&path.parent()) {
            Some(Node::Directory) => Ok(()),
            Some(_) => Err(FileFailure::NotADirectory),
            None => Err(FileFailure::NotFound),
        }
    }

    /// The answer to a file request, as the driver would hand it in.
    pub fn answer(&mut self, request: &FileRequest, now: UnixTime) -> Input<'static> {
        match request {
            FileRequest::Stat(path) => Input::Stat(self.info(path)),
            FileRequest::List(path) => Input::Listed(self.list(path, now)),
            FileRequest::Usage => Input::Usage(Ok(self.usage())),
            FileRequest::MakeDir(path) => Input::FileDone(self.mkdir(path)),
            FileRequest::RemoveDir(path) => Input::FileDone(self.rmdir(path)),
            FileRequest::Delete(path) => Input::FileDone(self.delete(path)),
            FileRequest::Rename { from, to } => Input::FileDone(self.rename(from, to)),
        }
    }

    fn list(&self, path: &FtpPath, now: UnixTime) -> Result<Listing, FileFailure> {
        let info = self.info(path)?;
        let entries = match info.kind {
            FileKind::File => vec![info],
            FileKind::Directory => self
                .children(path)
                .map(|child| self.info(child))
                .collect::<Result<_, _>>()?,
        };
        Ok(Listing {
            entries,
            now,
            left_out: 0,
        })
    }

    fn mkdir(&mut self, path: &FtpPath) -> Result<(), FileFailure> {
        if self.nodes.contains_key(path) {
            return Err(FileFailure::AlreadyExists);
        }
        self.parent_is_directory(path)?;
        self.nodes.insert(path.clone(), Node::Directory);
        Ok(())
    }

    fn rmdir(&mut self, path: &FtpPath) -> Result<(), FileFailure> {
        match self.nodes.get(path) {
            None => Err(FileFailure::NotFound),
            Some(Node::File { .. }) => Err(FileFailure::NotADirectory),
            Some(Node::Directory) if self.children(path).next().is_some() => {
                Err(FileFailure::NotEmpty)
            }
            Some(Node::Directory) => {
                self.nodes.remove(path);
                Ok(())
            }
        }
    }

    fn delete(&mut self, path: &FtpPath) -> Result<(), FileFailure> {
        match self.nodes.get(path) {
            None => Err(FileFailure::NotFound),
            Some(Node::Directory) => Err(FileFailure::IsADirectory),
            Some(Node::File { .. }) => {
                self.nodes.remove(path);
                Ok(())
            }
        }
    }

    fn rename(&mut self, from: &FtpPath, to: &FtpPath) -> Result<(), FileFailure> {
        if !self.nodes.contains_key(from) {
            return Err(FileFailure::NotFound);
        }
        self.parent_is_directory(to)?;
        // A directory cannot move inside itself.
        let mut up = to.clone();
        while !up.is_root() {
            if up == *from {
                return Err(FileFailure::Refused);
            }
            up = up.parent();
        }
        let moved: Vec<FtpPath> = self
            .nodes
            .keys()
            .filter(|p| p.components().starts_with(from.components()))
            .cloned()
            .collect();
        for old in moved {
            let Some(node) = self.nodes.remove(&old) else {
                continue;
            };
            let mut new = to.clone();
            for name in &old.components()[from.components().len()..] {
                new = new.join(name).unwrap_or_else(|| new.clone());
            }
            self.nodes.insert(new, node);
        }
        Ok(())
    }

    /// RETR: the file's bytes from `offset`.
    pub fn retrieve(&self, path: &FtpPath, offset: u64) -> Result<Vec<u8>, TransferFailure> {
        match self.nodes.get(path) {
            Some(Node::File { data, .. }) => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                Ok(data[start..].to_vec())
            }
            Some(Node::Directory) => Err(TransferFailure::File(FileFailure::IsADirectory)),
            None => Err(TransferFailure::File(FileFailure::NotFound)),
        }
    }

    /// STOR or APPE of `data`; more than `limit` bytes leaves the file as
    /// it was (a new one is not kept) and fails with the quota.
    pub fn store(
        &mut self,
        path: &FtpPath,
        append: bool,
        offset: u64,
        limit: u64,
        data: &[u8],
        now: UnixTime,
    ) -> Result<u64, TransferFailure> {
        self.parent_is_directory(path)
            .map_err(TransferFailure::File)?;
        let mut content = match self.nodes.get(path) {
            Some(Node::Directory) => return Err(TransferFailure::File(FileFailure::IsADirectory)),
            Some(Node::File { data, .. }) => data.clone(),
            None => Vec::new(),
        };
        if data.len() as u64 > limit {
            return Err(TransferFailure::QuotaExceeded);
        }
        if !append {
            content.truncate(usize::try_from(offset).unwrap_or(usize::MAX));
        }
        content.extend_from_slice(data);
        self.put(path, &content, now);
        Ok(data.len() as u64)
    }
}
