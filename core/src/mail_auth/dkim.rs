//! DKIM signing decisions: which messages are signed, for which domain,
//! with which header fields, and the DNS record that publishes a key.

use crate::address::{ReversePath, domain_key};
use crate::config::DkimKeyConfig;

/// The header fields signed unless `[[dkim]] headers` says otherwise, in
/// `h=` order. A name listed twice is signed once more than a message of
/// ours has it, so that a second one cannot be added without breaking the
/// signature (RFC 6376 8.15, "oversigning"); a field the message lacks is
/// signed as absent for the same reason.
pub const DEFAULT_SIGNED_HEADERS: &[&str] = &[
    "From",
    "From",
    "Subject",
    "Subject",
    "Date",
    "Date",
    "To",
    "To",
    "Cc",
    "Message-ID",
    "Message-ID",
    "Reply-To",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Id",
    "List-Post",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// Why `selector` cannot be a DKIM selector (RFC 6376 3.1: a
/// dot-separated list of DNS labels), if it cannot.
pub fn selector_problem(selector: &str) -> Option<String> {
    if selector.is_empty() {
        return Some("the selector is empty".into());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if selector.len() > 200 || !selector.split('.').all(label_ok) {
        return Some(format!("\"{selector}\" is not a selector"));
    }
    None
}

/// The domain a message is signed for, if any: the `From:` domain when we
/// hold a key for it or for a parent of it (so that DMARC finds the
/// signature aligned, relaxed alignment accepting a parent: a bounce from
/// `MAILER-DAEMON@mx.example.com` is signed for `example.com`), else the
/// envelope sender's, likewise (a list post from an outside author, sent
/// with the list's bounce address). Only a message [`submitted`] here is
/// signed.
///
/// [`submitted`]: crate::envelope::ClientInfo::submitted
pub fn signing_domain(
    header_section: &[u8],
    reverse_path: &ReversePath,
    submitted: bool,
    keys: &[DkimKeyConfig],
) -> Option<String> {
    if !submitted {
        return None;
    }
    let has_key = |domain: &str| key_domain(domain, keys);
    let sender = match reverse_path {
        ReversePath::Mailbox(mailbox) => Some(mailbox.domain.as_str()),
        ReversePath::Null => None,
    };
    from_domain(header_section)
        .and_then(|from| has_key(&from))
        .or_else(|| sender.and_then(has_key))
}

/// The domain of `keys` that signs for `domain`: the domain itself, or
/// the nearest parent of at least two labels (a key for a top-level
/// domain would sign for everyone under it), lower-case.
pub fn key_domain(domain: &str, keys: &[DkimKeyConfig]) -> Option<String> {
    let domain = domain_key(domain).ok()?;
    let mut candidate = domain.as_str();
    loop {
        if keys.iter().any(|k| k.domain == candidate) {
            return Some(candidate.to_owned());
        }
        match candidate.split_once('.') {
            Some((_, parent)) if parent.contains('.') => candidate = parent,
            _ => return None,
        }
    }
}

/// The keys that sign for `domain`, in configuration order.
pub fn keys_for<'a>(
    domain: &'a str,
    keys: &'a [DkimKeyConfig],
) -> impl Iterator<Item = &'a DkimKeyConfig> {
    keys.iter().filter(move |k| k.domain == domain)
}

/// The domain of the one author in `From:` (RFC 5322 3.6.2), lower-case;
/// `None` when there is no `From:`, more than one, or more than one
/// address in it (RFC 7489 6.6.1 leaves those to local policy: we sign
/// and align nothing for them).
pub fn from_domain(header_section: &[u8]) -> Option<String> {
    let mut message = header_section.to_vec();
    if !message.ends_with(b"\n") {
        message.extend_from_slice(b"\r\n");
    }
    message.extend_from_slice(b"\r\n");
    let parsed = mail_parser::MessageParser::default().parse_headers(&message)?;
    let mut froms = parsed
        .headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case("from"));
    let from = froms.next()?;
    if froms.next().is_some() {
        return None;
    }
    let mail_parser::HeaderValue::Address(address) = from.value() else {
        return None;
    };
    let mut addresses = address.iter();
    let author = addresses.next()?.address()?;
    if addresses.next().is_some() {
        return None;
    }
    let (_, domain) = author.rsplit_once('@')?;
    domain_key(domain).ok()
}

/// Where a key is published: `SELECTOR._domainkey.DOMAIN` (RFC 6376 3.6.2.1).
pub fn record_name(selector: &str, domain: &str) -> String {
    format!("{selector}._domainkey.{domain}")
}

