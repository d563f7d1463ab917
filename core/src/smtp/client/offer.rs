//! What the server offers (its EHLO reply) and what a message needs of it:
//! the MAIL parameters a transfer uses, or why it cannot go there.

use super::Delivery;
use super::reply::ServerReply;
use crate::address::{ForwardPath, ReversePath};
use crate::smtp::server::BodyType;

/// What the server offered in its EHLO reply.
#[derive(Debug, Default)]
pub(super) struct Extensions {
    pub(super) pipelining: bool,
    /// `SIZE n`; 0 or absent means no fixed limit.
    pub(super) size: Option<u64>,
    pub(super) eight_bit_mime: bool,
    pub(super) smtputf8: bool,
    pub(super) auth_plain: bool,
    pub(super) auth_login: bool,
    pub(super) starttls: bool,
}

impl Extensions {
    pub(super) fn from_ehlo(reply: &ServerReply) -> Self {
        let mut extensions = Extensions::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let keyword = words.next().unwrap_or("").to_ascii_uppercase();
            match keyword.as_str() {
                "PIPELINING" => extensions.pipelining = true,
                "SIZE" => extensions.size = words.next().and_then(|n| n.parse().ok()),
                "8BITMIME" => extensions.eight_bit_mime = true,
                "SMTPUTF8" => extensions.smtputf8 = true,
                "STARTTLS" => extensions.starttls = true,
                "AUTH" => {
                    for mechanism in words {
                        match mechanism.to_ascii_uppercase().as_str() {
                            "PLAIN" => extensions.auth_plain = true,
                            "LOGIN" => extensions.auth_login = true,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        extensions
    }
}

/// How the message goes to this server: the MAIL parameters it needs.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Transfer {
    pub(super) eight_bit_mime: bool,
    pub(super) smtputf8: bool,
}

impl Transfer {
    /// What the message needs against what the server offers; `Err` with
    /// the detail every recipient fails with when it cannot go there.
    pub(super) fn decide(delivery: &Delivery, extensions: &Extensions) -> Result<Transfer, String> {
        let content = delivery.content;
        // RFC 6531 3.2: a message that needs SMTPUTF8 is not sent to a
        // server without it. One whose envelope and header section are
        // ASCII does not need it, whatever its sender declared.
        let smtputf8 = delivery.smtputf8
            && (extensions.smtputf8 || !content.ascii_headers || !envelope_is_ascii(delivery));
        if smtputf8 && !extensions.smtputf8 {
            return Err(if envelope_is_ascii(delivery) {
                "554 5.6.9 the message has UTF-8 header fields and needs SMTPUTF8, which the server does not offer".to_owned()
            } else {
                "553 5.6.7 the message has non-ASCII addresses and needs SMTPUTF8, which the server does not offer".to_owned()
            });
        }
        // RFC 6152 3: 8-bit data goes only to a server that offers
        // 8BITMIME; otherwise it is converted or returned. We do not
        // convert. A server that offers SMTPUTF8 takes 8-bit data (RFC
        // 6531 3.1 requires 8BITMIME of it).
        if content.eight_bit && !extensions.eight_bit_mime && !smtputf8 {
            return Err(
                "554 5.6.3 the message has 8-bit data and requires 8BITMIME, which the server does not offer".to_owned(),
            );
        }
        Ok(Transfer {
            eight_bit_mime: extensions.eight_bit_mime
                && (delivery.body == BodyType::EightBitMime || content.eight_bit),
            smtputf8,
        })
    }
}

fn envelope_is_ascii(delivery: &Delivery) -> bool {
    let sender = match &delivery.reverse_path {
        ReversePath::Null => true,
        ReversePath::Mailbox(mailbox) => mailbox.is_ascii(),
    };
    sender
        && delivery.recipients.iter().all(|recipient| match recipient {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(mailbox) => mailbox.is_ascii(),
        })
}
