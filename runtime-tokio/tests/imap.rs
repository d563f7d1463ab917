//! IMAP over real sockets with real clients: python's imaplib (in clear,
//! STARTTLS, IMAP4_SSL) and imapclient (with IDLE seeing an SMTP
//! delivery), curl and fetchmail; and the refusals a client meets:
//! LOGINDISABLED, the login lockout shared with POP3, the BYE greetings.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use support::imap::{ImapWorld, PASSWORD, USER, address, assert_lines};
use support::python;

#[test]
fn imaplib_does_the_everyday_commands() {
    let world = ImapWorld::start();
    world.deliver(2);
    let out = world.imaplib(world.plain, "plain", PASSWORD);
    assert_lines(
        &out,
        &[
            "welcome: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 ",
            "login: ['OK', ['[CAPABILITY IMAP4rev1 IMAP4rev2 ",
            "select: ['OK', ['2']]",
            "search all: ['OK', ['1 2']]",
            "search subject: ['OK', ['2']]",
            "fetch 1 subject: Subject: message 0",
            "store: ['OK', ['1 (FLAGS (\\\\Flagged \\\\Recent $Important))']]",
            "append: ['OK', ['[APPENDUID ",
            // BODY.PEEK left both deliveries unseen; the append came \Seen.
            "search unseen: ['OK', ['1 2']]",
            "bodystructure: 3 (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 19 0 NIL NIL NIL NIL)(\"application\" \"octet-stream\" (\"name\" \"a.bin\") NIL NIL \"base64\" 8 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"xyz\") NIL NIL NIL))",
            // Message data comes as a literal, however short.
            "fetch part 2: [['3 (BODY[2] {8}', 'AAECAw=='], ')']",
            "create: ['OK', ['CREATE completed']]",
            "(\\\\HasNoChildren) \".\" \"Projects\"",
            "(\\\\HasNoChildren \\\\Sent) \".\" \"Sent\"",
            "uid move: ['OK'",
            "status archive: ['OK', ['\"Projects\" (MESSAGES 1 UIDNEXT 2)']]",
            "search after move: ['OK', ['1 2']]",
            "close: ['OK'",
            "logout: ['BYE'",
        ],
    );
    // The store agrees: two in INBOX, the moved one in .Projects, flagged.
    assert_eq!(world.inbox_count(), 2, "{out}");
    let projects = world.maildir().join(".Projects/cur");
    let moved: Vec<String> = std::fs::read_dir(&projects)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(moved[0].ends_with(":2,Fa"), "flagged, keyword a: {moved:?}");
    assert!(!world.server.log().contains(PASSWORD));
}

#[test]
fn imaplib_over_starttls_and_imap4_ssl() {
    let world = ImapWorld::start();
    world.deliver(1);
    let out = world.imaplib(world.starttls, "starttls", PASSWORD);
    assert_lines(
        &out,
        &[
            "capability before tls: ['ENABLE', 'ID', 'IDLE', 'IMAP4REV1', 'IMAP4REV2', 'LITERAL+', 'LOGINDISABLED', 'SASL-IR', 'STARTTLS']",
            "starttls: ['OK'",
            "capability after tls: ['AUTH=LOGIN', 'AUTH=PLAIN', 'ENABLE', 'ID', 'IDLE', 'IMAP4REV1', 'IMAP4REV2', 'LITERAL+', 'SASL-IR']",
            "login: ['OK'",
            "select: ['OK', ['1']]",
            "logout: ['BYE'",
        ],
    );
    let out = world.imaplib(world.imaps, "ssl", PASSWORD);
    assert_lines(
        &out,
        &[
            "capability: ['AUTH=LOGIN', 'AUTH=PLAIN', 'ENABLE', 'ID', 'IDLE', 'IMAP4REV1', 'IMAP4REV2', 'LITERAL+', 'SASL-IR']",
            "login: ['OK'",
            "select: ['OK', ['1']]",
        ],
    );
}

