//! The remote-log commands and filters.
//!
//! One command per line (CRLF or LF), the verb in any case:
//!
//! ```text
//! CAPA                     what this server offers, one line
//! NOOP
//! STARTTLS                 where the instance offers it
//! AUTH PLAIN [response]    SASL PLAIN (RFC 4616), base64; without the
//!                          response the server asks with "+ "
//! FILTER [key=value ...]   level=error|warn|info|debug|trace (that level
//!                          and worse), instance=NAME, queue=ID, and
//!                          text=WORDS (the rest of the line, any case);
//!                          FILTER alone clears the filter
//! TAIL n                   before login: how many recent lines the login
//!                          sends; after: send the last n matching lines
//! FOLLOW                   send each new line as it comes (after login)
//! STOP                     stop following
//! QUIT
//! ```

use crate::limits::REMOTE_LOG_TAIL_LINES_MAX;
use std::fmt;

/// How serious a log line is, most serious first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
        Level::Trace,
    ];

    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(text))
            .or_else(|| text.eq_ignore_ascii_case("warning").then_some(Level::Warn))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which lines a client wants; every part given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    /// This level and every more serious one.
    pub level: Option<Level>,
    /// The instance (compared without regard to case).
    pub instance: Option<String>,
    /// The queue ID (compared without regard to case).
    pub queue_id: Option<String>,
    /// Words the line's text contains (lower-case; compared without regard
    /// to case).
    pub text: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// True when `record` is a line this filter lets through.
    pub fn matches(&self, record: &super::LogRecord) -> bool {
        let same = |wanted: &Option<String>, field: &Option<String>| match wanted {
            None => true,
            Some(wanted) => field
                .as_deref()
                .is_some_and(|field| field.eq_ignore_ascii_case(wanted)),
        };
        self.level.is_none_or(|level| record.level <= level)
            && same(&self.instance, &record.instance)
            && same(&self.queue_id, &record.queue_id)
            && self
                .text
                .as_deref()
                .is_none_or(|text| contains_ignoring_case(&record.text, text))
    }
}

/// `haystack` contains `needle` (already lower-case), compared without
/// regard to case.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        return haystack
            .as_bytes()
            .windows(needle.len().max(1))
            .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
            || needle.is_empty();
    }
    haystack.to_lowercase().contains(needle)
}

/// The filter as a `FILTER` command's arguments: parsing it gives the
/// same filter back.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(level) = self.level {
            parts.push(format!("level={}", level.as_str().to_lowercase()));
        }
        if let Some(instance) = &self.instance {
            parts.push(format!("instance={instance}"));
        }
        if let Some(queue_id) = &self.queue_id {
            parts.push(format!("queue={queue_id}"));
        }
        if let Some(text) = &self.text {
            parts.push(format!("text={text}"));
        }
        f.write_str(&parts.join(" "))
    }
}

/// Why a `FILTER` line is not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterError {
    /// Not `key=value`, or a key this server does not know.
    UnknownKey(String),
    /// `key=` with nothing after it.
    MissingValue(&'static str),
    /// `level=` something other than the five levels.
    BadLevel(String),
    /// The same key twice.
    Repeated(&'static str),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::UnknownKey(key) => write!(
                f,
                "unknown filter \"{}\": use level=, instance=, queue= or text=",
                crate::text::escape_controls(&crate::text::bounded(key, 40))
            ),
            FilterError::MissingValue(key) => write!(f, "{key}= needs a value"),
            FilterError::BadLevel(level) => write!(
                f,
                "level=\"{}\" is not a level: use error, warn, info, debug or trace",
                crate::text::escape_controls(&crate::text::bounded(level, 40))
            ),
            FilterError::Repeated(key) => write!(f, "{key}= is given twice"),
        }
    }
}

/// Parses a `FILTER` command's arguments (what follows the verb).
pub fn parse_filter(arguments: &str) -> Result<Filter, FilterError> {
    let mut filter = Filter::default();
    let mut rest = arguments.trim_start_matches(' ');
    while !rest.is_empty() {
        if let Some(text) = strip_key(rest, "text") {
            let text = text.trim();
            if text.is_empty() {
                return Err(FilterError::MissingValue("text"));
            }
            if filter.text.is_some() {
                return Err(FilterError::Repeated("text"));
            }
            filter.text = Some(text.to_lowercase());
            break;
        }
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        rest = after.trim_start_matches(' ');
        let Some((key, value)) = word.split_once('=') else {
            return Err(FilterError::UnknownKey(word.to_owned()));
        };
        let (name, slot): (&'static str, &mut Option<String>) =
            match key.to_ascii_lowercase().as_str() {
                "level" => {
                    if value.is_empty() {
                        return Err(FilterError::MissingValue("level"));
                    }
                    if filter.level.is_some() {
                        return Err(FilterError::Repeated("level"));
                    }
                    let level = Level::parse(value)
                        .ok_or_else(|| FilterError::BadLevel(value.to_owned()))?;
                    filter.level = Some(level);
                    continue;
                }
                "instance" => ("instance", &mut filter.instance),
                "queue" => ("queue", &mut filter.queue_id),
                _ => return Err(FilterError::UnknownKey(key.to_owned())),
            };
        if value.is_empty() {
            return Err(FilterError::MissingValue(name));
        }
        if slot.is_some() {
            return Err(FilterError::Repeated(name));
        }
        *slot = Some(value.to_owned());
    }
    Ok(filter)
}

/// `rest` after `key=`, the key (ASCII) in any case.
fn strip_key<'a>(rest: &'a str, key: &str) -> Option<&'a str> {
    let bytes = rest.as_bytes();
    // Compared as bytes: `rest` may have a multi-byte character where the
    // key would end; an ASCII key and `=` matched leave a boundary after.
    (bytes.len() > key.len()
        && bytes[..key.len()].eq_ignore_ascii_case(key.as_bytes())
        && bytes[key.len()] == b'=')
        .then(|| &rest[key.len() + 1..])
}

