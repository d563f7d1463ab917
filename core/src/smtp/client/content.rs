//! What a message's octets are, as far as relaying it needs to know.
//!
//! A message received with `BODY=8BITMIME` (RFC 6152) or `SMTPUTF8` (RFC
//! 6531) may only go to a server that offers the same, unless it does not
//! need it: many clients declare 8BITMIME for every message, and a message
//! flagged SMTPUTF8 may have nothing but ASCII in its envelope and headers.
//! The client machine decides from these facts and the server's EHLO; the
//! runtime finds them by streaming the spooled message through a
//! [`ContentScan`] (constant memory, whatever the size).

use crate::smtp::server::BodyType;

/// Facts about a message's octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Content {
    /// Some octet, in the header section or the body, has the high bit
    /// set: the message needs 8BITMIME (or conversion) to travel.
    pub eight_bit: bool,
    /// Every octet of the header section is ASCII: nothing there needs
    /// SMTPUTF8 (RFC 6532).
    pub ascii_headers: bool,
}

impl Content {
    /// What the client that sent the message declared, taken at its word
    /// and at its worst: an 8BITMIME body has 8-bit octets, an SMTPUTF8
    /// message has UTF-8 headers. For a message nobody has scanned.
    pub fn declared(body: BodyType, smtputf8: bool) -> Content {
        Content {
            eight_bit: body == BodyType::EightBitMime || smtputf8,
            ascii_headers: !smtputf8,
        }
    }

    /// Only the declaration can make a difference: a 7-bit message without
    /// SMTPUTF8 goes as it came, so there is nothing to scan for.
    pub fn worth_scanning(body: BodyType, smtputf8: bool) -> bool {
        body == BodyType::EightBitMime || smtputf8
    }
}

/// Reads a message, in chunks of any size, for its [`Content`].
#[derive(Clone, Debug)]
pub struct ContentScan {
    in_headers: bool,
    /// Only a CR, or nothing, since the last LF: the header section ends if
    /// an LF comes now.
    line_empty: bool,
    eight_bit: bool,
    ascii_headers: bool,
}

impl Default for ContentScan {
    fn default() -> Self {
        ContentScan {
            in_headers: true,
            line_empty: true,
            eight_bit: false,
            ascii_headers: true,
        }
    }
}

impl ContentScan {
    pub fn push(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while self.in_headers {
            let Some((&byte, tail)) = rest.split_first() else {
                return;
            };
            rest = tail;
            if !byte.is_ascii() {
                self.eight_bit = true;
                self.ascii_headers = false;
            }
            match byte {
                // RFC 5322 2.1: the header section ends at the first empty
                // line.
                b'\n' if self.line_empty => self.in_headers = false,
                b'\n' => self.line_empty = true,
                b'\r' => {}
                _ => self.line_empty = false,
            }
        }
        if !self.eight_bit && !rest.is_ascii() {
            self.eight_bit = true;
        }
    }

    /// Nothing more can change the answer: reading on is useless.
    pub fn is_settled(&self) -> bool {
        !self.in_headers && self.eight_bit
    }

    pub fn finish(&self) -> Content {
        Content {
            eight_bit: self.eight_bit,
            ascii_headers: self.ascii_headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(message: &[u8]) -> Content {
        let whole = {
            let mut scan = ContentScan::default();
            scan.push(message);
            scan.finish()
        };
        // Any split, and byte by byte, gives the same answer.
        for split in 0..=message.len() {
            let mut scan = ContentScan::default();
            scan.push(&message[..split]);
            scan.push(&message[split..]);
            assert_eq!(scan.finish(), whole, "split at {split}");
        }
        let mut scan = ContentScan::default();
        for byte in message {
            scan.push(std::slice::from_ref(byte));
        }
        assert_eq!(scan.finish(), whole);
        whole
    }

    #[test]
    fn eight_bit_octets_and_header_ascii_are_found() {
        let rows: &[(&[u8], bool, bool)] = &[
            (b"Subject: hi\r\n\r\nplain\r\n", false, true),
            (b"Subject: hi\r\n\r\ncaf\xc3\xa9\r\n", true, true),
            (b"Subject: caf\xc3\xa9\r\n\r\nplain\r\n", true, false),
            (b"Subject: hi\n\ncaf\xc3\xa9\n", true, true),
            // No body: the whole message is headers.
            (b"Subject: \xe9t\xe9\r\n", true, false),
            // No headers: the first line is empty.
            (b"\r\n\xff body\r\n", true, true),
            // A folded header line is not an empty line.
            (b"Subject: a\r\n b\r\n\r\n\x80", true, true),
            (b"", false, true),
        ];
        for &(message, eight_bit, ascii_headers) in rows {
            assert_eq!(
                scan(message),
                Content {
                    eight_bit,
                    ascii_headers
                },
                "{:?}",
                String::from_utf8_lossy(message)
            );
        }
    }

    #[test]
    fn settled_once_the_headers_are_over_and_8bit_is_seen() {
        let mut scan = ContentScan::default();
        scan.push(b"Subject: hi\r\n\r\nplain ");
        assert!(!scan.is_settled());
        scan.push(b"caf\xc3\xa9");
        assert!(scan.is_settled());
    }

    #[test]
    fn a_declaration_is_taken_at_its_worst() {
        assert_eq!(
            Content::declared(BodyType::SevenBit, false),
            Content {
                eight_bit: false,
                ascii_headers: true
            }
        );
        assert_eq!(
            Content::declared(BodyType::SevenBit, true),
            Content {
                eight_bit: true,
                ascii_headers: false
            }
        );
        assert!(Content::declared(BodyType::EightBitMime, false).eight_bit);
    }
}
