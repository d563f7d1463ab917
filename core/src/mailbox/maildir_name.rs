//! Maildir file names, as Dovecot writes and reads them.
//!
//! `STEM[:2,INFO]` where the stem is `UNIQUE[,S=<file size>][,W=<virtual
//! size>][,other fields]` and INFO holds one letter per flag, in ASCII
//! order: `D` Draft, `F` Flagged, `P` Passed, `R` Replied (\Answered), `S`
//! Seen, `T` Trashed (\Deleted), and `a` to `z` for the keywords at index
//! 0 to 25 of `dovecot-keywords` (maildir(5); Dovecot's maildir docs). The
//! stem never changes while the message lives; `dovecot-uidlist` keys on
//! it. `W=` is the size with CRLF line ends, what clients are told.

use super::{Flag, Flags};
use crate::envelope::{LocalMailbox, QueueId};
use crate::limits::{MAILDIR_FILE_NAME_BYTES_MAX, MAILDIR_KEYWORDS_MAX};
use std::collections::BTreeSet;
use std::fmt;

/// A parsed Maildir file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaildirName {
    /// Everything before `:`: the unique part and its `,X=` fields.
    stem: String,
    /// `S=`: the file's size.
    pub size: Option<u64>,
    /// `W=`: the size with CRLF line ends.
    pub vsize: Option<u64>,
    /// The `:2,` part, if the name has one (files in `new/` have none).
    pub info: Option<Info>,
}

/// The flags of a `:2,` suffix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    pub flags: Flags,
    /// `P`: resent or forwarded; no IMAP flag, kept as found.
    pub passed: bool,
    /// Keyword indexes (0 = `a`) into `dovecot-keywords`.
    pub keywords: BTreeSet<u8>,
    /// Other letters another program set; kept, in ASCII order.
    pub other: BTreeSet<char>,
}

/// Why a file name is not a Maildir name we can use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong {
        len: usize,
    },
    /// `/` or NUL: never part of a file name.
    ForbiddenCharacter,
    /// `,S=` or `,W=` not followed by a decimal number.
    BadSize {
        field: String,
    },
    /// A `:` part that is neither `:2,...` nor `:1,...`.
    UnknownInfo {
        info: String,
    },
    /// A flag letter that is not printable ASCII.
    BadFlagLetter,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "empty Maildir file name"),
            NameError::TooLong { len } => write!(
                f,
                "Maildir file name of {len} octets, above {MAILDIR_FILE_NAME_BYTES_MAX}"
            ),
            NameError::ForbiddenCharacter => write!(f, "'/' or NUL in a Maildir file name"),
            NameError::BadSize { field } => write!(f, "size field {field:?} is not a number"),
            NameError::UnknownInfo { info } => {
                write!(f, "unknown Maildir info {info:?} (expected \":2,FLAGS\")")
            }
            NameError::BadFlagLetter => write!(f, "a Maildir flag letter is not printable ASCII"),
        }
    }
}

impl std::error::Error for NameError {}

impl MaildirName {
    /// A name for a new message: `UNIQUE,S=<size>,W=<vsize>`. `unique`
    /// must hold no `,`, `:` or `/` (maildir(5)).
    pub fn new(unique: &str, size: u64, vsize: u64) -> Self {
        debug_assert!(!unique.contains([',', ':', '/']), "bad unique {unique:?}");
        MaildirName {
            stem: format!("{unique},S={size},W={vsize}"),
            size: Some(size),
            vsize: Some(vsize),
            info: None,
        }
    }

    pub fn parse(name: &str) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > MAILDIR_FILE_NAME_BYTES_MAX {
            return Err(NameError::TooLong { len: name.len() });
        }
        if name.contains(['/', '\0']) {
            return Err(NameError::ForbiddenCharacter);
        }
        let (stem, info) = match name.split_once(':') {
            Some((stem, info)) => (stem, Some(parse_info(info)?)),
            None => (name, None),
        };
        if stem.is_empty() {
            return Err(NameError::Empty);
        }
        let mut size = None;
        let mut vsize = None;
        for field in stem.split(',').skip(1) {
            if let Some(value) = field.strip_prefix("S=") {
                size = Some(parse_size(field, value)?);
            } else if let Some(value) = field.strip_prefix("W=") {
                vsize = Some(parse_size(field, value)?);
            }
        }
        Ok(MaildirName {
            stem: stem.to_owned(),
            size,
            vsize,
            info,
        })
    }

    /// The part before `:`, which stays the same when flags change.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// The same message with these flags: `STEM:2,<letters>`.
    pub fn with_info(&self, info: Info) -> MaildirName {
        MaildirName {
            info: Some(info),
            ..self.clone()
        }
    }
}

