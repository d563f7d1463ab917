//! What a finger client is sent: text lines ending in CRLF, with every
//! control character from stored or peer text removed, so that a plan or
//! a name cannot move the client's cursor, clear its screen or forge a
//! line.

use super::{MailStatus, UserInfo};
use crate::limits::{FINGER_LIST_USERS_MAX, FINGER_PLAN_BYTES_MAX, FINGER_REAL_NAME_BYTES_MAX};
use crate::text::bounded;
use std::fmt::Write;

/// `text` without control characters (C0, DEL, C1); a tab becomes a space.
pub fn clean_line(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// A plan as it is sent: at most [`FINGER_PLAN_BYTES_MAX`] octets, split
/// into lines at LF (a CR before it dropped), each line cleaned.
pub fn clean_plan(plan: &str) -> Vec<String> {
    let plan = bounded(plan, FINGER_PLAN_BYTES_MAX);
    let plan = plan.trim_end_matches(['\r', '\n']);
    plan.split('\n').map(clean_line).collect()
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push_str("\r\n");
}

fn real_name(user: &UserInfo) -> Option<String> {
    user.real_name
        .as_deref()
        .map(|name| clean_line(&bounded(name, FINGER_REAL_NAME_BYTES_MAX)))
        .filter(|name| !name.trim().is_empty())
}

/// One user, as a query for them is answered.
pub(super) fn user(out: &mut String, user: &UserInfo, verbose: bool) {
    let address = clean_line(&user.address);
    match real_name(user) {
        Some(name) => push_line(out, &format!("Login: {address:<32} Name: {name}")),
        None => push_line(out, &format!("Login: {address}")),
    }
    push_line(out, &mail_line(user.mail.as_ref()));
    if verbose && let Some(mail) = &user.mail {
        let mut line = format!(
            "Mailbox: {} in the INBOX, {} unseen",
            crate::text::counted(mail.messages, "message", "messages"),
            mail.unseen
        );
        if let Some(newest) = mail.newest_unseen {
            let _ = write!(line, "; the newest unseen arrived {}", newest.to_rfc5322());
        }
        line.push('.');
        push_line(out, &line);
    }
    match &user.plan {
        Some(plan) if !plan.trim().is_empty() => {
            push_line(out, "Plan:");
            for line in clean_plan(plan) {
                push_line(out, &line);
            }
        }
        _ => push_line(out, "No Plan."),
    }
}

fn mail_line(mail: Option<&MailStatus>) -> String {
    match mail {
        None => "Mail: cannot be read just now.".to_owned(),
        Some(mail) if mail.unseen == 0 => "No unread mail.".to_owned(),
        Some(mail) => {
            let mut line = format!(
                "Mail: {}",
                crate::text::counted(mail.unseen, "new message", "new messages")
            );
            if let Some(oldest) = mail.oldest_unseen {
                let _ = write!(line, " since {}", oldest.to_rfc5322());
            }
            line.push('.');
            line
        }
    }
}

/// The answer to an empty query: one line per user, at most
/// [`FINGER_LIST_USERS_MAX`].
pub(super) fn list(out: &mut String, users: &[&UserInfo], verbose: bool) {
    if users.is_empty() {
        push_line(out, "No one here.");
        return;
    }
    push_line(out, &format!("{:<40} {:<30} Mail", "Login", "Name"));
    for user in users.iter().take(FINGER_LIST_USERS_MAX) {
        let name = real_name(user).unwrap_or_default();
        let name = bounded(&name, 30);
        let mail = match &user.mail {
            None => "?".to_owned(),
            Some(mail) if verbose => format!("{} new of {}", mail.unseen, mail.messages),
            Some(mail) => format!("{} new", mail.unseen),
        };
        push_line(
            out,
            &format!("{:<40} {:<30} {mail}", clean_line(&user.address), name),
        );
    }
    if users.len() > FINGER_LIST_USERS_MAX {
        push_line(
            out,
            &format!("... and {} more.", users.len() - FINGER_LIST_USERS_MAX),
        );
    }
}
