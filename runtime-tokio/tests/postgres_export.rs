//! `postern storage export --maildir DIR`: a populated database written
//! as Maildir by the real binary, then read back by the Maildir store
//! (UIDs, flags, keywords, dates, bytes) and by Dovecot's `doveadm`.

mod support;

use postern::mailstore::{FlagOp, MailboxStore, MaildirStore, NewMessage, SpecialUse};
use postern::storage::postgres::PgMailboxStore;
use postern_core::envelope::LocalMailbox;
use postern_core::mailbox::{Flag, Flags, Keywords, Uid};
use postern_core::time::UnixTime;
use std::path::Path;
use std::process::Output;
use support::dovecot::DoveadmCopy;
use support::postgres::{ROLE_PASSWORD, database, mailbox_store};
use tokio::io::AsyncReadExt;

fn user(name: &str) -> LocalMailbox {
    LocalMailbox {
        domain: "example.test".into(),
        user: name.into(),
    }
}

fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

fn keywords(words: &[&str]) -> Keywords {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn message(text: &str, flags: Flags, words: &[&str], date: i64) -> NewMessage {
    NewMessage {
        content: text.as_bytes().to_vec(),
        flags,
        keywords: keywords(words),
        internal_date: UnixTime(date),
    }
}

fn config(dir: &Path, url: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("db-password"), format!("{ROLE_PASSWORD}\n")).unwrap();
    let path = dir.join("postern.toml");
    let port = support::free_port();
    std::fs::write(
        &path,
        format!(
            "[server]\nhostname = \"mx1.example.test\"\ndata_dir = \"data\"\n\n\
             [[domain]]\nname = \"example.test\"\nusers = [\"alice\", \"bob\"]\n\n\
             [[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:{port}\"\n\n\
             [storage]\nbackend = \"postgres\"\nurl = \"{url}\"\npassword_file = \"db-password\"\nnode_id = 3\n"
        ),
    )
    .unwrap();
    path
}