#[test]
fn logindisabled_on_a_clear_starttls_instance() {
    let world = ImapWorld::start();
    let out = world.imaplib(world.starttls, "logindisabled", PASSWORD);
    let refusal = "[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections: use STARTTLS first";
    assert_lines(
        &out,
        &[
            "'LOGINDISABLED', 'SASL-IR', 'STARTTLS']",
            &format!("login sent: ['NO', ['{refusal}']]"),
            &format!("authenticate plain: error: {refusal}"),
        ],
    );
    assert!(!out.contains("AUTH=PLAIN"), "{out}");
    // The instance that allows logins in clear takes the same password.
    let out = world.imaplib(world.plain, "login", PASSWORD);
    assert_eq!(out.trim(), "ok");
}

#[test]
fn imapclient_session_and_idle_sees_a_delivery_within_a_second() {
    let world = ImapWorld::start();
    world.deliver(2);
    let out = python(
        "imapclient_session.py",
        world.plain,
        &[USER, PASSWORD, &world.smtp.port().to_string()],
    );
    let out = String::from_utf8_lossy(&out.stdout);
    assert_lines(
        &out,
        &[
            "capabilities has IDLE: True",
            "capabilities has MOVE: True",
            "select exists: 2",
            "search all: [1, 2]",
            "search subject: [1]",
            "bodystructure type: (b'text', b'plain')",
            "envelope subject: b'message 0'",
            "add flags: {1: (b'\\\\Answered', b'\\\\Recent', b'Work')}",
            "get flags again: {1: (b'\\\\Answered', b'\\\\Recent')}",
            "append: b'[APPENDUID ",
            "search utf-8 body: [4]",
            "move: None",
            "search after move: [2, 3, 4]",
            "folder status: {b'MESSAGES': 1}",
            "search idle subject: 1",
        ],
    );
    let delay: f64 = out
        .lines()
        .find_map(|line| line.strip_prefix("idle delay: "))
        .unwrap_or_else(|| panic!("IDLE reported nothing:\n{out}"))
        .parse()
        .unwrap();
    println!("IDLE reported the SMTP delivery {delay:.3} s after the transaction");
    assert!(delay < 1.0, "IDLE took {delay} s:\n{out}");
}

#[test]
fn idle_hears_another_sessions_flag_change_and_expunge_within_a_second() {
    let world = ImapWorld::start();
    world.deliver(3);
    let out = python("imap_two_sessions.py", world.plain, &[USER, PASSWORD]);
    let out = String::from_utf8_lossy(&out.stdout);
    for what in ["flag", "expunge"] {
        let delay: f64 = out
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{what} seen after: ")))
            .unwrap_or_else(|| panic!("IDLE did not report the {what}:\n{out}"))
            .parse()
            .unwrap();
        println!("IDLE reported the other session's {what} after {delay:.3} s");
        assert!(delay < 1.0, "{what} reported after {delay} s:\n{out}");
    }
    assert_lines(&out, &["exists after: 2"]);
}

