//! A scripted finger client: each session connects, sends one query line,
//! reads the answer to the end of file and sorts it: answered (a user or
//! a list), declined (a forwarding query, a list where listing is off, no
//! such user) or refused (turned away by the access list or a quota
//! before the query was read).
//!
//! Whatever the answer, it must be what RFC 1288 and our rules allow:
//! lines of text ending in CRLF with no other control character (a plan
//! or a name cannot move the client's cursor), no user the instance
//! hides, and no more new mail than was ever delivered to the user.

use super::{SharedState, lock};
use crate::scenario::FingerClient;
use crate::store::MemoryStore;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest a session waits for the end of file: beyond a finger
/// instance's query timeout.
const SESSION_TIMEOUT: Duration = Duration::from_secs(120);

/// The most an answer may hold before the client stops reading.
const ANSWER_BYTES_MAX: u64 = 1 << 20;

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Answered,
    Declined,
    Refused,
}

/// Runs `client`'s sessions against the instance that hides `hidden`,
/// counting each outcome in `shared`.
pub(super) async fn run(
    client: &FingerClient,
    hidden: &[String],
    store: &MemoryStore,
    shared: &SharedState,
) {
    tokio::time::sleep(client.start).await;
    for number in 1..=client.sessions {
        if number > 1 {
            tokio::time::sleep(client.interval).await;
        }
        let query = &client.queries[(number as usize - 1) % client.queries.len()];
        let outcome = tokio::time::timeout(SESSION_TIMEOUT, session(client, query)).await;
        let answer = match outcome {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => {
                lock(shared).violations.push(format!(
                    "finger session {number} from {} to {}: {error}",
                    client.from, client.to
                ));
                continue;
            }
            Err(_) => {
                lock(shared).violations.push(format!(
                    "finger session {number} from {}: no end of file within {SESSION_TIMEOUT:?}",
                    client.from
                ));
                continue;
            }
        };
        let text = String::from_utf8_lossy(&answer);
        let mut problems = check_form(&answer);
        problems.extend(check_users(&text, hidden, store));
        let outcome = classify(&text);
        tracing::info!(
            "finger session {number}: {query:?} {outcome:?}, {} bytes",
            answer.len()
        );
        let mut shared = lock(shared);
        for problem in problems {
            shared.violations.push(format!(
                "finger session {number} from {} ({query:?}): {problem}",
                client.from
            ));
        }
        match outcome {
            Outcome::Answered => shared.stats.finger_answered += 1,
            Outcome::Declined => shared.stats.finger_declined += 1,
            Outcome::Refused => shared.stats.finger_refused += 1,
        }
    }
    lock(shared).finger_clients_done += 1;
}

async fn session(client: &FingerClient, query: &str) -> std::io::Result<Vec<u8>> {
    let mut stream = turmoil::net::TcpStream::connect(client.to).await?;
    // A refused client is told so at once and may be closed before it
    // writes: what it reads says what happened.
    let _ = stream.write_all(format!("{query}\r\n").as_bytes()).await;
    let mut answer = Vec::new();
    stream
        .take(ANSWER_BYTES_MAX)
        .read_to_end(&mut answer)
        .await?;
    Ok(answer)
}

fn classify(text: &str) -> Outcome {
    if text.starts_with("finger: no finger service") || text.starts_with("finger: too many") {
        Outcome::Refused
    } else if text.starts_with("Login") {
        Outcome::Answered
    } else {
        Outcome::Declined
    }
}

/// What is wrong with the answer's form: it must be CRLF lines with no
/// other control character.
fn check_form(answer: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    if answer.is_empty() {
        problems.push("the answer is empty".to_owned());
    } else if !answer.ends_with(b"\r\n") {
        problems.push("the answer does not end with CRLF".to_owned());
    }
    for (number, line) in answer.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = String::from_utf8_lossy(line);
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            problems.push(format!(
                "line {} holds the control character {:?}",
                number + 1,
                c
            ));
        }
    }
    problems
}

/// What is wrong with the users the answer shows: a hidden one, or more
/// new mail than was ever delivered to one.
fn check_users(text: &str, hidden: &[String], store: &MemoryStore) -> Vec<String> {
    let mut problems = Vec::new();
    for address in hidden {
        if text.to_lowercase().contains(address.as_str()) {
            problems.push(format!("the hidden user {address} is shown"));
        }
    }
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(login) = line.strip_prefix("Login: ") else {
            continue;
        };
        let login = login.split_whitespace().next().unwrap_or_default();
        let Some(unseen) = lines.next().and_then(new_mail) else {
            continue;
        };
        let delivered = store.mailbox_of(login).map_or(0, |mailbox| {
            store
                .delivered()
                .iter()
                .filter(|d| d.mailbox == mailbox && d.folder == postern::mailstore::INBOX)
                .count()
        });
        if unseen > delivered {
            problems.push(format!(
                "{login} is said to have {unseen} new messages, more than the {delivered} ever delivered to it"
            ));
        }
    }
    problems
}

/// The count in a mail line: `Mail: 3 new messages since ...`, or 0 for
/// `No unread mail.`.
fn new_mail(line: &str) -> Option<usize> {
    if line == "No unread mail." {
        return Some(0);
    }
    line.strip_prefix("Mail: ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_by_their_first_line() {
        let cases = [
            (
                "finger: no finger service for your address here.\r\n",
                Outcome::Refused,
            ),
            (
                "finger: too many connections, try again later.\r\n",
                Outcome::Refused,
            ),
            (
                "Login: alice@example.test\r\nNo unread mail.\r\n",
                Outcome::Answered,
            ),
            ("Login                 Name   Mail\r\n", Outcome::Answered),
            ("finger: bob: no such user.\r\n", Outcome::Declined),
            ("finger: forwarding refused: ...\r\n", Outcome::Declined),
        ];
        for (text, outcome) in cases {
            assert_eq!(classify(text), outcome, "{text:?}");
        }
    }

    #[test]
    fn the_form_check_finds_control_characters_and_missing_line_ends() {
        assert!(check_form(b"Login: a@b.test\r\nNo Plan.\r\n").is_empty());
        assert_eq!(check_form(b"Plan:\r\n\x1b[2J\r\n").len(), 1);
        assert_eq!(check_form(b"No Plan.").len(), 1);
        assert_eq!(check_form(b"").len(), 1);
    }

    #[test]
    fn mail_lines_give_their_count() {
        assert_eq!(new_mail("No unread mail."), Some(0));
        assert_eq!(
            new_mail("Mail: 3 new messages since Thu, 1 Jan 2026 00:00:00 +0000."),
            Some(3)
        );
        assert_eq!(new_mail("Mail: 1 new message."), Some(1));
        assert_eq!(new_mail("Mail: cannot be read just now."), None);
    }
}
