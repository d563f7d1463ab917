//! Two sessions on one mailbox: each is told of the other's changes at
//! the moments RFC 9051 7.4.1 allows, and only then.

use super::harness::Harness;

fn two_selected() -> (Harness, usize) {
    let mut h = Harness::new();
    let b = h.connect(false);
    h.login_on(0);
    h.login_on(b);
    h.line_on(0, "a1 SELECT INBOX");
    h.line_on(b, "b1 SELECT INBOX");
    (h, b)
}

#[test]
fn an_expunge_by_another_session_waits_until_fetch_store_and_search_are_over() {
    let (mut h, b) = two_selected();
    h.line_on(b, "b2 STORE 2 +FLAGS.SILENT (\\Deleted)");
    h.line_on(b, "b3 EXPUNGE");
    let mark = h.mark();
    h.line_on(0, "a2 FETCH 1:3 (FLAGS)");
    h.line_on(0, "a3 STORE 3 +FLAGS (\\Flagged)");
    assert!(
        !h.sent_since(mark).contains("EXPUNGE"),
        "EXPUNGE during FETCH or STORE"
    );
    h.line_on(0, "a4 NOOP");
    assert!(h.sent_since(mark).contains("* 2 EXPUNGE\r\n"));
    h.line_on(0, "a5 FETCH 2 (UID FLAGS)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn uid_commands_may_tell_expunges_and_flags_carry_uid_under_condstore() {
    let (mut h, b) = two_selected();
    h.line_on(0, "a2 ENABLE CONDSTORE");
    h.line_on(b, "b2 STORE 1 +FLAGS.SILENT (\\Deleted \\Answered)");
    h.line_on(b, "b3 EXPUNGE");
    h.line_on(b, "b4 STORE 2 +FLAGS.SILENT ($Label1)");
    h.line_on(0, "a3 UID FETCH 3 (FLAGS)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn deliveries_and_appends_are_told_as_exists_and_recent_to_one_session() {
    let (mut h, b) = two_selected();
    h.deliver("INBOX", "Subject: four\r\n\r\n4\r\n");
    h.line_on(b, "b2 NOOP");
    h.line_on(0, "a2 NOOP");
    h.line_on(0, "a3 APPEND INBOX {19+}");
    h.line_on(0, "Subject: five\r\n\r\n5");
    h.line_on(b, "b3 FETCH 4:* (UID FLAGS)");
    h.line_on(0, "a4 FETCH 4:* (UID FLAGS)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn an_idle_session_hears_of_changes_at_once() {
    let (mut h, b) = two_selected();
    h.line_on(0, "a2 IDLE");
    h.line_on(b, "b2 STORE 1 +FLAGS (\\Flagged)");
    h.line_on(b, "b3 STORE 2 +FLAGS.SILENT (\\Deleted)");
    h.line_on(b, "b4 EXPUNGE");
    h.line_on(b, "b5 COPY 1 INBOX");
    h.line_on(0, "DONE");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn a_store_that_forgot_old_changes_is_caught_up_from_a_fresh_snapshot() {
    let (mut h, b) = two_selected();
    h.line_on(b, "b2 STORE 3 +FLAGS.SILENT (\\Deleted \\Seen)");
    h.line_on(b, "b3 UID EXPUNGE 3");
    h.line_on(b, "b4 STORE 1 -FLAGS.SILENT (\\Seen)");
    h.deliver("INBOX", "Subject: four\r\n\r\n4\r\n");
    h.store.forget_before = Some(crate::mailbox::ModSeq(100));
    h.line_on(0, "a2 NOOP");
    insta::assert_snapshot!(h.transcript);
}