/// The TXT record that publishes a public key (RFC 6376 3.6.1): `k` is
/// `rsa` or `ed25519` (RFC 8463), `public_key` the base64 of the key as
/// the RFCs say (an RSA SubjectPublicKeyInfo, or the 32 raw Ed25519
/// octets).
pub fn txt_record(k: &str, public_key: &str) -> String {
    format!("v=DKIM1; k={k}; p={public_key}")
}

/// The record as a zone file line, split into strings of at most 255
/// octets (RFC 1035 3.3.14): a 2048-bit RSA key does not fit in one.
pub fn zone_line(selector: &str, domain: &str, record: &str) -> String {
    let strings: Vec<String> = record
        .as_bytes()
        .chunks(255)
        .map(|chunk| format!("\"{}\"", String::from_utf8_lossy(chunk)))
        .collect();
    format!(
        "{}. IN TXT ( {} )",
        record_name(selector, domain),
        strings.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Mailbox;
    use std::path::PathBuf;

    fn key(domain: &str) -> DkimKeyConfig {
        DkimKeyConfig {
            domain: domain.into(),
            selector: "s1".into(),
            key: PathBuf::from("k.pem"),
            headers: vec!["From".into()],
            line: 0,
        }
    }

    fn sender(address: &str) -> ReversePath {
        let (local_part, domain) = address.split_once('@').unwrap();
        ReversePath::Mailbox(Mailbox {
            local_part: local_part.into(),
            domain: domain.into(),
        })
    }

    #[test]
    fn the_signing_domain_is_the_authors_then_the_senders_and_only_for_our_mail() {
        let keys = [
            key("example.test"),
            key("lists.example.test"),
            key("test"),
            key("sib.other.test"),
        ];
        let cases: &[(&str, ReversePath, bool, Option<&str>)] = &[
            // The author's domain has a key.
            (
                "From: Alice <alice@Example.TEST>\r\n",
                sender("bounce@elsewhere.test"),
                true,
                Some("example.test"),
            ),
            // An outside author on one of our lists: the list's domain.
            (
                "From: bob@elsewhere.test\r\n",
                sender("news-bounces@lists.example.test"),
                true,
                Some("lists.example.test"),
            ),
            // A bounce: no sender; its author decides, and a parent
            // domain's key signs for our host name.
            (
                "From: MAILER-DAEMON@mx.Example.test\r\n",
                ReversePath::Null,
                true,
                Some("example.test"),
            ),
            // Never a key of a top-level domain, nor of a sibling.
            (
                "From: a@other.test\r\n",
                sender("b@sub.other.test"),
                true,
                None,
            ),
            // Nothing of ours.
            (
                "From: bob@elsewhere.test\r\n",
                sender("bob@elsewhere.test"),
                true,
                None,
            ),
            // Mail from outside claiming our domain is never signed.
            (
                "From: alice@example.test\r\n",
                sender("alice@example.test"),
                false,
                None,
            ),
            // Two authors, or two From fields: no author domain.
            (
                "From: a@example.test, b@example.test\r\n",
                ReversePath::Null,
                true,
                None,
            ),
            (
                "From: a@example.test\r\nFrom: b@example.test\r\n",
                ReversePath::Null,
                true,
                None,
            ),
            ("Subject: no author\r\n", ReversePath::Null, true, None),
            // Groups, comments and folding are mail-parser's to read.
            (
                "From: (the boss)\r\n  Carol <carol@example.test>\r\n",
                ReversePath::Null,
                true,
                Some("example.test"),
            ),
        ];
        for (headers, reverse_path, submitted, expected) in cases {
            assert_eq!(
                signing_domain(headers.as_bytes(), reverse_path, *submitted, &keys).as_deref(),
                *expected,
                "{headers:?} {reverse_path:?} {submitted}"
            );
        }
    }

    #[test]
    fn selectors_are_dns_labels() {
        for good in ["s1", "2026-01", "a.b", "mail-2026.rsa"] {
            assert_eq!(selector_problem(good), None, "{good}");
        }
        for bad in ["", "a_b", "-a", "a-", "a..b", ".a", "a b", "a/b"] {
            assert!(selector_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn a_long_record_is_split_into_strings_of_255() {
        let record = txt_record("rsa", &"A".repeat(392));
        let line = zone_line("s1", "example.test", &record);
        assert!(line.starts_with("s1._domainkey.example.test. IN TXT ( \"v=DKIM1; k=rsa; p=AAA"));
        let strings: Vec<&str> = line
            .trim_start_matches(|c| c != '(')
            .trim_matches(|c| c == '(' || c == ')' || c == ' ')
            .split("\" \"")
            .collect();
        assert_eq!(strings.len(), 2);
        assert_eq!(strings.concat().replace('"', ""), record);
    }
}
