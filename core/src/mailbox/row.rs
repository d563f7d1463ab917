//! A message's flags and keywords as a database row keeps them, and the
//! text of a mailbox change notification. The postgres store writes and
//! reads rows; what they mean is decided here, so a row that is not a
//! message's state is refused the same way by every reader.

use super::{Change, Flag, Flags, Keywords, MessageMeta, ModSeq, Uid, keyword};
use crate::envelope::LocalMailbox;
use crate::limits::{KEYWORD_BYTES_MAX, MAILDIR_KEYWORDS_MAX};
use std::fmt;

/// The `flags` column: one bit a system flag, in [`Flag::ALL`] order
/// (`\Seen` 1, `\Answered` 2, `\Flagged` 4, `\Deleted` 8, `\Draft` 16).
pub fn flags_to_bits(flags: Flags) -> i32 {
    Flag::ALL
        .iter()
        .enumerate()
        .filter(|(_, flag)| flags.contains(**flag))
        .map(|(bit, _)| 1 << bit)
        .sum()
}

/// The flags of a `flags` column; `None` for bits no flag has.
pub fn flags_from_bits(bits: i32) -> Option<Flags> {
    if bits < 0 || bits >= 1 << Flag::ALL.len() {
        return None;
    }
    Some(
        Flag::ALL
            .iter()
            .enumerate()
            .filter(|(bit, _)| bits & (1 << bit) != 0)
            .map(|(_, flag)| *flag)
            .collect(),
    )
}

/// The `flags` bit of `\Seen` and of `\Deleted`, for counting in SQL.
pub const SEEN_BIT: i32 = 1;
pub const DELETED_BIT: i32 = 8;

/// The `keywords` column: the keywords in order, one space between.
pub fn keywords_to_text(keywords: &Keywords) -> String {
    keywords
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The keywords of a `keywords` column. A word that is not a keyword, or
/// more words than a folder can hold, is a damaged row.
pub fn keywords_from_text(text: &str) -> Result<Keywords, String> {
    let mut keywords = Keywords::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if keywords.len() == MAILDIR_KEYWORDS_MAX {
            return Err(format!("more than {MAILDIR_KEYWORDS_MAX} keywords"));
        }
        let word = keyword(word).map_err(|e| format!("keyword {word:?}: {e}"))?;
        keywords.insert(word.to_owned());
    }
    Ok(keywords)
}

/// What a change notification says: this folder of this mailbox changed,
/// and its highest MODSEQ is now at least this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeNotice {
    pub mailbox: LocalMailbox,
    pub folder: String,
    pub modseq: ModSeq,
}

/// The longest payload [`ChangeNotice::render`] makes: PostgreSQL takes
/// payloads under 8000 octets.
pub const CHANGE_NOTICE_BYTES_MAX: usize = 7999;

impl ChangeNotice {
    /// `user@domain/folder:modseq`. A folder name has no `/` and a
    /// domain no `@`, so the text parses back from the right.
    pub fn render(&self) -> String {
        format!(
            "{}@{}/{}:{}",
            self.mailbox.user, self.mailbox.domain, self.folder, self.modseq
        )
    }

    /// The notice `render` made; `None` for any other text.
    pub fn parse(text: &str) -> Option<ChangeNotice> {
        if text.len() > CHANGE_NOTICE_BYTES_MAX {
            return None;
        }
        let (rest, modseq) = text.rsplit_once(':')?;
        let (mailbox, folder) = rest.rsplit_once('/')?;
        let (user, domain) = mailbox.rsplit_once('@')?;
        if user.is_empty() || domain.is_empty() || folder.is_empty() {
            return None;
        }
        Some(ChangeNotice {
            mailbox: LocalMailbox {
                domain: domain.to_owned(),
                user: user.to_owned(),
            },
            folder: folder.to_owned(),
            modseq: ModSeq(modseq.parse().ok()?),
        })
    }
}

impl fmt::Display for ChangeNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// The changes a folder's rows show after `since`, oldest first: from
/// each message whose last change is after `since` (with the MODSEQ it
/// was appended at), its append if that is after `since` too, then its
/// last flag change if it had one; from each tombstone after `since`, its
/// expunge. A message appended and expunged since shows only its
/// expunge (a session that never saw it ignores it).
pub fn changes_of_rows(
    since: ModSeq,
    messages: Vec<(MessageMeta, ModSeq)>,
    expunged: Vec<(Uid, ModSeq)>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for (meta, appended) in messages {
        if appended > since {
            changes.push(Change::Appended(MessageMeta {
                modseq: appended,
                ..meta.clone()
            }));
        }
        if meta.modseq != appended {
            changes.push(Change::FlagsChanged {
                uid: meta.uid,
                flags: meta.flags,
                keywords: meta.keywords,
                modseq: meta.modseq,
            });
        }
    }
    changes.extend(
        expunged
            .into_iter()
            .map(|(uid, modseq)| Change::Expunged { uid, modseq }),
    );
    changes.sort_by_key(Change::modseq);
    changes
}

