//! Port specs and the service-name table.
//!
//! A port spec says where an instance listens, in one of the forms the
//! Mailtraq document gives: a number (`25`), a service name (`smtp`,
//! case-insensitive), or an address and a port (`127.0.0.1:25`,
//! `192.168.1.1:smtp`, `[::1]:25`). Without an address it means every
//! interface, IPv4 and IPv6.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Where an instance listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortSpec {
    /// `None`: every interface. Never an unspecified address (`0.0.0.0`,
    /// `::`) and never IPv4-mapped IPv6: parsing canonicalizes.
    pub address: Option<IpAddr>,
    pub port: u16,
}

impl PortSpec {
    /// True when the instance is bound to one address (multi-homed).
    pub fn is_multi_homed(&self) -> bool {
        self.address.is_some()
    }

    /// Could a connection to `self` and one to `other` be the same
    /// connection? Same port, and the same address or either on every
    /// interface.
    pub fn overlaps(&self, other: &PortSpec) -> bool {
        self.port == other.port
            && (self.address.is_none() || other.address.is_none() || self.address == other.address)
    }

    /// Does this spec take a connection made to `address`:`port`?
    pub fn receives(&self, address: IpAddr, port: u16) -> bool {
        self.port == port && self.address.is_none_or(|own| own == address.to_canonical())
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            None => write!(f, "*:{}", self.port),
            Some(IpAddr::V4(v4)) => write!(f, "{v4}:{}", self.port),
            Some(IpAddr::V6(v6)) => write!(f, "[{v6}]:{}", self.port),
        }
    }
}

/// Port names from the Mailtraq document, and the ones mail needs since.
pub const WELL_KNOWN_PORTS: &[(&str, u16)] = &[
    ("smtp", 25),
    ("pop3", 110),
    ("nntp", 119),
    ("http", 80),
    ("https", 443),
    ("finger", 79),
    ("imap", 143),
    ("remote-logging", 5001),
    ("submission", 587),
    ("smtps", 465),
    ("imaps", 993),
    ("pop3s", 995),
    ("ftp", 21),
    ("ftps", 990),
    ("nntps", 563),
];

/// Service names and their ports: [`WELL_KNOWN_PORTS`] plus the
/// configuration's `[port_names]`, like the seed's Services file. Names
/// are compared without regard to case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortNames {
    names: BTreeMap<String, u16>,
}

impl Default for PortNames {
    fn default() -> Self {
        PortNames {
            names: WELL_KNOWN_PORTS
                .iter()
                .map(|&(name, port)| (name.to_owned(), port))
                .collect(),
        }
    }
}

impl PortNames {
    /// Adds a name. Refused (with the reason) when the name is not a
    /// word, or already means another port.
    pub fn add(&mut self, name: &str, port: u16) -> Result<(), String> {
        let key = name.to_ascii_lowercase();
        let word = !key.is_empty()
            && key.bytes().any(|b| b.is_ascii_alphabetic())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !word {
            return Err(format!(
                "\"{name}\" is not a port name; use letters, digits, - and _, with at least one letter"
            ));
        }
        if port == 0 {
            return Err(format!("\"{name}\" = 0: port 0 is not a port to listen on"));
        }
        match self.names.get(&key) {
            Some(&known) if known != port => Err(format!(
                "\"{name}\" already names port {known}; choose another name"
            )),
            _ => {
                self.names.insert(key, port);
                Ok(())
            }
        }
    }

    pub fn port(&self, name: &str) -> Option<u16> {
        self.names.get(&name.to_ascii_lowercase()).copied()
    }

