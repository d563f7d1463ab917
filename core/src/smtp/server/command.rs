//! The command parser: one line in, one [`Command`] or a reply out.
//!
//! Parsing is separate from the machine so it can be table-tested on its
//! own. Paths are checked here only for shape; the machine decides what
//! an accepted path means.

use super::reply::{Reply, status};
use crate::address::{self, ForwardPath, PathError, ReversePath};
// A parameter the client sent is echoed in the refusal: a CR or ESC in it
// must not reach the client's terminal or reply parser raw.
use crate::text::escape_controls;

/// A command, parsed (RFC 5321 4.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    Mail(MailCommand),
    Rcpt(ForwardPath),
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Expn,
    Help,
    /// RFC 3207.
    StartTls,
    /// RFC 4954: `AUTH mechanism [initial-response]`.
    Auth {
        mechanism: String,
        initial_response: Option<String>,
    },
}

/// `MAIL FROM:<reverse-path> [SP mail-parameters]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailCommand {
    pub reverse_path: ReversePath,
    /// RFC 1870 `SIZE=`: the client's estimate of the message size.
    pub size: Option<u64>,
    pub body: BodyType,
    /// RFC 6531 `SMTPUTF8`.
    pub smtputf8: bool,
}

/// RFC 6152 `BODY=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub enum BodyType {
    #[default]
    SevenBit,
    EightBitMime,
}

/// What the parser needs to know about the session.
#[derive(Clone, Copy, Debug)]
pub struct ParseContext {
    /// EHLO was given: service extensions (parameters) may be used.
    pub extended: bool,
}

/// Parses one command line, without its line ending.
pub fn parse(line: &[u8], context: ParseContext) -> Result<Command, Reply> {
    if line.contains(&0) {
        return Err(Reply::new(
            500,
            status::SYNTAX_ERROR,
            "NUL character in command",
        ));
    }
    let line = std::str::from_utf8(line)
        .map_err(|_| Reply::new(500, status::SYNTAX_ERROR, "Command is not valid UTF-8"))?;
    let (verb, argument) = match line.split_once(' ') {
        Some((verb, argument)) => (verb, argument),
        None => (line, ""),
    };
    let verb = verb.to_ascii_uppercase();
    match verb.as_str() {
        "EHLO" => domain_argument(argument, "EHLO").map(Command::Ehlo),
        "HELO" => domain_argument(argument, "HELO").map(Command::Helo),
        "MAIL" => parse_mail(argument, context).map(Command::Mail),
        "RCPT" => parse_rcpt(argument, context),
        "DATA" => no_argument(argument, Command::Data),
        "RSET" => no_argument(argument, Command::Rset),
        "QUIT" => no_argument(argument, Command::Quit),
        "STARTTLS" => no_argument(argument, Command::StartTls),
        "AUTH" => parse_auth(argument),
        // RFC 5321 4.1.1.9: NOOP may carry a string, which is ignored; so
        // may HELP (4.1.1.8), whose topics we do not distinguish.
        "NOOP" => Ok(Command::Noop),
        "HELP" => Ok(Command::Help),
        "VRFY" => required_argument(argument, "VRFY", Command::Vrfy),
        "EXPN" => required_argument(argument, "EXPN", Command::Expn),
        _ => Err(Reply::new(
            500,
            status::INVALID_COMMAND,
            "Command unrecognized",
        )),
    }
}

fn parse_auth(argument: &str) -> Result<Command, Reply> {
    let mut words = argument.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(mechanism), initial_response, None) => Ok(Command::Auth {
            mechanism: mechanism.to_owned(),
            initial_response: initial_response.map(str::to_owned),
        }),
        _ => Err(Reply::new(
            501,
            status::INVALID_ARGUMENTS,
            "Syntax: AUTH mechanism [initial-response]",
        )),
    }
}

fn no_argument(argument: &str, command: Command) -> Result<Command, Reply> {
    if argument.trim().is_empty() {
        Ok(command)
    } else {
        Err(Reply::new(
            501,
            status::INVALID_ARGUMENTS,
            "Syntax error: no arguments allowed",
        ))
    }
}

