//! Dovecot's `doveadm` as a reader of the Maildirs Postern writes: if
//! Dovecot reads a mailbox with the UIDs, flags, subjects and sizes we
//! expect, the mailbox is standard (recipe in PEERS.md, "doveadm reads a
//! Maildir without any running service").
//!
//! Every check works on a copy: [`DoveadmCopy::new`] copies the Maildir
//! (with its `dovecot-uidlist`, `dovecot-keywords` and `.Folder`s, file
//! times kept) into a scratch directory, writes a minimal Dovecot
//! configuration beside it, and runs `doveadm` there with `USER` and
//! `HOME` set, so no userdb and no running service are needed. Dovecot
//! writes into the mailboxes it reads (a `dovecot-uidlist` when there is
//! none, `new/` moved to `cur/`); the copy keeps Postern's own Maildir as
//! it was. doveadm refuses to run as root, so as root the copy is handed
//! to `nobody` and doveadm runs as `nobody:nogroup` (through `setpriv`).
//!
//! A run fails the test, with doveadm's stderr, when doveadm exits with
//! an error or logs an `Error:`, `Warning:`, `Fatal:` or `Panic:` line.
//! A fetch asks for each message's `text`, so Dovecot reads every message
//! to its end and checks it against the `,S=` size in its file name: a
//! wrong size is such an error ("Cached message size larger than
//! expected"), not a number quietly taken from the name.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One message as Dovecot reads it (`doveadm fetch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoveadmMessage {
    pub uid: u32,
    /// The Maildir base name (the file name before `:2,`), Dovecot's
    /// `guid` for a Maildir message.
    pub guid: String,
    /// System flags (`\Seen`, ...) and keywords, in Dovecot's order.
    /// `\Recent` is left out: it is not stored in a Maildir, and Dovecot's
    /// in-memory index sees every message as new.
    pub flags: Vec<String>,
    /// The decoded `Subject:` header (empty when there is none).
    pub subject: String,
    /// The size of the file (`,S=`).
    pub size_physical: u64,
    /// The size with CRLF line endings, as IMAP and POP3 count it (`,W=`).
    pub size_virtual: u64,
    /// The whole message as Dovecot reads it (bytes that are not UTF-8
    /// come back as U+FFFD).
    pub text: String,
}

/// A mailbox's counters as Dovecot reads them (`doveadm mailbox status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoveadmMailboxStatus {
    pub messages: u32,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub unseen: u32,
}

/// The messages of `folder` (`INBOX`, `Sent`, ...) of the Maildir at
/// `maildir` (the user's Maildir root, which holds `cur/`, `new/`,
/// `tmp/`), read by Dovecot as `user`, in UID order.
pub fn doveadm_fetch(maildir: &Path, user: &str, folder: &str) -> Vec<DoveadmMessage> {
    DoveadmCopy::new(maildir, user).fetch(folder)
}

/// UIDVALIDITY, UIDNEXT and counts of `folder`, read by Dovecot.
pub fn doveadm_mailbox_status(maildir: &Path, user: &str, folder: &str) -> DoveadmMailboxStatus {
    DoveadmCopy::new(maildir, user).mailbox_status(folder)
}

/// The folders Dovecot finds in the Maildir (`INBOX`, `Sent`, ...), sorted.
pub fn doveadm_mailbox_list(maildir: &Path, user: &str) -> Vec<String> {
    DoveadmCopy::new(maildir, user).mailbox_list()
}

/// A scratch copy of one user's Maildir with a Dovecot configuration,
/// for several doveadm runs on the same copy. It is removed on drop.
pub struct DoveadmCopy {
    dir: tempfile::TempDir,
    user: String,
}

