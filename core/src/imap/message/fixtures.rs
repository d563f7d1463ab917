//! The test messages and what Dovecot answers for them.
//!
//! The messages are the `.eml` files beside this one (CRLF line ends).
//! The expected ENVELOPE, BODY and BODYSTRUCTURE strings are Dovecot
//! 2.3.19's (Debian `dovecot-imapd`), taken on 2026-11-30 with the files
//! copied into a Maildir (`cur/100N.MN.host,S=SIZE:2,`, in this order) and
//!
//! ```text
//! doveadm -c CONF -f json fetch 'uid imap.envelope imap.body imap.bodystructure' mailbox INBOX all
//! ```
//!
//! run as nobody with `mail_location = maildir:DIR:INDEX=MEMORY` (see
//! PEERS.md). doveadm leaves out the outer parentheses; they are added
//! here. One change: Dovecot sends plain.eml's folded Subject as a
//! literal (`{38}`), Postern the same 38 characters quoted (either is
//! RFC 9051 `nstring`); the string below is the quoted form. The section,
//! SEARCH, SORT and THREAD answers in `tests.rs` come from the same
//! Maildir through `/usr/lib/dovecot/imap` run on a pipe (PREAUTH) with
//! the file times set to 2026-11-10 00:00:0N UTC (the internal dates).

pub(super) struct Fixture {
    pub name: &'static str,
    pub raw: &'static [u8],
    pub envelope: &'static str,
    pub body: &'static str,
    pub body_structure: &'static str,
}

/// The searched mailbox: SEARCH, SORT and THREAD run over these seven,
/// numbered 1 to 7 in this order.
pub(super) const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "plain",
        raw: include_bytes!("fixtures/plain.eml"),
        envelope: r#"("Tue, 3 Nov 2026 09:15:00 +0100" "=?utf-8?q?Caf=C3=A9?= meeting tomorrow" (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) (("Bob" NIL "bob" "example.net")(NIL NIL "carol" "example.net")) (("=?utf-8?q?J=C3=B6rg?=" NIL "joerg" "example.de")) NIL NIL "<plain-1@example.org>")"#,
        body: r#"("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 58 5)"#,
        body_structure: r#"("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 58 5 NIL NIL NIL NIL)"#,
    },
    Fixture {
        name: "alternative",
        raw: include_bytes!("fixtures/alternative.eml"),
        envelope: r#"("Wed, 4 Nov 2026 18:00:00 -0500" "Re: [list] Weekly =?iso-8859-1?q?r=E9sum=E9?=" ((NIL NIL "news" "example.com")) ((NIL NIL "mailer" "example.com")) (("Replies" NIL "replies" "example.com")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL "<weekly-0@example.com>" "<weekly-1@example.com>")"#,
        body: r#"(("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 51 2)("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 42 0) "alternative")"#,
        body_structure: r#"(("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 51 2 NIL NIL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 42 0 NIL NIL NIL NIL) "alternative" ("boundary" "alt-b") NIL NIL NIL)"#,
    },
    Fixture {
        name: "mixed",
        raw: include_bytes!("fixtures/mixed.eml"),
        envelope: r#"("Thu, 5 Nov 2026 10:00:00 +0000" "Report attached" (("Dave" NIL "dave" "example.org")) (("Dave" NIL "dave" "example.org")) (("Dave" NIL "dave" "example.org")) ((NIL NIL "team" NIL)(NIL NIL "erin" "example.org")(NIL NIL "frank" "example.org")(NIL NIL NIL NIL)) NIL ((NIL NIL "hidden" "example.org")) NIL "<mixed-1@example.org>")"#,
        body: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 23 0)("application" "octet-stream" ("name" "report.bin") "<part2@example.org>" "The report" "base64" 352) "mixed")"#,
        body_structure: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 23 0 NIL NIL NIL NIL)("application" "octet-stream" ("name" "report.bin") "<part2@example.org>" "The report" "base64" 352 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("attachment" ("filename" "report.bin")) ("en" "de") "http://example.org/report.bin") "mixed" ("boundary" "mix") NIL NIL NIL)"#,
    },
    Fixture {
        name: "nested",
        raw: include_bytes!("fixtures/nested.eml"),
        envelope: r#"("Fri, 6 Nov 2026 12:00:00 +0200" "Fwd: Weekly" (("Grace" NIL "grace" "example.org")) (("Grace" NIL "grace" "example.org")) (("Grace" NIL "grace" "example.org")) ((NIL NIL "heidi" "example.org")) NIL NIL NIL "<nested-1@example.org>")"#,
        body: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0)("message" "rfc822" NIL NIL NIL "7bit" 368 ("Wed, 4 Nov 2026 18:00:00 -0500" "Weekly" ((NIL NIL "news" "example.com")) ((NIL NIL "news" "example.com")) ((NIL NIL "news" "example.com")) ((NIL NIL "grace" "example.org")) NIL NIL NIL "<weekly-1@example.com>") (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 0)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 18 0) "alternative") 17) "mixed")"#,
        body_structure: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 368 ("Wed, 4 Nov 2026 18:00:00 -0500" "Weekly" ((NIL NIL "news" "example.com")) ((NIL NIL "news" "example.com")) ((NIL NIL "news" "example.com")) ((NIL NIL "grace" "example.org")) NIL NIL NIL "<weekly-1@example.com>") (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 0 NIL NIL NIL NIL)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 18 0 NIL NIL NIL NIL) "alternative" ("boundary" "inner") NIL NIL NIL) 17 NIL ("inline" NIL) NIL NIL) "mixed" ("boundary" "outer") NIL NIL NIL)"#,
    },
    Fixture {
        name: "damaged",
        raw: include_bytes!("fixtures/damaged.eml"),
        envelope: r#"(NIL "broken" (("Mallory" NIL "mallory" "example.org")) (("Mallory" NIL "mallory" "example.org")) (("Mallory" NIL "mallory" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "x-unknown" 10 0)("image" "png" NIL NIL NIL "base64" 26) "mixed")"#,
        body_structure: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "x-unknown" 10 0 NIL NIL NIL NIL)("image" "png" NIL NIL NIL "base64" 26 NIL NIL NIL NIL) "mixed" ("boundary" "never-closed") NIL NIL NIL)"#,
    },
    Fixture {
        name: "eightbit",
        raw: include_bytes!("fixtures/eightbit.eml"),
        envelope: "(\"Sat, 7 Nov 2026 23:30:00 -0800\" {7}\r\nD�j� vu ((\"=?iso-8859-1?q?Ren=E9?=\" NIL \"rene\" \"example.fr\")) ((\"=?iso-8859-1?q?Ren=E9?=\" NIL \"rene\" \"example.fr\")) ((\"=?iso-8859-1?q?Ren=E9?=\" NIL \"rene\" \"example.fr\")) ((NIL NIL \"ivan\" \"example.org\")) NIL NIL NIL NIL)",
        body: r#"("text" "plain" ("charset" "iso-8859-1") NIL NIL "8bit" 19 1)"#,
        body_structure: r#"("text" "plain" ("charset" "iso-8859-1") NIL NIL "8bit" 19 1 NIL NIL NIL NIL)"#,
    },
    Fixture {
        name: "noheaders",
        raw: include_bytes!("fixtures/noheaders.eml"),
        envelope: r#"(NIL "no date, no from" NIL NIL NIL NIL NIL NIL NIL NIL)"#,
        body: r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 37 1)"#,
        body_structure: r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 37 1 NIL NIL NIL NIL)"#,
    },
];

