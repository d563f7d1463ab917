//! The bounds of mail authentication: SPF's lookups (RFC 7208 4.6.4),
//! DKIM's keys and signatures, the trace field the checks write.

use std::time::Duration;

/// Header fields Postern puts on top of a received message once it has
/// all arrived (`Authentication-Results:`), in octets: results beyond it
/// are left out (the spool keeps room for this much in a message's file).
pub const TRACE_BYTES_MAX: usize = 4096;

/// DKIM keys looked up for one received message: a message with more
/// signatures than this has the rest fail with `temperror` (RFC 6376 6.1
/// lets a verifier limit the signatures it checks).
pub const DKIM_SIGNATURES_CHECKED_MAX: usize = 10;

/// Received messages held in memory at once for their checks (DKIM reads
/// the whole message); the others wait their turn.
pub const MESSAGE_CHECKS_AT_ONCE_MAX: usize = 4;

/// Messages DKIM-signed at once. Signing reads the whole message into
/// memory (the body hash comes before the first octet is sent), so this
/// bounds that memory at this many times the largest message.
pub const DKIM_SIGNINGS_AT_ONCE_MAX: usize = 2;

/// RFC 7208 4.6.4: the terms of an SPF check that query DNS (`include`,
/// `a`, `mx`, `ptr`, `exists` and `redirect`) are at most 10, counted
/// across every record the check reads; one more is a `permerror`.
pub const SPF_DNS_TERMS_MAX: usize = 10;

/// RFC 7208 4.6.4: lookups by those terms that find no such name or no
/// records ("void lookups") are at most 2; one more is a `permerror`.
pub const SPF_VOID_LOOKUPS_MAX: usize = 2;

/// RFC 7208 4.6.4: an `mx` mechanism whose domain has more MX records
/// than this is a `permerror`.
pub const SPF_MX_NAMES_MAX: usize = 10;

/// RFC 7208 4.6.4: a `ptr` mechanism or `%{p}` macro looks at the first
/// 10 names the PTR lookup returns and ignores the rest.
pub const SPF_PTR_NAMES_MAX: usize = 10;

/// DNS queries one SPF check may ask, whatever the records say: the
/// limits above already keep a check below about 130 (10 terms of at
/// most 11 queries, the first record, the explanation and `%{p}`'s
/// lookups); this backstop turns anything past it into a `permerror`.
pub const SPF_QUERIES_MAX: usize = 160;

/// RFC 7208 4.6.4: a check may be given at least 20 seconds in all; past
/// this the runtime ends it with `temperror`.
pub const SPF_CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// Each DNS lookup of an SPF check may take this long before it counts
/// as a failed lookup (`temperror`).
pub const SPF_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// RFC 7208 7.3: a domain name made by macro expansion longer than this is
/// cut from the left, label by label, to fit.
pub const SPF_DOMAIN_CHARS_MAX: usize = 253;

/// ARC sets in one chain (RFC 8617 4.2.1: `i=` is 1 to 50). A longer
/// chain fails; a message whose chain is at the limit is not sealed again.
pub const ARC_INSTANCES_MAX: u32 = 50;

/// Distinct ARC keys (of the newest ARC-Message-Signature and of each
/// ARC-Seal) looked up for one received message; a chain that needs more
/// finds no key for the rest and fails.
pub const ARC_KEY_LOOKUPS_MAX: usize = 10;

/// Domains in one instance's `arc_trusted_sealers`.
pub const ARC_TRUSTED_SEALERS_MAX: usize = 64;
