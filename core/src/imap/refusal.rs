//! What a client turned away before its IMAP session starts is told, in
//! place of the greeting (RFC 9051 7.1.5: a greeting may be `BYE`); the
//! driver sends it and closes.

use crate::admission::Refusal;

/// `* BYE` with the reason: `[UNAVAILABLE]` (RFC 5530) when trying later
/// may help, no code when it will not.
pub fn refusal_response(hostname: &str, refusal: Refusal) -> Vec<u8> {
    let text = match refusal {
        Refusal::AccessDenied => {
            format!("* BYE {hostname} Access denied: no IMAP service for your address here")
        }
        Refusal::TooManyConnections { .. } => {
            format!("* BYE [UNAVAILABLE] {hostname} Too many connections, try again later")
        }
        Refusal::TooManyFromHost { .. } => format!(
            "* BYE [UNAVAILABLE] {hostname} Too many connections from your host, try again later"
        ),
    };
    format!("{text}\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_bye_greetings() {
        assert_eq!(
            refusal_response("mx.test", Refusal::AccessDenied),
            b"* BYE mx.test Access denied: no IMAP service for your address here\r\n"
        );
        let busy = refusal_response("mx.test", Refusal::TooManyConnections { limit: 3 });
        assert!(busy.starts_with(b"* BYE [UNAVAILABLE] mx.test Too many connections"));
        assert!(busy.ends_with(b"\r\n"));
    }
}
