//! One line per session: what a client did, counted from the machine's
//! events, for the info-level `disconnect` log line. Per-command events
//! are debug-level (see [`Event::level`]); the summary is what a busy
//! server keeps.

use super::{Event, shown};
use std::fmt;

/// Counts of a session's events. Feed it every event with
/// [`SessionSummary::record`]; show it with `Display`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSummary {
    helo: u32,
    mail: u32,
    rcpt_accepted: u32,
    rcpt_refused: u32,
    messages_queued: u32,
    messages_refused: u32,
    auth_succeeded: u32,
    auth_failed: u32,
    /// Commands refused, of any kind (recipients, messages and logins
    /// included).
    errors: u32,
    /// The last refusal's reply, as shown in the log.
    last_error: Option<String>,
    /// How the session ended, when the machine ended it.
    ended: Option<&'static str>,
}

impl SessionSummary {
    pub fn record(&mut self, event: &Event) {
        match event {
            Event::Helo { .. } => self.helo += 1,
            Event::MailFrom { .. } => self.mail += 1,
            Event::RecipientAccepted { .. } => self.rcpt_accepted += 1,
            Event::RecipientRefused { reply, .. } => {
                self.rcpt_refused += 1;
                self.error(reply);
            }
            Event::MessageQueued { .. } => self.messages_queued += 1,
            Event::MessageRefused { reply, .. } => {
                self.messages_refused += 1;
                self.error(reply);
            }
            Event::ClientVanishedDuringData { .. } => self.messages_refused += 1,
            Event::CommandRefused { reply } => self.error(reply),
            Event::AuthSucceeded { .. } => self.auth_succeeded += 1,
            Event::AuthFailed { reply, .. } => {
                self.auth_failed += 1;
                self.error(reply);
            }
            Event::TlsStarted { .. } | Event::MessageQuarantined { .. } => {}
            Event::Timeout => self.ended = Some("timeout"),
            Event::DataTooSlow { .. } => self.ended = Some("message data too slow"),
            Event::SessionTooLong { .. } => self.ended = Some("session too long"),
            Event::SendStalled { .. } => self.ended = Some("write stalled"),
            Event::TooManyErrors => self.ended = Some("too many errors"),
            Event::ShutDown => self.ended = Some("shut down"),
            Event::Blocklisted { .. } | Event::BlocklistLookupFailed { .. } => {}
            Event::Greylisted { .. }
            | Event::Barred { .. }
            | Event::SenderRefusedByRecipient { .. } => {}
        }
    }

    /// Messages queued in this session.
    pub fn messages_queued(&self) -> u32 {
        self.messages_queued
    }

    fn error(&mut self, reply: &str) {
        self.errors += 1;
        self.last_error = Some(shown(reply));
    }
}

impl fmt::Display for SessionSummary {
    /// `helo=1 mail=2 rcpt=2/3 data=1/2 errors=2 last_error="..."`:
    /// accepted/tried where both matter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "helo={} mail={} rcpt={}/{} data={}/{}",
            self.helo,
            self.mail,
            self.rcpt_accepted,
            self.rcpt_accepted + self.rcpt_refused,
            self.messages_queued,
            self.messages_queued + self.messages_refused,
        )?;
        if self.auth_succeeded + self.auth_failed > 0 {
            write!(
                f,
                " auth={}/{}",
                self.auth_succeeded,
                self.auth_succeeded + self.auth_failed
            )?;
        }
        write!(f, " errors={}", self.errors)?;
        if let Some(ended) = self.ended {
            write!(f, " ended=\"{ended}\"")?;
        }
        if let Some(last) = &self.last_error {
            write!(f, " last_error=\"{last}\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{ForwardPath, Mailbox, ReversePath};
    use crate::auth::Mechanism;
    use crate::envelope::QueueId;

    fn path(text: &str) -> ForwardPath {
        let (local_part, domain) = text.split_once('@').unwrap();
        ForwardPath::Mailbox(Mailbox {
            local_part: local_part.into(),
            domain: domain.into(),
        })
    }

    #[test]
    fn a_session_is_summed_up_in_one_line() {
        let mut summary = SessionSummary::default();
        let events = [
            Event::Helo {
                domain: "client.test".into(),
                extended: true,
            },
            Event::MailFrom {
                reverse_path: ReversePath::Null,
                size: None,
            },
            Event::RecipientAccepted {
                forward_path: path("alice@example.test"),
            },
            Event::RecipientRefused {
                forward_path: path("nobody@example.test"),
                reply: "550 5.1.1 User unknown".into(),
            },
            Event::MessageQueued {
                queue_id: QueueId(1),
                reverse_path: ReversePath::Null,
                forward_paths: vec![path("alice@example.test")],
                size: 10,
            },
            Event::Timeout,
        ];
        for event in &events {
            summary.record(event);
        }
        assert_eq!(
            summary.to_string(),
            "helo=1 mail=1 rcpt=1/2 data=1/1 errors=1 ended=\"timeout\" last_error=\"550 5.1.1 User unknown\""
        );
        assert_eq!(summary.messages_queued(), 1);
    }

    #[test]
    fn a_forged_line_in_a_login_stays_on_the_summary_line() {
        let mut summary = SessionSummary::default();
        summary.record(&Event::AuthFailed {
            login: "x\r\nforged".into(),
            mechanism: Mechanism::Login,
            reply: "535 5.7.8 invalid\r\n2026 forged".into(),
        });
        let line = summary.to_string();
        assert!(!line.contains(['\r', '\n']), "{line}");
        assert!(line.contains("auth=0/1"), "{line}");
    }
}
