//! Dovecot reads the Maildirs Postern writes: messages delivered over
//! SMTP by the real server are read back by `doveadm` (see
//! support/dovecot.rs) with the UIDs, subjects and sizes we expect. The
//! check can fail: a file whose name carries a wrong `,S=` size is
//! refused. What the store's IMAP operations (copy, move, MULTIAPPEND,
//! subscriptions, special use) leave is read back the same way, and a
//! flag Dovecot sets gets a MODSEQ from Postern's next sync.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use support::dovecot::{DoveadmCopy, doveadm_fetch, doveadm_mailbox_status};
use support::{TestServer, python};

/// Sends `subject` to alice@example.test with python's smtplib and waits
/// until it is the `count`th message in her Maildir; returns its file.
fn deliver(server: &TestServer, subject: &str, count: usize) -> PathBuf {
    let message = format!(
        "From: sender@remote.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\r\n\
         Body of {subject}.\r\n.a line that starts with a dot\r\n"
    );
    let file = server.dir.path().join(format!("message-{count}.eml"));
    std::fs::write(&file, message).unwrap();
    let output = python(
        "send.py",
        server.addr,
        &[
            "sender@remote.test",
            "alice@example.test",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK {}");
    let delivered = server.wait_for_delivery("alice", count);
    assert_eq!(delivered.len(), count, "one delivery per message");
    newest(&delivered)
}

/// The most recently delivered of `files` (by modification time, then
/// name: Maildir names start with the delivery time).
fn newest(files: &[PathBuf]) -> PathBuf {
    files
        .iter()
        .max_by_key(|file| {
            let modified = std::fs::metadata(file).unwrap().modified().unwrap();
            (modified, file.file_name().unwrap().to_owned())
        })
        .unwrap()
        .clone()
}

fn alice_maildir(server: &TestServer) -> PathBuf {
    server.data().join("mail/example.test/alice")
}

/// The Maildir base name of `file`: its name before the `:2,` flags.
fn base_name(file: &Path) -> String {
    let name = file.file_name().unwrap().to_str().unwrap();
    name.split(':').next().unwrap().to_owned()
}

/// Runs `check`, expecting it to fail the test; returns its message.
fn failure_of(check: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(check)).expect_err("the check passed");
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast::<&str>()
            .map(|message| (*message).to_owned())
            .unwrap_or_default(),
    }
}

#[test]
fn dovecot_reads_delivered_messages_with_uids_in_delivery_order() {
    let server = TestServer::start("");
    let subjects = ["first message", "second: with spaces\tand a tab", "third"];
    // One at a time, so that the delivery order is the sending order.
    let files: Vec<PathBuf> = subjects
        .iter()
        .enumerate()
        .map(|(i, subject)| deliver(&server, subject, i + 1))
        .collect();

    let maildir = alice_maildir(&server);
    let messages = doveadm_fetch(&maildir, "alice@example.test", "INBOX");
    assert_eq!(messages.len(), 3, "{messages:#?}");
    for (i, (message, file)) in messages.iter().zip(&files).enumerate() {
        let content = std::fs::read(file).unwrap();
        let lines = content.iter().filter(|&&byte| byte == b'\n').count() as u64;
        assert_eq!(message.uid, i as u32 + 1, "{message:#?}");
        assert_eq!(message.subject, subjects[i], "{message:#?}");
        assert_eq!(message.guid, base_name(file), "{message:#?}");
        assert_eq!(message.size_physical, content.len() as u64, "{file:?}");
        // The file has LF line endings; clients see CRLF.
        assert_eq!(message.size_virtual, content.len() as u64 + lines);
        assert_eq!(message.text.as_bytes(), content.as_slice());
        assert_eq!(message.flags, Vec::<String>::new(), "{message:#?}");
    }

    let status = doveadm_mailbox_status(&maildir, "alice@example.test", "INBOX");
    assert_eq!((status.messages, status.uidnext, status.unseen), (3, 4, 3));
    assert_ne!(status.uidvalidity, 0);
    let copy = DoveadmCopy::new(&maildir, "alice@example.test");
    assert!(copy.mailbox_list().contains(&"INBOX".to_owned()));

    // Dovecot read copies: Postern's Maildir is as Postern left it.
    assert_eq!(server.delivered("alice"), {
        let mut sorted = files.clone();
        sorted.sort();
        sorted
    });
    // A first try's delivery leaves its file in new/ for the next sync to
    // number, as any delivery agent may. Postern's first reader (here
    // `postern mailbox list`) numbers them as Dovecot did, in delivery
    // order, and Dovecot then reads Postern's UIDs and UIDVALIDITY.
    server.command(&["mailbox", "list", "alice@example.test"]);
    let status = doveadm_mailbox_status(&maildir, "alice@example.test", "INBOX");
    assert_eq!((status.messages, status.uidnext), (3, 4));
    let uidlist = std::fs::read_to_string(maildir.join("dovecot-uidlist")).unwrap();
    let header = uidlist.lines().next().unwrap();
    let fields: Vec<&str> = header.split_whitespace().take(3).collect();
    let expected = format!("3 V{} N4", status.uidvalidity);
    assert_eq!(fields.join(" "), expected, "{uidlist}");
    for (uid, file) in (1..).zip(&files) {
        let line = format!("{uid} ");
        let entry = uidlist
            .lines()
            .skip(1)
            .find(|l| l.starts_with(&line))
            .unwrap();
        assert!(
            entry.ends_with(&format!(":{}", base_name(file))),
            "{uidlist}"
        );
    }
}