fn required_argument(argument: &str, verb: &str, command: Command) -> Result<Command, Reply> {
    if argument.trim().is_empty() {
        Err(Reply::new(
            501,
            status::INVALID_ARGUMENTS,
            format!("Syntax: {verb} <address>"),
        ))
    } else {
        Ok(command)
    }
}

/// HELO and EHLO take a domain or address literal. We accept any single
/// printable word: many real clients send names that are not valid
/// domains, and refusing them helps nobody.
fn domain_argument(argument: &str, verb: &str) -> Result<String, Reply> {
    let domain = argument.trim();
    if domain.is_empty() || domain.contains(' ') || domain.chars().any(char::is_control) {
        return Err(Reply::new(
            501,
            status::INVALID_ARGUMENTS,
            format!("Syntax: {verb} <domain>"),
        ));
    }
    Ok(domain.to_owned())
}

/// Strips `FROM:` or `TO:` (any case, spaces allowed after the colon, as
/// many clients send them) and splits the path from the parameters.
fn path_and_parameters<'a>(
    argument: &'a str,
    keyword: &str,
    syntax: &str,
) -> Result<(&'a str, &'a str), Reply> {
    let syntax_error = || Reply::new(501, status::SYNTAX_ERROR, format!("Syntax: {syntax}"));
    let prefix = argument.get(..keyword.len()).ok_or_else(syntax_error)?;
    if !prefix.eq_ignore_ascii_case(keyword) {
        return Err(syntax_error());
    }
    let rest = argument[keyword.len()..].trim_start();
    address::split_path(rest).ok_or_else(syntax_error)
}

fn parse_mail(argument: &str, context: ParseContext) -> Result<MailCommand, Reply> {
    let (path, parameters) = path_and_parameters(argument, "FROM:", "MAIL FROM:<address>")?;
    let mut mail = MailCommand {
        reverse_path: ReversePath::Null,
        size: None,
        body: BodyType::SevenBit,
        smtputf8: false,
    };
    let mut seen = Vec::new();
    for parameter in parameters.split(' ').filter(|p| !p.is_empty()) {
        if !context.extended {
            return Err(Reply::new(
                555,
                status::INVALID_ARGUMENTS,
                "MAIL parameters need EHLO",
            ));
        }
        let (keyword, value) = match parameter.split_once('=') {
            Some((keyword, value)) => (keyword.to_ascii_uppercase(), Some(value)),
            None => (parameter.to_ascii_uppercase(), None),
        };
        if seen.contains(&keyword) {
            return Err(Reply::new(
                501,
                status::INVALID_ARGUMENTS,
                format!("Duplicate parameter {keyword}"),
            ));
        }
        match (keyword.as_str(), value) {
            ("SIZE", Some(value)) => {
                let size = value.parse::<u64>().map_err(|_| {
                    Reply::new(501, status::INVALID_ARGUMENTS, "Syntax: SIZE=<octets>")
                })?;
                mail.size = Some(size);
            }
            ("BODY", Some(value)) if value.eq_ignore_ascii_case("7BIT") => {
                mail.body = BodyType::SevenBit
            }
            ("BODY", Some(value)) if value.eq_ignore_ascii_case("8BITMIME") => {
                mail.body = BodyType::EightBitMime
            }
            ("BODY", _) => {
                return Err(Reply::new(
                    501,
                    status::INVALID_ARGUMENTS,
                    "Syntax: BODY=7BIT or BODY=8BITMIME",
                ));
            }
            ("SMTPUTF8", None) => mail.smtputf8 = true,
            // RFC 4954 5: the submitter's identity, for trusted relays
            // only; accepted and not used.
            ("AUTH", Some(_)) => {}
            _ => {
                return Err(Reply::new(
                    555,
                    status::INVALID_ARGUMENTS,
                    format!("Unsupported MAIL parameter {}", escape_controls(&keyword)),
                ));
            }
        }
        seen.push(keyword);
    }
    mail.reverse_path = address::parse_reverse_path(path, mail.smtputf8)
        .map_err(|error| path_error_reply(error, status::BAD_SENDER_SYNTAX, "sender"))?;
    Ok(mail)
}

