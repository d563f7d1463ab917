//! Mail authentication in the runtime: the keys and the cryptography
//! (Stalwart's `mail-auth`), around the decisions `postern_core::mail_auth`
//! makes.

pub mod dkim;
