//! Properties of the IMAP machine, checked with proptest: any sequence of
//! commands from two sessions on one mailbox, with deliveries between
//! them, never panics, numbers every message it names within what the
//! client was told, and never tells an EXPUNGE while answering FETCH,
//! STORE or SEARCH.

use super::harness::{Harness, config};
use proptest::prelude::*;

const COMMANDS: &[&str] = &[
    "NOOP",
    "CHECK",
    "FETCH 1:* (FLAGS)",
    "FETCH 2 (UID RFC822.SIZE)",
    "FETCH * (FLAGS MODSEQ)",
    "UID FETCH 1:* (FLAGS)",
    "STORE 1:2 +FLAGS (\\Deleted)",
    "STORE * -FLAGS.SILENT (\\Deleted)",
    "STORE 1 FLAGS ($Work)",
    "UID STORE 1:* +FLAGS (\\Seen)",
    "UID STORE 2:4 +FLAGS.SILENT (\\Deleted)",
    "EXPUNGE",
    "UID EXPUNGE 1:3",
    "COPY 1:* INBOX",
    "MOVE 1 Archive",
    "UID MOVE 3:5 Trash",
    "APPEND INBOX {5+}\r\nA\r\n\r\nx",
    "SELECT INBOX",
    "EXAMINE INBOX",
    "CLOSE",
    "UNSELECT",
    "IDLE\r\nDONE",
    "STATUS INBOX (MESSAGES UIDNEXT)",
    "SEARCH ALL",
    "SEARCH UNSEEN SUBJECT lunch",
    "UID SEARCH RETURN (SAVE) DELETED",
    "FETCH $ (FLAGS)",
    "SORT (ARRIVAL) UTF-8 ALL",
    "FETCH 1:2 (BODY.PEEK[HEADER] ENVELOPE)",
    "FETCH 1 BODY[TEXT]",
    "<deliver>",
];

/// What a client knows: how many messages the folder has.
struct Client {
    exists: Option<u32>,
}

