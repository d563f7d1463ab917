//! The webmail over real sockets with python's http.client: cookies and
//! their attributes, forms refused without their token or from another
//! site, the login lockout shared with the other protocols, hostile HTML
//! rendered inert, downloads that cannot run, one user never reaching
//! another's mail, and sending under the submission rules.

mod support;

use support::imap::assert_lines;
use support::web::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, WebWorld};

#[test]
fn session_cookies_are_http_only_strict_and_expire_by_computer() {
    let world = WebWorld::start();
    let out = world.web("login-cookies", &[ALICE, ALICE_PASSWORD, "personal"]);
    assert_lines(
        &out,
        &[
            "login: 303",
            "location: /folder?f=INBOX",
            "; Path=/; HttpOnly; SameSite=Strict; Max-Age=604800",
            "content-security-policy: default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "x-frame-options: DENY",
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
            "cache-control: no-store",
        ],
    );
    assert!(!out.contains("Secure"), "plain HTTP: {out}");
    let shared = world.web("login-cookies", &[ALICE, ALICE_PASSWORD, "shared"]);
    let session_line = shared
        .lines()
        .find(|l| l.starts_with("set-cookie: postern_session="))
        .unwrap_or_else(|| panic!("no session cookie: {shared}"));
    assert!(
        session_line.ends_with("HttpOnly; SameSite=Strict"),
        "a shared computer's cookie dies with the browser: {session_line}"
    );
    let cafile = world.cafile();
    let out = support::python(
        "web.py",
        world.https,
        &[
            "login-cookies",
            ALICE,
            ALICE_PASSWORD,
            "personal",
            "--tls",
            cafile.to_str().unwrap(),
        ],
    );
    let out = String::from_utf8_lossy(&out.stdout);
    assert_lines(
        &out,
        &["login: 303", "HttpOnly; SameSite=Strict; Secure; Max-Age="],
    );
    assert!(
        world
            .server
            .log()
            .contains("webmail login: alice@example.test (shared computer)")
    );
    assert!(!world.server.log().contains(ALICE_PASSWORD));
}

#[test]
fn forms_without_their_token_or_from_another_site_are_refused() {
    let world = WebWorld::start();
    let out = world.web("forms", &[ALICE, ALICE_PASSWORD]);
    assert_lines(
        &out,
        &[
            "login without the form's cookie: 403",
            "logout without a token: 422",
            "logout with another token: 403",
            "logout from another origin: 403",
            "still logged in: 200",
            "logout: 303",
            "after logout: 303",
            "after logout location: /login",
        ],
    );
}

#[test]
fn failed_webmail_logins_count_toward_the_hosts_lockout() {
    let world = WebWorld::start_with("[auth]\nlockout_failures = 3\nlockout_window = \"10m\"\n");
    let out = world.web("wrong-passwords", &[ALICE, ALICE_PASSWORD, "4"]);
    assert_lines(
        &out,
        &[
            "wrong 1: 403",
            "wrong 2: 403",
            "wrong 3: 403",
            "wrong 4: 429",
            "right password: 429",
            "page says locked",
        ],
    );
}

const HOSTILE: &str = "From: Mallory <mallory@remote.test>\r\nTo: alice@example.test\r\nSubject: hostile\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Dear Alice</p><script>window.pwned=1</script><img src=\"https://tracker.test/pixel.gif\" onerror=\"alert(1)\"><a href=\"javascript:alert(2)\">click</a><a href=\"https://example.org/\" onclick=\"steal()\">site</a><style>body{background:url(https://tracker.test/css)}</style><p style=\"background:url(https://tracker.test/inline)\">styled</p><iframe src=\"https://evil.test/\"></iframe><form action=\"https://evil.test/\"><input name=p></form>\r\n";

#[test]
fn hostile_html_is_shown_inert_and_remote_images_wait_for_the_reader() {
    let world = WebWorld::start();
    world.deliver(ALICE, HOSTILE);
    let out = world.web("read", &[ALICE, ALICE_PASSWORD]);
    let page = out
        .split("--- page 1 ---")
        .nth(1)
        .and_then(|rest| rest.split("--- end 1 ---").next())
        .unwrap_or_else(|| panic!("no message page: {out}"));
    assert!(page.contains("Dear Alice"), "{page}");
    for absent in [
        "<script",
        "pwned",
        "onerror",
        "onclick",
        "javascript:",
        "tracker.test",
        "<iframe",
        "<form action=\"https",
        "<style>",
        "style=",
    ] {
        assert!(!page.contains(absent), "{absent} survived:\n{page}");
    }
    assert!(
        page.contains("rel=\"noopener noreferrer nofollow\""),
        "{page}"
    );
    assert!(page.contains("Remote images are hidden"), "{page}");
    assert!(out.contains("csp 1: default-src 'none'; style-src 'self'; img-src 'self' data:;"));
    // Asked for: the image is there, and the page's policy lets it load.
    let out = world.web("read", &[ALICE, ALICE_PASSWORD, "&images=1"]);
    assert!(
        out.contains("src=\"https://tracker.test/pixel.gif\""),
        "{out}"
    );
    assert!(out.contains("img-src 'self' data: https: http:"), "{out}");
    assert!(!out.contains("window.pwned"), "{out}");
}

const WITH_ATTACHMENTS: &str = "From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nTwo files.\r\n--b\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=\"page.html\"\r\n\r\n<script>alert(1)</script>\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"r\u{e9}sum\u{e9}\\\";.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";

