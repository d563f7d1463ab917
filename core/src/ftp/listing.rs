//! What LIST, NLST, MLSD, MLST, SIZE and MDTM show of files: rendered
//! here from the entries the runtime reads, so the format is tested
//! without a disk.

use crate::time::UnixTime;

/// What a directory entry is. Anything else (a symbolic link, a device)
/// is left out of listings by the runtime and refused by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
}

/// One file or directory as the runtime saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub kind: FileKind,
    pub size: u64,
    pub modified: UnixTime,
}

/// A directory's entries (or one file's), and the wall-clock time they
/// were read at, which LIST needs to choose its date format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub entries: Vec<FileInfo>,
    pub now: UnixTime,
    /// Entries left out beyond
    /// [`FTP_LISTING_ENTRIES_MAX`](crate::limits::FTP_LISTING_ENTRIES_MAX).
    pub left_out: usize,
}

/// Which listing a data connection carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListingFormat {
    /// `ls -l` lines (RFC 959 leaves the format open; this is what
    /// clients parse).
    List,
    /// Names only (RFC 959 4.1.3).
    Nlst,
    /// RFC 3659 7: facts and a name per line.
    Mlsd,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Six months, the age past which `ls` shows the year instead of the time.
const RECENT_SECONDS: i64 = 182 * 24 * 60 * 60;

fn date(at: UnixTime) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(at.0).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3659 2.3: `YYYYMMDDHHMMSS`, UTC (MDTM and the `modify` fact).
pub fn time_value(at: UnixTime) -> String {
    let d = date(at);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// One `ls -l` line, without its CRLF.
pub fn list_line(entry: &FileInfo, now: UnixTime) -> String {
    let d = date(entry.modified);
    let month = MONTHS[usize::from(u8::from(d.month())) - 1];
    let age = now.0 - entry.modified.0;
    let when = if (0..RECENT_SECONDS).contains(&age) {
        format!("{:02}:{:02}", d.hour(), d.minute())
    } else {
        format!("{:>5}", d.year())
    };
    let (mode, links) = match entry.kind {
        FileKind::Directory => ("drwxr-xr-x", 2),
        FileKind::File => ("-rw-r--r--", 1),
    };
    format!(
        "{mode} {links:>3} ftp      ftp      {:>12} {month} {:>2} {when} {}",
        entry.size,
        d.day(),
        entry.name
    )
}

/// RFC 3659 7.2: the facts of an entry and its name, without CRLF. Every
/// entry is the user's own, so all operations are permitted.
pub fn mlsx_line(entry: &FileInfo) -> String {
    let (kind, perm) = match entry.kind {
        FileKind::Directory => ("dir", "cdeflmp"),
        FileKind::File => ("file", "adfrw"),
    };
    format!(
        "type={kind};size={};modify={};perm={perm}; {}",
        entry.size,
        time_value(entry.modified),
        entry.name
    )
}

/// The bytes a listing sends over the data connection: CRLF lines.
pub fn render(listing: &Listing, format: ListingFormat) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in &listing.entries {
        let line = match format {
            ListingFormat::List => list_line(entry, listing.now),
            ListingFormat::Nlst => entry.name.clone(),
            ListingFormat::Mlsd => mlsx_line(entry),
        };
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-30 08:00:00 UTC.
    const NOW: UnixTime = UnixTime(1_796_025_600);

    fn entries() -> Listing {
        Listing {
            entries: vec![
                FileInfo {
                    name: "notes.txt".into(),
                    kind: FileKind::File,
                    size: 1234,
                    modified: UnixTime(NOW.0 - 3600),
                },
                FileInfo {
                    name: "old".into(),
                    kind: FileKind::Directory,
                    size: 4096,
                    modified: UnixTime(1_600_000_000),
                },
            ],
            now: NOW,
            left_out: 0,
        }
    }

    #[test]
    fn formats() {
        let listing = entries();
        assert_eq!(
            String::from_utf8(render(&listing, ListingFormat::List)).unwrap(),
            "-rw-r--r--   1 ftp      ftp              1234 Nov 30 07:00 notes.txt\r\n\
             drwxr-xr-x   2 ftp      ftp              4096 Sep 13  2020 old\r\n"
        );
        assert_eq!(
            String::from_utf8(render(&listing, ListingFormat::Nlst)).unwrap(),
            "notes.txt\r\nold\r\n"
        );
        assert_eq!(
            String::from_utf8(render(&listing, ListingFormat::Mlsd)).unwrap(),
            "type=file;size=1234;modify=20261130070000;perm=adfrw; notes.txt\r\n\
             type=dir;size=4096;modify=20200913122640;perm=cdeflmp; old\r\n"
        );
        assert_eq!(time_value(UnixTime(0)), "19700101000000");
    }
}
