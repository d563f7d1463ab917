//! Path confinement: a client's path, resolved against the working
//! directory, as a normalized path inside the user's home.
//!
//! The rule, all of it decided here and nowhere else: the home is `/`;
//! an absolute path starts there, a relative one at the working
//! directory; `.` and empty components are dropped; `..` goes up one
//! directory and is refused if it would leave the home (never clamped:
//! a client that tries is told so); a NUL, an over-long name or path,
//! or a path too deep is refused. What comes out names only directories
//! and files below the home, so the runtime joins its components to the
//! home's directory and nothing else. Symbolic links are the runtime's
//! to refuse, as only it can see them.

use crate::limits::{FTP_NAME_BYTES_MAX, FTP_PATH_BYTES_MAX, FTP_PATH_DEPTH_MAX};
use std::fmt;

/// A normalized path inside a user's home: no component is empty, `.`,
/// `..`, or holds `/` or NUL.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FtpPath {
    components: Vec<String>,
}

/// Why a client's path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// `..` would go above the home.
    EscapesHome,
    /// A NUL byte: no file name holds one, and C code would cut there.
    ContainsNul,
    /// Longer than [`FTP_PATH_BYTES_MAX`].
    PathTooLong,
    /// One name longer than [`FTP_NAME_BYTES_MAX`].
    NameTooLong,
    /// Deeper than [`FTP_PATH_DEPTH_MAX`] directories.
    TooDeep,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::EscapesHome => "Permission denied: the path leads outside your home",
            PathError::ContainsNul => "The path holds a NUL character",
            PathError::PathTooLong => "The path is too long",
            PathError::NameTooLong => "A name in the path is too long",
            PathError::TooDeep => "The path is too deep",
        })
    }
}

impl FtpPath {
    /// The home itself.
    pub fn root() -> Self {
        FtpPath::default()
    }

    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// The names from the home down, each safe to join to a directory.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The last name; `None` for the home.
    pub fn name(&self) -> Option<&str> {
        self.components.last().map(String::as_str)
    }

    /// The directory holding this path; the home is its own parent, as
    /// CDUP at the top stays there (RFC 959 4.1.1).
    pub fn parent(&self) -> FtpPath {
        let mut components = self.components.clone();
        components.pop();
        FtpPath { components }
    }

    /// `name` inside this directory; `None` if it is not one plain name.
    pub fn join(&self, name: &str) -> Option<FtpPath> {
        let valid = !name.is_empty()
            && name != "."
            && name != ".."
            && !name.contains(['/', '\0'])
            && name.len() <= FTP_NAME_BYTES_MAX;
        valid.then(|| {
            let mut components = self.components.clone();
            components.push(name.to_owned());
            FtpPath { components }
        })
    }
}

/// `/` for the home, `/a/b` below it: what PWD and replies show.
impl fmt::Display for FtpPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.components.is_empty() {
            return f.write_str("/");
        }
        for component in &self.components {
            write!(f, "/{component}")?;
        }
        Ok(())
    }
}

/// Resolves `argument` against `cwd`. An empty argument is `cwd` itself.
pub fn resolve(cwd: &FtpPath, argument: &str) -> Result<FtpPath, PathError> {
    if argument.contains('\0') {
        return Err(PathError::ContainsNul);
    }
    if argument.len() > FTP_PATH_BYTES_MAX {
        return Err(PathError::PathTooLong);
    }
    let mut components = if argument.starts_with('/') {
        Vec::new()
    } else {
        cwd.components.clone()
    };
    for part in argument.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if components.pop().is_none() {
                    return Err(PathError::EscapesHome);
                }
            }
            name if name.len() > FTP_NAME_BYTES_MAX => return Err(PathError::NameTooLong),
            name => components.push(name.to_owned()),
        }
        if components.len() > FTP_PATH_DEPTH_MAX {
            return Err(PathError::TooDeep);
        }
    }
    let resolved = FtpPath { components };
    if resolved.to_string().len() > FTP_PATH_BYTES_MAX {
        return Err(PathError::PathTooLong);
    }
    Ok(resolved)
}

