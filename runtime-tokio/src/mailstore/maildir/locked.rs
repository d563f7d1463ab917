//! One folder's Maildir while its `dovecot-uidlist.lock` is held: scan
//! `new/` and `cur/`, give new files UIDs, rename and remove files, and
//! write `dovecot-uidlist` (and `dovecot-keywords`) back on release.
//!
//! Blocking file work: run it on a blocking thread.

use super::lock::{Lock, write_atomically};
use super::settled::{Listed, before_listing};
use crate::mailstore::StoreError;
use postern_core::limits::{MAILBOX_MESSAGES_MAX, MAILDIR_RENAME_RETRIES_MAX, UIDLIST_BYTES_MAX};
use postern_core::mailbox::keywords::KeywordTable;
use postern_core::mailbox::maildir_name::{Info, MaildirName, arrival_order};
use postern_core::mailbox::uidlist::{Record, Uidlist};
use postern_core::mailbox::{Found, Keywords, Uid, UidValidity};
use postern_core::time::UnixTime;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

pub(super) const UIDLIST: &str = "dovecot-uidlist";
pub(super) const KEYWORDS: &str = "dovecot-keywords";
/// Ours: the files a copy or MULTIAPPEND is renaming into `cur/`, written
/// before the first rename and removed once the uidlist holds them all.
/// Found at the next lock, it names files a crash left half placed:
/// those without a UID are removed (the client never had an OK).
pub(super) const PLACING: &str = "postern-placing";

/// A message file as the last scan found it.
#[derive(Clone, Debug)]
pub(super) struct FileEntry {
    pub path: PathBuf,
    pub name: MaildirName,
    pub mtime: UnixTime,
}

/// A folder under its lock.
pub(super) struct Locked {
    dir: PathBuf,
    lock: Lock,
    on_disk: Option<Uidlist>,
    pub list: Uidlist,
    keywords_lock: Option<Lock>,
    pub keywords: KeywordTable,
    pub files: BTreeMap<Uid, FileEntry>,
    /// A [`PLACING`] journal was written by this holder.
    placing: bool,
    /// The mtimes (dates) of the files an earlier scan found, by file
    /// name: a Maildir file keeps its content and date for as long as it
    /// keeps its name, so a scan stats only the names it has not seen.
    pub known: Dates,
    /// `new/` and `cur/` stamped before the last scan listed them.
    pub listed: Option<Listed>,
    /// Directories a file was renamed into, synced once by
    /// [`Locked::finish`] before the uidlist is written: several
    /// sessions' appends in one round share the fsync.
    unsynced_dirs: Vec<PathBuf>,
}

/// File name to mtime.
pub(super) type Dates = std::collections::HashMap<String, UnixTime>;

impl Locked {
    /// Takes the folder's lock and reads its `dovecot-uidlist` (a new one,
    /// UIDVALIDITY from the clock as Dovecot does, if there is none) and
    /// `dovecot-keywords`. Nothing is scanned yet.
    pub(super) fn open(dir: &Path) -> Result<Locked, StoreError> {
        let lock = Lock::acquire(&dir.join(UIDLIST))?;
        let on_disk = read_bounded(&dir.join(UIDLIST))?
            .map(|bytes| {
                Uidlist::parse(&bytes).map_err(|error| damaged(dir, UIDLIST, error.to_string()))
            })
            .transpose()?;
        let list = on_disk
            .clone()
            .unwrap_or_else(|| Uidlist::new(new_uid_validity(), None));
        recover_placing(dir, &list)?;
        let keywords = match read_bounded(&dir.join(KEYWORDS))? {
            Some(bytes) => KeywordTable::parse(&bytes)
                .map_err(|error| damaged(dir, KEYWORDS, error.to_string()))?,
            None => KeywordTable::default(),
        };
        Ok(Locked {
            dir: dir.to_owned(),
            lock,
            on_disk,
            list,
            keywords_lock: None,
            keywords,
            files: BTreeMap::new(),
            placing: false,
            known: Dates::new(),
            listed: None,
            unsynced_dirs: Vec::new(),
        })
    }