impl Client {
    /// Follows the server's words, checking every number it names.
    fn read(&mut self, output: &str, command: &str) -> Result<(), String> {
        let word = command.split_whitespace().next().unwrap_or("");
        let holds_expunges = matches!(word, "FETCH" | "STORE" | "SEARCH");
        for line in output.split("\r\n") {
            let parts: Vec<&str> = line.split(' ').collect();
            if parts.len() < 3 || parts[0] != "*" {
                continue;
            }
            let Ok(n) = parts[1].parse::<u32>() else {
                continue;
            };
            match parts[2] {
                "EXISTS" => self.exists = Some(n),
                "EXPUNGE" => {
                    if holds_expunges {
                        return Err(format!("EXPUNGE while answering {command}"));
                    }
                    let exists = self.exists.ok_or("EXPUNGE before EXISTS")?;
                    if n == 0 || n > exists {
                        return Err(format!("EXPUNGE {n} of {exists}"));
                    }
                    self.exists = Some(exists - 1);
                }
                "FETCH" => {
                    let exists = self.exists.ok_or("FETCH before EXISTS")?;
                    if n == 0 || n > exists {
                        return Err(format!("FETCH {n} of {exists}"));
                    }
                }
                _ => {}
            }
        }
        if matches!(word, "CLOSE" | "UNSELECT") {
            self.exists = None;
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn two_sessions_never_panic_and_number_messages_as_told(
        steps in proptest::collection::vec((0usize..2, 0..COMMANDS.len()), 1..40),
    ) {
        let mut config = config();
        config.max_errors = 1000;
        config.quota.messages = None;
        config.quota.storage_bytes = None;
        let mut h = Harness::with_config(config);
        let b = h.connect(false);
        h.login_on(0);
        h.login_on(b);
        let mut clients = [Client { exists: None }, Client { exists: None }];
        for (i, session) in [0, b].into_iter().enumerate() {
            let mark = h.sessions[session].bytes.len();
            h.line_on(session, "s SELECT INBOX");
            let out = String::from_utf8_lossy(&h.sessions[session].bytes[mark..]).into_owned();
            prop_assert!(clients[i].read(&out, "SELECT").is_ok());
        }
        let marks: Vec<usize> = h.sessions.iter().map(|s| s.bytes.len()).collect();
        let mut marks = marks;
        for (step, (who, command)) in steps.into_iter().enumerate() {
            let session = [0, b][who];
            let command = COMMANDS[command];
            if command == "<deliver>" {
                h.deliver("INBOX", "Subject: more\r\n\r\nmore\r\n");
            } else {
                // What others were told by the watch since is read first.
                let out = String::from_utf8_lossy(&h.sessions[session].bytes[marks[session]..]).into_owned();
                prop_assert_eq!(clients[who].read(&out, "NOOP"), Ok(()));
                marks[session] = h.sessions[session].bytes.len();
                h.line_on(session, &format!("t{step} {command}"));
                let out = String::from_utf8_lossy(&h.sessions[session].bytes[marks[session]..]).into_owned();
                prop_assert_eq!(clients[who].read(&out, command), Ok(()), "{}", h.transcript);
                marks[session] = h.sessions[session].bytes.len();
            }
            prop_assert!(!h.sessions[0].closed && !h.sessions[b].closed, "{}", h.transcript);
        }
    }
}

/// A pipelined session that touches most commands (LITERAL+ only: a
/// synchronizing literal's `+` depends on when the bytes arrive).
const SESSION: &[u8] = b"a0 CAPABILITY\r\na1 LOGIN alice@example.test \"correct horse\"\r\n\
a2 LIST \"\" *\r\na3 SELECT INBOX\r\na4 FETCH 1:* (UID FLAGS ENVELOPE)\r\n\
a5 STORE 2 +FLAGS (\\Deleted)\r\na6 SEARCH UNSEEN\r\na7 APPEND INBOX (\\Seen) {19+}\r\n\
Subject: x\r\n\r\nbody\r\na8 UID FETCH 4 BODY[]\r\na9 COPY 1 Archive\r\nb1 EXPUNGE\r\n\
b2 FROB\r\nb3 STATUS Archive (MESSAGES)\r\nb4 LOGOUT\r\n";

fn run_split(input: &[u8], cuts: &[usize]) -> Harness {
    let mut h = Harness::new();
    let mut start = 0;
    for &cut in cuts {
        h.feed(&input[start..cut]);
        start = cut;
    }
    h.feed(&input[start..]);
    h
}

proptest! {
    #[test]
    fn any_split_of_the_input_gives_the_same_session(
        mut cuts in proptest::collection::vec(0..SESSION.len(), 0..40),
    ) {
        cuts.sort_unstable();
        let whole = run_split(SESSION, &[]);
        let split = run_split(SESSION, &cuts);
        prop_assert_eq!(&split.sessions[0].bytes, &whole.sessions[0].bytes);
        prop_assert!(split.closed() && whole.closed());
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overflow_the_buffer(
        chunks in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..crate::limits::READ_CHUNK_BYTES),
            0..8,
        ),
    ) {
        let mut h = Harness::new();
        h.login();
        h.line("s SELECT INBOX");
        for chunk in &chunks {
            if h.closed() {
                break;
            }
            h.feed(chunk);
            prop_assert!(
                h.sessions[0].server.buffered_input_len()
                    <= crate::limits::IMAP_COMMAND_LINE_BYTES_MAX + crate::limits::READ_CHUNK_BYTES
            );
        }
        if !h.closed() {
            h.hang_up(0);
        }
        prop_assert!(h.closed());
    }
}

#[test]
fn a_byte_at_a_time_gives_the_same_session() {
    let whole = run_split(SESSION, &[]);
    let cuts: Vec<usize> = (1..SESSION.len()).collect();
    let split = run_split(SESSION, &cuts);
    assert_eq!(split.sessions[0].bytes, whole.sessions[0].bytes);
    let text = String::from_utf8_lossy(&whole.sessions[0].bytes).into_owned();
    assert!(text.contains("a8 OK"), "{text}");
    assert!(text.contains("b4 OK Logout completed"), "{text}");
}
