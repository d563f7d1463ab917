//! Folder names, and how Maildir++ stores them.
//!
//! `INBOX` (any case, RFC 9051 5.1) is the Maildir itself; every other
//! folder is a directory `.NAME` beside `cur/ new/ tmp/` (Maildir++), with
//! `.` as the hierarchy separator (`Archive.2026`), as Dovecot's default
//! `maildir++` layout has it.

use crate::limits::FOLDER_NAME_BYTES_MAX;
use std::fmt;

/// The name of the inbox.
pub const INBOX: &str = "INBOX";

/// The folders every user gets (RFC 6154 special uses).
pub const DEFAULT_FOLDERS: [&str; 5] = ["Sent", "Drafts", "Trash", "Junk", "Archive"];

/// A checked folder name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FolderName(String);

/// Why a folder name was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FolderError {
    Empty,
    TooLong {
        len: usize,
    },
    /// Only printable ASCII (a client sends other names in modified
    /// UTF-7, RFC 3501 5.1.3), without `/`, `\`, `*` or `%`.
    BadCharacter {
        name: String,
    },
    /// A `.` at either end or twice in a row: an empty level.
    EmptyLevel {
        name: String,
    },
}

impl fmt::Display for FolderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FolderError::Empty => write!(f, "a folder name cannot be empty"),
            FolderError::TooLong { len } => write!(
                f,
                "a folder name is at most {FOLDER_NAME_BYTES_MAX} octets, this one {len}"
            ),
            FolderError::BadCharacter { name } => write!(
                f,
                "folder name {name:?}: only printable ASCII without / \\ * %"
            ),
            FolderError::EmptyLevel { name } => {
                write!(
                    f,
                    "folder name {name:?} has an empty level ('.' at an end or '..')"
                )
            }
        }
    }
}

impl std::error::Error for FolderError {}

impl FolderName {
    pub fn parse(name: &str) -> Result<Self, FolderError> {
        if name.is_empty() {
            return Err(FolderError::Empty);
        }
        if name.len() > FOLDER_NAME_BYTES_MAX {
            return Err(FolderError::TooLong { len: name.len() });
        }
        if name.eq_ignore_ascii_case(INBOX) {
            return Ok(FolderName(INBOX.to_owned()));
        }
        let bad = |b: u8| !(b' '..=b'~').contains(&b) || matches!(b, b'/' | b'\\' | b'*' | b'%');
        if name.bytes().any(bad) {
            return Err(FolderError::BadCharacter {
                name: name.to_owned(),
            });
        }
        if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
            return Err(FolderError::EmptyLevel {
                name: name.to_owned(),
            });
        }
        Ok(FolderName(name.to_owned()))
    }

    /// The name from a Maildir++ directory name (`.Sent` gives `Sent`);
    /// `None` for what is not a folder.
    pub fn from_dir_name(dir: &str) -> Option<Self> {
        let name = dir.strip_prefix('.')?;
        if name.eq_ignore_ascii_case(INBOX) {
            return None;
        }
        FolderName::parse(name).ok()
    }

    pub fn is_inbox(&self) -> bool {
        self.0 == INBOX
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory under the user's Maildir: `None` for INBOX (the
    /// Maildir itself), `.NAME` for the others.
    pub fn dir_name(&self) -> Option<String> {
        (!self.is_inbox()).then(|| format!(".{}", self.0))
    }

    /// Whether `self` is `parent` or lies below it.
    pub fn is_within(&self, parent: &FolderName) -> bool {
        self.0 == parent.0
            || (self.0.len() > parent.0.len()
                && self.0.starts_with(&parent.0)
                && self.0.as_bytes()[parent.0.len()] == b'.')
    }
}

impl fmt::Display for FolderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_maildir_plus_plus_directories() {
        let rows: &[(&str, Option<&str>)] = &[
            ("INBOX", None),
            ("inbox", None),
            ("Sent", Some(".Sent")),
            ("Archive.2026", Some(".Archive.2026")),
            ("My Stuff", Some(".My Stuff")),
        ];
        for &(name, dir) in rows {
            let parsed = FolderName::parse(name).unwrap();
            assert_eq!(parsed.dir_name().as_deref(), dir, "{name}");
        }
        assert_eq!(
            FolderName::from_dir_name(".Sent").map(|f| f.to_string()),
            Some("Sent".into())
        );
        assert_eq!(FolderName::from_dir_name("cur"), None);
        assert_eq!(FolderName::from_dir_name(".."), None);
        assert_eq!(FolderName::from_dir_name(".INBOX"), None);
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        type Row = (&'static str, fn(&FolderError) -> bool);
        let rows: &[Row] = &[
            ("", |e| matches!(e, FolderError::Empty)),
            ("a/b", |e| matches!(e, FolderError::BadCharacter { .. })),
            ("a\\b", |e| matches!(e, FolderError::BadCharacter { .. })),
            ("caf\u{e9}", |e| {
                matches!(e, FolderError::BadCharacter { .. })
            }),
            ("a\tb", |e| matches!(e, FolderError::BadCharacter { .. })),
            ("*", |e| matches!(e, FolderError::BadCharacter { .. })),
            (".a", |e| matches!(e, FolderError::EmptyLevel { .. })),
            ("a.", |e| matches!(e, FolderError::EmptyLevel { .. })),
            ("a..b", |e| matches!(e, FolderError::EmptyLevel { .. })),
            ("..", |e| matches!(e, FolderError::EmptyLevel { .. })),
        ];
        for (name, expected) in rows {
            let error = FolderName::parse(name).unwrap_err();
            assert!(expected(&error), "{name:?}: {error}");
        }
        assert!(matches!(
            FolderName::parse(&"x".repeat(FOLDER_NAME_BYTES_MAX + 1)),
            Err(FolderError::TooLong { .. })
        ));
    }

    #[test]
    fn subfolders_lie_within_their_parent() {
        let parent = FolderName::parse("Archive").unwrap();
        assert!(
            FolderName::parse("Archive.2026")
                .unwrap()
                .is_within(&parent)
        );
        assert!(parent.is_within(&parent));
        assert!(!FolderName::parse("Archives").unwrap().is_within(&parent));
    }
}