/// New files get their UIDs in the order their messages arrived, from
/// Dovecot and from Postern alike: first tries' copies of one second
/// whose queue IDs hold an `M` (Dovecot reads microseconds after the first
/// `M` of a name; these three were once numbered first, third, second),
/// and files another program left in `new/` with Dovecot's own
/// `M<micros>`, where `M99` comes before `M100`.
#[tokio::test]
async fn new_files_get_uids_in_arrival_order_from_dovecot_and_postern_alike() {
    use postern::maildir::Maildirs;
    use postern::mailstore::MailboxStore;
    use postern_core::envelope::{LocalMailbox, QueueId};
    use tokio::io::AsyncReadExt;

    let dir = tempfile::tempdir().unwrap();
    let maildirs = Maildirs::new(dir.path(), "mx.example.test");
    let alice = LocalMailbox {
        domain: "example.test".into(),
        user: "alice".into(),
    };
    let mut subjects = Vec::new();
    for (i, id) in ["1K1K5PM0DPV00", "1K1K5PM6YYX00", "1K1K5PMC6H300"]
        .into_iter()
        .enumerate()
    {
        let id: QueueId = id.parse().unwrap();
        let subject = format!("delivered {i} as {id}");
        let text = format!("Subject: {subject}\r\n\r\nBody.\r\n");
        let first_try = true;
        maildirs
            .deliver(
                &alice,
                (id, id.micros()),
                b"",
                &mut text.as_bytes(),
                first_try,
            )
            .unwrap();
        subjects.push(subject);
    }
    let maildir = maildirs.path(&alice);
    for (micros, pid) in [(99, 7), (100, 7)] {
        let subject = format!("left by another program at M{micros}");
        let name = format!("1796161452.M{micros}P{pid}.other.test");
        let text = format!("Subject: {subject}\n\nBody.\n");
        std::fs::write(maildir.join("new").join(name), text).unwrap();
        subjects.push(subject);
    }

    let by_dovecot: Vec<(u32, String)> = doveadm_fetch(&maildir, "alice@example.test", "INBOX")
        .into_iter()
        .map(|message| (message.uid, message.subject))
        .collect();
    let expected: Vec<(u32, String)> = (1..).zip(subjects).collect();
    assert_eq!(by_dovecot, expected, "Dovecot's UIDs");

    // Dovecot read a copy; Postern numbers the files itself.
    let snapshot = maildirs.store().open(&alice, "INBOX").await.unwrap();
    let mut by_postern = Vec::new();
    for message in &snapshot.messages {
        let mut reader = maildirs.store().read(&alice, "INBOX", message.uid).await;
        let mut content = String::new();
        reader
            .as_mut()
            .unwrap()
            .read_to_string(&mut content)
            .await
            .unwrap();
        let subject = content
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("Subject: ");
        by_postern.push((message.uid.get(), subject.to_owned()));
    }
    assert_eq!(by_postern, expected, "Postern's UIDs");
}

