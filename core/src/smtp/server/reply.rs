//! SMTP replies: a code, an enhanced status (RFC 3463) and text lines.
//!
//! RFC 2034 section 3 puts the enhanced status on every reply except the
//! greeting and the replies to HELO and EHLO; [`Reply::render`] does
//! exactly that, so no reply can forget it.

use std::fmt;

/// An RFC 3463 enhanced status code: `class.subject.detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnhancedStatus(pub u8, pub u16, pub u16);

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// One reply, possibly several lines (RFC 5321 4.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub status: Option<EnhancedStatus>,
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply with an enhanced status.
    pub fn new(code: u16, status: EnhancedStatus, text: impl Into<String>) -> Self {
        Reply {
            code,
            status: Some(status),
            lines: vec![text.into()],
        }
    }

    /// A reply without an enhanced status: only the greeting and the
    /// answers to HELO and EHLO (RFC 2034 section 3).
    pub fn plain(code: u16, lines: Vec<String>) -> Self {
        Reply {
            code,
            status: None,
            lines,
        }
    }

    /// Classes 4 and 5 are failures; they count towards the error limit.
    pub fn is_failure(&self) -> bool {
        self.code >= 400
    }

    /// Appends the wire form, CRLF-terminated lines, to `out`.
    pub fn render(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let separator = if i == last { ' ' } else { '-' };
            let text = match self.status {
                Some(status) => format!("{}{separator}{status} {line}\r\n", self.code),
                None => format!("{}{separator}{line}\r\n", self.code),
            };
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// Enhanced status codes used by the server, named as in RFC 3463 and the
/// registry that extends it.
pub mod status {
    use super::EnhancedStatus as S;

    pub const OK: S = S(2, 0, 0);
    pub const SENDER_OK: S = S(2, 1, 0);
    pub const DESTINATION_OK: S = S(2, 1, 5);
    pub const CANNOT_VERIFY: S = S(2, 5, 0);
    pub const BAD_DESTINATION_MAILBOX: S = S(5, 1, 1);
    pub const BAD_DESTINATION_SYNTAX: S = S(5, 1, 3);
    pub const BAD_SENDER_SYNTAX: S = S(5, 1, 7);
    pub const MESSAGE_TOO_BIG: S = S(5, 3, 4);
    /// RFC 3463: routing loop detected.
    pub const ROUTING_LOOP: S = S(5, 4, 6);
    pub const TEMPORARY_SYSTEM: S = S(4, 3, 0);
    pub const SHUTTING_DOWN: S = S(4, 3, 2);
    pub const TIMEOUT: S = S(4, 4, 2);
    pub const INVALID_COMMAND: S = S(5, 5, 1);
    pub const SYNTAX_ERROR: S = S(5, 5, 2);
    pub const TOO_MANY_RECIPIENTS: S = S(4, 5, 3);
    pub const INVALID_ARGUMENTS: S = S(5, 5, 4);
    /// RFC 4954 4: X.5.6, an authentication exchange line that is too
    /// long. Other over-long lines get `SYNTAX_ERROR` (RFC 3463 X.5.2).
    pub const LINE_TOO_LONG: S = S(5, 5, 6);
    pub const MEDIA_ERROR: S = S(5, 6, 0);
    /// RFC 6531 3.7.4.2: non-ASCII address without SMTPUTF8.
    pub const NON_ASCII_ADDRESS: S = S(5, 6, 7);
    pub const RELAY_DENIED: S = S(5, 7, 1);
    pub const TOO_MANY_ERRORS: S = S(4, 7, 0);
    /// RFC 3463 X.7.0: "other or undefined security status", which is
    /// what Postfix and Exim give for connection limits too.
    pub const TOO_MANY_CONNECTIONS: S = S(4, 7, 0);
    pub const ACCESS_DENIED: S = S(5, 7, 1);
    /// RFC 4954 6: `235 2.7.0 Authentication Succeeded`.
    pub const AUTH_SUCCEEDED: S = S(2, 7, 0);
    /// RFC 4954 6: `530 5.7.0 Authentication required`, and `454 4.7.0`
    /// for a temporary authentication failure.
    pub const AUTH_REQUIRED: S = S(5, 7, 0);
    pub const AUTH_TEMPORARY: S = S(4, 7, 0);
    /// RFC 4954 6: `535 5.7.8 Authentication credentials invalid`.
    pub const AUTH_INVALID: S = S(5, 7, 8);
    /// RFC 4954 6 and RFC 5248: `538 5.7.11 Encryption required for
    /// requested authentication mechanism`.
    pub const ENCRYPTION_REQUIRED: S = S(5, 7, 11);
    /// RFC 4954 4: a client's `*` cancels the exchange, `501 5.7.0`.
    pub const AUTH_CANCELLED: S = S(5, 7, 0);
    /// The envelope sender is not the authenticated user's (as Postfix's
    /// `reject_sender_login_mismatch`, `553 5.7.1`).
    pub const SENDER_NOT_OWNED: S = S(5, 7, 1);
    /// RFC 3463 X.7.1, "delivery not authorized", temporary: a greylisted
    /// recipient, `451 4.7.1` as Postgrey and Postfix give it. The
    /// permanent form is [`ACCESS_DENIED`], a listed client or sender.
    pub const GREYLISTED: S = S(4, 7, 1);
    /// RFC 3463 X.7.1, "delivery not authorized": refused by the sender
    /// domain's DMARC policy (RFC 7489 6.6.4 and 10.3, `550 5.7.1`).
    pub const SECURITY_POLICY: S = S(5, 7, 1);
    /// RFC 7372 X.7.23, "SPF validation failed": the sender's domain
    /// does not let the client send its mail (`-all`).
    pub const SPF_FAILED: S = S(5, 7, 23);
    /// A sender or recipient barred by the operator's patterns, or a
    /// sender a recipient's block list refuses (RFC 3463 X.7.1).
    pub const BARRED: S = S(5, 7, 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: &Reply) -> String {
        let mut out = Vec::new();
        reply.render(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_line_reply_carries_its_enhanced_status() {
        assert_eq!(wire(&Reply::new(250, status::OK, "Ok")), "250 2.0.0 Ok\r\n");
    }

    #[test]
    fn multi_line_reply_uses_dashes_until_the_last_line() {
        let reply = Reply::plain(
            250,
            vec!["mx.test".into(), "PIPELINING".into(), "SMTPUTF8".into()],
        );
        assert_eq!(
            wire(&reply),
            "250-mx.test\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n"
        );
    }
}