    /// Names the files about to be renamed into `cur/` (see [`PLACING`]),
    /// durably, before the first rename.
    pub(super) fn begin_placing(&mut self, names: &[String]) -> Result<(), StoreError> {
        let mut text = names.join("\n");
        text.push('\n');
        write_atomically(&self.dir.join(PLACING), text.as_bytes())?;
        self.placing = true;
        Ok(())
    }

    /// The placing was undone: the journal goes.
    pub(super) fn abandon_placing(&mut self) {
        if std::mem::take(&mut self.placing) {
            let _ = fs::remove_file(self.dir.join(PLACING));
        }
    }

    /// A file was renamed into `dir`: sync it before the uidlist is
    /// written ([`Locked::finish`]), hence before any caller is answered.
    pub(super) fn sync_later(&mut self, dir: &Path) {
        if !self.unsynced_dirs.iter().any(|d| d == dir) {
            self.unsynced_dirs.push(dir.to_owned());
        }
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index of a keyword, adding it to `dovecot-keywords` (under its
    /// own lock, written on [`Locked::finish`]) if it is new.
    pub(super) fn keyword_index(&mut self, word: &str) -> Result<u8, StoreError> {
        if let Some(index) = self.keywords.index(word) {
            return Ok(index);
        }
        if self.keywords_lock.is_none() {
            self.keywords_lock = Some(Lock::acquire(&self.dir.join(KEYWORDS))?);
            // Re-read under the lock: another process may have added some.
            if let Some(bytes) = read_bounded(&self.dir.join(KEYWORDS))? {
                self.keywords = KeywordTable::parse(&bytes)
                    .map_err(|error| damaged(&self.dir, KEYWORDS, error.to_string()))?;
            }
        }
        let (index, _) = self.keywords.index_or_add(word).map_err(|_| {
            StoreError::BadKeyword(format!("{word:?}: this mailbox has 26 keywords already"))
        })?;
        Ok(index)
    }

    /// Writes `dovecot-keywords` now if a keyword was added (keeping its
    /// lock): a file is about to be named with the new letter, and a crash
    /// must not leave a letter that names nothing.
    pub(super) fn write_keywords(&self) -> Result<(), StoreError> {
        match &self.keywords_lock {
            Some(lock) => lock.write(self.keywords.render().as_bytes()),
            None => Ok(()),
        }
    }

    /// Reads `new/` then `cur/` (that order, so a file Dovecot moves from
    /// one to the other meanwhile is seen at least once), moves new files
    /// to `cur/` if `move_new`, drops the records of files that are gone,
    /// and gives new files the next UIDs, in the order Dovecot gives them
    /// ([`arrival_order`]: by the time in their names).
    pub(super) fn scan(&mut self, move_new: bool) -> Result<(), StoreError> {
        self.listed = Some(before_listing(&self.dir)?);
        let mut by_stem = self.list_files(move_new)?;
        let missing = self
            .list
            .records
            .iter()
            .any(|r| !by_stem.contains_key(&r.stem));
        if missing {
            // A file renamed while we read the directory can be missed:
            // read again before calling a message expunged.
            for (stem, entry) in self.list_files(move_new)? {
                by_stem.entry(stem).or_insert(entry);
            }
        }
        if by_stem.len() > MAILBOX_MESSAGES_MAX {
            return Err(damaged(
                &self.dir,
                "cur",
                format!("more than {MAILBOX_MESSAGES_MAX} messages"),
            ));
        }
        self.files.clear();
        let mut records = Vec::with_capacity(by_stem.len());
        for mut record in std::mem::take(&mut self.list.records) {
            if let Some(entry) = by_stem.remove(&record.stem) {
                fill_sizes(&mut record, &entry)?;
                self.files.insert(record.uid, entry);
                records.push(record);
            }
        }
        self.list.records = records;
        let mut new_files: Vec<(String, FileEntry)> = by_stem.into_iter().collect();
        new_files.sort_by(|(a, _), (b, _)| arrival_order(a, b));
        for (stem, entry) in new_files {
            self.give_uid(stem, entry)?;
        }
        Ok(())
    }

    /// Gives a file the scan has not seen (one this process just put in
    /// the folder, under the lock) its UID, as [`Locked::scan`] would,
    /// without listing the folder again; a file whose stem already has a
    /// UID keeps it. `None` when it is not a message file or is gone.
    pub(super) fn adopt(&mut self, name: &str, path: PathBuf) -> Result<Option<Uid>, StoreError> {
        let mut one = BTreeMap::new();
        insert_entry(&mut one, name, path, &self.known)?;
        let Some((stem, entry)) = one.pop_first() else {
            return Ok(None);
        };
        if let Some(record) = self.list.records.iter().find(|r| r.stem == stem) {
            let uid = record.uid;
            self.files.insert(uid, entry);
            return Ok(Some(uid));
        }
        self.give_uid(stem, entry).map(Some)
    }

    /// Records a new file under the next UID, at the end of the list.
    fn give_uid(&mut self, stem: String, entry: FileEntry) -> Result<Uid, StoreError> {
        let used_up = || {
            damaged(
                &self.dir,
                UIDLIST,
                "UIDs used up: the folder needs a new UIDVALIDITY",
            )
        };
        let uid = Uid::new(self.list.next_uid).ok_or_else(used_up)?;
        self.list.next_uid = self.list.next_uid.checked_add(1).ok_or_else(used_up)?;
        let mut record = Record {
            uid,
            size: None,
            vsize: None,
            extra: Vec::new(),
            stem,
        };
        fill_sizes(&mut record, &entry)?;
        self.files.insert(uid, entry);
        self.list.records.push(record);
        Ok(uid)
    }

    fn list_files(&self, move_new: bool) -> Result<BTreeMap<String, FileEntry>, StoreError> {
        let mut by_stem = BTreeMap::new();
        for (name, path) in read_names(&self.dir.join("new"))? {
            let path = if move_new {
                let target = if name.contains(':') {
                    name.clone()
                } else {
                    format!("{name}:2,")
                };
                let target = self.dir.join("cur").join(target);
                match fs::rename(&path, &target) {
                    Ok(()) => target,
                    // Someone else moved or removed it: cur/ shows it.
                    Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error.into()),
                }
            } else {
                path
            };
            insert_entry(&mut by_stem, &name, path, &self.known)?;
        }
        for (name, path) in read_names(&self.dir.join("cur"))? {
            insert_entry(&mut by_stem, &name, path, &self.known)?;
        }
        Ok(by_stem)
    }

    /// The messages as the model takes them, in UID order.
    pub(super) fn found(&self) -> Vec<Found> {
        let vsizes: BTreeMap<Uid, u64> = self
            .list
            .records
            .iter()
            .map(|r| (r.uid, r.vsize.unwrap_or(0)))
            .collect();
        self.files
            .iter()
            .map(|(&uid, entry)| {
                let info = entry.name.info.clone().unwrap_or_default();
                let keywords: Keywords = info
                    .keywords
                    .iter()
                    .filter_map(|&i| self.keywords.keyword(i).map(str::to_owned))
                    .collect();
                Found {
                    uid,
                    flags: info.flags,
                    keywords,
                    internal_date: entry.mtime,
                    size: vsizes.get(&uid).copied().unwrap_or(0),
                }
            })
            .collect()
    }

    /// Renames a message's file to carry `info`; the file may have been
    /// renamed by another process meanwhile (found again by its stem) or
    /// removed (false).
    /// The entry is brought up to date, so no scan is needed after.
    pub(super) fn set_info(&mut self, uid: Uid, info: Info) -> Result<bool, StoreError> {
        let renamed = |entry: &FileEntry| {
            let name = entry.name.with_info(info.clone());
            let parent = entry.path.parent().unwrap_or(Path::new("."));
            // Files in new/ have no flags: a flagged file goes to cur/.
            let dir = if parent.file_name() == Some("new".as_ref()) {
                parent.with_file_name("cur")
            } else {
                parent.to_path_buf()
            };
            let path = dir.join(name.to_string());
            (name, path)
        };
        let done = self.retry_on_file(uid, |entry| fs::rename(&entry.path, renamed(entry).1))?;
        if done {
            // The entry the rename succeeded on: a retry rescans first.
            if let Some(entry) = self.files.get_mut(&uid) {
                let (name, path) = renamed(entry);
                entry.name = name;
                entry.path = path;
            }
        }
        Ok(done)
    }

    /// Removes a message's file; false if it was gone already.
    pub(super) fn remove(&mut self, uid: Uid) -> Result<bool, StoreError> {
        self.retry_on_file(uid, |entry| fs::remove_file(&entry.path))
    }

    pub(super) fn retry_on_file(
        &mut self,
        uid: Uid,
        action: impl Fn(&FileEntry) -> io::Result<()>,
    ) -> Result<bool, StoreError> {
        for _ in 0..MAILDIR_RENAME_RETRIES_MAX {
            let Some(entry) = self.files.get(&uid) else {
                return Ok(false);
            };
            match action(entry) {
                Ok(()) => return Ok(true),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    // Renamed by another process: look again.
                    self.scan(false)?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(io::Error::other(format!(
            "message {uid} kept moving after {MAILDIR_RENAME_RETRIES_MAX} tries"
        ))
        .into())
    }

    /// The dates of the files this holder found, for the next scan.
    pub(super) fn dates(&self) -> Dates {
        self.files
            .values()
            .filter_map(|entry| {
                let name = entry.path.file_name()?.to_str()?;
                Some((name.to_owned(), entry.mtime))
            })
            .collect()
    }

    /// Syncs the directories files were renamed into ([`Locked::sync_later`]),
    /// writes what changed and releases the keywords' lock; the uidlist's
    /// lock comes back, still held, for the files written with it
    /// (`postern-modseq`): dropping it releases it. The flag is true when
    /// the uidlist was replaced and the folder's directory is still to be
    /// synced: `postern-modseq`, written next in the same directory, is
    /// made durable by the same directory fsync, before any reply.
    pub(super) fn finish(self) -> Result<(Lock, bool), StoreError> {
        for dir in &self.unsynced_dirs {
            crate::spool::sync_dir(dir)?;
        }
        if let Some(lock) = self.keywords_lock {
            lock.replace(self.keywords.render().as_bytes())?;
        }
        let mut unsynced = false;
        if self.on_disk.as_ref() != Some(&self.list) {
            self.lock.write_leaving_dir(self.list.render().as_bytes())?;
            unsynced = true;
        }
        if self.placing {
            // The journal may go only once the uidlist holding the placed
            // files is durable: its rename first, then the removal.
            if unsynced {
                crate::spool::sync_dir(&self.dir)?;
            }
            // The uidlist holds every placed file now; should this removal
            // be lost, the next lock finds them all with UIDs and keeps them.
            fs::remove_file(self.dir.join(PLACING))?;
        }
        Ok((self.lock, unsynced))
    }

    /// The message's size and its size with CRLF line ends, as recorded.
    pub(super) fn sizes(&self, uid: Uid) -> (Option<u64>, Option<u64>) {
        // Records are in UID order (new ones are added at the end with
        // the next UID); look the slow way if a file had them otherwise.
        let records = &self.list.records;
        let record = match records.binary_search_by_key(&uid, |r| r.uid) {
            Ok(at) => records.get(at),
            Err(_) => records.iter().find(|r| r.uid == uid),
        };
        record.map_or((None, None), |r| (r.size, r.vsize))
    }

    pub(super) fn uid_validity(&self) -> UidValidity {
        self.list.uid_validity
    }
}

/// Undoes a placing a crash cut short (see [`PLACING`]): the journal's
/// files that have no UID in `list` are removed from `cur/`.
fn recover_placing(dir: &Path, list: &Uidlist) -> Result<(), StoreError> {
    let journal = dir.join(PLACING);
    let Some(bytes) = read_bounded(&journal)? else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&bytes);
    let recorded: std::collections::BTreeSet<&str> =
        list.records.iter().map(|r| r.stem.as_str()).collect();
    let mut removed = 0;
    for name in text.lines().filter(|l| !l.is_empty() && !l.contains('/')) {
        let Ok(parsed) = MaildirName::parse(name) else {
            continue;
        };
        if recorded.contains(parsed.stem()) {
            continue;
        }
        match fs::remove_file(dir.join("cur").join(name)) {
            Ok(()) => removed += 1,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error.into()),
        }
    }
    crate::spool::sync_dir(&dir.join("cur"))?;
    fs::remove_file(&journal)?;
    if removed > 0 {
        tracing::warn!(
            folder = %dir.display(),
            removed,
            "removed the files of a copy or append that a crash cut short"
        );
    }
    Ok(())
}

/// The file names in a directory (not those starting with `.`), with
/// their paths; an absent directory has none.
fn read_names(dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            tracing::warn!(dir = %dir.display(), "skipping a file whose name is not UTF-8");
            continue;
        };
        if !name.starts_with('.') {
            names.push((name, entry.path()));
        }
    }
    Ok(names)
}

