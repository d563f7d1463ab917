//! POP3 command lines (RFC 1939 3, RFC 2449 3) and responses.
//!
//! A command is a case-insensitive keyword of three or four characters,
//! then arguments separated by single spaces. Lines arrive here without
//! their CRLF; the machine has already bounded their length.

use crate::auth::Secret;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    User(String),
    /// RFC 1939 7: the password is the rest of the line, spaces included.
    Pass(Secret),
    Apop,
    /// RFC 5034 4. `AUTH` alone asks for the mechanisms.
    Auth {
        mechanism: Option<String>,
        initial_response: Option<String>,
    },
    Stls,
    Capa,
    Stat,
    List(Option<u32>),
    Retr(u32),
    Dele(u32),
    Noop,
    Rset,
    Quit,
    /// TOP msg n: the header and `n` lines of the body.
    Top(u32, u32),
    Uidl(Option<u32>),
}

/// Why a command line was not understood; each maps to one `-ERR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    UnknownCommand,
    /// A required argument is missing.
    MissingArgument(&'static str),
    TooManyArguments,
    /// A message number or line count that is not a decimal number that
    /// fits.
    BadNumber,
    /// Not UTF-8, or a control character in an argument.
    BadText,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownCommand => f.write_str("Unknown command"),
            ParseError::MissingArgument(what) => write!(f, "Missing argument: {what}"),
            ParseError::TooManyArguments => f.write_str("Too many arguments"),
            ParseError::BadNumber => f.write_str("Invalid number: use a decimal number"),
            ParseError::BadText => f.write_str("Invalid characters: arguments are printable UTF-8"),
        }
    }
}

/// Parses one command line (without CRLF).
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::BadText)?;
    if line.chars().any(|c| c.is_control()) {
        return Err(ParseError::BadText);
    }
    let (keyword, rest) = match line.split_once(' ') {
        Some((keyword, rest)) => (keyword, Some(rest)),
        None => (line, None),
    };
    let keyword = keyword.to_ascii_uppercase();
    let arguments: Vec<&str> = rest.map_or_else(Vec::new, |rest| {
        rest.split(' ').filter(|a| !a.is_empty()).collect()
    });
    let none = |command: Command| {
        if arguments.is_empty() {
            Ok(command)
        } else {
            Err(ParseError::TooManyArguments)
        }
    };
    match keyword.as_str() {
        "USER" => match arguments.as_slice() {
            [] => Err(ParseError::MissingArgument("a user name")),
            [name] => Ok(Command::User((*name).to_owned())),
            _ => Err(ParseError::TooManyArguments),
        },
        "PASS" => match rest {
            Some(password) if !password.is_empty() => Ok(Command::Pass(Secret::new(password))),
            _ => Err(ParseError::MissingArgument("a password")),
        },
        "APOP" => Ok(Command::Apop),
        "AUTH" => match arguments.as_slice() {
            [] => Ok(Command::Auth {
                mechanism: None,
                initial_response: None,
            }),
            [mechanism] => Ok(Command::Auth {
                mechanism: Some((*mechanism).to_owned()),
                initial_response: None,
            }),
            [mechanism, response] => Ok(Command::Auth {
                mechanism: Some((*mechanism).to_owned()),
                initial_response: Some((*response).to_owned()),
            }),
            _ => Err(ParseError::TooManyArguments),
        },
        "STLS" => none(Command::Stls),
        "CAPA" => none(Command::Capa),
        "STAT" => none(Command::Stat),
        "NOOP" => none(Command::Noop),
        "RSET" => none(Command::Rset),
        "QUIT" => none(Command::Quit),
        "LIST" => optional_number(&arguments).map(Command::List),
        "UIDL" => optional_number(&arguments).map(Command::Uidl),
        "RETR" => one_number(&arguments).map(Command::Retr),
        "DELE" => one_number(&arguments).map(Command::Dele),
        "TOP" => match arguments.as_slice() {
            [] => Err(ParseError::MissingArgument("a message number")),
            [_] => Err(ParseError::MissingArgument("a number of lines")),
            [message, lines] => Ok(Command::Top(number(message)?, number(lines)?)),
            _ => Err(ParseError::TooManyArguments),
        },
        _ => Err(ParseError::UnknownCommand),
    }
}

fn number(text: &str) -> Result<u32, ParseError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadNumber);
    }
    text.parse().map_err(|_| ParseError::BadNumber)
}

fn one_number(arguments: &[&str]) -> Result<u32, ParseError> {
    match arguments {
        [] => Err(ParseError::MissingArgument("a message number")),
        [message] => number(message),
        _ => Err(ParseError::TooManyArguments),
    }
}

fn optional_number(arguments: &[&str]) -> Result<Option<u32>, ParseError> {
    match arguments {
        [] => Ok(None),
        [message] => number(message).map(Some),
        _ => Err(ParseError::TooManyArguments),
    }
}