impl fmt::Display for MaildirName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stem)?;
        if let Some(info) = &self.info {
            write!(f, ":2,{info}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Info {
    /// The letters in ASCII order, as Dovecot writes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut letters: BTreeSet<char> = self.other.clone();
        for flag in self.flags.iter() {
            letters.insert(flag_letter(flag));
        }
        if self.passed {
            letters.insert('P');
        }
        for &index in &self.keywords {
            letters.insert(char::from(b'a' + index));
        }
        letters.into_iter().try_for_each(|c| write!(f, "{c}"))
    }
}

/// Dovecot's letter for a system flag.
pub fn flag_letter(flag: Flag) -> char {
    match flag {
        Flag::Draft => 'D',
        Flag::Flagged => 'F',
        Flag::Answered => 'R',
        Flag::Seen => 'S',
        Flag::Deleted => 'T',
    }
}

fn parse_size(field: &str, value: &str) -> Result<u64, NameError> {
    let bad = || NameError::BadSize {
        field: field.to_owned(),
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value.parse().map_err(|_| bad())
}

fn parse_info(info: &str) -> Result<Info, NameError> {
    // maildir(5): ":1," is experimental semantics we do not interpret;
    // keep the message, with no flags.
    if info.starts_with("1,") {
        return Ok(Info::default());
    }
    let Some(letters) = info.strip_prefix("2,") else {
        return Err(NameError::UnknownInfo {
            info: info.to_owned(),
        });
    };
    let mut parsed = Info::default();
    for c in letters.chars() {
        match c {
            'D' => parsed.flags.insert(Flag::Draft),
            'F' => parsed.flags.insert(Flag::Flagged),
            'R' => parsed.flags.insert(Flag::Answered),
            'S' => parsed.flags.insert(Flag::Seen),
            'T' => parsed.flags.insert(Flag::Deleted),
            'P' => parsed.passed = true,
            'a'..='z' => {
                let index = c as u8 - b'a';
                debug_assert!(usize::from(index) < MAILDIR_KEYWORDS_MAX);
                parsed.keywords.insert(index);
            }
            c if c.is_ascii_graphic() && c != ',' => {
                parsed.other.insert(c);
            }
            _ => return Err(NameError::BadFlagLetter),
        }
    }
    Ok(parsed)
}

/// The unique part of the name a message's copy for `mailbox` gets on
/// delivery: `SECONDS.M<micros>Q<queue ID>R<mailbox hash>.HOST`, the time
/// being `arrived` (microseconds since the Unix epoch; the stem adds the
/// sizes, which the same content always has). It is the same at every try
/// of that delivery, so a delivery repeated after a crash finds the copy
/// it made before (in `new/`, or moved to `cur/` by a reader) and makes no
/// second one. `host` must already be safe for a file name. The hash is
/// FNV-1a over the mailbox's `user@domain`: it is part of names on disk,
/// so it must never change.
///
/// The microseconds come first, six digits wide, because Dovecot numbers
/// new files in [`arrival_order`], which reads them from the first `M` of
/// the unique part: a queue ID's own digits may hold an `M` (`…PM6YY…`),
/// and without the microseconds ahead of it Dovecot numbered three
/// messages of one second out of their order. Given the time in the queue
/// ID ([`QueueId::micros`]), the names of one node's deliveries sort in
/// arrival order, both as text and as Dovecot sorts them.
pub fn delivery_unique(
    arrived: u64,
    queue_id: QueueId,
    mailbox: &LocalMailbox,
    host: &str,
) -> String {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = mailbox.to_string().bytes().fold(FNV_OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    });
    format!(
        "{}.M{:06}Q{queue_id}R{hash:016x}.{host}",
        arrived / 1_000_000,
        arrived % 1_000_000
    )
}

