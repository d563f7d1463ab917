//! RFC 7208 sections 4.5, 4.6.1, 5 and 6: choosing the SPF record among a
//! domain's TXT records, and parsing it into terms. Every syntax error
//! anywhere in a record makes the whole record a `permerror` (4.6), so a
//! record is parsed completely before any term is evaluated.

use super::macros::{MacroError, MacroString};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The qualifier before a mechanism (4.6.2), `+` when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

/// The prefix lengths of `a` and `mx` (5.3, 5.4): `/24//64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DualCidr {
    pub v4: u8,
    pub v6: u8,
}

impl Default for DualCidr {
    fn default() -> Self {
        DualCidr { v4: 32, v6: 128 }
    }
}

/// The mechanisms of section 5.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mechanism {
    All,
    Include(MacroString),
    A(Option<MacroString>, DualCidr),
    Mx(Option<MacroString>, DualCidr),
    Ptr(Option<MacroString>),
    Ip4(Ipv4Addr, u8),
    Ip6(Ipv6Addr, u8),
    Exists(MacroString),
}

impl Mechanism {
    /// Does evaluating this mechanism query DNS (4.6.4)?
    pub fn queries_dns(&self) -> bool {
        !matches!(
            self,
            Mechanism::All | Mechanism::Ip4(..) | Mechanism::Ip6(..)
        )
    }
}

/// A qualified mechanism, with its text for the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Directive {
    pub qualifier: Qualifier,
    pub mechanism: Mechanism,
    pub text: String,
}

/// A parsed SPF record: its directives in order, and the two modifiers
/// that mean something (unknown modifiers are checked, then ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    pub directives: Vec<Directive>,
    pub redirect: Option<MacroString>,
    pub explanation: Option<MacroString>,
}

/// What choosing the record among a domain's TXT records found (4.5).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Selected<'a> {
    None,
    One(&'a str),
    Several,
}

/// Keeps the TXT records that begin with `v=spf1` and then a space or
/// their end, in any case (4.5).
pub(crate) fn select(records: &[String]) -> Selected<'_> {
    let mut found = records.iter().filter(|text| is_spf1(text));
    match (found.next(), found.next()) {
        (None, _) => Selected::None,
        (Some(one), None) => Selected::One(one),
        (Some(_), Some(_)) => Selected::Several,
    }
}

fn is_spf1(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 6
        && bytes[..6].eq_ignore_ascii_case(b"v=spf1")
        && (bytes.len() == 6 || bytes[6] == b' ')
}

/// Parses a record chosen by [`select`]. The error says what is wrong.
pub(crate) fn parse(text: &str) -> Result<Record, String> {
    if !text.is_ascii() {
        return Err("the record is not ASCII (3.1)".to_owned());
    }
    let mut record = Record::default();
    // The version, then terms separated by one or more spaces (4.6.1).
    for term in text[6..].split(' ').filter(|term| !term.is_empty()) {
        if let Some((name, value)) = modifier(term) {
            let problem = |error: MacroError| format!("{term:?}: {}", error.0);
            match name.to_ascii_lowercase().as_str() {
                "redirect" | "exp" => {
                    let spec = MacroString::parse_domain_spec(value).map_err(problem)?;
                    let slot = if name.eq_ignore_ascii_case("redirect") {
                        &mut record.redirect
                    } else {
                        &mut record.explanation
                    };
                    if slot.replace(spec).is_some() {
                        return Err(format!("{name}= appears twice (6)"));
                    }
                }
                _ => {
                    MacroString::parse(value, false).map_err(problem)?;
                }
            }
        } else {
            record.directives.push(directive(term)?);
        }
    }
    Ok(record)
}

/// `name "=" macro-string`, where the name is
/// `ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )` and the `=` comes before
/// any `:` or `/` (4.6.1).
fn modifier(term: &str) -> Option<(&str, &str)> {
    let (name, value) = term.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    valid.then_some((name, value))
}

