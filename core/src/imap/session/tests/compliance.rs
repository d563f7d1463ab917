//! What Dovecot's imaptest compliance suite found, each as a session the
//! machine must answer as imaptest expects (the group named on each).

use super::harness::Harness;

/// imaptest `select`: EXAMINE claims no `\Recent`, so STATUS still
/// counts them; after SELECT it counts none.
#[test]
fn status_recent_counts_what_the_next_select_will_call_recent() {
    let mut h = Harness::new();
    h.login();
    h.line("a1 CREATE box");
    h.line("a2 APPEND box {3+}");
    h.line("a-1");
    h.line("a3 APPEND box {3+}");
    h.line("a-2");
    h.line("a4 EXAMINE box");
    h.line("a5 CLOSE");
    let mark = h.mark();
    h.line("a6 STATUS box (MESSAGES RECENT)");
    assert!(
        h.sent_since(mark)
            .contains("* STATUS \"box\" (MESSAGES 2 RECENT 2)\r\n"),
        "{}",
        h.sent_since(mark)
    );
    h.line("a7 SELECT box");
    h.line("a8 CLOSE");
    let mark = h.mark();
    h.line("a9 STATUS box (RECENT)");
    assert!(
        h.sent_since(mark)
            .contains("* STATUS \"box\" (RECENT 0)\r\n"),
        "{}",
        h.sent_since(mark)
    );
}

/// imaptest `atoms`: a LIST pattern that is not valid modified UTF-7 is
/// an empty OK, not BAD.
#[test]
fn a_list_pattern_that_is_not_modified_utf7_lists_nothing() {
    let mut h = Harness::new();
    h.login();
    let mark = h.mark();
    h.line("a1 LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*");
    assert_eq!(h.sent_since(mark), "a1 OK List completed\r\n");
}

/// imaptest `mutf7`: international folder names are created, listed and
/// given STATUS in modified UTF-7.
#[test]
fn international_folder_names_round_trip_in_modified_utf7() {
    let mut h = Harness::new();
    h.login();
    h.line("a1 CREATE box.p&AOQA5A-");
    let mark = h.mark();
    h.line("a2 LIST \"\" box.p&AOQA5A-");
    h.line("a3 STATUS box.p&AOQA5A- (MESSAGES)");
    let sent = h.sent_since(mark);
    assert!(
        sent.contains("\"box.p&AOQA5A-\"\r\n") || sent.contains(" box.p&AOQA5A-\r\n"),
        "{sent}"
    );
    assert!(sent.contains("(MESSAGES 0)\r\na3 OK"), "{sent}");
}

/// imaptest `expunge`: a session that changes flags while another
/// expunges is still told of the expunge at its next NOOP, and an
/// EXPUNGE of a message another session already expunged tells of it.
#[test]
fn expunges_by_another_session_survive_a_store_in_between() {
    let mut h = Harness::new();
    let b = h.connect(false);
    h.login_on(0);
    h.login_on(b);
    h.line_on(0, "a1 SELECT INBOX");
    h.line_on(b, "b1 SELECT INBOX");
    h.line_on(0, "a2 STORE 2 +FLAGS (\\Deleted)");
    h.line_on(0, "a3 EXPUNGE");
    h.line_on(b, "b2 STORE 1 FLAGS (\\Answered)");
    h.line_on(0, "a4 CHECK");
    let mark = h.transcript.len();
    h.line_on(b, "b3 NOOP");
    assert!(
        h.transcript[mark..].contains("B S: * 2 EXPUNGE\n"),
        "{}",
        h.transcript
    );
}

/// imaptest `expunge` part 4: both sessions mark a message, one
/// expunges, then the other's EXPUNGE tells of it.
#[test]
fn an_expunge_of_what_another_session_expunged_tells_of_it() {
    let mut h = Harness::new();
    let b = h.connect(false);
    h.login_on(0);
    h.login_on(b);
    h.line_on(0, "a1 SELECT INBOX");
    h.line_on(b, "b1 SELECT INBOX");
    h.line_on(0, "a2 STORE 1 +FLAGS (\\Deleted)");
    h.line_on(b, "b2 STORE 1 +FLAGS (\\Deleted)");
    h.line_on(0, "a3 EXPUNGE");
    let mark = h.transcript.len();
    h.line_on(b, "b3 EXPUNGE");
    assert!(
        h.transcript[mark..].contains("B S: * 1 EXPUNGE\n"),
        "{}",
        h.transcript
    );
}