#[test]
fn attachments_download_as_files_that_cannot_run() {
    let world = WebWorld::start();
    world.deliver(ALICE, WITH_ATTACHMENTS);
    let html = world.web("download", &[ALICE, ALICE_PASSWORD, "1", "0"]);
    assert_lines(
        &html,
        &[
            "part: 200",
            "content-type: application/octet-stream",
            "content-disposition: attachment; filename=\"page.html\"",
            "nosniff: nosniff",
        ],
    );
    let pdf = world.web("download", &[ALICE, ALICE_PASSWORD, "1", "1"]);
    assert_lines(
        &pdf,
        &[
            "part: 200",
            "content-type: application/pdf",
            "content-disposition: attachment; filename=\"",
        ],
    );
    assert!(!pdf.contains("\";.pdf\"\n"), "{pdf}");
}

#[test]
fn one_user_never_reaches_anothers_mail_by_changing_the_url() {
    let world = WebWorld::start();
    world.deliver(
        ALICE,
        "From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: the secret plan\r\n\r\nSecret.\r\n",
    );
    let out = world.web("other-user", &[BOB, BOB_PASSWORD, "1"]);
    assert!(!out.contains("LEAK"), "{out}");
    for line in out.lines() {
        assert!(
            line.ends_with(": 404"),
            "bob must see no such message: {line}\n{out}"
        );
    }
    assert_eq!(out.lines().count(), 6, "{out}");
}

#[test]
fn a_message_sent_from_the_webmail_is_delivered_and_kept_in_sent() {
    let world = WebWorld::start();
    let out = world.web("send", &[ALICE, ALICE_PASSWORD, BOB, "from the web"]);
    assert_lines(
        &out,
        &[
            "send: 303",
            "location: /folder?f=INBOX&done=sent",
            "in sent: True",
        ],
    );
    let delivered = world.server.wait_for_delivery("bob", 1);
    let text = std::fs::read_to_string(&delivered[0]).unwrap();
    for expected in [
        "Received: from webmail ([127.0.0.1])",
        "with HTTPA id ",
        "From: <alice@example.test>",
        "To: <bob@example.test>",
        "Subject: from the web",
        "Line one.\nLine two.",
        "filename=\"notes.txt\"",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    assert!(
        world
            .server
            .log()
            .contains("webmail message from alice@example.test queued")
    );
}

#[test]
fn the_webmail_refuses_what_submission_refuses() {
    let world = WebWorld::start();
    let unknown = world.web(
        "send-refused",
        &[ALICE, ALICE_PASSWORD, "nobody@example.test"],
    );
    assert_lines(
        &unknown,
        &[
            "send: 422",
            "notice: Not sent: there is no user nobody@example.test here.",
        ],
    );
    let bad = world.web("send-refused", &[ALICE, ALICE_PASSWORD, "not an address"]);
    assert_lines(
        &bad,
        &[
            "send: 422",
            "notice: Not sent: &quot;not an address&quot; is not an address.",
        ],
    );
    let none = world.web("send-refused", &[ALICE, ALICE_PASSWORD, ""]);
    assert_lines(
        &none,
        &[
            "send: 422",
            "notice: Not sent: give at least one recipient.",
        ],
    );
}

#[test]
fn forwarding_and_a_vacation_reply_set_in_the_webmail_take_effect_at_delivery() {
    let world = WebWorld::start();
    let refused = world.web(
        "rules",
        &[
            ALICE,
            ALICE_PASSWORD,
            "nobody@example.test",
            "keep",
            "Away.",
        ],
    );
    assert_lines(&refused, &["forward: 422", "forward notice: Not saved: "]);
    let out = world.web(
        "rules",
        &[ALICE, ALICE_PASSWORD, "", "keep", "I am away until Monday."],
    );
    assert_lines(
        &out,
        &[
            "forward: 303",
            "forward location: /settings?done=forward",
            "vacation: 303",
            "page shows vacation text: True",
        ],
    );
    // Bob writes to alice: her vacation answers him, once.
    let file = world.server.dir.path().join("to-alice.eml");
    std::fs::write(
        &file,
        "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: lunch?\r\nMessage-ID: <q1@example.test>\r\n\r\nLunch?\r\n",
    )
    .unwrap();
    let sent = support::python(
        "send.py",
        world.smtp,
        &["bob@example.test", ALICE, file.to_str().unwrap()],
    );
    assert!(String::from_utf8_lossy(&sent.stdout).starts_with("OK"));
    let replies = world.server.wait_for_delivery("bob", 1);
    let reply = std::fs::read_to_string(&replies[0]).unwrap();
    for expected in [
        "Auto-Submitted: auto-replied",
        "I am away until Monday.",
        "In-Reply-To: <q1@example.test>",
    ] {
        assert!(reply.contains(expected), "no {expected:?} in:\n{reply}");
    }
    // Forwarding to bob without a copy: the next message is bob's only.
    let out = world.web(
        "rules",
        &[
            ALICE,
            ALICE_PASSWORD,
            BOB,
            "no-copy",
            "I am away until Monday.",
        ],
    );
    assert_lines(&out, &["forward: 303", "page shows forward: True"]);
    let before = world.server.delivered("alice").len();
    world.deliver(
        BOB,
        "From: carol@remote.test\r\nTo: bob@example.test\r\nSubject: direct\r\n\r\nFor bob.\r\n",
    );
    let file = world.server.dir.path().join("forwarded.eml");
    std::fs::write(&file, "From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: forwarded\r\n\r\nFor alice.\r\n").unwrap();
    support::python(
        "send.py",
        world.smtp,
        &["carol@remote.test", ALICE, file.to_str().unwrap()],
    );
    let bobs = world.server.wait_for_delivery("bob", 3);
    let texts: Vec<String> = bobs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("Subject: forwarded")),
        "{texts:?}"
    );
    assert_eq!(
        world.server.delivered("alice").len(),
        before,
        "no copy kept"
    );
}
