use super::*;
use crate::address::parse_mailbox;

fn matches(pattern: &str, address: &str) -> bool {
    AddressPattern::parse(pattern)
        .unwrap()
        .matches(&parse_mailbox(address).unwrap())
}

#[test]
fn patterns_match_as_the_table_says() {
    let rows = [
        // Whole addresses.
        ("user@example.com", "user@example.com", true),
        ("user@example.com", "USER@Example.COM", true),
        ("User@Example.com", "user@example.com", true),
        ("user@example.com", "other@example.com", false),
        ("user@example.com", "user@mail.example.com", false),
        ("*@spam.example", "anyone@spam.example", true),
        ("*@spam.example", "anyone@sub.spam.example", false),
        ("*@spam.example", "anyone@notspam.example", false),
        ("bulk-*@*", "bulk-news@shop.example", true),
        ("bulk-*@*", "bulk-@shop.example", true),
        ("bulk-*@*", "bulknews@shop.example", false),
        ("bulk-*@*", "news@bulk-shop.example", false),
        ("?@example.com", "a@example.com", true),
        ("?@example.com", "ab@example.com", false),
        ("a*b*c@x.test", "abc@x.test", true),
        ("a*b*c@x.test", "a-b-b-c@x.test", true),
        ("a*b*c@x.test", "a-c-b@x.test", false),
        ("*@*", "anyone@anywhere.example", true),
        // A domain alone.
        ("example.com", "user@example.com", true),
        ("example.com", "user@mail.example.com", false),
        ("*.biz", "user@shop.biz", true),
        ("*.biz", "user@a.b.biz", true),
        ("*.biz", "user@biz", false),
        ("*.biz", "user@shop.biz.example", false),
        ("*.example.com", "user@example.com", false),
        ("*.example.com", "user@mail.example.com", true),
        ("*", "user@example.com", true),
        ("mail?.example", "u@mail1.example", true),
        ("mail?.example", "u@mail12.example", false),
        // A domain and its subdomains.
        ("@example.com", "user@example.com", true),
        ("@example.com", "user@mail.example.com", true),
        ("@example.com", "user@a.b.example.com", true),
        ("@example.com", "user@badexample.com", false),
        ("@example.com", "user@example.com.evil", false),
        ("@*.example", "user@x.example", true),
        // Non-ASCII, compared without case too.
        ("*@bücher.example", "leser@BÜCHER.example", true),
    ];
    for (pattern, address, expected) in rows {
        assert_eq!(
            matches(pattern, address),
            expected,
            "{pattern} against {address}"
        );
    }
}

#[test]
fn bad_patterns_are_refused_with_a_fix() {
    let rows = [
        ("", "empty"),
        ("   ", "empty"),
        ("spammer", "no @ and is no domain"),
        ("user@", "nothing after the @"),
        ("a@b@c.example", "more than one @"),
        ("<user@example.com>", "character '<'"),
        ("user @example.com", "character ' '"),
        ("a@x.example, b@y.example", "character ','"),
        ("\"q\"@x.example", "character '\"'"),
        ("a\u{7}@x.example", "character '\\u{7}'"),
    ];
    for (written, problem) in rows {
        let error = AddressPattern::parse(written).unwrap_err();
        assert!(
            error.problem.contains(problem),
            "{written:?}: {}",
            error.problem
        );
        assert!(!error.fix.is_empty());
    }
    let long = format!("{}@example.com", "a".repeat(ADDRESS_PATTERN_BYTES_MAX));
    let error = AddressPattern::parse(&long).unwrap_err();
    assert!(error.problem.contains("at most"), "{}", error.problem);
}

#[test]
fn a_pattern_is_kept_trimmed_and_lower_case() {
    let pattern = AddressPattern::parse("  *@Spam.EXAMPLE ").unwrap();
    assert_eq!(pattern.as_str(), "*@spam.example");
    assert_eq!(pattern.to_string(), "*@spam.example");
}

#[test]
fn first_match_names_the_first_pattern_that_matches() {
    let patterns: Vec<AddressPattern> = ["*.biz", "bulk-*@*", "*@shop.biz"]
        .iter()
        .map(|p| AddressPattern::parse(p).unwrap())
        .collect();
    let address = parse_mailbox("bulk-1@shop.biz").unwrap();
    assert_eq!(
        first_match(&patterns, &address).map(AddressPattern::as_str),
        Some("*.biz")
    );
    let address = parse_mailbox("friend@example.com").unwrap();
    assert_eq!(first_match(&patterns, &address), None);
}

#[test]
fn many_stars_against_a_long_address_finish_quickly() {
    // The walk backtracks to the last star only: no exponential blow-up.
    let pattern = AddressPattern::parse(&format!("{}b@x", "*a".repeat(60))).unwrap();
    let address = parse_mailbox(&format!("{}@x", "a".repeat(64))).unwrap();
    assert!(!pattern.matches(&address));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// An address matches the pattern that is itself, and the
        /// pattern `*@` its domain.
        #[test]
        fn an_address_matches_itself(local in "[a-z0-9][a-z0-9_-]{0,19}", domain in "[a-z0-9]{1,10}\\.[a-z]{2,5}") {
            let address = parse_mailbox(&format!("{local}@{domain}")).unwrap();
            let own = AddressPattern::parse(&format!("{local}@{domain}")).unwrap();
            prop_assert!(own.matches(&address));
            let any_user = AddressPattern::parse(&format!("*@{domain}")).unwrap();
            prop_assert!(any_user.matches(&address));
            let whole_domain = AddressPattern::parse(&format!("@{domain}")).unwrap();
            prop_assert!(whole_domain.matches(&address));
        }

        /// Parsing never panics, and a parsed pattern reads back the same.
        #[test]
        fn parse_render_round_trips(text in "\\PC{0,40}") {
            if let Ok(pattern) = AddressPattern::parse(&text) {
                let again = AddressPattern::parse(pattern.as_str()).unwrap();
                prop_assert_eq!(again, pattern);
            }
        }
    }
}
