//! FETCH of message content, SEARCH, SORT and THREAD, as transcripts.

use super::harness::Harness;

fn selected() -> Harness {
    let mut h = Harness::new();
    h.login();
    h.line("s1 SELECT INBOX");
    h
}

#[test]
fn fetch_envelope_structure_and_sections() {
    let mut h = selected();
    h.line("a1 FETCH 1 (ENVELOPE BODYSTRUCTURE BODY)");
    h.line("a2 FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject From)] BODY.PEEK[TEXT]<0.5>)");
    h.line(
        "a3 FETCH 3 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[9] BINARY.PEEK[1] BINARY.SIZE[1])",
    );
    h.line("a4 UID FETCH 3 (RFC822.HEADER)");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn a_body_fetch_sets_seen_and_tells_the_new_flags() {
    let mut h = selected();
    h.line("a1 FETCH 2 BODY[TEXT]");
    h.line("a2 FETCH 2:3 (FLAGS RFC822.TEXT)");
    h.line("a3 FETCH 1 BODY[]<10.20>");
    h.line("a4 EXAMINE INBOX");
    h.line("a5 FETCH 3 (BODY[])");
    h.line("a6 FETCH 1:* FLAGS");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn search_plain_esearch_and_saved_results() {
    let mut h = selected();
    h.line("a1 SEARCH UNSEEN");
    h.line("a2 UID SEARCH FROM carol");
    h.line("a3 SEARCH CHARSET UTF-8 SUBJECT lunch");
    h.line("a4 SEARCH CHARSET KOI8-R ALL");
    h.line("a5 SEARCH RETURN (MIN MAX COUNT ALL) OR SEEN TEXT invoice");
    h.line("a6 UID SEARCH RETURN (SAVE) SUBJECT lunch");
    h.line("a7 FETCH $ (UID)");
    h.line("a8 SEARCH RETURN () NOT UID $");
    h.line("a9 SEARCH RETURN (COUNT) BODY nothing-like-this");
    h.line("b1 SEARCH 2:* SMALLER 200 LARGER 10");
    h.line("b2 SEARCH MODSEQ 3");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn imap4rev2_searches_answer_in_esearch_form() {
    let mut h = selected();
    h.line("a1 ENABLE IMAP4rev2");
    h.line("a2 SEARCH UNSEEN");
    h.line("a3 UID SEARCH DELETED");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn sort_and_thread() {
    let mut h = selected();
    h.line("a1 SORT (SUBJECT) UTF-8 ALL");
    h.line("a2 UID SORT (REVERSE ARRIVAL) UTF-8 ALL");
    h.line("a3 SORT (FROM) UTF-8 SINCE 1-Jan-2026");
    h.line("a4 THREAD REFERENCES UTF-8 ALL");
    h.line("a5 UID THREAD ORDEREDSUBJECT UTF-8 ALL");
    insta::assert_snapshot!(h.transcript);
}

#[test]
fn a_message_gone_from_the_store_is_expungeissued() {
    let mut h = selected();
    h.store
        .folders
        .get_mut("INBOX")
        .unwrap()
        .messages
        .remove(&crate::mailbox::Uid::new(2).unwrap());
    h.line("a1 FETCH 1:3 (UID BODY.PEEK[HEADER.FIELDS (Subject)])");
    insta::assert_snapshot!(h.transcript);
}
