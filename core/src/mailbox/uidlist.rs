//! Dovecot's `dovecot-uidlist`: the UIDs of a Maildir's messages.
//!
//! Version 3, written by Dovecot 1.1 and later (`maildir-uidlist.c`):
//!
//! ```text
//! 3 V<uidvalidity> N<nextuid> G<mailbox guid> [<key><value> ...]
//! <uid> [<key><value> ...] :<file name stem>
//! ```
//!
//! Record keys Dovecot writes include `S` (file size), `W` (virtual size,
//! CRLF), `G` (message GUID), `P` (POP3 UIDL) and `O` (POP3 order); keys we
//! do not use are kept as found and written back. Version 1 (`1
//! <uidvalidity> <nextuid>` then `<uid> <file name>`, Courier's
//! `courierimapuiddb` too) is read; we always write version 3.

use super::{Uid, UidValidity};
use crate::limits::{MAILBOX_MESSAGES_MAX, UIDLIST_LINE_BYTES_MAX};
use std::fmt::{self, Write};

/// The whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uidlist {
    pub uid_validity: UidValidity,
    pub next_uid: u32,
    /// `G`: the mailbox GUID, 32 hex digits in Dovecot's files.
    pub guid: Option<String>,
    /// Header fields we do not use, kept in order.
    pub header_extra: Vec<(char, String)>,
    /// In strictly increasing UID order, each below `next_uid`.
    pub records: Vec<Record>,
}

/// One message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub uid: Uid,
    /// `S`: the file's size.
    pub size: Option<u64>,
    /// `W`: the size with CRLF line ends.
    pub vsize: Option<u64>,
    /// Fields we do not use, kept in order.
    pub extra: Vec<(char, String)>,
    /// The file name up to its `:` (see `maildir_name`).
    pub stem: String,
}

/// What is wrong with a damaged file, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UidlistError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for UidlistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dovecot-uidlist line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for UidlistError {}

fn error(line: usize, reason: impl Into<String>) -> UidlistError {
    UidlistError {
        line,
        reason: reason.into(),
    }
}

impl Uidlist {
    /// A new, empty list.
    pub fn new(uid_validity: UidValidity, guid: Option<String>) -> Self {
        Uidlist {
            uid_validity,
            next_uid: 1,
            guid,
            header_extra: Vec::new(),
            records: Vec::new(),
        }
    }

    pub fn parse(input: &[u8]) -> Result<Self, UidlistError> {
        let mut lines = input.split(|&b| b == b'\n').enumerate();
        let (_, header) = lines.next().ok_or_else(|| error(1, "empty file"))?;
        let header = line_text(1, header)?;
        let (version, rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut list = match version {
            "3" => parse_header_v3(rest)?,
            "1" => parse_header_v1(rest)?,
            "" => return Err(error(1, "empty file")),
            other => return Err(error(1, format!("unsupported version {other:?}"))),
        };
        for (index, line) in lines {
            let number = index + 1;
            if line.is_empty() {
                continue;
            }
            if list.records.len() == MAILBOX_MESSAGES_MAX {
                return Err(error(number, "more messages than a mailbox may hold"));
            }
            let text = line_text(number, line)?;
            let record = if version == "3" {
                parse_record_v3(number, text)?
            } else {
                parse_record_v1(number, text)?
            };
            if let Some(last) = list.records.last() {
                if record.uid <= last.uid {
                    return Err(error(number, format!("UID {} out of order", record.uid)));
                }
            }
            // Dovecot appends records without rewriting the header, so N
            // may lag behind: the next UID is above every record (as
            // Dovecot reads it).
            if record.uid.get() >= list.next_uid {
                list.next_uid = record.uid.get().checked_add(1).ok_or_else(|| {
                    error(number, format!("UID {} leaves no next UID", record.uid))
                })?;
            }
            list.records.push(record);
        }
        Ok(list)
    }

    /// The file's text, version 3.
    pub fn render(&self) -> String {
        let mut out = format!("3 V{} N{}", self.uid_validity, self.next_uid);
        if let Some(guid) = &self.guid {
            let _ = write!(out, " G{guid}");
        }
        for (key, value) in &self.header_extra {
            let _ = write!(out, " {key}{value}");
        }
        out.push('\n');
        for record in &self.records {
            let _ = write!(out, "{}", record.uid);
            if let Some(size) = record.size {
                let _ = write!(out, " S{size}");
            }
            if let Some(vsize) = record.vsize {
                let _ = write!(out, " W{vsize}");
            }
            for (key, value) in &record.extra {
                let _ = write!(out, " {key}{value}");
            }
            let _ = writeln!(out, " :{}", record.stem);
        }
        out
    }
}

fn line_text(number: usize, line: &[u8]) -> Result<&str, UidlistError> {
    if line.len() > UIDLIST_LINE_BYTES_MAX {
        return Err(error(
            number,
            format!("line longer than {UIDLIST_LINE_BYTES_MAX} octets"),
        ));
    }
    std::str::from_utf8(line).map_err(|_| error(number, "not UTF-8"))
}

fn number<T: std::str::FromStr>(line: usize, what: &str, text: &str) -> Result<T, UidlistError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(error(line, format!("{what} {text:?} is not a number")));
    }
    text.parse()
        .map_err(|_| error(line, format!("{what} {text:?} is out of range")))
}

