//! `postern-modseq`: a folder's MODSEQs (RFC 7162) kept beside Dovecot's
//! files, so that HIGHESTMODSEQ never goes back across restarts and
//! QRESYNC can name what was expunged.
//!
//! ```text
//! postern-modseq 1 V1796016948 N8 H57 C40
//! 1 44 - FS $Forwarded
//! 7 57 45 -
//! X 3 41
//! ```
//!
//! The header holds the folder's UIDVALIDITY (`V`), UIDNEXT (`N`),
//! highest MODSEQ (`H`) and the oldest MODSEQ whose changes are still
//! known (`C`). Then one line a message, in UID order: UID, the MODSEQ of
//! its last change, the MODSEQ it was appended at (`-` when that is older
//! than `C`), its flags as Maildir letters (`-` for none) and its
//! keywords. Then one line an expunged UID (a tombstone), `X UID MODSEQ`,
//! in MODSEQ order: at most [`MAILBOX_CHANGES_KEPT_MAX`] changes are
//! kept, so older tombstones are dropped and `C` moves on. The flags are
//! there so that a change made while no Postern watched (Dovecot, a
//! rename by any reader) is seen at the next sync and gets a MODSEQ.
//!
//! Pure codec and the model's side ([`MailboxState::durable`],
//! [`MailboxState::resume`]); the runtime reads and writes the file.
//!
//! [`MAILBOX_CHANGES_KEPT_MAX`]: crate::limits::MAILBOX_CHANGES_KEPT_MAX

use super::maildir_name::flag_letter;
use super::{Flag, Flags, Keywords, ModSeq, Uid, UidValidity, keyword};
use crate::limits::{MAILBOX_CHANGES_KEPT_MAX, MAILBOX_MESSAGES_MAX, UIDLIST_LINE_BYTES_MAX};
use std::fmt::{self, Write};

/// The file's name in a folder's directory.
pub const MODSEQ_FILE: &str = "postern-modseq";

const MAGIC: &str = "postern-modseq";
const VERSION: &str = "1";

/// What `postern-modseq` holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModSeqFile {
    pub uid_validity: UidValidity,
    pub uid_next: u32,
    pub highest_modseq: ModSeq,
    /// Changes from this MODSEQ on are known (tombstones and appends).
    pub changes_from: ModSeq,
    /// In UID order.
    pub messages: Vec<ModSeqRecord>,
    /// Expunged UIDs with the MODSEQ of their expunge, in MODSEQ order.
    pub expunged: Vec<(Uid, ModSeq)>,
}

/// One message's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModSeqRecord {
    pub uid: Uid,
    /// The MODSEQ of its last change.
    pub modseq: ModSeq,
    /// The MODSEQ it was appended at, when not older than `changes_from`.
    pub appended: Option<ModSeq>,
    pub flags: Flags,
    pub keywords: Keywords,
}

/// Why the file cannot be read: the line and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModSeqFileError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ModSeqFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ModSeqFileError {}

impl ModSeqFile {
    pub fn render(&self) -> String {
        let mut out = format!(
            "{MAGIC} {VERSION} V{} N{} H{} C{}\n",
            self.uid_validity, self.uid_next, self.highest_modseq, self.changes_from
        );
        for record in &self.messages {
            let appended = record
                .appended
                .map_or_else(|| "-".to_owned(), |m| m.to_string());
            let mut letters: Vec<char> = record.flags.iter().map(flag_letter).collect();
            letters.sort_unstable();
            let letters: String = letters.into_iter().collect();
            let letters = if letters.is_empty() { "-" } else { &letters };
            let _ = write!(out, "{} {} {appended} {letters}", record.uid, record.modseq);
            for word in &record.keywords {
                let _ = write!(out, " {word}");
            }
            out.push('\n');
        }
        for (uid, modseq) in &self.expunged {
            let _ = writeln!(out, "X {uid} {modseq}");
        }
        out
    }

