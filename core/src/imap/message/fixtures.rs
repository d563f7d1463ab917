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
