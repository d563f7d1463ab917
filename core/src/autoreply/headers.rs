//! What the rules read from a message's header section: the fields RFC
//! 3834 names, the list fields of RFC 2369 and RFC 2919, the trace of
//! earlier forwarding (`Delivered-To:`), and the addresses it was sent to.

use crate::limits::TEXT_LINE_BYTES_MAX;

/// The header fields that matter here, read once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    /// Every field as (lower-case name, unfolded value), in order.
    fields: Vec<(String, String)>,
    /// The original's subject, decoded (RFC 2047), if it has one.
    pub subject: Option<String>,
    /// The original's Message-ID, without its angle brackets.
    pub message_id: Option<String>,
    /// The original's References, without angle brackets, in order.
    pub references: Vec<String>,
    /// Every address in To, Cc, Bcc and their Resent- forms, lower-case.
    pub recipients: Vec<String>,
}

/// The fields a recipient field may be (RFC 3834 2 names them all).
const RECIPIENT_FIELDS: [&str; 6] = ["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"];

impl Headers {
    /// Reads a header section (the octets before the blank line; CRLF or
    /// LF). Each physical line is taken up to [`TEXT_LINE_BYTES_MAX`].
    pub fn parse(section: &[u8]) -> Self {
        let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
        for line in section.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = &line[..line.len().min(TEXT_LINE_BYTES_MAX)];
            if line.is_empty() {
                break;
            }
            if line[0] == b' ' || line[0] == b'\t' {
                if let Some((_, value)) = fields.last_mut() {
                    value.extend_from_slice(line);
                }
                continue;
            }
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let name = String::from_utf8_lossy(line[..colon].trim_ascii()).to_lowercase();
                fields.push((name, line[colon + 1..].to_vec()));
            }
        }
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .map(|(name, value)| {
                (
                    name,
                    String::from_utf8_lossy(value.trim_ascii()).into_owned(),
                )
            })
            .collect();
        let mut headers = Headers {
            fields,
            ..Headers::default()
        };
        headers.read_structured(section);
        headers
    }

    /// The subject, IDs and recipient addresses, through mail-parser
    /// (RFC 2047 words, groups, comments and quoting are its to read).
    fn read_structured(&mut self, section: &[u8]) {
        let mut message = section.to_vec();
        if !message.ends_with(b"\n") {
            message.extend_from_slice(b"\r\n");
        }
        message.extend_from_slice(b"\r\n");
        let Some(parsed) = mail_parser::MessageParser::default().parse_headers(&message) else {
            return;
        };
        self.subject = parsed.subject().map(str::to_owned);
        self.message_id = parsed.message_id().map(str::to_owned);
        self.references = match parsed.references() {
            mail_parser::HeaderValue::Text(id) => vec![id.to_string()],
            mail_parser::HeaderValue::TextList(ids) => {
                ids.iter().map(|id| id.to_string()).collect()
            }
            _ => Vec::new(),
        };
        for header in parsed.headers() {
            if !RECIPIENT_FIELDS.contains(&header.name().to_ascii_lowercase().as_str()) {
                continue;
            }
            if let mail_parser::HeaderValue::Address(address) = header.value() {
                self.recipients.extend(
                    address
                        .iter()
                        .filter_map(|addr| addr.address())
                        .map(str::to_lowercase),
                );
            }
        }
    }

    /// The value of every field called `name` (lower-case), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of the first field called `name` (lower-case).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
