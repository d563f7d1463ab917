//! Framing: octets from the client to whole commands, literals included
//! (RFC 9051 4.3 and 7.5, RFC 7888 LITERAL+ and LITERAL-), each bound
//! checked before anything is held.

use super::commands::{Failure, name_of, parse_command, tag_of};
use super::parser::{Error, Literal};
use super::{LineTooLong, ReadEvent, ReaderLimits};

/// Octets kept of a line being skipped: enough for the longest literal
/// announcement (`~{` 20 digits `+}`) at its end.
const SKIP_TAIL_BYTES: usize = 32;

/// Consumed input is dropped from the front once this much has gathered.
const COMPACT_BYTES: usize = 4096;

/// Turns the client's octets into [`ReadEvent`]s; see the module docs.
#[derive(Debug)]
pub struct CommandReader {
    limits: ReaderLimits,
    input: Vec<u8>,
    /// The consumed prefix of `input`.
    start: usize,
    frame: Frame,
    state: State,
}

/// The command being framed.
#[derive(Debug, Default)]
struct Frame {
    /// The lines without their line ends.
    text: Vec<u8>,
    literals: Vec<Literal>,
    /// Octets of the command so far, line ends and literals included.
    total: u64,
    /// Where the current line starts in `text`.
    line_start: usize,
}

#[derive(Debug)]
enum State {
    /// Reading the command's text up to a line end.
    Line,
    /// Reading a literal's octets.
    Literal { remaining: u64 },
    /// Skipping the rest of a refused command.
    Skip(Skip),
}

#[derive(Debug)]
struct Skip {
    /// Octets of a non-synchronizing literal still to discard.
    literal_remaining: u64,
    /// The last octets of the line being skipped.
    tail: Vec<u8>,
    /// A literal announced at a line's end is skipped too (false for a
    /// raw line from `next_line`).
    literals: bool,
    /// What to report once the command is skipped.
    then: Option<ReadEvent>,
}

/// What one step of framing came to.
enum Step {
    Emit(ReadEvent),
    /// The state changed: go on.
    Continue,
    /// Nothing more until more octets come.
    Wait,
}

impl CommandReader {
    pub fn new(limits: ReaderLimits) -> Self {
        CommandReader {
            limits,
            input: Vec::new(),
            start: 0,
            frame: Frame::default(),
            state: State::Line,
        }
    }

    /// New bounds, for the next literal or command (a session changes
    /// them after login, when it knows the user's APPENDLIMIT).
    pub fn set_limits(&mut self, limits: ReaderLimits) {
        self.limits = limits;
    }

    pub fn limits(&self) -> &ReaderLimits {
        &self.limits
    }

    /// Hands in octets read from the client (any split).
    pub fn push(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
    }

    /// Drops the octets not yet read: after STARTTLS, what a client
    /// pipelined behind it in clear text must not be taken as commands
    /// (the classic command-injection bug, RFC 9051 6.2.1).
    pub fn discard_buffered(&mut self) {
        self.input.clear();
        self.start = 0;
    }

    /// Octets held: unread input and the command being framed.
    pub fn buffered(&self) -> usize {
        let literals: usize = self.frame.literals.iter().map(|l| l.bytes.len()).sum();
        self.input.len() - self.start + self.frame.text.len() + literals
    }

    /// The next complete command or event, or `None` until more octets
    /// come.
    pub fn next_command(&mut self) -> Option<ReadEvent> {
        loop {
            let step = match self.state {
                State::Line => self.read_line(),
                State::Literal { remaining } => self.read_literal(remaining),
                State::Skip(_) => self.skip(),
            };
            match step {
                Step::Emit(event) => {
                    self.compact();
                    return Some(event);
                }
                Step::Continue => {}
                Step::Wait => {
                    self.compact();
                    return None;
                }
            }
        }
    }