/// imaptest `esearch-condstore`: a CONDSTORE enabling command in the
/// selected state tells HIGHESTMODSEQ; ESEARCH's MODSEQ is that of the
/// messages it reports (MIN alone: the first; MAX alone: the last).
#[test]
fn condstore_enabled_by_fetch_and_esearch_modseq_of_what_is_reported() {
    let mut h = Harness::new();
    h.login();
    h.line("a1 SELECT INBOX");
    let mark = h.mark();
    h.line("a2 FETCH 1 MODSEQ");
    let sent = h.sent_since(mark);
    assert!(sent.starts_with("* OK [HIGHESTMODSEQ "), "{sent}");
    h.line("a3 STORE 1 +FLAGS (\\Seen)");
    h.line("a4 STORE 3 +FLAGS (\\Seen)");
    h.line("a5 STORE 2 +FLAGS (\\Seen)");
    let modseq = |h: &mut Harness, n: u32| {
        let mark = h.mark();
        h.line(&format!("m FETCH {n} MODSEQ"));
        let sent = h.sent_since(mark);
        let at = sent.find("MODSEQ (").unwrap() + 8;
        sent[at..at + sent[at..].find(')').unwrap()].to_owned()
    };
    let (m1, m2, m3) = (modseq(&mut h, 1), modseq(&mut h, 2), modseq(&mut h, 3));
    let rows = [
        ("MIN", format!("MIN 1 MODSEQ {m1}")),
        ("MAX", format!("MAX 3 MODSEQ {m3}")),
        ("", format!("ALL 1:3 MODSEQ {m2}")),
        ("MIN MAX", format!("MIN 1 MAX 3 MODSEQ {m3}")),
    ];
    for (returns, expected) in rows {
        let mark = h.mark();
        h.line(&format!("s SEARCH RETURN ({returns}) 1:3 MODSEQ 1"));
        let sent = h.sent_since(mark);
        assert!(
            sent.contains(&format!("(TAG \"s\") {expected}\r\n")),
            "{returns}: {sent}"
        );
    }
}

/// imaptest `subscribe`: a parent of subscribed folders that is not
/// subscribed itself is LSUB `\Noselect` (RFC 3501 6.3.9), and LIST
/// (SUBSCRIBED) shows a subscribed name whose folder was deleted
/// `\NonExistent` (RFC 5258 3.1): CREATE does not subscribe, DELETE
/// does not unsubscribe.
#[test]
fn lsub_parents_are_noselect_and_subscriptions_outlive_their_folders() {
    let mut h = Harness::new();
    h.login();
    for line in [
        "a1 CREATE t.a",
        "a2 CREATE t.b.c",
        "a3 CREATE t.b",
        "a4 SUBSCRIBE t.b.c",
        "a5 CREATE t.gone",
        "a6 SUBSCRIBE t.gone",
        "a7 DELETE t.gone",
    ] {
        h.line(line);
    }
    let mark = h.mark();
    h.line("b1 LSUB \"\" t.%");
    assert_eq!(
        h.sent_since(mark),
        "* LSUB (\\Noselect) \".\" \"t.b\"\r\n* LSUB () \".\" \"t.gone\"\r\nb1 OK Lsub completed\r\n"
    );
    let mark = h.mark();
    h.line("b2 LIST (SUBSCRIBED) \"\" t.*");
    let sent = h.sent_since(mark);
    let gone = sent
        .lines()
        .find(|l| l.ends_with("\"t.gone\""))
        .unwrap_or("");
    assert!(
        gone.contains("\\NonExistent") && gone.contains("\\Subscribed"),
        "{sent}"
    );
}

/// imaptest `listext`: RECURSIVEMATCH gives a parent CHILDINFO only for
/// a subscribed child no pattern lists itself (RFC 5258 3.5).
#[test]
fn childinfo_only_for_a_subscribed_child_not_listed_itself() {
    let mut h = Harness::new();
    h.login();
    h.line("a1 CREATE p.c");
    h.line("a2 SUBSCRIBE p.c");
    let mark = h.mark();
    h.line("a3 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (p)");
    assert!(
        h.sent_since(mark)
            .contains("\"p\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n")
    );
    let mark = h.mark();
    h.line("a4 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (p p.c)");
    let sent = h.sent_since(mark);
    assert!(!sent.contains("CHILDINFO"), "{sent}");
    assert!(sent.contains("\"p.c\"\r\n"), "{sent}");
}

/// imaptest `append-binary`: a `literal8` APPEND of a binary part is
/// stored in base64, so BODY[1] holds no NUL and BINARY[1] gives the
/// octets back.
#[test]
fn a_binary_append_is_stored_so_body_never_sends_a_nul() {
    let mut h = Harness::new();
    h.login();
    let message = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\0-\xe4\n\r\n\n";
    h.line(&format!("a1 APPEND INBOX ~{{{}+}}", message.len()));
    h.feed(message);
    h.line("");
    h.line("a2 SELECT INBOX");
    let mark = h.mark();
    h.line("a3 FETCH 4 (BODY.PEEK[1] BINARY.SIZE[1])");
    let sent = h.sent_since(mark);
    assert!(!sent.contains('\0'), "{sent}");
    assert!(sent.contains("BINARY.SIZE[1] 7"), "{sent}");
}