#[test]
fn a_wrong_size_in_a_maildir_file_name_fails_the_doveadm_check() {
    let server = TestServer::start("");
    let file = deliver(&server, "sized", 1);
    let size = std::fs::metadata(&file).unwrap().len();
    let maildir = alice_maildir(&server);
    // Right as delivered.
    assert_eq!(
        doveadm_fetch(&maildir, "alice", "INBOX")[0].size_physical,
        size
    );

    let base = base_name(&file);
    let unique = base.rsplit_once(",S=").unwrap().0;
    for wrong in [size + 1, size - 1] {
        let renamed = maildir.join("new").join(format!("{unique},S={wrong}"));
        std::fs::rename(&file, &renamed).unwrap();
        let failure = failure_of(|| {
            doveadm_fetch(&maildir, "alice", "INBOX");
        });
        assert!(
            failure.contains("Error:") && failure.contains("Cached message size"),
            "S={wrong} for a file of {size} octets: {failure}"
        );
        std::fs::rename(&renamed, &file).unwrap();
    }
}

#[test]
fn flags_and_keywords_in_file_names_come_back_from_doveadm() {
    let server = TestServer::start("");
    let file = deliver(&server, "flagged", 1);
    let maildir = alice_maildir(&server);
    // Keyword letter `a` is keyword 0 of dovecot-keywords.
    std::fs::write(maildir.join("dovecot-keywords"), "0 $Forwarded\n").unwrap();
    let seen = maildir
        .join("cur")
        .join(format!("{}:2,FSa", base_name(&file)));
    std::fs::rename(&file, &seen).unwrap();

    let messages = doveadm_fetch(&maildir, "alice", "INBOX");
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0].flags, ["\\Flagged", "\\Seen", "$Forwarded"]);
    let status = doveadm_mailbox_status(&maildir, "alice", "INBOX");
    assert_eq!((status.messages, status.unseen), (1, 0));
}

