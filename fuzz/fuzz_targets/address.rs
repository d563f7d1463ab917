//! The address parsers of `postern_core::address` on arbitrary text.
//!
//! Input: byte 0 says whether UTF-8 is allowed (bit 1, as after
//! `SMTPUTF8`); the rest, as UTF-8 (other input is skipped), is tried as
//! a reverse path, a forward path, a bare mailbox, a MAIL/RCPT argument
//! and a domain. Asserted, besides "never panics": what parses is within
//! RFC 5321 4.5.3.1's lengths, ASCII unless UTF-8 was allowed, prints as
//! text that parses back to the same value, and `split_path` splits at a
//! `>` without losing a byte.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::address::{
    ForwardPath, Mailbox, ReversePath, is_domain, parse_forward_path, parse_mailbox,
    parse_reverse_path, split_path,
};
use postern_core::limits::{DOMAIN_BYTES_MAX, LOCAL_PART_BYTES_MAX};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let utf8 = flags & 1 != 0;

    if let Ok(reverse_path) = parse_reverse_path(text, utf8) {
        if let ReversePath::Mailbox(mailbox) = &reverse_path {
            check_mailbox(mailbox, utf8);
        }
        let printed = reverse_path.to_string();
        assert_eq!(
            parse_reverse_path(&printed, utf8),
            Ok(reverse_path),
            "{printed:?} does not parse back"
        );
    }

    if let Ok(forward_path) = parse_forward_path(text, utf8) {
        if let ForwardPath::Mailbox(mailbox) = &forward_path {
            check_mailbox(mailbox, utf8);
        }
        let printed = forward_path.to_string();
        assert_eq!(
            parse_forward_path(&printed, utf8),
            Ok(forward_path),
            "{printed:?} does not parse back"
        );
    }

    if let Ok(mailbox) = parse_mailbox(text) {
        check_mailbox(&mailbox, true);
        let printed = mailbox.to_string();
        assert_eq!(
            parse_mailbox(&printed),
            Ok(mailbox),
            "{printed:?} does not parse back"
        );
    }

    if let Some((path, parameters)) = split_path(text) {
        assert!(path.starts_with('<') && path.ends_with('>'));
        assert_eq!(path.len() + parameters.len(), text.len());
    }

    if is_domain(text) {
        assert!(!text.is_empty() && !text.contains(['@', ' ', '<', '>']));
    }
});

fn check_mailbox(mailbox: &Mailbox, utf8: bool) {
    // `""@example.test` is a valid mailbox (RFC 5321 4.1.2: a quoted
    // string may be empty), so the local part may be empty.
    assert!(mailbox.local_part.len() <= LOCAL_PART_BYTES_MAX);
    assert!(!mailbox.domain.is_empty() && mailbox.domain.len() <= DOMAIN_BYTES_MAX);
    assert!(utf8 || mailbox.is_ascii(), "non-ASCII without SMTPUTF8");
}
