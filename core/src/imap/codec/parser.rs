//! The pieces of RFC 9051's grammar (section 9) every command is made of:
//! atoms, strings (quoted and literal), numbers, sequence sets, flags,
//! dates, parenthesised lists; with the item and nesting bounds.
//!
//! A parser walks one framed command: its text (the lines without their
//! CRLF, joined) and the literals, each spliced in at the offset of the
//! text just after its `{n}` announcement.

use super::ReaderLimits;
use crate::imap::command::{Date, DateTime, FlagName, SeqNumber, SequenceRange, SequenceSet};
use std::num::NonZeroU32;

/// One literal of a command, with where it sits in the command's text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Literal {
    /// The offset in the text just after the announcement's `}`.
    pub at: usize,
    pub bytes: Vec<u8>,
}

/// Why a command did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Error {
    /// The text says what was wrong; it never quotes the client.
    Syntax(String),
    /// The parse reached a literal whose octets have not come yet: the
    /// text so far is good.
    NeedLiteral,
}

pub(super) type PResult<T> = Result<T, Error>;

pub(super) fn syntax<T>(text: impl Into<String>) -> PResult<T> {
    Err(Error::Syntax(text.into()))
}

/// RFC 9051 9 ATOM-CHAR: any CHAR except atom-specials.
pub(super) fn is_atom_char(byte: u8) -> bool {
    (0x21..0x7f).contains(&byte) && !b"(){%*\"\\]".contains(&byte)
}

/// ASTRING-CHAR, with 8-bit octets accepted too: clients send UTF-8
/// mailbox names unquoted (checked as UTF-8 afterwards).
pub(super) fn is_astring_char(byte: u8) -> bool {
    is_atom_char(byte) || byte == b']' || byte >= 0x80
}

/// `list-char`: an ASTRING-CHAR or a wildcard.
fn is_list_char(byte: u8) -> bool {
    is_astring_char(byte) || byte == b'%' || byte == b'*'
}

/// RFC 9051 9 `tag`: any ASTRING-CHAR except `+`, ASCII.
pub(super) fn is_tag_char(byte: u8) -> bool {
    (is_atom_char(byte) || byte == b']') && byte != b'+'
}

