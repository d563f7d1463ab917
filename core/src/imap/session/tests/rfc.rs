//! The examples of RFC 9051 that apply, on the harness's mailbox: the
//! sample connection of section 8 and the examples of section 6 whose
//! folders and messages exist here.

use super::harness::Harness;

/// RFC 9051 8: a sample IMAP4rev2 connection (lower-case commands, FULL,
/// a header fetch, a STORE, LOGOUT).
#[test]
fn rfc_9051_section_8_sample_connection() {
    let mut h = Harness::new();
    h.line("a001 login alice@example.test \"correct horse\"");
    h.line("a002 select inbox");
    h.line("a003 fetch 3 full");
    h.line("a004 fetch 3 body[header]");
    h.line("a005 store 3 +flags \\deleted");
    h.line("a006 logout");
    insta::assert_snapshot!(h.transcript);
}

/// RFC 9051 6.3.9, 6.3.11, 6.4.4, 6.4.6, 6.4.7 and 6.4.9, as they apply.
#[test]
fn rfc_9051_section_6_examples() {
    let mut h = Harness::new();
    h.login();
    h.line("A101 LIST \"\" \"\"");
    h.line("A102 LIST \"\" %");
    h.line("A042 STATUS Archive (UIDNEXT MESSAGES)");
    h.line("A142 SELECT INBOX");
    h.line("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
    h.line("A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
    h.line("A284 SEARCH TEXT \"string not in mailbox\"");
    h.line("A003 STORE 2:3 +FLAGS (\\Deleted)");
    h.line("A202 EXPUNGE");
    h.line("A003 COPY 1 Archive");
    h.line("A999 UID FETCH 1:* FLAGS");
    h.line("A341 CLOSE");
    insta::assert_snapshot!(h.transcript);
}
