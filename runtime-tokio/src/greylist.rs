//! The server's greylist on disk: `DATA_DIR/greylist`, the text of
//! [`Greylist::render`], read at start and written whole (atomically,
//! with [`replace_file`]) at most every
//! [`GREYLIST_SAVE_INTERVAL`] while it changes, and once more when the
//! server stops.
//!
//! It is not synced per RCPT: a crash loses the triplets learned since
//! the last write, and each of those costs its sender one more retry. A
//! file that cannot be read as a greylist is moved aside (to
//! `greylist.damaged-<unix time>`, named in the log) and the server
//! starts with an empty one.

use crate::spool::replace_file;
use postern_core::limits::{GREYLIST_FILE_BYTES_MAX, GREYLIST_SAVE_INTERVAL};
use postern_core::spam::{Greylist, GreylistPolicy, GreylistVerdict, Triplet};
use postern_core::time::UnixTime;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The file under the data directory.
pub const FILE_NAME: &str = "greylist";

/// The greylist every SMTP instance shares, and where it is kept.
#[derive(Debug)]
pub struct GreylistBook {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    greylist: Greylist,
    /// Changed since the last write.
    dirty: bool,
    /// The longest windows any instance has asked with: what expires on a
    /// write.
    longest: Option<GreylistPolicy>,
}

impl GreylistBook {
    /// Reads `data_dir/greylist`; an absent file is an empty greylist, a
    /// damaged one is moved aside.
    pub fn open(data_dir: &Path) -> Arc<GreylistBook> {
        let path = data_dir.join(FILE_NAME);
        let greylist = load(&path).unwrap_or_else(|why| {
            let aside = data_dir.join(format!("{FILE_NAME}.damaged-{}", wall_now().0));
            match std::fs::rename(&path, &aside) {
                Ok(()) => tracing::error!(
                    "the greylist {} is damaged ({why}); moved aside to {} and starting with an empty greylist",
                    path.display(),
                    aside.display()
                ),
                Err(error) => tracing::error!(
                    "the greylist {} is damaged ({why}) and cannot be moved aside ({error}); starting with an empty greylist",
                    path.display()
                ),
            }
            Greylist::default()
        });
        Arc::new(GreylistBook {
            path,
            state: Mutex::new(State {
                greylist,
                ..State::default()
            }),
        })
    }

    /// Checks and remembers one try, on the system's wall clock.
    pub fn check(&self, triplet: &Triplet, policy: &GreylistPolicy) -> GreylistVerdict {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let verdict = state.greylist.check(wall_now(), triplet, policy);
        state.dirty = true;
        let longest = state.longest.get_or_insert(*policy);
        longest.retry_window = longest.retry_window.max(policy.retry_window);
        longest.expiry = longest.expiry.max(policy.expiry);
        verdict
    }

    /// What a try would get now, changing nothing (`postern explain`).
    pub fn peek(&self, triplet: &Triplet, policy: &GreylistPolicy) -> (GreylistVerdict, bool) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let known = state.greylist.entry(triplet).is_some();
        (state.greylist.peek(wall_now(), triplet, policy), known)
    }

    /// Writes the greylist if it changed since the last write, expired
    /// entries left out.
    pub fn save(&self) -> io::Result<()> {
        let text = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if !state.dirty {
                return Ok(());
            }
            state.dirty = false;
            if let Some(longest) = state.longest {
                state.greylist.expire(wall_now(), &longest);
            }
            state.greylist.render()
        };
        replace_file(&self.path, text.as_bytes())
    }

    /// Writes the greylist every [`GREYLIST_SAVE_INTERVAL`] while it
    /// changes, until the server stops; then once more.
    pub async fn keep(self: Arc<Self>, mut ending: tokio::sync::watch::Receiver<bool>) {
        loop {
            let stop = tokio::select! {
                () = tokio::time::sleep(GREYLIST_SAVE_INTERVAL) => false,
                _ = ending.wait_for(|stop| *stop) => true,
            };
            let book = Arc::clone(&self);
            match tokio::task::spawn_blocking(move || book.save()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(%error, "cannot write the greylist {}", self.path.display())
                }
                Err(error) => tracing::error!(%error, "the greylist writer failed"),
            }
            if stop {
                return;
            }
        }
    }
}

/// The file's greylist; `Err` says why it is not one.
fn load(path: &Path) -> Result<Greylist, String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Greylist::default()),
        Err(error) => return Err(error.to_string()),
    };
    if bytes.len() > GREYLIST_FILE_BYTES_MAX {
        return Err(format!(
            "{} octets, over the {GREYLIST_FILE_BYTES_MAX} a greylist can hold",
            bytes.len()
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    Greylist::parse(&text)
}

/// Reads the greylist file without changing it (`postern explain`): an
/// absent file is empty; a damaged one says why.
pub fn read(data_dir: &Path) -> Result<Greylist, String> {
    load(&data_dir.join(FILE_NAME))
}

fn wall_now() -> UnixTime {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime(i64::try_from(seconds).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_core::address::{parse_forward_path, parse_reverse_path};

    fn triplet() -> Triplet {
        Triplet::new(
            "192.0.2.7".parse().unwrap(),
            &parse_reverse_path("<a@x.test>", true).unwrap(),
            &parse_forward_path("<b@y.test>", true).unwrap(),
        )
    }

    #[test]
    fn a_saved_greylist_is_read_back_and_a_damaged_one_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let book = GreylistBook::open(dir.path());
        let policy = GreylistPolicy::default();
        assert!(matches!(
            book.check(&triplet(), &policy),
            GreylistVerdict::Defer { .. }
        ));
        book.save().unwrap();
        let again = GreylistBook::open(dir.path());
        assert!(
            again.peek(&triplet(), &policy).1,
            "the triplet is remembered"
        );

        std::fs::write(dir.path().join(FILE_NAME), "not a greylist\n").unwrap();
        let fresh = GreylistBook::open(dir.path());
        assert!(!fresh.peek(&triplet(), &policy).1);
        let aside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("greylist.damaged-"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
    }
}