/// RCPT's path is parsed by the machine, which knows whether the
/// transaction allows UTF-8; here we check shape and parameters only.
fn parse_rcpt(argument: &str, _context: ParseContext) -> Result<Command, Reply> {
    let (path, parameters) = path_and_parameters(argument, "TO:", "RCPT TO:<address>")?;
    if let Some(parameter) = parameters.split(' ').find(|p| !p.is_empty()) {
        return Err(Reply::new(
            555,
            status::INVALID_ARGUMENTS,
            format!(
                "Unsupported RCPT parameter {}",
                escape_controls(parameter.split('=').next().unwrap_or(parameter))
            ),
        ));
    }
    // Parse leniently as UTF-8 here; the machine re-checks against the
    // transaction's SMTPUTF8 flag.
    let forward_path = address::parse_forward_path(path, true)
        .map_err(|error| path_error_reply(error, status::BAD_DESTINATION_SYNTAX, "recipient"))?;
    Ok(Command::Rcpt(forward_path))
}

/// The reply for a path that did not parse.
pub fn path_error_reply(
    error: PathError,
    syntax_status: super::reply::EnhancedStatus,
    role: &str,
) -> Reply {
    match error {
        PathError::Syntax => Reply::new(501, syntax_status, format!("Bad {role} address syntax")),
        PathError::TooLong => Reply::new(
            501,
            syntax_status,
            format!("The {role} address is too long"),
        ),
        PathError::LabelTooLong => Reply::new(
            501,
            syntax_status,
            format!("The {role} address has a domain label over 63 octets (RFC 1035 2.3.4)"),
        ),
        PathError::NonAsciiWithoutSmtputf8 => Reply::new(
            553,
            status::NON_ASCII_ADDRESS,
            format!("Non-ASCII {role} address requires SMTPUTF8"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Mailbox;

    const EXTENDED: ParseContext = ParseContext { extended: true };
    const BASIC: ParseContext = ParseContext { extended: false };

    fn mailbox(local: &str, domain: &str) -> Mailbox {
        Mailbox {
            local_part: local.into(),
            domain: domain.into(),
        }
    }

    fn mail(path: ReversePath) -> MailCommand {
        MailCommand {
            reverse_path: path,
            size: None,
            body: BodyType::SevenBit,
            smtputf8: false,
        }
    }

    #[test]
    fn commands_that_parse() {
        let sender = ReversePath::Mailbox(mailbox("a", "b.test"));
        let rows: Vec<(&str, Command)> = vec![
            ("EHLO client.test", Command::Ehlo("client.test".into())),
            ("ehlo [127.0.0.1]", Command::Ehlo("[127.0.0.1]".into())),
            ("HELO client.test", Command::Helo("client.test".into())),
            ("MAIL FROM:<a@b.test>", Command::Mail(mail(sender.clone()))),
            ("mail from: <a@b.test>", Command::Mail(mail(sender.clone()))),
            ("MAIL FROM:<>", Command::Mail(mail(ReversePath::Null))),
            (
                "MAIL FROM:<a@b.test> SIZE=1000 BODY=8BITMIME",
                Command::Mail(MailCommand {
                    size: Some(1000),
                    body: BodyType::EightBitMime,
                    ..mail(sender.clone())
                }),
            ),
            (
                "MAIL FROM:<jö@b.test> SMTPUTF8",
                Command::Mail(MailCommand {
                    smtputf8: true,
                    ..mail(ReversePath::Mailbox(mailbox("jö", "b.test")))
                }),
            ),
            (
                "RCPT TO:<c@d.test>",
                Command::Rcpt(ForwardPath::Mailbox(mailbox("c", "d.test"))),
            ),
            (
                "RCPT TO:<postmaster>",
                Command::Rcpt(ForwardPath::Postmaster),
            ),
            ("DATA", Command::Data),
            ("rset", Command::Rset),
            ("NOOP anything", Command::Noop),
            ("QUIT", Command::Quit),
            ("VRFY alice", Command::Vrfy),
            ("EXPN list", Command::Expn),
            ("HELP", Command::Help),
        ];
        for (line, expected) in rows {
            assert_eq!(parse(line.as_bytes(), EXTENDED), Ok(expected), "{line}");
        }
    }

    #[test]
    fn commands_that_are_refused() {
        let rows: &[(&[u8], ParseContext, &str)] = &[
            (b"BOGUS", EXTENDED, "500 5.5.1"),
            (b"EHLO", EXTENDED, "501 5.5.4"),
            (b"HELO a b", EXTENDED, "501 5.5.4"),
            (b"MAIL <a@b.test>", EXTENDED, "501 5.5.2"),
            (b"MAIL FROM:a@b.test", EXTENDED, "501 5.5.2"),
            (b"MAIL FROM:<a@@b.test>", EXTENDED, "501 5.1.7"),
            (b"MAIL FROM:<a@b.test> SIZE=big", EXTENDED, "501 5.5.4"),
            (b"MAIL FROM:<a@b.test> SIZE=1 SIZE=2", EXTENDED, "501 5.5.4"),
            (
                b"MAIL FROM:<a@b.test> BODY=BINARYMIME",
                EXTENDED,
                "501 5.5.4",
            ),
            (b"MAIL FROM:<a@b.test> RET=HDRS", EXTENDED, "555 5.5.4"),
            (b"MAIL FROM:<a@b.test> SIZE=10", BASIC, "555 5.5.4"),
            (b"MAIL FROM:<j\xc3\xb6@b.test>", EXTENDED, "553 5.6.7"),
            (b"RCPT TO:<c@d.test> NOTIFY=NEVER", EXTENDED, "555 5.5.4"),
            (b"RCPT TO:<c d@d.test>", EXTENDED, "501 5.1.3"),
            (b"RCPT <c@d.test>", EXTENDED, "501 5.5.2"),
            (b"DATA now", EXTENDED, "501 5.5.4"),
            (b"VRFY", EXTENDED, "501 5.5.4"),
            (b"NO\0OP", EXTENDED, "500 5.5.2"),
            (b"\xff\xfe", EXTENDED, "500 5.5.2"),
        ];
        for (line, context, expected) in rows {
            let reply = parse(line, *context).expect_err(&String::from_utf8_lossy(line));
            let got = format!("{} {}", reply.code, reply.status.unwrap());
            assert_eq!(&got, expected, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn a_domain_label_over_63_octets_is_a_syntax_error_of_the_path() {
        let label = "d".repeat(64);
        let rows = [
            (format!("RCPT TO:<c@{label}.test>"), "501 5.1.3"),
            (format!("MAIL FROM:<c@{label}.test>"), "501 5.1.7"),
        ];
        for (line, expected) in rows {
            let reply = parse(line.as_bytes(), EXTENDED).unwrap_err();
            let got = format!("{} {}", reply.code, reply.status.unwrap());
            assert_eq!(got, expected, "{line}");
            assert!(reply.lines[0].contains("label over 63 octets"), "{reply:?}");
        }
        let fits = format!("RCPT TO:<c@{}.test>", "d".repeat(63));
        assert!(parse(fits.as_bytes(), EXTENDED).is_ok());
    }

    /// Found by the `smtp_command` fuzz target: the unknown parameter was
    /// echoed raw, control characters (bare CR, ESC) and all.
    #[test]
    fn refused_parameters_are_echoed_without_control_characters() {
        let rows: &[(&[u8], &str)] = &[
            (
                b"MAIL FROM:<a@b.test>\x1fSIZEP100",
                "Unsupported MAIL parameter \\x1fSIZEP100",
            ),
            (
                b"MAIL FROM:<a@b.test> X\r250\x1b[2J",
                "Unsupported MAIL parameter X\\r250\\x1b[2J",
            ),
            (
                b"RCPT TO:<c@d.test> N\rO=1",
                "Unsupported RCPT parameter N\\rO",
            ),
        ];
        for (line, expected) in rows {
            let reply = parse(line, EXTENDED).expect_err(&String::from_utf8_lossy(line));
            let text = reply.lines.join("\n");
            assert!(text.ends_with(expected), "{text:?}");
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
    }
}