/// Logins with imaplib (`imap`) or poplib (`pop3`); "ok" or the refusal.
fn login(addr: SocketAddr, protocol: &str, password: &str) -> String {
    let out = if protocol == "imap" {
        python("imap.py", addr, &["login", "-", USER, password])
    } else {
        python("login.py", addr, &[protocol, USER, password])
    };
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn failed_imap_logins_lock_out_pop3_and_failed_pop3_logins_lock_out_imap() {
    let pop3 = address();
    let world = ImapWorld::start_with(&format!(
        r#"
[auth]
failure_delay = "0s"
lockout_failures = 3
lockout_window = "10m"

[[service]]
name = "pop3"
kind = "pop3"
listen = "{pop3}"
auth_without_tls = true
"#
    ));
    for typo in ["correct horse batery", "Correct horse battery", "typo"] {
        let refused = login(world.plain, "imap", typo);
        assert!(
            refused.starts_with("refused: b'[AUTHENTICATIONFAILED]"),
            "{refused}"
        );
    }
    support::eventually(
        || world.server.log(),
        |log| log.contains("locked out"),
        |log| format!("no lockout logged:\n{log}"),
    );
    let refused = login(pop3, "pop3", PASSWORD);
    assert!(refused.starts_with("refused: -ERR"), "{refused}");
    let refused = login(world.plain, "imap", PASSWORD);
    assert!(refused.starts_with("refused:"), "{refused}");
    unlock(&world);
    assert_eq!(login(world.plain, "imap", PASSWORD), "ok");
    // The reverse: POP3 typos lock IMAP out.
    for typo in ["one", "two", "three"] {
        assert!(login(pop3, "pop3", typo).starts_with("refused: -ERR"));
    }
    let refused = login(world.plain, "imap", PASSWORD);
    assert!(refused.starts_with("refused:"), "{refused}");
    unlock(&world);
    assert_eq!(login(pop3, "pop3", PASSWORD), "ok");
}

fn unlock(world: &ImapWorld) {
    let out = support::postern()
        .args(["unlock", "127.0.0.1", "--config"])
        .arg(world.server.config_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn denied_hosts_and_too_many_connections_get_a_bye_greeting() {
    use std::io::{BufRead, BufReader};
    let [denied, busy] = [0; 2].map(|_| address());
    let world = ImapWorld::start_with(&format!(
        r#"
[[service]]
name = "imap-denied"
kind = "imap"
listen = "{denied}"
auth_without_tls = true
deny = ["127.0.0.1"]

[[service]]
name = "imap-busy"
kind = "imap"
listen = "{busy}"
auth_without_tls = true
max_connections_per_host = 1
"#
    ));
    let first_line = |addr: SocketAddr| {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line).unwrap();
        (stream, line)
    };
    let (_denied, line) = first_line(denied);
    assert_eq!(
        line,
        "* BYE mx.example.test Access denied: no IMAP service for your address here\r\n"
    );
    let (_held, greeting) = first_line(busy);
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 "),
        "{greeting:?}"
    );
    let (_second, line) = first_line(busy);
    assert_eq!(
        line,
        "* BYE [UNAVAILABLE] mx.example.test Too many connections from your host, try again later\r\n"
    );
    // The instances beside them are not affected.
    assert_eq!(world.imaplib(world.plain, "login", PASSWORD).trim(), "ok");
}

fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl is needed");
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn curl_lists_fetches_searches_and_appends() {
    let world = ImapWorld::start();
    world.deliver(2);
    let credentials = format!("{USER}:{PASSWORD}");
    let base = format!("imap://{}", world.plain);
    let out = curl(&["-u", &credentials, &format!("{base}/")]);
    assert_lines(
        &out,
        &[
            "* LIST (\\HasNoChildren) \".\" \"INBOX\"",
            "* LIST (\\HasNoChildren \\Sent) \".\" \"Sent\"",
        ],
    );
    let out = curl(&["-u", &credentials, &format!("{base}/INBOX;UID=2")]);
    assert!(out.contains("\r\nSubject: message 1\r\n"), "{out}");
    assert!(
        out.ends_with("\r\nHello 1.\r\n.a line with a dot\r\n"),
        "{out:?}"
    );
    // Short message data: curl reads FETCH data only as a literal.
    let partial = format!("{base}/INBOX;UID=2;SECTION=TEXT;PARTIAL=0.5");
    assert_eq!(curl(&["-u", &credentials, &partial]), "Hello");
    let header = format!("{base}/INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)");
    assert_eq!(
        curl(&["-u", &credentials, &header]),
        "Subject: message 1\r\n\r\n"
    );
    let search = format!("{base}/INBOX?SUBJECT%20%22message%201%22");
    assert_eq!(curl(&["-u", &credentials, &search]), "* SEARCH 2\r\n");
    let file = world.server.dir.path().join("curl.eml");
    std::fs::write(&file, "Subject: by curl\r\n\r\nHi.\r\n").unwrap();
    let inbox = format!("{base}/INBOX");
    curl(&["-u", &credentials, "-T", file.to_str().unwrap(), &inbox]);
    assert_eq!(world.inbox_count(), 3);
    let cafile = world.cafile();
    let cafile = cafile.to_str().unwrap();
    let starttls = format!("imap://{}/INBOX;UID=3", world.starttls);
    let out = curl(&[
        "--ssl-reqd",
        "--cacert",
        cafile,
        "-u",
        &credentials,
        &starttls,
    ]);
    assert_eq!(out, "Subject: by curl\r\n\r\nHi.\r\n");
    let imaps = format!("imaps://{}/INBOX;UID=1", world.imaps);
    let out = curl(&["--cacert", cafile, "-u", &credentials, &imaps]);
    assert!(out.contains("\r\nSubject: message 0\r\n"), "{out}");
    // --ssl-reqd against the instance that offers no STARTTLS fails.
    let refused = Command::new("curl")
        .args(["-sS", "--max-time", "30", "--ssl-reqd", "-u", &credentials])
        .arg(format!("imap://{}/INBOX;UID=1", world.plain))
        .output()
        .unwrap();
    assert!(!refused.status.success(), "{refused:?}");
}

/// Runs fetchmail once over IMAP against `addr` with these poll options;
/// returns its output and what it handed its MDA.
fn fetchmail(world: &ImapWorld, addr: SocketAddr, options: &str) -> (String, String) {
    let home = world.server.dir.path().join("fetchmail-home");
    std::fs::create_dir_all(&home).unwrap();
    let delivered = home.join("delivered.mbox");
    let rc = home.join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "set no bouncemail\n\
             poll 127.0.0.1 with service {port} protocol IMAP auth password\n\
             \tuser \"{USER}\" there with password \"{PASSWORD}\" is root here\n\
             \t{options}\n\
             \tmda \"/bin/sh -c 'cat >> {delivered}'\"\n",
            port = addr.port(),
            delivered = delivered.display(),
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&rc).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    std::fs::set_permissions(&rc, permissions).unwrap();
    let output = Command::new("fetchmail")
        .arg("-f")
        .arg(&rc)
        .args(["--nodetach", "--nosyslog", "-v"])
        .env("HOME", &home)
        .env("FETCHMAILHOME", &home)
        .output()
        .expect("fetchmail is needed: apt-get install fetchmail (scripts/test does)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "fetchmail failed:\n{text}");
    let mbox = std::fs::read_to_string(&delivered).unwrap_or_default();
    std::fs::remove_file(&delivered).ok();
    (text, mbox)
}

#[test]
fn fetchmail_over_imap_keeps_or_deletes() {
    let world = ImapWorld::start();
    world.deliver(2);
    let (out, mbox) = fetchmail(&world, world.plain, "keep fetchall sslproto ''");
    assert!(out.contains("2 messages for alice@example.test"), "{out}");
    assert_eq!(mbox.matches("Subject: message").count(), 2, "{mbox}");
    assert!(mbox.contains("\n.a line with a dot\n"), "{mbox}");
    assert_eq!(world.inbox_count(), 2, "keep: nothing deleted:\n{out}");
    let options = format!(
        "keep fetchall ssl sslproto 'TLS1.2+' sslcertck sslcertfile {} sslcommonname localhost",
        world.cafile().display()
    );
    let (out, mbox) = fetchmail(&world, world.imaps, &options);
    assert_eq!(mbox.matches("Subject: message").count(), 2, "{out}");
    assert_eq!(world.inbox_count(), 2, "keep over imaps:\n{out}");
    let options = format!(
        "nokeep fetchall sslproto 'TLS1.2+' sslcertck sslcertfile {} sslcommonname localhost",
        world.cafile().display()
    );
    let (out, mbox) = fetchmail(&world, world.starttls, &options);
    assert_eq!(mbox.matches("Subject: message").count(), 2, "{out}");
    assert!(out.contains("STARTTLS"), "{out}");
    assert_eq!(world.inbox_count(), 0, "nokeep: both expunged:\n{out}");
}
