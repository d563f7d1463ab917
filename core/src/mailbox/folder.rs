//! Folder names, and how Maildir++ stores them.
//!
//! `INBOX` (any case, RFC 9051 5.1) is the Maildir itself; every other
//! folder is a directory `.NAME` beside `cur/ new/ tmp/` (Maildir++), with
//! `.` as the hierarchy separator (`Archive.2026`), as Dovecot's default
//! `maildir++` layout has it.

use crate::imap::codec::mutf7;
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
    /// No control characters, `/`, `\`, `*` or `%` (names are UTF-8;
    /// on disk they are modified UTF-7, as Dovecot keeps them).
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
            FolderError::BadCharacter { name } => {
                write!(f, "folder name {name:?}: no control characters, / \\ * %")
            }
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
        let bad = |c: char| c.is_control() || matches!(c, '/' | '\\' | '*' | '%');
        if name.chars().any(bad) {
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
    /// The directory holds the name in modified UTF-7 (RFC 3501 5.1.3),
    /// as Dovecot's Maildir++ layout does; a directory that is not valid
    /// modified UTF-7 (a bare `&`) is read as it is.
    pub fn from_dir_name(dir: &str) -> Option<Self> {
        let stored = dir.strip_prefix('.')?;
        let name = mutf7::decode(stored).unwrap_or_else(|_| stored.to_owned());
        if name.eq_ignore_ascii_case(INBOX) {
            return None;
        }
        FolderName::parse(&name).ok()
    }

    pub fn is_inbox(&self) -> bool {
        self.0 == INBOX
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory under the user's Maildir: `None` for INBOX (the
    /// Maildir itself), `.NAME` for the others, NAME in modified UTF-7
    /// (`.p&AOQA5A-` for `pää`, `&` as `&-`), as Dovecot names them.
    pub fn dir_name(&self) -> Option<String> {
        (!self.is_inbox()).then(|| format!(".{}", mutf7::encode(&self.0)))
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

/// RFC 6154 special-use attributes of the default folders (Sent, Drafts,
/// Trash, Junk, Archive), and of folders created with `CREATE ... USE`
/// (RFC 6154 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpecialUse {
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
}

impl SpecialUse {
    pub const ALL: [SpecialUse; 7] = [
        SpecialUse::All,
        SpecialUse::Archive,
        SpecialUse::Drafts,
        SpecialUse::Flagged,
        SpecialUse::Junk,
        SpecialUse::Sent,
        SpecialUse::Trash,
    ];

    /// The attribute as IMAP writes it, such as `\Sent`.
    pub const fn attribute(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }

    /// The use an attribute names (any case, RFC 6154 2); `None` for
    /// what is not one.
    pub fn from_attribute(attribute: &str) -> Option<SpecialUse> {
        SpecialUse::ALL
            .into_iter()
            .find(|use_| use_.attribute().eq_ignore_ascii_case(attribute))
    }

    /// The use of one of [`DEFAULT_FOLDERS`] by its name.
    pub fn of_default_folder(name: &FolderName) -> Option<SpecialUse> {
        match name.as_str() {
            "Sent" => Some(SpecialUse::Sent),
            "Drafts" => Some(SpecialUse::Drafts),
            "Trash" => Some(SpecialUse::Trash),
            "Junk" => Some(SpecialUse::Junk),
            "Archive" => Some(SpecialUse::Archive),
            _ => None,
        }
    }
}

impl fmt::Display for SpecialUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.attribute())
    }
}

/// The special uses of a user's folders as Postern keeps them (Dovecot
/// keeps them in its configuration, not beside the mail): one folder a
/// line, `NAME<TAB>\\Use`. A use written for a folder overrides the
/// default use of its name ([`SpecialUse::of_default_folder`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecialUses(pub std::collections::BTreeMap<FolderName, SpecialUse>);

impl SpecialUses {
    /// Lines this codec cannot read are errors naming the line; at most
    /// [`crate::limits::FOLDERS_PER_USER_MAX`] lines.
    pub fn parse(text: &str) -> Result<SpecialUses, String> {
        let mut uses = std::collections::BTreeMap::new();
        for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let line_no = number + 1;
            if uses.len() >= crate::limits::FOLDERS_PER_USER_MAX {
                return Err(format!(
                    "more than {} folders",
                    crate::limits::FOLDERS_PER_USER_MAX
                ));
            }
            let (name, attribute) = line
                .split_once('\t')
                .ok_or_else(|| format!("line {line_no}: expected NAME<TAB>\\\\Use"))?;
            let name = FolderName::parse(name).map_err(|e| format!("line {line_no}: {e}"))?;
            let use_ = SpecialUse::from_attribute(attribute)
                .ok_or_else(|| format!("line {line_no}: {attribute:?} is not a special use"))?;
            uses.insert(name, use_);
        }
        Ok(SpecialUses(uses))
    }

    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(|(name, use_)| format!("{name}\t{use_}\n"))
            .collect()
    }

    /// The folder's use: the one written for it, else its default.
    pub fn of(&self, name: &FolderName) -> Option<SpecialUse> {
        self.0
            .get(name)
            .copied()
            .or_else(|| SpecialUse::of_default_folder(name))
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
            ("p\u{e4}\u{e4}", Some(".p&AOQA5A-")),
            ("A&B", Some(".A&-B")),
        ];
        for &(name, dir) in rows {
            let parsed = FolderName::parse(name).unwrap();
            assert_eq!(parsed.dir_name().as_deref(), dir, "{name}");
        }
        assert_eq!(
            FolderName::from_dir_name(".Sent").map(|f| f.to_string()),
            Some("Sent".into())
        );
        assert_eq!(
            FolderName::from_dir_name(".p&AOQA5A-").map(|f| f.to_string()),
            Some("p\u{e4}\u{e4}".into())
        );
        // Written before names were encoded: a bare `&` reads as itself.
        assert_eq!(
            FolderName::from_dir_name(".A&B").map(|f| f.to_string()),
            Some("A&B".into())
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
            ("caf\u{85}", |e| {
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

    #[test]
    fn special_uses_round_trip_and_default_folders_have_theirs() {
        let text = "Archive.2026\t\\Archive\nFlagged mail\t\\flagged\n";
        let uses = SpecialUses::parse(text).unwrap();
        assert_eq!(
            uses.of(&FolderName::parse("Flagged mail").unwrap()),
            Some(SpecialUse::Flagged)
        );
        assert_eq!(
            uses.render(),
            "Archive.2026\t\\Archive\nFlagged mail\t\\Flagged\n"
        );
        assert_eq!(SpecialUses::parse(&uses.render()).unwrap(), uses);
        assert_eq!(
            uses.of(&FolderName::parse("Sent").unwrap()),
            Some(SpecialUse::Sent)
        );
        assert_eq!(uses.of(&FolderName::parse("Work").unwrap()), None);
        for bad in ["Sent", "Sent\t\\Inbox", "a..b\t\\Sent"] {
            let error = SpecialUses::parse(bad).unwrap_err();
            assert!(error.contains("line 1"), "{bad:?}: {error}");
        }
    }
}
