//! Whole sessions, snapshot-tested as transcripts, with the points that
//! matter asserted beside them.

use super::harness::{Harness, config};
use crate::nntp::{Access, Wildmat};
use std::time::Duration;

fn session(lines: &[&str]) -> Harness {
    let mut harness = Harness::new();
    for line in lines {
        harness.send_line(line);
    }
    harness
}

/// The status codes of the server's responses, in order (multi-line
/// bodies left out).
fn codes(harness: &Harness) -> Vec<u16> {
    let text = String::from_utf8_lossy(&harness.server_bytes).into_owned();
    let mut codes = Vec::new();
    let mut in_body = false;
    for line in text.split("\r\n") {
        if in_body {
            in_body = line != ".";
            continue;
        }
        if let Some(code) = line.get(..3).and_then(|c| c.parse::<u16>().ok())
            && line.as_bytes().get(3).is_none_or(|&b| b == b' ')
        {
            codes.push(code);
            in_body = matches!(
                code,
                100 | 101 | 211 | 215 | 220..=222 | 224 | 225 | 230 | 231
            ) && (code != 211 || line.ends_with("list follows"));
        }
    }
    codes
}

#[test]
fn greeting_capabilities_mode_reader_help_date_quit() {
    let harness = session(&["CAPABILITIES", "MODE READER", "HELP", "DATE", "QUIT"]);
    assert!(harness.closed);
    assert_eq!(codes(&harness), [200, 101, 200, 100, 111, 205]);
    assert!(harness.transcript.contains("S: 111 20261120221559"));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn capabilities_follow_tls_and_login() {
    let mut without_tls = config();
    without_tls.auth.without_tls = false;
    without_tls.posting = false;
    let mut harness = Harness::with_config(without_tls, false);
    harness.send_line("CAPABILITIES");
    harness.send_line("AUTHINFO USER alice@example.test");
    harness.send_line("STARTTLS");
    harness.send_line("CAPABILITIES");
    harness.login();
    harness.send_line("CAPABILITIES");
    harness.send_line("STARTTLS");
    harness.send_line("AUTHINFO USER alice@example.test");
    assert_eq!(
        codes(&harness),
        [201, 101, 483, 382, 101, 381, 281, 101, 502, 502]
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn lists_are_filtered_by_wildmat_and_access() {
    let mut harness = session(&[
        "LIST",
        "LIST ACTIVE local.*,!local.empty",
        "LIST NEWSGROUPS",
        "LIST OVERVIEW.FMT",
        "LIST HEADERS",
        "LIST ACTIVE [local",
        "LIST DISTRIBUTIONS",
        "LIST ACTIVE.TIMES local.e*",
    ]);
    assert!(!harness.transcript.contains("private.staff"));
    harness.login();
    harness.send_line("LIST ACTIVE private.*");
    assert!(harness.transcript.contains("S: private.staff 1 1 y"));
    assert_eq!(
        codes(&harness),
        [200, 215, 215, 215, 215, 215, 501, 503, 215, 381, 281, 215]
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn group_listgroup_next_and_last() {
    let harness = session(&[
        "STAT",
        "NEXT",
        "LISTGROUP",
        "GROUP nosuch.group",
        "GROUP Bad.Name",
        "GROUP private.staff",
        "GROUP local.general",
        "STAT",
        "NEXT",
        "NEXT",
        "LAST",
        "LAST",
        "STAT 2",
        "LISTGROUP",
        "LISTGROUP local.general 2-",
        "LISTGROUP local.empty",
        "STAT",
        "NEXT",
        "GROUP local.nosuch",
        "LISTGROUP",
    ]);
    assert_eq!(
        codes(&harness),
        [
            200, 412, 412, 412, 411, 411, 411, 211, 223, 223, 421, 223, 422, 423, 211, 211, 211,
            420, 420, 411, 211
        ]
    );
    assert!(harness.transcript.contains("S: 211 2 1 3 local.general\n"));
    assert!(
        harness
            .transcript
            .contains("S: 211 0 1 0 local.empty list follows")
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn article_head_body_and_stat_are_dot_stuffed() {
    let mut harness = session(&["GROUP local.general"]);
    let from = harness.server_bytes.len();
    harness.send_line("ARTICLE");
    assert_eq!(
        harness.sent_since(from),
        "220 1 <1@example.test>\r\nPath: news.example.test!not-for-mail\r\n\
From: alice@example.test\r\nNewsgroups: local.general\r\nSubject: first\r\n\
Date: Mon, 16 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n\r\n\
Hello\r\n..dotted line\r\n.\r\n"
    );
    let from = harness.server_bytes.len();
    harness.send_line("BODY 1");
    assert_eq!(
        harness.sent_since(from),
        "222 1 <1@example.test>\r\nHello\r\n..dotted line\r\n.\r\n"
    );
    for line in [
        "HEAD 3",
        "STAT 1",
        "ARTICLE 2",
        "ARTICLE <3@example.test>",
        "HEAD <s1@example.test>",
        "BODY <nope@example.test>",
        "STAT <1@example.test>",
        "ARTICLE x",
    ] {
        harness.send_line(line);
    }
    harness.login();
    harness.send_line("STAT <s1@example.test>");
    assert!(harness.transcript.contains("S: 223 0 <s1@example.test>"));
    assert_eq!(
        codes(&harness),
        [
            200, 211, 220, 222, 221, 223, 423, 220, 430, 430, 223, 501, 381, 281, 223
        ]
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn article_by_message_id_keeps_the_current_article() {
    let harness = session(&["GROUP local.general", "STAT <3@example.test>", "STAT"]);
    assert!(harness.transcript.contains("S: 223 3 <3@example.test>"));
    assert!(harness.transcript.ends_with("S: 223 1 <1@example.test>\n"));
}

#[test]
fn an_article_that_cannot_be_read_gets_403() {
    let mut harness = Harness::new();
    harness.vanished.push("<3@example.test>".into());
    harness.send_line("ARTICLE <3@example.test>");
    harness.send_line("DATE");
    assert_eq!(codes(&harness), [200, 403, 111]);
    assert!(!harness.closed);
}

#[test]
fn over_and_hdr() {
    let harness = session(&[
        "OVER",
        "GROUP local.general",
        "OVER",
        "XOVER 1-3",
        "OVER 5-",
        "OVER <3@example.test>",
        "OVER <s1@example.test>",
        "HDR Subject 1-",
        "HDR :bytes",
        "XHDR from 3",
        "HDR references <3@example.test>",
        "HDR X-Unknown 1-",
        "HDR :foo",
        "HDR Sub:ject",
    ]);
    assert_eq!(
        codes(&harness),
        [
            200, 412, 211, 224, 224, 423, 224, 430, 225, 225, 221, 225, 225, 503, 501
        ]
    );
    assert!(
        harness.transcript.contains(
            "S: 3\\tsecond\\tbob@example.test\\t\\t<3@example.test>\\t<1@example.test>\\t"
        )
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn newgroups_and_newnews() {
    let harness = session(&[
        "NEWGROUPS 261120 000000 GMT",
        "NEWGROUPS 20261021 000000",
        "NEWNEWS local.* 20261119 000000",
        "NEWNEWS * 261101 000000 GMT",
        "NEWNEWS * 20260230 000000",
        "NEWNEWS local.[ 20261101 000000",
    ]);
    assert_eq!(codes(&harness), [200, 231, 231, 230, 230, 501, 501]);
    assert!(!harness.transcript.contains("s1@example.test"));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn authinfo_user_pass_in_and_out_of_sequence() {
    let mut harness = session(&[
        "AUTHINFO PASS early",
        "AUTHINFO USER alice@example.test",
        "AUTHINFO PASS wrong",
    ]);
    // The failure's reply waits out the delay; input waits with it.
    harness.send_line("DATE");
    assert_eq!(codes(&harness), [200, 482, 381]);
    harness.advance(Duration::from_secs(2));
    harness.login();
    harness.send_line("AUTHINFO USER alice@example.test");
    assert_eq!(codes(&harness), [200, 482, 381, 481, 111, 381, 281, 502]);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn lockout_answer_and_too_many_failures() {
    let mut no_delay = config();
    no_delay.auth.failure_delay = Duration::ZERO;
    let mut harness = Harness::with_config(no_delay, false);
    harness.send_line("AUTHINFO USER locked@example.test");
    harness.send_line("AUTHINFO PASS anything");
    for _ in 0..3 {
        harness.send_line("AUTHINFO USER bob@example.test");
        harness.send_line("AUTHINFO PASS guess");
    }
    assert!(harness.closed);
    assert_eq!(
        codes(&harness),
        [200, 381, 481, 381, 481, 381, 481, 381, 481]
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn authinfo_sasl_plain_with_and_without_initial_response() {
    // base64("\0alice@example.test\0correct horse")
    let plain = "AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNl";
    let harness = session(&[
        "AUTHINFO SASL CRAM-MD5",
        "AUTHINFO SASL PLAIN",
        "*",
        "AUTHINFO SASL PLAIN",
        "not base64!",
        "AUTHINFO SASL PLAIN",
        plain,
    ]);
    assert_eq!(codes(&harness), [200, 503, 383, 481, 383, 482, 383, 281]);
    let other = session(&[
        &format!("AUTHINFO SASL PLAIN {plain}"),
        "LIST ACTIVE private.*",
    ]);
    assert_eq!(codes(&other), [200, 281, 215]);
    assert!(other.transcript.contains("S: private.staff"));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn starttls_discards_what_was_pipelined_behind_it() {
    let mut harness = Harness::new();
    harness.send(b"STARTTLS\r\nAUTHINFO USER mallory\r\nAUTHINFO PASS x\r\n");
    harness.send_line("STARTTLS");
    harness.send_line("CAPABILITIES");
    assert_eq!(codes(&harness), [200, 382, 502, 101]);
    assert!(
        harness
            .transcript
            .contains("TLS started; 40 bytes sent in clear")
    );
    assert!(!harness.transcript.contains("request: authenticate"));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn auth_required_refuses_with_480_until_login() {
    let mut required = config();
    required.auth_required = true;
    let mut harness = Harness::with_config(required, false);
    for line in [
        "LIST",
        "GROUP local.general",
        "POST",
        "DATE",
        "HELP",
        "MODE READER",
    ] {
        harness.send_line(line);
    }
    harness.login();
    harness.send_line("GROUP local.general");
    assert_eq!(
        codes(&harness),
        [200, 480, 480, 480, 111, 100, 200, 381, 281, 211]
    );
}

#[test]
fn a_good_post_is_checked_completed_and_stored() {
    let mut harness = session(&["POST"]);
    harness.send(
        b"From: carol@example.test\r\nNewsgroups: local.general,local.empty\r\n\
Subject: news\r\n\r\n..leading dot\r\nplain\r\n.\r\n",
    );
    harness.send_line("GROUP local.empty");
    harness.send_line("ARTICLE");
    assert_eq!(codes(&harness), [200, 340, 240, 211, 220]);
    assert_eq!(harness.posts.len(), 1);
    let (article, groups) = &harness.posts[0];
    assert_eq!(
        String::from_utf8_lossy(article),
        "Path: news.example.test!not-for-mail\r\nFrom: carol@example.test\r\n\
Newsgroups: local.general,local.empty\r\nSubject: news\r\n\
Date: Fri, 20 Nov 2026 22:15:59 +0000\r\n\
Message-ID: <1795212959.0000000000005eed.1@news.example.test>\r\n\r\n.leading dot\r\nplain\r\n"
    );
    assert_eq!(groups.len(), 2);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn bad_posts_get_441_with_the_reason() {
    let articles: &[&str] = &[
        "Newsgroups: local.general\r\nSubject: s\r\n\r\nx\r\n",
        "From: a@b\r\nNewsgroups: local.general\r\n\r\nx\r\n",
        "From: a@b\r\nSubject: s\r\n\r\nx\r\n",
        "From: a@b\r\nSubject: s\r\nNewsgroups: Local.General\r\n\r\nx\r\n",
        "From: a@b\r\nSubject: s\r\nNewsgroups: local.general\r\nMessage-ID: bad\r\n\r\n",
        "From: a@b\r\nSubject: s\r\nNewsgroups: local.general\r\nDate: someday\r\n\r\n",
        "just a body line\r\n",
        "From: a@b\r\nSubject: s\r\nNewsgroups: local.general\r\n",
        "From: a@b\r\nSubject: s\r\nNewsgroups: private.staff\r\n\r\nx\r\n",
        "From: a@b\r\nSubject: s\r\nNewsgroups: local.nosuch\r\n\r\nx\r\n",
    ];
    let mut harness = Harness::new();
    for article in articles {
        harness.send_line("POST");
        harness.send(article.as_bytes());
        harness.send_line(".");
    }
    let mut expected = vec![200];
    expected.extend([340, 441].repeat(articles.len()));
    assert_eq!(codes(&harness), expected);
    assert!(harness.posts.is_empty());
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn posting_not_permitted_gets_440() {
    let mut off = config();
    off.posting = false;
    let harness = {
        let mut harness = Harness::with_config(off, false);
        harness.send_line("POST");
        harness
    };
    assert_eq!(codes(&harness), [201, 440]);
    let mut read_only = config();
    read_only.anonymous = Access {
        read: Wildmat::everything(),
        post: Wildmat::nothing(),
    };
    let mut harness = Harness::with_config(read_only, false);
    harness.send_line("POST");
    harness.login();
    harness.send_line("POST");
    assert_eq!(codes(&harness), [201, 440, 381, 281, 340]);
}

#[test]
fn an_oversized_article_is_read_to_its_end_and_refused() {
    let mut harness = session(&["POST"]);
    let mut article = b"From: a@b\r\nSubject: s\r\nNewsgroups: local.general\r\n\r\n".to_vec();
    for _ in 0..100 {
        article.extend_from_slice(b"0123456789012345678901234567890123456789\r\n");
    }
    article.extend_from_slice(b".\r\nDATE\r\n");
    harness.feed(&article);
    assert_eq!(codes(&harness), [200, 340, 441, 111]);
    assert!(
        harness
            .transcript
            .contains("S: 441 Posting failed: article too large")
    );
    assert!(harness.posts.is_empty());
}

#[test]
fn a_long_command_line_is_refused_and_the_session_goes_on() {
    let mut harness = Harness::new();
    let long = format!("GROUP {}\r\n", "a".repeat(600));
    harness.feed(long.as_bytes());
    harness.send_line(&format!("GROUP {}", "b".repeat(504)));
    harness.send_line("DATE");
    assert_eq!(codes(&harness), [200, 501, 411, 111]);
}

#[test]
fn idle_and_session_timeouts_close_with_400() {
    let mut harness = Harness::new();
    harness.advance(Duration::from_secs(179));
    assert!(!harness.closed);
    harness.send_line("DATE");
    harness.advance(Duration::from_secs(180));
    assert!(harness.closed);
    assert_eq!(codes(&harness), [200, 111, 400]);
    insta::assert_snapshot!(harness.transcript);

    let mut short = config();
    short.max_session_time = Duration::from_secs(300);
    let mut harness = Harness::with_config(short, false);
    for _ in 0..3 {
        harness.advance(Duration::from_secs(120));
        harness.send_line("DATE");
    }
    assert!(harness.closed);
    assert!(
        harness
            .transcript
            .contains("S: 400 Session too long (300s)")
    );
}

#[test]
fn a_slow_post_is_still_client_activity() {
    let mut harness = session(&["POST"]);
    for _ in 0..3 {
        harness.advance(Duration::from_secs(120));
        harness.feed(b"X-Line: ");
        harness.feed(b"more\r\n");
    }
    assert!(!harness.closed);
    harness.advance(Duration::from_secs(180));
    assert!(harness.closed);
}

#[test]
fn a_pipelined_session_is_answered_in_order() {
    let mut harness = Harness::new();
    harness.send(
        b"MODE READER\r\nGROUP local.general\r\nSTAT\r\nNEXT\r\nHEAD\r\nOVER 1-\r\n\
POST\r\nFrom: a@b\r\nSubject: s\r\nNewsgroups: local.general\r\n\r\n.\r\nLISTGROUP\r\nQUIT\r\n",
    );
    assert!(harness.closed);
    assert_eq!(
        codes(&harness),
        [200, 200, 211, 223, 223, 221, 224, 340, 240, 211, 205]
    );
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn shutdown_and_too_many_errors_close_with_400() {
    let mut harness = session(&["DATE"]);
    harness.shut_down();
    assert!(harness.closed);
    assert_eq!(codes(&harness), [200, 111, 400]);

    let mut few = config();
    few.max_errors = 3;
    let mut harness = Harness::with_config(few, false);
    for _ in 0..4 {
        harness.send_line("FROB");
    }
    assert!(harness.closed);
    assert_eq!(codes(&harness), [200, 500, 500, 500, 400]);
}

#[test]
fn refusals_before_the_session_are_400_or_502() {
    use crate::admission::Refusal;
    use crate::nntp::refusal_response;
    assert_eq!(
        refusal_response("news.example.test", Refusal::AccessDenied),
        b"502 news.example.test Access denied: no news service for your address here\r\n"
    );
    let busy = refusal_response(
        "news.example.test",
        Refusal::TooManyConnections { limit: 1 },
    );
    assert!(busy.starts_with(b"400 news.example.test Too many connections"));
}

#[test]
fn a_dropped_connection_mid_post_stores_nothing() {
    let mut harness = session(&["POST"]);
    harness.send(b"From: a@b\r\nSubject: s\r\nNewsgroups: local.general\r\n\r\nhalf");
    harness.hang_up();
    assert!(harness.closed);
    assert!(harness.posts.is_empty());
    assert!(
        harness
            .transcript
            .contains("event: nntp session closed: articles=0 posted=0 refused=0")
    );
}

#[test]
fn head_stops_reading_at_the_end_of_the_header() {
    let mut harness = session(&["GROUP local.general"]);
    harness.chunk = 8;
    harness.send_line("HEAD 1");
    // The header and the empty line after it.
    let header_octets = 178;
    assert!(
        harness.octets_read < header_octets + 8,
        "HEAD read {} octets of the article",
        harness.octets_read
    );
    let before = harness.octets_read;
    harness.send_line("ARTICLE 1");
    assert_eq!(harness.octets_read - before, 199, "ARTICLE reads it all");
}

#[test]
fn a_crossposted_article_is_one_line_by_message_id_and_hidden_where_unreadable() {
    let mut harness = Harness::new();
    let crossposted = b"From: a@b\r\nNewsgroups: private.staff,lists.team\r\nSubject: both\r\n\
Message-ID: <x@example.test>\r\n\r\nhi\r\n"
        .to_vec();
    for name in ["private.staff", "lists.team"] {
        let group = harness.groups.iter_mut().find(|g| g.name == name).unwrap();
        group
            .articles
            .push((group.next, super::harness::WALL_CLOCK, crossposted.clone()));
        group.next += 1;
    }
    for _ in 0..2 {
        for line in ["OVER <x@example.test>", "HDR Subject <x@example.test>"] {
            let from = harness.server_bytes.len();
            harness.send_line(line);
            let sent = harness.sent_since(from);
            assert_eq!(sent.matches("\r\n").count(), 3, "{line}: {sent:?}");
        }
        harness.login();
    }
    // Only in a group the session may not read: not found.
    let mut harness = Harness::new();
    harness.send_line("OVER <s1@example.test>");
    harness.send_line("HDR Subject <s1@example.test>");
    harness.send_line("ARTICLE <s1@example.test>");
    assert_eq!(codes(&harness), [200, 430, 430, 430]);
}

#[test]
fn authinfo_lines_may_be_longer_than_commands() {
    let mut harness = Harness::new();
    // A 2,000-octet password fits an AUTHINFO line (RFC 4643 2.4.1), not
    // a command line.
    harness.send_line("AUTHINFO USER bob@example.test");
    harness.send_line(&format!("AUTHINFO PASS {}", "p".repeat(2000)));
    harness.advance(Duration::from_secs(2));
    harness.send_line(&format!("GROUP {}", "g".repeat(2000)));
    assert_eq!(codes(&harness), [200, 381, 481, 501]);
    assert!(
        harness
            .transcript
            .contains("request: authenticate bob@example.test")
    );
}