/// An RFC 3206 / RFC 2449 8 response code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The credentials were wrong (RFC 3206 4).
    Auth,
    /// A temporary failure; retrying later may work (RFC 3206 5).
    SysTemp,
    /// A permanent failure; a human must act (RFC 3206 5).
    SysPerm,
    /// The maildrop is locked by another session (RFC 2449 8.1.2).
    InUse,
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Code::Auth => "AUTH",
            Code::SysTemp => "SYS/TEMP",
            Code::SysPerm => "SYS/PERM",
            Code::InUse => "IN-USE",
        })
    }
}

/// `+OK text` or `-ERR [CODE] text`, with CRLF.
pub fn ok(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"+OK");
    if !text.is_empty() {
        out.push(b' ');
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

pub fn err(out: &mut Vec<u8>, code: Option<Code>, text: &str) {
    out.extend_from_slice(b"-ERR ");
    if let Some(code) = code {
        out.extend_from_slice(format!("[{code}] ").as_bytes());
    }
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A multi-line response (RFC 1939 3): `+OK text`, the lines
/// dot-stuffed, then `.`.
pub fn multi_line(out: &mut Vec<u8>, text: &str, lines: &[String]) {
    ok(out, text);
    for line in lines {
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_table() {
        use Command::*;
        let pass = |p: &str| Pass(Secret::new(p));
        let rows: &[(&str, Result<Command, ParseError>)] = &[
            ("USER alice", Ok(User("alice".into()))),
            (
                "user alice@example.test",
                Ok(User("alice@example.test".into())),
            ),
            ("USER", Err(ParseError::MissingArgument("a user name"))),
            ("USER a b", Err(ParseError::TooManyArguments)),
            ("PASS secret", Ok(pass("secret"))),
            ("PASS with spaces  in it", Ok(pass("with spaces  in it"))),
            ("PASS", Err(ParseError::MissingArgument("a password"))),
            ("PASS ", Err(ParseError::MissingArgument("a password"))),
            ("APOP alice 0123456789abcdef", Ok(Apop)),
            (
                "AUTH",
                Ok(Auth {
                    mechanism: None,
                    initial_response: None,
                }),
            ),
            (
                "auth plain",
                Ok(Auth {
                    mechanism: Some("plain".into()),
                    initial_response: None,
                }),
            ),
            (
                "AUTH PLAIN AGFsaWNlAHB3",
                Ok(Auth {
                    mechanism: Some("PLAIN".into()),
                    initial_response: Some("AGFsaWNlAHB3".into()),
                }),
            ),
            ("AUTH PLAIN a b", Err(ParseError::TooManyArguments)),
            ("STLS", Ok(Stls)),
            ("STLS now", Err(ParseError::TooManyArguments)),
            ("capa", Ok(Capa)),
            ("STAT", Ok(Stat)),
            ("LIST", Ok(List(None))),
            ("LIST 2", Ok(List(Some(2)))),
            ("LIST 0", Ok(List(Some(0)))),
            ("LIST x", Err(ParseError::BadNumber)),
            ("LIST -1", Err(ParseError::BadNumber)),
            ("LIST +1", Err(ParseError::BadNumber)),
            ("LIST 99999999999", Err(ParseError::BadNumber)),
            ("LIST 1 2", Err(ParseError::TooManyArguments)),
            ("RETR 1", Ok(Retr(1))),
            ("RETR", Err(ParseError::MissingArgument("a message number"))),
            ("DELE 4294967295", Ok(Dele(u32::MAX))),
            ("DELE 4294967296", Err(ParseError::BadNumber)),
            ("NOOP", Ok(Noop)),
            ("RSET", Ok(Rset)),
            ("QUIT", Ok(Quit)),
            ("QUIT now", Err(ParseError::TooManyArguments)),
            ("TOP 1 0", Ok(Top(1, 0))),
            (
                "TOP 1",
                Err(ParseError::MissingArgument("a number of lines")),
            ),
            ("TOP", Err(ParseError::MissingArgument("a message number"))),
            ("TOP 1 -5", Err(ParseError::BadNumber)),
            ("UIDL", Ok(Uidl(None))),
            ("UIDL 3", Ok(Uidl(Some(3)))),
            ("FROB", Err(ParseError::UnknownCommand)),
            ("", Err(ParseError::UnknownCommand)),
            ("RETRX 1", Err(ParseError::UnknownCommand)),
            ("USER al\x01ice", Err(ParseError::BadText)),
        ];
        for (line, expected) in rows {
            assert_eq!(&parse(line.as_bytes()), expected, "{line:?}");
        }
        assert_eq!(parse(b"USER \xff"), Err(ParseError::BadText));
    }

    #[test]
    fn responses_are_rendered_with_codes_and_dot_stuffing() {
        let mut out = Vec::new();
        ok(&mut out, "done");
        err(&mut out, Some(Code::InUse), "locked");
        err(&mut out, None, "no");
        multi_line(&mut out, "", &["1 100".into(), ".hidden".into()]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "+OK done\r\n-ERR [IN-USE] locked\r\n-ERR no\r\n+OK\r\n1 100\r\n..hidden\r\n.\r\n"
        );
    }
}
