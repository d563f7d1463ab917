//! Whole sessions, snapshot-tested as transcripts.

use super::harness::{Harness, config};
use std::time::Duration;

fn logged_in() -> Harness {
    let mut h = Harness::new();
    h.login();
    h
}

fn selected() -> Harness {
    let mut h = logged_in();
    h.line("s1 SELECT INBOX");
    h
}

#[test]
fn login_select_fetch_and_logout() {
    let mut h = Harness::new();
    h.line("a1 CAPABILITY");
    h.login();
    h.line("a2 SELECT INBOX");
    h.line("a3 FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)");
    h.line("a4 LOGOUT");
    assert!(h.closed());
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn commands_out_of_state_are_bad_and_too_many_end_the_session() {
    let mut h = Harness::new();
    h.line("a1 SELECT INBOX");
    h.line("a2 FETCH 1 FLAGS");
    h.login();
    h.line("a3 FETCH 1 FLAGS");
    h.line("a4 LOGIN alice@example.test x");
    h.line("a5 FROB");
    assert!(h.closed());
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn failed_logins_wait_and_the_last_one_ends_the_session() {
    let mut h = Harness::new();
    h.line("a1 LOGIN alice@example.test wrong");
    h.advance(Duration::from_secs(2));
    h.line("a2 AUTHENTICATE PLAIN");
    h.line("AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==");
    h.advance(Duration::from_secs(2));
    h.line("a3 LOGIN locked@example.test x");
    h.line("a4 AUTHENTICATE LOGIN");
    h.line("*");
    // base64("\0alice@example.test\0correct horse") as SASL-IR.
    h.line("a5 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNl");
    h.line("a6 LOGOUT");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn logins_in_clear_are_refused_where_tls_is_required() {
    let mut config = config();
    config.auth.without_tls = false;
    let mut h = Harness::with_config(config);
    h.line("a1 CAPABILITY");
    h.login();
    h.line("a2 STARTTLS");
    h.line("a3 CAPABILITY");
    h.login();
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn bytes_pipelined_after_starttls_are_discarded() {
    let mut h = Harness::new();
    h.send_on(
        0,
        b"a1 STARTTLS\r\na2 LOGIN alice@example.test \"correct horse\"\r\n",
    );
    h.line("a3 NOOP");
    assert!(h.requests.is_empty(), "the injected LOGIN was acted on");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn examine_is_read_only_and_store_is_refused() {
    let mut h = logged_in();
    h.line("a1 EXAMINE INBOX");
    h.line("a2 STORE 1 +FLAGS (\\Deleted)");
    h.line("a3 EXPUNGE");
    h.line("a4 CLOSE");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn store_flags_and_keywords() {
    let mut h = selected();
    h.line("a1 STORE 2 +FLAGS (\\Flagged $Work)");
    h.line("a2 STORE 1:2 -FLAGS.SILENT (\\Seen)");
    h.line("a3 UID STORE 3 FLAGS (\\Answered)");
    h.line("a4 STORE 1 +FLAGS (\\Bogus)");
    h.line("a5 STORE 9 +FLAGS (\\Seen)");
    h.line("a6 FETCH 1:* FLAGS");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn expunge_and_uid_expunge() {
    let mut h = selected();
    h.line("a1 STORE 1:3 +FLAGS.SILENT (\\Deleted)");
    h.line("a2 UID EXPUNGE 2");
    h.line("a3 EXPUNGE");
    h.line("a4 FETCH 1:* UID");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn copy_and_move_with_copyuid() {
    let mut h = selected();
    h.line("a1 COPY 1:2 Archive");
    h.line("a2 UID MOVE 3 Trash");
    h.line("a3 COPY 1 Nowhere");
    h.line("a4 STATUS Archive (MESSAGES UIDNEXT UNSEEN)");
    h.line("a5 STATUS Trash (MESSAGES SIZE)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn close_expunges_silently() {
    let mut h = selected();
    h.line("a1 STORE 2 +FLAGS.SILENT (\\Deleted)");
    h.line("a2 CLOSE");
    h.line("a3 FETCH 1 FLAGS");
    h.line("a4 STATUS INBOX (MESSAGES)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn append_with_flags_date_and_multiappend() {
    let mut h = logged_in();
    h.line("a1 APPEND Drafts (\\Draft) \"17-Jul-1996 02:44:25 -0700\" {20+}");
    h.line("Subject: draft\r\n\r\nhi");
    h.line("a2 APPEND INBOX {19}");
    h.line("Subject: sync\r\n\r\nyo");
    h.line("a3 APPEND Sent {9+}");
    h.send_on(0, b"A\r\n\r\nbody (\\Seen) {9+}\r\nB\r\n\r\nbody\r\n");
    h.line("a4 APPEND Nowhere {3+}");
    h.line("A\r\n");
    h.line("a5 SELECT Drafts");
    h.line("a6 FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn append_over_the_quota_is_refused() {
    let mut config = config();
    config.quota.messages = Some(3);
    let mut h = Harness::with_config(config);
    h.login();
    h.line("a1 APPEND INBOX {6+}");
    h.line("S: x\r\n");
    h.line("a2 GETQUOTAROOT INBOX");
    h.line("a3 GETQUOTA \"\"");
    h.line("a4 SETQUOTA \"\" (STORAGE 1)");
    insta::assert_snapshot!(h.transcript);
}

/// RFC 9208 5: COPY is refused whole when the copies would pass the
/// quota (message count or storage); MOVE between the user's own folders
/// adds nothing and goes ahead.
#[test]
fn copy_over_the_quota_is_refused_and_move_is_not() {
    let mut config = config();
    config.quota.messages = Some(4);
    let mut h = Harness::with_config(config);
    h.login();
    h.line("a1 SELECT INBOX");
    h.line("a2 COPY 1:2 Trash");
    h.line("a3 COPY 1 Trash");
    h.line("a4 MOVE 1:2 Trash");
    h.line("a5 STATUS Trash (MESSAGES)");
    let mut config = super::harness::config();
    config.quota.storage_bytes = Some(600);
    let mut h2 = Harness::with_config(config);
    h2.login();
    h2.line("b1 SELECT INBOX");
    h2.line("b2 UID COPY 1:* Trash");
    h.transcript.push_str(&h2.transcript);
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn folders_create_list_rename_delete() {
    let mut h = logged_in();
    h.line("a1 CREATE Projects.2026.");
    h.line("a2 CREATE Lists (USE (\\Flagged))");
    h.line("a3 CREATE Archive");
    h.line("a4 LIST \"\" \"\"");
    h.line("a5 LIST \"\" *");
    h.line("a6 LIST \"\" %");
    h.line("a7 RENAME Projects Work");
    h.line("a8 DELETE Work");
    h.line("a9 DELETE Work.2026");
    h.line("a0 DELETE Work");
    h.line("a9 LIST \"\" Work*");
    h.line("b1 DELETE INBOX");
    h.line("b2 DELETE Nowhere");
    h.line("b3 LIST (SPECIAL-USE) \"\" *");
    h.line("b4 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN) SUBSCRIBED)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn subscriptions_and_lsub() {
    let mut h = logged_in();
    h.line("a1 CREATE Lists.rust");
    h.line("a2 SUBSCRIBE Lists.rust");
    h.line("a3 UNSUBSCRIBE Junk");
    h.line("a4 SUBSCRIBE Gone");
    h.line("a5 LSUB \"\" *");
    h.line("a6 LSUB \"\" %");
    h.line("a7 LIST (SUBSCRIBED) \"\" *");
    h.line("a8 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn rename_inbox_moves_its_messages_and_leaves_it_empty() {
    let mut h = logged_in();
    h.line("a1 RENAME INBOX Old");
    h.line("a2 STATUS INBOX (MESSAGES UIDNEXT)");
    h.line("a3 STATUS Old (MESSAGES UIDNEXT)");
    assert!(h.store.folders["INBOX"].messages.is_empty());
    assert_eq!(h.store.folders["Old"].messages.len(), 3);
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn namespace_id_enable_and_noop() {
    let mut h = logged_in();
    h.line("a1 NAMESPACE");
    h.line("a2 ID (\"name\" \"test\")");
    h.line("a3 ENABLE CONDSTORE QRESYNC X-UNKNOWN");
    h.line("a4 ENABLE IMAP4rev2");
    h.line("a5 NOOP");
    h.line("a6 CHECK");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn idle_tells_a_delivery_at_once_and_done_ends_it() {
    let mut h = selected();
    h.line("a1 IDLE");
    h.advance(Duration::from_secs(5));
    h.deliver("INBOX", "Subject: new\r\n\r\nhello\r\n");
    h.line("DONE");
    h.line("a2 IDLE");
    h.advance(Duration::from_secs(30 * 60));
    assert!(h.closed());
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn autologout_after_thirty_minutes_without_a_command() {
    let mut h = logged_in();
    h.advance(Duration::from_secs(29 * 60));
    h.line("a1 NOOP");
    h.advance(Duration::from_secs(29 * 60));
    assert!(!h.closed());
    h.advance(Duration::from_secs(60));
    assert!(h.closed());
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn a_client_that_has_not_logged_in_is_logged_out_after_three_minutes() {
    let mut h = Harness::new();
    h.advance(Duration::from_secs(2 * 60));
    h.line("a1 CAPABILITY");
    h.advance(Duration::from_secs(2 * 60));
    assert!(!h.closed());
    h.advance(Duration::from_secs(60));
    assert!(h.closed());
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn logging_in_gives_the_session_its_thirty_minutes() {
    let mut h = Harness::new();
    h.advance(Duration::from_secs(2 * 60));
    h.login();
    h.advance(Duration::from_secs(29 * 60));
    assert!(!h.closed());
    h.advance(Duration::from_secs(60));
    assert!(h.closed());
}

#[test]
fn status_of_every_item() {
    let mut h = logged_in();
    h.line("a1 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT)");
    h.line("a2 STATUS Nowhere (MESSAGES)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn condstore_select_fetch_changedsince_and_unchangedsince() {
    let mut h = logged_in();
    h.line("a1 SELECT INBOX (CONDSTORE)");
    h.line("a2 FETCH 1:* (FLAGS) (CHANGEDSINCE 3)");
    h.line("a3 STORE 1:2 (UNCHANGEDSINCE 3) +FLAGS (\\Flagged)");
    h.line("a4 UID STORE 1:3 (UNCHANGEDSINCE 99) +FLAGS.SILENT (\\Answered)");
    h.line("a5 FETCH 3 (MODSEQ)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn qresync_select_tells_vanished_and_changed_messages() {
    let mut h = logged_in();
    h.line("a1 ENABLE QRESYNC");
    h.line("a2 SELECT INBOX");
    h.line("a3 STORE 2 +FLAGS.SILENT (\\Deleted)");
    h.line("a4 EXPUNGE");
    h.line("a5 STORE 1 +FLAGS.SILENT (\\Flagged)");
    h.line("a6 UNSELECT");
    h.line("a7 SELECT INBOX (QRESYNC (1001 4 1:3))");
    h.line("a8 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn mailbox_names_are_modified_utf7_for_imap4rev1_and_utf8_for_imap4rev2() {
    let mut h = logged_in();
    h.line("a1 CREATE R&AOk-sum&AOk-");
    h.line("a2 LIST \"\" R*");
    h.line("a3 CREATE Bad&Name");
    h.line("a4 ENABLE IMAP4rev2");
    h.line("a5 LIST \"\" R*");
    h.line("a6 STATUS \"Résumé\" (MESSAGES)");
    h.line("a7 LIST \"\" (INBOX Sent)");
    assert!(h.store.folders.contains_key("Résumé"));
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn literals_over_the_limits_are_refused_and_the_session_goes_on() {
    let mut h = logged_in();
    h.line("a1 APPEND INBOX {70000}");
    h.line("a2 APPEND INBOX {70000+}");
    h.feed(&vec![b'x'; 70_000]);
    h.line("");
    h.line("a3 LOGIN {70000}");
    h.line("a4 NOOP");
    assert!(!h.closed());
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn imap4rev2_select_has_no_recent_and_says_closed_when_switching() {
    let mut h = logged_in();
    h.line("a1 ENABLE IMAP4rev2");
    h.line("a2 SELECT INBOX");
    h.line("a3 FETCH 1 (FLAGS)");
    h.line("a4 EXAMINE Sent");
    h.line("a5 UNSELECT");
    insta::assert_snapshot!(h.transcript);
}