/// The longest `keywords` column: every keyword at its longest.
pub const KEYWORDS_TEXT_BYTES_MAX: usize = MAILDIR_KEYWORDS_MAX * (KEYWORD_BYTES_MAX + 1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_set_of_flags_round_trips_through_its_bits() {
        for bits in 0..32 {
            let flags = flags_from_bits(bits).unwrap();
            assert_eq!(flags_to_bits(flags), bits);
        }
        assert_eq!(flags_to_bits(Flags::EMPTY.with(Flag::Seen)), SEEN_BIT);
        assert_eq!(flags_to_bits(Flags::EMPTY.with(Flag::Deleted)), DELETED_BIT);
        assert_eq!(flags_from_bits(32), None);
        assert_eq!(flags_from_bits(-1), None);
    }

    #[test]
    fn keywords_round_trip_and_damage_is_named() {
        let keywords: Keywords = ["$Forwarded".to_owned(), "Work".to_owned()].into();
        let text = keywords_to_text(&keywords);
        assert_eq!(text, "$Forwarded Work");
        assert_eq!(keywords_from_text(&text).unwrap(), keywords);
        assert_eq!(keywords_from_text("").unwrap(), Keywords::new());
        assert!(keywords_from_text("a\\b").unwrap_err().contains("a\\\\b"));
        let many: Vec<String> = (0..=MAILDIR_KEYWORDS_MAX)
            .map(|i| format!("k{i}"))
            .collect();
        assert!(keywords_from_text(&many.join(" ")).is_err());
        let all: Keywords = (0..MAILDIR_KEYWORDS_MAX)
            .map(|i| format!("{i:0>50}"))
            .collect();
        assert!(keywords_to_text(&all).len() <= KEYWORDS_TEXT_BYTES_MAX);
    }

    fn meta(uid: u32, modseq: u64, flags: Flags) -> MessageMeta {
        MessageMeta {
            uid: Uid::new(uid).unwrap(),
            flags,
            keywords: Keywords::new(),
            internal_date: crate::time::UnixTime(0),
            size: 3,
            modseq: ModSeq(modseq),
        }
    }

    #[test]
    fn rows_give_appends_flag_changes_and_expunges_oldest_first() {
        let seen = Flags::EMPTY.with(Flag::Seen);
        let messages = vec![
            // Appended before, flagged after: a flag change.
            (meta(1, 9, seen), ModSeq(2)),
            // Appended after, flagged after: both, the append first.
            (meta(3, 8, seen), ModSeq(6)),
            // Appended after, never changed: an append.
            (meta(4, 7, Flags::EMPTY), ModSeq(7)),
        ];
        let expunged = vec![(Uid::new(2).unwrap(), ModSeq(5))];
        let changes = changes_of_rows(ModSeq(4), messages, expunged);
        let summary: Vec<(&str, u32, u64)> = changes
            .iter()
            .map(|c| {
                let kind = match c {
                    Change::Appended(_) => "appended",
                    Change::FlagsChanged { .. } => "flags",
                    Change::Expunged { .. } => "expunged",
                };
                (kind, c.uid().get(), c.modseq().0)
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("expunged", 2, 5),
                ("appended", 3, 6),
                ("appended", 4, 7),
                ("flags", 3, 8),
                ("flags", 1, 9),
            ]
        );
        // The append carries the flags the message has now.
        assert!(matches!(&changes[1], Change::Appended(m) if m.flags == seen));
    }

    #[test]
    fn notices_parse_back_from_the_right() {
        let rows = [
            ("alice", "x.test", "INBOX", 7),
            ("a@b", "x.test", "Lists:rust.2026", 1),
            ("bob", "y.test", "p\u{e4}\u{e4}", u64::MAX),
        ];
        for (user, domain, folder, modseq) in rows {
            let notice = ChangeNotice {
                mailbox: LocalMailbox {
                    domain: domain.into(),
                    user: user.into(),
                },
                folder: folder.into(),
                modseq: ModSeq(modseq),
            };
            assert_eq!(ChangeNotice::parse(&notice.render()), Some(notice));
        }
        for bad in [
            "",
            "alice@x/INBOX",
            "alice/INBOX:1",
            "@x/INBOX:1",
            "a@x/:1",
            "a@x/F:z",
        ] {
            assert_eq!(ChangeNotice::parse(bad), None, "{bad:?}");
        }
    }
}
