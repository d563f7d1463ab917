//! Digests on disk: each distributed post is kept for the digest members
//! in `DATA/lists/ADDRESS/digest/` (named by its arrival and queue ID, so
//! a retried delivery replaces its own file); when the core says the
//! gathered posts make a digest ([`digest_due`]), they move together into
//! a batch, `digest-sending/NAME/`, which is removed only once every
//! digest copy is committed to the spool. A batch a crash left behind is
//! sent with the next one: digest members may get a digest twice, never
//! lose a post.

use crate::spool::{create_dir_durably, replace_file, sync_dir};
use postern_core::lists::digest_due;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A digest ready to send: its posts, in order, and the directory to
/// remove once it is sent.
pub struct Batch {
    pub dir: PathBuf,
    pub posts: Vec<Vec<u8>>,
}

/// Files in `dir`, sorted by name; none if it does not exist.
fn sorted(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| !path.to_string_lossy().ends_with(".new"))
            .collect(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    paths.sort();
    Ok(paths)
}

/// Keeps `posts` (name, rewritten post) for the digest of the list in
/// `list_dir`; answers every batch that is ready to send. Called under
/// the list's lock.
pub fn gather(list_dir: &Path, posts: &[(String, Vec<u8>)]) -> io::Result<Vec<Batch>> {
    let gathering = list_dir.join("digest");
    let sending = list_dir.join("digest-sending");
    if !posts.is_empty() {
        create_dir_durably(&gathering)?;
    }
    for (name, post) in posts {
        replace_file(&gathering.join(name), post)?;
    }
    let gathered = sorted(&gathering)?;
    let mut bytes = 0usize;
    for path in &gathered {
        bytes += usize::try_from(fs::metadata(path)?.len()).unwrap_or(usize::MAX);
    }
    if digest_due(gathered.len(), bytes)
        && let Some(first) = gathered.first().and_then(|p| p.file_name())
    {
        let batch = sending.join(first);
        create_dir_durably(&batch)?;
        for path in &gathered {
            if let Some(name) = path.file_name() {
                fs::rename(path, batch.join(name))?;
            }
        }
        sync_dir(&batch)?;
        sync_dir(&gathering)?;
    }
    let mut batches = Vec::new();
    for dir in sorted(&sending)? {
        let posts = sorted(&dir)?
            .iter()
            .map(fs::read)
            .collect::<io::Result<Vec<_>>>()?;
        batches.push(Batch { dir, posts });
    }
    Ok(batches)
}

/// Forgets a batch whose digests are all committed.
pub fn sent(batch: &Path) -> io::Result<()> {
    fs::remove_dir_all(batch)?;
    match batch.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}
