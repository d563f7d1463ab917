//! Mail authentication in the runtime: the keys and the cryptography
//! (Stalwart's `mail-auth`) around the decisions `postern_core::mail_auth`
//! makes, and the answers to the DNS lookups its checks ask for.

pub mod arc;
pub mod dkim;
pub mod spf;
#[cfg(test)]
mod vectors;
pub mod verify;
