//! The account's own settings: forwarding, the vacation reply (the rules
//! of [`crate::autoreply`]), the allow and block lists of senders (of
//! [`crate::spam::barring`]) and the password.

use super::{Notice, Viewer, layout, token_field};
use crate::autoreply::MailboxRules;
use maud::html;

/// What the settings page shows.
pub struct SettingsPage<'a> {
    /// The shortest password accepted.
    pub password_min: usize,
    /// The mailbox's forwarding and vacation settings; `None` where the
    /// account has no mailbox here.
    pub rules: Option<&'a MailboxRules>,
    /// Posts held by the lists this account moderates.
    pub held: &'a [crate::lists::HeldPost],
    /// The senders form as the user typed it, shown again when it was
    /// refused so that nothing typed is lost; `None` shows the lists.
    pub senders_typed: Option<SendersTyped<'a>>,
}

/// The senders form's fields as posted.
#[derive(Clone, Copy, Debug)]
pub struct SendersTyped<'a> {
    pub allow: &'a str,
    pub block: &'a str,
    pub blocked: &'a str,
}

pub fn settings_page(
    viewer: &Viewer<'_>,
    page: &SettingsPage<'_>,
    notice: Option<&Notice<'_>>,
) -> String {
    let forward = page.rules.and_then(|r| r.forward.as_ref());
    let vacation = page.rules.and_then(|r| r.vacation.as_ref());
    let senders = page
        .rules
        .map(MailboxRules::sender_lists)
        .unwrap_or_default();
    let lines = |list: &[crate::spam::AddressPattern]| {
        list.iter().map(|p| format!("{p}\n")).collect::<String>()
    };
    let (allow, block, refuse) = match page.senders_typed {
        Some(typed) => (
            typed.allow.to_owned(),
            typed.block.to_owned(),
            typed.blocked == "refuse",
        ),
        None => (
            lines(&senders.allow),
            lines(&senders.block),
            senders.blocked == crate::spam::Blocked::Refuse,
        ),
    };
    let body = html! {
        h1 { "Settings" }
        @if page.rules.is_some() {
            section {
                h2 { "Forwarding" }
                form.settings method="post" action="/settings/forward" {
                    (token_field(viewer.form_token))
                    label { "Forward every message to (addresses, separated by commas; empty for none)"
                        input type="text" name="to" value=(forward.map(|f| f.to.join(", ")).unwrap_or_default()) autocomplete="off";
                    }
                    label.choice { input type="checkbox" name="keep" value="on" checked[forward.is_none_or(|f| f.keep)]; " Keep a copy here too" }
                    button type="submit" { "Save forwarding" }
                }
            }
            section {
                h2 { "Vacation reply" }
                form.settings method="post" action="/settings/vacation" {
                    (token_field(viewer.form_token))
                    label.choice { input type="checkbox" name="enabled" value="on" checked[vacation.is_some_and(|v| v.enabled)]; " Answer mail while I am away" }
                    label { "Subject (empty: \"Auto: \" and the original's)"
                        input type="text" name="subject" value=(vacation.and_then(|v| v.subject.clone()).unwrap_or_default());
                    }
                    label { "Text" textarea name="body" rows="6" { (vacation.map(|v| v.body.clone()).unwrap_or_default()) } }
                    label { "Answer each sender at most once in this many days"
                        input type="number" name="days" min="1" max="365" value=(vacation.map_or(crate::limits::VACATION_DAYS_DEFAULT, |v| v.days));
                    }
                    label { "From (optional)" input type="date" name="start" value=(vacation.and_then(|v| v.start.clone()).unwrap_or_default()); }
                    label { "Until (optional, inclusive)" input type="date" name="end" value=(vacation.and_then(|v| v.end.clone()).unwrap_or_default()); }
                    button type="submit" { "Save vacation reply" }
                }
                p.meta { "Replies follow RFC 3834: never to mailing lists, bulk mail, automatic messages or mail that does not name you." }
            }
            section {
                h2 { "Allowed and blocked senders" }
                form.settings method="post" action="/settings/senders" {
                    (token_field(viewer.form_token))
                    label { "Always allow (one per line: friend@example.com, *@example.com, @example.com with its subdomains, *.example)"
                        textarea name="allow" rows="4" autocomplete="off" { (allow) }
                    }
                    label { "Block (one per line, as above)"
                        textarea name="block" rows="4" autocomplete="off" { (block) }
                    }
                    label.choice { input type="radio" name="blocked" value="junk" checked[!refuse]; " Put mail from blocked senders in my Junk folder" }
                    label.choice { input type="radio" name="blocked" value="refuse" checked[refuse]; " Refuse it (the sending server is told; nothing comes back to the sender from here)" }
                    button type="submit" { "Save senders" }
                }
                p.meta { "An allowed sender is never blocked, whatever the block list says. At most " (crate::limits::SENDER_LIST_ENTRIES_MAX) " entries in each list." }
            }
        }
        @if !page.held.is_empty() {
            section {
                h2 { "Posts waiting for you to moderate" }
                @for post in page.held {
                    form.settings method="post" action="/settings/moderate" {
                        (token_field(viewer.form_token))
                        input type="hidden" name="list" value=(post.list);
                        input type="hidden" name="post" value=(post.token);
                        p { strong { (post.subject) } " from " (post.sender) " to " (post.list) }
                        button type="submit" name="action" value="approve" { "Approve" }
                        " "
                        button type="submit" name="action" value="reject" { "Reject" }
                    }
                }
                p.meta { "Your answer goes to the list as mail from you, as if you had replied to its request." }
            }
        }
        section {
            h2 { "Password" }
            form.settings method="post" action="/settings/password" {
                (token_field(viewer.form_token))
                // Whose password this is, for the browser's password
                // manager (Chromium warns of a password form without one).
                input type="text" name="username" autocomplete="username" value=(viewer.login) hidden readonly;
                label { "Current password" input type="password" name="current" autocomplete="current-password" required; }
                label { "New password (at least " (page.password_min) " characters)" input type="password" name="new" autocomplete="new-password" minlength=(page.password_min) required; }
                label { "New password again" input type="password" name="repeat" autocomplete="new-password" minlength=(page.password_min) required; }
                button type="submit" { "Change password" }
            }
            p.meta { "Changing it logs out every other browser and mail program using the old one at its next login." }
        }
    };
    layout("Settings", Some(viewer), notice, body)
}
