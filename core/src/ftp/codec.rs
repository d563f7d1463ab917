//! The FTP wire format: command lines parsed (RFC 959 5.3, RFC 2389,
//! RFC 2428, RFC 3659, RFC 4217) and replies rendered (RFC 959 4.2).

use crate::auth::Secret;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One command from the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    User(String),
    Pass(Secret),
    Pwd,
    Cwd(String),
    Cdup,
    /// RFC 959 3.1.1: `A` or `I` (`L 8` is `I`); the form (`N`) is ignored.
    Type(DataType),
    Mode(char),
    Stru(char),
    Pasv,
    /// RFC 2428 3: no argument, a network protocol number, or `ALL`.
    Epsv(EpsvArgument),
    Port(SocketAddr),
    Eprt(SocketAddr),
    List(String),
    Nlst(String),
    Mlsd(String),
    Mlst(String),
    Size(String),
    Mdtm(String),
    Retr(String),
    Stor(String),
    Appe(String),
    Dele(String),
    Mkd(String),
    Rmd(String),
    Rnfr(String),
    Rnto(String),
    Rest(u64),
    Abor,
    Feat,
    Opts(String),
    Syst,
    Noop,
    Quit,
    /// RFC 4217 4: the mechanism, upper-cased.
    Auth(String),
    Pbsz(String),
    Prot(char),
    /// RFC 959 4.1.3: answered 202 (no storage is reserved ahead).
    Allo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Ascii,
    Image,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpsvArgument {
    Any,
    /// RFC 2428: 1 is IPv4, 2 is IPv6.
    Protocol(u8),
    All,
}

/// Why a line is not a command we take; each has its reply in
/// [`ParseError::code`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not valid UTF-8 (RFC 2640 paths are UTF-8).
    NotUtf8,
    /// RFC 959 5.4: 500 for a command we do not know.
    UnknownCommand(String),
    /// RFC 959 5.4: 502 for one we know and do not do.
    NotImplemented(String),
    /// 501: the argument is missing or malformed.
    BadArgument(&'static str, &'static str),
    /// 504: a parameter we do not implement (MODE B, STRU R, TYPE E).
    ParameterNotImplemented(&'static str),
}

impl ParseError {
    pub fn code(&self) -> u16 {
        match self {
            ParseError::NotUtf8 | ParseError::UnknownCommand(_) => 500,
            ParseError::NotImplemented(_) => 502,
            ParseError::BadArgument(..) => 501,
            ParseError::ParameterNotImplemented(_) => 504,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotUtf8 => f.write_str("Command not understood: it is not UTF-8"),
            ParseError::UnknownCommand(verb) => write!(f, "Unknown command {verb}"),
            ParseError::NotImplemented(verb) => write!(f, "{verb} is not implemented here"),
            ParseError::BadArgument(verb, why) => write!(f, "{verb}: {why}"),
            ParseError::ParameterNotImplemented(what) => write!(f, "{what} is not implemented"),
        }
    }
}