    /// Reads the file; every line is checked, and the first wrong one is
    /// the error. Bounded: [`UIDLIST_LINE_BYTES_MAX`] a line,
    /// [`MAILBOX_MESSAGES_MAX`] messages and [`MAILBOX_CHANGES_KEPT_MAX`]
    /// tombstones.
    pub fn parse(bytes: &[u8]) -> Result<ModSeqFile, ModSeqFileError> {
        let text = std::str::from_utf8(bytes).map_err(|e| ModSeqFileError {
            line: 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            reason: "not UTF-8".into(),
        })?;
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let (_, header) = lines.next().ok_or_else(|| error(1, "empty file"))?;
        let mut file = parse_header(header)?;
        for (number, line) in lines {
            if line.len() > UIDLIST_LINE_BYTES_MAX {
                return Err(error(number, "line too long"));
            }
            if let Some(rest) = line.strip_prefix("X ") {
                let mut fields = rest.split(' ');
                let uid = uid_field(fields.next(), number)?;
                let modseq = number_field(fields.next(), number, "MODSEQ")?;
                if fields.next().is_some() {
                    return Err(error(number, "extra fields after a tombstone"));
                }
                if file.expunged.last().is_some_and(|&(_, m)| m.0 > modseq) {
                    return Err(error(number, "tombstones out of MODSEQ order"));
                }
                if file.expunged.len() >= MAILBOX_CHANGES_KEPT_MAX {
                    return Err(error(number, "too many tombstones"));
                }
                file.expunged.push((uid, ModSeq(modseq)));
                continue;
            }
            if !file.expunged.is_empty() {
                return Err(error(number, "a message after the tombstones"));
            }
            let record = parse_record(line, number)?;
            if file.messages.last().is_some_and(|r| r.uid >= record.uid) {
                return Err(error(number, "UIDs out of order"));
            }
            if file.messages.len() >= MAILBOX_MESSAGES_MAX {
                return Err(error(number, "too many messages"));
            }
            file.messages.push(record);
        }
        let highest = file.highest_modseq;
        let above = file.messages.iter().map(|r| r.modseq.0);
        let above = above.chain(file.expunged.iter().map(|&(_, m)| m.0));
        if above.clone().any(|m| m > highest.0) {
            return Err(error(1, "a MODSEQ above the highest (H)"));
        }
        Ok(file)
    }
}

fn error(line: usize, reason: impl Into<String>) -> ModSeqFileError {
    ModSeqFileError {
        line,
        reason: reason.into(),
    }
}

fn parse_header(header: &str) -> Result<ModSeqFile, ModSeqFileError> {
    let mut fields = header.split(' ');
    if fields.next() != Some(MAGIC) || fields.next() != Some(VERSION) {
        return Err(error(1, format!("expected \"{MAGIC} {VERSION} ...\"")));
    }
    let (mut v, mut n, mut h, mut c) = (None, None, None, None);
    for field in fields {
        let (key, value) = field.split_at(field.len().min(1));
        let value: u64 = value
            .parse()
            .map_err(|_| error(1, format!("header field {field:?} is not a number")))?;
        match key {
            "V" => v = Some(value),
            "N" => n = Some(value),
            "H" => h = Some(value),
            "C" => c = Some(value),
            _ => return Err(error(1, format!("unknown header field {field:?}"))),
        }
    }
    let (Some(v), Some(n), Some(h), Some(c)) = (v, n, h, c) else {
        return Err(error(1, "the header needs V, N, H and C"));
    };
    let (Ok(v), Ok(n)) = (u32::try_from(v), u32::try_from(n)) else {
        return Err(error(1, "V or N above 32 bits"));
    };
    Ok(ModSeqFile {
        uid_validity: UidValidity(v),
        uid_next: n,
        highest_modseq: ModSeq(h),
        changes_from: ModSeq(c),
        messages: Vec::new(),
        expunged: Vec::new(),
    })
}

fn parse_record(line: &str, number: usize) -> Result<ModSeqRecord, ModSeqFileError> {
    let mut fields = line.split(' ');
    let uid = uid_field(fields.next(), number)?;
    let modseq = ModSeq(number_field(fields.next(), number, "MODSEQ")?);
    let appended = match fields.next() {
        Some("-") => None,
        other => Some(ModSeq(number_field(other, number, "append MODSEQ")?)),
    };
    let letters = fields
        .next()
        .ok_or_else(|| error(number, "no flags field"))?;
    let mut flags = Flags::EMPTY;
    if letters != "-" {
        for letter in letters.chars() {
            let flag = Flag::ALL
                .into_iter()
                .find(|&f| flag_letter(f) == letter)
                .ok_or_else(|| error(number, format!("unknown flag letter {letter:?}")))?;
            flags.insert(flag);
        }
    }
    let mut keywords = Keywords::new();
    for word in fields {
        keyword(word).map_err(|e| error(number, e.to_string()))?;
        keywords.insert(word.to_owned());
    }
    Ok(ModSeqRecord {
        uid,
        modseq,
        appended,
        flags,
        keywords,
    })
}

fn number_field(field: Option<&str>, line: usize, what: &str) -> Result<u64, ModSeqFileError> {
    let field = field.ok_or_else(|| error(line, format!("no {what}")))?;
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(error(line, format!("{what} {field:?} is not a number")));
    }
    field
        .parse()
        .map_err(|_| error(line, format!("{what} {field:?} is too large")))
}

fn uid_field(field: Option<&str>, line: usize) -> Result<Uid, ModSeqFileError> {
    let value = number_field(field, line, "UID")?;
    u32::try_from(value)
        .ok()
        .and_then(Uid::new)
        .ok_or_else(|| error(line, format!("UID {value} is not a UID")))
}