    /// The known names, for error messages.
    pub fn known(&self) -> String {
        self.names.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// Parses a port spec written as text.
    pub fn parse(&self, text: &str) -> Result<PortSpec, String> {
        let bad = |why: &str| {
            format!(
                "\"{text}\" is not a port spec: {why}; write a port (25), a service name (smtp), an IPv4 address and port (127.0.0.1:25) or an IPv6 one ([::1]:25)"
            )
        };
        let (address, port) = if let Some(rest) = text.strip_prefix('[') {
            let (address, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad("an IPv6 address in brackets needs :PORT after it"))?;
            let address: IpAddr = address
                .parse()
                .map_err(|_| bad(&format!("{address} is not an IPv6 address")))?;
            (Some(address), port)
        } else {
            match text.rsplit_once(':') {
                Some((address, _)) if address.contains(':') => {
                    return Err(bad("an IPv6 address needs brackets, as in [::1]:25"));
                }
                Some((address, port)) => {
                    let address: IpAddr = address
                        .parse()
                        .map_err(|_| bad(&format!("{address} is not an IP address")))?;
                    (Some(address), port)
                }
                None => (None, text),
            }
        };
        let port = self.port_number(port).map_err(|why| bad(&why))?;
        let address = address.map(|a| a.to_canonical());
        if address.is_some_and(|a| a.is_unspecified()) {
            return Err(format!(
                "\"{text}\": an unspecified address means every interface; write just the port ({port}) for that"
            ));
        }
        Ok(PortSpec { address, port })
    }

    fn port_number(&self, text: &str) -> Result<u16, String> {
        if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
            match text.parse::<u16>() {
                Ok(0) => Err("port 0 is not a port to listen on".to_owned()),
                Ok(port) => Ok(port),
                Err(_) => Err(format!("{text} is over 65535")),
            }
        } else {
            self.port(text).ok_or_else(|| {
                format!(
                    "{text} is not a known service name (known: {}; add it under [port_names])",
                    self.known()
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> String {
        match PortNames::default().parse(text) {
            Ok(spec) => spec.to_string(),
            Err(error) => format!("error: {error}"),
        }
    }

    #[test]
    fn every_form_of_the_seed_parses() {
        assert_eq!(spec("25"), "*:25");
        assert_eq!(spec("smtp"), "*:25");
        assert_eq!(spec("SMTP"), "*:25");
        assert_eq!(spec("Pop3"), "*:110");
        assert_eq!(spec("127.0.0.1:25"), "127.0.0.1:25");
        assert_eq!(spec("192.168.1.1:smtp"), "192.168.1.1:25");
        assert_eq!(spec("[::1]:25"), "[::1]:25");
        assert_eq!(spec("[::1]:imap"), "[::1]:143");
        assert_eq!(spec("[::ffff:127.0.0.2]:25"), "127.0.0.2:25");
        assert_eq!(spec("finger"), "*:79");
        assert_eq!(spec("remote-logging"), "*:5001");
        assert_eq!(spec("submission"), "*:587");
    }

    #[test]
    fn bad_specs_say_what_to_write() {
        assert!(spec("0").contains("port 0"));
        assert!(spec("70000").contains("over 65535"));
        assert!(spec("gopher").contains("not a known service name"));
        assert!(spec("::1:25").contains("needs brackets"));
        assert!(spec("[::1]").contains("needs :PORT"));
        assert!(spec("300.1.1.1:25").contains("not an IP address"));
        assert!(spec("0.0.0.0:25").contains("write just the port (25)"));
        assert!(spec("[::]:smtp").contains("write just the port (25)"));
        assert!(spec("").starts_with("error"));
    }

    #[test]
    fn names_can_be_added_but_not_redefined() {
        let mut names = PortNames::default();
        names.add("Mail-Alt", 2525).unwrap();
        assert_eq!(names.parse("mail-alt").unwrap().port, 2525);
        assert_eq!(names.parse("127.0.0.5:MAIL-ALT").unwrap().port, 2525);
        names.add("smtp", 25).unwrap();
        assert!(
            names
                .add("smtp", 26)
                .unwrap_err()
                .contains("already names port 25")
        );
        assert!(
            names
                .add("123", 5)
                .unwrap_err()
                .contains("at least one letter")
        );
        assert!(names.add("a b", 5).is_err());
    }

    #[test]
    fn overlaps_follow_the_addresses() {
        let names = PortNames::default();
        let p = |t| names.parse(t).unwrap();
        assert!(p("25").overlaps(&p("127.0.0.1:25")));
        assert!(p("127.0.0.1:25").overlaps(&p("127.0.0.1:smtp")));
        assert!(!p("127.0.0.1:25").overlaps(&p("127.0.0.2:25")));
        assert!(!p("25").overlaps(&p("26")));
        assert!(p("25").receives("::1".parse().unwrap(), 25));
        assert!(p("127.0.0.2:25").receives("::ffff:127.0.0.2".parse().unwrap(), 25));
    }
}