fn export(config: &Path, dir: &Path) -> Output {
    support::postern()
        .args(["storage", "-c"])
        .arg(config)
        .args(["export", "--maildir"])
        .arg(dir)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// alice: INBOX with a UID gap, flags and keywords; Archive with a copy;
/// `Important` made with a use of its own, `Lists.rust` subscribed, Junk
/// deleted. bob: one message of LF lines and one over a blob chunk.
async fn populate(store: &PgMailboxStore) {
    let alice = user("alice");
    let seen = Flags::EMPTY.with(Flag::Seen);
    let messages = vec![
        message("Subject: one\r\n\r\n1\r\n", seen, &["Work"], 1_700_000_001),
        message(
            "Subject: two\r\n\r\n2\r\n",
            Flags::EMPTY.with(Flag::Flagged).with(Flag::Answered),
            &["$Forwarded", "Work"],
            1_700_000_002,
        ),
        message(
            "Subject: three\r\n\r\n3\r\n",
            Flags::EMPTY,
            &[],
            1_700_000_003,
        ),
    ];
    store.append_many(&alice, "INBOX", messages).await.unwrap();
    store.expunge(&alice, "INBOX", &[uid(2)]).await.unwrap();
    store
        .store_flags(
            &alice,
            "INBOX",
            &[uid(3)],
            FlagOp::Add,
            seen,
            &keywords(&["Later"]),
        )
        .await
        .unwrap();
    store
        .copy(&alice, "INBOX", &[uid(1)], "Archive")
        .await
        .unwrap();
    store
        .create_folder_with_use(&alice, "Important", Some(SpecialUse::Flagged))
        .await
        .unwrap();
    store.create_folder(&alice, "Lists.rust").await.unwrap();
    store.subscribe(&alice, "Lists.rust", true).await.unwrap();
    store.delete_folder(&alice, "Junk").await.unwrap();
    let bob = user("bob");
    store
        .append(
            &bob,
            "INBOX",
            &b"Subject: lf\n\nbody\n"[..],
            Flags::EMPTY,
            &Keywords::new(),
            UnixTime(1_600_000_000),
        )
        .await
        .unwrap();
    let big = format!(
        "Subject: big\r\n\r\n{}",
        "0123456789abcdef\r\n".repeat(20_000)
    );
    store
        .append(
            &bob,
            "INBOX",
            big.as_bytes(),
            seen,
            &Keywords::new(),
            UnixTime(1_600_000_001),
        )
        .await
        .unwrap();
}

async fn bytes<S: MailboxStore>(
    store: &S,
    mailbox: &LocalMailbox,
    folder: &str,
    uid: Uid,
) -> Vec<u8> {
    let mut reader = store.read(mailbox, folder, uid).await.unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_every_mailbox_as_maildir_that_both_stores_and_dovecot_read_alike() {
    let db = database();
    let store = mailbox_store(&db, 1).await;
    populate(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &db.url());
    let out = dir.path().join("export");
    let exported = export(&config, &out);
    assert!(exported.status.success(), "{}", text(&exported));
    assert!(
        text(&exported).contains("exported 2 users, 13 folders and 5 messages as Maildir under"),
        "{}",
        text(&exported)
    );

    let files = MaildirStore::at_root(&out, "mx.test");
    for mailbox in [user("alice"), user("bob")] {
        let folders = store.folders(&mailbox).await.unwrap();
        let read_back = files.folders(&mailbox).await.unwrap();
        let names =
            |list: &[postern::mailstore::FolderStatus]| -> Vec<(String, Option<SpecialUse>, bool)> {
                list.iter()
                    .map(|f| (f.name.clone(), f.special_use, f.subscribed))
                    .collect()
            };
        assert_eq!(names(&read_back), names(&folders), "{mailbox}");
        assert_eq!(
            files.subscriptions(&mailbox).await.unwrap(),
            store.subscriptions(&mailbox).await.unwrap()
        );
        for folder in &folders {
            let expected = store.open(&mailbox, &folder.name).await.unwrap();
            let found = files.open(&mailbox, &folder.name).await.unwrap();
            assert_eq!(
                (found.uid_validity, found.uid_next),
                (expected.uid_validity, expected.uid_next),
                "{mailbox} {}",
                folder.name
            );
            assert_eq!(found.messages.len(), expected.messages.len());
            for (a, b) in expected.messages.iter().zip(&found.messages) {
                assert_eq!(
                    (a.uid, a.flags, &a.keywords, a.internal_date, a.size),
                    (b.uid, b.flags, &b.keywords, b.internal_date, b.size)
                );
                assert!(
                    bytes(&store, &mailbox, &folder.name, a.uid).await
                        == bytes(&files, &mailbox, &folder.name, b.uid).await,
                    "{mailbox} {} UID {}: the bytes differ",
                    folder.name,
                    a.uid
                );
            }
        }
    }
    let inbox = files.open(&user("alice"), "INBOX").await.unwrap();
    assert_eq!(
        inbox
            .messages
            .iter()
            .map(|m| m.uid.get())
            .collect::<Vec<_>>(),
        [1, 3]
    );

    // Dovecot reads the same UIDs, flags and keywords.
    let alice = DoveadmCopy::new(&out.join("example.test/alice"), "alice");
    let status = alice.mailbox_status("INBOX");
    assert_eq!(
        (status.uidvalidity, status.uidnext, status.messages),
        (inbox.uid_validity.0, 4, 2)
    );
    let fetched = alice.fetch("INBOX");
    let seen: Vec<(u32, Vec<String>, String)> = fetched
        .iter()
        .map(|m| (m.uid, m.flags.clone(), m.subject.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, vec!["\\Seen".into(), "Work".into()], "one".into()),
            (3, vec!["\\Seen".into(), "Later".into()], "three".into()),
        ]
    );
    let mut listed = alice.mailbox_list();
    listed.sort();
    // Dovecot lists `Lists`, the parent of `Lists.rust`, too (a parent
    // without a folder of its own).
    assert_eq!(
        listed,
        [
            "Archive",
            "Drafts",
            "INBOX",
            "Important",
            "Lists",
            "Lists.rust",
            "Sent",
            "Trash"
        ]
    );
    assert_eq!(alice.fetch("Archive")[0].subject, "one");
    let bob = DoveadmCopy::new(&out.join("example.test/bob"), "bob");
    let bobs = bob.fetch("INBOX");
    assert_eq!(bobs.len(), 2);
    assert_eq!(bobs[1].size_virtual, 16 + 20_000 * 18);

    // A second export into the same directory is refused, naming it.
    let again = export(&config, &out);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(
        text(&again).contains("is not empty; refusing to write mailboxes"),
        "{}",
        text(&again)
    );
}
