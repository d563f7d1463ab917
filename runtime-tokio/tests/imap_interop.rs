//! IMAP and the rest of the world's view of the same mailbox: after
//! imaplib changes flags, keywords and folders (STORE, CREATE, RENAME,
//! COPY, MOVE, EXPUNGE), Dovecot's `doveadm` reads the same UIDs, flags,
//! keywords and folders from our Maildir; and two IMAP instances on
//! other loopback addresses, with different policies, serve one mailbox.

mod support;

use std::collections::BTreeMap;
use support::dovecot::DoveadmCopy;
use support::imap::{ImapWorld, PASSWORD, USER};
use support::python;

type View = BTreeMap<String, Vec<(u32, Vec<String>)>>;

/// What imap_changes.py saw over IMAP: its folders, and each folder's
/// messages (UID, sorted flags).
fn imap_view(out: &str) -> (Vec<String>, View) {
    let mut folders = Vec::new();
    let mut view = View::new();
    for line in out.lines() {
        let mut words = line.split(' ');
        match words.next() {
            Some("folders") => folders = words.map(str::to_owned).collect(),
            Some("view") => {
                let folder = words.next().unwrap().to_owned();
                let uid = words.next().unwrap().parse().unwrap();
                let flags = words.map(str::to_owned).collect();
                view.entry(folder).or_default().push((uid, flags));
            }
            _ => panic!("unexpected line {line:?} in:\n{out}"),
        }
    }
    (folders, view)
}

fn owned(flags: &[&str]) -> Vec<String> {
    flags.iter().map(|f| (*f).to_owned()).collect()
}

#[test]
fn doveadm_reads_the_uids_flags_keywords_and_folders_imap_left() {
    let world = ImapWorld::start();
    world.deliver(4);
    let out = python("imap_changes.py", world.plain, &[USER, PASSWORD]);
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let (folders, seen_by_imap) = imap_view(&out);
    // What the changes should have left, as IMAP reports it.
    let expected: View = [
        (
            "INBOX",
            vec![
                (1, owned(&["\\Flagged", "\\Seen", "work"])),
                (2, owned(&["$Label1", "\\Answered"])),
            ],
        ),
        (
            "Reports",
            vec![
                (
                    1,
                    owned(&["\\Draft", "\\Flagged", "\\Seen", "copied", "work"]),
                ),
                (2, owned(&["$Label1", "\\Answered"])),
            ],
        ),
        ("Reports.2026", vec![(1, owned(&["\\Seen", "later"]))]),
        ("Work", vec![(1, vec![])]),
    ]
    .into_iter()
    .map(|(folder, messages)| (folder.to_owned(), messages))
    .collect();
    assert_eq!(seen_by_imap, expected, "{out}");
    // Dovecot reads the same from the Maildir.
    let copy = DoveadmCopy::new(&world.maildir(), USER);
    assert_eq!(copy.mailbox_list(), folders, "{out}");
    let mut seen_by_dovecot = View::new();
    for folder in &folders {
        let messages: Vec<(u32, Vec<String>)> = copy
            .fetch(folder)
            .into_iter()
            .map(|message| {
                let mut flags = message.flags;
                flags.sort();
                (message.uid, flags)
            })
            .collect();
        if !messages.is_empty() {
            seen_by_dovecot.insert(folder.clone(), messages);
        }
    }
    assert_eq!(seen_by_dovecot, seen_by_imap, "{out}");
    // UID 4 was expunged and UID 3 moved: INBOX's next UID is still 5.
    assert_eq!(copy.mailbox_status("INBOX").uidnext, 5);
    assert_eq!(copy.mailbox_status("Reports").uidnext, 3);
}
