//! The client commands of RFC 9051 section 6's examples (and of the
//! extensions' RFCs), each of which must parse.

use super::{command, events};
use crate::imap::codec::ReadEvent;
use crate::imap::command::CommandBody;

const EXAMPLES: &[&str] = &[
    // 6.1
    "abcd CAPABILITY\r\n",
    "a002 NOOP\r\n",
    "a047 NOOP\r\n",
    "A023 LOGOUT\r\n",
    // 6.2
    "a001 STARTTLS\r\n",
    "A001 AUTHENTICATE GSSAPI\r\n",
    "A001 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
    "a001 LOGIN SMITH SESAME\r\n",
    // 6.3
    "t2 ENABLE IMAP4rev2\r\n",
    "t1 ENABLE CONDSTORE UTF8=ACCEPT\r\n",
    "A142 SELECT INBOX\r\n",
    "A932 EXAMINE blurdybloop\r\n",
    "A003 CREATE owatagusiam/\r\n",
    "A004 CREATE owatagusiam/blurdybloop\r\n",
    "A682 LIST \"\" *\r\n",
    "A683 DELETE blurdybloop\r\n",
    "A684 DELETE foo\r\n",
    "A685 DELETE foo/bar\r\n",
    "A687 DELETE foo\r\n",
    "A82 LIST \"\" *\r\n",
    "A83 DELETE foo\r\n",
    "A683 RENAME blurdybloop sarasoop\r\n",
    "A685 RENAME foo zowie\r\n",
    "Z432 LIST \"\" *\r\n",
    "A002 SUBSCRIBE #news.comp.mail.mime\r\n",
    "A002 UNSUBSCRIBE #news.comp.mail.mime\r\n",
    "A101 LIST \"\" \"\"\r\n",
    "A102 LIST #news.comp.mail.misc \"\"\r\n",
    "A103 LIST /usr/staff/jones \"\"\r\n",
    "A202 LIST ~/Mail/ %\r\n",
    "A01 LIST \"\" %\r\n",
    "A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n",
    "A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n",
    "A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)\r\n",
    "A05 LIST (REMOTE SUBSCRIBED) \"\" \"*\"\r\n",
    "A06 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n",
    "C01 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)\r\n",
    "A08 LIST (SUBSCRIBED) \"\" \"*\" RETURN (CHILDREN)\r\n",
    "B01 LIST \"\" (\"*.foo\" \"foo*\")\r\n",
    "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n",
    "t1 LIST (SPECIAL-USE) \"\" \"*\"\r\n",
    "A1 LIST \"\" \"%\" RETURN (SPECIAL-USE)\r\n",
    "A001 NAMESPACE\r\n",
    "A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
    "A003 APPEND saved-messages (\\Seen) {326}\r\n\
Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu.example\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n\
\r\n",
    "A004 IDLE\r\n",
    // 6.4
    "FXXZ CHECK\r\n",
    "A341 CLOSE\r\n",
    "A342 UNSELECT\r\n",
    "A202 EXPUNGE\r\n",
    "A003 UID EXPUNGE 3000:3002\r\n",
    "A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    "A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    "A284 SEARCH TEXT \"string not in mailbox\"\r\n",
    "A285 SEARCH CHARSET UTF-8 TEXT {12}\r\n\u{43e}\u{442}\u{43f}\u{443}\u{441}\u{43a}\r\n",
    "A286 SEARCH CHARSET UTF-8 TEXT {10+}\r\n\u{43e}\u{442}\u{43f}\u{443}\u{441}\r\n",
    "A301 UID SEARCH UID 443:557\r\n",
    "A302 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    "A303 FETCH $ (UID INTERNALDATE FLAGS RFC822.SIZE)\r\n",
    "A304 SEARCH RETURN (MIN MAX) 1:*\r\n",
    "A305 UID SEARCH UID $ SMALLER 4096\r\n",
    "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
    "A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
    "A003 COPY 2:4 MEETING\r\n",
    "a UID MOVE 42:69 foo\r\n",
    "A999 UID FETCH 4827313:4828442 FLAGS\r\n",
    "A001 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")\r\n",
    // RFC 5256 (SORT and THREAD), RFC 7162 (CONDSTORE, QRESYNC), RFC 9208
    // (QUOTA), RFC 6154 (CREATE-SPECIAL-USE), RFC 3502 (MULTIAPPEND).
    "A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n",
    "A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n",
    "A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"\r\n",
    "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n",
    "A284 THREAD REFERENCES US-ASCII TEXT \"gewp\"\r\n",
    "a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)\r\n",
    "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
    "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
    "A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))\r\n",
    "s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
    "A003 GETQUOTA \"\"\r\n",
    "A003 GETQUOTAROOT INBOX\r\n",
    "A001 SETQUOTA \"\" (STORAGE 512)\r\n",
    "t1 CREATE \"Important Messages\" (USE (\\Important))\r\n",
    "A003 APPEND saved-messages (\\Seen) {5+}\r\nHello {5+}\r\nWorld\r\n",
    "A003 APPEND saved-messages ~{3+}\r\na\u{0}b\r\n",
    "a SEARCH YOUNGER 3600\r\n",
];

#[test]
fn rfc_examples_parse() {
    for example in EXAMPLES {
        let cmd = command(example);
        assert!(example.starts_with(&cmd.tag), "{example:?}");
    }
    let append = EXAMPLES
        .iter()
        .find(|e| e.contains("{326}"))
        .expect("the APPEND example");
    assert!(matches!(
        command(append).body,
        CommandBody::Append { ref messages, .. } if messages[0].content.len() == 326
    ));
}

#[test]
fn a_synchronizing_literal_waits_for_the_continuation() {
    let example = "A285 SEARCH CHARSET UTF-8 TEXT {12}\r\n";
    let got = events(example.as_bytes());
    assert_eq!(got, vec![ReadEvent::ContinuationNeeded]);
}