/// One command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Capa,
    Noop,
    StartTls,
    /// `AUTH mechanism [initial-response]`.
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
    Filter(Filter),
    Tail(usize),
    Follow,
    Stop,
    Quit,
}

/// Why a line is not a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not UTF-8, or a control character in it.
    BadCharacters,
    Empty,
    UnknownCommand,
    /// The verb is known, its arguments are not right; the text says how.
    BadArguments(&'static str),
    BadFilter(FilterError),
}

/// Parses one command line, without its line end.
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    let text = std::str::from_utf8(line).map_err(|_| ParseError::BadCharacters)?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::BadCharacters);
    }
    // A tab is a space: no tab reaches a filter, and so none is echoed
    // back in a reply.
    let text = text.replace('\t', " ");
    let text = text.trim_matches(' ');
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let (verb, arguments) = text.split_once([' ', '\t']).unwrap_or((text, ""));
    let arguments = arguments.trim_matches([' ', '\t']);
    let none = |command: Command| {
        if arguments.is_empty() {
            Ok(command)
        } else {
            Err(ParseError::BadArguments("this command takes no arguments"))
        }
    };
    match verb.to_ascii_uppercase().as_str() {
        "CAPA" => none(Command::Capa),
        "NOOP" => none(Command::Noop),
        "STARTTLS" => none(Command::StartTls),
        "FOLLOW" => none(Command::Follow),
        "STOP" => none(Command::Stop),
        "QUIT" => none(Command::Quit),
        "AUTH" => {
            let mut words = arguments.split([' ', '\t']).filter(|w| !w.is_empty());
            let (Some(mechanism), initial, None) = (words.next(), words.next(), words.next())
            else {
                return Err(ParseError::BadArguments(
                    "use AUTH PLAIN, with or without the base64 response",
                ));
            };
            Ok(Command::Auth {
                mechanism: mechanism.to_owned(),
                initial: initial.map(str::to_owned),
            })
        }
        "FILTER" => parse_filter(arguments)
            .map(Command::Filter)
            .map_err(ParseError::BadFilter),
        "TAIL" => match arguments.parse::<usize>() {
            Ok(lines) if lines <= REMOTE_LOG_TAIL_LINES_MAX && !arguments.starts_with('+') => {
                Ok(Command::Tail(lines))
            }
            _ => Err(ParseError::BadArguments(
                "use TAIL n, with n from 0 to 10000",
            )),
        },
        _ => Err(ParseError::UnknownCommand),
    }
}

/// The `AUTH PLAIN` command line (without its line end) that logs in as
/// `login` with `password` (RFC 4616: no authorization identity).
pub fn auth_plain_command(login: &str, password: &str) -> String {
    use base64::Engine as _;
    let response = format!("\0{login}\0{password}");
    format!(
        "AUTH PLAIN {}",
        base64::engine::general_purpose::STANDARD.encode(response)
    )
}

/// What a line from the server is, by its marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerLine<'a> {
    /// `+OK text`.
    Ok(&'a str),
    /// `-ERR text`.
    Err(&'a str),
    /// `+ `: a SASL response is wanted.
    Continue,
    /// `* TIME LEVEL INSTANCE QUEUE TEXT`: a log line (what follows `* `).
    Log(&'a str),
    /// `! text`: news about the stream, such as lines dropped.
    Notice(&'a str),
    Other(&'a str),
}

/// Tells a server line (without its line end) by its marker.
pub fn classify(line: &str) -> ServerLine<'_> {
    if let Some(rest) = line.strip_prefix("+OK") {
        ServerLine::Ok(rest.trim_start())
    } else if let Some(rest) = line.strip_prefix("-ERR") {
        ServerLine::Err(rest.trim_start())
    } else if line == "+" || line.starts_with("+ ") {
        ServerLine::Continue
    } else if let Some(rest) = line.strip_prefix("* ") {
        ServerLine::Log(rest)
    } else if let Some(rest) = line.strip_prefix("! ") {
        ServerLine::Notice(rest)
    } else {
        ServerLine::Other(line)
    }
}