/// Odd and damaged MIME: a digest, a multipart without boundary or
/// parts, an encoded message/rfc822, RFC 2231 parameters, a boundary
/// that is a prefix of another, a header without body, a type without
/// subtype and an empty file; then where a part ends when what it
/// carries ends with a line of its own (a close delimiter, a header
/// without body), which Dovecot counts in the part; then MIME fields of
/// a message with neither MIME-Version nor Content-Type (not shown), an
/// empty Content-Type, and a message/rfc822 whose message is one open
/// header.
pub(super) const DAMAGED: &[Fixture] = &[
    Fixture {
        name: "digest",
        raw: include_bytes!("fixtures/digest.eml"),
        envelope: r#"(NIL "digest" ((NIL NIL "digest" "example.org")) ((NIL NIL "digest" "example.org")) ((NIL NIL "digest" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"(("message" "rfc822" NIL NIL NIL "7bit" 53 (NIL "first digested" ((NIL NIL "one" "example.org")) ((NIL NIL "one" "example.org")) ((NIL NIL "one" "example.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 0) 3)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0) "digest")"#,
        body_structure: r#"(("message" "rfc822" NIL NIL NIL "7bit" 53 (NIL "first digested" ((NIL NIL "one" "example.org")) ((NIL NIL "one" "example.org")) ((NIL NIL "one" "example.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 NIL NIL NIL NIL) "digest" ("boundary" "d") NIL NIL NIL)"#,
    },
    Fixture {
        name: "noboundary",
        raw: include_bytes!("fixtures/noboundary.eml"),
        envelope: r#"(NIL "multipart without boundary" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")"#,
        body_structure: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)"#,
    },
    Fixture {
        name: "emptymultipart",
        raw: include_bytes!("fixtures/emptymultipart.eml"),
        envelope: r#"(NIL "no parts" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")"#,
        body_structure: r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "zz") NIL NIL NIL)"#,
    },
    Fixture {
        name: "base64message",
        raw: include_bytes!("fixtures/base64message.eml"),
        envelope: r#"(NIL "encoded message" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"(("message" "rfc822" NIL NIL NIL "base64" 78 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 1) "mixed")"#,
        body_structure: r#"(("message" "rfc822" NIL NIL NIL "base64" 78 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 1 NIL NIL NIL NIL) "mixed" ("boundary" "q") NIL NIL NIL)"#,
    },
    Fixture {
        name: "params",
        raw: include_bytes!("fixtures/params.eml"),
        envelope: r#"(NIL "parameters" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"("TEXT" "Plain" ("CHARSET" "UTF-8" "Format" "flowed") NIL NIL "7bit" 6 1)"#,
        body_structure: r#"("TEXT" "Plain" ("CHARSET" "UTF-8" "Format" "flowed") NIL NIL "7bit" 6 1 NIL ("attachment" ("size" "12" "filename*" "utf-8''caf%C3%A9.txt")) ("en-GB") NIL)"#,
    },
    Fixture {
        name: "prefix",
        raw: include_bytes!("fixtures/prefix.eml"),
        envelope: r#"(NIL "boundary prefix" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 0) "alternative")("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 0) "mixed")"#,
        body_structure: r#"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL) "alternative" ("boundary" "b2") NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 0 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)"#,
    },
    Fixture {
        name: "headeronly",
        raw: include_bytes!("fixtures/headeronly.eml"),
        envelope: r#"(NIL "header only" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)"#,
        body_structure: r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)"#,
    },
    Fixture {
        name: "notype",
        raw: include_bytes!("fixtures/notype.eml"),
        envelope: r#"(NIL "odd content type" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"("text" "" ("charset" "us-ascii") NIL NIL "7bit" 6 1)"#,
        body_structure: r#"("text" "" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL)"#,
    },
    Fixture {
        name: "empty",
        raw: include_bytes!("fixtures/empty.eml"),
        envelope: r#"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"#,
        body: r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)"#,
        body_structure: r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)"#,
    },
    Fixture {
        name: "rfc822simple",
        raw: include_bytes!("fixtures/rfc822simple.eml"),
        envelope: r#"(NIL "simple rfc822" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"(("message" "rfc822" NIL NIL NIL "7bit" 28 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0) 2)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0) "mixed")"#,
        body_structure: r#"(("message" "rfc822" NIL NIL NIL "7bit" 28 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "mixed" ("boundary" "q") NIL NIL NIL)"#,
    },
    Fixture {
        name: "multipartinmultipart",
        raw: include_bytes!("fixtures/multipartinmultipart.eml"),
        envelope: r#"(NIL "nested multipart directly" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0) "alternative")("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0) "mixed")"#,
        body_structure: r#"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "alternative" ("boundary" "r") NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "mixed" ("boundary" "q") NIL NIL NIL)"#,
    },
    Fixture {
        name: "epilogue",
        raw: include_bytes!("fixtures/epilogue.eml"),
        envelope: r#"(NIL "nested multipart with epilogue" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0) "alternative") "mixed")"#,
        body_structure: r#"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "alternative" ("boundary" "r") NIL NIL NIL) "mixed" ("boundary" "q") NIL NIL NIL)"#,
    },
    Fixture {
        name: "rfc822unclosed",
        raw: include_bytes!("fixtures/rfc822unclosed.eml"),
        envelope: r#"(NIL "rfc822 last part no close" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL)"#,
        body: r#"(("message" "rfc822" NIL NIL NIL "7bit" 30 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1) 3) "mixed")"#,
        body_structure: r#"(("message" "rfc822" NIL NIL NIL "7bit" 30 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "mixed" ("boundary" "q") NIL NIL NIL)"#,
    },
    Fixture {
        name: "mimeversiononly",
        raw: include_bytes!("fixtures/mimeversiononly.eml"),
        envelope: r#"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"#,
        body: r#"("text" "plain" ("charset" "us-ascii") "<a@b>" NIL "base64" 10 1)"#,
        body_structure: r#"("text" "plain" ("charset" "us-ascii") "<a@b>" NIL "base64" 10 1 NIL NIL NIL NIL)"#,
    },
    Fixture {
        name: "emptytype",
        raw: include_bytes!("fixtures/emptytype.eml"),
        envelope: r#"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"#,
        body: r#"("" "" NIL "<a@b>" NIL "base64" 10)"#,
        body_structure: r#"("" "" NIL "<a@b>" NIL "base64" 10 NIL NIL NIL NIL)"#,
    },
    Fixture {
        name: "partwithoutmime",
        raw: include_bytes!("fixtures/partwithoutmime.eml"),
        envelope: r#"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"#,
        body: r#"(("text" "plain" ("charset" "us-ascii") "<a@b>" NIL "base64" 8 0)("message" "rfc822" NIL NIL NIL "7bit" 45 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 0) 2) "mixed")"#,
        body_structure: r#"(("text" "plain" ("charset" "us-ascii") "<a@b>" NIL "base64" 8 0 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 45 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL) "mixed" ("boundary" "q") NIL NIL NIL)"#,
    },
    Fixture {
        name: "nomime",
        raw: include_bytes!("fixtures/nomime.eml"),
        envelope: r#"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"#,
        body: r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1)"#,
        body_structure: r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL)"#,
    },
    Fixture {
        name: "openinner",
        raw: include_bytes!("fixtures/openinner.eml"),
        envelope: r#"(NIL NIL ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL)"#,
        body: r#"("message" "rfc822" NIL NIL NIL "7bit" 21 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 2)"#,
        body_structure: r#"("message" "rfc822" NIL NIL NIL "7bit" 21 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL)"#,
    },
];
