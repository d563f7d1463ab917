//! The webmail in a real browser: headless Chromium (Debian's) driven by
//! Playwright (`playwright-core` from npm) through the scripts in
//! `tests/browser/`. A reader's whole path from login to logout, with the
//! server's state checked behind the browser's back (the delivered reply
//! and its attachment, the copy in Sent, the message in Trash); a hostile
//! message that must stay inert (no script, no request leaving the
//! webmail) until the reader asks for its images; forms posted from
//! another site; the session cookie as Chromium keeps it, over HTTP and
//! HTTPS; pages that fit a phone's width. With
//! `POSTERN_SCREENSHOTS=book/src/images` the screenshots land in the book.
//!
//! `scripts/test` installs Chromium, Node.js and playwright-core; a test
//! that finds one missing fails and names it.

mod support;

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::free_port;
use support::imap::assert_lines;
use support::web::{ALICE, ALICE_PASSWORD, BOB, WebWorld};

const CHROMIUM: &str = "/usr/bin/chromium";

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Runs `node tests/browser/SCRIPT` with `args`; its output, panicking
/// with it (and naming the missing tool, if one is) on failure.
fn browser(script: &str, args: &[&str]) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (scripts/test does)"
    );
    assert!(
        scripts().join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: npm install --prefix runtime-tokio/tests/browser (scripts/test does)"
    );
    let output = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(scripts())
        .output()
        .unwrap_or_else(|e| panic!("node is missing ({e}): install nodejs (scripts/test does)"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script} failed:\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The messages in one of `user`'s folders (`""` is INBOX), as text.
fn folder(world: &WebWorld, user: &str, name: &str) -> Vec<String> {
    let mut root = world.server.data().join("mail/example.test").join(user);
    if !name.is_empty() {
        root = root.join(format!(".{name}"));
    }
    let mut texts = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for entry in entries {
            texts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
    }
    texts
}

fn subjects(texts: &[String]) -> Vec<String> {
    let mut found: Vec<String> = texts
        .iter()
        .filter_map(|t| t.lines().find_map(|l| l.strip_prefix("Subject: ")))
        .map(str::to_owned)
        .collect();
    found.sort();
    found
}

/// Another web site on another loopback address: python's http.server
/// serving a directory, with its request log.
struct Site {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddr,
}

impl Site {
    fn start(ip: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = format!("{ip}:{}", free_port()).parse().unwrap();
        let log = std::fs::File::create(dir.path().join("requests.log")).unwrap();
        let root = dir.path().join("www");
        std::fs::create_dir(&root).unwrap();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", &addr.ip().to_string()])
            .arg(addr.port().to_string())
            .arg("--directory")
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("python3 is needed for the sites of the browser tests");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "http.server on {addr} did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Site { child, dir, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    /// The request lines the site has seen (`GET /pixel.gif HTTP/1.1`).
    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split('"').nth(1))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain text message; without a `Date:` field when `date` is empty.
fn message(from: &str, subject: &str, date: &str, body: &str) -> String {
    let date = if date.is_empty() {
        String::new()
    } else {
        format!("Date: {date}\r\n")
    };
    format!(
        "From: {from}\r\nTo: Alice Adams <alice@example.test>\r\nSubject: {subject}\r\n{date}Message-ID: <{}@remote.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        free_port()
    )
}

const LUNCH: &str = "Lunch on Friday?";
const NEWSLETTER: &str = "Your weekly newsletter";
const NEW_PASSWORD: &str = "alice's brand new passphrase";
/// What the reply carries, and its name.
const MINUTES: &str = "Minutes of 27 November: the webmail passes its browser tests.\n";

/// An inbox worth a screenshot: the message the test reads last, so first.
fn fill_inbox(world: &WebWorld) {
    world.deliver(
        ALICE,
        &message(
            "Postern News <news@remote.test>",
            NEWSLETTER,
            "Thu, 26 Nov 2026 07:30:00 +0000",
            "This week: IMAP, webmail, and a status page.",
        ),
    );
    world.deliver(
        ALICE,
        "From: Carol Chen <carol@remote.test>\r\nTo: alice@example.test\r\nSubject: Photos from the trip\r\nDate: Fri, 27 Nov 2026 18:02:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe best one is attached.\r\n--b\r\nContent-Type: image/gif\r\nContent-Disposition: attachment; filename=\"summit.gif\"\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==\r\n--b--\r\n",
    );
    world.deliver(
        ALICE,
        &message(
            "Accounts <billing@remote.test>",
            "Invoice 2026-114 for November",
            "Sat, 28 Nov 2026 09:15:00 +0000",
            "Your invoice for November is ready.",
        ),
    );
    world.deliver_from(
        BOB,
        ALICE,
        &message(
            "Bob Baker <bob@example.test>",
            LUNCH,
            // No Date: the list and the message show when it arrived.
            "",
            "Hi Alice,\r\n\r\nShall we have lunch on Friday at noon? The usual place.\r\n\r\nBob",
        ),
    );
}

/// Where the screenshots go: `POSTERN_SCREENSHOTS` (relative to the
/// workspace), or the test's own directory.
fn screenshots(world: &WebWorld) -> PathBuf {
    let dir = match std::env::var_os("POSTERN_SCREENSHOTS") {
        Some(dir) => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir),
        None => world.server.dir.path().join("screenshots"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_reader_reads_replies_with_a_file_deletes_and_changes_the_password_in_chromium() {
    let world = WebWorld::start();
    fill_inbox(&world);
    let attachment = world.server.dir.path().join("minutes.txt");
    std::fs::write(&attachment, MINUTES).unwrap();
    let shots = screenshots(&world);
    let out = browser(
        "journey.mjs",
        &[
            &world.base(),
            ALICE,
            ALICE_PASSWORD,
            NEW_PASSWORD,
            LUNCH,
            NEWSLETTER,
            attachment.to_str().unwrap(),
            shots.to_str().unwrap(),
            BOB,
        ],
    );
    assert_lines(
        &out,
        &[
            "login: /folder?f=INBOX\n",
            "inbox lists the message: true\n",
            "unread: 4\n",
            // The photos: the list reads only headers, multipart/mixed.
            "attachment marks: 1\n",
            "dates shown: 4 of 4\n",
            "message heading: Lunch on Friday?\n",
            "message text: Hi Alice,\n",
            "unread while reading: 3\n",
            "message date shown: true\n",
            "reply to: Bob Baker <bob@example.test>\n",
            "reply subject: Re: Lunch on Friday?\n",
            "after send: /folder?f=INBOX&done=sent\n",
            "send notice: Message sent.\n",
            "after draft: /folder?f=Drafts&done=draft\n",
            "draft notice: Draft saved.\n",
            "draft to: bob@example.test\n",
            "draft subject: Notes for Friday\n",
            "draft sent: /folder?f=INBOX&done=sent\n",
            "drafts left: 0\n",
            "after delete: /folder?f=INBOX&done=deleted\n",
            "delete notice: Message deleted.\n",
            "inbox still lists deleted: 0\n",
            "trash lists deleted: 1\n",
            "password notice: Password changed.\n",
            "logout: /login\n",
            "inbox after logout: /login\n",
            "old password: /login\n",
            "old password notice: Wrong address or password.\n",
            "new password: /folder?f=INBOX\n",
            "phone inbox fits: true\n",
            "phone message fits: true\n",
            "phone trash fits: true\n",
            "phone compose fits: true\n",
            "phone settings fits: true\n",
            "final logout: /login\n",
        ],
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("sent lists: ") && l.contains("Re: Lunch on Friday?")),
        "{out}"
    );
    for absent in ["dialog:", "page error:"] {
        assert!(!out.contains(absent), "{absent} in:\n{out}");
    }
    // The browser's console stays quiet but for the refused old password.
    let console: Vec<&str> = out.lines().filter(|l| l.starts_with("console:")).collect();
    assert_eq!(
        console,
        ["console: Failed to load resource: the server responded with a status of 403 (Forbidden)"],
        "{out}"
    );

    // Bob has the reply, with the file the browser attached, and the
    // message that was a draft first.
    let to_bob = folder(&world, "bob", "");
    assert_eq!(
        subjects(&to_bob),
        ["Notes for Friday", "Re: Lunch on Friday?"],
        "{to_bob:?}"
    );
    let notes = to_bob
        .iter()
        .find(|t| t.contains("Subject: Notes"))
        .unwrap();
    assert!(
        notes.contains("First thoughts.\nSecond thoughts."),
        "{notes}"
    );
    let reply = to_bob.iter().find(|t| t.contains("Subject: Re:")).unwrap();
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(MINUTES);
    for expected in [
        "From: <alice@example.test>",
        "In-Reply-To: <",
        "filename=\"minutes.txt\"",
        "Friday suits me. The minutes are attached.",
        "> Shall we have lunch on Friday at noon?",
    ] {
        assert!(reply.contains(expected), "no {expected:?} in:\n{reply}");
    }
    assert!(
        reply.contains(MINUTES.trim_end()) || reply.contains(&encoded),
        "the attachment's content is not in:\n{reply}"
    );
    // Alice keeps a copy in Sent; the newsletter is in Trash, not INBOX.
    let sent = folder(&world, "alice", "Sent");
    assert_eq!(
        subjects(&sent),
        ["Notes for Friday", "Re: Lunch on Friday?"]
    );
    assert!(
        sent.iter().any(|t| t.contains("filename=\"minutes.txt\"")),
        "{sent:?}"
    );
    assert_eq!(folder(&world, "alice", "Drafts"), Vec::<String>::new());
    assert_eq!(subjects(&folder(&world, "alice", "Trash")), [NEWSLETTER]);
    let inbox = subjects(&folder(&world, "alice", ""));
    assert_eq!(inbox.len(), 3, "{inbox:?}");
    assert!(!inbox.contains(&NEWSLETTER.to_owned()), "{inbox:?}");
    let log = world.server.log();
    assert!(log.contains("webmail login: alice@example.test"), "{log}");
    assert!(!log.contains(NEW_PASSWORD) && !log.contains(ALICE_PASSWORD));

    for name in [
        "webmail-inbox.png",
        "webmail-message.png",
        "webmail-phone-inbox.png",
    ] {
        let png = std::fs::read(shots.join(name)).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
        assert!(
            png.len() > 10_000,
            "{name} is nearly empty: {} bytes",
            png.len()
        );
    }
}

/// A message that tries every way to run script or reach the tracker.
fn hostile(tracker: &str) -> String {
    let html = format!(
        r#"<p>Dear Alice</p>
<script>window.pwned="script"; alert("script")</script>
<img src="{tracker}/pixel.gif" onerror="window.pwned='onerror'" onload="window.pwned='onload'">
<img src="x" onerror="window.pwned='onerror2'; alert('onerror')">
<svg onload="window.pwned='svg'"><image href="{tracker}/svg-image"/></svg>
<a href="javascript:window.pwned='javascript';alert('js')">click me</a>
<a href="{tracker}/link">a site</a>
<p style="background:url({tracker}/inline)" onclick="window.pwned='onclick'">styled text</p>
<style>@import url({tracker}/import.css); body{{background:url({tracker}/css)}}</style>
<link rel="stylesheet" href="{tracker}/link.css"><link rel="prefetch" href="{tracker}/prefetch">
<meta http-equiv="refresh" content="0;url={tracker}/refresh">
<iframe src="{tracker}/frame"></iframe><object data="{tracker}/object"></object><embed src="{tracker}/embed">
<video poster="{tracker}/poster" src="{tracker}/video"></video><audio src="{tracker}/audio"></audio>
<img srcset="{tracker}/srcset 2x"><picture><source srcset="{tracker}/source"></picture>
<input type="image" src="{tracker}/input-image">
<table background="{tracker}/table"><tr><td background="{tracker}/td">cell</td></tr></table>
<base href="{tracker}/"><form action="{tracker}/form"><button>go</button></form>
<math><mi xlink:href="javascript:window.pwned='math'">m</mi></math>
"#
    );
    format!(
        "From: Mallory <mallory@remote.test>\r\nTo: alice@example.test\r\nSubject: An offer\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{}",
        html.replace('\n', "\r\n")
    )
}

#[test]
fn hostile_html_stays_inert_in_chromium_until_the_reader_asks_for_images() {
    let world = WebWorld::start();
    let tracker = Site::start("127.0.0.2");
    // A real one-pixel GIF, so that the image the reader asks for loads.
    std::fs::write(
        tracker.root().join("pixel.gif"),
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
    )
    .unwrap();
    world.deliver(ALICE, &hostile(&tracker.url()));
    let args = [world.base(), ALICE.into(), ALICE_PASSWORD.into()];
    let [base, login, password] = args.each_ref().map(String::as_str);

    let out = browser("hostile.mjs", &[base, login, password, "An offer", "inert"]);
    assert_lines(
        &out,
        &[
            "text shows: true\n",
            "images notice: true\n",
            "after clicks: /message?f=INBOX&uid=1\n",
            "pwned: undefined\n",
        ],
    );
    for absent in [
        "request elsewhere:",
        "dialog:",
        "console:",
        "page error:",
        "new window:",
    ] {
        assert!(!out.contains(absent), "{absent} in:\n{out}");
    }
    // Every request the page made went to the webmail, to its own pages.
    for line in out.lines().filter_map(|l| l.strip_prefix("request: ")) {
        assert!(
            [
                "/",
                "/login",
                "/folder?f=INBOX",
                "/message?f=INBOX&uid=1",
                "/static/postern.css"
            ]
            .contains(&line),
            "a request the webmail does not make itself: {line}\n{out}"
        );
    }
    assert_eq!(tracker.requests(), Vec::<String>::new());

    // Asked for, the image loads: the test sees a request that leaves.
    let out = browser(
        "hostile.mjs",
        &[base, login, password, "An offer", "images"],
    );
    let pixel = format!("request elsewhere: {}/pixel.gif\n", tracker.url());
    assert_lines(
        &out,
        &[
            &pixel,
            "image status: 200\n",
            "images shown: /message?f=INBOX&uid=1&images=1\n",
            "image loaded: true\n",
            "pwned: undefined\n",
        ],
    );
    assert_eq!(
        out.matches("request elsewhere:").count(),
        1,
        "only the image may leave:\n{out}"
    );
    for absent in ["dialog:", "console:", "page error:", "new window:"] {
        assert!(!out.contains(absent), "{absent} in:\n{out}");
    }
    assert_eq!(tracker.requests(), ["GET /pixel.gif HTTP/1.1"]);
}

#[test]
fn forms_posted_from_another_site_are_refused_in_chromium() {
    let world = WebWorld::start();
    world.deliver(
        ALICE,
        &message(
            "Bob Baker <bob@example.test>",
            LUNCH,
            "Mon, 30 Nov 2026 11:48:00 +0000",
            "Lunch?",
        ),
    );
    let attacker = Site::start("127.0.0.3");
    let out = browser(
        "crosssite.mjs",
        &[
            &world.base(),
            ALICE,
            ALICE_PASSWORD,
            LUNCH,
            &attacker.url(),
            attacker.root().to_str().unwrap(),
        ],
    );
    assert_lines(
        &out,
        &[
            "login: /folder?f=INBOX\n",
            // The session's cookie is SameSite=Strict: the webmail sees
            // no session, and sends the form to the login page.
            "attack delete: 303 /login\n",
            "after attack delete: /folder?f=INBOX\n",
            "inbox still lists: 1\n",
            "attack logout: 303 /login\n",
            "after attack logout: /folder?f=INBOX\n",
            // The same forms from the webmail's own page do their work.
            "own delete: /folder?f=INBOX&done=deleted\n",
            "inbox lists after own delete: 0\n",
            "own logout: /login\n",
            "after own logout: /login\n",
        ],
    );
    assert_eq!(
        attacker.requests(),
        ["GET /delete.html HTTP/1.1", "GET /logout.html HTTP/1.1"]
    );
    assert_eq!(subjects(&folder(&world, "alice", "Trash")), [LUNCH]);
}

#[test]
fn chromium_keeps_the_session_cookie_http_only_strict_and_secure_over_https() {
    let world = WebWorld::start();
    let plain = browser("cookies.mjs", &[&world.base(), ALICE, ALICE_PASSWORD]);
    let https = format!("https://{}", world.https);
    let tls = browser("cookies.mjs", &[&https, ALICE, ALICE_PASSWORD]);
    for (out, secure) in [(&plain, false), (&tls, true)] {
        assert_lines(
            out,
            &[
                "personal login: /folder?f=INBOX\n",
                &format!(
                    "personal cookie postern_session: httpOnly=true secure={secure} sameSite=Strict path=/ expires=7 days\n"
                ),
                // Script cannot read it.
                "personal document.cookie: \"\"\n",
                "shared login: /folder?f=INBOX\n",
                // A shared computer's session ends with the browser.
                &format!(
                    "shared cookie postern_session: httpOnly=true secure={secure} sameSite=Strict path=/ expires=session\n"
                ),
                "shared document.cookie: \"\"\n",
            ],
        );
        // The login form's cookie is gone once logged in: one cookie each.
        assert_eq!(out.matches(" cookie ").count(), 2, "{out}");
    }
}
