//! Mail authentication: SPF (RFC 7208), evaluated without I/O; the DNS
//! lookups are requests the runtime answers.

pub mod spf;