fn directive(term: &str) -> Result<Directive, String> {
    let (qualifier, rest) = match term.as_bytes()[0] {
        b'+' => (Qualifier::Pass, &term[1..]),
        b'-' => (Qualifier::Fail, &term[1..]),
        b'~' => (Qualifier::SoftFail, &term[1..]),
        b'?' => (Qualifier::Neutral, &term[1..]),
        _ => (Qualifier::Pass, term),
    };
    let name_end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let (name, argument) = rest.split_at(name_end);
    let mechanism = mechanism(&name.to_ascii_lowercase(), argument)
        .map_err(|why| format!("{term:?}: {why}"))?;
    Ok(Directive {
        qualifier,
        mechanism,
        text: term.to_owned(),
    })
}

/// The mechanism `name` with what follows it (`:domain`, `/cidr`, ...).
fn mechanism(name: &str, argument: &str) -> Result<Mechanism, String> {
    let spec = |text: &str| MacroString::parse_domain_spec(text).map_err(|error| error.0);
    Ok(match name {
        "all" if argument.is_empty() => Mechanism::All,
        "include" => Mechanism::Include(spec(required(argument)?)?),
        "exists" => Mechanism::Exists(spec(required(argument)?)?),
        "ptr" => Mechanism::Ptr(match argument {
            "" => None,
            _ => Some(spec(required(argument)?)?),
        }),
        "a" | "mx" => {
            let (domain, cidr) = dual_cidr(argument)?;
            let domain = match domain {
                "" => None,
                _ => Some(spec(required(domain)?)?),
            };
            if name == "a" {
                Mechanism::A(domain, cidr)
            } else {
                Mechanism::Mx(domain, cidr)
            }
        }
        "ip4" => {
            let (network, length) = network(required(argument)?, 32)?;
            let address = network
                .parse()
                .map_err(|_| format!("{network:?} is not an IPv4 address"))?;
            Mechanism::Ip4(address, length.unwrap_or(32))
        }
        "ip6" => {
            let (network, length) = network(required(argument)?, 128)?;
            let address = network
                .parse()
                .map_err(|_| format!("{network:?} is not an IPv6 address"))?;
            Mechanism::Ip6(address, length.unwrap_or(128))
        }
        _ => return Err("not a mechanism (5)".to_owned()),
    })
}

/// The text after a mandatory `:`.
fn required(argument: &str) -> Result<&str, String> {
    match argument.strip_prefix(':') {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err("a domain or network is missing after ':'".to_owned()),
    }
}

/// Splits `[":" domain-spec] [ "/" ip4-cidr ] [ "//" ip6-cidr ]` from the
/// end: the domain keeps everything before the lengths.
fn dual_cidr(argument: &str) -> Result<(&str, DualCidr), String> {
    let mut cidr = DualCidr::default();
    let mut rest = argument;
    if let Some((before, v6)) = rest.rsplit_once("//")
        && let Some(length) = prefix_length(v6, 128)?
    {
        cidr.v6 = length;
        rest = before;
    }
    if let Some((before, v4)) = rest.rsplit_once('/')
        && let Some(length) = prefix_length(v4, 32)?
    {
        cidr.v4 = length;
        rest = before;
    }
    Ok((rest, cidr))
}

/// `network [ "/" length ]` for ip4 and ip6.
fn network(argument: &str, max: u8) -> Result<(&str, Option<u8>), String> {
    match argument.rsplit_once('/') {
        Some((network, length)) => match prefix_length(length, max)? {
            Some(length) => Ok((network, Some(length))),
            None => Err(format!("{length:?} is not a prefix length")),
        },
        None => Ok((argument, None)),
    }
}

/// A prefix length: `None` when `text` is not digits at all (then it is
/// part of a domain), an error when it is digits but not a length
/// (a leading zero, or above `max`).
fn prefix_length(text: &str, max: u8) -> Result<Option<u8>, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let valid = (text == "0" || !text.starts_with('0')) && text.len() <= 3;
    match text.parse::<u8>() {
        Ok(length) if valid && length <= max => Ok(Some(length)),
        _ => Err(format!("/{text} is not a prefix length up to {max}")),
    }
}
