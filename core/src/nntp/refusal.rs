//! What a client the admission checks refuse is told, before the
//! greeting would have been sent (RFC 3977 5.1.1): `502` when it may
//! never use the service from its address, `400` when it may come back.

use crate::admission::Refusal;

/// The one line a refused client gets before the connection closes.
pub fn refusal_response(hostname: &str, refusal: Refusal) -> Vec<u8> {
    let line = match refusal {
        Refusal::AccessDenied => {
            format!("502 {hostname} Access denied: no news service for your address here")
        }
        Refusal::TooManyConnections { .. } => {
            format!("400 {hostname} Too many connections, try again later")
        }
        Refusal::TooManyFromHost { .. } => {
            format!("400 {hostname} Too many connections from your host, try again later")
        }
    };
    format!("{line}\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_use_the_greeting_codes_for_a_service_not_available() {
        assert_eq!(
            refusal_response("mx.test", Refusal::AccessDenied),
            b"502 mx.test Access denied: no news service for your address here\r\n"
        );
        assert_eq!(
            refusal_response("mx.test", Refusal::TooManyConnections { limit: 3 }),
            b"400 mx.test Too many connections, try again later\r\n"
        );
    }
}