pub(super) struct Parser<'a> {
    text: &'a [u8],
    pub pos: usize,
    literals: &'a mut [Literal],
    next_literal: usize,
    items: usize,
    depth: usize,
    limits: &'a ReaderLimits,
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a [u8], literals: &'a mut [Literal], limits: &'a ReaderLimits) -> Self {
        Parser {
            text,
            pos: 0,
            literals,
            next_literal: 0,
            items: 0,
            depth: 0,
            limits,
        }
    }

    pub fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    pub fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.pos + ahead).copied()
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    pub fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, byte: u8, what: &str) -> PResult<()> {
        if self.eat(byte) {
            Ok(())
        } else {
            syntax(format!("Expected {what}"))
        }
    }

    pub fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "a space")
    }

    /// The command is over: nothing may follow.
    pub fn end(&mut self) -> PResult<()> {
        if self.at_end() {
            Ok(())
        } else {
            syntax("Unexpected text after the command's arguments")
        }
    }

    /// Counts one item against `items_max`.
    pub fn item(&mut self) -> PResult<()> {
        self.items += 1;
        if self.items > self.limits.items_max {
            return syntax(format!(
                "Too many items in one command (at most {})",
                self.limits.items_max
            ));
        }
        Ok(())
    }

    /// Enters one level of nesting.
    pub fn descend(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.limits.depth_max {
            return syntax(format!(
                "Nested too deeply (at most {} levels)",
                self.limits.depth_max
            ));
        }
        Ok(())
    }

    pub fn ascend(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `(`, counted as a level of nesting.
    pub fn open(&mut self) -> PResult<()> {
        self.expect(b'(', "(")?;
        self.descend()
    }

    pub fn close(&mut self) -> PResult<()> {
        self.expect(b')', ")")?;
        self.ascend();
        Ok(())
    }

    /// A parenthesised list of one or more (`allow_empty`: zero or more)
    /// items separated by single spaces.
    pub fn list<T>(
        &mut self,
        allow_empty: bool,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.open()?;
        let mut items = Vec::new();
        if self.peek() == Some(b')') {
            if !allow_empty {
                return syntax("Expected at least one item in the list");
            }
        } else {
            loop {
                self.item()?;
                items.push(item(self)?);
                if !self.eat(b' ') {
                    break;
                }
            }
        }
        self.close()?;
        Ok(items)
    }

    /// The octets from the current position while `class` holds.
    pub fn take_while(&mut self, class: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&class) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// An atom (RFC 9051 9), ASCII.
    pub fn atom(&mut self) -> PResult<&'a str> {
        let bytes = self.take_while(is_atom_char);
        if bytes.is_empty() {
            return syntax("Expected an atom");
        }
        // Atom characters are ASCII.
        std::str::from_utf8(bytes).or_else(|_| syntax("Expected an atom"))
    }

    /// An atom in capitals, for matching keywords.
    pub fn keyword(&mut self) -> PResult<String> {
        Ok(self.atom()?.to_ascii_uppercase())
    }

    /// Takes `word` (without case) if it comes next as a whole atom.
    pub fn eat_keyword(&mut self, word: &str) -> bool {
        let end = self.pos + word.len();
        let matches = self
            .text
            .get(self.pos..end)
            .is_some_and(|bytes| bytes.eq_ignore_ascii_case(word.as_bytes()))
            && !self.text.get(end).is_some_and(|&b| is_atom_char(b));
        if matches {
            self.pos = end;
        }
        matches
    }

    /// `number` (32 bits).
    pub fn number(&mut self) -> PResult<u32> {
        let value = self.number64()?;
        u32::try_from(value).or_else(|_| syntax("Number out of range"))
    }

    /// `number64` (RFC 9051 9: up to 2^63 - 1).
    pub fn number64(&mut self) -> PResult<u64> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return syntax("Expected a number");
        }
        let mut value: u64 = 0;
        for &digit in digits {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(digit - b'0')))
                .filter(|&v| v <= i64::MAX as u64)
                .map_or_else(|| syntax("Number out of range"), Ok)?;
        }
        Ok(value)
    }

    pub fn nz_number(&mut self) -> PResult<NonZeroU32> {
        NonZeroU32::new(self.number()?).map_or_else(|| syntax("Expected a number above 0"), Ok)
    }

    /// RFC 7162 `mod-sequence-value`: 1 to 2^63 - 1 (`mod-sequence-valzer`
    /// with `zero`, which allows 0).
    pub fn mod_sequence(&mut self, zero: bool) -> PResult<u64> {
        let value = self.number64()?;
        if value == 0 && !zero {
            return syntax("Expected a mod-sequence above 0");
        }
        Ok(value)
    }

    /// A literal `{n}`, `{n+}` or with `binary` also `~{n}`: its octets
    /// and whether it was a literal8.
    pub fn literal(&mut self, binary: bool) -> PResult<(Vec<u8>, bool)> {
        let is_binary = self.eat(b'~');
        if is_binary && !binary {
            return syntax("A literal8 (~{n}) is allowed only in APPEND");
        }
        self.expect(b'{', "a literal")?;
        let length = self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "} ending the literal")?;
        let pos = self.pos;
        let at_end = pos == self.text.len();
        let literal = match self.literals.get_mut(self.next_literal) {
            Some(literal) if literal.at == pos => literal,
            _ if at_end => return Err(Error::NeedLiteral),
            _ => return syntax("A literal's announcement must end its line"),
        };
        debug_assert_eq!(literal.bytes.len() as u64, length);
        self.next_literal += 1;
        // Each literal is parsed once: its octets move into the command
        // (an APPEND's message is not copied).
        Ok((std::mem::take(&mut literal.bytes), is_binary))
    }

    /// `string`: quoted or a literal, as octets.
    pub fn string_bytes(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => {
                let (bytes, _) = self.literal(false)?;
                if bytes.contains(&0) {
                    return syntax("A NUL octet in a string");
                }
                Ok(bytes)
            }
            _ => syntax("Expected a string"),
        }
    }

    pub fn string(&mut self) -> PResult<String> {
        let bytes = self.string_bytes()?;
        utf8(bytes)
    }

    fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'"', "\"")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return syntax("Unterminated quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(byte @ (b'"' | b'\\')) => out.push(byte),
                        _ => return syntax("Only \\\" and \\\\ may be escaped in a quoted string"),
                    }
                }
                Some(b'\r' | 0) => return syntax("A CR or NUL in a quoted string"),
                Some(byte) => out.push(byte),
            }
            self.pos += 1;
        }
    }

    /// `astring`.
    pub fn astring(&mut self) -> PResult<String> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let bytes = self.take_while(is_astring_char);
                if bytes.is_empty() {
                    return syntax("Expected an atom or a string");
                }
                utf8(bytes.to_vec())
            }
        }
    }

    /// `nstring`: NIL or a string.
    pub fn nstring(&mut self) -> PResult<Option<String>> {
        if self.eat_keyword("NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// `mailbox`: an astring, `INBOX` in any case normalized (RFC 9051
    /// 5.1).
    pub fn mailbox(&mut self) -> PResult<String> {
        let name = self.astring()?;
        Ok(if name.eq_ignore_ascii_case("INBOX") {
            "INBOX".to_owned()
        } else {
            name
        })
    }

    /// `list-mailbox`: list-chars (wildcards allowed) or a string.
    pub fn list_mailbox(&mut self) -> PResult<String> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let bytes = self.take_while(is_list_char);
                if bytes.is_empty() {
                    return syntax("Expected a mailbox pattern");
                }
                utf8(bytes.to_vec())
            }
        }
    }

    fn seq_number(&mut self) -> PResult<SeqNumber> {
        if self.eat(b'*') {
            Ok(SeqNumber::Largest)
        } else {
            Ok(SeqNumber::Value(self.nz_number()?))
        }
    }

    /// `sequence-set`, or RFC 5182 `$`.
    pub fn sequence_set(&mut self) -> PResult<SequenceSet> {
        if self.eat(b'$') {
            return Ok(SequenceSet::Saved);
        }
        let mut ranges = Vec::new();
        loop {
            self.item()?;
            let start = self.seq_number()?;
            let end = if self.eat(b':') {
                self.seq_number()?
            } else {
                start
            };
            ranges.push(SequenceRange { start, end });
            if !self.eat(b',') {
                break;
            }
        }
        Ok(SequenceSet::Ranges(ranges))
    }

    /// `flag`: a system flag, `\Other` or a keyword.
    pub fn flag(&mut self) -> PResult<FlagName> {
        if self.eat(b'\\') {
            let name = self.atom()?;
            let flag = match name.to_ascii_uppercase().as_str() {
                "SEEN" => FlagName::Seen,
                "ANSWERED" => FlagName::Answered,
                "FLAGGED" => FlagName::Flagged,
                "DELETED" => FlagName::Deleted,
                "DRAFT" => FlagName::Draft,
                "RECENT" => FlagName::Recent,
                _ => FlagName::Extension(name.to_owned()),
            };
            Ok(flag)
        } else {
            Ok(FlagName::Keyword(self.atom()?.to_owned()))
        }
    }

    /// `flag-list`: `(` flags `)`, possibly empty.
    pub fn flag_list(&mut self) -> PResult<Vec<FlagName>> {
        self.list(true, Self::flag)
    }

    /// `date`: `date-text` or the same in quotes (`1-Feb-2026`).
    pub fn date(&mut self) -> PResult<Date> {
        let quoted = self.eat(b'"');
        let day = self.digits(1, 2)?;
        self.expect(b'-', "- in a date")?;
        let month = self.month()?;
        self.expect(b'-', "- in a date")?;
        let year = self.digits(4, 4)?;
        if quoted {
            self.expect(b'"', "\" ending the date")?;
        }
        make_date(year, month, day)
    }

    /// `date-time`: `"17-Jul-1996 02:44:25 -0700"` (the day may be one
    /// digit, with or without a leading space).
    pub fn date_time(&mut self) -> PResult<DateTime> {
        self.expect(b'"', "\" opening a date-time")?;
        self.eat(b' ');
        let day = self.digits(1, 2)?;
        self.expect(b'-', "- in a date-time")?;
        let month = self.month()?;
        self.expect(b'-', "- in a date-time")?;
        let year = self.digits(4, 4)?;
        self.sp()?;
        let hour = self.digits(2, 2)?;
        self.expect(b':', ": in a time")?;
        let minute = self.digits(2, 2)?;
        self.expect(b':', ": in a time")?;
        let second = self.digits(2, 2)?;
        self.sp()?;
        let sign: i16 = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return syntax("Expected a zone (+hhmm or -hhmm)"),
        };
        self.pos += 1;
        let zone = self.digits(4, 4)?;
        self.expect(b'"', "\" closing a date-time")?;
        let (zone_hours, zone_minutes) = (zone / 100, zone % 100);
        if hour > 23 || minute > 59 || second > 60 || zone_hours > 23 || zone_minutes > 59 {
            return syntax("A time or zone out of range");
        }
        let date = make_date(year, month, day)?;
        Ok(DateTime {
            date,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            zone_minutes: sign * (zone_hours * 60 + zone_minutes) as i16,
        })
    }

    fn digits(&mut self, min: usize, max: usize) -> PResult<u16> {
        let start = self.pos;
        while self.pos - start < max && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = &self.text[start..self.pos];
        if digits.len() < min {
            return syntax("Expected digits");
        }
        Ok(digits
            .iter()
            .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0')))
    }

    fn month(&mut self) -> PResult<u8> {
        let name = self.text.get(self.pos..self.pos + 3).unwrap_or_default();
        let month = MONTHS
            .iter()
            .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
            .map_or_else(|| syntax("Expected a month (Jan to Dec)"), Ok)?;
        self.pos += 3;
        Ok(month as u8 + 1)
    }
}

pub(super) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn make_date(year: u16, month: u8, day: u16) -> PResult<Date> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days {
        return syntax("A day out of range for its month");
    }
    Ok(Date {
        year,
        month,
        day: day as u8,
    })
}

pub(super) fn utf8(bytes: Vec<u8>) -> PResult<String> {
    String::from_utf8(bytes).or_else(|_| syntax("Invalid UTF-8 in a string"))
}
