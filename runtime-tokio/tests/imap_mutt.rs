//! mutt, a terminal client, over IMAP: driven inside tmux (a real
//! pseudo-terminal), it opens INBOX, reads a message, flags it and moves
//! it to a folder; the Maildir shows what it did. Every step waits for
//! text on the screen (tmux capture-pane), with a deadline, never a
//! fixed sleep.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::imap::{ImapWorld, PASSWORD, USER};

/// A tmux server of our own (its own socket) running one program.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(dir: &Path, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
        };
        let status = tmux
            .command()
            .args(["new-session", "-d", "-s", "mutt", "-x", "160", "-y", "40"])
            .arg(command)
            .env("TERM", "xterm")
            .status()
            .expect("tmux is needed: apt-get install tmux (scripts/test does)");
        assert!(status.success(), "tmux new-session: {status}");
        tmux
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.arg("-S").arg(&self.socket);
        command
    }

    fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", "mutt"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits up to 20 seconds until the screen shows `text`; the screen.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} on mutt's screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits up to 20 seconds until the program has exited (and with it
    /// the tmux session).
    fn wait_until_gone(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let alive = self
                .command()
                .args(["has-session", "-t", "mutt"])
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            if !alive.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "mutt is still running:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `keys` (tmux key names: "Enter", "q", ...).
    fn keys(&self, keys: &[&str]) {
        let status = self
            .command()
            .args(["send-keys", "-t", "mutt"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn mutt_opens_inbox_reads_flags_and_moves_a_message() {
    let world = ImapWorld::start();
    mutt_session(
        &world,
        world.plain,
        "set ssl_starttls=no\nset ssl_force_tls=no\n",
    );
}

#[test]
fn mutt_does_the_same_over_starttls() {
    let world = ImapWorld::start();
    // mutt trusts the certificates in its certificate_file.
    let tls = format!(
        "set ssl_starttls=yes\nset ssl_force_tls=yes\nset certificate_file=\"{}\"\n",
        world.cafile().display()
    );
    mutt_session(&world, world.starttls, &tls);
    // The session's closing line is written after mutt has gone.
    support::eventually(
        || world.server.log(),
        |log| log.contains("imap tls=yes login=alice@example.test"),
        |log| format!("no closing line with tls=yes in:\n{log}"),
    );
}

/// mutt against `addr` with `tls` (muttrc lines): opens INBOX, reads the
/// first of two messages, flags it, saves it to Archive, syncs, opens
/// Archive, quits.
fn mutt_session(world: &ImapWorld, addr: std::net::SocketAddr, tls: &str) {
    world.deliver(2);
    let dir = world.server.dir.path();
    let muttrc = dir.join("muttrc");
    std::fs::write(
        &muttrc,
        format!(
            "set imap_user=\"{USER}\"\n\
             set imap_pass=\"{PASSWORD}\"\n\
             set folder=\"imap://{addr}/\"\n\
             set spoolfile=\"+INBOX\"\n\
             {tls}\
             set header_cache=\"\"\n\
             set message_cachedir=\"\"\n\
             set sort=mailbox-order\n\
             set move=no\n\
             set confirmappend=no\n\
             set confirmcreate=no\n\
             set delete=yes\n\
             set quit=yes\n\
             set wait_key=no\n\
             set pager_stop=yes\n\
             set mail_check=1\n\
             set timeout=1\n",
        ),
    )
    .unwrap();
    let command = format!(
        "HOME={home} mutt -n -F {muttrc} 2> {home}/mutt.err",
        home = dir.display(),
        muttrc = muttrc.display()
    );
    let tmux = Tmux::start(dir, &command);
    let screen = tmux.wait_for("message 1");
    assert!(screen.contains("message 0"), "{screen}");
    // Read the first message (the cursor starts on it).
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("Hello 0.");
    assert!(screen.contains("Subject: message 0"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("Mutt: =INBOX");
    // Flag it.
    tmux.keys(&["F"]);
    tmux.wait_for("Flag:1");
    // Save it to Archive (copy, then marked deleted), then sync.
    tmux.keys(&["k", "s"]);
    tmux.wait_for("Save to mailbox");
    tmux.keys(&["=Archive", "Enter"]);
    tmux.wait_for("Del:1");
    tmux.keys(&["$"]);
    tmux.wait_for("[Msgs:1 ");
    // Open Archive: the message is there, read and flagged.
    tmux.keys(&["c"]);
    tmux.wait_for("Open mailbox");
    tmux.keys(&["C-u", "=Archive", "Enter"]);
    let screen = tmux.wait_for("Mutt: =Archive [Msgs:1 Flag:1 ");
    assert!(screen.contains("message 0"), "{screen}");
    assert!(!screen.contains("message 1"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_until_gone();
    // The Maildir agrees: one in INBOX (unread), one in .Archive, seen
    // and flagged.
    assert_eq!(world.inbox_count(), 1);
    let archive: Vec<String> = std::fs::read_dir(world.maildir().join(".Archive/cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(archive.len(), 1, "{archive:?}");
    assert!(archive[0].ends_with(":2,FS"), "{archive:?}");
    let errors = std::fs::read_to_string(dir.join("mutt.err")).unwrap_or_default();
    assert!(errors.trim().is_empty(), "mutt said: {errors}");
}