fn insert_entry(
    by_stem: &mut BTreeMap<String, FileEntry>,
    name: &str,
    path: PathBuf,
    known: &Dates,
) -> Result<(), StoreError> {
    let parsed = match MaildirName::parse(name) {
        Ok(parsed) => parsed,
        Err(error) => {
            tracing::warn!(file = %path.display(), %error, "skipping a file that is not a message");
            return Ok(());
        }
    };
    let known = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| known.get(n));
    let mtime = match known {
        Some(&mtime) => mtime,
        None => {
            let modified = match fs::metadata(&path).and_then(|m| m.modified()) {
                Ok(modified) => modified,
                // Moved or removed since the listing.
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(error.into()),
            };
            modified
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| UnixTime(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
                .unwrap_or(UnixTime(0))
        }
    };
    by_stem.insert(
        parsed.stem().to_owned(),
        FileEntry {
            path,
            name: parsed,
            mtime,
        },
    );
    Ok(())
}

/// Sizes from the file name if it has them, else from the file itself
/// (read once; the record keeps them).
fn fill_sizes(record: &mut Record, entry: &FileEntry) -> Result<(), StoreError> {
    if let Some(size) = entry.name.size {
        record.size = Some(size);
    }
    if let Some(vsize) = entry.name.vsize {
        record.vsize = Some(vsize);
    }
    if record.vsize.is_none() || record.size.is_none() {
        match count_sizes(&entry.path) {
            Ok((size, vsize)) => {
                record.size.get_or_insert(size);
                record.vsize.get_or_insert(vsize);
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// The file's size and its size with CRLF line ends.
pub(super) fn count_sizes(path: &Path) -> io::Result<(u64, u64)> {
    let mut file = fs::File::open(path)?;
    let mut buffer = vec![0u8; 64 * 1024];
    let (mut size, mut vsize) = (0u64, 0u64);
    let mut last = None;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok((size, vsize));
        }
        for &byte in &buffer[..n] {
            if byte == b'\n' && last != Some(b'\r') {
                vsize += 1;
            }
            last = Some(byte);
        }
        size += n as u64;
        vsize += n as u64;
    }
}

/// A file's content, `None` if it does not exist; refused above
/// [`UIDLIST_BYTES_MAX`].
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let mut bytes = Vec::new();
    file.take(UIDLIST_BYTES_MAX + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > UIDLIST_BYTES_MAX {
        return Err(StoreError::Damaged {
            file: path.display().to_string(),
            reason: format!("larger than {UIDLIST_BYTES_MAX} octets"),
        });
    }
    Ok(Some(bytes))
}

fn damaged(dir: &Path, file: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Damaged {
        file: dir.join(file).display().to_string(),
        reason: reason.into(),
    }
}

/// The last UIDVALIDITY this process gave a new folder.
static LAST_UID_VALIDITY: AtomicU32 = AtomicU32::new(0);

/// Dovecot's rule: a new folder's UIDVALIDITY is the time of its
/// creation, and above every one given before (a folder deleted and
/// created again within a second must not get its old UIDVALIDITY back,
/// RFC 9051 2.3.1.1), as Dovecot's `dovecot-uidvalidity` keeps it.
fn new_uid_validity() -> UidValidity {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1);
    let now = u32::try_from(now).unwrap_or(u32::MAX).max(1);
    let previous = LAST_UID_VALIDITY
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or_else(|last| last);
    UidValidity(now.max(previous.saturating_add(1)))
}
