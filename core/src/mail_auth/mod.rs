//! Mail authentication: the rules of DKIM (RFC 6376), SPF (RFC 7208) and
//! DMARC (RFC 7489) that are decisions rather than cryptography or DNS.
//! The runtime does the lookups and the signatures; what to sign, with
//! which key, what to look up, and what a result means is decided here.
//! SPF is evaluated here whole, without I/O: its DNS lookups are requests
//! the runtime answers.

pub mod dkim;
pub mod spf;