/// Parses one line, without its line end. Telnet IAC sequences (RFC 959
/// 4.1.3: a client may send IP and Synch before ABOR) are dropped first.
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let line = strip_telnet(line);
    let text = std::str::from_utf8(&line).map_err(|_| ParseError::NotUtf8)?;
    let (verb, argument) = match text.split_once(' ') {
        Some((verb, argument)) => (verb, argument),
        None => (text, ""),
    };
    let verb = verb.to_ascii_uppercase();
    let required = |name: &'static str| {
        if argument.is_empty() {
            Err(ParseError::BadArgument(name, "an argument is required"))
        } else {
            Ok(argument.to_owned())
        }
    };
    let none = |command: Command| Ok(command);
    match verb.as_str() {
        "USER" => required("USER").map(Command::User),
        // An empty password is a password (anonymous clients send one).
        "PASS" => Ok(Command::Pass(Secret::new(argument))),
        "PWD" | "XPWD" => none(Command::Pwd),
        "CWD" | "XCWD" => required("CWD").map(Command::Cwd),
        "CDUP" | "XCUP" => none(Command::Cdup),
        "TYPE" => parse_type(argument).map(Command::Type),
        "MODE" => {
            single_letter("MODE", argument, "S", "MODE other than S (stream)").map(Command::Mode)
        }
        "STRU" => {
            single_letter("STRU", argument, "F", "STRU other than F (file)").map(Command::Stru)
        }
        "PASV" => none(Command::Pasv),
        "EPSV" => parse_epsv(argument).map(Command::Epsv),
        "PORT" => parse_port(argument).map(Command::Port),
        "EPRT" => parse_eprt(argument).map(Command::Eprt),
        "LIST" => Ok(Command::List(listing_argument(argument))),
        "NLST" => Ok(Command::Nlst(listing_argument(argument))),
        "MLSD" => Ok(Command::Mlsd(argument.to_owned())),
        "MLST" => Ok(Command::Mlst(argument.to_owned())),
        "SIZE" => required("SIZE").map(Command::Size),
        "MDTM" => required("MDTM").map(Command::Mdtm),
        "RETR" => required("RETR").map(Command::Retr),
        "STOR" => required("STOR").map(Command::Stor),
        "APPE" => required("APPE").map(Command::Appe),
        "DELE" => required("DELE").map(Command::Dele),
        "MKD" | "XMKD" => required("MKD").map(Command::Mkd),
        "RMD" | "XRMD" => required("RMD").map(Command::Rmd),
        "RNFR" => required("RNFR").map(Command::Rnfr),
        "RNTO" => required("RNTO").map(Command::Rnto),
        "REST" => argument
            .parse()
            .map(Command::Rest)
            .map_err(|_| ParseError::BadArgument("REST", "the restart marker must be a number")),
        "ABOR" => none(Command::Abor),
        "FEAT" => none(Command::Feat),
        "OPTS" => required("OPTS").map(Command::Opts),
        "SYST" => none(Command::Syst),
        "NOOP" => none(Command::Noop),
        "QUIT" => none(Command::Quit),
        "AUTH" => required("AUTH").map(|m| Command::Auth(m.to_ascii_uppercase())),
        "PBSZ" => required("PBSZ").map(Command::Pbsz),
        "PROT" => match argument.to_ascii_uppercase().as_str() {
            "C" => Ok(Command::Prot('C')),
            "P" => Ok(Command::Prot('P')),
            "S" | "E" => Err(ParseError::ParameterNotImplemented(
                "PROT S and E (RFC 4217 9)",
            )),
            _ => Err(ParseError::BadArgument("PROT", "use C or P")),
        },
        "ALLO" => none(Command::Allo),
        "ACCT" | "SMNT" | "REIN" | "STOU" | "SITE" | "STAT" | "HELP" | "CCC" | "ADAT" | "MIC"
        | "CONF" | "ENC" | "LANG" => Err(ParseError::NotImplemented(verb)),
        _ => Err(ParseError::UnknownCommand(shown_verb(&verb))),
    }
}

/// A verb as a reply may quote it: printable ASCII, bounded.
fn shown_verb(verb: &str) -> String {
    verb.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(16)
        .collect()
}

fn strip_telnet(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut bytes = line.iter();
    while let Some(&byte) = bytes.next() {
        if byte == 0xFF {
            // IAC and the command byte after it.
            bytes.next();
        } else {
            out.push(byte);
        }
    }
    out
}

/// LIST and NLST take `ls` options from many clients (`LIST -la`): they
/// are dropped, and what is left is the path.
fn listing_argument(argument: &str) -> String {
    let mut rest = argument.trim_start();
    while rest.starts_with('-') {
        rest = rest.split_once(' ').map_or("", |(_, r)| r).trim_start();
    }
    rest.to_owned()
}

fn parse_type(argument: &str) -> Result<DataType, ParseError> {
    let mut words = argument.split(' ').filter(|w| !w.is_empty());
    let first = words.next().map(str::to_ascii_uppercase);
    let second = words.next().map(str::to_ascii_uppercase);
    match (first.as_deref(), second.as_deref()) {
        (Some("A"), None | Some("N")) => Ok(DataType::Ascii),
        (Some("I"), None) | (Some("L"), Some("8")) => Ok(DataType::Image),
        (Some("A" | "E"), Some(_)) | (Some("E"), None) | (Some("L"), _) => Err(
            ParseError::ParameterNotImplemented("TYPE other than A, A N, I and L 8"),
        ),
        _ => Err(ParseError::BadArgument("TYPE", "use A or I")),
    }
}

fn single_letter(
    verb: &'static str,
    argument: &str,
    accepted: &str,
    refused: &'static str,
) -> Result<char, ParseError> {
    if argument.eq_ignore_ascii_case(accepted) {
        return Ok(accepted.chars().next().unwrap_or('?'));
    }
    if argument.len() == 1 && argument.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ParseError::ParameterNotImplemented(refused));
    }
    Err(ParseError::BadArgument(verb, "one letter is expected"))
}