/// Splits `KVALUE` fields; each key is one ASCII letter.
fn fields(line: usize, text: &str) -> Result<Vec<(char, String)>, UidlistError> {
    let mut out = Vec::new();
    for field in text.split(' ').filter(|f| !f.is_empty()) {
        let mut chars = field.chars();
        match chars.next() {
            Some(key) if key.is_ascii_alphabetic() => out.push((key, chars.as_str().to_owned())),
            _ => return Err(error(line, format!("bad field {field:?}"))),
        }
    }
    Ok(out)
}

fn parse_header_v3(rest: &str) -> Result<Uidlist, UidlistError> {
    let mut uid_validity = None;
    let mut next_uid = None;
    let mut guid = None;
    let mut header_extra = Vec::new();
    for (key, value) in fields(1, rest)? {
        match key {
            'V' => uid_validity = Some(UidValidity(number(1, "UIDVALIDITY", &value)?)),
            'N' => next_uid = Some(number(1, "next UID", &value)?),
            'G' => guid = Some(value),
            _ => header_extra.push((key, value)),
        }
    }
    let uid_validity = uid_validity.ok_or_else(|| error(1, "no UIDVALIDITY (V)"))?;
    let next_uid = next_uid.ok_or_else(|| error(1, "no next UID (N)"))?;
    check_header(uid_validity, next_uid)?;
    Ok(Uidlist {
        uid_validity,
        next_uid,
        guid,
        header_extra,
        records: Vec::new(),
    })
}

fn parse_header_v1(rest: &str) -> Result<Uidlist, UidlistError> {
    let (validity, next) = rest
        .split_once(' ')
        .ok_or_else(|| error(1, "version 1 header needs UIDVALIDITY and next UID"))?;
    let uid_validity = UidValidity(number(1, "UIDVALIDITY", validity)?);
    let next_uid = number(1, "next UID", next.trim_end())?;
    check_header(uid_validity, next_uid)?;
    Ok(Uidlist::new(uid_validity, None)).map(|mut list| {
        list.next_uid = next_uid;
        list
    })
}

fn check_header(uid_validity: UidValidity, next_uid: u32) -> Result<(), UidlistError> {
    if uid_validity.0 == 0 {
        return Err(error(1, "UIDVALIDITY 0 is not allowed"));
    }
    if next_uid == 0 {
        return Err(error(1, "next UID 0 is not allowed"));
    }
    Ok(())
}

fn parse_uid(line: usize, text: &str) -> Result<Uid, UidlistError> {
    Uid::new(number(line, "UID", text)?).ok_or_else(|| error(line, "UID 0 is not allowed"))
}

fn check_stem(line: usize, stem: &str) -> Result<(), UidlistError> {
    if stem.is_empty() || stem.contains(['/', '\0']) {
        return Err(error(line, format!("bad file name {stem:?}")));
    }
    Ok(())
}

fn parse_record_v3(line: usize, text: &str) -> Result<Record, UidlistError> {
    let (before, stem) = text
        .split_once(" :")
        .ok_or_else(|| error(line, "no ' :' before the file name"))?;
    // A stem holds no ':'; should a file name with flags appear, keep
    // only the part a lookup keys on.
    let stem = stem.split(':').next().unwrap_or(stem);
    check_stem(line, stem)?;
    let (uid, rest) = before.split_once(' ').unwrap_or((before, ""));
    let mut record = Record {
        uid: parse_uid(line, uid)?,
        size: None,
        vsize: None,
        extra: Vec::new(),
        stem: stem.to_owned(),
    };
    for (key, value) in fields(line, rest)? {
        match key {
            'S' => record.size = Some(number(line, "size", &value)?),
            'W' => record.vsize = Some(number(line, "virtual size", &value)?),
            _ => record.extra.push((key, value)),
        }
    }
    Ok(record)
}

