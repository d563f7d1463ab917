//! The high-water marks of one upstream: `DATA/news-upstream/NAME`, one
//! `group number` line per group, sorted, replaced atomically (written
//! beside, synced, renamed, the directory synced).

use crate::spool::{blocking, replace_file};
use postern_core::limits::STATE_FILE_BYTES_MAX;
use postern_core::nntp::GroupName;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The marks in `path`; none when the file does not exist yet. A line
/// that does not parse is skipped with a warning (its group starts over
/// as new, from its newest articles).
pub async fn load(path: &Path) -> io::Result<BTreeMap<GroupName, u32>> {
    let path = path.to_owned();
    blocking(move || {
        let mut text = String::new();
        match std::fs::File::open(&path) {
            Ok(file) => {
                file.take(STATE_FILE_BYTES_MAX as u64)
                    .read_to_string(&mut text)?;
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(error) => return Err(error),
        }
        Ok(parse(&text, &path))
    })
    .await
}

fn parse(text: &str, path: &Path) -> BTreeMap<GroupName, u32> {
    let mut marks = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split_ascii_whitespace();
        let parsed = match (words.next(), words.next(), words.next()) {
            (Some(group), Some(number), None) => {
                GroupName::new(group).ok().zip(number.parse::<u32>().ok())
            }
            _ => None,
        };
        match parsed {
            Some((group, number)) => {
                marks.insert(group, number);
            }
            None => tracing::warn!(
                "{}:{}: not a `group number` line; skipped",
                path.display(),
                n + 1
            ),
        }
    }
    marks
}

/// Replaces `path` with `marks`, creating its directory if needed.
pub async fn save(path: &Path, marks: &BTreeMap<GroupName, u32>) -> io::Result<()> {
    let text: String = marks
        .iter()
        .map(|(group, number)| format!("{group} {number}\n"))
        .collect();
    let path: PathBuf = path.to_owned();
    blocking(move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        replace_file(&path, text.as_bytes())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn marks_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("news-upstream").join("isp");
        assert!(load(&path).await.unwrap().is_empty(), "no file yet");
        let mut marks = BTreeMap::new();
        marks.insert(GroupName::new("misc.test").unwrap(), 42);
        marks.insert(GroupName::new("comp.lang.rust").unwrap(), 7);
        save(&path, &marks).await.unwrap();
        assert_eq!(load(&path).await.unwrap(), marks);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "comp.lang.rust 7\nmisc.test 42\n"
        );
    }

    #[test]
    fn bad_lines_are_skipped() {
        let marks = parse(
            "misc.test 3\nBad.Group 4\nx.y notanumber\na.b 1 2\n\nz.z 9\n",
            Path::new("f"),
        );
        let expected: Vec<(String, u32)> = vec![("misc.test".into(), 3), ("z.z".into(), 9)];
        let got: Vec<(String, u32)> = marks
            .into_iter()
            .map(|(g, n)| (g.as_str().to_owned(), n))
            .collect();
        assert_eq!(got, expected);
    }
}