impl DoveadmCopy {
    /// Copies `maildir` (the user's Maildir root) for doveadm.
    pub fn new(maildir: &Path, user: &str) -> DoveadmCopy {
        assert!(
            maildir.join("cur").is_dir() || maildir.join("new").is_dir(),
            "{} is not a Maildir (no cur/ or new/)",
            maildir.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["home", "run", "state"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        // cp -a keeps the file times: Dovecot takes a Maildir message's
        // received date from its file's mtime. A running server may still
        // hold the uidlist lock for a moment after a delivery shows up (a
        // lock or scratch file listed, then gone before it is copied):
        // copy again once it has settled.
        let target = root.join("maildir");
        let mut attempts = 0;
        let copy = loop {
            let copy = Command::new("cp")
                .arg("-a")
                .arg(maildir)
                .arg(&target)
                .output()
                .unwrap();
            attempts += 1;
            if copy.status.success() || attempts == 10 {
                break copy;
            }
            let _ = std::fs::remove_dir_all(&target);
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        assert!(
            copy.status.success(),
            "cp -a {}: {copy:?}",
            maildir.display()
        );
        // A lock the server held at that instant belongs to no process
        // of the copy's: Dovecot would wait it out.
        remove_locks(&target);
        std::fs::write(root.join("dovecot.conf"), config(root)).unwrap();
        if running_as_root() {
            let chown = Command::new("chown")
                .args(["-R", "nobody:nogroup"])
                .arg(root)
                .output()
                .unwrap();
            assert!(
                chown.status.success(),
                "chown -R nobody {}: {chown:?}",
                root.display()
            );
        }
        DoveadmCopy {
            dir,
            user: user.to_owned(),
        }
    }

    /// The copy of the Maildir, as Dovecot has left it so far (for
    /// example with the `dovecot-uidlist` it read or wrote).
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// Runs `doveadm -f json ARGS` on the copy and returns its parsed
    /// output; fails the test on any error doveadm reports.
    pub fn run(&self, args: &[&str]) -> serde_json::Value {
        let root = self.dir.path();
        let mut command = if running_as_root() {
            let mut command = Command::new("setpriv");
            command.args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "doveadm",
            ]);
            command
        } else {
            Command::new("doveadm")
        };
        let output = command
            .env("USER", &self.user)
            .env("HOME", root.join("home"))
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .args(["-f", "json"])
            .args(args)
            .output()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run doveadm ({error}); install it with \
                     `apt-get install dovecot-core` or run scripts/test"
                )
            });
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        stderr.push_str(&std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default());
        let complaints: Vec<&str> = stderr
            .lines()
            .filter(|line| {
                ["Error:", "Warning:", "Fatal:", "Panic:"]
                    .iter()
                    .any(|word| line.contains(word))
            })
            .collect();
        assert!(
            output.status.success() && complaints.is_empty(),
            "doveadm {args:?} on a copy of the Maildir failed ({}):\n{}\nstdout:\n{stdout}",
            output.status,
            stderr.trim_end()
        );
        serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!("doveadm {args:?} printed what is not JSON ({error}):\n{stdout}")
        })
    }

    /// The messages of `folder`, in UID order. A folder Dovecot does not
    /// find fails the test (doveadm itself answers "no messages").
    pub fn fetch(&self, folder: &str) -> Vec<DoveadmMessage> {
        self.assert_folder(folder);
        let fields = "uid guid flags hdr.subject size.physical size.virtual text";
        let rows = self.run(&["fetch", fields, "mailbox", folder, "all"]);
        let mut messages: Vec<DoveadmMessage> = rows_of(&rows)
            .iter()
            .map(|row| DoveadmMessage {
                uid: number(row, "uid"),
                guid: text(row, "guid"),
                flags: text(row, "flags")
                    .split_whitespace()
                    .filter(|flag| *flag != "\\Recent")
                    .map(str::to_owned)
                    .collect(),
                subject: text(row, "hdr.subject"),
                size_physical: number(row, "size.physical"),
                size_virtual: number(row, "size.virtual"),
                text: text(row, "text"),
            })
            .collect();
        messages.sort_by_key(|message| message.uid);
        messages
    }

    /// UIDVALIDITY, UIDNEXT and counts of `folder`.
    pub fn mailbox_status(&self, folder: &str) -> DoveadmMailboxStatus {
        self.assert_folder(folder);
        let rows = self.run(&[
            "mailbox",
            "status",
            "messages uidvalidity uidnext unseen",
            folder,
        ]);
        let [row] = rows_of(&rows) else {
            panic!("doveadm mailbox status {folder}: not one row: {rows}");
        };
        DoveadmMailboxStatus {
            messages: number(row, "messages"),
            uidvalidity: number(row, "uidvalidity"),
            uidnext: number(row, "uidnext"),
            unseen: number(row, "unseen"),
        }
    }

    fn assert_folder(&self, folder: &str) {
        let folders = self.mailbox_list();
        assert!(
            folders.iter().any(|found| found == folder),
            "Dovecot finds no folder {folder:?} in the Maildir; it finds {folders:?}"
        );
    }

    /// The folders Dovecot reads as subscribed (`mailbox list -s`, from
    /// the `subscriptions` file), sorted.
    pub fn subscribed_list(&self) -> Vec<String> {
        let rows = self.run(&["mailbox", "list", "-s"]);
        let mut folders: Vec<String> = rows_of(&rows)
            .iter()
            .map(|row| text(row, "mailbox"))
            .collect();
        folders.sort();
        folders
    }

    /// The folders Dovecot finds, sorted.
    pub fn mailbox_list(&self) -> Vec<String> {
        let rows = self.run(&["mailbox", "list"]);
        let mut folders: Vec<String> = rows_of(&rows)
            .iter()
            .map(|row| text(row, "mailbox"))
            .collect();
        folders.sort();
        folders
    }
}

/// The configuration for a copy under `root`: the Maildir with an index
/// in memory only, and every directory Dovecot writes inside `root`.
fn config(root: &Path) -> String {
    let root = root.display();
    format!(
        r#"mail_location = maildir:{root}/maildir:INDEX=MEMORY
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
default_internal_user = nobody
default_login_user = nobody
default_internal_group = nogroup
ssl = no
passdb {{
  driver = static
  args = password=unused
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/home
}}
"#
    )
}

fn running_as_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn rows_of(value: &serde_json::Value) -> &[serde_json::Value] {
    value
        .as_array()
        .unwrap_or_else(|| panic!("doveadm's JSON is not a list of rows: {value}"))
}

fn text(row: &serde_json::Value, field: &str) -> String {
    row.get(field)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("doveadm's row has no {field}: {row}"))
        .to_owned()
}

fn number<T: std::str::FromStr>(row: &serde_json::Value, field: &str) -> T {
    let value = text(row, field);
    value
        .parse()
        .unwrap_or_else(|_| panic!("doveadm's {field} is not a number: {value:?} in {row}"))
}

/// Removes `*.lock` files from a copied Maildir and its folders.
fn remove_locks(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            remove_locks(&path);
        } else if path.extension().is_some_and(|e| e == "lock") {
            std::fs::remove_file(&path).unwrap();
        }
    }
}