#[test]
fn a_folder_dovecot_does_not_find_fails_the_check() {
    // doveadm answers a fetch from a missing folder with no messages and
    // success; the helper must not take that for an empty folder.
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("alice");
    for sub in ["cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    assert_eq!(doveadm_fetch(&maildir, "alice", "Sent"), []);
    let copy = DoveadmCopy::new(&maildir, "alice");
    assert_eq!(copy.mailbox_list(), ["INBOX", "Sent"]);
    let failure = failure_of(|| {
        copy.fetch("Drafts");
    });
    assert!(failure.contains("no folder \"Drafts\""), "{failure}");
}

/// What IMAP's COPY, MOVE, SUBSCRIBE and CREATE ... USE leave in the
/// Maildir, Dovecot reads the same: the UIDs the store answered, the
/// flags and keywords that went with the messages, the folders and the
/// subscriptions; and the files Postern keeps beside Dovecot's
/// (`postern-modseq`, `postern-special-use`) are no folders to it.
#[tokio::test]
async fn dovecot_reads_what_copy_move_subscribe_and_create_with_use_leave() {
    use postern::mailstore::{FlagOp, MailboxStore, MaildirStore, NewMessage, SpecialUse};
    use postern_core::envelope::LocalMailbox;
    use postern_core::mailbox::{Flag, Flags, Keywords, Uid};
    use postern_core::time::UnixTime;

    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path(), "mx.test");
    let alice = LocalMailbox {
        domain: "example.test".into(),
        user: "alice".into(),
    };
    let message = |subject: &str, flags: Flags, keywords: &[&str]| NewMessage {
        content: format!("Subject: {subject}\r\n\r\nBody of {subject}.\r\n").into_bytes(),
        flags,
        keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
        internal_date: UnixTime(1_700_000_000),
    };
    let seen = Flags::EMPTY.with(Flag::Seen);
    let (_, uids) = store
        .append_many(
            &alice,
            "INBOX",
            vec![
                message("one", seen, &["Work"]),
                message("two", Flags::EMPTY.with(Flag::Flagged), &["$Forwarded"]),
                message("three", Flags::EMPTY, &[]),
            ],
        )
        .await
        .unwrap();
    let uid = |n: u32| Uid::new(n).unwrap();
    assert_eq!(uids, [uid(1), uid(2), uid(3)]);
    store
        .create_folder_with_use(&alice, "Lists.rust", Some(SpecialUse::Archive))
        .await
        .unwrap();
    let copied = store
        .copy(&alice, "INBOX", &[uid(1), uid(2)], "Lists.rust")
        .await
        .unwrap();
    assert_eq!(copied.pairs, [(uid(1), uid(1)), (uid(2), uid(2))]);
    let moved = store
        .move_messages(&alice, "INBOX", &[uid(3)], "Trash")
        .await
        .unwrap();
    assert_eq!(moved.expunged, [uid(3)]);
    store
        .store_flags(
            &alice,
            "Lists.rust",
            &[uid(2)],
            FlagOp::Add,
            seen,
            &Keywords::new(),
        )
        .await
        .unwrap();
    store.subscribe(&alice, "Junk", false).await.unwrap();
    store.subscribe(&alice, "Lists", true).await.unwrap();
    // CREATE does not subscribe (RFC 9051 6.3.4).
    store.subscribe(&alice, "Lists.rust", true).await.unwrap();

    let maildir = dir.path().join("mail/example.test/alice");
    assert!(maildir.join("postern-modseq").is_file());
    assert!(maildir.join(".Lists.rust/postern-modseq").is_file());
    assert!(maildir.join("postern-special-use").is_file());
    let copy = DoveadmCopy::new(&maildir, "alice");
    assert_eq!(
        copy.mailbox_list(),
        [
            "Archive",
            "Drafts",
            "INBOX",
            "Junk",
            "Lists",
            "Lists.rust",
            "Sent",
            "Trash"
        ]
    );
    // `Lists` exists for Dovecot only as the parent of `Lists.rust`; it
    // is subscribed without existing (RFC 9051 6.3.7).
    assert_eq!(
        copy.subscribed_list(),
        ["Archive", "Drafts", "Lists", "Lists.rust", "Sent", "Trash"]
    );
    let summary = |folder: &str| -> Vec<(u32, String, Vec<String>)> {
        copy.fetch(folder)
            .into_iter()
            .map(|m| (m.uid, m.subject, m.flags))
            .collect()
    };
    let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        summary("INBOX"),
        [
            (1, "one".into(), strings(&["\\Seen", "Work"])),
            (2, "two".into(), strings(&["\\Flagged", "$Forwarded"])),
        ]
    );
    assert_eq!(
        summary("Lists.rust"),
        [
            (1, "one".into(), strings(&["\\Seen", "Work"])),
            (
                2,
                "two".into(),
                strings(&["\\Flagged", "\\Seen", "$Forwarded"])
            ),
        ]
    );
    assert_eq!(summary("Trash"), [(1, "three".into(), Vec::new())]);
    let status = copy.mailbox_status("Lists.rust");
    assert_eq!((status.messages, status.uidnext), (2, 3));
    assert_eq!(status.uidvalidity, copied.uid_validity.0);
    let trash = copy.mailbox_status("Trash");
    assert_eq!(trash.uidvalidity, moved.copied.uid_validity.0);

    // Dovecot sets a flag while no Postern watches: Postern's next sync
    // gives the change a MODSEQ above the highest it had kept.
    let kept = store.open(&alice, "INBOX").await.unwrap();
    copy.run(&["flags", "add", "\\Deleted", "mailbox", "INBOX", "uid", "1"]);
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("mail/example.test")).unwrap();
    std::os::unix::fs::symlink(copy.maildir(), data.path().join("mail/example.test/alice"))
        .unwrap();
    let after = MaildirStore::new(data.path(), "mx.test")
        .open(&alice, "INBOX")
        .await
        .unwrap();
    assert_eq!(after.messages[0].flags, seen.with(Flag::Deleted));
    assert_eq!(after.messages[0].modseq.0, kept.highest_modseq.0 + 1);
    assert_eq!(after.messages[1], kept.messages[1]);
}
