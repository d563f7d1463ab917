//! The bounds of spam control: DNS blocklists and the greylist.

use std::time::Duration;

/// DNS blocklist zones one instance may consult: each is a lookup per
/// connection (or per MAIL), made at once, so a long list slows nothing
/// but costs the zones' operators and our resolver.
pub const DNSBL_ZONES_MAX: usize = 16;

/// How long the blocklist lookups of one connection (or one MAIL) may
/// take together; a zone that has not answered by then counts as not
/// listing the client, and the failure is logged. Public lists answer in
/// milliseconds from a nearby resolver; 5 s is hickory's own per-query
/// timeout here.
pub const DNSBL_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The sum of weights of listing zones that refuses a client, when
/// `dnsbl_threshold` is not written: one listing is enough.
pub const DNSBL_THRESHOLD_DEFAULT: u32 = 1;

/// The weight of a zone when its `weight` is not written.
pub const DNSBL_WEIGHT_DEFAULT: u32 = 1;

/// The highest weight and threshold that may be written.
pub const DNSBL_WEIGHT_MAX: u32 = 1_000;

/// Answer codes one zone may list as counting (`codes`).
pub const DNSBL_CODES_MAX: usize = 32;

/// Triplets the greylist remembers; past it the least recently seen are
/// forgotten first (they are asked to wait once more). About 150 octets
/// each in memory and on disk: 15 MB at the limit.
pub const GREYLIST_ENTRIES_MAX: usize = 100_000;

/// How long a new triplet must wait before a retry is accepted, by
/// default (Postgrey's `--delay`, 300 s).
pub const GREYLIST_DELAY_DEFAULT: Duration = Duration::from_secs(5 * 60);

/// How long after its first try a triplet's retry is still accepted, by
/// default: Postgrey's `--retry-window` of two days. RFC 5321 4.5.4.1
/// has senders retry every 30 minutes or more for 4 to 5 days, so a
/// genuine sender comes back well within it.
pub const GREYLIST_RETRY_WINDOW_DEFAULT: Duration = Duration::from_secs(2 * 24 * 60 * 60);

/// How long an accepted triplet is remembered after it was last seen, by
/// default: Postgrey's `--max-age` of 35 days.
pub const GREYLIST_EXPIRY_DEFAULT: Duration = Duration::from_secs(35 * 24 * 60 * 60);

/// The longest `greylist_delay`, `greylist_retry_window` and
/// `greylist_expiry` that may be written: a year.
pub const GREYLIST_DURATION_MAX: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// Octets of the greylist file read at start, at most: the entry limit
/// at about 1,000 octets a line (two long addresses).
pub const GREYLIST_FILE_BYTES_MAX: usize = GREYLIST_ENTRIES_MAX * 1_000;

/// How often the runtime writes a changed greylist to disk. A crash loses
/// the triplets learned since the last write; each costs one more retry.
pub const GREYLIST_SAVE_INTERVAL: Duration = Duration::from_secs(10);

/// Patterns in one instance's `bar_senders`, and in its
/// `bar_recipients`: each is tried against every MAIL (or RCPT) until one
/// matches, so the list stays a list of a few hundred domains and
/// addresses, not a blocklist (those are DNS zones).
pub const BAR_PATTERNS_MAX: usize = 1_000;

/// Octets of one address pattern: an address is at most 254 octets
/// (RFC 5321 4.5.3.1.3 less the brackets), and a pattern no longer than
/// that, with room for a wildcard or two.
pub const ADDRESS_PATTERN_BYTES_MAX: usize = 256;

/// Entries in a mailbox's allow list, and in its block list: both are
/// read at every RCPT and delivery to it. 100 entries of the longest
/// pattern in each list is 52 KB, within
/// [`MAILBOX_RULES_BYTES_MAX`](crate::limits::MAILBOX_RULES_BYTES_MAX)
/// with the vacation text.
pub const SENDER_LIST_ENTRIES_MAX: usize = 100;
