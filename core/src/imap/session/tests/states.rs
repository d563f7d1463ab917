//! The command-by-state table (RFC 9051 6.1 to 6.4), walked pair by
//! pair: every command in every state is either done or refused with
//! `BAD` for its state, never anything else.

use super::harness::Harness;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    NotAuthenticated,
    Authenticated,
    Selected,
}

/// Each command and the states it belongs to: `Some(level)` from that
/// level up, `None` only before login.
const COMMANDS: &[(&str, Option<Level>)] = &[
    ("CAPABILITY", Some(Level::NotAuthenticated)),
    ("NOOP", Some(Level::NotAuthenticated)),
    ("ID NIL", Some(Level::NotAuthenticated)),
    ("STARTTLS", None),
    ("LOGIN alice@example.test \"correct horse\"", None),
    (
        "AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNl",
        None,
    ),
    ("ENABLE CONDSTORE", Some(Level::Authenticated)),
    ("SELECT INBOX", Some(Level::Authenticated)),
    ("EXAMINE INBOX", Some(Level::Authenticated)),
    ("CREATE New", Some(Level::Authenticated)),
    ("DELETE Junk", Some(Level::Authenticated)),
    ("RENAME Junk Spam", Some(Level::Authenticated)),
    ("SUBSCRIBE Sent", Some(Level::Authenticated)),
    ("UNSUBSCRIBE Sent", Some(Level::Authenticated)),
    ("LIST \"\" *", Some(Level::Authenticated)),
    ("LSUB \"\" *", Some(Level::Authenticated)),
    ("NAMESPACE", Some(Level::Authenticated)),
    ("STATUS INBOX (MESSAGES)", Some(Level::Authenticated)),
    ("APPEND Drafts {3+}\r\nx\r\n", Some(Level::Authenticated)),
    ("IDLE\r\nDONE", Some(Level::Authenticated)),
    ("GETQUOTA \"\"", Some(Level::Authenticated)),
    ("GETQUOTAROOT INBOX", Some(Level::Authenticated)),
    ("SETQUOTA \"\" (STORAGE 1)", Some(Level::Authenticated)),
    ("CHECK", Some(Level::Selected)),
    ("CLOSE", Some(Level::Selected)),
    ("UNSELECT", Some(Level::Selected)),
    ("EXPUNGE", Some(Level::Selected)),
    ("UID EXPUNGE 1:*", Some(Level::Selected)),
    ("SEARCH ALL", Some(Level::Selected)),
    ("UID SEARCH ALL", Some(Level::Selected)),
    ("FETCH 1 FLAGS", Some(Level::Selected)),
    ("UID FETCH 1 FLAGS", Some(Level::Selected)),
    ("STORE 1 +FLAGS (\\Seen)", Some(Level::Selected)),
    ("UID STORE 1 +FLAGS (\\Seen)", Some(Level::Selected)),
    ("COPY 1 Archive", Some(Level::Selected)),
    ("UID COPY 1 Archive", Some(Level::Selected)),
    ("MOVE 1 Archive", Some(Level::Selected)),
    ("UID MOVE 1 Archive", Some(Level::Selected)),
    ("SORT (DATE) UTF-8 ALL", Some(Level::Selected)),
    ("UID SORT (DATE) UTF-8 ALL", Some(Level::Selected)),
    ("THREAD REFERENCES UTF-8 ALL", Some(Level::Selected)),
    ("UID THREAD REFERENCES UTF-8 ALL", Some(Level::Selected)),
    ("LOGOUT", Some(Level::NotAuthenticated)),
];

fn at(level: Level) -> Harness {
    let mut h = Harness::new();
    if level >= Level::Authenticated {
        h.login();
    }
    if level == Level::Selected {
        h.line("s SELECT INBOX");
    }
    h
}

#[test]
fn every_command_in_every_state_is_done_or_refused_for_its_state() {
    for level in [
        Level::NotAuthenticated,
        Level::Authenticated,
        Level::Selected,
    ] {
        for &(command, allowed) in COMMANDS {
            let mut h = at(level);
            let mark = h.mark();
            h.line(&format!("t {command}"));
            let sent = h.sent_since(mark);
            let tagged = sent
                .lines()
                .find(|line| line.starts_with("t "))
                .unwrap_or_else(|| panic!("no reply to {command} at {level:?}: {sent}"));
            let refused = [
                "t BAD Log in first",
                "t BAD No mailbox selected",
                "t BAD Already logged in",
            ]
            .iter()
            .any(|refusal| tagged.starts_with(refusal));
            let expected = match allowed {
                None => level == Level::NotAuthenticated,
                Some(from) => level >= from,
            };
            assert_eq!(!refused, expected, "{command} at {level:?}: {tagged}");
            assert!(
                !tagged.starts_with("t BAD") || refused,
                "{command} at {level:?} is malformed: {tagged}"
            );
        }
    }
}