fn parse_epsv(argument: &str) -> Result<EpsvArgument, ParseError> {
    match argument {
        "" => Ok(EpsvArgument::Any),
        all if all.eq_ignore_ascii_case("ALL") => Ok(EpsvArgument::All),
        "1" => Ok(EpsvArgument::Protocol(1)),
        "2" => Ok(EpsvArgument::Protocol(2)),
        _ => Err(ParseError::BadArgument(
            "EPSV",
            "use 1 (IPv4), 2 (IPv6) or ALL",
        )),
    }
}

/// RFC 959 4.1.2: `h1,h2,h3,h4,p1,p2`.
fn parse_port(argument: &str) -> Result<SocketAddr, ParseError> {
    let bad = ParseError::BadArgument("PORT", "expected h1,h2,h3,h4,p1,p2");
    let numbers: Vec<u8> = argument
        .split(',')
        .map(|n| n.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad.clone())?;
    let [a, b, c, d, high, low] = numbers[..] else {
        return Err(bad);
    };
    let ip = Ipv4Addr::new(a, b, c, d);
    Ok(SocketAddr::new(
        IpAddr::V4(ip),
        u16::from(high) << 8 | u16::from(low),
    ))
}

/// RFC 2428 2: `<d>proto<d>address<d>port<d>`, any printable delimiter.
fn parse_eprt(argument: &str) -> Result<SocketAddr, ParseError> {
    let bad = ParseError::BadArgument("EPRT", "expected |1|address|port| or |2|address|port|");
    let Some(delimiter) = argument.chars().next() else {
        return Err(bad);
    };
    let parts: Vec<&str> = argument.split(delimiter).collect();
    let ["", protocol, address, port, ""] = parts[..] else {
        return Err(bad);
    };
    let port: u16 = port.parse().map_err(|_| bad.clone())?;
    let ip: IpAddr = match protocol {
        "1" => address.parse::<Ipv4Addr>().map(IpAddr::V4),
        "2" => address.parse::<Ipv6Addr>().map(IpAddr::V6),
        _ => {
            return Err(ParseError::BadArgument(
                "EPRT",
                "network protocol not supported, use (1,2)",
            ));
        }
    }
    .map_err(|_| bad)?;
    Ok(SocketAddr::new(ip, port))
}

/// A one-line reply: `code text CRLF`. Line ends in `text` are removed,
/// so nothing a client named can start a reply line of its own.
pub fn reply(out: &mut Vec<u8>, code: u16, text: &str) {
    let text: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    out.extend_from_slice(format!("{code} {text}\r\n").as_bytes());
}

/// RFC 959 4.2: a multi-line reply, `code-first`, the lines (each begun
/// with a space, so none can look like the end), `code last`.
pub fn multi_line(out: &mut Vec<u8>, code: u16, first: &str, lines: &[String], last: &str) {
    out.extend_from_slice(format!("{code}-{first}\r\n").as_bytes());
    for line in lines {
        let line: String = line.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        out.extend_from_slice(format!(" {line}\r\n").as_bytes());
    }
    reply(out, code, last);
}

