//! The shared namespace: a list archive is listed, opened read-only and
//! never changed (see [`crate::imap::shared`]). The in-memory store holds
//! the archive as a folder of that name, as the driver's routing shows it.

use super::harness::Harness;
use crate::mailbox::Flag;

const ARCHIVE: &str = "#lists/team@example.test";

const POST: &str = "From: bob@example.test\r\nTo: team@example.test\r\nSubject: [team] Plans\r\nMessage-ID: <plans@example.test>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\nThe plans.\r\n";

fn with_archive() -> Harness {
    let mut h = Harness::new();
    h.store.create(ARCHIVE, None);
    h.store.deliver(ARCHIVE, POST);
    h.login();
    h
}

fn archive_seen(h: &Harness) -> bool {
    let folder = &h.store.folders[ARCHIVE];
    folder
        .messages
        .values()
        .any(|(meta, _)| meta.flags.contains(Flag::Seen))
}

#[test]
fn namespace_and_list_show_the_lists_archive() {
    let mut h = with_archive();
    h.line("a1 NAMESPACE");
    h.line("a2 LIST \"\" \"#lists/*\"");
    h.line("a3 LIST \"#lists/\" \"%\"");
    h.line("b7 LIST \"\" \"%\"");
    h.line("a4 STATUS \"#lists/team@example.test\" (MESSAGES UNSEEN)");
    h.line("a5 SUBSCRIBE \"#lists/team@example.test\"");
    h.line("a6 LSUB \"\" \"#lists/*\"");
    h.line("b8 ENABLE IMAP4rev2");
    h.line("b9 SELECT \"#lists/team@example.test\"");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn an_archive_is_selected_read_only_and_reading_sets_no_seen() {
    let mut h = with_archive();
    h.line("a1 SELECT \"#lists/team@example.test\"");
    h.line("a2 FETCH 1 (FLAGS BODY[HEADER.FIELDS (MESSAGE-ID)] BODY[TEXT])");
    h.line("a3 FETCH 1 RFC822");
    h.line("a4 SEARCH SUBJECT plans");
    h.line("a5 FETCH 1 FLAGS");
    assert!(!archive_seen(&h), "reading the archive set \\Seen");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn changes_to_an_archive_are_refused_noperm() {
    let mut h = with_archive();
    h.line("a1 SELECT \"#lists/team@example.test\"");
    h.line("a2 STORE 1 +FLAGS (\\Seen \\Deleted)");
    h.line("a3 EXPUNGE");
    h.line("a4 MOVE 1 INBOX");
    h.line("a5 COPY 1 \"#lists/team@example.test\"");
    h.line("a6 APPEND \"#lists/team@example.test\" {5+}");
    h.line("hello");
    h.line("a7 CREATE \"#lists/mine\"");
    h.line("a8 DELETE \"#lists/team@example.test\"");
    h.line("a9 RENAME \"#lists/team@example.test\" Mine");
    h.line("b1 RENAME Archive \"#lists/Archive\"");
    h.line("b2 UNSELECT");
    h.line("b3 SELECT INBOX");
    h.line("b4 COPY 1 \"#lists/team@example.test\"");
    assert!(!archive_seen(&h));
    assert_eq!(h.store.folders[ARCHIVE].messages.len(), 1);
    assert!(h.store.folders.contains_key("Archive"));
    assert!(!h.store.folders.contains_key("#lists/mine"));
    insta::assert_snapshot!(h.transcript);
}