fn parse_record_v1(line: usize, text: &str) -> Result<Record, UidlistError> {
    let (uid, name) = text
        .split_once(' ')
        .ok_or_else(|| error(line, "version 1 line needs a UID and a file name"))?;
    let stem = name.split(':').next().unwrap_or(name);
    check_stem(line, stem)?;
    Ok(Record {
        uid: parse_uid(line, uid)?,
        size: None,
        vsize: None,
        extra: Vec::new(),
        stem: stem.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: u32) -> Uid {
        Uid::new(n).unwrap()
    }

    #[test]
    fn reads_what_dovecot_2_3_writes() {
        // As dovecot 2.3.19 leaves it after delivery, a POP3 session and a
        // sync (GUIDs in header and records, POP3 order).
        let text = b"3 V1764460000 N4 G0f4c1a2b3c4d5e6f7081920a0b0c0d0e\n\
1 G0f4c1a2b3c4d5e6f7081920a0b0c0d0f W321 S314 :1764460001.M5P6.mx,S=314,W=321\n\
3 O2 :1764460002.M7P8.mx,S=10,W=11\n";
        let list = Uidlist::parse(text).unwrap();
        assert_eq!(list.uid_validity, UidValidity(1_764_460_000));
        assert_eq!(list.next_uid, 4);
        assert_eq!(
            list.guid.as_deref(),
            Some("0f4c1a2b3c4d5e6f7081920a0b0c0d0e")
        );
        assert_eq!(list.records.len(), 2);
        let first = &list.records[0];
        assert_eq!(first.uid, uid(1));
        assert_eq!((first.size, first.vsize), (Some(314), Some(321)));
        assert_eq!(
            first.extra,
            vec![('G', "0f4c1a2b3c4d5e6f7081920a0b0c0d0f".to_owned())]
        );
        assert_eq!(first.stem, "1764460001.M5P6.mx,S=314,W=321");
        assert_eq!(list.records[1].extra, vec![('O', "2".to_owned())]);
        assert_eq!(Uidlist::parse(list.render().as_bytes()), Ok(list));
    }

    #[test]
    fn records_dovecot_appended_after_the_header_raise_the_next_uid() {
        // doveadm save appends "7 :..." and leaves N7 in the header.
        let list = Uidlist::parse(b"3 V9 N7 Gab\n6 :x\n7 :1796016956.M4P2.vm,S=29,W=32\n").unwrap();
        assert_eq!(list.next_uid, 8);
        assert_eq!(list.records[1].uid, uid(7));
    }

    #[test]
    fn reads_version_1() {
        let list = Uidlist::parse(b"1 1000 3\n1 a.b.c:2,S\n2 d.e.f\n").unwrap();
        assert_eq!(list.uid_validity, UidValidity(1000));
        assert_eq!(list.next_uid, 3);
        assert_eq!(list.records[0].stem, "a.b.c");
        assert_eq!(list.records[1].uid, uid(2));
    }

    #[test]
    fn renders_version_3() {
        let mut list = Uidlist::new(UidValidity(7), Some("ab".into()));
        list.next_uid = 3;
        list.records.push(Record {
            uid: uid(2),
            size: Some(5),
            vsize: Some(6),
            extra: vec![],
            stem: "x.y,S=5,W=6".into(),
        });
        assert_eq!(list.render(), "3 V7 N3 Gab\n2 S5 W6 :x.y,S=5,W=6\n");
    }

    #[test]
    fn damaged_files_are_refused_with_line_and_reason() {
        let rows: &[(&[u8], usize, &str)] = &[
            (b"", 1, "empty file"),
            (b"2 V1 N1\n", 1, "unsupported version"),
            (b"3 N1\n", 1, "no UIDVALIDITY"),
            (b"3 V1\n", 1, "no next UID"),
            (b"3 V0 N1\n", 1, "UIDVALIDITY 0"),
            (b"3 Vx N1\n", 1, "not a number"),
            (b"3 V1 N99999999999\n", 1, "out of range"),
            (b"3 V1 N5 ?\n", 1, "bad field"),
            (b"3 V1 N5\n1 a\n", 2, "no ' :'"),
            (b"3 V1 N5\n0 :a\n", 2, "UID 0"),
            (b"3 V1 N5\n2 :a\n1 :b\n", 3, "out of order"),
            (b"3 V1 N5\n2 :a\n2 :b\n", 3, "out of order"),
            (b"3 V1 N5\n4294967295 :a\n", 2, "leaves no next UID"),
            (b"3 V1 N5\n1 Sx :a\n", 2, "not a number"),
            (b"3 V1 N5\n1 :\n", 2, "bad file name"),
            (b"3 V1 N5\n1 :a/b\n", 2, "bad file name"),
            (b"3 V1 N5\n1 :\xff\n", 2, "not UTF-8"),
            (b"1 5\n", 1, "version 1 header"),
        ];
        for &(input, line, reason) in rows {
            let got = Uidlist::parse(input).unwrap_err();
            assert_eq!(got.line, line, "{:?}", String::from_utf8_lossy(input));
            assert!(got.reason.contains(reason), "{got} for {input:?}");
        }
        let mut long = b"3 V1 N5\n1 :".to_vec();
        long.extend(std::iter::repeat_n(b'x', UIDLIST_LINE_BYTES_MAX));
        assert!(Uidlist::parse(&long).unwrap_err().reason.contains("longer"));
    }
}