/// RFC 959 7 (the PWD and MKD replies): a path in double quotes, a quote
/// inside it doubled.
pub fn quoted(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_table() {
        let rows: &[(&[u8], Result<Command, ParseError>)] = &[
            (b"USER alice", Ok(Command::User("alice".into()))),
            (
                b"user alice@example.test",
                Ok(Command::User("alice@example.test".into())),
            ),
            (
                b"PASS secret word",
                Ok(Command::Pass(Secret::new("secret word"))),
            ),
            (b"PASS", Ok(Command::Pass(Secret::new("")))),
            (
                b"USER",
                Err(ParseError::BadArgument("USER", "an argument is required")),
            ),
            (b"PWD", Ok(Command::Pwd)),
            (b"XPWD", Ok(Command::Pwd)),
            (b"CWD my dir", Ok(Command::Cwd("my dir".into()))),
            (b"TYPE I", Ok(Command::Type(DataType::Image))),
            (b"TYPE A N", Ok(Command::Type(DataType::Ascii))),
            (b"TYPE L 8", Ok(Command::Type(DataType::Image))),
            (
                b"TYPE E",
                Err(ParseError::ParameterNotImplemented(
                    "TYPE other than A, A N, I and L 8",
                )),
            ),
            (
                b"TYPE Q",
                Err(ParseError::BadArgument("TYPE", "use A or I")),
            ),
            (b"MODE S", Ok(Command::Mode('S'))),
            (
                b"MODE B",
                Err(ParseError::ParameterNotImplemented(
                    "MODE other than S (stream)",
                )),
            ),
            (b"STRU F", Ok(Command::Stru('F'))),
            (
                b"STRU R",
                Err(ParseError::ParameterNotImplemented(
                    "STRU other than F (file)",
                )),
            ),
            (b"EPSV", Ok(Command::Epsv(EpsvArgument::Any))),
            (b"EPSV ALL", Ok(Command::Epsv(EpsvArgument::All))),
            (b"EPSV 2", Ok(Command::Epsv(EpsvArgument::Protocol(2)))),
            (
                b"PORT 127,0,0,1,200,10",
                Ok(Command::Port("127.0.0.1:51210".parse().unwrap())),
            ),
            (
                b"PORT 127,0,0,1,200",
                Err(ParseError::BadArgument(
                    "PORT",
                    "expected h1,h2,h3,h4,p1,p2",
                )),
            ),
            (
                b"PORT 256,0,0,1,1,1",
                Err(ParseError::BadArgument(
                    "PORT",
                    "expected h1,h2,h3,h4,p1,p2",
                )),
            ),
            (
                b"EPRT |1|132.235.1.2|6275|",
                Ok(Command::Eprt("132.235.1.2:6275".parse().unwrap())),
            ),
            (
                b"EPRT !2!::1!5282!",
                Ok(Command::Eprt("[::1]:5282".parse().unwrap())),
            ),
            (
                b"EPRT |3|x|1|",
                Err(ParseError::BadArgument(
                    "EPRT",
                    "network protocol not supported, use (1,2)",
                )),
            ),
            (
                b"EPRT |1|::1|1|",
                Err(ParseError::BadArgument(
                    "EPRT",
                    "expected |1|address|port| or |2|address|port|",
                )),
            ),
            (b"LIST", Ok(Command::List(String::new()))),
            (b"LIST -la", Ok(Command::List(String::new()))),
            (b"LIST -a -l docs", Ok(Command::List("docs".into()))),
            (b"NLST /", Ok(Command::Nlst("/".into()))),
            (b"MLSD", Ok(Command::Mlsd(String::new()))),
            (b"MLST a.txt", Ok(Command::Mlst("a.txt".into()))),
            (b"REST 100", Ok(Command::Rest(100))),
            (
                b"REST x",
                Err(ParseError::BadArgument(
                    "REST",
                    "the restart marker must be a number",
                )),
            ),
            (b"\xff\xf4\xff\xf2ABOR", Ok(Command::Abor)),
            (b"AUTH tls", Ok(Command::Auth("TLS".into()))),
            (b"PBSZ 0", Ok(Command::Pbsz("0".into()))),
            (b"PROT p", Ok(Command::Prot('P'))),
            (
                b"PROT S",
                Err(ParseError::ParameterNotImplemented(
                    "PROT S and E (RFC 4217 9)",
                )),
            ),
            (
                b"SITE CHMOD 777 x",
                Err(ParseError::NotImplemented("SITE".into())),
            ),
            (b"BOGUS", Err(ParseError::UnknownCommand("BOGUS".into()))),
            (b"\xc3\x28", Err(ParseError::NotUtf8)),
            (b"OPTS UTF8 ON", Ok(Command::Opts("UTF8 ON".into()))),
            (b"RNFR a", Ok(Command::Rnfr("a".into()))),
        ];
        for (line, expected) in rows {
            assert_eq!(
                &parse(line),
                expected,
                "parsing {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn replies_cannot_be_split_by_peer_text() {
        let mut out = Vec::new();
        reply(&mut out, 550, "no such file a\r\n230 b");
        assert_eq!(out, b"550 no such file a230 b\r\n");
        let mut out = Vec::new();
        multi_line(
            &mut out,
            211,
            "Features:",
            &["UTF8".into(), "x\r\n211 End".into()],
            "End",
        );
        assert_eq!(out, b"211-Features:\r\n UTF8\r\n x211 End\r\n211 End\r\n");
    }

    #[test]
    fn quoted_paths_double_their_quotes() {
        assert_eq!(quoted("/a\"b"), "\"/a\"\"b\"");
    }
}