/// The directory name of `login`'s home under the FTP root: the login
/// itself (an address, lower-case), if it is one plain name. A login with
/// `/`, NUL, a control character, or that is `.` or `..` gets no home.
pub fn home_name(login: &str) -> Option<String> {
    let login = login.to_lowercase();
    let plain = !login.is_empty()
        && login != "."
        && login != ".."
        && login.len() <= FTP_NAME_BYTES_MAX
        && !login.chars().any(|c| c == '/' || c.is_control());
    plain.then_some(login)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path(text: &str) -> FtpPath {
        resolve(&FtpPath::root(), text).expect("a valid path")
    }

    #[test]
    fn resolution_table() {
        let cwd = path("/docs/2026");
        let rows: &[(&str, Result<&str, PathError>)] = &[
            ("", Ok("/docs/2026")),
            (".", Ok("/docs/2026")),
            ("a.txt", Ok("/docs/2026/a.txt")),
            ("./a.txt", Ok("/docs/2026/a.txt")),
            ("..", Ok("/docs")),
            ("../..", Ok("/")),
            ("../../..", Err(PathError::EscapesHome)),
            ("../../../etc/passwd", Err(PathError::EscapesHome)),
            ("/", Ok("/")),
            ("/etc/passwd", Ok("/etc/passwd")),
            ("//etc//passwd/", Ok("/etc/passwd")),
            ("/..", Err(PathError::EscapesHome)),
            ("/a/../..", Err(PathError::EscapesHome)),
            ("/a/../b", Ok("/b")),
            ("x/../../../y", Ok("/y")),
            ("x/../../../../y", Err(PathError::EscapesHome)),
            ("a\0b", Err(PathError::ContainsNul)),
            ("...", Ok("/docs/2026/...")),
            ("a b", Ok("/docs/2026/a b")),
            ("~", Ok("/docs/2026/~")),
            ("C:\\x", Ok("/docs/2026/C:\\x")),
        ];
        for (argument, expected) in rows {
            let got = resolve(&cwd, argument).map(|p| p.to_string());
            assert_eq!(
                got,
                expected.map(str::to_owned),
                "resolving {argument:?} in {cwd}"
            );
        }
    }

    #[test]
    fn limits_are_refused() {
        let long_name = "n".repeat(FTP_NAME_BYTES_MAX + 1);
        assert_eq!(
            resolve(&FtpPath::root(), &long_name),
            Err(PathError::NameTooLong)
        );
        let deep = "d/".repeat(FTP_PATH_DEPTH_MAX + 1);
        assert_eq!(resolve(&FtpPath::root(), &deep), Err(PathError::TooDeep));
        let long = "x".repeat(FTP_PATH_BYTES_MAX + 1);
        assert_eq!(
            resolve(&FtpPath::root(), &long),
            Err(PathError::PathTooLong)
        );
    }

    #[test]
    fn home_names() {
        assert_eq!(
            home_name("Alice@Example.TEST"),
            Some("alice@example.test".into())
        );
        for bad in ["", ".", "..", "a/b", "a\nb", "a\0b"] {
            assert_eq!(home_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parent_and_join() {
        assert_eq!(FtpPath::root().parent(), FtpPath::root());
        assert_eq!(path("/a/b").parent(), path("/a"));
        assert_eq!(path("/a").join("b"), Some(path("/a/b")));
        for bad in ["", ".", "..", "x/y", "n\0"] {
            assert_eq!(path("/a").join(bad), None, "{bad:?}");
        }
    }

    proptest! {
        /// Whatever a client sends, the result stays inside the home:
        /// no component is empty, `.`, `..`, or holds `/` or NUL.
        #[test]
        fn resolution_never_escapes(
            cwd in proptest::collection::vec("[a-z.]{1,4}", 0..4),
            argument in "[a-z./\\\\\0]{0,40}",
        ) {
            let cwd = cwd.iter().fold(FtpPath::root(), |p, name| p.join(name).unwrap_or(p));
            if let Ok(resolved) = resolve(&cwd, &argument) {
                for component in resolved.components() {
                    prop_assert!(!component.is_empty());
                    prop_assert!(component != "." && component != "..");
                    prop_assert!(!component.contains('/') && !component.contains('\0'));
                }
                // Resolving the display form from anywhere gives the same path.
                prop_assert_eq!(resolve(&path("/elsewhere"), &resolved.to_string()), Ok(resolved));
            }
        }
    }
}
