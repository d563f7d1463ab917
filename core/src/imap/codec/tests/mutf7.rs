use crate::imap::codec::mutf7::{Mutf7Error, decode, encode};
use proptest::prelude::*;

#[test]
fn rfc_3501_example_encodes_and_decodes() {
    // RFC 3501 5.1.3: "~peter/mail/台北/日本語".
    let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
    let wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
    assert_eq!(encode(name), wire);
    assert_eq!(decode(wire).as_deref(), Ok(name));
}

#[test]
fn ampersand_is_ampersand_dash() {
    assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
    assert_eq!(decode("Tom &- Jerry").as_deref(), Ok("Tom & Jerry"));
}

#[test]
fn astral_characters_use_surrogate_pairs() {
    let name = "mail \u{1f600}";
    assert_eq!(decode(&encode(name)).as_deref(), Ok(name));
    assert_eq!(encode("\u{e9}t\u{e9}"), "&AOk-t&AOk-");
}

#[test]
fn bad_wire_forms_are_errors() {
    let rows: &[(&str, Mutf7Error)] = &[
        ("caf\u{e9}", Mutf7Error::InvalidCharacter),
        ("a\tb", Mutf7Error::InvalidCharacter),
        ("&AOk", Mutf7Error::Unterminated),
        ("&A!k-", Mutf7Error::InvalidBase64),
        ("&AOl-", Mutf7Error::InvalidBase64),
        ("&AA-", Mutf7Error::InvalidBase64),
        // "a" (U+0061) in base64: printable ASCII must go as itself.
        ("&AGE-", Mutf7Error::NotCanonical),
        // A lone high surrogate, U+D83D.
        ("&2D0-", Mutf7Error::InvalidUtf16),
    ];
    for (wire, error) in rows {
        assert_eq!(decode(wire), Err(*error), "{wire:?}");
    }
}

proptest! {
    #[test]
    fn any_name_round_trips(name in "\\PC{0,20}") {
        let wire = encode(&name);
        prop_assert!(wire.bytes().all(|b| (0x20..0x7f).contains(&b)));
        prop_assert_eq!(decode(&wire), Ok(name));
    }

    #[test]
    fn decode_never_panics(wire in "[ -~]{0,30}") {
        if let Ok(name) = decode(&wire) {
            // A name that decodes has one spelling.
            prop_assert_eq!(encode(&name), wire);
        }
    }
}

#[test]
fn two_runs_in_a_row_are_not_canonical() {
    assert_eq!(decode("&AOk-&AOk-"), Err(Mutf7Error::NotCanonical));
    assert_eq!(decode("&AOkA6Q-").as_deref(), Ok("\u{e9}\u{e9}"));
    assert_eq!(decode("&AOk-&-&AOk-").as_deref(), Ok("\u{e9}&\u{e9}"));
}