/// The order in which new files get their UIDs, Dovecot's
/// (`maildir_filename_sort_cmp`): by the seconds the name starts with,
/// then by the microseconds after the first `M` of the unique part, then
/// by the name. Dovecot compares the microseconds only when both names
/// have an `M`; here a name without one counts as microsecond 0, so that
/// the order is total (a sort needs that), and it is Dovecot's for any two
/// names that both have an `M` or both lack one.
pub fn arrival_order(a: &str, b: &str) -> std::cmp::Ordering {
    arrival_key(a).cmp(&arrival_key(b))
}

/// `(seconds, microseconds, the rest of the name up to the flags)`.
fn arrival_key(name: &str) -> (u64, u64, &str) {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    let seconds = name[..digits].bytes().fold(0u64, |n, digit| {
        n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
    });
    let rest = &name[digits..];
    let rest = rest.split(':').next().unwrap_or(rest);
    let micros = rest
        .strip_prefix('.')
        .map(|unique| unique.split('.').next().unwrap_or(unique))
        .and_then(|unique| unique.split_once('M'))
        .map_or(0, |(_, after)| {
            after
                .bytes()
                .take_while(u8::is_ascii_digit)
                .fold(0u64, |n, digit| {
                    n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
                })
        });
    (seconds, micros, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(letters: &str) -> Info {
        parse_info(&format!("2,{letters}")).unwrap()
    }

    fn mailbox(user: &str) -> LocalMailbox {
        LocalMailbox {
            domain: "example.test".into(),
            user: user.into(),
        }
    }

    /// A queue ID made at `micros` by node 1.
    fn id_at(micros: u64) -> QueueId {
        QueueId::next(QueueId(0), micros, 1)
    }

    /// The name of `id`'s copy for `user`, at the time in the ID.
    fn unique(id: QueueId, user: &str) -> String {
        delivery_unique(id.micros(), id, &mailbox(user), "mx.test")
    }

    #[test]
    fn a_delivery_name_is_the_same_at_every_try_and_differs_between_copies() {
        let id = id_at(1_795_000_000_000_042);
        let stem = unique(id, "alice");
        // Fixed: names on disk depend on it, across versions.
        assert_eq!(
            stem,
            "1795000000.M000042Q1K0HC0NYC1A01Raefb1876ddbddfdd.mx.test"
        );
        assert_eq!(unique(id, "alice"), stem);
        for other in [
            unique(id, "bob"),
            unique(id_at(1_795_000_000_000_043), "alice"),
            unique(QueueId(id.0 + 1), "alice"),
            delivery_unique(0, id, &mailbox("alice"), "mx.test"),
        ] {
            assert_ne!(other, stem);
        }
        let name = MaildirName::new(&stem, 10, 12).to_string();
        assert_eq!(MaildirName::parse(&name).unwrap().size, Some(10));
    }

    /// Dovecot numbers new files in [`arrival_order`]; the names of one
    /// mailbox's deliveries must come out in the order their messages
    /// arrived (their queue IDs' order), whatever letters the IDs hold.
    #[test]
    fn delivery_names_come_in_arrival_order_as_dovecot_sorts_them() {
        // Three IDs of one second from a run where Dovecot numbered the
        // third message second: `…PM0…`, `…PM6…` and `…PMC…`.
        let seen: Vec<QueueId> = ["1K1K5PM0DPV00", "1K1K5PM6YYX00", "1K1K5PMC6H300"]
            .iter()
            .map(|text| text.parse().unwrap())
            .collect();
        let old_names: Vec<String> = seen
            .iter()
            .map(|id| format!("1796161451.Q{id}Raefb1876ddbddfdd.mx.test"))
            .collect();
        let mut sorted = old_names.clone();
        sorted.sort_by(|a, b| arrival_order(a, b));
        assert_eq!(
            sorted,
            [
                old_names[0].clone(),
                old_names[2].clone(),
                old_names[1].clone()
            ],
            "the order Dovecot gave the names without microseconds"
        );

        // Every 37 µs across two seconds, by two nodes.
        let mut ids: Vec<QueueId> = (0..54_000u64)
            .map(|i| QueueId::next(QueueId(0), 1_796_161_451_000_000 + i * 37, (i % 2) as u16))
            .collect();
        ids.extend(&seen);
        ids.sort();
        let names: Vec<String> = ids.iter().map(|&id| unique(id, "alice")).collect();
        let mut by_arrival = names.clone();
        by_arrival.sort_by(|a, b| arrival_order(a, b));
        assert!(by_arrival == names, "delivery names out of arrival order");
        let mut by_text = names.clone();
        by_text.sort();
        assert!(by_text == names, "delivery names sort as text the same way");
    }

    #[test]
    fn arrival_order_is_dovecots() {
        let in_order = [
            "1796161450.M999999P7.host",
            // Seconds first; the microseconds are numbers, not text.
            "1796161451.M99P7.host",
            "1796161451.M100P7.host",
            // Then the name; flags play no part.
            "1796161451.M100P8.host:2,S",
            "1796161451.M100P9.host,S=10",
            // An `M` without digits, or no `M`, is microsecond 0.
            "1796161452.MxP7.host",
            "1796161452.P7.host",
            "1796161452.P7M5.host",
            // Only the unique part counts: the `M` in the host does not.
            "1796161453.P7.hostM9",
            "1796161453.Q1.host",
            // A name that does not start with a time sorts first.
            "courier.M5.host",
        ];
        let mut sorted = in_order.to_vec();
        sorted.reverse();
        sorted.sort_by(|a, b| arrival_order(a, b));
        let mut expected = in_order.to_vec();
        expected.rotate_right(1);
        assert_eq!(sorted, expected);
    }

    #[test]
    fn names_parse_as_dovecot_writes_them() {
        type Row = (
            &'static str,
            &'static str,
            Option<u64>,
            Option<u64>,
            Option<&'static str>,
        );
        let rows: &[Row] = &[
            ("1.M1P2.host", "1.M1P2.host", None, None, None),
            ("1.M1P2.host,S=10", "1.M1P2.host,S=10", Some(10), None, None),
            (
                "1.M1P2.host,S=10,W=12:2,",
                "1.M1P2.host,S=10,W=12",
                Some(10),
                Some(12),
                Some(""),
            ),
            (
                "1.M1P2.host,W=12,S=10:2,FS",
                "1.M1P2.host,W=12,S=10",
                Some(10),
                Some(12),
                Some("FS"),
            ),
            (
                "1.x,S=5,X=y:2,DFPRSTab",
                "1.x,S=5,X=y",
                Some(5),
                None,
                Some("DFPRSTab"),
            ),
        ];
        for &(name, stem, size, vsize, letters) in rows {
            let parsed = MaildirName::parse(name).unwrap();
            assert_eq!(parsed.stem(), stem, "{name}");
            assert_eq!(parsed.size, size, "{name}");
            assert_eq!(parsed.vsize, vsize, "{name}");
            assert_eq!(parsed.info, letters.map(info), "{name}");
            assert_eq!(parsed.to_string(), name);
        }
    }

    #[test]
    fn letters_map_to_flags_and_keywords() {
        let parsed = info("STRaz");
        assert_eq!(
            parsed.flags,
            Flags::EMPTY
                .with(Flag::Seen)
                .with(Flag::Deleted)
                .with(Flag::Answered)
        );
        assert_eq!(parsed.keywords, BTreeSet::from([0, 25]));
        assert!(!parsed.passed);
    }

    #[test]
    fn info_renders_in_ascii_order() {
        let name = MaildirName::new("1.a.h", 3, 4).with_info(info("aTSF"));
        assert_eq!(name.to_string(), "1.a.h,S=3,W=4:2,FSTa");
    }

    #[test]
    fn damaged_names_are_refused_with_a_reason() {
        let rows: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            (":2,S", NameError::Empty),
            ("a/b", NameError::ForbiddenCharacter),
            (
                "a,S=x",
                NameError::BadSize {
                    field: "S=x".into(),
                },
            ),
            ("a,W=", NameError::BadSize { field: "W=".into() }),
            (
                "a,S=99999999999999999999999",
                NameError::BadSize {
                    field: "S=99999999999999999999999".into(),
                },
            ),
            ("a:3,S", NameError::UnknownInfo { info: "3,S".into() }),
            ("a:2,S\u{e9}", NameError::BadFlagLetter),
        ];
        for (name, error) in rows {
            assert_eq!(MaildirName::parse(name).as_ref(), Err(error), "{name:?}");
        }
        let long = "x".repeat(MAILDIR_FILE_NAME_BYTES_MAX + 1);
        assert!(matches!(
            MaildirName::parse(&long),
            Err(NameError::TooLong { .. })
        ));
    }
}