    /// For AUTHENTICATE's client responses and IDLE's `DONE`: the next
    /// raw line without its CRLF (LF alone accepted), bounded by
    /// `line_bytes_max`; a longer one is an error and is skipped to its
    /// end. Only between commands: while a command is being read (after
    /// `ContinuationNeeded`, or before its line has ended) it is `None`.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, LineTooLong>> {
        if !self.frame.text.is_empty() || !self.frame.literals.is_empty() {
            return None;
        }
        loop {
            match &self.state {
                State::Skip(skip) if !skip.literals => match self.skip() {
                    Step::Wait => {
                        self.compact();
                        return None;
                    }
                    Step::Continue | Step::Emit(_) => {}
                },
                State::Line => break,
                // A command is being framed: not a time for raw lines.
                State::Skip(_) | State::Literal { .. } => return None,
            }
        }
        let available = &self.input[self.start..];
        let result = match available.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let mut line = available[..end].to_vec();
                self.start += end + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > self.limits.line_bytes_max {
                    Some(Err(LineTooLong))
                } else {
                    Some(Ok(line))
                }
            }
            None if available.len() > self.limits.line_bytes_max + 1 => {
                self.start = self.input.len();
                self.state = State::Skip(Skip {
                    literal_remaining: 0,
                    tail: Vec::new(),
                    literals: false,
                    then: None,
                });
                Some(Err(LineTooLong))
            }
            None => None,
        };
        self.compact();
        result
    }

    fn compact(&mut self) {
        if self.start == self.input.len() {
            self.input.clear();
            self.start = 0;
        } else if self.start >= COMPACT_BYTES && self.start * 2 >= self.input.len() {
            self.input.drain(..self.start);
            self.start = 0;
        }
    }

    fn read_line(&mut self) -> Step {
        let available = &self.input[self.start..];
        let Some(end) = available.iter().position(|&b| b == b'\n') else {
            self.frame.text.extend_from_slice(available);
            self.frame.total += available.len() as u64;
            self.start = self.input.len();
            // One more octet for a CR that a LF may yet follow.
            if self.frame.text.len() > self.limits.line_bytes_max + 1 {
                return self.line_too_long(false);
            }
            return Step::Wait;
        };
        self.frame.text.extend_from_slice(&available[..end]);
        self.frame.total += end as u64 + 1;
        self.start += end + 1;
        if self.frame.text.last() == Some(&b'\r') {
            self.frame.text.pop();
        }
        if self.frame.text.len() > self.limits.line_bytes_max {
            return self.line_too_long(true);
        }
        match announcement(&self.frame.text[self.frame.line_start..]) {
            Some(literal) => self.literal_announced(literal),
            None => {
                // Leniency: clients send a space before the CRLF.
                while self.frame.text.len() > self.frame.line_start
                    && self.frame.text.last() == Some(&b' ')
                {
                    self.frame.text.pop();
                }
                let frame = std::mem::take(&mut self.frame);
                Step::Emit(self.parse(frame))
            }
        }
    }

    fn parse(&self, mut frame: Frame) -> ReadEvent {
        match parse_command(&frame.text, &mut frame.literals, &self.limits) {
            Ok(command) => ReadEvent::Command(command),
            Err(Failure {
                tag,
                error: Error::Syntax(text),
            }) => ReadEvent::Bad { tag, text },
            Err(Failure {
                tag,
                error: Error::NeedLiteral,
            }) => ReadEvent::Bad {
                tag,
                text: "A literal's announcement must end its line".to_owned(),
            },
        }
    }

    /// The command's text is over `line_bytes_max`: refuse it and skip
    /// the rest (`ended`: the over-long line has ended).
    fn line_too_long(&mut self, ended: bool) -> Step {
        let frame = std::mem::take(&mut self.frame);
        let event = ReadEvent::Bad {
            tag: tag_of(&frame.text),
            text: format!(
                "Command line too long (at most {} octets outside literals)",
                self.limits.line_bytes_max
            ),
        };
        let tail = frame.text[frame.text.len().saturating_sub(SKIP_TAIL_BYTES)..].to_vec();
        if ended {
            self.end_skipped_line(&tail, true, Some(event))
        } else {
            self.state = State::Skip(Skip {
                literal_remaining: 0,
                tail,
                literals: true,
                then: Some(event),
            });
            Step::Continue
        }
    }

    /// A literal `{n}`, `{n+}` or `~{n}` ends the line just read.
    fn literal_announced(&mut self, (length, nonsync): (u64, bool)) -> Step {
        let limits = self.limits;
        let over = if length > limits.literal_bytes_max {
            Some(format!(
                "Literal of {length} octets is over the limit of {}",
                limits.literal_bytes_max
            ))
        } else if nonsync && length > limits.nonsync_literal_bytes_max {
            Some(format!(
                "Non-synchronizing literal of {length} octets is over the limit of {} \
                 (LITERAL-): send it as a synchronizing literal",
                limits.nonsync_literal_bytes_max
            ))
        } else if self.frame.total.saturating_add(length) > limits.command_bytes_max {
            Some(format!(
                "Command over the limit of {} octets",
                limits.command_bytes_max
            ))
        } else {
            None
        };
        if let Some(text) = over {
            let frame = std::mem::take(&mut self.frame);
            let event = ReadEvent::TooBig {
                tag: tag_of(&frame.text),
                command: name_of(&frame.text),
                text,
            };
            if !nonsync {
                // The client waits for a `+` it will not get.
                return Step::Emit(event);
            }
            self.state = State::Skip(Skip {
                literal_remaining: length,
                tail: Vec::new(),
                literals: true,
                then: Some(event),
            });
            return Step::Continue;
        }
        if !nonsync && self.frame.literals.is_empty() {
            // Refuse a bad command before the client sends its literal.
            if let Err(Failure {
                tag,
                error: Error::Syntax(text),
            }) = parse_command(&self.frame.text, &mut [], &limits)
            {
                self.frame = Frame::default();
                return Step::Emit(ReadEvent::Bad { tag, text });
            }
        }
        self.frame.literals.push(Literal {
            at: self.frame.text.len(),
            bytes: Vec::with_capacity(length.min(64 * 1024) as usize),
        });
        self.state = State::Literal { remaining: length };
        if nonsync {
            Step::Continue
        } else {
            Step::Emit(ReadEvent::ContinuationNeeded)
        }
    }

    fn read_literal(&mut self, remaining: u64) -> Step {
        let available = self.input.len() - self.start;
        let take = remaining.min(available as u64) as usize;
        let Some(literal) = self.frame.literals.last_mut() else {
            // A literal state always follows pushing its literal.
            self.state = State::Line;
            return Step::Continue;
        };
        literal
            .bytes
            .extend_from_slice(&self.input[self.start..self.start + take]);
        self.start += take;
        self.frame.total += take as u64;
        let remaining = remaining - take as u64;
        if remaining == 0 {
            self.frame.line_start = self.frame.text.len();
            self.state = State::Line;
            Step::Continue
        } else {
            self.state = State::Literal { remaining };
            Step::Wait
        }
    }

    fn skip(&mut self) -> Step {
        let State::Skip(skip) = &mut self.state else {
            return Step::Continue;
        };
        let available = self.input.len() - self.start;
        if skip.literal_remaining > 0 {
            let take = skip.literal_remaining.min(available as u64);
            self.start += take as usize;
            skip.literal_remaining -= take;
            return if skip.literal_remaining > 0 {
                Step::Wait
            } else {
                Step::Continue
            };
        }
        let bytes = &self.input[self.start..];
        match bytes.iter().position(|&b| b == b'\n') {
            None => {
                skip.tail.extend_from_slice(bytes);
                let excess = skip.tail.len().saturating_sub(SKIP_TAIL_BYTES);
                skip.tail.drain(..excess);
                self.start = self.input.len();
                Step::Wait
            }
            Some(end) => {
                let mut line = std::mem::take(&mut skip.tail);
                line.extend_from_slice(&bytes[..end]);
                self.start += end + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let literals = skip.literals;
                let then = skip.then.take();
                self.end_skipped_line(&line, literals, then)
            }
        }
    }

    /// A skipped line has ended: skip a non-synchronizing literal it
    /// announces and the lines after, or report.
    fn end_skipped_line(&mut self, line: &[u8], literals: bool, then: Option<ReadEvent>) -> Step {
        let nonsync_literal = announcement(line).filter(|&(_, nonsync)| nonsync && literals);
        if let Some((length, _)) = nonsync_literal {
            self.state = State::Skip(Skip {
                literal_remaining: length,
                tail: Vec::new(),
                literals,
                then,
            });
            return Step::Continue;
        }
        self.state = State::Line;
        match then {
            Some(event) => Step::Emit(event),
            None => Step::Continue,
        }
    }
}

/// A literal's announcement ending a line: `{n}`, `{n+}`, `~{n}` or
/// `~{n+}`, as its length and whether it is non-synchronizing. A length
/// too large for 64 bits is `u64::MAX` (over any bound).
fn announcement(line: &[u8]) -> Option<(u64, bool)> {
    let line = line.strip_suffix(b"}")?;
    let (line, nonsync) = match line.strip_suffix(b"+") {
        Some(line) => (line, true),
        None => (line, false),
    };
    let digits_start = line
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let digits = &line[digits_start..];
    if digits.is_empty() || !line[..digits_start].ends_with(b"{") {
        return None;
    }
    let length = digits
        .iter()
        .try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .unwrap_or(u64::MAX);
    Some((length, nonsync))
}
